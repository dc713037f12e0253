"""`weekly sink`: a real local SMTP server keeping what it receives in a Maildir."""

from __future__ import annotations

import mailbox
import os
import signal
import smtplib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import Result

from weekly.deliver.sink import serve
from weekly.errors import WeeklyError

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


@pytest.mark.parametrize("where", ["outbox", "new/folders/outbox"])
def test_the_sink_in_this_process_keeps_mail_until_sigterm(tmp_path: Path, where: str) -> None:
    """The sink's server run in the test's own process (the command's subprocess hides it
    from mutation testing): the exact lines, the Maildir's messages, a stop on SIGTERM."""
    outbox = tmp_path / where
    port = free_port()
    listening = threading.Event()
    said: list[str] = []
    kept: list[str] = []
    replies: list[tuple[int, bytes]] = []
    body = "Subject: =?utf-8?b?7JWI64WV?=\r\nTo: a@example.com\r\n\r\nhello\r\n"

    served = threading.Event()  # serve returned: nothing left to stop

    def client() -> None:
        try:
            assert listening.wait(20) and not served.is_set()
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                assert smtp.ehlo()[1].split(b"\n")[0] == b"weekly-sink"
                assert smtp.has_extn("smtputf8")
                assert smtp.has_extn("size") and smtp.esmtp_features["size"] == str(50 << 20)
                smtp.mail("weekly@example.com", ["SMTPUTF8"])
                smtp.rcpt("김@example.com")
                smtp.rcpt("b@example.com")
                replies.append(smtp.data(body.encode()))
                smtp.mail("weekly@example.com")
                smtp.rcpt("c@example.com")
                assert smtp.docmd("DATA")[0] == 354
                smtp.send(b".\r\n")  # an empty message: no header, no body
                assert smtp.getreply()[0] == 250
        finally:
            if not served.is_set():
                os.kill(os.getpid(), signal.SIGTERM)

    def heard(line: str) -> None:
        said.append(line)
        listening.set()

    def unexpected(signum: int, frame: object) -> None:
        raise AssertionError("the sink did not take SIGTERM for itself")

    previous = signal.signal(signal.SIGTERM, unexpected)
    thread = threading.Thread(target=client)
    thread.start()
    try:
        serve(port, outbox, kept.append, heard)
    finally:
        served.set()
        listening.set()  # the client goes on at once, and stops at `served`
        thread.join(20)
        signal.signal(signal.SIGTERM, previous)
    assert said == [f"weekly sink on 127.0.0.1:{port}, keeping messages in {outbox}"]
    assert replies == [(250, b"OK: kept in the outbox")]
    maildir = mailbox.Maildir(outbox, create=False)
    size = len(body.encode())
    assert [line.split("\t") for line in kept] == [
        ["김@example.com", "안녕", f"{size:,} bytes", kept[0].split("\t")[3]],
        ["b@example.com", "안녕", f"{size:,} bytes", kept[1].split("\t")[3]],
        ["c@example.com", "", "0 bytes", kept[2].split("\t")[3]],
    ]
    keys = sorted(maildir.keys())
    assert keys == sorted(line.split("\t")[3] for line in kept)
    assert sorted(maildir.get_bytes(key) for key in keys) == [b"", body.encode(), body.encode()]


@pytest.mark.parametrize("part", ["", "tmp", "new", "cur"])
def test_a_sink_outbox_part_that_is_a_file_is_refused(tmp_path: Path, part: str) -> None:
    outbox = tmp_path / "outbox"
    (outbox / part).parent.mkdir(parents=True, exist_ok=True)
    (outbox / part).write_text("not a folder", encoding="utf-8")

    def listening(line: str) -> None:
        raise AssertionError(f"the sink started: {line}")

    with pytest.raises(WeeklyError) as raised:
        serve(free_port(), outbox, print, listening)
    assert str(raised.value) == f"{outbox / part}: not a folder, so the outbox cannot keep messages"
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted({"outbox", part} - {""})
