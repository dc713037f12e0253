"""`weekly serve` over HTTP: httpx against uvicorn on 127.0.0.1, a real aiosmtpd relay for
the confirmation mail, and the real subscription log."""

from __future__ import annotations

import copy
import email
import email.policy
import logging
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import dkim
import httpx
import pytest
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG

from weekly.addresses import list_id_of
from weekly.audience.tokens import SignUp, confirm_token, make_token, read_confirm_token
from weekly.clock import stamp
from weekly.config import load_config
from weekly.deliver.schedule_runner import SCHEDULE_LOG
from weekly.errors import WeeklyError
from weekly.listen import listening_socket
from weekly.render.jinja import environment
from weekly.store import open_consent_log
from weekly.store.consent import CONFIRMED, UNSUBSCRIBED, Event
from weekly.web.confirm_mail import confirmation_mail
from weekly.web.serve import (
    HEADERS,
    HOUR,
    MAILS_PER_ADDRESS,
    NAME_LIMIT,
    RateLimiter,
    serve,
    server_config,
)

from .serve_process import serve_process
from .serving import Clock, Serving
from .smtp import Recorder, configure, free_port, make_build, smtp_server, write_list

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

SECRET = "a-test-secret-that-is-long-enough"
SENDER = "AI 주간 동향 <weekly@news.example.com>"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def inbox(request: pytest.FixtureRequest) -> Iterator[tuple[Recorder, int]]:
    """A real SMTP relay on 127.0.0.1 that keeps what it is given (or, parametrized
    indirectly, one of another Recorder class)."""
    recorder = getattr(request, "param", Recorder)()
    with smtp_server(recorder) as port:
        yield recorder, port


def wait_for(recorder: Recorder, count: int) -> list[tuple[str, Message]]:
    """The first `count` messages the relay got (the mail goes out after the answer). A mail
    that failed (serve logs why, where `serve_log` listens) ends the wait at once, one that
    never came, 5 s on."""
    logs = [h for h in logging.getLogger("weekly.web.serve").handlers if isinstance(h, LogWait)]
    deadline = time.monotonic() + 5
    while not recorder.wait(count, timeout=0.05):
        failed = [
            r.getMessage() for log in logs for r in log.records if r.levelno >= logging.WARNING
        ]
        assert not failed, failed[0]
        assert time.monotonic() < deadline, f"the relay got {len(recorder.messages)} of {count}"
    return [(rcpt, email.message_from_bytes(data)) for rcpt, data in recorder.messages]


@pytest.fixture
def settings(newsletter: Path, inbox, monkeypatch) -> Callable[[str], None]:
    """Point [delivery] at the test relay; append more TOML with the returned function."""
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    toml = newsletter / "weekly.toml"
    text = toml.read_text(encoding="utf-8").replace("port = 1025", f"port = {inbox[1]}")
    toml.write_text(text, encoding="utf-8")

    def add(more: str) -> None:
        with toml.open("a", encoding="utf-8") as handle:
            handle.write(more)

    return add


class LogWait(logging.Handler):
    """Keeps what `weekly.web.serve` logs, so a test can wait for a line of it."""

    def __init__(self, seconds: float = 20.0) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.arrived = threading.Condition()
        self.seconds = seconds  # how long `wait` waits at most

    def emit(self, record: logging.LogRecord) -> None:
        with self.arrived:
            self.records.append(record)
            self.arrived.notify_all()

    def wait(self, count: int) -> list[logging.LogRecord]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.records) >= count, self.seconds)
            return list(self.records)


@pytest.fixture(autouse=True)
def serve_log() -> Iterator[LogWait]:
    """What serve logs in each test: `wait_for` stops waiting for a mail once one failed."""
    handler = LogWait(seconds=5)  # serve logs a sign-up's lines at once
    logger = logging.getLogger("weekly.web.serve")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(newsletter: Path, settings, clock: Clock) -> Iterator[Serving]:
    serving = Serving(newsletter, clock)
    yield serving
    serving.stop()


