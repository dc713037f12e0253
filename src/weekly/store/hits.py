"""The tracking domain: one hit on a tracked link or open pixel, and hits counted per link,
the same whichever store keeps them. Nothing here names a person unless the editor chose
per-subscriber tracking: `visitor` is otherwise an opaque per-message mark."""

from __future__ import annotations

from dataclasses import dataclass

CLICK = "click"
OPEN = "open"
HIT_KINDS = (CLICK, OPEN)

HUMAN = "human"
MACHINE = "machine"  # a mail provider's proxy fetching for the reader (Apple MPP, Gmail)
BOT = "bot"  # a link scanner or crawler, not the reader
AGENTS = (HUMAN, MACHINE, BOT)


@dataclass(frozen=True, slots=True)
class Hit:
    """One request to a tracking URL: `link` is the link's number in the issue (0 for an
    open); `visitor` tells hits of one message apart ("" when unknown); `at` is ISO UTC."""

    issue: int
    kind: str
    link: int
    agent: str
    visitor: str
    at: str


@dataclass(frozen=True, slots=True)
class Tally:
    """Hits of one (issue, kind, link, agent): all of them, and how many distinct visitors."""

    issue: int
    kind: str
    link: int
    agent: str
    total: int
    unique: int


def tally_query(mark: str, one_issue: bool, per_link: bool) -> str:
    """The counting query both stores run: per link, or over all links of a kind (`link` 0);
    `mark` is the driver's parameter mark, the issue number the parameter with `one_issue`."""
    link = "link" if per_link else "0"
    where = f"WHERE issue = {mark}" if one_issue else ""
    groups = f"issue, kind, {link + ', ' if per_link else ''}agent"
    return (
        f"SELECT issue, kind, {link}, agent, count(*), count(DISTINCT nullif(visitor, ''))"
        f" FROM hits {where} GROUP BY {groups} ORDER BY {groups}"
    )
