"""Read an article written elsewhere into a title, a date, a lead and titled sections.

Three forms are told apart by their text: Markdown (Hugo-style front matter and/or `#`
headings), plain text whose section headings are whole lines in `**bold**`, and plain text
whose headings are short lines standing alone between paragraphs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it.common.utils import normalizeReference
from markdown_it.token import Token

from weekly.content.bare_links import link_markdown
from weekly.content.dates import DATE, DATE_LINE, written_date
from weekly.content.frontmatter import (
    FrontMatter,
    date_value,
    split_front_matter,
    split_toml_front_matter,
)
from weekly.content.issue import ISSUE_KEYS, optional_bool, optional_text
from weekly.content.markdown import parser
from weekly.content.plain_text import (
    LIST_ITEM,
    Heading,
    drop_leftovers,
    one_paragraph_a_line,
    plain_markdown,
    standalone_headings,
)
from weekly.errors import LocatedError
from weekly.project import is_issue_number

MARKDOWN = "Markdown"
BOLD = "plain text with **bold** headings"
PLAIN = "plain text"
MAX_TITLE = 100

_BOLD_LINE = re.compile(r"^\s*\*\*(?P<title>[^*\s](?:.*?[^*\s])?)\*\*\s*:?\s*$")
_ATX = re.compile(r"^#{1,6}(?:\s|$)")
_NUMBER = re.compile(r"#(\d+)")
_NUMBER_PREFIX = re.compile(r"^[^#]{0,40}?#\d+\s*[-–—:|·]\s*(?=\S)")
_INTRODUCTION = re.compile(
    r"^(?:들어가며|들어가기|시작하며|시작하기 전에|머리말|서문|프롤로그|인트로|"
    r"intro(?:duction)?|preface|foreword|prologue|before we start)[.:!]?$",
    re.IGNORECASE,
)
_REFERENCE_USE = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class Part:
    """One section: its heading, its Markdown body, and the source line of the heading."""

    title: str
    body: str
    line: int


@dataclass(frozen=True)
class Article:
    """What an imported file says, in the terms of an issue folder."""

    form: str
    title: str
    number: int | None
    date: dt.date | None
    lead: str
    sections: tuple[Part, ...]
    meta: dict[str, Any]
    dropped: tuple[str, ...]
    notes: tuple[str, ...] = ()


def read_article(path: Path, text: str) -> Article:
    """Detect the form of `text` (the content of `path`) and cut it into an Article."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    all_lines = text.split("\n")
    leftovers = drop_leftovers(all_lines)
    text = "\n".join(all_lines)
    notes = [f"dropped page leftovers at the end: {' | '.join(leftovers)}"] if leftovers else []
    matter = split_toml_front_matter(path, text) or split_front_matter(path, text)
    lines = matter.body.split("\n")
    env: dict[str, Any] = {}
    tokens = parser().parse(matter.body, env)
    if matter.body_line > 1 or any(t.type == "heading_open" and t.markup[0] == "#" for t in tokens):
        article = _read_markdown(path, matter, lines, tokens, env)
        return dataclasses.replace(article, notes=(*notes, *article.notes))
    title_index = _first_text_line(path, lines)
    bold = [
        Heading(i, i + 1, m["title"])
        for i, line in enumerate(lines)
        if i > title_index and (m := _BOLD_LINE.match(line)) and not DATE_LINE.match(line)
    ]
    if bold:
        return _read_plain(path, BOLD, lines, title_index, bold, notes)
    by_line = one_paragraph_a_line(lines, title_index + 1)
    headings = standalone_headings(lines, title_index + 1, by_line)
    return _read_plain(path, PLAIN, lines, title_index, headings, notes, by_line=by_line)


