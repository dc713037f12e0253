"""Redraw docs/email-375-light.png and docs/email-375-dark.png: issue #324 as composed, in
headless Chromium at 375 px, light and dark (needs a Korean font, e.g. Debian fonts-nanum).

Run from the repository: `.venv/bin/python docs/screenshots.py`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from weekly.render.compose import compose_to_build

REPO = Path(__file__).resolve().parent.parent
SAMPLE = {"%%email%%": "reader@example.com", "%%unsubscribe_url%%": "#", "%%name%%": "김민지"}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "newsletter"
        root.mkdir()
        shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
        shutil.copytree(REPO / "issues", root / "issues")
        email = compose_to_build(root, 324).folder / "email.html"
        html = email.read_text(encoding="utf-8")
        # The email loads its images from the archive's address; show the local files instead.
        html = html.replace(
            "https://news.example.com/weekly/324/", (root / "issues/324").as_uri() + "/"
        )
        for key, value in SAMPLE.items():
            html = html.replace(key, value)
        email.write_text(html, encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--headless", "--no-sandbox"],
            )
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 375, "height": 812}, color_scheme=scheme)
                page.goto(email.as_uri(), wait_until="load")
                page.screenshot(path=REPO / f"docs/email-375-{scheme}.png", full_page=True)
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
