"""`weekly archive`: built from the example issues into a temporary folder and parsed."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from click.testing import Result

from weekly.publish.archive import build_archive
from weekly.publish.incremental import MANIFEST_NAME

TODAY = dt.date(2026, 1, 1)
ATOM = "{http://www.w3.org/2005/Atom}"
SITE_URL = "https://news.example.com/weekly/"


def build(root: Path, **options: object):
    """Build into `root/site` as if today were TODAY."""
    return build_archive(root, root / "site", today=TODAY, **options)  # type: ignore[arg-type]


def set_archive_settings(root: Path, text: str) -> None:
    path = root / "weekly.toml"
    path.write_text(path.read_text(encoding="utf-8") + f"\n[archive]\n{text}\n", encoding="utf-8")


def edit_front_matter(path: Path, key: str, value: str) -> None:
    """Replace (or add) one front matter line of `path`."""
    text = path.read_text(encoding="utf-8")
    line = f"{key}: {value}"
    if re.search(rf"^{key}:.*$", text, flags=re.MULTILINE):
        text = re.sub(rf"^{key}:.*$", lambda _: line, text, count=1, flags=re.MULTILINE)
    else:
        text = text.replace("---\n", f"---\n{line}\n", 1)
    path.write_text(text, encoding="utf-8")


def override_template(root: Path, name: str, text: str) -> None:
    """Give the newsletter its own `templates/site/<name>`."""
    path = root / "templates/site" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class Page(HTMLParser):
    """The parts of an HTML page the tests look at: links, tags seen, text by tag."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.tags: list[str] = []
        self.html_lang = ""
        self.texts: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = values.get("lang") or ""
        for name in ("href", "src"):
            if values.get(name) is not None and not (
                tag == "link" and values.get("rel") == "canonical"
            ):
                self.links.append(values[name] or "")
        if tag not in ("meta", "link", "img", "br", "hr", "input"):
            self._open.append(tag)
            self.texts.setdefault(tag, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        for tag in set(self._open):
            self.texts[tag][-1] += data

    def text(self, tag: str) -> list[str]:
        return [" ".join(t.split()) for t in self.texts.get(tag, [])]


def page(site: Path, name: str) -> Page:
    return Page((site / name).read_text(encoding="utf-8"))


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def internal_target(site: Path, page_path: Path, link: str) -> Path | None:
    """The file a relative link from `page_path` points at, or None for an external link."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith("#"):
        return None
    assert not link.startswith("/"), (
        f"{page_path}: root-relative link {link!r} breaks under a sub-path"
    )
    here = PurePosixPath(page_path.relative_to(site).as_posix()).parent
    target = site / here / parts.path
    return target / "index.html" if parts.path.endswith("/") or not parts.path else target


def feed_entries(site: Path) -> list[ET.Element]:
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    return feed.findall(f"{ATOM}entry")


def site_files(site: Path) -> dict[str, int]:
    return {
        p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()
    }


def test_builds_every_page_the_issue_asks_for(newsletter: Path) -> None:
    summary = build(newsletter)
    site = newsletter / "site"
    for name in ("index.html", "feed.xml", "sitemap.xml", "404.html", "style.css"):
        assert (site / name).is_file(), name
    assert (site / "324/index.html").is_file()
    assert (site / "324/sora-timeline.png").read_bytes() == (
        newsletter / "issues/324/sora-timeline.png"
    ).read_bytes()
    assert summary.issues == 2
    issue = page(site, "324/index.html")
    assert issue.html_lang == "ko"
    assert issue.text("h1") == ["소넷 4.5, 소라 2와 인공지능의 미래"]
    assert "2025년 10월 2일" in issue.text("time")
    assert "제324호" in " ".join(issue.text("p"))
    assert "table" not in issue.tags[: issue.tags.index("article")], "no email table layout"
    assert any("구독하기" in text for text in issue.text("a")), "a subscribe line"
    assert "../323/" in issue.links, "previous issue"
    index = page(site, "index.html")
    listed = [link for link in index.links if re.fullmatch(r"\./\d+/", link)]
    assert listed == ["./324/", "./323/"], "newest first"
    assert "데이터센터 경쟁, 안경 속 화면, 로봇을 위한 모델까지" in index.text("p")


def test_every_internal_link_resolves_to_a_file(newsletter: Path) -> None:
    set_archive_settings(newsletter, "per_page = 1")
    build(newsletter)
    site = newsletter / "site"
    assert (site / "page/2/index.html").is_file()
    checked = 0
    for path in html_files(site):
        if path.name == "404.html":
            continue  # served at any depth, so it links from the absolute site URL
        for link in page(site, path.relative_to(site).as_posix()).links:
            target = internal_target(site, path, link)
            if target is not None:
                assert target.is_file(), f"{path.relative_to(site)}: {link} -> missing {target}"
                checked += 1
    assert checked > 20
    missing = page(site, "404.html")
    assert f"{SITE_URL}style.css" in missing.links and SITE_URL in missing.links


def test_feed_is_atom_with_the_newest_issues_in_full(newsletter: Path) -> None:
    build(newsletter)
    feed = ET.parse(newsletter / "site/feed.xml").getroot()
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == f"{SITE_URL}feed.xml"
    entries = feed_entries(newsletter / "site")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [f"{SITE_URL}324/", f"{SITE_URL}323/"]
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title") == "소넷 4.5, 소라 2와 인공지능의 미래"
    assert newest.findtext(f"{ATOM}updated") == "2025-10-02T00:00:00Z"
    content = newest.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    body = Page(content.text or "")
    assert "오픈AI, 소라 2와 소셜 영상 앱 출시" in body.text("h2")
    assert f"{SITE_URL}324/sora-timeline.png" in body.links, "feed images are absolute"

    set_archive_settings(newsletter, "feed_entries = 1")
    build(newsletter)
    assert [e.findtext(f"{ATOM}id") for e in feed_entries(newsletter / "site")] == [
        f"{SITE_URL}324/"
    ]


def test_hostile_title_is_shown_as_text(newsletter: Path) -> None:
    hostile = '<script>alert("x")</script> & <b>bold</b>'
    edit_front_matter(newsletter / "issues/324/issue.md", "title", f"'{hostile}'")
    edit_front_matter(
        newsletter / "issues/324/issue.md", "preheader", "'<img src=x onerror=alert(1)>'"
    )
    build(newsletter)
    site = newsletter / "site"
    for name in ("324/index.html", "index.html", "323/index.html"):
        parsed = page(site, name)
        assert "script" not in parsed.tags and "b" not in parsed.tags, name
        assert "x" not in parsed.links, name
    assert page(site, "324/index.html").text("h1") == [hostile]
    assert hostile in page(site, "index.html").text("a")
    assert feed_entries(site)[0].findtext(f"{ATOM}title") == hostile


def test_drafts_and_future_issues_are_left_out_unless_asked(newsletter: Path) -> None:
    edit_front_matter(newsletter / "issues/323/issue.md", "draft", "true")
    edit_front_matter(newsletter / "issues/324/issue.md", "date", "2026-01-02")
    build(newsletter)
    site = newsletter / "site"
    assert not (site / "323").exists() and not (site / "324").exists()
    assert feed_entries(site) == []
    assert "323" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    assert not [link for link in page(site, "index.html").links if re.search(r"\d+/$", link)]

    summary = build(newsletter, drafts=True)
    assert summary.issues == 2
    assert (site / "323/index.html").is_file() and (site / "324/index.html").is_file()
    assert "초안" in page(site, "323/index.html").text("span"), "a draft says so"
    assert "초안" not in page(site, "324/index.html").text("span")
    edit_front_matter(newsletter / "issues/323/issue.md", "draft", "false")
    assert "index.html" in build(newsletter, drafts=True).report.written, "badge gone"
    assert "초안" not in page(site, "index.html").text("span")


def test_second_build_writes_no_file(newsletter: Path) -> None:
    build(newsletter)
    site = newsletter / "site"
    before = site_files(site)
    assert MANIFEST_NAME in before
    summary = build(newsletter)
    assert summary.report.written == () and summary.report.removed == ()
    assert site_files(site) == before


def test_changed_section_rewrites_only_its_issue_page(newsletter: Path) -> None:
    set_archive_settings(newsletter, "feed_entries = 1")  # so #323 is not carried by the feed
    build(newsletter)
    section = newsletter / "issues/323/20-meta.md"
    section.write_text(
        section.read_text(encoding="utf-8") + "\n덧붙인 문단입니다.\n", encoding="utf-8"
    )
    assert build(newsletter).report.written == ("323/index.html",)
    assert "덧붙인 문단입니다." in page(newsletter / "site", "323/index.html").text("p")


def test_changed_section_of_a_feed_issue_also_rewrites_the_feed(newsletter: Path) -> None:
    build(newsletter)
    section = newsletter / "issues/324/20-sora.md"
    section.write_text(
        section.read_text(encoding="utf-8") + "\n덧붙인 문단입니다.\n", encoding="utf-8"
    )
    assert build(newsletter).report.written == ("324/index.html", "feed.xml")
    content = feed_entries(newsletter / "site")[0].findtext(f"{ATOM}content") or ""
    assert "덧붙인 문단입니다." in " ".join(Page(content).text("p"))


def test_feed_entry_is_updated_when_its_issue_is_edited(newsletter: Path) -> None:
    build(newsletter)
    section = newsletter / "issues/324/20-sora.md"
    section.write_text(section.read_text(encoding="utf-8") + "\n고친 문단.\n", encoding="utf-8")
    edited = dt.datetime(2026, 1, 2, 21, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    build(newsletter, now=edited)
    newest, older = feed_entries(newsletter / "site")
    assert newest.findtext(f"{ATOM}updated") == "2026-01-02T12:30:00Z"
    assert newest.findtext(f"{ATOM}published") == "2025-10-02T00:00:00Z"
    assert older.findtext(f"{ATOM}updated") == "2025-09-25T00:00:00Z", "not edited"
    feed = ET.parse(newsletter / "site/feed.xml").getroot()
    assert feed.findtext(f"{ATOM}updated") == "2026-01-02T12:30:00Z"

    override_template(
        newsletter, "content.html", '<p>MARKER</p>\n{% include "default:site/content.html" %}'
    )
    build(newsletter, now=edited + dt.timedelta(days=1))
    updated = [e.findtext(f"{ATOM}updated") for e in feed_entries(newsletter / "site")]
    assert updated == ["2026-01-02T12:30:00Z", "2025-09-25T00:00:00Z"], "a template is no edit"


def test_changed_title_rewrites_the_index_feed_and_neighbour(newsletter: Path) -> None:
    build(newsletter)
    edit_front_matter(newsletter / "issues/323/issue.md", "title", "새 제목")
    written = set(build(newsletter).report.written)
    assert written == {"323/index.html", "324/index.html", "index.html", "feed.xml"}
    assert "새 제목" in " ".join(page(newsletter / "site", "324/index.html").text("a"))


def test_deleted_issue_loses_its_pages(newsletter: Path) -> None:
    build(newsletter)
    shutil.rmtree(newsletter / "issues/324")
    report = build(newsletter).report
    site = newsletter / "site"
    assert set(report.removed) == {"324/index.html", "324/sora-timeline.png"}
    assert not (site / "324").exists()
    assert "323/index.html" in report.written, "it no longer has a next issue"


def test_template_override_and_template_change_rebuild_pages(newsletter: Path) -> None:
    build(newsletter)
    override_template(
        newsletter,
        "issue.html",
        '{% extends "default:site/issue.html" %}\n'
        "{% block title %}OVERRIDDEN {{ super() }}{% endblock %}\n",
    )
    written = set(build(newsletter).report.written)
    assert {"323/index.html", "324/index.html"} <= written
    assert page(newsletter / "site", "324/index.html").text("title")[0].startswith("OVERRIDDEN")


def test_english_newsletter_speaks_english(newsletter: Path) -> None:
    config = newsletter / "weekly.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('language = "ko"', 'language = "en"'),
        encoding="utf-8",
    )
    build(newsletter)
    issue = page(newsletter / "site", "324/index.html")
    assert issue.html_lang == "en"
    assert "October 2, 2025" in issue.text("time")
    assert "Previous issue" in " ".join(issue.text("span"))


def test_bad_issue_fails_naming_file_and_line_and_writes_nothing(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    edit_front_matter(newsletter / "issues/324/issue.md", "date", "next week")
    result = run_weekly("archive")
    assert result.exit_code == 1
    assert re.search(r"issues/324/issue\.md:\d+: date", result.output)
    assert not (newsletter / "site").exists()


def test_cli_prints_what_it_did(run_weekly: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "public"
    result = run_weekly("archive", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{out}: 2 issues, 8 files written")
    assert (out / "324/index.html").is_file()


def test_changed_content_template_reaches_the_feed(newsletter: Path) -> None:
    build(newsletter)
    override_template(
        newsletter,
        "content.html",
        '<p class="marker">MARKER</p>\n{% include "default:site/content.html" %}',
    )
    assert "feed.xml" in build(newsletter).report.written
    for entry in feed_entries(newsletter / "site"):
        assert "MARKER" in Page(entry.findtext(f"{ATOM}content") or "").text("p")


def test_archive_settings_are_checked(newsletter: Path, run_weekly: Callable[..., Result]) -> None:
    set_archive_settings(newsletter, "per_page = 0")
    result = run_weekly("archive")
    assert result.exit_code == 1
    assert re.search(r"weekly\.toml:\d+: archive\.per_page: must be at least 1", result.output)


def test_subscribe_url_setting_is_the_subscribe_link(newsletter: Path) -> None:
    set_archive_settings(newsletter, 'subscribe_url = "https://news.example.com/join"')
    build(newsletter)
    assert "https://news.example.com/join" in page(newsletter / "site", "324/index.html").links


def test_hand_edited_output_is_restored_and_foreign_files_kept(newsletter: Path) -> None:
    build(newsletter)
    site = newsletter / "site"
    (site / "CNAME").write_text("news.example.com\n", encoding="utf-8")
    (site / "324/index.html").write_text("edited by hand", encoding="utf-8")
    shutil.rmtree(newsletter / "issues/323")
    report = build(newsletter).report
    assert "324/index.html" in report.written
    assert page(site, "324/index.html").text("h1") == ["소넷 4.5, 소라 2와 인공지능의 미래"]
    assert report.removed == ("323/index.html",)
    assert (site / "CNAME").read_text(encoding="utf-8") == "news.example.com\n"
