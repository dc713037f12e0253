"""File-name slugs from titles, keeping Hangul and other letters rather than transliterating."""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 40
FALLBACK = "section"
_WORD = re.compile(r"[^\W_]+")


def slugify(text: str) -> str:
    """Lower-case words of `text` joined by hyphens, at most MAX_LENGTH characters.

    Letters of any script survive (NFC, so Hangul stays composed on every file system);
    punctuation and spaces become single hyphens. A title with no letters or digits gets
    FALLBACK.
    """
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_LENGTH:
            return slug or word[:MAX_LENGTH]
        slug = candidate
    return slug or FALLBACK
