"""Golden files for #324's email. Regenerate after an intended change with `make golden`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from weekly.compose import compose_to_build

GOLDEN = Path(__file__).parent / "golden" / "324"
UPDATE = os.environ.get("WEEKLY_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", ["email.html", "email.txt"])
def test_matches_golden(newsletter: Path, name: str) -> None:
    compose_to_build(newsletter, 324)
    actual = (newsletter / "build" / "324" / name).read_text(encoding="utf-8")
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), "no golden file yet: run `make golden`"
    assert actual == golden.read_text(encoding="utf-8"), f"{name} changed: see `make golden`"