def history(root: Path, address: str) -> list[tuple[str, str]]:
    with open_consent_log(root) as store:
        return [(e.kind, e.source) for e in store.history(address)]


def token_for(address: str) -> str:
    return make_token(SECRET.encode(), list_id_of(SENDER), address)


def test_one_click_post_unsubscribes_without_redirect(newsletter: Path, service) -> None:
    client = service()
    response = client.post(f"/unsubscribe/{token_for('kim@example.com')}", data=ONE_CLICK)
    assert response.status_code == 200
    assert "location" not in response.headers and "set-cookie" not in response.headers
    assert "수신 거부되었습니다" in response.text
    assert history(newsletter, "kim@example.com") == [(UNSUBSCRIBED, "one-click")]
    with open_consent_log(newsletter) as store:
        assert store.standings()["kim@example.com"].suppresses("2025-01-01")
        (event,) = store.history("kim@example.com")
    assert event.ip == "127.0.0.1"  # who asked is kept with the opt-out


def test_one_click_from_a_sent_message_and_the_next_send_skips_it(
    newsletter: Path, service, run_weekly
) -> None:
    make_build(newsletter)
    make_build(newsletter, 325)
    write_list(newsletter, ["kim@example.com,김,subscribed,", "lee@example.com,Lee,subscribed,"])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        assert run_weekly("send", "324", "--yes").exit_code == 0
        header = str(recorder.parsed()["kim@example.com"]["List-Unsubscribe"])
        https = header.split(",")[0].strip(" <>")
        path = https.removeprefix("https://news.example.com/weekly")
        assert service().post(path, data=ONE_CLICK).status_code == 200
        assert run_weekly("send", "325", "--yes").exit_code == 0
    assert recorder.accepted() == {"kim@example.com": 1, "lee@example.com": 2}


def test_get_only_asks_and_the_button_unsubscribes(newsletter: Path, service) -> None:
    client = service()
    url = f"/unsubscribe/{token_for('lee@example.com')}"
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(r'<form method="post">\s*<button type="submit">수신 거부</button>', page.text)
    assert "lee@example.com" in page.text
    assert {name: page.headers[name] for name in HEADERS} == HEADERS  # nothing cached or sent on
    assert history(newsletter, "lee@example.com") == []
    assert client.post(url).status_code == 200  # the page's button: an empty form
    assert history(newsletter, "lee@example.com") == [(UNSUBSCRIBED, "link")]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: token_for("other@example.com").split(".")[0] + "." + t.split(".")[1],
        lambda t: t.split(".")[0],  # signature missing
        lambda t: "%%%",
    ],
)
def test_tampered_token_gets_400_and_changes_nothing(newsletter: Path, service, tamper) -> None:
    client = service()
    bad = tamper(token_for("kim@example.com"))
    assert client.get(f"/unsubscribe/{bad}").status_code == 400
    response = client.post(f"/unsubscribe/{bad}", data=ONE_CLICK)
    assert response.status_code == 400
    assert "이 링크는 올바르지 않습니다" in response.text
    with open_consent_log(newsletter) as store:
        assert store.standings() == {}


def confirmation_link(message: Message) -> str:
    body = message.get_payload(decode=True).decode("utf-8")
    (link,) = re.findall(r"https://news\.example\.com/weekly/confirm/\S+", body)
    return link.removeprefix("https://news.example.com/weekly")


