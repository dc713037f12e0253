"""The ledger: one row per (issue, recipient), a lock per issue; each test that takes the
`store` fixture runs on real SQLite files and on a real PostgreSQL database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path

import psycopg
import pytest

from weekly.errors import WeeklyError
from weekly.store import (
    existing_ledger,
    existing_send_reports,
    hold_issue,
    open_consent_log,
    open_ledger,
)
from weekly.store.consent import COMPLAINED, UNSUBSCRIBED, Event
from weekly.store.deliveries import STATES
from weekly.store.postgres import schema
from weekly.store.postgres.database import Database
from weekly.store.sqlite.ledger import ledger_path


def test_rows_move_through_their_states_and_count(tmp_path: Path, store: str) -> None:
    ledger = open_ledger(tmp_path)
    ledger.add(324, [("a@example.com", "A@example.com"), ("b@example.com", "b@example.com")])
    ledger.add(324, [("a@example.com", "a@example.com")])  # already there: left as it is
    ledger.mark_sending(324, "a@example.com", "<1@x>")
    ledger.mark(324, "a@example.com", "sent", "250 OK")
    ledger.mark_sending(324, "b@example.com", "<2@x>")
    assert ledger.states(324, ["a@example.com", "b@example.com", "c@example.com"]) == {
        "a@example.com": "sent",
        "b@example.com": "sending",
    }
    assert ledger.counts(324)["sent"] == 1 and ledger.counts(323)["sent"] == 0
    ledger.mark(324, "b@example.com", "failed_permanent", "550 no")
    (row,) = ledger.rows(324, ["failed_permanent"])
    assert (row.email, row.attempts, row.last_reply, row.message_id) == (
        "b@example.com",
        1,
        "550 no",
        "<2@x>",
    )
    ledger.close()
    reopened = existing_ledger(tmp_path)
    assert reopened is not None and reopened.counts(324)["sent"] == 1
    reopened.close()


def test_fingerprint_is_kept_per_issue(tmp_path: Path, store: str) -> None:
    ledger = open_ledger(tmp_path)
    assert ledger.fingerprint(324) is None
    ledger.set_fingerprint(324, "abc")
    ledger.set_fingerprint(323, "def")
    assert (ledger.fingerprint(324), ledger.fingerprint(323)) == ("abc", "def")
    ledger.close()


def test_only_one_process_holds_an_issue(tmp_path: Path, store: str) -> None:
    with hold_issue(tmp_path, 324):
        with pytest.raises(WeeklyError, match="already being sent"), hold_issue(tmp_path, 324):
            pass
        with hold_issue(tmp_path, 323):  # another issue is free
            pass
        script = (
            "import sys; from pathlib import Path; from weekly.store import hold_issue\n"
            "from weekly.errors import WeeklyError\n"
            "try:\n    hold_issue(Path(sys.argv[1]), 324).__enter__()\n"
            "except WeeklyError as e:\n    print(e.message)"
        )
        held = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True
        )
        assert "already being sent by pid" in held.stdout
    with hold_issue(tmp_path, 324):
        pass


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_shared_store_holds_an_issue_for_every_folder_that_uses_it(
    tmp_path: Path, store: str
) -> None:
    """Two machines (two newsletter folders) sharing one PostgreSQL store: the lock is in
    the store, not in either folder."""
    with (
        hold_issue(tmp_path / "a", 324),
        pytest.raises(WeeklyError, match="already being sent"),
        hold_issue(tmp_path / "b", 324),
    ):
        pass
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# SQLite only: the journal mode of the SQLite file itself.
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_wal_mode(tmp_path: Path, store: str) -> None:
    open_ledger(tmp_path).close()
    with sqlite3.connect(ledger_path(tmp_path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_nothing_sent_means_no_ledger(tmp_path: Path, store: str) -> None:
    assert existing_ledger(tmp_path) is None
    open_ledger(tmp_path).close()
    ledger = existing_ledger(tmp_path)
    assert ledger is not None and not any(ledger.counts(324).values())
    ledger.close()


def test_store_migrate_is_versioned_and_idempotent(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert schema.version(conn) == 0
        assert schema.migrate(conn) == (0, schema.LATEST)
        assert schema.migrate(conn) == (schema.LATEST, schema.LATEST)
        conn.execute("UPDATE weekly_schema SET version = %s", (schema.LATEST + 1,))
    with pytest.raises(WeeklyError, match="newer than this weekly"):
        Database(pg_url)


def test_segment_counts_list_every_state_in_the_order_the_segments_were_first_used(
    tmp_path: Path, store: str
) -> None:
    ledger = open_ledger(tmp_path)
    try:
        for expression in ("zeta", "alpha", "zeta"):
            ledger.note_segment(324, expression)
        ledger.note_segment(325, "beta")
        ledger.add(324, [("a", "a@example.com"), ("b", "b@example.com")], "zeta")
        ledger.add(324, [("c", "c@example.com")], "alpha")
        ledger.add(325, [("d", "d@example.com")], "beta")
        ledger.mark(324, "b", "sent", "250 OK")
        ledger.add(326, [("e", "e@example.com")])  # no segment: everyone
        counts = ledger.segment_counts(324)
        assert ledger.segment_counts(326) == {"": {s: int(s == "pending") for s in STATES}}
    finally:
        ledger.close()
    assert list(counts) == ["zeta", "alpha"]  # first used, not by name
    assert counts["zeta"] == {state: {"pending": 1, "sent": 1}.get(state, 0) for state in STATES}
    assert counts["alpha"] == {state: int(state == "pending") for state in STATES}


def test_send_reports_count_each_issue_s_deliveries_failures_and_leavers(
    tmp_path: Path, store: str
) -> None:
    assert existing_send_reports(tmp_path) is None  # nothing sent: nothing made either
    ledger = open_ledger(tmp_path)
    try:
        ledger.set_fingerprint(324, "abc")
        ledger.add(324, [(key, key) for key in ("a@x.org", "b@x.org", "c@x.org", "d@x.org")])
        ledger.mark(324, "a@x.org", "sent", "250 OK")
        ledger.mark(324, "b@x.org", "failed_permanent", "550 gone")
        ledger.mark(324, "c@x.org", "failed_message", "554 refused")
        ledger.set_fingerprint(325, "def")
        ledger.add(325, [("e@x.org", "E@x.org")])
        ledger.mark(325, "e@x.org", "sent", "250 OK")
    finally:
        ledger.close()
    reports = existing_send_reports(tmp_path)
    assert reports is not None
    try:  # no consent log yet: nobody left
        assert [(o.issue, o.delivered, o.failed, o.unsubscribed) for o in reports.outcomes()] == [
            (324, 1, 2, 0),
            (325, 1, 0, 0),
        ]
    finally:
        reports.close()
    later, before = "2999-01-01T00:00:00+00:00", "2000-01-01T00:00:00+00:00"
    with open_consent_log(tmp_path) as log:
        log.record(
            [
                Event(later, "A@x.org", UNSUBSCRIBED, "link"),
                Event(later, "a@x.org", UNSUBSCRIBED, "mailto"),  # the same reader once
                Event(later, "b@x.org", COMPLAINED, "arf"),
                Event(before, "d@x.org", UNSUBSCRIBED, "link"),  # before the send started
                Event(later, "z@x.org", UNSUBSCRIBED, "link"),  # never sent this issue
            ]
        )
    reports = existing_send_reports(tmp_path)
    assert reports is not None
    try:
        every = reports.outcomes()
        assert [astuple(o)[:1] + astuple(o)[2:] for o in every] == [
            (324, 1, 2, 1, 1),
            (325, 1, 0, 0, 0),
        ]
        assert all(o.started_at.startswith("20") for o in every)
        assert reports.outcomes(325) == every[1:]
    finally:
        reports.close()
