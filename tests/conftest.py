"""Shared fixtures: a throwaway copy of this repository's newsletter to build and break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    """A copy of the repo's weekly.toml and example issues in a temporary folder."""
    root = tmp_path / "newsletter"
    root.mkdir()
    shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    return root
