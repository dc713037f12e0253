"""Write mutmut's results as a table per module and per package into docs/mutation.md,
between its markers; the notes around them (why a survivor is equivalent) are kept."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "mutation.md"
BEGIN, END = "<!-- mutation results: begin -->", "<!-- mutation results: end -->"
# Statuses that mean a test (or the type checker) noticed the mutant.
TYPED = "caught by type check"  # killed by mypy strict (tests/mutant_types.py), no test run
KILLED = {"killed", "timeout", TYPED, "segfault"}
NOT_RUN = {"not checked", "skipped"}
EQUIVALENT = "equivalent: SQL case"


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


# SQL reads keywords and unquoted names in any case: a mutant that only changes the case of
# an SQL string is equivalent, and is counted apart, unless the change reaches a part whose
# case counts: a quoted value or name, or a placeholder (`%S` is no placeholder to psycopg).
SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|CREATE|BEGIN|COMMIT|ROLLBACK|PRAGMA|ATTACH"
    r"|ORDER BY|GROUP BY|JOIN)\b"
)
CASED = re.compile(r"'[^']*'|\"[^\"]*\"|%\(\w+\)[sbt]|%[sbt]")


def _functions(module: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions of mutmut's copy of `module`, mutants and originals, by name."""
    path = ROOT / "mutants" / "src" / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _shape(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The function with its name and the case of its strings left out."""
    copy = ast.parse(ast.unparse(node)).body[0]
    assert isinstance(copy, (ast.FunctionDef, ast.AsyncFunctionDef))
    copy.name = ""
    for n in ast.walk(copy):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            n.value = n.value.lower()
    return ast.dump(copy)


def sql_case_only(
    mutant: str, functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
) -> bool:
    """Whether `mutant` differs from its original only in the case of SQL strings."""
    name = mutant.rpartition(".")[2]
    original = functions.get(name.partition("__mutmut_")[0] + "__mutmut_orig")
    changed = functions.get(name)
    if original is None or changed is None or _shape(original) != _shape(changed):
        return False
    pairs = [(a, b) for a, b in zip(_strings(original), _strings(changed), strict=True) if a != b]
    return bool(pairs) and all(
        SQL.search(a) and CASED.findall(a) == CASED.findall(b) for a, b in pairs
    )


def equivalents(statuses: dict[str, str]) -> set[str]:
    """The survivors that only change the case of SQL."""
    found = set()
    by_module: dict[str, list[str]] = defaultdict(list)
    for name, status in statuses.items():
        if status == "survived":
            by_module[module_of(name)].append(name)
    for module, names in by_module.items():
        functions = _functions(module)
        found |= {name for name in names if sql_case_only(name, functions)}
    return found


def module_of(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def table(statuses: dict[str, str]) -> list[str]:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_module[module_of(name)][status] += 1
        by_module[".".join(module_of(name).split(".")[:2]) + " (package)"][status] += 1
    rows = [
        "| module | run | killed | of them by mypy | survived | SQL case | no tests | score"
        " | not run yet |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for module in sorted(
        by_module, key=lambda m: (m.split(" ")[0].split(".")[:2], " " not in m, m)
    ):
        counts = by_module[module]
        tried = sum(n for status, n in counts.items() if status not in NOT_RUN)
        killed = sum(n for status, n in counts.items() if status in KILLED)
        counted = tried - counts[EQUIVALENT]
        score = f"{100 * killed / counted:.0f} %" if counted else "-"
        name = f"**{module}**" if " " in module else module
        rows.append(
            f"| {name} | {tried} | {killed} | {counts[TYPED]} | {counts['survived']}"
            f" | {counts[EQUIVALENT]}"
            f" | {counts['no tests']} | {score} | {sum(counts[status] for status in NOT_RUN)} |"
        )
    by_function: dict[tuple[str, str], list[int]] = defaultdict(list)
    for name, status in statuses.items():
        if status in ("survived", "no tests"):
            function, _, number = name.partition("__mutmut_")
            by_function[function, status].append(int(number))
    count = sum(len(numbers) for numbers in by_function.values())
    rows += ["", f"Surviving mutants ({count}) by function, with their numbers", ""]
    rows += [
        f"- `{function}` ({status}): {', '.join(map(str, sorted(numbers)))}"
        for (function, status), numbers in sorted(by_function.items())
    ]
    return rows


def main(argv: list[str]) -> int:
    """`--run TEXT`: a line on the run (its selection and wall time) above the table."""
    run = argv[argv.index("--run") + 1] if "--run" in argv else ""
    statuses = results()
    statuses.update(dict.fromkeys(equivalents(statuses), EQUIVALENT))
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
