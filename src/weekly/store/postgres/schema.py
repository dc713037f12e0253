"""The PostgreSQL schema, versioned: each migration runs once, in order, in one transaction
under an advisory lock, so two processes starting at once never both apply it."""

from __future__ import annotations

from typing import Any

import psycopg

from weekly.store.consent import KINDS
from weekly.store.deliveries import BACKFILL_SEGMENT, STATES
from weekly.store.hits import AGENTS, HIT_KINDS
from weekly.store.schedules import STATES as SCHEDULE_STATES

_MIGRATE_LOCK = 7_140_001  # advisory lock key: one migrating process at a time

# Step N brings the schema from version N to N + 1. Times are ISO text, as in SQLite, so a
# copy between the stores is lossless.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE sends (
        issue BIGINT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        started_at TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        issue BIGINT NOT NULL,
        recipient TEXT NOT NULL,
        email TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN {STATES!r}),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_reply TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (issue, recipient)
    );
    CREATE INDEX deliveries_by_state ON deliveries (issue, state);
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
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
    CREATE INDEX events_by_address ON events (address, at);
    """,
    # 2: several senders share one send: who claimed a row (and the subscriber it mails, so
    # any sender can build the message), the senders and their leases, one shared pace.
    """
    CREATE TABLE senders (
        id BIGSERIAL PRIMARY KEY,
        issue BIGINT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(),
        lease_until TIMESTAMPTZ NOT NULL,
        sent BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX senders_by_issue ON senders (issue, lease_until);
    ALTER TABLE sends ADD COLUMN loaded_by BIGINT;
    ALTER TABLE deliveries ADD COLUMN claimed_by BIGINT;
    ALTER TABLE deliveries ADD COLUMN loaded_by BIGINT;
    ALTER TABLE deliveries ADD COLUMN payload TEXT NOT NULL DEFAULT '';
    CREATE TABLE pace (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        tokens DOUBLE PRECISION NOT NULL DEFAULT 0,
        refreshed TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        factor DOUBLE PRECISION NOT NULL DEFAULT 1,
        slow_until TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
        day DATE NOT NULL DEFAULT current_date,
        day_count BIGINT NOT NULL DEFAULT 0
    );
    INSERT INTO pace (id) VALUES (1);
    """,
    # 3: clicks and opens (issue 15), counted by serve, read by `weekly stats`.
    f"""
    CREATE TABLE hits (
        id BIGSERIAL PRIMARY KEY,
        issue BIGINT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN {HIT_KINDS!r}),
        link INTEGER NOT NULL,
        agent TEXT NOT NULL CHECK (agent IN {AGENTS!r}),
        visitor TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    CREATE INDEX hits_by_issue ON hits (issue, kind, link);
    """,
    # 4 (issue 16): the segment each run of an issue mailed ("" for everyone), and the tags a
    # web sign-up chose.
    """
    CREATE TABLE segments (
        id BIGSERIAL PRIMARY KEY,
        issue BIGINT NOT NULL,
        at TEXT NOT NULL,
        expression TEXT NOT NULL
    );
    CREATE INDEX segments_by_issue ON segments (issue, id);
    ALTER TABLE events ADD COLUMN tags TEXT NOT NULL DEFAULT '';
    """,
    # 5 (issue 16): provider webhooks: request keys seen once, soft bounces, last deliveries.
    """
    CREATE TABLE hook_requests (key TEXT PRIMARY KEY, at TEXT NOT NULL);
    CREATE INDEX hook_requests_by_time ON hook_requests (at);
    CREATE TABLE soft_bounces (ref TEXT PRIMARY KEY, address TEXT NOT NULL, at TEXT NOT NULL);
    CREATE INDEX soft_bounces_by_address ON soft_bounces (address, at);
    CREATE TABLE last_delivery (address TEXT PRIMARY KEY, at TEXT NOT NULL);
    """,
    # 6 (issue 16): scheduled sends, one row per issue; serve processes claim a due one by
    # moving it from 'waiting' in one UPDATE.
    f"""
    CREATE TABLE schedules (
        issue BIGINT PRIMARY KEY,
        due TEXT COLLATE "C" NOT NULL,  -- ISO stamps in UTC: byte order is time order
        fingerprint TEXT NOT NULL,
        allow_changes BOOLEAN NOT NULL DEFAULT false,
        state TEXT NOT NULL CHECK (state IN {SCHEDULE_STATES!r}),
        detail TEXT NOT NULL DEFAULT '',
        runner TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
    );
    CREATE INDEX schedules_by_state ON schedules (state, due);
    """,
    # 7: `weekly stats` counts hits per link and per issue from indexes that cover the counts
    # (issue 15): a million hits in about a second instead of a sort of the table.
    """
    CREATE INDEX hits_by_link ON hits (issue, kind, link, agent, visitor);
    CREATE INDEX hits_by_agent ON hits (issue, kind, agent, visitor);
    DROP INDEX hits_by_issue;
    """,
    # 8 (issue 16): each delivery row names the segment of the run that added it, so status
    # and stats count per segment; older rows are filled in from the segments' times.
    """
    ALTER TABLE deliveries ADD COLUMN segment TEXT NOT NULL DEFAULT '';
    """
    + BACKFILL_SEGMENT.format(collate='COLLATE "C"', order="id")
    + ";",
)
LATEST = len(MIGRATIONS)


def version(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """The schema version of the database (0: the tool never ran there)."""
    found = conn.execute("SELECT to_regclass('weekly_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT version FROM weekly_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[int, int]:
    """Bring the schema to LATEST; (version before, version after)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS weekly_schema (version INTEGER NOT NULL)")
        before = version(conn)
        if before == 0:
            conn.execute("INSERT INTO weekly_schema VALUES (0)")
        for step in MIGRATIONS[before:]:
            conn.execute(step.encode())
        conn.execute("UPDATE weekly_schema SET version = %s", (LATEST,))
    return before, max(before, LATEST)
