"""Language: message catalogs (gettext `.po`, read by Babel) and locale-aware dates.

Adding a language is adding `locales/<lang>/LC_MESSAGES/weekly.po`; msgids are English.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "weekly"


def catalog_path(language: str) -> Path:
    """The `.po` file holding `language`'s strings."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> list[str]:
    """Every language that has a catalog."""
    return sorted(p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


@cache
def translations(language: str) -> Translations:
    """gettext translations for `language`, compiled in memory from its `.po` catalog."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def long_date(date: dt.date, language: str) -> str:
    """The date as readers of `language` write it: `2025년 10월 2일`, `October 2, 2025`."""
    return format_date(date, format="long", locale=language)
