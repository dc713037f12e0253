"""`weekly new`: the next issue folder, ready to fill in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from weekly.errors import WeeklyError
from weekly.project import issue_dir, issue_numbers

ISSUE_TEMPLATE = """\
---
title: 이번 호의 제목
date: {date}
# subject: 제목 줄 (없으면 템플릿이 만듭니다)
# preheader: 받은편지함 미리보기에 보일 한 줄
---
이번 호를 여는 인사말을 여기에 씁니다.
"""

SECTION_TEMPLATE = """\
# 첫 번째 소식

본문을 마크다운으로 씁니다. 파일 이름 순서(10-, 20-, …)대로 섹션이 놓입니다.

- 목록은 이렇게 씁니다.
- [링크는 이렇게](https://example.com/) 씁니다.
"""


def scaffold_next_issue(root: Path, date: dt.date | None = None) -> Path:
    """Create `issues/<highest + 1>/` with an issue.md dated `date` (today) and one section."""
    numbers = issue_numbers(root)
    folder = issue_dir(root, (numbers[-1] + 1) if numbers else 1)
    if folder.exists():
        raise WeeklyError(f"{folder} already exists")
    folder.mkdir(parents=True)
    on = date or dt.date.today()
    (folder / "issue.md").write_text(ISSUE_TEMPLATE.format(date=on.isoformat()), encoding="utf-8")
    (folder / "10-first.md").write_text(SECTION_TEMPLATE, encoding="utf-8")
    return folder
