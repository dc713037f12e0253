"""Serve benchmark: tracked-link redirects and one-click unsubscribe POSTs against a running
`weekly serve` on 127.0.0.1, with the hit log and consent log in SQLite and in PostgreSQL.

Run: .venv/bin/python bench/serve.py [--seconds 10] [--connections 32] [--rate 2000]
     [--stores sqlite,postgresql]
PostgreSQL needs initdb and pg_ctl (`sudo apt-get install postgresql`); the benchmark starts
its own throwaway cluster on 127.0.0.1, as the tests do. Every request goes to 127.0.0.1,
over keep-alive connections (as from the site's HTTPS proxy), each phase bounded in time.

Redirects run twice: paced at --rate (the latency a reader sees at that load) and as fast as
they are answered (the most serve does). Per phase: requests answered per second, latency
percentiles, and the store's count after serve stopped (every 302 must be one hit in the
hit log, every POST one consent event).
Targets: >= 2,000 redirects/s with p99 <= 50 ms, every hit counted, on either store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from compose import copy_newsletter  # bench/compose.py, beside this file
from send import SECRET, free_port, load_average  # bench/send.py, beside this file

from weekly.addresses import list_id_of
from weekly.audience.tokens import make_token, visitor_mark
from weekly.config import load_config
from weekly.render.compose import compose_to_build
from weekly.render.links import click_path, links_of
from weekly.store import open_consent_log, open_hit_log

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pgcluster import fresh_database, temporary_cluster

READY = "weekly serve on http://127.0.0.1:"
UNSUBSCRIBE_BODY = b"List-Unsubscribe=One-Click"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@dataclass
class Phase:
    """One bounded load: how many answers of which status, and each one's latency."""

    name: str
    seconds: float
    statuses: dict[int, int]
    latencies: list[float]  # from each request's write to its answer
    behind: list[float]  # paced only: from when it was due, the client's own lateness too

    def line(self) -> str:
        ok = sum(self.statuses.values())
        p50, p99 = percentiles(self.latencies)
        worst = max(self.latencies, default=0) * 1000
        text = (
            f"  {self.name:<12} {ok / self.seconds:>8,.0f} requests/s   p50 {p50:6.2f} ms   "
            f"p99 {p99:6.2f} ms   max {worst:7.2f} ms   statuses {dict(self.statuses)}"
        )
        if self.behind:
            text += f"\n{'':<14} from when due: p50 {percentiles(self.behind)[0]:6.2f} ms   "
            text += f"p99 {percentiles(self.behind)[1]:6.2f} ms"
        return text


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else [0.0] * 99
    return cuts[49] * 1000, cuts[98] * 1000


async def one_connection(
    port: int,
    requests: list[bytes],
    until: float,
    statuses: dict[int, int],
    lat: list[float],
    behind: list[float],
    interval: float,
) -> None:
    """Send `requests` in turn over one keep-alive connection until the deadline: each as
    soon as the last is answered, or with `interval` on a schedule (then the time from when
    it was due is kept too, so a stall is not hidden by the requests it held back)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    due = time.perf_counter() + interval * random.random()
    while time.perf_counter() < until and i < len(requests):
        if interval:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        started = time.perf_counter()
        writer.write(requests[i])
        i += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        lat.append(time.perf_counter() - started)
        if interval:
            behind.append(time.perf_counter() - due)
            due += interval
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


def load(
    name: str,
    port: int,
    requests: list[bytes],
    connections: int,
    seconds: float,
    rate: float = 0.0,
) -> Phase:
    """Spread `requests` over `connections` and run them for at most `seconds`: as fast as
    they are answered, or at `rate` requests a second in all."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    behind: list[float] = []
    interval = connections / rate if rate else 0.0
    share = [requests[i::connections] for i in range(connections)]

    async def run() -> float:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *(
                one_connection(port, part, until, statuses, latencies, behind, interval)
                for part in share
            )
        )
        return time.perf_counter() - started

    took = asyncio.run(run())
    return Phase(name, took, statuses, latencies, behind)


