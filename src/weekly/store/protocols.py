"""What callers may ask of a store: the send ledger and the consent log as protocols in
domain terms (no SQL, no paths), so SQLite and a shared PostgreSQL can stand behind them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from weekly.store.consent import Event, Standing
from weekly.store.deliveries import Delivery, Mark, Sender
from weekly.store.hits import Hit, Tally
from weekly.store.outcomes import SendOutcome
from weekly.store.schedules import Schedule


class Ledger(Protocol):
    """One row per (issue, recipient) and its state; every call is committed on return, so a
    process killed at any point leaves each row telling the truth."""

    def fingerprint(self, issue: int) -> str | None:
        """The fingerprint of the composed content the first send of `issue` used."""

    def set_fingerprint(self, issue: int, fingerprint: str) -> None:
        """Record (or replace) the fingerprint the send of `issue` uses."""

    def note_segment(self, issue: int, expression: str) -> None:
        """Record that a run of `issue` mails the segment `expression` ("": everyone)."""

    def segments(self, issue: int) -> list[str]:
        """The segments the runs of `issue` mailed, each once, in the order first used."""

    def states(self, issue: int, keys: Sequence[str]) -> dict[str, str]:
        """The state of each of `keys` that has a row (at most 500 keys at a time)."""

    def add(self, issue: int, recipients: Sequence[tuple[str, str]], segment: str = "") -> None:
        """Rows in `pending` for (key, email) pairs not yet in the ledger, all or none, each
        belonging to `segment` (the expression of the run adding it; "": everyone)."""

    def mark_sending(self, issue: int, key: str, message_id: str) -> None:
        """Right before the end of data: from here on a crash leaves the row uncertain. The
        dispatcher calls it synchronously, so nothing runs between its commit and that end."""

    def mark(self, issue: int, key: str, state: str, reply: str, *, attempt: bool = False) -> None:
        """Record an outcome; `attempt` counts a try that stopped before its end of data."""

    def counts(self, issue: int) -> dict[str, int]:
        """How many rows of `issue` are in each state (every state, zeros included)."""

    def segment_counts(self, issue: int) -> dict[str, dict[str, int]]:
        """How many rows of `issue` each segment added, per state, segments in the order first
        used (empty for a ledger too old to know, opened read-only)."""

    def rows(self, issue: int, states: Sequence[str]) -> Iterator[Delivery]:
        """Rows of `issue` in any of `states`, by recipient key."""

    def permanent_failures(self) -> Iterator[tuple[str, str, str]]:
        """(email, reply, time) of every 5xx refusal of any issue: hard bounces."""

    def close(self) -> None:
        """Release the connection; the ledger is not used afterwards."""


class ConsentLog(Protocol):
    """The append-only log of who confirmed, unsubscribed, bounced or complained."""

    def record(self, events: Iterable[Event]) -> int:
        """Append `events` all or none; returns how many were new (a known ref is not)."""

    def cursor(self) -> int:
        """A mark of the log as it is now, for `changed_since`."""

    def changed_since(self, cursor: int) -> tuple[int, set[str]]:
        """The addresses with events recorded after `cursor`, and the cursor past them."""

    def history(self, address: str) -> list[Event]:
        """Every event of one address (any case), oldest first."""

    def standings(self, extra: Iterable[Event] = ()) -> dict[str, Standing]:
        """Where every address stands, counting `extra` events as if they were in the log."""

    def close(self) -> None:
        """Release the connection; the log is not used afterwards."""

    def __enter__(self) -> ConsentLog:
        """The log itself, closed at the end of the `with` block."""

    def __exit__(self, *exc: object) -> None:
        """Close the log."""


class HitLog(Protocol):
    """Clicks on tracked links and fetches of the open pixel, appended in batches."""

    def record(self, hits: Sequence[Hit]) -> None:
        """Append `hits` all or none."""

    def tallies(self, issue: int | None = None) -> list[Tally]:
        """Hits counted per (issue, kind, link, agent), of one issue or of all."""

    def totals(self, issue: int | None = None) -> list[Tally]:
        """Hits counted per (issue, kind, agent) over all links (`link` 0): `unique` is then
        how many visitors clicked any link, as the click-through rate needs."""

    def close(self) -> None:
        """Release the connection; the log is not used afterwards."""


class HookLog(Protocol):
    """What provider webhooks remember besides the consent log (issue 16): each signed
    request once, and each address's run of soft bounces since its last delivery."""

    def first_use(self, key: str, at: str, forget_before: str) -> bool:
        """Remember request `key` made at `at`; False when it was seen before. Keys made
        before `forget_before` are dropped (their time is out of the window anyway)."""

    def soft_bounce(self, ref: str, address: str, at: str, after: str) -> int | None:
        """Count a soft bounce of `address` at `at`: the soft bounces in a row now (those
        later than `after` and than its last delivery), or None when `ref` was counted before."""

    def delivered(self, address: str, at: str) -> None:
        """A delivery to `address` at `at`: the soft bounces before it no longer count."""

    def close(self) -> None:
        """Release the connection."""


