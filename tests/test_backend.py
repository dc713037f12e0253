"""The delivery backend seam: a backend that is not SMTP, written against the protocol alone,
runs a send through the dispatcher, whose verdicts, retries and tally stay the same."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from weekly.audience.subscriber_list import Subscriber
from weekly.config import DeliverySettings, load_config
from weekly.deliver.backend import BeforeEnd, DeliveryBackend
from weekly.deliver.dispatcher import Dispatcher, Tally
from weekly.deliver.message import MessageFactory
from weekly.deliver.outcomes import Outcome, Verdict
from weekly.render.composed import Composed
from weekly.store import open_ledger

from .conftest import REPO
from .storerows import deliveries

SECRET = b"0123456789abcdef0123"


class Provider:
    """What an HTTP API provider would look like to the dispatcher: it keeps what it takes,
    and answers each recipient from a script (sent when the script says nothing)."""

    def __init__(self, script: dict[str, list[Verdict]]) -> None:
        self.script = script
        self.kept: dict[str, list[bytes]] = {}
        self.hooked: Counter[str] = Counter()  # `before_end` calls per recipient
        self.lanes: list[Lane] = []

    def lane(self) -> DeliveryBackend:
        lane = Lane(self)
        self.lanes.append(lane)
        return lane


class Lane:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.opened = self.closed = 0

    async def open(self) -> None:
        self.opened += 1

    async def deliver(
        self, sender: str, recipient: str, data: bytes, before_end: BeforeEnd
    ) -> Outcome:
        if not self.opened:
            await self.open()
        answers = self.provider.script.get(recipient, [])
        verdict = answers.pop(0) if answers else Verdict.SENT
        if verdict in (Verdict.SENT, Verdict.UNCERTAIN):  # the request went out
            before_end()
            self.provider.hooked[recipient] += 1
        if verdict is Verdict.SENT:
            self.provider.kept.setdefault(recipient, []).append(data)
        return Outcome(verdict, f"provider says {verdict.value}")

    async def close(self) -> None:
        self.closed += 1

    async def probe(self, sender: str) -> None:
        pass


# How long an in-process run of a handful of readers may take before it counts as stuck: a
# dispatcher that never releases a job fails its test here, not at mutmut's hang bound.
STUCK_SECONDS = 3


def finished(dispatcher: Dispatcher, readers: list[Subscriber]) -> Tally:
    """`dispatcher`'s run over `readers`, which must end within STUCK_SECONDS."""

    async def bounded() -> Tally:
        async with asyncio.timeout(STUCK_SECONDS):
            return await dispatcher._main(readers)

    return asyncio.run(bounded())


def reader(n: int, name: str) -> Subscriber:
    address = f"{name}@example.com"
    return Subscriber(n, address, address, address, name.title(), "subscribed", {})


def test_a_backend_that_is_not_smtp_sends_through_the_dispatcher() -> None:
    composed = Composed(324, "제목", "", "<p>%%name%%</p>", "%%name%%", {})
    factory = MessageFactory(composed, load_config(REPO), SECRET)
    provider = Provider(
        {
            "gone@example.com": [Verdict.MAILBOX],
            "busy@example.com": [Verdict.RECIPIENT, Verdict.SENT],
            "lost@example.com": [Verdict.UNCERTAIN],
        }
    )
    settings = DeliverySettings(concurrency=2, rate=1000.0, retry_delay=0.01)
    readers = [reader(n, name) for n, name in enumerate(["kim", "gone", "busy", "lost", "lee"])]
    done: list[int] = []
    notices: list[str] = []
    dispatcher = Dispatcher(
        factory,
        settings,
        provider.lane,
        ledger=None,
        issue=324,
        progress=done.append,
        notice=notices.append,
    )

    tally = finished(dispatcher, readers)

    assert (tally.sent, tally.failed_mailbox, tally.uncertain) == (3, 1, 1)
    assert sum(done) == 5
    assert sorted(provider.kept) == ["busy@example.com", "kim@example.com", "lee@example.com"]
    assert all(len(messages) == 1 for messages in provider.kept.values())
    assert provider.hooked == Counter(
        {"kim@example.com": 1, "busy@example.com": 1, "lee@example.com": 1, "lost@example.com": 1}
    )
    parsed = email.message_from_bytes(provider.kept["lee@example.com"][0], policy=email.policy.SMTP)
    assert parsed["To"] == "Lee <lee@example.com>"
    assert len(provider.lanes) == 2 and all(lane.closed for lane in provider.lanes)