def test_double_opt_in_end_to_end(newsletter: Path, inbox, settings, service) -> None:
    settings('\n[serve]\nsignup_tags = "policy;ai"\n')
    handler, _ = inbox
    client = service(**{"X-Forwarded-For": "203.0.113.9"})
    form = client.get("/subscribe").text
    assert form.index('value="ai"') < form.index('value="policy"')  # offered in order
    tags = ["AI", "evil", " policy ", "ai"]  # only what is offered is kept, once
    data = {"email": "Park@Example.com", "name": "박 지민", "tags": tags}
    response = client.post("/subscribe", data=data)
    assert response.status_code == 200
    assert "받은편지함을 확인해 주세요" in response.text
    assert "48" in response.text  # how long the link works (serve.confirm_hours)
    assert history(newsletter, "park@example.com") == []

    ((recipient, message),) = wait_for(handler, 1)
    assert recipient == "Park@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "구독" in str(email.header.make_header(email.header.decode_header(message["Subject"])))
    link = confirmation_link(message)

    confirmed = client.get(link)
    assert confirmed.status_code == 200
    assert "구독되었습니다" in confirmed.text
    with open_consent_log(newsletter) as store:
        (event,) = store.history("park@example.com")
        standing = store.standings()["park@example.com"]
    assert (event.kind, event.source, event.name) == (CONFIRMED, "web", "박 지민")
    assert event.ip == "203.0.113.9" and event.tags == "ai;policy"
    assert event.ref == "confirm:" + link.rpartition(".")[2]
    assert re.fullmatch(r"double opt-in, asked 20\d\d-\d\d-\d\dT[0-9:]+\+00:00", event.detail)
    assert not standing.suppressed and standing.name == "박 지민"
    assert client.get(link).status_code == 200  # clicking twice records nothing new
    assert history(newsletter, "park@example.com") == [(CONFIRMED, "web")]


def test_confirmation_mail_is_dkim_signed(newsletter: Path, inbox, dkim_dns, service) -> None:
    handler, _ = inbox
    assert service().post("/subscribe", data={"email": "choi@example.com"}).status_code == 200
    ((_, message),) = wait_for(handler, 1)
    assert dkim.verify(message.as_bytes(policy=email.policy.SMTP), dnsfunc=dkim_dns)


def test_answer_does_not_tell_whether_the_address_is_listed(newsletter: Path, service) -> None:
    with open_consent_log(newsletter) as store:
        store.record([Event(at=stamp(), email="old@example.com", kind=CONFIRMED, source="web")])
    client = service()
    fresh = client.post("/subscribe", data={"email": "new@example.com"})
    listed = client.post("/subscribe", data={"email": "old@example.com"})
    assert fresh.status_code == listed.status_code == 200
    assert fresh.text.replace("new@", "X@") == listed.text.replace("old@", "X@")


def test_expired_confirmation_link_gets_400(newsletter: Path, service) -> None:
    client = service()
    old = SignUp("late@example.com", "", int(time.time()) - 49 * 3600)
    response = client.get(f"/confirm/{confirm_token(SECRET.encode(), old)}")
    assert response.status_code == 400
    fresh = SignUp("late@example.com", "", int(time.time()))
    forged = confirm_token(b"another-secret-of-enough-length", fresh)
    assert client.get(f"/confirm/{forged}").status_code == 400
    assert history(newsletter, "late@example.com") == []


