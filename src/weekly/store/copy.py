"""`weekly store copy`: every table of one store written into an empty other one (SQLite
files to PostgreSQL or back), rows streamed, ids and times kept, all or nothing.

PostgreSQL alone also keeps the state of a send shared by several senders: the senders and
their leases, and per row who claimed it, which sender loaded it and the subscriber it
mails. That state only means something while a send is in flight (a later send claims,
loads and leases afresh), and SQLite has nowhere to keep it, so a copy is refused while a
send runs in either store, and once none does that state is not carried."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any, Protocol

from weekly.errors import WeeklyError
from weekly.store.location import shown
from weekly.store.postgres.database import Connection, Database
from weekly.store.sqlite.consent import SqliteConsentLog, state_path
from weekly.store.sqlite.hits import SqliteHitLog, hits_path
from weekly.store.sqlite.hooks import SqliteHookLog
from weekly.store.sqlite.ledger import SqliteLedger, ledger_path
from weekly.store.sqlite.lock import issue_lock
from weekly.store.sqlite.schedules import SqliteSchedules, schedules_path

# Every table a store has, with its columns in one order for both stores.
TABLES = {
    "sends": ("issue", "fingerprint", "started_at"),
    "deliveries": (
        "issue",
        "recipient",
        "email",
        "state",
        "attempts",
        "last_reply",
        "message_id",
        "created_at",
        "updated_at",
        "segment",
    ),
    "events": (
        "id",
        "at",
        "address",
        "email",
        "kind",
        "source",
        "name",
        "ip",
        "detail",
        "ref",
        "tags",
    ),
    "segments": ("issue", "at", "expression"),
    "hits": ("id", "issue", "kind", "link", "agent", "visitor", "at"),
    "hook_requests": ("key", "at"),
    "soft_bounces": ("ref", "address", "at"),
    "last_delivery": ("address", "at"),
    "schedules": (
        "issue",
        "due",
        "fingerprint",
        "allow_changes",
        "state",
        "detail",
        "runner",
        "updated_at",
    ),
}
# The SQLite file each table lives in, and each file's openers, which create its tables (or
# bring an older file's up to date) the way the tool itself does.
_FILE_OF: dict[str, Callable[[Path], Path]] = {
    "sends": ledger_path,
    "deliveries": ledger_path,
    "segments": ledger_path,
    "events": state_path,
    "hook_requests": state_path,
    "soft_bounces": state_path,
    "last_delivery": state_path,
    "hits": hits_path,
    "schedules": schedules_path,
}
_OPENERS: tuple[tuple[Callable[[Path], Path], Callable[[Path], Any]], ...] = (
    (ledger_path, SqliteLedger.open),
    (state_path, SqliteConsentLog.open),
    (state_path, SqliteHookLog.open),
    (hits_path, SqliteHitLog.open),
    (schedules_path, SqliteSchedules.open),
)
# Tables whose ids PostgreSQL draws from a sequence: moved on past the copied ids.
_SERIAL = ("events", "hits")
Row = tuple[Any, ...]


class Side(Protocol):
    """One end of a copy."""

    name: str

    def rows(self, table: str) -> Iterator[Row]: ...

    def count(self, table: str) -> int: ...


class SqliteSide:
    """The SQLite files of the newsletter at `root` (a missing one reads as empty)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self.name = f"{root / '.weekly'} (SQLite)"
        self._files = {table: path_of(root) for table, path_of in _FILE_OF.items()}
        # Opening each file the usual way first brings an older one's tables up to date.
        for path_of, opener in _OPENERS:
            if path_of(root).exists():
                opener(root).close()

    def _connect(self, table: str) -> sqlite3.Connection:
        db = sqlite3.connect(self._files[table], isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def rows(self, table: str) -> Iterator[Row]:
        if not self._files[table].exists():
            return
        with closing(self._connect(table)) as db:
            yield from db.execute(f"SELECT {', '.join(TABLES[table])} FROM {table} ORDER BY 1")

    def count(self, table: str) -> int:
        if not self._files[table].exists():
            return 0
        with closing(self._connect(table)) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def hold(self, stack: ExitStack) -> None:
        """Hold the send lock of every issue sent from these files while the copy runs; an
        error naming the issue when a send holds one now."""
        folder = ledger_path(self._root).parent
        for lock in sorted(folder.glob("send-*.lock")):
            issue = lock.stem.removeprefix("send-")
            if not issue.isdigit():
                continue
            try:
                stack.enter_context(issue_lock(folder, int(issue)))
            except WeeklyError as held:
                raise WeeklyError(f"{IN_FLIGHT}: {held}") from None

    def load(self, source: Side) -> None:
        """Every table of `source` into these files, each file in one transaction."""
        for _, opener in _OPENERS:  # every file with its tables, if new
            opener(self._root).close()
        for path in dict.fromkeys(self._files.values()):
            with closing(sqlite3.connect(path, isolation_level=None)) as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for table in (t for t, p in self._files.items() if p == path):
                        marks = ", ".join("?" * len(TABLES[table]))
                        columns = ", ".join(TABLES[table])
                        db.executemany(
                            f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                            source.rows(table),
                        )
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")


class PostgresSide:
    """The PostgreSQL database at `url` (migrated when new)."""

    def __init__(self, url: str) -> None:
        self.name = shown(url)
        self._db = Database(url)

    def rows(self, table: str) -> Iterator[Row]:
        with (
            self._db.connection() as conn,
            conn.transaction(),  # a server-side cursor: rows stream, memory stays flat
            conn.cursor(name=f"copy_{table}") as cursor,
        ):
            cursor.execute(f"SELECT {', '.join(TABLES[table])} FROM {table} ORDER BY 1, 2")
            yield from cursor

    def count(self, table: str) -> int:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    def check_idle(self) -> None:
        """An error naming a sender whose lease is still live: a send is in flight."""
        with self._db.connection() as conn:
            live = conn.execute(
                "SELECT issue, pid, host FROM senders WHERE lease_until > clock_timestamp()"
                " ORDER BY id LIMIT 1"
            ).fetchone()
        if live is not None:
            issue, pid, host = live
            raise WeeklyError(
                f"{IN_FLIGHT}: issue {issue} is being sent by pid {pid} on {host} "
                f"through {self.name}"
            )

    def load(self, source: Side) -> None:
        """Every table of `source` into this database with COPY, in one transaction."""
        with self._db.connection() as conn, conn.transaction():
            for table, columns in TABLES.items():
                _copy_in(conn, table, columns, source.rows(table))
            for table in _SERIAL:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" coalesce(max(id), 0) + 1, false) FROM {table}"
                )

    def close(self) -> None:
        self._db.close()


def _copy_in(conn: Connection, table: str, columns: tuple[str, ...], rows: Iterator[Row]) -> None:
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def copy_store(root: Path, source: str, target: str) -> dict[str, int]:
    """Copy the store `source` ("sqlite" or a PostgreSQL URL) of the newsletter at `root`
    into `target`, which must be empty; rows copied per table."""
    if (source == "sqlite") == (target == "sqlite"):
        raise WeeklyError("store copy goes from sqlite to a postgresql:// URL or back")
    postgres = PostgresSide(target if source == "sqlite" else source)
    try:
        sqlite = SqliteSide(root)
        into: SqliteSide | PostgresSide = postgres if source == "sqlite" else sqlite
        origin: Side = sqlite if source == "sqlite" else postgres
        full = [t for t in TABLES if into.count(t)]
        if full:
            raise WeeklyError(
                f"{into.name} already holds {', '.join(full)}: copy only into an empty store"
            )
        with ExitStack() as stack:
            sqlite.hold(stack)
            postgres.check_idle()
            into.load(origin)
        return {table: into.count(table) for table in TABLES}
    finally:
        postgres.close()


IN_FLIGHT = "cannot copy while a send is in flight; run it again once every sender is done"
