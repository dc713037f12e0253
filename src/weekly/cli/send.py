"""Commands for delivery: `send`, `status` (the ledger's account) and `sink` (a local relay)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from weekly.cli.options import ISSUE_NUMBER, PORT, list_option, root_option, warn
from weekly.errors import WeeklyError


@click.command()
@click.argument("number", type=ISSUE_NUMBER)
@list_option
@click.option("--yes", "-y", is_flag=True, help="Send without asking for confirmation.")
@click.option("--dry-run", is_flag=True, help="Build every message, report, send nothing.")
@click.option(
    "--test",
    "tests",
    multiple=True,
    metavar="ADDR",
    help="Send only to ADDR (repeatable), subject prefixed [TEST], ledger untouched.",
)
@click.option("--retry-failed", is_flag=True, help="Also retry recipients that failed with 4xx.")
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="Also send to recipients an interrupted run may have reached.",
)
@click.option(
    "--segment",
    metavar="EXPR",
    help='Send only to readers in EXPR, e.g. "ai and not beta" (wins over the issue\'s segment:).',
)
@click.option("--force", is_flag=True, help="Resume even though the composed issue changed.")
@click.option("--insecure", is_flag=True, help="Allow security = none to a remote relay.")
@click.option("--silent", is_flag=True, help="No plan and no progress bar.")
@root_option
def send(
    number: int,
    list_path: Path | None,
    yes: bool,
    dry_run: bool,
    tests: tuple[str, ...],
    retry_failed: bool,
    resend_uncertain: bool,
    segment: str | None,
    force: bool,
    insecure: bool,
    silent: bool,
    root: Path,
) -> None:
    """Send issue NUMBER to every subscriber, exactly once (resumable)."""
    from weekly.deliver.plan import SendOptions
    from weekly.deliver.send import Conversation, send_issue

    options = SendOptions(
        list_path=list_path,
        dry_run=dry_run,
        tests=tests,
        retry_failed=retry_failed,
        resend_uncertain=resend_uncertain,
        segment=segment,
        force=force,
        insecure=insecure,
    )
    quiet = silent or not sys.stderr.isatty()
    talk = Conversation(
        say=click.echo,
        tell=warn,
        confirm=_confirm,
        progress=lambda total: _progress(total, quiet=quiet),
    )
    status = send_issue(root, number, options, talk, yes=yes, silent=silent)
    if status:
        raise SystemExit(status)


def _confirm(question: str) -> None:
    """Ask on the terminal; without one, only --yes may send."""
    if not sys.stdin.isatty():
        raise WeeklyError("refusing to send without confirmation: pass --yes")
    click.confirm(question, abort=True, err=True)


@contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar with rate and ETA on stderr, or nothing when `quiet`."""
    if quiet:
        yield lambda _: None
        return
    started = time.monotonic()
    done = 0

    def rate(_: object) -> str:
        elapsed = time.monotonic() - started
        return f"{done / elapsed:,.0f}/s" if done and elapsed > 0 else ""

    def advance(count: int) -> None:
        nonlocal done
        done += count
        bar.update(count, current_item=done)

    with click.progressbar(
        length=total, label="Sending", file=sys.stderr, show_pos=True, item_show_func=rate
    ) as bar:
        yield advance


@click.command()
@click.argument("number", type=ISSUE_NUMBER)
@click.option(
    "--failed",
    is_flag=True,
    help="List failed, retrying and uncertain recipients with their last reply, as CSV.",
)
@root_option
def status(number: int, failed: bool, root: Path) -> None:
    """Show how the send of issue NUMBER stands, from the ledger."""
    from weekly.deliver.status import status_lines, write_failed

    if failed:
        write_failed(root, number, sys.stdout)
        return
    for line in status_lines(root, number):
        click.echo(line)


@click.command()
@click.option("--port", type=PORT, default=None, help="Port on 127.0.0.1 (default: delivery.port).")
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Maildir to keep messages in (default: .weekly/outbox).",
)
@root_option
def sink(port: int | None, outbox: Path | None, root: Path) -> None:
    """Run a local SMTP server that keeps every message in a Maildir (for trying sends)."""
    from weekly.config import load_config
    from weekly.deliver.sink import outbox_path, serve

    port = port or load_config(root).delivery.port
    serve(port, outbox or outbox_path(root), report=click.echo, ready=warn)


COMMANDS = (send, status, sink)
