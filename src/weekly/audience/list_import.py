"""`weekly subscribers import FILE --from SERVICE`: another service's subscriber export as
our `subscribers.csv`, statuses mapped so no one who left or bounced is mailed again."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from weekly.errors import LocatedError, decode_utf8
from weekly.files import write_file
from weekly.project import KNOWN_COLUMNS, SUBSCRIBED

SERVICES = ("mailchimp", "substack", "buttondown", "ghost")
_WORSE = {"subscribed": 0, "unsubscribed": 1, "bounced": 2, "complained": 3}
#: Buttondown subscriber types; those not here (unactivated: never confirmed) are skipped.
_BUTTONDOWN = {
    "regular": SUBSCRIBED,
    "premium": SUBSCRIBED,
    "gifted": SUBSCRIBED,
    "churning": SUBSCRIBED,
    "trialed": SUBSCRIBED,
    "unsubscribed": "unsubscribed",
    "removed": "unsubscribed",
    "undeliverable": "bounced",
    "spammy": "complained",
}


@dataclass(frozen=True)
class Mapped:
    """One person as our list has them, or why their row was left out."""

    email: str = ""
    name: str = ""
    status: str = ""
    subscribed_at: str = ""
    skipped: str = ""  # the reason, when the row is left out


@dataclass(frozen=True)
class ListImport:
    """What the import wrote and what it left out, for the report."""

    path: Path
    statuses: Counter[str]
    skipped: Counter[str]
    kept_out: int  # listed as subscribed here, but unsubscribed or bounced elsewhere

    def report(self) -> list[str]:
        written = sum(self.statuses.values())
        lines = [f"Wrote {written} subscribers to {self.path}"]
        lines += [f"  {status}: {count}" for status, count in sorted(self.statuses.items())]
        lines += [f"  skipped, {why}: {count}" for why, count in sorted(self.skipped.items())]
        if self.kept_out:
            lines.append(f"  kept out of `subscribed` (left or bounced earlier): {self.kept_out}")
        return lines


def import_list(source: Path, service: str, target: Path, *, force: bool) -> ListImport:
    """Read every row of the export at `source`, then write `target` in one step; a person
    listed more than once keeps their worst status, so a later row never resubscribes them."""
    from email_validator import EmailNotValidError  # not at import: the CLI names SERVICES

    from weekly.addresses import normalise

    if target.exists() and not force:
        raise LocatedError(target, "already exists: pass --force to replace it")
    mapper = _MAPPERS[service]
    people = _left_earlier(target)
    skipped: Counter[str] = Counter()
    kept_out = 0
    for name, row in _rows(source):
        person = mapper(row, name)
        if not person.skipped:
            try:
                email, _ = normalise(person.email.strip())
            except EmailNotValidError:
                person = Mapped(skipped="not a valid address")
        if person.skipped:
            skipped[person.skipped] += 1
            continue
        kept_out += _add(people, email, person)
    written = [person for person in people.values() if person.email]
    write_file(target, _csv(written).encode("utf-8"))
    statuses = Counter(p.status for p in written)
    return ListImport(target, statuses, skipped, kept_out)


def _add(people: dict[str, Mapped], email: str, person: Mapped) -> bool:
    """Put `person` in `people` unless an earlier row of the export has them as bad or worse;
    true when a `subscribed` row lost to one saying they left or bounced."""
    key = email.lower()
    earlier = people.get(key)
    status = person.status
    held = False
    if earlier is not None:
        worst = max(status, earlier.status, key=_WORSE.__getitem__)
        held = SUBSCRIBED in (status, earlier.status) and worst != SUBSCRIBED
        if earlier.email and worst == earlier.status:
            return held
        status = worst
    people[key] = Mapped(email, person.name, status, person.subscribed_at)
    return held


def _left_earlier(target: Path) -> dict[str, Mapped]:
    """Who the list being replaced says left, bounced or complained (no email: not written
    unless the export lists them too), so --force cannot resubscribe them."""
    if not target.exists():
        return {}
    text = decode_utf8(target, target.read_bytes())
    return {
        row["email"].strip().lower(): Mapped(status=row["status"].strip())
        for row in csv.DictReader(io.StringIO(text))
        if row.get("email")
        and (row.get("status") or "").strip() in _WORSE
        and row["status"].strip() != SUBSCRIBED
    }


def _csv(people: list[Mapped]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KNOWN_COLUMNS)
    for person in people:
        writer.writerow([person.email, person.name, person.status, person.subscribed_at])
    return out.getvalue()


def _rows(source: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(file name, row) of the CSV at `source`, or of each CSV in a zip (Mailchimp
    exports each status as its own file)."""
    try:
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                files = [
                    (n, archive.read(n)) for n in sorted(archive.namelist()) if n.endswith(".csv")
                ]
        else:
            files = [(source.name, source.read_bytes())]
    except OSError as exc:
        raise LocatedError(source, f"cannot read: {exc.strerror or exc}") from None
    for name, data in files:
        reader = csv.DictReader(io.StringIO(decode_utf8(f"{source}:{name}", data)))
        if not reader.fieldnames:
            raise LocatedError(source, f"{name} has no header row")
        for row in reader:
            yield name, {k.strip(): (v or "").strip() for k, v in row.items() if k}