def test_rate_limit_per_ip(settings, service, clock: Clock, inbox) -> None:
    settings("\n[serve]\nsignups_per_hour = 3\n")
    first_ip = service(**{"X-Forwarded-For": "198.51.100.1"})
    codes = [
        first_ip.post("/subscribe", data={"email": f"r{n}@example.com"}).status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    other_ip = service(**{"X-Forwarded-For": "198.51.100.2"})
    assert other_ip.post("/subscribe", data={"email": "r9@example.com"}).status_code == 200
    assert len(wait_for(inbox[0], 4)) == 4
    clock.now += HOUR - 1
    assert first_ip.post("/subscribe", data={"email": "r5@example.com"}).status_code == 429
    clock.now += 1  # the first three sign-ups are an hour old: the window has moved on
    assert first_ip.post("/subscribe", data={"email": "r6@example.com"}).status_code == 200


def sign_ups(service: Serving, address: str, count: int, first_ip: int = 1) -> None:
    """`count` sign-ups for `address`, each from its own IP (no per-IP limit applies)."""
    for n in range(first_ip, first_ip + count):
        client = service(**{"X-Forwarded-For": f"203.0.113.{n}"})
        response = client.post("/subscribe", data={"email": address})
        assert response.status_code == 200 and address in response.text


def test_confirmation_mails_per_address_are_capped(service: Serving, inbox) -> None:
    sign_ups(service, "target@example.com", MAILS_PER_ADDRESS + 2)
    service.stop()  # every background mail has gone out
    assert inbox[0].accepted() == {"target@example.com": MAILS_PER_ADDRESS}


def test_the_per_address_cap_lifts_an_hour_later(service: Serving, clock: Clock, inbox) -> None:
    sign_ups(service, "target@example.com", MAILS_PER_ADDRESS)
    clock.now += HOUR - 1
    sign_ups(service, "target@example.com", 1, first_ip=50)  # still capped
    clock.now += 1
    sign_ups(service, "target@example.com", 1, first_ip=60)
    service.stop()
    assert inbox[0].accepted() == {"target@example.com": MAILS_PER_ADDRESS + 1}


class Refusing(Recorder):
    """A relay that refuses every recipient."""

    async def handle_RCPT(self, *args: Any) -> str:
        return "550 5.7.1 relaying denied"


@pytest.mark.parametrize("inbox", [Refusing], indirect=True)
def test_a_confirmation_mail_that_fails_is_logged_and_the_answer_unchanged(
    service: Serving, inbox, serve_log: LogWait
) -> None:
    response = service().post("/subscribe", data={"email": "kim@example.com"})
    assert response.status_code == 200 and 'action="/subscribe"' not in response.text
    (record,) = serve_log.wait(1)
    assert record.levelno == logging.WARNING and record.exc_info is None
    message = record.getMessage()
    assert re.fullmatch(
        "confirmation mail to kim@example.com failed: "
        "the relay did not take the confirmation mail: 550.*relaying denied",
        message,
    ), message
    assert inbox[0].messages == []


def test_bad_address_is_shown_back_with_the_form(settings, service) -> None:
    settings('\n[serve]\nsignup_tags = "policy;ai"\n')
    topics = "<legend>관심 주제 (선택)</legend>"
    form = service().get("/subscribe")
    assert form.status_code == 200 and '<html lang="ko">' in form.text and topics in form.text
    assert '<form method="post" action="/subscribe">' in form.text
    assert form.text.count('value=""') == 2  # both fields start empty
    assert "올바른 이메일 주소가 아닙니다" not in form.text
    response = service().post("/subscribe", data={"email": "not an address", "name": " 김  x "})
    assert response.status_code == 400
    assert "올바른 이메일 주소가 아닙니다" in response.text and topics in response.text
    assert 'value="not an address"' in response.text and 'value="김 x"' in response.text
    assert '<form method="post" action="/subscribe">' in response.text
    missing = service().post("/subscribe", data={"name": "x"})
    assert missing.status_code == 400 and 'autocomplete="email" value=""' in missing.text


def test_a_long_name_is_cut_to_the_limit(newsletter: Path, inbox, service) -> None:
    client = service()
    long_name = "가" * (NAME_LIMIT + 50)
    assert client.post("/subscribe", data={"email": "n@example.com", "name": long_name}).is_success
    ((_, message),) = wait_for(inbox[0], 1)
    assert client.get(confirmation_link(message)).status_code == 200
    with open_consent_log(newsletter) as store:
        assert store.standings()["n@example.com"].name == "가" * NAME_LIMIT


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_confirmation_link_like_the_unsubscribe_link_is_refused(
    newsletter: Path, settings, store: str
) -> None:
    settings('\n[serve]\nconfirm_url = "https://news.example.com/weekly/unsubscribe/{token}"\n')
    with pytest.raises(WeeklyError) as caught:
        Serving(newsletter).start()
    assert caught.value.message == (
        f"{newsletter / 'weekly.toml'}: set serve.confirm_url (a link with {{token}})"
    )
    assert not (newsletter / ".weekly").exists()  # said before any state is made


def test_pages_speak_english_and_can_be_overridden(newsletter: Path, service) -> None:
    toml = newsletter / "weekly.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('language = "ko"', 'language = "en"'),
        encoding="utf-8",
    )
    (newsletter / "templates/serve").mkdir(parents=True)
    (newsletter / "templates/serve/unsubscribed.html").write_text(
        '{% extends "default:serve/unsubscribed.html" %}'
        "{% block content %}<p>Bye, {{ email }}.</p>{{ super() }}{% endblock %}",
        encoding="utf-8",
    )
    client = service()
    url = f"/unsubscribe/{token_for('kim@example.com')}"
    assert "Unsubscribe kim@example.com from AI 주간 동향?" in client.get(url).text
    done = client.post(url, data=ONE_CLICK).text
    assert "<p>Bye, kim@example.com.</p>" in done and "You are unsubscribed." in done


