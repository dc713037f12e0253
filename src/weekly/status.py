"""`weekly status`: the ledger's account of one issue's send."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import astuple, fields
from pathlib import Path
from typing import TextIO

from weekly.errors import WeeklyError
from weekly.ledger import FAILED_PERMANENT, FAILED_TEMPORARY, SENDING, STATES, Delivery, Ledger

FAILED_COLUMNS = tuple(f.name for f in fields(Delivery))


@contextmanager
def _sent(root: Path, number: int) -> Iterator[tuple[Ledger, dict[str, int]]]:
    """The open ledger and issue `number`'s rows counted by state; an error when the issue
    was never sent from `root`."""
    never = WeeklyError(f"issue {number} has not been sent from {root.resolve()}")
    ledger = Ledger.existing(root)
    if ledger is None:
        raise never
    with closing(ledger):
        counts = ledger.counts(number)
        if not any(counts.values()):
            raise never
        yield ledger, counts


def status_lines(root: Path, number: int) -> Iterator[str]:
    """One line per ledger state with its count, and a hint about uncertain rows."""
    with _sent(root, number) as (ledger, counts):
        fingerprint = ledger.fingerprint(number)
    yield f"issue {number} (composed content {fingerprint})"
    for state in STATES:
        yield f"  {state:<17} {counts[state]:>9,}"
    yield f"  {'total':<17} {sum(counts.values()):>9,}"
    if counts[SENDING]:
        yield (
            f"{counts[SENDING]:,} uncertain: a run stopped while sending them; "
            "`weekly send --resend-uncertain` sends them again"
        )


def write_failed(root: Path, number: int, out: TextIO) -> None:
    """Every failed or uncertain (`sending`) recipient of issue `number` as CSV on `out`."""
    with _sent(root, number) as (ledger, _):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FAILED_COLUMNS)
        for row in ledger.rows(number, (FAILED_TEMPORARY, FAILED_PERMANENT, SENDING)):
            writer.writerow(astuple(row))
