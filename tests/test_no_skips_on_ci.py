"""With CI=true a skipped test fails the run (tests/conftest.py); elsewhere it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SKIPPING = """
import pytest

def test_needs_something_missing():
    pytest.skip("the machine lacks it")

def test_fine():
    pass
"""


@pytest.mark.parametrize(("ci", "code"), [("true", 1), ("", 0)])
def test_a_skip_fails_the_run_only_on_ci(tmp_path: Path, ci: str, code: int) -> None:
    (tmp_path / "test_skipping.py").write_text(SKIPPING, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(tmp_path), str(tmp_path / "test_skipping.py")],
        cwd=REPO, env={**os.environ, "CI": ci}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == code, run.stdout
    assert "1 passed, 1 skipped" in run.stdout
    listed = "test_skipping.py::test_needs_something_missing" in run.stdout.split("CI=true:")[-1]
    assert listed == bool(ci)
