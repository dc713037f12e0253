"""The PostgreSQL store as the editor meets it: the URL from weekly.toml or the environment
(never a password in the file), `weekly store migrate`, and `weekly store copy` both ways."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from weekly.cli import main
from weekly.clock import stamp
from weekly.errors import WeeklyError
from weekly.store import (
    existing_ledger,
    hold_issue,
    open_consent_log,
    open_hit_log,
    open_hook_log,
    open_ledger,
    open_schedules,
)
from weekly.store.consent import BOUNCED, CONFIRMED, Event
from weekly.store.copy import TABLES, PostgresSide, Row, SqliteSide, copy_store
from weekly.store.hits import CLICK, HUMAN, MACHINE, OPEN, Hit
from weekly.store.location import shown
from weekly.store.postgres.crew import PostgresCrew
from weekly.store.postgres.database import (
    Database,
    application_name,
    connect,
    migrate_database,
)
from weekly.store.postgres.schema import LATEST, MIGRATIONS, migrate
from weekly.store.schedules import Schedule


def set_store_url(newsletter: Path, url: str) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[store]\nurl = "{url}"\n')


def test_url_with_a_password_in_weekly_toml_is_refused(newsletter: Path, run_weekly) -> None:
    set_store_url(newsletter, "postgresql://weekly:secret@db.example.com/weekly")
    result = run_weekly("unsubscribe", "kim@example.com")
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert "weekly.toml:" in line and "store.url" in line and "PGPASSWORD" in line
    assert "secret" not in line


def test_store_url_from_weekly_toml_and_migrate(
    newsletter: Path, run_weekly, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
    set_store_url(newsletter, pg_url)
    first = run_weekly("store", "migrate")
    assert first.exit_code == 0, first.output
    assert first.output.endswith(f"schema from version 0 to {LATEST}\n")
    assert run_weekly("store", "migrate").output.endswith(f"schema at version {LATEST}\n")
    assert run_weekly("unsubscribe", "kim@example.com").exit_code == 0
    with open_consent_log(newsletter) as log:
        assert [e.kind for e in log.history("kim@example.com")] == ["unsubscribed"]
    assert not (newsletter / ".weekly" / "state.sqlite").exists()


def test_migrate_needs_a_postgres_store(run_weekly, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
    result = run_weekly("store", "migrate")
    assert result.exit_code == 2 and "WEEKLY_STORE_URL" in result.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://ed:s3cret@db.example:5432/weekly",
            "postgresql://ed:***@db.example:5432/weekly",
        ),
        ("postgresql://ed:pa:ss@db/weekly", "postgresql://ed:***@db/weekly"),
        (
            "postgresql://ed:pw@db/weekly?application_name=ed@home",
            "postgresql://ed:***@db/weekly?application_name=ed@home",
        ),
        ("postgresql://ed@db/weekly", "postgresql://ed@db/weekly"),
        ("postgres://db:5432/weekly", "postgres://db:5432/weekly"),
        ("postgresql://ed:pa://ss@db/weekly", "postgresql://ed:***@db/weekly"),
        ("db.example/weekly", "db.example/weekly"),  # a mistyped URL, shown as given
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, expected: str) -> None:
    assert shown(url) == expected


def test_a_password_in_the_environment_s_url_stays_out_of_the_error(
    run_weekly, pg_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = pg_cluster.rsplit("@", 1)[1].rsplit("/", 1)[0]
    monkeypatch.setenv("WEEKLY_STORE_URL", f"postgresql://nobody:s3cret@{place}/weekly")
    result = run_weekly("store", "migrate")
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith(f"Error: store postgresql://nobody:***@{place}/weekly: cannot connect: ")
    assert "s3cret" not in line


def test_unreachable_store_is_one_line(
    run_weekly, pg_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unused = pg_cluster.rsplit("/", 1)[0] + "/no_such_database"
    monkeypatch.setenv("WEEKLY_STORE_URL", unused)
    result = run_weekly("unsubscribe", "kim@example.com")
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith("Error: store postgresql://") and "cannot connect" in line
    assert line.endswith('database "no_such_database" does not exist')  # the server's words


def test_migrate_refuses_a_schema_newer_than_this_weekly(run_weekly, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute("UPDATE weekly_schema SET version = %s", (LATEST + 1,))
    with pytest.raises(WeeklyError) as refused:
        migrate_database(pg_url)
    assert str(refused.value) == (
        f"store {shown(pg_url)}: schema version {LATEST + 1} is newer than this weekly's "
        f"{LATEST}; upgrade weekly"
    )


def test_the_segment_migration_fills_old_rows_from_the_segments_times(pg_url: str) -> None:
    step = next(n for n, sql in enumerate(MIGRATIONS) if "ADD COLUMN segment" in sql)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE weekly_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO weekly_schema VALUES (%s)", (step,))
        for sql in MIGRATIONS[:step]:
            conn.execute(sql.encode())
        conn.execute(
            "INSERT INTO segments (issue, at, expression) VALUES"
            " (324, '2026-01-01T09:00:00+00:00', 'ai'), (324, '2026-01-01T10:00:00+00:00', '')"
        )
        conn.execute(
            "INSERT INTO deliveries (issue, recipient, email, state, created_at, updated_at)"
            " VALUES (324, 'a', 'a', 'sent', '2026-01-01T09:00:00+00:00', 't'),"
            " (324, 'b', 'b', 'sent', '2026-01-01T10:00:05+00:00', 't'),"
            " (325, 'c', 'c', 'sent', '2026-01-01T09:30:00+00:00', 't')"
        )
        assert migrate(conn) == (step, LATEST)
        rows = conn.execute("SELECT recipient, segment FROM deliveries ORDER BY recipient")
        assert rows.fetchall() == [("a", "ai"), ("b", ""), ("c", "")]


def fill(root: Path) -> None:
    """A ledger and a consent log with a bit of everything, through the protocols."""
    ledger = open_ledger(root)
    ledger.set_fingerprint(324, "abc")
    ledger.note_segment(324, "ai and not beta")
    ledger.add(324, [(f"r{n}@example.com", f"R{n}@example.com") for n in range(50)], "ai")
    ledger.mark_sending(324, "r1@example.com", "<1@x>")
    ledger.mark(324, "r1@example.com", "sent", "250 OK")
    ledger.mark_sending(324, "r2@example.com", "<2@x>")
    ledger.mark(324, "r3@example.com", "failed_permanent", "550 no 'such' user\tx", attempt=True)
    ledger.close()
    with open_consent_log(root) as log:
        log.record(
            [
                Event(
                    "2026-01-01T00:00:00+00:00",
                    "Kim@example.com",
                    CONFIRMED,
                    "web",
                    name="김",
                    tags="ai;policy",
                ),
                Event("2026-01-02T00:00:00+00:00", "lee@example.com", BOUNCED, "dsn", ref="d:1"),
            ]
        )
    at = "2026-01-03T00:00:00+00:00"
    with closing(open_hit_log(root)) as hits:
        hits.record([Hit(324, CLICK, 2, HUMAN, "v1", at), Hit(324, OPEN, 0, MACHINE, "", at)])
    with closing(open_hook_log(root)) as hooks:
        hooks.first_use("mailgun:token-1", at, "2026-01-01T00:00:00+00:00")
        hooks.soft_bounce("ses:1", "park@example.com", at, "2026-01-01T00:00:00+00:00")
        hooks.delivered("choi@example.com", at)
    with closing(open_schedules(root)) as schedules:
        schedules.put(Schedule(325, "2099-01-01T00:00:00+00:00", "f", True, updated_at=at))


def dump(side: SqliteSide | PostgresSide) -> dict[str, list[tuple[object, ...]]]:
    return {table: sorted(side.rows(table)) for table in TABLES}


def test_copy_to_postgresql_and_back_loses_nothing(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
    first, back = tmp_path / "first", tmp_path / "back"
    fill(first)
    runner = CliRunner()
    there = runner.invoke(
        main, ["store", "copy", "--from", "sqlite", "--to", pg_url, "--root", first]
    )
    assert there.exit_code == 0, there.output
    assert there.output.startswith(
        "Copied 1 sends, 50 ledger rows, 2 consent events, 2 clicks and opens and 1 schedules"
    )
    again = runner.invoke(
        main, ["store", "copy", "--from", "sqlite", "--to", pg_url, "--root", first]
    )
    assert again.exit_code == 1
    assert again.output == (
        f"Error: {shown(pg_url)} already holds sends, deliveries, events, segments, hits,"
        " hook_requests, soft_bounces, last_delivery, schedules: copy only into an empty store\n"
    )
    home = runner.invoke(
        main, ["store", "copy", "--from", pg_url, "--to", "sqlite", "--root", back]
    )
    assert home.exit_code == 0, home.output
    full = runner.invoke(
        main, ["store", "copy", "--from", pg_url, "--to", "sqlite", "--root", back]
    )
    assert full.exit_code == 1
    assert full.output.startswith(f"Error: {back / '.weekly'} (SQLite) already holds sends, ")
    original, postgres = SqliteSide(first), PostgresSide(pg_url)
    try:
        assert dump(original) == dump(postgres) == dump(SqliteSide(back))
    finally:
        postgres.close()
    monkeypatch.setenv("WEEKLY_STORE_URL", pg_url)
    with open_consent_log(tmp_path) as log:  # the copied log goes on with fresh ids
        log.record([Event("2026-01-03T00:00:00+00:00", "new@example.com", CONFIRMED, "web")])
        assert log.changed_since(2)[1] == {"new@example.com"}


def test_copy_is_refused_while_a_send_is_in_flight_in_either_store(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crew's state (leases, claims, payloads) means something only while a send runs,
    and SQLite has no place for it: a copy waits until no sender is live, in either store."""
    monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
    first, back = tmp_path / "first", tmp_path / "back"
    fill(first)
    runner = CliRunner()
    there = ["store", "copy", "--from", "sqlite", "--to", pg_url, "--root", str(first)]
    (first / ".weekly" / "send-1a.lock").touch()  # no issue's: passed over, not a stop
    with hold_issue(first, 324):  # a SQLite send of issue 324 is running
        refused = runner.invoke(main, there)
    assert refused.exit_code == 1
    (line,) = refused.output.splitlines()
    assert "cannot copy while a send is in flight" in line and "issue 324" in line
    postgres = PostgresSide(pg_url)
    try:
        assert not any(postgres.count(table) for table in TABLES)  # nothing half-done
        assert runner.invoke(main, there).exit_code == 0
        crew = PostgresCrew(Database(pg_url), 324, lease_seconds=60.0)
        crew.join()  # a PostgreSQL sender holds a live lease
        home = ["store", "copy", "--from", pg_url, "--to", "sqlite", "--root", str(back)]
        refused = runner.invoke(main, home)
        assert refused.exit_code == 1
        (line,) = refused.output.splitlines()
        assert "cannot copy while a send is in flight" in line
        assert f"issue 324 is being sent by pid {os.getpid()}" in line
        assert not any(SqliteSide(back).count(table) for table in TABLES)
        crew.leave(0)
        crew.close()
        assert runner.invoke(main, home).exit_code == 0
        assert dump(SqliteSide(first)) == dump(postgres) == dump(SqliteSide(back))
    finally:
        postgres.close()


