"""Due scheduled sends, run from `weekly serve`: the store is checked about every second, a
due send is claimed (one UPDATE, so of several serve processes one runs it) and run as its
own `weekly send` process, so a crash of a send never takes the web service down."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, closing
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from weekly.clock import now, stamp
from weekly.config import load_config
from weekly.deliver.status import LABELS
from weekly.errors import WeeklyError
from weekly.processes import running
from weekly.render.composed import load_composed
from weekly.store import Schedules, existing_ledger, open_schedules
from weekly.store.schedules import FAILED, MISSED, REFUSED, RUNNING, SENT, WAITING, Schedule

SCHEDULE_LOG = "weekly.schedule"
log = logging.getLogger(SCHEDULE_LOG)
T = TypeVar("T")

POLL_SECONDS = 1.0
RUNNER = re.compile(r"pid (?P<pid>\d+) on (?P<host>.+)")  # who claimed a schedule


def lateness(seconds: float) -> str:
    """A delay as people say it: 40 s, 12 min, 7.5 h."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class ScheduleRunner:
    """Runs the due sends of the newsletter at `root` until told to stop."""

    def __init__(self, root: Path, store: Schedules, grace: float) -> None:
        self.root = root
        self.store = store
        self.grace = grace
        self.name = f"pid {os.getpid()} on {socket.gethostname()}"
        self._sends: dict[int, asyncio.subprocess.Process] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        # Every call to the store on one worker thread, one at a time (a SQLite connection
        # is not for two threads at once), and never on the event loop serving requests.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="schedule")

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the store's worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, function, *args)

    def recover(self) -> None:
        """Put back to waiting the sends a serve process on this machine was running when it
        died (killed, the power cut): the rerun's ledger skips whoever already got the issue."""
        for schedule in self.store.listed():
            held = RUNNER.fullmatch(schedule.runner)
            if schedule.state != RUNNING or held is None or held["host"] != socket.gethostname():
                continue
            if running(int(held["pid"])):
                continue
            detail = f"its serve ({schedule.runner}) stopped during the send; run again"
            self.store.move(schedule.issue, RUNNING, WAITING, detail)
            log.warning("schedule: issue %d: %s", schedule.issue, detail)

    async def watch(self) -> None:
        """Check the store every POLL_SECONDS; a store that cannot be read is logged and
        tried again, never the end of the service."""
        recovered = False
        while True:
            try:
                if not recovered:
                    await self._call(self.recover)
                    recovered = True
                await self.check(now())
            except WeeklyError as exc:
                log.error("schedule: %s", exc.message)
            except Exception:  # a bug here must not end the checking, nor the service
                log.exception("schedule: checking for due sends failed")
            await asyncio.sleep(POLL_SECONDS)

    async def check(self, moment: datetime) -> None:
        """Claim the sends due at `moment` and start each; those more than the grace late
        are marked missed instead."""
        for schedule in await self._call(self.store.claim, stamp(moment), self.name):
            late = (moment - schedule.due_time).total_seconds()
            if late > self.grace:
                await self._call(self._miss, schedule, late)
                continue
            how = f"started {lateness(late)} late" if late >= POLL_SECONDS else "started"
            task = asyncio.create_task(self._run(schedule, how))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _miss(self, schedule: Schedule, late: float) -> None:
        detail = (
            f"serve was not running: {lateness(late)} late, over schedule.grace "
            f"({lateness(self.grace)}); not sent"
        )
        self.store.move(schedule.issue, RUNNING, MISSED, detail)
        log.warning("schedule: issue %d missed: due %s, %s", schedule.issue, schedule.due, detail)

    def _refusal(self, schedule: Schedule) -> str | None:
        """Why the build may not go out as scheduled (it changed, or is gone), or None."""
        number = schedule.issue
        try:
            fingerprint = load_composed(self.root, number).fingerprint
        except WeeklyError as exc:
            return exc.message
        if fingerprint == schedule.fingerprint:
            return None
        if schedule.allow_changes:
            log.info(
                "schedule: issue %d changed since scheduled; sent anyway (--allow-changes)", number
            )
            return None
        return (
            f"the build changed since it was scheduled (fingerprint {schedule.fingerprint}, "
            f"now {fingerprint}): schedule it again, or with --allow-changes"
        )

    async def _run(self, schedule: Schedule, how: str) -> None:
        """Run the claimed `schedule`; if that itself fails, say so rather than leave it
        running for ever."""
        try:
            await self._send(schedule, how)
        except Exception:
            log.exception("schedule: issue %d: the send could not be run", schedule.issue)
            why = "the send could not be run: see serve's log"
            await self._call(self.store.move, schedule.issue, RUNNING, FAILED, why)

    async def _send(self, schedule: Schedule, how: str) -> None:
        number = schedule.issue
        refusal = await asyncio.to_thread(self._refusal, schedule)
        if refusal is not None:
            await self._call(self.store.move, number, RUNNING, REFUSED, refusal)
            log.warning("schedule: issue %d refused: %s", number, refusal)
            return
        log.info("schedule: issue %d: send %s (due %s)", number, how, schedule.due)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "weekly", "send", str(number), "--yes", "--silent",
            "--root", str(self.root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C to serve reaches the send only through stop()
        )  # fmt: skip
        self._sends[number] = process
        out, err = await process.communicate()
        del self._sends[number]
        code = process.returncode
        counts = await asyncio.to_thread(self._counts, number)
        said = (err or out).decode("utf-8", "replace").strip().splitlines()
        if code == 0:
            state, detail = SENT, counts
        elif self._stopping:
            state, detail = WAITING, "stopped with serve; resumes when serve runs again"
        else:
            state, detail = FAILED, f"exit {code}: {said[-1] if said else 'no output'}"
        await self._call(self.store.move, number, RUNNING, state, detail)
        log.info("schedule: issue %d: send finished, exit %s: %s (%s)", number, code, counts, state)

    def _counts(self, number: int) -> str:
        """The ledger's count of the issue's rows by outcome, the non-zero ones."""
        ledger = existing_ledger(self.root)
        if ledger is None:
            return "nothing in the ledger"
        with closing(ledger):
            counts = ledger.counts(number)
        found = [f"{label} {counts[s]:,}" for s, label in LABELS.items() if counts[s]]
        return ", ".join(found) or "nobody in the ledger"

    async def stop(self) -> None:
        """Stop the running sends (each finishes its messages in flight) and wait for them."""
        self._stopping = True
        for process in self._sends.values():
            process.terminate()
        await self.settle()  # a send drains within delivery.timeout
        self._worker.shutdown()

    async def settle(self) -> None:
        """Wait until every send started so far has finished and been recorded."""
        await asyncio.gather(*self._tasks)


@asynccontextmanager
async def running_schedules(root: Path) -> AsyncIterator[None]:
    """Run the newsletter's due sends in the background for the duration of the block."""
    store = await asyncio.to_thread(open_schedules, root)
    runner = ScheduleRunner(root, store, load_config(root).schedule.grace)
    log.info("schedule: checking for due sends every %g s", POLL_SECONDS)
    watching = asyncio.create_task(runner.watch())
    try:
        yield
    finally:
        watching.cancel()
        await runner.stop()
        store.close()
