"""`POST /hooks/ses`: Amazon SES notifications delivered by SNS. The SNS signature proves
the message, `hooks.ses_topic_arn` says which topics are ours; a subscription to one of
them is confirmed by fetching its SubscribeURL; Bounce, Complaint and Delivery are read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request

from weekly.audience.provider_events import DELIVERED, Report, ReportError, report
from weekly.config import HooksSettings
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED
from weekly.web.hooks.shared import Refused, Signed, dig, json_of, log, records
from weekly.web.hooks.sns import SnsVerifier

NAME = "ses"


class Ses:
    """SES by way of SNS (a `Provider`)."""

    name = NAME

    def __init__(self, settings: HooksSettings) -> None:
        self.topics = set(settings.ses_topic_arn.split())
        self.sns = SnsVerifier(settings.ses_test_hosts)

    async def verify(self, request: Request, body: bytes) -> Signed:
        message = json_of(body, Refused)
        if not isinstance(message, dict):
            raise Refused("not an SNS message")
        if message.get("TopicArn") not in self.topics:
            raise Refused(f"topic {message.get('TopicArn')!r} is not in hooks.ses_topic_arn")
        await self.sns.verify(message)
        try:
            at = datetime.fromisoformat(message["Timestamp"]).timestamp()
        except ValueError:
            raise ReportError("SNS Timestamp is not an ISO time") from None
        return Signed(message, f"ses:{message['MessageId']}", at)

    def reports(self, signed: Signed) -> Sequence[Report]:
        message = signed.payload
        if message["Type"] != "Notification":
            return []
        notification = json_of(message["Message"].encode(), ReportError)
        # SES notifications say notificationType; SES event publishing says eventType.
        kind = dig(notification, "notificationType") or dig(notification, "eventType")
        if kind == "Bounce":
            return _bounces(dig(notification, "bounce"))
        if kind == "Complaint":
            return _complaints(dig(notification, "complaint"))
        if kind == "Delivery":
            return _deliveries(dig(notification, "delivery"))
        return []  # a test notification, a type we do not act on

    async def follow_up(self, signed: Signed) -> None:
        message = signed.payload
        if message["Type"] == "SubscriptionConfirmation":
            await self.sns.fetch(message["SubscribeURL"])
            log.info("/hooks/ses: confirmed the subscription to %s", message["TopicArn"])


def _table(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ReportError(f"ses: no {what} object")
    return data


def _address(recipient: dict[str, Any]) -> str:
    return str(recipient.get("emailAddress", "")).lower()


def _bounces(data: Any) -> list[Report]:
    """Permanent bounces are hard; Transient and Undetermined ones soft."""
    bounce = _table(data, "bounce")
    kind = BOUNCED if bounce.get("bounceType") == "Permanent" else SOFT_BOUNCED
    why = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
    return [
        report(
            NAME,
            one.get("emailAddress"),
            kind,
            bounce.get("timestamp"),
            f"{bounce.get('feedbackId')}:{_address(one)}",
            f"{one.get('status', '')} {one.get('diagnosticCode', '')}".strip() or why,
        )
        for one in records(bounce.get("bouncedRecipients"), "ses bouncedRecipients")
    ]


def _complaints(data: Any) -> list[Report]:
    """Every complaint but one its feedback report calls `not-spam`."""
    complaint = _table(data, "complaint")
    feedback = str(complaint.get("complaintFeedbackType") or "abuse")
    if feedback == "not-spam":
        return []
    return [
        report(
            NAME,
            one.get("emailAddress"),
            COMPLAINED,
            complaint.get("timestamp"),
            f"{complaint.get('feedbackId')}:{_address(one)}",
            f"complaint: {feedback}",
        )
        for one in records(complaint.get("complainedRecipients"), "ses complainedRecipients")
    ]


def _deliveries(data: Any) -> list[Report]:
    delivery = _table(data, "delivery")
    recipients = delivery.get("recipients")
    if not isinstance(recipients, list):
        raise ReportError("ses: delivery without recipients")
    return [
        report(NAME, one, DELIVERED, delivery.get("timestamp"), f"delivery:{one}", "")
        for one in recipients
    ]
