"""`weekly sink`: a real local SMTP server keeping what it receives in a Maildir."""

from __future__ import annotations

import mailbox
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

from .smtp import free_port


def test_sink_keeps_each_message_and_prints_a_line(tmp_path: Path) -> None:
    port = free_port()
    outbox = tmp_path / "outbox"
    sink = subprocess.Popen(
        [sys.executable, "-m", "weekly", "sink", "--port", str(port), "--outbox", str(outbox)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stderr is not None
        assert "weekly sink on 127.0.0.1" in sink.stderr.readline()
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail(
                "weekly@example.com",
                ["a@example.com", "b@example.com"],
                "Subject: =?utf-8?b?7JWI64WV?=\r\n\r\nhello\r\n",
            )
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=10)
    assert sink.returncode == 0
    lines = out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["a@example.com", "안녕"],
        ["b@example.com", "안녕"],
    ]
    assert len(mailbox.Maildir(outbox, create=False)) == 2
