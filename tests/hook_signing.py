"""Provider webhooks as the providers would send them, signed here with test keys: an SNS
signing certificate (self-signed, served over http on 127.0.0.1), a Mailgun signing key, a
SendGrid P-256 key pair, Postmark Basic auth. The payloads are our own text in the shape
each provider documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

# Event times a minute apart, in the order the events are made.
_minutes = itertools.count()


def event_time() -> datetime:
    return datetime(2026, 11, 30, 9, tzinfo=UTC) + timedelta(minutes=next(_minutes))


def iso_time() -> str:
    return event_time().isoformat(timespec="milliseconds").replace("+00:00", "Z")


TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:weekly-bounces"
MAILGUN_KEY = "key-test-mailgun-signing-0123456789"
POSTMARK_USER, POSTMARK_PASSWORD = "hooks", "postmark-test-password"


def self_signed(key: rsa.RSAPrivateKey, days: int = 1) -> bytes:
    """A PEM certificate for `key`, valid from an hour ago for `days` (negative: expired)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.amazonaws.com")])
    start = datetime.now(UTC) - timedelta(hours=1)
    end = start + timedelta(days=days)
    if days < 0:
        start, end = end - timedelta(days=1), end
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


class CertServer:
    """An http server on 127.0.0.1 standing in for SNS: it serves certificates by path and
    answers (and remembers) the subscription confirmations fetched from it."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetched.append(self.path)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/other.pem")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = server.files.get(self.path, b"")
                if self.path.startswith("/confirm"):
                    body = b"<ConfirmSubscriptionResponse/>"
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


@contextmanager
def cert_server() -> Iterator[CertServer]:
    server = CertServer()
    # polled often: shutdown() waits for the next poll (half a second by default)
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


# The fields SNS signs, in byte order of their names (the documented order is that one);
# SubscribeURL and Token are only in subscription messages, Subject only in some.
_SIGNED = {
    "Message",
    "MessageId",
    "Subject",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
}


def sns_message(
    key: rsa.RSAPrivateKey, cert_url: str, kind: str, version: str = "2", **fields: str
) -> dict[str, str]:
    """An SNS message of type `kind` signed with `key` (SignatureVersion `version`)."""
    message = {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": version,
        "SigningCertURL": cert_url,
        **fields,
    }
    return sign_sns(key, message)


def sign_sns(key: rsa.RSAPrivateKey, message: dict[str, str]) -> dict[str, str]:
    """`message` with a fresh Signature over its canonical text."""
    text = "".join(f"{name}\n{message[name]}\n" for name in sorted(_SIGNED & set(message)))
    algorithm = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    signature = key.sign(text.encode(), padding.PKCS1v15(), algorithm)
    return {**message, "Signature": base64.b64encode(signature).decode()}


def ses_bounce(address: str, bounce_type: str = "Permanent", feedback: str = "") -> str:
    """The Message of an SES Bounce notification for `address`."""
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {"emailAddress": address, "status": "5.1.1", "diagnosticCode": "smtp; 550"}
                ],
                "timestamp": iso_time(),
                "feedbackId": feedback or str(uuid.uuid4()),
            },
            "mail": {"messageId": "ses-message-1"},
        }
    )


def ses_complaint(address: str, feedback: str = "abuse") -> str:
    return json.dumps(
        {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": address}],
                "timestamp": iso_time(),
                "feedbackId": str(uuid.uuid4()),
                "complaintFeedbackType": feedback,
            },
        }
    )


def ses_delivery(address: str) -> str:
    return json.dumps(
        {
            "notificationType": "Delivery",
            "delivery": {"timestamp": iso_time(), "recipients": [address]},
            "mail": {"messageId": "ses-message-2"},
        }
    )


def postmark_auth(user: str = POSTMARK_USER, password: str = POSTMARK_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def postmark_bounce(address: str, bounce_type: str = "HardBounce", record_id: int = 0) -> str:
    return json.dumps(
        {
            "RecordType": "Bounce",
            "ID": record_id or uuid.uuid4().int % 10**12,
            "Type": bounce_type,
            "Email": address,
            "BouncedAt": "2026-11-30T09:00:00.1234567Z",
            "Description": "The server was unable to deliver your message.",
            "Details": "smtp;550 5.1.1 unknown user",
            "MessageID": str(uuid.uuid4()),
        }
    )


def mailgun_body(
    event: dict[str, Any], key: str = MAILGUN_KEY, timestamp: float | None = None
) -> bytes:
    """A Mailgun webhook body for `event`, signed with `key`."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    digest = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    signature = {"timestamp": stamp, "token": token, "signature": digest}
    return json.dumps({"signature": signature, "event-data": event}).encode()


def mailgun_event(
    address: str, event: str = "failed", severity: str = "permanent"
) -> dict[str, Any]:
    return {
        "event": event,
        "id": uuid.uuid4().hex,
        "timestamp": event_time().timestamp(),
        "recipient": address,
        "severity": severity,
        "reason": "bounce",
        "delivery-status": {"code": 550, "message": "5.1.1 no such user"},
    }


def sendgrid_keys() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A P-256 key pair: the private key, and the public one as SendGrid shows it."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, base64.b64encode(der).decode()


def sendgrid_request(
    key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]], timestamp: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """A SendGrid event webhook body and its signature headers."""
    body = json.dumps(events).encode()
    stamp = str(int(time.time() if timestamp is None else timestamp))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }
    return body, headers


def sendgrid_event(address: str, event: str = "bounce", **more: str) -> dict[str, Any]:
    return {
        "email": address,
        "timestamp": 1764493200,
        "event": event,
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": "sendgrid-message-1",
        "status": "5.1.1",
        "reason": "550 unknown user",
        **more,
    }
