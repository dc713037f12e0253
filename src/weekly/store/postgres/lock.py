"""The per-issue send lock of the PostgreSQL store: a session advisory lock, which the server
drops when the holding connection ends (the process died or its host vanished)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from weekly.errors import WeeklyError
from weekly.store.postgres.database import connect

_SEND_LOCKS = 7_140_100  # first key of the (class, issue) advisory lock pair


@contextmanager
def issue_lock(url: str, issue: int) -> Iterator[None]:
    """Hold issue `issue` in the store at `url` for this process until the block ends."""
    with connect(url) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_SEND_LOCKS, issue)).fetchone()
        if not row or not row[0]:
            holder = conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s"
                " AND l.objid = %s",
                (_SEND_LOCKS, issue),
            ).fetchone()
            who = str(holder[0]).removeprefix("weekly ") if holder else "another process"
            raise WeeklyError(f"issue {issue} is already being sent by {who}")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_SEND_LOCKS, issue))
