"""A send killed with SIGKILL at several points and resumed reaches everyone exactly once,
except the rows it reports as uncertain, which the server got at most once."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from weekly.cli import main
from weekly.deliver.dispatcher import QUEUE_SIZE

from .smtp import SECRET, Recorder, configure, make_build, smtp_server, subscribers, write_list
from .storerows import deliveries, state_counts


class Killer(Recorder):
    """Kills the sending process on the n-th MAIL, RCPT or DATA of a run."""

    def __init__(self, *, pipelining: bool) -> None:
        super().__init__(pipelining=pipelining)
        self.pid = 0
        self.stage = ""
        self.at = 0
        self.counts: Counter[str] = Counter()
        self.fired = threading.Event()

    def arm(self, pid: int, stage: str, at: int) -> None:
        self.pid, self.stage, self.at = pid, stage, at
        self.counts.clear()
        self.fired.clear()

    def _maybe_kill(self, stage: str) -> None:
        with self.lock:
            self.counts[stage] += 1
            hit = stage == self.stage and self.counts[stage] == self.at
        if hit:  # set first: the send's death must never be seen before `fired`
            self.fired.set()
            os.kill(self.pid, signal.SIGKILL)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self._maybe_kill("mail")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self._maybe_kill("rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        self._maybe_kill("data")  # stored, but the client never sees the 250
        return reply


# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")


def start_send(root: Path) -> subprocess.Popen[str]:
    """`weekly send 324 --yes` in its own process, output and errors together."""
    env = {**os.environ, "WEEKLY_SECRET": SECRET}
    command = [sys.executable, "-m", "weekly", "send", "324", "--yes", "--root", str(root)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def send(root: Path, killer: Killer | None = None, stage: str = "", at: int = 0) -> str:
    process = start_send(root)
    if killer is not None:
        killer.arm(process.pid, stage, at)
    output, _ = process.communicate(timeout=60)
    if killer is not None:
        assert killer.fired.is_set(), output
        assert process.returncode == -signal.SIGKILL
    return output


@pytest.mark.parametrize("pipelining", [False, True])
def test_killed_sends_resume_without_repeats_or_gaps(newsletter: Path, pipelining: bool) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(40))
    killer = Killer(pipelining=pipelining)
    with smtp_server(killer) as port:
        configure(newsletter, port, concurrency=3)
        for stage, at in (("rcpt", 4), ("data", 6), ("mail", 9), ("data", 2)):
            send(newsletter, killer, stage, at)
        killer.arm(0, "", 0)
        final = send(newsletter)
    delivered = killer.accepted()
    states = {r.recipient: r.state for r in deliveries(newsletter)}
    assert set(states) == {f"user{i}@example.com" for i in range(40)}
    uncertain = {r for r, state in states.items() if state == "sending"}
    assert set(states.values()) <= {"sent", "sending"}
    assert uncertain, "a kill after DATA must leave the row uncertain"
    for recipient, state in states.items():
        if state == "sent":
            assert delivered[recipient] == 1, recipient
        else:
            assert delivered[recipient] <= 1, recipient
    assert f"uncertain {len(uncertain)}," in final
    listed = CliRunner().invoke(main, ["status", "324", "--failed", "--root", str(newsletter)])
    rows = list(csv.DictReader(io.StringIO(listed.output)))
    assert {r["email"] for r in rows} == uncertain and {r["state"] for r in rows} == {"sending"}


def interrupt_once_one_arrived(root: Path, recorder: Recorder, port: int, readers: int) -> str:
    """A send to `readers` at a slow pace, stopped with Ctrl-C once a message arrived."""
    make_build(root)
    write_list(root, subscribers(readers))
    configure(root, port, rate=25, concurrency=2)
    process = start_send(root)
    assert recorder.wait(5)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "Stopping: finishing messages in flight" in output
    return output


def test_ctrl_c_finishes_what_is_in_flight_and_leaves_the_rest_pending(newsletter: Path) -> None:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        output = interrupt_once_one_arrived(newsletter, recorder, port, 60)
        states = state_counts(newsletter)
        assert states["sending"] == 0
        assert states["sent"] == len(recorder.messages) < 60
        assert f"Interrupted: {states['pending']} left pending" in output
        rest = send(newsletter)
    assert "uncertain 0," in rest
    assert sorted(recorder.accepted().values()) == [1] * 60


def test_ctrl_c_while_the_queue_is_full_stops_too(newsletter: Path) -> None:
    """More readers than the dispatcher's queue holds: the stop catches the producer waiting
    for room, and the reader it held is left pending with the rest."""
    recorder = Recorder()
    with smtp_server(recorder) as port:
        output = interrupt_once_one_arrived(newsletter, recorder, port, QUEUE_SIZE + 200)
    assert re.search(r"^Interrupted: [\d,]+ left pending", output, re.M), output
    states = state_counts(newsletter)
    assert states["sent"] == len(recorder.messages) and states["sending"] == 0


class Busy(Recorder):
    """Answers every RCPT with a 451 and counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = 0

    async def handle_RCPT(self, *args: Any) -> str:
        with self.arrived:
            self.refusals += 1
            self.arrived.notify_all()
        return "451 4.3.0 busy"

    def refused(self, count: int) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: self.refusals >= count, 20)


def test_ctrl_c_does_not_wait_out_retry_backoffs(newsletter: Path) -> None:
    make_build(newsletter)
    write_list(newsletter, subscribers(5))
    busy = Busy()
    with smtp_server(busy) as port:
        # An hour's backoff: a Ctrl-C that waited it out would run into the timeout below.
        configure(newsletter, port, retry_delay=3600)
        process = start_send(newsletter)
        assert busy.refused(5)  # every recipient has had its 451
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Interrupted: 5 left pending" in output
    assert state_counts(newsletter) == {"pending": 5}
