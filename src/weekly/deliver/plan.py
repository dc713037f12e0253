"""What a send will do, decided before any message goes out: the editor's options, which
ledger states get a message, and the plan shown for confirmation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from weekly.audience.subscriber_list import ListReport
from weekly.store.deliveries import (
    FAILED_TEMPORARY,
    PENDING,
    RETRYING,
    SENDING,
    STATES,
    shown_segment,
)

BATCH = 500  # list rows looked up in (and added to) the ledger at a time


@dataclass(frozen=True, kw_only=True)
class SendOptions:
    """How the editor asked for this send."""

    list_path: Path | None = None
    dry_run: bool = False
    tests: tuple[str, ...] = ()
    retry_failed: bool = False
    resend_uncertain: bool = False
    force: bool = False
    insecure: bool = False
    segment: str | None = None  # an expression; wins over the issue's `segment:`

    def claimable(self) -> tuple[str, ...]:
        """The ledger states whose rows get a message (a row added this run is pending)."""
        return tuple(state for state in STATES if self.eligible(state))

    def eligible(self, state: str | None) -> bool:
        """Whether a recipient whose ledger row is in `state` (None: no row) gets a message."""
        if state in (None, PENDING, RETRYING):
            return True
        if state == SENDING:
            return self.resend_uncertain
        if state == FAILED_TEMPORARY:
            return self.retry_failed
        return False


@dataclass
class Plan:
    """What a send will do, shown before asking for confirmation."""

    number: int
    subject: str
    source: str
    relay: str
    to_send: int = 0
    by_state: Counter[str] = field(default_factory=Counter)  # ledger state of skipped rows
    report: ListReport | None = None
    unfilled: tuple[str, ...] = ()
    suppressed: int = 0  # subscribed rows that unsubscribed, bounced or complained since
    signups: int = 0  # confirmed on the web, not in the list
    segment: str = ""  # the expression this run mails ("": everyone)
    segment_origin: str = ""  # where it was given: the option or the front matter
    matched: Counter[bool] = field(default_factory=Counter)  # readers in (True) and out of it
    earlier: list[str] = field(default_factory=list)  # segments earlier runs mailed

    def count(self, state: str | None, options: SendOptions) -> bool:
        """Count one recipient in ledger `state` (None: no row yet); whether it gets a message."""
        if state is None or options.eligible(state):
            self.to_send += 1
            return True
        self.by_state[state] += 1
        return False

    @property
    def skipped(self) -> int:
        """Rows left alone because the ledger says they are done (uncertain ones aside)."""
        return sum(n for state, n in self.by_state.items() if state != SENDING)

    def lines(self) -> Iterator[str]:
        yield f"Issue:    #{self.number} {self.subject}"
        yield f"List:     {self.source}"
        yield f"Relay:    {self.relay}"
        if self.report is not None:
            report = self.report
            yield (
                f"Rows:     {report.subscribed:,} subscribed, "
                f"{sum(report.by_status.values()) - report.subscribed:,} not subscribed, "
                f"{report.duplicate_count:,} duplicate"
            )
            yield (
                f"Audience: {self.suppressed:,} unsubscribed, bounced or complained since, "
                f"{self.signups:,} web sign-ups not in the list"
            )
            if report.smtputf8:
                yield (
                    f"Warning:  {report.smtputf8:,} addresses have a non-ASCII part before @: "
                    "only a relay that offers SMTPUTF8 takes them"
                )
        yield from self._segment_lines()
        for state, count in sorted(self.by_state.items()):
            if state != SENDING:
                yield f"Skipped:  {count:,} already {state.replace('_', ' ')}"
        if self.by_state[SENDING]:
            yield (
                f"Uncertain: {self.by_state[SENDING]:,} may have been delivered by an "
                "interrupted run; left alone (--resend-uncertain to send anyway)"
            )
        for key in self.unfilled:
            yield f"Warning:  %%{key}%% is in the issue but not in the list; it will be empty"
        yield f"To send:  {messages(self.to_send)}"

    def _segment_lines(self) -> Iterator[str]:
        """Which segment, how many readers it matches, and what earlier runs mailed."""
        if self.segment:
            yield f"Segment:  {self.segment} ({self.segment_origin})"
            readers = self.matched[True] + self.matched[False]
            yield f"Matches:  {self.matched[True]:,} of {readers:,} readers"
        if self.earlier and self.earlier != [self.segment]:
            went = ", then ".join(shown_segment(s) for s in self.earlier)
            yield (
                f"Earlier:  this issue went to {went}; every reader gets it once, so only "
                "those not yet mailed are sent it now"
            )


def messages(count: int) -> str:
    """`1 message`, `1,204 messages`."""
    return f"{count:,} message{'' if count == 1 else 's'}"