def click_requests(root: Path, count: int) -> list[bytes]:
    """GETs of tracked links of #324, each with its own anonymous mark made an hour ago."""
    links = links_of(root, 324)
    made = int(time.time()) - 3600
    out = []
    for i in range(count):
        mark = visitor_mark(SECRET.encode(), None, made)
        path = "/" + click_path(324, links[i % len(links)].number, mark)
        out.append(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER}\r\n\r\n".encode()
        )
    return out


def unsubscribe_requests(root: Path, count: int) -> list[bytes]:
    """RFC 8058 one-click POSTs, each for its own address."""
    list_id = list_id_of(load_config(root).newsletter.sender)
    out = []
    for i in range(count):
        token = make_token(SECRET.encode(), list_id, f"reader{i}@example.com")
        out.append(
            f"POST /unsubscribe/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(UNSUBSCRIBE_BODY)}\r\n\r\n".encode()
            + UNSUBSCRIBE_BODY
        )
    return out


def start_serve(root: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "weekly", "serve", "--port", str(port), "--root", str(root)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    for line in process.stderr:
        if READY in line:
            return process
    sys.exit(f"weekly serve did not start: {process.wait()}")


def stop_serve(process: subprocess.Popen[str]) -> str:
    """SIGTERM, then what it logged after the start (the hit writer's summary)."""
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    return rest


def run_store(root: Path, label: str, env: dict[str, str], args: argparse.Namespace) -> None:
    """Both phases against one serve on one store, then the store's counts."""
    port = free_port()
    clicks = click_requests(root, args.max_requests)
    posts = unsubscribe_requests(root, args.max_requests)
    process = start_serve(root, port, env)
    try:
        load("warm-up", port, clicks[:500], 8, 5.0)
        cut = 500 + int(args.rate * args.seconds * 1.1)
        paced = load("redirects", port, clicks[500:cut], args.connections, args.seconds, args.rate)
        paced.name = f"  at {args.rate:,.0f}/s"
        redirects = load("redirects", port, clicks[cut:], args.connections, args.seconds)
        unsubs = load("unsubscribes", port, posts, args.connections, args.seconds)
    finally:
        log = stop_serve(process)
    os.environ.update(env)
    hit_log, consent = open_hit_log(root), open_consent_log(root)
    try:
        hits = sum(t.total for t in hit_log.tallies(324))
        events = len(consent.standings())
    finally:
        hit_log.close()
        consent.close()
    answered = sum(phase.statuses.get(302, 0) for phase in (paced, redirects)) + 500
    print(f"{label}, {args.connections} connections, {load_average()}:")
    print(paced.line())
    print(redirects.line())
    print(unsubs.line())
    print(f"  hit log: {hits:,} hits for {answered:,} redirects answered (warm-up included)")
    print(f"  consent log: {events:,} unsubscribed for {unsubs.statuses.get(200, 0):,} POSTs")
    for line in log.splitlines():
        if "hit log" in line or "dropped" in line:
            print(f"  serve: {line.strip()}")
    os.environ.pop("WEEKLY_STORE_URL", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase, at most")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=150_000, help="per phase, at most")
    parser.add_argument("--rate", type=float, default=2_000.0, help="the paced phase's rate")
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"bench/serve.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {load_average()}")
    stores = args.stores.split(",")
    with tempfile.TemporaryDirectory(prefix="weekly-bench-") as scratch:
        root = copy_newsletter(Path(scratch))
        with (root / "weekly.toml").open("a", encoding="utf-8") as toml:
            toml.write('\n[tracking]\nclicks = "aggregate"\nopens = "aggregate"\n')
        compose_to_build(root, 324)
        env = {**os.environ, "WEEKLY_SECRET": SECRET}
        env.pop("WEEKLY_STORE_URL", None)
        if "sqlite" in stores:
            run_store(root, "SQLite (.weekly/*.sqlite)", env, args)
        if "postgresql" in stores:
            with temporary_cluster() as admin:
                url = fresh_database(admin, "weekly_bench_serve")
                run_store(root, "PostgreSQL", {**env, "WEEKLY_STORE_URL": url}, args)


if __name__ == "__main__":
    main()
