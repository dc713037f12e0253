"""Branch coverage per package of src/weekly from the combined data (the CLI's subprocesses
included); exit 1 when a package falls under its floor in pyproject.toml."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    floors: dict[str, float] = settings["tool"]["weekly"]["coverage-floor"]
    out = ROOT / ".coverage-data" / "report.json"  # not coverage.*: combine reads those
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-q", "-o", str(out)], check=True, cwd=ROOT
    )
    files = json.loads(out.read_text(encoding="utf-8"))["files"]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for name, data in files.items():
        inside = Path(name).parts[Path(name).parts.index("weekly") + 1 :]
        package = inside[0] if len(inside) > 1 else "(top)"  # (top): modules of weekly itself
        summary = data["summary"]
        for key in (package, "all"):
            total = totals[key]
            total[0] += summary["covered_lines"]
            total[1] += summary["num_statements"]
            total[2] += summary["covered_branches"]
            total[3] += summary["num_branches"]
    failed = []
    print(f"{'package':<10} {'lines':>15} {'branches':>15} {'floor':>6}")
    for package in sorted(totals, key=lambda p: (p == "all", p)):
        lines, statements, taken, branches = totals[package]
        line_pct = 100 * lines / statements if statements else 100.0
        branch_pct = 100 * taken / branches if branches else 100.0
        floor = floors.get(package)
        mark = ""
        if floor is not None and round(branch_pct, 1) < floor:
            failed.append(
                f"{package}: branch coverage {branch_pct:.1f} % is under its floor {floor} %"
            )
            mark = "  <- under"
        print(
            f"{package:<10} {line_pct:>6.1f} % {statements:>5} {branch_pct:>6.1f} % {branches:>5}"
            f" {'' if floor is None else f'{floor:g}':>6}{mark}"
        )
    for line in failed:
        print(line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
