"""The delivery loop: a pool of backend lanes (SMTP connections) draining a bounded queue.

Every outcome is written to the ledger the moment it is known, as `outcomes.classify`
judged it; a recipient's retry waits out its own backoff without holding a connection or
slowing the others. Opt-outs recorded while the run goes are polled and honoured before
each message. SIGINT, SIGTERM or SIGHUP once drains what is in flight, twice exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from weekly.audience.subscriber_list import Subscriber
from weekly.config import DeliverySettings
from weekly.deliver.backend import DeliveryBackend
from weekly.deliver.consent_watch import POLL_SECONDS
from weekly.deliver.message import MessageFactory
from weekly.deliver.outcomes import Outcome, Verdict
from weekly.deliver.pacing import Pacer, Pacing, backoff
from weekly.deliver.recording import Fenced, LedgerRecording, Recording
from weekly.store import Ledger
from weekly.store.deliveries import (
    FAILED_MESSAGE,
    FAILED_PERMANENT,
    FAILED_TEMPORARY,
    OPTED_OUT,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    Mark,
)

QUEUE_SIZE = 1000
FAILURES_KEPT = 20
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# Verdicts that end a recipient's run, with the ledger state they leave.
FINAL = {
    Verdict.SENT: SENT,
    Verdict.UNCERTAIN: SENDING,
    Verdict.MAILBOX: FAILED_PERMANENT,
    Verdict.MESSAGE: FAILED_MESSAGE,
}


@dataclass
class Tally:
    """What one run did, for the summary."""

    sent: int = 0
    failed_mailbox: int = 0
    failed_message: int = 0
    failed_temporary: int = 0
    uncertain: int = 0
    opted_out: int = 0
    left_pending: int = 0
    slowed: int = 0  # connection faults that halved the pace for everyone
    interrupted: int = 0  # the number of the signal that stopped the run
    halted: str = ""  # why the relay stopped the run (it refused the sender, or vanished)
    fenced: bool = False  # this sender's rows were taken over by another (its lease ran out)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # email, state, reply

    def note(self, email: str, state: str, reply: str) -> None:
        """Keep a failure for the summary (the first few; `status --failed` has them all)."""
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append((email, state, reply))

    def count(self, state: str) -> None:
        """One more recipient finished in ledger `state`."""
        name = _COUNTED[state]
        setattr(self, name, getattr(self, name) + 1)


# The Tally field each final ledger state counts in, made once rather than per recipient.
_COUNTED = {
    SENT: "sent",
    SENDING: "uncertain",
    FAILED_PERMANENT: "failed_mailbox",
    FAILED_MESSAGE: "failed_message",
    FAILED_TEMPORARY: "failed_temporary",
    OPTED_OUT: "opted_out",
}


@dataclass
class _Job:
    subscriber: Subscriber
    tries: int = 0
    reply: str = ""  # the last one


class Dispatcher:
    """Sends one issue's messages to a stream of subscribers and records every outcome."""

    def __init__(
        self,
        factory: MessageFactory,
        settings: DeliverySettings,
        backend: Callable[[], DeliveryBackend],
        *,
        ledger: Ledger | None,
        issue: int,
        progress: Callable[[int], None],
        opt_outs: Callable[[], set[str]] | None = None,
        notice: Callable[[str], None],
        pacer: Pacing | None = None,
        recording: Recording | None = None,
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._connections = [backend() for _ in range(settings.concurrency)]
        # Where outcomes go: the ledger, one commit each, or a shared store's group commit.
        if recording is None and ledger is not None:
            recording = LedgerRecording(ledger, issue)
        self._recording = recording
        self._failure: BaseException | None = None  # a store error that stopped the run
        self._progress = progress
        self._opt_outs = opt_outs
        self._notice = notice  # tells the editor what a signal does
        self._opted_out: set[str] = set()
        self._pacer: Pacing = pacer or Pacer(settings.rate)  # or one shared by several senders
        self._tally = Tally()
        self._open = 0
        self._producing = True
        self._finished = False
        self._stopping = False
        self._link_faults = 0  # connection-level faults since the last transaction that went
        # Bound to the running loop on first use, so it can be made before asyncio.run.
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue(
            maxsize=max(QUEUE_SIZE, len(self._connections))
        )
        self._retries: set[asyncio.Task[None]] = set()
        self._producer: asyncio.Task[None] | None = None

    def run(self, subscribers: Iterable[Subscriber] | AsyncIterable[Subscriber]) -> Tally:
        """Deliver to every subscriber the iterable yields (it may touch the ledger as it goes)."""
        return asyncio.run(self._main(subscribers))

    async def _main(self, subscribers: Iterable[Subscriber] | AsyncIterable[Subscriber]) -> Tally:
        loop = asyncio.get_running_loop()
        for number in SIGNALS:
            loop.add_signal_handler(number, self._interrupt, number)
        tasks = [asyncio.create_task(self._work(c)) for c in self._connections]
        self._producer = asyncio.create_task(self._produce(subscribers))
        tasks.append(self._producer)
        watch = [asyncio.create_task(self._watch())] if self._opt_outs else []
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # the first unexpected error, if any, ends the run here
        finally:
            for task in tasks + watch:  # the watch, or every task after an error
                task.cancel()
            # Collected, so a second lane failing the same way is not reported as lost.
            await asyncio.gather(*tasks, *watch, return_exceptions=True)
            for number in SIGNALS:
                loop.remove_signal_handler(number)
            if self._recording is not None:
                await self._recording.close()
        if self._failure is not None:
            raise self._failure
        return self._tally

    async def _watch(self) -> None:
        """Poll the subscription log for opt-outs recorded by any process while this runs."""
        assert self._opt_outs is not None
        while True:
            self._opted_out |= self._opt_outs()
            await asyncio.sleep(POLL_SECONDS)

    async def _produce(self, subscribers: Iterable[Subscriber] | AsyncIterable[Subscriber]) -> None:
        # Claimed from a store shared by senders, or read from the list.
        stream = subscribers if isinstance(subscribers, AsyncIterable) else _each(subscribers)
        try:
            async for subscriber in stream:
                if not await self._queued(subscriber):
                    break
        except asyncio.CancelledError:
            pass  # a stop while waiting for more work (a shared store's claim or its poll)
        finally:
            self._producing = False
            self._maybe_finish()

    async def _queued(self, subscriber: Subscriber) -> bool:
        """Queue one more job; False once the run stops taking work."""
        if self._stopping:
            return False
        self._open += 1
        try:
            await self._queue.put(_Job(subscriber))
        except asyncio.CancelledError:  # a stop while the queue was full: not queued
            self._abandon()
            raise
        return True

    def _interrupt(self, number: int) -> None:
        """Stop first, then say so: the notice may fail (a closed terminal, `| tee` killed by
        the same Ctrl-C) and the stop must not depend on it."""
        if self._stopping and self._tally.interrupted:
            self._say("\nInterrupted again: exiting now.")
            os._exit(128 + number)
        self._tally.interrupted = number
        self._stop()
        self._say(
            f"\nStopping: finishing messages in flight ({signal.Signals(number).name}; "
            "a second Ctrl-C or signal quits at once)."
        )

    def _say(self, line: str) -> None:
        """A notice to the editor, if anyone can still hear it."""
        with contextlib.suppress(OSError):
            self._notice(line)

    def _stop(self) -> None:
        """Take no new work: queued and waiting retries are dropped, in-flight ones finish."""
        self._stopping = True
        for task in self._retries:
            task.cancel()
        if self._producer is not None and self._producing:
            self._producer.cancel()  # it may be waiting for rows that will never come

    def _maybe_finish(self) -> None:
        if not self._producing and self._open == 0 and not self._finished:
            self._finished = True
            for _ in self._connections:
                self._queue.put_nowait(None)

    def _settle(self, job: _Job, state: str, reply: str, *, attempt: bool) -> None:
        """`job` is done: record its final `state`, and count it once that is durable."""

        def settled() -> None:
            self._tally.count(state)
            if state not in (SENT, OPTED_OUT):
                label = "uncertain" if state == SENDING else state
                self._tally.note(job.subscriber.email, label, reply)
            self._progress(1)
            self._release()

        self._mark(job, state, reply, attempt=attempt, then=settled)

    def _drop(self, job: _Job) -> None:
        """A job abandoned on a stop: a row waiting for its retry goes back to `pending`."""
        if job.tries:
            self._mark(job, PENDING, job.reply, then=self._abandon)
        else:
            self._abandon()

    def _abandon(self) -> None:
        """One job left for the next run."""
        self._tally.left_pending += 1
        self._release()

    def _release(self) -> None:
        self._open -= 1
        self._maybe_finish()

    def _fail(self, failure: BaseException) -> None:
        """The store refused a mark: this sender was fenced off (another took over its rows
        after its lease ran out) or the store failed. Either way the run stops."""
        if isinstance(failure, Fenced):
            self._tally.fenced = True
        else:
            self._failure = self._failure or failure
        self._stop()

    async def _work(self, connection: DeliveryBackend) -> None:
        try:
            while (job := await self._queue.get()) is not None:
                if self._stopping:
                    self._drop(job)
                    continue
                if not await self._pacer.wait():  # a shared pace: the day's cap is reached
                    self._tally.halted = self._tally.halted or "the daily cap is reached"
                    self._stop()
                    self._drop(job)
                    continue
                if job.subscriber.key in self._opted_out:
                    self._settle(job, OPTED_OUT, "opted out during the send", attempt=False)
                    continue
                await self._send(connection, job)
        finally:
            await connection.close()

    async def _send(self, connection: DeliveryBackend, job: _Job) -> None:
        subscriber, recording = job.subscriber, self._recording
        built = self._factory.build(subscriber)
        begun = None if recording is None else recording.begin(subscriber.key, built.message_id)
        ended = False

        def before_end() -> Awaitable[None] | None:
            nonlocal ended
            ended = True
            return None if begun is None else begun()

        try:
            result = await connection.deliver(
                self._factory.sender, subscriber.address, built.data, before_end
            )
        except Fenced as fenced:  # the row is another sender's now: nothing to record
            self._fail(fenced)
            self._release()
            return
        counted = ended or (recording is not None and recording.ahead)  # by the `sending` mark
        self._record(job, result, attempt=not counted)

    def _mark(
        self,
        job: _Job,
        state: str,
        reply: str,
        *,
        attempt: bool = False,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Record `job`'s `state`; `then` (which releases the job) runs once it is durable."""
        mark = Mark(job.subscriber.key, state, reply, None, int(attempt))
        waiting = None if self._recording is None else self._recording.outcome(mark)
        if waiting is None:
            if then is not None:
                then()
            return

        def landed(done: asyncio.Future[None]) -> None:
            failure = done.exception()
            if failure is not None:
                self._fail(failure)
            if then is None:
                return
            if failure is None:
                then()
            else:
                self._release()

        waiting.add_done_callback(landed)

    def _record(self, job: _Job, result: Outcome, *, attempt: bool) -> None:
        verdict, reply = result.verdict, result.reply
        job.tries += 1
        job.reply = reply
        halted = ""
        if verdict is Verdict.HALT:
            halted = f"the relay refused the sender ({reply})"
        elif verdict is Verdict.CONNECTION:
            self._pacer.slow_down()
            self._tally.slowed += 1
            self._link_faults += 1
            if self._link_faults >= self._settings.max_attempts * len(self._connections):
                halted = f"the relay keeps failing ({reply})"
        else:
            self._link_faults = 0
        if halted:
            self._tally.halted = self._tally.halted or halted
            self._stop()
            self._mark(job, PENDING, reply, attempt=attempt, then=self._abandon)
        elif verdict in FINAL:
            self._settle(job, FINAL[verdict], reply, attempt=attempt)
        elif job.tries >= self._settings.max_attempts:
            self._settle(job, FAILED_TEMPORARY, reply, attempt=attempt)
        elif self._stopping:  # a temporary failure after the stop: next run's work
            self._mark(job, PENDING, reply, attempt=attempt, then=self._abandon)
        else:  # retry this recipient alone, after its own backoff
            self._mark(job, RETRYING, reply, attempt=attempt)
            delay = backoff(self._settings.retry_delay, job.tries)
            task = asyncio.create_task(self._later(job, delay))
            self._retries.add(task)
            task.add_done_callback(functools.partial(self._retried, job))

    async def _later(self, job: _Job, delay: float) -> None:
        """Queue `job` again after `delay`; a stop cancels it first (see `_retried`)."""
        await asyncio.sleep(delay)
        await self._queue.put(job)

    def _retried(self, job: _Job, task: asyncio.Task[None]) -> None:
        """A retry cancelled by a stop gives its row back. Handled here, not in `_later`: a
        task cancelled before its first step never runs its body, and the run would wait
        for that job forever (Ctrl-C right after a temporary failure hung the send)."""
        self._retries.discard(task)
        if task.cancelled():
            self._drop(job)


async def _each(items: Iterable[Subscriber]) -> AsyncIterator[Subscriber]:
    """A plain iterable as an async one, so the producer has one loop."""
    for item in items:
        yield item
