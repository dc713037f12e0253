"""Senders sharing one send in PostgreSQL, seat by seat and in-process: who loads the list,
who claims which rows, a lease that runs out, a dead sender reaped, a fenced mark, and what
`weekly status` learns of the crew (the end-to-end runs of test_senders.py take minutes)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from weekly.audience.subscriber_list import Subscriber
from weekly.config import Config, load_config
from weekly.deliver.crew_send import SharedPacer, SharedRun, payload, subscriber_of
from weekly.errors import WeeklyError
from weekly.store import open_crew, senders
from weekly.store.deliveries import PENDING, RETRYING, SENT, Mark
from weekly.store.location import shown
from weekly.store.postgres.crew import PostgresCrew
from weekly.store.postgres.database import Database, application_name
from weekly.store.postgres.ledger import PostgresLedger

from .conftest import REPO

ISSUE = 324


def reader(key: str) -> str:
    """The stored payload of a subscriber whose key is `key`."""
    address = f"{key}@example.com"
    return payload(Subscriber(1, address, address, key, "", "subscribed", {}))


class Crews:
    """Seats of one test's crew in the database at `url`, all closed after the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[PostgresCrew] = []

    def seat(self, lease: float = 60.0) -> PostgresCrew:
        crew = PostgresCrew(Database(self.url), ISSUE, lease_seconds=lease)
        self.made.append(crew)
        return crew

    def loader(self, keys: list[str], lease: float = 60.0) -> PostgresCrew:
        """The sender that joined first and loaded `keys`, each as the subscriber `key`."""
        ledger = PostgresLedger(Database(self.url))
        ledger.set_fingerprint(ISSUE, "abc")
        ledger.close()
        crew = self.seat(lease)
        assert crew.join() is True
        crew.load((key, f"{key}@example.com", reader(key)) for key in keys)
        return crew

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.encode(), args).fetchall()

    def held_by(self, crew: PostgresCrew) -> set[object]:
        rows = self.query("SELECT recipient FROM deliveries WHERE claimed_by = %s", crew.sender)
        return {key for (key,) in rows}


@pytest.fixture
def crews(pg_url: str) -> Iterator[Crews]:
    made = Crews(pg_url)
    yield made
    for crew in made.made:
        crew.close()


def gone_pid() -> int:
    """The id of a process of this host that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def record(crew: PostgresCrew, marks: Sequence[Mark]) -> set[str]:
    """`marks` written as a send's event loop writes them: the keys `crew` no longer holds."""

    async def write() -> set[str]:
        writer = crew.marks()
        try:
            return await writer.record(marks)
        finally:
            await writer.close()

    return asyncio.run(write())


def test_the_first_sender_loads_and_the_others_claim_what_no_live_sender_holds(
    crews: Crews,
) -> None:
    first = crews.loader(["a", "b", "c"])
    second = crews.seat()
    assert second.join() is False  # a live sender loaded the list: no second load
    mine = dict(first.claim(2, (PENDING,)))
    assert len(mine) == 2 and all(subscriber_of(text).key == key for key, text in mine.items())
    assert second.claim(5, (SENT,)) == []  # only rows in the states asked for
    (theirs,) = second.claim(5, (PENDING,))
    assert theirs[0] not in mine and second.claim(5, (PENDING,)) == []
    assert crews.held_by(first) == set(mine) and crews.held_by(second) == {theirs[0]}
    assert second.held_elsewhere((PENDING,)) == 2 and first.held_elsewhere((PENDING,)) == 1
    assert first.held_elsewhere((SENT,)) == 0


