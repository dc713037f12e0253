"""The archive's order check: issue numbers and dates should run the same way."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise


def out_of_order(issues: list[tuple[int, dt.date]]) -> tuple[str, ...]:
    """A warning for each neighbour (by number) dated before the issue it follows: an import
    that numbered issues wrongly, or a typo in a date, makes the index and the feed disagree."""
    return tuple(
        f"#{later} ({later_date}) is dated before #{earlier} ({earlier_date}): "
        "issue numbers and dates run in different orders"
        for (earlier, earlier_date), (later, later_date) in pairwise(sorted(issues))
        if later_date < earlier_date
    )
