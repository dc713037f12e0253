"""The subscription log: events fold into a standing; `weekly unsubscribe` records one."""

from __future__ import annotations

import mailbox
from pathlib import Path

from weekly.addresses import list_id_of
from weekly.audience.tokens import make_token
from weekly.store import existing_consent_log, open_consent_log
from weekly.store.consent import (
    BOUNCED,
    COMPLAINED,
    CONFIRMED,
    SOFT_BOUNCED,
    UNSUBSCRIBED,
    Event,
    fold,
)


def event(at: str, kind: str, source: str = "test", **extra: str) -> Event:
    return Event(at=at, email="Kim@Example.com", kind=kind, source=source, **extra)


def test_confirmation_then_unsubscribe_suppresses() -> None:
    standing = fold(
        [
            event("2026-01-01T00:00:00+00:00", CONFIRMED, "web", name="김"),
            event("2026-02-01T00:00:00+00:00", UNSUBSCRIBED, "one-click"),
        ]
    )
    assert standing is not None and standing.suppressed and standing.status == UNSUBSCRIBED
    assert standing.name == "김"
    # A list row subscribed before the unsubscribe stays off; one re-subscribed after is back on.
    assert standing.suppresses("2025-12-31")
    assert standing.suppresses("")
    assert not standing.suppresses("2026-03-01T09:00:00+09:00")


def test_confirmation_after_complaint_resubscribes() -> None:
    standing = fold(
        [
            event("2026-01-01T00:00:00+00:00", COMPLAINED),
            event("2026-01-05T00:00:00+00:00", CONFIRMED, "web"),
        ]
    )
    assert standing is not None and not standing.suppressed
    assert not standing.suppresses("")


def test_three_soft_bounces_in_a_row_suppress() -> None:
    soft = [event(f"2026-01-0{day}T00:00:00+00:00", SOFT_BOUNCED) for day in (1, 2)]
    assert fold(soft) is None
    reset = fold([*soft, event("2026-01-03T00:00:00+00:00", CONFIRMED), soft[0]])
    assert reset is not None and not reset.suppressed
    third = fold([*soft, event("2026-01-04T00:00:00+00:00", SOFT_BOUNCED)])
    assert third is not None and third.status == BOUNCED


def test_hard_bounce_suppresses_at_once() -> None:
    standing = fold([event("2026-01-01T00:00:00+00:00", BOUNCED)])
    assert standing is not None and standing.status == BOUNCED


def test_same_ref_is_recorded_once(tmp_path: Path, store: str) -> None:
    with open_consent_log(tmp_path) as log:
        bounce = event("2026-01-01T00:00:00+00:00", BOUNCED, ref="dsn:abc:kim@example.com")
        assert log.record([bounce]) == 1
        assert log.record([bounce]) == 0
        assert len(log.history("KIM@example.com")) == 1
        assert set(log.standings()) == {"kim@example.com"}
        mark = log.cursor()
        assert log.changed_since(mark) == (mark, set())
        log.record([event("2026-01-02T00:00:00+00:00", CONFIRMED)])
        assert log.changed_since(mark)[1] == {"kim@example.com"}


def test_standings_count_extra_events_and_changes_move_the_cursor(
    tmp_path: Path, store: str
) -> None:
    with open_consent_log(tmp_path) as log:
        log.record([event("2026-01-01T00:00:00+00:00", CONFIRMED, tags="ai")])
        mark = log.cursor()
        lee = Event("2026-01-01T00:00:00+00:00", "lee@example.com", CONFIRMED, "web")
        log.record([lee, event("2026-01-02T00:00:00+00:00", CONFIRMED)])
        after = log.cursor()
        assert after > mark
        assert log.changed_since(mark) == (after, {"lee@example.com", "kim@example.com"})
        # A 5xx reply the ledger knows counts as a bounce without being recorded.
        extra = event("2026-01-03T00:00:00+00:00", BOUNCED, source="smtp")
        counted = log.standings([extra])
        assert counted["kim@example.com"].status == BOUNCED
        assert counted["lee@example.com"].status == CONFIRMED
        standing = log.standings()["kim@example.com"]
        assert (standing.status, standing.tags) == (CONFIRMED, "ai")


def test_unsubscribe_command_records_manual_event(newsletter: Path, run_weekly, store: str) -> None:
    result = run_weekly("unsubscribe", " Lee@Example.COM ")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Unsubscribed Lee@example.com (manual) at ")
    with open_consent_log(newsletter) as log:
        (recorded,) = log.history("lee@example.com")
    assert (recorded.kind, recorded.source) == (UNSUBSCRIBED, "manual")


def test_unsubscribe_requests_mailed_to_the_mailto_address(
    newsletter: Path, run_weekly, monkeypatch, store: str
) -> None:
    monkeypatch.setenv("WEEKLY_SECRET", "a-test-secret-that-is-long-enough")
    token = make_token(
        b"a-test-secret-that-is-long-enough",
        list_id_of("AI 주간 동향 <weekly@news.example.com>"),
        "kim@example.com",
    )
    box = mailbox.Maildir(newsletter / "unsubscribes", create=True)
    head = "From: someone@example.com\nTo: unsubscribe@news.example.com\n"
    box.add(f"{head}Subject: unsubscribe {token}\n\n")
    box.add(f"{head}Subject: unsubscribe {token[:-3]}xyz\n\nplease\n")  # forged
    box.add(f"{head}Subject: Re: stop\nContent-Type: text/plain\n\nunsubscribe {token}\n")
    box.add(f"{head}Subject: {token}\nContent-Type: text/html\n\n<p>stop</p>\n")  # no text
    box.add(f"{head}Subject: stop\n\nplease stop sending\n")  # no token at all
    result = run_weekly("unsubscribe", "--mailbox", str(newsletter / "unsubscribes"))
    assert result.output == "Read 5 messages: 3 new unsubscribes, 2 without a valid token\n"
    again = run_weekly("unsubscribe", "--mailbox", str(newsletter / "unsubscribes"))
    assert again.output == "Read 5 messages: 0 new unsubscribes, 2 without a valid token\n"
    with open_consent_log(newsletter) as log:
        assert [e.source for e in log.history("kim@example.com")] == ["mailto"] * 3


def test_unsubscribe_needs_address_or_mailbox(run_weekly) -> None:
    assert run_weekly("unsubscribe").exit_code == 2
    assert run_weekly("unsubscribe", "a@example.com", "--mailbox", "x").exit_code == 2


def test_unsubscribe_command_rejects_bad_address(newsletter: Path, run_weekly, store: str) -> None:
    result = run_weekly("unsubscribe", "not-an-address")
    assert result.exit_code == 1
    assert result.output.startswith("Error: 'not-an-address' is not a valid address")
    assert existing_consent_log(newsletter) is None  # in PostgreSQL too: nothing created