def test_serve_needs_the_secret(newsletter: Path, run_weekly, monkeypatch) -> None:
    monkeypatch.delenv("WEEKLY_SECRET", raising=False)
    result = run_weekly("serve", "--port", "1")
    assert result.exit_code == 1
    assert result.output.startswith("Error: WEEKLY_SECRET ")


def test_weekly_serve_as_the_real_command(newsletter: Path, settings, inbox) -> None:
    with serve_process(newsletter) as (url, log), httpx.Client(base_url=url) as client:
        assert client.get("/subscribe").status_code == 200
        response = client.post("/subscribe", data={"email": "cho@example.com", "name": "조"})
        assert response.status_code == 200
        ((recipient, message),) = wait_for(inbox[0], 1)
        assert recipient == "cho@example.com"
        assert client.get(confirmation_link(message)).status_code == 200
    assert history(newsletter, "cho@example.com") == [(CONFIRMED, "web")]
    assert not any("cho@" in line for line in log.lines)  # no access log: URLs hold tokens


def test_the_rate_limiter_forgets_stale_keys_once_it_holds_many() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 10.0, clock)
    for n in range(10_000):
        assert limiter.allow(f"10.0.{n // 256}.{n % 256}")
    assert not limiter.allow("10.0.0.0")  # within the window: still counted
    clock.now += 10
    assert limiter.allow("192.0.2.1")  # 10,000 keys are not yet many: all are kept
    assert len(limiter._seen) == 10_001
    assert limiter.allow("192.0.2.2")  # over 10,000 keys: the stale ones go first
    assert sorted(limiter._seen) == ["192.0.2.1", "192.0.2.2"]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_event_counts_until_exactly_one_window_later() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 10.0, clock)
    assert limiter.allow("key") and limiter.allow("key")
    clock.now += 9.5
    assert not limiter.allow("key")
    clock.now += 0.5  # the first two are exactly one window old: no longer counted
    assert limiter.allow("key") and limiter.allow("key") and not limiter.allow("key")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_uvicorn_shows_no_banner_no_access_log_and_trusts_only_a_local_proxy() -> None:
    """What `serve` tells uvicorn, as uvicorn takes it (its logging is set up right here)."""
    untouched = copy.deepcopy(LOGGING_CONFIG)
    # as a fresh process has them (an earlier serve in this process set them up)
    logging.getLogger("uvicorn.error").setLevel(logging.NOTSET)
    logging.getLogger(SCHEDULE_LOG).setLevel(logging.NOTSET)
    logging.getLogger(SCHEDULE_LOG).propagate = True
    config = server_config(Starlette(), "127.0.0.1", 8025)
    assert untouched == LOGGING_CONFIG  # uvicorn's own default stays as it was
    assert (config.server_header, config.access_log) == (False, False)
    assert (config.proxy_headers, config.forwarded_allow_ips) == (True, "127.0.0.1")
    assert (config.loop, config.http) == ("asyncio", "httptools")
    assert logging.getLogger("uvicorn.error").level == logging.INFO
    assert not logging.getLogger("uvicorn.access").handlers
    schedule = logging.getLogger(SCHEDULE_LOG)  # where scheduled sends stand: on serve's stderr
    assert [handler.name for handler in schedule.handlers] == ["default"]
    assert (schedule.level, schedule.propagate) == (logging.INFO, False)


