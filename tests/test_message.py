"""Per-recipient messages: well-formed MIME on the wire, whatever the issue and the names."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import dkim

from weekly.addresses import list_id_of
from weekly.audience.subscriber_list import Subscriber
from weekly.audience.tokens import make_token, read_visitor_mark, token_address
from weekly.config import load_config
from weekly.deliver.dkim import DkimSigner
from weekly.deliver.message import Frame, MessageFactory, sender_mailbox
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


def head_of(data: bytes) -> list[str]:
    return data.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")


def test_each_message_has_its_own_head_and_the_newsletters_fixed_fields() -> None:
    make = factory("<p>%%name%%</p>", "%%name%%")
    before = int(time.time())
    built = [make.build(reader("Kim", f"r{n}@example.com")) for n in range(3)]
    after = int(time.time())
    run = built[0].message_id.split(".")[1]
    assert len(run) == 12 and int(run, 16) >= 0
    assert [b.message_id for b in built] == [f"<324.{run}.{n}@news.example.com>" for n in (1, 2, 3)]
    list_id = "weekly.news.example.com"
    for n, message in enumerate(built):
        date, message_id, to, url, mailto, *fixed = head_of(message.data)
        assert date in {
            f"Date: {format_datetime(datetime.fromtimestamp(second, UTC))}"
            for second in range(before, after + 1)
        }
        assert date.endswith(" +0000")
        assert message_id == f"Message-ID: {message.message_id}"
        assert to == f"To: Kim <r{n}@example.com>"
        token = make_token(SECRET, list_id, f"r{n}@example.com")
        assert url == f"List-Unsubscribe: <https://news.example.com/weekly/unsubscribe/{token}>,"
        assert mailto == f" <mailto:unsubscribe@news.example.com?subject=unsubscribe%20{token}>"
        assert fixed[0].startswith("From: =?utf-8?b?") and fixed[0].endswith(
            "?= <weekly@news.example.com>"
        )
        assert fixed[1:3] == ["Reply-To: editor@news.example.com", "Subject: =?utf-8?b?7KCc66qp?="]
        assert fixed[3].startswith("List-Id: =?utf-8?b?") and fixed[3].endswith(f" <{list_id}>")
        assert fixed[4:7] == [
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "MIME-Version: 1.0",
            fixed[6],
        ]
        assert re.fullmatch(
            r'Content-Type: multipart/alternative; boundary="=_weekly_[0-9a-f]{24}"', fixed[6]
        )


def test_without_a_reply_to_and_with_an_idn_unsubscribe_mailbox(newsletter: Path) -> None:
    toml = newsletter / "weekly.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('reply_to = "editor@news.example.com"', 'reply_to = ""')
    text = text.replace('mailto = "unsubscribe@news.example.com"', 'mailto = "optout@한국.kr"')
    toml.write_text(text, encoding="utf-8")
    composed = Composed(324, "제목", "", "<p>x</p>", "x", {})
    built = MessageFactory(composed, load_config(newsletter), SECRET).build(reader("A"))
    head = head_of(built.data)
    assert not [line for line in head if line.startswith("Reply-To:")]
    token = make_token(SECRET, "weekly.news.example.com", "a@example.com")
    assert head[4] == f" <mailto:optout@xn--3e0b707e.kr?subject=unsubscribe%20{token}>"


def test_a_one_part_frame_is_that_part_alone() -> None:
    frame = Frame(["From: a@example.com", "Subject: hi"], ("text/plain",), None)
    assert frame.message("To: b@example.com\r\n", (b"aGk=\r\n",)) == (
        b"To: b@example.com\r\nFrom: a@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\naGk=\r\n"
    )


def test_an_open_mark_names_the_reader_who_agreed_and_when_the_message_was_made(
    newsletter: Path,
) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[tracking]\nopens = "subscriber"\n')
    html = "<html><body><p>%%name%%</p>%%tracking_note%%</body></html>"
    composed = Composed(324, "제목", "", html, "%%name%%", {})
    make = MessageFactory(composed, load_config(newsletter), SECRET)
    agreed = Subscriber(2, "a@example.com", "a@example.com", "a@example.com", "A", "", {
        "tracking": "yes"
    })  # fmt: skip
    parsed = email.message_from_bytes(make.build(agreed).data, policy=email.policy.default)
    shown = parsed.get_body(("html",)).get_content()
    mark = re.search(r'src="https://news\.example\.com/weekly/o/324/([^"/]+)', shown)
    assert mark is not None
    visitor = read_visitor_mark(SECRET, mark[1].removesuffix(".gif"))
    assert visitor is not None
    assert (visitor.key, visitor.made) == (
        "a@example.com",
        int(parsed["Date"].datetime.timestamp()),
    )


def test_a_two_part_frame_is_multipart_alternative_in_the_order_given() -> None:
    frame = Frame(["Subject: hi"], ("text/plain", "text/html"), None)
    data = frame.message("To: b@example.com\r\n", (b"dGV4dA==\r\n", b"PHA+PC9wPg==\r\n"))
    boundary = re.search(rb'boundary="(=_weekly_[0-9a-f]{24})"', data)
    assert boundary is not None
    b = boundary[1]
    assert data == (
        b"To: b@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="' + b + b'"\r\n\r\n'
        b"--" + b + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\ndGV4dA==\r\n"
        b"--" + b + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nPHA+PC9wPg==\r\n"
        b"--" + b + b"--\r\n"
    )
    other = Frame(["Subject: hi"], ("text/plain", "text/html"), None)
    assert other.message("", (b"", b"")).count(b) == 0  # each frame its own boundary


def test_a_signed_frame_is_the_unsigned_message_under_a_signature_that_verifies(
    newsletter: Path, dkim_dns: Callable[..., bytes | None]
) -> None:
    signer = DkimSigner.from_config(load_config(newsletter))
    fields = ["From: a@news.example.com", "Subject: hi"]
    head, bodies = "To: b@example.com\r\n", (b"dGV4dA==\r\n", b"PHA+PC9wPg==\r\n")
    signed = Frame(fields, ("text/plain", "text/html"), signer).message(head, bodies)
    plain = Frame(fields, ("text/plain", "text/html"), None).message(head, bodies)
    boundary = re.compile(rb"=_weekly_[0-9a-f]{24}")
    start = signed.index(b"To: b@example.com\r\n")
    assert signed[start:] == boundary.sub(boundary.findall(signed)[0], plain)
    assert signed.startswith(b"DKIM-Signature: v=1;")
    assert dkim.verify(signed, dnsfunc=dkim_dns)
    composed = Composed(324, "제목", "", "<p>%%name%%</p>", "%%name%%", {})
    built = MessageFactory(composed, load_config(newsletter), SECRET).build(reader("김"))
    assert built.data.startswith(b"DKIM-Signature: ")
    assert dkim.verify(built.data, dnsfunc=dkim_dns)


def test_a_sender_with_a_quoted_at_sign_keeps_its_whole_local_part() -> None:
    assert sender_mailbox('Weekly <"news@desk"@예시.kr>') == (
        "Weekly",
        '"news@desk"@xn--vv4b11d.kr',
    )


def test_a_test_send_carries_no_open_pixel_and_a_readers_copy_does(newsletter: Path) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[tracking]\nopens = "aggregate"\n')
    composed = Composed(324, "제목", "", "<html><body><p>%%name%%</p></body></html>", "t", {})
    config = load_config(newsletter)
    pixel = 'src="https://news.example.com/weekly/o/324/'
    for test, tracked in ((False, True), (True, False)):
        built = MessageFactory(composed, config, SECRET, test=test).build(reader("김"))
        parsed = email.message_from_bytes(built.data, policy=email.policy.default)
        html = parsed.get_body(("html",))
        assert html is not None and (pixel in html.get_content()) is tracked
