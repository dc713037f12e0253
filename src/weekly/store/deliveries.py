"""The ledger's domain: the states a (issue, recipient) row moves through and a row as the
status report lists it, the same whichever store keeps them."""

from __future__ import annotations

from collections.abc import Iterable
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

# Rows added before deliveries recorded their segment (a best guess at the second: the last
# segment the runs noted at or before the row's creation, else everyone), run once
# when a store gains the column. Both stores speak this SQL; `order` names the segments
# table's insertion order (rowid in SQLite, id in PostgreSQL).
BACKFILL_SEGMENT = """
UPDATE deliveries SET segment = coalesce((SELECT s.expression FROM segments s
    WHERE s.issue = deliveries.issue AND s.at {collate} <= deliveries.created_at {collate}
    ORDER BY s.at {collate} DESC, s.{order} DESC LIMIT 1), '')
WHERE issue IN (SELECT issue FROM segments WHERE expression <> '')
"""


def by_segment(
    rows: Iterable[tuple[str, str, int]], order: Iterable[str]
) -> dict[str, dict[str, int]]:
    """(segment, state, count) rows as each segment's count per state (every state), the
    segments in `order` (as first used) and any others after them by name."""
    found: dict[str, dict[str, int]] = {}
    for segment, state, count in rows:
        found.setdefault(segment, dict.fromkeys(STATES, 0))[state] = int(count)
    ranked = [s for s in dict.fromkeys(order) if s in found]
    return {s: found[s] for s in [*ranked, *sorted(found.keys() - set(ranked))]}


def shown_segment(expression: str) -> str:
    """A recorded segment as the plan, the status and the stats show it ("": everyone)."""
    return expression or "everyone"


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
