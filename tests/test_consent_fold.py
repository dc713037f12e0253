"""How one address's events add up to its standing: soft bounces counted since the last
confirmation, the name kept, unreadable times, and an opt-out at the very second of a row."""

from __future__ import annotations

from datetime import UTC, datetime

from weekly.store.consent import (
    BOUNCED,
    CONFIRMED,
    SOFT_BOUNCED,
    SOFT_LIMIT,
    UNSUBSCRIBED,
    Event,
    fold,
)

ADDRESS = "reader@example.com"


def event(day: int, kind: str, name: str = "") -> Event:
    return Event(f"2025-10-{day:02d}T09:00:00+00:00", ADDRESS, kind, "test", name=name)


def test_a_confirmation_starts_the_soft_bounce_count_again() -> None:
    before = [event(1 + n, SOFT_BOUNCED) for n in range(SOFT_LIMIT - 1)]
    after = [event(10 + n, SOFT_BOUNCED) for n in range(SOFT_LIMIT - 1)]
    standing = fold([*before, event(5, CONFIRMED, "김"), *after])
    assert standing is not None and standing.status == CONFIRMED


def test_soft_bounces_that_suppress_keep_the_time_and_the_name() -> None:
    soft = [event(10 + n, SOFT_BOUNCED) for n in range(SOFT_LIMIT)]
    standing = fold([event(1, CONFIRMED, "김"), *soft])
    assert standing is not None
    assert (standing.status, standing.name) == (BOUNCED, "김")
    assert standing.since == datetime(2025, 10, 10 + SOFT_LIMIT - 1, 9, tzinfo=UTC)


def test_an_address_never_confirmed_has_no_name() -> None:
    standing = fold([event(1, UNSUBSCRIBED)])
    assert standing is not None and standing.name == ""


def test_an_unreadable_time_counts_as_the_earliest() -> None:
    standing = fold([Event("sometime", ADDRESS, UNSUBSCRIBED, "test")])
    assert standing is not None
    assert standing.since == datetime.min.replace(tzinfo=UTC)
    assert not standing.suppresses("2025-01-01")  # older than any row


def test_an_opt_out_at_the_very_second_of_the_row_stops_mail() -> None:
    standing = fold([event(3, UNSUBSCRIBED)])
    assert standing is not None
    assert standing.suppresses("2025-10-03T09:00:00+00:00")
    assert not standing.suppresses("2025-10-03T09:00:01+00:00")
    assert standing.suppresses("")  # a row without a time


def test_a_later_confirmation_without_tags_keeps_the_tags_chosen_before() -> None:
    tagged = Event("2025-10-01T09:00:00+00:00", ADDRESS, CONFIRMED, "web", tags="ai;policy")
    standing = fold([tagged, event(2, CONFIRMED, "김")])
    assert standing is not None
    assert (standing.status, standing.name, standing.tags) == (CONFIRMED, "김", "ai;policy")
