"""Segments: the grammar over a fixture list (counts), its errors (exact messages), the
`tags` column's checks, and real sends to a segment through aiosmtpd on both stores."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from weekly.audience.segments import Segment, SegmentError
from weekly.audience.subscriber_list import Subscriber, open_list
from weekly.stats.table import COLUMNS
from weekly.tags import TagError, join_tags, parse_tags

from .smtp import SECRET, Recorder, configure, smtp_server

Run = Callable[..., Result]
FIXTURE = Path(__file__).parent / "fixtures" / "segments.csv"


def _subscribed() -> list[Subscriber]:
    rows = [r for r in open_list(FIXTURE) if isinstance(r, Subscriber)]
    return [r for r in rows if r.status == "subscribed"]


# Nine subscribed rows; a row without `lang` counts as the newsletter's language (ko).
@pytest.mark.parametrize(
    ("expression", "count"),
    [
        ("ai", 4),
        ("AI", 4),
        ("beta", 3),
        ("not beta", 6),
        ("ai and not beta", 2),
        ("ai or policy", 5),
        ("ai and policy", 2),
        ("not ai and not policy and not beta", 3),
        ("not (ai or beta)", 4),
        ("(ai or policy) and not beta", 3),
        ("ai or policy and beta", 4),  # and binds tighter than or
        ("(ai or policy) and beta", 2),
        ("not not ai", 4),
        ("lang:ko", 5),
        ("lang:en", 3),  # en-GB is English too
        ("lang:en-gb", 1),
        ("lang:ja or lang:en", 4),
        ("lang:ko and not beta", 2),
        ("not lang:ko", 4),
        ("ai and lang:ko", 3),
        ("기술", 1),
        ("ai-safety", 1),
        ("  ai   and\tbeta ", 2),
        ("nobody", 0),
    ],
)
def test_expression_counts_over_the_fixture_list(expression: str, count: int) -> None:
    segment = Segment.parse(expression, "ko")
    assert sum(segment.admits(s) for s in _subscribed()) == count


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "expected a tag at column 1"),
        ("ai and", 'expected a tag after "and" at column 7'),
        ("ai and or beta", 'expected a tag after "and" at column 8'),
        ("ai and not", 'expected a tag after "not" at column 11'),
        ("and ai", 'expected a tag before "and" at column 1'),
        ("ai beta", 'expected "and" or "or" before "beta" at column 4'),
        ("(ai or beta", 'expected ")" to close the "(" of column 1 at column 12'),
        ("ai and (beta or (x)", 'expected ")" to close the "(" of column 8 at column 20'),
        ("ai )", 'unexpected ")" with no "(" before it at column 4'),
        ("ai and ()", 'expected a tag after "(" at column 9'),
        ("ai & beta", 'unexpected "&" at column 4'),
        ("ai and !beta", 'unexpected "!" at column 8'),
        ("lang:", 'expected a language code such as ko after "lang:" at column 6'),
        ("ai or lang:korean", 'expected a language code such as ko after "lang:" at column 12'),
        ("country:kr", 'unknown field "country:" (known: lang:) at column 1'),
        ("a" * 41, f"{'a' * 41!r} is not a tag (letters, digits, - and _, at most 40) at column 1"),
    ],
)
def test_bad_expressions_say_what_and_at_which_column(expression: str, message: str) -> None:
    with pytest.raises(SegmentError) as caught:
        Segment.parse(expression, "ko")
    assert caught.value.message == message


def test_tags_cells_parse_and_print_one_way() -> None:
    assert parse_tags(" AI ;policy;; ") == {"ai", "policy"}
    assert parse_tags("") == frozenset()
    assert join_tags(frozenset({"policy", "ai"})) == "ai;policy"
    with pytest.raises(TagError, match="'not' is a word of the segment grammar"):
        parse_tags("ai;not")


def test_a_bad_tag_in_the_list_names_file_line_and_column(
    newsletter: Path, run_weekly: Run
) -> None:
    path = newsletter / "subscribers.csv"
    path.write_text("email,tags\nok@example.com,ai\nbad@example.com,ai;big data\n", "utf-8")
    result = run_weekly("subscribers", "check")
    assert result.exit_code == 1
    assert (
        f"{path}:3: tags: 'big data' is not a tag (letters, digits, - and _, at most 40)"
        in result.output
    )


pytestmark_store = pytest.mark.usefixtures("store")


@pytest.fixture
def listed(ready: Path) -> Path:
    shutil.copy(FIXTURE, ready / "subscribers.csv")
    return ready


def _composed_with(
    root: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch, segment: str
) -> None:
    """Issue 323 composed with `segment:` on line 2 of its front matter, the fixture list."""
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    shutil.copy(FIXTURE, root / "subscribers.csv")
    path = root / "issues" / "323" / "issue.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("---\n", f"---\nsegment: {segment}\n", 1), encoding="utf-8")
    composed = run_weekly("compose", "323")
    assert composed.exit_code == 0, composed.output


@pytestmark_store
def test_a_send_to_a_segment_then_a_wider_one_mails_each_reader_once(
    listed: Path, run_weekly: Run
) -> None:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(listed, port)
        dry = run_weekly("send", "324", "--segment", "ai and not beta", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "Segment:  ai and not beta (--segment)" in dry.output
        assert "Matches:  2 of 9 readers" in dry.output
        assert "Would send 2 messages" in dry.output
        first = run_weekly("send", "324", "--segment", "ai and not beta", "--yes")
        assert first.exit_code == 0, first.output
        assert sorted(recorder.accepted()) == ["a1@example.com", "a3@example.com"]
        wider = run_weekly("send", "324", "--segment", "ai or policy", "--yes")
    assert wider.exit_code == 0, wider.output
    assert "Matches:  5 of 9 readers" in wider.output
    assert "Skipped:  2 already sent" in wider.output
    assert (
        "Earlier:  this issue went to ai and not beta; every reader gets it once, "
        "so only those not yet mailed are sent it now"
    ) in wider.output
    assert "To send:  3 messages" in wider.output
    counts = recorder.accepted()
    assert sorted(counts) == [f"a{n}@example.com" for n in (1, 2, 3, 4, 7)]
    assert set(counts.values()) == {1}
    status = run_weekly("status", "324")
    assert "  segment           ai and not beta, then ai or policy\n" in status.output
    assert (
        "  per segment            sent    failed uncertain   pending opted out\n"
        "  ai and not beta           2         0         0         0         0\n"
        "  ai or policy              3         0         0         0         0\n"
    ) in status.output


class RefusingA7(Recorder):
    """550 for a7@example.com, a reader of `ai or policy`; the rest is kept."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == "a7@example.com":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytestmark_store
