"""Subscription state (`.weekly/state.sqlite`): an append-only log of who confirmed,
unsubscribed, bounced or complained, when and how we know, so consent can be shown later.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from weekly.errors import WeeklyError
from weekly.project import STATE_DIR

STATE_NAME = "state.sqlite"

CONFIRMED = "confirmed"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"  # a hard bounce: suppresses at once
SOFT_BOUNCED = "soft_bounced"  # a temporary failure: SOFT_LIMIT in a row suppress
COMPLAINED = "complained"
KINDS = (CONFIRMED, UNSUBSCRIBED, BOUNCED, SOFT_BOUNCED, COMPLAINED)
SOFT_LIMIT = 3

# Where an unsubscribe came from, as the consent log records it.
UNSUBSCRIBE_SOURCES = ("one-click", "link", "mailto", "manual")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    address TEXT NOT NULL,
    email TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN {KINDS!r}),
    source TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    ref TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS events_by_address ON events (address, at);
"""


def state_path(root: Path) -> Path:
    """Where the subscription log of the newsletter at `root` lives."""
    return root / STATE_DIR / STATE_NAME


def stamp(moment: datetime) -> str:
    """An aware time as the log writes it: ISO 8601, UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def now() -> str:
    """The current time as the log writes it."""
    return stamp(datetime.now(UTC))


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

    @property
    def address(self) -> str:
        return self.email.lower()


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one address stands after all its events: subscribed (by a confirmation) or
    suppressed, since when, and under which name it signed up."""

    email: str
    status: str  # CONFIRMED, or the suppressing kind: UNSUBSCRIBED, BOUNCED, COMPLAINED
    since: datetime
    name: str

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
    name = ""
    for event in events:
        since = parse_time(event.at) or datetime.min.replace(tzinfo=UTC)
        if event.kind == CONFIRMED:
            name = event.name or name
            soft = 0
            standing = Standing(event.email, CONFIRMED, since, name)
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


class StateStore:
    """The subscription log of one newsletter folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level="IMMEDIATE", check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise WeeklyError(f"{path}: cannot open the subscription log: {exc}") from None

    @classmethod
    def open(cls, root: Path) -> StateStore:
        """The log of the newsletter at `root`, created on first use."""
        return cls(state_path(root))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, events: Iterable[Event]) -> int:
        """Append `events` in one transaction; returns how many were new (a known ref is not)."""
        rows = [
            (e.at, e.address, e.email, e.kind, e.source, e.name, e.ip, e.detail, e.ref)
            for e in events
        ]
        before = self._db.total_changes
        with self._db:  # BEGIN IMMEDIATE before the inserts, COMMIT or ROLLBACK after
            self._db.executemany(
                "INSERT OR IGNORE INTO events"
                " (at, address, email, kind, source, name, ip, detail, ref)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return self._db.total_changes - before

    def cursor(self) -> int:
        """A mark of the log as it is now, for `changed_since`."""
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])

    def changed_since(self, cursor: int) -> tuple[int, set[str]]:
        """The addresses with events recorded after `cursor`, and the cursor past them."""
        rows = self._db.execute("SELECT id, address FROM events WHERE id > ?", (cursor,))
        addresses = set()
        for row_id, address in rows:
            cursor = max(cursor, row_id)
            addresses.add(address)
        return cursor, addresses

    def history(self, address: str) -> list[Event]:
        """Every event of one address (any case), oldest first."""
        return list(self._events("WHERE address = ?", (address.lower(),)))

    def standings(self, extra: Iterable[Event] = ()) -> dict[str, Standing]:
        """Where every address stands, counting `extra` events (known elsewhere, such as the
        send ledger's 5xx replies) as if they were in the log."""
        return standings_of(itertools.chain(self._events("", ()), extra))

    def _events(self, where: str, args: tuple[str, ...]) -> Iterator[Event]:
        cursor = self._db.execute(
            "SELECT at, email, kind, source, name, ip, detail, ref FROM events"
            f" {where} ORDER BY address, at, id",
            args,
        )
        for row in cursor:
            yield Event(*row)
