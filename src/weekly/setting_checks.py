"""What a setting's value must be beyond its type: each check returns what is wrong with a
value, in the words `weekly.toml` errors use, or None; `config.py` declares one per setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import getaddresses
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from weekly.l10n import LOCALES_DIR, available_languages
from weekly.tags import TagError, parse_tags

Check = Callable[[Any], str | None]

HTTP_URL = re.compile(r"https?://[^/]+")
DNS_LABELS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*")


def store_url(value: str) -> str | None:
    """A PostgreSQL URL without a password: that belongs in the environment or a .pgpass."""
    scheme, _, rest = value.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return "must start with postgresql://"
    user = rest.split("@", 1)[0] if "@" in rest.split("/", 1)[0] else ""
    if ":" in user or "password=" in rest:
        return "must not hold a password: set PGPASSWORD or use ~/.pgpass"
    return None


def time_zone(value: str) -> str | None:
    """An IANA zone name the system's time zone database knows, e.g. Asia/Seoul."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"not a known time zone: {value!r} (an IANA name such as Asia/Seoul)"
    return None


def empty_or(check: Check) -> Check:
    """`check`, applied only when the value is not empty (empty means: not used)."""
    return lambda value: check(value) if value else None


def at_least_1(value: float) -> str | None:
    return None if value >= 1 else "must be at least 1"


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def port(value: int) -> str | None:
    return None if 0 < value < 65536 else "must be between 1 and 65535"


def tags(value: str) -> str | None:
    """A `;`-separated tag list, spelled as the list's `tags` column is."""
    try:
        parse_tags(value)
    except TagError as exc:
        return str(exc)
    return None


def not_blank(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def http_url(value: str) -> str | None:
    return None if HTTP_URL.match(value) else "must be an http(s) URL"


def dns_name(value: str) -> str | None:
    return None if DNS_LABELS.fullmatch(value) else f"not a DNS name: {value!r}"


def _one_token(value: str) -> bool:
    """Exactly one `{token}` and no other brace, which the token fill would leave in the link."""
    return value.count("{token}") == 1 and not re.search("[{}]", value.replace("{token}", ""))


def unsubscribe_url(value: str) -> str | None:
    # It goes into the List-Unsubscribe header as it is.
    if _one_token(value) and re.fullmatch(r"https://[!-~]+", value):
        return None
    return "must be an https:// URL containing {token} once (and no other braces)"


def confirm_url_pattern(value: str) -> str | None:
    if value.startswith("https://") and _one_token(value):
        return None
    return "must be an https:// URL with {token} once (and no other braces)"


def mailto(value: str) -> str | None:
    """A bare address; an IDN domain goes into List-Unsubscribe in its ASCII form."""
    if "@" not in value or value != value.strip():
        return f"not an email address: {value!r}"
    return _address(value)


def mailbox(value: str) -> str | None:
    """One `Name <address>` (or bare address) every relay can carry: an IDN domain goes out in
    its ASCII form, but a non-ASCII local part would need SMTPUTF8 of every relay."""
    found = getaddresses([value])
    if len(found) != 1 or "@" not in found[0][1]:
        return f"not an email address: {value!r}"
    return _address(found[0][1])


def _address(address: str) -> str | None:
    """What is wrong with a bare `address` some relay could not carry, or None."""
    local, _, domain = address.rpartition("@")
    if not re.fullmatch(r"[!-~]+", local):
        return f"the part before @ must be ASCII, not {address!r}"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    if not DNS_LABELS.fullmatch(ascii_domain):
        return f"not a valid domain after @: {address!r}"
    return None


def language(value: str) -> str | None:
    """One with a catalog; name the choices, or say there are none (catalogs not installed)."""
    languages = available_languages()
    if value in languages:
        return None
    if not languages:
        return f"{value!r} has no catalog: none found in {LOCALES_DIR} (reinstall weekly)"
    return f"must be one of {' | '.join(languages)}, not {value!r}"
