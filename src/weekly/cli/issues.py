"""Commands for one issue's text: `new`, `compose`, `import` and `export`."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import click

from weekly.cli.options import ISSUE_NUMBER, advise, command_line, root_option, warn
from weekly.content.exports import SERVICES


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@click.option("--strict", is_flag=True, help="Treat every pre-send warning as an error.")
@root_option
def compose(number: int | None, strict: bool, root: Path) -> None:
    """Compose issue NUMBER (default: the newest) into build/NUMBER/."""
    from weekly.render.compose import compose_to_build

    summary = compose_to_build(root, number, strict=strict)
    for warning in summary.warnings:
        warn(f"warning: {warning}")
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
    "--from",
    "service",
    type=click.Choice(SERVICES),
    help="FILE is a whole newsletter's export from this service: import every published post.",
)
@click.option(
    "--number",
    type=ISSUE_NUMBER,
    help="Issue number (default: a #N in the title when free, else the next); "
    "with --from, the oldest post's number (default: #N in every title, else 1).",
)
@click.option(
    "--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Issue date, over any date in FILE."
)
@click.option("--base-url", help="With --from: the old site's address, for relative images.")
@click.option("--force", is_flag=True, help="Replace the issue folder if it exists.")
@root_option
def import_(
    source: str,
    service: str | None,
    number: int | None,
    on: dt.datetime | None,
    base_url: str | None,
    force: bool,
    root: Path,
) -> None:
    """Turn FILE (Markdown with front matter, or plain text; - for stdin) into an issue folder,
    or, with --from, a Substack zip, Ghost JSON or Buttondown zip export into one per post.

    Sections come from ## headings, whole-line **bold** headings, or short lines standing alone
    between paragraphs; the text before the first one is the lead.
    """
    if service is not None:
        _import_export(root, source, service, number, on, base_url, force)
        return
    if base_url is not None:
        raise click.UsageError("--base-url goes with --from")
    from weekly.content.import_article import import_article

    made = import_article(root, source, number=number, on=on.date() if on else None, force=force)
    for note in made.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(made.report())
    advise(command_line(root, "compose", made.folder.name))


def _import_export(
    root: Path,
    source: str,
    service: str,
    number: int | None,
    on: dt.datetime | None,
    base_url: str | None,
    force: bool,
) -> None:
    if on is not None or source == "-":
        raise click.UsageError("--from reads an export file and takes each post's own date")
    from weekly.content.import_newsletter import import_newsletter

    made = import_newsletter(
        root, Path(source), service, first=number, base_url=base_url, force=force
    )
    for note in made.notes:
        click.echo(f"note: {note}", err=True)
    for draft in made.skipped:
        click.echo(f"note: skipped a draft: {draft}", err=True)
    click.echo(made.table())
    if made.rows:
        advise(command_line(root, "compose", str(made.rows[-1].number), "--strict"))


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@root_option
def export(number: int | None, root: Path) -> None:
    """Print issue NUMBER (default: the newest) as one Hugo-style Markdown file."""
    from weekly.content.export import export_number

    click.echo(export_number(root, number), nl=False)


COMMANDS = (new, compose, import_, export)
