"""SMTP delivery over aiosmtplib: persistent connections, one shared pace, honest outcomes.

A message's outcome says what the server can hold: SENT after its 250, RETRY when it surely
has no copy (a 4xx, or the connection dropped before a reply), FAILED on a 5xx for the
recipient or the message, UNCERTAIN when the end of DATA went out and no reply came in time,
and HALT when the relay refuses the sender itself, which no recipient can be blamed for.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import ipaddress
import os
import random
import socket
import ssl
from collections import deque
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
    """What one transaction left the server holding (see the module docstring)."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    HALT = "halt"


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one message, with the server's reply (or the local reason)."""

    outcome: Outcome
    reply: str
    code: int = 0


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine, where plain SMTP cannot be overheard."""
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
        """Messages per second allowed now."""
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


def tls_context(settings: DeliverySettings) -> ssl.SSLContext | None:
    """The verifying TLS context the relay settings call for, to share among connections:
    making one reads the system's CA store (about 25 ms, the event loop stalled meanwhile)."""
    return None if settings.security == "none" else ssl.create_default_context()


def backoff(first: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): doubling, capped, with jitter."""
    return min(first * 2 ** (attempt - 1), 300.0) * random.uniform(0.5, 1.5)


class Session(asyncio.Protocol):
    """An SMTP session after aiosmtplib opened it (TLS, EHLO, AUTH): takes over the
    transport to read any number of replies per segment, which PIPELINING needs."""

    def __init__(self, smtp: aiosmtplib.SMTP, timeout: float) -> None:
        transport = smtp.transport
        if not isinstance(transport, asyncio.WriteTransport):
            raise aiosmtplib.SMTPServerDisconnected("no connection to take over")
        self.pipelining = smtp.supports_extension("pipelining")
        self.smtputf8 = smtp.supports_extension("smtputf8")
        self._transport = transport
        self._timeout = timeout
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._replies: deque[tuple[int, str]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: BaseException | None = None
        transport.set_protocol(self)

    @property
    def open(self) -> bool:
        """Whether the server can still be written to."""
        return self._lost is None and not self._transport.is_closing()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line = self._buffer[: end + 1].decode("utf-8", "replace").rstrip("\r\n")
            del self._buffer[: end + 1]
            self._lines.append(line[4:])
            if line[3:4] != "-":
                code = int(line[:3]) if line[:3].isdigit() else 0
                self._replies.append((code, " ".join(self._lines)))
                self._lines = []
        self._wake()

    def eof_received(self) -> bool:
        self.connection_lost(None)
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._lost is None:
            self._lost = exc or ConnectionResetError("the server closed the connection")
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def write(self, data: bytes) -> None:
        if not self.open:
            raise ConnectionResetError("the connection is closed")
        self._transport.write(data)

    async def reply(self) -> tuple[int, str]:
        """The next reply; TimeoutError or ConnectionError when none can come."""
        async with asyncio.timeout(self._timeout):
            return await self._next()

    async def _next(self) -> tuple[int, str]:
        while not self._replies:
            if self._lost is not None:
                raise ConnectionResetError(str(self._lost) or "connection lost")
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._replies.popleft()

    async def commands(self, *lines: bytes) -> list[tuple[int, str]]:
        """Send commands, pipelined when the server allows, and return their replies.
        Without PIPELINING the first refusal ends the exchange."""
        replies = []
        async with asyncio.timeout(self._timeout):
            if self.pipelining:
                self.write(b"".join(lines))
                return [await self._next() for _ in lines]
            for line in lines:
                self.write(line)
                replies.append(await self._next())
                if replies[-1][0] >= 400:
                    break
        return replies

    async def quit(self) -> None:
        try:
            if self.open:
                self.write(b"QUIT\r\n")
                await self.reply()
        except (OSError, TimeoutError):
            pass
        finally:
            self._transport.close()


class Connection:
    """One persistent SMTP connection, reopened after errors or every N messages."""

    def __init__(
        self,
        settings: DeliverySettings,
        password: str | None,
        helo: str,
        tls: ssl.SSLContext | None,
    ) -> None:
        self._settings = settings
        self._password = password
        self._helo = helo
        self._tls = tls
        self._session: Session | None = None
        self._used = 0

    async def open(self) -> None:
        """Connect, greet, secure and log in as configured (aiosmtplib does all of it)."""
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            local_hostname=self._helo,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=self._tls,
            username=s.username or None,
            password=self._password,
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()
            self._session = Session(smtp, s.timeout)
        except BaseException:
            smtp.close()
            raise
        self._used = 0

    @property
    def session(self) -> Session:
        """The open session (after `open`)."""
        assert self._session is not None
        return self._session

    async def close(self) -> None:
        """Say QUIT when the server still listens; never raise."""
        session, self._session = self._session, None
        if session is not None:
            await session.quit()

    async def _ready(self) -> Session:
        session = self._session
        fresh_enough = self._used < self._settings.messages_per_connection
        if session is not None and session.open and fresh_enough:
            return session
        await self.close()
        await self.open()
        return self.session

    async def send(
        self, sender: str, recipient: str, data: bytes, before_data: Callable[[], None]
    ) -> Result:
        """One transaction; `before_data` runs right before DATA (the ledger's `sending`)."""
        try:
            session = await self._ready()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The relay's trouble, not the recipient's: always worth another try.
            await self.close()
            return Result(Outcome.RETRY, f"cannot open a session: {exc}", getattr(exc, "code", 0))
        # RSET between messages on one session: pipelined with the envelope it costs no
        # round trip, and it clears whatever a failed transaction left behind.
        # A non-ASCII local part (RFC 6531) can only travel to a relay that offers SMTPUTF8;
        # refused here as such a relay would refuse it, for this recipient only.
        utf8 = not (sender + recipient).isascii()
        if utf8 and not session.smtputf8:
            reply = f"553 5.6.7 {recipient} needs SMTPUTF8, which the relay does not offer"
            return Result(Outcome.FAILED, reply, 553)
        commands = [b"RSET\r\n"] if self._used else []
        commands += [
            f"MAIL FROM:<{sender}>{' SMTPUTF8' * utf8}\r\n".encode(),
            f"RCPT TO:<{recipient}>\r\n".encode(),
            b"DATA\r\n",
        ]
        expected = [250] * (len(commands) - 1) + [354]
        envelope_start = len(commands) - 3  # replies before RCPT concern the sender
        self._used += 1
        data_sent = False
        try:
            before_data()
            replies = await session.commands(*commands)
            for index, ((code, text), wanted) in enumerate(zip(replies, expected, strict=False)):
                if code != wanted and not (wanted == 250 and code == 251):
                    if replies[-1][0] == 354:  # a server that let DATA through anyway
                        session.write(b".\r\n")
                        await session.reply()
                    if code >= 500 and index <= envelope_start:
                        return Result(Outcome.HALT, f"{code} {text}", code)
                    return self._refused(code, text)
            # Messages are built with CRLF line ends and no line starting with a dot,
            # so they go out as they are, without a second pass over every byte.
            session.write(data + b".\r\n")
            data_sent = True
            code, text = await session.reply()
        except TimeoutError:
            await self.close()
            if data_sent:
                return Result(Outcome.UNCERTAIN, "no reply after the end of DATA")
            return Result(Outcome.RETRY, "timed out waiting for the server")
        except OSError as exc:
            # Without a 250 the server has not taken the message (RFC 5321 §6.1).
            await self.close()
            return Result(Outcome.RETRY, f"connection lost: {exc}")
        if code != 250:
            return self._refused(code, text)
        return Result(Outcome.SENT, f"{code} {text}", code)

    def _refused(self, code: int, text: str) -> Result:
        reply = f"{code} {text}"
        if code == 421 and self._session is not None:
            self._session.connection_lost(None)
        if 400 <= code < 500:
            return Result(Outcome.RETRY, reply, code)
        return Result(Outcome.FAILED, reply, code)


async def probe(settings: DeliverySettings, password: str | None, sender: str) -> None:
    """Open one session and offer the sender, so an unreachable relay or a refused sender
    fails before anything is sent."""
    connection = Connection(settings, password, local_name(), tls_context(settings))
    where = f"the SMTP relay {settings.host}:{settings.port}"
    try:
        await connection.open()
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise WeeklyError(f"cannot reach {where} ({exc})") from None
    session = connection.session
    try:
        (code, text), *_ = await session.commands(
            f"MAIL FROM:<{sender}>\r\n".encode("ascii"), b"RSET\r\n"
        )
    except (OSError, TimeoutError) as exc:
        raise WeeklyError(f"{where} dropped the connection ({exc})") from None
    finally:
        await connection.close()
    if code >= 400:
        raise WeeklyError(f"{where} refuses the sender {sender}: {code} {text}")


@functools.cache
def local_name() -> str:
    """The name this machine gives in EHLO, looked up once (a slow DNS query at worst)."""
    return socket.getfqdn()
