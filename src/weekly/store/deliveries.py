"""The ledger's domain: the states a (issue, recipient) row moves through and a row as the
status report lists it, the same whichever store keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

PENDING = "pending"
RETRYING = "retrying"  # a temporary failure; the running send tries again after a backoff
SENDING = "sending"  # the end of data went out without a recorded reply: uncertain
SENT = "sent"
FAILED_TEMPORARY = "failed_temporary"  # still temporary after max_attempts
FAILED_PERMANENT = "failed_permanent"  # the mailbox is refused: a hard bounce
FAILED_MESSAGE = "failed_message"  # this message was refused (policy, content, size)
OPTED_OUT = "opted_out"  # unsubscribed, bounced or complained while the send ran
STATES = (
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    FAILED_TEMPORARY,
    FAILED_PERMANENT,
    FAILED_MESSAGE,
    OPTED_OUT,
)


class Mark(NamedTuple):
    """One state change of a send's row: `sending` right before its end of data (with the
    message id, one more attempt), or an outcome (`tries` 1 for a try that stopped short)."""

    key: str
    state: str
    reply: str
    message_id: str | None  # None: keep the row's
    tries: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One ledger row as `weekly status --failed` lists it."""

    email: str
    state: str
    attempts: int
    last_reply: str
    message_id: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class Sender:
    """One process that took part in a shared send, as `weekly status` lists it."""

    host: str
    pid: int
    started_at: datetime
    heartbeat: datetime
    sent: int
    alive: bool

    @property
    def rate(self) -> float:
        """Messages a second from its start to its last heartbeat."""
        seconds = (self.heartbeat - self.started_at).total_seconds()
        return self.sent / seconds if seconds > 0 else 0.0
