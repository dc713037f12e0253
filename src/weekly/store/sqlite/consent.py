"""The SQLite consent log (`.weekly/state.sqlite`): an append-only table of who confirmed,
unsubscribed, bounced or complained, when and how we know, so consent can be shown later."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from weekly.project import STATE_DIR
from weekly.store.consent import KINDS, Event, Standing, event_row, standings_of
from weekly.store.sqlite.database import open_database

STATE_NAME = "state.sqlite"

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
    ref TEXT UNIQUE,
    tags TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_address ON events (address, at);
"""


def state_path(root: Path) -> Path:
    """Where the subscription log of the newsletter at `root` lives."""
    return root / STATE_DIR / STATE_NAME


class SqliteConsentLog:
    """The consent log of one newsletter folder, in SQLite (a `ConsentLog`)."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA, "the subscription log")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        if "tags" not in columns:  # a log from before issue 16's sign-up tags
            self._db.execute("ALTER TABLE events ADD COLUMN tags TEXT NOT NULL DEFAULT ''")

    @classmethod
    def open(cls, root: Path) -> SqliteConsentLog:
        """The log of the newsletter at `root`, created on first use."""
        return cls(state_path(root))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteConsentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, events: Iterable[Event]) -> int:
        """Append `events` in one transaction; returns how many were new (a known ref is not)."""
        rows = [event_row(e) for e in events]
        before = self._db.total_changes
        with self._db:  # BEGIN IMMEDIATE before the inserts, COMMIT or ROLLBACK after
            self._db.executemany(
                "INSERT OR IGNORE INTO events"
                " (at, address, email, kind, source, name, ip, detail, ref, tags)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "SELECT at, email, kind, source, name, ip, detail, ref, tags FROM events"
            f" {where} ORDER BY address, at, id",
            args,
        )
        for row in cursor:
            yield Event(*row)
