"""Per-subscriber values left in the composed email as `%%key%%` tokens, filled in at send time.

The token survives MJML, premailer (which URL-encodes `{{ }}` in href) and HTML escaping
unchanged. A composed part is split once into literal chunks and keys, so filling it for a
recipient is one join, never a re-render. Content, render, audience and deliver all read
these keys, so they live in the core: a new per-subscriber value is its key here and its value
in `Subscriber.values` (audience/subscriber_list.py), then any template may use it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

NAME = "name"
EMAIL = "email"
UNSUBSCRIBE_URL = "unsubscribe_url"
# Filled by send when the editor turned tracking on (deliver/tracking.py): the visitor marks
# of tracked links and of the open pixel, and the footer's per-subscriber tracking note.
CLICK_MARK = "click_mark"
OPEN_MARK = "open_mark"
TRACKING_NOTE = "tracking_note"
STANDARD_KEYS = (NAME, EMAIL, UNSUBSCRIBE_URL, CLICK_MARK, OPEN_MARK, TRACKING_NOTE)

_TOKEN = re.compile(r"%%([a-z][a-z0-9_]*)%%")


def placeholder(key: str) -> str:
    """The token standing for `key` in a composed part."""
    if not is_key(key):
        raise ValueError(f"placeholder keys are lower-case identifiers, not {key!r}")
    return f"%%{key}%%"


def is_key(key: str) -> bool:
    """Whether `key` can name a placeholder (a lower-case identifier)."""
    return _TOKEN.fullmatch(f"%%{key}%%") is not None


def split(text: str) -> list[str]:
    """`text` cut around its placeholders: literal chunks at even indexes, keys at odd ones."""
    return _TOKEN.split(text)


class Filler:
    """A composed part pre-split around its placeholders; `fill` makes one recipient's copy."""

    __slots__ = ("_chunks", "_escape", "_slots", "keys")

    def __init__(self, text: str, *, escape_html: bool) -> None:
        parts = split(text)
        self._chunks = parts
        self._slots = range(1, len(parts), 2)
        self._escape = escape_html
        self.keys = frozenset(parts[1::2])

    def fill(self, values: Mapping[str, str]) -> str:
        """The part with every placeholder replaced; values are HTML-escaped in HTML parts.

        A key with no value becomes the empty string, so a token never reaches a reader.
        """
        chunks = list(self._chunks)
        escape = self._escape
        for i in self._slots:
            value = values.get(chunks[i], "")
            chunks[i] = html.escape(value, quote=True) if escape else value
        return "".join(chunks)
