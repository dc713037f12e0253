"""Shared fixtures: a throwaway copy of this repository's newsletter to compose and break."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from weekly.cli import main

from .pgcluster import binaries, drop_database, fresh_database, temporary_cluster
from .scratch import use_ram_for_scratch
from .smtp import SECRET, make_build

REPO = Path(__file__).resolve().parent.parent

use_ram_for_scratch()  # before pytest makes its first tmp_path or the cluster its folder


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    """A copy of the repo's weekly.toml, issues and templates in a temporary folder."""
    root = tmp_path / "newsletter"
    root.mkdir()
    shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    (root / "templates").mkdir()
    return root


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    """A PostgreSQL cluster of our own for the whole run; its admin URL. Skipped only when
    the binaries are missing, and a failure instead under CI=true (.ci/run sets it).
    WEEKLY_TEST_PG_CLUSTER names one already running (`make mutate` starts one for all its
    pytest runs)."""
    if shared := os.environ.get("WEEKLY_TEST_PG_CLUSTER"):
        yield shared
        return
    if binaries() is None:
        missing = "PostgreSQL binaries (initdb, pg_ctl) not found"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; CI needs them", pytrace=False)
        pytest.skip(missing)
    with temporary_cluster() as url:
        yield url


_databases = itertools.count(1)


@pytest.fixture
def pg_url(pg_cluster: str) -> Iterator[str]:
    """The URL of a fresh, empty database in the test cluster."""
    # The process id keeps the names apart when several pytest runs share one cluster.
    name = f"weekly_test_{os.getpid()}_{next(_databases)}"
    yield fresh_database(pg_cluster, name)
    if os.environ.get("WEEKLY_TEST_PG_CLUSTER"):  # thousands of runs would fill the disk
        drop_database(pg_cluster, name)


# Where a test without the `store` fixture finds the store: nowhere (port 1 refuses at once),
# so a test that reaches it without running on both stores fails instead of passing on one.
NO_STORE = "postgresql://nobody@127.0.0.1:1/a_test_that_reaches_the_store_takes_the_store_fixture"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once per store: SQLite files (URL "") and a fresh PostgreSQL database
    (its URL in WEEKLY_STORE_URL, which every command and subprocess then uses). A test
    parametrized indirectly with "none" (a case that must reach no store) gets NO_STORE."""
    if request.param == "sqlite":
        monkeypatch.delenv("WEEKLY_STORE_URL", raising=False)
        return ""
    url: str = NO_STORE if request.param == "none" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("WEEKLY_STORE_URL", url)
    return url


@pytest.fixture(autouse=True)
def _store_only_through_the_fixture(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test that reads or writes the store takes `store` (an argument, or the module's
    `pytestmark = pytest.mark.usefixtures("store")`); the others get NO_STORE."""
    if "store" not in request.fixturenames:
        monkeypatch.setenv("WEEKLY_STORE_URL", NO_STORE)


@pytest.fixture
def run_weekly(newsletter: Path) -> Callable[..., Result]:
    """Run `weekly ARGS --root <newsletter>` in-process and return click's result."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--root", str(newsletter)])

    return run


def drop_lines(path: Path, prefix: str) -> None:
    """Remove the lines of `path` that start with `prefix` (e.g. an optional front matter key)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(prefix)), "utf-8")


@pytest.fixture
def ready(newsletter: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A newsletter with issue 324 built (placeholders in place) and WEEKLY_SECRET set."""
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    make_build(newsletter)
    return newsletter


DKIM_SECTION = """
[dkim]
domain = "news.example.com"
selector = "weekly2026"
key_file = "secrets/dkim.pem"
"""


@pytest.fixture
def dkim_dns(newsletter: Path, run_weekly) -> Callable[..., bytes | None]:
    """Turn DKIM on with a key from `weekly dkim keygen`; returns a DNS lookup for dkimpy's
    verifier that knows only the TXT record keygen asked to publish."""
    from weekly.deliver.dkim_keys import load_private_key, txt_value

    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(DKIM_SECTION)
    result = run_weekly("dkim", "keygen")
    assert result.exit_code == 0, result.output
    record = txt_value(load_private_key(newsletter / "secrets/dkim.pem")).encode()

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"weekly2026._domainkey.news.example.com." else None

    return lookup


# On CI (.ci/run sets CI=true) a skipped test is a failure: the machine is set up for all of
# them, so a skip means a part went untested without anyone noticing.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and _on_ci():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped and _on_ci():
        line = f"CI=true: {len(_skipped)} skipped tests fail the run:"
        terminalreporter.write_line(line, red=True)
        for nodeid in _skipped:
            terminalreporter.write_line(f"  {nodeid}")
