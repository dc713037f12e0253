"""Plain-text bounces flufl.bounce's detectors do not know (French notices), and the test
that a message comes from a mail system at all, so no reader's words count as a bounce."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.utils import parseaddr
from typing import cast

# Sentences French mail servers open their list of failed addresses with.
FRENCH_INTRO = re.compile(
    r"n'a pas pu être remis|adresse en échec|destinataire est introuvable", re.IGNORECASE
)
ADDRESS = re.compile(r"<?([^\s<>@:;,]+@[^\s<>@:;,]+\.[A-Za-z]{2,})>?")
# How far past the opening sentence the addresses may start.
LOOK_AHEAD = 5
# Local parts of the senders that write delivery reports (RFC 5321 §4.5.1, RFC 2142).
SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})


def from_mail_system(message: Message) -> bool:
    """True for mail sent with the null reverse-path or from a postmaster: only such mail
    may be read as a bounce by its wording."""
    if str(message.get("return-path", "")).strip() == "<>":
        return True
    local = parseaddr(str(message.get("from", "")))[1].partition("@")[0]
    return local.lower() in SYSTEM_SENDERS


def french_failures(message: Message) -> list[str]:
    """The addresses listed after the opening sentence of a French non-delivery notice."""
    found: list[str] = []
    for text in _plain_texts(message):
        lines = text.splitlines()
        for number, line in enumerate(lines):
            if FRENCH_INTRO.search(line):
                found.extend(_listed(lines[number + 1 :]))
    return list(dict.fromkeys(found))


def _listed(lines: list[str]) -> Iterator[str]:
    """Addresses on the lines that follow, up to the blank line that ends the list."""
    seen = False
    for index, line in enumerate(lines):
        match = ADDRESS.search(line)
        if match:
            seen = True
            yield match.group(1)
        elif (not line.strip()) if seen else index >= LOOK_AHEAD:
            return


def _plain_texts(message: Message) -> Iterator[str]:
    """The decoded text of every text/plain part."""
    for part in message.walk():
        if part.get_content_type() != "text/plain":
            continue
        data = cast(bytes, part.get_payload(decode=True))  # always bytes for a text part
        yield data.decode(part.get_content_charset() or "us-ascii", errors="replace")
