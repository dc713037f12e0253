"""The store seam: SQL, the SQLite driver and the fcntl lock file stay inside `weekly.store`;
tests reach a store only through the `store` fixture and read it through its protocols or
tests/storerows.py, so SQLite and PostgreSQL both run them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import weekly
from weekly.errors import WeeklyError
from weekly.store import existing_consent_log

PACKAGE = Path(weekly.__file__).parent
CONFINED = {"sqlite3", "fcntl"}


def imported_modules(tree: ast.AST) -> set[str]:
    """The absolute module names a parsed module imports, however it spells the import."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def imported(tree: ast.AST) -> set[str]:
    """The top-level module names a parsed module imports."""
    return {name.split(".")[0] for name in imported_modules(tree)}


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


# The tests whose subject is the SQLite files themselves.
SQLITE_FILE_TESTS = {
    "test_bad_input.py",  # broken SQLite files
    "test_ledger.py",  # the journal mode
    "test_ledger_edges.py",  # the SQLite ledger's upgrade and rollback
    "test_sqlite_files.py",  # older and broken SQLite files
}


def test_tests_open_sqlite_files_only_where_the_files_are_the_subject() -> None:
    offenders = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        names = imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        direct = {n for n in names if n == "sqlite3" or n.startswith("weekly.store.sqlite")}
        if direct and path.name not in SQLITE_FILE_TESTS:
            offenders += [f"{path.name}: {name}" for name in sorted(direct)]
    assert offenders == []


def test_a_test_without_the_store_fixture_reaches_no_store(tmp_path: Path) -> None:
    """conftest's guard: a test that forgot `store` fails at its first touch of the store
    instead of passing on SQLite alone."""
    with pytest.raises(WeeklyError, match="a_test_that_reaches_the_store_takes_the_store_fixture"):
        existing_consent_log(tmp_path)
