"""`weekly preview` without a browser: the snapshot, the server's routes, recomposing on save."""

from __future__ import annotations

import _thread
import html
import http.client
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType

import pytest

from weekly.errors import WeeklyError
from weekly.web import preview_http
from weekly.web.preview import Previewer, dark_variant, run_preview
from weekly.web.preview_http import SCRIPT, PreviewServer

from .smtp import free_port


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


# The preview's two file watchers (issues and templates; weekly.toml), by thread name.
WATCHERS = {"preview-watch", "preview-watch-settings"}


def watching(previewer: Previewer, saved: Path) -> None:
    """Return once the watcher that covers `saved` reports a save of it: a watcher still
    starting would miss the edit a test makes next. Each try waits on the snapshot's change;
    a watcher that has stopped fails after the first try, one that never reports within 5 s then."""
    content = saved.read_bytes()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        version = previewer.snapshot.version
        saved.write_bytes(content)
        if previewer.wait_for_change(version, timeout=0.5).version != version:
            return
        running = {thread.name for thread in threading.enumerate()}
        assert running >= WATCHERS, f"a preview watcher stopped: {sorted(WATCHERS - running)}"
    raise AssertionError(f"the watcher never saw {saved} saved")


@pytest.fixture
def server(newsletter: Path) -> Iterator[PreviewServer]:
    previewer = Previewer(newsletter, 324)
    previewer.refresh()
    with PreviewServer(previewer, 0) as running:
        yield running
    # Stopping waits at most 5 s for each thread; a watcher that ignores the stop fails here,
    # in the first test that stops a preview, rather than making every later test wait its
    # 5 s and the whole run hang (a mutant of the watcher did, to mutmut's 36 s limit).
    assert not WATCHERS & {thread.name for thread in threading.enumerate()}


def test_snapshot_has_the_email_ready_to_show(newsletter: Path) -> None:
    snapshot = Previewer(newsletter, None).refresh()
    assert snapshot.error is None and snapshot.number == 324
    assert snapshot.subject == "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래"
    assert snapshot.preheader.startswith("코딩 에이전트부터")
    assert "%%" not in snapshot.email_html and "%%" not in snapshot.text
    assert 'src="/site/324/sora-timeline.png"' in snapshot.email_html, "images from the preview"
    assert "https://news.example.com/weekly/" not in snapshot.email_html  # all of it local
    # a sample reader's copy: their address and an unsubscribe link that names no one
    assert "reader@example.com 주소로" in snapshot.text
    assert "https://news.example.com/weekly/unsubscribe/preview\n" in snapshot.text
    assert snapshot.subject in snapshot.page and "소라 2" in snapshot.text
    assert '<html lang="ko">' in snapshot.page and snapshot.warnings == ()
    assert (newsletter / ".weekly/preview/site/324/index.html").is_file()
    assert Previewer(newsletter, 323).refresh().subject.startswith("AI 주간 동향 #323 ")


