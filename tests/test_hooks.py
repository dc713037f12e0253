"""Provider webhooks on `weekly serve`'s app (real uvicorn, in a thread here), each payload
signed here with test keys: accepted ones land in the consent log, in either store; a
tampered, replayed or unsigned one gets 401 and records nothing."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from weekly.audience.provider_events import provider_time
from weekly.clock import stamp
from weekly.store import open_consent_log, open_hook_log
from weekly.store.consent import BOUNCED, COMPLAINED, CONFIRMED

from . import hook_signing as sign
from .serving import LogLines, serve_in_thread
from .smtp import SECRET


@pytest.fixture(scope="module")
def sns_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def sendgrid_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    return sign.sendgrid_keys()


@dataclass
class Hooked:
    """A running serve with every provider's webhook on, and what the tests sign with."""

    root: Path
    client: httpx.Client
    log: LogLines
    certs: sign.CertServer
    cert_url: str
    sns_key: rsa.RSAPrivateKey
    sendgrid_key: ec.EllipticCurvePrivateKey

    def sns(self, kind: str = "Notification", version: str = "2", **fields: str) -> dict[str, str]:
        return sign.sns_message(self.sns_key, self.cert_url, kind, version, **fields)

    def post_json(self, path: str, data: Any, **headers: str) -> int:
        return self.client.post(path, content=json.dumps(data), headers=headers).status_code

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        return self.client.post(path, content=body, headers=headers or {}).status_code

    def standing(self) -> dict[str, tuple[str, str]]:
        """Each address's (status, source of its latest event) in the consent log."""
        with open_consent_log(self.root) as log:
            found = {}
            for address, standing in log.standings().items():
                found[address] = (standing.status, log.history(address)[-1].source)
            return found

    def cursor(self) -> int:
        with open_consent_log(self.root) as log:
            return log.cursor()


@pytest.fixture
def hooked(
    newsletter: Path,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
    sns_key: rsa.RSAPrivateKey,
    sendgrid_key: tuple[ec.EllipticCurvePrivateKey, str],
) -> Iterator[Hooked]:
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    monkeypatch.setenv("WEEKLY_POSTMARK_PASSWORD", sign.POSTMARK_PASSWORD)
    monkeypatch.setenv("WEEKLY_MAILGUN_SIGNING_KEY", sign.MAILGUN_KEY)
    with sign.cert_server() as certs:
        certs.files["/SimpleNotificationService-test.pem"] = sign.self_signed(sns_key)
        with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
            toml.write(
                f'\n[hooks]\nses_topic_arn = "{sign.TOPIC}"\nses_test_hosts = "{certs.host}"\n'
                f'postmark_user = "{sign.POSTMARK_USER}"\nmailgun = true\n'
                f'sendgrid_public_key = "{sendgrid_key[1]}"\n'
            )
        with serve_in_thread(newsletter) as (url, log), httpx.Client(base_url=url) as client:
            yield Hooked(
                newsletter,
                client,
                log,
                certs,
                certs.url("/SimpleNotificationService-test.pem"),
                sns_key,
                sendgrid_key[0],
            )


