"""Send outcomes from the shared PostgreSQL database, where the ledger and the consent log
are tables side by side."""

from __future__ import annotations

from typing import Any

from weekly.store.outcomes import SendOutcome, outcome_query
from weekly.store.postgres.database import Database


class PostgresSendReports:
    """How the sends recorded in one PostgreSQL store went (a `SendReports`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    def outcomes(self, issue: int | None = None) -> list[SendOutcome]:
        """How the send of `issue` (or of every issue) went, by issue number."""
        query: Any = outcome_query("events", "%s", issue is not None, ' COLLATE "C"')
        with self._db.connection() as conn:
            rows = conn.execute(query, () if issue is None else (issue,)).fetchall()
        return [SendOutcome(int(r[0]), r[1], *(int(n) for n in r[2:])) for r in rows]