def _when(text: str) -> str:
    """A consent time as ISO 8601 when it reads as a date and time; as written otherwise."""
    try:
        return dt.datetime.fromisoformat(text).isoformat()  # Python 3.11 reads a final Z
    except ValueError:
        return text


def _mailchimp(row: dict[str, str], file_name: str) -> Mapped:
    status = (row.get("Status") or row.get("status") or "").lower()
    if not status:
        lowered = file_name.lower()
        for word in ("unsubscribed", "cleaned", "nonsubscribed", "subscribed"):
            if word in lowered:
                status = word
                break
    mapped = {"subscribed": SUBSCRIBED, "unsubscribed": "unsubscribed", "cleaned": "bounced"}
    if status not in mapped:
        return Mapped(skipped=f"status {status or '(none)'}")
    name = " ".join(filter(None, (row.get("First Name"), row.get("Last Name"))))
    when = row.get("CONFIRM_TIME") or row.get("OPTIN_TIME") or ""
    return Mapped(row.get("Email Address", ""), name, mapped[status], _when(when))


def _substack(row: dict[str, str], _: str) -> Mapped:
    active = row.get("active_subscription", "").lower() == "true"
    disabled = row.get("email_disabled", "").lower() == "true"
    status = SUBSCRIBED if active and not disabled else "unsubscribed"
    when = row.get("subscription_date") or row.get("created_at") or ""
    return Mapped(row.get("email", ""), row.get("name", ""), status, _when(when))


def _buttondown(row: dict[str, str], _: str) -> Mapped:
    kind = (row.get("subscriber_type") or row.get("type") or "").lower()
    if kind not in _BUTTONDOWN:
        return Mapped(skipped=f"type {kind or '(none)'}")
    when = row.get("creation_date") or row.get("created_at") or ""
    return Mapped(row.get("email", ""), row.get("name", ""), _BUTTONDOWN[kind], _when(when))


def _ghost(row: dict[str, str], _: str) -> Mapped:
    flag = (row.get("subscribed_to_emails") or row.get("subscribed") or "").lower()
    status = SUBSCRIBED if flag == "true" else "unsubscribed"
    if row.get("deleted_at"):
        status = "unsubscribed"
    return Mapped(
        row.get("email", ""), row.get("name", ""), status, _when(row.get("created_at", ""))
    )


_MAPPERS: dict[str, Callable[[dict[str, str], str], Mapped]] = {
    "mailchimp": _mailchimp,
    "substack": _substack,
    "buttondown": _buttondown,
    "ghost": _ghost,
}
