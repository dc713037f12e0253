"""Golden files for the archive built from the examples, in each language of the built-in
templates. Regenerate after an intended change with `make golden`, then review the diff."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from weekly.publish.archive import build_archive

from .golden_mode import update_golden

GOLDEN = Path(__file__).parent / "golden" / "site"
UPDATE = update_golden()


@pytest.mark.parametrize("language", ["ko", "en"])
def test_archive_matches_golden(newsletter: Path, language: str) -> None:
    toml = newsletter / "weekly.toml"
    text = toml.read_text(encoding="utf-8").replace('language = "ko"', f'language = "{language}"')
    toml.write_text(text, encoding="utf-8")
    build_archive(newsletter, newsletter / "site", today=dt.date(2026, 1, 1))
    for name in ("index.html", "324/index.html", "feed.xml", "sitemap.xml", "404.html"):
        actual = (newsletter / "site" / name).read_text(encoding="utf-8")
        golden = GOLDEN / language / name
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(actual, encoding="utf-8")
        assert golden.exists(), f"no golden file {golden} yet: run `make golden`"
        assert actual == golden.read_text(encoding="utf-8"), f"{golden} differs: see `make golden`"
