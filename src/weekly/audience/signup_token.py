"""Double opt-in: the signed, expiring token in a confirmation link. It carries the address,
the name and when the sign-up was asked, so nothing is stored before consent. (Not the IP:
the link goes to the address's owner, who need not be the one who asked.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from weekly.audience.unsubscribe_token import b64decode, b64encode

# Keeps these MACs apart from unsubscribe tokens made with the same secret.
PURPOSE = b"weekly-confirm\n"


@dataclass(frozen=True, slots=True)
class SignUp:
    """A request to join the list, as carried by a confirmation token."""

    email: str
    name: str
    requested_at: int  # Unix time


def _mac(secret: bytes, payload: str) -> str:
    return b64encode(hmac.new(secret, PURPOSE + payload.encode(), hashlib.sha256).digest()[:18])


def confirm_token(secret: bytes, request: SignUp) -> str:
    """The token for `request`'s confirmation link."""
    fields = [request.email, request.name, request.requested_at]
    payload = b64encode(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def read_confirm_token(
    secret: bytes, token: str, max_age: float, now: float | None = None
) -> SignUp | None:
    """The sign-up a token carries; None when it is forged, malformed or older than `max_age`
    seconds."""
    payload, _, mac = token.partition(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        email, name, requested_at = json.loads(b64decode(payload))
    except ValueError:
        return None
    age = (time.time() if now is None else now) - requested_at
    if not 0 <= age <= max_age:
        return None
    return SignUp(str(email), str(name), int(requested_at))
