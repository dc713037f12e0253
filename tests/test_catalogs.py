"""Message catalogs: every string a built-in template translates is in every language."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from weekly.l10n import available_languages, catalog_path
from weekly.render.jinja import BUILTIN_DIR


def template_msgids() -> set[str]:
    """msgids passed to _() in the built-in templates, as Babel's Jinja extractor sees them."""
    found: set[str] = set()
    for path in sorted(BUILTIN_DIR.rglob("*")):
        if path.is_file():
            for _line, message, _comments, _context in extract_from_file(
                "jinja2.ext:babel_extract",
                str(path),
                options={"extensions": "jinja2.ext.i18n", "trim_blocks": "true"},
            ):
                found.add(message if isinstance(message, str) else message[0])
    return found


def test_templates_translate_something() -> None:
    assert {"Unsubscribe", "View in browser"} <= template_msgids()


def test_korean_and_english_exist() -> None:
    assert {"ko", "en"} <= set(available_languages())


@pytest.mark.parametrize("language", available_languages())
def test_catalog_covers_every_string(language: str) -> None:
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = template_msgids() - translated
    assert not missing, f"{language} catalog lacks {sorted(missing)}"
