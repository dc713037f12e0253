"""The PostgreSQL consent log: the `ConsentLog` protocol on the shared database. Appends are
serialised by an advisory lock, so event ids commit in order and `changed_since` misses none."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from weekly.store.consent import Event, Standing, event_row, standings_of
from weekly.store.postgres.database import Database

_APPEND_LOCK = 7_140_002  # advisory lock key held while events are appended


class PostgresConsentLog:
    """The consent log in one PostgreSQL database (a `ConsentLog`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PostgresConsentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, events: Iterable[Event]) -> int:
        """Append `events` in one transaction; returns how many were new (a known ref is not)."""
        rows = [event_row(e) for e in events]
        if not rows:
            return 0
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO events"
                    " (at, address, email, kind, source, name, ip, detail, ref, tags) VALUES"
                    " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (ref) DO NOTHING",
                    rows,
                )
                return max(cursor.rowcount, 0)

    def cursor(self) -> int:
        """A mark of the log as it is now, for `changed_since`."""
        with self._db.connection() as conn:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        return int(row[0]) if row else 0

    def changed_since(self, cursor: int) -> tuple[int, set[str]]:
        """The addresses with events recorded after `cursor`, and the cursor past them."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT id, address FROM events WHERE id > %s", (cursor,))
            addresses = set()
            for row_id, address in rows:
                cursor = max(cursor, int(row_id))
                addresses.add(address)
        return cursor, addresses

    def history(self, address: str) -> list[Event]:
        """Every event of one address (any case), oldest first."""
        return list(self._events("WHERE address = %s", (address.lower(),)))

    def standings(self, extra: Iterable[Event] = ()) -> dict[str, Standing]:
        """Where every address stands, counting `extra` events as if they were in the log."""
        return standings_of(itertools.chain(self._events("", ()), extra))

    def _events(self, where: str, args: tuple[Any, ...]) -> Iterator[Event]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT at, email, kind, source, name, ip, detail, ref, tags FROM events"
                f' {where} ORDER BY address COLLATE "C", at COLLATE "C", id',
                args,
            ).fetchall()
        for row in rows:
            yield Event(*row)
