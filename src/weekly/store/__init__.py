"""Store: the send ledger and the consent log behind protocols, and the one place that
picks their implementation (SQLite in the newsletter folder) for the newsletter at `root`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from weekly.store.protocols import ConsentLog, Ledger
from weekly.store.sqlite.consent import SqliteConsentLog, state_path
from weekly.store.sqlite.ledger import SqliteLedger, ledger_path
from weekly.store.sqlite.lock import issue_lock

__all__ = [
    "ConsentLog",
    "Ledger",
    "existing_consent_log",
    "existing_ledger",
    "hold_issue",
    "open_consent_log",
    "open_ledger",
]


def hold_issue(root: Path, issue: int) -> AbstractContextManager[None]:
    """Hold issue `issue` for this process until the block ends (an error if another holds
    it); taken before `open_ledger`, so two first sends never race to create the ledger."""
    return issue_lock(ledger_path(root).parent, issue)


def open_ledger(root: Path) -> Ledger:
    """The ledger of the newsletter at `root`, created on first use."""
    return SqliteLedger.open(root)


def existing_ledger(root: Path) -> Ledger | None:
    """The ledger for reading only, or None when nothing was ever sent from `root`."""
    return SqliteLedger.existing(root)


def open_consent_log(root: Path) -> ConsentLog:
    """The consent log of the newsletter at `root`, created on first use."""
    return SqliteConsentLog.open(root)


def existing_consent_log(root: Path) -> ConsentLog | None:
    """The consent log, or None while nothing has been recorded for `root` yet."""
    return SqliteConsentLog.open(root) if state_path(root).exists() else None
