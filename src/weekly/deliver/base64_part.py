"""A composed part as a base64 MIME body, filled per recipient without re-encoding all of it.

Base64 turns each 57-byte slice of input into one 76-character line, so a static stretch of
the issue encodes to the same lines whenever it starts at the same offset within a slice.
Each stretch is encoded once per offset it is met at (at most 57) and cached; a recipient
costs only the few lines around their own values plus one join.
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Mapping

from weekly.placeholders import split

LINE_BYTES = 57  # input bytes per 76-character base64 line
_SPECIAL = re.compile("[&<>\"']")  # what HTML escaping changes: most values have none


def encode_lines(data: bytes) -> bytes:
    """`data` in base64, 76 characters a line, each line ending in CRLF."""
    return b"".join(
        binascii.b2a_base64(data[i : i + LINE_BYTES], newline=False) + b"\r\n"
        for i in range(0, len(data), LINE_BYTES)
    )


class Base64Part:
    """One part (text or HTML) pre-split around its placeholders, encoded lazily per offset."""

    __slots__ = ("_cache", "_escape", "_keys", "_static", "keys")

    def __init__(self, text: str, *, escape_html: bool) -> None:
        parts = split(text)
        self._static = [chunk.encode("utf-8") for chunk in parts[0::2]]
        self._keys = parts[1::2]
        self._escape = escape_html
        self._cache: list[dict[int, tuple[int, bytes, bytes]]] = [{} for _ in self._static]
        self.keys = frozenset(self._keys)

    def _aligned(self, index: int, offset: int) -> tuple[int, bytes, bytes]:
        """Static chunk `index` met `offset` bytes into a line: (head length, lines, tail)."""
        cached = self._cache[index].get(offset)
        if cached is None:
            chunk = self._static[index]
            head = min((LINE_BYTES - offset) % LINE_BYTES, len(chunk))
            rest = chunk[head:]
            whole = len(rest) - len(rest) % LINE_BYTES
            cached = (head, encode_lines(rest[:whole]), rest[whole:])
            self._cache[index][offset] = cached
        return cached

    def fill(self, values: Mapping[str, str]) -> bytes:
        """This part for one recipient, base64 encoded; values are HTML-escaped in HTML parts."""
        out: list[bytes] = []
        pending = b""  # bytes not yet encoded, always starting on a line boundary
        for index, chunk in enumerate(self._static):
            if index:
                value = values.get(self._keys[index - 1], "")
                if self._escape and _SPECIAL.search(value):
                    value = html.escape(value, quote=True)
                pending += value.encode("utf-8")
            head, lines, tail = self._aligned(index, len(pending) % LINE_BYTES)
            if lines:
                out.append(encode_lines(pending + chunk[:head]))
                out.append(lines)
                pending = tail
            else:
                pending += chunk
        out.append(encode_lines(pending))
        return b"".join(out)
