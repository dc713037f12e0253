"""Delivery backends, the ways a prepared message leaves this machine, and the one place that
picks one from `[delivery]` (SMTP is the only one so far): callers never name a backend."""

from __future__ import annotations

from collections.abc import Callable

from weekly.config import DeliverySettings
from weekly.deliver.backend import DeliveryBackend
from weekly.deliver.backends import smtp


def check_settings(settings: DeliverySettings, *, insecure: bool) -> None:
    """Refuse settings the backend would use unsafely (plain SMTP to another machine unless
    `insecure`), before anything is read or sent."""
    smtp.check_security(settings, insecure=insecure)


def describe(settings: DeliverySettings) -> str:
    """Where messages go, for the plan shown before a send (`relay.example.com:587 (starttls)`)."""
    return f"{settings.host}:{settings.port} ({settings.security})"


def credential_variable(settings: DeliverySettings) -> str:
    """The environment variable the backend's secret is read from, for `weekly config`."""
    return smtp.PASSWORD_ENV


def credential(settings: DeliverySettings) -> str | None:
    """The backend's secret from the environment (SMTP's AUTH password), None when the
    settings need none; WeeklyError when one is needed and missing."""
    return smtp.password(settings)


def backend_for(settings: DeliverySettings, secret: str | None) -> Callable[[], DeliveryBackend]:
    """A maker of lanes to the configured backend, each one `DeliveryBackend`; what the lanes
    share (for SMTP a TLS context and the EHLO name) is made once, by this call.

    A second backend is its own module beside smtp.py, a branch here and in the functions
    above on the `[delivery]` key that names it, and that key in config.py."""
    return smtp.connections(settings, secret)
