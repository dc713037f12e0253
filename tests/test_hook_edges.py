"""Webhook settings and SNS certificate rules at their edges: a provider turned on without
its secret stops `weekly serve` before any state is made; SNS certificates come only from
SNS hosts (or the test allow-list), must be valid PEM RSA certificates, and are fetched
without following redirects."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from weekly.web.hooks import sns
from weekly.web.hooks.shared import Refused
from weekly.web.hooks.sns import SnsVerifier, canonical

from . import hook_signing as sign
from .smtp import SECRET, free_port


def add_hooks(newsletter: Path, lines: str) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[hooks]\n{lines}\n")


P384 = ec.generate_private_key(ec.SECP384R1()).public_key()
P384_KEY = base64.b64encode(
    P384.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ("mailgun = true", "set WEEKLY_MAILGUN_SIGNING_KEY"),
        ('postmark_user = "hooks"', "set WEEKLY_POSTMARK_PASSWORD"),
        ('sendgrid_public_key = "not base64!"', "hooks.sendgrid_public_key: not a public key"),
        (f'sendgrid_public_key = "{P384_KEY}"', "not an ECDSA P-256 key"),
        ("soft_limit = 0", "hooks.soft_limit: must be at least 1"),
    ],
)
def test_a_provider_without_its_secret_stops_serve_first(
    newsletter: Path, run_weekly, monkeypatch: pytest.MonkeyPatch, settings: str, error: str
) -> None:
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    monkeypatch.delenv("WEEKLY_MAILGUN_SIGNING_KEY", raising=False)
    monkeypatch.delenv("WEEKLY_POSTMARK_PASSWORD", raising=False)
    monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
    add_hooks(newsletter, settings)
    result = run_weekly("serve", "--port", str(free_port()))
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert error in line
    assert not (newsletter / ".weekly").exists()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sns.ap-northeast-2.amazonaws.com/SimpleNotificationService-1.pem", True),
        ("http://sns.ap-northeast-2.amazonaws.com/cert.pem", False),
        ("https://sns.us-east-1.amazonaws.com.example.com/cert.pem", False),
        ("https://mybucket.s3.amazonaws.com/cert.pem", False),
        ("https://user@sns.us-east-1.amazonaws.com/cert.pem", False),
        ("http://127.0.0.1:8101/cert.pem", True),  # on the test allow-list
        ("https://127.0.0.1:8101/cert.pem", True),  # either scheme there
        ("http://127.0.0.1:8102/cert.pem", False),
        ("ftp://127.0.0.1:8101/cert.pem", False),
    ],
)
def test_only_sns_hosts_and_listed_test_hosts_are_fetched(url: str, allowed: bool) -> None:
    assert SnsVerifier("127.0.0.1:8101").allowed(url) is allowed


def refusal(verifier: SnsVerifier, url: str, kind: str = "Notification") -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    message = sign.sns_message(key, url, kind, Message="{}")
    with pytest.raises(Refused) as caught:
        asyncio.run(verifier.verify(message))
    return str(caught.value)


def test_a_certificate_must_be_a_current_pem_rsa_one() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with sign.cert_server() as certs:
        verifier = SnsVerifier(certs.host)
        certs.files["/expired.pem"] = sign.self_signed(rsa_key, days=-1)
        certs.files["/text.pem"] = b"not a certificate"
        certs.files["/ec.pem"] = sign.self_signed(ec_key)  # type: ignore[arg-type]
        assert refusal(verifier, certs.url("/expired.pem")) == (
            "the signing certificate has expired (or is not valid yet)"
        )
        text = refusal(verifier, certs.url("/text.pem"))
        assert text == "the signing certificate is not a PEM certificate"
        assert refusal(verifier, certs.url("/ec.pem")) == "the signing certificate's key is not RSA"
        assert "cannot fetch" in refusal(verifier, certs.url("/missing.pem"))
        certs.files["/other.pem"] = sign.self_signed(rsa_key)  # not the key that signs
        assert refusal(verifier, certs.url("/other.pem")) == "bad SNS signature"
        elsewhere = "https://example.com/cert.pem"
        assert refusal(verifier, elsewhere) == (
            f"{elsewhere!r} is not on an SNS host (sns.REGION.amazonaws.com)"
        )
        message = sign.sns_message(rsa_key, certs.url("/other.pem"), "Notification", Message="{}")
        for changed, words in (
            ({"SignatureVersion": "3"}, "unknown SignatureVersion '3'"),
            ({"Signature": "%" + message["Signature"]}, "Signature is not base64"),
        ):
            with pytest.raises(Refused) as caught:
                asyncio.run(verifier.verify({**message, **changed}))
            assert str(caught.value) == words
        assert "unknown SNS message type" in refusal(verifier, certs.url("/other.pem"), "Other")
        # A redirect could lead off the allowed hosts: it is not followed.
        assert "302" in refusal(verifier, certs.url("/redirect"))
        assert certs.fetched[-1] == "/redirect"


def test_a_message_without_its_certificate_url_is_refused_before_any_fetch() -> None:
    verifier = SnsVerifier("")
    with pytest.raises(Refused) as caught:
        asyncio.run(verifier.verify({"SignatureVersion": "2", "Signature": ""}))
    assert str(caught.value) == "'' is not on an SNS host (sns.REGION.amazonaws.com)"


def test_a_certificate_is_read_only_to_its_first_64_kib() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with sign.cert_server() as certs:
        # a certificate behind 70,000 bytes of text: a host sending more is not read to the end
        certs.files["/long.pem"] = b"# padding\n" * 7000 + sign.self_signed(key)
        message = sign.sns_message(key, certs.url("/long.pem"), "Notification", Message="{}")
        with pytest.raises(Refused) as caught:
            asyncio.run(SnsVerifier(certs.host).verify(message))
    assert str(caught.value) == "the signing certificate is not a PEM certificate"


def test_a_certificate_host_that_never_answers_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sns, "FETCH_SECONDS", 0.1)  # 10 s in service
    said: list[str] = []

    def fetch(verifier: SnsVerifier, url: str) -> None:
        try:
            asyncio.run(verifier.fetch(url))
        except Refused as exc:
            said.append(str(exc))

    # a listening socket that never accepts: the connection waits in its backlog, unanswered
    with socket.create_server(("127.0.0.1", 0)) as silent:
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        url = f"http://{host}/cert.pem"
        fetching = threading.Thread(target=fetch, args=(SnsVerifier(host), url), daemon=True)
        fetching.start()
        fetching.join(5)
        gave_up = not fetching.is_alive()
    fetching.join(5)  # closing the socket resets the connection: a fetch with no timeout ends
    assert gave_up
    assert said == [f"cannot fetch {url}: timed out"]


def test_the_text_sns_signs_lists_each_types_fields_in_order() -> None:
    note = {"Type": "Notification", "Message": "m", "MessageId": "i", "Timestamp": "t"}
    note |= {"TopicArn": "a", "Signature": "not signed", "Token": "not a notification's"}
    assert (
        canonical(note)
        == b"Message\nm\nMessageId\ni\nTimestamp\nt\nTopicArn\na\nType\nNotification\n"
    )
    with_subject = canonical({**note, "Subject": "s"})
    assert with_subject.startswith(b"Message\nm\nMessageId\ni\nSubject\ns\nTimestamp\n")
    for kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        confirm = {**note, "Type": kind, "SubscribeURL": "u", "Token": "k", "Subject": "s"}
        assert canonical(confirm) == (
            b"Message\nm\nMessageId\ni\nSubscribeURL\nu\nTimestamp\nt\nToken\nk\n"
            b"TopicArn\na\nType\n" + kind.encode() + b"\n"
        )
    refusals = {
        "SNS message without Token": {
            **note,
            "Type": "SubscriptionConfirmation",
            "SubscribeURL": "u",
            "Token": None,
        },
        "SNS message without Subject": {**note, "Subject": 7},
        "SNS message without Message": {k: v for k, v in note.items() if k != "Message"},
        "unknown SNS message type 'Other'": {**note, "Type": "Other"},
        "unknown SNS message type None": {k: v for k, v in note.items() if k != "Type"},
    }
    for words, message in refusals.items():
        with pytest.raises(Refused) as caught:
            canonical(message)
        assert str(caught.value) == words
