"""`weekly serve`: the unsubscribe and sign-up web service (Starlette, run by uvicorn).

RFC 8058 one-click unsubscribes are POSTs; a GET only asks, because link scanners follow
every GET. Sign-ups are double opt-in, and no answer tells whether an address is on the list.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from uvicorn.config import LOGGING_CONFIG

from weekly.addresses import list_id_of, normalize_address
from weekly.audience.opt_out import unsubscribe
from weekly.audience.tokens import (
    SignUp,
    confirm_token,
    read_confirm_token,
    secret_from_env,
    token_address,
)
from weekly.clock import stamp
from weekly.config import Config, ServeSettings, confirm_url, load_config
from weekly.deliver.backend import DeliveryBackend
from weekly.deliver.backends import backend_for, check_settings, credential
from weekly.deliver.dkim import DkimSigner
from weekly.deliver.schedule_runner import SCHEDULE_LOG, running_schedules
from weekly.errors import WeeklyError
from weekly.listen import listening_socket
from weekly.render.jinja import environment, render
from weekly.store import ConsentLog, open_consent_log, open_ledger
from weekly.store.consent import CONFIRMED, Event
from weekly.web.confirm_mail import confirmation_mail, deliver
from weekly.web.grouped_consent import GroupedConsentLog
from weekly.web.hooks import Hooks
from weekly.web.signup_tags import chosen_tags, offered_tags
from weekly.web.stats_page import stats_routes
from weekly.web.tracking import Tracking
from weekly.web.welcome import Welcomer, retry_welcomes

log = logging.getLogger("weekly.web.serve")

HOUR = 3600.0
# Confirmation mails one address can be sent an hour, whoever asks: no mail-bombing.
MAILS_PER_ADDRESS = 3
NAME_LIMIT = 200
# Tokens travel in the URL: keep them out of caches and Referer headers.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


class RateLimiter:
    """At most `limit` events per key in any `window` seconds, remembered in memory;
    `clock` gives the seconds (tests pass their own, to move time without waiting)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False when that is one too many."""
        moment = self.clock()
        if len(self._seen) > 10_000:
            self._forget(moment)
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= moment - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(moment)
        return True

    def _forget(self, moment: float) -> None:
        stale = [k for k, times in self._seen.items() if times[-1] <= moment - self.window]
        for key in stale:
            del self._seen[key]


@dataclass
class Service:
    """Everything the routes share: settings, secret, templates, the subscription log."""

    config: Config
    secret: bytes
    store: ConsentLog
    signer: DkimSigner | None
    # Made once: for SMTP a slow DNS look-up (the EHLO name) and reading the CA store must
    # not stall each sign-up.
    backend: Callable[[], DeliveryBackend]
    per_ip: RateLimiter
    per_address: RateLimiter
    welcomer: Welcomer | None = None  # when [welcome] is enabled

    @classmethod
    def open(cls, config: Config, clock: Callable[[], float] = time.monotonic) -> Service:
        root = config.root
        if confirm_url(config) == config.unsubscribe.url:
            raise WeeklyError(f"{config.path}: set serve.confirm_url (a link with {{token}})")
        check_settings(config.delivery, insecure=False)
        secret = secret_from_env()
        signer = DkimSigner.from_config(config)
        backend = backend_for(config.delivery, credential(config.delivery))
        service = cls(
            config=config,
            secret=secret,
            signer=signer,
            backend=backend,
            # last: a settings error leaves no state file
            store=GroupedConsentLog(open_consent_log(root)),
            per_ip=RateLimiter(config.serve.signups_per_hour, HOUR, clock),
            per_address=RateLimiter(MAILS_PER_ADDRESS, HOUR, clock),
        )
        if config.welcome.enabled:
            try:
                service.welcomer = Welcomer(config, secret, open_ledger(root), service.store)
            except BaseException:
                service.store.close()
                raise
        return service

    @property
    def list_id(self) -> str:
        return list_id_of(self.config.newsletter.sender)

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Template `serve/TEMPLATE.html` in the newsletter's language."""
        letter = self.config.newsletter
        env = environment(self.config.root, letter.language)
        html = render(
            env, f"serve/{template}.html", language=letter.language, newsletter=letter, **context
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def invalid(self) -> HTMLResponse:
        return self.page("invalid", 400)

    async def send_confirmation(self, request: SignUp) -> None:
        """Mail the confirmation link (in the background: the answer must not wait for SMTP
        nor reveal how it went)."""
        config = self.config
        env = environment(config.root, config.newsletter.language)
        link = confirm_url(config).replace("{token}", confirm_token(self.secret, request))
        data = confirmation_mail(config, env, request, link, self.signer)
        try:
            await deliver(self.backend(), config.newsletter.sender, request.email, data)
        except WeeklyError as exc:  # the relay's answer: one line in the log says it all
            log.warning("confirmation mail to %s failed: %s", request.email, exc.message)
        except Exception:  # a failure in the background is logged; it must not stop the service
            log.exception("confirmation mail to %s failed", request.email)


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn takes it from X-Forwarded-For when the proxy is local)."""
    return request.client.host if request.client else ""


def create_app(root: Path, clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The ASGI application for the newsletter at `root`; `clock` times the rate limits."""
    config = load_config(root)
    hooks = Hooks(config.hooks)  # its secrets are checked before any state is opened
    service = Service.open(config, clock)
    tracking = Tracking(service.config, service.secret)

    async def unsubscribe_page(request: Request) -> HTMLResponse:
        key = token_address(service.secret, service.list_id, request.path_params["token"])
        if key is None:
            return service.invalid()
        return service.page("unsubscribe", email=key)

    async def unsubscribe_now(request: Request) -> HTMLResponse:
        key = token_address(service.secret, service.list_id, request.path_params["token"])
        if key is None:
            return service.invalid()
        form = await request.form()
        one_click = form.get("List-Unsubscribe") == "One-Click"
        source = "one-click" if one_click else "link"
        # in a thread: concurrent opt-outs share one commit, and the loop keeps serving
        await run_in_threadpool(unsubscribe, service.store, key, source, ip=client_ip(request))
        return service.page("unsubscribed", email=key)

    async def subscribe_form(request: Request) -> HTMLResponse:
        return service.page(
            "subscribe",
            action=request.url.path,
            email="",
            full_name="",
            problem=False,
            topics=offered_tags(service.config),
        )

    async def subscribe(request: Request) -> HTMLResponse:
        if not service.per_ip.allow(client_ip(request)):
            return service.page("too_many", 429)
        form = await request.form()
        raw = str(form.get("email", ""))
        name = " ".join(str(form.get("name", "")).split())[:NAME_LIMIT]
        try:
            email, key = normalize_address(raw)
        except WeeklyError:
            return service.page(
                "subscribe",
                400,
                action=request.url.path,
                email=raw,
                full_name=name,
                problem=True,
                topics=offered_tags(service.config),
            )
        hours = f"{service.config.serve.confirm_hours:g}"
        response = service.page("subscribe_sent", email=email, hours=hours)
        if service.per_address.allow(key):
            tags = chosen_tags(map(str, form.getlist("tags")), offered_tags(service.config))
            sign_up = SignUp(email, name, int(time.time()), tags)
            response.background = BackgroundTask(service.send_confirmation, sign_up)
        return response

    async def confirm(request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        max_age = service.config.serve.confirm_hours * HOUR
        sign_up = read_confirm_token(service.secret, token, max_age)
        if sign_up is None:
            return service.invalid()
        asked = stamp(datetime.fromtimestamp(sign_up.requested_at, UTC))
        event = Event(
            at=stamp(),
            email=sign_up.email,
            kind=CONFIRMED,
            source="web",
            name=sign_up.name,
            ip=client_ip(request),
            detail=f"double opt-in, asked {asked}",
            ref=f"confirm:{token.rpartition('.')[2]}",
            tags=sign_up.tags,
        )
        service.store.record([event])
        response = service.page("confirmed", email=sign_up.email)
        if service.welcomer is not None:  # after the page: the reader never waits for SMTP
            response.background = BackgroundTask(service.welcomer.greet, event.email, event.name)
        return response

    routes = [
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe_now, methods=["POST"]),
        Route("/subscribe", subscribe_form, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/confirm/{token}", confirm, methods=["GET"]),
        *stats_routes(service.config, service.page),
        *tracking.routes(),
    ]
    routes += hooks.routes(root, service.store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tracking.start()
        async with retry_welcomes(service.welcomer), running_schedules(root):
            yield
        tracking.stop()
        hooks.close()
        service.store.close()

    return Starlette(routes=routes, lifespan=lifespan)


def server_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    """How uvicorn runs the app: client IPs from a local proxy's X-Forwarded-For, no banner,
    and no access log (its URLs hold tokens, and tokens hold addresses)."""
    logs = copy.deepcopy(LOGGING_CONFIG)  # uvicorn's, plus where scheduled sends stand
    logs["loggers"][SCHEDULE_LOG] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=logs,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        access_log=False,
        log_level="info",
        # asyncio's own loop: the SMTP session of the confirmation mail takes over an asyncio
        # transport; the request parser is httptools (a dependency) instead of h11
        loop="asyncio",
        http="httptools",
    )


def serve(root: Path, host: str | None, port: int | None) -> None:
    """`weekly serve`: run the service until interrupted; the port is bound before the
    consent log is opened, so an address in use or no address at all changes nothing."""
    settings: ServeSettings = load_config(root).serve
    host, port = host or settings.host, port or settings.port
    secret_from_env()  # a missing secret is said first, whatever the port
    sock = listening_socket(host, port)
    try:
        app = create_app(root)
    except BaseException:
        sock.close()
        raise
    config = server_config(app, host, port)  # sets up uvicorn's log, which says this below
    # uvicorn names the address only when it binds the socket itself.
    logging.getLogger("uvicorn.error").info("weekly serve on http://%s:%d", host, port)
    uvicorn.Server(config).run(sockets=[sock])
