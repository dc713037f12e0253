"""SMTP delivery over aiosmtplib: persistent connections, one shared pace, honest outcomes.

A message's outcome says what the server can hold: SENT after its 250, RETRY when it surely
has no copy (a 4xx, or the connection dropped before a reply), FAILED on a 5xx, and
UNCERTAIN when the end of DATA went out and no reply came in time.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import os
import random
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from weekly.config import DeliverySettings
from weekly.errors import WeeklyError

PASSWORD_ENV = "WEEKLY_SMTP_PASSWORD"
# After a 421 or a run of 4xx replies the pace is halved for this long (seconds).
SLOW_PERIOD = 30.0
SLOWEST_FACTOR = 1 / 64
TEMPORARY_RUN = 3


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one message, with the server's reply (or the local reason)."""

    outcome: Outcome
    reply: str
    code: int = 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_security(settings: DeliverySettings, *, insecure: bool) -> None:
    """Plain SMTP only to this machine unless the editor says `--insecure`."""
    if settings.security == "none" and not is_loopback(settings.host) and not insecure:
        raise WeeklyError(
            f"delivery.security is none but {settings.host} is not this machine: "
            "use starttls or tls, or pass --insecure"
        )


def password(settings: DeliverySettings) -> str | None:
    """The AUTH password, required exactly when a username is configured."""
    if not settings.username:
        return None
    secret = os.environ.get(PASSWORD_ENV)
    if not secret:
        raise WeeklyError(f"delivery.username is set but {PASSWORD_ENV} is not")
    return secret


class Pacer:
    """One rate limit for all connections; `slow_down` halves it for SLOW_PERIOD seconds."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._factor = 1.0
        self._slow_until = 0.0
        self._next = 0.0

    @property
    def rate(self) -> float:
        return self._rate * self._factor

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._factor < 1 and now >= self._slow_until:
            self._factor = 1.0
        slot = max(now, self._next)
        self._next = slot + 1 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    def slow_down(self) -> None:
        self._factor = max(self._factor / 2, SLOWEST_FACTOR)
        self._slow_until = asyncio.get_running_loop().time() + SLOW_PERIOD


def backoff(first: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): doubling, capped, with jitter."""
    return min(first * 2 ** (attempt - 1), 300.0) * random.uniform(0.5, 1.5)


class Connection:
    """One persistent SMTP session, reopened after errors or every N messages."""

    def __init__(self, settings: DeliverySettings, password: str | None, helo: str) -> None:
        self._settings = settings
        self._password = password
        self._helo = helo
        self._smtp: aiosmtplib.SMTP | None = None
        self._used = 0
        self._dirty = False

    async def open(self) -> None:
        """Connect, greet, secure and log in as configured."""
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            local_hostname=self._helo,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=ssl.create_default_context() if s.security != "none" else None,
            username=s.username or None,
            password=self._password,
        )
        await smtp.connect()
        self._smtp, self._used, self._dirty = smtp, 0, False

    async def close(self) -> None:
        """Say QUIT when the server still listens; never raise."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()

    async def _ready(self) -> aiosmtplib.SMTP:
        smtp = self._smtp
        if smtp is not None and smtp.is_connected:
            if self._used >= self._settings.messages_per_connection:
                await self.close()
            elif self._dirty:
                # A failed transaction may have left the server mid-envelope.
                await smtp.rset()
                self._dirty = False
                return smtp
            else:
                return smtp
        await self.close()
        await self.open()
        assert self._smtp is not None
        return self._smtp

    async def send(
        self, sender: str, recipient: str, data: bytes, before_data: Callable[[], None]
    ) -> Result:
        """One transaction; `before_data` runs right before DATA (the ledger's `sending`)."""
        data_sent = False
        try:
            smtp = await self._ready()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The relay's trouble, not the recipient's: always worth another try.
            await self.close()
            return Result(Outcome.RETRY, f"cannot open a session: {exc}", getattr(exc, "code", 0))
        try:
            self._used += 1
            self._dirty = True
            await smtp.mail(sender)
            await smtp.rcpt(recipient)
            before_data()
            reply = await smtp.execute_command(b"DATA")
            if reply.code != 354:
                return self._refused(reply.code, reply.message)
            protocol = smtp.protocol
            if protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("connection lost before DATA")
            # Messages are built with CRLF line ends and no line starting with a dot,
            # so they go out as they are, without a second pass over every byte.
            protocol.write(data + b".\r\n")
            data_sent = True
            reply = await protocol.read_response(timeout=self._settings.timeout)
        except aiosmtplib.SMTPResponseException as exc:
            return self._refused(exc.code, exc.message)
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
            await self.close()
            if data_sent:
                return Result(Outcome.UNCERTAIN, f"no reply after the end of DATA ({exc})")
            return Result(Outcome.RETRY, f"timed out: {exc}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Without a 250 the server has not taken the message (RFC 5321 §6.1).
            await self.close()
            return Result(Outcome.RETRY, f"connection failed: {exc}")
        if reply.code != 250:
            return self._refused(reply.code, reply.message)
        self._dirty = False
        return Result(Outcome.SENT, f"{reply.code} {reply.message}", reply.code)

    def _refused(self, code: int, message: str) -> Result:
        text = f"{code} {message}"
        if code == 421 and self._smtp is not None:
            self._smtp.close()
        if 400 <= code < 500:
            return Result(Outcome.RETRY, text, code)
        return Result(Outcome.FAILED, text, code)


async def probe(settings: DeliverySettings, password: str | None) -> None:
    """Open and close one connection, so an unreachable relay fails before anything is sent."""
    connection = Connection(settings, password, local_name())
    try:
        await connection.open()
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise WeeklyError(
            f"cannot reach the SMTP relay {settings.host}:{settings.port} ({exc})"
        ) from None
    await connection.close()


def local_name() -> str:
    """The name this machine gives in EHLO, looked up once."""
    return socket.getfqdn()