def test_a_sender_whose_lease_ran_out_loses_its_rows_and_its_marks_are_fenced(
    crews: Crews,
) -> None:
    frozen = crews.loader(["a", "b"], lease=0.0)  # its lease is over as soon as it starts
    assert len(frozen.claim(2, (PENDING,))) == 2
    later = crews.seat()
    assert later.join() is True  # the loader is dead: this one loads the list again
    later.load((key, f"{key}@example.com", key) for key in ("a", "b"))
    assert later.held_elsewhere((PENDING,)) == 0
    assert sorted(later.claim(5, (PENDING,))) == [("a", "a"), ("b", "b")]
    lost = record(frozen, [Mark("a", SENT, "250 OK", "<1@x>", 1)])
    assert lost == {"a"}  # the row is the later sender's now: the frozen one's mark is refused
    assert record(later, [Mark("b", SENT, "250 OK", "<2@x>", 1)]) == set()
    assert crews.query(
        "SELECT recipient, state, attempts, message_id FROM deliveries ORDER BY recipient"
    ) == [("a", PENDING, 0, ""), ("b", SENT, 1, "<2@x>")]


def test_marks_keep_every_character_of_a_reply_and_a_missing_message_id(crews: Crews) -> None:
    # The marks travel as text array literals: quotes, backslashes, commas, braces, the word
    # NULL and non-ASCII text in a relay's reply must arrive as they were sent.
    keys = ['we"ird', "back\\slash", "c,d", "NULL"]
    sender = crews.loader(keys)
    assert len(sender.claim(4, (PENDING,))) == 4
    replies = ['550 5.1.1 "no such user"', "451 C:\\queue\\ full", "250 {ok}, queued", "NULL"]
    marks = [Mark(key, SENT, reply, None, 1) for key, reply in zip(keys, replies, strict=True)]
    marks[3] = Mark("NULL", RETRYING, "421 4.7.0 잠시 후 다시 시도하세요", "<9@x>", 0)
    assert record(sender, marks) == set()
    rows = crews.query("SELECT recipient, state, last_reply, message_id, attempts FROM deliveries")
    assert sorted(rows) == sorted(
        [
            ('we"ird', SENT, replies[0], "", 1),
            ("back\\slash", SENT, replies[1], "", 1),
            ("c,d", SENT, replies[2], "", 1),
            ("NULL", RETRYING, "421 4.7.0 잠시 후 다시 시도하세요", "<9@x>", 0),
        ]
    )


def test_a_refused_mark_and_a_lost_connection_are_one_line_naming_the_store(
    crews: Crews,
) -> None:
    sender = crews.loader(["a"])
    assert len(sender.claim(1, (PENDING,))) == 1

    async def write() -> tuple[str, str]:
        writer = sender.marks()
        try:
            with pytest.raises(WeeklyError) as refused:  # the server's own check
                await writer.record([Mark("a", "delivered", "250 OK", None, 1)])
            # The writer's connection ended by the server (a restart, a failover).
            crews.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND application_name = %s",
                application_name(),
            )
            with pytest.raises(WeeklyError) as lost:
                await writer.record([Mark("a", SENT, "250 OK", None, 1)])
            return str(refused.value), str(lost.value)
        finally:
            await writer.close()

    refused, lost = asyncio.run(write())
    assert refused == (  # the store, then the server's own first line, nothing between
        f'store {shown(crews.url)}: new row for relation "deliveries" violates check'
        ' constraint "deliveries_state_check"'
    )
    assert lost.startswith(f"store {shown(crews.url)}: ")
    assert "\n" not in refused + lost
    assert crews.query("SELECT state FROM deliveries") == [(PENDING,)]


def test_a_retrying_row_of_a_dead_sender_is_claimed_as_pending(crews: Crews) -> None:
    frozen = crews.loader(["a"], lease=0.0)
    frozen.claim(1, (PENDING,))
    assert record(frozen, [Mark("a", RETRYING, "451 later", None, 1)]) == set()
    later = crews.seat()
    assert later.join() is True
    later.load([("a", "a@example.com", "a")])
    assert later.claim(1, (PENDING, RETRYING)) == [("a", "a")]
    assert crews.query("SELECT state, attempts, last_reply FROM deliveries") == [
        (PENDING, 1, "451 later")
    ]


