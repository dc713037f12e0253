"""Compose benchmark: per-stage and total time for issue #324, in-process and from the shell.

Run: .venv/bin/python bench/compose.py [--runs 50] [--shell-runs 10]
Targets: whole compose < 60 ms in-process; `weekly compose 324` from the shell < 0.8 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from weekly.render.compose import Stopwatch, compose_to_build

REPO = Path(__file__).resolve().parent.parent
STAGES = ("read", "markdown", "text", "jinja", "mjml", "premailer", "checks", "write")


def copy_newsletter(into: Path) -> Path:
    """A scratch copy of the repo's newsletter, so the benchmark never touches build/."""
    root = into / "newsletter"
    root.mkdir()
    shutil.copy(REPO / "weekly.toml", root)
    shutil.copytree(REPO / "issues", root / "issues")
    if (REPO / "templates").is_dir():
        shutil.copytree(REPO / "templates", root / "templates")
    return root


def in_process(root: Path, runs: int) -> None:
    compose_to_build(root, 324)  # warm-up: imports, template compilation caches
    per_stage: dict[str, list[float]] = {name: [] for name in STAGES}
    totals = []
    for _ in range(runs):
        watch = Stopwatch()
        start = time.perf_counter()
        compose_to_build(root, 324, watch=watch)
        totals.append(time.perf_counter() - start)
        for name in STAGES:
            per_stage[name].append(watch.seconds.get(name, 0.0))
    html_kb = (root / "build/324/email.html").stat().st_size / 1024
    print(f"in-process compose of #324 ({html_kb:.1f} KB HTML), {runs} runs, median ms:")
    for name in STAGES:
        print(f"  {name:<10} {statistics.median(per_stage[name]) * 1000:7.2f}")
    print(f"  {'total':<10} {statistics.median(totals) * 1000:7.2f}   (target < 60)")


def from_shell(root: Path, runs: int) -> None:
    weekly = Path(sys.executable).with_name("weekly")
    command = [str(weekly), "compose", "324", "--root", str(root)]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    print(
        f"shell `weekly compose 324`, {runs} runs: median {statistics.median(times):.3f} s, "
        f"max {max(times):.3f} s   (target < 0.8)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--shell-runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = copy_newsletter(Path(scratch))
        in_process(root, args.runs)
        from_shell(root, args.shell_runs)


if __name__ == "__main__":
    main()
