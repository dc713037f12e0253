"""The subscriber list (`subscribers.csv`): streamed row by row, validated, de-duplicated.

Rows are never held all at once, so a list of a million addresses reads in flat memory.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError

from weekly.addresses import normalise
from weekly.audience.hash_set import HashSet64
from weekly.control import control_character
from weekly.errors import LocatedError, WeeklyError, decode_utf8
from weekly.placeholders import EMAIL, NAME, STANDARD_KEYS, is_key
from weekly.project import KNOWN_COLUMNS, LIST_NAME, STATUSES, SUBSCRIBED
from weekly.tags import TAGS_COLUMN, TagError, parse_tags

# Report at most this many problems of each kind in full; the rest are only counted.
REPORT_LIMIT = 1000


class ListError(LocatedError):
    """The subscriber list is unreadable or has invalid rows."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One valid row: who to mail, as whom, and their merge fields."""

    line: int
    email: str  # as the reader wrote it, domain normalised
    address: str  # ASCII form for the SMTP envelope (IDN domains in punycode)
    key: str  # lower-cased address: the identity used for de-duplication and the ledger
    name: str
    status: str
    fields: dict[str, str]
    subscribed_at: str = ""  # as written in the list; a later unsubscribe or bounce wins
    tags: frozenset[str] = frozenset()  # the `tags` column, for segments

    def values(self) -> dict[str, str]:
        """Placeholder values for this subscriber (without the unsubscribe URL)."""
        return {**self.fields, NAME: self.name, EMAIL: self.email}


@dataclass(frozen=True, slots=True)
class Problem:
    """One row that cannot be used, with the column at fault."""

    line: int
    column: str
    message: str

    def describe(self, path: Path) -> str:
        return f"{path}:{self.line}: {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row whose address (ignoring case) appeared on an earlier line."""

    line: int
    email: str


Row = Subscriber | Problem | Duplicate


def _not_found(path: Path) -> WeeklyError:
    return WeeklyError(f"{path}: subscriber list not found (use --list PATH)")


