"""`weekly import`: articles written elsewhere, in each of the three forms, become issues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from weekly.cli import main
from weekly.content.issue import Issue, read_issue
from weekly.render.compose import compose_issue

from .conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "import"


def _imported(newsletter: Path, run_weekly: Callable[..., Result], *args: str) -> Issue:
    """Import, check it exits cleanly and that the folder reads and composes without warnings."""
    result = run_weekly("import", *args)
    assert result.exit_code == 0, result.output
    folder = newsletter / result.stdout.split()[1].rstrip("/")
    issue = read_issue(folder)
    _, rendered = compose_issue(newsletter, issue.number)
    assert rendered.findings == []
    return issue


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "issues").rglob("*"))


def test_hugo_markdown(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    issue = _imported(newsletter, run_weekly, str(FIXTURES / "hugo.md"))
    assert issue.number == 325
    assert issue.title == "제미나이 3와 에이전트의 겨울 준비"
    assert issue.date == dt.date(2025, 11, 20)
    assert issue.lead.startswith("안녕하세요, AI 주간 동향입니다.")
    assert issue.lead.endswith("잇달아 공개했습니다.")
    assert [s.path.name for s in issue.sections] == [
        "10-구글-제미나이-3-공개.md",
        "20-에이전트-사무실로-들어오다.md",
        "30-참고-자료.md",
    ]
    gemini, agents, references = issue.sections
    assert "### 무엇이 달라졌나" in gemini.body
    assert "<https://blog.google/technology/>" in gemini.body
    assert gemini.body.endswith("[gemini]: https://deepmind.google/models/gemini/")
    assert (
        "## 이 줄은 코드 블록 안이라 제목이 아닙니다\nhttps://example.com/not-a-link" in agents.body
    )
    assert references.body.split("\n") == [
        "- [1] [제미나이 3 발표문](https://blog.google/products/gemini/)",
        "- [2] [에이전트 도입 사례 모음](https://example.com/agents)",
    ]


def test_hugo_keys_without_a_place_are_dropped_and_said(newsletter: Path, run_weekly) -> None:
    result = run_weekly("import", str(FIXTURES / "hugo.md"))
    assert "note: dropped front matter an issue has no use for: categories, tags" in result.stderr
    assert result.stdout.split("\n")[:3] == [
        f"Made {newsletter}/issues/325/ from {FIXTURES / 'hugo.md'} (Markdown)",
        "  title: 제미나이 3와 에이전트의 겨울 준비",
        "  date:  2025-11-20",
    ]
    assert "  10-구글-제미나이-3-공개.md  구글, 제미나이 3 공개" in result.stdout


def test_bold_headings(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    issue = _imported(newsletter, run_weekly, str(FIXTURES / "bold.txt"))
    assert issue.number == 331  # from "#331" in the title
    assert (
        issue.title == "오픈소스 모델의 반격"
    )  # the "AI 주간 동향 #331 - " prefix is the subject's
    assert issue.date == dt.date(2025, 11, 27)  # written in the lead, which keeps it
    assert issue.lead.startswith("2025년 11월 27일 목요일 아침")
    assert [s.title for s in issue.sections] == [
        "오픈소스 모델, 상위권에 오르다",
        "데이터센터 전력 문제",
        "참고 자료",
    ]
    models, power, references = issue.sections
    assert models.body.split("\n")[1] == "들여쓰기된 줄도 코드가 되지 않고 문단으로 남습니다."
    assert "- 작은 모델도" in models.body
    assert "<https://example.com/power-report> 참고." in power.body
    assert references.body.split("\n") == [
        "- [1] [공개 모델 순위표](https://example.com/open-models)",
        "- [2] <https://example.com/power-report>",
    ]


def test_plain_text(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    issue = _imported(newsletter, run_weekly, str(FIXTURES / "plain.txt"))
    assert issue.number == 325
    assert issue.title == "AI 주간 동향: 연말 특집"
    assert issue.date == dt.date(2025, 12, 12)
    assert issue.lead == "안녕하세요. 올해 마지막 호에서는 한 해를 돌아보고 내년을 내다봅니다."
    assert [s.title for s in issue.sections] == ["올해의 모델", "내년에 볼 것", "함께 읽을 글"]
    assert issue.sections[0].body.endswith("- 답을 내기까지 걸리는 시간은 길어졌습니다.")
    assert issue.sections[2].body.split("\n") == [
        "- 올해의 AI 정리: <https://example.com/2025-review>",
        "- 유럽 AI 법 안내 <https://example.com/eu-ai-act>",
    ]


def test_stdin_and_date_option(newsletter: Path) -> None:
    text = (FIXTURES / "plain.txt").read_bytes()
    result = CliRunner().invoke(
        main, ["import", "-", "--date", "2026-01-02", "--root", str(newsletter)], input=text
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Made {newsletter}/issues/325/ from <stdin> (plain text)")
    assert read_issue(newsletter / "issues/325").date == dt.date(2026, 1, 2)


def test_many_sections_keep_their_order(newsletter: Path, run_weekly, tmp_path: Path) -> None:
    article = tmp_path / "many.md"
    article.write_text(
        "# 열두 꼭지\n\n2025-12-19\n\n"
        + "".join(f"## 소식 {n}\n\n본문 {n}.\n\n" for n in range(12)),
        encoding="utf-8",
    )
    issue = _imported(newsletter, run_weekly, str(article))
    assert [s.path.name for s in issue.sections][:2] == ["010-소식-0.md", "020-소식-1.md"]
    assert [s.title for s in issue.sections] == [f"소식 {n}" for n in range(12)]


def test_title_number_taken_falls_back_to_next(newsletter: Path, run_weekly, tmp_path) -> None:
    article = tmp_path / "taken.txt"
    article.write_text("AI 주간 동향 #324 - 다시 보내는 호\n2025-10-09\n\n본문입니다.\n", "utf-8")
    result = run_weekly("import", str(article))
    assert result.exit_code == 0, result.output
    assert "note: #324 from the title is taken; using the next number" in result.stderr
    assert read_issue(newsletter / "issues/325").title == "다시 보내는 호"


def test_title_number_no_command_can_name_is_ignored(
    newsletter: Path, run_weekly, tmp_path
) -> None:
    """A `#N` past the CLI's range would make a folder no command can address."""
    article = tmp_path / "huge.txt"
    title = "# AI 주간 #99999999999999999999 - 제목"
    article.write_text(f"{title}\n2025-10-09\n\n본문입니다.\n", "utf-8")
    result = run_weekly("import", str(article))
    assert result.exit_code == 0, result.output
    assert not (newsletter / "issues/99999999999999999999").exists()
    assert read_issue(newsletter / "issues/325").title == "제목"
    assert run_weekly("compose", "325").exit_code == 0


