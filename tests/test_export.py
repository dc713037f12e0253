"""`weekly export` prints an issue as one Hugo-style file, and importing it gives it back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from weekly.content.issue import read_issue


@pytest.mark.parametrize("number", [323, 324])
def test_export_then_import_gives_the_same_issue(
    newsletter: Path, run_weekly: Callable[..., Result], tmp_path: Path, number: int
) -> None:
    exported = run_weekly("export", str(number))
    assert exported.exit_code == 0, exported.output
    article = tmp_path / f"{number}.md"
    article.write_text(exported.stdout, encoding="utf-8")
    imported = run_weekly("import", str(article), "--number", "900")
    assert imported.exit_code == 0, imported.output
    original, copy = (
        read_issue(newsletter / f"issues/{number}"),
        read_issue(newsletter / "issues/900"),
    )
    assert (copy.title, copy.date, copy.subject, copy.preheader, copy.draft, copy.lead) == (
        original.title,
        original.date,
        original.subject,
        original.preheader,
        original.draft,
        original.lead,
    )
    assert [(s.title, s.body) for s in copy.sections] == [
        (s.title, s.body) for s in original.sections
    ]


def test_export_defaults_to_newest_and_writes_front_matter(run_weekly) -> None:
    result = run_weekly("export")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "---\ntitle: 소넷 4.5, 소라 2와 인공지능의 미래\ndate: 2025-10-02\n"
    )
    assert "\n## 캘리포니아, 프런티어 AI 투명성 법 서명\n\n개빈 뉴섬" in result.stdout


def test_heading_that_would_become_a_section_is_an_error(newsletter: Path, run_weekly) -> None:
    section = newsletter / "issues/324/20-sora.md"
    section.write_text(section.read_text(encoding="utf-8") + "\n## 덧붙임\n\n끝.\n", "utf-8")
    result = run_weekly("export", "324")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {section}: heading “덧붙임” would read back as a section of its own; "
        "make it ### to export\n"
    )
