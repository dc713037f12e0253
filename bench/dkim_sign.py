"""DKIM benchmark: signatures per second on one core for messages the size of issue #324,
each with its own body (as personalised sends have), against dkimpy's own signer.

Run: .venv/bin/python bench/dkim_sign.py [--messages 3000]
Target: above 1,000 signatures/s on one core. Times are this process's CPU time, so other
work on the machine does not count against the figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from weekly.deliver.base64_part import encode_lines
from weekly.deliver.dkim import DkimSigner, relaxed_body
from weekly.render.compose import compose_to_build

REPO = Path(__file__).resolve().parent.parent
HEAD = (
    "Date: Thu, 02 Oct 2025 09:00:00 +0000\r\n"
    "Message-ID: <324.bench.{n}@news.example.com>\r\n"
    "To: reader{n}@example.com\r\n"
    "List-Unsubscribe: <https://news.example.com/weekly/unsubscribe/tok{n}>,\r\n"
    " <mailto:unsubscribe@news.example.com?subject=unsubscribe%20tok{n}>\r\n"
    "From: weekly@news.example.com\r\n"
    "Subject: =?utf-8?b?QUkg7KO86rCEIOuPmeuPmQ==?=\r\n"
    "List-Id: <weekly.news.example.com>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="=_b"\r\n'
)


def messages(count: int) -> list[tuple[bytes, bytes]]:
    """(head, body) pairs: the composed #324 as base64 parts, personalised per recipient."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "weekly.toml").write_bytes((REPO / "weekly.toml").read_bytes())
        (root / "issues").symlink_to(REPO / "issues")
        compose_to_build(root, 324)
        html = (root / "build/324/email.html").read_text(encoding="utf-8")
        text = (root / "build/324/email.txt").read_text(encoding="utf-8")
    made = []
    for n in range(count):
        reader = f"reader{n}@example.com"
        body = b"".join(
            (
                b"--=_b\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n",
                encode_lines(text.replace("%%email%%", reader).encode()),
                b"--=_b\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n",
                encode_lines(html.replace("%%email%%", reader).encode()),
                b"--=_b--\r\n",
            )
        )
        made.append((HEAD.format(n=n).encode(), body))
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = DkimSigner("news.example.com", "bench", key)
    batch = messages(args.messages)
    size = sum(len(h) + len(b) for h, b in batch) / len(batch)
    signer.signature(*batch[0])  # warm-up

    started = time.process_time()
    for _head, body in batch:
        relaxed_body(body)
    canonical = time.process_time() - started

    started = time.process_time()
    for head, body in batch:
        signer.signature(head, body)
    ours = time.process_time() - started

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    sample = batch[: max(1, len(batch) // 10)]
    started = time.process_time()
    for head, body in sample:
        dkim.sign(
            head + b"\r\n" + body,
            b"bench",
            b"news.example.com",
            pem,
            canonicalize=(b"relaxed", b"relaxed"),
        )
    theirs = time.process_time() - started

    print(f"{len(batch):,} messages of {size / 1000:.1f} KB, each with its own body, one core:")
    print(f"  body canonicalisation  {canonical / len(batch) * 1e6:8.1f} us/message")
    print(f"  weekly DkimSigner      {len(batch) / ours:8.0f} signatures/s   (target > 1,000)")
    runs = len(sample)
    print(f"  dkimpy dkim.sign       {runs / theirs:8.0f} signatures/s   ({runs} runs)")


if __name__ == "__main__":
    main()
