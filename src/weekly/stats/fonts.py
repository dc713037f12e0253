"""A font that has Korean glyphs, found through matplotlib's font manager, so chart labels in
Hangul never render as empty boxes."""

from __future__ import annotations

from collections.abc import Callable
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
BOXES = "Last Resort"  # matplotlib's own fallback: a glyph for everything, each one a box


def _has_hangul(path: str) -> bool:
    try:
        return HANGUL in FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False


@cache
def cjk_font() -> str | None:
    """The family name of a font with Hangul, or None when the machine has none."""
    return find_cjk_font(font_manager.fontManager)


def find_cjk_font(
    manager: font_manager.FontManager,
    preferred: tuple[str, ...] = PREFERRED,
    system_fonts: Callable[[], list[str]] = font_manager.findSystemFonts,
) -> str | None:
    """A family with Hangul among `manager`'s fonts (`preferred` first), else among the
    system's font files, added to `manager`: installed after matplotlib cached its list."""
    known = {entry.name for entry in manager.ttflist}
    for name in preferred:
        if name in known:
            return name
    for entry in manager.ttflist:
        if not entry.name.startswith(BOXES) and _has_hangul(entry.fname):
            return str(entry.name)
    for path in system_fonts():
        if _has_hangul(path):
            manager.addfont(path)
            return str(font_manager.FontProperties(fname=path).get_name())
    return None
