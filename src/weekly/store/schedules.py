"""Scheduled sends as the store keeps them: one row per issue with its due time, the build
it was checked against, and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WAITING = "waiting"
RUNNING = "running"
SENT = "sent"
FAILED = "failed"  # the send ran and exited with an error; `weekly send N` resumes it
MISSED = "missed"
REFUSED = "refused"
CANCELLED = "cancelled"
STATES = (WAITING, RUNNING, SENT, FAILED, MISSED, REFUSED, CANCELLED)


@dataclass(frozen=True)
class Schedule:
    """When issue `issue` goes out, the fingerprint of the build the editor checked, and its
    state with a line on why (`detail`) and who ran it (`runner`)."""

    issue: int
    due: str  # an ISO stamp in UTC (clock.stamp), so the stores compare it as text
    fingerprint: str
    allow_changes: bool = False
    state: str = WAITING
    detail: str = ""
    runner: str = ""
    updated_at: str = ""

    @property
    def due_time(self) -> datetime:
        """`due` as an aware time."""
        return datetime.fromisoformat(self.due)
