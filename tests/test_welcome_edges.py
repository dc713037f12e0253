"""The welcome's and the segments' smaller promises, in-process on both stores: retries
drop readers who left, a template broken after start leaves the row to retry, the latest
issue skips drafts, older SQLite files gain the new columns and tables, settings check tags."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
from pathlib import Path
from typing import Any

import dkim
import pytest

from weekly.addresses import list_id_of
from weekly.audience.tokens import make_token
from weekly.config import load_config
from weekly.errors import ConfigError, TemplateError, WeeklyError
from weekly.files import replace_folder
from weekly.project import build_dir
from weekly.render.composed import META_FILE
from weekly.store import existing_ledger, hold_issue, open_consent_log, open_ledger
from weekly.store.consent import CONFIRMED, UNSUBSCRIBED, Event
from weekly.web.welcome import WELCOME_ISSUE, Latest, Welcomer, latest_issue, retry_welcomes

from .smtp import SECRET, Recorder, configure, smtp_server
from .test_welcome import Busy

SITE = "https://news.example.com/weekly"


def meta(root: Path, number: int, **values: object) -> None:
    replace_folder(build_dir(root, number), {META_FILE: json.dumps(values)})


def test_the_latest_issue_skips_drafts_and_unreadable_builds(newsletter: Path) -> None:
    assert latest_issue(load_config(newsletter)) is None
    meta(newsletter, 6, title="Six")
    meta(newsletter, 7, title="Seven", draft=False)
    meta(newsletter, 8, title="Eight (draft)", draft=True)
    replace_folder(build_dir(newsletter, 9), {META_FILE: "{not json"})
    latest = latest_issue(load_config(newsletter))
    assert latest is not None and (latest.title, latest.url) == ("Seven", f"{SITE}/7/")
    meta(newsletter, 10)  # neither title nor subject
    assert latest_issue(load_config(newsletter)) == Latest("", f"{SITE}/10/")


def _welcomer(root: Path) -> Welcomer:
    config = load_config(root)
    return Welcomer(config, SECRET.encode(), open_ledger(root), open_consent_log(root))


def _states(root: Path) -> dict[str, str]:
    ledger = existing_ledger(root)
    assert ledger is not None
    try:
        return {
            row.email: row.state
            for row in ledger.rows(WELCOME_ISSUE, ("pending", "sent", "opted_out", "retrying"))
        }
    finally:
        ledger.close()


@pytest.mark.usefixtures("store")
def test_retries_welcome_those_still_here_and_drop_those_who_left(newsletter: Path) -> None:
    with open_consent_log(newsletter) as log:
        log.record(
            [
                Event("2026-01-01T00:00:00+00:00", "stay@example.com", CONFIRMED, "web", "Stay"),
                Event("2026-01-01T00:00:00+00:00", "left@example.com", CONFIRMED, "web"),
                Event("2026-01-02T00:00:00+00:00", "left@example.com", UNSUBSCRIBED, "link"),
            ]
        )
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        welcomer = _welcomer(newsletter)
        ledger = open_ledger(newsletter)
        ledger.add(WELCOME_ISSUE, [("stay@example.com", "stay@example.com")])
        ledger.add(WELCOME_ISSUE, [("left@example.com", "left@example.com")])
        ledger.close()
        assert asyncio.run(welcomer.retry()) == 2
        welcomer.close()
    assert recorder.accepted() == {"stay@example.com": 1}
    assert _states(newsletter) == {"stay@example.com": "sent", "left@example.com": "opted_out"}
    assert recorder.parsed()["stay@example.com"].get_content().startswith("Stay 님, 안녕하세요.")
    ledger = existing_ledger(newsletter)
    assert ledger is not None
    try:
        (left,) = ledger.rows(WELCOME_ISSUE, ("opted_out",))
    finally:
        ledger.close()
    assert left.last_reply == "left before"


@pytest.mark.usefixtures("store")
def test_a_template_broken_after_start_is_logged_and_left_to_retry(
    newsletter: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server(Recorder()) as port:
        configure(newsletter, port)
        welcomer = _welcomer(newsletter)
        (newsletter / "templates" / "welcome.md").write_text("---\n---\nno subject\n", "utf-8")
        with caplog.at_level(logging.ERROR, "weekly.web.welcome"):
            asyncio.run(welcomer.greet("x@example.com", ""))
        welcomer.close()
    assert [r.getMessage() for r in caplog.records] == ["welcome mail to x@example.com failed"]
    assert _states(newsletter) == {"x@example.com": "pending"}


def test_signup_tags_are_checked_in_the_settings(newsletter: Path) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[serve]\nsignup_tags = "ai;big data"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(newsletter)
    assert "serve.signup_tags: 'big data' is not a tag" in caught.value.message


@pytest.mark.usefixtures("store")
def test_a_welcome_while_another_serve_holds_the_store_waits_for_the_retry(
    newsletter: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_consent_log(newsletter) as log:
        log.record([Event("2026-01-01T00:00:00+00:00", "w@example.com", CONFIRMED, "web")])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        welcomer = _welcomer(newsletter)
        with hold_issue(newsletter, WELCOME_ISSUE), caplog.at_level(logging.WARNING):
            asyncio.run(welcomer.greet("w@example.com", ""))
        (said,) = [r.getMessage() for r in caplog.records if r.name == "weekly.web.welcome"]
        assert said.startswith(
            "welcome mail to w@example.com waits for a retry: issue 0 is already being sent by "
        )
        assert recorder.accepted() == {} and _states(newsletter) == {"w@example.com": "pending"}
        assert asyncio.run(welcomer.retry()) == 1
        asyncio.run(welcomer.greet("w@example.com", ""))  # a later click: already welcomed
        welcomer.close()
    assert recorder.accepted() == {"w@example.com": 1}
    assert _states(newsletter) == {"w@example.com": "sent"}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_welcome_is_one_text_part_with_the_lists_headers(newsletter: Path, store: str) -> None:
    meta(newsletter, 7, subject="Seven, by its subject")
    welcomer = _welcomer(newsletter)
    try:
        message_id, data = welcomer.build("New@Example.com", "새 독자")
        _, anonymous = welcomer.build("anon@example.com", "")
    finally:
        welcomer.close()
    mail = email.message_from_bytes(data, policy=email.policy.default)
    sender = "AI 주간 동향 <weekly@news.example.com>"
    token = make_token(SECRET.encode(), list_id_of(sender), "new@example.com")
    assert mail["Message-ID"] == message_id and message_id.endswith("@news.example.com>")
    assert (mail["From"], mail["To"]) == (sender, "새 독자 <New@example.com>")  # the domain folded
    assert mail["Subject"] == "AI 주간 동향에 오신 것을 환영합니다"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Date"]
    assert mail["List-Id"] == f"<{list_id_of(sender)}>"
    assert mail["List-Unsubscribe"] == (
        f"<{SITE}/unsubscribe/{token}>,"
        f" <mailto:unsubscribe@news.example.com?subject=unsubscribe%20{token}>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "text/plain"
    text = mail.get_content()
    assert text.startswith("새 독자 님, 안녕하세요.\n\n")
    assert f"\nSeven, by its subject\n{SITE}/7/\n" in text
    assert f"\n{SITE}/unsubscribe/{token}\n" in text
    plain = email.message_from_bytes(anonymous, policy=email.policy.default)
    assert plain["To"] == "anon@example.com"
    assert plain.get_content().startswith("안녕하세요.\n\n")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize("subject", ["42", '"  "', '"two\\nlines"', "[a]"])
def test_a_welcome_needs_a_one_line_subject(newsletter: Path, store: str, subject: str) -> None:
    own = newsletter / "templates" / "welcome.md"
    own.write_text(f"---\nsubject: {subject}\n---\nHi\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        _welcomer(newsletter)
    assert caught.value.message == f"{own}:2: subject: the front matter needs a one-line subject"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_serve_sends_waiting_welcomes_as_it_starts(newsletter: Path, store: str) -> None:
    with open_consent_log(newsletter) as log:
        log.record([Event("2026-01-01T00:00:00+00:00", "w@example.com", CONFIRMED, "web")])
    ledger = open_ledger(newsletter)
    ledger.add(WELCOME_ISSUE, [("w@example.com", "w@example.com")])
    ledger.close()
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        welcomer = _welcomer(newsletter)

        async def serving() -> dict[str, str]:
            async with retry_welcomes(welcomer):  # the retry runs at once, not a period later
                for _ in range(2000):  # until the ledger says so (20 s at most)
                    if _states(newsletter).get("w@example.com") == "sent":
                        break
                    await asyncio.sleep(0.01)
            return _states(newsletter)

        assert asyncio.run(serving()) == {"w@example.com": "sent"}
    assert recorder.accepted() == {"w@example.com": 1}


def test_serve_without_welcomes_runs_no_retries() -> None:
    async def serving() -> str:
        async with retry_welcomes(None):
            return "served"

    assert asyncio.run(serving()) == "served"


class Watching(Recorder):
    """A relay that notes the welcome's ledger row when a message's data ends, then answers
    with `reply` (None: it keeps the message)."""

    def __init__(self, root: Path, reply: str | None = None) -> None:
        super().__init__()
        self.root, self.reply, self.seen = root, reply, []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        ledger = existing_ledger(self.root)
        assert ledger is not None
        try:
            self.seen.append(ledger.states(WELCOME_ISSUE, ["new@example.com"]))
        finally:
            ledger.close()
        if self.reply is not None:
            return self.reply
        return await super().handle_DATA(server, session, envelope)


def welcome_row(root: Path) -> tuple[str, int, str]:
    """The welcome's row: its state, attempts and the relay's last reply."""
    ledger = existing_ledger(root)
    assert ledger is not None
    try:
        (row,) = ledger.rows(WELCOME_ISSUE, ("sent", "retrying"))
        return row.state, row.attempts, row.last_reply
    finally:
        ledger.close()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("reply", "row", "said"),
    [
        (None, ("sent", 1), "welcome mail to New@Example.com: sent"),
        (
            "451 4.3.0 try again later",
            ("retrying", 1),
            "welcome mail to New@Example.com deferred: 451 4.3.0 try again later",
        ),
    ],
)
def test_a_welcome_is_marked_sending_as_its_data_ends_then_sent_or_left_to_retry(
    newsletter: Path,
    store: str,
    caplog: pytest.LogCaptureFixture,
    reply: str | None,
    row: tuple[str, int],
    said: str,
) -> None:
    relay = Watching(newsletter, reply)
    with smtp_server(relay) as port:
        configure(newsletter, port)
        welcomer = _welcomer(newsletter)
        with caplog.at_level(logging.INFO, "weekly.web.welcome"):
            asyncio.run(welcomer.greet("New@Example.com", "새 독자"))
        welcomer.close()
    assert relay.seen == [{"new@example.com": "sending"}]
    state, attempts, last_reply = welcome_row(newsletter)
    assert (state, attempts) == row  # one try, counted once
    assert last_reply == (reply or "250 2.0.0 OK: queued")
    assert [r.getMessage() for r in caplog.records if r.name == "weekly.web.welcome"] == [said]
    if reply is None:
        (mail,) = relay.parsed().values()
        assert mail.get_content().startswith("새 독자 님, 안녕하세요.")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_welcome_is_dkim_signed_and_names_the_address(
    newsletter: Path, store: str, dkim_dns: Any
) -> None:
    welcomer = _welcomer(newsletter)
    try:
        _, data = welcomer.build("New@Example.com", "")
    finally:
        welcomer.close()
    assert dkim.verify(data, dnsfunc=dkim_dns)
    text = email.message_from_bytes(data, policy=email.policy.default).get_content()
    assert "New@Example.com" in " ".join(text.split())  # the address it comes to, as given


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_own_welcome_loses_only_its_leading_blank_lines(newsletter: Path, store: str) -> None:
    own = newsletter / "templates" / "welcome.md"
    for body in ("  indented\n\n", "X marks the spot\n"):
        own.write_text(f"---\nsubject: Hi\n---\n\n\n{body}", encoding="utf-8")
        welcomer = _welcomer(newsletter)
        try:
            _, data = welcomer.build("a@example.com", "")
        finally:
            welcomer.close()
        mail = email.message_from_bytes(data, policy=email.policy.default)
        assert mail.get_content() == body
    own.write_text("---\nsubject: [\n---\nHi\n", encoding="utf-8")
    with pytest.raises(WeeklyError) as caught:  # the error names the newsletter's own file
        _welcomer(newsletter)
    assert caught.value.message.startswith(f"{own}:3: invalid YAML front matter")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_welcome_deferred_before_its_data_counts_one_attempt(
    newsletter: Path, store: str
) -> None:
    relay = Busy()  # defers every recipient, before any data
    with smtp_server(relay) as port:
        configure(newsletter, port)
        welcomer = _welcomer(newsletter)
        asyncio.run(welcomer.greet("New@Example.com", ""))
        welcomer.close()
    assert relay.messages == []
    assert welcome_row(newsletter) == ("retrying", 1, "451 4.3.0 try again later")
