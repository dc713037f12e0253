"""`POST /hooks/mailgun`: Mailgun's JSON webhooks, signed with HMAC-SHA256 of timestamp and
token under the webhook signing key; each token is taken once, and only in the time window."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from starlette.requests import Request

from weekly.audience.provider_events import DELIVERED, Report, ReportError, report
from weekly.errors import WeeklyError
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED
from weekly.web.hooks.shared import Refused, Signed, dig, json_of

NAME = "mailgun"
KEY_ENV = "WEEKLY_MAILGUN_SIGNING_KEY"


class Mailgun:
    """Mailgun (a `Provider`)."""

    name = NAME

    def __init__(self) -> None:
        key = os.environ.get(KEY_ENV, "")
        if not key:
            raise WeeklyError(f"hooks.mailgun is on: set {KEY_ENV} (the webhook signing key)")
        self.key = key.encode()

    async def verify(self, request: Request, body: bytes) -> Signed:
        document = json_of(body, Refused)
        timestamp, token, signature = (
            dig(document, "signature", name) for name in ("timestamp", "token", "signature")
        )
        if not all(isinstance(part, str) for part in (timestamp, token, signature)):
            raise Refused("no signature")
        try:
            expected = bytes.fromhex(signature)
            at = float(timestamp)
        except ValueError:
            raise Refused("signature or timestamp unreadable") from None
        check = hmac.HMAC(self.key, hashes.SHA256())
        check.update(f"{timestamp}{token}".encode())
        try:
            check.verify(expected)
        except InvalidSignature:
            raise Refused("bad signature") from None
        return Signed(document, f"mailgun:{token}", at)

    def reports(self, signed: Signed) -> Sequence[Report]:
        event = dig(signed.payload, "event-data")
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise ReportError("mailgun: no event-data with an id")
        found = _kind(event)
        if found is None:
            return []
        status = event.get("delivery-status") or {}
        detail = f"{dig(status, 'code') or ''} {dig(status, 'message') or ''}"
        detail = f"{event.get('reason') or event['event']}: {detail.strip()}"
        at = event.get("timestamp")
        return [report(NAME, event.get("recipient"), found, at, event["id"], detail)]

    async def follow_up(self, signed: Signed) -> None:
        return None


def _kind(event: dict[str, Any]) -> str | None:
    """What a Mailgun event says of its recipient: failed (permanent or temporary),
    complained, delivered; None for the others (opened, clicked, ...)."""
    name = event.get("event")
    if name == "failed":
        return BOUNCED if event.get("severity") == "permanent" else SOFT_BOUNCED
    return {"complained": COMPLAINED, "delivered": DELIVERED}.get(str(name))
