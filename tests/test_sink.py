"""`weekly sink`: a real local SMTP server keeping what it receives in a Maildir."""

from __future__ import annotations

import mailbox
import signal
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import Result

from .smtp import configure, free_port, write_list


@contextmanager
def running_sink(outbox: Path, printed: list[str]) -> Iterator[int]:
    """A `weekly sink` process keeping mail in `outbox`, its port once it says it listens;
    its stdout lines land in `printed` after it stopped on SIGTERM with status 0."""
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "weekly", "sink", "--port", str(port), "--outbox", str(outbox)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stderr is not None
        assert "weekly sink on 127.0.0.1" in sink.stderr.readline()
        yield port
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=10)
        printed.extend(out.splitlines())
    assert sink.returncode == 0


def test_sink_keeps_each_message_and_prints_a_line(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    lines: list[str] = []
    with running_sink(outbox, lines) as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "weekly@example.com",
            ["a@example.com", "b@example.com"],
            "Subject: =?utf-8?b?7JWI64WV?=\r\n\r\nhello\r\n",
        )
    assert [line.split("\t")[:2] for line in lines] == [
        ["a@example.com", "안녕"],
        ["b@example.com", "안녕"],
    ]
    assert len(mailbox.Maildir(outbox, create=False)) == 2


def test_a_send_to_the_sink_reaches_a_korean_local_part(
    ready: Path, run_weekly: Callable[..., Result], store: str
) -> None:
    """The README's local path: the sink offers SMTPUTF8, and the plan warns that a real
    relay must offer it too."""
    write_list(ready, ["김@example.com,김민지,subscribed,"])
    outbox = ready / "outbox"
    lines: list[str] = []
    with running_sink(outbox, lines) as port:
        configure(ready, port)
        dry = run_weekly("send", "324", "--dry-run")
        assert "1 addresses have a non-ASCII part before @" in dry.stderr
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in lines] == ["김@example.com"]
    assert len(mailbox.Maildir(outbox, create=False)) == 1
