"""`weekly status`: the ledger's account of one issue's send."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import astuple, fields
from datetime import UTC
from pathlib import Path
from typing import TextIO

from weekly.deliver.plan import shown_segment
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
    yield f"issue {number} (composed content {fingerprint})"
    if any(segments):  # only when some run mailed part of the list
        yield f"  {'segment':<17} {', then '.join(shown_segment(s) for s in segments)}"
    for state, label in LABELS.items():
        yield f"  {label:<17} {counts[state]:>9,}"
    yield f"  {'total':<17} {sum(counts.values()):>9,}"
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


def write_failed(root: Path, number: int, out: TextIO) -> None:
    """Every failed, retrying or uncertain (`sending`) recipient of issue `number`, with its
    last reply, as CSV on `out`."""
    with _sent(root, number) as (ledger, _):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FAILED_COLUMNS)
        for row in ledger.rows(number, NOT_DELIVERED):
            writer.writerow(astuple(row))
