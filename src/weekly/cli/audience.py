"""Commands about who gets mail: `subscribers check|export`, `unsubscribe`, `bounces`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from weekly.audience.list_import import SERVICES as LIST_SERVICES
from weekly.cli.options import list_option, root_option


@click.group()
def subscribers() -> None:
    """Inspect the subscriber list."""


@subscribers.command("check")
@list_option
@root_option
def subscribers_check(list_path: Path | None, root: Path) -> None:
    """Report on the list: counts by status, invalid rows, duplicates (exit 1 if invalid)."""
    from weekly.audience.subscriber_list import check_list

    check_list(list_path, root, echo=click.echo)


@subscribers.command("export")
@list_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (replaced only when complete) instead of standard output.",
)
@root_option
def subscribers_export(list_path: Path | None, output: Path | None, root: Path) -> None:
    """Write the merged list as CSV: each row's status as it stands now (unsubscribes,
    bounces and complaints applied), then the sign-ups confirmed on the web."""
    from weekly.audience.recipients import export_list

    count = export_list(root, list_path, output, sys.stdout)
    if output is not None:
        click.echo(f"Wrote {count:,} subscribers to {output}", err=True)


@subscribers.command("import")
@click.argument(
    "source", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--from",
    "service",
    type=click.Choice(LIST_SERVICES),
    required=True,
    help="The service FILE was exported from (a CSV, or Mailchimp's zip of CSVs).",
)
@list_option
@click.option("--force", is_flag=True, help="Replace the list if it exists.")
@root_option
def subscribers_import(
    source: Path, service: str, list_path: Path | None, force: bool, root: Path
) -> None:
    """Write another service's subscriber export as the subscriber list, statuses mapped:
    no one unsubscribed, bounced or complained there (or in the list replaced) is subscribed."""
    from weekly.audience.list_import import import_list
    from weekly.project import LIST_NAME

    made = import_list(source, service, list_path or root / LIST_NAME, force=force)
    for line in made.report():
        click.echo(line)


@click.command()
@click.argument("address", required=False)
@click.option(
    "--mailbox",
    type=click.Path(path_type=Path),
    default=None,
    help="Instead: record the requests mailed to [unsubscribe] mailto (a Maildir or mbox).",
)
@root_option
def unsubscribe(address: str | None, mailbox: Path | None, root: Path) -> None:
    """Record that ADDRESS unsubscribed; no later send mails it."""
    if (address is None) == (mailbox is None):
        raise click.UsageError("give either ADDRESS or --mailbox PATH")
    if mailbox is not None:
        from weekly.audience.opt_out import unsubscribe_from_mailbox

        click.echo(unsubscribe_from_mailbox(root, mailbox).line())
        return
    from weekly.audience.opt_out import unsubscribe_by_hand

    event = unsubscribe_by_hand(root, address or "")
    click.echo(f"Unsubscribed {event.email} ({event.source}) at {event.at}")


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@root_option
def bounces(path: Path, root: Path) -> None:
    """Record the bounces and complaints in PATH (a Maildir or an mbox file).

    A hard bounce or a complaint stops mail to the address at once, three soft bounces in a
    row do too. Reading the same mail again changes nothing.
    """
    from weekly.audience.bounces import record_bounces

    for line in record_bounces(root, path).lines():
        click.echo(line)


COMMANDS = (subscribers, unsubscribe, bounces)
