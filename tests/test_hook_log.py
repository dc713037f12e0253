"""The hook log in either store: a request key is taken once (and forgotten once out of the
window), and a run of soft bounces is what came after the last reported delivery."""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly.audience.provider_events import (
    DELIVERED,
    Report,
    ReportError,
    provider_time,
    record_reports,
    report,
)
from weekly.store import open_consent_log, open_hook_log
from weekly.store.consent import BOUNCED, CONFIRMED, SOFT_BOUNCED, Event


def at(day: int) -> str:
    return f"2026-11-{day:02d}T09:00:00+00:00"


def test_a_request_key_is_taken_once_until_it_is_out_of_the_window(
    newsletter: Path, store: str
) -> None:
    log = open_hook_log(newsletter)
    try:
        assert log.first_use("mailgun:token-1", at(10), at(9))
        assert not log.first_use("mailgun:token-1", at(10), at(9))
        assert log.first_use("mailgun:token-2", at(10), at(9))
        # Once keys made on the 10th are out of the window they are let go.
        assert log.first_use("mailgun:token-1", at(12), at(11))
    finally:
        log.close()
    reopened = open_hook_log(newsletter)  # kept in the store: it holds across restarts
    try:
        assert not reopened.first_use("mailgun:token-1", at(12), at(11))
    finally:
        reopened.close()


def test_a_soft_run_is_what_follows_the_last_delivery(newsletter: Path, store: str) -> None:
    log = open_hook_log(newsletter)
    try:
        assert log.soft_bounce("a", "kim@example.com", at(1), "") == 1
        assert log.soft_bounce("a", "kim@example.com", at(1), "") is None  # the same event
        assert log.soft_bounce("b", "kim@example.com", at(3), "") == 2
        assert log.soft_bounce("x", "lee@example.com", at(3), "") == 1
        log.delivered("kim@example.com", at(2))
        assert log.soft_bounce("c", "kim@example.com", at(4), "") == 2  # b and c
        log.delivered("kim@example.com", at(1))  # an older delivery, told late: no change
        assert log.soft_bounce("d", "kim@example.com", at(5), "") == 3
        log.delivered("kim@example.com", at(6))
        assert log.soft_bounce("e", "kim@example.com", at(7), "") == 1
        assert log.soft_bounce("f", "kim@example.com", at(9), "") == 2
        assert log.soft_bounce("g", "kim@example.com", at(10), at(8)) == 2  # f and g
    finally:
        log.close()


def soft(ref: str, day: int) -> Report:
    return Report("mailgun", "Park@Example.com", SOFT_BOUNCED, at(day), ref, "452 mailbox full")


def test_the_limit_th_soft_bounce_in_a_row_is_one_bounce_event(
    newsletter: Path, store: str
) -> None:
    with open_consent_log(newsletter) as consent:
        log = open_hook_log(newsletter)
        try:
            assert record_reports(consent, log, [soft("1", 1)], 2) == 0
            delivered = Report("mailgun", "park@example.com", DELIVERED, at(2), "d", "")
            assert record_reports(consent, log, [delivered, soft("2", 3)], 2) == 0
            assert record_reports(consent, log, [soft("3", 4)], 2) == 1
            assert record_reports(consent, log, [soft("3", 4)], 2) == 0
        finally:
            log.close()
        (event,) = consent.history("park@example.com")
    assert (event.kind, event.at, event.ref) == (BOUNCED, at(4), "3:run")
    assert event.detail == "2 soft bounces in a row: 452 mailbox full"


def test_a_confirmation_starts_a_soft_run_afresh(newsletter: Path, store: str) -> None:
    with open_consent_log(newsletter) as consent:
        log = open_hook_log(newsletter)
        try:
            assert record_reports(consent, log, [soft("1", 1), soft("2", 2)], 2) == 1
            consent.record([Event(at(3), "park@example.com", CONFIRMED, "web")])
            assert record_reports(consent, log, [soft("3", 4)], 2) == 0
            assert consent.standings()["park@example.com"].status == CONFIRMED
            assert record_reports(consent, log, [soft("4", 5)], 2) == 1
        finally:
            log.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-30T09:00:00.1234567Z", "2026-11-30T09:00:00+00:00"),
        (1764493200, "2025-11-30T09:00:00+00:00"),
        (1764493200.9, "2025-11-30T09:00:00+00:00"),
    ],
)
def test_provider_times_read_as_the_logs_write_them(given: object, expected: str) -> None:
    assert provider_time(given) == expected


@pytest.mark.parametrize("given", ["yesterday", "2026-11-30T09:00:00", None, True])
def test_a_provider_time_that_does_not_read_is_now(given: object) -> None:
    assert provider_time(given).endswith("+00:00")


@pytest.mark.parametrize("address", [None, 7, "not an address"])
def test_a_report_needs_an_address(address: object) -> None:
    with pytest.raises(ReportError, match=r"^sendgrid: "):
        report("sendgrid", address, BOUNCED, None, "ref", "")


def test_a_report_holds_the_payloads_fields_as_the_logs_write_them() -> None:
    got = report("postmark", "Kim@Example.COM", SOFT_BOUNCED, 1764493200, "42", " 452 full \n")
    assert got == Report(
        "postmark",
        "Kim@example.com",
        SOFT_BOUNCED,
        "2025-11-30T09:00:00+00:00",
        "postmark:42",
        "452 full",
    )


def test_only_soft_bounces_after_the_confirmation_count(newsletter: Path, store: str) -> None:
    """A soft bounce before the reader confirmed again is not part of the run."""
    with open_consent_log(newsletter) as consent:
        log = open_hook_log(newsletter)
        try:
            assert record_reports(consent, log, [soft("1", 1)], 2) == 0
            consent.record([Event(at(2), "park@example.com", CONFIRMED, "web")])
            assert record_reports(consent, log, [soft("2", 3)], 2) == 0
            assert consent.standings()["park@example.com"].status == CONFIRMED
        finally:
            log.close()
