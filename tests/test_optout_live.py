"""Opt-outs recorded while a send runs stop its later messages: a one-click POST to a
running `weekly serve` (real uvicorn, over httpx) and `weekly unsubscribe` in another process."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from weekly.addresses import list_id_of
from weekly.audience.tokens import make_token

from .faultsmtp import FaultServer
from .serve_process import serve_process
from .smtp import SECRET, configure, make_build, subscribers, write_list
from .storerows import recipients_in
from .test_crash import start_send
from .test_serve import ONE_CLICK, SENDER

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

READERS = 120
TARGET = "user100@example.com"  # about 3 s after the relay lets the send go on


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault = FaultServer()
    with fault.running():
        yield fault


@pytest.fixture
def serve(newsletter: Path) -> Iterator[str]:
    """`weekly serve` in its own process; yields its base URL once it listens."""
    with serve_process(newsletter) as (url, _):
        yield url


@contextmanager
def held_send(root: Path, server: FaultServer) -> Iterator[subprocess.Popen[str]]:
    """A send of READERS messages at 30/s whose relay stops at the tenth end of data until
    the block ends: an opt-out recorded in the block is in the log seconds before TARGET's
    turn, however long a loaded machine takes to start the process that records it."""
    make_build(root)
    write_list(root, subscribers(READERS))
    configure(root, server.port, concurrency=2, rate=30, timeout=60)
    held, go = threading.Event(), threading.Event()

    def hold(kind: str, count: int) -> None:
        if kind == "end" and count == 10:
            held.set()
            go.wait(60)  # in the server's thread: no reply to anyone until the test lets go

    server.on_event = hold
    process = start_send(root)
    try:
        assert held.wait(30)
        yield process
    finally:
        go.set()


def finish(process: subprocess.Popen[str], root: Path, server: FaultServer) -> None:
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "opted out during the send 1 " in output
    assert server.stored[TARGET] == 0 and sum(server.stored.values()) == READERS - 1
    assert recipients_in(root, "opted_out") == {TARGET}


def test_a_one_click_unsubscribe_through_serve_stops_a_running_send(
    newsletter: Path, server: FaultServer, serve: str
) -> None:
    token = make_token(SECRET.encode(), list_id_of(SENDER), TARGET)
    with held_send(newsletter, server) as process:
        response = httpx.post(f"{serve}/unsubscribe/{token}", data=ONE_CLICK)
        assert response.status_code == 200, response.text
    finish(process, newsletter, server)


def test_weekly_unsubscribe_in_another_process_stops_a_running_send(
    newsletter: Path, server: FaultServer
) -> None:
    command = [sys.executable, "-m", "weekly", "unsubscribe", TARGET, "--root", str(newsletter)]
    with held_send(newsletter, server) as process:
        subprocess.run(command, check=True, capture_output=True)
    finish(process, newsletter, server)
