"""Internationalised addresses on the wire: IDNA domains everywhere, SMTPUTF8 only where a
local part needs it, against real aiosmtpd relays on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from weekly.deliver.message import sender_mailbox

from .smtp import Recorder, configure, smtp_server, write_list
from .test_serve import LogWait, clock, serve_log, service, settings, wait_for  # noqa: F401

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

Run = Callable[..., Result]
IDN_FROM = "뉴스 <weekly@뉴스.한국>"
IDN_ASCII = "weekly@xn--vg1b002a.xn--3e0b707e"


class EnvelopeRecorder(Recorder):
    """Also keeps each transaction's MAIL FROM and its ESMTP options."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.mail_options)))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def inbox(request: pytest.FixtureRequest) -> Iterator[tuple[Recorder, int]]:
    """The relay `weekly serve` mails; it offers SMTPUTF8 unless parametrised with False."""
    recorder = Recorder()
    with smtp_server(recorder, enable_SMTPUTF8=getattr(request, "param", True)) as port:
        yield recorder, port


def _set_sender(root: Path, sender: str) -> None:
    path = root / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    old = 'from = "AI 주간 동향 <weekly@news.example.com>"'
    assert old in text
    path.write_text(text.replace(old, f'from = "{sender}"'), encoding="utf-8")


def test_sender_mailbox_is_idna() -> None:
    assert sender_mailbox(IDN_FROM) == ("뉴스", IDN_ASCII)


def test_idn_sender_and_recipients_go_out_in_ascii(ready: Path, run_weekly: Run) -> None:
    _set_sender(ready, IDN_FROM)
    write_list(ready, ["jose@bücher.de,José,subscribed,", "kim@도메인.한국,김,subscribed,"])
    recorder = EnvelopeRecorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(recorder.accepted()) == [
        "jose@xn--bcher-kva.de",
        "kim@xn--hq1bm8jm9l.xn--3e0b707e",
    ]
    assert {mail_from for mail_from, _ in recorder.envelopes} == {IDN_ASCII}
    assert all("SMTPUTF8" not in options for _, options in recorder.envelopes)
    for message in recorder.parsed().values():
        assert message["From"].addresses[0].addr_spec == IDN_ASCII
        assert message["From"].addresses[0].display_name == "뉴스"
        assert message["Message-ID"].endswith("@xn--vg1b002a.xn--3e0b707e>")


@pytest.mark.parametrize("offered", [True, False])
def test_non_ascii_local_part_needs_smtputf8(ready: Path, run_weekly: Run, offered: bool) -> None:
    write_list(ready, ["김민지@example.com,김민지,subscribed,", "lee@example.com,Lee,subscribed,"])
    recorder = EnvelopeRecorder()
    with smtp_server(recorder, enable_SMTPUTF8=offered) as port:
        configure(ready, port)
        result = run_weekly("send", "324", "--yes")
    if offered:
        assert result.exit_code == 0, result.output
        assert sorted(recorder.accepted()) == ["lee@example.com", "김민지@example.com"]
        assert sorted("SMTPUTF8" in options for _, options in recorder.envelopes) == [False, True]
        raw = dict(recorder.messages)["김민지@example.com"]
        assert "<김민지@example.com>\r\n".encode() in raw
    else:
        assert result.exit_code == 1
        assert "Sent 1, failed 1 (0 mailbox, 1 message" in result.output  # this issue only
        assert sorted(recorder.accepted()) == ["lee@example.com"]
        status = run_weekly("status", "324", "--failed")
        assert "553 5.6.7 김민지@example.com needs SMTPUTF8" in status.output


@pytest.mark.parametrize(
    ("address", "wire"),
    [
        ("kim@도메인.한국", "kim@xn--hq1bm8jm9l.xn--3e0b707e"),
        ("jose@bücher.de", "jose@xn--bcher-kva.de"),
        ("김@example.com", "김@example.com"),
    ],
)
def test_idn_sign_up_gets_its_confirmation(
    inbox: tuple[Recorder, int],
    service,  # noqa: F811
    serve_log: LogWait,  # noqa: F811
    address: str,
    wire: str,
) -> None:
    handler, _ = inbox
    assert service().post("/subscribe", data={"email": address}).status_code == 200
    ((recipient, _),) = wait_for(handler, 1)
    assert recipient == wire
    assert f"\r\nTo: {wire}\r\n".encode() in handler.messages[0][1]


@pytest.mark.parametrize("inbox", [False], indirect=True)
def test_sign_up_without_smtputf8_is_logged_in_one_line(
    inbox: tuple[Recorder, int],
    service,  # noqa: F811
    serve_log: LogWait,  # noqa: F811
) -> None:
    assert service().post("/subscribe", data={"email": "김@example.com"}).status_code == 200
    (record,) = serve_log.wait(1)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "needs SMTPUTF8, which the relay does not offer" in record.getMessage()
    assert inbox[0].messages == []
