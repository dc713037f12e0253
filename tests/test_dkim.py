"""DKIM: keys from `weekly dkim keygen`, signatures checked by dkimpy's own verifier."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed

from weekly.config import load_config
from weekly.deliver.dkim import (
    SIGNED_HEADERS,
    DkimSigner,
    _folded_list,
    header_fields,
    relaxed_body,
)
from weekly.deliver.dkim_keys import load_private_key, txt_value

from .conftest import DKIM_SECTION


def message(body: str = "") -> bytes:
    """A message shaped like the ones `weekly send` writes: CRLF, encoded Korean subject."""
    subject = base64.b64encode("AI 주간 동향 #324 - 소넷 4.5".encode()).decode()
    html = base64.b64encode("<p>안녕하세요</p>".encode()).decode()
    lines = [
        "Date: Thu, 02 Oct 2025 09:00:00 +0000",
        "Message-ID: <324.abc.1@news.example.com>",
        "To: =?utf-8?b?6rmA7LKg7IiY?= <kim@example.com>",
        "List-Unsubscribe: <https://news.example.com/weekly/unsubscribe/a.b>,",
        " <mailto:unsubscribe@news.example.com?subject=unsubscribe%20a.b>",
        "From: =?utf-8?b?QUkg7KO86rCEIOuPmeuPmQ==?= <weekly@news.example.com>",
        f"Subject: =?utf-8?b?{subject}?=",
        "List-Id: AI <weekly.news.example.com>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="=_b"',
        "",
        "--=_b",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        html,
        *([body] if body else []),
        "--=_b--",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


@pytest.fixture
def signer(newsletter: Path, dkim_dns) -> DkimSigner:
    made = DkimSigner.from_config(load_config(newsletter))
    assert made is not None
    return made


def test_keygen_writes_private_key_and_prints_record(newsletter: Path, signer, run_weekly) -> None:
    key = newsletter / "secrets/dkim.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert load_private_key(key).key_size == 2048
    printed = run_weekly("dkim", "record").output
    name = "weekly2026._domainkey.news.example.com."
    assert printed.startswith(f'{name} IN TXT ( "v=DKIM1; k=rsa; p=')
    assert all(len(part) <= 255 for part in printed.split('"')[1::2])
    record = txt_value(load_private_key(key))  # 2048 bits: a string of 255, then the rest
    quoted = f'"{record[:255]}" "{record[255:]}"'
    assert printed == f"{name} IN TXT ( {quoted} )\n" and 255 < len(record) <= 510
    again = run_weekly("dkim", "keygen")
    assert again.exit_code == 1 and "--force" in again.output
    forced = run_weekly("dkim", "keygen", "--force")
    assert forced.exit_code == 0
    new = txt_value(load_private_key(key))
    assert new != record and forced.output == (
        f"Wrote {key} (keep it secret); publish this record:\n"
        f'{name} IN TXT ( "{new[:255]}" "{new[255:]}" )\n'
    )


def test_signed_message_verifies_with_dkimpy(signer: DkimSigner, dkim_dns) -> None:
    signed = signer.sign(message())
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert dkim.verify(signed, dnsfunc=dkim_dns)
    added = signed.removesuffix(message()).split(b"\r\n")
    assert max(len(line) for line in added) <= 78
    field = dict(header_fields(signed.partition(b"\r\n\r\n")[0]))[b"DKIM-Signature"]
    covered = field.split(b"h=")[1].split(b";")[0].replace(b"\r\n", b"").decode().split(":")
    covered = [name.strip() for name in covered]
    assert set(covered[: -len(SIGNED_HEADERS)]) == set(SIGNED_HEADERS) - {"reply-to"}
    assert covered[-len(SIGNED_HEADERS) :] == list(SIGNED_HEADERS)  # over-signed


def test_repeated_header_is_signed_in_every_instance(signer: DkimSigner, dkim_dns) -> None:
    twice = message().replace(b"MIME-Version: 1.0", b"Subject: one more\r\nMIME-Version: 1.0")
    signed = signer.sign(twice)
    assert dkim.verify(signed, dnsfunc=dkim_dns)
    assert not dkim.verify(signed.replace(b"one more", b"one less"), dnsfunc=dkim_dns)


def test_whitespace_in_body_is_canonicalised_like_dkimpy(signer: DkimSigner, dkim_dns) -> None:
    signed = signer.sign(message("a \t b  \r\ntrailing \t\r\n\r\n\r\n"))
    assert dkim.verify(signed, dnsfunc=dkim_dns)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"--=_b--", b"--=_b--\r\nappended"),
        (b"Message-ID: <324.abc.1", b"Message-ID: <324.abc.2"),
        (b"unsubscribe/a.b>", b"unsubscribe/x.y>"),
        (b"Date:", b"From: evil@example.net\r\nDate:"),  # a second From, above ours
        (b"Date:", b"Reply-To: evil@example.net\r\nDate:"),  # a Reply-To where none was
    ],
)
def test_tampered_message_fails(signer: DkimSigner, dkim_dns, old: bytes, new: bytes) -> None:
    signed = signer.sign(message())
    assert old in signed
    assert not dkim.verify(signed.replace(old, new, 1), dnsfunc=dkim_dns)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        b"QUJD\r\nREVG\r\n\r\n",
        b"a \r\n",
        b"a  b\r\n\r\n",
        b"x\tb \t\r\nc ",
        b"abc",
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nQUJD\r\n",
        b"many " * 100 + b" \r\n",
        b"  x\r\n",  # blanks at the very start
        b" \r\n",
        b"a b  c d\r\n",  # a double blank between single ones
    ],
)
def test_relaxed_body_matches_dkimpy(body: bytes) -> None:
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_dkim_settings_must_come_together(newsletter: Path, run_weekly) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[dkim]\ndomain = "news.example.com"\n')
    result = run_weekly("dkim", "keygen")
    assert result.exit_code == 1
    assert "weekly.toml:" in result.output and "dkim.selector: required" in result.output


def test_unusable_key_file_is_named(newsletter: Path) -> None:
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(DKIM_SECTION)
    (newsletter / "secrets").mkdir()
    (newsletter / "secrets/dkim.pem").write_text("not a key\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"secrets/dkim.pem: not an unencrypted PEM"):
        DkimSigner.from_config(load_config(newsletter))


def test_the_signed_header_list_breaks_before_a_line_passes_70() -> None:
    fits, over = [b"a" * 34, b"b" * 35], [b"a" * 34, b"b" * 36]  # 70 and 71 with the colon
    assert _folded_list(fits) == b"a" * 34 + b":" + b"b" * 35
    assert _folded_list(over) == b"a" * 34 + b":\r\n " + b"b" * 36
    assert _folded_list([b"from", b"to", b"subject"]) == b"from:to:subject"
