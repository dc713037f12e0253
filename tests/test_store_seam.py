"""The store seam: SQL, the SQLite driver and the fcntl lock file stay inside `weekly.store`."""

from __future__ import annotations

import ast
from pathlib import Path

import weekly

PACKAGE = Path(weekly.__file__).parent
CONFINED = {"sqlite3", "fcntl"}


def imported(tree: ast.AST) -> set[str]:
    """The top-level module names a parsed module imports, however it spells the import."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_store_imports_sqlite3_or_fcntl() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "store":
            continue
        found = imported(ast.parse(path.read_text(encoding="utf-8"))) & CONFINED
        offenders += [f"{relative}: {name}" for name in sorted(found)]
    assert offenders == []


def test_the_store_seam_is_found_by_the_walk() -> None:
    """The walk sees the imports it guards against (else the test above proves nothing)."""
    found = set()
    for path in (PACKAGE / "store").rglob("*.py"):
        found |= imported(ast.parse(path.read_text(encoding="utf-8")))
    assert found >= CONFINED
