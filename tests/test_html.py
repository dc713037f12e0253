"""The composed HTML, checked by parsing it the way a mail client would."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from weekly.render.compose import compose_to_build


@pytest.fixture
def composed(newsletter: Path) -> lxml.html.HtmlElement:
    compose_to_build(newsletter, 324)
    return lxml.html.fromstring((newsletter / "build/324/email.html").read_bytes())


def test_language_and_head(composed) -> None:
    assert composed.get("lang") == "ko"
    metas = {m.get("name"): m.get("content") for m in composed.iter("meta") if m.get("name")}
    assert metas["color-scheme"] == "light dark"
    assert "width=device-width" in metas["viewport"]
    styles = " ".join(s.text_content() for s in composed.iter("style"))
    assert "prefers-color-scheme: dark" in styles
    assert "max-width: 479px" in styles


def test_images_have_alt_and_scale(composed) -> None:
    images = list(composed.iter("img"))
    assert images
    for img in images:
        assert img.get("alt", "").strip(), lxml.html.tostring(img)
        assert img.get("src", "").startswith("https://news.example.com/weekly/324/")
        width, height = int(img.get("width")), int(img.get("height"))
        assert (width, height) == (544, 233), "560 x 240 file scaled to the 544 px column"
        style = img.get("style", "").replace(" ", "")
        # Fluid up to its own width: a percentage width does not widen a table cell on a phone.
        assert "width:100%" in style and f"max-width:{width}px" in style


def test_layout_tables_are_presentational(composed) -> None:
    for table in composed.iter("table"):
        if "data" not in (table.get("class") or "").split():
            assert table.get("role") == "presentation", lxml.html.tostring(table)[:200]


def test_layout_survives_without_style_elements(composed) -> None:
    """Clients that drop <style> still get a 600 px column and readable Korean text."""
    for style in list(composed.iter("style")):
        style.drop_tree()
    widths = [el.get("style", "") for el in composed.iter("div")]
    assert any("max-width:600px" in w.replace(" ", "") for w in widths)
    for p in composed.iter("p"):
        assert "word-break:keep-all" in p.get("style", "").replace(" ", "")
    for h in composed.iter("h1", "h2"):
        assert "word-break:keep-all" in h.get("style", "").replace(" ", "")


def test_header_footer_and_placeholders(composed) -> None:
    text = " ".join(composed.text_content().split())
    assert "AI 주간 동향" in text
    assert "#324 · 2025년 10월 2일" in text
    assert "서울특별시 중구 세종대로 110" in text
    hrefs = [a.get("href") for a in composed.iter("a")]
    assert "%%unsubscribe_url%%" in hrefs
    assert "https://news.example.com/weekly/324/" in hrefs
    assert "%%email%%" in text
    links = {a.text_content().strip(): a.get("href") for a in composed.iter("a")}
    assert links["수신 거부"] == "%%unsubscribe_url%%"
    assert links["웹에서 보기"] == "https://news.example.com/weekly/324/"


def test_hidden_preheader_is_padded_and_not_low_contrast(composed) -> None:
    (preheader,) = composed.find_class("preheader")
    style = preheader.get("style", "").replace(" ", "")
    assert "display:none" in style and "color" not in style
    body_text = composed.find("body").text_content().lstrip()
    assert body_text.startswith("코딩 에이전트부터 영상 생성"), "the inbox preview starts here"
    words = "코딩 에이전트부터 영상 생성, 캘리포니아의 새 AI 법까지 이번 주 소식을 한눈에"
    text = preheader.text_content()
    assert text.startswith(words)
    filler = text.removeprefix(words)
    assert len(filler) >= 200 and set(filler) == {"\u034f", "\u200c", "\u00a0"}


def test_nothing_remote_but_links_and_images(composed, newsletter: Path) -> None:
    html = (newsletter / "build/324/email.html").read_text(encoding="utf-8")
    assert not list(composed.iter("link")), "no external stylesheets or fonts"
    assert "@import" not in html
    assert "fonts.googleapis" not in html
    assert html.lower().startswith("<!doctype html>")


def test_sections_in_file_order(composed) -> None:
    titles = [h.text_content().replace("\xa0", " ") for h in composed.iter("h2")]
    assert titles == [
        "앤트로픽, 클로드 소넷 4.5 공개",
        "오픈AI, 소라 2와 소셜 영상 앱 출시",
        "캘리포니아, 프런티어 AI 투명성 법 서명",
        "더 읽을거리",
    ]
    assert any(table.get("class") == "data" for table in composed.iter("table"))


def test_english_newsletter(newsletter: Path) -> None:
    toml = newsletter / "weekly.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('language = "ko"', 'language = "en"'),
        encoding="utf-8",
    )
    compose_to_build(newsletter, 324)
    root = lxml.html.fromstring((newsletter / "build/324/email.html").read_bytes())
    assert root.get("lang") == "en"
    text = " ".join(root.text_content().split())
    assert "October 2, 2025" in text
    assert "Unsubscribe" in text and "View in browser" in text
    plain = (newsletter / "build/324/email.txt").read_text(encoding="utf-8")
    assert re.search(r"^Unsubscribe: %%unsubscribe_url%%$", plain, re.M)
