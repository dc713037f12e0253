"""`weekly status`: the ledger's account of one issue's send."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import astuple, fields
from datetime import UTC
from pathlib import Path
from typing import TextIO

from weekly.errors import WeeklyError
from weekly.store import Ledger, existing_ledger, senders
from weekly.store.deliveries import (
    FAILED_MESSAGE,
    FAILED_PERMANENT,
    FAILED_TEMPORARY,
    OPTED_OUT,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    Delivery,
    shown_segment,
)

FAILED_COLUMNS = tuple(f.name for f in fields(Delivery))

# Each ledger state as the report names it, in the report's order.
LABELS = {
    SENT: "sent",
    FAILED_PERMANENT: "failed (mailbox)",
    FAILED_MESSAGE: "failed (message)",
    FAILED_TEMPORARY: "failed (gave up)",
    OPTED_OUT: "opted out",
    RETRYING: "retrying",
    PENDING: "pending",
    SENDING: "uncertain",
}
# What `--failed` lists: every row that did not get its message and is not simply waiting.
NOT_DELIVERED = (FAILED_PERMANENT, FAILED_MESSAGE, FAILED_TEMPORARY, RETRYING, SENDING)
# The columns of the per-segment lines and the states each sums (retrying rows, like
# pending ones, are still to be mailed).
SEGMENT_COLUMNS = {
    "sent": (SENT,),
    "failed": (FAILED_PERMANENT, FAILED_MESSAGE, FAILED_TEMPORARY),
    "uncertain": (SENDING,),
    "pending": (PENDING, RETRYING),
    "opted out": (OPTED_OUT,),
}


@contextmanager
def _sent(root: Path, number: int) -> Iterator[tuple[Ledger, dict[str, int]]]:
    """The open ledger and issue `number`'s rows counted by state; an error when the issue
    was never sent from `root`."""
    never = WeeklyError(f"issue {number} has not been sent from {root.resolve()}")
    ledger = existing_ledger(root)
    if ledger is None:
        raise never
    with closing(ledger):
        counts = ledger.counts(number)
        if not any(counts.values()):
            raise never
        yield ledger, counts


def status_lines(root: Path, number: int) -> Iterator[str]:
    """One line per kind of outcome with its count, and a hint about uncertain rows."""
    with _sent(root, number) as (ledger, counts):
        fingerprint = ledger.fingerprint(number)
        segments = ledger.segments(number)
        per_segment = ledger.segment_counts(number) if any(segments) else {}
    yield f"issue {number} (composed content {fingerprint})"
    if any(segments):  # only when some run mailed part of the list
        yield f"  {'segment':<17} {', then '.join(shown_segment(s) for s in segments)}"
    for state, label in LABELS.items():
        yield f"  {label:<17} {counts[state]:>9,}"
    yield f"  {'total':<17} {sum(counts.values()):>9,}"
    yield from segment_lines(per_segment)
    for sender in senders(root, number):  # a shared store: who took part, and how fast
        seen = sender.heartbeat.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        yield (
            f"  sender {sender.host} pid {sender.pid}: {sender.sent:,} sent, "
            f"{sender.rate:,.1f}/s, last heartbeat {seen}" + ("" if sender.alive else " (stopped)")
        )
    if counts[SENDING]:
        yield (
            f"{counts[SENDING]:,} uncertain: a run stopped while sending them; "
            "`weekly send --resend-uncertain` sends them again"
        )


def segment_lines(per_segment: dict[str, dict[str, int]]) -> Iterator[str]:
    """A line per segment with its rows' counts (each row counts in the segment of the run
    that added it), under a header; nothing when no run mailed a segment."""
    if not per_segment:
        return
    names = {segment: shown_segment(segment) for segment in per_segment}
    width = max(17, *(len(name) for name in names.values()))
    yield f"  {'per segment':<{width}}" + "".join(f" {label:>9}" for label in SEGMENT_COLUMNS)
    for segment, counts in per_segment.items():
        cells = (sum(counts[state] for state in states) for states in SEGMENT_COLUMNS.values())
        yield f"  {names[segment]:<{width}}" + "".join(f" {cell:>9,}" for cell in cells)


def write_failed(root: Path, number: int, out: TextIO) -> None:
    """Every failed, retrying or uncertain (`sending`) recipient of issue `number`, with its
    last reply, as CSV on `out`."""
    with _sent(root, number) as (ledger, _):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FAILED_COLUMNS)
        for row in ledger.rows(number, NOT_DELIVERED):
            writer.writerow(astuple(row))
