"""DKIM signatures (RFC 6376): rsa-sha256, relaxed/relaxed, computed here with
`cryptography`'s RSA because signing runs once per recipient and must keep up with SMTP.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.hashes import SHA256

from weekly.config import Config
from weekly.deliver.dkim_keys import key_path, load_private_key

# What a signature covers, when present: everything a reader or a filter relies on.
SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
)

_FIELD_START = re.compile(rb"^(?=[^ \t])", re.M)
_WSP_RUN = re.compile(rb"[ \t]+")
_TRAILING_WSP = re.compile(rb"[ \t]+(?=\r\n)")
_PADDING = padding.PKCS1v15()
_PREHASHED = utils.Prehashed(SHA256())


def relaxed_body(body: bytes) -> bytes:
    """The relaxed body canonical form: runs of blanks made one space, blanks before a line
    end and empty lines at the end removed."""
    if not _already_relaxed(body):
        body = _WSP_RUN.sub(b" ", _TRAILING_WSP.sub(b"", body))
    end = len(body)
    while body.endswith(b"\r\n", 0, end):  # a regex anchored at the end scans the whole body
        end -= 2
    return body[:end] + b"\r\n" if end else b""


def _already_relaxed(body: bytes, probes: int = 64) -> bool:
    """True when no tab and no blank followed by a blank or a line end is in `body`.

    Base64 parts have a handful of spaces (in part headers) at most: jumping from one space
    to the next with find() is many times faster than a regex over the whole body.
    """
    if b"\t" in body:
        return False
    at = body.find(b" ")
    for _ in range(probes):
        if at < 0:
            return True
        if body[at + 1 : at + 2] in (b" ", b"\r"):
            return False
        at = body.find(b" ", at + 1)
    return at < 0


@functools.lru_cache(maxsize=64)
def relaxed_header(name: bytes, value: bytes) -> bytes:
    """One header field in relaxed form: lower-case name, unfolded, blanks squeezed.

    Cached: From, Subject, Content-Type and most other fields are the same in every message
    of a send; only a few (To, Message-ID, List-Unsubscribe) differ per recipient."""
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip().lower() + b":" + value + b"\r\n"


def header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, value) of each field of a CRLF header block, folding kept in the value."""
    fields = []
    for chunk in _FIELD_START.split(head):
        if chunk.strip():
            name, _, value = chunk.partition(b":")
            fields.append((name, value.removesuffix(b"\r\n")))
    return fields


def _folded_list(names: list[bytes], width: int = 70) -> bytes:
    """`a:b:c`, broken after a colon before a line would pass `width` (h= allows FWS)."""
    lines = [b""]
    for name in names:
        if lines[-1] and len(lines[-1]) + len(name) + 1 > width:
            lines.append(b"")
        lines[-1] += (b":" if lines[-1] else b"") + name
    return b":\r\n ".join(lines)


class DkimSigner:
    """Signs messages for one domain and selector with one RSA key."""

    def __init__(
        self,
        domain: str,
        selector: str,
        key: rsa.RSAPrivateKey,
        headers: Sequence[str] = SIGNED_HEADERS,
    ) -> None:
        self._key = key
        self._order = [name.encode("ascii") for name in headers]
        self._wanted = frozenset(self._order)
        self._tags = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d={domain}; s={selector}; t="
        ).encode("ascii")
        # h= for each list of present fields met: one per send, as all its messages agree.
        self._h: dict[tuple[bytes, ...], bytes] = {}

    @classmethod
    def from_config(cls, config: Config) -> DkimSigner | None:
        """The signer `[dkim]` asks for, or None when signing is off."""
        settings = config.dkim
        if not settings.enabled:
            return None
        return cls(settings.domain, settings.selector, load_private_key(key_path(config)))

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF line ends) with a DKIM-Signature field in front."""
        head, _, body = message.partition(b"\r\n\r\n")
        return self.signature(head + b"\r\n", body) + message

    def _names(self, listed: tuple[bytes, ...]) -> bytes:
        """The folded h= value for fields `listed`, bottom instance first.

        Each name once more than it occurs ("over-signing"): an added From, Subject or
        List-Unsubscribe, or a Reply-To where there was none, then breaks the signature."""
        names = self._h.get(listed)
        if names is None:
            names = self._h[listed] = _folded_list([*listed, *self._order])
        return names

    def signature(self, head: bytes, body: bytes) -> bytes:
        """The `DKIM-Signature:` field (ending in CRLF) for a header block and a body."""
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
        found: dict[bytes, list[bytes]] = {}
        for name, value in header_fields(head):
            lower = name.strip().lower()
            if lower in self._wanted:
                found.setdefault(lower, []).append(value)
        listed: list[bytes] = []
        signed = b""
        for lower, values in found.items():
            for value in reversed(values):  # a verifier takes instances from the bottom up
                listed.append(lower)
                signed += relaxed_header(lower, value)
        unsigned = b"".join(
            (
                self._tags,
                str(int(time.time())).encode("ascii"),
                b";\r\n h=",
                self._names(tuple(listed)),
                b";\r\n bh=",
                body_hash,
                b";\r\n b=",
            )
        )
        signed += relaxed_header(b"dkim-signature", b" " + unsigned).removesuffix(b"\r\n")
        digest = hashlib.sha256(signed).digest()
        value = base64.b64encode(self._key.sign(digest, _PADDING, _PREHASHED))
        folded = b"\r\n ".join(value[i : i + 72] for i in range(0, len(value), 72))
        return b"DKIM-Signature: " + unsigned + folded + b"\r\n"
