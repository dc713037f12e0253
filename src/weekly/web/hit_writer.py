"""Hits written behind the reader's click: a bounded queue drained in batches by one thread,
so a slow or failing store never fails nor delays a redirect; a full queue drops the hit,
counts it and says so in serve's log."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from weekly.store.hits import Hit
from weekly.store.protocols import HitLog

log = logging.getLogger("weekly.web.hits")

CAPACITY = 50_000  # hits waiting for the store (a few MB); past it a hit is dropped
BATCH = 1_000  # hits per transaction at most
RETRY_SECONDS = 1.0  # after a store error, before the same batch is tried again
WARN_SECONDS = 1.0  # at most one queue-full warning this often
_STOP = object()


class HitWriter:
    """Takes hits from request handlers (`put`, never blocking) and appends them to the hit
    log from its own thread; `stop` writes what is queued and closes the log."""

    def __init__(
        self, hit_log: HitLog, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._log = hit_log
        self._queue: queue.Queue[object] = queue.Queue(capacity)
        self._stopping = threading.Event()
        self._clock = clock
        self._warned = -WARN_SECONDS
        self._given_up = False  # the store failed its last try at stop: the rest is lost
        self.written = 0
        self.dropped = 0
        self.lost = 0
        self._thread = threading.Thread(target=self._run, name="weekly-hits", daemon=True)
        self._thread.start()

    def put(self, hit: Hit) -> None:
        """Queue `hit`; when the queue is full, drop it, count it and warn (once a second)."""
        try:
            self._queue.put_nowait(hit)
        except queue.Full:
            self.dropped += 1
            moment = self._clock()
            if moment - self._warned >= WARN_SECONDS:
                self._warned = moment
                log.warning("hit log queue full: %d hit(s) dropped so far", self.dropped)

    def stop(self) -> None:
        """Write every queued hit (one more try after a store error), then close the log."""
        self._stopping.set()
        self._queue.put(_STOP)
        self._thread.join()
        self._log.close()
        # said at warning level (which serve's log shows) when a hit went uncounted
        level = logging.WARNING if self.dropped or self.lost else logging.INFO
        log.log(
            level,
            "hit log: %d hit(s) written, %d dropped (queue full), %d lost (store failing)",
            self.written,
            self.dropped,
            self.lost,
        )

    def _run(self) -> None:
        done = False
        while not done:
            batch: list[Hit] = []
            item = self._queue.get()
            while item is not _STOP:
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            done = item is _STOP
            if batch:
                self._write(batch)

    def _write(self, batch: list[Hit]) -> None:
        """Append `batch`, trying again while the store fails; once stopping, one last try
        (and none for the batches after it, so a dead store cannot hold the stop up)."""
        while not self._given_up:
            last_try = self._stopping.is_set()
            try:
                self._log.record(batch)
            except Exception as exc:  # the store's own error, whatever its kind
                if last_try:
                    self._given_up = True
                    log.warning("hit log: not written at stop: %s", exc)
                    break
                log.warning("hit log: %d hit(s) not written yet, trying again: %s", len(batch), exc)
                self._stopping.wait(RETRY_SECONDS)
                continue
            self.written += len(batch)
            return
        self.lost += len(batch)
