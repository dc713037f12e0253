"""Commands about the store itself: `store migrate` (PostgreSQL schema) and `store copy`."""

from __future__ import annotations

from pathlib import Path

import click

from weekly.cli.options import root_option


@click.group()
def store() -> None:
    """Manage the store: the ledger and the consent log."""


@store.command("migrate")
@root_option
def store_migrate(root: Path) -> None:
    """Create or upgrade the PostgreSQL schema of [store] url (or WEEKLY_STORE_URL)."""
    from weekly.store import store_url
    from weekly.store.location import shown
    from weekly.store.postgres.database import migrate_database

    url = store_url(root)
    if not url:
        raise click.UsageError("no PostgreSQL store: set [store] url or WEEKLY_STORE_URL")
    before, after = migrate_database(url)
    change = f"from version {before} to {after}" if before != after else f"at version {after}"
    click.echo(f"Store {shown(url)}: schema {change}")


@store.command("copy")
@click.option("--from", "source", required=True, help="sqlite, or a postgresql:// URL.")
@click.option("--to", "target", required=True, help="A postgresql:// URL, or sqlite.")
@root_option
def store_copy(source: str, target: str, root: Path) -> None:
    """Copy every ledger row and consent event into an empty store, losing nothing."""
    from weekly.store.copy import copy_store
    from weekly.store.location import shown

    copied = copy_store(root, source, target)
    click.echo(
        f"Copied {copied['sends']:,} sends, {copied['deliveries']:,} ledger rows, "
        f"{copied['events']:,} consent events, {copied['hits']:,} clicks and opens and "
        f"{copied['schedules']:,} schedules from {shown(source)} to {shown(target)}"
    )


COMMANDS = (store,)
