"""Compose findings for HTML the sanitizer removed from an issue, each naming file and line,
so an editor learns that a pasted `<script>` or `onerror=` was dropped (an error with --strict)."""

from __future__ import annotations

from pathlib import Path

from weekly.content.issue import ISSUE_FILE, Issue
from weekly.content.markdown import removed_html
from weekly.render.checks import Finding

CHECK = "unsafe-html"


def unsafe_html_findings(issue: Issue) -> list[Finding]:
    """One finding per removal in the lead and the sections, in reading order."""
    parts = [(issue.folder / ISSUE_FILE, issue.lead, 1)] if issue.lead else []
    parts += [(section.path, section.body, section.body_line) for section in issue.sections]
    findings = []
    for path, body, first_line in parts:
        removed = removed_html(body)
        if not removed:
            continue
        start = 0
        for body_line, removal in removed:
            line = line_in(path, removal.snippet, start) or first_line + body_line
            start = line - 1
            findings.append(Finding(CHECK, f"{path}:{line}: removed {removal.what}"))
    return findings


def line_in(path: Path, snippet: str, start: int) -> int | None:
    """The 1-based line of `path`, at or after line `start` + 1, where `snippet`'s first line
    appears (the Markdown body has lost its front matter and title, so its lines are not the
    file's)."""
    needle = snippet.strip().splitlines()[0] if snippet.strip() else ""
    if not needle:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    for index in range(start, len(lines)):
        if needle in lines[index]:
            return index + 1
    return None
