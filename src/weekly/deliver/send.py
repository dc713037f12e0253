"""`weekly send`: decide who gets issue N, say so, then deliver through the dispatcher.

Everything that can be wrong (build, secret, list, relay settings, ledger lock,
fingerprint) is checked before the first message goes out. The editor is talked to only
through the callbacks of a `Conversation`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path

from weekly.audience.recipients import Audience
from weekly.audience.subscriber_list import (
    ListReport,
    Subscriber,
    bare_subscriber,
    list_stamp,
)
from weekly.audience.tokens import secret_from_env
from weekly.config import Config, load_config
from weekly.deliver.backends import backend_for, check_settings, credential, describe
from weekly.deliver.consent_watch import ConsentWatch
from weekly.deliver.crew_send import SharedRun, payload
from weekly.deliver.dispatcher import Dispatcher, Tally
from weekly.deliver.message import MessageFactory
from weekly.deliver.plan import BATCH, Plan, SendOptions, messages
from weekly.deliver.segment_choice import choose_segment
from weekly.errors import WeeklyError
from weekly.placeholders import STANDARD_KEYS
from weekly.project import LIST_NAME, SUBSCRIBED
from weekly.render.composed import load_composed
from weekly.store import Ledger, existing_ledger, hold_issue, open_crew, open_ledger
from weekly.store.deliveries import SENDING

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Conversation:
    """How a send talks to the editor; the CLI supplies each part."""

    say: Callable[[str], None]  # the command's result (stdout)
    tell: Callable[[str], None]  # the plan and notices (stderr)
    confirm: Callable[[str], None]  # ask this question; raises to stop the send
    progress: Callable[[int], AbstractContextManager[Progress]]  # a bar for N messages


@dataclass
class Summary:
    """What a send did."""

    tally: Tally
    skipped: int
    uncertain_before: int
    seconds: float
    number: int

    @property
    def failed(self) -> int:
        t = self.tally
        return t.failed_mailbox + t.failed_message + t.failed_temporary

    @property
    def uncertain(self) -> int:
        """Rows the relay may have, this run's and those an earlier run left: never resent
        silently, so the summary points at them."""
        return self.tally.uncertain + self.uncertain_before

    def lines(self) -> Iterator[str]:
        t = self.tally
        rate = t.sent / self.seconds if self.seconds > 0 else 0.0
        yield (
            f"Sent {t.sent:,}, failed {self.failed:,} ({t.failed_mailbox:,} mailbox, "
            f"{t.failed_message:,} message, {t.failed_temporary:,} temporary), "
            f"uncertain {self.uncertain:,}, skipped {self.skipped:,}, "
            f"opted out during the send {t.opted_out:,} "
            f"in {self.seconds:.1f} s ({rate:,.1f} messages/s)"
        )
        if t.fenced:
            yield (
                "Stopped: this sender's lease ran out (store.lease_seconds) and another sender "
                f"took over its rows; the {t.left_pending:,} it still held are free for the others"
            )
        elif t.halted:
            yield (
                f"Stopped: {t.halted}; "
                f"{t.left_pending:,} left pending, run the same command once it is fixed"
            )
        elif t.left_pending:
            yield f"Interrupted: {t.left_pending:,} left pending; run the same command to go on"
        if t.slowed:
            yield (
                f"Slowed:   the relay dropped or deferred the connection {t.slowed:,} times; "
                "each halved the pace for everyone for a while"
            )
        for email, state, reply in t.failures:
            yield f"  {state}: {email}: {reply}"
        if self.failed or self.uncertain:
            yield f"List every failure with: weekly status {self.number} --failed"


class Send:
    """One invocation of `weekly send`: prepared (and locked) on entry, run once."""

    def __init__(self, root: Path, number: int, options: SendOptions) -> None:
        self.root = root
        self.number = number
        self.options = options
        self.config: Config = load_config(root)
        self.composed = load_composed(root, number)
        self._fingerprint = self.composed.fingerprint
        self.factory = MessageFactory(
            self.composed, self.config, secret_from_env(), test=bool(options.tests)
        )
        settings = self.config.delivery
        check_settings(settings, insecure=options.insecure)
        self.credential = None if options.dry_run else credential(settings)
        self.list_path = options.list_path or root / LIST_NAME
        language = self.config.newsletter.language
        self.segment = choose_segment(root, self.composed, options.segment, language)
        self._stack = ExitStack()
        # Watched from before the audience is read, so no opt-out falls in between.
        self._watch = None if options.dry_run or options.tests else ConsentWatch(root)
        if self._watch is not None:
            self._stack.callback(self._watch.close)
        try:
            self.audience = Audience.load(root)
        except BaseException:
            self._stack.close()
            raise
        self.ledger: Ledger | None = None
        self._columns: set[str] = set()
        # Who a real run delivers to; set once the list (or the --test addresses) is checked.
        self._recipients: Callable[[], Iterable[Subscriber] | AsyncIterable[Subscriber]] = list
        self._shared: SharedRun | None = None  # this sender's part when several share the send
        self.plan: Plan = Plan(
            number=number,
            subject=self.factory.subject,
            source=self.list_path.as_posix(),
            relay=describe(settings),
            segment=self.segment.expression,
            segment_origin=self.segment.origin,
        )

    def __enter__(self) -> Send:
        try:
            self._prepare()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _prepare(self) -> None:
        options = self.options
        if options.tests:
            self.plan.source = "--test " + ", ".join(options.tests)
            tests = [bare_subscriber(raw, n) for n, raw in enumerate(options.tests, 1)]
            self.plan.to_send = len(tests)
            self._recipients = lambda: tests
            return
        if options.dry_run:  # reads the ledger if there is one, locks nothing
            self._adopt(existing_ledger(self.root))
            return  # the list is counted while building, in one pass
        crew = open_crew(self.root, self.number)
        if crew is None:  # the newsletter's own files: one sender at a time
            self._stack.enter_context(hold_issue(self.root, self.number))
        else:  # a shared store: any number of senders take their share
            self._stack.callback(crew.close)
            self._shared = SharedRun(crew, self.config, options.claimable())
        ledger = open_ledger(self.root)
        self._adopt(ledger)
        report = self._start_report()
        for _, state in self._first_pass(report):
            self.plan.count(state, options)
        report.raise_if_invalid()
        self._warn_unfilled()
        if self._shared is None:
            self._recipients = lambda: self._deliverable(ledger, report.stamp)
        else:
            self._recipients = lambda: self._claimed(ledger, report.stamp)

    def _adopt(self, ledger: Ledger | None) -> None:
        """Use `ledger` (closed with the send) once its fingerprint allows this send."""
        self.ledger = ledger
        if ledger is not None:
            self._stack.callback(ledger.close)
            self._check_fingerprint(ledger)
            self.plan.earlier = ledger.segments(self.number)

    def _start_report(self) -> ListReport:
        """The plan's report on the list, stamped so the second pass reads the same file."""
        report = ListReport(self.list_path)
        report.stamp = list_stamp(self.list_path)
        self.plan.report = report
        return report

    def _check_fingerprint(self, ledger: Ledger) -> None:
        before, now = ledger.fingerprint(self.number), self._fingerprint
        if before is not None and before != now and not self.options.force:
            raise WeeklyError(
                f"issue {self.number} changed since its send started (fingerprint {before}, "
                f"now {now}): resuming would mix two versions; "
                "pass --force to send the new version to the remaining recipients"
            )

    def _warn_unfilled(self) -> None:
        known = {*STANDARD_KEYS, *self._columns}
        self.plan.unfilled = tuple(sorted(self.factory.keys - known))

    def _first_pass(self, report: ListReport) -> Iterator[tuple[Subscriber, str | None]]:
        """The candidates, with every row of the list counted into `report` and the plan."""
        audience = self.audience

        def counted() -> Iterator[tuple[Subscriber, bool]]:
            for subscriber, signup in audience.walk(self.list_path, seen=report.add):
                if signup:
                    self.plan.signups += 1
                elif not audience.admits(subscriber):
                    if subscriber.status == SUBSCRIBED:  # suppressed since it was listed
                        self.plan.suppressed += 1
                elif not self._columns:
                    self._columns.update(subscriber.fields)
                yield subscriber, signup

        return self._candidates(counted(), counting=True)

    def _candidates(
        self, walked: Iterable[tuple[Subscriber, bool]], *, counting: bool = False
    ) -> Iterator[tuple[Subscriber, str | None]]:
        """The subscribed, unique rows of `walked` in the segment that get mail, with their
        ledger state; `counting` counts the segment's matches into the plan."""
        batch: list[Subscriber] = []
        segment = self.segment.segment
        for subscriber, signup in walked:
            if not (signup or self.audience.admits(subscriber)):
                continue
            if segment is not None:
                inside = segment.admits(subscriber)
                if counting:
                    self.plan.matched[inside] += 1
                if not inside:
                    continue
            batch.append(subscriber)
            if len(batch) == BATCH:
                yield from self._with_states(batch)
                batch = []
        yield from self._with_states(batch)

    def _with_states(self, batch: list[Subscriber]) -> Iterator[tuple[Subscriber, str | None]]:
        """`batch` (at most BATCH rows) with each row's ledger state."""
        if not batch:
            return
        keys = [s.key for s in batch]
        states = {} if self.ledger is None else self.ledger.states(self.number, keys)
        for subscriber in batch:
            yield subscriber, states.get(subscriber.key)

    def _deliverable(self, ledger: Ledger, stamp: tuple[int, int]) -> Iterator[Subscriber]:
        """Second pass over the list checked as `stamp`: register new rows as pending, batch
        by batch, and yield the eligible."""
        ledger.set_fingerprint(self.number, self._fingerprint)
        ledger.note_segment(self.number, self.segment.expression)
        return self._register(ledger, self._candidates(self.audience.walk(self.list_path, stamp)))

    def _claimed(self, ledger: Ledger, stamp: tuple[int, int]) -> AsyncIterable[Subscriber]:
        """A shared send: load the list checked as `stamp` into the store unless a live
        sender has, then the rows this sender claims."""
        assert self._shared is not None
        ledger.set_fingerprint(self.number, self._fingerprint)
        ledger.note_segment(self.number, self.segment.expression)
        walked = self.audience.walk(self.list_path, stamp)
        self._shared.join(
            lambda: ((s.key, s.email, payload(s)) for s, _ in self._candidates(walked)),
            self.segment.expression,
        )
        return self._shared.claimed()

    def _register(
        self, ledger: Ledger, candidates: Iterator[tuple[Subscriber, str | None]]
    ) -> Iterator[Subscriber]:
        """The eligible `candidates`, each batch's new rows added to `ledger` as pending."""
        expression = self.segment.expression  # the segment each new row belongs to
        fresh: list[Subscriber] = []
        chosen: list[Subscriber] = []
        for subscriber, state in candidates:
            if state is None:
                fresh.append(subscriber)
            if self.options.eligible(state):
                chosen.append(subscriber)
            if len(chosen) >= BATCH or len(fresh) >= BATCH:
                ledger.add(self.number, [(s.key, s.email) for s in fresh], expression)
                yield from chosen
                fresh, chosen = [], []
        ledger.add(self.number, [(s.key, s.email) for s in fresh], expression)
        yield from chosen

    def dry_run(self) -> tuple[int, int]:
        """Build every message that would go out; (messages, total bytes). Changes nothing."""
        if self.options.tests:
            tests = self._recipients()
            assert isinstance(tests, list)  # the --test addresses, built in _prepare
            return self._build_all(tests)
        report = self._start_report()
        candidates = self._first_pass(report)
        built = self._build_all(
            s for s, state in candidates if self.plan.count(state, self.options)
        )
        report.raise_if_invalid()
        self._warn_unfilled()  # the list's columns are known only now
        return built

    def _build_all(self, subscribers: Iterable[Subscriber]) -> tuple[int, int]:
        """Build the message of each of `subscribers`: (messages, total bytes)."""
        count = size = 0
        for subscriber in subscribers:
            size += len(self.factory.build(subscriber).data)
            count += 1
        return count, size

    def run(self, progress: Progress, notice: Callable[[str], None]) -> Summary:
        """Deliver, recording every outcome; `notice` hears about signals. Returns the summary."""
        settings = self.config.delivery
        started = time.monotonic()
        backend = backend_for(settings, self.credential)
        asyncio.run(backend().probe(self.factory.sender))
        shared = self._shared
        dispatcher = Dispatcher(
            self.factory,
            settings,
            backend,
            ledger=self.ledger,
            issue=self.number,
            progress=progress if shared is None else shared.counted(progress),
            opt_outs=None if self._watch is None else self._watch.poll,
            notice=notice,
            pacer=None if shared is None else shared.pacer,
            recording=None if shared is None else shared.recording,
        )
        with nullcontext() if shared is None else shared.seated():
            tally = dispatcher.run(self._recipients())
        return Summary(
            tally=tally,
            skipped=self.plan.skipped,
            uncertain_before=self.plan.by_state[SENDING],
            seconds=time.monotonic() - started,
            number=self.number,
        )


