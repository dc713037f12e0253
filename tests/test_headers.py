"""Header fields written by hand: encoded words stay within RFC 2047's limits."""

from __future__ import annotations

import email
import email.policy
import re
from base64 import b64encode

import pytest

from weekly.deliver.headers import encoded_words, mailbox, unstructured

LONG_KOREAN = (
    "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래: "
    "에이전트, 영상, 규제, 그리고 다음 주 예고까지 한눈에"
)


@pytest.mark.parametrize(
    "subject", [LONG_KOREAN, "짧은 제목", "x" * 300, "=?utf-8?q?not-a-word?=", "😀" * 40, ""]
)
def test_every_encoded_word_is_at_most_75_characters_and_decodes_back(subject: str) -> None:
    field = unstructured("Subject", subject)
    for word in re.findall(r"=\?utf-8\?b\?[^?]*\?=", field):
        assert len(word) <= 75
    for line in field.split("\r\n"):
        assert len(line) <= 78
        assert line.isascii()
    parsed = email.message_from_string(field + "\r\n\r\n", policy=email.policy.default)
    assert parsed["Subject"] == subject


def test_words_never_split_a_character() -> None:
    for word in encoded_words("가" * 100):
        assert len(word) <= 75
        email.message_from_string(f"Subject: {word}\n\n", policy=email.policy.default)


def test_plain_short_ascii_stays_readable() -> None:
    assert unstructured("Subject", "Weekly #324") == "Subject: Weekly #324"


@pytest.mark.parametrize(
    ("name", "display"),
    [
        ("Alice Martin", "Alice Martin"),
        ('Lee, "Dana"', 'Lee, "Dana"'),
        ("홍길동 <관리자>", "홍길동 <관리자>"),
        ("", ""),
    ],
)
def test_mailboxes_parse_back_to_the_same_name(name: str, display: str) -> None:
    field = f"To: {mailbox(name, 'a@example.com')}\r\n\r\n"
    parsed = email.message_from_string(field, policy=email.policy.default)
    address = parsed["To"].addresses[0]
    assert (address.display_name, address.addr_spec) == (display, "a@example.com")


def test_fields_are_written_exactly() -> None:
    """The exact text: short printable ASCII as it is, else base64 words of at most 42 bytes
    (never a character split), folded with CRLF and a space."""
    assert unstructured("Subject", "x" * 60) == "Subject: " + "x" * 60
    words = encoded_words("x" * 61)
    assert words == [
        f"=?utf-8?b?{b64encode(b'x' * 42).decode()}?=",
        "=?utf-8?b?eHh4eHh4eHh4eHh4eHh4eHh4eA==?=",
    ]
    assert unstructured("Subject", "x" * 61) == "Subject: " + "\r\n ".join(words)
    assert unstructured("Subject", "=?x") == "Subject: =?utf-8?b?PT94?="
    assert unstructured("Subject", "tab\there") == "Subject: =?utf-8?b?dGFiCWhlcmU=?="
    assert encoded_words("") == ["=?utf-8?b??="]
    assert encoded_words("가" * 15) == [  # 14 characters are 42 bytes
        f"=?utf-8?b?{b64encode(('가' * 14).encode()).decode()}?=",
        f"=?utf-8?b?{b64encode('가'.encode()).decode()}?=",
    ]
    assert mailbox("", "a@example.com") == "a@example.com"
    assert mailbox("Alice Martin", "a@example.com") == "Alice Martin <a@example.com>"
    assert mailbox("O'Neil & co", "a@example.com") == "O'Neil & co <a@example.com>"
    assert mailbox('Lee, "Dana"', "a@example.com") == '"Lee, \\"Dana\\"" <a@example.com>'
    assert mailbox("김", "a@example.com") == "=?utf-8?b?6rmA?= <a@example.com>"