class Holding(Lane):
    """A lane that holds the message to `at` until `until` is set, after sending this
    process SIGTERM first when `terminate`."""

    def __init__(
        self, provider: Provider, at: str, until: asyncio.Event, *, terminate: bool = False
    ) -> None:
        super().__init__(provider)
        self.at, self.until, self.terminate = at, until, terminate

    async def deliver(
        self, sender: str, recipient: str, data: bytes, before_end: BeforeEnd
    ) -> Outcome:
        if recipient == self.at:
            if self.terminate:
                os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(self.until.wait(), STUCK_SECONDS)
        return await super().deliver(sender, recipient, data, before_end)


def newsletter_factory() -> MessageFactory:
    composed = Composed(324, "제목", "", "<p>%%name%%</p>", "%%name%%", {})
    return MessageFactory(composed, load_config(REPO), SECRET)


async def endless(readers: list[Subscriber]) -> AsyncIterator[Subscriber]:
    """`readers`, then a wait for more that never ends (a shared store with nothing to claim)."""
    for one in readers:
        yield one
    await asyncio.Event().wait()


@pytest.mark.parametrize(("deaf", "waits"), [(False, False), (True, False), (False, True)])
def test_sigterm_finishes_the_message_in_flight_and_leaves_the_rest(
    deaf: bool, waits: bool
) -> None:
    """One SIGTERM: the message in flight goes, the queued ones stay for the next run, and
    the editor is told so; a notice that cannot be written (a closed terminal) stops it too,
    and so does a stream of readers still waiting for more."""
    factory = newsletter_factory()
    provider = Provider({})
    notices: list[str] = []

    escaped: list[str] = []

    async def scenario() -> Tally:
        told = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: escaped.append(context["message"]))

        def notice(line: str) -> None:
            notices.append(line)
            told.set()
            if deaf:
                raise BrokenPipeError("the terminal is gone")

        dispatcher = Dispatcher(
            factory,
            DeliverySettings(concurrency=1, rate=1000.0, retry_delay=0.01),
            lambda: Holding(provider, "park@example.com", told, terminate=True),
            ledger=None,
            issue=324,
            progress=lambda n: None,
            notice=notice,
        )
        readers = [reader(n, name) for n, name in enumerate(["kim", "park", "lee", "choi", "jung"])]
        async with asyncio.timeout(STUCK_SECONDS):  # a run that did not stop fails here
            return await dispatcher._main(endless(readers) if waits else readers)

    def unexpected(signum: int, frame: object) -> None:
        raise AssertionError("the run did not take SIGTERM for itself")

    previous = signal.signal(signal.SIGTERM, unexpected)
    try:
        tally = asyncio.run(scenario())
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert (tally.interrupted, tally.sent, tally.left_pending) == (signal.SIGTERM, 2, 3)
    assert escaped == []  # a notice that fails is swallowed, not left to the event loop
    assert sorted(provider.kept) == ["kim@example.com", "park@example.com"]
    assert notices == [
        "\nStopping: finishing messages in flight (SIGTERM; "
        "a second Ctrl-C or signal quits at once)."
    ]


@pytest.mark.parametrize("heard", [[set(), {"lee@example.com"}], [{"lee@example.com"}, set()]])
def test_opt_outs_are_polled_again_while_the_run_goes(heard: list[set[str]]) -> None:
    """The subscription log is read at the start and then every POLL_SECONDS, each reading
    giving the opt-outs recorded since the last: one the second reading brings stops a later
    message, and one the first brought still counts after a second that brings none."""
    factory = newsletter_factory()
    provider = Provider({})
    readings: list[int] = []

    async def scenario() -> Tally:
        polled = asyncio.Event()

        def opt_outs() -> set[str]:
            readings.append(len(readings))
            if len(readings) >= 2:
                polled.set()
            return heard[len(readings) - 1] if len(readings) <= 2 else set()

        dispatcher = Dispatcher(
            factory,
            DeliverySettings(concurrency=1, rate=1000.0, retry_delay=0.01),
            lambda: Holding(provider, "park@example.com", polled),
            ledger=None,
            issue=324,
            progress=lambda n: None,
            opt_outs=opt_outs,
            notice=print,
        )
        readers = [reader(n, name) for n, name in enumerate(["park", "lee"])]
        async with asyncio.timeout(STUCK_SECONDS):
            return await dispatcher._main(readers)

    tally = asyncio.run(scenario())
    assert (tally.sent, tally.opted_out) == (1, 1)
    assert sorted(provider.kept) == ["park@example.com"]


