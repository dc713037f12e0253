"""The hit log keeps clicks and opens and counts them the same way in both stores."""

from __future__ import annotations

from pathlib import Path

from weekly.store import open_hit_log
from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE, OPEN, Hit, Tally


def test_hits_are_counted_per_link_and_agent_with_distinct_visitors(
    newsletter: Path, store: str
) -> None:
    at = "2026-12-01T09:00:00+00:00"
    log = open_hit_log(newsletter)
    try:
        log.record([])
        log.record(
            [
                Hit(324, CLICK, 1, HUMAN, "a", at),
                Hit(324, CLICK, 1, HUMAN, "a", at),
                Hit(324, CLICK, 1, HUMAN, "b", at),
                Hit(324, CLICK, 2, BOT, "", at),
                Hit(324, OPEN, 0, MACHINE, "a", at),
                Hit(325, CLICK, 1, HUMAN, "", at),
            ]
        )
    finally:
        log.close()
    log = open_hit_log(newsletter)  # counted from what was committed, not from memory
    try:
        assert log.tallies(324) == [
            Tally(324, CLICK, 1, HUMAN, 3, 2),
            Tally(324, CLICK, 2, BOT, 1, 0),
            Tally(324, OPEN, 0, MACHINE, 1, 1),
        ]
        assert [(t.issue, t.total) for t in log.tallies()] == [
            (324, 3),
            (324, 1),
            (324, 1),
            (325, 1),
        ]
        assert log.tallies(999) == []
    finally:
        log.close()


def test_totals_count_over_every_link_of_a_kind(newsletter: Path, store: str) -> None:
    at = "2026-12-01T09:00:00+00:00"
    log = open_hit_log(newsletter)
    try:
        log.record(
            [
                Hit(324, CLICK, 1, HUMAN, "a", at),
                Hit(324, CLICK, 2, HUMAN, "a", at),
                Hit(324, CLICK, 3, HUMAN, "b", at),
                Hit(325, CLICK, 1, HUMAN, "", at),
            ]
        )
        assert log.totals(324) == [Tally(324, CLICK, 0, HUMAN, 3, 2)]
        assert log.totals() == [
            Tally(324, CLICK, 0, HUMAN, 3, 2),
            Tally(325, CLICK, 0, HUMAN, 1, 0),
        ]
    finally:
        log.close()
