"""MJML → HTML with mjml-python (the Rust MRML core), with errors that point at a line."""

from __future__ import annotations

import xml.parsers.expat

import mjml

from weekly.errors import RenderError


def compile_mjml(source: str, template: str) -> str:
    """Compile the MJML that `template` rendered; no web fonts are added (nothing is fetched).

    MRML's own errors carry no position, so on failure an XML parse of the same source finds
    the first line that is not well formed and the error quotes it.
    """
    try:
        return mjml.mjml2html(source, fonts={})
    except ValueError as exc:
        where = _locate(source)
        raise RenderError(f"{template}: the template produced invalid MJML: {exc}{where}") from None


def _locate(source: str) -> str:
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(source, True)
    except xml.parsers.expat.ExpatError as exc:
        lines = source.splitlines()
        text = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
        reason = xml.parsers.expat.ErrorString(exc.code)
        return f" (rendered line {exc.lineno}: {reason}: {text[:80]!r})"
    return ""
