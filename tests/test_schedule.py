"""`weekly schedule` as the editor meets it (times in the newsletter's zone, --list, --cancel,
bad input on one line), and the schedules table with one behaviour in SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from weekly.clock import stamp
from weekly.deliver.schedule import local_text, schedule_lines
from weekly.deliver.schedule_runner import ScheduleRunner
from weekly.project import build_dir
from weekly.render.composed import META_FILE, load_composed
from weekly.store import open_schedules
from weekly.store.schedules import (
    CANCELLED,
    MISSED,
    RUNNING,
    SENT,
    WAITING,
    Schedule,
)

from .smtp import make_build

FUTURE = "2099-10-09T09:00"

# Every schedule lives in the store: each test runs on both.
pytestmark = pytest.mark.usefixtures("store")


def in_seconds(seconds: float) -> str:
    """An --at value `seconds` from now, with its UTC offset."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def set_newsletter(root: Path, line: str) -> None:
    """Add `line` to weekly.toml's [newsletter] table."""
    path = root / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[newsletter]\n", f"[newsletter]\n{line}\n", 1), "utf-8")


def stored(root: Path) -> list[Schedule]:
    with closing(open_schedules(root)) as schedules:
        return schedules.listed()


@pytest.mark.usefixtures("ready")
def test_a_naive_time_is_in_seoul_for_a_korean_newsletter(newsletter: Path, run_weekly) -> None:
    result = run_weekly("schedule", "324", "--at", FUTURE)
    assert result.exit_code == 0, result.output
    assert "Issue 324 goes out at 2099-10-09 09:00 KST (2099-10-09T00:00:00+00:00" in result.output
    (schedule,) = stored(newsletter)
    assert (schedule.issue, schedule.due, schedule.state) == (
        324,
        "2099-10-09T00:00:00+00:00",
        WAITING,
    )
    assert not schedule.allow_changes
    assert schedule.fingerprint == load_composed(newsletter, 324).fingerprint


@pytest.mark.usefixtures("ready")
def test_the_zone_comes_from_the_setting_or_the_language(newsletter: Path, run_weekly) -> None:
    set_newsletter(newsletter, 'timezone = "America/New_York"')
    assert run_weekly("schedule", "324", "--at", FUTURE).exit_code == 0
    assert stored(newsletter)[0].due == "2099-10-09T13:00:00+00:00"  # EDT, UTC-4
    listing = run_weekly("schedule", "--list").output
    assert "time (America/New_York)" in listing and "2099-10-09 09:00 EDT" in listing
    text = (newsletter / "weekly.toml").read_text(encoding="utf-8")
    (newsletter / "weekly.toml").write_text(
        text.replace('timezone = "America/New_York"\n', "").replace(
            'language = "ko"', 'language = "en"'
        ),
        "utf-8",
    )
    assert run_weekly("schedule", "324", "--at", FUTURE).exit_code == 0
    assert stored(newsletter)[0].due == "2099-10-09T09:00:00+00:00"  # en: UTC


@pytest.mark.usefixtures("ready")
def test_an_explicit_offset_is_honoured(newsletter: Path, run_weekly) -> None:
    result = run_weekly("schedule", "324", "--at", "2099-10-09T09:00+02:00", "--allow-changes")
    assert result.exit_code == 0, result.output
    (schedule,) = stored(newsletter)
    assert schedule.due == "2099-10-09T07:00:00+00:00" and schedule.allow_changes
    assert "2099-10-09 16:00 KST" in run_weekly("schedule", "--list").output
    assert "(--allow-changes)" in run_weekly("schedule", "--list").output


@pytest.mark.usefixtures("ready")
def test_a_time_the_clocks_skip_is_refused(newsletter: Path, run_weekly) -> None:
    set_newsletter(newsletter, 'timezone = "America/New_York"')
    result = run_weekly("schedule", "324", "--at", "2099-03-08T02:30")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --at: 2099-03-08 02:30 does not exist in America/New_York (a clock change)\n"
    )
    assert stored(newsletter) == []


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_times_show_seconds_only_when_they_have_some(newsletter: Path) -> None:
    seoul = ZoneInfo("Asia/Seoul")
    assert local_text(datetime(2099, 10, 9, tzinfo=UTC), seoul) == "2099-10-09 09:00 KST"
    assert (
        local_text(datetime(2099, 10, 9, 0, 0, 5, tzinfo=UTC), seoul) == "2099-10-09 09:00:05 KST"
    )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_list_marks_a_schedule_that_allows_changes(newsletter: Path) -> None:
    with closing(open_schedules(newsletter)) as schedules:
        schedules.put(Schedule(324, stamp(datetime(2099, 10, 9, tzinfo=UTC)), "f1", True))
        schedules.put(Schedule(325, stamp(datetime(2099, 10, 10, tzinfo=UTC)), "f2"))
    assert list(schedule_lines(newsletter)) == [
        " issue  time (Asia/Seoul)         state      detail",
        "   324  2099-10-09 09:00 KST      waiting     (--allow-changes)",
        "   325  2099-10-10 09:00 KST      waiting",
    ]


