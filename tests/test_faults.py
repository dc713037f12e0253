"""Each fault a relay can throw at one recipient, against the raw fault server: what the
server stored, what the ledger says, and whether the address still gets the next issue."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from weekly.deliver.outcomes import Stage, Verdict, classify, enhanced_code
from weekly.deliver.pacing import Pacer, backoff

from .faultsmtp import FaultServer, make_big_build
from .smtp import configure, make_build, subscribers, write_list
from .storerows import deliveries, state_counts
from .test_send import Run

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

TARGET = "user3@example.com"


def ledger_row(root: Path, address: str, issue: int = 324) -> tuple[str, int, str]:
    (row,) = [r for r in deliveries(root) if (r.issue, r.recipient) == (issue, address)]
    return row.state, row.attempts, row.last_reply


def still_mailed(root: Path, run_weekly: Run, server: FaultServer, address: str) -> bool:
    """Send the next issue (325) and say whether `address` was offered it."""
    make_build(root, 325)
    before = server.rcpts[address]
    run_weekly("send", "325", "--yes")
    return server.rcpts[address] > before


def send_with_fault(
    ready: Path, run_weekly: Run, server: FaultServer, fault: str, times: int, **settings: object
) -> Result:
    """Send issue 324 to six readers, `TARGET` meeting `fault` `times` times; its result."""
    write_list(ready, subscribers(6))
    server.plan[TARGET] = (fault, times)
    configure(ready, server.port, **{"concurrency": 2, **settings})
    result = run_weekly("send", "324", "--yes")
    others = {f"user{i}@example.com" for i in range(6)} - {TARGET}
    assert all(server.stored[a] == 1 for a in others), result.output
    return result


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault = FaultServer()
    with fault.running():
        yield fault


@pytest.mark.parametrize(
    ("fault", "times", "rcpts", "ends", "slowed"),
    [
        ("greylist", 2, 3, 1, 0),  # 451 4.7.1 at RCPT twice: this recipient waits, no one else
        ("full", 1, 2, 2, 0),  # 452 after the end of data once
        ("close421", 1, 2, 1, 1),  # 421 and a closed connection at RCPT once: everyone slows
    ],
)
def test_a_temporary_refusal_retries_that_recipient_and_delivers_once(
    ready: Path,
    run_weekly: Run,
    server: FaultServer,
    fault: str,
    times: int,
    rcpts: int,
    ends: int,
    slowed: int,
) -> None:
    output = send_with_fault(ready, run_weekly, server, fault, times).output
    assert "Sent 6, failed 0" in output and "uncertain 0," in output
    said = re.search(r"connection (\d+) times", output)
    assert (int(said[1]) if said else 0) == slowed, output
    assert (server.stored[TARGET], server.rcpts[TARGET], server.ends[TARGET]) == (1, rcpts, ends)
    assert ledger_row(ready, TARGET)[:2] == ("sent", rcpts)
    assert still_mailed(ready, run_weekly, server, TARGET)


@pytest.mark.parametrize(
    ("fault", "summary", "row", "mailed"),
    [
        ("unknown", "(1 mailbox, 0 message,", ("failed_permanent", 1, "550 5.1.1"), False),
        ("content", "(0 mailbox, 1 message,", ("failed_message", 1, "554 5.7.1"), True),
    ],
)
def test_a_permanent_refusal_fails_and_only_a_mailbox_one_suppresses(
    ready: Path,
    run_weekly: Run,
    server: FaultServer,
    fault: str,
    summary: str,
    row: tuple[str, int, str],
    mailed: bool,
) -> None:
    output = send_with_fault(ready, run_weekly, server, fault, 99).output
    assert f"failed 1 {summary} 0 temporary)" in output
    assert server.stored[TARGET] == 0 and server.rcpts[TARGET] == 1
    state, attempts, reply = ledger_row(ready, TARGET)
    assert (state, attempts, reply[:9]) == row
    assert still_mailed(ready, run_weekly, server, TARGET) is mailed


@pytest.mark.parametrize("fault", ["drop_mid_data", "stall_mid_data"])
def test_a_cut_or_a_timeout_before_the_end_of_data_is_retried(
    ready: Path, run_weekly: Run, fault: str
) -> None:
    make_big_build(ready)
    server = FaultServer(small_window=True)
    with server.running():
        # 2 s, not 1: at load 16 the other readers' big messages timed out too
        output = send_with_fault(ready, run_weekly, server, fault, 1, timeout=2).output
        assert "Sent 6, failed 0" in output and "uncertain 0," in output
        assert server.stored[TARGET] == 1 and server.ends[TARGET] == 1
        assert ledger_row(ready, TARGET)[:2] == ("sent", 2)
        assert still_mailed(ready, run_weekly, server, TARGET)


@pytest.mark.parametrize("fault", ["store_drop", "late"])
def test_no_reply_after_the_end_of_data_is_uncertain_and_not_resent(
    ready: Path, run_weekly: Run, server: FaultServer, fault: str
) -> None:
    result = send_with_fault(ready, run_weekly, server, fault, 1, timeout=0.5)
    assert "Sent 5, failed 0" in result.output and "uncertain 1," in result.output
    assert result.exit_code == 1  # a row this run left uncertain fails it
    assert server.stored[TARGET] == 1
    assert ledger_row(ready, TARGET)[:2] == ("sending", 1)
    again = run_weekly("send", "324", "--yes")
    assert "Nothing to send." in again.output and server.stored[TARGET] == 1
    assert again.exit_code == 0  # an earlier run's uncertain row was reported by that run
    assert still_mailed(ready, run_weekly, server, TARGET)


def test_354_after_a_refused_rcpt_under_pipelining_keeps_the_session_in_step(
    ready: Path, run_weekly: Run, server: FaultServer
) -> None:
    output = send_with_fault(ready, run_weekly, server, "unknown_354", 1, concurrency=1).output
    assert "Sent 5, failed 1 (1 mailbox," in output
    assert server.stored[TARGET] == 0
    assert ledger_row(ready, TARGET)[0] == "failed_permanent"
    assert sum(server.stored.values()) == 5


def test_attempts_stop_at_max_attempts_and_are_counted(
    ready: Path, run_weekly: Run, server: FaultServer
) -> None:
    output = send_with_fault(ready, run_weekly, server, "greylist", 99, max_attempts=3).output
    assert "failed 1 (0 mailbox, 0 message, 1 temporary)" in output
    assert server.rcpts[TARGET] == 3 and server.stored[TARGET] == 0
    assert ledger_row(ready, TARGET)[:2] == ("failed_temporary", 3)


def test_the_relay_vanishing_mid_send_stops_and_a_rerun_finishes(
    ready: Path, run_weekly: Run, server: FaultServer
) -> None:
    write_list(ready, subscribers(300))
    configure(ready, server.port, concurrency=1, max_attempts=3)

    def vanish_at(kind: str, count: int) -> None:
        if kind == "rcpt" and count == 101:
            server.on_event = None
            server.vanish()

    server.on_event = vanish_at
    stopped = run_weekly("send", "324", "--yes")
    assert stopped.exit_code == 1, stopped.output
    assert "Stopped: the relay keeps failing" in stopped.output
    states = state_counts(ready)
    assert sum(server.stored.values()) == 100
    assert states == {"sent": 100, "pending": 200}
    server.listen()
    resumed = run_weekly("send", "324", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert set(server.stored.values()) == {1} and len(server.stored) == 300


def test_five_thousand_readers_each_get_exactly_one(
    ready: Path, run_weekly: Run, server: FaultServer
) -> None:
    write_list(ready, subscribers(5000))
    configure(ready, server.port, concurrency=8)
    result = run_weekly("send", "324", "--yes", "--silent")
    assert result.exit_code == 0, result.output
    assert "Sent 5,000, failed 0" in result.output
    assert server.stored == {f"user{i}@example.com": 1 for i in range(5000)}


@pytest.mark.parametrize(
    ("stage", "code", "text", "verdict"),
    [
        (Stage.RCPT, 550, "5.1.1 no such user", Verdict.MAILBOX),
        (Stage.RCPT, 550, "no such user", Verdict.MAILBOX),
        (Stage.END, 550, "5.2.1 mailbox disabled", Verdict.MAILBOX),
        (Stage.RCPT, 550, "5.7.1 relaying denied", Verdict.MESSAGE),
        (Stage.END, 552, "5.3.4 message too big", Verdict.MESSAGE),
        (Stage.END, 554, "5.6.0 bad content", Verdict.MESSAGE),
        (Stage.END, 554, "transaction failed", Verdict.MESSAGE),
        (Stage.RCPT, 451, "4.7.1 greylisted", Verdict.RECIPIENT),
        (Stage.END, 452, "4.3.1 storage", Verdict.RECIPIENT),
        (Stage.RCPT, 421, "4.3.2 closing", Verdict.CONNECTION),
        (Stage.DATA, 0, "connection lost", Verdict.CONNECTION),
        (Stage.END, 0, "connection lost", Verdict.UNCERTAIN),
        (Stage.END, 250, "2.0.0 queued", Verdict.SENT),
        (Stage.MAIL, 550, "5.7.1 quota", Verdict.HALT),
        (Stage.MAIL, 451, "4.7.1 slow down", Verdict.CONNECTION),
        (Stage.RCPT, 550, "4.1.1 odd", Verdict.MAILBOX),  # a mismatched class is ignored
    ],
)
def test_the_outcome_table(stage: Stage, code: int, text: str, verdict: Verdict) -> None:
    assert classify(stage, code, text) is verdict


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # no store involved
def test_the_enhanced_code_is_read_only_in_the_replys_class() -> None:
    assert enhanced_code(550, "5.1.1 no such user") == "5.1.1"
    assert enhanced_code(550, "4.1.1 odd") == ""
    assert enhanced_code(451, "greylisted") == ""


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # no store involved
def test_each_retry_waits_twice_the_last_within_half_either_way_up_to_five_minutes() -> None:
    """The backoff doubles from the first delay, is capped at 300 s, and is jittered by up
    to half either way (400 draws each: a draw within a tenth of each bound is all but sure)."""
    for attempt, middle in [(1, 2.0), (2, 4.0), (3, 8.0), (12, 300.0)]:
        waits = [backoff(2.0, attempt) for _ in range(400)]
        assert middle * 0.5 <= min(waits) < middle * 0.6, (attempt, min(waits))
        assert middle * 1.4 < max(waits) <= middle * 1.5, (attempt, max(waits))


def test_the_pace_recovers_after_a_421() -> None:
    now = [0.0]
    pacer = Pacer(100, period=30, clock=lambda: now[0])
    pacer.slow_down()  # what a 421 or a dropped connection does
    assert pacer.rate == 50
    now[0] = 29.9
    assert pacer.rate == 50
    now[0] = 30.0
    assert pacer.rate == 100


def test_status_separates_every_outcome_and_exports_last_replies(
    ready: Path, run_weekly: Run, server: FaultServer
) -> None:
    write_list(ready, subscribers(8))
    server.plan.update(
        {
            "user1@example.com": ("unknown", 9),
            "user2@example.com": ("content", 9),
            "user3@example.com": ("store_drop", 1),
            "user4@example.com": ("greylist", 9),
        }
    )
    configure(ready, server.port, max_attempts=2)
    run_weekly("send", "324", "--yes")
    shown = run_weekly("status", "324").output
    for label, count in [
        ("sent", 4),
        ("failed (mailbox)", 1),
        ("failed (message)", 1),
        ("failed (gave up)", 1),
        ("retrying", 0),
        ("pending", 0),
        ("uncertain", 1),
    ]:
        assert re.search(rf"^  {re.escape(label)} +{count}$", shown, re.M), (label, shown)
    listed = run_weekly("status", "324", "--failed").output
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(listed))}
    assert {e: (r["state"], r["last_reply"][:9]) for e, r in rows.items()} == {
        "user1@example.com": ("failed_permanent", "550 5.1.1"),
        "user2@example.com": ("failed_message", "554 5.7.1"),
        "user3@example.com": ("sending", "connectio"),
        "user4@example.com": ("failed_temporary", "451 4.7.1"),
    }