def test_render_error_is_shown_and_the_last_email_kept(newsletter: Path) -> None:
    previewer = Previewer(newsletter, 324)
    good = previewer.refresh()
    (newsletter / "issues/324/20-sora.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    bad = previewer.refresh()
    assert bad.version == good.version + 1
    assert bad.error is not None
    composing, archiving = bad.error.split("\n\n")  # both steps failed on it: each says so
    assert composing == archiving
    assert re.fullmatch(r".*/issues/324/20-sora.md:\d+: invalid YAML front matter: .*", composing)
    assert bad.email_html == good.email_html
    assert 'role="alert"' in bad.page and "20-sora.md" in bad.page


def test_broken_other_issue_does_not_hide_this_email(newsletter: Path) -> None:
    previewer = Previewer(newsletter, 324)
    previewer.refresh()
    (newsletter / "issues/323/issue.md").write_text("---\ntitle: 제목만\n---\n", "utf-8")
    section = newsletter / "issues/324/10-sonnet.md"
    section.write_text(section.read_text(encoding="utf-8") + "\n새 문단.\n", "utf-8")
    snapshot = previewer.refresh()
    assert "새 문단." in snapshot.text, "the email is recomposed"
    assert snapshot.error is not None and "issues/323/issue.md" in snapshot.error


def test_a_broken_page_template_leaves_a_bare_page_that_still_reloads(newsletter: Path) -> None:
    own = newsletter / "templates" / "preview" / "page.html"
    own.parent.mkdir(parents=True)
    own.write_text("{% if %}<b>", encoding="utf-8")
    previewer = Previewer(newsletter, 324)
    snapshot = previewer.refresh()
    assert snapshot.error is None and "소라 2" in snapshot.text  # the email is fine
    assert snapshot.page == (
        '<!doctype html><meta charset="utf-8"><meta name="weekly-version" content="1">'
        f'<title>weekly preview</title><pre role="alert">{own}:1: Expected an expression, '
        'got &#x27;end of statement block&#x27;</pre><script src="/preview.js"></script>'
    )
    (newsletter / "issues/324/20-sora.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    broken = previewer.refresh()
    alert = re.search(r'<pre role="alert">(.*)</pre>', broken.page, re.S)
    assert alert is not None and broken.error is not None  # the page's problem, then the issue's
    assert alert[1] == html.escape(
        f"{own}:1: Expected an expression, got 'end of statement block'\n\n{broken.error}"
    )


def test_a_draft_an_overlong_subject_and_a_query_in_the_unsubscribe_link_are_previewed(
    newsletter: Path,
) -> None:
    issue = newsletter / "issues/324/issue.md"
    issue.write_text(issue.read_text("utf-8").replace("---\n", "---\ndraft: true\n", 1), "utf-8")
    toml = newsletter / "weekly.toml"
    text = toml.read_text("utf-8").replace("/{token}", "/{token}?from=mail&list=ai")
    toml.write_text(text + "\n[compose]\nsubject_max_chars = 20\n", "utf-8")
    snapshot = Previewer(newsletter, 324).refresh()
    assert snapshot.error is None
    assert (newsletter / ".weekly/preview/site/324/index.html").is_file()  # drafts included
    assert snapshot.warnings == (
        f"subject is {len(snapshot.subject)} characters, over 20 [subject]",
    )
    # the sample reader's link, as the HTML part and the text part each write it
    assert "unsubscribe/preview?from=mail&amp;list=ai" in snapshot.email_html
    assert "unsubscribe/preview?from=mail&list=ai" not in snapshot.email_html
    assert "/unsubscribe/preview?from=mail&list=ai\n" in snapshot.text


def test_the_sample_reader_has_no_name(newsletter: Path) -> None:
    own = newsletter / "templates" / "email.txt"
    own.write_text("[{{ subscriber.name }}] {{ subscriber.unsubscribe_url }}\n", "utf-8")
    text = Previewer(newsletter, 324).refresh().text
    assert text == "[] https://news.example.com/weekly/unsubscribe/preview\n"


def test_server_routes(server: PreviewServer) -> None:
    status, page = get(server.url)
    assert status == 200 and 'id="desktop"' in page and 'id="phone"' in page
    assert '<a href="/site/">' in page and '<a href="/site/324/">' in page  # the issue asked for
    light = get(server.url + "email.html")[1]
    dark = get(server.url + "email.html?scheme=dark")[1]
    assert "prefers-color-scheme" in light and "prefers-color-scheme" not in dark
    assert get(server.url + "site/324/")[0] == 200
    assert get(server.url + "site/324/sora-timeline.png")[0] == 200
    assert get(server.url + "preview.js")[0] == 200
    assert get(server.url + "site/../weekly.toml")[0] == 404
    assert get(server.url + "nothing-here")[0] == 404


def test_saving_a_section_recomposes_and_tells_the_page(
    server: PreviewServer, newsletter: Path
) -> None:
    version = server.previewer.snapshot.version
    section = newsletter / "issues/324/10-sonnet.md"
    watching(server.previewer, section)
    version = server.previewer.snapshot.version
    section.write_text(section.read_text(encoding="utf-8") + "\n새로 쓴 문단.\n", "utf-8")
    request = urllib.request.urlopen(f"{server.url}events?since={version}", timeout=5)
    with request as events:
        line = events.readline().decode()
        while not line.startswith("data:"):
            line = events.readline().decode()
    assert int(line.removeprefix("data:")) > version
    assert "새로 쓴 문단." in server.previewer.snapshot.text


def test_settings_replaced_on_save_are_seen_every_time(
    server: PreviewServer, newsletter: Path
) -> None:
    """Editors save by writing a new file over the old one; each save must still be seen."""
    settings = newsletter / "weekly.toml"
    watching(server.previewer, settings)
    for name in ("첫 이름", "둘째 이름"):
        version = server.previewer.snapshot.version
        text = re.sub(r'^name = ".*"$', f'name = "{name}"', settings.read_text("utf-8"), flags=re.M)
        (newsletter / ".weekly.toml.new").write_text(text, encoding="utf-8")
        (newsletter / ".weekly.toml.new").replace(settings)
        snapshot = server.previewer.wait_for_change(version, timeout=3)
        assert snapshot.version > version, f"save of {name!r} not seen"
        assert name in snapshot.email_html


def test_a_page_from_before_a_restart_reloads_at_once(server: PreviewServer) -> None:
    stale = server.previewer.snapshot.version + 41
    with urllib.request.urlopen(f"{server.url}events?since={stale}", timeout=5) as events:
        line = events.readline().decode()
    assert line == f"data: {server.previewer.snapshot.version}\n"


def test_busy_port_is_a_clear_error(newsletter: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WeeklyError, match=f"127.0.0.1:{port}: the port is in use"):
            PreviewServer(Previewer(newsletter, 324), port)


def answer(server: PreviewServer, path: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one GET, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", server.httpd.server_address[1], 5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_each_route_says_its_type_and_length_and_is_never_cached(server: PreviewServer) -> None:
    snapshot = server.previewer.snapshot
    shown = {
        "/": ("text/html", snapshot.page),
        "/email.html": ("text/html", snapshot.email_html),
        "/email.html?scheme=light": ("text/html", snapshot.email_html),
        "/email.html?scheme=dark": ("text/html", dark_variant(snapshot.email_html)),
        "/preview.js": ("text/javascript", SCRIPT.read_text(encoding="utf-8")),
    }
    for path, (kind, text) in shown.items():
        status, headers, body = answer(server, path)
        assert status == 200, path
        assert headers["Content-Type"] == f"{kind}; charset=utf-8", path
        assert headers["Content-Length"] == str(len(body)) and body.decode("utf-8") == text, path
        assert headers["Cache-Control"] == "no-store", path
    status, headers, _ = answer(server, "/site")
    assert (status, headers["Location"], headers["Cache-Control"]) == (301, "/site/", "no-store")
    status, headers, body = answer(server, "/site/324/index.html")
    archive = server.previewer.site_dir / "324" / "index.html"
    assert status == 200 and body == archive.read_bytes() and headers["Cache-Control"] == "no-store"
    status, headers, _ = answer(server, "/site/324/nothing-here.png")
    assert status == 404 and headers["Cache-Control"] == "no-store"


def test_dark_mode_turns_dark_queries_on_and_light_ones_off() -> None:
    css = (
        "@media (prefers-color-scheme: dark){a{}}"
        "@media (PREFERS-COLOR-SCHEME:LIGHT){b{}}"
        "@media (prefers-color-scheme  :  Dark){c{}}"
    )
    assert dark_variant(css) == (
        "@media (min-width: 0px){a{}}@media (max-width: 0px){b{}}@media (min-width: 0px){c{}}"
    )


def test_a_page_that_gives_no_version_hears_the_current_one_at_once(server: PreviewServer) -> None:
    for query in ("", "?since=", "?since=0"):
        with urllib.request.urlopen(f"{server.url}events{query}", timeout=5) as events:
            assert events.headers["Content-Type"] == "text/event-stream"
            line = events.readline().decode()
        assert line == f"data: {server.previewer.snapshot.version}\n", query


def test_weekly_preview_announces_its_address_opens_the_browser_and_stops_on_ctrl_c(
    newsletter: Path, tmp_path: Path
) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n"
    )
    # registered, not named in BROWSER: webbrowser reads that once a process
    webbrowser.register(
        "weekly-test",
        None,
        webbrowser.GenericBrowser([sys.executable, str(browser), "%s"]),
        preferred=True,
    )
    said: list[str] = []
    main = threading.main_thread().ident
    port = free_port()

    def serving() -> None:
        """Fetch the page once the preview waits for Ctrl-C, then press it."""
        # inside PreviewServer.wait's try: joining the server thread (a mutated copy of
        # wait itself may run under another code object)
        while threading.Thread.join.__code__ not in _codes(sys._current_frames()[main]):
            threading.Event().wait(0.01)
        status, page = get(said[0].split()[2])
        assert status == 200 and "100억 달러 동맹" in page  # the issue asked for
        _thread.interrupt_main()

    def announce(line: str) -> None:
        said.append(line)
        threading.Thread(target=serving, daemon=True).start()

    # Ctrl-C as a terminal gives it, whatever handler the running test tool put in place
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_preview(newsletter, 323, port, True, announce)
    except KeyboardInterrupt:  # would end the whole pytest session
        pytest.fail("Ctrl-C came out of weekly preview instead of stopping it")
    finally:
        signal.signal(signal.SIGINT, before)
    (line,) = said
    assert line == f"Previewing at http://127.0.0.1:{port}/ (Ctrl-C stops)"
    assert opened.read_text() == line.split()[2]  # the browser command has run


def _codes(frame: FrameType | None) -> Iterator[CodeType]:
    """The code of each function on a thread's stack, innermost first."""
    while frame is not None:
        yield frame.f_code
        frame = frame.f_back


def test_an_open_page_hears_each_new_version_and_a_heartbeat_between(
    server: PreviewServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_http, "HEARTBEAT_SECONDS", 0.05)
    current = server.previewer.snapshot.version
    with urllib.request.urlopen(f"{server.url}events?since={current}", timeout=5) as events:
        assert events.readline() == b": still here\n"  # nothing new yet: only a heartbeat
        server.previewer.refresh()
        line = events.readline()
        while line in (b"\n", b": still here\n"):
            line = events.readline()
    assert line == f"data: {current + 1}\n".encode()  # the new version, not the one it had


def test_a_page_hears_nothing_until_the_email_changes(server: PreviewServer) -> None:
    current = server.previewer.snapshot.version
    with urllib.request.urlopen(f"{server.url}events?since={current}", timeout=5) as events:
        server.previewer.refresh()
        assert events.readline() == f"data: {current + 1}\n".encode()  # no heartbeat before


def test_an_open_page_is_let_go_when_the_preview_stops(newsletter: Path) -> None:
    previewer = Previewer(newsletter, 324)
    previewer.refresh()
    with PreviewServer(previewer, 0) as server:
        since = previewer.snapshot.version
        events = urllib.request.urlopen(f"{server.url}events?since={since}", timeout=5)
    with events:
        # the stream ends with the preview (perhaps with a last heartbeat), not at a timeout
        assert events.read() in (b"", b": still here\n\n")
    # and the file watchers have stopped with it
    assert not WATCHERS & {thread.name for thread in threading.enumerate()}
