"""Time `weekly archive` on ten years of weekly issues: from scratch, then after one edit.

Run: .venv/bin/python bench/archive.py   (targets: under 5 s and under 0.5 s)
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from weekly.publish.archive import build_archive

REPO = Path(__file__).resolve().parent.parent
ISSUES = 520
FIRST_DATE = dt.date(2016, 1, 7)


def make_newsletter(root: Path, count: int) -> None:
    """`count` weekly issues made by cycling through the example issues, dated a week apart."""
    shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
    examples = sorted((REPO / "issues").iterdir())
    for number in range(1, count + 1):
        folder = root / "issues" / str(number)
        shutil.copytree(examples[number % len(examples)], folder)
        head = folder / "issue.md"
        date = FIRST_DATE + dt.timedelta(weeks=number - 1)
        lines = head.read_text(encoding="utf-8").splitlines(keepends=True)
        for index, line in enumerate(lines):
            if line.startswith("title: "):
                lines[index] = f"{line.rstrip()} ({number})\n"
            elif line.startswith("date: "):
                lines[index] = f"date: {date.isoformat()}\n"
            elif line.startswith("subject: "):
                lines[index] = ""
        head.write_text("".join(lines), encoding="utf-8")


def timed(root: Path, out: Path) -> str:
    """One build: wall time, CPU time (steadier when the machine is shared), files written."""
    wall, cpu = time.perf_counter(), time.process_time()
    summary = build_archive(root, out)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return f"{wall:.3f} s (CPU {cpu:.3f} s), {len(summary.report.written)} files written"


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        make_newsletter(root, ISSUES)
        out = root / "site"
        print(f"from scratch: {timed(root, out)} (target < 5 s)")
        section = sorted((root / "issues" / str(ISSUES)).glob("[0-9]*.md"))[0]
        section.write_text(section.read_text(encoding="utf-8") + "\n한 문단 더.\n", "utf-8")
        print(f"one section changed: {timed(root, out)} (target < 0.5 s)")
        print(f"nothing changed: {timed(root, out)}")


if __name__ == "__main__":
    main()
