"""The private stats page of `weekly serve`: /stats/ (every issue) and /stats/<N> (one), the
numbers and charts of `weekly stats`, behind HTTP Basic with the password from the environment
variable `[serve] stats_password_env` names. No password set: the page is off (404)."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from weekly.config import Config
from weekly.errors import WeeklyError
from weekly.stats.chart import NARROW, issues_figure, links_figure, render_chart
from weekly.stats.figures import all_figures, issue_figures
from weekly.stats.table import percent

log = logging.getLogger("weekly.web.serve")

REALM = 'Basic realm="weekly stats", charset="UTF-8"'
Page = Callable[..., HTMLResponse]  # Service.page: a serve template in the newsletter's language


def stats_password(config: Config) -> str:
    """The page's password from the environment ("" when unset: the page is off)."""
    return os.environ.get(config.serve.stats_password_env, "")


def authorized(request: Request, password: str) -> bool:
    """Whether the request carries HTTP Basic credentials with `password` (any user name),
    compared in constant time."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True).partition(b":")[2]
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, password.encode("utf-8"))


def inline_svg(svg: bytes) -> Markup:
    """A chart's SVG for an HTML page: from its <svg> element on (no XML prologue)."""
    text = svg.decode("utf-8")
    return Markup(text[text.index("<svg") :])  # matplotlib escapes every text it writes


def stats_routes(config: Config, page: Page) -> list[Route]:
    """The routes of the stats page, drawn on request from the store."""
    password = stats_password(config)
    language = config.newsletter.language

    def guard(request: Request) -> Response | None:
        """The answer when the request may not see the stats: off, or not signed in."""
        if not password:
            return page("stats_off", 404)
        if not authorized(request, password):
            response = page("stats_denied", 401)
            response.headers["WWW-Authenticate"] = REALM
            return response
        return None

    def show(**context: Any) -> HTMLResponse:
        return page("stats", percent=percent, **context)

    def every_issue(request: Request) -> Response:
        refused = guard(request)
        if refused is not None:
            return refused
        try:
            figures = all_figures(config)
        except WeeklyError as exc:
            return page("stats_missing", 404, problem=exc.message)
        chart = render_chart(lambda: issues_figure(figures, language, NARROW), "svg", log.warning)
        return show(issue=None, issues=figures, chart=inline_svg(chart))

    def one_issue(request: Request) -> Response:
        refused = guard(request)
        if refused is not None:
            return refused
        try:
            figures = issue_figures(config, request.path_params["number"])
        except WeeklyError as exc:
            return page("stats_missing", 404, problem=exc.message)
        chart = ""
        if figures.clicks is not None and figures.clicks.links:
            drawn = render_chart(
                lambda: links_figure(figures, language, NARROW), "svg", log.warning
            )
            chart = inline_svg(drawn)
        return show(issue=figures, chart=chart)

    return [
        Route("/stats/", every_issue, methods=["GET"]),
        Route("/stats/{number:int}", one_issue, methods=["GET"]),
    ]
