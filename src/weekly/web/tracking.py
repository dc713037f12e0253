"""`weekly serve`'s tracking routes: /r/<issue>/<link>/<mark> redirects to the link's real
target, looked up in the composed issue's links table (never taken from the URL), and
/o/<issue>/<mark>.gif answers the open pixel; each hit is queued for the hit log."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from weekly.audience.tokens import Visitor, read_visitor_mark
from weekly.clock import stamp
from weekly.config import Config, TrackingMode
from weekly.errors import WeeklyError
from weekly.render.links import CLICK_PREFIX, OPEN_PREFIX, links_of
from weekly.store import open_hit_log
from weekly.store.hits import CLICK, OPEN, Hit
from weekly.web.hit_agents import classify
from weekly.web.hit_writer import HitWriter

# A transparent 1x1 GIF (GIF89a, one palette entry, transparency on).
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
# The mark in the URL must not reach the target in a Referer, nor a cache keep the answer.
_HEADERS = {
    "Cache-Control": "no-store, private",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
_NOT_FOUND = Response("not found\n", status_code=404, media_type="text/plain", headers=_HEADERS)


class LinkTargets:
    """Each composed issue's links table, read once (a sent issue's links do not change)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._tables: dict[int, dict[int, str]] = {}

    def target(self, issue: int, link: int) -> str | None:
        """Where link `link` of issue `issue` goes; None for an unknown issue or number."""
        table = self._tables.get(issue)
        if table is None:
            try:
                table = {row.number: row.href for row in links_of(self._root, issue)}
            except WeeklyError:
                return None  # not composed (yet): looked for again next time
            self._tables[issue] = table
        return table.get(link)


class Tracking:
    """The tracking routes of one serve process and the writer behind them (started with
    the app, so each worker process has its own thread and store connection)."""

    def __init__(self, config: Config, secret: bytes) -> None:
        self._config = config
        self._secret = secret
        self._targets = LinkTargets(config.root)
        # opened here, so a store that cannot be reached is said before serve listens
        self._log = open_hit_log(config.root) if config.tracking.enabled else None
        self._writer: HitWriter | None = None

    def start(self) -> None:
        """Start writing hits, when something is counted."""
        if self._log is not None:
            self._writer = HitWriter(self._log)

    def stop(self) -> None:
        """Write what is queued and close the hit log."""
        if self._writer is not None:
            self._writer.stop()
            self._writer = None

    def routes(self) -> list[Route]:
        """/r/ and /o/, GET (and so HEAD, which link scanners use)."""
        return [
            Route(f"/{CLICK_PREFIX}/{{issue:int}}/{{link:int}}/{{mark}}", self.click),
            Route(f"/{OPEN_PREFIX}/{{issue:int}}/{{mark}}.gif", self.opened),
        ]

    async def click(self, request: Request) -> Response:
        params = request.path_params
        visitor = read_visitor_mark(self._secret, params["mark"])
        target = self._targets.target(params["issue"], params["link"])
        if visitor is None or target is None:
            return _NOT_FOUND
        self._count(request, CLICK, params["link"], visitor, self._config.tracking.clicks)
        return Response(status_code=302, headers={**_HEADERS, "Location": target})

    async def opened(self, request: Request) -> Response:
        visitor = read_visitor_mark(self._secret, request.path_params["mark"])
        if visitor is None:
            return _NOT_FOUND
        self._count(request, OPEN, 0, visitor, self._config.tracking.opens)
        return Response(PIXEL_GIF, media_type="image/gif", headers=_HEADERS)

    def _count(
        self, request: Request, kind: str, link: int, visitor: Visitor, mode: TrackingMode
    ) -> None:
        """Queue the hit, unless this kind is not counted (any more)."""
        if mode == "off" or self._writer is None:
            return
        agent = classify(
            kind,
            request.method,
            request.headers.get("user-agent", ""),
            time.time() - visitor.made,
            self._config.tracking.scanner_seconds,
        )
        who = visitor.key if mode == "subscriber" and visitor.key else visitor.opaque
        self._writer.put(Hit(request.path_params["issue"], kind, link, agent, who, stamp()))
