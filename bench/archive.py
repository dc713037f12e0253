"""Time `weekly archive` on ten years of weekly issues: from scratch, then after one edit.

Run: .venv/bin/python bench/archive.py   (targets: under 5 s and under 0.5 s)
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from weekly.archive import build_archive

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


def timed(root: Path, out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    summary = build_archive(root, out)
    return time.perf_counter() - start, len(summary.report.written)


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        make_newsletter(root, ISSUES)
        out = root / "site"
        scratch, written = timed(root, out)
        print(f"from scratch: {scratch:.2f} s, {written} files written (target < 5 s)")
        section = sorted((root / "issues" / str(ISSUES)).glob("[0-9]*.md"))[0]
        section.write_text(section.read_text(encoding="utf-8") + "\n한 문단 더.\n", "utf-8")
        again, written = timed(root, out)
        print(f"one section changed: {again:.3f} s, {written} files written (target < 0.5 s)")
        unchanged, written = timed(root, out)
        print(f"nothing changed: {unchanged:.3f} s, {written} files written")


if __name__ == "__main__":
    main()
