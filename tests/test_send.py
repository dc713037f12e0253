"""`weekly send` against a real aiosmtpd server on 127.0.0.1, with real ledger files."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing, nullcontext
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from weekly.audience.tokens import token_address
from weekly.deliver import send as send_module
from weekly.deliver.plan import SendOptions
from weekly.deliver.send import Conversation, send_issue
from weekly.errors import WeeklyError
from weekly.render.composed import load_composed
from weekly.store import (
    existing_consent_log,
    existing_ledger,
    hold_issue,
    open_crew,
    open_ledger,
)
from weekly.store import senders as crew
from weekly.store.consent import BOUNCED, CONFIRMED, UNSUBSCRIBED

from .smtp import (
    SECRET,
    SUBJECT,
    Recorder,
    configure,
    make_build,
    only,
    smtp_server,
    subscribers,
    write_list,
)
from .storerows import deliveries, state_counts
from .test_audience import Refusing, log

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

Run = Callable[..., Result]


def ledger_rows(root: Path) -> dict[str, tuple[str, int, str]]:
    return {r.recipient: (r.state, r.attempts, r.last_reply) for r in deliveries(root)}


@pytest.mark.parametrize("pipelining", [False, True])
def test_one_message_per_subscribed_address_with_the_right_headers(
    ready: Path, run_weekly: Run, pipelining: bool
) -> None:
    write_list(
        ready,
        [
            "minji@example.com,김민지,subscribed,한빛랩",
            'alice@example.org,"Alice ""Al"" Martin",,Northwind',
            "gone@example.org,Gone,unsubscribed,",
            "bounce@example.org,Bounce,bounced,",
            "ALICE@example.ORG,Alice again,subscribed,",
            "hong@한국.kr,홍길동 <&>,subscribed,<b>Co</b>",
        ],
    )
    recorder = Recorder(pipelining=pipelining)
    with smtp_server(recorder) as port:
        configure(ready, port)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    assert "Sent 3, failed 0" in result.output
    assert sorted(recorder.accepted().items()) == [
        ("alice@example.org", 1),
        ("hong@xn--3e0b707e.kr", 1),
        ("minji@example.com", 1),
    ]
    messages = recorder.parsed()
    ids = {m["Message-ID"] for m in messages.values()}
    assert len(ids) == 3 and all(i.endswith("@news.example.com>") for i in ids)
    hong = messages["hong@xn--3e0b707e.kr"]
    assert hong["Subject"] == SUBJECT
    assert hong["To"].addresses[0].display_name == "홍길동 <&>"
    assert hong["From"].addresses[0].display_name == "AI 주간 동향"
    assert hong["List-Id"] == "AI 주간 동향 <weekly.news.example.com>"
    assert hong["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert hong["Date"].datetime is not None
    https, mailto = (v.strip(" <>") for v in str(hong["List-Unsubscribe"]).split(","))
    assert https.startswith("https://news.example.com/weekly/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe@news.example.com?subject=")
    token = https.rsplit("/", 1)[1]
    assert token_address(SECRET.encode(), "weekly.news.example.com", token) == "hong@한국.kr"
    assert hong.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in hong.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    html = hong.get_body(("html",)).get_content()
    text = hong.get_body(("plain",)).get_content()
    assert "홍길동 &lt;&amp;&gt; 님" in html and "&lt;b&gt;Co&lt;/b&gt;" in html
    assert text.startswith("홍길동 <&> 님") and https in text and https in html
    assert "%%" not in html + text
    alice = messages["alice@example.org"]
    assert alice["To"].addresses[0].display_name == 'Alice "Al" Martin'
    rows = ledger_rows(ready)
    assert {k: v[0] for k, v in rows.items()} == {
        "minji@example.com": "sent",
        "alice@example.org": "sent",
        "hong@한국.kr": "sent",
    }


class Faulty(Recorder):
    """451 twice then OK for temp*, 550 for perm*, a connection dropped after the end of
    data (nothing stored) for drop*, a 451 after the data once for late*, and a 421
    (closing) once for busy*."""

    def __init__(self, *, pipelining: bool) -> None:
        super().__init__(pipelining=pipelining)
        self.seen: dict[str, int] = {}

    def _tries(self, address: str) -> int:
        with self.lock:
            self.seen[address] = self.seen.get(address, 0) + 1
            return self.seen[address]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("perm"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("temp") and self._tries(address) <= 2:
            return "451 4.3.0 try again later"
        if address.startswith("busy") and self._tries(address) == 1:
            return "421 4.7.0 too busy, closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        address = envelope.rcpt_tos[0]
        if address.startswith(("drop", "late")) and self._tries(address) == 1:
            if address.startswith("drop"):
                server.transport.close()
                return "421 gone"
            return "451 4.3.0 queue full"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("pipelining", [False, True])
def test_faults_end_with_every_deliverable_address_delivered_once(
    ready: Path, run_weekly: Run, pipelining: bool
) -> None:
    rows = [
        f"{kind}{i}@example.com,Name {i},subscribed,"
        for kind in ("ok", "temp", "perm", "drop", "late", "busy")
        for i in range(4)
    ]
    write_list(ready, rows)
    faulty = Faulty(pipelining=pipelining)
    with smtp_server(faulty) as port:
        configure(ready, port, concurrency=3)
        result = run_weekly("send", "324", "--yes")
        assert result.exit_code == 1, result.output
        # A drop after the end of data is uncertain: reported, never resent silently.
        assert "Sent 16, failed 4 (4 mailbox, 0 message, 0 temporary), uncertain 4," in (
            result.output
        )
        delivered = faulty.accepted()
        assert set(delivered.values()) == {1}
        assert {a for a in delivered} == {
            f"{kind}{i}@example.com" for kind in ("ok", "temp", "late", "busy") for i in range(4)
        }
        ledger = ledger_rows(ready)
        for i in range(4):
            assert ledger[f"drop{i}@example.com"][0] == "sending"
            assert ledger[f"perm{i}@example.com"][0] == "failed_permanent"
            assert "550 5.1.1 no such mailbox" in ledger[f"perm{i}@example.com"][2]
            assert ledger[f"temp{i}@example.com"][:2] == ("sent", 3)  # two 451s, then 250
        failed = run_weekly("status", "324", "--failed")
        listed = list(csv.DictReader(io.StringIO(failed.output)))
        assert sorted(r["email"] for r in listed) == [
            f"{kind}{i}@example.com" for kind in ("drop", "perm") for i in range(4)
        ]
        again = run_weekly("send", "324", "--yes", "--retry-failed")
        assert again.exit_code == 0 and "Nothing to send." in again.output
        assert set(faulty.accepted().values()) == {1}


def test_status_as_the_real_command_counts_every_state(
    ready: Path, run_weekly: Run, store: str
) -> None:
    write_list(ready, [f"{kind}0@example.com,,subscribed," for kind in ("ok", "perm", "drop")])
    with smtp_server(Faulty(pipelining=False)) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 1
    shown = subprocess.run(
        [sys.executable, "-m", "weekly", "status", "324", "--root", str(ready)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ledger = existing_ledger(ready)
    assert ledger is not None
    with closing(ledger):
        fingerprint = ledger.fingerprint(324)
    assert (shown.returncode, shown.stderr) == (0, "")
    lines = shown.stdout.splitlines(keepends=True)
    # The same command in-process, so that mutation testing sees this test reach it.
    assert run_weekly("status", "324").output == shown.stdout
    senders = [line for line in lines if line.startswith("  sender ")]
    assert senders == [  # a shared store names each sender; this one has left
        f"  sender {s.host} pid {s.pid}: {s.sent:,} sent, {s.rate:,.1f}/s, last heartbeat "
        f"{s.heartbeat.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (stopped)\n"
        for s in crew(ready, 324)
    ]
    assert len(senders) == (1 if store else 0)
    assert "".join(line for line in lines if line not in senders) == (
        f"issue 324 (composed content {fingerprint})\n"
        "  sent                      1\n"
        "  failed (mailbox)          1\n"
        "  failed (message)          0\n"
        "  failed (gave up)          0\n"
        "  opted out                 0\n"
        "  retrying                  0\n"
        "  pending                   0\n"
        "  uncertain                 1\n"
        "  total                     3\n"
        "1 uncertain: a run stopped while sending them; "
        "`weekly send --resend-uncertain` sends them again\n"
    )


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_status_shows_a_seated_sender_as_running_and_every_time_in_utc(
    ready: Path, run_weekly: Run, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_list(ready, [f"{kind}0@example.com,,subscribed," for kind in ("ok", "perm")])
    with smtp_server(Faulty(pipelining=False)) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 1
    seat = open_crew(ready, 324)
    assert seat is not None
    monkeypatch.setenv("TZ", "Asia/Seoul")  # the report's times stay in UTC
    time.tzset()
    try:
        seat.join()  # a sender still at work on the issue
        shown = run_weekly("status", "324")
        failed = run_weekly("status", "324", "--failed")
    finally:
        seat.close()
        monkeypatch.delenv("TZ")
        time.tzset()
    first, running = crew(ready, 324)
    assert [line for line in shown.output.splitlines() if line.startswith("  sender ")] == [
        f"  sender {s.host} pid {s.pid}: {s.sent:,} sent, {s.rate:,.1f}/s, last heartbeat "
        f"{s.heartbeat.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC{end}"
        for s, end in ((first, " (stopped)"), (running, ""))
    ]
    assert failed.output.startswith("email,") and failed.output.count("\n") == 2
    assert "\r" not in failed.output


class AlwaysBusy(Recorder):
    async def handle_RCPT(self, *args: Any) -> str:
        return "452 4.2.2 mailbox busy"


def test_temporary_failures_stop_at_max_attempts_and_retry_on_request(
    ready: Path, run_weekly: Run
) -> None:
    write_list(ready, subscribers(3))
    with smtp_server(AlwaysBusy()) as port:
        configure(ready, port, max_attempts=2)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 1
    assert "failed 3 (0 mailbox, 0 message, 3 temporary)" in result.output
    assert {v[0] for v in ledger_rows(ready).values()} == {"failed_temporary"}
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        plain = run_weekly("send", "324", "--yes")
        assert plain.stdout == "Nothing to send.\n" and not recorder.messages
        retried = run_weekly("send", "324", "--yes", "--retry-failed")
    assert retried.exit_code == 0, retried.output
    assert len(recorder.messages) == 3


def test_a_rerun_sends_only_to_new_subscribers(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(5))
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 0
        write_list(ready, [*subscribers(5), "late@example.com,늦은 구독자,subscribed,"])
        again = run_weekly("send", "324", "--yes")
    assert again.exit_code == 0, again.output
    assert "Sent 1," in again.output and "skipped 5" in again.output
    assert set(recorder.accepted().values()) == {1} and len(recorder.messages) == 6


def test_test_addresses_get_a_tagged_copy_and_the_ledger_is_untouched(
    ready: Path, run_weekly: Run
) -> None:
    write_list(ready, subscribers(2))
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        result = run_weekly("send", "324", "--test", "me@example.com", "--test", "you@example.org")
    assert result.exit_code == 0, result.output
    assert "List:     --test me@example.com, you@example.org" in result.stderr.splitlines()
    assert sorted(recorder.accepted()) == ["me@example.com", "you@example.org"]
    assert all(m["Subject"] == f"[TEST] {SUBJECT}" for m in recorder.parsed().values())
    assert not deliveries(ready)


def test_dry_run_builds_everything_and_changes_nothing(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(7))
    configure(ready, 1)  # nothing listens there: a dry run must not connect
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 0, result.output
    said = r"Would send 7 messages \(0\.\d MB\) via 127\.0\.0\.1:1 \(none\); nothing was sent and"
    assert re.fullmatch(said + r" nothing changed\.\n", result.stdout), result.stdout
    assert not (ready / ".weekly").exists()
    assert existing_ledger(ready) is None and existing_consent_log(ready) is None  # any store


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_list_with_nobody_to_mail_says_so_and_connects_to_nothing(
    ready: Path, run_weekly: Run
) -> None:
    write_list(ready, ["gone@example.org,Gone,unsubscribed,"])
    configure(ready, 1)  # nothing listens there
    result = run_weekly("send", "324", "--yes")
    assert (result.exit_code, result.stdout) == (0, "Nothing to send.\n")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_dry_run_needs_no_relay_password(
    ready: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It builds every message and connects to nothing, so the relay's login is not asked."""
    write_list(ready, subscribers(1))
    configure(ready, 1, username="weekly")
    monkeypatch.delenv("WEEKLY_SMTP_PASSWORD", raising=False)
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Would send 1 message ("), result.stdout


def test_dry_run_size_adds_up_and_covers_test_addresses(ready: Path, run_weekly: Run) -> None:
    configure(ready, 1)

    def megabytes(*args: str) -> float:
        result = run_weekly("send", "324", "--dry-run", *args)
        assert result.exit_code == 0, result.output
        return float(result.output.split("Would send ")[1].split("(")[1].split(" MB")[0])

    write_list(ready, subscribers(20))
    twenty = megabytes()
    assert twenty > 0
    write_list(ready, subscribers(60))
    assert 2.5 * twenty <= megabytes() <= 3.5 * twenty  # messages of about the same size
    assert megabytes("--test", "me@example.com", "--test", "you@example.org") > 0
    assert not (ready / ".weekly").exists()


def test_dry_run_warns_of_placeholders_the_list_cannot_fill(ready: Path, run_weekly: Run) -> None:
    write_list(ready, ["kim@example.com,김민지,subscribed"], header="email,name,status")
    configure(ready, 1)
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "%%company%% is in the issue but not in the list" in result.output
    assert "Would send 1 message" in result.output


def test_a_changed_issue_is_not_resumed_without_force(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(2))
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 0
        make_build(ready, subject="다른 제목")
        refused = run_weekly("send", "324", "--yes")
        assert refused.exit_code == 1 and "changed since its send started" in refused.output
        assert "would mix two versions; pass --force to send the new version to the remaining " \
            "recipients\n" in refused.output  # fmt: skip
        forced = run_weekly("send", "324", "--yes", "--force")
    assert forced.exit_code == 0 and len(recorder.messages) == 2


# A shared PostgreSQL store lets a second sender join instead (tests/test_senders.py).
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_second_send_of_the_same_issue_is_refused_while_one_runs(
    ready: Path, run_weekly: Run
) -> None:
    write_list(ready, subscribers(2))
    configure(ready, 1)
    with hold_issue(ready, 324):
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 1 and "already being sent by pid" in result.output


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["ok@example.com,Ok,,", "not-an-address,Bad,,"], "subscribers.csv:3: email: "),
        (["ok@example.com,Ok,,", 'x@example.com,"Evil\r\nBcc: all@example.com",,'], ":3: name: "),
        (["ok@example.com,Ok,maybe,"], "subscribers.csv:2: status: 'maybe' is not one of"),
        (["ok@example.com,Ok,,,extra"], "subscribers.csv:2: row: has 5 fields"),
    ],
)
def test_bad_rows_stop_the_send_before_anything_goes_out(
    ready: Path, run_weekly: Run, rows: list[str], expected: str
) -> None:
    write_list(ready, rows)
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 1
    assert expected in result.output and result.output.count("\nError:") <= 1
    assert not recorder.messages
    assert not ledger_rows(ready)


