"""`weekly subscribers import FILE --from SERVICE`: another service's list becomes ours, and
no one who left or bounced there is subscribed here."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from weekly.audience.list_import import ListImport, import_list
from weekly.errors import LocatedError

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


# The other shapes an export takes (older column names, columns left out, statuses named
# only by the file, a person listed twice): each still maps to the status it means.


def export(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def imported(source: Path, service: str) -> tuple[ListImport, dict[str, tuple[str, ...]]]:
    """The import's report and each written row as (name, status, subscribed_at)."""
    target = source.parent / "subscribers.csv"
    done = import_list(source, service, target, force=True)
    with target.open(encoding="utf-8", newline="") as file:
        rows = {
            row["email"]: (row["name"], row["status"], row["subscribed_at"])
            for row in csv.DictReader(file)
        }
    return done, rows


def test_mailchimp_status_from_the_file_name(tmp_path: Path) -> None:
    source = tmp_path / "export.zip"
    header = "Email Address,First Name\n"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("nonsubscribed_members.csv", header + "n@example.com,N\n")
        archive.writestr("members.csv", header + "x@example.com,X\n")
        archive.writestr("cleaned_members.csv", header + "c@example.com,C\n")
    done, rows = imported(source, "mailchimp")
    assert rows == {"c@example.com": ("C", "bounced", "")}
    assert dict(done.skipped) == {"status nonsubscribed": 1, "status (none)": 1}


def test_a_row_without_an_address_column_is_skipped(tmp_path: Path) -> None:
    for service, text in {
        "mailchimp": "Status,First Name\nsubscribed,A\n",
        "substack": "active_subscription\ntrue\n",
        "buttondown": "type\nregular\n",
        "ghost": "subscribed\ntrue\n",
    }.items():
        done, rows = imported(export(tmp_path, f"{service}.csv", text), service)
        assert rows == {}, service
        assert dict(done.skipped) == {"not a valid address": 1}, service


@pytest.mark.parametrize(
    ("service", "text", "expected", "skipped"),
    [
        (
            "mailchimp",
            "Email Address,status,OPTIN_TIME\n"
            "a@example.com,Subscribed,2024-01-02 03:04:05\n"
            "b@example.com,cleaned,\n"
            "c@example.com,pending,\n"
            ",subscribed,\n",
            {
                "a@example.com": ("", "subscribed", "2024-01-02T03:04:05"),
                "b@example.com": ("", "bounced", ""),
            },
            {"status pending": 1, "not a valid address": 1},
        ),
        (
            "buttondown",
            "email,name,subscriber_type,created_at\n"
            "p@example.com,Pat,Premium,2024-09-09T09:09:09Z\n"
            "q@example.com,,spammy,\n"
            "r@example.com,,,\n",
            {
                "p@example.com": ("Pat", "subscribed", "2024-09-09T09:09:09+00:00"),
                "q@example.com": ("", "complained", ""),
            },
            {"type (none)": 1},
        ),
        (
            "substack",
            "email,active_subscription,subscription_date,created_at\n"
            "s1@example.com,TRUE,2024-02-02T00:00:00Z,2020-01-01T00:00:00Z\n"
            "s2@example.com,true,,2021-03-03T00:00:00Z\n"
            "s3@example.com,true,,\n",
            {
                "s1@example.com": ("", "subscribed", "2024-02-02T00:00:00+00:00"),
                "s2@example.com": ("", "subscribed", "2021-03-03T00:00:00+00:00"),
                "s3@example.com": ("", "subscribed", ""),
            },
            {},
        ),
        (
            "substack",  # no active_subscription column: no one is active
            "email,email_disabled\nt@example.com,false\n",
            {"t@example.com": ("", "unsubscribed", "")},
            {},
        ),
        (
            "ghost",
            "email,name,subscribed,deleted_at\n"
            "g1@example.com,Gee,TRUE,\n"
            "g2@example.com,,true,2024-10-10T00:00:00Z\n"
            "g3@example.com,,,\n",
            {
                "g1@example.com": ("Gee", "subscribed", ""),
                "g2@example.com": ("", "unsubscribed", ""),
                "g3@example.com": ("", "unsubscribed", ""),
            },
            {},
        ),
    ],
)
def test_older_or_missing_columns(
    tmp_path: Path,
    service: str,
    text: str,
    expected: dict[str, tuple[str, ...]],
    skipped: dict[str, int],
) -> None:
    done, rows = imported(export(tmp_path, f"{service}.csv", text), service)
    assert (rows, dict(done.skipped)) == (expected, skipped)


