"""The tracking routes of `weekly serve` answered exactly, without a send: marks made here for
a composed issue, followed against the app under uvicorn, and the hit log read after."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from weekly.audience.tokens import visitor_mark
from weekly.render.compose import compose_to_build
from weekly.store import open_hit_log
from weekly.store.hits import BOT, CLICK, HUMAN, OPEN, Tally
from weekly.web.tracking import PIXEL_GIF

from .serving import serve_in_thread
from .smtp import SECRET

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
NO_TRACE = {
    "cache-control": "no-store, private",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex",
}


def tracked(root: Path, settings: str) -> Path:
    with (root / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[tracking]\n{settings}\n")
    compose_to_build(root, 324)
    return root


def mark(key: str | None, age: int = 3600) -> str:
    return visitor_mark(SECRET.encode(), key, int(time.time()) - age)


def tallies(root: Path) -> set[tuple[str, int, str, int, int]]:
    log = open_hit_log(root)
    try:
        found: list[Tally] = log.tallies(324)
    finally:
        log.close()
    return {(t.kind, t.link, t.agent, t.total, t.unique) for t in found}


def no_trace(answer: httpx.Response) -> bool:
    return all(answer.headers.get(name) == value for name, value in NO_TRACE.items())


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_clicks_per_reader_who_agreed_and_opens_in_aggregate(newsletter: Path, store: str) -> None:
    root = tracked(newsletter, 'clicks = "subscriber"\nopens = "aggregate"')
    kim = [mark("kim@example.com"), mark("kim@example.com", 7200)]  # two messages to Kim
    with serve_in_thread(root) as (url, _), httpx.Client(base_url=url) as client:
        client.headers["User-Agent"] = BROWSER
        for one in (*kim, mark(None)):
            answer = client.get(f"/r/324/1/{one}")
            assert answer.status_code == 302 and no_trace(answer)
            assert answer.headers["location"] == "https://news.example.com/weekly/324/"
            assert answer.content == b""
        for one in kim:
            pixel = client.get(f"/o/324/{one}.gif")
            assert pixel.status_code == 200 and no_trace(pixel)
            assert pixel.headers["content-type"] == "image/gif" and pixel.content == PIXEL_GIF
        assert client.head(f"/r/324/2/{kim[0]}").status_code == 302  # a gateway's check
        assert client.get(f"/r/324/2/{mark(None, 0)}").status_code == 302  # at once: a scanner
        proxy = {"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"}
        assert client.get(f"/r/324/2/{mark(None)}", headers=proxy).status_code == 302  # no reader
        del client.headers["User-Agent"]
        assert client.get(f"/r/324/2/{mark(None)}").status_code == 302  # no agent: not a browser
        client.headers["User-Agent"] = BROWSER
        for bad in (f"/r/324/999/{kim[0]}", f"/r/324/1/{kim[0]}x", f"/o/324/{kim[0]}x.gif"):
            refused = client.get(bad)
            assert refused.status_code == 404 and no_trace(refused)
            assert refused.text == "not found\n"
            assert refused.headers["content-type"] == "text/plain; charset=utf-8"
    assert tallies(root) == {
        (CLICK, 1, HUMAN, 3, 2),  # Kim's two marks are one reader; the anonymous one another
        (OPEN, 0, HUMAN, 2, 2),  # opens in aggregate: each mark its own visitor
        (CLICK, 2, BOT, 4, 4),
    }


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_kind_turned_off_is_answered_but_not_counted(newsletter: Path, store: str) -> None:
    root = tracked(newsletter, 'clicks = "aggregate"\nopens = "off"')
    with serve_in_thread(root) as (url, _), httpx.Client(base_url=url) as client:
        client.headers["User-Agent"] = BROWSER
        assert client.get(f"/o/324/{mark('kim@example.com')}.gif").content == PIXEL_GIF
        for age in (3600, 7200):  # two messages to Kim
            assert client.get(f"/r/324/1/{mark('kim@example.com', age)}").status_code == 302
    assert tallies(root) == {(CLICK, 1, HUMAN, 2, 2)}  # aggregate: each mark its own visitor
