"""A shared send's ledger marks, written from the sender's event loop over one asynchronous
connection: the dispatcher awaits a `sending` commit before each end of data, and a round trip
awaited in the loop costs no thread hand-off (a writer thread waited for the interpreter lock
behind the busy loop, several times a statement)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from weekly.clock import stamp
from weekly.store.deliveries import Mark
from weekly.store.postgres.database import connect_async, store_error

# Many rows' state changes in one statement (autocommit: one round trip, one commit), each
# only while this sender still holds the row: a sender whose lease ran out and whose rows
# another took over changes none of them, and learns which. The arrays travel in binary:
# psycopg's text form checks every element against a pattern, a fifth of the statement's CPU.
_RECORD = """
UPDATE deliveries d SET state = m.state, last_reply = m.reply, updated_at = %(now)s,
    message_id = coalesce(m.message_id, d.message_id), attempts = d.attempts + m.tries
FROM unnest(%(keys)b::text[], %(states)b::text[], %(replies)b::text[], %(ids)b::text[],
            %(tries)b::int[]) AS m (key, state, reply, message_id, tries)
WHERE d.issue = %(issue)s AND d.recipient = m.key AND d.claimed_by = %(sender)s
RETURNING d.recipient
"""


class PostgresMarks:
    """This sender's marks of one issue (a `MarkWriter`); `seat()` is the sender's id, known
    once it joined. The connection opens on first use, inside the loop that uses it."""

    def __init__(self, url: str, issue: int, seat: Callable[[], int]) -> None:
        self._url = url
        self._issue = issue
        self._seat = seat
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

    async def record(self, marks: Sequence[Mark]) -> set[str]:
        """Apply `marks` (one per key) in one transaction; the keys this sender no longer
        holds, whose marks were not applied."""
        keys = [m.key for m in marks]
        try:
            if self._conn is None:
                self._conn = await connect_async(self._url)
            cursor = await self._conn.execute(
                _RECORD,
                {
                    "now": stamp(),
                    "keys": keys,
                    "states": [m.state for m in marks],
                    "replies": [m.reply for m in marks],
                    "ids": [m.message_id for m in marks],
                    "tries": [m.tries for m in marks],
                    "issue": self._issue,
                    "sender": self._seat(),
                },
            )
            done = await cursor.fetchall()
        except psycopg.Error as exc:
            raise store_error(self._url, exc) from None
        return set(keys).difference(key for (key,) in done)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
