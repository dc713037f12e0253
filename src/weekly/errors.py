"""Exceptions the CLI turns into one-line errors: failures exit 1, misuse exits 2."""

from __future__ import annotations

from pathlib import Path

import click


class WeeklyError(click.ClickException):
    """A failure the user can fix; printed as `Error: …`, exit 1."""


class LocatedError(WeeklyError):
    """An error in one of the editor's files, naming the file and, when known, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.detail = message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


def decode_utf8(path: Path | str, data: bytes, error: type[LocatedError] = LocatedError) -> str:
    """`data`, the bytes of `path`, as text (a leading BOM dropped); bytes that are not UTF-8
    raise `error` naming the line and byte offset, so the editor can find the stray byte."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1]
        raise error(path, f"not UTF-8 text: byte {exc.start} is {bad!r}", line) from None


class ConfigError(LocatedError):
    """`weekly.toml` is unreadable, has an unknown key, a wrong type or a missing value."""


class IssueError(LocatedError):
    """An issue folder or one of its Markdown files is malformed."""


class TemplateError(LocatedError):
    """A template failed to load or render."""


class RenderError(WeeklyError):
    """The MJML or CSS stage failed on what the templates produced."""


class CheckFailed(WeeklyError):
    """A pre-send check failed under `--strict`."""
