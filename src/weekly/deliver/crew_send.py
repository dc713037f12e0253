"""A send shared by several processes through a PostgreSQL store: this sender's seat, the
rows it claims batch by batch, its heartbeat, and the pace all senders share."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields

from weekly.audience.subscriber_list import Subscriber
from weekly.config import Config
from weekly.deliver.pacing import SLOW_PERIOD, SLOWEST_FACTOR, Pacer
from weekly.deliver.recording import GroupCommit
from weekly.errors import WeeklyError
from weekly.store import Crew

CLAIM = 50  # rows claimed at a time: what a killed sender holds back at most for a lease
PACE_SLICE = 0.1  # seconds of the global rate taken from the store at a time
# What the store keeps of a subscriber (not its tags: the segment chose the rows before they
# were stored); read by attribute, as `asdict` would copy every row's fields dict first.
_KEPT = tuple(f.name for f in fields(Subscriber) if f.name != "tags")


def payload(subscriber: Subscriber) -> str:
    """The subscriber as the store keeps it, so any sender can build their message."""
    kept = {name: getattr(subscriber, name) for name in _KEPT}
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def subscriber_of(text: str) -> Subscriber:
    return Subscriber(**json.loads(text))


class SharedPacer:
    """The pace of a shared send: this process's own `Pacer` spaces its messages evenly, and
    the store's bucket, taken a slice at a time, holds all senders together to the rate; a
    slow-down is felt by every sender."""

    def __init__(self, crew: Crew, config: Config) -> None:
        self._local = Pacer(config.delivery.rate)
        self._pace = crew.pace
        self._rate = config.delivery.rate
        self._cap = config.delivery.daily_cap
        self._slice = max(1, round(self._rate * PACE_SLICE))
        self._budget = 0
        self._lock = asyncio.Lock()

    async def wait(self) -> bool:
        """Wait for this message's token; False once the day's cap is reached."""
        await self._local.wait()
        async with self._lock:
            if self._budget == 0:
                delay = await self._take()
                if delay is None and self._slice > 1:  # near the cap: one token at a time
                    self._slice = 1
                    delay = await self._take()
                if delay is None:
                    return False
                await asyncio.sleep(delay)
                self._budget = self._slice
            self._budget -= 1
        return True

    async def _take(self) -> float | None:
        return await asyncio.to_thread(
            self._pace.take, self._slice, self._rate, self._slice, self._cap
        )

    def slow_down(self) -> None:
        """Halve every sender's pace for a while (a 421 or a dropped connection here)."""
        self._local.slow_down()
        self._pace.slow_down(SLOW_PERIOD, SLOWEST_FACTOR)


class SharedRun:
    """This process's part of a shared send of `crew.issue`."""

    def __init__(self, crew: Crew, config: Config, states: Iterable[str]) -> None:
        self._crew = crew
        self._states = tuple(states)
        self._poll = min(0.25, config.store.lease_seconds / 4)
        self._beat = config.store.lease_seconds / 3
        self.pacer = SharedPacer(crew, config)
        self.recording = GroupCommit(crew.marks())  # each mark fenced by the hold on its row
        self.sent = 0

    def join(self, recipients: Callable[[], Iterator[tuple[str, str, str]]], segment: str) -> None:
        """Take a seat; load `recipients()` (key, email, payload), new ones in `segment`, if
        no live sender has."""
        if self._crew.join():
            self._crew.load(recipients(), segment)

    def counted(self, progress: Callable[[int], None]) -> Callable[[int], None]:
        """`progress`, counting what this sender finished for its heartbeat."""

        def advance(n: int) -> None:
            self.sent += n
            progress(n)

        return advance

    async def claimed(self) -> AsyncIterator[Subscriber]:
        """Rows claimed batch by batch until none is left and no live sender holds any.
        Only a claim made after nothing was seen held elsewhere ends it: a lease that runs
        out between an empty claim and that look frees rows the next claim takes."""
        crew = self._crew
        none_held = False  # no live sender held a row at the last look since rows came
        while True:
            rows = await asyncio.to_thread(crew.claim, CLAIM, self._states)
            for _, text in rows:
                yield subscriber_of(text)
            if rows:
                none_held = False
            elif none_held:
                return
            elif await asyncio.to_thread(crew.held_elsewhere, self._states):
                await asyncio.sleep(self._poll)  # another sender may die and free its rows
            else:
                none_held = True

    @contextmanager
    def seated(self) -> Iterator[None]:
        """Heartbeats while the block runs; the seat given up at its end."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self._beat):
                try:
                    self._crew.heartbeat(self.sent)
                except WeeklyError:  # the store is out of reach; leave() will say so
                    continue

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self._crew.leave(self.sent)
