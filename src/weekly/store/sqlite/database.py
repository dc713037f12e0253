"""Opening one of the newsletter's SQLite files: shared by the logs that keep a table or two
of appended rows (the ledger, with its read-only mode and state machine, opens its own)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from weekly.errors import WeeklyError


def open_database(path: Path, schema: str, what: str) -> sqlite3.Connection:
    """`path` opened in WAL mode with `schema` applied, created on first use; `what` names
    the file in the one-line error when it is not a database we can use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level="IMMEDIATE", check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
    except sqlite3.DatabaseError as exc:
        raise WeeklyError(f"{path}: cannot open {what}: {exc}") from None
    return db
