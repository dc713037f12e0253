"""The PostgreSQL hook log: request keys seen (replays are refused) and provider-reported
soft bounces and deliveries per address, shared by every `weekly serve` (a `HookLog`)."""

from __future__ import annotations

from weekly.store.postgres.database import Database

# The soft bounces of an address after a time and after its last reported delivery.
RUN = """
SELECT count(*) FROM soft_bounces WHERE address = %(address)s AND at > %(after)s AND at >
    coalesce((SELECT at FROM last_delivery WHERE address = %(address)s), '')
"""


class PostgresHookLog:
    """The hook log in one PostgreSQL database (a `HookLog`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    def first_use(self, key: str, at: str, forget_before: str) -> bool:
        """Remember `key`; False when it was seen before."""
        with self._db.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM hook_requests WHERE at < %s", (forget_before,))
            added = conn.execute(
                "INSERT INTO hook_requests (key, at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (key, at),
            )
            return added.rowcount == 1

    def soft_bounce(self, ref: str, address: str, at: str, after: str) -> int | None:
        """Count a soft bounce: the run now, or None when `ref` was counted before."""
        with self._db.connection() as conn, conn.transaction():
            added = conn.execute(
                "INSERT INTO soft_bounces (ref, address, at) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (ref, address, at),
            )
            if added.rowcount != 1:
                return None
            row = conn.execute(RUN, {"address": address, "after": after}).fetchone()
            return int(row[0]) if row else 0

    def delivered(self, address: str, at: str) -> None:
        """Note a delivery; the soft bounces before it stop counting."""
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO last_delivery (address, at) VALUES (%s, %s) ON CONFLICT (address)"
                " DO UPDATE SET at = greatest(last_delivery.at, excluded.at)",
                (address, at),
            )
