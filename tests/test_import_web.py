"""`weekly import` of text copied out of web pages: one paragraph a line, headline-shaped
headings, a summary list and the page's leftovers at the end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

from click.testing import Result

from weekly.content.issue import Issue, read_issue

from .conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "import"


def imported_strictly(
    newsletter: Path, run_weekly: Callable[..., Result], *args: str
) -> tuple[Issue, Result]:
    """Import, then `compose --strict` the new issue and check it reports 0 warnings."""
    result = run_weekly("import", *args)
    assert result.exit_code == 0, result.output
    issue = read_issue(newsletter / result.stdout.split()[1].rstrip("/"))
    composed = run_weekly("compose", str(issue.number), "--strict")
    assert composed.exit_code == 0, composed.output
    assert " 0 warnings " in composed.stdout
    return issue, result


def notes(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("note:")]


def test_one_paragraph_a_line(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    issue, result = imported_strictly(newsletter, run_weekly, str(FIXTURES / "web-copy.txt"))
    assert issue.title == "AI 업계 주간 정리: 겨울의 문턱에서"
    assert issue.date == dt.date(2025, 12, 12)
    assert issue.lead.split("\n\n") == [
        "이번 주에는 큰 회사들이 연달아 새 모델을 발표하면서 업계의 관심이 한곳에 쏠렸습니다.",
        "아래에서 무엇이 나왔고 무엇이 달라질지 차례로 살펴봅니다.",
        "**3줄 요약**",
        "- 두 회사가 같은 주에 새 모델을 내놓았습니다.\n"
        "- 작은 모델도 특정 작업에서는 큰 모델과 겨룰 만해졌습니다.\n"
        "- 에이전트 도구가 사무실 업무로 들어오고 있습니다.",
    ]
    assert [s.title for s in issue.sections] == [
        "새 모델의 등장: 판도는 바뀔까?",
        "작은 모델이 새 시대를 열다",
        "마치며: 승자는 누구일까?",
    ]
    first, second, last = issue.sections
    assert len(first.body.split("\n\n")) == 2
    assert second.body.startswith("가중치를 공개한 작은 모델들이")
    assert last.body.endswith("계속 지켜봐 주시기 바랍니다.")
    assert all("댓글" not in s.body and "Comments" not in s.body for s in issue.sections)
    assert notes(result) == [
        "note: dropped page leftovers at the end: Comments | "
        "댓글 기능이 준비 중입니다. (Coming Soon) | 곧 의견을 남기실 수 있습니다."
    ]


def test_the_same_text_with_blank_lines(
    newsletter: Path, run_weekly: Callable[..., Result], tmp_path: Path
) -> None:
    lines = (FIXTURES / "web-copy.txt").read_text("utf-8").split("\n")
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("\n\n".join(lines), "utf-8")
    issue, _ = imported_strictly(newsletter, run_weekly, str(spaced))
    assert [s.title for s in issue.sections] == [
        "새 모델의 등장: 판도는 바뀔까?",
        "작은 모델이 새 시대를 열다",
        "마치며: 승자는 누구일까?",
    ]
    assert "**3줄 요약**" in issue.lead


def test_english_prompts_and_an_empty_heading(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    source = FIXTURES / "web-copy-english.txt"
    issue, result = imported_strictly(newsletter, run_weekly, str(source))
    assert (issue.title, issue.date) == ("Small models, big week", dt.date(2025, 12, 19))
    assert issue.lead.endswith(
        "**Key points**\n\n- Open weights keep closing the gap.\n"
        "- Agents moved from demos to office work."
    )
    assert [s.title for s in issue.sections] == ["What changed?", "Agents at work: a first look"]
    assert notes(result) == [
        "note: dropped page leftovers at the end: Leave a comment | Share | Subscribe now",
        "note: line 14: dropped “Photos from the launch”: no text under it",
    ]


def test_bold_headings_still_cut_sections(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    issue, result = imported_strictly(newsletter, run_weekly, str(FIXTURES / "bold.txt"))
    assert [s.title for s in issue.sections] == [
        "오픈소스 모델, 상위권에 오르다",
        "데이터센터 전력 문제",
        "참고 자료",
    ]
    assert notes(result) == []


class _Headings(HTMLParser):
    """The levels of h1-h6 in a page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.levels.append(int(tag[1]))


def heading_levels(html: str) -> list[int]:
    scan = _Headings()
    scan.feed(html)
    return scan.levels


def assert_no_level_skipped(levels: list[int]) -> None:
    assert levels[0] == 1, levels
    for before, after in pairwise(levels):
        assert after <= before + 1, levels


def test_hugo_introduction_becomes_the_lead_and_no_level_is_skipped(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    source = FIXTURES / "hugo-intro.md"
    issue, result = imported_strictly(newsletter, run_weekly, str(source))
    assert (issue.title, issue.date) == ("에이전트를 일터에 들이기", dt.date(2025, 12, 18))
    assert issue.lead.split("\n\n") == [
        "**이번 주를 여는 이야기**",
        "올해 마지막 달, 여러 회사가 에이전트를 실제 업무에 붙이기 시작했습니다.",
        "무엇이 잘 되었고 무엇이 막혔는지 두 가지 사례로 나눠 살펴봅니다.",
    ]
    assert [s.title for s in issue.sections] == ["고객 지원에 들어간 에이전트", "사내 문서 검색"]
    assert notes(result) == [
        "note: line 5: “이번 주를 여는 이야기” introduces the sections: it is the lead"
    ]
    email = (newsletter / "build/325/email.html").read_text("utf-8")
    assert heading_levels(email) == [1, 2, 3, 3, 4, 2, 3]
    assert_no_level_skipped(heading_levels(email))
    text = (newsletter / "build/325/email.txt").read_text("utf-8")
    assert "잘 된 점\n~~~~~~~~" in text
    assert "규정이 먼저\n^^^^^^^^^^^" in text
    archived = run_weekly("archive", "--drafts")
    assert archived.exit_code == 0, archived.output
    page = (newsletter / "site/325/index.html").read_text("utf-8")
    assert heading_levels(page) == [1, 2, 3, 3, 4, 2, 3]
    assert_no_level_skipped(heading_levels(page))


def test_an_introduction_by_name_leaves_its_heading_out(
    newsletter: Path, run_weekly: Callable[..., Result], tmp_path: Path
) -> None:
    article = tmp_path / "intro.md"
    article.write_text(
        "# 짧은 호\n\n2025-12-20\n\n## 들어가며\n\n인사말입니다.\n\n"
        "## 첫 소식\n\n첫 소식의 본문입니다.\n\n## 둘째 소식\n\n둘째 소식의 본문입니다.\n",
        "utf-8",
    )
    issue, _ = imported_strictly(newsletter, run_weekly, str(article))
    assert issue.lead == "인사말입니다."
    assert [s.title for s in issue.sections] == ["첫 소식", "둘째 소식"]


def test_a_greeting_without_a_period_is_not_a_heading(
    newsletter: Path, run_weekly: Callable[..., Result], tmp_path: Path
) -> None:
    article = tmp_path / "greeting.txt"
    article.write_text(
        "인사로 여는 호\n2025-12-26\n안녕하세요\n올해 마지막 소식을 짧게 전합니다.\n"
        "새 해를 열다\n내년에 달라질 일들을 세 가지로 정리했습니다. 차례로 읽어 보세요.\n",
        "utf-8",
    )
    issue, _ = imported_strictly(newsletter, run_weekly, str(article))
    assert issue.lead == "안녕하세요\n\n올해 마지막 소식을 짧게 전합니다."
    assert [s.title for s in issue.sections] == ["새 해를 열다"]
