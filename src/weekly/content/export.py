"""`weekly export`: an issue folder as one Hugo-style Markdown file, the form import reads."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from weekly.content.frontmatter import join_front_matter
from weekly.content.issue import ISSUE_FILE, Issue, read_issue
from weekly.content.markdown import parse
from weekly.errors import IssueError
from weekly.project import chosen_issue_number, issue_dir

_SECTION_LEVELS = {"h1", "h2"}


def export_issue(issue: Issue) -> str:
    """Front matter with the issue's keys, the lead, then each section under a `##` heading.

    A `#` or `##` heading inside the lead or a section would read back as a section of its
    own, so it is an error rather than a file that imports differently.
    """
    _check_headings(issue.folder / ISSUE_FILE, issue.lead)
    for section in issue.sections:
        _check_headings(section.path, section.body)
    values: dict[str, Any] = {"title": issue.title, "date": issue.date}
    if issue.subject:
        values["subject"] = issue.subject
    if issue.preheader:
        values["preheader"] = issue.preheader
    if issue.draft:
        values["draft"] = True
    body = [issue.lead, *(f"## {s.title}\n\n{s.body}" for s in issue.sections)]
    return join_front_matter(values, "\n\n".join(part for part in body if part))


def _check_headings(path: Path, markdown: str) -> None:
    tokens = parse(markdown)
    for opening, inline in pairwise(tokens):
        if opening.type == "heading_open" and opening.tag in _SECTION_LEVELS:
            raise IssueError(
                path,
                f"heading “{inline.content}” would read back as a section of its own; "
                "make it ### to export",
            )


def export_number(root: Path, number: int | None) -> str:
    """Issue `number` under `root` (default: the newest) exported with `export_issue`."""
    return export_issue(read_issue(issue_dir(root, chosen_issue_number(root, number))))
