"""Audience paths the main tests do not reach: malformed tokens that are still signed, an
unknown unsubscribe source, an empty list exported, and more bad rows than a report lists."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from weekly.audience.opt_out import unsubscribe, unsubscribe_by_hand
from weekly.audience.recipients import Audience, export_list
from weekly.audience.subscriber_list import REPORT_LIMIT, ListReport, Subscriber, list_stamp
from weekly.audience.tokens import (
    CONFIRM_MAC_BYTES,
    CONFIRM_PURPOSE,
    make_token,
    read_confirm_token,
    sign,
    token_address,
)
from weekly.errors import WeeklyError
from weekly.project import KNOWN_COLUMNS
from weekly.store import open_consent_log
from weekly.store.consent import CONFIRMED, UNSUBSCRIBED, Event

from .smtp import write_list

SECRET = b"a-secret-for-the-edge-tests"
LIST_ID = "weekly.news.example.com"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    "token",
    [
        "a.AAAAAAAAAAAAAAAAAAAAAA",  # one base64 character decodes to nothing whole
        b64(bytes([0xFF, 0xFE])) + ".AAAAAAAAAAAAAAAAAAAAAA",  # bytes that are no UTF-8
    ],
)
def test_a_malformed_unsubscribe_token_names_no_one(token: str) -> None:
    assert token_address(SECRET, LIST_ID, token) is None
    assert token_address(SECRET, LIST_ID, make_token(SECRET, LIST_ID, "a@example.com")) == (
        "a@example.com"
    )


@pytest.mark.parametrize("content", [b"not json", json.dumps({"email": "a@example.com"}).encode()])
def test_a_signed_confirmation_token_with_a_bad_payload_is_refused(content: bytes) -> None:
    payload = b64(content)
    mac = sign(SECRET, CONFIRM_PURPOSE, payload.encode(), CONFIRM_MAC_BYTES)
    assert read_confirm_token(SECRET, f"{payload}.{mac}", 3600) is None


def test_an_unknown_unsubscribe_source_is_refused(newsletter: Path, store: str) -> None:
    with open_consent_log(newsletter) as store:
        with pytest.raises(ValueError, match="unknown unsubscribe source 'fax'"):
            unsubscribe(store, "a@example.com", "fax")
        assert store.history("a@example.com") == []


def test_an_empty_list_exports_its_header(newsletter: Path, store: str) -> None:
    path = write_list(newsletter, [])
    out = io.StringIO()
    assert export_list(newsletter, path, None, out) == 0
    assert out.getvalue() == ",".join(KNOWN_COLUMNS) + "\n"


def test_a_report_lists_at_most_its_limit_and_counts_the_rest(tmp_path: Path) -> None:
    extra = 2
    bad = [f"not-an-address-{n},,subscribed," for n in range(REPORT_LIMIT + extra)]
    twice = ["same@example.com,,subscribed,"] * (REPORT_LIMIT + extra + 1)
    report = ListReport.read(write_list(tmp_path, bad + twice))
    assert (report.problem_count, report.duplicate_count) == (REPORT_LIMIT + extra,) * 2
    assert len(report.problems) == len(report.duplicates) == REPORT_LIMIT
    assert list(report.lines())[-1] == f"… and {2 * extra} more not listed"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_walk_gives_each_list_row_once_then_each_sign_up_the_list_lacks(
    newsletter: Path, store: str
) -> None:
    """A list row who also signed up on the web comes once, as the list's; a web sign-up
    not on the list comes after, with its name, topics and the time it confirmed; a row
    subscribed again in the list after leaving on the web gets mail."""
    path = write_list(
        newsletter,
        [
            "both@example.com,Both,subscribed,,Acme",
            "back@example.com,Back,subscribed,2026-11-20T00:00:00+00:00,",
            "gone@example.com,Gone,subscribed,2026-11-01T00:00:00+00:00,",
        ],
        header="email,name,status,subscribed_at,company",
    )
    with open_consent_log(newsletter) as log:
        log.record(
            [
                Event("2026-11-05T09:00:00+00:00", "both@example.com", CONFIRMED, "web"),
                Event(
                    "2026-11-06T09:00:00+00:00",
                    "web@example.com",
                    CONFIRMED,
                    "web",
                    name="웹",
                    tags="ai;policy",
                ),
                Event("2026-11-07T09:00:00+00:00", "zed@example.com", CONFIRMED, "web"),
                Event("2026-11-10T09:00:00+00:00", "back@example.com", UNSUBSCRIBED, "link"),
                Event("2026-11-10T09:00:00+00:00", "gone@example.com", UNSUBSCRIBED, "link"),
            ]
        )
    audience = Audience.load(newsletter)
    walked = list(audience.walk(path))
    assert [(row.email, signup) for row, signup in walked] == [
        ("both@example.com", False),
        ("back@example.com", False),
        ("gone@example.com", False),
        ("web@example.com", True),
        ("zed@example.com", True),
    ]
    assert [audience.admits(row) for row, _ in walked] == [True, True, False, True, True]
    assert walked[-1][0].fields == {}  # no topics picked: no tags cell either
    assert walked[-2][0] == Subscriber(
        line=0,
        email="web@example.com",
        address="web@example.com",
        key="web@example.com",
        name="웹",
        status="subscribed",
        fields={"tags": "ai;policy"},
        subscribed_at="2026-11-06T09:00:00+00:00",
        tags=frozenset({"ai", "policy"}),
    )
    stale = list_stamp(path)
    write_list(newsletter, ["new@example.com,New,subscribed,"])  # edited meanwhile
    with pytest.raises(WeeklyError, match="changed while sending started"):
        list(audience.walk(path, stale))


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_unsubscribe_by_hand_records_no_ip(newsletter: Path, store: str) -> None:
    """`weekly unsubscribe ADDRESS` was asked by no web visitor: the event keeps no IP."""
    event = unsubscribe_by_hand(newsletter, "Kim@Example.com")
    with open_consent_log(newsletter) as log:
        assert log.history("kim@example.com") == [event]
    assert (event.email, event.kind, event.source, event.ip) == (
        "Kim@example.com",
        UNSUBSCRIBED,
        "manual",
        "",
    )
