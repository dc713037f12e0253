"""The private stats page on `weekly serve`'s app (real uvicorn, in a thread here): off without
a password (404), 401 without the right one, the figures and an inline chart with it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import pytest

from weekly.stats.chart import NARROW

from .serving import serve_in_thread
from .statsdata import LINK_2, known_newsletter

PASSWORD = "봄 여름:가을 겨울"  # not ASCII: the page compares UTF-8 bytes; a colon of its own


@pytest.fixture
def known(newsletter: Path, store: str) -> Path:
    known_newsletter(newsletter)
    return newsletter


def test_without_a_password_the_page_is_off(known: Path, monkeypatch) -> None:
    monkeypatch.delenv("WEEKLY_STATS_PASSWORD", raising=False)
    with serve_in_thread(known) as (url, _):
        answer = httpx.get(f"{url}/stats/", auth=("editor", PASSWORD))
        assert answer.status_code == 404
        assert "통계 페이지가 꺼져 있습니다" in answer.text
        assert httpx.get(f"{url}/stats/324").status_code == 404


def test_the_right_password_shows_the_figures(known: Path, monkeypatch) -> None:
    with (known / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[serve]\nstats_password_env = "NEWS_STATS"\n')
    monkeypatch.setenv("NEWS_STATS", PASSWORD)
    with serve_in_thread(known) as (url, _):
        bare = httpx.get(f"{url}/stats/")
        assert bare.status_code == 401
        assert bare.headers["www-authenticate"] == 'Basic realm="weekly stats", charset="UTF-8"'
        # any user name, the scheme in any case, blanks around the credentials
        given = base64.b64encode(f":{PASSWORD}".encode()).decode()
        for header in (f"basic {given}", f"BASIC  {given}"):
            assert httpx.get(f"{url}/stats/", headers={"Authorization": header}).status_code == 200
        assert httpx.get(f"{url}/stats/", auth=("editor", "wrong")).status_code == 401
        assert httpx.get(f"{url}/stats/324", auth=("editor", PASSWORD[:-1])).status_code == 401
        junk = f"Basic {given[:4]}!{given[4:]}"  # the right password with a stray character
        for header in ("Bearer token", "Basic not-base64!", "Basic", junk):
            assert httpx.get(f"{url}/stats/", headers={"Authorization": header}).status_code == 401
        # the charts take seconds on a busy machine: more than httpx's 5 s default there
        with httpx.Client(base_url=url, auth=("editor", PASSWORD), timeout=30) as client:
            overview = client.get("/stats/")
            one = client.get("/stats/324")
            untracked = client.get("/stats/323")
            missing = client.get("/stats/999")
    assert overview.status_code == 200, overview.text
    rows = re.findall(r"<tr><td><a href=\"(\d+)\">.*?</tr>", overview.text)
    assert rows == ["323", "324"]
    assert "28.6 %" in overview.text and "<svg" in overview.text
    assert "<?xml" not in overview.text and "<!DOCTYPE svg" not in overview.text
    # drawn for a phone's screen, and with no creation date: the same numbers, the same page
    for page in (overview, one):
        assert re.search(rf'<svg [^>]*width="{NARROW * 72:g}pt"', page.text), page.text[:2000]
        assert "<dc:date>" not in page.text
    assert one.status_code == 200
    text = re.sub(r"<[^>]+>", " ", one.text.split("<figure>")[0])
    assert "독자 3명 (열람 4회)" in text  # readers who opened, with machines apart below
    assert re.search(r"기계 열람 \(메일 개인정보 보호 프록시\)\s+2\s", text)
    assert "독자 2명 (클릭 5회)" in text and "28.6 %" in text
    assert LINK_2 in one.text and one.text.count("<svg") == 1
    assert untracked.status_code == 200 and untracked.text.count("추적 안 함") == 2
    assert "<svg" not in untracked.text and "<figure>" not in untracked.text
    assert missing.status_code == 404 and "issue 999 has not been sent" in missing.text


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_with_nothing_sent_the_page_says_so(newsletter: Path, store: str, monkeypatch) -> None:
    monkeypatch.setenv("WEEKLY_STATS_PASSWORD", PASSWORD)
    with (
        serve_in_thread(newsletter) as (url, _),
        httpx.Client(base_url=url, auth=("editor", PASSWORD)) as client,
    ):
        every, one = client.get("/stats/"), client.get("/stats/324")
    where = newsletter.resolve()
    assert every.status_code == one.status_code == 404
    assert f"<p>nothing has been sent from {where} yet</p>" in every.text
    assert f"<p>issue 324 has not been sent from {where}</p>" in one.text
