"""The `weekly` command: thin click commands that import their implementation lazily."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path
from typing import Any

import click

from weekly.errors import WeeklyError

# SQLite stores integers in 64 bits; a larger issue number is a typo, not an issue.
ISSUE_NUMBER = click.IntRange(1, 2**63 - 1)
PORT = click.IntRange(1, 65535)
# click 8.2 and later: `weekly subscribers` alone prints the group's help as a usage error.
_HELP_ONLY = getattr(click.exceptions, "NoArgsIsHelpError", ())

root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The newsletter's folder (where weekly.toml is).",
)


def _weekly(root: Path, *args: object) -> str:
    """A `weekly` command line as the editor would type it in their current folder."""
    where = () if root == Path(".") else ("--root", root)
    return shlex.join(["weekly", *map(str, args), *map(str, where)])


def _next(*steps: str) -> None:
    """Say what to do next, on stderr: it is advice, not the command's data."""
    click.echo(f"next: {', then '.join(steps)}", err=True)


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
        except Exception as exc:
            detail = " ".join(str(exc).split())
            raise WeeklyError(
                f"unexpected {type(exc).__name__}: {detail} (this is a bug in weekly: "
                "please report it with the command you ran)"
            ) from exc


def _one_line(exc: click.UsageError) -> click.UsageError:
    """The misuse without click's usage lines; a bare `weekly GROUP` still shows its help."""
    if isinstance(exc, _HELP_ONLY):
        return exc
    plain = click.UsageError(exc.format_message())
    plain.exit_code = exc.exit_code
    return plain


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="weekly")
def main() -> None:
    """Write, compose, send and archive a numbered weekly newsletter."""


@main.command()
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
    _next(
        f"{_weekly(root, 'preview', number)} to see it",
        _weekly(root, "send", number, "--test", "you@example.com"),
    )


@main.command()
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Issue date (default today).")
@root_option
def new(on: object, root: Path) -> None:
    """Scaffold the next issue folder with today's date and one example section."""
    from weekly.config import load_config
    from weekly.content.new_issue import scaffold_next_issue

    language = load_config(root).newsletter.language
    folder = scaffold_next_issue(root, language, on.date() if on else None)  # type: ignore[attr-defined]
    click.echo(str(folder))
    _next(f"edit {shlex.quote(str(folder))}/*.md", _weekly(root, "compose", folder.name))


def _init_answer(key: str, value: str) -> str:
    """Check one `weekly init` answer as weekly.toml would (key: its name there)."""
    from weekly.content.new_newsletter import AnswerError, check_answer

    try:
        check_answer(key, value)
    except AnswerError as exc:
        raise click.BadParameter(exc.detail) from None
    return value


