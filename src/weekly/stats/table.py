"""The stats as text for the terminal and as CSV: one fixed header for one issue and for all,
a row per issue and, for one issue, a row per segment and a row per link below it."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from typing import TextIO

from weekly.stats.figures import IssueFigures, LinkFigures, SegmentFigures
from weekly.store.deliveries import shown_segment

NOT_TRACKED = "not tracked"
COLUMNS = (
    "issue",
    "date",
    "segment",
    "link",
    "text",
    "target",
    "delivered",
    "failed",
    "unsubscribed",
    "complained",
    "opens",
    "opens_total",
    "machine_opens",
    "bot_opens",
    "clickers",
    "clicks",
    "scanner_clicks",
    "ctr",
)


def percent(rate: float | None) -> str:
    """A click-through rate as people read it: `12.3 %` (a dash when there is none)."""
    return "-" if rate is None else f"{100 * rate:.1f} %"


def _issue_row(f: IssueFigures) -> dict[str, object]:
    """The issue's own CSV row; the cells of what was not tracked stay empty."""
    o = f.outcome
    row: dict[str, object] = {
        "issue": o.issue,
        "date": f.sent_on or "",
        "delivered": o.delivered,
        "failed": o.failed,
        "unsubscribed": o.unsubscribed,
        "complained": o.complained,
    }
    if f.opens is not None:
        row |= {
            "opens": f.opens.readers,
            "opens_total": f.opens.total,
            "machine_opens": f.opens.machine,
            "bot_opens": f.opens.bots,
        }
    if f.clicks is not None:
        row |= {"clickers": f.clicks.readers, "clicks": f.clicks.total}
        row |= {"scanner_clicks": f.clicks.scanned}
    if f.ctr is not None:
        row["ctr"] = f"{f.ctr:.4f}"
    return row


def _link_row(f: IssueFigures, link: LinkFigures) -> dict[str, object]:
    return {
        "issue": f.number,
        "date": f.sent_on or "",
        "link": link.number,
        "text": link.text,
        "target": link.href,
        "clickers": link.readers,
        "clicks": link.clicks,
        "scanner_clicks": link.scanned,
    }


def _segment_row(f: IssueFigures, segment: SegmentFigures) -> dict[str, object]:
    return {
        "issue": f.number,
        "date": f.sent_on or "",
        "segment": shown_segment(segment.segment),
        "delivered": segment.delivered,
        "failed": segment.failed,
    }


def write_csv(figures: Sequence[IssueFigures], out: TextIO) -> None:
    """`figures` as CSV on `out`: each issue's row, then its segments' and its links' rows
    (if it has them)."""
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for f in figures:
        writer.writerow(_issue_row(f))
        for segment in f.segments:
            writer.writerow(_segment_row(f, segment))
        for link in f.clicks.links if f.clicks else ():
            writer.writerow(_link_row(f, link))


def issue_lines(f: IssueFigures) -> Iterator[str]:
    """One issue's report for the terminal."""
    o = f.outcome
    yield f"issue {o.issue}, sent {f.sent_on or o.started_at}"
    for label, count in (
        ("delivered", o.delivered),
        ("failed", o.failed),
        ("unsubscribed", o.unsubscribed),
        ("complained", o.complained),
    ):
        yield f"  {label:<14} {count:>9,}"
    for segment in f.segments:
        yield (
            f"  {'segment':<14} {segment.delivered:>9,} delivered, {segment.failed:,} failed:"
            f" {shown_segment(segment.segment)}"
        )
    if f.opens is None:
        yield f"  {'opens':<14} {NOT_TRACKED}"
    else:
        op = f.opens
        yield f"  {'opens':<14} {op.readers:>9,} readers ({op.total:,} opens)"
        yield f"  {'':<14} {op.machine:>9,} machine opens (mail privacy proxies), apart"
        yield f"  {'':<14} {op.bots:>9,} bot opens, not counted"
    if f.clicks is None:
        yield f"  {'clicks':<14} {NOT_TRACKED}"
        return
    c = f.clicks
    yield f"  {'clicks':<14} {c.readers:>9,} readers ({c.total:,} clicks)"
    yield f"  {'':<14} {c.scanned:>9,} scanner clicks, not counted"
    yield f"  {'click-through':<14} {percent(f.ctr):>9}"
    if c.links:
        yield f"  {'link':>4} {'readers':>9} {'clicks':>9}  text -> target"
    for link in c.links:
        yield f"  {link.number:>4} {link.readers:>9,} {link.clicks:>9,}  {link.text} -> {link.href}"


def overview_lines(figures: Sequence[IssueFigures]) -> Iterator[str]:
    """A row per issue for the terminal: number, date, delivered, opens, clicks, CTR and
    unsubscribes (opens and clicks count readers)."""
    yield (
        f"{'issue':>6}  {'date':<10}  {'delivered':>10}  {'opens':>11}  {'clicks':>11}"
        f"  {'CTR':>8}  {'unsubscribed':>12}"
    )
    for f in figures:
        opens = NOT_TRACKED if f.opens is None else f"{f.opens.readers:,}"
        clicks = NOT_TRACKED if f.clicks is None else f"{f.clicks.readers:,}"
        yield (
            f"{f.number:>6}  {f.sent_on or ''!s:<10}  {f.outcome.delivered:>10,}"
            f"  {opens:>11}  {clicks:>11}  {percent(f.ctr):>8}  {f.outcome.unsubscribed:>12,}"
        )
