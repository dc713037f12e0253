"""The package's shape: data flows one way between stages, no import cycle, small modules,
and only the CLI talks to the terminal. Read from the source with `ast`, nothing imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "weekly"
MAX_LINES = 400

# What each part may import besides itself. "core" is the modules directly in weekly/.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "content": {"core"},
    "render": {"core", "content"},
    "store": {"core"},
    "audience": {"core", "store"},
    "deliver": {"core", "content", "render", "audience", "store"},
    "publish": {"core", "content", "render"},
    "stats": {"core", "content", "render", "store"},
    "web": {"core", "content", "render", "audience", "store", "deliver", "publish", "stats"},
    "cli": {"core", "content", "render", "audience", "store", "deliver", "publish", "stats", "web"},
}
TERMINAL = {"echo", "secho", "prompt", "confirm", "progressbar", "pause", "edit", "launch"}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def part_of(module: str) -> str:
    """The stage a module belongs to: its first subpackage, or core."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "core"


def top_level_imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The package modules `path` imports when it is loaded (not in functions, not for
    type checking only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                yield node.module
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    yield f"{node.module}.{alias.name}"


def all_imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every package module `path` names in an import, wherever it stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module in known:
            yield node.module
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)


def test_every_stage_imports_only_what_comes_before_it() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        here = part_of(name)
        if name == "weekly.__main__":
            continue  # `python -m weekly` runs the CLI
        for target in all_imports(path, known):
            there = part_of(target)
            if there != here and there not in ALLOWED[here] and target != "weekly":
                wrong.append(f"{name} ({here}) imports {target} ({there})")
    assert wrong == []


def test_no_import_cycle() -> None:
    known = modules()
    graph = {name: set(top_level_imports(path, known)) - {name} for name, path in known.items()}
    # A package's __init__ is loaded before any of its modules: that is not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_the_limit(name: str) -> None:
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name}: {lines} lines"


def test_only_the_cli_talks_to_the_terminal() -> None:
    talking = []
    for name, path in modules().items():
        if part_of(name) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in {"print", "input"}:
                talking.append(f"{name}:{node.lineno} {func.id}()")
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in TERMINAL
                and isinstance(func.value, ast.Name)
                and func.value.id == "click"
            ):
                talking.append(f"{name}:{node.lineno} click.{func.attr}()")
    assert talking == []


def test_only_the_backend_factory_names_a_backend() -> None:
    """Callers go through deliver/backends/__init__.py, so a second backend changes no caller."""
    known = modules()
    naming = [
        name
        for name, path in known.items()
        if not name.startswith("weekly.deliver.backends")
        for target in all_imports(path, known)
        if target.startswith("weekly.deliver.backends.")
    ]
    assert naming == []
