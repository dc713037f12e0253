"""Who gets mail: the list's `subscribed` rows plus confirmed sign-ups, minus everyone who
unsubscribed, bounced (the send ledger's 5xx replies included) or complained later than they
subscribed. `weekly send` and `weekly subscribers export` both ask here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from weekly.addresses import normalise
from weekly.audience.subscriber_list import (
    ListReport,
    Row,
    Subscriber,
    open_list,
)
from weekly.config import load_config
from weekly.files import replacing
from weekly.project import KNOWN_COLUMNS, LIST_NAME, SUBSCRIBED
from weekly.store import existing_consent_log, existing_ledger
from weekly.store.consent import BOUNCED, CONFIRMED, Event, Standing, standings_of
from weekly.tags import TAGS_COLUMN, parse_tags


def ledger_bounces(root: Path) -> list[Event]:
    """The 5xx refusals `weekly send` recorded, as hard-bounce events."""
    ledger = existing_ledger(root)
    if ledger is None:
        return []
    try:
        return [
            Event(at=at, email=email, kind=BOUNCED, source="ledger", detail=reply)
            for email, reply, at in ledger.permanent_failures()
        ]
    finally:
        ledger.close()


@dataclass(frozen=True)
class Audience:
    """The standing of every address the subscription log or the ledger knows about."""

    standings: dict[str, Standing]

    @classmethod
    def load(cls, root: Path) -> Audience:
        """Read the log and the ledger of the newsletter at `root` (changing neither)."""
        bounces = ledger_bounces(root)
        log = existing_consent_log(root)
        if log is None:
            return cls(standings_of(bounces))
        with log:
            return cls(log.standings(bounces))

    def admits(self, subscriber: Subscriber) -> bool:
        """Whether a list row gets mail: subscribed there and not suppressed since. A row the
        editor marked otherwise stays off, whatever the web says."""
        if subscriber.status != SUBSCRIBED:
            return False
        standing = self.standings.get(subscriber.key)
        return standing is None or not standing.suppresses(subscriber.subscribed_at)

    def signed_up(self, key: str) -> bool:
        """Whether `key` confirmed a sign-up and has not left since."""
        standing = self.standings.get(key)
        return standing is not None and standing.status == CONFIRMED

    def walk(
        self,
        path: Path,
        checked: tuple[int, int] | None = None,
        seen: Callable[[Row], None] | None = None,
    ) -> Iterator[tuple[Subscriber, bool]]:
        """Every valid row of the list at `path`, whatever its status, then every confirmed
        sign-up the list lacks; the flag is true for those. `seen` gets each row as read,
        invalid ones too; `checked` is as for `open_list`."""
        listed: set[str] = set()  # list rows that also signed up on the web
        for row in open_list(path, checked):
            if seen is not None:
                seen(row)
            if not isinstance(row, Subscriber):
                continue
            if self.signed_up(row.key):
                listed.add(row.key)
            yield row, False
        for signup in self._signups(listed):
            yield signup, True

    def _signups(self, listed: Container[str]) -> Iterator[Subscriber]:
        """Confirmed sign-ups whose address is not among `listed` (the list's keys)."""
        for key, standing in sorted(self.standings.items()):
            if standing.status != CONFIRMED or key in listed:
                continue
            email, address = normalise(standing.email)
            yield Subscriber(
                line=0,
                email=email,
                address=address,
                key=key,
                name=standing.name,
                status=SUBSCRIBED,
                fields={TAGS_COLUMN: standing.tags} if standing.tags else {},
                subscribed_at=standing.since.isoformat(timespec="seconds"),
                tags=parse_tags(standing.tags),  # checked when the reader chose them
            )


def export_list(root: Path, list_path: Path | None, output: Path | None, out: TextIO) -> int:
    """`weekly subscribers export`: the list with each row's status as it stands now, then
    the sign-ups, as CSV in the list's own format. Returns the number of rows written."""
    load_config(root)
    path = list_path or root / LIST_NAME
    ListReport.read(path).raise_if_invalid()
    audience = Audience.load(root)
    if output is None:
        return _write(path, audience, out)
    with replacing(output) as partial, partial.open("w", encoding="utf-8", newline="") as handle:
        return _write(path, audience, handle)


def _write(path: Path, audience: Audience, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    extra: list[str] | None = None  # the list's own columns, from its first valid row
    count = 0
    for row, _ in audience.walk(path):
        if extra is None:
            extra = list(row.fields)
            writer.writerow([*KNOWN_COLUMNS, *extra])
        writer.writerow([*_known(row, audience), *(row.fields.get(c, "") for c in extra)])
        count += 1
    if extra is None:
        writer.writerow(KNOWN_COLUMNS)
    return count


def _known(row: Subscriber, audience: Audience) -> list[str]:
    """email, name, status, subscribed_at: the status the row has now."""
    status = row.status
    standing = audience.standings.get(row.key)
    if status == SUBSCRIBED and standing is not None and not audience.admits(row):
        status = standing.status  # unsubscribed, bounced or complained: the list's own words
    return [row.email, row.name, status, row.subscribed_at]
