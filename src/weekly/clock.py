"""Wall-clock time, one way: an aware UTC `now()` and the ISO text the ledger and the consent
log store (`stamp`), so every record reads and sorts alike."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    """An aware time (default: now) as the logs write it: ISO 8601, UTC, to the second."""
    return (moment or now()).astimezone(UTC).isoformat(timespec="seconds")
