"""Each provider's webhook without a server (fast enough for mutation testing to run for
every mutant of the hooks): how a request is proven or refused, and what its payload
reports: the kind each documented record type means, the address, time, reference and
detail kept, and the shapes refused."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.requests import Request

from weekly.audience.provider_events import DELIVERED, Report, ReportError, provider_time
from weekly.config import HooksSettings
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED
from weekly.web.hooks import providers
from weekly.web.hooks.mailgun import Mailgun
from weekly.web.hooks.postmark import Postmark
from weekly.web.hooks.sendgrid import SIGNATURE, TIMESTAMP, SendGrid
from weekly.web.hooks.ses import Ses
from weekly.web.hooks.shared import Refused, Signed, body_digest

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
    unreadable = Signed({"Type": "Notification", "Message": "not json"}, "k")
    with pytest.raises(ReportError, match=r"^not JSON$"):
        reader.reports(unreadable)
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


def request(**headers: str) -> Request:
    """A POST as starlette hands it to a route (the body is passed on its own)."""
    pairs = [
        (name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()
    ]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": pairs})


def proven(provider: Any, body: bytes, **headers: str) -> Signed:
    result: Signed = asyncio.run(provider.verify(request(**headers), body))
    return result


def refused(provider: Any, body: bytes, **headers: str) -> str:
    with pytest.raises(Refused) as caught:
        proven(provider, body, **headers)
    return str(caught.value)


def test_mailgun_proof_is_the_hmac_of_its_time_and_token() -> None:
    event = {"id": "e1", "event": "failed"}
    body = sign.mailgun_body(event)
    document = json.loads(body)
    signature = document["signature"]
    assert proven(Mailgun(), body) == Signed(
        document, f"mailgun:{signature['token']}", float(signature["timestamp"])
    )

    def altered(**fields: Any) -> bytes:
        return json.dumps({**document, "signature": {**signature, **fields}}).encode()

    assert refused(Mailgun(), b"not json") == "not JSON"
    assert refused(Mailgun(), json.dumps({"event-data": event}).encode()) == "no signature"
    assert refused(Mailgun(), altered(token=7)) == "no signature"
    assert refused(Mailgun(), altered(signature="zz")) == "signature or timestamp unreadable"
    assert refused(Mailgun(), altered(timestamp="noon")) == "signature or timestamp unreadable"
    assert refused(Mailgun(), altered(token="f" * 50)) == "bad signature"


def test_postmark_proof_is_its_basic_credentials() -> None:
    postmark = Postmark(SETTINGS)
    body = sign.postmark_bounce("kim@example.com").encode()
    good = sign.postmark_auth()["Authorization"]
    signed = proven(postmark, body, authorization=good)
    assert signed == Signed(json.loads(body), f"postmark:{body_digest(body)}", None)
    assert proven(postmark, body, authorization=good.replace("Basic", "basic")) == signed
    wrong = "no or wrong Basic auth credentials"
    assert refused(postmark, body) == wrong
    assert refused(postmark, body, authorization=good.replace("Basic ", "Basic %")) == wrong
    assert refused(postmark, body, authorization=good.replace("Basic", "Bearer")) == wrong
    other = sign.postmark_auth(password="wrong")["Authorization"]
    assert refused(postmark, body, authorization=other) == wrong
    with pytest.raises(ReportError, match=r"^not JSON$"):
        proven(postmark, b"{", authorization=good)


def test_sendgrid_proof_is_an_ecdsa_signature_over_time_and_body() -> None:
    key, public = sign.sendgrid_keys()
    provider = SendGrid(HooksSettings(sendgrid_public_key=public))
    body, headers = sign.sendgrid_request(key, [sendgrid("bounce")])
    given = {"signature": headers[SIGNATURE], "timestamp": headers[TIMESTAMP]}
    stamp = given["timestamp"]
    assert proven(provider, body, **{SIGNATURE: given["signature"], TIMESTAMP: stamp}) == Signed(
        json.loads(body), f"sendgrid:{body_digest(stamp.encode(), body)}", float(stamp)
    )
    unread = "no signature or timestamp"
    assert refused(provider, body, **{SIGNATURE: given["signature"]}) == unread
    assert refused(provider, body, **{TIMESTAMP: stamp}) == "bad signature"  # empty
    junk = "%" + given["signature"]
    assert refused(provider, body, **{SIGNATURE: junk, TIMESTAMP: stamp}) == unread
    later = str(int(stamp) + 1)
    assert refused(provider, body, **{SIGNATURE: given["signature"], TIMESTAMP: later}) == (
        "bad signature"
    )
    stamp_only = str(int(stamp))
    raw = key.sign(stamp_only.encode() + b"not json", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ReportError, match=r"^not JSON$"):
        proven(
            provider,
            b"not json",
            **{SIGNATURE: base64.b64encode(raw).decode(), TIMESTAMP: stamp_only},
        )


def test_ses_proof_is_an_sns_signature_on_its_topic(caplog: pytest.LogCaptureFixture) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with sign.cert_server() as certs:
        certs.files["/cert.pem"] = sign.self_signed(key)
        ses_hook = Ses(
            HooksSettings(ses_topic_arn=f"arn:other {sign.TOPIC}", ses_test_hosts=certs.host)
        )
        message = sign.sns_message(key, certs.url("/cert.pem"), "Notification", Message="{}")
        body = json.dumps(message).encode()
        at = datetime.fromisoformat(message["Timestamp"]).timestamp()
        assert proven(ses_hook, body) == Signed(message, f"ses:{message['MessageId']}", at)
        assert refused(ses_hook, b"\xff") == "not JSON"
        assert refused(ses_hook, b"[1]") == "not an SNS message"
        other = json.dumps({**message, "TopicArn": "arn:x"}).encode()
        assert refused(ses_hook, other) == "topic 'arn:x' is not in hooks.ses_topic_arn"
        noon = sign.sign_sns(key, {**message, "Timestamp": "noon"})
        with pytest.raises(ReportError) as caught:
            proven(ses_hook, json.dumps(noon).encode())
        assert caught.value.message == "SNS Timestamp is not an ISO time"
        # a subscription is confirmed by fetching its SubscribeURL; a notification fetches nothing
        confirm = sign.sns_message(
            key,
            certs.url("/cert.pem"),
            "SubscriptionConfirmation",
            Message="m",
            Token="t",
            SubscribeURL=certs.url("/confirm?Token=t"),
        )
        with caplog.at_level(logging.INFO, "weekly.web.hooks"):
            asyncio.run(ses_hook.follow_up(proven(ses_hook, json.dumps(message).encode())))
            asyncio.run(ses_hook.follow_up(proven(ses_hook, json.dumps(confirm).encode())))
        assert certs.fetched == ["/cert.pem", "/confirm?Token=t"]  # the certificate once
        assert [r.getMessage() for r in caplog.records] == [
            f"/hooks/ses: confirmed the subscription to {sign.TOPIC}"
        ]
