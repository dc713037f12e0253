"""What every provider webhook shares: one request's way from the raw body through the
provider's proof of origin, the time window and the once-only rule, to the consent log."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from weekly.audience.provider_events import Report, ReportError, record_reports
from weekly.clock import now, stamp
from weekly.config import HooksSettings
from weekly.store import ConsentLog, HookLog

log = logging.getLogger("weekly.web.hooks")

# The biggest body read: SendGrid batches events, the others send one at a time.
BODY_LIMIT = 4 * 1024 * 1024


class Refused(Exception):
    """The request does not prove it comes from the provider: 401, nothing recorded."""


@dataclass(frozen=True, slots=True)
class Signed:
    """A request whose origin is proven: its payload, the key that makes it once-only, and
    the time it was signed at (epoch seconds; None when the provider signs no time)."""

    payload: Any
    key: str
    at: float | None = None


class Provider(Protocol):
    """One provider's webhook: how its requests are proven and what they report."""

    name: str

    async def verify(self, request: Request, body: bytes) -> Signed:
        """The proven request; Refused when it is not (ReportError: proven but unreadable)."""

    def reports(self, signed: Signed) -> Sequence[Report]:
        """What the payload reports; ReportError when it is not in the documented shape."""

    async def follow_up(self, signed: Signed) -> None:
        """Anything the provider asks of us besides recording (SNS: confirm a subscription)."""


def body_digest(*parts: bytes) -> str:
    """A key for a request the provider gives no id of its own: the digest of what it signs."""
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def json_of(body: bytes, error: type[Exception]) -> Any:
    """The JSON document in `body`; `error` when there is none."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise error("not JSON") from None


def dig(data: Any, *names: str) -> Any:
    """`data[names[0]][names[1]]...`, or None when any step is missing or not a table."""
    for name in names:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def records(data: Any, what: str) -> list[dict[str, Any]]:
    """`data` as a list of JSON objects; ReportError when it is not one, or empty."""
    if not isinstance(data, list) or not data or not all(isinstance(i, dict) for i in data):
        raise ReportError(f"{what}: expected a list of JSON objects")
    return data


async def read_body(request: Request) -> bytes | None:
    """The request body, or None when it is longer than BODY_LIMIT."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_LIMIT:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class Intake:
    """Takes one provider's webhooks into the consent log (shared by every route)."""

    settings: HooksSettings
    consent: ConsentLog
    hook_log: HookLog

    def endpoint(self, provider: Provider) -> Callable[[Request], Awaitable[Response]]:
        """The route endpoint taking `provider`'s webhooks."""

        async def take(request: Request) -> Response:
            return await self.take(provider, request)

        return take

    async def take(self, provider: Provider, request: Request) -> Response:
        """Prove, check the window and the once-only rule, read, then record: any refusal
        or unreadable payload leaves the logs as they were."""
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("too large", 413)
        try:
            signed = await provider.verify(request, body)
            self._check_time(signed)
            reports = provider.reports(signed)
            await provider.follow_up(signed)
            if not self.hook_log.first_use(signed.key, self._stamp(signed), self._forget()):
                raise Refused("already received (a replay)")
        except Refused as exc:
            log.warning("/hooks/%s: refused: %s", provider.name, exc)
            headers = {"WWW-Authenticate": 'Basic realm="weekly hooks"'}
            return PlainTextResponse("unauthorized", 401, headers=headers)
        except ReportError as exc:
            log.warning("/hooks/%s: unreadable: %s", provider.name, exc.message)
            return PlainTextResponse("bad payload", 400)
        new = record_reports(self.consent, self.hook_log, reports, self.settings.soft_limit)
        log.info("/hooks/%s: %d reports, %d new events", provider.name, len(reports), new)
        return PlainTextResponse("ok")

    def _check_time(self, signed: Signed) -> None:
        if signed.at is not None and abs(now().timestamp() - signed.at) > self.settings.max_age:
            raise Refused("signed too long ago (or in the future)")

    def _stamp(self, signed: Signed) -> str:
        """When the request was signed (received, if it carries no time), as keys keep it."""
        return stamp(datetime.fromtimestamp(signed.at, UTC) if signed.at is not None else None)

    def _forget(self) -> str:
        """Keys signed before this are out of the window: no need to remember them."""
        return stamp(now() - timedelta(seconds=self.settings.max_age))
