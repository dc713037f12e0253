"""Unsubscribe tokens: an HMAC of (list, address) keyed by `WEEKLY_SECRET`, so no one can
forge a link that unsubscribes someone else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from weekly.errors import WeeklyError

SECRET_ENV = "WEEKLY_SECRET"
MIN_SECRET = 16


def secret_from_env() -> bytes:
    """The HMAC key; missing or short is an error raised before anything is sent."""
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < MIN_SECRET:
        state = "is not set" if not secret else f"is shorter than {MIN_SECRET} characters"
        raise WeeklyError(
            f"{SECRET_ENV} {state}: set it to a long random string (it signs unsubscribe links)"
        )
    return secret.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, list_id: str, key: str) -> str:
    digest = hmac.new(secret, f"{list_id}\n{key}".encode(), hashlib.sha256).digest()
    return _b64(digest[:16])


def make_token(secret: bytes, list_id: str, key: str) -> str:
    """A URL-safe token naming `key` (a lower-cased address) on `list_id`, with its signature."""
    return f"{_b64(key.encode('utf-8'))}.{_mac(secret, list_id, key)}"


def token_address(secret: bytes, list_id: str, token: str) -> str | None:
    """The address a token was made for, or None when it is malformed or forged."""
    encoded, _, mac = token.partition(".")
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return key if hmac.compare_digest(mac, _mac(secret, list_id, key)) else None
