"""The composed issue's tracked links: each distinct web link gets a number at compose time,
kept in `build/<n>/links.json`, so a click URL names a number and never its target."""

from __future__ import annotations

import html as html_escape
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path

from weekly.errors import WeeklyError
from weekly.placeholders import split
from weekly.project import build_dir

LINKS_FILE = "links.json"
CLICK_PREFIX = "r"  # site_url/r/<issue>/<link>/<mark>
OPEN_PREFIX = "o"  # site_url/o/<issue>/<mark>.gif

_HREF = re.compile(r"""\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True, slots=True)
class TrackedLink:
    """Link `number` (1-based, in order of first appearance) of an issue: its real target and
    the text of its first anchor."""

    number: int
    href: str
    text: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """One `<a href>` of an HTML part: where its href value sits (start, end) and what it is."""

    start: int
    end: int
    href: str
    text: str


class _AnchorScan(HTMLParser):
    """Collects every anchor with the offsets of its raw href value."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.anchors: list[Anchor] = []
        self._open: tuple[int, int, str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        self._close()
        raw = self.get_starttag_text() or ""
        found = _HREF.search(raw)
        href = dict(attrs).get("href")
        if found is None or href is None:
            return
        line, column = self.getpos()
        tag_start = self._line_starts[line - 1] + column
        group = next(i for i in (1, 2, 3) if found.group(i) is not None)
        self._open = (tag_start + found.start(group), tag_start + found.end(group), href, [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[3].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def _close(self) -> None:
        if self._open is not None:
            start, end, href, text = self._open
            self.anchors.append(Anchor(start, end, href, " ".join("".join(text).split())))
            self._open = None


def anchors(html: str) -> list[Anchor]:
    """Every `<a href>` of `html`, in order."""
    scan = _AnchorScan(html)
    scan.feed(html)
    scan.close()
    scan.handle_endtag("a")
    return scan.anchors


def trackable(href: str) -> bool:
    """Whether a click on `href` can go through the redirect: a web link that is the same for
    every reader (a per-reader link such as the unsubscribe URL is not)."""
    return href.startswith(("http://", "https://")) and len(split(href)) == 1


def number_links(html: str) -> list[TrackedLink]:
    """The issue's tracked links: distinct trackable hrefs, numbered from 1 as they appear."""
    seen: dict[str, TrackedLink] = {}
    for anchor in anchors(html):
        if trackable(anchor.href) and anchor.href not in seen:
            seen[anchor.href] = TrackedLink(len(seen) + 1, anchor.href, anchor.text)
    return list(seen.values())


def links_json(links: list[TrackedLink]) -> str:
    """The links table as compose writes it to the build."""
    return json.dumps([asdict(link) for link in links], ensure_ascii=False, indent=2) + "\n"


def links_of(root: Path, issue: int) -> list[TrackedLink]:
    """The tracked links of composed issue `issue`, by number; an issue not composed (or
    composed before links were numbered) is an error that says what to run."""
    path = build_dir(root, issue) / LINKS_FILE
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [TrackedLink(int(r["number"]), str(r["href"]), str(r["text"])) for r in rows]
    except FileNotFoundError:
        raise WeeklyError(f"{path} is missing: run `weekly compose {issue}`") from None
    except (ValueError, TypeError, KeyError):
        raise WeeklyError(f"{path}: unreadable links table: run `weekly compose {issue}`") from None


def click_path(issue: int, link: int, mark: str) -> str:
    """The path (under site_url) a tracked link points at."""
    return f"{CLICK_PREFIX}/{issue}/{link}/{mark}"


def open_path(issue: int, mark: str) -> str:
    """The path (under site_url) of the open pixel."""
    return f"{OPEN_PREFIX}/{issue}/{mark}.gif"


def rewrite_html(html: str, links: list[TrackedLink], url: Callable[[int], str]) -> str:
    """`html` with the href of every tracked link replaced by `url(number)`; done once per
    send, so each reader costs only the fill of the placeholders `url` leaves in."""
    numbers = {link.href: link.number for link in links}
    out, last = [], 0
    for anchor in anchors(html):
        number = numbers.get(anchor.href)
        if number is not None:
            out += [html[last : anchor.start], html_escape.escape(url(number), quote=True)]
            last = anchor.end
    return "".join([*out, html[last:]])


def rewrite_text(text: str, links: list[TrackedLink], url: Callable[[int], str]) -> str:
    """`text` with every URL that is a tracked link's target replaced by `url(number)`."""
    numbers = {link.href: link.number for link in links}

    def swap(match: re.Match[str]) -> str:
        number = numbers.get(match.group())
        return match.group() if number is None else url(number)

    return _URL.sub(swap, text)
