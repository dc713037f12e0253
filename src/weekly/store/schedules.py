"""Scheduled sends as the store keeps them: one row per issue with its due time, the build
it was checked against, and where it stands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass, replace
from datetime import datetime
from typing import Any

from weekly.clock import stamp

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


# The table's columns, in the order of the fields above, for both stores.
COLUMNS = "issue, due, fingerprint, allow_changes, state, detail, runner, updated_at"


def put_statement(mark: str) -> str:
    """The upsert both stores run for `put`, with their parameter mark (? or %s): a
    schedule replaces the issue's earlier one unless that one is running."""
    return (
        f"INSERT INTO schedules ({COLUMNS}) VALUES ({', '.join([mark] * 8)})"
        " ON CONFLICT (issue) DO UPDATE SET due = excluded.due,"
        " fingerprint = excluded.fingerprint, allow_changes = excluded.allow_changes,"
        " state = excluded.state, detail = excluded.detail, runner = excluded.runner,"
        f" updated_at = excluded.updated_at WHERE schedules.state <> {mark}"
    )


def claim_statement(mark: str) -> str:
    """The UPDATE both stores run for `claim`: every waiting schedule due by then becomes
    this runner's, in one statement, so two runners never share one."""
    return (
        f"UPDATE schedules SET state = '{RUNNING}', detail = '', runner = {mark},"
        f" updated_at = {mark} WHERE state = '{WAITING}' AND due <= {mark} RETURNING {COLUMNS}"
    )


def schedule_row(schedule: Schedule) -> tuple[Any, ...]:
    """`schedule` as a row to write, stamped now."""
    return astuple(replace(schedule, updated_at=stamp()))


def from_row(row: tuple[Any, ...]) -> Schedule:
    """A row read back (SQLite keeps the flag as 0 or 1)."""
    issue, due, fingerprint, allow, *rest = row
    return Schedule(int(issue), due, fingerprint, bool(allow), *rest)


def soonest_first(rows: Iterable[tuple[Any, ...]]) -> list[Schedule]:
    """`rows` read back, by due time then issue."""
    return sorted(map(from_row, rows), key=lambda s: (s.due, s.issue))
