"""mutmut's type check for `make mutate` ([tool.mutmut] type_check_command runs it in mutants/):
mypy over mutmut's copy of the package, printed as mypy's JSON lines, less what mutmut's own
rewriting causes. A mutant mypy rejects is one `make test` (mypy strict) rejects: killed
without running its tests. Usage: python -m tests.mutant_types mypy"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

MUTANT = "__mutmut_"
ORIGINAL = MUTANT + "orig"
# What mutmut's copy shows whatever the mutant: its trampolines carry `# type: ignore`
# comments that the original never needed, and each copy of an `__init__` declares the
# attributes again. Neither can tell a mutant from its original.
MYPY = [
    sys.executable, "-m", "mypy", "--output", "json",
    "--no-warn-unused-ignores", "--disable-error-code", "no-redef",
]  # fmt: skip


def copies(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of each function copy mutmut made, original included;
    they sit at module level or in a class body, never nested."""
    found = []
    for node in tree.body:
        bodies = node.body if isinstance(node, ast.ClassDef) else [node]
        for inner in bodies:
            if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and MUTANT in inner.name:
                found.append((inner.lineno, inner.end_lineno or inner.lineno, inner.name))
    return found


def mutants_errors(errors: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """The errors of one file that lie in a mutant and that its original does not have too
    (an error the original has comes from the copy, not the mutation)."""
    spans = copies(ast.parse(source))

    def where(line: int) -> str | None:
        return next((name for first, last, name in spans if first <= line <= last), None)

    original: dict[str, set[str]] = defaultdict(set)
    for error in errors:
        name = where(error["line"])
        if name is not None and name.endswith(ORIGINAL):
            original[name.partition(MUTANT)[0]].add(error["message"])
    kept = []
    for error in errors:
        name = where(error["line"])
        if name is None or name.endswith(ORIGINAL):
            continue  # a trampoline, a wrapper or the original: the same in every mutant
        if error["message"] not in original[name.partition(MUTANT)[0]]:
            kept.append(error)
    return kept


def main() -> int:
    """Run mypy in the current folder (mutmut's copy) and print the mutants' own errors."""
    out = subprocess.run(MYPY, capture_output=True, text=True, check=False).stdout
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in out.splitlines():
        if line.strip():
            error = json.loads(line)
            if error.get("severity") == "error":
                by_file[error["file"]].append(error)
    for file, errors in sorted(by_file.items()):
        for error in mutants_errors(errors, Path(file).read_text(encoding="utf-8")):
            print(json.dumps(error))
    print()  # mutmut reads mypy's lone newline when nothing is left
    return 0


if __name__ == "__main__":
    sys.exit(main())