def test_the_heartbeat_renews_the_lease_and_leaving_ends_it(crews: Crews) -> None:
    first = crews.loader(["a"])
    first.claim(1, (PENDING,))
    # As if the lease had run out while the sender was busy: the others may take its rows.
    crews.query(
        "UPDATE senders SET lease_until = clock_timestamp() - interval '1 s'"
        " WHERE id = %s RETURNING id",
        first.sender,
    )
    other = crews.seat()
    other.join()
    assert other.held_elsewhere((PENDING,)) == 0
    first.heartbeat(5)
    assert other.held_elsewhere((PENDING,)) == 1  # alive again, holding its row
    mine, _ = first.senders()
    here = (socket.gethostname(), os.getpid())
    assert (mine.host, mine.pid, mine.sent, mine.alive) == (*here, 5, True)
    assert mine.heartbeat > mine.started_at
    first.leave(7)
    assert other.held_elsewhere((PENDING,)) == 0
    assert [(s.sent, s.alive) for s in other.senders()] == [(7, False), (0, True)]


def test_a_dead_sender_on_this_host_is_reaped_at_once_and_one_elsewhere_is_not(
    crews: Crews,
) -> None:
    first = crews.loader(["a", "b"])
    first.claim(1, (PENDING,))
    crews.query("UPDATE senders SET pid = %s WHERE id = %s RETURNING id", gone_pid(), first.sender)
    later = crews.seat()
    assert later.join() is True  # its loader is gone from this host: the list is loaded again
    later.load((key, f"{key}@example.com", key) for key in ("a", "b"))
    assert later.held_elsewhere((PENDING,)) == 0
    assert [s.alive for s in later.senders()] == [False, True]
    # A sender on another host cannot be looked up: only its lease tells.
    abroad = crews.seat()
    abroad.join()
    crews.query(
        "UPDATE senders SET pid = %s, host = 'elsewhere' WHERE id = %s RETURNING id",
        gone_pid(),
        abroad.sender,
    )
    abroad.claim(1, (PENDING,))
    assert later.held_elsewhere((PENDING,)) == 1


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_sqlite_store_has_no_crew(newsletter: Path, store: str) -> None:
    assert open_crew(newsletter, ISSUE) is None
    assert senders(newsletter, ISSUE) == []
    assert not (newsletter / ".weekly").exists()


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_postgresql_store_seats_senders_with_the_lease_of_weekly_toml(
    newsletter: Path, store: str
) -> None:
    assert senders(newsletter, ISSUE) == []  # nothing sent yet, and nothing created
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT to_regclass('senders')").fetchone() == (None,)
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write("\n[store]\nlease_seconds = 0.5\n")
    crew = open_crew(newsletter, ISSUE)
    assert isinstance(crew, PostgresCrew)
    try:
        crew.join()
        with psycopg.connect(store) as conn:
            (lease,) = conn.execute("SELECT lease_until - started_at FROM senders").fetchone()
        assert 0.4 < lease.total_seconds() < 5  # not the 15 s default
        assert [(s.pid, s.sent) for s in senders(newsletter, ISSUE)] == [(os.getpid(), 0)]
        assert senders(newsletter, ISSUE + 1) == []
    finally:
        crew.close()


def test_the_shared_pace_says_how_long_to_wait_and_when_the_day_is_full(crews: Crews) -> None:
    pace = crews.seat().pace
    # No burst: nothing saved up, so the waits follow from the counts alone.
    assert pace.take(0, rate=4.0, burst=0.0, cap=0) == 0.0
    crews.query("UPDATE pace SET tokens = 0 RETURNING id")
    assert pace.take(10, rate=4.0, burst=0.0, cap=0) == 2.5  # ten at four a second
    crews.query("UPDATE pace SET tokens = 0, day_count = 0 RETURNING id")
    pace.slow_down(60.0, 0.25)
    assert pace.take(10, rate=4.0, burst=0.0, cap=12) == 5.0  # at half the pace
    assert pace.take(3, rate=4.0, burst=0.0, cap=12) is None  # 13 would pass the day's 12


class LeaseRunsOutAfterAnEmptyClaim(PostgresCrew):
    """A seat whose first empty claim is followed at once by `holder`'s lease running out:
    the moment between a claim and the look at who still holds rows, made to happen."""

    def __init__(self, database: Database, holder: PostgresCrew, crews: Crews) -> None:
        super().__init__(database, ISSUE, lease_seconds=60.0)
        self._holder, self._crews, self._done = holder, crews, False

    def claim(self, limit: int, states: Sequence[str]) -> list[tuple[str, str]]:
        rows = super().claim(limit, states)
        if not rows and not self._done:
            self._done = True
            self._crews.query(
                "UPDATE senders SET lease_until = clock_timestamp() WHERE id = %s RETURNING id",
                self._holder.sender,
            )
        return rows


