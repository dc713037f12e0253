"""Several senders sharing one send in PostgreSQL: each joins with a lease renewed by its
heartbeat, the first loads the list (COPY), all claim batches with FOR UPDATE SKIP LOCKED.
A sender whose lease ran out is dead: its claimed rows not yet at end of data are free."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence

from weekly.clock import stamp
from weekly.processes import running
from weekly.store.deliveries import PENDING, RETRYING, Sender
from weekly.store.postgres.database import Database
from weekly.store.postgres.marks import PostgresMarks
from weekly.store.postgres.pace import PostgresPace

_LOAD_LOCK = 7_140_200  # (class, issue) advisory lock held while a sender loads the list
_LIVE = "lease_until > clock_timestamp()"


class PostgresCrew:
    """This process's seat in the crew of senders of one issue (a `Crew`)."""

    def __init__(self, database: Database, issue: int, lease_seconds: float) -> None:
        self._db = database
        self.issue = issue
        self._lease = lease_seconds
        self.sender = 0
        self.pace = PostgresPace(database)

    def close(self) -> None:
        self._db.close()

    def _reap(self) -> None:
        """End the leases of senders on this host whose process is gone (killed, crashed):
        a resume on the same machine need not wait for their leases to run out."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT id, pid FROM senders WHERE host = %s AND id <> %s AND {_LIVE}",
                (socket.gethostname(), self.sender),
            ).fetchall()
            gone = [sender for sender, pid in rows if not running(pid)]
            if gone:
                conn.execute(
                    "UPDATE senders SET lease_until = clock_timestamp() WHERE id = ANY(%s)",
                    (gone,),
                )

    def join(self) -> bool:
        """Take a seat; True when this sender must load the list (no live sender has)."""
        self._reap()
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOAD_LOCK, self.issue))
            row = conn.execute(
                "INSERT INTO senders (issue, host, pid, lease_until) VALUES"
                " (%s, %s, %s, clock_timestamp() + make_interval(secs => %s)) RETURNING id",
                (self.issue, socket.gethostname(), os.getpid(), self._lease),
            ).fetchone()
            assert row is not None
            self.sender = int(row[0])
            live = conn.execute(
                "SELECT 1 FROM sends s JOIN senders l ON l.id = s.loaded_by"
                f" WHERE s.issue = %s AND l.{_LIVE}",
                (self.issue,),
            ).fetchone()
        return live is None

    def load(self, rows: Iterable[tuple[str, str, str]], segment: str = "") -> None:
        """(key, email, payload) of every recipient of this run, streamed in with COPY: new
        rows pending in `segment`, known ones marked as this run's (keeping the segment that
        added them); then the send is marked loaded."""
        now = stamp()
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOAD_LOCK, self.issue))
            conn.execute(
                "CREATE TEMP TABLE incoming (key TEXT, email TEXT, payload TEXT) ON COMMIT DROP"
            )
            with conn.cursor() as cursor, cursor.copy("COPY incoming FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.execute(
                "INSERT INTO deliveries (issue, recipient, email, state, created_at, updated_at,"
                " loaded_by, payload, segment)"
                " SELECT %s, key, email, 'pending', %s, %s, %s, payload, %s"
                " FROM incoming ON CONFLICT (issue, recipient) DO UPDATE"
                " SET loaded_by = excluded.loaded_by, payload = excluded.payload",
                (self.issue, now, now, self.sender, segment),
            )
            conn.execute(
                "UPDATE sends SET loaded_by = %s WHERE issue = %s", (self.sender, self.issue)
            )

    def claim(self, limit: int, states: Sequence[str]) -> list[tuple[str, str]]:
        """Up to `limit` rows of this run in `states` that no live sender holds, now held by
        this one: (key, payload). A retrying row of a dead sender counts as pending."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "WITH free AS (SELECT d.recipient FROM deliveries d"
                " JOIN sends s ON s.issue = d.issue AND d.loaded_by = s.loaded_by"
                " LEFT JOIN senders c ON c.id = d.claimed_by"
                " WHERE d.issue = %s AND d.state = ANY(%s)"
                f" AND (d.claimed_by IS NULL OR NOT c.{_LIVE})"
                " LIMIT %s FOR UPDATE OF d SKIP LOCKED)"
                " UPDATE deliveries d SET claimed_by = %s,"
                " state = CASE WHEN d.state = %s THEN %s ELSE d.state END"
                " FROM free WHERE d.issue = %s AND d.recipient = free.recipient"
                " RETURNING d.recipient, d.payload",
                (self.issue, list(states), limit, self.sender, RETRYING, PENDING, self.issue),
            ).fetchall()
        return [(key, payload) for key, payload in rows]

    def marks(self) -> PostgresMarks:
        """A writer of this sender's marks for its event loop, on a connection of its own."""
        return PostgresMarks(self._db.url, self.issue, lambda: self.sender)

    def held_elsewhere(self, states: Sequence[str]) -> int:
        """Rows of this run in `states` that other live senders still hold."""
        self._reap()
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM deliveries d JOIN sends s ON s.issue = d.issue"
                " AND d.loaded_by = s.loaded_by JOIN senders c ON c.id = d.claimed_by"
                f" WHERE d.issue = %s AND d.state = ANY(%s) AND c.id <> %s AND c.{_LIVE}",
                (self.issue, list(states), self.sender),
            ).fetchone()
        return int(row[0]) if row else 0

    def heartbeat(self, sent: int) -> None:
        """Renew the lease and record how many this sender has sent."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE senders SET heartbeat = clock_timestamp(), sent = %s,"
                " lease_until = clock_timestamp() + make_interval(secs => %s) WHERE id = %s",
                (sent, self._lease, self.sender),
            )

    def leave(self, sent: int) -> None:
        """Give up the seat: the lease ends now, so rows still held are free at once."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE senders SET heartbeat = clock_timestamp(), sent = %s,"
                " lease_until = clock_timestamp() WHERE id = %s",
                (sent, self.sender),
            )

    def senders(self) -> list[Sender]:
        """Every sender that took part in this issue's sends, oldest first."""
        return crew_of(self._db, self.issue)


def crew_of(database: Database, issue: int) -> list[Sender]:
    """The senders of `issue` with their last heartbeat, oldest first."""
    with database.connection() as conn:
        rows = conn.execute(
            f"SELECT host, pid, started_at, heartbeat, sent, {_LIVE} FROM senders"
            " WHERE issue = %s ORDER BY id",
            (issue,),
        ).fetchall()
    return [Sender(*row) for row in rows]
