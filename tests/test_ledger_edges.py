"""The SQLite ledger's rarer paths: a ledger from before the last state was added, a file
with no tables yet, and a failed write that must leave the ledger usable."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from weekly.store import existing_ledger
from weekly.store.consent import parse_time
from weekly.store.deliveries import OPTED_OUT, PENDING, STATES
from weekly.store.sqlite.ledger import SqliteLedger, ledger_path

OLD_STATES = STATES[:-1]  # the ledger before `opted_out` existed


def test_a_ledger_from_before_the_last_state_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = ledger_path(tmp_path)
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE deliveries (issue INTEGER NOT NULL, recipient TEXT NOT NULL,"
            " email TEXT NOT NULL,"
            f" state TEXT NOT NULL CHECK (state IN {OLD_STATES!r}),"
            " attempts INTEGER NOT NULL DEFAULT 0, last_reply TEXT NOT NULL DEFAULT '',"
            " message_id TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, PRIMARY KEY (issue, recipient)) WITHOUT ROWID"
        )
        db.execute(
            "INSERT INTO deliveries (issue, recipient, email, state, created_at, updated_at)"
            " VALUES (324, 'kim@example.com', 'Kim@example.com', 'pending', 't', 't')"
        )
    with closing(SqliteLedger.open(tmp_path)) as ledger:
        assert ledger.states(324, ["kim@example.com"]) == {"kim@example.com": PENDING}
        ledger.mark(324, "kim@example.com", OPTED_OUT, "unsubscribed during the send")
        assert ledger.counts(324)[OPTED_OUT] == 1
        assert ledger.segment_counts(324)[""][OPTED_OUT] == 1  # everyone: no segment noted


def _before_segment_column(tmp_path: Path) -> None:
    """A ledger written before deliveries named their segment: issue 324 mailed `ai` at
    09:00, then everyone at 10:00; issue 325 never mailed a segment."""
    with closing(SqliteLedger.open(tmp_path)) as ledger:
        ledger.add(324, [("a@x", "a@x"), ("b@x", "b@x")])
        ledger.add(325, [("c@x", "c@x")])
    with closing(sqlite3.connect(ledger_path(tmp_path))) as db, db:
        db.execute("ALTER TABLE deliveries DROP COLUMN segment")
        db.executemany(
            "INSERT INTO segments VALUES (324, ?, ?)",
            [("2026-01-01T09:00:00+00:00", "ai"), ("2026-01-01T10:00:00+00:00", "")],
        )
        for key, at in (("a@x", "2026-01-01T09:00:00+00:00"), ("b@x", "2026-01-01T10:00:05+00:00")):
            db.execute("UPDATE deliveries SET created_at = ? WHERE recipient = ?", (at, key))


def test_a_ledger_from_before_segment_rows_gets_each_row_s_segment_from_the_times(
    tmp_path: Path,
) -> None:
    _before_segment_column(tmp_path)
    read_only = SqliteLedger.existing(tmp_path)
    assert read_only is not None
    with closing(read_only):
        assert read_only.segment_counts(324) == {}  # not upgraded by a reader
    with closing(SqliteLedger.open(tmp_path)) as ledger:
        counts = ledger.segment_counts(324)
        assert {s: c[PENDING] for s, c in counts.items()} == {"ai": 1, "": 1}
        assert {s: c[PENDING] for s, c in ledger.segment_counts(325).items()} == {"": 1}


# SQLite only: a half-created SQLite file.
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_ledger_file_without_tables_counts_as_never_sent(tmp_path: Path, store: str) -> None:
    path = ledger_path(tmp_path)
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).close()  # the file a first send is still creating
    assert path.exists()
    assert existing_ledger(tmp_path) is None


def test_a_failed_write_is_rolled_back_and_the_ledger_goes_on(tmp_path: Path) -> None:
    with closing(SqliteLedger.open(tmp_path)) as ledger:
        good = ("a@example.com", "a@example.com")
        with pytest.raises(sqlite3.Error):  # the second row's address cannot be stored
            ledger.add(324, [good, ("b@example.com", object())])  # type: ignore[list-item]
        assert ledger.counts(324)[PENDING] == 0  # not even the good row
        ledger.add(324, [good])
        assert ledger.counts(324)[PENDING] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-03", "2025-10-03T00:00:00+00:00"),
        ("2025-10-03T09:00+09:00", "2025-10-03T09:00:00+09:00"),
        ("yesterday", None),
    ],
)
def test_parse_time(text: str, expected: str | None) -> None:
    moment = parse_time(text)
    assert (moment.isoformat() if moment else None) == expected
