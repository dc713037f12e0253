"""`weekly archive`: the static web archive of published issues."""

from __future__ import annotations

from pathlib import Path

import click

from weekly.cli.options import root_option, warn


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to build the site in (default: site/ in the newsletter's folder).",
)
@click.option("--drafts", is_flag=True, help="Include drafts and future-dated issues.")
@root_option
def archive(out: Path | None, drafts: bool, root: Path) -> None:
    """Build the web archive of published issues; only what changed is rewritten."""
    from weekly.publish.archive import build_archive

    summary = build_archive(root, out, drafts=drafts)
    for warning in summary.warnings:
        warn(f"warning: {warning}")
    click.echo(summary.line())


COMMANDS = (archive,)
