"""How fast delivery goes, whatever the backend: one shared pace that halves after trouble,
and each recipient's own backoff between retries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Protocol

# After a connection-level fault the pace is halved for this long (seconds).
SLOW_PERIOD = 30.0
SLOWEST_FACTOR = 1 / 64
LONGEST_BACKOFF = 300.0


class Pacing(Protocol):
    """What the dispatcher asks of a pace: this process's `Pacer`, or one shared by senders."""

    async def wait(self) -> bool:
        """Wait for the next message's slot; False when no more may go today."""

    def slow_down(self) -> None:
        """Slow down after a connection-level fault."""


class Pacer:
    """One rate limit for all connections; `slow_down` halves it for `period` seconds
    (by `clock`, the event loop's by default), after which the full rate is back."""

    def __init__(
        self, rate: float, *, period: float = SLOW_PERIOD, clock: Callable[[], float] | None = None
    ) -> None:
        self._rate = rate
        self._period = period
        self._clock = clock
        self._factor = 1.0
        self._slow_until = 0.0
        self._next = 0.0

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @property
    def rate(self) -> float:
        """Messages per second allowed now."""
        if self._factor < 1 and self._now() >= self._slow_until:
            self._factor = 1.0
        return self._rate * self._factor

    async def wait(self) -> bool:
        """Wait for this message's slot at the current pace; always True (no daily cap)."""
        now = self._now()
        rate = self.rate
        slot = max(now, self._next)
        self._next = slot + 1 / rate
        if slot > now:
            await asyncio.sleep(slot - now)
        return True

    def slow_down(self) -> None:
        """Halve the pace (down to SLOWEST_FACTOR of it) for the next `period` seconds."""
        self._factor = max(self._factor / 2, SLOWEST_FACTOR)
        self._slow_until = self._now() + self._period


def backoff(first: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): doubling, capped, with jitter."""
    return min(first * 2.0 ** (attempt - 1), LONGEST_BACKOFF) * random.uniform(0.5, 1.5)