def _read_markdown(
    path: Path, matter: FrontMatter, lines: list[str], tokens: list[Token], env: dict[str, Any]
) -> Article:
    """Front matter or a leading `#` heading gives the title; the highest heading level left
    cuts the sections, deeper headings stay inside them."""
    offset = matter.body_line - 1
    headings = [
        Heading(
            token.map[0],
            token.map[1],
            " ".join(tokens[index + 1].content.split()),
            int(token.tag[1]),
        )
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.map
    ]
    given = optional_text(path, matter, "title")
    body_start = 0
    top = headings[0] if headings else None
    first_line = tokens[0].map[0] if tokens and tokens[0].map else None
    if top and top.level == 1 and top.start == first_line and given in (None, top.title):
        given, body_start, headings = given or top.title, top.end, headings[1:]
    if given is None:
        title_index = _first_text_line(path, lines, offset)
        given, body_start = lines[title_index], title_index + 1
    if headings:
        level = min(h.level for h in headings)
        headings = [h for h in headings if h.level == level]
    definitions = _take_definitions(lines, env)
    lead, sections = _cut(lines, body_start, headings)
    date = _front_matter_date(path, matter)
    lead_text = "\n".join(lead)
    if date is None:
        date, lead_text = _find_date(path, lead, offset + body_start)
    parts = [
        Part(h.title, _with_definitions("\n".join(body), definitions), offset + h.start + 1)
        for h, body in sections
    ]
    lead_text, parts, notes = _introduction(_with_definitions(lead_text, definitions), parts)
    article = _article(
        path,
        MARKDOWN,
        given,
        matter.key_lines.get("title", offset + body_start),
        date,
        lead_text,
        parts,
        _carried(path, matter),
        tuple(k for k in matter.values if k not in ISSUE_KEYS),
    )
    return dataclasses.replace(article, notes=notes)


def _introduction(lead: str, parts: list[Part]) -> tuple[str, list[Part], tuple[str, ...]]:
    """With no lead of its own, a first section that only sets the scene becomes the lead: one
    named as an introduction, or one shorter than every other section and without the
    sub-headings a later one has. Its heading stays as the lead's first line unless it only
    says "introduction"."""
    if lead.strip() or len(parts) < 2:
        return lead, parts, ()
    first, rest = parts[0], parts[1:]
    named = _INTRODUCTION.match(first.title) is not None
    scene = (
        not _has_headings(first.body)
        and any(_has_headings(part.body) for part in rest)
        and all(len(first.body) < len(part.body) for part in rest)
    )
    if not (named or scene):
        return lead, parts, ()
    text = first.body if named else f"**{first.title}**\n\n{first.body}"
    note = f"line {first.line}: “{first.title}” introduces the sections: it is the lead"
    return text, rest, (note,)


def _has_headings(markdown: str) -> bool:
    return any(token.type == "heading_open" for token in parser().parse(markdown))


def _carried(path: Path, matter: FrontMatter) -> dict[str, Any]:
    """The front matter keys an issue.md also has, checked the way the issue reader will."""
    carried: dict[str, Any] = {}
    for key in ("subject", "preheader"):
        text = optional_text(path, matter, key)
        if text is not None:
            carried[key] = text
    if "draft" in matter.values:
        carried["draft"] = optional_bool(path, matter, "draft")
    return carried


def _read_plain(
    path: Path,
    form: str,
    lines: list[str],
    title_index: int,
    headings: list[Heading],
    notes: list[str],
    *,
    by_line: bool = False,
) -> Article:
    """Plain text cut at `headings`; a heading with no text under it is dropped with a note."""
    lead, cut = _cut(lines, title_index + 1, headings)
    date, lead_text = _find_date(path, lead, title_index + 1)
    bold = _BOLD_LINE.match(lines[title_index])
    sections = []
    for heading, body in cut:
        text = plain_markdown("\n".join(body), by_line=by_line)
        if text.strip():
            sections.append(Part(heading.title, text, heading.start + 1))
        else:
            empty = f"line {heading.start + 1}: dropped “{heading.title}”: no text under it"
            notes = [*notes, empty]
    article = _article(
        path,
        form,
        bold["title"] if bold else lines[title_index],
        title_index + 1,
        date,
        plain_markdown(lead_text, by_line=by_line),
        sections,
        {},
        (),
    )
    return dataclasses.replace(article, notes=tuple(notes))