class SendReports(Protocol):
    """How sends went, read from the ledger and the consent log together (issue 15)."""

    def outcomes(self, issue: int | None = None) -> list[SendOutcome]:
        """How the send of `issue` (or of every issue) went, by issue number."""

    def close(self) -> None:
        """Release the connection."""


class Pace(Protocol):
    """One pace for every sender of a store (a token bucket kept in the store)."""

    def take(self, count: int, rate: float, burst: float, cap: int) -> float | None:
        """Take `count` tokens: seconds to wait before using them, None past the day's cap."""

    def slow_down(self, period: float, slowest: float) -> None:
        """Halve every sender's pace (down to `slowest` of it) for `period` seconds."""


class MarkWriter(Protocol):
    """A shared send's marks, written from the event loop (a store a round trip away)."""

    async def record(self, marks: Sequence[Mark]) -> set[str]:
        """Apply `marks` (one per key) all or none, each only to a row this sender still
        holds; returns the keys it no longer holds (another sender took them over)."""

    async def close(self) -> None:
        """Release the connection."""


class Crew(Protocol):
    """This process's seat among the senders sharing one issue's send (a shared store only)."""

    @property
    def issue(self) -> int:
        """The issue being sent."""

    @property
    def pace(self) -> Pace:
        """The store's one pace."""

    def join(self) -> bool:
        """Take a seat with a lease; True when this sender must load the list."""

    def load(self, rows: Iterable[tuple[str, str, str]], segment: str = "") -> None:
        """(key, email, payload) of every recipient of this run, streamed into the store; new
        rows belong to `segment`, the run's expression ("": everyone)."""

    def claim(self, limit: int, states: Sequence[str]) -> list[tuple[str, str]]:
        """Up to `limit` free rows of this run in `states`, now held here: (key, payload)."""

    def marks(self) -> MarkWriter:
        """The writer of this sender's marks, for the event loop that sends."""

    def held_elsewhere(self, states: Sequence[str]) -> int:
        """Rows of this run in `states` that other live senders hold."""

    def heartbeat(self, sent: int) -> None:
        """Renew the lease; `sent` so far."""

    def leave(self, sent: int) -> None:
        """End the lease now: whatever is still held is free for the others."""

    def senders(self) -> list[Sender]:
        """Every sender of this issue, oldest first."""

    def close(self) -> None:
        """Release the connections."""


class Schedules(Protocol):
    """Scheduled sends, one per issue; a state changes only from the state a caller expects,
    in one statement, so of several `weekly serve` processes exactly one runs a due send."""

    def put(self, schedule: Schedule) -> bool:
        """Schedule (or reschedule) its issue; False while a send of that issue runs."""

    def get(self, issue: int) -> Schedule | None:
        """The schedule of `issue`, if there is one."""

    def listed(self) -> list[Schedule]:
        """Every schedule, soonest first."""

    def claim(self, now: str, runner: str) -> list[Schedule]:
        """Every waiting schedule due at `now` (a stamp) or before, now `running` and held
        by `runner`, soonest first; of two runners claiming at once each gets its own."""

    def move(self, issue: int, before: str, after: str, detail: str, runner: str = "") -> bool:
        """From state `before` to `after` with `detail`; False (nothing changed) when the
        schedule of `issue` is not in `before`."""

    def close(self) -> None:
        """Release the connection."""
