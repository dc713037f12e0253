"""A shared send's ledger marks, written from the sender's event loop over one asynchronous
connection: the dispatcher awaits a `sending` commit before each end of data, so every lane
of a send waits on these statements, and their client-side cost is the loop's. They go
through psycopg's libpq layer (`psycopg.pq`) as one prepared statement with text
parameters: a cursor's execute cost the loop 276 us of CPU per 16-mark statement, this 133."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg import generators, pq, waiting

from weekly.clock import stamp
from weekly.store.deliveries import Mark
from weekly.store.postgres.database import connect_async, store_error

_NAME = b"weekly_marks"
_INTERVAL = 0.1  # how often a wait wakes to let the loop see a cancellation: psycopg's own
# Many rows' state changes in one statement (autocommit: one round trip, one commit), each
# only while this sender still holds the row: a sender whose lease ran out and whose rows
# another took over changes none of them, and learns which.
_RECORD = b"""
UPDATE deliveries d SET state = m.state, last_reply = m.reply, updated_at = $1,
    message_id = coalesce(m.message_id, d.message_id), attempts = d.attempts + m.tries
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
    AS m (key, state, reply, message_id, tries)
WHERE d.issue = $7::bigint AND d.recipient = m.key AND d.claimed_by = $8::bigint
RETURNING d.recipient
"""


def text_array(values: Iterable[str | int | None]) -> bytes:
    """A PostgreSQL array literal in text form: each element quoted, None as NULL."""
    return (
        "{"
        + ",".join(
            "NULL"
            if value is None
            else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for value in values
        )
        + "}"
    ).encode()


class PostgresMarks:
    """This sender's marks of one issue (a `MarkWriter`); `seat()` is the sender's id, known
    once it joined. The connection opens on first use, inside the loop that uses it."""

    def __init__(self, url: str, issue: int, seat: Callable[[], int]) -> None:
        self._url = url
        self._issue = str(issue).encode()
        self._seat = seat
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

    async def record(self, marks: Sequence[Mark]) -> set[str]:
        """Apply `marks` (one per key) in one transaction; the keys this sender no longer
        holds, whose marks were not applied."""
        keys = [m.key for m in marks]
        params: list[bytes | None] = [
            stamp().encode(),
            text_array(keys),
            text_array(m.state for m in marks),
            text_array(m.reply for m in marks),
            text_array(m.message_id for m in marks),
            text_array(m.tries for m in marks),
            self._issue,
            str(self._seat()).encode(),
        ]
        try:
            pgconn = await self._ready()
            pgconn.send_query_prepared(_NAME, params)
            result = await _result(pgconn)
        except psycopg.Error as exc:
            raise store_error(self._url, exc) from None
        done = (result.get_value(row, 0) or b"" for row in range(result.ntuples))
        return set(keys).difference(key.decode() for key in done)

    async def _ready(self) -> pq.abc.PGconn:
        """The connection, opened and the statement prepared on first use."""
        if self._conn is None:
            self._conn = await connect_async(self._url)
            self._conn.pgconn.send_prepare(_NAME, _RECORD)
            await _result(self._conn.pgconn)
        return self._conn.pgconn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


async def _result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult:
    """The result of the statement just sent, awaited in the loop the way psycopg's own
    cursors await theirs; the server's error as psycopg raises it from a cursor (its class,
    its words without libpq's `ERROR:  `)."""
    results = await waiting.wait_async(generators.execute(pgconn), pgconn.socket, _INTERVAL)
    result: pq.abc.PGresult = results[-1]
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise psycopg.errors.error_from_result(result)
    return result