def send_issue(
    root: Path, number: int, options: SendOptions, talk: Conversation, *, yes: bool, silent: bool
) -> int:
    """The whole `weekly send` conversation: plan, confirm, progress, summary.

    Returns the exit status: 0 when all went, 1 when any failed or is uncertain, 128 + the signal's
    number when a signal stopped it (130 for Ctrl-C).
    """
    with Send(root, number, options) as job:
        built = job.dry_run() if options.dry_run else None  # a dry run counts its plan here
        if not silent:
            for line in job.plan.lines():
                talk.tell(line)
        if built is not None:
            count, size = built
            talk.say(
                f"Would send {messages(count)} ({size / 1e6:,.1f} MB) via {job.plan.relay}; "
                "nothing was sent and nothing changed."
            )
            return 0
        if job.plan.to_send == 0:
            talk.say("Nothing to send.")
            return 0
        if not (yes or options.tests):
            talk.confirm(f"Send {messages(job.plan.to_send)} now?")
        with talk.progress(job.plan.to_send) as advance:
            summary = job.run(advance, talk.tell)
    for line in summary.lines():
        talk.say(line)
    if summary.tally.interrupted:
        return 128 + summary.tally.interrupted
    # Rows this run left uncertain fail it; those an earlier run left were reported then.
    tally = summary.tally
    return 1 if summary.failed or tally.uncertain or tally.halted or tally.fenced else 0
