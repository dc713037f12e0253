"""SMTP delivery over aiosmtplib: persistent connections, one shared pace, honest outcomes.

A transaction reports the stage it reached and the server's reply there (or that none
came); `outcomes.classify` turns that into what happens to the recipient. The end of data
goes out only once the body has left our buffers, right after `before_end` recorded it, so
a row is uncertain exactly when the server may hold the message.
"""

from __future__ import annotations

import asyncio
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
from weekly.deliver.outcomes import Stage, Verdict, classify
from weekly.errors import WeeklyError

PASSWORD_ENV = "WEEKLY_SMTP_PASSWORD"
# After a connection-level fault the pace is halved for this long (seconds).
SLOW_PERIOD = 30.0
SLOWEST_FACTOR = 1 / 64


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one message: the verdict, and the server's reply (or the local
    reason) that led to it."""

    verdict: Verdict
    reply: str


def result(stage: Stage, code: int, text: str) -> Result:
    """The classified outcome of reply `code` `text` (code 0: no reply) at `stage`."""
    return Result(classify(stage, code, text), f"{code} {text}" if code else text)


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
    """One rate limit for all connections; `slow_down` halves it for `period` seconds
    (by `clock`, the event loop's by default), after which the full rate is back."""

    def __init__(
        self, rate: float, *, period: float = SLOW_PERIOD, clock: Callable[[], float] | None = None
    ) -> None:
        self._rate = rate
        self._period = period
        self._clock = clock
        self._factor = 1.0
        self._slow_until = 0.0
        self._next = 0.0

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @property
    def rate(self) -> float:
        """Messages per second allowed now."""
        if self._factor < 1 and self._now() >= self._slow_until:
            self._factor = 1.0
        return self._rate * self._factor

    async def wait(self) -> None:
        now = self._now()
        rate = self.rate
        slot = max(now, self._next)
        self._next = slot + 1 / rate
        if slot > now:
            await asyncio.sleep(slot - now)

    def slow_down(self) -> None:
        self._factor = max(self._factor / 2, SLOWEST_FACTOR)
        self._slow_until = self._now() + self._period


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
        # Told (pause/resume_writing) whenever any byte waits in our buffer: `drained` needs it.
        transport.set_write_buffer_limits(high=0)

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

    def pause_writing(self) -> None:
        pass  # `drained` asks the transport itself

    def resume_writing(self) -> None:
        self._wake()

    async def drained(self) -> None:
        """Wait until everything written has left our buffers for the socket."""
        async with asyncio.timeout(self._timeout):
            while self._transport.get_write_buffer_size():
                if self._lost is not None:
                    raise ConnectionResetError(str(self._lost) or "connection lost")
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
        if self._lost is not None:
            raise ConnectionResetError(str(self._lost) or "connection lost")

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
        self, sender: str, recipient: str, data: bytes, before_end: Callable[[], None]
    ) -> Result:
        """One transaction; `before_end` runs right before the end of data goes out, once
        the body has left our buffers (the ledger's `sending`: from then on, uncertain)."""
        stage = Stage.CONNECT
        try:
            session = await self._ready()
            # A non-ASCII local part (RFC 6531) can only travel to a relay that offers
            # SMTPUTF8; refused here as such a relay would refuse it, for this message only.
            utf8 = not (sender + recipient).isascii()
            if utf8 and not session.smtputf8:
                text = f"5.6.7 {recipient} needs SMTPUTF8, which the relay does not offer"
                return result(Stage.RCPT, 553, text)
            # RSET between messages on one session: pipelined with the envelope it costs no
            # round trip, and it clears whatever a failed transaction left behind.
            commands = [b"RSET\r\n"] if self._used else []
            commands += [
                f"MAIL FROM:<{sender}>{' SMTPUTF8' * utf8}\r\n".encode(),
                f"RCPT TO:<{recipient}>\r\n".encode(),
                b"DATA\r\n",
            ]
            envelope_start = len(commands) - 3  # replies up to MAIL's concern the sender
            self._used += 1
            stage = Stage.MAIL
            replies = await session.commands(*commands)
            for index, (code, text) in enumerate(replies):
                wanted = 354 if index == len(commands) - 1 else 250
                if code != wanted and not (wanted == 250 and code == 251):
                    stage = (Stage.MAIL, Stage.RCPT, Stage.DATA)[
                        min(max(index - envelope_start, 0), 2)
                    ]
                    if replies[-1][0] == 354:  # a server that let DATA through anyway
                        session.write(b".\r\n")
                        await session.reply()
                    return self._refused(stage, code, text)
            # Messages are built with CRLF line ends and no line starting with a dot,
            # so they go out as they are, without a second pass over every byte.
            stage = Stage.DATA
            session.write(data)
            await session.drained()
            before_end()
            stage = Stage.END
            session.write(b".\r\n")
            code, text = await session.reply()
        except TimeoutError:
            await self.close()
            return result(stage, 0, f"no reply in time ({stage.value})")
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Without a reply after the end of data the server has not taken the message
            # unless the end of data went out (RFC 5321 §6.1): `stage` tells which.
            await self.close()
            code = getattr(exc, "code", 0) if stage is Stage.CONNECT else 0
            code = code if isinstance(code, int) and 200 <= code < 600 else 0
            return result(stage, code, f"connection lost ({stage.value}): {exc}")
        return self._refused(stage, code, text)

    def _refused(self, stage: Stage, code: int, text: str) -> Result:
        """The outcome of a reply; a 421 also closes the session, as the server will."""
        if code == 421 and self._session is not None:
            self._session.connection_lost(None)
        return result(stage, code, text)


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
