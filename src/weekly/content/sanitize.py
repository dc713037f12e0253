"""The allow-list for HTML in the editor's Markdown: what may reach the email, the archive and
the feed, the nh3 (ammonia) call that enforces it, and a report of what it takes out.

Raw HTML in a section (easily brought in by an import) is kept only as far as it is plain
document markup: no script, event handler, frame, form, object, SVG or `javascript:`/`data:`
URL survives, and `style` keeps nothing but `text-align` (Markdown's table alignment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "del",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
        "wbr",
    ]
)
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style", "scope"},
    "time": {"datetime"},
    "abbr": {"title"},
}
CLASSES = {"table": {"data"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
STYLE_PROPERTIES = frozenset({"text-align"})
# Removed with everything inside them, not just their tags.
DROPPED_WITH_CONTENT = frozenset(
    [
        "script",
        "style",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "template",
        "noscript",
        "form",
        "select",
        "textarea",
    ]
)
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "action", "formaction", "xlink:href"})
_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20]+")


_IMAGE_WITHOUT_SOURCE = re.compile(r"<img\b(?![^>]*\ssrc=)[^>]*>")


def clean(html: str) -> str:
    """`html` with everything outside the allow-list removed (an image whose URL was refused
    goes too: an `<img>` without `src` is invalid HTML)."""
    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel=None,
        strip_comments=True,
    )
    return _IMAGE_WITHOUT_SOURCE.sub("", cleaned)


def url_allowed(url: str) -> bool:
    """True for a relative URL or one whose scheme is on the allow-list (control characters,
    which browsers ignore inside a scheme, are ignored here too)."""
    scheme = _SCHEME.match(_CONTROL.sub("", url))
    return scheme is None or scheme.group(1).lower() in URL_SCHEMES


@dataclass(frozen=True)
class Removal:
    """One thing the sanitizer takes out, and the raw tag it was found in (to locate it)."""

    snippet: str
    what: str


def removals(snippet: str) -> list[Removal]:
    """What `clean` removes from the raw HTML `snippet`, described for the editor."""
    scan = _Scan(snippet)
    scan.feed(snippet)
    scan.close()
    return scan.found


class _Scan(HTMLParser):
    def __init__(self, snippet: str) -> None:
        super().__init__(convert_charrefs=True)
        self.snippet = snippet
        self.found: list[Removal] = []
        self._dropped = 0  # depth inside an element removed with its content

    def handle_endtag(self, tag: str) -> None:
        if self._dropped and tag in DROPPED_WITH_CONTENT:
            self._dropped -= 1

    def _add(self, what: str) -> None:
        self.found.append(Removal(self.get_starttag_text() or self.snippet, what))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._dropped or tag in DROPPED_WITH_CONTENT:
            if not self._dropped:
                self._add(f"<{tag}> element and its content")
            self._dropped += tag in DROPPED_WITH_CONTENT
            return
        if tag not in TAGS:
            self._add(f"<{tag}> element")
            return
        allowed = ATTRIBUTES.get(tag, set()) | ({"class"} if tag in CLASSES else set())
        for name, value in attrs:
            if name not in allowed:
                self._add(f"{name}= attribute on <{tag}>")
            elif name in URL_ATTRIBUTES and not url_allowed(value or ""):
                self._add(f"{name}={(value or '').strip()[:40]!r} URL on <{tag}>")
            elif name == "style" and not _style_allowed(value or ""):
                self._add(f"style={value!r} on <{tag}>")
            elif name == "class" and set((value or "").split()) - CLASSES[tag]:
                self._add(f"class={value!r} on <{tag}>")


def _style_allowed(style: str) -> bool:
    declarations = [d for d in style.split(";") if d.strip()]
    return all(
        ":" in d
        and d.split(":", 1)[0].strip().lower() in STYLE_PROPERTIES
        and re.fullmatch(r"\s*[a-z-]+\s*", d.split(":", 1)[1], re.IGNORECASE)
        for d in declarations
    )
