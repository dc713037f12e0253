"""Read an issue folder (`issues/<n>/`): `issue.md` plus section files ordered by name."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from weekly.content.frontmatter import FrontMatter, date_value, split_front_matter
from weekly.control import control_character
from weekly.errors import IssueError, decode_utf8
from weekly.placeholders import split

ISSUE_FILE = "issue.md"
ISSUE_KEYS = {"title", "date", "subject", "preheader", "draft", "segment"}
SECTION_KEYS = {"title"}
_TITLE_HEADING = re.compile(r"^ {0,3}(#{1,2})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True)
class Section:
    """One section file: its title and Markdown body (the title heading removed)."""

    path: Path
    title: str
    body: str
    body_line: int


@dataclass(frozen=True)
class Issue:
    """Everything the editor wrote for one numbered issue."""

    number: int
    folder: Path
    title: str
    date: dt.date
    subject: str | None
    preheader: str | None
    draft: bool
    lead: str
    sections: tuple[Section, ...]
    segment: str | None = None  # who gets it (`ai and not beta`), parsed when it is sent
    segment_line: int | None = None

    @property
    def opening(self) -> str:
        """The Markdown a reader meets first: the lead, else the first section's body."""
        return self.lead or (self.sections[0].body if self.sections else "")


def read_issue(folder: Path) -> Issue:
    """Read and validate `folder`; every error names the file and line."""
    if not folder.name.isdigit():
        raise IssueError(folder, "an issue folder is named by its number (digits only)")
    if not folder.is_dir():
        raise IssueError(folder, "no such issue folder")
    head_path = folder / ISSUE_FILE
    if not head_path.is_file():
        raise IssueError(head_path, "missing: every issue needs an issue.md with title and date")
    head = split_front_matter(head_path, _read_text(head_path))
    _reject_unknown(head_path, head, ISSUE_KEYS)
    title = _required_text(head_path, head, "title")
    date = _required_date(head_path, head)
    for path in folder.iterdir():
        if path.suffix.lower() == ".md" and path.suffix != ".md" and not is_hidden(path.name):
            # Every other reader of the folder looks for `*.md`: this one would be left out.
            raise IssueError(path, "section files end in .md (lower case): rename it")
    sections = tuple(
        _read_section(path)
        for path in sorted(folder.glob("*.md"))
        if path.name != ISSUE_FILE and not is_hidden(path.name)
    )
    subject = optional_text(head_path, head, "subject")
    if subject and len(split(subject)) > 1:
        raise IssueError(
            head_path,
            f"subject: {subject!r} has a %%placeholder%%, but the subject is the same for every "
            "reader (and the archive shows it): take it out",
            head.key_lines.get("subject"),
        )
    lead = head.body.strip()
    if not sections and not lead:
        raise IssueError(head_path, "empty issue: no lead and no section files")
    return Issue(
        number=int(folder.name),
        folder=folder,
        title=title,
        date=date,
        subject=subject,
        preheader=optional_text(head_path, head, "preheader"),
        draft=optional_bool(head_path, head, "draft"),
        lead=lead,
        sections=sections,
        segment=optional_text(head_path, head, "segment"),
        segment_line=head.key_lines.get("segment"),
    )


def is_hidden(name: str) -> bool:
    """Files and folders starting with `.` or `_` are the editor's scratch, never published."""
    return name.startswith((".", "_"))


def _read_text(path: Path) -> str:
    if path.is_symlink():
        # A link could pull any file on the machine into the email and the public archive.
        raise IssueError(path, "a symlink: issue files must be regular files in the folder")
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise IssueError(path, "a folder named like a section file: rename or move it") from None
    except OSError as exc:
        raise IssueError(path, f"cannot read: {exc.strerror}") from None
    return decode_utf8(path, data, IssueError)


def _read_section(path: Path) -> Section:
    """A section's title comes from front matter `title:` or else its first # or ## heading."""
    matter = split_front_matter(path, _read_text(path))
    _reject_unknown(path, matter, SECTION_KEYS)
    body_lines = matter.body.splitlines(keepends=True)
    if "title" in matter.values:
        title = _required_text(path, matter, "title")
    else:
        title = ""
        for index, line in enumerate(body_lines):
            heading = _TITLE_HEADING.match(line.rstrip("\r\n"))
            if heading:
                title = heading.group(2).strip()
                del body_lines[index]
                break
        if not title:
            raise IssueError(
                path, "section has no title: add `title:` front matter or a # heading", 1
            )
    body = "".join(body_lines).strip("\n")
    if not body.strip():
        raise IssueError(path, "section has a title but no text", matter.body_line)
    return Section(path=path, title=title, body=body, body_line=matter.body_line)


def _reject_unknown(path: Path, matter: FrontMatter, allowed: set[str]) -> None:
    for key in matter.values:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise IssueError(
                path, f"{key}: unknown front matter key (known: {known})", matter.key_lines.get(key)
            )


def _required_text(path: Path, matter: FrontMatter, key: str) -> str:
    value = matter.values.get(key)
    if value is None:
        raise IssueError(path, f"{key}: required front matter key is missing", 1)
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise IssueError(path, f"{key}: must be non-empty text", matter.key_lines.get(key))
    text = str(value).strip()
    if bad := control_character(text):
        # The title and subject become mail headers, where a line break starts a new one.
        raise IssueError(
            path,
            f"{key}: must be one line, without control characters ({bad!r})",
            matter.key_lines.get(key),
        )
    return text


def optional_text(path: Path, matter: FrontMatter, key: str) -> str | None:
    return _required_text(path, matter, key) if key in matter.values else None


def optional_bool(path: Path, matter: FrontMatter, key: str) -> bool:
    value = matter.values.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise IssueError(path, f"{key}: must be true or false", matter.key_lines.get(key))
    return value


def _required_date(path: Path, matter: FrontMatter) -> dt.date:
    value = date_value(matter)
    if value is None:
        raise IssueError(path, "date: required front matter key is missing", 1)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise IssueError(
            path, f"date: expected YYYY-MM-DD, got {value!r}", matter.key_lines.get("date")
        ) from None
