"""Unsubscribing: one event in the subscription log, whichever way the request came."""

from __future__ import annotations

from pathlib import Path

from weekly.config import load_config
from weekly.state import (
    UNSUBSCRIBE_SOURCES,
    UNSUBSCRIBED,
    Event,
    StateStore,
    normalize_address,
    now,
)


def unsubscribe(store: StateStore, email: str, source: str, *, ip: str = "") -> Event:
    """Record that `email` asked to be unsubscribed through `source` (one-click, link, …)."""
    if source not in UNSUBSCRIBE_SOURCES:
        raise ValueError(f"unknown unsubscribe source {source!r}")
    event = Event(at=now(), email=email, kind=UNSUBSCRIBED, source=source, ip=ip)
    store.record([event])
    return event


def unsubscribe_by_hand(root: Path, raw: str, source: str) -> Event:
    """`weekly unsubscribe ADDRESS`: validate the address, then record the request."""
    load_config(root)  # only inside a newsletter's folder
    email, _ = normalize_address(raw)
    with StateStore.open(root) as store:
        return unsubscribe(store, email, source)
