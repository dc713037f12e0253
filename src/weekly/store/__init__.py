"""Store: the send ledger and the consent log behind protocols, and the one place that
picks their implementation for the newsletter at `root`: SQLite files in its folder, or
the PostgreSQL database its store URL names."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from weekly.config import load_config
from weekly.store.deliveries import Sender
from weekly.store.location import store_url
from weekly.store.postgres.consent import PostgresConsentLog
from weekly.store.postgres.crew import PostgresCrew, crew_of
from weekly.store.postgres.database import Database
from weekly.store.postgres.hits import PostgresHitLog
from weekly.store.postgres.hooks import PostgresHookLog
from weekly.store.postgres.ledger import PostgresLedger
from weekly.store.postgres.lock import issue_lock as postgres_issue_lock
from weekly.store.postgres.outcomes import PostgresSendReports
from weekly.store.postgres.schedules import PostgresSchedules
from weekly.store.protocols import (
    ConsentLog,
    Crew,
    HitLog,
    HookLog,
    Ledger,
    MarkWriter,
    Schedules,
    SendReports,
)
from weekly.store.sqlite.consent import SqliteConsentLog, state_path
from weekly.store.sqlite.hits import SqliteHitLog
from weekly.store.sqlite.hooks import SqliteHookLog
from weekly.store.sqlite.ledger import SqliteLedger, ledger_path
from weekly.store.sqlite.lock import issue_lock
from weekly.store.sqlite.outcomes import SqliteSendReports
from weekly.store.sqlite.schedules import SqliteSchedules

__all__ = [
    "ConsentLog",
    "Crew",
    "HitLog",
    "HookLog",
    "Ledger",
    "MarkWriter",
    "Schedules",
    "SendReports",
    "existing_consent_log",
    "existing_ledger",
    "existing_send_reports",
    "hold_issue",
    "open_consent_log",
    "open_crew",
    "open_hit_log",
    "open_hook_log",
    "open_ledger",
    "open_schedules",
    "senders",
    "store_url",
]


def hold_issue(root: Path, issue: int) -> AbstractContextManager[None]:
    """Hold issue `issue` for this process until the block ends (an error if another holds
    it); taken before `open_ledger`, so two first sends never race to create the ledger."""
    url = store_url(root)
    if url:
        return postgres_issue_lock(url, issue)
    return issue_lock(ledger_path(root).parent, issue)


def open_crew(root: Path, issue: int) -> Crew | None:
    """A seat among the senders sharing issue `issue`, or None when the store is the
    newsletter's own SQLite files (one sender at a time, held by `hold_issue`)."""
    url = store_url(root)
    if not url:
        return None
    lease = load_config(root).store.lease_seconds
    return PostgresCrew(Database(url), issue, lease)


def senders(root: Path, issue: int) -> list[Sender]:
    """The senders that shared issue `issue` (none in a SQLite store)."""
    url = store_url(root)
    database = _existing_database(url) if url else None
    if database is None:
        return []
    try:
        return crew_of(database, issue)
    finally:
        database.close()


def _existing_database(url: str) -> Database | None:
    """The database at `url` if the tool has written to it, else None (nothing created)."""
    database = Database(url, create=False)
    if database.exists:
        return database
    database.close()
    return None


def open_ledger(root: Path) -> Ledger:
    """The ledger of the newsletter at `root`, created on first use."""
    url = store_url(root)
    return PostgresLedger(Database(url)) if url else SqliteLedger.open(root)


def existing_ledger(root: Path) -> Ledger | None:
    """The ledger for reading only, or None when nothing was ever sent from `root`."""
    url = store_url(root)
    if not url:
        return SqliteLedger.existing(root)
    database = _existing_database(url)
    return None if database is None else PostgresLedger(database)


def open_consent_log(root: Path) -> ConsentLog:
    """The consent log of the newsletter at `root`, created on first use."""
    url = store_url(root)
    return PostgresConsentLog(Database(url)) if url else SqliteConsentLog.open(root)


def existing_consent_log(root: Path) -> ConsentLog | None:
    """The consent log, or None while nothing has been recorded for `root` yet."""
    url = store_url(root)
    if not url:
        return SqliteConsentLog.open(root) if state_path(root).exists() else None
    database = _existing_database(url)
    return None if database is None else PostgresConsentLog(database)


def open_hit_log(root: Path) -> HitLog:
    """The click and open log of the newsletter at `root`, created on first use."""
    url = store_url(root)
    return PostgresHitLog(Database(url)) if url else SqliteHitLog.open(root)


def open_hook_log(root: Path) -> HookLog:
    """What provider webhooks remember (requests seen, soft bounces), created on first use."""
    url = store_url(root)
    return PostgresHookLog(Database(url)) if url else SqliteHookLog.open(root)


def open_schedules(root: Path) -> Schedules:
    """The scheduled sends of the newsletter at `root`, created on first use."""
    url = store_url(root)
    return PostgresSchedules(Database(url)) if url else SqliteSchedules.open(root)


def existing_send_reports(root: Path) -> SendReports | None:
    """How the sends from `root` went, or None when nothing was ever sent (nothing created)."""
    url = store_url(root)
    if url:
        database = _existing_database(url)
        return None if database is None else PostgresSendReports(database)
    path = ledger_path(root)
    return SqliteSendReports(path, state_path(root)) if path.exists() else None
