"""The newsletter's SQLite files themselves: an older file gains the columns and tables later
issues added, and a file that is no database is one error naming it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from weekly.errors import WeeklyError
from weekly.store import existing_ledger, open_consent_log
from weekly.store.sqlite.consent import state_path
from weekly.store.sqlite.hooks import SqliteHookLog
from weekly.store.sqlite.ledger import ledger_path


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # the SQLite files themselves
def test_older_sqlite_files_gain_the_tags_column_and_read_no_segments(
    newsletter: Path, store: str
) -> None:
    state_path(newsletter).parent.mkdir(parents=True)
    with sqlite3.connect(state_path(newsletter)) as db:
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, address TEXT NOT"
            " NULL, email TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, name TEXT"
            " NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT"
            " '', ref TEXT UNIQUE)"
        )
        db.execute(
            "INSERT INTO events (at, address, email, kind, source)"
            " VALUES ('2026-01-01', 'old@example.com', 'old@example.com', 'confirmed', 'web')"
        )
    with sqlite3.connect(ledger_path(newsletter)) as db:
        db.execute(
            "CREATE TABLE sends (issue INTEGER PRIMARY KEY, fingerprint TEXT, started_at TEXT)"
        )
        db.execute("CREATE TABLE deliveries (issue INTEGER, recipient TEXT)")
    with open_consent_log(newsletter) as log:
        assert log.standings()["old@example.com"].tags == ""
    ledger = existing_ledger(newsletter)
    assert ledger is not None
    try:
        assert ledger.segments(324) == []
    finally:
        ledger.close()


def test_a_hook_log_that_is_not_sqlite_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_text("not a database " * 100)
    with pytest.raises(WeeklyError, match="cannot open the hook log"):
        SqliteHookLog(path)
