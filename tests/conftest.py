"""Shared fixtures: a throwaway copy of this repository's newsletter to compose and break."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from weekly.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    """A copy of the repo's weekly.toml, issues and templates in a temporary folder."""
    root = tmp_path / "newsletter"
    root.mkdir()
    shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    (root / "templates").mkdir()
    return root


@pytest.fixture
def run_weekly(newsletter: Path) -> Callable[..., Result]:
    """Run `weekly ARGS --root <newsletter>` in-process and return click's result."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--root", str(newsletter)])

    return run
