"""The archive's Atom feed entries: the newest issues in full, each entry's HTML and `updated`
time kept between builds so one edit re-renders one entry, not 20."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from weekly.config import Config, issue_url
from weekly.publish.incremental import digest


class Dated(Protocol):
    """What the feed needs to know of an archive entry."""

    @property
    def number(self) -> int: ...

    @property
    def date(self) -> dt.date: ...

    @property
    def digest(self) -> str: ...


def atom_time(moment: dt.date) -> str:
    """An RFC 3339 UTC time as Atom wants it; a date means its midnight."""
    if not isinstance(moment, dt.datetime):
        return f"{moment.isoformat()}T00:00:00Z"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedEntries:
    """The feed's entries, reusing what the last build saved: `saved` (by issue number) is
    the dict the archive keeps in its manifest, so it is updated in place."""

    def __init__(self, saved: dict[str, Any], now: str) -> None:
        self.saved = saved
        self.now = now

    def entries(
        self,
        newest: Sequence[Dated],
        shape: str,
        config: Config,
        html_of: Callable[[int, str], str],
    ) -> tuple[list[dict[str, Any]], str]:
        """The template's entries for `newest` and the feed's `updated` time; `html_of(number,
        url)` renders an issue's content, and runs only for entries that changed (`shape`
        digests everything else that shapes the output)."""
        entries, kept = [], {}
        for entry in newest:
            url = issue_url(config, entry.number)
            inputs = digest(shape, entry.digest)
            known = self.saved.get(str(entry.number), {})
            if known.get("inputs") != inputs:
                known = {
                    "inputs": inputs,
                    "html": html_of(entry.number, url),
                    "digest": entry.digest,
                    "updated": self._updated(entry, known),
                }
            kept[str(entry.number)] = known
            entries.append(
                {"entry": entry, "url": url, "content": known["html"], "updated": known["updated"]}
            )
        self.saved.clear()
        self.saved.update(kept)
        updated = max((e["updated"] for e in entries), default=atom_time(dt.date(1970, 1, 1)))
        return entries, updated

    def _updated(self, entry: Dated, known: dict[str, Any]) -> str:
        """An entry's Atom `updated`: its date when it first enters the feed, the build's time
        once its issue's files change, and otherwise what it was (a new template is no edit)."""
        if not known.get("digest"):
            return atom_time(entry.date)
        return str(known["updated"]) if known["digest"] == entry.digest else self.now
