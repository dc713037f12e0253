"""Send benchmark: message building, delivery with the ledger on (and with DKIM on), and a
million-row dry run.

Run: .venv/bin/python bench/send.py [--recipients 10000] [--concurrency 8] [--rounds 3]
     [--rows 1000000]
Needs Postfix's smtp-sink and smtp-source (Debian package `postfix`; only the two test
programs are run, on a 127.0.0.1 port). Every load goes to 127.0.0.1 only.
Targets: >= 5,000 messages built per second per core; delivery >= 0.5 x `smtp-source -d
-s 20` against the same sink; the 1,000,000-row dry run under 150 MB peak RSS.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from compose import copy_newsletter  # bench/compose.py, beside this file
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from weekly.build import Composed, load_composed
from weekly.compose import compose_to_build
from weekly.config import load_config
from weekly.message import MessageFactory
from weekly.placeholders import Filler
from weekly.subscribers import Subscriber

REPO = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-not-for-production"
SINK = Path("/usr/sbin/smtp-sink")
SOURCE = Path("/usr/sbin/smtp-source")
NAMES = ("김민지", "Alice Martin", "박지훈", "이서연", "Dana Lee")


def subscriber(i: int) -> Subscriber:
    email = f"reader{i}@example.com"
    return Subscriber(i, email, email, email, NAMES[i % len(NAMES)], "subscribed", {})


def per_second(work: Callable[[int], object], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        work(i)
    return count / (time.perf_counter() - started)


def email_message(composed: Composed, sub: Subscriber) -> bytes:
    """The baseline: the stdlib's EmailMessage, filled and serialised per recipient."""
    values = {"name": sub.name, "email": sub.email, "unsubscribe_url": "https://x/u/t"}
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "AI 주간 동향 <weekly@news.example.com>"
    msg["To"] = f"{sub.name} <{sub.address}>"
    msg["Subject"] = composed.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="news.example.com")
    msg["List-Unsubscribe"] = "<https://x/u/t>"
    msg.set_content(Filler(composed.text, escape_html=False).fill(values))
    msg.add_alternative(Filler(composed.html, escape_html=True).fill(values), subtype="html")
    return bytes(msg)


DKIM_SECTION = '\n[dkim]\ndomain = "news.example.com"\nselector = "bench"\nkey_file = "dkim.pem"\n'


def dkim_variant(root: Path) -> tuple[str, str]:
    """weekly.toml without and with [dkim], with a fresh key for the latter."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (root / "dkim.pem").write_bytes(pem)
    plain = (root / "weekly.toml").read_text(encoding="utf-8")
    return plain, plain + DKIM_SECTION


def build_rates(root: Path) -> None:
    composed = load_composed(root, 324)
    factory = MessageFactory(composed, load_config(root), SECRET.encode())
    size = len(factory.build(subscriber(0)).data)
    ours = max(per_second(lambda i: factory.build(subscriber(i)), 20000) for _ in range(3))
    plain, signing = dkim_variant(root)
    (root / "weekly.toml").write_text(signing, encoding="utf-8")
    signed = MessageFactory(composed, load_config(root), SECRET.encode())
    (root / "weekly.toml").write_text(plain, encoding="utf-8")
    dkim_on = max(per_second(lambda i: signed.build(subscriber(i)), 3000) for _ in range(2))
    stdlib = per_second(lambda i: email_message(composed, subscriber(i)), 300)
    print(
        f"message build, #324 ({len(composed.html.encode()) / 1024:.1f} KB HTML, "
        f"{size / 1024:.1f} KB message), one core:"
    )
    print(f"  weekly MessageFactory   {ours:>9,.0f} messages/s   (target >= 5,000)")
    print(f"    with DKIM signing     {dkim_on:>9,.0f} messages/s   (target > 1,000)")
    print(f"  EmailMessage baseline   {stdlib:>9,.0f} messages/s")
    print(f"  speed-up                {ours / stdlib:>9,.1f} x")


def weekly_send(root: Path, *options: str) -> list[str]:
    """The command line of `weekly send 324` on the scratch newsletter."""
    return [sys.executable, "-m", "weekly", "send", "324", *options, "--root", str(root)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_measured(command: list[str], env: dict[str, str]) -> tuple[str, float, int]:
    """Run `command`; its output, wall seconds and peak RSS in KB."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{output}")
    return output, time.perf_counter() - started, usage.ru_maxrss


