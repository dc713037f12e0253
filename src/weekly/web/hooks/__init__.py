"""Provider webhooks on `weekly serve` (issue 16): one route per provider the settings turn
on, each proving its requests its own way and recording through the shared `Intake`."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from weekly.config import HooksSettings
from weekly.store import ConsentLog, HookLog, open_hook_log
from weekly.web.hooks.mailgun import Mailgun
from weekly.web.hooks.postmark import Postmark
from weekly.web.hooks.sendgrid import SendGrid
from weekly.web.hooks.ses import Ses
from weekly.web.hooks.shared import Intake, Provider


def providers(settings: HooksSettings) -> list[Provider]:
    """The providers `[hooks]` turns on; WeeklyError when one lacks its secret or key."""
    found: list[Provider] = []
    if settings.ses_topic_arn.strip():
        found.append(Ses(settings))
    if settings.postmark_user:
        found.append(Postmark(settings))
    if settings.mailgun:
        found.append(Mailgun())
    if settings.sendgrid_public_key:
        found.append(SendGrid(settings))
    return found


class Hooks:
    """The webhook routes of one serve. Made before any store is opened, so a missing secret
    leaves no state behind; the hook log is opened with the routes, and only if needed."""

    def __init__(self, settings: HooksSettings) -> None:
        self.settings = settings
        self._providers = providers(settings)
        self._log: HookLog | None = None

    def routes(self, root: Path, consent: ConsentLog) -> list[Route]:
        """`POST /hooks/NAME` for each provider that is on."""
        if not self._providers:
            return []
        self._log = open_hook_log(root)
        intake = Intake(self.settings, consent, self._log)
        return [
            Route(f"/hooks/{p.name}", intake.endpoint(p), methods=["POST"]) for p in self._providers
        ]

    def close(self) -> None:
        """Close the hook log."""
        if self._log is not None:
            self._log.close()
