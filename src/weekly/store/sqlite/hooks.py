"""The SQLite hook log, in the consent log's file: request keys seen (replays are refused)
and provider-reported soft bounces and deliveries per address (a `HookLog`)."""

from __future__ import annotations

from pathlib import Path

from weekly.store.sqlite.consent import state_path
from weekly.store.sqlite.database import open_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hook_requests (key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hook_requests_by_time ON hook_requests (at);
CREATE TABLE IF NOT EXISTS soft_bounces (
    ref TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS soft_bounces_by_address ON soft_bounces (address, at);
CREATE TABLE IF NOT EXISTS last_delivery (address TEXT PRIMARY KEY, at TEXT NOT NULL);
"""

# The soft bounces of an address after a time and after its last reported delivery.
RUN = """
SELECT count(*) FROM soft_bounces WHERE address = ?1 AND at > ?2 AND at >
    coalesce((SELECT at FROM last_delivery WHERE address = ?1), '')
"""


class SqliteHookLog:
    """The hook log of one newsletter folder (a `HookLog`)."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA, "the hook log")

    @classmethod
    def open(cls, root: Path) -> SqliteHookLog:
        """The hook log of the newsletter at `root`, created on first use."""
        return cls(state_path(root))

    def close(self) -> None:
        self._db.close()

    def first_use(self, key: str, at: str, forget_before: str) -> bool:
        """Remember `key`; False when it was seen before."""
        with self._db:
            self._db.execute("DELETE FROM hook_requests WHERE at < ?", (forget_before,))
            added = self._db.execute(
                "INSERT OR IGNORE INTO hook_requests (key, at) VALUES (?, ?)", (key, at)
            )
            return added.rowcount == 1

    def soft_bounce(self, ref: str, address: str, at: str, after: str) -> int | None:
        """Count a soft bounce: the run now, or None when `ref` was counted before."""
        with self._db:
            added = self._db.execute(
                "INSERT OR IGNORE INTO soft_bounces (ref, address, at) VALUES (?, ?, ?)",
                (ref, address, at),
            )
            if added.rowcount != 1:
                return None
            return int(self._db.execute(RUN, (address, after)).fetchone()[0])

    def delivered(self, address: str, at: str) -> None:
        """Note a delivery; the soft bounces before it stop counting."""
        with self._db:
            self._db.execute(
                "INSERT INTO last_delivery (address, at) VALUES (?, ?) ON CONFLICT (address)"
                " DO UPDATE SET at = max(at, excluded.at)",
                (address, at),
            )
