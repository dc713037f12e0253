"""Subscriber tags: the list's `tags` column (`ai;policy`) and sign-up forms set them, and
segments select by them. One spelling for all three: lower-case words, hyphens allowed."""

from __future__ import annotations

import re

TAGS_COLUMN = "tags"
SEPARATOR = ";"
# A letter or digit (any script), then letters, digits, `-` or `_`; at most 40 characters.
TAG = re.compile(r"[^\W_][\w-]{0,39}")
# The segment grammar's words: never a tag, or `not beta` could mean two things.
RESERVED = frozenset({"and", "or", "not"})


class TagError(ValueError):
    """One tag that is not a tag; the message says why."""


def check_tag(text: str) -> str:
    """`text` as a tag (lower-cased); TagError when it cannot be one."""
    tag = text.strip().lower()
    if not TAG.fullmatch(tag):
        raise TagError(f"{text.strip()!r} is not a tag (letters, digits, - and _, at most 40)")
    if tag in RESERVED:
        raise TagError(f"{tag!r} is a word of the segment grammar, not a tag")
    return tag


def parse_tags(text: str) -> frozenset[str]:
    """The tags of a `tags` cell: `ai; policy` gives {ai, policy}; empty gives none."""
    if not text.strip():
        return frozenset()
    return frozenset(check_tag(part) for part in text.split(SEPARATOR) if part.strip())


def join_tags(tags: frozenset[str]) -> str:
    """The cell for `tags`, sorted so the same tags always read the same."""
    return SEPARATOR.join(sorted(tags))