@pytest.mark.usefixtures("ready")
def test_list_and_cancel(newsletter: Path, run_weekly) -> None:
    assert run_weekly("schedule", "--list").output == "No scheduled sends.\n"
    make_build(newsletter, 325)
    assert run_weekly("schedule", "325", "--at", "2099-10-10T09:00").exit_code == 0
    assert run_weekly("schedule", "324", "--at", FUTURE).exit_code == 0
    lines = run_weekly("schedule", "--list").output.splitlines()
    assert lines[0].split() == ["issue", "time", "(Asia/Seoul)", "state", "detail"]
    assert lines[1].split() == ["324", "2099-10-09", "09:00", "KST", "waiting"]
    assert lines[2].split() == ["325", "2099-10-10", "09:00", "KST", "waiting"]
    result = run_weekly("schedule", "324", "--cancel")
    assert result.exit_code == 0 and result.output == "Cancelled the schedule of issue 324.\n"
    lines = run_weekly("schedule", "--list").output.splitlines()
    assert lines[1].split() == [
        "324",
        "2099-10-09",
        "09:00",
        "KST",
        "cancelled",
        "cancelled",
        "by",
        "the",
        "editor",
    ]
    again = run_weekly("schedule", "324", "--cancel")
    assert again.exit_code == 1
    assert again.output == (
        "Error: issue 324's schedule is cancelled: only a waiting one can be cancelled\n"
    )
    # Scheduling again replaces a finished schedule.
    assert run_weekly("schedule", "324", "--at", FUTURE).exit_code == 0
    assert [s.state for s in stored(newsletter)] == [WAITING, WAITING]


@pytest.mark.usefixtures("ready")
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["324", "--at", "next tuesday"],
            2,
            "Error: Invalid value for '--at': 'next tuesday' is not a time like "
            "2025-10-09T09:00 (or 2025-10-09T09:00+09:00)",
        ),
        (["324", "--at", "2099-02-30T09:00"], 2, "Error: Invalid value for '--at': '2099-02-30"),
        (
            ["324", "--at", "2020-10-09T09:00"],
            1,
            "Error: --at: 2020-10-09 09:00 KST is in the past (now ",
        ),
        (
            ["999", "--at", FUTURE],
            1,
            "Error: issue 999 is not composed (",
        ),
        (["324", "--cancel"], 1, "Error: issue 324 has no schedule"),
        (["324"], 2, "Error: missing option '--at' (or --cancel, --list)"),
        ([], 2, "Error: give an issue number with --at TIME or --cancel, or --list"),
        (["324", "--list"], 2, "Error: --list takes no issue number and no other option"),
        (
            ["324", "--cancel", "--at", FUTURE],
            2,
            "Error: --cancel takes no --at or --allow-changes",
        ),
        (["0", "--at", FUTURE], 2, "Error: Invalid value for '[NUMBER]'"),
    ],
)
def test_bad_input_is_one_line(
    newsletter: Path, run_weekly, args: list[str], code: int, message: str
) -> None:
    result = run_weekly("schedule", *args)
    assert result.exit_code == code, result.output
    assert result.output.startswith(message) and result.output.count("\n") == 1, result.output
    assert stored(newsletter) == []


@pytest.mark.usefixtures("ready")
def test_a_build_with_pre_send_warnings_is_refused(newsletter: Path, run_weekly) -> None:
    path = build_dir(newsletter, 324) / META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["warnings"] = [{"check": "img-alt", "message": "image without alt text: a.png"}]
    path.write_text(json.dumps(meta), encoding="utf-8")
    result = run_weekly("schedule", "324", "--at", FUTURE)
    assert result.exit_code == 1
    assert result.output == (
        "Error: issue 324: 1 pre-send check(s) fail under --strict: image without alt text: "
        "a.png [img-alt]; fix them and run `weekly compose 324 --strict`\n"
    )
    assert stored(newsletter) == []


def test_a_bad_time_zone_names_the_key_and_line(newsletter: Path, run_weekly) -> None:
    set_newsletter(newsletter, 'timezone = "Asia/Atlantis"')
    result = run_weekly("schedule", "--list")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {newsletter / 'weekly.toml'}:5: newsletter.timezone: ")
    assert "not a known time zone: 'Asia/Atlantis'" in result.output


def test_composed_by_compose_and_scheduled(newsletter: Path, run_weekly) -> None:
    """A real compose leaves the build schedule checks: composed, no warnings."""
    assert run_weekly("compose", "324", "--strict").exit_code == 0
    assert run_weekly("schedule", "324", "--at", FUTURE).exit_code == 0


# The table, the same in both stores.


def schedule(issue: int, due: str) -> Schedule:
    return Schedule(issue, due, "f" * 16)


