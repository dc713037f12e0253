"""Compose warns about an issue's shape (no sections, a wordless section, a lead longer than
the sections) and archive about issue numbers and dates that run in different orders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result


def _issue(root: Path, number: int, date: str, lead: str, sections: dict[str, str]) -> None:
    folder = root / "issues" / str(number)
    folder.mkdir()
    (folder / "issue.md").write_text(f"---\ntitle: 모양 검사\ndate: {date}\n---\n{lead}\n", "utf-8")
    for name, text in sections.items():
        (folder / name).write_text(text, "utf-8")


def _warnings(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def test_an_issue_with_only_a_lead(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    _issue(newsletter, 325, "2025-10-09", "인사말만 있는 호입니다.", {})
    result = run_weekly("compose", "325")
    assert result.exit_code == 0, result.output
    assert _warnings(result) == ["warning: the issue has no sections: only a lead [sections]"]
    strict = run_weekly("compose", "325", "--strict")
    assert strict.exit_code == 1
    assert "the issue has no sections" in strict.stderr


def test_a_section_without_words(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    _issue(
        newsletter,
        325,
        "2025-10-09",
        "짧은 인사.",
        {"10-a.md": "# 빈 꼭지\n\n<!-- 나중에 채울 곳 -->\n", "20-b.md": "# 꼭지\n\n본문입니다.\n"},
    )
    result = run_weekly("compose", "325", "--strict")
    assert result.exit_code == 1
    assert f"section “빈 꼭지” has no text: {newsletter}/issues/325/10-a.md" in result.stderr


def test_a_lead_longer_than_the_sections(newsletter: Path, run_weekly) -> None:
    lead = "헤드라인을 찾지 못해 글 전체가 리드가 된 경우입니다. " * 5
    _issue(newsletter, 325, "2025-10-09", lead, {"10-a.md": "# 꼭지\n\n짧은 본문.\n"})
    result = run_weekly("compose", "325")
    assert _warnings(result) == [
        "warning: the lead (154 characters) is longer than all the sections together (6): "
        "were its headings missed? [lead-length]"
    ]


def test_the_example_issues_have_no_shape_warnings(newsletter: Path, run_weekly) -> None:
    for number in ("323", "324"):
        result = run_weekly("compose", number, "--strict")
        assert result.exit_code == 0, result.output


def test_archive_warns_when_numbers_and_dates_disagree(newsletter: Path, run_weekly) -> None:
    before = run_weekly("archive")
    assert before.exit_code == 0, before.output
    assert _warnings(before) == []
    _issue(
        newsletter, 325, "2025-09-01", "늦게 번호를 받은 옛 호.", {"10-a.md": "# 꼭지\n\n본문.\n"}
    )
    result = run_weekly("archive")
    assert result.exit_code == 0, result.output
    assert _warnings(result) == [
        "warning: #325 (2025-09-01) is dated before #324 (2025-10-02): "
        "issue numbers and dates run in different orders"
    ]
