"""`weekly schedule`: set, list and cancel the time an issue goes out (`weekly serve` sends it)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from weekly.cli.options import ISSUE_NUMBER, root_option, warn


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """--at as an ISO 8601 date and time, with or without an offset (2025-10-09T09:00)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time like 2025-10-09T09:00 (or 2025-10-09T09:00+09:00)"
        ) from None


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@click.option(
    "--at",
    "when",
    metavar="TIME",
    callback=_when,
    help="When to send: 2025-10-09T09:00 in newsletter.timezone, or with its own offset.",
)
@click.option(
    "--allow-changes",
    is_flag=True,
    help="Send even if the build changed after scheduling (else that send is refused).",
)
@click.option("--list", "listing", is_flag=True, help="List every schedule and its state.")
@click.option("--cancel", is_flag=True, help="Cancel issue NUMBER's waiting schedule.")
@root_option
def schedule(
    number: int | None,
    when: datetime | None,
    allow_changes: bool,
    listing: bool,
    cancel: bool,
    root: Path,
) -> None:
    """Send issue NUMBER at a set time (`weekly serve` sends it), list or cancel schedules."""
    from weekly.deliver.schedule import (
        cancel_schedule,
        local_text,
        newsletter_zone,
        schedule_issue,
        schedule_lines,
    )

    if listing:
        if number is not None or when is not None or cancel or allow_changes:
            raise click.UsageError("--list takes no issue number and no other option")
        for line in schedule_lines(root):
            click.echo(line)
        return
    if number is None:
        raise click.UsageError("give an issue number with --at TIME or --cancel, or --list")
    if cancel:
        if when is not None or allow_changes:
            raise click.UsageError("--cancel takes no --at or --allow-changes")
        cancel_schedule(root, number)
        click.echo(f"Cancelled the schedule of issue {number}.")
        return
    if when is None:
        raise click.UsageError("missing option '--at' (or --cancel, --list)")
    made = schedule_issue(root, number, when, allow_changes=allow_changes)
    zone = newsletter_zone(root)
    click.echo(
        f"Issue {number} goes out at {local_text(made.due_time, zone)} "
        f"({made.due}; build {made.fingerprint})."
    )
    warn("`weekly serve` sends it: it must be running then (or within schedule.grace after).")


COMMANDS = (schedule,)
