"""Commands for one issue's text: `new`, `compose`, `import` and `export`."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import click

from weekly.cli.options import ISSUE_NUMBER, advise, command_line, root_option


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@click.option("--strict", is_flag=True, help="Treat every pre-send warning as an error.")
@root_option
def compose(number: int | None, strict: bool, root: Path) -> None:
    """Compose issue NUMBER (default: the newest) into build/NUMBER/."""
    from weekly.render.compose import compose_to_build

    summary = compose_to_build(root, number, strict=strict)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(summary.line())
    number = summary.number
    advise(
        f"{command_line(root, 'preview', number)} to see it",
        command_line(root, "send", number, "--test", "you@example.com"),
    )


@click.command()
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Issue date (default today).")
@root_option
def new(on: dt.datetime | None, root: Path) -> None:
    """Scaffold the next issue folder with today's date and one example section."""
    from weekly.config import load_config
    from weekly.content.new_issue import scaffold_next_issue

    language = load_config(root).newsletter.language
    folder = scaffold_next_issue(root, language, on.date() if on else None)
    click.echo(str(folder))
    advise(f"edit {shlex.quote(str(folder))}/*.md", command_line(root, "compose", folder.name))


@click.command("import")
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--number",
    type=ISSUE_NUMBER,
    help="Issue number (default: a #N in the title when free, else the next).",
)
@click.option(
    "--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Issue date, over any date in FILE."
)
@click.option("--force", is_flag=True, help="Replace the issue folder if it exists.")
@root_option
def import_(
    source: str, number: int | None, on: dt.datetime | None, force: bool, root: Path
) -> None:
    """Turn FILE (Markdown with front matter, or plain text; - for stdin) into an issue folder.

    Sections come from ## headings, whole-line **bold** headings, or short lines standing alone
    between paragraphs; the text before the first one is the lead.
    """
    from weekly.content.import_article import import_article

    made = import_article(root, source, number=number, on=on.date() if on else None, force=force)
    for note in made.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(made.report())
    advise(command_line(root, "compose", made.folder.name))


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@root_option
def export(number: int | None, root: Path) -> None:
    """Print issue NUMBER (default: the newest) as one Hugo-style Markdown file."""
    from weekly.content.export import export_number

    click.echo(export_number(root, number), nl=False)


COMMANDS = (new, compose, import_, export)