def test_substack_email_disabled_means_unsubscribed(tmp_path: Path) -> None:
    source = export(
        tmp_path, "substack.csv",
        "email,name,email_disabled,active_subscription\nd@example.com,Dee,True,true\n",
    )  # fmt: skip
    assert imported(source, "substack")[1] == {"d@example.com": ("Dee", "unsubscribed", "")}


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [("bounced", "unsubscribed", "bounced"), ("unsubscribed", "bounced", "bounced")],
)
def test_listed_twice_keeps_the_worse_status(
    tmp_path: Path, first: str, second: str, kept: str
) -> None:
    kinds = {"bounced": "undeliverable", "unsubscribed": "removed"}
    source = export(
        tmp_path, "buttondown.csv",
        f"email,type\nt@example.com,{kinds[first]}\nT@example.com,{kinds[second]}\n",
    )  # fmt: skip
    done, rows = imported(source, "buttondown")
    assert [status for _, status, _ in rows.values()] == [kept]
    assert done.kept_out == 0  # neither row said subscribed


def test_each_skipped_row_is_counted(tmp_path: Path) -> None:
    source = export(tmp_path, "b.csv", "email,type\na@example.com,unactivated\nb@x,unactivated\n")
    assert dict(imported(source, "buttondown")[0].skipped) == {"type unactivated": 2}


def test_a_status_the_old_list_does_not_know_is_not_carried_over(tmp_path: Path) -> None:
    source = export(tmp_path, "ghost.csv", "email,subscribed_to_emails\nw@example.com,true\n")
    old = "email,name,status,subscribed_at\nw@example.com,,waiting,\n,,bounced,\n"
    (tmp_path / "subscribers.csv").write_text(old, "utf-8")
    assert imported(source, "ghost")[1] == {"w@example.com": ("", "subscribed", "")}


def test_an_export_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    empty = export(tmp_path, "empty.csv", "")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"email,name\nm@example.com,Ren\xe9\n")
    for source, message in [
        (empty, f"{empty}: empty.csv has no header row"),
        (folder, f"{folder}: cannot read: Is a directory"),
        (latin, f"{latin}:latin.csv:2: not UTF-8 text: byte 28 is b'\\xe9'"),
    ]:
        with pytest.raises(LocatedError) as refused:
            import_list(source, "ghost", tmp_path / "out.csv", force=False)
        assert str(refused.value) == message


def test_the_list_replaced_is_read_as_utf_8_and_the_new_one_has_plain_line_ends(
    tmp_path: Path,
) -> None:
    source = export(tmp_path, "buttondown.csv", "email,type\np@example.com,premium\n")
    target = tmp_path / "subscribers.csv"
    target.write_bytes(b"email,name,status,subscribed_at\nq@example.com,Ren\xe9,bounced,\n")
    with pytest.raises(LocatedError) as refused:
        import_list(source, "buttondown", target, force=True)
    assert str(refused.value) == f"{target}:2: not UTF-8 text: byte 49 is b'\\xe9'"
    target.unlink()
    import_list(source, "buttondown", target, force=False)  # no name column: no name
    assert target.read_bytes() == b"email,name,status,subscribed_at\np@example.com,,subscribed,\n"
