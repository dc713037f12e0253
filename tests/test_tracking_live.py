"""Tracking end to end: a real send to aiosmtpd, the delivered messages parsed, their tracked
links and pixels followed over httpx against `weekly serve`'s app (uvicorn), the hit log counted."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from weekly.audience.tokens import read_visitor_mark
from weekly.store import open_hit_log
from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE, OPEN

from .serving import serve_in_thread
from .smtp import SECRET, Recorder, configure, smtp_server, write_list

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

SITE = "https://news.example.com/weekly/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
APPLE_MPP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
READERS = [
    "kim@example.com,김민지,subscribed,yes",
    "alice@example.com,Alice Martin,subscribed,",
    "park@example.com,박지훈,subscribed,no",
    "lee@example.com,이서연,subscribed,yes",
    "dana@example.com,Dana Lee,subscribed,",
]


class Urls(HTMLParser):
    """Every href and src of an HTML part, as a parser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "img" and values.get("src"):
            self.srcs.append(str(values["src"]))


def parts(data: bytes) -> tuple[Urls, str]:
    """The parsed HTML part's URLs and the plain-text part of one delivered message."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    urls = Urls()
    urls.feed(html.get_content())
    return urls, text.get_content()


def text_urls(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def send_tracked(
    root: Path, run_weekly: Callable[..., Result], tracking: str
) -> list[tuple[str, bytes]]:
    """Compose #324 with `tracking` as [tracking], send it to READERS; the messages kept."""
    with (root / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[tracking]\n{tracking}\n")
    write_list(root, READERS, header="email,name,status,tracking")
    assert run_weekly("compose", "324").exit_code == 0
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(root, port)
        result = run_weekly("send", "324", "--yes")
        assert result.exit_code == 0, result.output
    assert recorder.wait(len(READERS), timeout=0)
    return recorder.messages


def links_table(root: Path) -> dict[int, str]:
    rows = json.loads((root / "build/324/links.json").read_text(encoding="utf-8"))
    return {row["number"]: row["href"] for row in rows}


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)


