"""One PostgreSQL database as the store: a connection pool (autocommit: every statement is
its own committed transaction unless a block asks for one), the schema migrated on first use."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from weekly.errors import WeeklyError
from weekly.store.location import shown
from weekly.store.postgres.schema import LATEST, migrate, version

Connection = psycopg.Connection[tuple[Any, ...]]
CONNECT_SECONDS = 10

# The pool's own notices (a dead connection discarded) are not for the editor: a failure
# that matters reaches the caller as a WeeklyError, and only the CLI prints.
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())


def application_name() -> str:
    """How this process shows in pg_stat_activity: its host and pid."""
    return f"weekly pid {os.getpid()} on {socket.gethostname()}"[:63]


def connect(url: str) -> Connection:
    """One autocommit connection to `url`; a WeeklyError naming the URL if it fails."""
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_SECONDS,
            application_name=application_name(),
        )
    except psycopg.Error as exc:
        raise store_error(url, exc, "cannot connect: ") from None


async def connect_async(url: str) -> psycopg.AsyncConnection[tuple[Any, ...]]:
    """One autocommit connection to `url` for an event loop; psycopg's errors pass through."""
    return await psycopg.AsyncConnection.connect(
        url,
        autocommit=True,
        connect_timeout=CONNECT_SECONDS,
        application_name=application_name(),
    )


def store_error(url: str, exc: BaseException, doing: str = "") -> WeeklyError:
    """A database error as the one line an editor sees: the store, then the server's words."""
    return WeeklyError(f"store {shown(url)}: {doing}{_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def ensure_schema(conn: Connection, url: str) -> None:
    """Migrate the schema to the version this tool knows; an error if it is newer."""
    found = version(conn)
    if found > LATEST:
        raise WeeklyError(
            f"store {shown(url)}: schema version {found} is newer than this weekly's "
            f"{LATEST}; upgrade weekly"
        )
    if found < LATEST:
        migrate(conn)


class Database:
    """A pool of connections to one migrated store database."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        with connect(url) as conn:
            self.exists = version(conn) > 0
            if create or self.exists:
                ensure_schema(conn, url)
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=16,  # each lane paces through the store, plus the heartbeat, claims and writes
            kwargs={"autocommit": True, "application_name": application_name()},
            open=True,
        )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection for one call; database errors become WeeklyErrors."""
        try:
            with self._pool.connection(timeout=CONNECT_SECONDS) as conn:
                yield conn
        except psycopg.Error as exc:
            raise store_error(self.url, exc) from None

    def close(self) -> None:
        self._pool.close()


def migrate_database(url: str) -> tuple[int, int]:
    """`weekly store migrate`: the schema at `url` brought up to date; (before, after)."""
    with connect(url) as conn:
        before = version(conn)
        ensure_schema(conn, url)
        return before, version(conn)
