"""The `weekly send` process under signals: SIGKILL at many moments then a resume, SIGTERM
and SIGHUP drains, a 4xx that lands after Ctrl-C, a second Ctrl-C, and two sends at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .faultsmtp import FaultServer
from .pgcluster import fresh_database
from .smtp import SECRET, configure, make_build, subscribers, write_list
from .storerows import recipients_in, state_counts
from .test_crash import start_send

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

READERS = 2000
# (event, count) at which the server SIGKILLs the sender: each a different moment.
MOMENTS = [
    ("end", 120),
    ("rcpt", 150),
    ("data", 90),
    ("mail", 200),
    ("end", 61),
    ("rcpt", 33),
    ("data", 171),
    ("end", 140),
    ("mail", 77),
    ("end", 101),
    ("rcpt", 119),
]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault = FaultServer()
    with fault.running():
        yield fault


def at_event(server: FaultServer, kind: str, count: int) -> threading.Event:
    """An event set once the server has seen `count` more `kind` events from now."""
    reached = threading.Event()
    with server.lock:
        server.events.clear()

    def watch(seen: str, number: int) -> None:
        if seen == kind and number >= count:
            reached.set()

    server.on_event = watch
    return reached


def test_sigkill_at_eleven_moments_then_a_resume_sends_everyone_once(
    newsletter: Path, server: FaultServer, store: str
) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(READERS))
    # At full speed this machine's client is CPU-bound and replies wait for it; at a pace
    # it keeps up with, only messages truly between end of data and reply are uncertain.
    configure(newsletter, server.port, concurrency=8, rate=1000)
    for kind, count in MOMENTS:
        process = start_send(newsletter)
        with server.lock:
            server.events.clear()

        def kill(
            seen: str, number: int, kind: str = kind, count: int = count, pid: int = process.pid
        ) -> None:
            if seen == kind and number == count:
                os.kill(pid, signal.SIGKILL)

        server.on_event = kill
        output, _ = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, output
    server.on_event = None
    uncertain = recipients_in(newsletter, "sending")
    final = start_send(newsletter)
    output, _ = final.communicate(timeout=60)
    assert final.returncode == 0, output
    assert f"uncertain {len(uncertain)}," in output
    assert state_counts(newsletter) == {"sent": READERS - len(uncertain), "sending": len(uncertain)}
    # Nobody twice, nobody missed: the resume delivered everyone not uncertain, and each
    # uncertain row's end of data reached the server at most once. With SQLite the commit
    # of `sending` and the end of data are microseconds apart, so a kill lands between them
    # practically never; a PostgreSQL commit is a round trip, so there it sometimes does.
    everyone = {f"user{i}@example.com" for i in range(READERS)}
    assert all(server.stored[address] == 1 for address in everyone - uncertain)
    assert all(server.stored[address] <= 1 for address in uncertain)
    if not store:
        assert all(server.ends[address] == 1 for address in uncertain)
    # A kill leaves at most one row per connection between its end of data and its recorded
    # outcome. SQLite records the outcome within microseconds of the reply, so there a kill
    # rarely catches more than 3; PostgreSQL's group commit keeps a row a commit longer.
    per_kill = 8 if store else 3
    assert len(uncertain) <= per_kill * len(MOMENTS), len(uncertain)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_drain_like_ctrl_c(
    newsletter: Path, server: FaultServer, number: signal.Signals
) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(400))
    configure(newsletter, server.port, concurrency=8, rate=200)
    twenty = at_event(server, "end", 20)
    process = start_send(newsletter)
    assert twenty.wait(30)
    process.send_signal(number)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 128 + number, output
    assert "Stopping: finishing messages in flight" in output
    left = state_counts(newsletter)
    assert left["sending"] == 0 and left["sent"] == sum(server.stored.values()) < 400
    assert f"Interrupted: {left['pending']} left pending" in output
    rest = start_send(newsletter)
    output, _ = rest.communicate(timeout=60)
    assert rest.returncode == 0 and "uncertain 0," in output
    assert server.stored == {f"user{i}@example.com": 1 for i in range(400)}


def wait_for_line(process: subprocess.Popen[str], text: str) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if text in line:
            return
    raise AssertionError(f"{text!r} never came")


def test_a_4xx_arriving_after_ctrl_c_leaves_the_row_pending(
    newsletter: Path, server: FaultServer
) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(1))
    server.plan["user0@example.com"] = ("held_452", 1)
    configure(newsletter, server.port)
    ended = at_event(server, "end", 1)
    process = start_send(newsletter)
    assert ended.wait(30)
    process.send_signal(signal.SIGINT)
    wait_for_line(process, "Stopping: finishing messages in flight")
    server.release.set()
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "Interrupted: 1 left pending" in output
    assert state_counts(newsletter) == {"pending": 1} and not server.stored
    again = start_send(newsletter)
    output, _ = again.communicate(timeout=30)
    assert again.returncode == 0 and server.stored == {"user0@example.com": 1}


def test_a_second_ctrl_c_exits_at_once_leaving_the_row_uncertain(
    newsletter: Path, server: FaultServer
) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(1))
    server.plan["user0@example.com"] = ("late", 1)  # stored; no reply while we wait
    configure(newsletter, server.port, timeout=60)
    ended = at_event(server, "end", 1)
    process = start_send(newsletter)
    assert ended.wait(30)
    process.send_signal(signal.SIGINT)
    wait_for_line(process, "Stopping: finishing messages in flight")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=10)  # far less than the 60 s reply timeout
    assert process.returncode == 130 and "Interrupted again: exiting now." in output
    assert state_counts(newsletter) == {"sending": 1} and server.stored == {"user0@example.com": 1}


def hold_until_one_exits(server: FaultServer, pair: list[subprocess.Popen[str]]) -> None:
    """The relay answers no MAIL until one of `pair` has exited: the sender holding the issue
    cannot finish before the other, however late a loaded machine starts it, has been refused."""
    one_exited = threading.Event()

    def watch(process: subprocess.Popen[str]) -> None:
        process.wait()
        one_exited.set()

    for process in pair:
        threading.Thread(target=watch, args=(process,), daemon=True).start()

    def hold(kind: str, count: int) -> None:
        if kind == "mail":
            one_exited.wait(60)

    server.on_event = hold


def test_two_sends_started_together_on_a_fresh_folder(
    newsletter: Path,
    server: FaultServer,
    tmp_path: Path,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(40))
    configure(newsletter, server.port, rate=40, timeout=60)
    for round in range(3):
        root = tmp_path / f"round{round}"
        shutil.copytree(newsletter, root)
        if store:  # a fresh folder's store: a new database beside the test's own
            name = store.rsplit("/", 1)[1]
            monkeypatch.setenv("WEEKLY_STORE_URL", fresh_database(store, f"{name}_{round}"))
        pair = [start_send(root), start_send(root)]
        if not store:
            hold_until_one_exits(server, pair)
        outputs = [p.communicate(timeout=60)[0] for p in pair]
        server.on_event = None
        codes = sorted(p.returncode for p in pair)
        assert not any("Traceback" in o for o in outputs), outputs
        if store:  # a shared store: the second sender joins the first and takes a share
            assert codes == [0, 0], outputs
        else:
            assert codes == [0, 1], outputs
            (refused,) = [o for p, o in zip(pair, outputs, strict=True) if p.returncode == 1]
            assert refused.startswith("Error: issue 324 is already being sent by "), refused
        assert state_counts(root) == {"sent": 40}
    assert server.stored == {f"user{i}@example.com": 3 for i in range(40)}


@pytest.mark.parametrize("twice", [False, True])
def test_signals_still_stop_a_send_whose_terminal_is_gone(
    newsletter: Path, server: FaultServer, twice: bool
) -> None:
    """`weekly send … 2>&1 | tee log` and Ctrl-C: tee dies first, so every notice fails to
    write; the send must stop all the same (drain, or exit at once on a second signal)."""
    make_build(newsletter)
    write_list(newsletter, subscribers(400))
    configure(newsletter, server.port, concurrency=8, rate=100)
    env = {**os.environ, "WEEKLY_SECRET": SECRET}
    command = [sys.executable, "-m", "weekly", "send", "324", "--yes", "--root", str(newsletter)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert at_event(server, "end", 20).wait(30)
    assert process.stderr is not None
    process.stderr.close()  # the reader is gone: the next notice meets a broken pipe
    process.send_signal(signal.SIGTERM)
    if twice:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    left, stored = state_counts(newsletter), sum(server.stored.values())
    assert left["sent"] <= stored <= left["sent"] + left["sending"] and stored < 400