@pytest.mark.parametrize("free_at_first", [0, 1])
def test_rows_freed_between_an_empty_claim_and_the_look_are_still_sent(
    crews: Crews, free_at_first: int
) -> None:
    """A sender frozen past its lease (SIGSTOP, a paused VM) must not leave its rows behind
    when its lease runs out just after another sender's claim came back empty: the late
    sender's very first claim (nothing free yet), or one that follows a claim that brought
    rows."""
    holder = crews.loader(["a", "b", "c"])
    assert len(holder.claim(3 - free_at_first, (PENDING,))) == 3 - free_at_first
    late = LeaseRunsOutAfterAnEmptyClaim(Database(crews.url), holder, crews)
    crews.made.append(late)
    assert late.join() is False
    run = SharedRun(late, load_config(REPO), (PENDING,))

    async def drain() -> list[str]:
        return [subscriber.key async for subscriber in run.claimed()]

    assert sorted(asyncio.run(drain())) == ["a", "b", "c"]
    assert crews.held_by(late) == {"a", "b", "c"}


def shared_config(rate: float, daily_cap: int) -> Config:
    """The repository's settings with the pace and the day's cap of a shared send."""
    config = load_config(REPO)
    return replace(config, delivery=replace(config.delivery, rate=rate, daily_cap=daily_cap))


async def waits(pacer: SharedPacer, count: int) -> list[bool]:
    """What `count` messages in a row hear from `pacer`, within a few seconds (a slice of the
    rate times ten, not a tenth, would make one wait last ten)."""

    async def each() -> list[bool]:
        return [await pacer.wait() for _ in range(count)]

    return await asyncio.wait_for(each(), 3.0)


def test_the_shared_pace_lets_exactly_the_days_cap_through(crews: Crews) -> None:
    """Near the cap a sender's slice of the rate (a thousand tokens here) no longer fits:
    it takes the last tokens one at a time, then every later message is refused."""
    capped = SharedPacer(crews.seat(), shared_config(rate=10_000.0, daily_cap=3))
    assert asyncio.run(waits(capped, 4)) == [True, True, True, False]
    assert crews.query("SELECT day_count FROM pace") == [(3,)]


def test_a_slice_that_fits_is_taken_whole_and_the_rest_one_at_a_time(crews: Crews) -> None:
    """Tokens come from the store two at a time (a tenth of 24 a second) while two fit
    under the cap, then the last one alone."""
    capped = SharedPacer(crews.seat(), shared_config(rate=24.0, daily_cap=3))
    assert asyncio.run(waits(capped, 4)) == [True, True, True, False]
    assert crews.query("SELECT day_count FROM pace") == [(3,)]


def test_without_a_cap_the_shared_pace_lets_every_message_through(
    crews: Crews,
) -> None:
    free = SharedPacer(crews.seat(), shared_config(rate=10_000.0, daily_cap=0))
    assert asyncio.run(waits(free, 4)) == [True] * 4
    assert crews.query("SELECT day_count FROM pace") == [(1000,)]  # a tenth of the rate at once


def test_a_sender_loads_its_segment_and_leaves_with_the_count_it_finished(crews: Crews) -> None:
    first = crews.seat()
    run = SharedRun(first, load_config(REPO), (PENDING,))
    run.join(lambda: iter([("a", "a@example.com", reader("a"))]), "tag:vip")
    assert crews.query("SELECT recipient, segment FROM deliveries") == [("a", "tag:vip")]
    heard: list[int] = []
    advance = run.counted(heard.append)
    with run.seated():
        advance(2)
        advance(1)
    assert heard == [2, 1]
    assert [(s.pid, s.sent, s.alive) for s in first.senders()] == [(os.getpid(), 3, False)]
