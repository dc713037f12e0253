"""The newsletter's SQLite files themselves: an older file gains the columns and tables later
issues added, a file that is no database is one error naming it, and the folder is made."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeAlias

import pytest

from weekly.errors import WeeklyError
from weekly.store import existing_ledger, existing_send_reports, open_consent_log
from weekly.store.hits import CLICK, HUMAN, Hit, Tally
from weekly.store.sqlite.consent import SqliteConsentLog, state_path
from weekly.store.sqlite.hits import SqliteHitLog, hits_path
from weekly.store.sqlite.hooks import SqliteHookLog
from weekly.store.sqlite.ledger import SqliteLedger, ledger_path
from weekly.store.sqlite.schedules import SqliteSchedules, schedules_path


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


Log: TypeAlias = SqliteConsentLog | SqliteHookLog | SqliteHitLog | SqliteSchedules
OPENERS: list[tuple[Callable[[Path], Log], Callable[[Path], Path], str]] = [
    (SqliteConsentLog.open, state_path, "the subscription log"),
    (SqliteHookLog.open, state_path, "the hook log"),
    (SqliteHitLog.open, hits_path, "the hit log"),
    (SqliteSchedules.open, schedules_path, "the schedules"),
]


@pytest.mark.parametrize(("opener", "where", "what"), OPENERS)
def test_a_log_file_that_is_no_database_is_one_line_naming_it(
    tmp_path: Path, opener: Callable[[Path], Log], where: Callable[[Path], Path], what: str
) -> None:
    where(tmp_path).parent.mkdir()
    where(tmp_path).write_bytes(b"garbage" * 200)
    with pytest.raises(WeeklyError) as refused:
        opener(tmp_path)
    assert str(refused.value) == f"{where(tmp_path)}: cannot open {what}: file is not a database"


def test_a_ledger_file_that_is_another_database_is_one_line_naming_it(tmp_path: Path) -> None:
    ledger_path(tmp_path).parent.mkdir()
    with sqlite3.connect(ledger_path(tmp_path)) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(WeeklyError) as refused:
        SqliteLedger.existing(tmp_path)
    assert str(refused.value) == (
        f"{ledger_path(tmp_path)}: not a readable send ledger (no such table: sends, deliveries)"
    )


def test_every_file_is_made_with_the_folders_it_needs(tmp_path: Path) -> None:
    root = tmp_path / "not" / "there"
    for opener, where, _ in OPENERS:
        opener(root).close()
        assert where(root).is_file()
    ledger = SqliteLedger.open(tmp_path / "nor" / "here")
    ledger.set_fingerprint(324, "abc")
    ledger.close()
    reader = SqliteLedger.existing(tmp_path / "nor" / "here")  # read-only, through its URI
    assert reader is not None and reader.fingerprint(324) == "abc"
    reader.close()


def test_a_log_opened_in_one_thread_is_written_from_another(tmp_path: Path) -> None:
    """`weekly serve` opens the hit log, and its writer thread appends to it."""
    log = SqliteHitLog.open(tmp_path)
    try:
        with ThreadPoolExecutor(1) as writer:
            hit = Hit(324, CLICK, 1, HUMAN, "v", "2026-12-01T09:00:00+00:00")
            writer.submit(log.record, [hit]).result()
        assert log.tallies(324) == [Tally(324, CLICK, 1, HUMAN, 1, 1)]
    finally:
        log.close()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_send_reports_of_a_ledger_that_is_no_send_ledger_are_one_line(
    tmp_path: Path, store: str
) -> None:
    path = ledger_path(tmp_path)
    path.parent.mkdir()
    path.write_bytes(b"garbage" * 200)
    with pytest.raises(WeeklyError) as refused:
        existing_send_reports(tmp_path)
    assert str(refused.value) == f"{path}: not a readable send ledger (file is not a database)"
    path.unlink()
    sqlite3.connect(path).close()  # a database, without the ledger's tables
    reports = existing_send_reports(tmp_path)
    assert reports is not None
    try:
        with pytest.raises(WeeklyError) as refused:
            reports.outcomes()
    finally:
        reports.close()
    assert str(refused.value) == (
        "cannot read the send ledger or the consent log: no such table: sends"
    )
