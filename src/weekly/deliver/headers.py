"""Mail header fields written by hand: RFC 2047 encoded words, folding, addresses.

The stdlib generator can emit 76-character encoded words and glue adjacent words together
(CPython #85725), so words are cut here by UTF-8 bytes, never splitting a character.
"""

from __future__ import annotations

import re
from base64 import b64encode
from email.utils import quote

# 42 bytes encode to 56 base64 characters: a 68-character word, so even the first line
# ("Subject: " + word) stays within the 78 characters RFC 5322 recommends.
WORD_BYTES = 42
_PLAIN = re.compile(r"[ -~]*")
_ATOM_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*")


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 base64 words of at most 75 characters each."""
    words: list[str] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > WORD_BYTES:
            words.append(_word(chunk))
            chunk = b""
        chunk += data
    if chunk or not words:
        words.append(_word(chunk))
    return words


def _word(data: bytes) -> str:
    return f"=?utf-8?b?{b64encode(data).decode('ascii')}?="


def needs_encoding(text: str) -> bool:
    """Whether `text` must be sent as encoded words: non-ASCII, or long, or looks encoded."""
    return not _PLAIN.fullmatch(text) or "=?" in text or len(text) > 60


def unstructured(name: str, value: str) -> str:
    """A whole header field of free text (the Subject), folded, without the final CRLF."""
    if not needs_encoding(value):
        return f"{name}: {value}"
    return f"{name}: " + "\r\n ".join(encoded_words(value))


def phrase(text: str) -> str:
    """A display name usable before `<address>`: an atom run, a quoted string or encoded words."""
    if not needs_encoding(text):
        if _ATOM_PHRASE.fullmatch(text):
            return text
        return f'"{quote(text)}"'
    return "\r\n ".join(encoded_words(text))


def mailbox(name: str, address: str) -> str:
    """`name <address>`, or the bare address when there is no name."""
    return f"{phrase(name)} <{address}>" if name else address
