"""Bounces, complaints and deliveries a sending provider reports by webhook, in one shape
whatever the provider, and how they reach the consent log: hard bounces and complaints as
a mailbox bounce does; soft bounces counted, suppressing after `hooks.soft_limit` in a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from weekly.addresses import normalize_address
from weekly.clock import stamp
from weekly.errors import WeeklyError
from weekly.store import ConsentLog, HookLog
from weekly.store.consent import BOUNCED, CONFIRMED, SOFT_BOUNCED, Event

# Not a consent event: a delivery the provider reports ends a run of soft bounces.
DELIVERED = "delivered"


class ReportError(WeeklyError):
    """A provider's payload that does not say what its documented shape says it would."""


@dataclass(frozen=True, slots=True)
class Report:
    """One thing a provider says happened to one address."""

    source: str  # the provider: ses, postmark, mailgun, sendgrid
    email: str
    kind: str  # BOUNCED (hard), SOFT_BOUNCED, COMPLAINED or DELIVERED
    at: str  # when it happened, as the logs write times
    ref: str  # unique per provider event: a webhook sent again records nothing new
    detail: str = ""


def report(source: str, raw_email: object, kind: str, at: object, ref: str, detail: str) -> Report:
    """A `Report` from a payload's fields; ReportError when the address is not one."""
    if not isinstance(raw_email, str):
        raise ReportError(f"{source}: no recipient address")
    try:
        email, _ = normalize_address(raw_email)
    except WeeklyError as exc:
        raise ReportError(f"{source}: {exc.message}") from None
    return Report(source, email, kind, provider_time(at), f"{source}:{ref}", detail.strip())


def provider_time(value: object) -> str:
    """A provider's event time (ISO text or epoch seconds) as the logs write it; now if the
    payload gives none that reads."""
    moment: datetime | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        return stamp()
    return stamp(moment)


def record_reports(
    consent: ConsentLog, hooks: HookLog, reports: Sequence[Report], soft_limit: int
) -> int:
    """Record what `reports` say; how many consent events were new. A soft bounce becomes a
    (hard) bounce event once it is the `soft_limit`th in a row: with no delivery between,
    and since the address last confirmed (as a mailbox's soft bounces count)."""
    events = []
    for item in reports:
        address = item.email.lower()
        if item.kind == DELIVERED:
            hooks.delivered(address, item.at)
            continue
        kind, ref, detail = item.kind, item.ref, item.detail
        if kind == SOFT_BOUNCED:
            run = hooks.soft_bounce(ref, address, item.at, _confirmed_at(consent, address))
            if run is None or run < soft_limit:
                continue
            kind, ref, detail = BOUNCED, f"{ref}:run", f"{run} soft bounces in a row: {detail}"
        events.append(Event(item.at, item.email, kind, item.source, detail=detail, ref=ref))
    return consent.record(events)


def _confirmed_at(consent: ConsentLog, address: str) -> str:
    """When `address` last confirmed its subscription ("" if never): a run starts afresh."""
    times = [event.at for event in consent.history(address) if event.kind == CONFIRMED]
    return max(times, default="")