def test_ses_bounces_complaints_and_soft_runs_land_in_the_consent_log(hooked: Hooked) -> None:
    hard = hooked.sns(Message=sign.ses_bounce("Kim@Example.com", feedback="fb-1"), version="1")
    assert hooked.post_json("/hooks/ses", hard) == 200
    complaint = hooked.sns(Message=sign.ses_complaint("lee@example.com"), Subject="Complaint")
    assert hooked.post_json("/hooks/ses", complaint) == 200
    soft = hooked.sns(Message=sign.ses_bounce("park@example.com", "Transient"))
    assert hooked.post_json("/hooks/ses", soft) == 200
    not_spam = hooked.sns(Message=sign.ses_complaint("cho@example.com", "not-spam"))
    assert hooked.post_json("/hooks/ses", not_spam) == 200
    assert hooked.standing() == {
        "kim@example.com": (BOUNCED, "ses"),
        "lee@example.com": (COMPLAINED, "ses"),
    }
    # SNS sends the same bounce again as a new message: the event is not counted twice.
    cursor = hooked.cursor()
    again = hooked.sns(Message=sign.ses_bounce("kim@example.com", feedback="fb-1"))
    assert hooked.post_json("/hooks/ses", again) == 200
    assert hooked.cursor() == cursor
    assert len(hooked.certs.fetched) == 1  # the certificate was fetched once, then kept
    # With the Transient one above, two soft bounces, then a Delivery notification.
    for message in (
        sign.ses_bounce("park@example.com", "Undetermined"),
        sign.ses_delivery("park@example.com"),
        json.dumps({"notificationType": "Received"}),  # nothing to act on
        sign.ses_bounce("park@example.com", "Transient"),
    ):
        assert hooked.post_json("/hooks/ses", hooked.sns(Message=message)) == 200
    assert "park@example.com" not in hooked.standing()
    for _ in range(2):  # the third since the delivery: off the list
        message = sign.ses_bounce("park@example.com", "Transient")
        assert hooked.post_json("/hooks/ses", hooked.sns(Message=message)) == 200
    assert hooked.standing()["park@example.com"] == (BOUNCED, "ses")


def test_ses_confirms_subscriptions_and_refuses_what_sns_did_not_sign(hooked: Hooked) -> None:
    fields = {"Message": "You have chosen to subscribe.", "Token": "t0ken"}
    confirm = hooked.sns(
        "SubscriptionConfirmation", SubscribeURL=hooked.certs.url("/confirm?Token=t0ken"), **fields
    )
    assert hooked.post_json("/hooks/ses", confirm) == 200
    assert "/confirm?Token=t0ken" in hooked.certs.fetched
    elsewhere = hooked.sns(
        "SubscriptionConfirmation", SubscribeURL="https://sns.example.com/confirm", **fields
    )
    assert hooked.post_json("/hooks/ses", elsewhere) == 401
    assert hooked.log.wait("is not on an SNS host")
    assert hooked.cursor() == 0
    good = hooked.sns(Message=sign.ses_bounce("kim@example.com"))
    tampered = {**good, "Message": sign.ses_bounce("lee@example.com")}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    other_topic = sign.sign_sns(hooked.sns_key, {**good, "TopicArn": sign.TOPIC + "-other"})
    off_host = sign.sign_sns(
        hooked.sns_key, {**good, "SigningCertURL": "https://s3.amazonaws.com/x/cert.pem"}
    )
    unknown_version = sign.sign_sns(hooked.sns_key, {**good, "SignatureVersion": "3"})
    not_base64 = {**good, "Signature": "%%%"}
    no_id = {k: v for k, v in good.items() if k != "MessageId"}
    refused_ones = [tampered, unsigned, other_topic, off_host, unknown_version, not_base64, no_id]
    for refused in (*refused_ones, [1], "x"):
        assert hooked.post_json("/hooks/ses", refused) == 401, refused
    assert hooked.post("/hooks/ses", b"\xff not json") == 401
    assert hooked.cursor() == 0
    assert hooked.post_json("/hooks/ses", good) == 200
    cursor = hooked.cursor()
    assert cursor > 0
    assert hooked.post_json("/hooks/ses", good) == 401  # the same message again: a replay
    # Signed by SNS, but not what an SES notification looks like: 400, nothing recorded.
    for message in ("not json", json.dumps({"notificationType": "Bounce"})):
        assert hooked.post_json("/hooks/ses", hooked.sns(Message=message)) == 400
    delivery = json.dumps({"notificationType": "Delivery", "delivery": {}})
    assert hooked.post_json("/hooks/ses", hooked.sns(Message=delivery)) == 400
    odd_time = sign.sign_sns(hooked.sns_key, {**hooked.sns(Message="{}"), "Timestamp": "noon"})
    assert hooked.post_json("/hooks/ses", odd_time) == 400
    assert hooked.cursor() == cursor
    assert hooked.log.wait("/hooks/ses: refused: bad SNS signature")


