"""pytest plugin for `make mutate` only ([tool.mutmut] loads it): a mutant of a module runs only
the test files [tool.weekly.mutation.tests] names for that module, not every slow end-to-end
test that happens to pass through it, within a time budget; the CLI's subprocesses import the
mutated copy."""

from __future__ import annotations

import json
import os
import signal
import tomllib
from pathlib import Path
from typing import Any

import pytest

# Where mutmut keeps each test's duration from its stats pass (mutmut runs tests in mutants/).
DURATIONS = "mutmut-stats.json"
# Wall time after which a mutant's test run counts as hung.
WALL_SECONDS = 60


def module_of(mutant: str) -> str:
    """`weekly.deliver.outcomes.x_classify__mutmut_1` -> `weekly.deliver.outcomes`."""
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def files_for(mapping: dict[str, list[str]], module: str) -> set[str]:
    """The files of the longest key that is the module or a package holding it."""
    keys = [key for key in mapping if module == key or module.startswith(key + ".")]
    return set(mapping[max(keys, key=len)]) if keys else set()


def within(items: list[pytest.Item], seconds: dict[str, float], budget: float) -> int:
    """How many of `items`, in order, fit in `budget` seconds (always the first one)."""
    spent = 0.0
    for count, item in enumerate(items):
        spent += seconds.get(item.nodeid, 0.0)
        if count and spent > budget:
            return count
    return len(items)


def _settings(root: Path) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["tool"]["weekly"]["mutation"]
    return table


def _mutant() -> str | None:
    """The mutant under test; None in mutmut's own passes (stats, listing, forced failure)."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if "__mutmut_" in name else None


def _overran(signum: int, frame: object) -> None:
    raise TimeoutError(f"a mutant's tests ran over {WALL_SECONDS} s: it hangs, a kill")


def pytest_configure(config: pytest.Config) -> None:
    if _mutant() is None:
        return
    # A mutant that makes a test wait forever uses no CPU, so mutmut's CPU limit never
    # fires and its own wall limit scales with every test that reached the function.
    signal.signal(signal.SIGALRM, _overran)
    signal.alarm(WALL_SECONDS)
    # mutmut runs the tests in mutants/, whose src/ holds the mutated copy: a `weekly`
    # subprocess started by a test then runs the mutant too (MUTANT_UNDER_TEST is inherited).
    source = str(config.rootpath / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])]
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mutant = _mutant()
    if mutant is None:
        return
    settings = _settings(config.rootpath)
    files = files_for(settings["tests"], module_of(mutant))
    keep = [item for item in items if item.path.relative_to(config.rootpath).as_posix() in files]
    stats = config.rootpath / DURATIONS
    if stats.exists():
        seconds = json.loads(stats.read_text(encoding="utf-8"))["duration_by_test"]
        keep.sort(key=lambda item: seconds.get(item.nodeid, 0.0))
        keep = keep[: within(keep, seconds, float(settings["seconds-per-mutant"]))]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
