"""The `weekly` command: the top-level group, its last-resort error guard, and the command
groups, one module each (issues, send, audience, publish, web, setup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from weekly.cli import audience, issues, publish, schedule, send, setup, stats, store, web
from weekly.errors import WeeklyError

# click 8.2 and later: `weekly subscribers` alone prints the group's help as a usage error.
_HELP_ONLY: type[Exception] | tuple[()] = getattr(click.exceptions, "NoArgsIsHelpError", ())


class GuardedGroup(click.Group):
    """The top-level group: every error is one line, even an exception no command anticipated.

    Misuse names the option or argument; click's usage lines above it are left out.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            if exc.filename is None:
                raise _a_bug(exc) from exc
            # A file the system refused (a folder where a file goes, a loop of links, a place
            # that cannot be written): the user's machine, not a bug, so name it and stop.
            raise WeeklyError(_refused_file(exc)) from None
        except Exception as exc:
            raise _a_bug(exc) from exc


def _refused_file(exc: OSError) -> str:
    """`file: reason`; a path blocked by a file where a folder must be names that file."""
    name = str(exc.filename2 or exc.filename)
    if isinstance(exc, FileExistsError | NotADirectoryError):
        path = Path(name)
        for part in (path, *path.parents):
            if part.exists() and not part.is_dir():
                return f"{part}: a file where a folder is needed"
    return f"{name}: {exc.strerror}"


def _a_bug(exc: Exception) -> WeeklyError:
    """The last resort: an exception no command anticipated, on one line, asking for a report."""
    detail = " ".join(str(exc).split())
    return WeeklyError(
        f"unexpected {type(exc).__name__}: {detail} (this is a bug in weekly: "
        "please report it with the command you ran)"
    )


def _one_line(exc: click.UsageError) -> click.UsageError:
    """The misuse without click's usage lines; a bare `weekly GROUP` still shows its help."""
    if isinstance(exc, _HELP_ONLY):
        return exc
    return click.UsageError(exc.format_message())  # exit 2, as every click misuse


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="weekly")
def main() -> None:
    """Write, compose, send and archive a numbered weekly newsletter."""


for _group in (issues, send, schedule, audience, publish, web, setup, store, stats):
    for _command in _group.COMMANDS:
        main.add_command(_command)