def test_postmark_bounces_and_complaints_need_the_basic_auth_credentials(hooked: Hooked) -> None:
    auth = sign.postmark_auth()
    hard = sign.postmark_bounce("kim@example.com").encode()
    assert hooked.post("/hooks/postmark", hard, sign.postmark_auth(password="wrong")) == 401
    assert hooked.post("/hooks/postmark", hard) == 401
    assert hooked.post("/hooks/postmark", hard, {"Authorization": "Basic %%%"}) == 401
    # the right credentials with a stray character are not base64: not taken
    stray = {"Authorization": auth["Authorization"].replace("Basic ", "Basic %")}
    assert hooked.post("/hooks/postmark", hard, stray) == 401
    assert hooked.log.wait("/hooks/postmark: refused: no or wrong Basic auth credentials")
    assert hooked.cursor() == 0
    assert hooked.post("/hooks/postmark", hard, auth) == 200
    assert hooked.post("/hooks/postmark", hard, auth) == 401  # the same request again
    complaint = sign.postmark_bounce("lee@example.com", "SpamComplaint")
    spam = json.dumps({**json.loads(complaint), "RecordType": "SpamComplaint"}).encode()
    assert hooked.post("/hooks/postmark", spam, auth) == 200
    soft = sign.postmark_bounce("park@example.com", "SoftBounce").encode()
    auto_reply = sign.postmark_bounce("cho@example.com", "AutoResponder").encode()
    assert hooked.post("/hooks/postmark", soft, auth) == 200
    assert hooked.post("/hooks/postmark", auto_reply, auth) == 200
    assert hooked.standing() == {
        "kim@example.com": (BOUNCED, "postmark"),
        "lee@example.com": (COMPLAINED, "postmark"),
    }
    cursor = hooked.cursor()
    no_address = json.dumps({**json.loads(complaint), "Email": "not an address"}).encode()
    delivered = {"RecordType": "Delivery", "Recipient": "park@example.com", "MessageID": "m1"}
    opened = {"RecordType": "Open", "Recipient": "park@example.com"}
    for record in (delivered, opened):
        assert hooked.post("/hooks/postmark", json.dumps(record).encode(), auth) == 200
    no_id = json.dumps({**json.loads(complaint), "ID": None}).encode()
    for malformed in (b"{", b"[]", no_address, no_id):
        assert hooked.post("/hooks/postmark", malformed, auth) == 400
    assert hooked.cursor() == cursor


