"""The welcome mail: sent once per address, ever, after `weekly serve` confirms a sign-up.

Exactly once comes from the send ledger under a reserved issue key (0: no issue has that
number), so a welcome moves through the same states as an issue's mail, in either store: a
row `sending` at the end of data is never mailed again, and a deferred one is retried. The
store's per-issue lock on that key keeps two serve processes sharing a store from both
mailing one reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from weekly.addresses import list_id_of
from weekly.audience.tokens import make_token
from weekly.config import Config, issue_url
from weekly.content.frontmatter import split_front_matter
from weekly.deliver.backends import backend_for, credential
from weekly.deliver.dispatcher import FINAL
from weekly.deliver.dkim import DkimSigner
from weekly.deliver.message import list_unsubscribe, unsubscribe_mailto
from weekly.errors import TemplateError, WeeklyError
from weekly.project import BUILD_DIR, TEMPLATES_DIR
from weekly.render.composed import META_FILE
from weekly.render.jinja import BUILTIN_DIR, environment, render
from weekly.store import ConsentLog, Ledger, hold_issue
from weekly.store.consent import fold
from weekly.store.deliveries import OPTED_OUT, PENDING, RETRYING
from weekly.web.confirm_mail import hand_over, text_mail

log = logging.getLogger("weekly.web.welcome")

WELCOME_ISSUE = 0  # the ledger key of welcome mails: issue numbers start at 1
TEMPLATE = "welcome.md"
SAMPLE = "reader@example.com"  # who the template is tried for when serve starts


@dataclass(frozen=True)
class Latest:
    """The newest composed issue that is not a draft: what a new reader can read first."""

    title: str
    url: str


def latest_issue(config: Config) -> Latest | None:
    """The newest non-draft issue in `build/`, with its archive link; None before any."""
    builds = config.root / BUILD_DIR
    numbers = [int(p.name) for p in builds.glob("*") if p.name.isdigit()] if builds.is_dir() else []
    for number in sorted(numbers, reverse=True):
        try:
            meta = json.loads((builds / str(number) / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-written or foreign folder: the next one down will do
        if isinstance(meta, dict) and not meta.get("draft"):
            return Latest(
                str(meta.get("title") or meta.get("subject", "")), issue_url(config, number)
            )
    return None


class Welcomer:
    """Builds and sends welcome mails for one running `weekly serve`."""

    def __init__(self, config: Config, secret: bytes, ledger: Ledger, consent: ConsentLog) -> None:
        self.config = config
        self._secret = secret
        self._ledger = ledger
        self._consent = consent
        self._signer = DkimSigner.from_config(config)
        self._backend = backend_for(config.delivery, credential(config.delivery))
        self._turn = asyncio.Lock()
        self.build(SAMPLE, "")  # a broken template is an error at start, not a lost mail

    def _template_path(self) -> Path:
        own = self.config.root / TEMPLATES_DIR / TEMPLATE
        return own if own.is_file() else BUILTIN_DIR / TEMPLATE

    def build(self, email: str, name: str) -> tuple[str, bytes]:
        """(Message-ID, message) of the welcome for `email`, with its unsubscribe headers."""
        config = self.config
        list_id = list_id_of(config.newsletter.sender)
        token = make_token(self._secret, list_id, email.lower())
        url = config.unsubscribe.url.replace("{token}", token)
        env = environment(config.root, config.newsletter.language)
        text = render(
            env,
            TEMPLATE,
            newsletter=config.newsletter,
            email=email,
            reader=name,
            latest=latest_issue(config),
            unsubscribe_url=url,
        )
        path = self._template_path()
        matter = split_front_matter(path, text)
        subject = matter.values.get("subject")
        if not isinstance(subject, str) or not subject.strip() or "\n" in subject:
            raise TemplateError(path, "subject: the front matter needs a one-line subject", 2)
        fields = [
            f"List-Id: <{list_id}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
        head = list_unsubscribe(url, unsubscribe_mailto(config), token) + "\r\n"
        body = matter.body.lstrip("\n")
        return text_mail(
            config, subject.strip(), (name, email), body, self._signer, fields=fields, head=head
        )

    async def greet(self, email: str, name: str) -> None:
        """Welcome `email` unless the ledger says it already was (or may have been); a
        failure is recorded and logged, never raised (this runs after the page went out)."""
        key = email.lower()
        try:
            # The row first: a welcome that cannot go now is found by the next retry.
            self._ledger.add(WELCOME_ISSUE, [(key, email)])
            async with self._turn:  # one at a time here; the store's lock across processes
                with contextlib.ExitStack() as held:
                    try:
                        held.enter_context(hold_issue(self.config.root, WELCOME_ISSUE))
                    except WeeklyError as exc:  # another serve on this store is welcoming
                        log.warning("welcome mail to %s waits for a retry: %s", email, exc)
                        return
                    await self._greet(key, email, name)
        except Exception:  # the service must go on; the row says what is left to do
            log.exception("welcome mail to %s failed", email)

    async def _greet(self, key: str, email: str, name: str) -> None:
        ledger = self._ledger
        if ledger.states(WELCOME_ISSUE, [key]).get(key) not in (PENDING, RETRYING):
            return  # sent, uncertain or refused for good: never a second welcome
        message_id, data = self.build(email, name)
        ended = False

        def before_end() -> None:
            nonlocal ended
            ended = True  # mark_sending counts this try
            ledger.mark_sending(WELCOME_ISSUE, key, message_id)

        outcome = await hand_over(
            self._backend(), self.config.newsletter.sender, email, data, before_end
        )
        final = FINAL.get(outcome.verdict)  # else a deferral, before or at the end of data
        ledger.mark(WELCOME_ISSUE, key, final or RETRYING, outcome.reply, attempt=not ended)
        if final is None:
            log.warning("welcome mail to %s deferred: %s", email, outcome.reply)
        else:
            log.info("welcome mail to %s: %s", email, final)

    async def retry(self) -> int:
        """Send every welcome still waiting (a deferral, or a serve stopped mid-way) whose
        reader is still subscribed; returns how many were tried."""
        waiting = list(self._ledger.rows(WELCOME_ISSUE, (PENDING, RETRYING)))
        for row in waiting:
            standing = fold(self._consent.history(row.email))
            if standing is None or standing.suppressed:
                self._ledger.mark(WELCOME_ISSUE, row.email.lower(), OPTED_OUT, "left before")
                continue
            await self.greet(row.email, standing.name)
        return len(waiting)

    def close(self) -> None:
        self._ledger.close()


@contextlib.asynccontextmanager
async def retry_welcomes(welcomer: Welcomer | None) -> AsyncIterator[None]:
    """While serve runs: retry waiting welcomes at once (mail a stop or a deferral left),
    then every `welcome.retry_minutes`; the ledger is closed at the end."""
    if welcomer is None:
        yield
        return

    async def loop() -> None:
        period = welcomer.config.welcome.retry_minutes * 60
        while True:
            try:
                await welcomer.retry()
            except Exception:  # a store hiccup: the next round tries again
                log.exception("retrying welcome mails failed")
            await asyncio.sleep(period)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        welcomer.close()
