"""Parts of the stats that the end-to-end tests do not reach: finding a Hangul font however
the machine's fonts are listed, a long run of issues, an issue tracked without links."""

from __future__ import annotations

import copy
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from weekly.stats.chart import issues_figure, render_chart
from weekly.stats.figures import Clicks, IssueFigures, Opens
from weekly.stats.fonts import HANGUL, PREFERRED, find_cjk_font
from weekly.stats.table import issue_lines
from weekly.store.outcomes import SendOutcome


def _hangul(path: str) -> bool:
    return HANGUL in FT2Font(path).get_charmap()


def _family_has_hangul(family: str) -> bool:
    props = font_manager.FontProperties(family=family)
    return _hangul(font_manager.findfont(props, fallback_to_default=False))


def test_a_hangul_font_is_found_by_name_by_glyph_or_on_disk(tmp_path: Path) -> None:
    manager = font_manager.fontManager
    assert find_cjk_font(manager) in PREFERRED
    found = find_cjk_font(manager, preferred=())
    assert found is not None and _family_has_hangul(found)
    # matplotlib's cached list predates the Korean fonts: they are found on disk and added
    bare = copy.copy(manager)
    bare.ttflist = [entry for entry in manager.ttflist if not _hangul(entry.fname)]
    added = find_cjk_font(bare, preferred=())
    assert added is not None and any(e.name == added and _hangul(e.fname) for e in bare.ttflist)
    # none anywhere (a file that is no font is passed over): None, and the CLI warns
    bare.ttflist = [entry for entry in manager.ttflist if not _hangul(entry.fname)]
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    assert find_cjk_font(bare, preferred=(), system_fonts=lambda: [str(junk)]) is None


def _issue(number: int, clicks: Clicks | None) -> IssueFigures:
    outcome = SendOutcome(number, f"2025-{1 + number % 12:02}-01T00:00:00+00:00", 100, 1, 0, 0)
    return IssueFigures(outcome, Opens(40, 50, 20, 1), clicks)


def test_many_issues_get_dated_ticks_instead_of_one_each() -> None:
    issues = [_issue(n, Clicks(10, 12, 1, ())) for n in range(301, 321)]
    svg = render_chart(lambda: issues_figure(issues, "ko"), "svg", print).decode()
    assert "#301" not in svg and "<svg" in svg


def test_an_issue_tracked_without_links_lists_none() -> None:
    lines = list(issue_lines(_issue(324, Clicks(3, 4, 0, ()))))
    assert "  click-through      3.0 %" in lines
    assert not any(line.lstrip().startswith("link") for line in lines)
