"""One consent log shared by serve's concurrent requests: events that arrive while a commit
runs go together in the next one, so one disk flush serves many one-click unsubscribes, and
each caller still returns only once its own events are committed."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from weekly.store import ConsentLog
from weekly.store.consent import Event, Standing


class _Batch:
    """Events committed together, and how that went."""

    __slots__ = ("count", "done", "error", "events")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.done = False
        self.count = 0
        self.error: BaseException | None = None


class GroupedConsentLog:
    """A `ConsentLog` whose `record` may be called from many threads at once: the first
    caller commits, the others queue their events for the commit after it."""

    def __init__(self, log: ConsentLog) -> None:
        self._log = log
        self._changed = threading.Condition()
        self._open = _Batch()
        self._busy = False

    def record(self, events: Iterable[Event]) -> int:
        """Append `events` (with whatever else is waiting, all or none); returns how many
        events of their whole batch were new."""
        with self._changed:
            batch = self._open
            batch.events.extend(events)
            while not batch.done:
                if self._busy:
                    self._changed.wait()
                    continue
                self._busy, self._open = True, _Batch()  # ours is the open batch: commit it
                self._changed.release()
                try:
                    batch.count = self._log.record(batch.events)
                except BaseException as exc:  # every caller of the batch gets the store's error
                    batch.error = exc
                finally:
                    self._changed.acquire()
                    batch.done, self._busy = True, False
                    self._changed.notify_all()
        if batch.error is not None:
            raise batch.error
        return batch.count

    def cursor(self) -> int:
        return self._log.cursor()

    def changed_since(self, cursor: int) -> tuple[int, set[str]]:
        return self._log.changed_since(cursor)

    def history(self, address: str) -> list[Event]:
        return self._log.history(address)

    def standings(self, extra: Iterable[Event] = ()) -> dict[str, Standing]:
        return self._log.standings(extra)

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> GroupedConsentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
