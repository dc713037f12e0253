"""The parts of tracking one at a time: visitor marks, who a hit came from, the writer behind
the redirects, the grouped consent commits, the links lookup and the per-reader values."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from weekly.audience.subscriber_list import Subscriber
from weekly.audience.tokens import make_token, read_visitor_mark, visitor_mark
from weekly.config import load_config
from weekly.deliver.message import MessageFactory
from weekly.deliver.tracking import Tracker
from weekly.errors import WeeklyError
from weekly.render.compose import compose_to_build
from weekly.render.composed import Composed, load_composed
from weekly.store import open_consent_log
from weekly.store.consent import CONFIRMED, UNSUBSCRIBED, Event
from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE, OPEN, Hit
from weekly.web.grouped_consent import GroupedConsentLog
from weekly.web.hit_agents import classify
from weekly.web.hit_writer import HitWriter
from weekly.web.tracking import LinkTargets

from .test_tracking_live import html_of

SECRET = b"test-secret-0123456789abcdef"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"


def test_a_visitor_mark_carries_its_reader_or_no_one_and_its_time() -> None:
    named = read_visitor_mark(SECRET, visitor_mark(SECRET, "kim@example.com", 1_700_000_000))
    assert named is not None and (named.key, named.made) == ("kim@example.com", 1_700_000_000)
    one, two = visitor_mark(SECRET, None, 5), visitor_mark(SECRET, None, 5)
    first, second = read_visitor_mark(SECRET, one), read_visitor_mark(SECRET, two)
    assert first is not None and second is not None
    assert first.key == second.key == "" and first.opaque != second.opaque != ""


@pytest.mark.parametrize(
    "mark",
    [
        "",
        "abc",
        ".",
        "!!!!.AAAAAAAAAAAA",
        "YQ.AAAAAAAAAAAA",  # too short to hold a time
        make_token(SECRET, "list.example", "kim@example.com"),  # an unsubscribe token
    ],
)
def test_a_malformed_or_foreign_mark_is_refused(mark: str) -> None:
    assert read_visitor_mark(SECRET, mark) is None


def test_a_mark_signed_with_another_secret_is_refused() -> None:
    assert read_visitor_mark(SECRET, visitor_mark(b"another-secret-0123456789", None, 1)) is None


@pytest.mark.parametrize(
    ("kind", "method", "agent", "age", "verdict"),
    [
        (CLICK, "GET", FIREFOX, 3600, HUMAN),
        (CLICK, "GET", SAFARI, 3600, HUMAN),
        (OPEN, "GET", SAFARI, 3600, HUMAN),
        (OPEN, "GET", APPLE_MAIL, 3600, MACHINE),  # Mail Privacy Protection's prefetch
        (OPEN, "GET", APPLE_MAIL, 1, MACHINE),
        (OPEN, "GET", GMAIL, 3600, MACHINE),
        (CLICK, "GET", GMAIL, 3600, BOT),  # an image proxy does not click
        (CLICK, "HEAD", FIREFOX, 3600, BOT),
        (CLICK, "GET", "", 3600, BOT),
        (CLICK, "GET", "Mimecast URL Protect/1.0", 3600, BOT),
        (CLICK, "GET", "Mozilla/5.0 (compatible; bingbot/2.0)", 3600, BOT),
        (CLICK, "GET", "python-requests/2.32", 3600, BOT),
        (CLICK, "GET", FIREFOX, 2, BOT),  # seconds after sending: a gateway's check
        (OPEN, "GET", FIREFOX, 2, BOT),
    ],
)
def test_who_made_a_hit(kind: str, method: str, agent: str, age: float, verdict: str) -> None:
    assert classify(kind, method, agent, age, 10.0) == verdict


def hit(link: int) -> Hit:
    return Hit(324, CLICK, link, HUMAN, "", "2026-12-01T00:00:00+00:00")


class SlowLog:
    """A hit log that fails `failures` times, then holds each batch until `go` is set."""

    def __init__(self, failures: int = 0, hold: bool = False) -> None:
        self.batches: list[list[Hit]] = []
        self.failures = failures
        self.entered = threading.Event()
        self.failed = threading.Event()
        self.go = threading.Event()
        if not hold:
            self.go.set()
        self.closed = False
        self.calls = 0

    def record(self, hits: Sequence[Hit]) -> None:
        self.calls += 1
        self.entered.set()
        if self.failures:
            self.failures -= 1
            self.failed.set()
            raise OSError("the store is down")
        self.go.wait()
        self.batches.append(list(hits))

    def tallies(self, issue: int | None = None) -> list[object]:
        return []

    def close(self) -> None:
        self.closed = True


def test_a_full_queue_drops_counts_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    store = SlowLog(hold=True)
    writer = HitWriter(store, capacity=2, clock=lambda: 0.0)  # type: ignore[arg-type]
    writer.put(hit(1))
    assert store.entered.wait(10)  # the writer holds hit 1 in a slow commit
    with caplog.at_level(logging.WARNING, logger="weekly.web.hits"):
        for link in (2, 3, 4, 5):
            writer.put(hit(link))  # never blocks: 2 and 3 wait, 4 and 5 are dropped
    assert writer.dropped == 2
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert said == [
        (logging.WARNING, "hit log queue full: 1 hit(s) dropped so far")
    ]  # once a second
    store.go.set()
    with caplog.at_level(logging.INFO, logger="weekly.web.hits"):
        writer.stop()
    assert [h.link for batch in store.batches for h in batch] == [1, 2, 3]
    assert store.closed
    last = caplog.records[-1]
    assert (last.levelno, last.getMessage()) == (
        logging.WARNING,
        "hit log: 3 hit(s) written, 2 dropped (queue full), 0 lost (store failing)",
    )


def test_a_failing_store_is_tried_again_and_once_more_at_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = SlowLog(failures=1)
    with caplog.at_level(logging.INFO, logger="weekly.web.hits"):
        writer = HitWriter(store)  # type: ignore[arg-type]
        writer.put(hit(7))
        assert store.failed.wait(10)
        writer.stop()  # wakes the retry at once
    assert [[h.link for h in batch] for batch in store.batches] == [[7]]
    assert (writer.written, writer.lost) == (1, 0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "hit log: 1 hit(s) not written yet, trying again: the store is down"),
        (logging.INFO, "hit log: 1 hit(s) written, 0 dropped (queue full), 0 lost (store failing)"),
    ]


def test_hits_queued_behind_a_slow_commit_go_in_batches_of_a_thousand() -> None:
    store = SlowLog(hold=True)
    writer = HitWriter(store)  # type: ignore[arg-type]
    writer.put(hit(1))
    assert store.entered.wait(10)  # hit 1 is being written; the next 1,500 queue up
    for link in range(2, 1502):
        writer.put(hit(link))
    store.go.set()
    writer.stop()
    assert [len(batch) for batch in store.batches] == [1, 1000, 500]


def test_a_store_still_down_at_stop_loses_the_batch_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = SlowLog(failures=2)
    writer = HitWriter(store)  # type: ignore[arg-type]
    writer.put(hit(7))
    assert store.failed.wait(10)
    with caplog.at_level(logging.WARNING, logger="weekly.web.hits"):
        writer.stop()
    assert (writer.written, writer.lost) == (0, 1)
    assert [r.getMessage() for r in caplog.records][-2:] == [
        "hit log: not written at stop: the store is down",
        "hit log: 0 hit(s) written, 0 dropped (queue full), 1 lost (store failing)",
    ]


def test_a_dead_store_at_stop_is_tried_once_not_once_a_batch() -> None:
    store = SlowLog(failures=10**6)
    writer = HitWriter(store)  # type: ignore[arg-type]
    writer.put(hit(1))
    assert store.failed.wait(10)  # hit 1 waits for its retry; 1,499 more queue behind it
    for link in range(2, 1501):
        writer.put(hit(link))
    writer.stop()
    assert (writer.written, writer.lost) == (0, 1500)
    assert store.calls <= 3  # the first try, perhaps one retry, the last try: not per batch


class BatchLog:
    """A consent log that holds its first commit until `go`, and can fail on cue."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.go = threading.Event()
        self.fail = False

    def record(self, events: Sequence[Event]) -> int:
        self.entered.set()
        self.go.wait()
        if self.fail:
            raise OSError("disk full")
        self.batches.append([e.email for e in events])
        return len(events)


