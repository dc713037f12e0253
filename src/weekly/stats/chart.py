"""Charts an editor can show a colleague: clicks per link as horizontal bars labelled with
the link texts, and the issues over time as lines; titles in the newsletter's language.

Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot state), with a
font that has Hangul. SVG keeps its labels as text, so they stay sharp and searchable."""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from weekly.errors import WeeklyError
from weekly.files import write_file
from weekly.l10n import translations
from weekly.stats.figures import IssueFigures
from weekly.stats.fonts import cjk_font

FORMATS = ("svg", "png")
ISSUE_TICKS = 16  # up to this many issues, each gets its own tick
LABEL_WIDTH = 34  # columns a bar's label may take; a Hangul syllable takes two
WIDE, NARROW = 8.0, 4.8  # inches: a file to share; a phone's screen (the stats page)
BLUE, GREY, ORANGE = "#1f6feb", "#9198a1", "#d1242f"
_DRAWING = threading.Lock()  # rcParams are global: one chart at a time (serve has threads)


def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    """`text` cut to `width` display columns (wide characters count two) at a word break
    when one is near, with an ellipsis."""
    columns = 0
    for index, char in enumerate(text):
        columns += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if columns > width - 1:
            head = text[:index]
            space = head.rfind(" ")
            return (head[:space] if space > len(head) // 2 else head).rstrip() + "…"
    return text


def _style(warn: Callable[[str], None]) -> Any:
    """matplotlib settings: a Hangul font first (a warning when there is none), text kept as
    text in SVG, no metadata that changes from run to run."""
    font = cjk_font()
    if font is None:
        warn("no font with Korean glyphs found: chart labels may show boxes (install fonts-nanum)")
    return {
        "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
        "svg.fonttype": "none",
        "svg.hashsalt": "weekly",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 11,
    }


def links_figure(f: IssueFigures, language: str, width: float = WIDE) -> Figure:
    """Readers who clicked each link of one issue (and their clicks), as horizontal bars."""
    _ = translations(language).gettext
    if f.clicks is None:
        raise WeeklyError(f"issue {f.number}: clicks were not tracked, so there is no chart")
    links = f.clicks.links
    figure = Figure(figsize=(width, 1.4 + 0.45 * max(len(links), 1)), layout="constrained")
    columns = round(LABEL_WIDTH * width / WIDE)  # labels keep their share of the width
    axes = figure.add_subplot()
    labels = [f"{link.number}. {shorten(link.text or link.href, columns)}" for link in links]
    positions = range(len(links))
    axes.barh(positions, [link.clicks for link in links], color=GREY, label=_("Clicks"))
    axes.barh(positions, [link.readers for link in links], color=BLUE, label=_("Readers"))
    for y, link in zip(positions, links, strict=True):
        axes.annotate(f" {link.readers:,} / {link.clicks:,}", (link.clicks, y), va="center")
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.margins(x=0.15)
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    axes.set_title(_("Clicks per link, issue %(number)s") % {"number": f.number}, loc="left")
    return figure


def issues_figure(figures: Sequence[IssueFigures], language: str, width: float = WIDE) -> Figure:
    """Every issue over time: readers who opened and who clicked, and the click-through rate."""
    _ = translations(language).gettext
    figure = Figure(figsize=(width, 4.2 * width / WIDE + 0.8), layout="constrained")
    axes = figure.add_subplot()
    dated = [f for f in figures if f.sent_on is not None]
    opened = [(f.sent_on, f.opens.readers) for f in dated if f.opens is not None]
    clicked = [(f.sent_on, f.clicks.readers, f.ctr) for f in dated if f.clicks is not None]
    axes.plot(*_columns(opened), marker="o", color=GREY, label=_("Readers who opened"))
    axes.plot(*_columns(clicked)[:2], marker="o", color=BLUE, label=_("Readers who clicked"))
    if 0 < len(dated) <= ISSUE_TICKS * width / WIDE:  # few enough to name each under its day
        ticks: list[Any] = [f.sent_on for f in dated]
        axes.set_xticks(ticks, [f"#{f.number}\n{f.sent_on:%m-%d}" for f in dated])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    rates = axes.twinx()
    days, _counts, ctrs = _columns(clicked) if clicked else ([], [], [])
    percents = [100 * (rate or 0) for rate in ctrs]
    rates.plot(days, percents, linestyle="--", color=ORANGE, label=_("Click-through rate (%)"))
    rates.set_ylim(bottom=0)
    rates.spines["right"].set_visible(True)
    axes.set_ylim(bottom=0)
    figure.legend(loc="outside lower center", ncols=3, frameon=False)
    axes.set_title(_("Issues over time"), loc="left")
    return figure


def _columns(points: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Points (day, value, ...) as one list per coordinate, as matplotlib plots them."""
    return [list(column) for column in zip(*points, strict=True)] or [[], []]


def render_chart(draw: Callable[[], Figure], fmt: str, warn: Callable[[str], None]) -> bytes:
    """The figure `draw` makes, as SVG or PNG bytes."""
    with _DRAWING, matplotlib.rc_context(_style(warn)):
        figure = draw()
        out = io.BytesIO()
        figure.savefig(out, format=fmt, dpi=150, metadata=_metadata(fmt))
    return out.getvalue()


def _metadata(fmt: str) -> dict[str, str | None]:
    """No creation date in SVG, so the committed chart changes only when the numbers do."""
    return {"Date": None} if fmt == "svg" else {}


def chart_format(path: Path) -> str:
    """svg or png, from the file's name; an error for any other."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise WeeklyError(f"--chart {path}: name a .svg or .png file")
    return fmt


def write_chart(draw: Callable[[], Figure], path: Path, warn: Callable[[str], None]) -> None:
    """Draw the chart into `path` (.svg or .png), replacing it whole."""
    write_file(path, render_chart(draw, chart_format(path), warn))
