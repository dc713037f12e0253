"""Topics on the sign-up form: only the tags `serve.signup_tags` offers are ever kept, so the
public cannot put arbitrary tags (or a segment's worth of them) on its own address."""

from __future__ import annotations

from collections.abc import Iterable

from weekly.config import Config
from weekly.tags import join_tags, parse_tags


def offered_tags(config: Config) -> list[str]:
    """The tags the form offers, in a stable order (checked when the settings were read)."""
    return sorted(parse_tags(config.serve.signup_tags))


def chosen_tags(values: Iterable[str], offered: Iterable[str]) -> str:
    """The `;`-separated tags a form posted that are on offer; anything else is dropped."""
    return join_tags(frozenset(v.strip().lower() for v in values) & frozenset(offered))