def _article(
    path: Path,
    form: str,
    title: str,
    title_line: int,
    date: dt.date | None,
    lead: str,
    sections: list[Part],
    meta: dict[str, Any],
    dropped: tuple[str, ...],
) -> Article:
    """Check what every form must have and finish the title: a `#324` in it is the number."""
    title = " ".join(title.split())
    if not title:
        raise LocatedError(path, "no title: the title is empty", title_line)
    for part in sections:
        if not part.body.strip():
            raise LocatedError(path, f"section “{part.title}” has no text", part.line)
    if not lead.strip() and not sections:
        raise LocatedError(path, "no text after the title", title_line)
    found = _NUMBER.search(title)
    number = int(found[1]) if found else None
    return Article(
        form=form,
        title=_NUMBER_PREFIX.sub("", title),
        # A `#0` or a 20-digit `#…` is no issue a command could name: the next number instead.
        number=number if number is not None and is_issue_number(number) else None,
        date=date,
        lead=lead.strip("\n"),
        sections=tuple(sections),
        meta=meta,
        dropped=dropped,
    )


def _first_text_line(path: Path, lines: list[str], offset: int = 0) -> int:
    """Index of the title line: the first non-blank line, if it reads like a title."""
    for index, line in enumerate(lines):
        text = line.strip()
        if not text:
            continue
        if (
            len(text) > MAX_TITLE
            or LIST_ITEM.match(text)
            or DATE_LINE.match(text)
            or "://" in text
            or _ATX.match(text)
        ):
            raise LocatedError(
                path,
                "no recognisable title: the first line should be the title, "
                "not a list item, a date, a link or a paragraph",
                offset + index + 1,
            )
        return index
    raise LocatedError(path, "no recognisable title: the file has no text", offset + 1)


def _cut(
    lines: list[str], body_start: int, headings: list[Heading]
) -> tuple[list[str], list[tuple[Heading, list[str]]]]:
    """The lines before the first heading, and each heading with the lines up to the next."""
    bounds = [h.start for h in headings] + [len(lines)]
    return lines[body_start : bounds[0]], [
        (h, lines[h.end : bounds[index + 1]]) for index, h in enumerate(headings)
    ]


def _front_matter_date(path: Path, matter: FrontMatter) -> dt.date | None:
    value = date_value(matter)
    if value is None or isinstance(value, dt.date):
        return value
    found = DATE.match(value)
    if not found:
        raise LocatedError(
            path, f"date: expected YYYY-MM-DD, got {value!r}", matter.key_lines.get("date")
        )
    return _to_date(path, found, matter.key_lines.get("date"))


def _find_date(path: Path, lead: list[str], first_line: int) -> tuple[dt.date | None, str]:
    """The date of a lead line that holds only a date (that line is dropped), or else of the
    first date written in the lead; with the lead's text."""
    for index, line in enumerate(lead):
        if DATE_LINE.match(line) and (found := DATE.search(line)):
            rest = lead[:index] + lead[index + 1 :]
            return _to_date(path, found, first_line + index + 1), "\n".join(rest)
    for index, line in enumerate(lead):
        found = DATE.search(line)
        if found:
            return _to_date(path, found, first_line + index + 1), "\n".join(lead)
    return None, "\n".join(lead)


def _to_date(path: Path, found: re.Match[str], line: int | None) -> dt.date:
    try:
        return written_date(found)
    except ValueError:
        raise LocatedError(path, f"not a real date: {found[0]}", line) from None


def _take_definitions(lines: list[str], env: dict[str, Any]) -> dict[str, str]:
    """Cut reference definitions (`[label]: URL`) out of `lines`, keyed by normalised label,
    so each section can carry the ones it uses."""
    definitions = {}
    for label, reference in env.get("references", {}).items():
        start, end = reference["map"]
        definitions[label] = "\n".join(lines[start:end])
        lines[start:end] = [""] * (end - start)
    return definitions


def _with_definitions(markdown: str, definitions: dict[str, str]) -> str:
    used = {normalizeReference(m[1]) for m in _REFERENCE_USE.finditer(markdown)}
    wanted = [text for label, text in definitions.items() if label in used]
    text = link_markdown(markdown.strip("\n"))
    return "\n\n".join([text, *wanted]) if wanted else text
