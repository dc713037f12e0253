"""The welcome mail: a confirmed sign-up gets exactly one, from the real `weekly serve`
(uvicorn in its own process) to a real aiosmtpd relay, on both stores, across a restart and
a second click; a deferred one is sent by the next serve, still once."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result

from weekly.addresses import list_id_of
from weekly.audience.tokens import SignUp, confirm_token, make_token
from weekly.errors import TemplateError
from weekly.store import open_consent_log
from weekly.web.serve import create_app
from weekly.web.welcome import WELCOME_ISSUE

from .serve_process import serve_process
from .smtp import SECRET, SUBJECT, Recorder, configure, make_build, smtp_server, write_list
from .storerows import deliveries

pytestmark = pytest.mark.usefixtures("store")

SENDER = "AI 주간 동향 <weekly@news.example.com>"
SITE = "https://news.example.com/weekly"
Run = Callable[..., Result]


class Busy(Recorder):
    """Defers every recipient with a 451."""

    async def handle_RCPT(self, *args: Any) -> str:
        return "451 4.3.0 try again later"


def welcoming(root: Path, port: int, more: str = "") -> None:
    """weekly.toml with the relay at `port`, welcomes on, and `more` settings."""
    configure(root, port)
    toml = root / "weekly.toml"
    if "[welcome]" not in toml.read_text(encoding="utf-8"):
        with toml.open("a", encoding="utf-8") as handle:
            handle.write(f"\n[welcome]\nenabled = true\n{more}")


def confirm_path(address: str, tags: str = "") -> str:
    token = confirm_token(SECRET.encode(), SignUp(address, "새 독자", int(time.time()), tags))
    return f"/confirm/{token}"


def received(recorder: Recorder, address: str) -> list[EmailMessage]:
    with recorder.lock:
        return [
            email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
            for rcpt, data in recorder.messages
            if rcpt == address
        ]


def welcome_rows(root: Path) -> list[tuple[str, str, int]]:
    return [(r.recipient, r.state, r.attempts) for r in deliveries(root) if r.issue == 0]


@pytest.fixture
def letter(newsletter: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    make_build(newsletter, 324)
    write_list(newsletter, [], header="email,name,status,tags")
    return newsletter


def test_one_welcome_across_a_second_click_and_a_restart(letter: Path, run_weekly: Run) -> None:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        welcoming(letter, port, '\n[serve]\nsignup_tags = "ai;policy"\n')
        with serve_process(letter) as (url, _), httpx.Client(base_url=url) as client:
            form = client.get("/subscribe").text
            assert 'value="ai"' in form and 'value="policy"' in form
            asked = client.post(
                "/subscribe",
                data={"email": "new@example.com", "name": "새 독자", "tags": ["ai", "evil"]},
            )
            assert asked.status_code == 200
            assert recorder.wait(1)
            (confirmation,) = received(recorder, "new@example.com")
            body = confirmation.get_content()
            link = body[body.index(f"{SITE}/confirm/") :].split()[0].removeprefix(SITE)
            assert client.get(link).status_code == 200
            assert recorder.wait(2)
            assert client.get(link).status_code == 200  # a second click
        # serve stopped in order: its background work is done
        with serve_process(letter) as (url, _), httpx.Client(base_url=url) as client:
            assert client.get(link).status_code == 200  # a click after the restart
    mails = received(recorder, "new@example.com")
    assert len(mails) == 2  # the confirmation and one welcome
    welcome = mails[1]
    assert welcome["Subject"] == "AI 주간 동향에 오신 것을 환영합니다"
    token = make_token(SECRET.encode(), list_id_of(SENDER), "new@example.com")
    assert f"<{SITE}/unsubscribe/{token}>" in welcome["List-Unsubscribe"]
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = welcome.get_content()
    assert "새 독자 님, 안녕하세요." in text
    assert f"{SITE}/324/" in text  # the latest issue's archive page
    assert welcome_rows(letter) == [("new@example.com", "sent", 1)]
    with open_consent_log(letter) as log:
        assert log.standings()["new@example.com"].tags == "ai"  # "evil" is not on offer
    dry = run_weekly("send", "324", "--segment", "ai", "--dry-run")
    assert "Matches:  1 of 1 readers" in dry.output, dry.output


def test_a_deferred_welcome_goes_out_once_from_the_next_serve(letter: Path) -> None:
    busy = Busy()
    with smtp_server(busy) as port:
        welcoming(letter, port)
        with serve_process(letter) as (url, log), httpx.Client(base_url=url) as client:
            assert client.get(confirm_path("late@example.com")).status_code == 200
            assert log.wait("welcome mail to late@example.com deferred: 451")
    assert welcome_rows(letter) == [("late@example.com", "retrying", 1)]
    recorder = Recorder()
    with smtp_server(recorder) as port:
        welcoming(letter, port)
        with serve_process(letter) as (url, _):
            assert recorder.wait(1)  # the retry when serve starts
        with serve_process(letter) as (url, _), httpx.Client(base_url=url) as client:
            assert client.get(confirm_path("late@example.com")).status_code == 200
    assert len(received(recorder, "late@example.com")) == 1
    assert welcome_rows(letter) == [("late@example.com", "sent", 2)]


def test_the_newsletters_own_welcome_and_no_welcome_when_off(letter: Path) -> None:
    (letter / "templates" / "welcome.md").write_text(
        "---\nsubject: Hello from {{ newsletter.name }}\n---\n"
        "Read {{ latest.title }} at {{ latest.url }}\n",
        encoding="utf-8",
    )
    recorder = Recorder()
    with smtp_server(recorder) as port:
        welcoming(letter, port)
        with serve_process(letter) as (url, _), httpx.Client(base_url=url) as client:
            assert client.get(confirm_path("own@example.com")).status_code == 200
            assert recorder.wait(1)
        configure(letter, port)
        text = (letter / "weekly.toml").read_text(encoding="utf-8")
        (letter / "weekly.toml").write_text(text.replace("enabled = true", "enabled = false"))
        with serve_process(letter) as (url, _), httpx.Client(base_url=url) as client:
            assert client.get(confirm_path("off@example.com")).status_code == 200
    (mail,) = received(recorder, "own@example.com")
    assert mail["Subject"] == "Hello from AI 주간 동향"
    assert mail.get_content() == f"Read {SUBJECT} at {SITE}/324/\n"
    assert received(recorder, "off@example.com") == []
    assert WELCOME_ISSUE == 0 and [r[0] for r in welcome_rows(letter)] == ["own@example.com"]


def test_a_welcome_template_without_a_subject_stops_serve_at_start(letter: Path) -> None:
    own = letter / "templates" / "welcome.md"
    own.write_text("---\ntitle: no subject\n---\nHi\n", encoding="utf-8")
    with smtp_server(Recorder()) as port:
        welcoming(letter, port)
        with pytest.raises(TemplateError) as caught:
            create_app(letter)
    assert caught.value.message == (f"{own}:2: subject: the front matter needs a one-line subject")
