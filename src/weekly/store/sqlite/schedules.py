"""The SQLite schedules (`.weekly/schedules.sqlite`): a send's claim is one UPDATE from
`waiting`, so two serve processes on one folder never both run it."""

from __future__ import annotations

from pathlib import Path

from weekly.clock import stamp
from weekly.project import STATE_DIR
from weekly.store.schedules import (
    COLUMNS,
    RUNNING,
    STATES,
    Schedule,
    claim_statement,
    from_row,
    put_statement,
    schedule_row,
    soonest_first,
)
from weekly.store.sqlite.database import open_database

SCHEDULES_NAME = "schedules.sqlite"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schedules (
    issue INTEGER PRIMARY KEY,
    due TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    allow_changes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN {STATES!r}),
    detail TEXT NOT NULL DEFAULT '',
    runner TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_by_state ON schedules (state, due);
"""


def schedules_path(root: Path) -> Path:
    """Where the newsletter at `root` keeps its schedules."""
    return root / STATE_DIR / SCHEDULES_NAME


class SqliteSchedules:
    """The schedules of one newsletter folder (a `Schedules`)."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA, "the schedules")

    @classmethod
    def open(cls, root: Path) -> SqliteSchedules:
        """The schedules of `root`, created on first use."""
        return cls(schedules_path(root))

    def close(self) -> None:
        self._db.close()

    def put(self, schedule: Schedule) -> bool:
        """Schedule its issue; False while a send of that issue runs."""
        with self._db:  # each write its own transaction, committed here
            cursor = self._db.execute(put_statement("?"), (*schedule_row(schedule), RUNNING))
        return cursor.rowcount == 1

    def get(self, issue: int) -> Schedule | None:
        row = self._db.execute(
            f"SELECT {COLUMNS} FROM schedules WHERE issue = ?", (issue,)
        ).fetchone()
        return None if row is None else from_row(row)

    def listed(self) -> list[Schedule]:
        rows = self._db.execute(f"SELECT {COLUMNS} FROM schedules ORDER BY due, issue")
        return [from_row(row) for row in rows]

    def claim(self, now: str, runner: str) -> list[Schedule]:
        with self._db:
            rows = self._db.execute(claim_statement("?"), (runner, stamp(), now)).fetchall()
        return soonest_first(rows)

    def move(self, issue: int, before: str, after: str, detail: str, runner: str = "") -> bool:
        with self._db:
            cursor = self._db.execute(
                "UPDATE schedules SET state = ?, detail = ?,"
                " runner = coalesce(nullif(?, ''), runner), updated_at = ?"
                " WHERE issue = ? AND state = ?",
                (after, detail, runner, stamp(), issue, before),
            )
        return cursor.rowcount == 1
