"""`weekly import EXPORT --from substack|ghost|buttondown`: a whole newsletter moves over,
each published post an issue that composes cleanly, the same way every time."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from weekly.content.issue import Issue, read_issue

from .conftest import REPO

EXPORTS = REPO / "tests" / "fixtures" / "exports"


def _zipped(folder: Path, target: Path) -> Path:
    """The export folder as the zip the service hands out."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


@pytest.fixture
def empty(newsletter: Path) -> Path:
    """The newsletter with no issues yet, as for an editor moving over."""
    for folder in (newsletter / "issues").iterdir():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()
    return newsletter


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in (root / "issues").rglob("*")
        if p.is_file()
    }


def _strict(run_weekly: Callable[..., Result], root: Path) -> list[Issue]:
    """Every issue composes with --strict and 0 warnings."""
    issues = []
    for folder in sorted((root / "issues").iterdir(), key=lambda p: int(p.name)):
        composed = run_weekly("compose", folder.name, "--strict")
        assert composed.exit_code == 0, composed.output
        assert " 0 warnings " in composed.stdout
        issues.append(read_issue(folder))
    return issues


def test_substack(empty: Path, run_weekly: Callable[..., Result], tmp_path: Path) -> None:
    export = _zipped(EXPORTS / "substack", tmp_path / "substack.zip")
    result = run_weekly("import", str(export), "--from", "substack")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "   #  date        sections  outcome    title",
        "   1  2025-11-06         2  made       공개 모델의 가을",
        "   2  2025-11-13         2  made       에이전트가 일터로",
        "2 issues: 2 made, 0 replaced, 0 unchanged; 1 not published, skipped",
    ]
    assert "note: skipped a draft: 아직 쓰는 중인 글 (170000003.unfinished)" in result.stderr
    assert "dropped page leftovers at the end: Subscribe now" in result.stderr
    autumn, agents = _strict(run_weekly, empty)
    assert (autumn.title, autumn.date) == ("공개 모델의 가을", dt.date(2025, 11, 6))
    assert (
        autumn.lead
        == "이번 주에는 가중치를 공개한 모델 소식이 이어졌습니다. 짧게 두 가지를 골랐습니다."
    )
    assert [s.title for s in autumn.sections] == ["작은 모델의 약진", "라이선스 논쟁"]
    small = autumn.sections[0].body
    assert "**코딩 평가**" in small and "[평가 보고서](https://example.com/small-models)" in small
    assert "![평가 점수 막대 그래프](https://substackcdn.example/image/fetch/chart.png)" in small
    assert "### 왜 중요한가\n\n- 개인 개발자도 직접 고쳐 쓸 수 있습니다.\n" in small
    assert "Subscribe" not in autumn.sections[1].body
    assert agents.preheader == "메일과 일정을 맡기는 회사들"
    assert [s.title for s in agents.sections] == ["고객 지원", "사내 검색"]


def test_importing_twice_changes_nothing(
    empty: Path, run_weekly: Callable[..., Result], tmp_path: Path
) -> None:
    export = _zipped(EXPORTS / "substack", tmp_path / "substack.zip")
    assert run_weekly("import", str(export), "--from", "substack").exit_code == 0
    before = _tree(empty)
    again = run_weekly("import", str(export), "--from", "substack")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == (
        "2 issues: 0 made, 0 replaced, 2 unchanged; 1 not published, skipped"
    )
    assert _tree(empty) == before


def test_a_changed_folder_is_only_replaced_with_force(
    empty: Path, run_weekly: Callable[..., Result], tmp_path: Path
) -> None:
    export = _zipped(EXPORTS / "substack", tmp_path / "substack.zip")
    assert run_weekly("import", str(export), "--from", "substack").exit_code == 0
    edited = empty / "issues/2/issue.md"
    edited.write_text(edited.read_text("utf-8") + "\n덧붙인 문단.\n", "utf-8")
    before = _tree(empty)
    refused = run_weekly("import", str(export), "--from", "substack")
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: {export}: {empty}/issues/2 exists with other content than post "
        "'170000002.agents-at-work': pass --force to replace it\n"
    )
    assert _tree(empty) == before
    forced = run_weekly("import", str(export), "--from", "substack", "--force")
    assert forced.exit_code == 0, forced.output
    assert "   2  2025-11-13         2  replaced   에이전트가 일터로" in forced.stdout
    assert "덧붙인 문단." not in edited.read_text("utf-8")


def test_ghost(empty: Path, run_weekly: Callable[..., Result]) -> None:
    result = run_weekly(
        "import",
        str(EXPORTS / "ghost.json"),
        "--from",
        "ghost",
        "--base-url",
        "https://robots.example.com",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:3] == [
        "  11  2025-11-13         1  made       걷는 로봇의 해",
        "  12  2025-11-20         2  made       손이 좋아진 로봇",
    ]
    assert "note: skipped a draft: 주간 로봇 #13 - 쓰는 중 (robots-13)" in result.stderr
    walking, hands = _strict(run_weekly, empty)
    assert walking.number == 11 and walking.lead == "올해는 걷는 로봇이 공장에 들어간 해였습니다."
    assert [s.title for s in hands.sections] == ["집고 옮기기", "남은 과제"]
    assert hands.preheader == "물건을 집는 솜씨가 좋아진 로봇 손"
    assert (
        "![물건을 집는 로봇 손](https://robots.example.com/content/images/2025/11/hand.jpg)"
        in hands.sections[0].body
    )


def test_buttondown(empty: Path, run_weekly: Callable[..., Result], tmp_path: Path) -> None:
    export = _zipped(EXPORTS / "buttondown", tmp_path / "buttondown.zip")
    result = run_weekly("import", str(export), "--from", "buttondown", "--number", "40")
    assert result.exit_code == 0, result.output
    assert "note: skipped a draft: 다음 주 예고 (next-week)" in result.stderr
    power, chips = _strict(run_weekly, empty)
    assert (power.number, power.date, power.title) == (
        40,
        dt.date(2025, 10, 30),
        "데이터센터와 전력",
    )
    assert [s.title for s in power.sections] == ["원자력과 장기 계약", "냉각 기술"]
    assert "![냉각 설비 사진](https://example.com/images/cooling.jpg)" in power.sections[1].body
    assert (chips.number, chips.preheader) == (41, "규제가 바꾸는 반도체 공급")
    assert chips.sections[0].body.split("\n") == [
        "- 고성능 칩의 수출 기준이 낮아졌습니다.",
        "- 클라우드로 빌려 쓰는 경우도 규제 대상이 되었습니다.",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "substack"], "not a zip file: a substack export is a .zip"),
        (["--from", "ghost"], "not a Ghost JSON export"),
    ],
)
def test_a_wrong_file_is_one_line(
    empty: Path, run_weekly: Callable[..., Result], tmp_path: Path, args: list[str], message: str
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("그냥 글입니다.\n", "utf-8")
    result = run_weekly("import", str(wrong), *args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {wrong}: {message}")
    assert result.stderr.count("\n") == 1
    assert _tree(empty) == {}


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "ghost", "--date", "2025-12-01"],
        ["--base-url", "https://blog.example.com"],
    ],
)
def test_options_that_do_not_go_together(
    empty: Path, run_weekly: Callable[..., Result], args: list[str]
) -> None:
    result = run_weekly("import", str(EXPORTS / "ghost.json"), *args)
    assert result.exit_code == 2
    assert _tree(empty) == {}