def test_mailgun_needs_its_hmac_a_fresh_token_and_a_recent_time_and_counts_soft_runs(
    hooked: Hooked,
) -> None:
    bounce = sign.mailgun_event("kim@example.com")
    body = sign.mailgun_body(bounce)
    document = json.loads(body)
    forged = {**document["signature"], "signature": "00" * 32}
    other_token = {**document["signature"], "token": "f" * 50}
    not_hex = {**document["signature"], "signature": "zz"}
    refused = [
        json.dumps({**document, "signature": forged}).encode(),
        json.dumps({**document, "signature": other_token}).encode(),
        json.dumps({**document, "signature": not_hex}).encode(),
        json.dumps({"event-data": bounce}).encode(),
        sign.mailgun_body(bounce, key="another-key"),
        sign.mailgun_body(bounce, timestamp=time.time() - 3600),  # out of the window
        b"not json",
    ]
    for request in refused:
        assert hooked.post("/hooks/mailgun", request) == 401, request
    assert hooked.cursor() == 0
    assert [line.removeprefix("/hooks/mailgun: refused: ") for line in hooked.log.lines] == [
        "bad signature",
        "bad signature",
        "signature or timestamp unreadable",
        "no signature",
        "bad signature",
        "signed too long ago (or in the future)",
        "not JSON",
    ]
    assert hooked.post("/hooks/mailgun", body) == 200
    assert hooked.post("/hooks/mailgun", body) == 401  # the token was used
    # Mailgun retries with a fresh token: the event is recorded once all the same.
    cursor = hooked.cursor()
    assert hooked.post("/hooks/mailgun", sign.mailgun_body(bounce)) == 200
    assert hooked.cursor() == cursor
    complaint = sign.mailgun_event("lee@example.com", "complained")
    assert hooked.post("/hooks/mailgun", sign.mailgun_body(complaint)) == 200
    opened = sign.mailgun_event("cho@example.com", "opened")
    assert hooked.post("/hooks/mailgun", sign.mailgun_body(opened)) == 200
    assert hooked.standing() == {
        "kim@example.com": (BOUNCED, "mailgun"),
        "lee@example.com": (COMPLAINED, "mailgun"),
    }
    cursor = hooked.cursor()
    no_id = {k: v for k, v in complaint.items() if k != "id"}
    assert hooked.post("/hooks/mailgun", sign.mailgun_body(no_id)) == 400
    assert hooked.post("/hooks/mailgun", b" " * (4 * 1024 * 1024 + 1)) == 413
    assert hooked.cursor() == cursor
    # Soft bounces suppress after three (hooks.soft_limit) with no delivery between them.
    address = "park@example.com"

    def report(event: str, severity: str = "temporary") -> dict[str, Any]:
        item = sign.mailgun_event(address, event, severity)
        assert hooked.post("/hooks/mailgun", sign.mailgun_body(item)) == 200
        return item

    with open_consent_log(hooked.root) as log:
        log.record([_confirmed(address)])
    first = report("failed")
    report("failed")
    report("delivered")  # the run starts again
    report("failed")
    # The same soft bounce sent again does not lengthen the run.
    assert hooked.post("/hooks/mailgun", sign.mailgun_body(first)) == 200
    report("failed")
    assert hooked.standing()[address] == (CONFIRMED, "test")
    report("failed")
    assert hooked.standing()[address] == (BOUNCED, "mailgun")
    with open_consent_log(hooked.root) as log:
        assert log.history(address)[-1].detail.startswith("3 soft bounces in a row")


def test_sendgrid_needs_an_ecdsa_signature_over_time_and_body(hooked: Hooked) -> None:
    key = hooked.sendgrid_key
    events = [
        sign.sendgrid_event("kim@example.com"),
        sign.sendgrid_event("lee@example.com", "spamreport"),
        sign.sendgrid_event("yoon@example.com", "dropped", reason="Bounced Address"),
        sign.sendgrid_event("park@example.com", "bounce", type="blocked"),
        sign.sendgrid_event("cho@example.com", "open"),
    ]
    body, headers = sign.sendgrid_request(key, events)
    other_key = sign.sendgrid_keys()[0]
    refused = [
        (body.replace(b"kim@", b"kin@"), headers),
        (body, {**headers, "X-Twilio-Email-Event-Webhook-Timestamp": "1764493200"}),
        (body, {}),
        sign.sendgrid_request(other_key, events),
        sign.sendgrid_request(key, events, timestamp=time.time() - 3600),
    ]
    for request, signature in refused:
        assert hooked.post("/hooks/sendgrid", request, signature) == 401
    assert hooked.cursor() == 0
    assert hooked.post("/hooks/sendgrid", body, headers) == 200
    assert hooked.post("/hooks/sendgrid", body, headers) == 401  # replayed
    assert hooked.standing() == {
        "kim@example.com": (BOUNCED, "sendgrid"),
        "lee@example.com": (COMPLAINED, "sendgrid"),
        "yoon@example.com": (BOUNCED, "sendgrid"),
    }
    cursor = hooked.cursor()
    no_id = {k: v for k, v in events[0].items() if k != "sg_event_id"}
    for malformed in ([no_id], [1], {"not": "a list"}):
        assert hooked.post("/hooks/sendgrid", *sign.sendgrid_request(key, malformed)) == 400
    stamp = str(int(time.time()))
    not_json = b"not json"
    junk_signature = key.sign(stamp.encode() + not_json, ec.ECDSA(hashes.SHA256()))
    junk_headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(junk_signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }
    assert hooked.post("/hooks/sendgrid", not_json, junk_headers) == 400  # signed, unreadable
    signed_junk = sign.sendgrid_request(key, [])
    assert hooked.post("/hooks/sendgrid", b"{", signed_junk[1]) == 401  # the body is signed
    assert hooked.cursor() == cursor
    # SendGrid sends the same events again, signed at another time: taken (and not counted
    # twice), as the key is the signed time with the body
    again = sign.sendgrid_request(key, events, timestamp=time.time() + 1)
    assert hooked.post("/hooks/sendgrid", *again) == 200
    assert hooked.cursor() == cursor
    not_base64 = {**headers, "X-Twilio-Email-Event-Webhook-Signature": "%%%" + "A" * 60}
    assert hooked.post("/hooks/sendgrid", body, not_base64) == 401
    said = [line.removeprefix("/hooks/sendgrid: refused: ") for line in hooked.log.lines]
    # no headers, a signature not in base64; a body (twice), a timestamp or the key changed
    assert said.count("no signature or timestamp") == 2 and said.count("bad signature") == 4


