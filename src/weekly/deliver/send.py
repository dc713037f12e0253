"""`weekly send`: decide who gets issue N, say so, then deliver through the dispatcher.

Everything that can be wrong (build, secret, list, relay settings, ledger lock,
fingerprint) is checked before the first message goes out.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click

from weekly.audience.recipients import Audience
from weekly.audience.subscriber_list import (
    LIST_NAME,
    SUBSCRIBED,
    ListReport,
    Subscriber,
    bare_subscriber,
    list_stamp,
    open_list,
)
from weekly.audience.unsubscribe_token import secret_from_env
from weekly.config import Config, load_config
from weekly.deliver.backends import backend_for, check_settings, credential
from weekly.deliver.consent_watch import ConsentWatch
from weekly.deliver.dispatcher import Dispatcher, Tally
from weekly.deliver.message import MessageFactory
from weekly.errors import WeeklyError
from weekly.render.composed import Composed, load_composed
from weekly.render.placeholders import STANDARD_KEYS
from weekly.store.sqlite_ledger import (
    FAILED_TEMPORARY,
    PENDING,
    RETRYING,
    SENDING,
    Ledger,
    issue_lock,
    ledger_path,
)

BATCH = 500


@dataclass(frozen=True, kw_only=True)
class SendOptions:
    """How the editor asked for this send."""

    list_path: Path | None = None
    dry_run: bool = False
    tests: tuple[str, ...] = ()
    retry_failed: bool = False
    resend_uncertain: bool = False
    force: bool = False
    insecure: bool = False


@dataclass
class Plan:
    """What a send will do, shown before asking for confirmation."""

    number: int
    subject: str
    source: str
    relay: str
    to_send: int = 0
    by_state: Counter[str] = field(default_factory=Counter)  # ledger state of skipped rows
    report: ListReport | None = None
    unfilled: tuple[str, ...] = ()
    suppressed: int = 0  # subscribed rows that unsubscribed, bounced or complained since
    signups: int = 0  # confirmed on the web, not in the list

    def lines(self) -> Iterator[str]:
        yield f"Issue:    #{self.number} {self.subject}"
        yield f"List:     {self.source}"
        yield f"Relay:    {self.relay}"
        if self.report is not None:
            report = self.report
            yield (
                f"Rows:     {report.subscribed:,} subscribed, "
                f"{sum(report.by_status.values()) - report.subscribed:,} not subscribed, "
                f"{report.duplicate_count:,} duplicate"
            )
            yield (
                f"Audience: {self.suppressed:,} unsubscribed, bounced or complained since, "
                f"{self.signups:,} web sign-ups not in the list"
            )
        for state, count in sorted(self.by_state.items()):
            if state != SENDING:
                yield f"Skipped:  {count:,} already {state.replace('_', ' ')}"
        if self.by_state[SENDING]:
            yield (
                f"Uncertain: {self.by_state[SENDING]:,} may have been delivered by an "
                "interrupted run; left alone (--resend-uncertain to send anyway)"
            )
        for key in self.unfilled:
            yield f"Warning:  %%{key}%% is in the issue but not in the list; it will be empty"
        yield f"To send:  {messages(self.to_send)}"


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

    def lines(self) -> Iterator[str]:
        t = self.tally
        rate = t.sent / self.seconds if self.seconds > 0 else 0.0
        yield (
            f"Sent {t.sent:,}, failed {self.failed:,} ({t.failed_mailbox:,} mailbox, "
            f"{t.failed_message:,} message, {t.failed_temporary:,} temporary), "
            f"uncertain {t.uncertain + self.uncertain_before:,}, skipped {self.skipped:,}, "
            f"opted out during the send {t.opted_out:,} "
            f"in {self.seconds:.1f} s ({rate:,.1f} messages/s)"
        )
        if t.halted:
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
        if self.failed:
            yield f"List every failure with: weekly status {self.number} --failed"


def messages(count: int) -> str:
    """`1 message`, `1,204 messages`."""
    return f"{count:,} message{'' if count == 1 else 's'}"


def fingerprint(composed: Composed) -> str:
    """A digest of what recipients will read; a resumed send must match the first one."""
    digest = hashlib.sha256()
    for part in (composed.subject, composed.text, composed.html):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


class Send:
    """One invocation of `weekly send`: prepared (and locked) on entry, run once."""

    def __init__(self, root: Path, number: int, options: SendOptions) -> None:
        self.root = root
        self.number = number
        self.options = options
        self.config: Config = load_config(root)
        self.composed = load_composed(root, number)
        self._fingerprint = fingerprint(self.composed)
        self.factory = MessageFactory(
            self.composed, self.config, secret_from_env(), test=bool(options.tests)
        )
        settings = self.config.delivery
        check_settings(settings, insecure=options.insecure)
        self.credential = None if options.dry_run else credential(settings)
        self.list_path = options.list_path or root / LIST_NAME
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
        self._tests: list[Subscriber] = []  # the `--test` addresses, checked once
        self.plan: Plan = Plan(
            number=number,
            subject=self.factory.subject,
            source=self.list_path.as_posix(),
            relay=f"{settings.host}:{settings.port} ({settings.security})",
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
            self._tests = [bare_subscriber(raw, n) for n, raw in enumerate(options.tests, 1)]
            self.plan.to_send = len(self._tests)
            return
        if options.dry_run:
            self.ledger = Ledger.existing(self.root)
        else:
            self._stack.enter_context(issue_lock(ledger_path(self.root).parent, self.number))
            self.ledger = Ledger.open(self.root)
        if self.ledger is not None:
            self._stack.callback(self.ledger.close)
            self._check_fingerprint(self.ledger)
        report = ListReport(self.list_path)
        self.plan.report = report
        if options.dry_run:
            return  # counted while building, in one pass
        for _, state in self._candidates(report):
            self._count(state)
        report.raise_if_invalid()
        self._warn_unfilled()

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

    def _eligible(self, state: str | None) -> bool:
        if state in (None, PENDING, RETRYING):
            return True
        if state == SENDING:
            return self.options.resend_uncertain
        if state == FAILED_TEMPORARY:
            return self.options.retry_failed
        return False

    def _count(self, state: str | None) -> bool:
        """Count a row in `state` into the plan; whether it gets a message."""
        eligible = self._eligible(state)
        if eligible:
            self.plan.to_send += 1
        else:
            assert state is not None  # rows the ledger has never seen are always eligible
            self.plan.by_state[state] += 1
        return eligible

    def _candidates(self, report: ListReport | None) -> Iterator[tuple[Subscriber, str | None]]:
        """Subscribed, unique rows with their ledger state; every row is counted into `report`."""
        batch: list[Subscriber] = []
        if report is not None:
            report.stamp, checked = list_stamp(self.list_path), None
        else:  # the second pass of a send: the first one validated this very file
            assert self.plan.report is not None
            checked = self.plan.report.stamp
        listed: set[str] = set()  # list rows that also signed up on the web
        for row in open_list(self.list_path, checked):
            if report is not None:
                report.add(row)
            if not isinstance(row, Subscriber):
                continue
            if self.audience.signed_up(row.key):
                listed.add(row.key)
            if not self.audience.admits(row):
                if report is not None and row.status == SUBSCRIBED:
                    self.plan.suppressed += 1
                continue
            if not self._columns:
                self._columns.update(row.fields)
            batch.append(row)
            if len(batch) == BATCH:
                yield from self._with_states(batch)
                batch = []
        for signup in self.audience.signups(listed):
            if report is not None:
                self.plan.signups += 1
            batch.append(signup)
        for start in range(0, len(batch), BATCH):
            yield from self._with_states(batch[start : start + BATCH])

    def _with_states(self, batch: list[Subscriber]) -> Iterator[tuple[Subscriber, str | None]]:
        """`batch` (never empty, at most BATCH rows) with each row's ledger state."""
        keys = [s.key for s in batch]
        states = {} if self.ledger is None else self.ledger.states(self.number, keys)
        for subscriber in batch:
            yield subscriber, states.get(subscriber.key)

    def _to_deliver(self) -> Iterator[Subscriber]:
        """Second pass: register new rows as pending, batch by batch, and yield the eligible."""
        ledger = self.ledger
        assert ledger is not None
        fresh: list[Subscriber] = []
        chosen: list[Subscriber] = []
        for subscriber, state in self._candidates(None):
            if state is None:
                fresh.append(subscriber)
            if self._eligible(state):
                chosen.append(subscriber)
            if len(chosen) >= BATCH or len(fresh) >= BATCH:
                ledger.add(self.number, [(s.key, s.email) for s in fresh])
                yield from chosen
                fresh, chosen = [], []
        ledger.add(self.number, [(s.key, s.email) for s in fresh])
        yield from chosen

    def dry_run(self) -> tuple[int, int]:
        """Build every message that would go out; (messages, total bytes). Changes nothing."""
        count = size = 0
        report = self.plan.report
        if self.options.tests:
            chosen: Iterable[Subscriber] = self._tests
        else:
            chosen = (s for s, state in self._candidates(report) if self._count(state))
        for subscriber in chosen:
            size += len(self.factory.build(subscriber).data)
            count += 1
        if report is not None:
            report.raise_if_invalid()
            self._warn_unfilled()  # the list's columns are known only now
        return count, size

    def run(self, progress: Callable[[int], None]) -> Summary:
        """Deliver, recording every outcome; returns the summary."""
        settings = self.config.delivery
        started = time.monotonic()
        backend = backend_for(settings, self.credential)
        asyncio.run(backend().probe(self.factory.sender))
        if self.options.tests:
            recipients: Iterable[Subscriber] = self._tests
        else:
            assert self.ledger is not None
            self.ledger.set_fingerprint(self.number, self._fingerprint)
            recipients = self._to_deliver()
        dispatcher = Dispatcher(
            self.factory,
            settings,
            backend,
            ledger=self.ledger,
            issue=self.number,
            progress=progress,
            opt_outs=None if self._watch is None else self._watch.poll,
        )
        tally = dispatcher.run(recipients)
        skipped = sum(n for state, n in self.plan.by_state.items() if state != SENDING)
        return Summary(
            tally=tally,
            skipped=skipped,
            uncertain_before=self.plan.by_state[SENDING],
            seconds=time.monotonic() - started,
            number=self.number,
        )


