"""What the dispatcher, `weekly send` and `weekly serve` need of a delivery backend: one lane
to a relay or provider that takes prepared messages and answers in backend-neutral outcomes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from weekly.deliver.outcomes import Outcome

# Runs right before the point of no return (SMTP's end of data, an API's request): from
# then on the receiving side may hold the message, so the ledger row becomes `sending`.
# When it returns an awaitable (a commit on its way to a shared store), the backend awaits
# it before that point; should either raise, the message must not go.
BeforeEnd = Callable[[], Awaitable[None] | None]


class DeliveryBackend(Protocol):
    """One lane of a backend (an SMTP connection, an API client); a send runs
    `delivery.concurrency` of them side by side, made by `backends.backend_for`."""

    async def open(self) -> None:
        """Connect and log in now; WeeklyError naming the relay when that fails.
        `deliver` opens (and reopens) by itself, so calling this first is optional."""

    async def deliver(
        self, sender: str, recipient: str, data: bytes, before_end: BeforeEnd
    ) -> Outcome:
        """Hand over one message (`data`: CRLF line ends, no line starting with a dot) for
        the envelope `sender` -> `recipient`, calling `before_end` right before the point of
        no return. The relay's answers and faults come back as the outcome, never raised."""

    async def close(self) -> None:
        """Let go of the lane; never raises. `deliver` may open it again."""

    async def probe(self, sender: str) -> None:
        """Check, before a send, that the relay is reachable and accepts `sender`; WeeklyError
        saying what is wrong when not. Leaves the lane closed."""