def test_each_provider_records_its_own_words_time_and_id(hooked: Hooked) -> None:
    """What the editor reads in an address's history: the provider's time, reason and id."""
    ses = json.loads(sign.ses_bounce("Ses@Example.com", feedback="fb-9"))
    ses["bounce"]["bouncedRecipients"].append({"emailAddress": "bare@example.com"})
    ses_complaint = json.loads(sign.ses_complaint("sesc@example.com", feedback=""))
    for message in (ses, ses_complaint):
        assert hooked.post_json("/hooks/ses", hooked.sns(Message=json.dumps(message))) == 200
    postmark = json.loads(sign.postmark_bounce("pm@example.com", "ManuallyDeactivated", 77))
    postmark_body = json.dumps({**postmark, "Details": None}).encode()
    assert hooked.post("/hooks/postmark", postmark_body, sign.postmark_auth()) == 200
    mailgun = sign.mailgun_event("mg@example.com")
    mailgun_plain = {**sign.mailgun_event("mg2@example.com"), "reason": None}
    del mailgun_plain["delivery-status"]
    for event in (mailgun, mailgun_plain):
        assert hooked.post("/hooks/mailgun", sign.mailgun_body(event)) == 200
    sendgrid = sign.sendgrid_event("sg@example.com", "dropped", status="", reason="Bounced")
    request = sign.sendgrid_request(hooked.sendgrid_key, [sendgrid])
    assert hooked.post("/hooks/sendgrid", *request) == 200

    def last(address: str) -> tuple[str, str, str, str, str]:
        with open_consent_log(hooked.root) as log:
            event = log.history(address)[-1]
        return event.at, event.kind, event.source, event.detail, event.ref

    bounce, complaint = ses["bounce"], ses_complaint["complaint"]
    assert last("ses@example.com") == (
        provider_time(bounce["timestamp"]),
        BOUNCED,
        "ses",
        "5.1.1 smtp; 550",
        "ses:fb-9:ses@example.com",
    )
    assert last("bare@example.com")[3:] == ("Permanent/General", "ses:fb-9:bare@example.com")
    assert last("sesc@example.com") == (
        provider_time(complaint["timestamp"]),
        COMPLAINED,
        "ses",
        "complaint: abuse",  # no feedback type given: a complaint all the same
        f"ses:{complaint['feedbackId']}:sesc@example.com",
    )
    assert last("pm@example.com") == (
        provider_time("2026-11-30T09:00:00.1234567Z"),
        BOUNCED,
        "postmark",
        "ManuallyDeactivated: The server was unable to deliver your message.",
        "postmark:77",
    )
    assert last("mg@example.com") == (
        provider_time(mailgun["timestamp"]),
        BOUNCED,
        "mailgun",
        "bounce: 550 5.1.1 no such user",
        f"mailgun:{mailgun['id']}",
    )
    assert last("mg2@example.com")[3:] == ("failed:", f"mailgun:{mailgun_plain['id']}")
    assert last("sg@example.com") == (
        provider_time(1764493200),
        BOUNCED,
        "sendgrid",
        "dropped:  Bounced",
        f"sendgrid:{sendgrid['sg_event_id']}",
    )


