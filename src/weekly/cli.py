"""The `weekly` command: thin click commands that import their implementation lazily."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The newsletter's folder (where weekly.toml is).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="weekly")
def main() -> None:
    """Write, compose, send and archive a numbered weekly newsletter."""


@main.command()
@click.argument("number", type=int, required=False)
@click.option("--strict", is_flag=True, help="Treat every pre-send warning as an error.")
@root_option
def compose(number: int | None, strict: bool, root: Path) -> None:
    """Compose issue NUMBER (default: the newest) into build/NUMBER/."""
    from weekly.compose import compose_to_build

    summary = compose_to_build(root, number, strict=strict)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(summary.line())


@main.command()
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Issue date (default today).")
@root_option
def new(on: object, root: Path) -> None:
    """Scaffold the next issue folder with today's date and one example section."""
    from weekly.scaffold import scaffold_next_issue

    folder = scaffold_next_issue(root, on.date() if on else None)  # type: ignore[attr-defined]
    click.echo(str(folder))


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to build the site in (default: site/ in the newsletter's folder).",
)
@click.option("--drafts", is_flag=True, help="Include drafts and future-dated issues.")
@root_option
def archive(out: Path | None, drafts: bool, root: Path) -> None:
    """Build the web archive of published issues; only what changed is rewritten."""
    from weekly.archive import build_archive

    click.echo(build_archive(root, out, drafts=drafts).line())


@main.command("import")
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--number",
    type=click.IntRange(min=1),
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
    from weekly.importer import import_article

    made = import_article(root, source, number=number, on=on.date() if on else None, force=force)
    for note in made.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(made.report())


@main.command()
@click.argument("number", type=int, required=False)
@root_option
def export(number: int | None, root: Path) -> None:
    """Print issue NUMBER (default: the newest) as one Hugo-style Markdown file."""
    from weekly.export import export_number

    click.echo(export_number(root, number), nl=False)


list_option = click.option(
    "--list",
    "list_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Subscriber list (default: subscribers.csv in the newsletter's folder).",
)


@main.command()
@click.argument("number", type=int)
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
    force: bool,
    insecure: bool,
    silent: bool,
    root: Path,
) -> None:
    """Send issue NUMBER to every subscriber, exactly once (resumable)."""
    from weekly.send import SendOptions, send_issue

    options = SendOptions(
        list_path=list_path,
        dry_run=dry_run,
        tests=tests,
        retry_failed=retry_failed,
        resend_uncertain=resend_uncertain,
        force=force,
        insecure=insecure,
    )
    status = send_issue(root, number, options, yes=yes, silent=silent)
    if status:
        raise SystemExit(status)


@main.command()
@click.argument("number", type=int)
@click.option(
    "--failed",
    is_flag=True,
    help="List failed, retrying and uncertain recipients with their last reply, as CSV.",
)
@root_option
def status(number: int, failed: bool, root: Path) -> None:
    """Show how the send of issue NUMBER stands, from the ledger."""
    import sys

    from weekly.status import status_lines, write_failed

    if failed:
        write_failed(root, number, sys.stdout)
        return
    for line in status_lines(root, number):
        click.echo(line)


@main.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: delivery.port).")
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
    from weekly.sink import outbox_path, serve

    port = port or load_config(root).delivery.port
    serve(
        port,
        outbox or outbox_path(root),
        report=click.echo,
        ready=lambda line: click.echo(line, err=True),
    )


@main.group()
def subscribers() -> None:
    """Inspect the subscriber list."""


@subscribers.command("check")
@list_option
@root_option
def subscribers_check(list_path: Path | None, root: Path) -> None:
    """Report on the list: counts by status, invalid rows, duplicates (exit 1 if invalid)."""
    from weekly.subscribers import check_list

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
    import sys

    from weekly.audience import export_list

    count = export_list(root, list_path, output, sys.stdout)
    if output is not None:
        click.echo(f"Wrote {count:,} subscribers to {output}", err=True)


@main.command()
@click.argument("number", type=int, required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@root_option
def preview(number: int | None, port: int, open_browser: bool, root: Path) -> None:
    """Preview issue NUMBER (default: the newest) on 127.0.0.1, recomposing on every save."""
    from weekly.preview import run_preview

    run_preview(root, number, port, open_browser, announce=click.echo)


@main.command()
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
        from weekly.optout import unsubscribe_from_mailbox

        click.echo(unsubscribe_from_mailbox(root, mailbox).line())
        return
    from weekly.optout import unsubscribe_by_hand

    event = unsubscribe_by_hand(root, address or "")
    click.echo(f"Unsubscribed {event.email} ({event.source}) at {event.at}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@root_option
def bounces(path: Path, root: Path) -> None:
    """Record the bounces and complaints in PATH (a Maildir or an mbox file).

    A hard bounce or a complaint stops mail to the address at once, three soft bounces in a
    row do too. Reading the same mail again changes nothing.
    """
    from weekly.bounces import record_bounces

    for line in record_bounces(root, path).lines():
        click.echo(line)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: serve.port, 8025).")
@root_option
def serve(host: str | None, port: int | None, root: Path) -> None:
    """Run the unsubscribe and sign-up web service (put it behind your HTTPS proxy).

    POST /unsubscribe/TOKEN is RFC 8058 one-click; GET shows a page with a button.
    POST /subscribe mails a confirmation link; GET /confirm/TOKEN records the consent.
    """
    from weekly.serve import serve as run

    run(root, host, port)


@main.group()
def dkim() -> None:
    """DKIM keys for signing outgoing mail ([dkim] in weekly.toml)."""


@dkim.command("keygen")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@root_option
def dkim_keygen(force: bool, root: Path) -> None:
    """Write a new 2048-bit RSA key to [dkim] key_file and print the DNS TXT record."""
    from weekly.dkim_keys import generate

    pair = generate(root, force=force)
    click.echo(f"Wrote {pair.path} (keep it secret); publish this record:", err=True)
    click.echo(pair.zone_line())


@dkim.command("record")
@root_option
def dkim_record(root: Path) -> None:
    """Print the DNS TXT record for the key in [dkim] key_file."""
    from weekly.dkim_keys import published

    click.echo(published(root).zone_line())
