"""The ledger: real SQLite files, one row per (issue, recipient), a lock per issue."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from weekly.errors import WeeklyError
from weekly.store import existing_ledger, hold_issue, open_ledger
from weekly.store.sqlite.ledger import ledger_path


def test_rows_move_through_their_states_and_count(tmp_path: Path) -> None:
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


def test_fingerprint_is_kept_per_issue(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    assert ledger.fingerprint(324) is None
    ledger.set_fingerprint(324, "abc")
    ledger.set_fingerprint(323, "def")
    assert (ledger.fingerprint(324), ledger.fingerprint(323)) == ("abc", "def")


def test_only_one_process_holds_an_issue(tmp_path: Path) -> None:
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


def test_wal_mode(tmp_path: Path) -> None:
    open_ledger(tmp_path).close()
    with sqlite3.connect(ledger_path(tmp_path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
