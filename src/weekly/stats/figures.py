"""The numbers of `weekly stats`, computed once from the store's aggregates (the ledger and
the consent log joined in SQL, hits counted in SQL), never row by row in Python.

Only a reader's own requests count as engagement: opens fetched by mail privacy proxies
(machine) and hits of link scanners (bot) are counted apart and never in a rate."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from weekly.config import Config
from weekly.errors import WeeklyError
from weekly.render.links import TrackedLink, links_of
from weekly.store import existing_ledger, existing_send_reports, open_hit_log
from weekly.store.consent import parse_time
from weekly.store.deliveries import SENT
from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE, OPEN, Tally
from weekly.store.outcomes import FAILED, SendOutcome


@dataclass(frozen=True, slots=True)
class LinkFigures:
    """Clicks on one tracked link: readers who clicked it, their clicks, and the clicks of
    scanners and proxies (not counted as engagement)."""

    number: int
    text: str
    href: str
    readers: int
    clicks: int
    scanned: int


@dataclass(frozen=True, slots=True)
class Clicks:
    """An issue's clicks: readers who clicked any link, their clicks, scanners' clicks apart."""

    readers: int
    total: int
    scanned: int
    links: tuple[LinkFigures, ...]


@dataclass(frozen=True, slots=True)
class Opens:
    """An issue's opens: readers who opened and their opens; mail proxies' fetches (machine
    opens, such as Apple Mail Privacy Protection) and bots' apart."""

    readers: int
    total: int
    machine: int
    bots: int


@dataclass(frozen=True, slots=True)
class SegmentFigures:
    """The messages of one segment's run of an issue ("": everyone) delivered and failed for
    good; a reader counts in the segment of the run that first took them on."""

    segment: str
    delivered: int
    failed: int


@dataclass(frozen=True, slots=True)
class IssueFigures:
    """How one issue did; `opens` or `clicks` is None when they were not tracked; `segments`
    is filled for one issue whose runs mailed segments."""

    outcome: SendOutcome
    opens: Opens | None
    clicks: Clicks | None
    segments: tuple[SegmentFigures, ...] = ()

    @property
    def number(self) -> int:
        return self.outcome.issue

    @property
    def sent_on(self) -> date | None:
        """The day (UTC) the send started."""
        moment = parse_time(self.outcome.started_at)
        return moment.date() if moment else None

    @property
    def ctr(self) -> float | None:
        """Click-through rate: readers who clicked any link / messages delivered."""
        if self.clicks is None or not self.outcome.delivered:
            return None
        return self.clicks.readers / self.outcome.delivered


def _count(tallies: Iterable[Tally], kind: str, agents: tuple[str, ...], unique: bool) -> int:
    return sum(
        t.unique if unique else t.total for t in tallies if t.kind == kind and t.agent in agents
    )


def _tracked(config: Config, kind: str, totals: list[Tally]) -> bool:
    """Whether `kind` was counted for an issue: it has hits of that kind, or the newsletter
    counts them now (an issue sent while counting, that nobody opened or clicked)."""
    mode = config.tracking.clicks if kind == CLICK else config.tracking.opens
    return mode != "off" or any(t.kind == kind for t in totals)


def _figures(config: Config, outcome: SendOutcome, totals: list[Tally]) -> IssueFigures:
    """One issue's figures from its outcome and its hits over all links."""
    opens = clicks = None
    if _tracked(config, OPEN, totals):
        opens = Opens(
            readers=_count(totals, OPEN, (HUMAN,), unique=True),
            total=_count(totals, OPEN, (HUMAN,), unique=False),
            machine=_count(totals, OPEN, (MACHINE,), unique=False),
            bots=_count(totals, OPEN, (BOT,), unique=False),
        )
    if _tracked(config, CLICK, totals):
        clicks = Clicks(
            readers=_count(totals, CLICK, (HUMAN,), unique=True),
            total=_count(totals, CLICK, (HUMAN,), unique=False),
            scanned=_count(totals, CLICK, (MACHINE, BOT), unique=False),
            links=(),
        )
    return IssueFigures(outcome, opens, clicks)


def _link_figures(link: TrackedLink, per_link: list[Tally]) -> LinkFigures:
    """One link's clicks, from its issue's hits counted per link."""
    mine = [t for t in per_link if t.link == link.number]
    return LinkFigures(
        number=link.number,
        text=link.text,
        href=link.href,
        readers=_count(mine, CLICK, (HUMAN,), unique=True),
        clicks=_count(mine, CLICK, (HUMAN,), unique=False),
        scanned=_count(mine, CLICK, (MACHINE, BOT), unique=False),
    )


def _outcomes(root: Path, number: int | None) -> list[SendOutcome]:
    """How the send of issue `number` (or of every issue) went; an error naming what was
    never sent."""
    reports = existing_send_reports(root)
    outcomes = []
    if reports is not None:
        with closing(reports):
            outcomes = reports.outcomes(number)
    if not outcomes:
        where = root.resolve()
        if number is None:
            raise WeeklyError(f"nothing has been sent from {where} yet")
        raise WeeklyError(f"issue {number} has not been sent from {where}")
    return outcomes


def _segments(root: Path, number: int) -> tuple[SegmentFigures, ...]:
    """Issue `number`'s messages delivered and failed per segment, when a run mailed one."""
    ledger = existing_ledger(root)
    if ledger is None:
        return ()
    with closing(ledger):
        if not any(ledger.segments(number)):
            return ()
        counts = ledger.segment_counts(number)
    return tuple(
        SegmentFigures(segment, states[SENT], sum(states[s] for s in FAILED))
        for segment, states in counts.items()
    )


def issue_figures(config: Config, number: int) -> IssueFigures:
    """How issue `number` did, per segment and with its clicks per link; an error if it was
    never sent."""
    outcome = _outcomes(config.root, number)[0]
    segments = _segments(config.root, number)
    with closing(open_hit_log(config.root)) as hits:
        figures = replace(_figures(config, outcome, hits.totals(number)), segments=segments)
        if figures.clicks is None:
            return figures
        per_link = hits.tallies(number)
    links = tuple(_link_figures(link, per_link) for link in links_of(config.root, number))
    return replace(figures, clicks=replace(figures.clicks, links=links))


def all_figures(config: Config) -> list[IssueFigures]:
    """How every issue sent from the newsletter did, by number (without links); an error
    when nothing was sent yet."""
    outcomes = _outcomes(config.root, None)
    with closing(open_hit_log(config.root)) as hits:
        totals = hits.totals()
    by_issue: dict[int, list[Tally]] = {o.issue: [] for o in outcomes}
    for tally in totals:
        by_issue.get(tally.issue, []).append(tally)
    return [_figures(config, o, by_issue[o.issue]) for o in outcomes]
