"""`weekly schedule`: when an issue goes out. A naive time is read in the newsletter's zone;
the build is checked now (composed, no pre-send warning) and its fingerprint kept, so the
send at that time can tell whether it changed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from weekly.clock import now, stamp
from weekly.config import load_config, time_zone
from weekly.errors import CheckFailed, WeeklyError
from weekly.render.checks import Finding
from weekly.render.composed import Composed, load_composed
from weekly.store import open_schedules
from weekly.store.schedules import CANCELLED, RUNNING, WAITING, Schedule


def newsletter_zone(root: Path) -> ZoneInfo:
    """The zone schedule times of the newsletter at `root` are read and shown in."""
    return ZoneInfo(time_zone(load_config(root)))


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """`moment` as the editor reads it in `zone`: 2025-10-09 09:00 KST (seconds if any)."""
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M" + (":%S" if local.second else "") + " %Z")


def due_time(when: datetime, zone: ZoneInfo) -> datetime:
    """`when` as an aware time: its own offset if it has one, else read in `zone`; a wall
    time the zone skips (a clock change) is an error rather than a guess."""
    if when.tzinfo is not None:
        return when
    local = when.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != when:
        raise WeeklyError(
            f"--at: {when:%Y-%m-%d %H:%M} does not exist in {zone.key} (a clock change)"
        )
    return local


def strict_findings(composed: Composed) -> list[str]:
    """The pre-send warnings compose recorded in the build (`compose --strict` fails on any)."""
    found: Any = composed.meta.get("warnings") or []
    return [str(Finding(**item)) for item in found]


def schedule_issue(root: Path, number: int, when: datetime, *, allow_changes: bool) -> Schedule:
    """Schedule issue `number` for `when`: refused in the past, for a build not composed or
    with pre-send warnings, and while a scheduled send of it runs."""
    zone = newsletter_zone(root)
    due = due_time(when, zone)
    moment = now()
    if due <= moment:
        raise WeeklyError(
            f"--at: {local_text(due, zone)} is in the past (now {local_text(moment, zone)})"
        )
    composed = load_composed(root, number)
    if warnings := strict_findings(composed):
        raise CheckFailed(
            f"issue {number}: {len(warnings)} pre-send check(s) fail under --strict: "
            f"{'; '.join(warnings)}; fix them and run `weekly compose {number} --strict`"
        )
    schedule = Schedule(number, stamp(due), composed.fingerprint, allow_changes)
    with closing(open_schedules(root)) as schedules:
        if not schedules.put(schedule):
            raise WeeklyError(f"issue {number} is being sent by its schedule now")
    return schedule


def cancel_schedule(root: Path, number: int) -> None:
    """Cancel the waiting schedule of issue `number`; an error if it has none waiting."""
    with closing(open_schedules(root)) as schedules:
        if schedules.move(number, WAITING, CANCELLED, "cancelled by the editor"):
            return
        found = schedules.get(number)
    if found is None:
        raise WeeklyError(f"issue {number} has no schedule")
    raise WeeklyError(
        f"issue {number}'s schedule is {found.state}: only a waiting one can be cancelled"
    )


def schedule_lines(root: Path) -> Iterator[str]:
    """`weekly schedule --list`: each schedule with its time in the newsletter's zone, its
    state and why."""
    zone = newsletter_zone(root)
    with closing(open_schedules(root)) as schedules:
        found = schedules.listed()
    if not found:
        yield "No scheduled sends."
        return
    yield f"{'issue':>6}  {'time (' + zone.key + ')':<24}  {'state':<9}  detail"
    for schedule in found:
        detail = schedule.detail or (f"by {schedule.runner}" if schedule.state == RUNNING else "")
        changes = " (--allow-changes)" if schedule.allow_changes else ""
        yield (
            f"{schedule.issue:>6}  {local_text(schedule.due_time, zone):<24}  "
            f"{schedule.state:<9}  {detail}{changes}".rstrip()
        )
