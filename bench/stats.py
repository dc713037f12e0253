"""Stats benchmark: `weekly stats` (every issue, and one issue with its links) over 100,000
ledger rows and 1,000,000 hits, in SQLite and in PostgreSQL (a throwaway cluster on
127.0.0.1, as the tests start), in-process.

Run: .venv/bin/python bench/stats.py [--rows 100000] [--hits 1000000] [--issues 10]
Target: each report in a few seconds (the store aggregates; Python sees one row per
issue, kind, link and agent).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from compose import copy_newsletter  # bench/compose.py, beside this file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pgcluster import binaries, fresh_database, temporary_cluster
from weekly.cli import main
from weekly.clock import stamp
from weekly.config import load_config
from weekly.stats.figures import all_figures, issue_figures
from weekly.store import open_hit_log, open_ledger
from weekly.store.hits import AGENTS, CLICK, OPEN, Hit

BATCH = 20_000


def fill(root: Path, rows: int, hits: int, issues: int) -> None:
    """`rows` ledger rows spread over `issues` sends (issue 324 the last), and `hits` hits."""
    numbers = list(range(325 - issues, 325))
    ledger = open_ledger(root)
    try:
        for number in numbers:
            ledger.set_fingerprint(number, "bench")
            keys = [(f"r{i}@example.com",) * 2 for i in range(rows // issues)]
            ledger.add(number, keys)
            for key, _ in keys[: len(keys) // 2]:  # half delivered, half still pending
                ledger.mark(number, key, "sent", "250 ok")
    finally:
        ledger.close()
    chance = random.Random(15)
    log = open_hit_log(root)
    try:
        now = stamp()
        for start in range(0, hits, BATCH):
            log.record(
                [
                    Hit(
                        chance.choice(numbers),
                        kind := chance.choice((CLICK, OPEN)),
                        chance.randint(1, 5) if kind == CLICK else 0,
                        chance.choice(AGENTS),
                        f"v{chance.randrange(rows // issues)}",
                        now,
                    )
                    for _ in range(min(BATCH, hits - start))
                ]
            )
    finally:
        log.close()


def measure(root: Path, label: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    fill(root, args.rows, args.hits, args.issues)
    print(f"{label}: filled in {time.perf_counter() - started:.1f} s", flush=True)
    config = load_config(root)
    for name, report in (
        ("every issue", lambda: all_figures(config)),
        ("issue 324 with links", lambda: issue_figures(config, 324)),
    ):
        started = time.perf_counter()
        report()
        print(f"{label}: {name}: {time.perf_counter() - started:.2f} s", flush=True)


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--issues", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = copy_newsletter(Path(scratch))
        main(["compose", "324", "--root", str(root)], standalone_mode=False)
        os.environ.pop("WEEKLY_STORE_URL", None)
        measure(root, "sqlite", args)
        if binaries() is None:
            print("postgresql: skipped (no initdb/pg_ctl)")
            return
        with temporary_cluster() as admin:
            os.environ["WEEKLY_STORE_URL"] = fresh_database(admin, "weekly_bench_stats")
            measure(root, "postgresql", args)


if __name__ == "__main__":
    main_bench()
