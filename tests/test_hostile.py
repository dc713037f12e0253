"""Hostile content and a hostile site folder: raw HTML that tries to run script reaches no
output (email, delivered message, archive page, feed), and the archive neither writes nor
deletes outside its folder nor publishes what a symlink points at."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
from click.testing import Result

from weekly.content.sanitize import ATTRIBUTES, CLASSES, TAGS, url_allowed
from weekly.publish.archive import build_archive
from weekly.publish.incremental import MANIFEST_NAME

from .smtp import SECRET, Recorder, configure, smtp_server, write_list

Run = Callable[..., Result]

HOSTILE = """\
# 위험한 섹션

<script>alert("script")</script>

<iframe src="https://evil.example.com/"></iframe>

문단 <img src="https://news.example.com/x.png" alt="그림" onerror="alert(1)"> 끝.

<a href="javascript:alert(1)">자바스크립트 링크</a> 와
<a href="  JaVa&#x09;script:alert(1)">숨은 링크</a>

<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="데이터">

<p style="width: expression(alert(1)); background: url(javascript:alert(1))">스타일</p>

<svg><script>alert("svg")</script><circle r="4"/></svg>

<form action="https://evil.example.com/"><input name="q"></form>

<object data="https://evil.example.com/x.swf"></object>

<div onclick="alert(1)" onmouseover="alert(2)">눌러 보세요</div>