def event(address: str) -> Event:
    return Event(at="2026-12-01T00:00:00+00:00", email=address, kind=UNSUBSCRIBED, source="link")


def joined(address: str, signal: threading.Event) -> Iterator[Event]:
    """One event, then a signal that it is in the batch (the caller is about to wait)."""
    yield event(address)
    signal.set()


@pytest.mark.parametrize("fails", [False, True])
def test_requests_arriving_during_a_commit_share_the_next(fails: bool) -> None:
    store = BatchLog()
    commit = GroupedConsentLog(store)  # type: ignore[arg-type]
    outcomes: dict[str, object] = {}

    def call(address: str, events: Iterator[Event] | None = None) -> None:
        try:
            outcomes[address] = commit.record(events or [event(address)])
        except OSError as exc:
            outcomes[address] = exc

    first = threading.Thread(target=call, args=("a@example.com",))
    first.start()
    assert store.entered.wait(10)  # a@ is being committed
    store.fail = fails
    queued = []
    for address in ("b@example.com", "c@example.com"):
        signal = threading.Event()
        thread = threading.Thread(target=call, args=(address, joined(address, signal)))
        thread.start()
        assert signal.wait(10)
        queued.append(thread)
    store.go.set()
    for thread in (first, *queued):
        thread.join(10)
    if fails:
        assert all(isinstance(outcome, OSError) for outcome in outcomes.values())
        assert outcomes["b@example.com"] is outcomes["c@example.com"]  # one batch, one error
    else:
        assert store.batches == [["a@example.com"], ["b@example.com", "c@example.com"]]
        assert outcomes == {"a@example.com": 1, "b@example.com": 2, "c@example.com": 2}