def test_force_replaces_the_whole_folder(newsletter: Path, run_weekly) -> None:
    before = read_issue(newsletter / "issues/324")
    result = run_weekly("import", str(FIXTURES / "plain.txt"), "--number", "324", "--force")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Replaced {newsletter}/issues/324/")
    assert sorted(p.name for p in (newsletter / "issues/324").iterdir()) == [
        "10-올해의-모델.md",
        "20-내년에-볼-것.md",
        "30-함께-읽을-글.md",
        "issue.md",
    ]
    assert read_issue(newsletter / "issues/324").title != before.title
    assert sorted(p.name for p in (newsletter / "issues").iterdir()) == ["323", "324"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"\xc0\xb0\xc0\xcc \xb4\xba\xbd\xba\n",
            "article.txt:1: not UTF-8 text: byte 0 is b'\\xc0'; it looks",
        ),
        (
            "제목\n\n본문\n".encode() + b"\xff\n",
            "article.txt:4: not UTF-8 text: byte 15 is b'\\xff'",
        ),
        (b"", "article.txt:1: no recognisable title: the file has no text"),
        ("\n- 목록으로 시작하는 글\n".encode(), "article.txt:2: no recognisable title"),
        ("2025년 12월 12일\n\n본문\n".encode(), "article.txt:1: no recognisable title"),
        (b"---\ndate: 2025-12-12\n---\n", "article.txt:4: no recognisable title"),
        ("제목만 있는 글\n".encode(), "article.txt:1: no text after the title"),
        ("제목\n\n본문에 날짜가 없습니다.\n".encode(), "article.txt: no date in the front matter"),
        ("제목\n2025년 2월 30일\n\n본문\n".encode(), "article.txt:2: not a real date"),
        (b"---\ndate: 2025-13-01\n---\n", "article.txt:2: date: not a real date"),
        ("# 제목\n\n## 빈 꼭지\n## 다음\n\n본문\n".encode(), "article.txt:3: section “빈 꼭지”"),
    ],
)
def test_unreadable_articles_fail_and_write_nothing(
    newsletter: Path, run_weekly, tmp_path: Path, content: bytes, message: str
) -> None:
    article = tmp_path / "article.txt"
    article.write_bytes(content)
    before = _listing(newsletter)
    result = run_weekly("import", str(article))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path}/{message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert _listing(newsletter) == before


def test_existing_folder_needs_force(newsletter: Path, run_weekly) -> None:
    before = _listing(newsletter)
    result = run_weekly("import", str(FIXTURES / "hugo.md"), "--number", "324")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {FIXTURES / 'hugo.md'}: {newsletter}/issues/324 already exists: "
        "pass --force to replace it\n"
    )
    assert _listing(newsletter) == before