def serve_until_ctrl_c(root: Path, host: str | None, port: int | None, url: str) -> httpx.Response:
    """Run `weekly serve`'s serve() here, in the main thread whose signals it takes as the
    command does, until a GET of /subscribe at `url` is answered; then press Ctrl-C."""
    answers: list[httpx.Response] = []

    def reader() -> None:
        try:  # the request waits in the socket's backlog until uvicorn takes it
            answers.append(httpx.get(f"{url}/subscribe", timeout=30))
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    # Ctrl-C as a terminal gives it, whatever handler the running test tool put in place
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=reader, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):  # uvicorn stops in order, then re-raises Ctrl-C
            serve(root, host, port)
    finally:
        signal.signal(signal.SIGINT, before)
    (answer,) = answers
    return answer


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_serve_listens_where_it_is_told_else_where_the_settings_say(
    newsletter: Path, settings, capsys: pytest.CaptureFixture[str]
) -> None:
    port, other = free_port(), free_port()
    settings(f'\n[serve]\nhost = "127.0.0.2"\nport = {port}\n')
    answer = serve_until_ctrl_c(newsletter, None, None, f"http://127.0.0.2:{port}")
    assert answer.status_code == 200 and "server" not in answer.headers
    said = capsys.readouterr().err
    assert f"weekly serve on http://127.0.0.2:{port}\n" in said
    assert "/subscribe" not in said  # no access log: its URLs hold tokens
    answer = serve_until_ctrl_c(newsletter, "127.0.0.1", other, f"http://127.0.0.1:{other}")
    assert answer.status_code == 200
    assert f"weekly serve on http://127.0.0.1:{other}\n" in capsys.readouterr().err


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_port_in_use_stops_serve_before_any_state_is_made(newsletter: Path, settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(WeeklyError, match=f"127.0.0.1:{port}: the port is in use"):
            serve(newsletter, "127.0.0.1", port)
    assert not (newsletter / ".weekly").exists()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_settings_that_stop_serve_let_its_port_go(newsletter: Path, settings, monkeypatch) -> None:
    monkeypatch.delenv("WEEKLY_POSTMARK_PASSWORD", raising=False)
    settings('\n[hooks]\npostmark_user = "hooks"\n')
    port = free_port()
    with pytest.raises(WeeklyError, match="WEEKLY_POSTMARK_PASSWORD"):
        serve(newsletter, "127.0.0.1", port)
    listening_socket("127.0.0.1", port).close()  # free again: bound, listening, closed


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_confirmation_mail_says_who_asked_for_what_and_how_long_the_link_works(
    newsletter: Path, store: str
) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write("\n[serve]\nconfirm_hours = 1.5\n")
    config = load_config(newsletter)
    link = "https://news.example.com/weekly/confirm/tok"
    asked = SignUp("Park@Example.com", "박 지민", 0)
    data = confirmation_mail(config, environment(newsletter, "ko"), asked, link, None)
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert (mail["From"], mail["To"]) == (SENDER, "박 지민 <Park@example.com>")
    assert mail["Subject"] == "AI 주간 동향 구독을 확인해 주세요"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].endswith("@news.example.com>")
    assert mail["Date"].datetime.utcoffset() == timedelta(0)  # in UTC, not "-0000" (unknown)
    assert mail.get_content() == (
        "누군가(아마 본인)가 Park@Example.com 주소로 AI 주간 동향 뉴스레터 구독을\n"
        "신청했습니다.\n\n"
        f"구독을 확인하려면 1.5시간 안에 이 링크를 여세요:\n{link}\n\n"
        "직접 신청하지 않으셨다면 이 메일을 무시하세요. 구독되지 않습니다.\n\n"
        "--\nAI 주간 동향\n서울특별시 중구 세종대로 110, 04524\n"
    )


# Fast tests (SQLite only) of what a sign-up and a confirmation show and keep, the app started
# and answering before the test: make mutate runs a mutant's fastest tests first, within 2 s
# of their measured time (the test's own, not its fixtures'), so these are the ones that
# reach serve's routes, where the slower end-to-end tests above would not be run.
SENT = (
    "{email} 주소로 메일을 받을 수 있다면 확인 링크가 담긴 메일이 곧 도착합니다. "
    "링크는 48시간 동안 유효합니다."
)


