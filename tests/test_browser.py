"""The archive and the preview in real headless Chromium (Debian's `chromium`, via Playwright)."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from weekly.publish.archive import build_archive
from weekly.web.preview import Previewer
from weekly.web.preview_http import PreviewServer

from .test_preview import watching

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 800}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="no chromium binary: install Debian's package (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Problems:
    """Console errors, uncaught exceptions and failed requests seen by one page."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.seen.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.seen.append(f"exception: {e}"))
        page.on("requestfailed", lambda r: self.seen.append(f"failed: {r.url}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.seen.append(f"HTTP {r.status}: {r.url}"),
        )


@pytest.fixture
def archive_url(newsletter: Path, tmp_path: Path) -> Iterator[str]:
    """The example archive served under a sub-path (/weekly/), as on a shared host."""
    webroot = tmp_path / "webroot"
    build_archive(newsletter, webroot / "weekly")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(webroot))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/weekly/"
    httpd.shutdown()
    httpd.server_close()


def horizontal_overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("path", ["", "324/", "323/"])
def test_archive_page_fits_a_phone_without_errors(
    browser: Browser, archive_url: str, path: str
) -> None:
    page = browser.new_page(viewport=PHONE)
    problems = Problems(page)
    page.goto(archive_url + path, wait_until="load")
    assert page.locator("h1").first.inner_text().strip()
    assert horizontal_overflow(page) <= 0
    assert problems.seen == []
    page.close()


def test_archive_links_lead_between_pages(browser: Browser, archive_url: str) -> None:
    page = browser.new_page(viewport=PHONE)
    problems = Problems(page)
    page.goto(archive_url, wait_until="load")
    page.get_by_role("link", name="소넷 4.5, 소라 2와 인공지능의 미래").click()
    page.wait_for_url(archive_url + "324/")
    assert page.locator("img").evaluate("img => img.naturalWidth") > 0
    page.locator("a[rel=prev]").click()
    page.wait_for_url(archive_url + "323/")
    assert problems.seen == []
    page.close()


@pytest.fixture
def preview(newsletter: Path) -> Iterator[PreviewServer]:
    previewer = Previewer(newsletter, 324)
    previewer.refresh()
    with PreviewServer(previewer, 0) as server:
        yield server


def test_preview_shows_both_widths_and_dark_mode(browser: Browser, preview: PreviewServer) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems = Problems(page)
    page.goto(preview.url, wait_until="load")
    for frame_id, width in (("desktop", 600), ("phone", 375)):
        frame = page.frame_locator(f"#{frame_id}")
        assert "소넷 4.5" in frame.locator("body").inner_text().replace("\xa0", " ")
        inner = frame.locator("html").evaluate("html => html.clientWidth")
        assert inner == width, frame_id
    assert "AI 주간 동향 #324" in page.locator("#subject").inner_text()
    page.locator("#dark").check()
    page.wait_for_function(
        "document.querySelector('#phone').contentWindow.location.search === '?scheme=dark'"
    )
    page.frame_locator("#phone").locator("body").wait_for()
    assert problems.seen == []
    page.close()


def test_preview_follows_an_edited_section(
    browser: Browser, preview: PreviewServer, newsletter: Path
) -> None:
    """How fast it follows is measured in bench/; here, that it does, with no reload."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(preview.url, wait_until="load")
    section = newsletter / "issues/324/20-sora.md"
    watching(preview.previewer, section)
    marker = "방금 고친 문단입니다."
    section.write_text(section.read_text(encoding="utf-8") + f"\n{marker}\n", "utf-8")
    page.frame_locator("#phone").get_by_text(marker).wait_for(timeout=10_000)
    page.locator("#text").get_by_text(marker).wait_for(timeout=10_000)
    page.close()


LONG_HANGUL = "인공지능모델의안전성평가와규제준비를위한국제공동연구협의체" * 3
LONG_URL = "https://news.example.com/weekly/archive/2025/10/02/" + "very-long-path-segment_" * 3
WIDE_TABLE = (
    "| 모델 | 출시일 | 컨텍스트 | 입력 가격 | 출력 가격 | 벤치마크 점수 | 비고 |\n"
    "|---|---|---|---|---|---|---|\n"
    "| 클로드 소넷 4.5 | 2025-09-29 | 200,000 토큰 | 100만 토큰당 3달러 "
    "| 100만 토큰당 15달러 | SWE-bench 77.2% | 코딩과 에이전트 작업에 강함 |\n"
    "| GPT 5.2 | 2025-12-11 | 400,000 토큰 | 100만 토큰당 1.75달러 "
    "| 100만 토큰당 14달러 | 80.0% | 추론 모드 |\n"
)
PHONE_SECTION = (
    f"# 휴대폰에서 넘치는 것들\n\n{LONG_HANGUL[:60]}\n\n"
    f"<{LONG_URL + 'x' * (120 - len(LONG_URL))}>\n\n" + WIDE_TABLE
)


@pytest.fixture
def phone_email(newsletter: Path) -> Path:
    """Issue 324 composed with a section of the things that overflowed a phone."""
    from weekly.render.compose import compose_to_build

    assert len(LONG_HANGUL[:60]) == 60 and len(LONG_URL + "x" * (120 - len(LONG_URL))) == 120
    (newsletter / "issues/324/35-phone.md").write_text(PHONE_SECTION, encoding="utf-8")
    return compose_to_build(newsletter, 324).folder / "email.html"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 375])
def test_email_fits_a_phone_in_both_schemes(
    browser: Browser, phone_email: Path, width: int, scheme: str
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page.goto(phone_email.as_uri(), wait_until="load")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    assert LONG_HANGUL[:20] in page.locator("body").inner_text().replace("\n", "")
    sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes == [width, width], f"{scheme} at {width} px: scrollWidth {sizes[0]}"
    page.close()


CONTRAST = """selector => {
  const rgb = value => value.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = c => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const element = document.querySelector(selector);
  let back = element;
  while (back && rgb(getComputedStyle(back).backgroundColor).length === 4
         && rgb(getComputedStyle(back).backgroundColor)[3] === 0) back = back.parentElement;
  const fore = luminance(rgb(getComputedStyle(element).color));
  const ground = luminance(rgb(getComputedStyle(back || document.body).backgroundColor));
  return (Math.max(fore, ground) + 0.05) / (Math.min(fore, ground) + 0.05);
}"""
READ_TEXTS = {
    "body text": ".section p",
    "lead": ".lead p",
    "section heading": ".section h2",
    "title": ".masthead .title",
    "link": ".section a",
    "newsletter name": ".masthead .brand",
    "dateline": ".masthead .dateline",
    "footer": ".footer p",
    "view in browser": ".toplink a",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_email_text_meets_wcag_aa_contrast_in_both_schemes(
    browser: Browser, newsletter: Path, scheme: str
) -> None:
    from weekly.render.compose import compose_to_build

    email = compose_to_build(newsletter, 324).folder / "email.html"
    page = browser.new_page(viewport=PHONE, color_scheme=scheme)
    page.goto(email.as_uri(), wait_until="load")
    ratios = {name: page.evaluate(CONTRAST, selector) for name, selector in READ_TEXTS.items()}
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
    colours = {
        name: page.eval_on_selector(READ_TEXTS[name], "e => getComputedStyle(e).color")
        for name in ("newsletter name", "dateline", "title", "body text")
    }
    assert len(set(colours.values())) == 4, f"the masthead lost its hierarchy: {colours}"
    page.close()