def test_missing_build_secret_or_confirmation_are_clear_errors(
    newsletter: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_list(newsletter, subscribers(1))
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        monkeypatch.setenv("WEEKLY_SECRET", SECRET)
        unbuilt = run_weekly("send", "324", "--yes")
        assert unbuilt.exit_code == 1 and "run `weekly compose 324`" in unbuilt.output
        make_build(newsletter)
        monkeypatch.delenv("WEEKLY_SECRET")
        secretless = run_weekly("send", "324", "--yes")
        assert secretless.exit_code == 1 and "WEEKLY_SECRET is not set" in secretless.output
        monkeypatch.setenv("WEEKLY_SECRET", SECRET)
        unconfirmed = run_weekly("send", "324")
        assert unconfirmed.exit_code == 1 and "pass --yes" in unconfirmed.output
    assert not recorder.messages


def test_plain_smtp_to_a_remote_host_needs_insecure(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(1))
    configure(ready, 25, host="mail.example.com")
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 1 and "pass --insecure" in result.output


def test_localhost_in_any_case_is_this_machine(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(1))
    configure(ready, 25, host="LOCALHOST")
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 0, result.output


def test_compose_then_send_issue_324_end_to_end(
    newsletter: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    composed = run_weekly("compose", "324")
    assert composed.exit_code == 0, composed.output
    write_list(newsletter, ["minji@example.com,김민지,subscribed,", "al@example.org,Al,,"])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    message = recorder.parsed()["minji@example.com"]
    assert message["Subject"] == "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    unsubscribe = str(message["List-Unsubscribe"]).split(",")[0].strip("<> ")
    assert f'href="{unsubscribe}"' in html and unsubscribe in text
    assert "minji@example.com" in html and "서울특별시 중구 세종대로 110" in html
    assert "%%" not in html + text
    raw = recorder.messages[0][1]
    assert b"\n" not in raw.replace(b"\r\n", b"") and max(map(len, raw.split(b"\r\n"))) <= 998


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'mailto = "unsubscribe@news.example.com"',
            'mailto = "unsubscribe@news.example.com\\r\\nBcc: all@example.com"',
            "unsubscribe.mailto: must be one line",
        ),
        (
            'url = "https://news.example.com/weekly/unsubscribe/{token}"',
            'url = "https://news.example.com/u/{token} x"',
            "unsubscribe.url: must be an https:// URL containing {token}",
        ),
        ("max_attempts = 5", "max_attempts = 5\ntimeout = 0", "delivery.timeout: must be greater"),
    ],
)
def test_settings_that_reach_headers_or_the_wire_are_checked(
    ready: Path, run_weekly: Run, old: str, new: str, message: str
) -> None:
    path = ready / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    write_list(ready, subscribers(1))
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 1 and message in result.output


