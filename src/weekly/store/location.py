"""Where a newsletter's store is: WEEKLY_STORE_URL, else `[store] url` in weekly.toml, else
the SQLite files in its `.weekly/` folder (an empty URL)."""

from __future__ import annotations

import os
from pathlib import Path

from weekly.config import CONFIG_NAME, load_config

URL_VARIABLE = "WEEKLY_STORE_URL"


def store_url(root: Path) -> str:
    """The PostgreSQL URL the newsletter at `root` uses, or "" for its SQLite files."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url or not (root / CONFIG_NAME).exists():
        return url
    return load_config(root).store.url


def shown(url: str) -> str:
    """`url` fit for a message: any password in it replaced by ***."""
    scheme, _, rest = url.partition("://")
    user, at, place = rest.partition("@")
    if at and ":" in user:
        user = user.split(":", 1)[0] + ":***"
    return f"{scheme}://{user}{at}{place}" if at else url
