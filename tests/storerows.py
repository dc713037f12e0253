"""The store's rows as the tests inspect them, read straight from whichever store the test
runs on (SQLite files, or the database in WEEKLY_STORE_URL), not through the code under test."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

from weekly.store.copy import TABLES, PostgresSide, SqliteSide


class Row(NamedTuple):
    issue: int
    recipient: str
    email: str
    state: str
    attempts: int
    last_reply: str
    message_id: str
    created_at: str
    updated_at: str
    segment: str  # the expression of the run that added the row ("": everyone)


def rows(root: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table` (see weekly.store.copy.TABLES) in the store of the newsletter at
    `root`, in key order (none when that store was never written)."""
    url = os.environ.get("WEEKLY_STORE_URL")
    if url:
        side = PostgresSide(url)
        try:
            return list(side.rows(table))
        finally:
            side.close()
    return list(SqliteSide(root).rows(table))


def snapshot(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the store, for a test that must prove a command changed nothing."""
    return {table: rows(root, table) for table in TABLES}


def deliveries(root: Path) -> list[Row]:
    """Every ledger row of the newsletter at `root` (none when it never sent)."""
    return [Row(*row) for row in rows(root, "deliveries")]


def state_counts(root: Path, issue: int = 324) -> Counter[str]:
    """How many rows of `issue` are in each state (states with none left out)."""
    return Counter(row.state for row in deliveries(root) if row.issue == issue)


def recipients_in(root: Path, state: str, issue: int = 324) -> set[str]:
    """The recipient keys of `issue` in `state`."""
    return {r.recipient for r in deliveries(root) if r.issue == issue and r.state == state}
