"""Where a send's state changes go. The newsletter's own SQLite ledger takes each one at once
(a local commit costs microseconds). A shared store is a round trip away, so there one task of
the event loop commits, in one statement, every mark that arrived while its last commit was
under way (group commit): several messages' marks share one round trip."""

from __future__ import annotations

import asyncio
from typing import Protocol

from weekly.deliver.backend import BeforeEnd
from weekly.errors import WeeklyError
from weekly.store import Ledger, MarkWriter
from weekly.store.deliveries import SENDING, Mark

_Waiting = list[tuple[Mark, asyncio.Future[None]]]
# After each commit the writer lets marks gather this long: a statement costs the loop about
# what building a message does, and waiting half a millisecond halved the statements of a
# 20,000-message send (5,150 to 2,580; 3,700 to 4,000 messages/s), each lane waiting that
# much longer for its `sending` commit at most.
GATHER_SECONDS = 0.0005


class Fenced(WeeklyError):
    """This sender no longer holds the row: its lease ran out and another sender took it."""


class Recording(Protocol):
    """What the dispatcher asks of the ledger while it sends."""

    @property
    def ahead(self) -> bool:
        """True when `begin` already asks for the `sending` mark (and so counts the try)."""

    def begin(self, key: str, message_id: str) -> BeforeEnd:
        """A transaction for `key` starts; what it returns runs right before the end of data
        goes out, and what that returns (if anything) is awaited first: `sending` committed.
        Fenced, when awaited, when the row is another sender's."""

    def outcome(self, mark: Mark) -> asyncio.Future[None] | None:
        """Record an outcome: None when it is already durable, else a future that is done
        once it is (Fenced when the row is another sender's, WeeklyError when the store fails)."""

    async def close(self) -> None:
        """Commit whatever is still waiting; nothing is recorded afterwards."""


class LedgerRecording:
    """Each mark committed at once, in the calling thread: the newsletter's own ledger."""

    ahead = False

    def __init__(self, ledger: Ledger, issue: int) -> None:
        self._ledger = ledger
        self._issue = issue

    def begin(self, key: str, message_id: str) -> BeforeEnd:
        """`sending` committed right before the end of data, with no await in between."""
        return lambda: self._ledger.mark_sending(self._issue, key, message_id)

    def outcome(self, mark: Mark) -> None:
        self._ledger.mark(self._issue, mark.key, mark.state, mark.reply, attempt=bool(mark.tries))

    async def close(self) -> None:
        pass


class GroupCommit:
    """Marks for a shared store, fenced by this sender's hold on each row, committed a group
    at a time by one task of the event loop; each caller's future is done once its mark is."""

    ahead = True

    def __init__(self, writer: MarkWriter) -> None:
        self._writer = writer
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        self._waiting: _Waiting = []
        self._closing = False

    def begin(self, key: str, message_id: str) -> BeforeEnd:
        """`sending` asked for now, its commit running while the envelope and body go out.
        Refused before the end of data, the row's outcome follows it (and is fenced too)."""
        future = self._submit(Mark(key, SENDING, "", message_id, 1))
        future.add_done_callback(_retrieved)
        return lambda: future

    def outcome(self, mark: Mark) -> asyncio.Future[None]:
        return self._submit(mark)

    def _submit(self, mark: Mark) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = loop.create_task(self._write(), name="ledger writer")
        future = loop.create_future()
        self._waiting.append((mark, future))
        self._arrived.set()
        return future

    async def _write(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while group := self._next():
                try:
                    fenced = await self._writer.record([mark for mark, _ in group])
                except Exception as exc:  # handed to the callers: a dead writer would hang them
                    _settle(group, set(), exc)
                else:
                    _settle(group, fenced, None)
                if not self._closing:
                    await asyncio.sleep(GATHER_SECONDS)
            if self._closing:
                return

    def _next(self) -> _Waiting:
        """Every mark waiting, up to a second one for the same key (left for the next
        group: one statement changes a row once)."""
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
        if self._task is not None:
            self._closing = True
            self._arrived.set()
            await self._task
        await self._writer.close()


def _retrieved(future: asyncio.Future[None]) -> None:
    """A mark's failure is also its outcome's: not to be logged as never retrieved."""
    if not future.cancelled():
        future.exception()


def _settle(group: _Waiting, fenced: set[str], failure: Exception | None) -> None:
    """Tell each mark's caller how its commit went."""
    for mark, future in group:
        if future.done():  # its caller was cancelled (a second Ctrl-C)
            continue
        if failure is not None:
            future.set_exception(failure)
        elif mark.key in fenced:
            future.set_exception(Fenced(f"{mark.key} is held by another sender now"))
        else:
            future.set_result(None)
