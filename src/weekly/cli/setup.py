"""Commands that set a newsletter up and show how it is set: `init`, `config`, `dkim`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from weekly.cli.options import root_option

if TYPE_CHECKING:
    from weekly.config_docs import SettingDoc


def _init_answer(key: str, value: str) -> str:
    """Check one `weekly init` answer as weekly.toml would (key: its name there)."""
    from weekly.content.new_newsletter import AnswerError, check_answer

    try:
        check_answer(key, value)
    except AnswerError as exc:
        raise click.BadParameter(exc.detail) from None
    return value


def _init_option(key: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """The `weekly init` option giving the answer `key`, checked like a typed one."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        try:
            return None if value is None else _init_answer(key, value)
        except click.BadParameter as exc:
            exc.ctx, exc.param = ctx, param
            raise

    return check


@click.command()
@click.argument(
    "folder", metavar="[DIR]", type=click.Path(file_okay=False, path_type=Path), default=Path(".")
)
@click.option("--language", callback=_init_option("language"), help="ko or en: strings, dates.")
@click.option("--name", callback=_init_option("name"), help="Newsletter name, the sender's too.")
@click.option("--site-url", callback=_init_option("site_url"), help="Where the archive will be.")
@click.option("--from", "sender", callback=_init_option("from"), help="'Name <addr@example.com>'")
@click.option("--postal-address", callback=_init_option("postal_address"), help="In every footer.")
@click.option(
    "--tracking", callback=_init_option("tracking"), help="off, aggregate or subscriber counts."
)
@click.option("--no-input", is_flag=True, help="Ask nothing: defaults for what no option gives.")
def init(
    folder: Path,
    language: str | None,
    name: str | None,
    site_url: str | None,
    sender: str | None,
    postal_address: str | None,
    tracking: str | None,
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
        answer: str = click.prompt(
            label, default=default, value_proc=lambda v: _init_answer(key, v)
        )
        return answer

    language = ask("language", "Language (ko, en)", language, "ko")
    name = ask("name", "Newsletter name", name, default_name(language))
    site_url = ask("site_url", "Web archive URL", site_url, DEFAULT_SITE_URL)
    sender = ask("from", "From", sender, default_sender(name, site_url))
    postal_address = ask(
        "postal_address", "Postal address", postal_address, default_postal_address(language)
    )
    tracking = ask(
        "tracking", "Count clicks and opens (off, aggregate, subscriber)", tracking, "aggregate"
    )
    answers = Answers(language, name, site_url, sender, postal_address, tracking)
    created = init_newsletter(folder, answers)
    click.echo(f"Started a newsletter in {created.root}:")
    for path in created.files:
        click.echo(f"  {path}")
    click.echo(f"next, in {created.root}:", err=True)
    for step in ("$EDITOR issues/1/*.md", "weekly compose", "weekly preview"):
        click.echo(f"  {step}", err=True)


@click.command()
@click.option("--docs", is_flag=True, help="Instead: every setting, its type, default and use.")
@click.option("--markdown", is_flag=True, help="With --docs: as the README's Markdown table.")
@root_option
def config(docs: bool, markdown: bool, root: Path) -> None:
    """Print the settings in effect: weekly.toml with every default filled in.

    Secrets are never in weekly.toml; only whether the environment sets them is shown.
    """
    if markdown and not docs:
        raise click.UsageError("--markdown goes with --docs")
    if docs:
        from weekly.config_docs import settings_docs

        show = _markdown_table if markdown else _docs_text
        for line in show(settings_docs()):
            click.echo(line)
        return
    import os

    from weekly.audience.tokens import SECRET_ENV
    from weekly.config import load_config
    from weekly.config_docs import toml_lines
    from weekly.deliver.backends import credential_variable

    settings = load_config(root)
    click.echo(f"# {settings.path}, with defaults for what it leaves out")
    for name in (SECRET_ENV, credential_variable(settings.delivery)):
        click.echo(f"# {name} is {'set (not shown)' if os.environ.get(name) else 'not set'}")
    for line in toml_lines(settings):
        click.echo(line)


def _docs_text(docs: Iterable[SettingDoc]) -> Iterator[str]:
    """Each table and setting on a line of its own, its meaning indented below."""
    for doc in docs:
        if doc.kind == "table":
            yield f"[{doc.key}] ({'required' if doc.required else 'optional'} table)"
        else:
            yield f"{doc.key}: {doc.kind}, " + (
                "required" if doc.required else f"default {doc.default}"
            )
        yield f"    {doc.doc}"


def _markdown_table(docs: Iterable[SettingDoc]) -> Iterator[str]:
    """The README's settings table: one row per table and setting."""
    yield "| Setting | Type | Default | Meaning |"
    yield "| --- | --- | --- | --- |"
    for doc in docs:
        key = f"[{doc.key}]" if doc.kind == "table" else doc.key
        default = f"`{doc.default}`" if doc.default else "required" if doc.required else "optional"
        cells = (f"`{key}`", doc.kind, default, doc.doc)
        yield "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


@click.group()
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


COMMANDS = (init, config, dkim)
