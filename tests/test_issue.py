"""The issue reader: sections by file name, titles, and errors that name file and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from weekly.content.issue import read_issue


def test_example_issue(newsletter: Path) -> None:
    issue = read_issue(newsletter / "issues" / "324")
    assert issue.number == 324
    assert issue.date == dt.date(2025, 10, 2)
    assert issue.subject and issue.subject.startswith("AI 주간 동향 #324")
    assert [s.path.name for s in issue.sections] == [
        "10-sonnet.md",
        "20-sora.md",
        "30-policy.md",
        "40-links.md",
    ]
    # Title from the first heading (removed from the body) or from front matter.
    assert issue.sections[0].title == "앤트로픽, 클로드 소넷 4.5 공개"
    assert "# 앤트로픽" not in issue.sections[0].body
    assert issue.sections[2].title == "캘리포니아, 프런티어 AI 투명성 법 서명"
    assert issue.lead.startswith("안녕하세요")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEAD = "---\ntitle: 제목\ndate: 2025-10-09\n---\n리드 문단.\n"


@pytest.mark.parametrize(
    ("files", "where", "message"),
    [
        (
            {"issue.md": "---\ntitle: 제목\ndate: [2025\n---\n"},
            "issue.md:4",
            "invalid YAML front matter",
        ),
        ({"issue.md": "---\ndate: 2025-10-09\n---\n본문\n"}, "issue.md:1", "title: required"),
        ({"issue.md": "---\ntitle: 제목\n---\n본문\n"}, "issue.md:1", "date: required"),
        (
            {"issue.md": "---\ntitle: 제목\ndate: 10/09/2025\n---\n본문\n"},
            "issue.md:3",
            "date: expected YYYY-MM-DD",
        ),
        (
            {"issue.md": "---\ntitle: 제목\ndate: 2025-10-09\ntags: [a]\n---\n본문\n"},
            "issue.md:4",
            "tags: unknown front matter key",
        ),
        (
            {"issue.md": "---\ntitle: 제목\ndate: 2025-10-09\ndraft: maybe\n---\n본문\n"},
            "issue.md:4",
            "draft: must be true or false",
        ),
        ({"issue.md": "---\ntitle: 제목\ndate: 2025-10-09\n---\n"}, "issue.md", "empty issue"),
        ({"issue.md": "---\ntitle: 제목\ndate: 2025-10-09\n"}, "issue.md:1", "never ends"),
        (
            {"issue.md": GOOD_HEAD, "10-a.md": "제목 없는 섹션입니다.\n"},
            "10-a.md:1",
            "section has no title",
        ),
        (
            {"issue.md": GOOD_HEAD, "10-a.md": "---\ntitle: 섹션\n---\n\n"},
            "10-a.md:4",
            "section has a title but no text",
        ),
        (
            {"issue.md": GOOD_HEAD, "10-a.md": "---\ntitle: [섹션\n---\n본문\n"},
            "10-a.md:3",
            "invalid YAML",
        ),
    ],
)
def test_bad_issue_names_file_and_line(
    newsletter: Path, run_weekly, files: dict[str, str], where: str, message: str
) -> None:
    folder = newsletter / "issues" / "325"
    for name, text in files.items():
        _write(folder, name, text)
    result = run_weekly("compose", "325")
    assert result.exit_code == 1, result.output
    assert f"{folder / where.split(':')[0]}" in result.output
    assert where in result.output and message in result.output
    assert not (newsletter / "build" / "325").exists()


def test_non_utf8_section(newsletter: Path, run_weekly) -> None:
    folder = newsletter / "issues" / "325"
    _write(folder, "issue.md", GOOD_HEAD)
    (folder / "10-a.md").write_bytes("# 제목\n본문".encode("euc-kr"))
    result = run_weekly("compose", "325")
    assert result.exit_code == 1
    assert "10-a.md:1: not UTF-8 text: byte 2" in result.output


def test_folder_not_a_number(newsletter: Path) -> None:
    folder = newsletter / "issues" / "next"
    _write(folder, "issue.md", GOOD_HEAD)
    with pytest.raises(Exception, match=r"issues/next: an issue folder is named by its number"):
        read_issue(folder)


def test_missing_issue(run_weekly) -> None:
    result = run_weekly("compose", "999")
    assert result.exit_code == 1
    assert "issues/999: no such issue folder" in result.output


def test_missing_issue_md(newsletter: Path, run_weekly) -> None:
    _write(newsletter / "issues" / "325", "10-a.md", "# 제목\n본문\n")
    result = run_weekly("compose", "325")
    assert result.exit_code == 1
    assert "325/issue.md: missing" in result.output
