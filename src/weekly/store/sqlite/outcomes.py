"""Send outcomes from the SQLite files: the ledger read-only, with the consent log attached
read-only beside it, so one query joins a send's recipients to their later events."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from weekly.errors import WeeklyError
from weekly.store.outcomes import SendOutcome, outcome_query

_NO_EVENTS = "CREATE TABLE consent.events (address TEXT, kind TEXT, at TEXT)"


def _read_only(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


class SqliteSendReports:
    """How the sends recorded in one newsletter folder's ledger went (a `SendReports`)."""

    def __init__(self, ledger: Path, consent: Path) -> None:
        try:
            self._db = sqlite3.connect(_read_only(ledger), uri=True, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            if consent.exists():
                self._db.execute("ATTACH DATABASE ? AS consent", (_read_only(consent),))
            else:  # nobody unsubscribed or complained yet: an empty log in memory
                self._db.execute("ATTACH DATABASE ':memory:' AS consent")
                self._db.execute(_NO_EVENTS)
        except sqlite3.DatabaseError as exc:
            raise WeeklyError(f"{ledger}: not a readable send ledger ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def outcomes(self, issue: int | None = None) -> list[SendOutcome]:
        """How the send of `issue` (or of every issue) went, by issue number."""
        query = outcome_query("consent.events", "?", issue is not None)
        try:
            rows = self._db.execute(query, () if issue is None else (issue,)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise WeeklyError(f"cannot read the send ledger or the consent log: {exc}") from None
        return [SendOutcome(*row) for row in rows]
