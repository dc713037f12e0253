"""One pace for every sender of the store: a token bucket row in PostgreSQL, with a slow-down
any sender can ask for (all slow) and a daily count for a relay's per-day quota."""

from __future__ import annotations

from weekly.store.postgres.database import Database

# Tokens accrue at `rate` times the factor; a caller takes what it needs and waits out any
# debt, so the row is touched once per batch of tokens, not once per message.
_TAKE = """
UPDATE pace SET
    factor = CASE WHEN slow_until > clock_timestamp() THEN factor ELSE 1 END,
    tokens = least(%(burst)s, tokens + extract(epoch FROM clock_timestamp() - refreshed)
             * %(rate)s * CASE WHEN slow_until > clock_timestamp() THEN factor ELSE 1 END)
             - %(count)s,
    refreshed = clock_timestamp(),
    day_count = CASE WHEN day = current_date THEN day_count ELSE 0 END + %(count)s,
    day = current_date
WHERE id = 1 AND (%(cap)s = 0
    OR CASE WHEN day = current_date THEN day_count ELSE 0 END + %(count)s <= %(cap)s)
RETURNING tokens, %(rate)s * factor
"""


class PostgresPace:
    """The shared token bucket (a `Pace`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def take(self, count: int, rate: float, burst: float, cap: int) -> float | None:
        """Take `count` tokens: seconds to wait before using them, or None when the day's
        `cap` (0: none) would be passed."""
        with self._db.connection() as conn:
            row = conn.execute(
                _TAKE, {"count": count, "rate": rate, "burst": burst, "cap": cap}
            ).fetchone()
        if row is None:
            return None
        tokens, pace = float(row[0]), float(row[1])
        return max(0.0, -tokens / pace)

    def slow_down(self, period: float, slowest: float) -> None:
        """Halve the pace of every sender (down to `slowest` of it) for `period` seconds."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE pace SET factor = greatest(%s, CASE WHEN slow_until > clock_timestamp()"
                " THEN factor ELSE 1 END / 2),"
                " slow_until = clock_timestamp() + make_interval(secs => %s) WHERE id = 1",
                (slowest, period),
            )
