"""The plain-address fast path gives exactly email-validator's answer, or no answer at all."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email

from weekly.addresses import normalise, plain_form
from weekly.audience.subscriber_list import Problem, Subscriber, open_list

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
# Characters a near-valid address may carry where they do not belong.
STRAY = ' ."(),:;<>@[\\]éß한\t\n'
TLDS = (
    "com", "kr", "ORG", "Io", "museum", "x", "a1", "123", "local", "LOCAL", "test", "invalid",
    "localhost", "onion", "arpa", "xn--p1ai", "example", "co-op", "c", "zz",
)  # fmt: skip
MAILBOX = ("postmaster", "Postmaster", "INFO", "abuse", "www", "news", "reader")


def by_validator(raw: str) -> tuple[str, str] | None:
    """What email-validator itself makes of `raw`, called as weekly calls it; None if refused."""
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return None
    return checked.normalized, checked.ascii_email or f"{checked.local_part}@{checked.ascii_domain}"


def atom(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ATEXT) for _ in range(size))


def label(rng: random.Random) -> str:
    size = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 12, 20, 61, 62, 63, 64, 65))
    text = "".join(rng.choice(string.ascii_letters + string.digits + "-") for _ in range(size))
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(("xn--", "ab--", "XN--", "a--", "-", "")) + text
    if roll < 0.3:
        return text
    return text.strip("-") or "a"


def local_part(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(MAILBOX)
    if roll < 0.2:
        return atom(rng, rng.choice((63, 64, 65, 66)))
    parts = [atom(rng, rng.choice((1, 1, 2, 4, 7, 12))) for _ in range(rng.choice((1, 1, 2, 3)))]
    return ".".join(parts)


def near_valid(rng: random.Random) -> str:
    """A plausible address, often with one thing wrong: a stray character, a doubled or
    misplaced dot, an edge length, a reserved or numeric top-level domain."""
    labels = [label(rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    tld = rng.choice(TLDS if rng.random() < 0.5 else TLDS[:5])  # half of them common ones
    address = f"{local_part(rng)}@{'.'.join(labels)}.{tld}"
    if rng.random() < 0.1:  # stretch to either side of the 254-character limit
        target = rng.randrange(250, 259)
        while len(address) < target:
            address = address.replace("@", "@" + rng.choice(string.ascii_letters) + ".", 1)
    if rng.random() < 0.2:
        spot = rng.randrange(len(address) + 1)
        address = address[:spot] + rng.choice(STRAY) + address[spot:]
    return address


def test_a_seeded_corpus_never_gets_an_answer_other_than_email_validators() -> None:
    rng = random.Random(14)
    accepted = refused = 0
    for _ in range(50_000):
        raw = near_valid(rng)
        expected = by_validator(raw)
        refused += expected is None
        fast = plain_form(raw)
        if fast is not None:
            accepted += 1
            assert expected == (fast, fast), raw
    # The corpus exercises both sides: the fast path takes many, the validator refuses many.
    assert accepted > 10_000 and refused > 10_000, (accepted, refused)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("reader1@example.com", "reader1@example.com"),
        ("Minji.Kim@Example.CO.KR", "Minji.Kim@example.co.kr"),
        ("o'brien+news@mail-1.example.ie", "o'brien+news@mail-1.example.ie"),
        ("{weird}|~`^=?!#$%&*/@x.example", "{weird}|~`^=?!#$%&*/@x.example"),
        ("a@1.2.3.com", "a@1.2.3.com"),
        ("Postmasters@example.com", "Postmasters@example.com"),
        ("x@a-b.museum", "x@a-b.museum"),
        ("x@my.local.org", "x@my.local.org"),
        ("l" * 64 + "@example.com", "l" * 64 + "@example.com"),
        ("x@" + "d" * 63 + ".com", "x@" + "d" * 63 + ".com"),
        ("l" * 64 + "@" + ("d" * 61 + ".") * 3 + "com", None),  # 254 characters exactly
    ],
)
def test_plain_addresses_take_the_fast_path(raw: str, normalised: str | None) -> None:
    expected = normalised or raw
    assert plain_form(raw) == expected
    assert by_validator(raw) == (expected, expected)


@pytest.mark.parametrize(
    "raw",
    [
        "Postmaster@example.com",  # RFC 2142 name: email-validator lower-cases it
        "INFO@example.com",
        "x@example.local",  # special-use and reserved names
        "x@mail.example.TEST",
        "x@localhost",
        "x@host.localhost",
        "x@a.invalid",
        "x@a.onion",
        "x@in-addr.arpa",
        "x@xn--3e0b707e.kr",  # Punycode: the normalised form shows Unicode
        "x@ab--cd.com",  # R-LDH label
        "x@example.xn--p1ai",
        "l" * 65 + "@example.com",  # valid for email-validator when not strict
        "x@" + "d" * 64 + ".com",
        "l" * 64 + "@" + ("d" * 61 + ".") * 3 + "coms",  # 255 characters
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a@example..com",
        "a@-example.com",
        "a@example-.com",
        "a@example.com.",
        "a@example.123",
        "a@example.c",
        "a@example.c0m",
        "a@example",
        '"quoted local"@example.com',
        '"plain"@example.com',  # the validator drops needless quotes: its answer, not ours
        "a@[192.0.2.1]",
        "a@[IPv6:2001:db8::1]",
        "김@example.com",
        "a@한국.kr",
        "a@exämple.com",
        "Alice <a@example.com>",
        "a@example.com\n",
        " a@example.com",
        "a@b@example.com",
        "a b@example.com",
        "a\\b@example.com",
        "",
        "@example.com",
        "a@",
    ],
)
def test_anything_unusual_is_left_to_email_validator(raw: str) -> None:
    assert plain_form(raw) is None
    expected = by_validator(raw)
    if expected is None:
        with pytest.raises(EmailNotValidError):
            normalise(raw)
    else:
        assert normalise(raw) == expected


def test_the_list_reader_answers_as_before_for_plain_and_unusual_rows(tmp_path: Path) -> None:
    rows = ["Plain@Example.COM", "Postmaster@example.com", "hong@한국.kr", "x@example.local"]
    path = tmp_path / "subscribers.csv"
    path.write_text("email\n" + "\n".join(rows) + "\n", encoding="utf-8")
    read = list(open_list(path))
    assert [(r.email, r.address) for r in read if isinstance(r, Subscriber)] == [
        ("Plain@example.com", "Plain@example.com"),
        ("postmaster@example.com", "postmaster@example.com"),
        ("hong@한국.kr", "hong@xn--3e0b707e.kr"),
    ]
    (problem,) = (r for r in read if isinstance(r, Problem))
    assert (problem.line, problem.column) == (5, "email")
    assert "special-use or reserved" in problem.message
