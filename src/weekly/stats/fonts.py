"""A font that has Korean glyphs, found through matplotlib's font manager, so chart labels in
Hangul never render as empty boxes."""

from __future__ import annotations

from functools import cache

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

# Checked first, by family name: fonts made for Korean (fonts-nanum, fonts-noto-cjk, macOS,
# Windows); then any font that has the glyph below.
PREFERRED = (
    "NanumGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Apple SD Gothic Neo",
    "Malgun Gothic",
    "Source Han Sans K",
    "NanumBarunGothic",
)
HANGUL = ord("가")


def _has_hangul(path: str) -> bool:
    try:
        return HANGUL in FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False


@cache
def cjk_font() -> str | None:
    """The family name of a font with Hangul, or None when the machine has none."""
    manager = font_manager.fontManager
    known = {entry.name for entry in manager.ttflist}
    for name in PREFERRED:
        if name in known:
            return name
    for entry in manager.ttflist:
        if _has_hangul(entry.fname):
            return str(entry.name)
    # Installed after matplotlib cached its font list: look at the system's fonts again.
    for path in font_manager.findSystemFonts():
        if _has_hangul(path):
            manager.addfont(path)
            return str(font_manager.FontProperties(fname=path).get_name())
    return None