def quiet_talk(confirm: Callable[[str], None]) -> Conversation:
    """A conversation that keeps nothing and asks `confirm` the send's one question."""
    return Conversation(
        say=lambda line: None,
        tell=lambda line: None,
        confirm=confirm,
        progress=lambda count: nullcontext(lambda done: None),
    )


def test_a_list_edited_while_the_send_asks_for_confirmation_is_refused(ready: Path) -> None:
    """The second pass reads the very file the plan counted: an edit in between (the editor
    still at the prompt) stops the send before any row or message, on both stores."""
    write_list(ready, subscribers(3))
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        talk = quiet_talk(lambda question: write_list(ready, subscribers(4)))
        with pytest.raises(WeeklyError) as raised:
            send_issue(ready, 324, SendOptions(), talk, yes=False, silent=True)
    assert str(raised.value) == (
        f"{ready / 'subscribers.csv'} changed while sending started: run the command again"
    )
    assert not recorder.messages
    assert deliveries(ready) == []


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_rows_are_added_batch_by_batch_with_their_segment(
    ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows go into the ledger a batch at a time (two here), each with the run's segment."""
    monkeypatch.setattr(send_module, "BATCH", 2)
    rows = [f"r{i}@example.com,R{i},subscribed,{'ai' if i % 4 else 'misc'}" for i in range(9)]
    write_list(ready, rows, header="email,name,status,tags")
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port, concurrency=1)
        options = SendOptions(segment="ai")
        assert send_issue(ready, 324, options, quiet_talk(print), yes=True, silent=True) == 0
    chosen = {f"r{i}@example.com" for i in range(9) if i % 4}
    assert set(recorder.accepted()) == chosen and len(recorder.messages) == 6
    assert {(r.email, r.state, r.segment) for r in deliveries(ready)} == {
        (email, "sent", "ai") for email in chosen
    }


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_plan_counts_every_kind_of_row_exactly(ready: Path, run_weekly: Run) -> None:
    """The plan before a segmented send: suppressed rows, web sign-ups and the segment's
    matches each counted once per reader, and no warning for a column the list has."""
    write_list(
        ready,
        [
            "a1@example.com,A1,subscribed,ai,Co",
            "a2@example.com,A2,subscribed,ai,Co",
            "a3@example.com,A3,subscribed,misc,Co",
            "a4@example.com,A4,subscribed,ai,Co",
            "a5@example.com,A5,subscribed,misc,Co",
            "a6@example.com,A6,unsubscribed,ai,Co",
        ],
        header="email,name,status,tags,company",
    )
    log(
        ready,
        ("a4@example.com", BOUNCED, "2026-01-10T00:00:00+00:00"),
        ("a5@example.com", UNSUBSCRIBED, "2026-01-10T00:00:00+00:00"),
        ("w1@example.com", CONFIRMED, "2026-01-10T00:00:00+00:00"),
        ("w2@example.com", CONFIRMED, "2026-01-10T00:00:00+00:00"),
    )
    configure(ready, 1)
    result = run_weekly("send", "324", "--dry-run", "--segment", "ai")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[3:] == [
        "Rows:     5 subscribed, 1 not subscribed, 0 duplicate",
        "Audience: 2 unsubscribed, bounced or complained since, 2 web sign-ups not in the list",
        "Segment:  ai (--segment)",
        "Matches:  2 of 5 readers",
        "To send:  2 messages",
    ]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_dry_run_of_a_changed_issue_names_both_fingerprints(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(1))
    configure(ready, 1)
    with closing(open_ledger(ready)) as ledger:
        ledger.set_fingerprint(324, "0ld")
    now = load_composed(ready, 324).fingerprint
    result = run_weekly("send", "324", "--dry-run")
    assert (result.exit_code, result.output) == (
        1,
        f"Error: issue 324 changed since its send started (fingerprint 0ld, now {now}): "
        "resuming would mix two versions; "
        "pass --force to send the new version to the remaining recipients\n",
    )
    assert "Would send 1 message " in run_weekly("send", "324", "--dry-run", "--force").output


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_opt_out_recorded_at_the_prompt_is_honoured_by_the_send(ready: Path) -> None:
    """The plan counted the reader; they opt out while the editor reads it: the send's watch
    began before the list was read, so the run skips them and says so."""
    write_list(ready, subscribers(3))
    said: list[str] = []

    def confirm(question: str) -> None:
        assert question == "Send 3 messages now?"
        log(ready, ("user1@example.com", UNSUBSCRIBED, "2026-01-10T00:00:00+00:00"))

    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port, concurrency=1)
        talk = quiet_talk(confirm)
        talk = Conversation(said.append, talk.tell, talk.confirm, talk.progress)
        assert send_issue(ready, 324, SendOptions(), talk, yes=False, silent=True) == 0
    assert sorted(recorder.accepted()) == ["user0@example.com", "user2@example.com"]
    assert {r.email: r.state for r in deliveries(ready)}["user1@example.com"] == "opted_out"
    assert ", skipped 0, opted out during the send 1 in " in said[0]


