"""What each provider's webhook payload reports, read without a server (fast enough for
mutation testing to run for every mutant of the hooks): the kind each documented record
type means, the address, time, reference and detail kept, and the shapes refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from weekly.audience.provider_events import DELIVERED, Report, ReportError, provider_time
from weekly.config import HooksSettings
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED
from weekly.web.hooks import providers
from weekly.web.hooks.mailgun import Mailgun
from weekly.web.hooks.postmark import Postmark
from weekly.web.hooks.sendgrid import SendGrid
from weekly.web.hooks.ses import Ses
from weekly.web.hooks.shared import Signed

from . import hook_signing as sign

AT = "2026-11-30T09:00:00+00:00"
SETTINGS = HooksSettings(
    ses_topic_arn=sign.TOPIC,
    postmark_user=sign.POSTMARK_USER,
    mailgun=True,
    sendgrid_public_key=sign.sendgrid_keys()[1],
)


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEKLY_POSTMARK_PASSWORD", sign.POSTMARK_PASSWORD)
    monkeypatch.setenv("WEEKLY_MAILGUN_SIGNING_KEY", sign.MAILGUN_KEY)


def kinds(reports: list[Report] | Any) -> list[tuple[str, str]]:
    return [(item.email, item.kind) for item in reports]


def test_the_settings_turn_on_each_provider_and_only_those() -> None:
    names = [p.name for p in providers(SETTINGS)]
    assert names == ["ses", "postmark", "mailgun", "sendgrid"]
    assert providers(HooksSettings(ses_topic_arn="  ")) == []


def bounce(kind: str, record: str = "Bounce", **more: Any) -> dict[str, Any]:
    return {
        "RecordType": record,
        "ID": 42,
        "Type": kind,
        "Email": "Kim@Example.com",
        "BouncedAt": AT,
        "Description": "Unknown user.",
        "Details": "smtp;550",
        **more,
    }


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (bounce("HardBounce"), BOUNCED),
        (bounce("BadEmailAddress"), BOUNCED),
        (bounce("ManuallyDeactivated"), BOUNCED),
        (bounce("SoftBounce"), SOFT_BOUNCED),
        (bounce("Transient"), SOFT_BOUNCED),
        (bounce("DnsError"), SOFT_BOUNCED),
        (bounce("SpamComplaint"), COMPLAINED),
        (bounce("SpamNotification", "SpamComplaint"), COMPLAINED),
        (bounce("AutoResponder"), None),
        (bounce("HardBounce", "Open"), None),
    ],
)
def test_postmark_record_types(record: dict[str, Any], kind: str | None) -> None:
    reports = Postmark(SETTINGS).reports(Signed(record, "k"))
    if kind is None:
        assert reports == []
        return
    assert reports == [
        Report("postmark", "Kim@example.com", kind, AT, "postmark:42", detail(record))
    ]


def detail(record: dict[str, Any]) -> str:
    return f"{record['Type']}: Unknown user. smtp;550"


def test_postmark_deliveries_lists_and_refusals() -> None:
    postmark = Postmark(SETTINGS)
    delivered = {"RecordType": "Delivery", "Recipient": "a@example.com", "MessageID": "m1"}
    delivered["DeliveredAt"] = AT
    (report,) = postmark.reports(Signed(delivered, "k"))
    assert report == Report("postmark", "a@example.com", DELIVERED, AT, "postmark:delivery:m1", "")
    (bare,) = postmark.reports(Signed(bounce("HardBounce", Description=None), "k"))
    assert bare.detail == "HardBounce:  smtp;550"
    two = [bounce("HardBounce", ID="x1"), bounce("SoftBounce", Email="b@example.com")]
    assert [(r.kind, r.ref) for r in postmark.reports(Signed(two, "k"))] == [
        (BOUNCED, "postmark:x1"),
        (SOFT_BOUNCED, "postmark:42"),
    ]
    with pytest.raises(ReportError, match=r"^postmark: a record without its ID$"):
        postmark.reports(Signed(bounce("HardBounce", ID=None), "k"))
    with pytest.raises(ReportError, match=r"^postmark: expected a list of JSON objects$"):
        postmark.reports(Signed([], "k"))


def mailgun(event: str, severity: str = "permanent", **more: Any) -> dict[str, Any]:
    data = {
        "event": event,
        "severity": severity,
        "id": "ev-1",
        "timestamp": 1764493200,
        "recipient": "Lee@Example.com",
        "reason": "bounce",
        "delivery-status": {"code": 550, "message": "no such user"},
        **more,
    }
    return {"event-data": data}


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (mailgun("failed"), BOUNCED),
        (mailgun("failed", "temporary"), SOFT_BOUNCED),
        (mailgun("complained"), COMPLAINED),
        (mailgun("delivered"), DELIVERED),
        (mailgun("opened"), None),
        (mailgun("clicked"), None),
    ],
)
def test_mailgun_event_kinds(payload: dict[str, Any], kind: str | None) -> None:
    reports = Mailgun().reports(Signed(payload, "k"))
    expected = [] if kind is None else [("Lee@example.com", kind)]
    assert kinds(reports) == expected
    for report in reports:
        assert (report.at, report.ref) == (provider_time(1764493200), "mailgun:ev-1")
        assert report.detail == "bounce: 550 no such user"


@pytest.mark.parametrize("payload", [{}, {"event-data": []}, {"event-data": {"id": 1}}, []])
def test_mailgun_without_event_data_and_its_id_is_unreadable(payload: Any) -> None:
    with pytest.raises(ReportError, match=r"^mailgun: no event-data with an id$"):
        Mailgun().reports(Signed(payload, "k"))


def sendgrid(event: str, **more: Any) -> dict[str, Any]:
    return {
        "email": "Park@Example.com",
        "timestamp": 1764493200,
        "event": event,
        "sg_event_id": "sg-1",
        "status": "5.1.1",
        "reason": "unknown user",
        **more,
    }


def test_sendgrid_event_kinds() -> None:
    events = [
        sendgrid("bounce"),
        sendgrid("open", sg_event_id=None),  # not acted on: its shape is not checked
        sendgrid("bounce", type="blocked", reason=None),
        sendgrid("dropped"),
        sendgrid("spamreport"),
        sendgrid("processed"),
        sendgrid("delivered"),
    ]
    reports = SendGrid(SETTINGS).reports(Signed(events, "k"))
    assert [r.kind for r in reports] == [BOUNCED, SOFT_BOUNCED, BOUNCED, COMPLAINED, DELIVERED]
    assert reports[1].detail == "bounce: 5.1.1"
    first = reports[0]
    assert first == Report(
        "sendgrid",
        "Park@example.com",
        BOUNCED,
        provider_time(1764493200),
        "sendgrid:sg-1",
        "bounce: 5.1.1 unknown user",
    )
    with pytest.raises(ReportError, match=r"^sendgrid: an event without sg_event_id$"):
        SendGrid(SETTINGS).reports(Signed([sendgrid("bounce", sg_event_id=7)], "k"))
    with pytest.raises(ReportError, match=r"^sendgrid: expected a list of JSON objects$"):
        SendGrid(SETTINGS).reports(Signed({"event": "bounce"}, "k"))


def ses(notification: dict[str, Any], kind: str = "Notification") -> Signed:
    return Signed({"Type": kind, "Message": json.dumps(notification)}, "k")


def ses_bounce(kind: str, field: str = "notificationType") -> dict[str, Any]:
    recipients = [
        {"emailAddress": "Cho@Example.com", "status": "5.1.1", "diagnosticCode": "smtp; 550"},
        {"emailAddress": "Yoon@Example.com"},
    ]
    bounce = {
        "bounceType": kind,
        "bounceSubType": "General",
        "bouncedRecipients": recipients,
        "timestamp": AT,
        "feedbackId": "fb",
    }
    return {field: "Bounce", "bounce": bounce}


def test_ses_bounces_complaints_and_deliveries() -> None:
    reader = Ses(SETTINGS)
    hard = reader.reports(ses(ses_bounce("Permanent")))
    assert hard == [
        Report("ses", "Cho@example.com", BOUNCED, AT, "ses:fb:cho@example.com", "5.1.1 smtp; 550"),
        Report(
            "ses", "Yoon@example.com", BOUNCED, AT, "ses:fb:yoon@example.com", "Permanent/General"
        ),
    ]
    soft = reader.reports(ses(ses_bounce("Transient", "eventType")))  # SES event publishing
    assert [r.kind for r in soft] == [SOFT_BOUNCED, SOFT_BOUNCED]
    complaint = {
        "complainedRecipients": [{"emailAddress": "Han@Example.com"}],
        "timestamp": AT,
        "feedbackId": "cf",
    }
    complained = reader.reports(ses({"notificationType": "Complaint", "complaint": complaint}))
    assert complained == [
        Report(
            "ses", "Han@example.com", COMPLAINED, AT, "ses:cf:han@example.com", "complaint: abuse"
        )
    ]
    not_spam = {**complaint, "complaintFeedbackType": "not-spam"}
    assert reader.reports(ses({"notificationType": "Complaint", "complaint": not_spam})) == []
    fraud = {**complaint, "complaintFeedbackType": "fraud"}
    (report,) = reader.reports(ses({"notificationType": "Complaint", "complaint": fraud}))
    assert report.detail == "complaint: fraud"
    delivery = {"timestamp": AT, "recipients": ["a@example.com", "b@example.com"]}
    delivered = reader.reports(ses({"notificationType": "Delivery", "delivery": delivery}))
    assert delivered == [
        Report("ses", "a@example.com", DELIVERED, AT, "ses:delivery:a@example.com", ""),
        Report("ses", "b@example.com", DELIVERED, AT, "ses:delivery:b@example.com", ""),
    ]
    assert reader.reports(ses({"notificationType": "Received"})) == []
    assert reader.reports(ses(ses_bounce("Permanent"), "SubscriptionConfirmation")) == []


@pytest.mark.parametrize(
    ("notification", "error"),
    [
        ({"notificationType": "Bounce"}, "ses: no bounce object"),
        ({"notificationType": "Complaint", "complaint": []}, "ses: no complaint object"),
        ({"notificationType": "Delivery"}, "ses: no delivery object"),
        ({"notificationType": "Delivery", "delivery": {}}, "ses: delivery without recipients"),
        (
            {"notificationType": "Bounce", "bounce": {"bouncedRecipients": []}},
            "ses bouncedRecipients: expected a list of JSON objects",
        ),
        (
            {"notificationType": "Complaint", "complaint": {}},
            "ses complainedRecipients: expected a list of JSON objects",
        ),
    ],
)
def test_ses_notifications_not_in_their_documented_shape(
    notification: dict[str, Any], error: str
) -> None:
    with pytest.raises(ReportError) as caught:
        Ses(SETTINGS).reports(ses(notification))
    assert caught.value.message == error