def send_issue(root: Path, number: int, options: SendOptions, *, yes: bool, silent: bool) -> int:
    """The whole `weekly send` conversation: plan, confirm, progress, summary.

    Returns the exit status: 0 when all went, 1 when any failed, 128 + the signal's
    number when a signal stopped it (130 for Ctrl-C).
    """
    with Send(root, number, options) as job:
        built = job.dry_run() if options.dry_run else None  # a dry run counts its plan here
        if not silent:
            for line in job.plan.lines():
                click.echo(line, err=True)
        if built is not None:
            count, size = built
            click.echo(
                f"Would send {messages(count)} ({size / 1e6:,.1f} MB) via {job.plan.relay}; "
                "nothing was sent and nothing changed."
            )
            return 0
        if job.plan.to_send == 0:
            click.echo("Nothing to send.")
            return 0
        if not (yes or options.tests):
            if not sys.stdin.isatty():
                raise WeeklyError("refusing to send without confirmation: pass --yes")
            click.confirm(f"Send {messages(job.plan.to_send)} now?", abort=True, err=True)
        with _progress(job.plan.to_send, quiet=silent or not sys.stderr.isatty()) as advance:
            summary = job.run(advance)
    for line in summary.lines():
        click.echo(line)
    if summary.tally.interrupted:
        return 128 + summary.tally.interrupted
    return 1 if summary.failed or summary.tally.halted else 0


@contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar with rate and ETA on stderr, or nothing when `quiet`."""
    if quiet:
        yield lambda _: None
        return
    started = time.monotonic()
    done = 0

    def rate(_: object) -> str:
        elapsed = time.monotonic() - started
        return f"{done / elapsed:,.0f}/s" if done and elapsed > 0 else ""

    def advance(count: int) -> None:
        nonlocal done
        done += count
        bar.update(count, current_item=done)

    with click.progressbar(
        length=total, label="Sending", file=sys.stderr, show_pos=True, item_show_func=rate
    ) as bar:
        yield advance
