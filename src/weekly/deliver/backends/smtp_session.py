"""The SMTP wire once aiosmtplib has opened it: our own reply reader, so pipelined commands
get every reply, and a writer that knows when the body has left our buffers."""

from __future__ import annotations

import asyncio
from collections import deque

import aiosmtplib


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
