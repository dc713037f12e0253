"""`POST /hooks/sendgrid`: SendGrid's signed event webhook, an ECDSA P-256 signature over the
timestamp header followed by the raw body, checked with the key in `hooks.sendgrid_public_key`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request

from weekly.audience.provider_events import DELIVERED, Report, ReportError, report
from weekly.config import HooksSettings
from weekly.errors import WeeklyError
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED
from weekly.web.hooks.shared import Refused, Signed, body_digest, json_of, records

NAME = "sendgrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


class SendGrid:
    """SendGrid (a `Provider`)."""

    name = NAME

    def __init__(self, settings: HooksSettings) -> None:
        self.key = public_key(settings.sendgrid_public_key)

    async def verify(self, request: Request, body: bytes) -> Signed:
        timestamp = request.headers.get(TIMESTAMP, "")
        try:
            signature = base64.b64decode(request.headers.get(SIGNATURE, ""), validate=True)
            at = float(timestamp)
        except (binascii.Error, ValueError):
            raise Refused("no signature or timestamp") from None
        try:
            self.key.verify(signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused("bad signature") from None
        key = f"sendgrid:{body_digest(timestamp.encode(), body)}"
        return Signed(json_of(body, ReportError), key, at)

    def reports(self, signed: Signed) -> Sequence[Report]:
        found = []
        for event in records(signed.payload, "sendgrid"):
            kind = _kind(event)
            if kind is None:
                continue
            if not isinstance(event.get("sg_event_id"), str):
                raise ReportError("sendgrid: an event without sg_event_id")
            detail = f"{event['event']}: {event.get('status') or ''} {event.get('reason') or ''}"
            at, ref = event.get("timestamp"), event["sg_event_id"]
            found.append(report(NAME, event.get("email"), kind, at, ref, detail))
        return found

    async def follow_up(self, signed: Signed) -> None:
        return None


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER); WeeklyError if not P-256."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise WeeklyError("hooks.sendgrid_public_key: not a public key in base64") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise WeeklyError("hooks.sendgrid_public_key: not an ECDSA P-256 key")
    return key


def _kind(event: dict[str, Any]) -> str | None:
    """What one SendGrid event says of its address: a bounce (`blocked` ones are soft), a
    dropped message (SendGrid's own suppression: hard), a spam report, a delivery."""
    name = event.get("event")
    if name == "bounce":
        return SOFT_BOUNCED if event.get("type") == "blocked" else BOUNCED
    return {"dropped": BOUNCED, "spamreport": COMPLAINED, "delivered": DELIVERED}.get(str(name))
