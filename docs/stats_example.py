"""Redraw docs/stats-links.png and docs/stats-issues.png: `weekly stats` charts over made-up
but plausible sends of the example issues.

Run from the repository: `.venv/bin/python docs/stats_example.py` (needs a Korean font, e.g.
Debian fonts-nanum). In a scratch copy of the newsletter it composes issues 323 and 324,
records ten weekly sends (issues 315 to 324, the last two dated by their front matter) to a
list growing from 2,000 readers, unsubscribes, and hits drawn at fixed seeds: readers who
open (about 40 %) and click (about 10 %, more on the first links), Apple-style proxy opens
(about 30 %) and link scanners, as the hit log would hold them. Then it runs
`weekly stats --chart` twice and prints both reports.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
from pathlib import Path
from unittest import mock

from click.testing import CliRunner

from weekly.cli import main
from weekly.clock import stamp
from weekly.render.links import links_of
from weekly.store import open_consent_log, open_hit_log, open_ledger
from weekly.store.consent import UNSUBSCRIBED, Event
from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE, OPEN, Hit

REPO = Path(__file__).resolve().parent.parent
LAST = 324
WEEKS = 10
LAST_SENT = dt.datetime(2025, 10, 2, 0, 30, tzinfo=dt.UTC)  # 09:30 in Seoul, issue 324's date


def weekly(*args: str, root: Path) -> str:
    result = CliRunner().invoke(main, [*args, "--root", str(root)])
    assert result.exit_code == 0, result.output
    return result.output


def send(root: Path, number: int, at: dt.datetime, readers: int, chance: random.Random) -> None:
    """Issue `number` sent at `at` to `readers` readers, with its unsubscribes and hits."""
    keys = [(f"reader{i}@example.com",) * 2 for i in range(readers)]
    with mock.patch("weekly.clock.now", return_value=at):  # the send's start, in the past
        ledger = open_ledger(root)
        try:
            ledger.set_fingerprint(number, "example")
            ledger.add(number, keys)
            for key, _ in keys:
                ledger.mark(
                    number, key, "sent" if chance.random() > 0.012 else "failed_permanent", ""
                )
        finally:
            ledger.close()
    later = stamp(at + dt.timedelta(hours=5))
    gone = chance.sample(keys, k=chance.randint(2, 9))
    with open_consent_log(root) as log:
        log.record(
            Event(later, key, UNSUBSCRIBED, "one-click", ref=f"{number}:{key}") for key, _ in gone
        )
    links = len(links_of(root, number)) if number in (323, LAST) else 5
    hits: list[Hit] = []
    interest = 0.08 + 0.05 * chance.random()  # how much this links drew readers
    for i in range(readers):
        mark = f"{number}-{i}"
        if chance.random() < 0.30:  # the mail provider's proxy fetched the pixel
            hits.append(Hit(number, OPEN, 0, MACHINE, mark, later))
        if chance.random() < 0.40:
            hits += [Hit(number, OPEN, 0, HUMAN, mark, later)] * chance.choice((1, 1, 2, 3))
            for link in range(1, links + 1):
                if chance.random() < interest / link**0.6:
                    hits += [Hit(number, CLICK, link, HUMAN, mark, later)] * chance.choice(
                        (1, 1, 2)
                    )
        if chance.random() < 0.02:  # a security gateway followed every link
            hits += [Hit(number, CLICK, link, BOT, "", later) for link in range(1, links + 1)]
    log = open_hit_log(root)
    try:
        log.record(hits)
    finally:
        log.close()


def main_example() -> None:
    chance = random.Random(324)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "newsletter"
        root.mkdir()
        shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
        shutil.copytree(REPO / "issues", root / "issues")
        for number in (323, LAST):
            weekly("compose", str(number), root=root)
        for week in range(WEEKS):
            number = LAST - WEEKS + 1 + week
            at = LAST_SENT - dt.timedelta(weeks=WEEKS - 1 - week)
            send(root, number, at, 2000 + 45 * week + chance.randint(0, 30), chance)
        print(weekly("stats", "--chart", str(REPO / "docs" / "stats-issues.png"), root=root))
        print(
            weekly("stats", str(LAST), "--chart", str(REPO / "docs" / "stats-links.png"), root=root)
        )


if __name__ == "__main__":
    main_example()
