"""`weekly subscribers import FILE --from SERVICE`: another service's list becomes ours, and
no one who left or bounced there is subscribed here."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from .conftest import REPO

LISTS = REPO / "tests" / "fixtures" / "subscribers"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _mailchimp_zip(tmp_path: Path) -> Path:
    target = tmp_path / "audience_export.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted((LISTS / "mailchimp").iterdir()):
            archive.write(path, path.name)
    return target


def test_mailchimp(newsletter: Path, run_weekly: Callable[..., Result], tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    result = run_weekly(
        "subscribers", "import", str(_mailchimp_zip(tmp_path)), "--from", "mailchimp",
        "--list", str(target),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Wrote 5 subscribers to {target}",
        "  bounced: 1",
        "  subscribed: 2",
        "  unsubscribed: 2",
        "  skipped, not a valid address: 1",
        "  kept out of `subscribed` (left or bounced earlier): 1",
    ]
    rows = {row["email"]: row for row in _rows(target)}
    assert rows["minji@example.com"] == {
        "email": "minji@example.com",
        "name": "민지 김",
        "status": "subscribed",
        "subscribed_at": "2024-03-01T08:05:12",
    }
    assert rows["Jun.Park@example.com"]["status"] == "subscribed"
    assert rows["back.again@example.com"]["status"] == "unsubscribed"
    assert rows["left@example.com"]["status"] == "unsubscribed"
    assert rows["gone@example.com"]["status"] == "bounced"
    checked = run_weekly("subscribers", "check", "--list", str(target))
    assert checked.exit_code == 0, checked.output


def test_substack_buttondown_and_ghost(newsletter: Path, run_weekly, tmp_path: Path) -> None:
    expected = {
        "substack.csv": {
            "reader.one@example.com": ("subscribed", "2024-04-04T04:04:04+00:00"),
            "reader.two@example.com": ("unsubscribed", "2024-05-05T05:05:05+00:00"),
            "reader.three@example.com": ("unsubscribed", "2024-06-06T06:06:06+00:00"),
        },
        "buttondown.csv": {
            "alpha@example.com": ("subscribed", "2024-07-01T10:00:00+00:00"),
            "gamma@example.com": ("unsubscribed", "2024-07-03T10:00:00+00:00"),
            "delta@example.com": ("subscribed", "2024-07-04T10:00:00+00:00"),
        },
        "ghost.csv": {
            "hana@example.com": ("subscribed", "2024-08-01T00:00:00+00:00"),
            "dul@example.com": ("unsubscribed", "2024-08-02T00:00:00+00:00"),
        },
    }
    for name, people in expected.items():
        target = tmp_path / f"from-{name}"
        service = name.removesuffix(".csv")
        result = run_weekly(
            "subscribers", "import", str(LISTS / name), "--from", service, "--list", str(target)
        )
        assert result.exit_code == 0, result.output
        got = {row["email"]: (row["status"], row["subscribed_at"]) for row in _rows(target)}
        assert got == people, name


def test_buttondown_reports_the_unconfirmed(newsletter: Path, run_weekly, tmp_path) -> None:
    target = tmp_path / "list.csv"
    result = run_weekly(
        "subscribers", "import", str(LISTS / "buttondown.csv"), "--from", "buttondown",
        "--list", str(target),
    )  # fmt: skip
    assert "  skipped, type unactivated: 1" in result.stdout.splitlines()


def test_an_existing_list_needs_force_and_keeps_who_left(
    newsletter: Path, run_weekly: Callable[..., Result], tmp_path: Path
) -> None:
    target = tmp_path / "subscribers.csv"
    before = "email,name,status,subscribed_at\nhana@example.com,하나,unsubscribed,\n"
    target.write_text(before, "utf-8")
    args = ("subscribers", "import", str(LISTS / "ghost.csv"), "--from", "ghost")
    refused = run_weekly(*args, "--list", str(target))
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: {target}: already exists: pass --force to replace it\n"
    assert target.read_text("utf-8") == before
    forced = run_weekly(*args, "--list", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert {r["email"]: r["status"] for r in _rows(target)} == {
        "hana@example.com": "unsubscribed",
        "dul@example.com": "unsubscribed",
    }
    assert "  kept out of `subscribed` (left or bounced earlier): 1" in forced.stdout
