"""How each send ended, as `weekly stats` reports it: the ledger's rows counted per issue, and
the unsubscribes and complaints of that issue's recipients since its send started."""

from __future__ import annotations

from dataclasses import dataclass

from weekly.store.consent import COMPLAINED, UNSUBSCRIBED
from weekly.store.deliveries import FAILED_MESSAGE, FAILED_PERMANENT, FAILED_TEMPORARY, SENT

FAILED = (FAILED_PERMANENT, FAILED_MESSAGE, FAILED_TEMPORARY)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One issue's send: when it started (ISO UTC), messages delivered (the relay took them)
    and failed for good, and recipients who unsubscribed or complained since it started."""

    issue: int
    started_at: str
    delivered: int
    failed: int
    unsubscribed: int
    complained: int


def outcome_query(events: str, mark: str, one_issue: bool, collate: str = "") -> str:
    """The one query both stores run: `events` names the consent log's table, `mark` is the
    driver's parameter mark, `collate` makes times compare byte by byte; with `one_issue`, it
    takes the issue number as its parameter. A recipient's ledger key is the lower-cased
    address, as the consent log's `address`."""
    failed = ", ".join(f"'{state}'" for state in FAILED)
    mine = "FROM deliveries r WHERE r.issue = s.issue"

    def since(kind: str) -> str:
        return (
            f"(SELECT count(DISTINCT e.address) FROM {events} e WHERE e.kind = '{kind}'"
            f" AND e.at{collate} >= s.started_at{collate}"
            f" AND EXISTS (SELECT 1 {mine} AND r.recipient = e.address))"
        )

    return (
        f"SELECT s.issue, s.started_at, (SELECT count(*) {mine} AND r.state = '{SENT}'),"
        f" (SELECT count(*) {mine} AND r.state IN ({failed})),"
        f" {since(UNSUBSCRIBED)}, {since(COMPLAINED)} FROM sends s"
        + (f" WHERE s.issue = {mark}" if one_issue else "")
        + " ORDER BY s.issue"
    )
