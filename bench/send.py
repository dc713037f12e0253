"""Send benchmark: message building; `weekly send` against Postfix's smtp-source, both timed
as whole processes; a run with SMTP faults; a million-row dry run.

Run: .venv/bin/python bench/send.py [--sizes 10000:5,100000:3] [--dkim-sizes 10000]
     [--concurrency 8] [--fault-recipients 1000] [--fault-limit 180] [--rows 1000000]
Delivery needs /usr/sbin/smtp-sink and /usr/sbin/smtp-source, Postfix's test programs:
`sudo apt-get install postfix` on Debian/Ubuntu (choose "No configuration"; only the two
programs run, on a 127.0.0.1 port, and no mail server is started). Every load goes to
127.0.0.1 only.

Both clients are timed the same way: a small launcher (bench/launch.py) forks the command
and takes the wall clock from fork to exit and the child's own peak RSS from wait4. Each
round runs them back to back and the ratio is taken within the round, because this machine
is shared and its speed drifts between minutes.
Targets: >= 5,000 messages built per second per core; `weekly send` >= 0.8 x `smtp-source
-d -s 20` at 100,000 recipients; in the fault run the healthy recipients are all delivered
within 1.3 x the time of the same run without faults, and the run ends once the last
greylisted retry is due; the 1,000,000-row dry run under 150 MB peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from compose import copy_newsletter  # bench/compose.py, beside this file
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fault_smtp import Faults, FaultServer  # bench/fault_smtp.py

from weekly.audience.subscriber_list import Subscriber
from weekly.config import load_config
from weekly.deliver.message import MessageFactory
from weekly.placeholders import Filler
from weekly.render.compose import compose_to_build
from weekly.render.composed import Composed, load_composed

SECRET = "benchmark-secret-not-for-production"
SINK = Path("/usr/sbin/smtp-sink")
SOURCE = Path("/usr/sbin/smtp-source")
GET_POSTFIX = 'sudo apt-get install postfix (Debian/Ubuntu; choose "No configuration")'
LAUNCH = Path(__file__).with_name("launch.py")
FAULT_RATE = 200
RETRY_DELAY = 2.0  # delivery.retry_delay in the fault run (its default too)
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


def wait_for_port(port: int, within: float = 10.0) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"nothing listens on 127.0.0.1:{port} after {within:.0f} s")
            time.sleep(0.05)


def load_average() -> str:
    return "load average " + " ".join(f"{n:.1f}" for n in os.getloadavg())


@dataclass(frozen=True)
class Measured:
    """One whole process: wall seconds from fork to exit, its own peak RSS, its stdout."""

    wall: float
    status: int
    cpu: float  # user + system seconds of the process (and any children it waited for)
    peak_rss_kb: int
    floor_kb: int  # the launcher's own RSS: no lower peak can show
    output: str


def measure(command: list[str], env: dict[str, str], scratch: Path) -> Measured:
    """Run `command` through bench/launch.py (see there why not straight from here)."""
    report = scratch / "launch.json"
    launcher = [sys.executable, "-I", "-S", str(LAUNCH), str(report)]
    done = subprocess.run(
        [*launcher, *command], env=env, stdout=subprocess.PIPE, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"the launcher failed ({done.returncode}) for: {' '.join(command)}")
    figures = json.loads(report.read_text(encoding="ascii"))
    return Measured(
        figures["wall"],
        figures["status"],
        figures["cpu"],
        figures["peak_rss_kb"],
        figures["floor_kb"],
        done.stdout,
    )


def set_delivery(
    root: Path, port: int, concurrency: int, rate: int, retry_delay: float | None = None
) -> None:
    """Point the scratch weekly.toml at `port` with these [delivery] settings."""
    path = root / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^port = \d+", f"port = {port}", text)
    text = re.sub(r"(?m)^concurrency = \d+", f"concurrency = {concurrency}", text)
    text = re.sub(r"(?m)^rate = \S+", f"rate = {rate}", text)
    text = re.sub(r"(?m)^retry_delay = \S+\n", "", text)
    if retry_delay is not None:
        text = text.replace("[delivery]\n", f"[delivery]\nretry_delay = {retry_delay}\n", 1)
    path.write_text(text, encoding="utf-8")


def write_list(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,status\n")
        for i in range(rows):
            out.write(f"reader{i}@example.com,{NAMES[i % len(NAMES)]},subscribed\n")


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


class Comparison:
    """`weekly send` (DKIM off, and on where asked) and smtp-source, to one smtp-sink."""

    def __init__(self, root: Path, port: int, concurrency: int, scratch: Path) -> None:
        set_delivery(root, port, concurrency, rate=1_000_000)
        self.root, self.port, self.concurrency, self.scratch = root, port, concurrency, scratch
        self.plain, self.signing = dkim_variant(root)
        composed, config = load_composed(root, 324), load_config(root)
        self.size = len(MessageFactory(composed, config, SECRET.encode()).build(subscriber(0)).data)
        self.env = {**os.environ, "WEEKLY_SECRET": SECRET}

    def weekly(self, recipients: int, config: str) -> tuple[Measured, float]:
        """One `weekly send` on a fresh ledger; its measurement and its own reported rate."""
        (self.root / "weekly.toml").write_text(config, encoding="utf-8")
        shutil.rmtree(self.root / ".weekly", ignore_errors=True)
        run = measure(weekly_send(self.root, "--yes", "--silent"), self.env, self.scratch)
        own = re.search(r"\(([\d,.]+) messages/s\)", run.output)
        if run.status or not own or f"Sent {recipients:,}," not in run.output:
            sys.exit(f"weekly send failed ({run.status}):\n{run.output}")
        return run, float(own[1].replace(",", ""))

    def source(self, recipients: int) -> Measured:
        command = [str(SOURCE), "-d", "-s", "20", "-m", str(recipients), "-l", str(self.size)]
        run = measure([*command, f"127.0.0.1:{self.port}"], self.env, self.scratch)
        if run.status:
            sys.exit(f"smtp-source failed ({run.status}):\n{run.output}")
        return run

    def rounds(self, recipients: int, rounds: int, dkim: bool) -> None:
        """`rounds` rounds of weekly, smtp-source (and weekly with DKIM), each one after the
        other; prints every run and the medians of the per-round ratios."""
        write_list(self.root / "subscribers.csv", recipients)
        print(
            f"weekly send vs smtp-source -d -s 20, {recipients:,} recipients of "
            f"{self.size / 1024:.1f} KB, smtp-sink on 127.0.0.1, weekly concurrency "
            f"{self.concurrency}, {rounds} round(s), {load_average()} at the start:"
        )
        plain: list[Measured] = []
        signed: list[Measured] = []
        theirs: list[Measured] = []
        own_rates: list[float] = []
        for number in range(1, rounds + 1):
            run, own = self.weekly(recipients, self.plain)
            plain.append(run)
            own_rates.append(own)
            theirs.append(self.source(recipients))
            line = (
                f"  round {number}: weekly {run.wall:6.2f} s, smtp-source "
                f"{theirs[-1].wall:6.2f} s, ratio {theirs[-1].wall / run.wall:.2f}"
            )
            if dkim:
                signed.append(self.weekly(recipients, self.signing)[0])
                line += f"; weekly+DKIM {signed[-1].wall:6.2f} s, ratio "
                line += f"{theirs[-1].wall / signed[-1].wall:.2f}"
            print(line, flush=True)
        (self.root / "weekly.toml").write_text(self.plain, encoding="utf-8")
        self._summary(recipients, plain, theirs, "weekly send")
        print(
            f"    (its own timer, which starts after start-up and validation, said median "
            f"{statistics.median(own_rates):,.0f}/s)"
        )
        if dkim:
            self._summary(recipients, signed, theirs, "weekly send, DKIM on")
        source_rss = max(r.peak_rss_kb for r in theirs)
        floor = max(r.floor_kb for r in theirs)
        print(
            f"  smtp-source -d -s 20: median {statistics.median(r.wall for r in theirs):.2f} s"
            f" = {recipients / statistics.median(r.wall for r in theirs):,.0f}/s, CPU "
            f"{statistics.median(r.cpu for r in theirs):.2f} s, peak RSS "
            f"{mb(source_rss)} (the launcher's own {mb(floor)} is the floor)"
        )
        print(f"  {load_average()} at the end")

    @staticmethod
    def _summary(recipients: int, ours: list[Measured], theirs: list[Measured], name: str) -> None:
        wall = statistics.median(r.wall for r in ours)
        ratios = [t.wall / o.wall for o, t in zip(ours, theirs, strict=True)]
        ratio = statistics.median(ratios)
        verdict = ""
        if recipients >= 100_000 and name == "weekly send":
            verdict = f"   (target >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'})"
        print(
            f"  {name}: median {wall:.2f} s = {recipients / wall:,.0f}/s, CPU "
            f"{statistics.median(r.cpu for r in ours):.2f} s, peak RSS "
            f"{mb(max(r.peak_rss_kb for r in ours))}; ratio to smtp-source in the same round: "
            f"median {ratio:.2f} (rounds {', '.join(f'{r:.2f}' for r in ratios)}){verdict}"
        )


def delivery(
    root: Path, sizes: list[tuple[int, int]], dkim_sizes: set[int], concurrency: int, scratch: Path
) -> None:
    if not (SINK.exists() and SOURCE.exists()):
        print(f"delivery: skipped, needs {SINK} and {SOURCE}: {GET_POSTFIX}")
        return
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([str(SINK), *user, f"127.0.0.1:{port}", "256"])
    try:
        wait_for_port(port)
        comparison = Comparison(root, port, concurrency, scratch)
        for recipients, rounds in sizes:
            comparison.rounds(recipients, rounds, recipients in dkim_sizes)
    finally:
        sink.terminate()
        sink.wait()


@dataclass
class FaultRun:
    """One `weekly send` against the fault server: what the server saw and when."""

    server: FaultServer
    started: float  # time.monotonic() just before the process was started
    exited: float | None  # seconds after `started`; None when it was killed at the limit
    output: str

    def done_at(self, addresses: list[str]) -> float | None:
        """Seconds after start until every one of `addresses` was stored, if all were."""
        stored = self.server.stored
        if not addresses or not all(stored.get(a) for a in addresses):
            return None
        return max(stored[a][0] for a in addresses) - self.started


def latest_due(tries: list[float]) -> float:
    """The latest moment the last of `tries` (RCPT times of one address) could be due if no
    retry is held back: its first try plus the longest backoffs after each refusal (doubling
    from RETRY_DELAY, jitter up to 1.5x, as weekly's `delivery.retry_delay` documents)."""
    return tries[0] + 1.5 * RETRY_DELAY * (2 ** (len(tries) - 1) - 1)


async def send_to_faults(root: Path, faults: Faults, limit: float) -> FaultRun:
    """Run `weekly send` against a fresh fault server, killed after `limit` seconds."""
    server = FaultServer(faults)
    listener = await server.start()
    port = listener.sockets[0].getsockname()[1]
    set_delivery(root, port, 8, rate=FAULT_RATE, retry_delay=RETRY_DELAY)
    shutil.rmtree(root / ".weekly", ignore_errors=True)
    env = {**os.environ, "WEEKLY_SECRET": SECRET}
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *weekly_send(root, "--yes", "--silent"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    exited: float | None = None
    try:
        output, _ = await asyncio.wait_for(process.communicate(), limit)
        exited = time.monotonic() - started
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
    listener.close()
    await listener.wait_closed()
    return FaultRun(server, started, exited, output.decode("utf-8", "replace"))


def seconds(value: float | None, limit: float) -> str:
    return f"{value:.1f} s" if value is not None else f"not within the {limit:.0f} s limit"


def fault_run(root: Path, recipients: int, limit: float) -> None:
    """The same send with and without faults, at `rate = 200`."""
    addresses = [f"reader{i}@example.com" for i in range(recipients)]
    grey, rejected, dropped = recipients * 5 // 100, recipients // 100, recipients // 100
    picked = random.Random(9).sample(addresses, grey + rejected + dropped)
    faults = Faults(
        greylisted=frozenset(picked[:grey]),
        rejected=frozenset(picked[grey : grey + rejected]),
        dropped=frozenset(picked[grey + rejected :]),
    )
    healthy = [a for a in addresses if a not in set(picked)]
    write_list(root / "subscribers.csv", recipients)
    print(
        f"fault run, {recipients:,} recipients, rate = {FAULT_RATE}, concurrency 8, to a fault "
        f"server on 127.0.0.1: {grey} greylisted twice (451 4.7.1 at RCPT), {rejected} "
        f"content-rejected (554 5.7.1 after DATA), {dropped} dropped mid-DATA (first try "
        f"only); {load_average()} at the start:",
        flush=True,
    )
    clean = asyncio.run(send_to_faults(root, Faults(), limit))
    faulty = asyncio.run(send_to_faults(root, faults, limit))
    before, after = clean.done_at(healthy), faulty.done_at(healthy)
    print(
        f"  without faults: all {len(healthy):,} healthy delivered at {seconds(before, limit)}"
        f", exited at {seconds(clean.exited, limit)}"
    )
    print(
        f"  with faults:    all {len(healthy):,} healthy delivered at {seconds(after, limit)}"
        f", exited at {seconds(faulty.exited, limit)}"
    )
    if before is not None and after is not None:
        verdict = "met" if after <= 1.3 * before else "NOT met"
        print(f"  healthy-delivery ratio {after / before:.2f}   (target <= 1.30: {verdict})")
    else:
        print("  healthy-delivery ratio: not measured, a run did not deliver every healthy one")
    server = faulty.server
    tries = [server.rcpt_times[a] for a in faults.greylisted]
    grey_done = sum(bool(server.stored.get(a)) for a in faults.greylisted)
    last = max(times[-1] for times in tries) - faulty.started
    due = max(latest_due(times) for times in tries) - faulty.started
    print(
        f"  greylisted: {grey_done} of {grey} delivered; the last retry was due by {due:.1f} s"
        f" at the latest (first try + longest backoffs), came at {last:.1f} s"
    )
    if faulty.exited is not None:
        verdict = "met" if faulty.exited <= due + 1.0 else "NOT met"
        print(
            f"  run ended at {faulty.exited:.1f} s, {faulty.exited - due:+.1f} s after the last "
            f"retry was due   (target: ends once it is due, within 1 s: {verdict})"
        )
    duplicates = sum(len(times) - 1 for times in server.stored.values())
    print(
        f"  content-rejected stored: {sum(bool(server.stored.get(a)) for a in faults.rejected)}"
        f"; dropped then delivered on a later try: "
        f"{sum(bool(server.stored.get(a)) for a in faults.dropped)} of {dropped}"
        f"; messages stored twice: {duplicates}"
    )
    summary = [line for line in faulty.output.splitlines() if line.startswith("Sent ")]
    print(f"  weekly said: {summary[0] if summary else faulty.output.strip()[-300:]}")
    print(f"  {load_average()} at the end")


def dry_run(root: Path, rows: int, scratch: Path) -> None:
    shutil.rmtree(root / ".weekly", ignore_errors=True)  # no ledger: all rows would go
    big = root / "big.csv"
    write_list(big, rows)
    env = {**os.environ, "WEEKLY_SECRET": SECRET}
    command = weekly_send(root, "--dry-run", "--silent", "--list", str(big))
    run = measure(command, env, scratch)
    print(
        f"dry run over {rows:,} rows: {run.wall:.1f} s, peak RSS {mb(run.peak_rss_kb)} "
        f"(target < 150 MB), {load_average()}"
    )
    print(f"  {run.output.strip()}")


def sizes_option(text: str) -> list[tuple[int, int]]:
    """`10000:5,100000:3`: recipients and rounds."""
    pairs = []
    for item in filter(None, text.split(",")):
        recipients, _, rounds = item.partition(":")
        pairs.append((int(recipients), int(rounds or 1)))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=sizes_option,
        default="10000:5,100000:3",
        help="recipients:rounds,... for weekly vs smtp-source ('' skips)",
    )
    parser.add_argument(
        "--dkim-sizes", default="10000", help="sizes that also run weekly with DKIM on"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fault-recipients", type=int, default=1000, help="0 skips")
    parser.add_argument("--fault-limit", type=float, default=180.0, help="seconds per send")
    parser.add_argument("--rows", type=int, default=1_000_000, help="0 skips the dry run")
    parser.add_argument(
        "--tracking",
        choices=("off", "aggregate", "subscriber"),
        default="off",
        help="[tracking] clicks and opens: the cost of tracked links and the open pixel",
    )
    args = parser.parse_args()
    print(f"bench/send.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {load_average()}")
    with tempfile.TemporaryDirectory(prefix="weekly-bench-") as scratch:
        root = copy_newsletter(Path(scratch))
        if args.tracking != "off":
            with (root / "weekly.toml").open("a", encoding="utf-8") as toml:
                toml.write(f'\n[tracking]\nclicks = "{args.tracking}"\nopens = "{args.tracking}"\n')
        compose_to_build(root, 324)
        build_rates(root)
        if args.sizes:
            dkim = {int(n) for n in args.dkim_sizes.split(",") if n}
            delivery(root, args.sizes, dkim, args.concurrency, Path(scratch))
        if args.fault_recipients:
            fault_run(root, args.fault_recipients, args.fault_limit)
        if args.rows:
            dry_run(root, args.rows, Path(scratch))


if __name__ == "__main__":
    main()