def dispatch(
    script: dict[str, list[Verdict]], names: list[str], **settings: Any
) -> tuple[Tally, list[int]]:
    """Run `names` through the dispatcher against a provider answering from `script`."""
    factory = newsletter_factory()
    provider = Provider(script)
    done: list[int] = []
    options = {"concurrency": 1, "rate": 100000.0, "retry_delay": 0.001, **settings}
    dispatcher = Dispatcher(
        factory,
        DeliverySettings(**options),
        provider.lane,
        ledger=None,
        issue=324,
        progress=done.append,
        notice=print,
    )
    return finished(dispatcher, [reader(n, name) for n, name in enumerate(names)]), done


def recorded(
    root: Path,
    readers: list[Subscriber],
    lane: Callable[[], DeliveryBackend],
    settings: DeliverySettings,
    **options: Any,
) -> Tally:
    """`readers` run through the dispatcher into the own ledger of the newsletter at `root`
    (their rows added first)."""
    ledger = open_ledger(root)
    ledger.add(324, [(one.key, one.email) for one in readers])
    dispatcher = Dispatcher(
        newsletter_factory(),
        settings,
        lane,
        ledger=ledger,
        issue=324,
        progress=lambda n: None,
        notice=print,
        **options,
    )
    try:
        return finished(dispatcher, readers)
    finally:
        ledger.close()


def test_each_verdict_ends_in_its_own_count_and_failure_line() -> None:
    r, s = Verdict.RECIPIENT, Verdict.SENT
    script = {
        "gone@example.com": [Verdict.MAILBOX],
        "bad@example.com": [Verdict.MESSAGE],
        "busy@example.com": [r, r, r, s],
        "later@example.com": [r, s],
        "lost@example.com": [Verdict.UNCERTAIN],
    }
    names = ["kim", "gone", "bad", "busy", "later", "lost"]
    tally, done = dispatch(script, names, max_attempts=3)
    counts = (tally.sent, tally.failed_mailbox, tally.failed_message, tally.failed_temporary)
    assert (*counts, tally.uncertain, tally.left_pending, tally.slowed) == (2, 1, 1, 1, 1, 0, 0)
    assert (tally.halted, tally.interrupted, tally.fenced, done) == ("", 0, False, [1] * 6)
    assert sorted(tally.failures) == [
        ("bad@example.com", "failed_message", "provider says message"),
        ("busy@example.com", "failed_temporary", "provider says recipient"),
        ("gone@example.com", "failed_permanent", "provider says mailbox"),
        ("lost@example.com", "uncertain", "provider says uncertain"),
    ]


def test_a_refused_sender_halts_the_run_and_leaves_the_rest_pending() -> None:
    tally, done = dispatch({"b@example.com": [Verdict.HALT]}, ["a", "b", "c", "d"])
    assert tally.halted == "the relay refused the sender (provider says halt)"
    assert (tally.sent, tally.left_pending, tally.failures, sum(done)) == (1, 3, [], 1)


def test_a_relay_failing_every_lane_max_attempts_times_halts_the_run() -> None:
    down = {f"{name}@example.com": [Verdict.CONNECTION] * 9 for name in "abcd"}
    tally, done = dispatch(down, ["a", "b", "c", "d"], max_attempts=2, concurrency=2)
    assert tally.halted == "the relay keeps failing (provider says connection)"
    assert (tally.sent, tally.slowed, tally.left_pending, done) == (0, 4, 4, [])