class OnlyEditor(Refusing):
    """AUTH over plain SMTP on 127.0.0.1, only the newsletter's own sender, 550 for perm*."""

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if not session.authenticated or address != "weekly@news.example.com":
            return "553 5.7.1 not you"
        envelope.mail_from = address
        return "250 OK"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_send_logs_in_and_its_summary_adds_up(
    ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_list(ready, [*subscribers(2), "perm0@example.com,P,subscribed,"])
    monkeypatch.setenv("WEEKLY_SMTP_PASSWORD", "s3cret")
    said: list[str] = []
    talk = quiet_talk(print)
    talk = Conversation(said.append, talk.tell, talk.confirm, talk.progress)
    recorder = OnlyEditor()
    options = {"auth_require_tls": False, "authenticator": only("editor", "s3cret")}
    with smtp_server(recorder, **options) as port:
        configure(ready, port, username="editor")
        started = time.monotonic()
        status = send_issue(ready, 324, SendOptions(), talk, yes=True, silent=True)
        took = time.monotonic() - started
    assert status == 1
    assert sorted(recorder.accepted()) == ["user0@example.com", "user1@example.com"]
    first, failure, hint = said
    shown = re.fullmatch(
        r"Sent 2, failed 1 \(1 mailbox, 0 message, 0 temporary\), uncertain 0, skipped 0, "
        r"opted out during the send 0 in (\d+\.\d) s \(.*\)",
        first,
    )
    assert shown is not None and float(shown[1]) <= took + 0.05
    assert failure == "  failed_permanent: perm0@example.com: 550 5.1.1 no such mailbox"
    assert hint == "List every failure with: weekly status 324 --failed"


class Terminating(Recorder):
    """Sends this process SIGTERM when the first message arrives, and keeps that message
    once the editor has been told (`told` set)."""

    def __init__(self) -> None:
        super().__init__()
        self.told = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.messages:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.get_running_loop().run_in_executor(None, self.told.wait, 10)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sigterm_during_a_send_finishes_the_message_in_flight_and_says_so(ready: Path) -> None:
    write_list(ready, subscribers(3))
    recorder = Terminating()
    told: list[str] = []
    said: list[str] = []

    def tell(line: str) -> None:
        told.append(line)
        recorder.told.set()

    talk = Conversation(said.append, tell, print, lambda count: nullcontext(print))

    def unexpected(signum: int, frame: object) -> None:
        raise AssertionError("the send did not take SIGTERM for itself")

    previous = signal.signal(signal.SIGTERM, unexpected)
    try:
        with smtp_server(recorder) as port:
            configure(ready, port, concurrency=1)
            status = send_issue(ready, 324, SendOptions(), talk, yes=True, silent=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert status == 128 + signal.SIGTERM
    assert told == [
        "\nStopping: finishing messages in flight (SIGTERM; "
        "a second Ctrl-C or signal quits at once)."
    ]
    assert list(recorder.accepted()) == ["user0@example.com"]
    assert said[1:] == ["Interrupted: 2 left pending; run the same command to go on"]
    assert state_counts(ready) == {"sent": 1, "pending": 2}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_dry_run_after_part_of_the_issue_went_counts_only_the_rest(
    ready: Path, run_weekly: Run
) -> None:
    write_list(ready, subscribers(2))
    with smtp_server(Recorder()) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 0
    write_list(ready, subscribers(5))
    dry = run_weekly("send", "324", "--dry-run")
    assert "Skipped:  2 already sent\n" in dry.output
    assert "Would send 3 messages " in dry.output
