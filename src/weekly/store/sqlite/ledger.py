"""The SQLite ledger (`.weekly/ledger.sqlite`): one row per (issue, recipient) and its state,
each state change its own committed transaction."""

# A process killed at any point leaves every row telling the truth: `sending` means the end
# of data went out and the server may have the message. A message costs two writes:
# `sending` at its end of data, then its outcome. Commits are not synced to disk one by one
# (WAL with synchronous=NORMAL): a crash of the process loses nothing, a power cut may lose
# the last moments.

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from weekly.clock import stamp
from weekly.errors import WeeklyError
from weekly.project import STATE_DIR
from weekly.store.deliveries import (
    BACKFILL_SEGMENT,
    FAILED_PERMANENT,
    SENDING,
    STATES,
    Delivery,
    by_segment,
)

LEDGER_NAME = "ledger.sqlite"

_DELIVERIES = f"""
CREATE TABLE IF NOT EXISTS deliveries (
    issue INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN {STATES!r}),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_reply TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    segment TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (issue, recipient)
) WITHOUT ROWID;
"""

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS sends (
    issue INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    started_at TEXT NOT NULL
);
"""
    + _DELIVERIES
    # Issue 16: the segment each run mailed ("" for everyone), for the plan and the status.
    + """
CREATE TABLE IF NOT EXISTS segments (
    issue INTEGER NOT NULL,
    at TEXT NOT NULL,
    expression TEXT NOT NULL
);
"""
)


_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


def ledger_path(root: Path) -> Path:
    """Where the newsletter in `root` keeps its ledger."""
    return root / STATE_DIR / LEDGER_NAME


class SqliteLedger:
    """The SQLite ledger of one newsletter folder (a `Ledger`)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        try:
            if read_only:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
                self._db.execute("PRAGMA busy_timeout=5000")
                tables = {row[0] for row in self._db.execute(_TABLES)}
                # No table yet: the first send is creating it (see `existing`); other tables
                # mean the file is some other SQLite database.
                if tables and not {"sends", "deliveries"} <= tables:
                    raise sqlite3.DatabaseError("no such table: sends, deliveries")
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")  # before anything that may wait
            if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._db.execute("PRAGMA journal_mode=WAL")  # once: it needs the file alone
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._transaction():  # two first sends at once: one creates, one waits
                self._create()
        except sqlite3.DatabaseError as exc:
            raise WeeklyError(f"{path}: not a readable send ledger ({exc})") from None

    def _create(self) -> None:
        """The tables, and an older file's deliveries brought up to date: rebuilt when the
        table predates a state, given the segment column (filled in) when it predates that."""
        row = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
        ).fetchone()
        columns = self._columns()
        if row is not None and f"'{STATES[-1]}'" not in row[0]:
            self._db.execute("ALTER TABLE deliveries RENAME TO deliveries_old")
            self._db.execute(_DELIVERIES)
            kept = ", ".join(columns)
            self._db.execute(f"INSERT INTO deliveries ({kept}) SELECT {kept} FROM deliveries_old")
            self._db.execute("DROP TABLE deliveries_old")
        elif row is not None and "segment" not in columns:
            self._db.execute("ALTER TABLE deliveries ADD COLUMN segment TEXT NOT NULL DEFAULT ''")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        if row is not None and "segment" not in columns:
            self._db.execute(BACKFILL_SEGMENT.format(collate="", order="rowid"))

    def _columns(self) -> list[str]:
        """The deliveries table's columns (none when it is not there yet)."""
        return [row[1] for row in self._db.execute("PRAGMA table_info(deliveries)")]

    @classmethod
    def open(cls, root: Path) -> SqliteLedger:
        """The ledger, created on first use."""
        return cls(ledger_path(root))

    @classmethod
    def existing(cls, root: Path) -> SqliteLedger | None:
        """The ledger opened read-only, or None when nothing was ever sent from `root` (or
        the first send is still creating it)."""
        path = ledger_path(root)
        if not path.exists():
            return None
        ledger = cls(path, read_only=True)
        if ledger._db.execute(_TABLES).fetchone():
            return ledger
        ledger.close()
        return None

    def close(self) -> None:
        self._db.close()

    def fingerprint(self, issue: int) -> str | None:
        """The fingerprint of the composed content the first send of `issue` used."""
        row = self._db.execute("SELECT fingerprint FROM sends WHERE issue = ?", (issue,)).fetchone()
        return row[0] if row else None

    def set_fingerprint(self, issue: int, fingerprint: str) -> None:
        self._db.execute(
            "INSERT INTO sends (issue, fingerprint, started_at) VALUES (?, ?, ?)"
            " ON CONFLICT (issue) DO UPDATE SET fingerprint = excluded.fingerprint",
            (issue, fingerprint, stamp()),
        )

    def note_segment(self, issue: int, expression: str) -> None:
        self._db.execute(
            "INSERT INTO segments (issue, at, expression) VALUES (?, ?, ?)",
            (issue, stamp(), expression),
        )

    def segments(self, issue: int) -> list[str]:
        """The segments the runs of `issue` mailed, each once, in the order first used."""
        if not self._db.execute(f"{_TABLES} AND name = 'segments'").fetchone():
            return []  # a ledger from before segments, opened read-only
        rows = self._db.execute(
            "SELECT expression FROM segments WHERE issue = ? ORDER BY rowid", (issue,)
        )
        return list(dict.fromkeys(row[0] for row in rows))

    def states(self, issue: int, keys: Sequence[str]) -> dict[str, str]:
        """The state of each of `keys` that has a row (at most 500 keys at a time)."""
        marks = ",".join("?" * len(keys))
        rows = self._db.execute(
            f"SELECT recipient, state FROM deliveries WHERE issue = ? AND recipient IN ({marks})",
            (issue, *keys),
        )
        return dict(rows)

    def add(self, issue: int, recipients: Sequence[tuple[str, str]], segment: str = "") -> None:
        """Rows in `pending` for (key, email) pairs not yet in the ledger, in one transaction,
        each belonging to `segment`."""
        now = stamp()
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries"
                " (issue, recipient, email, state, created_at, updated_at, segment)"
                " VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [(issue, key, email, now, now, segment) for key, email in recipients],
            )

    def mark_sending(self, issue: int, key: str, message_id: str) -> None:
        """Right before the end of data: from here on a crash leaves the row uncertain."""
        self._db.execute(
            "UPDATE deliveries SET state = ?, last_reply = '', updated_at = ?,"
            " message_id = ?, attempts = attempts + 1 WHERE issue = ? AND recipient = ?",
            (SENDING, stamp(), message_id, issue, key),
        )

    def mark(self, issue: int, key: str, state: str, reply: str, *, attempt: bool = False) -> None:
        """Record an outcome; `attempt` counts a try that stopped before its end of data
        (`mark_sending` counted the others)."""
        self._db.execute(
            "UPDATE deliveries SET state = ?, last_reply = ?, updated_at = ?,"
            " attempts = attempts + ? WHERE issue = ? AND recipient = ?",
            (state, reply, stamp(), int(attempt), issue, key),
        )

    def counts(self, issue: int) -> dict[str, int]:
        """How many rows of `issue` are in each state."""
        rows = self._db.execute(
            "SELECT state, count(*) FROM deliveries WHERE issue = ? GROUP BY state", (issue,)
        )
        found = dict(rows)
        return {state: found.get(state, 0) for state in STATES}

    def segment_counts(self, issue: int) -> dict[str, dict[str, int]]:
        """How many rows of `issue` each segment added, per state, in the order first used."""
        if "segment" not in self._columns():
            return {}  # a ledger from before the column, opened read-only
        rows = self._db.execute(
            "SELECT segment, state, count(*) FROM deliveries WHERE issue = ?"
            " GROUP BY segment, state",
            (issue,),
        )
        return by_segment(rows, self.segments(issue))

    def rows(self, issue: int, states: Sequence[str]) -> Iterator[Delivery]:
        """Rows of `issue` in any of `states`, by address."""
        marks = ",".join("?" * len(states))
        cursor = self._db.execute(
            "SELECT email, state, attempts, last_reply, message_id, updated_at FROM deliveries"
            f" WHERE issue = ? AND state IN ({marks}) ORDER BY recipient",
            (issue, *states),
        )
        for row in cursor:
            yield Delivery(*row)

    def permanent_failures(self) -> Iterator[tuple[str, str, str]]:
        """(email, reply, time) of every 5xx refusal of any issue: hard bounces."""
        yield from self._db.execute(
            "SELECT email, last_reply, updated_at FROM deliveries WHERE state = ?",
            (FAILED_PERMANENT,),
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
