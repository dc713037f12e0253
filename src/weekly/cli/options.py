"""Options and advice several command groups share: issue numbers, ports, --root, --list."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from weekly.project import LARGEST_ISSUE

ISSUE_NUMBER = click.IntRange(1, LARGEST_ISSUE)
PORT = click.IntRange(1, 65535)

root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The newsletter's folder (where weekly.toml is).",
)

list_option = click.option(
    "--list",
    "list_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Subscriber list (default: subscribers.csv in the newsletter's folder).",
)


def command_line(root: Path, *args: object) -> str:
    """A `weekly` command line as the editor would type it in their current folder."""
    where = () if root == Path(".") else ("--root", root)
    return shlex.join(["weekly", *map(str, args), *map(str, where)])


def advise(*steps: str) -> None:
    """Say what to do next, on stderr: it is advice, not the command's data."""
    click.echo(f"next: {', then '.join(steps)}", err=True)


def warn(line: str) -> None:
    """One diagnostic line on stderr."""
    click.echo(line, err=True)
