"""Break opportunities and no-break spaces for phones: in the HTML only, never in the text
part, never inside tags, entities or placeholders."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from weekly.render.breaks import NBSP, breakable_html, title_html
from weekly.render.compose import compose_to_build

RUN = "국제공동연구협의체설립추진계획안발표회의결과보고서요약본"


def test_long_runs_get_break_opportunities_and_short_tokens_stay_together() -> None:
    url = "https://example.com/a-very-long-path_name/with/segments?x=1&amp;y=2"
    html = breakable_html(
        f'<p>{RUN} SB 53, GPT 5.2, #324 <a href="{url}">{url}</a> %%very_long_placeholder_key%%</p>'
    )
    fragment = lxml.html.fragment_fromstring(html)
    assert fragment.text_content().replace(NBSP, " ").startswith(f"{RUN} SB 53, GPT 5.2, #324")
    assert len(fragment.findall(".//wbr")) > 8
    assert f"SB{NBSP}53" in html and f"GPT{NBSP}5.2" in html and "#324" in html
    assert fragment.find(".//a").get("href") == url.replace("&amp;", "&")
    assert "%%very_long_placeholder_key%%" in html and "&amp;y=2" in html
    pieces = html.split("<wbr>")
    assert all(len(p) < 40 for p in pieces if "<" not in p)


def test_short_words_are_left_alone() -> None:
    assert breakable_html("<p>안녕하세요 여러분, 이번 주 소식입니다.</p>") == (
        "<p>안녕하세요 여러분, 이번 주 소식입니다.</p>"
    )


def test_a_title_never_ends_on_a_lone_word() -> None:
    assert str(title_html("소넷 4.5, 소라 2와 인공지능의 미래")).endswith(f"인공지능의{NBSP}미래")
    assert str(title_html("<b>제목</b> 하나")) == "&lt;b&gt;제목&lt;/b&gt; 하나"


def test_only_the_html_gets_breaks(newsletter: Path) -> None:
    (newsletter / "issues/324/35-long.md").write_text(f"# 긴 낱말\n\n{RUN}\n", "utf-8")
    folder = compose_to_build(newsletter, 324).folder
    text = (folder / "email.txt").read_text(encoding="utf-8")
    html = (folder / "email.html").read_text(encoding="utf-8")
    assert RUN in text and "\u200b" not in text
    assert RUN not in html and RUN[:4] + "<wbr>" in html


def write_png(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    Image.new("RGB", size, "#4f46e5").save(path)


def test_images_get_their_real_size_and_2x_files_half(newsletter: Path) -> None:
    folder = newsletter / "issues/324"
    write_png(folder / "chart@2x.png", (400, 300))
    write_png(folder / "small.png", (120, 80))
    (folder / "35-images.md").write_text(
        "# 그림\n\n![두 배 그림](chart@2x.png)\n\n![작은 그림](small.png)\n", "utf-8"
    )
    document = lxml.html.fromstring(
        (compose_to_build(newsletter, 324).folder / "email.html").read_bytes()
    )
    sizes = {img.get("alt"): (img.get("width"), img.get("height")) for img in document.iter("img")}
    assert sizes["두 배 그림"] == ("200", "150")
    assert sizes["작은 그림"] == ("120", "80")


@pytest.mark.parametrize(
    ("content", "problem"), [(None, "no such file"), (b"not a png", "not a readable image")]
)
def test_a_missing_or_broken_image_is_an_error_naming_file_and_line(
    newsletter: Path, run_weekly, content: bytes | None, problem: str
) -> None:
    folder = newsletter / "issues/324"
    if content is not None:
        (folder / "broken.png").write_bytes(content)
    (folder / "35-images.md").write_text("# 그림\n\n문단\n\n![깨진 그림](broken.png)\n", "utf-8")
    result = run_weekly("compose", "324")
    assert result.exit_code == 1
    assert f"35-images.md:5: image broken.png: {problem}" in result.output
    assert "Traceback" not in result.output
