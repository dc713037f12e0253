"""Signed links made before the token schemes became one module must keep working: these
tokens were computed by the old `unsubscribe_token` and `signup_token` modules."""

from __future__ import annotations

from weekly.audience.tokens import (
    SignUp,
    confirm_token,
    make_token,
    read_confirm_token,
    token_address,
)

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
