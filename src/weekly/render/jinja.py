"""Jinja environment: the newsletter's `templates/` first, then the built-in ones.

`default:NAME` always reaches the built-in template, so a user template can extend it.
StrictUndefined makes a typo an error that names the template file and line.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from weekly.errors import TemplateError, WeeklyError, decode_utf8
from weekly.l10n import long_date, translations
from weekly.project import TEMPLATES_DIR
from weekly.render.breaks import title_html
from weekly.render.text_part import underline, wrap

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"


@cache
def environment(root: Path, language: str) -> jinja2.Environment:
    """A template environment for the newsletter at `root`, speaking `language`.

    Cached, so templates compile once per process; Jinja still reloads a file that changed.
    """
    env = jinja2.Environment(
        loader=_OverridableLoader(root / TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "mjml", "xml"]),
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["long_date"] = lambda date: long_date(date, language)
    env.filters["wrap"] = wrap
    env.filters["underline"] = underline
    env.filters["phone_title"] = title_html
    return env


class _OverridableLoader(jinja2.ChoiceLoader):
    """User templates, then `default:` names, then built-ins.

    A cached built-in goes stale when the user adds a file of the same name, so a running
    preview picks up a new override without a restart.
    """

    def __init__(self, user_dir: Path) -> None:
        builtin = jinja2.FileSystemLoader(BUILTIN_DIR)
        super().__init__(
            [
                jinja2.PrefixLoader({"default": builtin}, delimiter=":"),
                jinja2.FileSystemLoader(user_dir),
                builtin,
            ]
        )
        self.user_dir = user_dir

    # ChoiceLoader.load asks each sub-loader directly; go through get_source below instead.
    load = jinja2.BaseLoader.load

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Any]:
        override = self.user_dir / template
        if override.is_dir():  # the loader would pass it by and use the built-in template
            raise TemplateError(override, "a folder named like a template: rename or move it")
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError:
            path = self._path_of(template)
            decode_utf8(path, path.read_bytes(), TemplateError)
            raise
        overridden = override.is_file()

        def fresh() -> bool:
            return override.is_file() == overridden and (uptodate is None or uptodate())

        # An editor's BOM is no text, as in every other file weekly reads.
        return source.removeprefix("\ufeff"), filename, fresh

    def _path_of(self, template: str) -> Path:
        """The file `template` names: the user's, else the built-in one."""
        prefix, colon, rest = template.partition(":")
        if colon and prefix == "default":
            return BUILTIN_DIR / rest
        override = self.user_dir / template
        return override if override.is_file() else BUILTIN_DIR / template


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
    except WeeklyError:
        raise
    except Exception as exc:  # {{ 1/0 }}, {{ "x" + 1 }}: the template's fault, not weekly's
        path, line = _template_frame(env, name)
        detail = " ".join(str(exc).split())
        raise TemplateError(path, f"{type(exc).__name__}: {detail}", line) from None


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
