"""Email addresses: normalised once the way email-validator does (with a fast path for the
common plain ASCII address), their SMTP envelope and IDNA forms, and the List-Id they give.

`plain_form` accepts only addresses for which email-validator's whole answer is known in
advance (the domain lower-cased, nothing else changed); anything else gets None.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

import email_validator
from email_validator import EmailNotValidError, rfc_constants, validate_email

from weekly.errors import WeeklyError

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
# An LDH label of 1-63 characters that is not an R-LDH label (`ab--`, Punycode included).
_LABEL = r"(?!..--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# Dot-atom local part, then labels and an all-letter top-level domain.
_PLAIN = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:{_LABEL}\.)+([A-Za-z]{{2,63}}))")
LOCAL_MAX = 64  # RFC 5321 4.5.3.1.1; email-validator checks it only when strict
ADDRESS_MAX = 254  # RFC 3696 erratum 1690
# RFC 2142 mailbox names, which email-validator lower-cases in the local part.
_MAILBOX_NAMES = frozenset(
    (
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
        "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp",
        *getattr(rfc_constants, "CASE_INSENSITIVE_MAILBOX_NAMES", ()),
    )
)  # fmt: skip
# Top-level labels of the special-use names email-validator refuses (`.local`, `.test`, ...).
_SPECIAL_TLDS = frozenset(
    name.rsplit(".", 1)[-1].lower() for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
)


def plain_form(raw: str) -> str | None:
    """`raw` as email-validator would normalise it, when it is a plain ASCII address whose
    only change is the lower-cased domain (then also its envelope form); else None."""
    if len(raw) > ADDRESS_MAX:
        return None
    match = _PLAIN.fullmatch(raw)
    if match is None:
        return None
    local, domain, tld = match.groups()
    if len(local) > LOCAL_MAX or local.lower() in _MAILBOX_NAMES:
        return None
    if tld.lower() in _SPECIAL_TLDS:
        return None
    return f"{local}@{domain.lower()}"


def normalise(raw: str) -> tuple[str, str]:
    """An address as email-validator normalises it (syntax only, IDN domains allowed), and its
    form for the SMTP envelope: the domain in IDNA (ASCII); a non-ASCII local part stays and
    needs a relay with SMTPUTF8. Raises EmailNotValidError. Plain ASCII addresses skip
    email-validator: their answer is known (see `plain_form`)."""
    plain = plain_form(raw)
    if plain is not None:
        return plain, plain
    checked = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    envelope = checked.ascii_email or f"{checked.local_part}@{checked.ascii_domain}"
    return checked.normalized, envelope


def normalize_address(raw: str) -> tuple[str, str]:
    """(email, key) for an address typed by a person: the normalised form and its lower-cased
    identity, the same key the subscriber list and the send ledger use."""
    try:
        email, _ = normalise(raw.strip())
    except EmailNotValidError as exc:
        raise WeeklyError(f"{raw!r} is not a valid address: {exc}") from None
    return email, email.lower()


def envelope_address(email: str) -> str:
    """The envelope form of an address already checked (see `normalise`)."""
    return normalise(email)[1]


def ascii_domain(address: str) -> str:
    """The domain of a bare `address`, IDNA-encoded as header fields and Message-IDs need."""
    return address.rpartition("@")[2].encode("idna").decode("ascii")


def list_id_of(sender: str) -> str:
    """The List-Id identifier, from the sender's address: `weekly@news.example.com` gives
    `weekly.news.example.com`. Unsubscribe tokens are signed for it."""
    address = parseaddr(sender)[1]
    return f"{address.rpartition('@')[0]}.{ascii_domain(address)}".lower()
