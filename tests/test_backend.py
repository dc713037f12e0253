"""The delivery backend seam: a backend that is not SMTP, written against the protocol alone,
runs a send through the dispatcher, whose verdicts, retries and tally stay the same."""

from __future__ import annotations

import email
import email.policy
from collections import Counter

from weekly.audience.subscriber_list import Subscriber
from weekly.config import DeliverySettings, load_config
from weekly.deliver.backend import BeforeEnd, DeliveryBackend
from weekly.deliver.dispatcher import Dispatcher
from weekly.deliver.message import MessageFactory
from weekly.deliver.outcomes import Outcome, Verdict
from weekly.render.composed import Composed

from .conftest import REPO

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

    tally = dispatcher.run(readers)

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
