"""The README stays true: every `weekly` command it shows exists, and so do its make targets;
its first screen shows a user's path and a contributor's two commands."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator

import click
from click.testing import CliRunner

from weekly.cli import main
from weekly.config import Config

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
# `weekly CMD [SUB]` in prose, after .venv/bin/, or at the start of a line in a code block.
COMMAND = re.compile(r"(?:`|bin/|^)weekly ([a-z][a-z-]+)(?: ([a-z][a-z-]+))?", re.M)


def test_readme_commands_exist() -> None:
    shown = COMMAND.findall(README)
    assert shown, "the README shows no weekly commands"
    missing = set()
    for name, sub in shown:
        command = main.commands.get(name)
        if command is None:
            missing.add(name)
        elif isinstance(command, click.Group) and sub and sub not in command.commands:
            missing.add(f"{name} {sub}")
    assert not missing, f"README shows commands that do not exist: {missing}"


def test_readme_options_of_init_exist() -> None:
    options = {opt for param in main.commands["init"].params for opt in param.opts}
    for shown in re.findall(r"`(--[a-z-]+)`", README.split("## Writing an issue")[0]):
        assert shown in options, shown


def test_readme_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    for target in set(re.findall(r"^make ([a-z-]+)", README, re.M)):
        assert target in targets, target


def test_first_screen_shows_the_user_path_then_the_contributor_commands() -> None:
    screen = README.splitlines()[:40]
    steps = [
        "pipx install weekly",
        "weekly init",
        "$EDITOR issues/1/",
        "weekly compose",
        "weekly preview",
        "weekly send 1 --test",
        "weekly send 1 ",
        "make run",
        "make test",
    ]
    at = [next((i for i, line in enumerate(screen) if line.startswith(s)), -1) for s in steps]
    assert -1 not in at, dict(zip(steps, at, strict=True))
    assert at == sorted(at), dict(zip(steps, at, strict=True))


SETTINGS_TABLE = re.compile(
    r"<!-- settings: weekly config --docs --markdown -->\n(.*?)<!-- end of settings -->", re.S
)


def test_readme_settings_table_is_generated_from_the_declarations() -> None:
    found = SETTINGS_TABLE.search(README)
    assert found, "the README lost its settings table (or its markers)"
    result = CliRunner().invoke(main, ["config", "--docs", "--markdown"])
    assert result.exit_code == 0, result.output
    assert found.group(1) == result.output, (
        "the README's settings table is stale: replace it with `weekly config --docs --markdown`"
    )


def test_settings_table_has_a_row_for_every_declared_setting() -> None:
    def keys(cls: type, prefix: str = "") -> Iterator[str]:
        for f in dataclasses.fields(cls):
            if f.metadata.get("internal"):
                continue
            key = prefix + (f.metadata.get("key") or f.name)
            kind = typing.get_type_hints(cls)[f.name]
            if dataclasses.is_dataclass(kind):
                yield f"[{key}]"
                yield from keys(kind, key + ".")
            else:
                yield key

    table = SETTINGS_TABLE.search(README)
    assert table
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+(?:\\\|[^|]+)* \| [^|]* \| (.+) \|$", table[1], re.M)
    assert [key for key, _ in rows] == list(keys(Config))
    assert all(meaning.strip() for _, meaning in rows)


def test_every_source_path_the_docs_name_exists() -> None:
    named: set[tuple[str, str]] = set()
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for path in re.findall(r"`((?:[\w.]+/)+[\w.]+\.(?:py|mjml|txt|md))`", doc.read_text()):
            full = (
                path
                if path.startswith(("src/", "tests/", "bench/", "docs/"))
                else (f"src/weekly/{path}")
            )
            named.add((doc.name, full))
    missing = sorted(item for item in named if not (REPO / item[1]).exists())
    assert len(named) > 20 and missing == []
