"""serve's schedule runner in this process, on a real store, its sends real `weekly send`
processes into a real SMTP sink: a changed build sent with --allow-changes, a send that
fails, a build gone, a store that fails, without a web service around it."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from weekly.clock import now, stamp
from weekly.deliver.schedule_runner import SCHEDULE_LOG, ScheduleRunner, lateness
from weekly.project import build_dir
from weekly.render.composed import load_composed
from weekly.store import open_schedules
from weekly.store.location import shown
from weekly.store.schedules import (
    FAILED,
    MISSED,
    REFUSED,
    RUNNING,
    SENT,
    WAITING,
    Schedule,
)

from .smtp import Recorder, configure, make_build, smtp_server, subscribers, write_list
from .test_serve import LogWait

# Every schedule lives in the store: each test runs on both.
pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture
def schedule_log() -> Iterator[LogWait]:
    """What the runner logs, to wait for."""
    handler = LogWait(seconds=5)  # each line waited for comes at once; a broken runner fails soon
    logger = logging.getLogger(SCHEDULE_LOG)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def watch_until_logged(runner: ScheduleRunner, log: LogWait) -> str:
    """Run the runner's watch until it logs a line; that line."""

    async def watching() -> None:
        task = asyncio.create_task(runner.watch())
        await asyncio.to_thread(log.wait, 1)
        task.cancel()

    asyncio.run(watching())
    return log.records[0].getMessage()


def due_now(root: Path) -> Schedule:
    """Issue 324 scheduled for now, with its current build."""
    schedule = Schedule(324, stamp(now()), load_composed(root, 324).fingerprint)
    with closing(open_schedules(root)) as table:
        table.put(schedule)
    return schedule


def run_due(root: Path, late: float = 0.5) -> Schedule:
    """One check of the store by a runner `late` seconds after issue 324 is due, and the
    sends it started seen to the end."""

    async def once() -> None:
        with closing(open_schedules(root)) as table:
            due = table.get(324)
            assert due is not None
            runner = ScheduleRunner(root, table, 60.0)
            await runner.check(due.due_time + timedelta(seconds=late))
            await runner.settle()

    asyncio.run(once())
    with closing(open_schedules(root)) as table:
        found = table.get(324)
    assert found is not None
    return found


@pytest.fixture
def sink(ready: Path) -> Iterator[Recorder]:
    """A recording SMTP server the newsletter (issue 324 built, two readers) sends to."""
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        write_list(ready, subscribers(2))
        yield recorder


def test_allow_changes_sends_the_changed_build(
    ready: Path, sink: Recorder, schedule_log: LogWait
) -> None:
    schedule = due_now(ready)
    with closing(open_schedules(ready)) as table:
        table.put(replace(schedule, allow_changes=True))
    make_build(ready, subject="고친 제목")
    found = run_due(ready)
    assert (found.state, found.detail) == (SENT, "sent 2")
    assert sorted(sink.accepted().values()) == [1, 1]
    assert {m["Subject"] for m in sink.parsed().values()} == {"고친 제목"}
    lines = [r.getMessage() for r in schedule_log.records]
    assert "schedule: issue 324 changed since scheduled; sent anyway (--allow-changes)" in lines
    assert f"schedule: issue 324: send started (due {schedule.due})" in lines  # under 1 s late
    assert "schedule: issue 324: send finished, exit 0: sent 2 (sent)" in lines


def test_a_send_that_fails_is_recorded_with_its_error(
    ready: Path, sink: Recorder, schedule_log: LogWait
) -> None:
    (ready / "subscribers.csv").unlink()
    schedule = due_now(ready)
    found = run_due(ready, late=1.0)
    assert found.state == FAILED and found.detail.startswith("exit 1: Error: "), found.detail
    assert "subscribers.csv" in found.detail
    assert sink.messages == []
    lines = [r.getMessage() for r in schedule_log.records]
    assert lines == [
        f"schedule: issue 324: send started 1 s late (due {schedule.due})",
        "schedule: issue 324: send finished, exit 1: nobody in the ledger (failed)",
    ]


