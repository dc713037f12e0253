"""Link numbering at compose: the links table in the build, and the rewrite send makes once."""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly.errors import WeeklyError
from weekly.project import build_dir
from weekly.render.compose import compose_to_build
from weekly.render.links import (
    LINKS_FILE,
    TrackedLink,
    anchors,
    links_of,
    number_links,
    rewrite_html,
    rewrite_text,
)

HTML = (
    '<p><a href="https://a.example/x?p=1&amp;q=2">First\n link</a> '
    "<a href='https://b.example/'>B</a> <a href=https://a.example/x?p=1&amp;q=2>again</a>"
    ' <a href="mailto:me@example.com">mail</a> <a href="%%unsubscribe_url%%">out</a>'
    ' <a href="#top">top</a> <a name="x">no href</a> <a href="https://c.example/">C'
)


def test_distinct_web_links_are_numbered_as_they_first_appear() -> None:
    assert number_links(HTML) == [
        TrackedLink(1, "https://a.example/x?p=1&q=2", "First link"),
        TrackedLink(2, "https://b.example/", "B"),
        TrackedLink(3, "https://c.example/", "C"),
    ]


def test_the_rewrite_replaces_only_tracked_hrefs_in_place() -> None:
    links = number_links(HTML)
    tracked = rewrite_html(HTML, links, lambda n: f"https://t.example/r/9/{n}/%%visitor%%?a&b")
    hrefs = [a.href for a in anchors(tracked)]
    assert hrefs == [
        "https://t.example/r/9/1/%%visitor%%?a&b",
        "https://t.example/r/9/2/%%visitor%%?a&b",
        "https://t.example/r/9/1/%%visitor%%?a&b",
        "mailto:me@example.com",
        "%%unsubscribe_url%%",
        "#top",
        "https://t.example/r/9/3/%%visitor%%?a&b",
    ]
    assert "First\n link" in tracked and "&amp;b" in tracked


def test_the_text_part_gets_the_same_numbers() -> None:
    links = [TrackedLink(1, "https://a.example/", "A"), TrackedLink(2, "https://b.example/", "B")]
    text = (
        "[1] https://a.example/\n[2] https://b.example/\nhttps://other.example/ https://a.example/"
    )
    assert rewrite_text(text, links, lambda n: f"<{n}>") == (
        "[1] <1>\n[2] <2>\nhttps://other.example/ <1>"
    )


def test_compose_writes_the_links_table_the_stats_read(newsletter: Path) -> None:
    compose_to_build(newsletter, 324)
    links = links_of(newsletter, 324)
    assert [link.number for link in links] == list(range(1, len(links) + 1))
    assert links[0] == TrackedLink(1, "https://news.example.com/weekly/324/", "웹에서 보기")
    assert TrackedLink(3, "https://openai.com/index/sora-2/", "소라 2 소개") in links
    html = (build_dir(newsletter, 324) / "email.html").read_text(encoding="utf-8")
    assert {a.href for a in anchors(html) if a.href.startswith("http")} == {
        link.href for link in links
    }


def test_a_missing_or_broken_links_table_says_what_to_run(newsletter: Path) -> None:
    with pytest.raises(WeeklyError, match=r"links.json is missing: run `weekly compose 7`"):
        links_of(newsletter, 7)
    folder = build_dir(newsletter, 7)
    folder.mkdir(parents=True)
    (folder / LINKS_FILE).write_text('[{"number": 1}]', encoding="utf-8")
    with pytest.raises(WeeklyError, match="unreadable links table"):
        links_of(newsletter, 7)
