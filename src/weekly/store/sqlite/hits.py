"""The SQLite hit log (`.weekly/hits.sqlite`): clicks and opens, in a file of their own so a
burst of hits never waits on the consent log or the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from weekly.project import STATE_DIR
from weekly.store.hits import AGENTS, HIT_KINDS, Hit, Tally, tally_query
from weekly.store.sqlite.database import open_database

HITS_NAME = "hits.sqlite"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS hits (
    id INTEGER PRIMARY KEY,
    issue INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN {HIT_KINDS!r}),
    link INTEGER NOT NULL,
    agent TEXT NOT NULL CHECK (agent IN {AGENTS!r}),
    visitor TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
-- Covering the counts: per link, and per issue over all links (unique visitors).
CREATE INDEX IF NOT EXISTS hits_by_link ON hits (issue, kind, link, agent, visitor);
CREATE INDEX IF NOT EXISTS hits_by_agent ON hits (issue, kind, agent, visitor);
"""


def hits_path(root: Path) -> Path:
    """Where the hit log of the newsletter at `root` lives."""
    return root / STATE_DIR / HITS_NAME


class SqliteHitLog:
    """Clicks and opens of one newsletter folder, in SQLite (a `HitLog`)."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA, "the hit log")

    @classmethod
    def open(cls, root: Path) -> SqliteHitLog:
        """The hit log of the newsletter at `root`, created on first use."""
        return cls(hits_path(root))

    def close(self) -> None:
        self._db.close()

    def record(self, hits: Sequence[Hit]) -> None:
        """Append `hits` in one transaction."""
        with self._db:
            self._db.executemany(
                "INSERT INTO hits (issue, kind, link, agent, visitor, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(h.issue, h.kind, h.link, h.agent, h.visitor, h.at) for h in hits],
            )

    def tallies(self, issue: int | None = None) -> list[Tally]:
        """Hits counted per (issue, kind, link, agent), of one issue or of all."""
        return self._count(issue, per_link=True)

    def totals(self, issue: int | None = None) -> list[Tally]:
        """Hits counted per (issue, kind, agent) over all links, of one issue or of all."""
        return self._count(issue, per_link=False)

    def _count(self, issue: int | None, *, per_link: bool) -> list[Tally]:
        query = tally_query("?", issue is not None, per_link)
        rows = self._db.execute(query, () if issue is None else (issue,))
        return [Tally(*row) for row in rows]
