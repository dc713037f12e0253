"""Control characters, refused in every one-line value (settings, front matter, the composed
subject): a CR or LF there would end a mail header early and start one the editor never wrote."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(text: str) -> str | None:
    """The first control or line-breaking character in `text`, or None when it is one line."""
    found = _CONTROL.search(text)
    return found[0] if found else None