def _init_option(key: str) -> object:
    """The `weekly init` option giving the answer `key`, checked like a typed one."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        try:
            return None if value is None else _init_answer(key, value)
        except click.BadParameter as exc:
            exc.ctx, exc.param = ctx, param
            raise

    return check


@main.command()
@click.argument(
    "folder", metavar="[DIR]", type=click.Path(file_okay=False, path_type=Path), default=Path(".")
)
@click.option("--language", callback=_init_option("language"), help="ko or en: strings, dates.")
@click.option("--name", callback=_init_option("name"), help="Newsletter name, the sender's too.")
@click.option("--site-url", callback=_init_option("site_url"), help="Where the archive will be.")
@click.option("--from", "sender", callback=_init_option("from"), help="'Name <addr@example.com>'")
@click.option("--postal-address", callback=_init_option("postal_address"), help="In every footer.")
@click.option("--no-input", is_flag=True, help="Ask nothing: defaults for what no option gives.")
def init(
    folder: Path,
    language: str | None,
    name: str | None,
    site_url: str | None,
    sender: str | None,
    postal_address: str | None,
    no_input: bool,
) -> None:
    """Start a newsletter of your own in DIR (default: here).

    Writes a commented weekly.toml, issues/1/ with an example issue, subscribers.csv with one
    example row and a .gitignore. Asks for what no option gives, unless --no-input.
    """
    from weekly.content.new_newsletter import (
        DEFAULT_SITE_URL,
        Answers,
        check_folder,
        default_name,
        default_postal_address,
        default_sender,
        init_newsletter,
    )

    check_folder(folder)

    def ask(key: str, label: str, given: str | None, default: str) -> str:
        if given is not None or no_input:
            return given if given is not None else default
        return click.prompt(label, default=default, value_proc=lambda v: _init_answer(key, v))

    language = ask("language", "Language (ko, en)", language, "ko")
    name = ask("name", "Newsletter name", name, default_name(language))
    site_url = ask("site_url", "Web archive URL", site_url, DEFAULT_SITE_URL)
    sender = ask("from", "From", sender, default_sender(name, site_url))
    postal_address = ask(
        "postal_address", "Postal address", postal_address, default_postal_address(language)
    )
    created = init_newsletter(folder, Answers(language, name, site_url, sender, postal_address))
    click.echo(f"Started a newsletter in {created.root}:")
    for path in created.files:
        click.echo(f"  {path}")
    click.echo(f"next, in {created.root}:", err=True)
    for step in ("$EDITOR issues/1/*.md", "weekly compose", "weekly preview"):
        click.echo(f"  {step}", err=True)


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
    from weekly.publish.archive import build_archive

    click.echo(build_archive(root, out, drafts=drafts).line())


@main.command("import")
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
    _next(_weekly(root, "compose", made.folder.name))


@main.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@root_option
def export(number: int | None, root: Path) -> None:
    """Print issue NUMBER (default: the newest) as one Hugo-style Markdown file."""
    from weekly.content.export import export_number

    click.echo(export_number(root, number), nl=False)


list_option = click.option(
    "--list",
    "list_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Subscriber list (default: subscribers.csv in the newsletter's folder).",
)


@main.command()
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
    from weekly.deliver.send import SendOptions, send_issue

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
@click.argument("number", type=ISSUE_NUMBER)
@click.option(
    "--failed",
    is_flag=True,
    help="List failed, retrying and uncertain recipients with their last reply, as CSV.",
)
@root_option
def status(number: int, failed: bool, root: Path) -> None:
    """Show how the send of issue NUMBER stands, from the ledger."""
    import sys

    from weekly.deliver.status import status_lines, write_failed

    if failed:
        write_failed(root, number, sys.stdout)
        return
    for line in status_lines(root, number):
        click.echo(line)


@main.command()
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
    import sys

    from weekly.audience.recipients import export_list

    count = export_list(root, list_path, output, sys.stdout)
    if output is not None:
        click.echo(f"Wrote {count:,} subscribers to {output}", err=True)


@main.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@root_option
def preview(number: int | None, port: int, open_browser: bool, root: Path) -> None:
    """Preview issue NUMBER (default: the newest) on 127.0.0.1, recomposing on every save."""
    from weekly.web.preview import run_preview

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
        from weekly.audience.opt_out import unsubscribe_from_mailbox

        click.echo(unsubscribe_from_mailbox(root, mailbox).line())
        return
    from weekly.audience.opt_out import unsubscribe_by_hand

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
    from weekly.audience.bounces import record_bounces

    for line in record_bounces(root, path).lines():
        click.echo(line)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option("--port", type=PORT, default=None, help="Port (default: serve.port, 8025).")
@root_option
def serve(host: str | None, port: int | None, root: Path) -> None:
    """Run the unsubscribe and sign-up web service (put it behind your HTTPS proxy).

    POST /unsubscribe/TOKEN is RFC 8058 one-click; GET shows a page with a button.
    POST /subscribe mails a confirmation link; GET /confirm/TOKEN records the consent.
    """
    from weekly.web.serve import serve as run

    run(root, host, port)


@main.group()
def dkim() -> None:
    """DKIM keys for signing outgoing mail ([dkim] in weekly.toml)."""


@dkim.command("keygen")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@root_option
def dkim_keygen(force: bool, root: Path) -> None:
    """Write a new 2048-bit RSA key to [dkim] key_file and print the DNS TXT record."""
    from weekly.deliver.dkim_keys import generate

    pair = generate(root, force=force)
    click.echo(f"Wrote {pair.path} (keep it secret); publish this record:", err=True)
    click.echo(pair.zone_line())


@dkim.command("record")
@root_option
def dkim_record(root: Path) -> None:
    """Print the DNS TXT record for the key in [dkim] key_file."""
    from weekly.deliver.dkim_keys import published

    click.echo(published(root).zone_line())
