"""The consent log's domain: events (confirmed, unsubscribed, bounced, complained) and the
standing they add up to per address, the same whichever store keeps them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

CONFIRMED = "confirmed"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"  # a hard bounce: suppresses at once
SOFT_BOUNCED = "soft_bounced"  # a temporary failure: SOFT_LIMIT in a row suppress
COMPLAINED = "complained"
KINDS = (CONFIRMED, UNSUBSCRIBED, BOUNCED, SOFT_BOUNCED, COMPLAINED)
SOFT_LIMIT = 3

# Where an unsubscribe came from, as the consent log records it.
UNSUBSCRIBE_SOURCES = ("one-click", "link", "mailto", "manual")


def parse_time(text: str) -> datetime | None:
    """An ISO date or time as an aware UTC datetime (naive counts as UTC); None if unreadable."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to one address."""

    at: str
    email: str
    kind: str
    source: str
    name: str = ""
    ip: str = ""
    detail: str = ""
    ref: str | None = None  # a unique key: recording the same ref twice changes nothing
    tags: str = ""  # a confirmed sign-up's tags, `;`-separated as in the list's column

    @property
    def address(self) -> str:
        return self.email.lower()


def event_row(event: Event) -> tuple[str | None, ...]:
    """`event` as a log stores it: at, address, email, kind, source, name, ip, detail, ref,
    tags."""
    e = event
    return (e.at, e.address, e.email, e.kind, e.source, e.name, e.ip, e.detail, e.ref, e.tags)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one address stands after all its events: subscribed (by a confirmation) or
    suppressed, since when, and under which name it signed up."""

    email: str
    status: str  # CONFIRMED, or the suppressing kind: UNSUBSCRIBED, BOUNCED, COMPLAINED
    since: datetime
    name: str
    tags: str = ""  # as the confirmation that subscribed it chose

    @property
    def suppressed(self) -> bool:
        return self.status != CONFIRMED

    def suppresses(self, subscribed_at: str) -> bool:
        """Whether this standing stops mail to a list row subscribed at `subscribed_at`:
        suppressed later than that (or the row has no readable time)."""
        if not self.suppressed:
            return False
        when = parse_time(subscribed_at) if subscribed_at else None
        return when is None or self.since >= when


def fold(events: Iterable[Event]) -> Standing | None:
    """The standing that one address's events, oldest first, add up to."""
    standing: Standing | None = None
    soft = 0
    name = tags = ""
    for event in events:
        since = parse_time(event.at) or datetime.min.replace(tzinfo=UTC)
        if event.kind == CONFIRMED:
            name = event.name or name
            tags = event.tags or tags
            soft = 0
            standing = Standing(event.email, CONFIRMED, since, name, tags)
        elif event.kind == SOFT_BOUNCED:
            soft += 1
            if soft >= SOFT_LIMIT:
                standing = Standing(event.email, BOUNCED, since, name)
        else:
            standing = Standing(event.email, event.kind, since, name)
    return standing


def standings_of(events: Iterable[Event]) -> dict[str, Standing]:
    """Where each address stands after `events` (any order), by lower-cased address."""
    by_address: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_address[event.address].append(event)
    result: dict[str, Standing] = {}
    for address, mine in by_address.items():
        mine.sort(key=lambda e: e.at)  # stable: the log's own order among equal times
        standing = fold(mine)
        if standing is not None:
            result[address] = standing
    return result
