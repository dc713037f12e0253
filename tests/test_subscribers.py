"""The subscriber list: streamed, validated row by row, de-duplicated, reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from weekly.audience.subscriber_list import (
    Duplicate,
    ListError,
    ListReport,
    Problem,
    Subscriber,
    bare_subscriber,
    list_stamp,
    open_list,
)
from weekly.cli import main
from weekly.errors import WeeklyError
from weekly.tags import TagError, parse_tags


def write(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_rows_with_bom_statuses_merge_fields_and_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Email,Name,status,subscribed_at,Company\r\n"
        "minji@EXAMPLE.com,김민지,,2025-01-01,한빛랩\r\n"
        "\r\n"
        'a@example.org,"Martin, Alice",Unsubscribed,,\r\n'
        "hong@한국.kr,홍길동,bounced,,\r\n",
        bom=True,
    )
    rows = list(open_list(path))
    assert [type(r) for r in rows] == [Subscriber] * 3
    first, second, third = rows
    assert (first.line, first.email, first.key) == (2, "minji@example.com", "minji@example.com")
    assert first.status == "subscribed" and first.fields == {"company": "한빛랩"}
    assert (second.line, second.name, second.status) == (4, "Martin, Alice", "unsubscribed")
    assert (third.email, third.address, third.status) == (
        "hong@한국.kr",
        "hong@xn--3e0b707e.kr",
        "bounced",
    )


def test_bad_rows_are_reported_with_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name,status\n"
        "ok@example.com,Ok,\n"
        "nope,Bad,\n"
        '"x@example.com","Evil\nBcc: all@example.com",\n'
        "tab@example.com,Tab\there,\n"
        "st@example.com,St,gone\n"
        "OK@Example.com,Again,\n"
        ",Empty,\n",
    )
    rows = list(open_list(path))
    problems = [(r.line, r.column) for r in rows if isinstance(r, Problem)]
    assert problems == [(3, "email"), (4, "name"), (6, "name"), (7, "status"), (9, "email")]
    assert [r.line for r in rows if isinstance(r, Duplicate)] == [8]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,status", "no `email` column"),
        ("email,name,Email", "column `email` appears 2 times"),
        ("email,Signup Source", "column `signup source` must be a lower-case name"),
        ("email,unsubscribe_url", "column `unsubscribe_url` is reserved"),
        ("email,,Signup Source", "column `signup source` must be a lower-case name"),
    ],
)
def test_bad_headers_name_line_one(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, header + "\nx@example.com\n")
    with pytest.raises(ListError, match=message) as caught:
        list(open_list(path))
    assert caught.value.line == 1


def test_unnamed_columns_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,,\na@example.com,A,x,\n")
    (row,) = open_list(path)
    assert isinstance(row, Subscriber) and row.fields == {}


def test_not_utf8_and_missing_files_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\nx@example.com,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ListError, match="not UTF-8"):
        list(open_list(path))
    with pytest.raises(WeeklyError, match="not found"):
        list(open_list(tmp_path / "missing.csv"))


def test_the_trusted_second_pass_normalises_exactly_like_email_validator(tmp_path: Path) -> None:
    addresses = [
        "Plain@Example.COM",
        "first.last+tag@sub.example.co.kr",
        "o'brien@example.ie",
        "x@xn--3e0b707e.kr",
        "hong@한국.kr",
        '"quoted local"@example.com',
    ]
    path = write(tmp_path, "email\n" + "\n".join(addresses) + "\n")
    checked = list(open_list(path))
    trusted = list(open_list(path, list_stamp(path)))
    assert checked == trusted
    assert [type(r) for r in checked] == [Subscriber] * 5 + [Problem]


def test_a_list_changed_between_passes_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "email\na@example.com\n")
    stamp = list_stamp(path)
    path.write_text("email\na@example.com\nb@example.com\n", encoding="utf-8")
    with pytest.raises(WeeklyError, match="changed"):
        list(open_list(path, stamp))


def test_subscribers_check_reports_and_fails_on_invalid_rows(tmp_path: Path) -> None:
    write(tmp_path, "email,status\na@example.com,\nA@example.com,\nb@example.com,bounced\nbad,\n")
    result = CliRunner().invoke(main, ["subscribers", "check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    out = result.output
    counts = dict(line.split() for line in out.splitlines()[1:7])
    assert counts == {
        "subscribed": "1",
        "unsubscribed": "0",
        "bounced": "1",
        "complained": "0",
        "duplicates": "1",
        "invalid": "1",
    }
    assert "subscribers.csv:3: email: duplicate of an earlier row (A@example.com)" in out
    assert "subscribers.csv:5: email: 'bad' is not a valid address" in out
    assert out.rstrip().endswith("1 invalid rows")


def test_the_example_list_is_valid() -> None:
    repo = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(
        main, ["subscribers", "check", "--list", str(repo / "subscribers.example.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "duplicates" in result.output and "invalid               0" in result.output


def test_a_test_address_is_a_subscriber_like_a_bare_list_row(tmp_path: Path) -> None:
    """`weekly send --test ADDRESS` mails someone not on the list exactly as a row holding only
    that address would be mailed: same spelling, envelope form, key, no name, no fields."""
    path = write(tmp_path, "email\nKim@Bücher.Example\n")
    (row,) = list(open_list(path))
    test = bare_subscriber("Kim@Bücher.Example", 2)
    assert test == row
    assert (test.email, test.address, test.key) == (
        "Kim@bücher.example",
        "Kim@xn--bcher-kva.example",
        "kim@bücher.example",
    )
    assert (test.name, test.status, test.fields, test.values()) == (
        "",
        "subscribed",
        {},
        {"name": "", "email": "Kim@bücher.example"},
    )
    with pytest.raises(WeeklyError) as refused:
        bare_subscriber("nobody", 1)
    assert str(refused.value).startswith("--test 'nobody': not a valid address: ")


def test_each_kind_of_bad_row_is_one_exact_line_and_later_rows_still_count(
    tmp_path: Path,
) -> None:
    """`weekly subscribers check` names each bad row exactly; a row of the wrong width does
    not stop the rows after it from being read and counted."""
    path = write(
        tmp_path,
        "email,name,status,tags\n"
        "wide@example.com,Wide,,,extra\n"
        '""\n'
        "st@example.com,St,gone,\n"
        "tag@example.com,Tag,,a b\n"
        "ok@example.com,Ok,,ai; policy\n"
        "민지@example.com,Minji,,\n"
        "서연@example.com,Seoyeon,,\n"
        "지수@example.com,Jisu,unsubscribed,\n",
    )
    report = ListReport.read(path)
    assert report.by_status == {"subscribed": 3, "unsubscribed": 1}
    assert report.smtputf8 == 2  # only a subscribed address needs SMTPUTF8
    assert [p.describe(path) for p in report.problems] == [
        f"{path}:2: row: has 5 fields, the header has 4",
        f"{path}:4: status: 'gone' is not one of subscribed, unsubscribed, bounced, complained",
        f"{path}:5: tags: {check_problem('a b')}",
    ]
    (ok,) = [r for r in open_list(path) if isinstance(r, Subscriber) and r.name == "Ok"]
    assert ok.tags == {"ai", "policy"}
    with pytest.raises(ListError) as caught:
        report.raise_if_invalid()
    assert str(caught.value) == (
        f"{path}:2: row: has 5 fields, the header has 4"
        " (and 2 more: see `weekly subscribers check`)"
    )


def check_problem(cell: str) -> str:
    """What `parse_tags` says of a bad tags cell."""
    with pytest.raises(TagError) as caught:
        parse_tags(cell)
    return str(caught.value)


def test_one_bad_row_is_named_without_a_count_of_more(tmp_path: Path) -> None:
    path = write(tmp_path, "email\nok@example.com\nnope\n")
    with pytest.raises(ListError) as caught:
        ListReport.read(path).raise_if_invalid()
    assert str(caught.value) == (
        f"{path}:3: email: 'nope' is not a valid address: An email address must have an @-sign."
    )


def test_a_missing_list_names_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    with pytest.raises(WeeklyError) as caught:
        list(open_list(missing))
    assert str(caught.value) == f"{missing}: subscriber list not found (use --list PATH)"
