"""The SMTP backend over aiosmtplib: persistent connections whose transactions report the
stage they reached and the reply there, so each outcome is judged where it happened."""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import ssl
from collections.abc import Callable

import aiosmtplib

from weekly.config import DeliverySettings
from weekly.deliver.backend import BeforeEnd
from weekly.deliver.backends.smtp_session import Session
from weekly.deliver.outcomes import Outcome, Stage, outcome
from weekly.errors import WeeklyError

PASSWORD_ENV = "WEEKLY_SMTP_PASSWORD"


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine, where plain SMTP cannot be overheard."""
    if host.lower().rstrip(".") == "localhost":
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


def tls_context(settings: DeliverySettings) -> ssl.SSLContext | None:
    """The verifying TLS context the relay settings call for, to share among connections:
    making one reads the system's CA store (about 25 ms, the event loop stalled meanwhile)."""
    return None if settings.security == "none" else ssl.create_default_context()


def connections(settings: DeliverySettings, password: str | None) -> Callable[[], Connection]:
    """A maker of connections to the configured relay; what they share (the TLS context and
    this machine's EHLO name, both slow to make) is made once, here."""
    return functools.partial(Connection, settings, password, local_name(), tls_context(settings))


class Connection:
    """One persistent SMTP connection, reopened after errors or every N messages: the SMTP
    backend's `DeliveryBackend`."""

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
        self._where = f"the SMTP relay {settings.host}:{settings.port}"

    async def open(self) -> None:
        """Connect now; WeeklyError naming the relay when that fails."""
        try:
            await self._connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise WeeklyError(f"cannot reach {self._where} ({exc})") from None

    async def _connect(self) -> None:
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
        await self._connect()
        return self.session

    async def deliver(
        self, sender: str, recipient: str, data: bytes, before_end: BeforeEnd
    ) -> Outcome:
        """One transaction; `before_end` runs right before the end of data goes out, once
        the body has left our buffers (the ledger's `sending`: from then on, uncertain), so
        a row is uncertain exactly when the server may hold the message. The stage reached
        and the reply there (or that none came) make the outcome."""
        stage = Stage.CONNECT
        try:
            session = await self._ready()
            # A non-ASCII local part (RFC 6531) can only travel to a relay that offers
            # SMTPUTF8; refused here as such a relay would refuse it, for this message only.
            utf8 = not (recipient.isascii() and sender.isascii())
            if utf8 and not session.smtputf8:
                text = f"5.6.7 {recipient} needs SMTPUTF8, which the relay does not offer"
                return outcome(Stage.RCPT, 553, text)
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
            await self._before(before_end)
            session.write(b".\r\n")  # raises, sending nothing, if the relay has gone
            stage = Stage.END
            code, text = await session.reply()
        except TimeoutError:
            await self.close()
            return outcome(stage, 0, f"no reply in time ({stage.value})")
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Without a reply after the end of data the server has not taken the message
            # unless the end of data went out (RFC 5321 §6.1): `stage` tells which.
            await self.close()
            code = getattr(exc, "code", 0) if stage is Stage.CONNECT else 0
            code = code if isinstance(code, int) and 200 <= code < 600 else 0
            return outcome(stage, code, f"connection lost ({stage.value}): {exc}")
        return self._refused(stage, code, text)

    async def _before(self, before_end: BeforeEnd) -> None:
        """Run `before_end` (and wait for the commit it may return); should it fail, the
        session is dropped without the end of data, so the relay discards the message."""
        try:
            waiting = before_end()
            if waiting is not None:
                await waiting
        except BaseException:
            self.session.connection_lost(None)
            await self.close()
            raise

    def _refused(self, stage: Stage, code: int, text: str) -> Outcome:
        """The outcome of a reply; a 421 also closes the session, as the server will."""
        if code == 421 and self._session is not None:
            self._session.connection_lost(None)
        return outcome(stage, code, text)

    async def probe(self, sender: str) -> None:
        """Open a session and offer the sender, so an unreachable relay or a refused sender
        fails before anything is sent; closes the session again."""
        await self.open()
        try:
            (code, text), *_ = await self.session.commands(
                f"MAIL FROM:<{sender}>\r\n".encode("ascii"), b"RSET\r\n"
            )
        except (OSError, TimeoutError) as exc:
            raise WeeklyError(f"{self._where} dropped the connection ({exc})") from None
        finally:
            await self.close()
        if code >= 400:
            raise WeeklyError(f"{self._where} refuses the sender {sender}: {code} {text}")


@functools.cache
def local_name() -> str:
    """The name this machine gives in EHLO, looked up once (a slow DNS query at worst)."""
    return socket.getfqdn()
