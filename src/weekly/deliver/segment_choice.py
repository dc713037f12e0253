"""Which segment a send mails: `--segment` if given, else the issue's `segment:` front
matter (as composed into its build), else everyone; a bad expression names where it is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from weekly.audience.segments import Segment, SegmentError
from weekly.content.issue import ISSUE_FILE
from weekly.errors import LocatedError, WeeklyError
from weekly.project import issue_dir
from weekly.render.composed import Composed


@dataclass(frozen=True)
class SegmentChoice:
    """The segment (None: everyone) and how the plan names where it came from."""

    segment: Segment | None
    origin: str = ""

    @property
    def expression(self) -> str:
        """What the ledger records for this run: "" when it mails everyone."""
        return "" if self.segment is None else self.segment.expression


def choose_segment(
    root: Path, composed: Composed, option: str | None, language: str
) -> SegmentChoice:
    """The segment of a send of `composed` whose `--segment` is `option`."""
    written = composed.meta.get("segment")
    if option is not None:
        try:
            segment = Segment.parse(option, language)
        except SegmentError as exc:
            raise WeeklyError(f"--segment: {exc.reason}") from None
        instead = f", instead of the issue's segment: {written}" if written else ""
        return SegmentChoice(segment, f"--segment{instead}")
    if not isinstance(written, str) or not written:
        return SegmentChoice(None)
    path = issue_dir(root, composed.number) / ISSUE_FILE
    try:
        segment = Segment.parse(written, language)
    except SegmentError as exc:
        line = composed.meta.get("segment_line")
        raise LocatedError(path, f"segment: {exc.reason}", line) from None
    return SegmentChoice(segment, f"segment: in {path}")
