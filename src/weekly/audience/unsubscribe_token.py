"""Unsubscribe tokens: an HMAC of (list, address) keyed by `WEEKLY_SECRET`, so no one can
forge a link that unsubscribes someone else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

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


# base64url address, a dot, base64url MAC: how a token looks inside a subject or a body.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding, as every signed token here uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The inverse of `b64encode`; raises ValueError on malformed input."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, list_id: str, key: str) -> str:
    digest = hmac.new(secret, f"{list_id}\n{key}".encode(), hashlib.sha256).digest()
    return b64encode(digest[:16])


def make_token(secret: bytes, list_id: str, key: str) -> str:
    """A URL-safe token naming `key` (a lower-cased address) on `list_id`, with its signature."""
    return f"{b64encode(key.encode('utf-8'))}.{_mac(secret, list_id, key)}"


def token_address(secret: bytes, list_id: str, token: str) -> str | None:
    """The address a token was made for, or None when it is malformed or forged."""
    encoded, _, mac = token.partition(".")
    try:
        key = b64decode(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return key if hmac.compare_digest(mac, _mac(secret, list_id, key)) else None