def test_links_of_an_issue_composed_after_serve_started_are_found(newsletter: Path) -> None:
    targets = LinkTargets(newsletter)
    assert targets.target(324, 1) is None  # not composed yet: not remembered as missing
    compose_to_build(newsletter, 324)
    assert targets.target(324, 1) == "https://news.example.com/weekly/324/"
    assert targets.target(324, 99) is None


def track(root: Path, settings: str) -> None:
    with (root / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[tracking]\n{settings}\n")


def reader(tracking: str) -> Subscriber:
    fields = {"tracking": tracking}
    return Subscriber(2, "kim@example.com", "kim@example.com", "kim@example.com", "김", "", fields)


def test_per_subscriber_tracking_needs_the_footer_note_composed(newsletter: Path) -> None:
    compose_to_build(newsletter, 324)  # composed with tracking off: no note in the footer
    track(newsletter, 'clicks = "subscriber"')
    config = load_config(newsletter)
    with pytest.raises(WeeklyError, match=r"needs the footer's note .*run `weekly compose 324`"):
        Tracker(config, load_composed(newsletter, 324), SECRET)


def test_marks_name_a_reader_only_where_they_agreed_and_that_kind_is_per_subscriber(
    newsletter: Path,
) -> None:
    track(newsletter, 'clicks = "aggregate"\nopens = "subscriber"')
    compose_to_build(newsletter, 324)
    tracker = Tracker(load_config(newsletter), load_composed(newsletter, 324), SECRET)
    agreed = tracker.values(reader(" Yes "), 100)
    click, opened = (read_visitor_mark(SECRET, agreed[k]) for k in ("click_mark", "open_mark"))
    assert click is not None and opened is not None
    assert (click.key, opened.key, click.made) == ("", "kim@example.com", 100)
    assert agreed["tracking_note"].startswith("동의하신 대로")
    refused = tracker.values(reader("no"), 100)
    assert refused["click_mark"] == refused["open_mark"] and refused["tracking_note"] == ""


def test_a_test_send_is_not_tracked(newsletter: Path) -> None:
    track(newsletter, 'clicks = "aggregate"\nopens = "aggregate"')
    compose_to_build(newsletter, 324)
    config, composed = load_config(newsletter), load_composed(newsletter, 324)
    tracked = html_of(MessageFactory(composed, config, SECRET).build(reader("")).data)
    editor = html_of(MessageFactory(composed, config, SECRET, test=True).build(reader("")).data)
    site = config.newsletter.site_url
    assert f"{site}r/324/" in tracked and f"{site}o/324/" in tracked
    assert f"{site}r/324/" not in editor and f"{site}o/324/" not in editor


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_grouped_log_answers_as_the_log_it_wraps(newsletter: Path, store: str) -> None:
    with GroupedConsentLog(open_consent_log(newsletter)) as grouped:
        assert grouped.record([event("a@example.com")]) == 1
        cursor = grouped.cursor()
        grouped.record([event("b@example.com")])
        assert grouped.changed_since(cursor) == (grouped.cursor(), {"b@example.com"})
        later = Event("2026-12-02T00:00:00+00:00", "c@example.com", CONFIRMED, "web")
        standings = grouped.standings([later])
        assert sorted(standings) == ["a@example.com", "b@example.com", "c@example.com"]
        assert not standings["c@example.com"].suppressed
        assert [e.kind for e in grouped.history("a@example.com")] == [UNSUBSCRIBED]


SITE = "https://news.example.com/weekly/"
PIXEL = (
    f'<img src="{SITE}o/324/%%open_mark%%.gif" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
)


def bare_tracker(root: Path, settings: str) -> Tracker:
    """A tracker of issue 324 whose one tracked link is https://example.org/a (no compose)."""
    track(root, settings)
    build = root / "build" / "324"
    build.mkdir(parents=True)
    (build / "links.json").write_text(
        '[{"number": 1, "href": "https://example.org/a", "text": "a"}]', encoding="utf-8"
    )
    composed = Composed(324, "s", "", "<p>%%tracking_note%%</p>", "")  # the note's place
    return Tracker(load_config(root), composed, SECRET)


@pytest.mark.parametrize(
    ("html", "tracked"),
    [
        ("<body><p>a</p></body><!-- </body> -->", "<body><p>a</p></body><!-- X</body> -->"),
        ("<p>a</p>", "<p>a</p>X"),  # no closing body: the pixel goes at the end
        ("</body>", "X</body>"),
    ],
)
def test_the_open_pixel_goes_before_the_last_closing_body_else_at_the_end(
    newsletter: Path, html: str, tracked: str
) -> None:
    tracker = bare_tracker(newsletter, 'clicks = "off"\nopens = "aggregate"')
    assert tracker.parts(html, "text https://example.org/a\n") == (
        tracked.replace("X", PIXEL),
        "text https://example.org/a\n",
    )


def test_tracked_links_point_at_the_redirect_with_the_mark_and_opens_off_add_no_pixel(
    newsletter: Path,
) -> None:
    tracker = bare_tracker(newsletter, 'clicks = "aggregate"\nopens = "off"')
    html = (
        '<body><a href="https://example.org/a">a</a> <a href="https://example.org/b">b</a></body>'
    )
    text = "a https://example.org/a b https://example.org/b\n"
    redirect = f"{SITE}r/324/1/%%click_mark%%"
    assert tracker.parts(html, text) == (
        f'<body><a href="{redirect}">a</a> <a href="https://example.org/b">b</a></body>',
        f"a {redirect} b https://example.org/b\n",
    )


def test_clicks_by_name_and_opens_in_aggregate_give_two_marks(newsletter: Path) -> None:
    tracker = bare_tracker(newsletter, 'clicks = "subscriber"\nopens = "aggregate"')
    values = tracker.values(reader("y"), 100)
    click, opened = (read_visitor_mark(SECRET, values[k]) for k in ("click_mark", "open_mark"))
    assert click is not None and opened is not None
    assert (click.key, opened.key, opened.made) == ("kim@example.com", "", 100)


def test_a_list_without_the_tracking_column_names_no_one(newsletter: Path) -> None:
    tracker = bare_tracker(newsletter, 'clicks = "subscriber"\nopens = "subscriber"')
    plain = Subscriber(2, "kim@example.com", "kim@example.com", "kim@example.com", "", "", {})
    values = tracker.values(plain, 100)
    mark = read_visitor_mark(SECRET, values["click_mark"])
    assert mark is not None and mark.key == ""
    assert values["open_mark"] == values["click_mark"] and values["tracking_note"] == ""
