"""Golden files for #324's email in each language of the built-in templates.

Regenerate after an intended change with `make golden`, then review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly.render.compose import compose_to_build

from .golden_mode import update_golden

GOLDEN = Path(__file__).parent / "golden"
UPDATE = update_golden()


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("name", ["email.html", "email.txt"])
def test_matches_golden(newsletter: Path, language: str, name: str) -> None:
    toml = newsletter / "weekly.toml"
    text = toml.read_text(encoding="utf-8").replace('language = "ko"', f'language = "{language}"')
    toml.write_text(text, encoding="utf-8")
    compose_to_build(newsletter, 324)
    actual = (newsletter / "build" / "324" / name).read_text(encoding="utf-8")
    golden = GOLDEN / f"324-{language}" / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), "no golden file yet: run `make golden`"
    assert actual == golden.read_text(encoding="utf-8"), f"{golden} differs: see `make golden`"