class Held(Recorder):
    """Holds the first message's end of data until `release` is set; `reached` says it came."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.reached.is_set():
            self.reached.set()
            await asyncio.to_thread(self.release.wait, 10)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_send_stopped_with_serve_waits_to_resume(ready: Path, schedule_log: LogWait) -> None:
    """serve stopping mid-send stops the send (its message in flight finished) and puts the
    schedule back to waiting, not failed: the next serve resumes it."""
    write_list(ready, subscribers(3))
    schedule = due_now(ready)
    held = Held()

    async def stop_mid_send() -> None:
        with closing(open_schedules(ready)) as table:
            runner = ScheduleRunner(ready, table, 60.0)
            await runner.check(schedule.due_time + timedelta(seconds=0.5))
            assert await asyncio.to_thread(held.reached.wait, 10), "the send never started"
            stopping = asyncio.create_task(runner.stop())
            await asyncio.sleep(0)  # stop() signals the send before it first waits
            held.release.set()
            await asyncio.wait_for(stopping, 15)

    with smtp_server(held) as port:
        configure(ready, port, concurrency=1)
        asyncio.run(stop_mid_send())
    with closing(open_schedules(ready)) as table:
        found = table.get(324)
    detail = "stopped with serve; resumes when serve runs again"
    assert found is not None and (found.state, found.detail) == (WAITING, detail)
    assert 1 <= len(held.accepted()) < 3  # the one held, perhaps one begun before the signal
    finished = schedule_log.records[-1].getMessage()
    assert re.fullmatch(
        r"schedule: issue 324: send finished, exit 143: sent [12], pending [12] \(waiting\)",
        finished,
    ), finished


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_lateness_reads_as_people_say_it() -> None:
    seconds = (0.4, 40, 60, 720, 3000, 3600, 27_000, 720_000)
    assert [lateness(s) for s in seconds] == [
        "0 s",
        "40 s",
        "1 min",
        "12 min",
        "50 min",
        "1.0 h",
        "7.5 h",
        "200.0 h",
    ]


def test_a_build_gone_by_send_time_is_refused(ready: Path, schedule_log: LogWait) -> None:
    due_now(ready)
    for path in build_dir(ready, 324).iterdir():
        path.unlink()
    found = run_due(ready)
    assert found.state == REFUSED and found.detail.startswith("issue 324 is not composed")
    lines = [r.getMessage() for r in schedule_log.records]
    assert lines == [f"schedule: issue 324 refused: {found.detail}"]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sends_found_later_than_the_grace_are_missed(ready: Path, schedule_log: LogWait) -> None:
    """serve was down past schedule.grace: each such send is marked missed, with how late,
    and nothing is sent; one exactly the grace late still goes (here refused: issue 3 has
    no build). The check's time, not the clock's, decides what is due."""
    at = datetime(2100, 1, 1, 0, 12, tzinfo=UTC)  # a check long after now
    with closing(open_schedules(ready)) as table:
        for issue, due in ((324, at - timedelta(seconds=720)), (325, at - timedelta(seconds=720)),
                           (3, at - timedelta(seconds=60))):  # fmt: skip
            table.put(Schedule(issue, stamp(due), "f" * 16))

    async def late_check() -> None:
        with closing(open_schedules(ready)) as table:
            runner = ScheduleRunner(ready, table, 60.0)
            await runner.check(at)
            await runner.settle()

    asyncio.run(late_check())
    with closing(open_schedules(ready)) as table:
        found = {s.issue: (s.state, s.detail) for s in table.listed()}
    detail = "serve was not running: 12 min late, over schedule.grace (1 min); not sent"
    refusal = found[3][1]
    assert found == {324: (MISSED, detail), 325: (MISSED, detail), 3: (REFUSED, refusal)}
    assert refusal.startswith("issue 3 is not composed"), refusal
    lines = [r.getMessage() for r in schedule_log.records]
    assert lines == [
        f"schedule: issue 324 missed: due 2100-01-01T00:00:00+00:00, {detail}",
        f"schedule: issue 325 missed: due 2100-01-01T00:00:00+00:00, {detail}",
        f"schedule: issue 3 refused: {refusal}",
    ]


def test_watching_first_puts_back_what_a_dead_serve_was_sending(
    newsletter: Path, schedule_log: LogWait
) -> None:
    """The watch recovers before its first check: a send left running by a serve process on
    this machine that is gone waits again (not due yet, so nothing starts it here)."""
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    holder = f"pid {gone.pid} on {socket.gethostname()}"
    with closing(open_schedules(newsletter)) as table:
        table.put(Schedule(324, "2100-01-01T00:00:00+00:00", "f" * 16))
        table.move(324, WAITING, RUNNING, "started", holder)
        line = watch_until_logged(ScheduleRunner(newsletter, table, 60.0), schedule_log)
        found = table.get(324)
    detail = f"its serve ({holder}) stopped during the send; run again"
    assert line == f"schedule: issue 324: {detail}"
    assert found is not None and (found.state, found.detail) == (WAITING, detail)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # a broken SQLite ledger file
def test_a_send_that_cannot_be_recorded_fails_and_says_so(
    ready: Path, schedule_log: LogWait
) -> None:
    """A ledger that is not a ledger: the send exits 1, and reading its counts fails too;
    the schedule ends `failed` rather than `running` for ever."""
    write_list(ready, subscribers(2))
    (ready / ".weekly").mkdir()
    (ready / ".weekly" / "ledger.sqlite").write_bytes(b"not a database" * 100)
    due_now(ready)
    found = run_due(ready)
    assert (found.state, found.detail) == (FAILED, "the send could not be run: see serve's log")
    lines = [r.getMessage() for r in schedule_log.records]
    assert "schedule: issue 324: the send could not be run" in lines


def test_a_store_that_fails_is_logged_and_checked_again(
    newsletter: Path, schedule_log: LogWait, store: str
) -> None:
    table = open_schedules(newsletter)
    table.close()  # every later call fails
    line = watch_until_logged(ScheduleRunner(newsletter, table, 60.0), schedule_log)
    if store:  # the store's own one-line error
        assert line.startswith("schedule: store postgresql://") and "closed" in line, line
    else:
        assert line == "schedule: checking for due sends failed"


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_store_gone_away_is_one_line_in_the_log(
    newsletter: Path, pg_cluster: str, pg_url: str, schedule_log: LogWait
) -> None:
    """The database dropped under a running serve: its connection is cut, and the next check
    logs the server's one line, no traceback. The table is read once first, so the pool holds
    that connection: dropped before the pool's first connection was up, the check waited out
    the pool's 10 s for one that could never come (either way one line, but 10 s per run)."""
    with closing(open_schedules(newsletter)) as table:
        assert table.listed() == []
        with psycopg.connect(pg_cluster, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)')
        line = watch_until_logged(ScheduleRunner(newsletter, table, 60.0), schedule_log)
    assert line == (
        f"schedule: store {shown(pg_url)}: terminating connection due to administrator command"
    )
    assert schedule_log.records[0].exc_info is None
