"""Signed links made before the token schemes became one module must keep working: these
tokens were computed by the old `unsubscribe_token` and `signup_token` modules."""

from __future__ import annotations

import pytest

from weekly.audience.tokens import (
    SECRET_ENV,
    SignUp,
    confirm_token,
    make_token,
    read_confirm_token,
    secret_from_env,
    token_address,
)
from weekly.errors import WeeklyError

SECRET = b"fixed-secret-for-the-old-token-test"
LIST_ID = "weekly.news.example.com"
# (address, token as mailed by the old code)
MAILED = [
    ("reader@example.com", "cmVhZGVyQGV4YW1wbGUuY29t.dSz49YbU-JubyUBVMRa6ww"),
    ("독자@예시.kr", "64-F7J6QQOyYiOyLnC5rcg.o0C61gFeUjPU-ZTmkbWiow"),
]
REQUEST = SignUp("reader@example.com", "독자", 1767225600)
OLD_CONFIRM = "WyJyZWFkZXJAZXhhbXBsZS5jb20iLCLrj4XsnpAiLDE3NjcyMjU2MDBd.aW5wexRAV1ZSMwRNDS-S1udd"


def test_unsubscribe_tokens_already_mailed_still_verify() -> None:
    for address, token in MAILED:
        assert token_address(SECRET, LIST_ID, token) == address
        assert make_token(SECRET, LIST_ID, address) == token


def test_old_tokens_fail_with_another_secret_or_list() -> None:
    _, token = MAILED[0]
    assert token_address(b"another-secret-of-enough-length", LIST_ID, token) is None
    assert token_address(SECRET, "other.news.example.com", token) is None


def test_confirm_tokens_keep_their_format() -> None:
    assert confirm_token(SECRET, REQUEST) == OLD_CONFIRM
    assert read_confirm_token(SECRET, OLD_CONFIRM, 60, now=REQUEST.requested_at + 1) == REQUEST


def test_one_kind_of_token_never_passes_for_the_other() -> None:
    confirm = confirm_token(SECRET, REQUEST)
    assert token_address(SECRET, LIST_ID, confirm) is None
    _, unsubscribe = MAILED[0]
    assert read_confirm_token(SECRET, unsubscribe, 1e12, now=REQUEST.requested_at) is None


def test_a_confirmation_link_holds_from_its_second_to_the_last_of_its_lifetime() -> None:
    made = REQUEST.requested_at
    for now, holds in [(made - 1, False), (made, True), (made + 60, True), (made + 61, False)]:
        read = read_confirm_token(SECRET, OLD_CONFIRM, 60, now=now)
        assert (read == REQUEST) is holds, now


# A confirmation mailed for a sign-up that picked topics; its MAC ends in an `X`, which
# base64 padding must not be confused with.
TAGGED = SignUp("reader@example.com", "독자", 1767225604, "ai;policy")
TAGGED_CONFIRM = (
    "WyJyZWFkZXJAZXhhbXBsZS5jb20iLCLrj4XsnpAiLDE3NjcyMjU2MDQsImFpO3BvbGljeSJd"
    ".eEjcMhprr8bdzVa6PybKP64X"
)


def test_a_confirmation_with_topics_keeps_them_and_its_format() -> None:
    assert confirm_token(SECRET, TAGGED) == TAGGED_CONFIRM
    assert read_confirm_token(SECRET, TAGGED_CONFIRM, 60, now=TAGGED.requested_at) == TAGGED


@pytest.mark.parametrize(
    ("value", "state"),
    [(None, "is not set"), ("", "is not set"), ("x" * 15, "is shorter than 16 characters")],
)
def test_a_missing_or_short_secret_is_one_line_saying_which(
    monkeypatch: pytest.MonkeyPatch, value: str | None, state: str
) -> None:
    if value is None:
        monkeypatch.delenv(SECRET_ENV, raising=False)
    else:
        monkeypatch.setenv(SECRET_ENV, value)
    with pytest.raises(WeeklyError) as caught:
        secret_from_env()
    assert str(caught.value) == (
        f"WEEKLY_SECRET {state}: set it to a long random string (it signs unsubscribe links)"
    )


def test_a_secret_of_exactly_sixteen_characters_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "s" * 16)
    assert secret_from_env() == b"s" * 16