def test_the_summary_keeps_the_first_twenty_failures() -> None:
    names = [f"gone{n:02}" for n in range(25)]
    tally, _ = dispatch({f"{n}@example.com": [Verdict.MAILBOX] for n in names}, names)
    assert tally.failed_mailbox == 25
    assert [email for email, _, _ in tally.failures] == [f"{n}@example.com" for n in names[:20]]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_each_outcome_is_recorded_in_the_newsletters_own_ledger(
    newsletter: Path, store: str
) -> None:
    """The ledger row of each reader after the run: its state, its tries, the last reply, and
    the Message-ID of the message whose end of data went (none when it was refused before);
    a reader who opted out while the run went is not tried."""
    names = ["kim", "skip", "gone", "busy", "lost"]
    script = {
        "gone@example.com": [Verdict.MAILBOX],
        "busy@example.com": [Verdict.RECIPIENT, Verdict.SENT],
        "lost@example.com": [Verdict.UNCERTAIN],
    }
    readers = [reader(n, name) for n, name in enumerate(names)]
    provider = Provider(script)
    settings = DeliverySettings(concurrency=1, rate=100000.0, retry_delay=0.001)
    tally = recorded(
        newsletter, readers, provider.lane, settings, opt_outs=lambda: {"skip@example.com"}
    )
    assert (tally.sent, tally.failed_mailbox, tally.uncertain, tally.opted_out) == (2, 1, 1, 1)
    ids = {
        address: email.message_from_bytes(kept[-1])["Message-ID"]
        for address, kept in provider.kept.items()
    }
    found = {row.recipient: row[3:7] for row in deliveries(newsletter)}
    assert found["kim@example.com"] == ("sent", 1, "provider says sent", ids["kim@example.com"])
    assert found["gone@example.com"] == ("failed_permanent", 1, "provider says mailbox", "")
    assert found["skip@example.com"] == ("opted_out", 0, "opted out during the send", "")
    assert found["busy@example.com"] == ("sent", 2, "provider says sent", ids["busy@example.com"])
    assert found["lost@example.com"][:3] == ("sending", 1, "provider says uncertain")
    lost_id = found["lost@example.com"][3]
    assert lost_id.startswith("<") and lost_id.endswith(">") and lost_id not in ids.values()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_halt_gives_back_the_rows_it_stopped_with_their_tries(
    newsletter: Path, store: str
) -> None:
    """A refused sender stops the run: its row, the row whose retry was waiting and the rows
    never tried go back to `pending` for the next run, each with the tries it had and its
    last reply."""
    script = {"busy@example.com": [Verdict.RECIPIENT], "halt@example.com": [Verdict.HALT]}
    readers = [reader(n, name) for n, name in enumerate(["busy", "halt", "rest"])]
    settings = DeliverySettings(concurrency=1, rate=100000.0, retry_delay=60.0)  # not waited
    tally = recorded(newsletter, readers, Provider(script).lane, settings)
    assert (tally.halted, tally.left_pending) == (
        "the relay refused the sender (provider says halt)",
        3,
    )
    assert {row.recipient: row[3:6] for row in deliveries(newsletter)} == {
        "busy@example.com": ("pending", 1, "provider says recipient"),
        "halt@example.com": ("pending", 1, "provider says halt"),
        "rest@example.com": ("pending", 0, ""),
    }


def test_a_message_that_goes_clears_the_count_of_link_faults() -> None:
    """The relay is judged gone only after max_attempts faults per lane in a row: one sent
    message in between starts the count again."""
    c, s = Verdict.CONNECTION, Verdict.SENT
    script = {"a@example.com": [c, s], "c@example.com": [c, s]}
    tally, done = dispatch(script, ["a", "b", "c"], max_attempts=2)
    assert (tally.halted, tally.sent, tally.slowed, sum(done)) == ("", 3, 2, 3)


class Halting(Lane):
    """A lane that holds `slow`'s message until the relay has refused the sender on another
    lane, then answers it with a temporary failure."""

    def __init__(self, provider: Provider, refused: asyncio.Event) -> None:
        super().__init__(provider)
        self.refused = refused

    async def deliver(
        self, sender: str, recipient: str, data: bytes, before_end: BeforeEnd
    ) -> Outcome:
        if recipient == "slow@example.com":
            await asyncio.wait_for(self.refused.wait(), STUCK_SECONDS)
            return Outcome(Verdict.RECIPIENT, "451 try later")
        self.refused.set()
        return Outcome(Verdict.HALT, "550 sender refused")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_temporary_failure_after_the_halt_is_left_for_the_next_run(
    newsletter: Path, store: str
) -> None:
    readers = [reader(n, name) for n, name in enumerate(["slow", "halt"])]
    refused = asyncio.Event()
    provider = Provider({})
    settings = DeliverySettings(concurrency=2, rate=100000.0, retry_delay=0.001)
    tally = recorded(newsletter, readers, lambda: Halting(provider, refused), settings)
    assert (tally.left_pending, tally.failed_temporary) == (2, 0)
    assert {row.recipient: row[3:6] for row in deliveries(newsletter)} == {
        "slow@example.com": ("pending", 1, "451 try later"),
        "halt@example.com": ("pending", 1, "550 sender refused"),
    }
