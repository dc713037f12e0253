"""`weekly status`: the ledger's account of one issue's send."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from weekly.errors import WeeklyError
from weekly.ledger import FAILED_PERMANENT, FAILED_TEMPORARY, SENDING, STATES, Ledger

FAILED_COLUMNS = ("email", "state", "attempts", "last_reply", "message_id", "updated_at")


def _ledger(root: Path, number: int) -> Ledger:
    ledger = Ledger.existing(root)
    if ledger is None or not any(ledger.counts(number).values()):
        raise WeeklyError(f"issue {number} has not been sent from {root.resolve()}")
    return ledger


def status_lines(root: Path, number: int) -> Iterator[str]:
    """One line per ledger state with its count, and a hint about uncertain rows."""
    ledger = _ledger(root, number)
    try:
        counts = ledger.counts(number)
        fingerprint = ledger.fingerprint(number)
    finally:
        ledger.close()
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
    ledger = _ledger(root, number)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FAILED_COLUMNS)
    try:
        for row in ledger.rows(number, (FAILED_TEMPORARY, FAILED_PERMANENT, SENDING)):
            writer.writerow(
                (row.email, row.state, row.attempts, row.last_reply, row.message_id, row.updated_at)
            )
    finally:
        ledger.close()
