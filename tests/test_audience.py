"""Who `weekly send` mails once the subscription log has a say: suppressions, sign-ups, the
ledger's 5xx replies as hard bounces, DKIM on every message, and `weekly subscribers export`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim
import pytest
from click.testing import Result

from weekly.store import open_consent_log
from weekly.store.consent import (
    BOUNCED,
    COMPLAINED,
    CONFIRMED,
    UNSUBSCRIBED,
    Event,
)

from .smtp import Recorder, configure, make_build, smtp_server, write_list
from .storerows import snapshot

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

Run = Callable[..., Result]


def log(root: Path, *events: tuple[str, str, str]) -> None:
    """Record (address, kind, time) events, as serve, bounces or unsubscribe would."""
    with open_consent_log(root) as store:
        store.record(
            Event(at=at, email=address, kind=kind, source="test", name="웹 가입자")
            for address, kind, at in events
        )


def send(run_weekly: Run, root: Path, number: int = 324, handler: Any = None) -> Recorder:
    recorder = handler or Recorder()
    with smtp_server(recorder) as port:
        configure(root, port)
        result = run_weekly("send", str(number), "--yes")
    assert result.exit_code in (0, 1), result.output
    return recorder


def test_send_applies_the_log(ready: Path, run_weekly: Run) -> None:
    write_list(
        ready,
        [
            "stay@example.com,Stay,subscribed,,",
            "left@example.com,Left,subscribed,,",
            "back@example.com,Back,subscribed,2026-03-01,",
            "complained@example.com,C,subscribed,,",
            "marked@example.com,Marked,unsubscribed,,",
        ],
        header="email,name,status,subscribed_at,company",
    )
    log(
        ready,
        ("left@example.com", UNSUBSCRIBED, "2026-01-10T00:00:00+00:00"),
        ("back@example.com", UNSUBSCRIBED, "2026-01-10T00:00:00+00:00"),  # before re-joining
        ("complained@example.com", COMPLAINED, "2026-01-11T00:00:00+00:00"),
        ("marked@example.com", CONFIRMED, "2026-01-12T00:00:00+00:00"),  # the list says no
        ("web@example.com", CONFIRMED, "2026-01-12T00:00:00+00:00"),
        ("gone@example.com", CONFIRMED, "2026-01-12T00:00:00+00:00"),
        ("gone@example.com", UNSUBSCRIBED, "2026-01-13T00:00:00+00:00"),
    )
    recorder = send(run_weekly, ready)
    assert sorted(recorder.accepted()) == [
        "back@example.com",
        "stay@example.com",
        "web@example.com",
    ]
    web = recorder.parsed()["web@example.com"]
    assert web["To"].addresses[0].display_name == "웹 가입자"
    assert "웹 가입자 님" in web.get_body(("plain",)).get_content()


def test_plan_counts_suppressed_and_signups(ready: Path, run_weekly: Run) -> None:
    write_list(ready, ["a@example.com,A,subscribed,", "b@example.com,B,subscribed,"])
    log(
        ready,
        ("a@example.com", BOUNCED, "2026-01-10T00:00:00+00:00"),
        ("new@example.com", CONFIRMED, "2026-01-10T00:00:00+00:00"),
    )
    result = run_weekly("send", "324", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Audience: 1 unsubscribed, bounced or complained since, 1 web sign-ups" in result.output
    assert "Would send 2 messages" in result.output
    recorded = snapshot(ready)
    assert recorded["sends"] == recorded["deliveries"] == []  # a dry run records no send


class Refusing(Recorder):
    """550 for every address starting with `perm`."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("perm"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_5xx_in_the_ledger_is_a_hard_bounce(ready: Path, run_weekly: Run) -> None:
    make_build(ready, 325)
    write_list(ready, ["perm@example.com,P,subscribed,", "ok@example.com,O,subscribed,"])
    first = send(run_weekly, ready, 324, Refusing())
    assert sorted(first.accepted()) == ["ok@example.com"]
    second = send(run_weekly, ready, 325)
    assert sorted(second.accepted()) == ["ok@example.com"]
    exported = run_weekly("subscribers", "export")
    rows = {r["email"]: r["status"] for r in csv.DictReader(io.StringIO(exported.output))}
    assert rows == {"perm@example.com": "bounced", "ok@example.com": "subscribed"}


def test_every_sent_message_is_dkim_signed(ready: Path, run_weekly: Run, dkim_dns) -> None:
    write_list(ready, ["minji@example.com,김민지,subscribed,", "alice@example.org,Alice,,"])
    recorder = send(run_weekly, ready)
    assert len(recorder.messages) == 2
    for _, data in recorder.messages:
        assert data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
        assert dkim.verify(data, dnsfunc=dkim_dns)
        assert not dkim.verify(data.replace(b"--\r\n", b"--\r\nx\r\n", 1), dnsfunc=dkim_dns)


def test_export_writes_the_merged_list(ready: Path, run_weekly: Run) -> None:
    write_list(
        ready,
        ["kim@example.com,김,subscribed,한빛", "lee@example.com,Lee,subscribed,Northwind"],
    )
    log(
        ready,
        ("lee@example.com", UNSUBSCRIBED, "2026-01-10T00:00:00+00:00"),
        ("park@example.com", CONFIRMED, "2026-01-11T09:30:00+00:00"),
    )
    out = ready / "merged.csv"
    result = run_weekly("subscribers", "export", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Wrote 3 subscribers" in result.output
    assert out.read_text(encoding="utf-8") == (
        "email,name,status,subscribed_at,company\n"
        "kim@example.com,김,subscribed,,한빛\n"
        "lee@example.com,Lee,unsubscribed,,Northwind\n"
        "park@example.com,웹 가입자,subscribed,2026-01-11T09:30:00+00:00,\n"
    )
    # The export reads back as a valid list.
    assert run_weekly("subscribers", "check", "--list", str(out)).exit_code == 0


def test_export_refuses_an_invalid_list_and_writes_nothing(ready: Path, run_weekly: Run) -> None:
    write_list(ready, ["kim@example.com,김,subscribed,", "not-an-address,X,subscribed,"])
    out = ready / "merged.csv"
    result = run_weekly("subscribers", "export", "-o", str(out))
    assert result.exit_code == 1
    assert "subscribers.csv:3: email:" in result.output
    assert not out.exists()