@pytest.fixture
def signups(settings, service: Serving) -> Serving:
    """serve offering two topics, one sign-up an hour from each IP, up and answering."""
    settings('\n[serve]\nsignup_tags = "policy;ai"\nsignups_per_hour = 1\n')
    assert service().get("/subscribe").status_code == 200
    return service


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_one_ip_is_capped_for_exactly_an_hour_and_the_link_carries_the_topics_picked(
    signups: Serving, clock: Clock, inbox
) -> None:
    client = signups(**{"X-Forwarded-For": "198.51.100.7"})
    picked = {"email": "ann@example.com", "name": "앤", "tags": ["policy", "evil", "ai"]}
    answer = client.post("/subscribe", data=picked)
    assert answer.status_code == 200 and SENT.format(email="ann@example.com") in answer.text
    refused = client.post("/subscribe", data={"email": "bob@example.com"})
    assert refused.status_code == 429
    assert "<h1>요청이 너무 많습니다</h1>" in refused.text
    assert "잠시 후 다시 시도해 주세요." in refused.text
    clock.now += HOUR  # serve's clock: the window has moved on
    assert client.post("/subscribe", data={"email": "bob@example.com"}).status_code == 200
    (link,) = [confirmation_link(m) for rcpt, m in wait_for(inbox[0], 2) if rcpt[0] == "a"]
    asked = read_confirm_token(SECRET.encode(), link.rpartition("/")[2], HOUR)
    assert asked is not None and (asked.name, asked.tags) == ("앤", "ai;policy")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_confirmation_keeps_when_it_was_asked_from_where_and_for_what(
    newsletter: Path, signups: Serving
) -> None:
    asked = SignUp("park@example.com", "박 지민", int(time.time()) - 3600, "ai;policy")
    token = confirm_token(SECRET.encode(), asked)
    confirmed = signups(**{"X-Forwarded-For": "203.0.113.9"}).get(f"/confirm/{token}")
    assert confirmed.status_code == 200
    welcome = "다음 호부터 park@example.com 주소로 AI 주간 동향 뉴스레터를 보내 드립니다."
    assert welcome in confirmed.text
    with open_consent_log(newsletter) as store:
        (event,) = store.history("park@example.com")
    assert (event.kind, event.source, event.name, event.ip, event.tags) == (
        CONFIRMED,
        "web",
        "박 지민",
        "203.0.113.9",
        "ai;policy",
    )
    when = stamp(datetime.fromtimestamp(asked.requested_at, UTC))
    assert (event.detail, event.ref) == (
        f"double opt-in, asked {when}",
        "confirm:" + token.rpartition(".")[2],
    )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("delivery", "error"),
    [
        (
            'host = "relay.example.com"',
            "delivery.security is none but relay.example.com is not this machine: "
            "use starttls or tls, or pass --insecure",
        ),
        (
            'host = "127.0.0.1"\nusername = "news"',
            "delivery.username is set but WEEKLY_SMTP_PASSWORD is not",
        ),
    ],
)
def test_delivery_settings_serve_cannot_use_stop_it_before_any_state_is_made(
    newsletter: Path, settings, monkeypatch: pytest.MonkeyPatch, delivery: str, error: str
) -> None:
    monkeypatch.delenv("WEEKLY_SMTP_PASSWORD", raising=False)
    toml = newsletter / "weekly.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(re.sub(r"^host = .*$", delivery, text, count=1, flags=re.M), "utf-8")
    with pytest.raises(WeeklyError) as caught:
        Serving(newsletter).start()
    assert caught.value.message == error
    assert not (newsletter / ".weekly").exists()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_serve_watches_for_scheduled_sends_from_its_start(
    service: Serving, capsys: pytest.CaptureFixture[str]
) -> None:
    assert service().get("/subscribe").status_code == 200  # answered once started
    assert "schedule: checking for due sends every " in capsys.readouterr().err