@pytest.mark.usefixtures("secret")
def test_followed_links_and_pixels_are_counted_exactly(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    messages = send_tracked(
        newsletter, run_weekly, 'clicks = "aggregate"\nopens = "aggregate"\nscanner_seconds = 0'
    )
    table = links_table(newsletter)
    clicks: list[str] = []
    pixels: list[str] = []
    for _, data in messages:
        urls, text = parts(data)
        tracked = [h for h in urls.hrefs if h.startswith(f"{SITE}r/324/")]
        # every web link but the reader's own unsubscribe link goes through the redirect
        assert [h for h in urls.hrefs if h.startswith("http") and h not in tracked] == [
            h for h in urls.hrefs if "/unsubscribe/" in h
        ]
        assert {int(h.split("/")[-2]) for h in tracked} == set(table)
        text_tracked = [u for u in text_urls(text) if u.startswith(f"{SITE}r/324/")]
        assert {int(u.split("/")[-2]) for u in text_tracked} == set(table)
        assert set(text_tracked) <= set(tracked)  # one mark a message, in both parts
        clicks += tracked[:4] + text_tracked[:2]
        pixels += [s for s in urls.srcs if s.startswith(f"{SITE}o/324/")]
    assert len(clicks) == 30 and len(pixels) == len(messages) == 5
    pixels = pixels * 2  # each reader opens twice: 10 fetches

    with serve_in_thread(newsletter) as (base, _log), httpx.Client(base_url=base) as client:
        expected: Counter[int] = Counter()
        marks: dict[int, set[str]] = {}
        for url in clicks:
            answer = client.get(url.removeprefix(SITE[:-1]), headers={"User-Agent": BROWSER})
            number = int(url.split("/")[-2])
            assert answer.status_code == 302
            assert answer.headers["location"] == table[number]
            expected[number] += 1
            marks.setdefault(number, set()).add(url.rsplit("/", 1)[1])
        for i, url in enumerate(pixels):
            agent = APPLE_MPP if i % 10 < 3 else BROWSER
            answer = client.get(url.removeprefix(SITE[:-1]), headers={"User-Agent": agent})
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "image/gif"
            assert answer.content.startswith(b"GIF89a")
        # a security gateway's HEAD and a scanner's GET are counted apart, as bots
        first = clicks[0].removeprefix(SITE[:-1])
        assert client.head(first, headers={"User-Agent": BROWSER}).status_code == 302
        assert client.get(first, headers={"User-Agent": "Mimecast/1.0"}).status_code == 302

    hit_log = open_hit_log(newsletter)
    try:
        tallies = hit_log.tallies(324)
    finally:
        hit_log.close()
    human_clicks = {t.link: t.total for t in tallies if t.kind == CLICK and t.agent == HUMAN}
    assert human_clicks == dict(expected) and sum(human_clicks.values()) == 30
    opens = {t.agent: (t.total, t.unique) for t in tallies if t.kind == OPEN}
    assert opens == {HUMAN: (7, 5), MACHINE: (3, 3)}
    bots = [(t.link, t.total) for t in tallies if t.kind == CLICK and t.agent == BOT]
    assert bots == [(int(clicks[0].split("/")[-2]), 2)]
    unique = {t.link: t.unique for t in tallies if t.kind == CLICK and t.agent == HUMAN}
    assert unique == {n: len(seen) for n, seen in marks.items()}
    # and `weekly stats` tells the editor the same: machines and scanners apart
    issue, *links = csv.DictReader(io.StringIO(run_weekly("stats", "324", "--csv").output))
    figures = ("delivered", "opens", "opens_total", "machine_opens", "clickers", "clicks")
    assert [issue[k] for k in figures] == ["5", "5", "7", "3", "5", "30"]
    assert issue["scanner_clicks"] == "2" and issue["ctr"] == "1.0000"
    per_link = {int(row["link"]): int(row["clicks"]) for row in links}
    assert {n: c for n, c in per_link.items() if c} == dict(expected)


@pytest.mark.usefixtures("secret")
def test_a_forged_link_number_or_mark_gets_404_and_no_redirect(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    messages = send_tracked(newsletter, run_weekly, 'clicks = "aggregate"\nopens = "aggregate"')
    urls, _ = parts(messages[0][1])
    good = next(h for h in urls.hrefs if h.startswith(f"{SITE}r/324/"))
    path = good.removeprefix(SITE[:-1])
    _, _, _, number, mark = path.split("/")
    payload, _, mac = mark.partition(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    pixel = next(s for s in urls.srcs if s.startswith(f"{SITE}o/324/")).removeprefix(SITE[:-1])
    forged = [
        f"/r/324/{len(links_table(newsletter)) + 1}/{mark}",  # no such link
        f"/r/324/0/{mark}",
        f"/r/323/{number}/{mark}",  # an issue never composed here
        f"/r/324/{number}/{payload}.{flipped}",  # a forged signature
        f"/r/324/{number}/{payload}",
        f"/r/324/{number}/x.{mac}",
        "/r/324/1/https%3A%2F%2Fevil.example%2F",
        pixel.replace(mac, flipped),
    ]
    with serve_in_thread(newsletter) as (base, _log), httpx.Client(base_url=base) as client:
        assert client.get(path).status_code == 302
        for url in forged:
            answer = client.get(url)
            assert answer.status_code == 404, url
            assert "location" not in answer.headers
    hit_log = open_hit_log(newsletter)
    try:
        assert sum(t.total for t in hit_log.tallies(324)) == 1
    finally:
        hit_log.close()


@pytest.mark.usefixtures("secret")
def test_per_subscriber_marks_name_only_readers_who_agreed(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    messages = send_tracked(newsletter, run_weekly, 'clicks = "subscriber"\nopens = "aggregate"')
    for recipient, data in messages:
        urls, text = parts(data)
        agreed = recipient in ("kim@example.com", "lee@example.com")
        click = next(h for h in urls.hrefs if h.startswith(f"{SITE}r/324/"))
        pixel = next(s for s in urls.srcs if s.startswith(f"{SITE}o/324/"))
        click_visitor = read_visitor_mark(SECRET.encode(), click.rsplit("/", 1)[1])
        open_visitor = read_visitor_mark(SECRET.encode(), pixel.rsplit("/", 1)[1][: -len(".gif")])
        assert click_visitor is not None and open_visitor is not None
        assert click_visitor.key == (recipient if agreed else "")
        assert open_visitor.key == ""  # opens are counted in aggregate only
        note = "열어 보신 것을 주소별로 집계합니다"
        assert (note in text) is agreed
        assert (note in html_of(data)) is agreed


def html_of(data: bytes) -> str:
    """The HTML part of a delivered message, decoded."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",))
    assert html is not None
    return str(html.get_content())


@pytest.mark.usefixtures("secret")
def test_tracking_off_leaves_no_tracking_url_in_the_message(
    newsletter: Path, run_weekly: Callable[..., Result]
) -> None:
    messages = send_tracked(newsletter, run_weekly, 'clicks = "off"\nopens = "off"')
    table = links_table(newsletter)
    for _, data in messages:
        urls, text = parts(data)
        every = [*urls.hrefs, *urls.srcs, *text_urls(text)]
        assert not [u for u in every if u.startswith((f"{SITE}r/", f"{SITE}o/"))]
        assert set(table.values()) <= set(urls.hrefs)  # the real links, as composed
