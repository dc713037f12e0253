"""Plain text copied out of a web page: its headings, its paragraphs and its page leftovers.

Text is read either by blank-line paragraphs or, when it has no blank lines at all, one
paragraph a line; a heading is a short line standing alone that is followed by a paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from weekly.content.bare_links import link_markdown
from weekly.content.dates import DATE_LINE

MAX_PLAIN_HEADING = 50

LIST_ITEM = re.compile(r"^\s*(?:[-*+•●▪◦·]|\d{1,3}[.)])\s")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BULLET = re.compile(r"^(\s*)[•●▪◦·]\s+")
#: A line ends a sentence (not a headline) with one of these: punctuation, or a polite Korean
#: ending written without its period (`안녕하세요`, `시작합니다`).
_SENTENCE_END = (".", "。", "…", ";", ",", "요", "니다")
#: Headline shapes (`…바뀔까?`, `새 시대를 열다`) that are headings only before a longer paragraph.
_HEADLINE_END = ("?", "!", "？", "！", "다", ":")
#: Lines a web page leaves at the end of an article: comment boxes, share and subscribe prompts.
_LEFTOVER = re.compile(
    r"^(?:\d+\s*)?(?:comments?|댓글(?:\s*\d+\s*개?)?|leave an? (?:comment|reply)|"
    r"share(?: this(?: post| article)?)?|subscribe(?: now)?|like|"
    r"좋아요|공유(?:하기)?|구독(?:하기)?|"
    r".*coming soon.*|.*댓글 기능.*|곧 의견을.*|.*(?:뉴스레터를?|채널을?) 구독.*|"
    r"thanks for reading.*|sign up for .*|share this (?:post|article) .*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Heading:
    """A section heading found in the text: its line span, title and Markdown level (0: none)."""

    start: int
    end: int
    title: str
    level: int = 0


def drop_leftovers(lines: list[str]) -> list[str]:
    """Blank out the page leftovers that end `lines` (in place, so line numbers hold) and
    return them, first to last."""
    dropped: list[str] = []
    for index in range(len(lines) - 1, -1, -1):
        text = lines[index].strip()
        if not text:
            continue
        text = _LINK.sub(r"\1", text).strip("*_ ")
        if not _LEFTOVER.match(text):
            break
        dropped.insert(0, text)
        lines[index] = ""
    return dropped


def one_paragraph_a_line(lines: list[str], start: int) -> bool:
    """True when the text after `start` (and a date line there) has no blank line between its
    first and last lines."""
    while start < len(lines) and (not lines[start].strip() or DATE_LINE.match(lines[start])):
        start += 1
    body = "\n".join(lines[start:]).strip("\n").split("\n")
    return len(body) > 1 and all(line.strip() for line in body)


def standalone_headings(lines: list[str], start: int, by_line: bool) -> list[Heading]:
    """Short lines that stand alone after `start` (between blank lines, or every line when
    `by_line`) and read as headings given what follows them."""
    blocks = _blocks(lines, start, by_line)
    found = []
    for index, (first, last, is_list) in enumerate(blocks[:-1]):
        line = lines[first].strip()
        if is_list or first != last or not _heading_shaped(line):
            continue
        next_first, next_last, next_is_list = blocks[index + 1]
        longer = len(" ".join(lines[next_first : next_last + 1]).strip()) > len(line)
        if next_is_list:
            ok = index + 2 == len(blocks) and not line.endswith(_HEADLINE_END)
        elif by_line or line.endswith(_HEADLINE_END) or ":" in line:
            ok = longer and not _heading_shaped(lines[next_first].strip())
        else:
            ok = True
        if ok:
            found.append(Heading(first, first + 1, line))
    return found


def _heading_shaped(line: str) -> bool:
    return (
        0 < len(line) <= MAX_PLAIN_HEADING
        and not line.endswith(_SENTENCE_END)
        and not LIST_ITEM.match(line)
        and not DATE_LINE.match(line)
        and "://" not in line
    )


def _blocks(lines: list[str], start: int, by_line: bool) -> list[tuple[int, int, bool]]:
    """(first, last, is a list) for each paragraph or list after `start`."""
    blocks: list[tuple[int, int, bool]] = []
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        is_list = bool(LIST_ITEM.match(line))
        joins = blocks and blocks[-1][1] == index - 1 and (not by_line or blocks[-1][2] == is_list)
        if joins and (not by_line or is_list):
            first, _, was_list = blocks[-1]
            blocks[-1] = (first, index, was_list)
        else:
            blocks.append((index, index, is_list))
    return blocks


def plain_markdown(text: str, *, by_line: bool) -> str:
    """Plain text as Markdown: bullets become `- `, indentation that would make code goes, a
    leading `#` is escaped, a short label before a list is bold, and links are made real;
    with `by_line`, every line that is not a list item is a paragraph of its own."""
    lines: list[str] = []
    for line in text.split("\n"):
        line = _BULLET.sub(r"\1- ", line.rstrip())
        is_list = bool(LIST_ITEM.match(line))
        if not is_list:
            line = line.lstrip()
            if line.startswith("#"):
                line = "\\" + line
        if by_line and line and lines and (not is_list or not LIST_ITEM.match(lines[-1])):
            lines.append("")
        if is_list and lines and _label(lines[-1]):
            lines[-1:] = [f"**{lines[-1]}**", ""]
        elif is_list and len(lines) > 1 and not lines[-1] and _label(lines[-2]):
            lines[-2] = f"**{lines[-2]}**"
        lines.append(line)
    markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return link_markdown(markdown)


def _label(line: str) -> bool:
    """A short line that introduces a list, like `3줄 요약` or `Key points`."""
    return (
        bool(line)
        and not line.startswith("**")
        and _heading_shaped(line)
        and not line.endswith(_HEADLINE_END)
    )
