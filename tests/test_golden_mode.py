"""The golden tests refuse update mode outside `make golden`: a stray export must fail the run,
not quietly rewrite every golden file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .golden_mode import VIA_MAKE

TESTS = Path(__file__).parent


def test_update_mode_outside_make_golden_stops_the_run() -> None:
    env = {k: v for k, v in os.environ.items() if k != VIA_MAKE}
    env["WEEKLY_UPDATE_GOLDEN"] = "1"
    before = {p: p.read_bytes() for p in (TESTS / "golden").rglob("*") if p.is_file()}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(TESTS / "test_golden.py"), str(TESTS / "test_archive_golden.py")],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0, run.stdout
    assert "golden files are rewritten only by `make golden`" in run.stdout
    assert " passed" not in run.stdout
    assert {p: p.read_bytes() for p in before} == before