def test_every_answer_says_what_happened_and_the_log_one_line_each(hooked: Hooked) -> None:
    event = sign.mailgun_event("kim@example.com")
    now = time.time()
    answers = {
        "ok": sign.mailgun_body(event),
        "too large": b" " * (4 * 1024 * 1024 + 1),
        "unauthorized": sign.mailgun_body(event, key="another-key"),
        "bad payload": sign.mailgun_body({**event, "id": 7}),
    }
    for text, body in answers.items():
        answer = hooked.client.post("/hooks/mailgun", content=body)
        assert answer.text == text and answer.headers["content-type"].startswith("text/plain")
        if text == "unauthorized":
            assert answer.headers["www-authenticate"] == 'Basic realm="weekly hooks"'
        else:
            assert "www-authenticate" not in answer.headers
    # signed just inside the window either way counts; just outside, in the past or the
    # future, is refused
    for moment, code in ((now - 880, 200), (now + 880, 200), (now - 920, 401), (now + 920, 401)):
        body = sign.mailgun_body(sign.mailgun_event("lee@example.com"), timestamp=moment)
        assert hooked.post("/hooks/mailgun", body) == code, moment - now
    assert hooked.log.wait("/hooks/mailgun: 1 reports, 1 new events")
    assert hooked.log.wait("/hooks/mailgun: refused: bad signature")
    assert hooked.log.wait("/hooks/mailgun: unreadable: mailgun: no event-data with an id")
    assert hooked.log.wait("/hooks/mailgun: refused: signed too long ago (or in the future)")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_each_answer_has_its_status_and_the_log_its_line(hooked: Hooked) -> None:
    """The status and log line of each way a request ends; a replay of a request signed a
    minute ago is refused, and its key is let go once that minute leaves the window."""
    event = sign.mailgun_event("kim@example.com")
    a_minute_ago = sign.mailgun_body(event, timestamp=time.time() - 60)
    for body, status in (
        (sign.mailgun_body(event, timestamp=time.time() - 3600), 401),
        (a_minute_ago, 200),
        (a_minute_ago, 401),
        (sign.mailgun_body({**event, "id": 7}), 400),
    ):
        assert hooked.post("/hooks/mailgun", body) == status, status
    assert hooked.log.lines == [
        "/hooks/mailgun: refused: signed too long ago (or in the future)",
        "/hooks/mailgun: 1 reports, 1 new events",
        "/hooks/mailgun: refused: already received (a replay)",
        "/hooks/mailgun: unreadable: mailgun: no event-data with an id",
    ]
    # Remembered as of when Mailgun signed it, not when it arrived: let go once the window
    # has moved past that second.
    signature = json.loads(a_minute_ago)["signature"]
    moved_on = stamp(datetime.fromtimestamp(int(signature["timestamp"]) + 1, UTC))
    with closing(open_hook_log(hooked.root)) as log:
        assert log.first_use(f"mailgun:{signature['token']}", stamp(), moved_on)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(hooked: Hooked) -> None:
    limit = 4 * 1024 * 1024
    assert hooked.post("/hooks/mailgun", b" " * (limit + 1)) == 413
    assert hooked.post("/hooks/mailgun", b" " * limit) == 401  # read whole: not JSON
    assert hooked.log.lines == ["/hooks/mailgun: refused: not JSON"]


def _confirmed(address: str) -> Any:
    from weekly.store.consent import Event

    return Event("2025-01-01T00:00:00+00:00", address, CONFIRMED, "test")
