"""Per-recipient messages: well-formed MIME on the wire, whatever the issue and the names."""

from __future__ import annotations

import email
import email.policy

from weekly.addresses import list_id_of
from weekly.audience.subscriber_list import Subscriber
from weekly.audience.tokens import make_token, token_address
from weekly.config import load_config
from weekly.deliver.message import MessageFactory
from weekly.render.composed import Composed

from .conftest import REPO

SECRET = b"0123456789abcdef0123"


def factory(html: str, text: str, subject: str = "제목") -> MessageFactory:
    composed = Composed(324, subject, "", html, text, {})
    return MessageFactory(composed, load_config(REPO), SECRET)


def reader(name: str, email_: str = "a@example.com") -> Subscriber:
    return Subscriber(2, email_, email_, email_.lower(), name, "subscribed", {})


def test_long_lines_long_names_and_unique_ids_stay_within_smtp_limits() -> None:
    html = "<p>" + "아주 긴 한 줄 " * 2000 + "%%name%%</p>"
    make = factory(html, "%%name%%\n" + "x" * 5000, subject="가" * 200)
    built = [make.build(reader("김" * 300 + " <Bcc: x@y>")) for _ in range(3)]
    assert len({b.message_id for b in built}) == 3
    for message in built:
        data = message.data
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
        assert not any(line.startswith(b".") for line in data.split(b"\r\n"))
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        # Python's address parser keeps the space between adjacent encoded words, which
        # RFC 2047 section 6.2 says to ignore; compare without it.
        shown = parsed["To"].addresses[0].display_name
        assert shown.replace(" ", "") == "김" * 300 + "<Bcc:x@y>"
        assert parsed["Bcc"] is None
        assert parsed["Subject"] == "가" * 200


def test_tokens_name_the_reader_and_cannot_be_forged() -> None:
    list_id = list_id_of("AI 주간 동향 <weekly@news.example.com>")
    assert list_id == "weekly.news.example.com"
    token = make_token(SECRET, list_id, "a@example.com")
    assert token_address(SECRET, list_id, token) == "a@example.com"
    assert token_address(b"another secret value", list_id, token) is None
    assert token_address(SECRET, "other.list", token) is None
    forged = make_token(SECRET, list_id, "b@example.com").split(".")[0] + "." + token.split(".")[1]
    assert token_address(SECRET, list_id, forged) is None
    assert token_address(SECRET, list_id, "!!!") is None


def test_test_sends_are_tagged() -> None:
    composed = Composed(324, "제목", "", "<p>x</p>", "x", {})
    built = MessageFactory(composed, load_config(REPO), SECRET, test=True).build(reader("A"))
    parsed = email.message_from_bytes(built.data, policy=email.policy.default)
    assert parsed["Subject"] == "[TEST] 제목"
