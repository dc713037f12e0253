"""A newsletter with known sends, consent events and hits, so the stats are known exactly.

Issue 324 (composed, 5 tracked links): 10 recipients, 7 delivered, 2 failed, 1 opted out;
2 of its recipients unsubscribed and 1 complained since the send; readers v1 and v2 clicked
(v1 two links), 3 readers opened, 2 machine opens, 1 bot open, 4 scanner clicks.
Issue 323: 3 recipients, all delivered, nothing tracked."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from weekly.cli import main
from weekly.clock import stamp
from weekly.store import open_consent_log, open_hit_log, open_ledger
from weekly.store.consent import COMPLAINED, CONFIRMED, UNSUBSCRIBED, Event
from weekly.store.deliveries import FAILED_MESSAGE, FAILED_PERMANENT, OPTED_OUT, SENT
from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE, OPEN, Hit

STATES_324 = [SENT] * 7 + [FAILED_PERMANENT, FAILED_MESSAGE, OPTED_OUT]
LINK_2 = "클로드 소넷 4.5 발표문"  # the text of link 2 of issue 324


def recipients(number: int, count: int) -> list[tuple[str, str]]:
    return [(f"r{i}.{number}@example.com",) * 2 for i in range(count)]


def record_send(root: Path, number: int, states: list[str]) -> None:
    """A ledger as a send of issue `number` leaves it, one row per state in `states`."""
    ledger = open_ledger(root)
    try:
        ledger.set_fingerprint(number, "f" * 16)
        rows = recipients(number, len(states))
        ledger.add(number, rows)
        for (key, _), state in zip(rows, states, strict=True):
            ledger.mark(number, key, state, "250 ok")
    finally:
        ledger.close()


def record_hits(root: Path, hits: list[tuple[int, str, int, str, str, int]]) -> None:
    """(issue, kind, link, agent, visitor, times) into the hit log."""
    log = open_hit_log(root)
    try:
        log.record(
            [Hit(i, k, n, a, v, stamp()) for i, k, n, a, v, times in hits for _ in range(times)]
        )
    finally:
        log.close()


def known_newsletter(root: Path) -> None:
    """Issues 323 and 324 composed and sent, with the events and hits the docstring says."""
    for number in (323, 324):
        result = CliRunner().invoke(main, ["compose", str(number), "--root", str(root)])
        assert result.exit_code == 0, result.output
    record_send(root, 323, [SENT] * 3)
    record_send(root, 324, STATES_324)
    now = stamp()
    events = [
        Event(now, "r1.324@example.com", UNSUBSCRIBED, "one-click", ref="a"),
        Event(now, "r1.324@example.com", UNSUBSCRIBED, "link", ref="b"),  # the same reader
        Event(now, "R5.324@Example.com", UNSUBSCRIBED, "mailto", ref="c"),  # any case
        Event("2020-01-01T00:00:00+00:00", "r2.324@example.com", UNSUBSCRIBED, "link", ref="d"),
        Event(now, "r3.324@example.com", COMPLAINED, "arf", ref="e"),
        Event(now, "r4.324@example.com", CONFIRMED, "web", ref="f"),
        Event(now, "stranger@example.com", UNSUBSCRIBED, "link", ref="g"),  # not a recipient
    ]
    with open_consent_log(root) as log:
        log.record(events)
    record_hits(
        root,
        [
            (324, CLICK, 2, HUMAN, "v1", 3),
            (324, CLICK, 2, HUMAN, "v2", 1),
            (324, CLICK, 3, HUMAN, "v1", 1),
            (324, CLICK, 2, BOT, "", 2),
            (324, CLICK, 4, BOT, "", 1),
            (324, CLICK, 5, MACHINE, "v9", 1),
            (324, OPEN, 0, HUMAN, "v1", 2),
            (324, OPEN, 0, HUMAN, "v2", 1),
            (324, OPEN, 0, HUMAN, "v3", 1),
            (324, OPEN, 0, MACHINE, "v4", 1),
            (324, OPEN, 0, MACHINE, "v5", 1),
            (324, OPEN, 0, BOT, "", 1),
            (325, CLICK, 1, HUMAN, "v1", 1),  # an issue never sent: in no report
        ],
    )