def list_stamp(path: Path) -> tuple[int, int]:
    """Size and modification time: whether the list is still the one already checked."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise _not_found(path) from None
    return stat.st_size, stat.st_mtime_ns


def open_list(path: Path, checked: tuple[int, int] | None = None) -> Iterator[Row]:
    """Every data row of the list at `path`, in order, as a Subscriber, Problem or Duplicate.

    `checked` is the stamp of an earlier pass over this very file: a second pass must read
    the same rows the first one counted.
    """
    if checked is not None and list_stamp(path) != checked:
        raise WeeklyError(f"{path} changed while sending started: run the command again")
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise _not_found(path) from None
    with handle:
        try:
            yield from _rows(path, handle)
        except UnicodeDecodeError:
            # Only now read the whole file, to say on which line the stray byte is.
            decode_utf8(path, path.read_bytes(), ListError)
            raise


def _next_cells(path: Path, reader: Iterator[list[str]], line: int) -> list[str] | None:
    """The row that starts on `line`, or None at the end; a malformed one names that line
    (a quote never closed runs on to the end of the file, far from where it was opened)."""
    try:
        return next(reader, None)
    except csv.Error as exc:
        # With newline="" and the default dialect the field limit is the only error seen.
        detail = (
            f"malformed CSV: a field over {csv.field_size_limit():,} characters starts "
            "in this row (most likely a quote that is never closed)"
            if "field limit" in str(exc)
            else f"malformed CSV ({exc})"
        )
        raise ListError(path, detail, line) from None


def _rows(path: Path, handle: object) -> Iterator[Row]:
    reader = csv.reader(handle)  # type: ignore[arg-type]
    header = _next_cells(path, reader, 1)
    if header is None:
        raise ListError(path, "empty file: the first line must name the columns", 1)
    columns = _columns(path, header)
    width = len(columns)
    seen = HashSet64()
    start = reader.line_num + 1
    while (cells := _next_cells(path, reader, start)) is not None:
        line, start = start, reader.line_num + 1
        if not cells or cells == [""]:
            continue
        if len(cells) != width:
            yield Problem(line, "row", f"has {len(cells)} fields, the header has {width}")
            continue
        row = _subscriber(line, dict(zip(columns, cells, strict=True)))
        # A 64-bit hash per address keeps a million-row list small in memory; a false match
        # is about as likely as winning a lottery twice, and is reported as a duplicate.
        if isinstance(row, Subscriber) and not seen.add(hash(row.key)):
            yield Duplicate(line, row.email)
            continue
        yield row


def _columns(path: Path, header: list[str]) -> list[str]:
    """Column names, lower-cased; extra columns must be usable as placeholder keys."""
    columns = [name.strip().lower() for name in header]
    if "email" not in columns:
        raise ListError(path, "header: no `email` column", 1)
    for name, count in Counter(columns).items():
        if not name:
            continue  # unnamed, like a spreadsheet's trailing comma: ignored
        if count > 1:
            raise ListError(path, f"header: column `{name}` appears {count} times", 1)
        if name not in KNOWN_COLUMNS and not is_key(name):
            raise ListError(
                path, f"header: column `{name}` must be a lower-case name like `company`", 1
            )
        if name in STANDARD_KEYS and name not in KNOWN_COLUMNS:
            raise ListError(path, f"header: column `{name}` is reserved", 1)
    return columns


def bare_subscriber(raw: str, line: int) -> Subscriber:
    """A `--test` address as a subscriber without a name or fields; a bad one is an error."""
    try:
        email, address = normalise(raw)
    except EmailNotValidError as exc:
        raise WeeklyError(f"--test {raw!r}: not a valid address: {exc}") from None
    return Subscriber(line, email, address, email.lower(), "", SUBSCRIBED, {})


def _subscriber(line: int, row: dict[str, str]) -> Subscriber | Problem:
    # One search over the whole row (the common, clean case), the column only when it hits.
    if control_character("".join(row.values())) is not None:
        column = next(c for c, v in row.items() if control_character(v) is not None)
        return Problem(line, column, "contains a line break or control character")
    raw = row["email"].strip()
    if not raw:
        return Problem(line, "email", "is empty")
    try:
        email, address = normalise(raw)
    except EmailNotValidError as exc:
        return Problem(line, "email", f"{raw!r} is not a valid address: {exc}")
    status = row.get("status", "").strip().lower() or SUBSCRIBED
    if status not in STATUSES:
        return Problem(line, "status", f"{status!r} is not one of {', '.join(STATUSES)}")
    try:
        tags = parse_tags(row.get(TAGS_COLUMN, ""))
    except TagError as exc:
        return Problem(line, TAGS_COLUMN, str(exc))
    fields = {k: v for k, v in row.items() if k and k not in KNOWN_COLUMNS}
    return Subscriber(
        line=line,
        email=email,
        address=address,
        key=email.lower(),
        name=row.get("name", "").strip(),
        status=status,
        fields=fields,
        subscribed_at=row.get("subscribed_at", "").strip(),
        tags=tags,
    )


@dataclass
class ListReport:
    """What a pass over the list found: counts by status, invalid rows, duplicates."""

    path: Path
    stamp: tuple[int, int] = (0, 0)
    by_status: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    duplicate_count: int = 0
    smtputf8: int = 0  # subscribed addresses whose part before @ is not ASCII

    @classmethod
    def read(cls, path: Path) -> ListReport:
        """A pass over the whole list at `path`, every row counted."""
        report = cls(path)
        for row in open_list(path):
            report.add(row)
        return report

    def add(self, row: Row) -> None:
        """Count one row."""
        if isinstance(row, Subscriber):
            self.by_status[row.status] += 1
            if row.status == SUBSCRIBED and not row.address.isascii():
                self.smtputf8 += 1
        elif isinstance(row, Problem):
            self.problem_count += 1
            if len(self.problems) < REPORT_LIMIT:
                self.problems.append(row)
        else:
            self.duplicate_count += 1
            if len(self.duplicates) < REPORT_LIMIT:
                self.duplicates.append(row)

    @property
    def subscribed(self) -> int:
        return self.by_status[SUBSCRIBED]

    def raise_if_invalid(self) -> None:
        """Stop before anything is sent when any row is unusable, naming the first one."""
        if self.problem_count:
            first = self.problems[0]
            more = self.problem_count - 1
            suffix = f" (and {more:,} more: see `weekly subscribers check`)" if more else ""
            raise ListError(self.path, f"{first.column}: {first.message}{suffix}", first.line)

    def lines(self) -> Iterator[str]:
        """The human-readable report printed by `weekly subscribers check`."""
        total = sum(self.by_status.values())
        yield f"{self.path}: {total:,} valid rows"
        for status in STATUSES:
            yield f"  {status:<13} {self.by_status[status]:>9,}"
        yield f"  {'duplicates':<13} {self.duplicate_count:>9,}"
        yield f"  {'invalid':<13} {self.problem_count:>9,}"
        for dup in self.duplicates:
            yield f"{self.path}:{dup.line}: email: duplicate of an earlier row ({dup.email})"
        for problem in self.problems:
            yield problem.describe(self.path)
        hidden = self.problem_count + self.duplicate_count
        hidden -= len(self.problems) + len(self.duplicates)
        if hidden:
            yield f"… and {hidden:,} more not listed"


def check_list(path: Path | None, root: Path, echo: Callable[[str], None]) -> None:
    """`weekly subscribers check`: print the report; any invalid row makes it an error."""
    report = ListReport.read(path or root / LIST_NAME)
    for line in report.lines():
        echo(line)
    if report.problem_count:
        raise WeeklyError(f"{report.path}: {report.problem_count:,} invalid rows")
