"""Every message weekly writes: a `Frame` built once (fixed fields, MIME skeleton, DKIM) and
filled per message; `MessageFactory` fills the newsletter's parts per recipient with it."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parseaddr

from weekly.addresses import ascii_domain, list_id_of
from weekly.audience.subscriber_list import Subscriber
from weekly.audience.tokens import make_token
from weekly.config import Config
from weekly.deliver.base64_part import Base64Part
from weekly.deliver.dkim import DkimSigner
from weekly.deliver.headers import mailbox, unstructured
from weekly.deliver.tracking import Tracker
from weekly.placeholders import UNSUBSCRIBE_URL
from weekly.render.composed import Composed

TEST_PREFIX = "[TEST] "
_BASE64 = "Content-Transfer-Encoding: base64"  # every part: no line can start with a dot
_BODIES = slice(4, None, 2)  # where `Frame` puts the parts' bodies among its pieces


@dataclass(frozen=True, slots=True)
class Built:
    """One recipient's message, ready for DATA (CRLF line ends, no line over 998 octets)."""

    message_id: str
    data: bytes


def sender_mailbox(value: str) -> tuple[str, str]:
    """The display name and ASCII-domain address of a `Name <addr>` setting."""
    name, address = parseaddr(value)
    return name, f"{address.rpartition('@')[0]}@{ascii_domain(address)}"


class Frame:
    """The fixed header fields and MIME skeleton of one kind of message, built once: a single
    `kinds` gives a one-part message, more a multipart/alternative in the order given."""

    __slots__ = ("_fixed", "_pieces", "_signer")

    def __init__(
        self, fields: Sequence[str], kinds: Sequence[str], signer: DkimSigner | None
    ) -> None:
        if len(kinds) == 1:
            content = [f"Content-Type: {kinds[0]}; charset=utf-8", _BASE64]
            heads, end = [b""], b""
        else:
            boundary = f"=_weekly_{secrets.token_hex(12)}"
            content = [f'Content-Type: multipart/alternative; boundary="{boundary}"']
            heads = [_part_head(boundary, kind) for kind in kinds]
            end = f"--{boundary}--\r\n".encode("ascii")
        self._fixed = "\r\n".join([*fields, "MIME-Version: 1.0", *content, "", ""]).encode("ascii")
        self._signer = signer
        # Slots for the signature and the message's own fields, the fixed block, each part's
        # head and a slot for its body, the closing boundary: one join makes the message.
        parts = [piece for head in heads for piece in (head, b"")]
        self._pieces = [b"", b"", self._fixed, *parts, end]

    def message(self, head: str, bodies: Sequence[bytes]) -> bytes:
        """One whole message: `head` (its own header fields, each ending in CRLF; UTF-8 only
        in a To that needs SMTPUTF8), the fixed ones, then `bodies` (base64, one a part)."""
        pieces = self._pieces.copy()
        pieces[_BODIES] = bodies  # a ValueError unless there is one body a part
        pieces[1] = headers = head.encode("utf-8")
        if self._signer is None:
            return b"".join(pieces)
        # The fixed block ends in the blank line; the signer wants the header fields only.
        body = b"".join(pieces[3:])
        signature = self._signer.signature(headers + self._fixed[:-2], body)
        return b"".join((signature, headers, self._fixed, body))  # the body joined once


class MessageFactory:
    """Builds the messages of one send of one issue."""

    def __init__(
        self, composed: Composed, config: Config, secret: bytes, *, test: bool = False
    ) -> None:
        letter = config.newsletter
        sender_name, sender = sender_mailbox(letter.sender)
        self.sender = sender
        self.list_id = list_id_of(letter.sender)
        self._domain = ascii_domain(sender)
        self._secret = secret
        self._url = config.unsubscribe.url
        mailto = config.unsubscribe.mailto  # an IDN domain goes out in its ASCII form
        self._mailto = mailto and sender_mailbox(mailto)[1]
        self._number = composed.number
        self._run = secrets.token_hex(6)
        self._serial = itertools.count(1)
        self._date_second = -1
        self._date = ""
        self.subject = (TEST_PREFIX if test else "") + composed.subject
        fixed = [
            f"From: {mailbox(sender_name, sender)}",
            *([f"Reply-To: {mailbox(*sender_mailbox(letter.reply_to))}"] * bool(letter.reply_to)),
            unstructured("Subject", self.subject),
            f"List-Id: {mailbox(letter.name, self.list_id)}",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
        self._frame = Frame(fixed, ("text/plain", "text/html"), DkimSigner.from_config(config))
        html, text = composed.html, composed.text
        # A test send goes to the editor: their clicks must not count as a reader's.
        self._tracker = (
            None if test or not config.tracking.enabled else Tracker(config, composed, secret)
        )
        if self._tracker:
            html, text = self._tracker.parts(html, text)
        self._text = Base64Part(text, escape_html=False)
        self._html = Base64Part(html, escape_html=True)

    @property
    def keys(self) -> frozenset[str]:
        """Placeholder keys the composed issue uses."""
        return self._text.keys | self._html.keys

    def _now(self) -> str:
        second = int(time.time())
        if second != self._date_second:
            self._date_second = second
            self._date = format_datetime(datetime.fromtimestamp(second, UTC))
        return self._date

    def build(self, subscriber: Subscriber) -> Built:
        """The complete message for one subscriber."""
        token = make_token(self._secret, self.list_id, subscriber.key)
        url = self._url.replace("{token}", token)
        message_id = f"<{self._number}.{self._run}.{next(self._serial)}@{self._domain}>"
        unsubscribe = f"List-Unsubscribe: <{url}>"
        if self._mailto:
            unsubscribe += f",\r\n <mailto:{self._mailto}?subject=unsubscribe%20{token}>"
        head = (
            f"Date: {self._now()}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"To: {mailbox(subscriber.name, subscriber.address)}\r\n"
            f"{unsubscribe}\r\n"
        )
        values = subscriber.values()
        values[UNSUBSCRIBE_URL] = url
        if self._tracker:
            values.update(self._tracker.values(subscriber, self._date_second))
        parts = (self._text.fill(values), self._html.fill(values))
        return Built(message_id, self._frame.message(head, parts))


def _part_head(boundary: str, kind: str) -> bytes:
    head = f"--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\n{_BASE64}\r\n\r\n"
    return head.encode("ascii")
