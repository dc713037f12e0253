"""Example issues: `weekly new`'s next issue folder and the first issue `weekly init` writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from weekly.errors import WeeklyError
from weekly.project import issue_dir, issue_numbers

# (issue.md, 10-first.md) per language; each composes under --strict with no warnings.
EXAMPLE_ISSUES = {
    "ko": (
        """\
---
title: 이번 호의 제목
date: {date}
# subject: 제목 줄 (없으면 템플릿이 만듭니다)
# preheader: 받은편지함 미리보기에 보일 한 줄
---
이번 호를 여는 인사말을 여기에 씁니다.
""",
        """\
# 첫 번째 소식

본문을 마크다운으로 씁니다. 파일 이름 순서(10-, 20-, …)대로 섹션이 놓입니다.

- 목록은 이렇게 씁니다.
- [링크는 이렇게](https://example.com/) 씁니다.
""",
    ),
    "en": (
        """\
---
title: The title of this issue
date: {date}
# subject: Subject line (the template makes one when this is left out)
# preheader: One line for the inbox preview
---
A few words to open this issue go here.
""",
        """\
# First story

Write the body in Markdown. Sections follow the order of their file names (10-, 20-, …).

- A list looks like this.
- [A link looks like this](https://example.com/).
""",
    ),
}
EXAMPLE_FILES = ("issue.md", "10-first.md")


def write_example_issue(folder: Path, language: str, date: dt.date) -> list[Path]:
    """Write the example issue in `language` (English when it has none) into `folder`."""
    issue, section = EXAMPLE_ISSUES.get(language, EXAMPLE_ISSUES["en"])
    texts = (issue.format(date=date.isoformat()), section)
    paths = [folder / name for name in EXAMPLE_FILES]
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    return paths


def scaffold_next_issue(root: Path, language: str, date: dt.date | None = None) -> Path:
    """Create `issues/<highest + 1>/` with an issue.md dated `date` (today) and one section."""
    numbers = issue_numbers(root)
    folder = issue_dir(root, (numbers[-1] + 1) if numbers else 1)
    if folder.exists():
        raise WeeklyError(f"{folder} already exists")
    folder.mkdir(parents=True)
    write_example_issue(folder, language, date or dt.date.today())
    return folder
