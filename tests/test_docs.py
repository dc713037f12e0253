"""The README stays true: every `weekly` command it shows exists, and so do its make targets."""

from __future__ import annotations

import re

from weekly.cli import main

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_commands_exist() -> None:
    shown = set(re.findall(r"(?:`|bin/)weekly ([a-z][a-z-]+)", README))
    assert shown, "the README shows no weekly commands"
    missing = {name for name in shown if name not in main.commands}
    assert not missing, f"README shows commands that do not exist: {missing}"


def test_readme_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    for target in set(re.findall(r"^make ([a-z-]+)", README, re.M)):
        assert target in targets, target
