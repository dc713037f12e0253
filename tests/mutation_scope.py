"""pytest plugin for `make mutate` only ([tool.mutmut] loads it): a mutant of a module runs only
the tests of the files [tool.weekly.mutation.tests] names for that module, fastest first within
a time budget, and only those files are collected; a test that hangs is stopped soon after the
time it takes without the mutant; the CLI's subprocesses import the mutant."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

# Where mutmut keeps each test's duration from its stats pass (mutmut runs tests in mutants/).
DURATIONS = "mutmut-stats.json"
# A test under a mutant may take HANG_FACTOR times the time mutmut measured for it plus
# HANG_SECONDS (its setup and teardown, a loaded machine) before it counts as hung, a kill;
# collection and the session's end get HANG_SECONDS. docs/mutation.md says how they were set.
HANG_SECONDS = 10.0
HANG_FACTOR = 10.0
# mutmut's copy of the package (mutants/src): this file runs from mutants/tests.
COPY = Path(__file__).resolve().parent.parent / "src"


def module_of(mutant: str) -> str:
    """`weekly.deliver.outcomes.x_classify__mutmut_1` -> `weekly.deliver.outcomes`."""
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def files_for(mapping: dict[str, list[str]], module: str) -> set[str]:
    """The files of the longest key that is the module or a package holding it."""
    keys = [key for key in mapping if module == key or module.startswith(key + ".")]
    return set(mapping[max(keys, key=len)]) if keys else set()


def chosen(
    tests: list[str], files: set[str], seconds: dict[str, float], budget: float
) -> list[str]:
    """The node ids of `tests` in `files`, fastest first, as many as fit in `budget` seconds
    (always the first one)."""
    kept = sorted(
        (test for test in tests if test.partition("::")[0] in files),
        key=lambda test: seconds.get(test, 0.0),
    )
    spent = 0.0
    for count, test in enumerate(kept):
        spent += seconds.get(test, 0.0)
        if count and spent > budget:
            return kept[:count]
    return kept


def _settings(root: Path) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["tool"]["weekly"]["mutation"]
    return table


def _durations(root: Path) -> dict[str, float]:
    stats = root / DURATIONS
    if not stats.exists():
        return {}
    seconds: dict[str, float] = json.loads(stats.read_text(encoding="utf-8"))["duration_by_test"]
    return seconds


def _mutant() -> str | None:
    """The mutant under test; None in mutmut's own passes (stats, listing, forced failure)."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if "__mutmut_" in name else None


class Hung(BaseException):
    """A test under a mutant ran far over its measured time. Not an Exception, so no
    `except Exception` or `except TimeoutError` of the code under test takes it for its own."""


def _overran(signum: int, frame: object) -> None:
    raise Hung("a test under a mutant ran far over its measured time: it hangs, a kill")


def _allow(seconds: float) -> None:
    """SIGALRM in `seconds` and every second after, so cleanup that hangs too is cut short."""
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)


_measured = pytest.StashKey[dict[str, float]]()


if _mutant() is not None:
    # mutmut's own runs put its copy (mutants/src) first on sys.path; a run by hand
    # (`cd mutants && MUTANT_UNDER_TEST=... pytest`) would import the project's src/ through
    # the editable install instead, and test no mutant at all. This module is loaded (-p)
    # before any conftest imports `weekly`.
    sys.path.insert(0, str(COPY))


def pytest_configure(config: pytest.Config) -> None:
    mutant = _mutant()
    if mutant is None:
        return
    # A mutant that makes a test wait forever uses no CPU, so mutmut's CPU limit never
    # fires and its own wall limit scales with every test that reached the function.
    signal.signal(signal.SIGALRM, _overran)
    _allow(HANG_SECONDS)
    # mutmut runs the tests in mutants/, whose src/ holds the mutated copy: a `weekly`
    # subprocess started by a test then runs the mutant too (MUTANT_UNDER_TEST is inherited).
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(COPY), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    # mutmut names every test that reached the function, from any file; choosing among the
    # node ids before collection spares collecting files none of whose tests will run.
    settings = _settings(config.rootpath)
    files = files_for(settings["tests"], module_of(mutant))
    budget = float(settings["seconds-per-mutant"])
    config.stash[_measured] = seconds = _durations(config.rootpath)
    config.args[:] = chosen(config.args, files, seconds, budget)
    if not config.args:  # without node ids pytest would collect all of testpaths
        pytest.exit("no test of the mutant's module reaches it", pytest.ExitCode.NO_TESTS_COLLECTED)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    if _mutant() is None:
        return (yield)
    _allow(HANG_SECONDS + HANG_FACTOR * item.config.stash[_measured].get(item.nodeid, 0.0))
    try:
        return (yield)
    finally:
        _allow(HANG_SECONDS)


_status = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_status] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Outside a mutant's run, freeze the heap for the forks to come; under a mutant, end the
    process at once when a thread the mutant left running would keep it alive (a preview
    watcher that ignores its stop): mutmut's own runs end with os._exit anyway, a run by
    hand would wait at interpreter exit until `Hung` stops it."""
    if _mutant() is None:
        # mutmut's fork server forks every mutant's run from the process that ran its warm-up
        # session. Frozen, that heap is left out of each child's garbage collections (pytest
        # runs a full one at every session's end), which would otherwise touch, and so copy,
        # every page of it: 0.18 -> 0.055 s of CPU a mutant for a one-test run.
        gc.freeze()
        return
    if _status not in config.stash:
        return
    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash[_status])
