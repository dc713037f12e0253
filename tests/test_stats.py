"""`weekly stats`: exact numbers over a newsletter with known sends, events and hits, in both
stores; the CSV; charts with Korean labels in a CJK font; bad input."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import Result
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from weekly.config import load_config
from weekly.stats.chart import shorten
from weekly.stats.figures import Clicks, LinkFigures, Opens, all_figures, issue_figures
from weekly.stats.fonts import HANGUL
from weekly.stats.table import COLUMNS
from weekly.store.outcomes import SendOutcome

from .statsdata import LINK_2, known_newsletter

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def known(newsletter: Path, store: str) -> Path:
    known_newsletter(newsletter)
    return newsletter


def test_one_issue_is_counted_exactly(known: Path) -> None:
    figures = issue_figures(load_config(known), 324)
    assert figures.outcome == SendOutcome(
        324, figures.outcome.started_at, delivered=7, failed=2, unsubscribed=2, complained=1
    )
    assert figures.opens == Opens(readers=3, total=4, machine=2, bots=1)
    assert figures.clicks is not None
    assert figures.clicks.readers == 2  # v1 clicked two links: one reader
    assert (figures.clicks.total, figures.clicks.scanned) == (5, 4)
    assert figures.ctr == pytest.approx(2 / 7)
    links = {link.number: link for link in figures.clicks.links}
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert links[2] == LinkFigures(
        2, LINK_2, "https://www.anthropic.com/news/claude-sonnet-4-5", 2, 4, 2
    )
    assert (links[3].readers, links[3].clicks, links[3].scanned) == (1, 1, 0)
    assert (links[1].readers, links[1].clicks, links[4].scanned, links[5].scanned) == (0, 0, 1, 1)


def test_every_issue_gets_a_row_and_untracked_says_so(known: Path) -> None:
    rows = all_figures(load_config(known))
    assert [(f.number, f.outcome.delivered, f.outcome.unsubscribed) for f in rows] == [
        (323, 3, 0),
        (324, 7, 2),
    ]
    assert (rows[0].opens, rows[0].clicks, rows[0].ctr) == (None, None, None)
    assert rows[1].clicks == Clicks(readers=2, total=5, scanned=4, links=())
    assert rows[1].opens == Opens(3, 4, 2, 1)


def test_the_report_shows_readers_and_machines_apart(known: Path, run_weekly) -> None:
    result: Result = run_weekly("stats", "324")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  delivered              7" in lines
    assert "  unsubscribed           2" in lines
    assert "  opens                  3 readers (4 opens)" in lines
    assert any("2 machine opens" in line for line in lines)
    assert "  clicks                 2 readers (5 clicks)" in lines
    assert "  click-through     28.6 %" in lines
    assert (
        f"     2         2         4  {LINK_2} -> https://www.anthropic.com/news/claude-sonnet-4-5"
        in lines
    )
    untracked = run_weekly("stats", "323")
    assert "  opens          not tracked" in untracked.output.splitlines()
    assert "  clicks         not tracked" in untracked.output.splitlines()
    overview = run_weekly("stats").output.splitlines()
    assert overview[1].split() == [
        "323",
        overview[1].split()[1],
        "3",
        "not",
        "tracked",
        "not",
        "tracked",
        "-",
        "0",
    ]
    assert overview[2].split()[2:] == ["7", "3", "2", "28.6", "%", "2"]


def test_csv_has_one_header_and_a_row_per_issue_and_link(known: Path, run_weekly) -> None:
    one = list(csv.DictReader(io.StringIO(run_weekly("stats", "324", "--csv").output)))
    every = run_weekly("stats", "--csv").output
    assert every.splitlines()[0] == ",".join(COLUMNS)
    issue, *links = one
    assert {k: issue[k] for k in ("issue", "link", "delivered", "failed", "complained")} == {
        "issue": "324",
        "link": "",
        "delivered": "7",
        "failed": "2",
        "complained": "1",
    }
    assert (issue["opens"], issue["machine_opens"], issue["bot_opens"]) == ("3", "2", "1")
    assert (issue["clickers"], issue["clicks"], issue["ctr"]) == ("2", "5", "0.2857")
    assert [row["link"] for row in links] == ["1", "2", "3", "4", "5"]
    assert (links[1]["text"], links[1]["clickers"], links[1]["clicks"]) == (LINK_2, "2", "4")
    rows = list(csv.DictReader(io.StringIO(every)))
    assert [row["issue"] for row in rows] == ["323", "324"]
    assert (rows[0]["opens"], rows[0]["clickers"], rows[0]["ctr"]) == ("", "", "")  # not tracked


def _font_has_hangul(family: str) -> bool:
    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    return HANGUL in FT2Font(path).get_charmap()


def test_the_link_chart_names_links_in_korean_in_a_cjk_font(known: Path, run_weekly) -> None:
    chart = known / "out" / "links.svg"
    result = run_weekly("stats", "324", "--chart", str(chart))
    assert result.exit_code == 0, result.output
    root = ET.parse(chart).getroot()
    texts = [t for t in root.iter(f"{SVG}text") if "".join(t.itertext()).strip()]
    label = next(t for t in texts if LINK_2 in "".join(t.itertext()))
    family = label.get("style", "").split("font-family:")[1].split(";")[0]
    first = family.split(",")[0].strip().strip("'\"")
    assert _font_has_hangul(first), family
    assert any("324호 링크별 클릭" in "".join(t.itertext()) for t in texts)  # the catalog's title


def test_the_issues_chart_is_a_png(known: Path, run_weekly) -> None:
    chart = known / "issues.png"
    assert run_weekly("stats", "--chart", str(chart)).exit_code == 0
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_long_korean_texts_are_shortened_by_display_width() -> None:
    text = "오픈AI가 발표한 새로운 동영상 생성 모델 소라 2의 기술 보고서 전문과 해설"
    short = shorten(text, 20)
    assert short.endswith("…") and text.startswith(short[:-1])
    assert sum(2 if "가" <= c <= "힣" else 1 for c in short[:-1]) <= 19
    assert shorten("SWE-bench 소개") == "SWE-bench 소개"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("stats", "999"), 1, "issue 999 has not been sent"),
        (("stats", "0"), 2, "0 is not in the range"),
        (("stats", "324", "--chart", "out.pdf"), 2, "name a .svg or .png file"),
        (("stats", "323", "--chart", "out.svg"), 1, "clicks were not tracked"),
    ],
)
def test_bad_input_is_one_line(
    known: Path, run_weekly, args: tuple[str, ...], code: int, says: str
) -> None:
    result = run_weekly(*args)
    assert result.exit_code == code, result.output
    assert says in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.usefixtures("store")
def test_nothing_sent_is_an_error(newsletter: Path, run_weekly) -> None:
    result = run_weekly("stats")
    assert result.exit_code == 1
    assert "nothing has been sent" in result.output


def test_counting_on_with_no_hits_is_zero_not_untracked(known: Path) -> None:
    with (known / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[tracking]\nopens = "aggregate"\n')
    quiet = all_figures(load_config(known))[0]  # issue 323: no hits at all
    assert quiet.opens == Opens(0, 0, 0, 0)
    assert quiet.clicks is None
