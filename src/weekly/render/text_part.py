"""The plain-text part, made from the Markdown itself rather than by stripping the HTML.

Lines wrap at a display width that counts Hangul and other wide characters as two columns,
breaking only at spaces, so a Korean word or a URL is never cut. Links become numbered
references listed after each block of text that uses them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from markdown_it.tree import SyntaxTreeNode

from weekly.content.markdown import heading_levels, parse

WIDTH = 72
MAX_LINE_OCTETS = 998
_GLUE = "\x1f"  # joins a link's last word to its [n] marker so wrapping keeps them together
_TAG = re.compile(r"<[^>]+>")
#: The rule under a heading of each shown level (the issue title is `=`, a section title `-`).
_RULES = {2: "-", 3: "~", 4: "^", 5: ".", 6: "."}


def display_width(text: str) -> int:
    """Columns `text` takes in a monospaced terminal: wide (East Asian) characters take two."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def wrap(text: str, width: int = WIDTH) -> str:
    """Fill `text` to `width` columns, breaking only at spaces; a longer word keeps its own line."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for word in paragraph.split():
            size = display_width(word)
            if line and used + 1 + size > width:
                out.append(line)
                line, used = "", 0
            line, used = (f"{line} {word}", used + 1 + size) if line else (word, size)
        out.append(line)
    return "\n".join(out).replace(_GLUE, " ")


def underline(title: str, char: str = "=") -> str:
    """A rule as wide as `title` is on screen, for plain-text headings."""
    return char * max(display_width(title), 3)


def limit_line_octets(text: str, limit: int = MAX_LINE_OCTETS) -> str:
    """Split any line longer than `limit` UTF-8 octets (RFC 5322), never inside a character."""
    lines = []
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > limit:
            cut = len(line.encode("utf-8")[:limit].decode("utf-8", "ignore"))
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return "\n".join(lines)


@dataclass
class References:
    """Numbered link targets collected while rendering one section."""

    urls: list[str] = field(default_factory=list)

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1

    def render(self) -> str:
        return "\n".join(f"[{n}] {url}" for n, url in enumerate(self.urls, start=1))


def markdown_to_text(markdown: str, *, width: int = WIDTH, top: int = 3) -> str:
    """Plain text for one section (or, with `top=2`, the lead), with its link references at
    the end; headings are ruled by level as `to_html` numbers them."""
    refs = References()
    tokens = parse(markdown)
    renderer = _Renderer(refs, levels=heading_levels(tokens, top))
    body = renderer.blocks(SyntaxTreeNode(tokens), width)
    return f"{body}\n\n{refs.render()}" if refs.urls else body


def markdown_to_plain_line(markdown: str) -> str:
    """The words of `markdown` on one line, without markup or link references (for previews)."""
    text = _Renderer(References(), with_refs=False).blocks(SyntaxTreeNode(parse(markdown)), 10**9)
    return " ".join(text.replace(_GLUE, " ").split())


def opening_words(markdown: str, columns: int) -> str:
    """The words of `markdown` that fit in `columns` display columns, cut at a word (`…` if cut)."""
    words = markdown_to_plain_line(markdown)
    first_line = wrap(words, columns).split("\n")[0]
    return first_line if first_line == words else f"{first_line}…"


class _Renderer:
    """Walks the Markdown syntax tree; containers indent what their children render."""

    def __init__(
        self, refs: References, *, with_refs: bool = True, levels: dict[int, int] | None = None
    ) -> None:
        self.refs = refs
        self.with_refs = with_refs
        self.levels = levels or {}

    def blocks(self, node: SyntaxTreeNode, width: int, tight: bool = False) -> str:
        parts = [self.block(child, width) for child in node.children]
        return ("\n" if tight else "\n\n").join(part for part in parts if part)

    def block(self, node: SyntaxTreeNode, width: int) -> str:
        kind = node.type
        if kind in ("paragraph", "inline"):
            return wrap(self.inline(node), width)
        if kind == "heading":
            title = wrap(self.inline(node), width)
            rule = _RULES[self.levels.get(int(node.tag[1]), 3)]
            return f"{title}\n{underline(title.splitlines()[-1], rule)}"
        if kind in ("bullet_list", "ordered_list"):
            return self.list(node, width)
        if kind == "blockquote":
            inner = self.blocks(node, max(width - 2, 20))
            return "\n".join(f"> {line}".rstrip() for line in inner.split("\n"))
        if kind in ("fence", "code_block"):
            return "\n".join(
                f"    {line}".rstrip() for line in node.content.rstrip("\n").split("\n")
            )
        if kind == "hr":
            return "-" * 20
        if kind == "table":
            return self.table(node, width)
        if kind == "html_block":
            return wrap(" ".join(_TAG.sub(" ", node.content).split()), width)
        return self.blocks(node, width)

    def list(self, node: SyntaxTreeNode, width: int) -> str:
        tight = all(
            grandchild.type != "paragraph" or grandchild.hidden
            for item in node.children
            for grandchild in item.children
        )
        start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 1
        items = []
        for offset, item in enumerate(node.children):
            marker = f"{start + offset}. " if node.type == "ordered_list" else "- "
            pad = " " * len(marker)
            inner = self.blocks(item, max(width - len(marker), 20), tight=tight)
            lines = inner.split("\n")
            items.append(
                "\n".join([marker + lines[0]] + [(pad + line).rstrip() for line in lines[1:]])
            )
        return ("\n" if tight else "\n\n").join(items)

    def table(self, node: SyntaxTreeNode, width: int) -> str:
        """Columns padded by display width (Hangul counts two) when the table fits `width`;
        otherwise one `header: value` block per row, which any width can show."""
        rows = [
            [" ".join(self.inline(cell).split()) for cell in row.children]
            for row in _descendants(node, "tr")
        ]
        if not rows:
            return ""
        header, body = rows[0], rows[1:]
        columns = [max(display_width(row[i]) for row in rows) for i in range(len(header))]
        if sum(columns) + 3 * (len(columns) - 1) <= width:
            lines = [" | ".join(_pad(c, w) for c, w in zip(r, columns, strict=True)) for r in rows]
            rule = "-+-".join("-" * w for w in columns)
            return "\n".join(line.rstrip() for line in [lines[0], rule, *lines[1:]])
        blocks = [
            "\n".join(
                wrap(f"{name}: {value}", width) for name, value in zip(header, row, strict=True)
            )
            for row in body
        ]
        return "\n\n".join(blocks)

    def inline(self, node: SyntaxTreeNode) -> str:
        """The text of an inline run: markup dropped, links as `text [n]`."""
        out: list[str] = []
        for child in _inline_children(node):
            kind = child.type
            if kind in ("text", "code_inline"):
                out.append(child.content)
            elif kind == "softbreak":
                out.append(" ")
            elif kind == "hardbreak":
                out.append("\n")
            elif kind == "image":
                alt = "".join(c.content for c in child.children) or str(child.attrs.get("alt", ""))
                out.append(f"[{alt}]" if alt else "")
            elif kind == "link":
                out.append(self.link(child))
            elif kind != "html_inline":
                out.append(self.inline(child))
        return "".join(out)

    def link(self, node: SyntaxTreeNode) -> str:
        href = str(node.attrs.get("href", ""))
        label = self.inline(node)
        if not self.with_refs or not href or label.strip() == href:
            return label
        return f"{label.rstrip()}{_GLUE}[{self.refs.number(href)}]"


def _pad(text: str, columns: int) -> str:
    """`text` followed by spaces up to `columns` display columns."""
    return text + " " * (columns - display_width(text))


def _inline_children(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    """The inline content of a block node (paragraph, heading, table cell) or an inline node."""
    if node.type in ("paragraph", "heading", "th", "td") and node.children:
        return [grand for child in node.children for grand in child.children]
    return list(node.children)


def _descendants(node: SyntaxTreeNode, kind: str) -> Iterator[SyntaxTreeNode]:
    for child in node.children:
        if child.type == kind:
            yield child
        else:
            yield from _descendants(child, kind)
