"""The PostgreSQL ledger: the `Ledger` protocol on the shared database, each state change
its own committed statement, as in SQLite."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from weekly.clock import stamp
from weekly.store.deliveries import FAILED_PERMANENT, SENDING, STATES, Delivery, by_segment
from weekly.store.postgres.database import Database


class PostgresLedger:
    """The ledger in one PostgreSQL database (a `Ledger`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    def fingerprint(self, issue: int) -> str | None:
        """The fingerprint of the composed content the first send of `issue` used."""
        with self._db.connection() as conn:
            row = conn.execute("SELECT fingerprint FROM sends WHERE issue = %s", (issue,))
            found = row.fetchone()
        return str(found[0]) if found else None

    def set_fingerprint(self, issue: int, fingerprint: str) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO sends (issue, fingerprint, started_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (issue) DO UPDATE SET fingerprint = excluded.fingerprint",
                (issue, fingerprint, stamp()),
            )

    def note_segment(self, issue: int, expression: str) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO segments (issue, at, expression) VALUES (%s, %s, %s)",
                (issue, stamp(), expression),
            )

    def segments(self, issue: int) -> list[str]:
        """The segments the runs of `issue` mailed, each once, in the order first used."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT expression FROM segments WHERE issue = %s ORDER BY id", (issue,)
            ).fetchall()
        return list(dict.fromkeys(str(row[0]) for row in rows))

    def states(self, issue: int, keys: Sequence[str]) -> dict[str, str]:
        """The state of each of `keys` that has a row."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT recipient, state FROM deliveries WHERE issue = %s AND recipient = ANY(%s)",
                (issue, list(keys)),
            ).fetchall()
        return {key: state for key, state in rows}

    def add(self, issue: int, recipients: Sequence[tuple[str, str]], segment: str = "") -> None:
        """Rows in `pending` for (key, email) pairs not yet in the ledger, in one transaction,
        each belonging to `segment`."""
        if not recipients:
            return
        now = stamp()
        keys, emails = [k for k, _ in recipients], [e for _, e in recipients]
        with self._db.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO deliveries"
                " (issue, recipient, email, state, created_at, updated_at, segment)"
                " SELECT %s, key, email, 'pending', %s, %s, %s"
                " FROM unnest(%s::text[], %s::text[]) AS fresh (key, email) ON CONFLICT DO NOTHING",
                (issue, now, now, segment, keys, emails),
            )

    def mark_sending(self, issue: int, key: str, message_id: str) -> None:
        """Right before the end of data: from here on a crash leaves the row uncertain."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE deliveries SET state = %s, last_reply = '', updated_at = %s,"
                " message_id = %s, attempts = attempts + 1 WHERE issue = %s AND recipient = %s",
                (SENDING, stamp(), message_id, issue, key),
            )

    def mark(self, issue: int, key: str, state: str, reply: str, *, attempt: bool = False) -> None:
        """Record an outcome; `attempt` counts a try that stopped before its end of data."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE deliveries SET state = %s, last_reply = %s, updated_at = %s,"
                " attempts = attempts + %s WHERE issue = %s AND recipient = %s",
                (state, reply, stamp(), int(attempt), issue, key),
            )

    def counts(self, issue: int) -> dict[str, int]:
        """How many rows of `issue` are in each state."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM deliveries WHERE issue = %s GROUP BY state", (issue,)
            ).fetchall()
        found = {state: int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in STATES}

    def segment_counts(self, issue: int) -> dict[str, dict[str, int]]:
        """How many rows of `issue` each segment added, per state, in the order first used."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT segment, state, count(*) FROM deliveries WHERE issue = %s"
                " GROUP BY segment, state",
                (issue,),
            ).fetchall()
        return by_segment(rows, self.segments(issue))

    def rows(self, issue: int, states: Sequence[str]) -> Iterator[Delivery]:
        """Rows of `issue` in any of `states`, by recipient key (byte order, as SQLite)."""
        with (
            self._db.connection() as conn,
            conn.transaction(),  # a server-side cursor: rows stream, memory stays flat
            conn.cursor(name="rows") as cursor,
        ):
            cursor.execute(
                "SELECT email, state, attempts, last_reply, message_id, updated_at"
                " FROM deliveries WHERE issue = %s AND state = ANY(%s)"
                ' ORDER BY recipient COLLATE "C"',
                (issue, list(states)),
            )
            for row in cursor:
                yield Delivery(*row)

    def permanent_failures(self) -> Iterator[tuple[str, str, str]]:
        """(email, reply, time) of every 5xx refusal of any issue: hard bounces."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT email, last_reply, updated_at FROM deliveries WHERE state = %s",
                (FAILED_PERMANENT,),
            ).fetchall()
        yield from rows