![픽셀](data:image/png;base64,iVBORw0KGgo=)
"""
SECTION = "35-hostile.md"
FEED_NS = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def hostile(newsletter: Path) -> Path:
    (newsletter / "issues/324" / SECTION).write_text(HOSTILE, encoding="utf-8")
    return newsletter


def assert_only_allowed(root: lxml.html.HtmlElement, *, extra: set[str] = frozenset()) -> None:
    """Every element under `root` is on the allow-list, with allowed attributes and URLs;
    `extra` attributes (premailer's inlined `style`) are tolerated but checked for script."""
    for element in root.iterdescendants():
        if not isinstance(element.tag, str):
            continue  # a comment
        assert element.tag in TAGS, f"<{element.tag}> got through"
        allowed = ATTRIBUTES.get(element.tag, set()) | extra
        for name, value in element.attrib.items():
            if name == "class":
                assert set(value.split()) <= CLASSES.get(element.tag, set()) | extra
                continue
            assert name in allowed, f"{name}= on <{element.tag}> got through"
            if name in ("href", "src"):
                assert url_allowed(value), f"{value!r} got through"
            if name == "style":
                assert not {"expression", "url(", "javascript"} & set(value.lower().split())
                assert "expression" not in value and "url(" not in value


def hostile_section(document: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element holding the hostile section, found by its title."""
    (heading,) = [h for h in document.iter("h2") if h.text_content().strip() == "위험한 섹션"]
    return heading.getparent()


def assert_no_script_anywhere(document: lxml.html.HtmlElement) -> None:
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in {"script", "iframe", "form", "object", "embed", "svg", "input"}
        for name, value in element.attrib.items():
            assert not name.startswith("on"), f"{name}= on <{element.tag}>"
            if name in ("href", "src", "action", "data") and element.tag != "link":
                assert url_allowed(value), value


def test_compose_removes_everything_and_names_file_and_line(hostile: Path, run_weekly: Run) -> None:
    result = run_weekly("compose", "324")
    assert result.exit_code == 0, result.output
    meta = json.loads((hostile / "build/324/meta.json").read_text(encoding="utf-8"))
    removed = [w["message"] for w in meta["warnings"] if w["check"] == "unsafe-html"]
    where = str(hostile / "issues/324" / SECTION)
    expected = {
        "<script> element and its content": '<script>alert("script")',
        "<iframe> element and its content": "<iframe",
        "onerror= attribute on <img>": "onerror=",
        "href='javascript:alert(1)' URL on <a>": '"javascript:',
        "href='JaVa\\tscript:alert(1)' URL on <a>": "JaVa&#x09;",
        "src='data:image/svg+xml;base64,PHN2Zz48L3N2Zz' URL on <img>": "data:image/svg",
        "style= attribute on <p>": "expression(",
        "<svg> element and its content": "<svg>",
        "<form> element and its content": "<form",
        "<object> element and its content": "<object",
        "onclick= attribute on <div>": "onclick",
        "onmouseover= attribute on <div>": "onclick",
        "'data:image/png;base64,iVBORw0KGgo=' URL of a Markdown img": "![픽셀]",
    }
    lines = HOSTILE.splitlines()
    wanted = [
        f"{where}:{next(i for i, t in enumerate(lines, 1) if marker in t)}: removed {what}"
        for what, marker in expected.items()
    ]
    assert removed == wanted
    document = lxml.html.fromstring((hostile / "build/324/email.html").read_bytes())
    assert_no_script_anywhere(document)
    assert_only_allowed(hostile_section(document), extra={"style"})
    assert "눌러 보세요" in document.text_content() and 'alert("script")' not in (
        document.text_content()
    )


def test_strict_compose_fails_on_removed_html(hostile: Path, run_weekly: Run) -> None:
    result = run_weekly("compose", "324", "--strict")
    assert result.exit_code == 1
    assert f"{SECTION}:3: removed <script> element and its content" in result.output
    assert not (hostile / "build/324").exists()


def test_delivered_message_carries_no_script(
    hostile: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    assert run_weekly("compose", "324").exit_code == 0
    write_list(hostile, ["minji@example.com,김민지,subscribed,"])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(hostile, port)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    message = recorder.parsed()["minji@example.com"]
    document = lxml.html.fromstring(message.get_body(("html",)).get_content())
    assert_no_script_anywhere(document)
    assert_only_allowed(hostile_section(document), extra={"style"})


def test_archive_page_and_feed_carry_no_script(hostile: Path) -> None:
    site = hostile / "site"
    build_archive(hostile, site, today=dt.date(2026, 1, 1))
    page = lxml.html.fromstring((site / "324/index.html").read_bytes())
    assert_no_script_anywhere(page)
    assert_only_allowed(hostile_section(page))
    (policy,) = page.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert "script-src 'none'" in policy and "object-src 'none'" in policy
    feed = lxml.etree.fromstring((site / "feed.xml").read_bytes())
    (content,) = [
        c.text
        for c in feed.iterfind("atom:entry/atom:content", FEED_NS)
        if "위험한 섹션" in (c.text or "")
    ]
    entry = lxml.html.fragment_fromstring(content, create_parent="div")
    assert_no_script_anywhere(entry)
    assert_only_allowed(hostile_section(entry))


def snapshot(folder: Path, skip: Path) -> dict[str, bytes]:
    """Every file under `folder` but outside `skip`, with its bytes."""
    return {
        str(p): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and not p.is_relative_to(skip)
    }


def test_manifest_entries_leading_outside_the_site_are_ignored(
    newsletter: Path, run_weekly: Run
) -> None:
    site = newsletter / "site"
    assert run_weekly("archive").exit_code == 0
    outside = newsletter / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    manifest_path = site / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    stat = {"sha": "0" * 64, "size": 7, "mtime_ns": outside.stat().st_mtime_ns}
    for name in ("../outside.txt", str(outside), "324/../../outside.txt"):
        manifest["files"][name] = stat
        manifest["units"]["index"]["files"].append(name)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    before = snapshot(newsletter.parent, site)
    result = run_weekly("archive")
    assert result.exit_code == 0, result.output
    assert "manifest entry '../outside.txt' leads outside the site, ignored" in result.output
    assert snapshot(newsletter.parent, site) == before
    assert outside.read_text(encoding="utf-8") == "keep me"
    cleaned = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert all(".." not in name and not name.startswith("/") for name in cleaned["files"])


def test_a_symlinked_folder_inside_the_site_is_not_written_through(
    newsletter: Path, run_weekly: Run, tmp_path: Path
) -> None:
    site = newsletter / "site"
    assert run_weekly("archive").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for path in sorted((site / "324").iterdir()):
        path.unlink()
    (site / "324").rmdir()
    (site / "324").symlink_to(elsewhere, target_is_directory=True)
    result = run_weekly("archive")
    assert result.exit_code == 1
    assert "leads outside" in result.output
    assert list(elsewhere.iterdir()) == []


def test_symlinks_in_an_issue_folder_are_refused_by_name(
    newsletter: Path, run_weekly: Run, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web", encoding="utf-8")
    folder = newsletter / "issues/324"
    (folder / "leak.txt").symlink_to(secret)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "key.pem").write_text("private", encoding="utf-8")
    (folder / "more").symlink_to(secrets, target_is_directory=True)
    result = run_weekly("archive")
    assert result.exit_code == 0, result.output
    for name in ("leak.txt", "more"):
        assert f"warning: {folder / name}: not a regular file" in result.output
    site = newsletter / "site"
    published = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert "324/sora-timeline.png" in published
    assert not {"324/leak.txt", "324/more/key.pem"} & published
    contents = b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    assert b"not for the web" not in contents and b"private" not in contents
    assert not any(os.path.islink(p) for p in site.rglob("*"))


def test_a_symlinked_section_file_is_an_error_naming_it(
    newsletter: Path, run_weekly: Run, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("# 비밀\n\n공개되면 안 되는 글\n", encoding="utf-8")
    (newsletter / "issues/324/35-linked.md").symlink_to(secret)
    for command in (("compose", "324"), ("archive",)):
        result = run_weekly(*command)
        assert result.exit_code == 1
        assert "35-linked.md: a symlink: issue files must be regular files" in result.output
    assert not (newsletter / "site").exists() and not (newsletter / "build/324").exists()
