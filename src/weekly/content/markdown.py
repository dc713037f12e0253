"""The editor's Markdown (CommonMark + tables + strikethrough), parsed once into tokens.

HTML for the email and the archive comes from the same tokens as the plain-text part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from weekly.content.sanitize import Removal, clean, removals, url_allowed

_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#|%%)", re.IGNORECASE)


@cache
def parser() -> MarkdownIt:
    """One CommonMark parser with GFM tables and strikethrough; raw HTML stays allowed."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse(markdown: str) -> list[Token]:
    """Block tokens of `markdown`."""
    return parser().parse(markdown)


def is_relative(url: str) -> bool:
    """True for a URL that only means something next to the page (no scheme, host or anchor)."""
    return bool(url) and not _ABSOLUTE.match(url)


def image_sources(markdown: str) -> set[str]:
    """The `src` of every image `markdown` shows, as written."""
    return {
        str(child.attrGet("src") or "")
        for token in parse(markdown)
        for child in token.children or []
        if child.type == "image"
    }


def to_html(markdown: str, *, image_base: str | None, top: int = 3) -> str:
    """Render `markdown` as HTML for a section body (or, with `top=2`, the lead).

    Headings are renumbered by `heading_levels` so they sit below the section title with no
    level skipped; relative image paths are joined to `image_base` (the issue's web address)
    when one is given, since a mail client has no folder to look in.
    """
    tokens = parse(markdown)
    levels = heading_levels(tokens, top)
    for token in _walk(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{levels[int(token.tag[1])]}"
        elif token.type == "image" and image_base:
            src = str(token.attrGet("src") or "")
            if is_relative(src):
                token.attrSet("src", image_base + src.removeprefix("./"))
        elif token.type == "table_open":
            token.attrSet("class", "data")
    html: str = parser().renderer.render(tokens, parser().options, {})
    return clean(html)


def removed_html(markdown: str) -> list[tuple[int, Removal]]:
    """What `to_html` takes out of `markdown` (raw HTML, link and image URLs), each with the
    0-based line of its block."""
    found: list[tuple[int, Removal]] = []
    line = 0
    for token in _walk(parse(markdown)):
        line = token.map[0] if token.map else line
        if token.type == "html_block":
            found += [(line, removal) for removal in removals(token.content)]
        elif token.type == "inline" and token.children:
            # One paragraph's raw tags read together, so `<svg><script>` is one removal.
            raw = "".join(t.content for t in token.children if t.type == "html_inline")
            found += [(line, removal) for removal in removals(raw)]
        elif token.type in ("link_open", "image"):
            url = str(token.attrGet("href" if token.type == "link_open" else "src") or "")
            if not url_allowed(url):
                found.append((line, Removal(url, f"{url[:40]!r} URL of a Markdown {token.tag}")))
    return found


def heading_levels(tokens: list[Token], top: int) -> dict[int, int]:
    """Each heading level `tokens` use → the level it is shown at: the highest becomes `top`,
    the next one down `top + 1`, and so on (6 at most), so no level is ever skipped."""
    used = sorted({int(token.tag[1]) for token in tokens if token.type == "heading_open"})
    return {level: min(top + rank, 6) for rank, level in enumerate(used)}


def _walk(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)
