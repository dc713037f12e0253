"""Signed links: unsubscribe tokens and sign-up confirmation tokens, both HMAC-SHA256 keyed by
`WEEKLY_SECRET`, so no one can forge a link that unsubscribes or signs up someone else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from dataclasses import dataclass

from weekly.errors import WeeklyError

SECRET_ENV = "WEEKLY_SECRET"
MIN_SECRET = 16

# base64url address, a dot, base64url MAC: how a token looks inside a subject or a body.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")

# What a MAC is for goes in front of the signed bytes, so one kind of token never passes for
# another made with the same secret. An unsubscribe's purpose is its list (`<list id>\n`: a
# list id always holds a dot, this one none); the MAC sizes differ too.
CONFIRM_PURPOSE = b"weekly-confirm\n"
TRACK_PURPOSE = b"weekly-track\n"
UNSUBSCRIBE_MAC_BYTES = 16
CONFIRM_MAC_BYTES = 18
TRACK_MAC_BYTES = 9
# A visitor mark's payload: a reader's key (per-subscriber counts) or random bytes (a mark
# that tells one message's hits apart and names no one), told apart by its first byte.
_READER, _ANONYMOUS = b"s", b"a"
ANONYMOUS_BYTES = 6


def secret_from_env() -> bytes:
    """The HMAC key; missing or short is an error raised before anything is sent."""
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < MIN_SECRET:
        state = "is not set" if not secret else f"is shorter than {MIN_SECRET} characters"
        raise WeeklyError(
            f"{SECRET_ENV} {state}: set it to a long random string (it signs unsubscribe links)"
        )
    return secret.encode("utf-8")


def _b64encode(data: bytes) -> str:
    """URL-safe base64 without padding, as every signed token here uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """The inverse of `_b64encode`; raises ValueError on malformed input."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, purpose: bytes, message: bytes, size: int) -> str:
    """The base64url MAC of `message` for `purpose`: HMAC-SHA256 cut to `size` bytes."""
    return _b64encode(hmac.new(secret, purpose + message, hashlib.sha256).digest()[:size])


def verify(secret: bytes, purpose: bytes, message: bytes, size: int, mac: str) -> bool:
    """Whether `mac` is `message`'s MAC for `purpose`, compared in constant time."""
    return hmac.compare_digest(mac, sign(secret, purpose, message, size))


def _list_purpose(list_id: str) -> bytes:
    return f"{list_id}\n".encode()


def make_token(secret: bytes, list_id: str, key: str) -> str:
    """A URL-safe token naming `key` (a lower-cased address) on `list_id`, with its signature."""
    data = key.encode("utf-8")
    mac = sign(secret, _list_purpose(list_id), data, UNSUBSCRIBE_MAC_BYTES)
    return f"{_b64encode(data)}.{mac}"


def token_address(secret: bytes, list_id: str, token: str) -> str | None:
    """The address a token was made for, or None when it is malformed or forged."""
    encoded, _, mac = token.partition(".")
    try:
        data = _b64decode(encoded)
        key = data.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    purpose = _list_purpose(list_id)
    return key if verify(secret, purpose, data, UNSUBSCRIBE_MAC_BYTES, mac) else None


def visitor_mark(secret: bytes, key: str | None, made: int) -> str:
    """The signed mark a tracked link or open pixel carries: when its message was `made`
    (Unix time: a hit seconds later is a link scanner's) and `key` (a reader who agreed to
    per-subscriber counts) or, for None, random bytes made here and kept nowhere."""
    who = _READER + key.encode("utf-8") if key else _ANONYMOUS + os.urandom(ANONYMOUS_BYTES)
    data = who[:1] + made.to_bytes(4, "big") + who[1:]
    return f"{_b64encode(data)}.{sign(secret, TRACK_PURPOSE, data, TRACK_MAC_BYTES)}"


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a genuine visitor mark says: the reader's key ("" for an anonymous mark), when
    the message was made, and `opaque`, telling one mark's hits apart without naming anyone."""

    key: str
    made: int
    opaque: str


def read_visitor_mark(secret: bytes, mark: str) -> Visitor | None:
    """The visitor a mark names; None when it is malformed or forged."""
    encoded, _, mac = mark.partition(".")
    try:
        data = _b64decode(encoded)
        key = data[5:].decode("utf-8") if data[:1] == _READER else ""
    except (ValueError, UnicodeDecodeError):
        return None
    if len(data) < 6 or data[:1] not in (_READER, _ANONYMOUS):
        return None
    if not verify(secret, TRACK_PURPOSE, data, TRACK_MAC_BYTES, mac):
        return None
    return Visitor(key, int.from_bytes(data[1:5], "big"), mac)


@dataclass(frozen=True, slots=True)
class SignUp:
    """A request to join the list, as carried by a confirmation token: the address, the name
    and when it was asked, so nothing is stored before consent. (Not the IP: the link goes to
    the address's owner, who need not be the one who asked.)"""

    email: str
    name: str
    requested_at: int  # Unix time


def confirm_token(secret: bytes, request: SignUp) -> str:
    """The signed token in `request`'s double opt-in confirmation link."""
    fields = [request.email, request.name, request.requested_at]
    payload = _b64encode(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{payload}.{sign(secret, CONFIRM_PURPOSE, payload.encode(), CONFIRM_MAC_BYTES)}"


def read_confirm_token(
    secret: bytes, token: str, max_age: float, now: float | None = None
) -> SignUp | None:
    """The sign-up a token carries; None when it is forged, malformed or older than `max_age`
    seconds."""
    payload, _, mac = token.partition(".")
    if not verify(secret, CONFIRM_PURPOSE, payload.encode(), CONFIRM_MAC_BYTES, mac):
        return None
    try:
        email, name, requested_at = json.loads(_b64decode(payload))
    except ValueError:
        return None
    age = (time.time() if now is None else now) - requested_at
    if not 0 <= age <= max_age:
        return None
    return SignUp(str(email), str(name), int(requested_at))
