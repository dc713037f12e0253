"""The delivery loop: a pool of SMTP connections draining a bounded queue of recipients.

Every outcome is written to the ledger the moment it is known; retries wait out a backoff
without holding a connection. Ctrl-C once drains what is in flight, twice exits at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from weekly.config import DeliverySettings
from weekly.ledger import FAILED_PERMANENT, FAILED_TEMPORARY, PENDING, SENDING, SENT, Ledger
from weekly.message import MessageFactory
from weekly.subscribers import Subscriber
from weekly.transport import (
    TEMPORARY_RUN,
    Connection,
    Outcome,
    Pacer,
    Result,
    backoff,
    tls_context,
)

QUEUE_SIZE = 1000
FAILURES_KEPT = 20


@dataclass
class Tally:
    """What one run did, for the summary."""

    sent: int = 0
    failed_permanent: int = 0
    failed_temporary: int = 0
    uncertain: int = 0
    left_pending: int = 0
    interrupted: bool = False
    halted: str = ""  # the relay's refusal of the sender, which stopped the run
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # email, state, reply

    def note(self, email: str, state: str, reply: str) -> None:
        """Keep a failure for the summary (the first few; `status --failed` has them all)."""
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append((email, state, reply))


@dataclass
class _Job:
    subscriber: Subscriber
    tries: int = 0


class Dispatcher:
    """Sends one issue's messages to a stream of subscribers and records every outcome."""

    def __init__(
        self,
        factory: MessageFactory,
        settings: DeliverySettings,
        password: str | None,
        helo: str,
        *,
        ledger: Ledger | None,
        issue: int,
        progress: Callable[[int], None],
    ) -> None:
        self._factory = factory
        self._settings = settings
        tls = tls_context(settings)
        self._connections = [
            Connection(settings, password, helo, tls) for _ in range(settings.concurrency)
        ]
        self._ledger = ledger
        self._issue = issue
        self._progress = progress
        self._pacer = Pacer(settings.rate)
        self._tally = Tally()
        self._open = 0
        self._producing = True
        self._finished = False
        self._stopping = False
        self._temporary_run = 0
        # Bound to the running loop on first use, so it can be made before asyncio.run.
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue(
            maxsize=max(QUEUE_SIZE, len(self._connections))
        )
        self._retries: set[asyncio.Task[None]] = set()

    def run(self, subscribers: Iterable[Subscriber]) -> Tally:
        """Deliver to every subscriber the iterable yields (it may touch the ledger as it goes)."""
        return asyncio.run(self._main(subscribers))

    async def _main(self, subscribers: Iterable[Subscriber]) -> Tally:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        try:
            tasks = [asyncio.create_task(self._work(c)) for c in self._connections]
            tasks.append(asyncio.create_task(self._produce(subscribers)))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # the first unexpected error, if any, ends the run here
        finally:
            loop.remove_signal_handler(signal.SIGINT)
        return self._tally

    async def _produce(self, subscribers: Iterable[Subscriber]) -> None:
        for subscriber in subscribers:
            if self._stopping:
                break
            self._open += 1
            await self._queue.put(_Job(subscriber))
        self._producing = False
        self._maybe_finish()

    def _interrupt(self) -> None:
        if self._stopping:
            print("\nInterrupted again: exiting now.", file=sys.stderr)
            os._exit(130)
        print(
            "\nStopping: finishing messages in flight (Ctrl-C again to quit at once).",
            file=sys.stderr,
        )
        self._tally.interrupted = True
        self._stop()

    def _stop(self) -> None:
        """Take no new work: queued and waiting retries are dropped, in-flight ones finish."""
        self._stopping = True
        for task in self._retries:
            task.cancel()

    def _maybe_finish(self) -> None:
        if not self._producing and self._open == 0 and not self._finished:
            self._finished = True
            for _ in self._connections:
                self._queue.put_nowait(None)

    def _settle(self) -> None:
        self._open -= 1
        self._progress(1)
        self._maybe_finish()

    def _drop(self) -> None:
        """A job abandoned on Ctrl-C: its row stays `pending` for the next run."""
        self._tally.left_pending += 1
        self._open -= 1
        self._maybe_finish()

    async def _work(self, connection: Connection) -> None:
        try:
            while (job := await self._queue.get()) is not None:
                if self._stopping:
                    self._drop()
                    continue
                await self._pacer.wait()
                await self._send(connection, job)
        finally:
            await connection.close()

    async def _send(self, connection: Connection, job: _Job) -> None:
        subscriber = job.subscriber
        built = self._factory.build(subscriber)

        def before_data() -> None:
            if self._ledger is not None:
                self._ledger.mark_sending(self._issue, subscriber.key, built.message_id)

        result = await connection.send(
            self._factory.sender, subscriber.address, built.data, before_data
        )
        self._record(job, result)

    def _mark(self, subscriber: Subscriber, state: str, reply: str) -> None:
        if self._ledger is not None:
            self._ledger.mark(self._issue, subscriber.key, state, reply)

    def _record(self, job: _Job, result: Result) -> None:
        subscriber, tally = job.subscriber, self._tally
        if result.outcome is not Outcome.RETRY:
            self._temporary_run = 0
        if result.outcome is Outcome.SENT:
            self._mark(subscriber, SENT, result.reply)
            tally.sent += 1
        elif result.outcome is Outcome.FAILED:
            self._mark(subscriber, FAILED_PERMANENT, result.reply)
            tally.failed_permanent += 1
            tally.note(subscriber.email, FAILED_PERMANENT, result.reply)
        elif result.outcome is Outcome.UNCERTAIN:
            self._mark(subscriber, SENDING, result.reply)
            tally.uncertain += 1
            tally.note(subscriber.email, "uncertain", result.reply)
        elif result.outcome is Outcome.HALT:
            self._mark(subscriber, PENDING, result.reply)
            tally.halted = tally.halted or result.reply
            self._stop()
            self._drop()
            return
        else:
            self._retry(job, result)
            return
        self._settle()

    def _retry(self, job: _Job, result: Result) -> None:
        self._temporary_run += 1
        if result.code == 421 or self._temporary_run >= TEMPORARY_RUN:
            self._pacer.slow_down()
            self._temporary_run = 0
        job.tries += 1
        if self._stopping:
            self._mark(job.subscriber, PENDING, result.reply)
            self._drop()
            return
        if job.tries >= self._settings.max_attempts:
            self._mark(job.subscriber, FAILED_TEMPORARY, result.reply)
            self._tally.failed_temporary += 1
            self._tally.note(job.subscriber.email, FAILED_TEMPORARY, result.reply)
            self._settle()
            return
        self._mark(job.subscriber, PENDING, result.reply)
        task = asyncio.create_task(self._later(job, backoff(self._settings.retry_delay, job.tries)))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _later(self, job: _Job, delay: float) -> None:
        """Queue `job` again after `delay`, unless the run stops first."""
        try:
            await asyncio.sleep(delay)
            if not self._stopping:
                await self._queue.put(job)
                return
        except asyncio.CancelledError:
            pass  # stopped while waiting: the job was not queued
        self._drop()