def test_status_and_stats_count_each_row_in_the_segment_that_first_mailed_it(
    listed: Path, run_weekly: Run
) -> None:
    with smtp_server(RefusingA7()) as port:
        configure(listed, port)
        first = run_weekly("send", "324", "--segment", "ai and not beta", "--yes")
        assert first.exit_code == 0, first.output
        wider = run_weekly("send", "324", "--segment", "ai or policy", "--yes")
        assert "Sent 2, failed 1 (1 mailbox" in wider.output  # exit 1: a failure to see
        everyone = run_weekly("send", "324", "--yes")  # the rest of the list
    assert everyone.exit_code == 0, everyone.output
    status = run_weekly("status", "324")
    assert status.exit_code == 0, status.output
    assert "  segment           ai and not beta, then ai or policy, then everyone\n" in (
        status.output
    )
    assert (
        "  per segment            sent    failed uncertain   pending opted out\n"
        "  ai and not beta           2         0         0         0         0\n"
        "  ai or policy              2         1         0         0         0\n"
        "  everyone                  4         0         0         0         0\n"
    ) in status.output
    stats = run_weekly("stats", "324")
    assert stats.exit_code == 0, stats.output
    lines = stats.output.splitlines()
    assert "  delivered              8" in lines
    assert "  failed                 1" in lines
    assert "  segment                2 delivered, 0 failed: ai and not beta" in lines
    assert "  segment                2 delivered, 1 failed: ai or policy" in lines
    assert "  segment                4 delivered, 0 failed: everyone" in lines
    table = run_weekly("stats", "324", "--csv")
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0] == ",".join(COLUMNS)
    rows = [r for r in csv.DictReader(io.StringIO(table.output)) if not r["link"]]
    assert [(r["segment"], r["delivered"], r["failed"]) for r in rows] == [
        ("", "8", "1"),
        ("ai and not beta", "2", "0"),
        ("ai or policy", "2", "1"),
        ("everyone", "4", "0"),
    ]
    overview = run_weekly("stats", "--csv")  # all issues: a row per issue, no segments
    assert [r["segment"] for r in csv.DictReader(io.StringIO(overview.output))] == [""]


@pytestmark_store
def test_the_front_matter_segment_is_used_and_the_option_wins(
    newsletter: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _composed_with(newsletter, run_weekly, monkeypatch, "lang:en and not beta")
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(newsletter, port)
        plan = run_weekly("send", "323", "--dry-run")
        assert plan.exit_code == 0, plan.output
        issue_md = newsletter / "issues" / "323" / "issue.md"
        assert f"Segment:  lang:en and not beta (segment: in {issue_md})" in plan.output
        assert "Matches:  3 of 9 readers" in plan.output
        over = run_weekly("send", "323", "--segment", "lang:ja", "--dry-run")
        assert (
            "Segment:  lang:ja (--segment, instead of the issue's segment: lang:en and not beta)"
        ) in over.output
        assert "Matches:  1 of 9 readers" in over.output
        sent = run_weekly("send", "323", "--yes")
    assert sent.exit_code == 0, sent.output
    assert sorted(recorder.accepted()) == [f"a{n}@example.com" for n in (3, 4, 6)]


def test_a_bad_segment_names_the_option_or_the_file_and_line(
    newsletter: Path, run_weekly: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _composed_with(newsletter, run_weekly, monkeypatch, "ai and")
    bad = run_weekly("send", "323", "--dry-run")
    assert bad.exit_code == 1
    path = newsletter / "issues" / "323" / "issue.md"
    assert bad.output == f'Error: {path}:2: segment: expected a tag after "and" at column 7\n'
    option = run_weekly("send", "323", "--dry-run", "--segment", "ai or (beta")
    assert option.exit_code == 1
    assert option.output == (
        'Error: --segment: expected ")" to close the "(" of column 7 at column 12\n'
    )


def test_a_row_from_a_list_without_a_lang_column_reads_as_the_newsletters_language(
    tmp_path: Path,
) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_text("email,tags\nkim@example.com,ai\n", encoding="utf-8")
    (row,) = open_list(path)
    assert isinstance(row, Subscriber)
    assert Segment.parse("lang:ko", "ko").admits(row)
    assert not Segment.parse("lang:en", "ko").admits(row)
