"""Jinja environment: the newsletter's `templates/` first, then the built-in ones.

`default:NAME` always reaches the built-in template, so a user template can extend it.
StrictUndefined makes a typo an error that names the template file and line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jinja2

from weekly.errors import TemplateError
from weekly.l10n import long_date, translations
from weekly.project import TEMPLATES_DIR

BUILTIN_DIR = Path(__file__).with_name("templates")


def environment(root: Path, language: str) -> jinja2.Environment:
    """A template environment for the newsletter at `root`, speaking `language`."""
    builtin = jinja2.FileSystemLoader(BUILTIN_DIR)
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({"default": builtin}, delimiter=":"),
            jinja2.FileSystemLoader(root / TEMPLATES_DIR),
            builtin,
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "mjml", "xml"]),
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["long_date"] = lambda date: long_date(date, language)
    return env


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render template `name`; any failure becomes a TemplateError naming file and line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            exc.filename or name, exc.message or "syntax error", exc.lineno
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(name, f"template not found: {exc.name}") from None
    except jinja2.UndefinedError as exc:
        path, line = _template_frame(env, name)
        raise TemplateError(path, exc.message or "undefined value", line) from None


def _template_frame(env: jinja2.Environment, name: str) -> tuple[str, int | None]:
    """The innermost template file and line in the traceback being handled."""
    path, line = name, None
    tb = sys.exc_info()[2]
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(str(BUILTIN_DIR)) or TEMPLATES_DIR in Path(filename).parts:
            path, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return path, line
