"""Opt-outs recorded while a send runs: any process (serve, `weekly unsubscribe`,
`weekly bounces`) writes the subscription log; a running send polls it for what changed."""

from __future__ import annotations

from pathlib import Path

from weekly.store import ConsentLog, existing_consent_log
from weekly.store.consent import fold

POLL_SECONDS = 0.5  # an opt-out stops the send's later messages well within 2 s


class ConsentWatch:
    """Addresses suppressed in the log since the watch began (made before the audience is
    read, so nothing recorded in between is missed)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._store: ConsentLog | None = existing_consent_log(root)
        self._cursor = 0 if self._store is None else self._store.cursor()

    def poll(self) -> set[str]:
        """Keys (lower-cased addresses) that stand suppressed after events new since the
        last poll; a log that appears meanwhile is read from its start."""
        if self._store is None:
            self._store = existing_consent_log(self._root)
            if self._store is None:
                return set()
        self._cursor, changed = self._store.changed_since(self._cursor)
        suppressed = set()
        for address in changed:
            standing = fold(self._store.history(address))
            if standing is not None and standing.suppressed:
                suppressed.add(address)
        return suppressed

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