@pytest.mark.parametrize(
    ("source", "target"), [("sqlite", "sqlite"), ("postgresql://a", "postgresql://b")]
)
def test_copy_goes_between_the_two_kinds_of_store(tmp_path: Path, source: str, target: str) -> None:
    with pytest.raises(WeeklyError) as refused:
        copy_store(tmp_path, source, target)
    assert str(refused.value) == "store copy goes from sqlite to a postgresql:// URL or back"


class Broken(Exception):
    """The source failing part-way through its rows."""


class FailingSource:
    """A store whose ledger rows break off after the first one."""

    name = "failing"

    def rows(self, table: str) -> Iterator[Row]:
        if table == "deliveries":
            yield (324, "r@example.com", "R@example.com", "pending", 0, "", "", "t", "t", "")
            raise Broken
        yield from ()

    def count(self, table: str) -> int:
        return 0


def test_a_copy_into_sqlite_that_breaks_off_leaves_the_files_empty(tmp_path: Path) -> None:
    into = SqliteSide(tmp_path)
    with pytest.raises(Broken):  # the source's own error, not one from the rollback
        into.load(FailingSource())
    assert {table: into.count(table) for table in TABLES} == dict.fromkeys(TABLES, 0)


def test_the_store_url_sends_every_log_to_postgresql_and_none_to_the_folder(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same writes through the store's factories, once with no URL and once with a
    PostgreSQL one, make as many rows of each kind: the second all in the database, no SQLite
    file made (the times of the rows differ)."""
    monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
    files, shared = tmp_path / "files", tmp_path / "shared"
    fill(files)
    monkeypatch.setenv("WEEKLY_STORE_URL", pg_url)
    fill(shared)
    assert not (shared / ".weekly").exists()
    postgres = PostgresSide(pg_url)
    try:
        counts = {table: postgres.count(table) for table in TABLES}
        assert counts == {table: SqliteSide(files).count(table) for table in TABLES}
        assert all(counts.values())
    finally:
        postgres.close()


def test_the_store_s_connections_name_this_process_and_a_lost_one_names_the_store(
    pg_url: str,
) -> None:
    """An operator sees in pg_stat_activity which sender holds each connection; when the
    server ends them (a restart, a failover) the error is one line naming the store."""
    database = Database(pg_url)
    try:
        with database.connection() as conn:
            row = conn.execute(
                "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            ).fetchone()
            assert row == (application_name(),)
            assert f"weekly pid {os.getpid()} on " in application_name()
        with connect(pg_url) as single:  # `weekly store migrate` and `copy`'s own connection
            assert single.execute(
                "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            ).fetchone() == (application_name(),)
            assert single.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with database.connection() as conn:
            conn.execute("CREATE TABLE kept (n INTEGER)")
            conn.execute("INSERT INTO kept VALUES (1)")  # autocommit: no transaction left open
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (application_name(),),
            )
        with pytest.raises(WeeklyError) as lost, database.connection() as conn:
            conn.execute("SELECT 1")
        assert str(lost.value).startswith(f"store {shown(pg_url)}: ")
    finally:
        database.close()


def test_callers_at_once_each_hold_a_store_connection_without_waiting(pg_url: str) -> None:
    """A shared send's lanes, heartbeat, claims and writes hold connections at the same time:
    four callers at once each get their own (the pool grows to sixteen), none waits."""
    database = Database(pg_url)
    together = threading.Barrier(4, timeout=5)  # broken if one waits on the others
    callers = ThreadPoolExecutor(4)

    def hold(_: int) -> int:
        with database.connection() as conn:
            together.wait()
            return conn.info.backend_pid

    try:
        pids = set(callers.map(hold, range(4)))
    finally:
        database.close()  # a caller still waiting for a connection gives up now
        callers.shutdown()
    assert len(pids) == 4


def test_a_database_at_the_first_schema_version_counts_as_the_tool_s(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE weekly_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO weekly_schema VALUES (1)")
        conn.execute(MIGRATIONS[0].encode())
        conn.execute("INSERT INTO sends VALUES (324, 'abc', '2026-01-01T00:00:00+00:00')")
    monkeypatch.setenv("WEEKLY_STORE_URL", pg_url)
    ledger = existing_ledger(tmp_path)  # brought up to date, not taken for someone else's
    assert ledger is not None
    try:
        assert ledger.fingerprint(324) == "abc"
    finally:
        ledger.close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM weekly_schema").fetchone() == (LATEST,)


def test_a_schedule_put_is_stamped_with_the_time_of_the_put(tmp_path: Path, store: str) -> None:
    before = stamp()
    with closing(open_schedules(tmp_path)) as schedules:
        assert schedules.put(Schedule(325, "2099-01-01T00:00:00+00:00", "f", updated_at="old"))
        stored = schedules.get(325)
    assert stored is not None and stored.updated_at >= before and stored.updated_at != "old"
    assert (stored.issue, stored.due, stored.fingerprint) == (325, "2099-01-01T00:00:00+00:00", "f")
