"""Per-recipient messages: the MIME skeleton and encoded parts are prepared once per send,
then each recipient costs a handful of header lines and one fill of each part.
"""

from __future__ import annotations

import itertools
import secrets
import time
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
from weekly.placeholders import UNSUBSCRIBE_URL
from weekly.render.composed import Composed

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True, slots=True)
class Built:
    """One recipient's message, ready for DATA (CRLF line ends, no line over 998 octets)."""

    message_id: str
    data: bytes


def sender_mailbox(value: str) -> tuple[str, str]:
    """The display name and ASCII-domain address of a `Name <addr>` setting."""
    name, address = parseaddr(value)
    return name, f"{address.rpartition('@')[0]}@{ascii_domain(address)}"


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
        self._mailto = config.unsubscribe.mailto
        self._number = composed.number
        self._run = secrets.token_hex(6)
        self._serial = itertools.count(1)
        self._date_second = -1
        self._date = ""
        self.subject = (TEST_PREFIX if test else "") + composed.subject
        boundary = f"=_weekly_{secrets.token_hex(12)}"
        fixed = [
            f"From: {mailbox(sender_name, sender)}",
            *([f"Reply-To: {mailbox(*sender_mailbox(letter.reply_to))}"] * bool(letter.reply_to)),
            unstructured("Subject", self.subject),
            f"List-Id: {mailbox(letter.name, self.list_id)}",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            "",
        ]
        self._fixed = "\r\n".join(fixed).encode("ascii")
        self._text_head = _part_head(boundary, "text/plain")
        self._html_head = _part_head(boundary, "text/html")
        self._end = f"--{boundary}--\r\n".encode("ascii")
        self._text = Base64Part(composed.text, escape_html=False)
        self._html = Base64Part(composed.html, escape_html=True)
        self._signer = DkimSigner.from_config(config)

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
        body = b"".join(
            (
                self._text_head,
                self._text.fill(values),
                self._html_head,
                self._html.fill(values),
                self._end,
            )
        )
        # UTF-8 only in a To with a non-ASCII local part, which goes out over SMTPUTF8 alone.
        headers = head.encode("utf-8")
        signature = b""
        if self._signer is not None:
            # The fixed block ends in the blank line; the signer wants the header fields only.
            signature = self._signer.signature(headers + self._fixed[:-2], body)
        return Built(message_id, b"".join((signature, headers, self._fixed, body)))


def _part_head(boundary: str, kind: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f"Content-Type: {kind}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii")