def set_delivery(root: Path, port: int, concurrency: int) -> None:
    path = root / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^port = \d+", f"port = {port}", text)
    text = re.sub(r"(?m)^concurrency = \d+", f"concurrency = {concurrency}", text)
    text = re.sub(r"(?m)^rate = [\d.]+", "rate = 1000000", text)
    path.write_text(text, encoding="utf-8")


def write_list(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,status\n")
        for i in range(rows):
            out.write(f"reader{i}@example.com,{NAMES[i % len(NAMES)]},subscribed\n")


def delivery(root: Path, recipients: int, concurrency: int, rounds: int) -> None:
    if not (SINK.exists() and SOURCE.exists()):
        print(
            "delivery: skipped, needs /usr/sbin/smtp-sink and smtp-source (apt-get install postfix)"
        )
        return
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([str(SINK), *user, f"127.0.0.1:{port}", "256"])
    try:
        time.sleep(0.5)
        set_delivery(root, port, concurrency)
        write_list(root / "subscribers.csv", recipients)
        size = len(
            MessageFactory(load_composed(root, 324), load_config(root), SECRET.encode())
            .build(subscriber(0))
            .data
        )
        env = {**os.environ, "WEEKLY_SECRET": SECRET}
        send = weekly_send(root, "--yes", "--silent")
        source = [
            str(SOURCE),
            "-d",
            "-s",
            "20",
            "-m",
            str(recipients),
            "-l",
            str(size),
            f"127.0.0.1:{port}",
        ]
        ours, signed, theirs, walls, rss = [], [], [], [], []
        plain, signing = dkim_variant(root)

        def measured(config: str) -> float:
            (root / "weekly.toml").write_text(config, encoding="utf-8")
            shutil.rmtree(root / ".weekly", ignore_errors=True)
            output, wall, peak = run_measured(send, env)
            match = re.search(r"in ([\d.]+) s \(([\d,.]+) messages/s\)", output)
            assert match and f"Sent {recipients:,}," in output, output
            walls.append(wall)
            rss.append(peak)
            return float(match[2].replace(",", ""))

        for _ in range(rounds):
            ours.append(measured(plain))
            signed.append(measured(signing))
            _, seconds, _ = run_measured(source, env)
            theirs.append(recipients / seconds)
        (root / "weekly.toml").write_text(plain, encoding="utf-8")
    finally:
        sink.terminate()
        sink.wait()
    print(
        f"delivery to smtp-sink on 127.0.0.1, {recipients:,} recipients, "
        f"{size / 1024:.1f} KB each, {rounds} rounds alternating:"
    )
    print(
        f"  weekly send, ledger on, concurrency {concurrency}: "
        f"best {max(ours):,.0f}/s, median {statistics.median(ours):,.0f}/s "
        f"(whole command median {statistics.median(walls):.1f} s, "
        f"peak RSS {max(rss) / 1024:.0f} MB)"
    )
    print(
        f"  weekly send, DKIM on as well:        "
        f"best {max(signed):,.0f}/s, median {statistics.median(signed):,.0f}/s"
    )
    print(
        f"  smtp-source -d -s 20:                 best {max(theirs):,.0f}/s, "
        f"median {statistics.median(theirs):,.0f}/s"
    )
    print(
        f"  ratio: best {max(ours) / max(theirs):.2f}, "
        f"median {statistics.median(ours) / statistics.median(theirs):.2f}   (target >= 0.5)"
    )


def dry_run(root: Path, rows: int) -> None:
    shutil.rmtree(root / ".weekly", ignore_errors=True)  # no ledger: all rows would go
    big = root / "big.csv"
    write_list(big, rows)
    env = {**os.environ, "WEEKLY_SECRET": SECRET}
    command = weekly_send(root, "--dry-run", "--silent", "--list", str(big))
    output, wall, peak = run_measured(command, env)
    print(
        f"dry run over {rows:,} rows: {wall:.1f} s, peak RSS {peak / 1024:.0f} MB (target < 150 MB)"
    )
    print(f"  {output.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="0 skips delivery")
    parser.add_argument("--rows", type=int, default=1_000_000, help="0 skips the dry run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="weekly-bench-") as scratch:
        root = copy_newsletter(Path(scratch))
        compose_to_build(root, 324)
        build_rates(root)
        if args.rounds:
            delivery(root, args.recipients, args.concurrency, args.rounds)
        if args.rows:
            dry_run(root, args.rows)


if __name__ == "__main__":
    main()
