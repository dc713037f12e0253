"""Where a newsletter keeps things: issue folders, templates, builds, send state and the
subscriber list (with the list's columns and statuses, which `weekly init` writes too)."""

from __future__ import annotations

from pathlib import Path

from weekly.errors import WeeklyError

ISSUES_DIR = "issues"
TEMPLATES_DIR = "templates"
BUILD_DIR = "build"
SITE_DIR = "site"
STATE_DIR = ".weekly"
LIST_NAME = "subscribers.csv"
SUBSCRIBED = "subscribed"
STATUSES = (SUBSCRIBED, "unsubscribed", "bounced", "complained")
KNOWN_COLUMNS = ("email", "name", "status", "subscribed_at")


# SQLite stores integers in 64 bits; a larger issue number is a typo, not an issue.
LARGEST_ISSUE = 2**63 - 1


def is_issue_number(number: int) -> bool:
    """Whether `number` can name an issue: what every command accepts and the ledger stores."""
    return 1 <= number <= LARGEST_ISSUE


def issue_dir(root: Path, number: int) -> Path:
    """The folder holding issue `number`'s Markdown files."""
    return root / ISSUES_DIR / str(number)


def build_dir(root: Path, number: int) -> Path:
    """The folder `weekly compose` writes issue `number`'s email into."""
    return root / BUILD_DIR / str(number)


def issue_numbers(root: Path) -> list[int]:
    """Numbers of every issue folder, ascending; folders whose name is not digits are skipped.
    A number written another way (`0324`, non-ASCII digits) is an error, not a silent skip:
    every command finds issue N at `issues/N`."""
    base = root / ISSUES_DIR
    if not base.is_dir():
        return []
    found = []
    for path in base.iterdir():
        if not (path.is_dir() and path.name.isdigit()):
            continue
        if not path.name.isascii() or str(int(path.name)) != path.name:
            raise WeeklyError(
                f"{path}: an issue folder is named by its number in plain digits "
                "without leading zeros: rename it"
            )
        found.append(int(path.name))
    return sorted(n for n in found if is_issue_number(n))


def chosen_issue_number(root: Path, number: int | None) -> int:
    """`number` when given, else the newest issue's: what commands take without a number."""
    return newest_issue_number(root) if number is None else number


def newest_issue_number(root: Path) -> int:
    """The highest issue number, for commands run without one."""
    numbers = issue_numbers(root)
    if not numbers:
        raise WeeklyError(f"no issues in {root / ISSUES_DIR}: create one with `weekly new`")
    return numbers[-1]
