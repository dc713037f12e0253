"""Amazon SNS message signatures: the canonical string of a message's fields, signed with
SHA1withRSA (SignatureVersion 1) or SHA256withRSA (2) by the certificate at SigningCertURL,
which must be https on SNS's own amazonaws.com hosts (or a host the tests allow)."""

from __future__ import annotations

import base64
import binascii
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.concurrency import run_in_threadpool

from weekly.web.hooks.shared import Refused

# The fields each message type signs, in the order the canonical string lists them.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
OPTIONAL = {"Subject"}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# SNS's hosts only: other amazonaws.com hosts (an S3 bucket) serve anyone's files.
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com")
FETCH_LIMIT = 64 * 1024
FETCH_SECONDS = 10.0


def canonical(message: dict[str, Any]) -> bytes:
    """The text SNS signs: `Name\\nvalue\\n` for each signed field the message has."""
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise Refused(f"unknown SNS message type {message.get('Type')!r}")
    text = []
    for name in fields:
        value = message.get(name)
        if value is None and name in OPTIONAL:
            continue
        if not isinstance(value, str):
            raise Refused(f"SNS message without {name}")
        text.append(f"{name}\n{value}\n")
    return "".join(text).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the allowed hosts: follow none."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class SnsVerifier:
    """Checks SNS signatures, fetching each signing certificate once (kept in memory)."""

    def __init__(self, test_hosts: str) -> None:
        self.test_hosts = set(test_hosts.split())
        self._keys: dict[str, tuple[rsa.RSAPublicKey, datetime]] = {}  # and valid until

    def allowed(self, url: str) -> bool:
        """Whether SNS may send us to `url`: https on an SNS host, or a test host."""
        parts = urlsplit(url)
        if parts.scheme == "https" and SNS_HOST.fullmatch(parts.netloc.lower()):
            return True
        return parts.scheme in ("http", "https") and parts.netloc in self.test_hosts

    async def fetch(self, url: str) -> bytes:
        """GET `url` (an allowed one) in a worker thread; Refused if it fails."""
        if not self.allowed(url):
            raise Refused(f"{url!r} is not on an SNS host (sns.REGION.amazonaws.com)")
        return await run_in_threadpool(self._get, url)

    @staticmethod
    def _get(url: str) -> bytes:
        try:
            with _OPENER.open(url, timeout=FETCH_SECONDS) as answer:
                return bytes(answer.read(FETCH_LIMIT))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Refused(f"cannot fetch {url}: {exc}") from None

    async def verify(self, message: dict[str, Any]) -> None:
        """Refused unless `message` carries a good signature by its certificate."""
        algorithm = HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise Refused(f"unknown SignatureVersion {message.get('SignatureVersion')!r}")
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except (binascii.Error, ValueError):
            raise Refused("Signature is not base64") from None
        key = await self._key(str(message.get("SigningCertURL", "")))
        try:
            key.verify(signature, canonical(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Refused("bad SNS signature") from None

    async def _key(self, url: str) -> rsa.RSAPublicKey:
        """The key of the certificate at `url`, fetched the first time it is named."""
        cached = self._keys.get(url)
        if cached is None or cached[1] < datetime.now(UTC):
            cached = _public_key(await self.fetch(url))
            self._keys[url] = cached
        return cached[0]


def _public_key(pem: bytes) -> tuple[rsa.RSAPublicKey, datetime]:
    """The RSA key of a PEM certificate valid now, and until when; Refused if not so."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise Refused("the signing certificate is not a PEM certificate") from None
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise Refused("the signing certificate has expired (or is not valid yet)")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refused("the signing certificate's key is not RSA")
    return key, certificate.not_valid_after_utc
