"""Unsubscribe tokens until `weekly send`'s own land: an HMAC of (list, address) keyed by
`WEEKLY_SECRET`. Same names as send's, so swapping is changing one import."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from email.utils import parseaddr

from weekly.errors import WeeklyError

SECRET_ENV = "WEEKLY_SECRET"


def secret_from_env() -> bytes:
    """The HMAC key; a missing or short one is an error."""
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        raise WeeklyError(f"{SECRET_ENV} must be set to a long random string (16+ characters)")
    return secret.encode("utf-8")


def list_id_of(sender: str) -> str:
    """The List-Id identifier made from the sender's address."""
    local, _, domain = parseaddr(sender)[1].rpartition("@")
    return f"{local}.{domain}".lower()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, list_id: str, key: str) -> str:
    return _encode(hmac.new(secret, f"{list_id}\n{key}".encode(), hashlib.sha256).digest()[:16])


def make_token(secret: bytes, list_id: str, key: str) -> str:
    """A URL-safe token naming the lower-cased address `key` on `list_id`."""
    return f"{_encode(key.encode('utf-8'))}.{_mac(secret, list_id, key)}"


def token_address(secret: bytes, list_id: str, token: str) -> str | None:
    """The address a token was made for; None when it is malformed or forged."""
    encoded, _, mac = token.partition(".")
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return key if hmac.compare_digest(mac, _mac(secret, list_id, key)) else None
