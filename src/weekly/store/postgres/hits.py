"""The PostgreSQL hit log: the `HitLog` protocol on the shared database, so every serve
process in front of one store counts into the same table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from weekly.store.hits import Hit, Tally, tally_query
from weekly.store.postgres.database import Database


class PostgresHitLog:
    """Clicks and opens in one PostgreSQL database (a `HitLog`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    def record(self, hits: Sequence[Hit]) -> None:
        """Append `hits` in one transaction, by COPY: a sixth of the client CPU of an
        executemany (bench/RESULTS.md, "serve"), which serve's request loop shares."""
        if not hits:
            return
        columns = "COPY hits (issue, kind, link, agent, visitor, at) FROM STDIN"
        with (
            self._db.connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
            cursor.copy(columns) as copy,
        ):
            for h in hits:
                copy.write_row((h.issue, h.kind, h.link, h.agent, h.visitor, h.at))

    def tallies(self, issue: int | None = None) -> list[Tally]:
        """Hits counted per (issue, kind, link, agent), of one issue or of all."""
        return self._count(issue, per_link=True)

    def totals(self, issue: int | None = None) -> list[Tally]:
        """Hits counted per (issue, kind, agent) over all links, of one issue or of all."""
        return self._count(issue, per_link=False)

    def _count(self, issue: int | None, *, per_link: bool) -> list[Tally]:
        query: Any = tally_query("%s", issue is not None, per_link)
        with self._db.connection() as conn:
            rows = conn.execute(query, () if issue is None else (issue,)).fetchall()
        return [Tally(int(r[0]), r[1], int(r[2]), r[3], int(r[4]), int(r[5])) for r in rows]