def test_claims_moves_and_replacing(newsletter: Path) -> None:
    with closing(open_schedules(newsletter)) as table:
        assert table.put(schedule(2, "2030-01-01T00:00:02+00:00"))
        assert table.put(schedule(1, "2030-01-01T00:00:01+00:00"))
        assert table.put(schedule(3, "2030-01-01T00:00:03+00:00"))
        claimed = table.claim("2030-01-01T00:00:02+00:00", "pid 1 on here")
        assert [(s.issue, s.state, s.runner) for s in claimed] == [
            (1, RUNNING, "pid 1 on here"),
            (2, RUNNING, "pid 1 on here"),
        ]
        assert table.claim("2030-01-01T00:00:02+00:00", "pid 2 on there") == []
        assert not table.move(1, WAITING, RUNNING, "started", "pid 2 on there")
        assert not table.put(schedule(1, "2031-01-01T00:00:00+00:00"))  # running: kept
        assert table.move(1, RUNNING, SENT, "sent 3")
        found = table.get(1)
        assert found is not None
        assert (found.state, found.detail, found.runner) == (SENT, "sent 3", "pid 1 on here")
        assert found.updated_at
        assert table.move(2, RUNNING, MISSED, "late")
        assert table.move(3, WAITING, CANCELLED, "cancelled")
        assert table.claim("2099-01-01T00:00:00+00:00", "pid 1 on here") == []
        assert table.get(4) is None
        assert [(s.issue, s.state) for s in table.listed()] == [
            (1, SENT),
            (2, MISSED),
            (3, CANCELLED),
        ]
        assert table.put(schedule(1, "2031-01-01T00:00:00+00:00"))  # finished: replaced
        again = table.get(1)
        assert again is not None
        assert (again.state, again.detail, again.due) == (WAITING, "", "2031-01-01T00:00:00+00:00")


def test_of_two_claims_at_once_each_schedule_goes_to_one(newsletter: Path) -> None:
    issues = range(1, 41)
    with closing(open_schedules(newsletter)) as table:
        for issue in issues:
            table.put(schedule(issue, f"2030-01-01T00:00:{issue:02d}+00:00"))
    start = threading.Barrier(2)
    won: dict[str, list[int]] = {}

    def claim(name: str) -> None:
        with closing(open_schedules(newsletter)) as mine:
            start.wait()
            # One claim per due second, as serve's runner makes them, racing the other's.
            won[name] = [
                s.issue
                for second in issues
                for s in mine.claim(f"2030-01-01T00:00:{second:02d}+00:00", name)
            ]

    threads = [threading.Thread(target=claim, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won["a"] + won["b"]) == list(issues)
    with closing(open_schedules(newsletter)) as table:
        assert all(s.runner == ("a" if s.issue in won["a"] else "b") for s in table.listed())


def test_a_send_whose_serve_died_waits_again(
    newsletter: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A schedule left running by a serve process on this machine that no longer exists is
    put back to waiting, and the log says so; one held by a live process or another machine
    is left alone, and does not stop the look at the ones listed after it."""
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    here = socket.gethostname()
    holders = {
        1: f"pid {os.getpid()} on {here}",
        2: f"pid {gone.pid} on elsewhere.example",
        3: "someone",
        4: f"pid {gone.pid} on {here}",
    }
    with closing(open_schedules(newsletter)) as table:
        for issue, holder in holders.items():
            table.put(schedule(issue, "2030-01-01T00:00:00+00:00"))
            table.move(issue, WAITING, RUNNING, "started", holder)
        table.put(schedule(5, "2030-01-01T00:00:00+00:00"))
        ScheduleRunner(newsletter, table, 60.0).recover()
        states = {s.issue: (s.state, s.detail) for s in table.listed()}
    detail = f"its serve ({holders[4]}) stopped during the send; run again"
    assert states[4] == (WAITING, detail)
    assert states[5] == (WAITING, "")
    assert states[1] == states[2] == states[3] == (RUNNING, "started")
    logged = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert logged == [("weekly.schedule", "WARNING", f"schedule: issue 4: {detail}")]


@pytest.mark.usefixtures("ready")
def test_an_issue_being_sent_by_its_schedule_cannot_be_rescheduled(
    newsletter: Path, run_weekly
) -> None:
    assert run_weekly("schedule", "324", "--at", FUTURE).exit_code == 0
    with closing(open_schedules(newsletter)) as table:
        (claimed,) = table.claim("2100-01-01T00:00:00+00:00", "pid 1 on here")
    result = run_weekly("schedule", "324", "--at", "2099-12-24T09:00")
    assert result.exit_code == 1
    assert result.output == "Error: issue 324 is being sent by its schedule now\n"
    assert stored(newsletter) == [claimed]
    lines = run_weekly("schedule", "--list").output.splitlines()
    assert lines[1].split()[4:] == ["running", "by", "pid", "1", "on", "here"]
