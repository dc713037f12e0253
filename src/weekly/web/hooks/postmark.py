"""`POST /hooks/postmark`: Postmark's Bounce, SpamComplaint and Delivery webhooks. Postmark
signs nothing: the Basic auth credentials set in its webhook URL are the proof."""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from weekly.audience.provider_events import DELIVERED, Report, ReportError, report
from weekly.config import HooksSettings
from weekly.errors import WeeklyError
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED
from weekly.web.hooks.shared import Refused, Signed, body_digest, json_of, records

NAME = "postmark"
PASSWORD_ENV = "WEEKLY_POSTMARK_PASSWORD"

# Postmark's bounce Type values that say something of the address (others, such as
# AutoResponder or Subscribe, do not).
HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
SOFT = {"SoftBounce", "Transient", "DnsError"}


class Postmark:
    """Postmark (a `Provider`)."""

    name = NAME

    def __init__(self, settings: HooksSettings) -> None:
        password = os.environ.get(PASSWORD_ENV, "")
        if not password:
            raise WeeklyError(f"hooks.postmark_user is set: set {PASSWORD_ENV} too")
        self.expected = f"{settings.postmark_user}:{password}".encode()

    async def verify(self, request: Request, body: bytes) -> Signed:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            given = b""
        if scheme.lower() != "basic" or not hmac.compare_digest(given, self.expected):
            raise Refused("no or wrong Basic auth credentials")
        # No time is signed: the same body twice is the same request.
        return Signed(json_of(body, ReportError), f"postmark:{body_digest(body)}")

    def reports(self, signed: Signed) -> Sequence[Report]:
        found = []
        payload = signed.payload  # one record a request
        for record in records([payload] if isinstance(payload, dict) else payload, "postmark"):
            item = _report(record)
            if item is not None:
                found.append(item)
        return found

    async def follow_up(self, signed: Signed) -> None:
        return None


def _report(record: dict[str, Any]) -> Report | None:
    """The report of one webhook record; None for a type that says nothing of the address."""
    kind = record.get("RecordType")
    if kind == "Delivery":
        at, ref = record.get("DeliveredAt"), f"delivery:{record.get('MessageID')}"
        return report(NAME, record.get("Recipient"), DELIVERED, at, ref, "")
    if kind not in ("Bounce", "SpamComplaint"):
        return None  # opens, clicks, subscription changes
    bounce_type = record.get("Type")
    if kind == "SpamComplaint" or bounce_type == "SpamComplaint":
        found = COMPLAINED
    elif bounce_type in HARD:
        found = BOUNCED
    elif bounce_type in SOFT:
        found = SOFT_BOUNCED
    else:
        return None
    if not isinstance(record.get("ID"), int | str):
        raise ReportError("postmark: a record without its ID")
    detail = f"{bounce_type}: {record.get('Description') or ''} {record.get('Details') or ''}"
    at = record.get("BouncedAt")
    return report(NAME, record.get("Email"), found, at, str(record["ID"]), detail)
