"""Where a send's state changes go. The newsletter's own SQLite ledger takes each one at once
(a local commit costs microseconds). A shared store is a round trip away, so there one
writer thread commits, in one transaction, every mark that arrived while its last commit was
under way (group commit): several messages' marks share one round trip and the event loop
never waits on the store."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable
from typing import Protocol

from weekly.errors import WeeklyError
from weekly.store import Crew, Ledger
from weekly.store.deliveries import SENDING, Mark

_Waiting = list[tuple[Mark, asyncio.Future[None]]]
SWITCH_SECONDS = 0.0005


class Fenced(WeeklyError):
    """This sender no longer holds the row: its lease ran out and another sender took it."""


class Recording(Protocol):
    """What the dispatcher asks of the ledger while it sends."""

    def sending(self, key: str, message_id: str) -> Awaitable[None] | None:
        """Mark `key` `sending`; what it returns (if anything) must be awaited before the end
        of data goes out. Fenced, now or when awaited, when the row is another sender's."""

    def outcome(self, mark: Mark) -> asyncio.Future[None] | None:
        """Record an outcome: None when it is already durable, else a future that is done
        once it is (Fenced when the row is another sender's, WeeklyError when the store fails)."""

    async def close(self) -> None:
        """Commit whatever is still waiting; nothing is recorded afterwards."""


class LedgerRecording:
    """Each mark committed at once, in the calling thread: the newsletter's own ledger."""

    def __init__(self, ledger: Ledger, issue: int) -> None:
        self._ledger = ledger
        self._issue = issue

    def sending(self, key: str, message_id: str) -> None:
        self._ledger.mark_sending(self._issue, key, message_id)

    def outcome(self, mark: Mark) -> None:
        self._ledger.mark(self._issue, mark.key, mark.state, mark.reply, attempt=bool(mark.tries))

    async def close(self) -> None:
        pass


class GroupCommit:
    """Marks for a shared store, fenced by this sender's hold on each row, committed a group
    at a time by one writer thread; each caller's future is done once its mark is."""

    def __init__(self, crew: Crew) -> None:
        self._crew = crew
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._arrived = threading.Condition()
        self._waiting: _Waiting = []
        self._closing = False
        self._switch_interval = sys.getswitchinterval()  # the process's own, put back at close

    def sending(self, key: str, message_id: str) -> asyncio.Future[None]:
        return self._submit(Mark(key, SENDING, "", message_id, 1))

    def outcome(self, mark: Mark) -> asyncio.Future[None]:
        return self._submit(mark)

    def _submit(self, mark: Mark) -> asyncio.Future[None]:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._write, name="ledger writer", daemon=True)
            self._thread.start()
            # The writer waits on the store, then briefly needs the GIL to hand the result
            # back; by default a busy event loop keeps it for up to 5 ms, which would keep
            # every row that long in `sending` after its reply came. Only while it runs.
            sys.setswitchinterval(SWITCH_SECONDS)
        future = self._loop.create_future()
        with self._arrived:
            self._waiting.append((mark, future))
            self._arrived.notify()
        return future

    def _write(self) -> None:
        assert self._loop is not None
        while group := self._next():
            try:
                fenced = self._crew.record([mark for mark, _ in group])
            except Exception as exc:  # handed to the callers: a dead writer would hang them
                self._loop.call_soon_threadsafe(_settle, group, set(), exc)
            else:
                self._loop.call_soon_threadsafe(_settle, group, fenced, None)

    def _next(self) -> _Waiting:
        """Every mark waiting, up to a second one for the same key (left for the next
        group: one statement changes a row once). Empty once closed and drained."""
        with self._arrived:
            while not self._waiting and not self._closing:
                self._arrived.wait()
            keys: set[str] = set()
            cut = len(self._waiting)
            for index, (mark, _) in enumerate(self._waiting):
                if mark.key in keys:
                    cut = index
                    break
                keys.add(mark.key)
            group, self._waiting = self._waiting[:cut], self._waiting[cut:]
        return group

    async def close(self) -> None:
        if self._thread is None:
            return
        with self._arrived:
            self._closing = True
            self._arrived.notify()
        await asyncio.to_thread(self._thread.join)
        sys.setswitchinterval(self._switch_interval)


def _settle(group: _Waiting, fenced: set[str], failure: Exception | None) -> None:
    """In the event loop: tell each mark's caller how its commit went."""
    for mark, future in group:
        if future.done():  # its caller was cancelled (a second Ctrl-C)
            continue
        if failure is not None:
            future.set_exception(failure)
        elif mark.key in fenced:
            future.set_exception(Fenced(f"{mark.key} is held by another sender now"))
        else:
            future.set_result(None)
