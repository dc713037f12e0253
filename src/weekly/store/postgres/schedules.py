"""The PostgreSQL schedules: the `Schedules` protocol on the shared database. A claim is one
UPDATE from `waiting`; PostgreSQL re-checks that state after a concurrent update, so of
several serve processes on one store exactly one runs a due send."""

from __future__ import annotations

from weekly.clock import stamp
from weekly.store.postgres.database import Database
from weekly.store.schedules import (
    COLUMNS,
    RUNNING,
    Schedule,
    claim_statement,
    from_row,
    put_statement,
    schedule_row,
    soonest_first,
)


class PostgresSchedules:
    """The schedules in one PostgreSQL database (a `Schedules`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    def put(self, schedule: Schedule) -> bool:
        """Schedule its issue; False while a send of that issue runs."""
        with self._db.connection() as conn:
            cursor = conn.execute(
                put_statement("%s"),
                (*schedule_row(schedule), RUNNING),
            )
            return cursor.rowcount == 1

    def get(self, issue: int) -> Schedule | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM schedules WHERE issue = %s", (issue,)
            ).fetchone()
        return None if row is None else from_row(row)

    def listed(self) -> list[Schedule]:
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT {COLUMNS} FROM schedules ORDER BY due, issue").fetchall()
        return [from_row(row) for row in rows]

    def claim(self, now: str, runner: str) -> list[Schedule]:
        with self._db.connection() as conn:
            rows = conn.execute(claim_statement("%s"), (runner, stamp(), now)).fetchall()
        return soonest_first(rows)

    def move(self, issue: int, before: str, after: str, detail: str, runner: str = "") -> bool:
        with self._db.connection() as conn:
            cursor = conn.execute(
                "UPDATE schedules SET state = %s, detail = %s,"
                " runner = coalesce(nullif(%s, ''), runner), updated_at = %s"
                " WHERE issue = %s AND state = %s",
                (after, detail, runner, stamp(), issue, before),
            )
            return cursor.rowcount == 1
