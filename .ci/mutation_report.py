"""Write mutmut's results as a table per module and per package into docs/mutation.md,
between its markers; the notes around them (why a survivor is equivalent) are kept."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "mutation.md"
BEGIN, END = "<!-- mutation results: begin -->", "<!-- mutation results: end -->"
# Statuses that mean a test (or the type checker) noticed the mutant.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
NOT_RUN = {"not checked", "skipped"}


def results() -> dict[str, str]:
    """Each mutant's status, from `mutmut results --all true`."""
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def table(statuses: dict[str, str]) -> list[str]:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_module[module_of(name)][status] += 1
        by_module[".".join(module_of(name).split(".")[:2]) + " (package)"][status] += 1
    rows = [
        "| module | mutants | killed | survived | no tests | score |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for module in sorted(
        by_module, key=lambda m: (m.split(" ")[0].split(".")[:2], " " not in m, m)
    ):
        counts = by_module[module]
        tried = sum(n for status, n in counts.items() if status not in NOT_RUN)
        killed = sum(n for status, n in counts.items() if status in KILLED)
        if not tried:
            continue  # not in this run's selection
        score = f"{100 * killed / tried:.0f} %"
        name = f"**{module}**" if " " in module else module
        rows.append(
            f"| {name} | {tried} | {killed} | {counts['survived']} | {counts['no tests']}"
            f" | {score} |"
        )
    survivors = sorted(n for n, s in statuses.items() if s in ("survived", "no tests"))
    rows += ["", f"Surviving mutants ({len(survivors)}; `mutmut show NAME` prints one):", ""]
    rows += [f"- `{name}` ({statuses[name]})" for name in survivors]
    return rows


def main(argv: list[str]) -> int:
    """`--run TEXT`: a line on the run (its selection and wall time) above the table."""
    run = argv[argv.index("--run") + 1] if "--run" in argv else ""
    statuses = results()
    if not statuses:
        print("no mutmut results: run `make mutate` first", file=sys.stderr)
        return 1
    text = (
        DOC.read_text(encoding="utf-8")
        if DOC.exists()
        else f"# Mutation testing\n\n{BEGIN}\n{END}\n"
    )
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    lines = [f"Last run: {run}.", ""] if run else []
    DOC.write_text(
        "\n".join([head + BEGIN, *lines, *table(statuses), END]) + tail, encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