def test_images_beside_the_article_come_along(newsletter: Path, run_weekly, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "images").mkdir(parents=True)
    chart = (REPO / "issues/324/sora-timeline.png").read_bytes()
    (bundle / "images" / "chart 1.png").write_bytes(chart)
    (bundle / "index.md").write_text(
        "---\ntitle: 그림이 있는 호\ndate: 2025-12-26\n---\n"
        "## 그래프\n\n![막대 그래프](images/chart%201.png)\n\n![없는 그림](./gone.png)\n",
        encoding="utf-8",
    )
    result = run_weekly("import", str(bundle / "index.md"))
    assert result.exit_code == 0, result.output
    folder = newsletter / "issues/325"
    assert (folder / "images" / "chart 1.png").read_bytes() == chart
    assert not (folder / "gone.png").exists()
    assert result.stderr.splitlines()[0] == (
        f"note: image ./gone.png is not beside {bundle / 'index.md'}: copy it into {folder}"
    )


def test_windows_text_with_bom_crlf_and_dotted_date(newsletter: Path, run_weekly, tmp_path) -> None:
    article = tmp_path / "windows.txt"
    text = "주간 소식 #400 | 윈도에서 쓴 글\r\n2025. 12. 19.\r\n\r\n인사말입니다.\r\n\r\n"
    article.write_bytes(b"\xef\xbb\xbf" + (text + "**첫 소식**\r\n\r\n내용입니다.\r\n").encode())
    result = run_weekly("import", str(article))
    assert result.exit_code == 0, result.output
    issue = read_issue(newsletter / "issues/400")
    assert (issue.title, issue.date, issue.lead) == (
        "윈도에서 쓴 글",
        dt.date(2025, 12, 19),
        "인사말입니다.",
    )
    assert [(s.title, s.body) for s in issue.sections] == [("첫 소식", "내용입니다.")]


def test_english_plain_text(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    issue = _imported(newsletter, run_weekly, str(FIXTURES / "english.txt"))
    assert (issue.title, issue.date) == ("AI Weekly: the year in review", dt.date(2025, 12, 12))
    assert issue.lead == "Hello. In this last issue of the year we look back, and ahead."
    assert [s.path.name for s in issue.sections] == [
        "10-the-model-of-the-year.md",
        "20-what-to-watch-next-year.md",
        "30-further-reading.md",
    ]
    assert issue.sections[2].body == "- [1] [The year in AI](https://example.com/2025-review)"


def test_hugo_toml_front_matter(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    result = run_weekly("import", str(FIXTURES / "hugo-toml.md"))
    assert result.exit_code == 0, result.output
    assert "dropped front matter an issue has no use for: tags, params" in result.stderr
    issue = read_issue(newsletter / "issues/325")
    assert (issue.title, issue.date, issue.draft) == (
        "토요일 특집: 오픈소스 에이전트",
        dt.date(2025, 12, 6),
        True,
    )
    assert issue.lead == "주말에 읽을 만한 긴 글을 모았습니다."
    assert [s.title for s in issue.sections] == ["직접 만드는 에이전트"]


def test_broken_toml_front_matter_names_the_line(run_weekly, tmp_path: Path) -> None:
    article = tmp_path / "broken.md"
    article.write_text('+++\ntitle = "제목"\ndate = 2025-12-06\ndraft = 네\n+++\n본문\n', "utf-8")
    result = run_weekly("import", str(article))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {article}:4: invalid TOML front matter: ")
