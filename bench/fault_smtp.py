"""An SMTP server for the send benchmark's fault run: per recipient it greylists at RCPT,
rejects the content after DATA, or drops the connection mid-DATA, and it records when each
message was stored. Listens on 127.0.0.1 only; raw asyncio, so it is cheap per message.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

GREYLIST = b"451 4.7.1 greylisted, try again later\r\n"
REJECT = b"554 5.7.1 message rejected as spam\r\n"
EHLO = b"250-fault.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 20000000\r\n"
LIMIT = 1 << 22  # the longest message accepted, in bytes


@dataclass(frozen=True)
class Faults:
    """Which recipients misbehave, and how."""

    greylisted: frozenset[str] = frozenset()  # 451 at RCPT for the first `greylist_times` tries
    rejected: frozenset[str] = frozenset()  # 554 5.7.1 after the end of DATA, every time
    dropped: frozenset[str] = frozenset()  # connection cut mid-DATA, the first time only
    greylist_times: int = 2


@dataclass
class FaultServer:
    """The server and what it saw; times are `time.monotonic()` seconds."""

    faults: Faults
    stored: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rcpt_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cut: Counter[str] = field(default_factory=Counter)

    async def start(self) -> asyncio.Server:
        """Listen on a free 127.0.0.1 port (read it from the returned server's sockets)."""
        return await asyncio.start_server(self._session, "127.0.0.1", 0, limit=LIMIT)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 fault.test ESMTP\r\n")
        recipient: str | None = None
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(EHLO)
                elif verb in (b"HELO", b"NOOP"):
                    writer.write(b"250 ok\r\n")
                elif verb in (b"MAIL", b"RSET"):
                    recipient = None
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == b"RCPT":
                    recipient = self._rcpt(line, writer)
                elif verb == b"DATA":
                    if recipient is None:
                        writer.write(b"554 5.5.1 no valid recipients\r\n")
                    elif not await self._data(recipient, reader, writer):
                        return
                    recipient = None
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    break
                else:
                    writer.write(b"502 5.5.2 not implemented\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _rcpt(self, line: bytes, writer: asyncio.StreamWriter) -> str | None:
        address = line.decode("ascii", "replace").partition("<")[2].partition(">")[0].lower()
        self.rcpt_times[address].append(time.monotonic())
        tries = len(self.rcpt_times[address])
        if address in self.faults.greylisted and tries <= self.faults.greylist_times:
            writer.write(GREYLIST)
            return None
        writer.write(b"250 2.1.5 ok\r\n")
        return address

    async def _data(
        self, recipient: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Take one message; False when the connection was cut on purpose."""
        writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
        await writer.drain()
        if recipient in self.faults.dropped and not self.cut[recipient]:
            await reader.read(4096)  # some of the message has arrived, not its end
            self.cut[recipient] += 1
            writer.transport.abort()
            return False
        await reader.readuntil(b"\r\n.\r\n")
        if recipient in self.faults.rejected:
            writer.write(REJECT)
        else:
            self.stored[recipient].append(time.monotonic())
            writer.write(b"250 2.0.0 queued\r\n")
        return True
