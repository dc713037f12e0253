"""A raw asyncio SMTP server on 127.0.0.1 for fault tests: fast enough for thousands of
messages, with per-recipient faults and its own log of what it received and stored.

Faults (`FaultServer.plan[address] = (fault, times)`, applied to that many transactions):
  greylist        451 4.7.1 at RCPT
  unknown         550 5.1.1 at RCPT
  unknown_354     550 5.1.1 at RCPT, yet 354 to a pipelined DATA (then 554 after the ".")
  close421        421 4.3.2 at RCPT, then the connection closes
  content         554 5.7.1 after the end of data (stored nothing)
  full            452 4.3.1 after the end of data (stored nothing)
  drop_mid_data   the connection is cut after the first part of the body
  stall_mid_data  the server stops reading the body and never answers
  store_drop      stored, then the connection closes before the reply
  late            stored, and the reply waits until the client has given up
  held_452        452 4.3.1 after the end of data, once the test sets `release`
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from weekly.files import replace_folder
from weekly.project import build_dir
from weekly.render.composed import HTML_FILE, META_FILE, TEXT_FILE

from .smtp import HTML, TEXT

END = b"\r\n.\r\n"


def make_big_build(root: Path, number: int = 324, size: int = 6_000_000) -> None:
    """A composed issue whose messages are far larger than any socket buffer, so a client
    cannot hand the whole body over before the server reads it."""
    filler = "<p>큰 호 " + "가나다라마바사 " * 40 + "</p>\n"
    html = HTML.replace("</body>", filler * (size // len(filler.encode())) + "</body>")
    meta = '{"subject": "큰 호", "preheader": "큰 호"}'
    replace_folder(build_dir(root, number), {HTML_FILE: html, TEXT_FILE: TEXT, META_FILE: meta})


class _Session(asyncio.Protocol):
    def __init__(self, server: FaultServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.scanned = 0  # how much of a body's buffer was searched for its end
        self.in_data = False
        self.rcpts: list[str] = []
        self.faults: dict[str, str] = {}  # this transaction's recipients and their fault
        self.quirk_354 = False
        self.transport: asyncio.Transport | None = None
        self.gone = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.sessions.add(self)
        transport.write(b"220 fault.test ESMTP\r\n")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.server.sessions.discard(self)
        self.gone.set()

    def reply(self, line: str) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(line.encode() + b"\r\n")

    def close(self) -> None:
        assert self.transport is not None
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and not self.transport.is_closing():
            if self.in_data:
                if not self._body():
                    return
            elif (end := self.buffer.find(b"\r\n")) >= 0:
                line = bytes(self.buffer[:end]).decode("utf-8", "replace")
                del self.buffer[: end + 2]
                self._command(line)
            else:
                return

    def _command(self, line: str) -> None:
        verb = line[:4].upper()
        argument = line[5:].strip()
        if verb in ("EHLO", "HELO"):
            extras = ["250-PIPELINING"] if self.server.pipelining else []
            for text in ["250-fault.test", *extras, "250-8BITMIME", "250 SMTPUTF8"]:
                self.reply(text)
        elif verb == "MAIL":
            self.server.note("mail", "")
            self._reset()
            self.reply("250 2.1.0 OK")
        elif verb == "RCPT":
            address = argument.split(":", 1)[1].strip().strip("<>")
            self.server.note("rcpt", address)
            fault = self.server.take(address)
            if fault == "greylist":
                self.reply("451 4.7.1 greylisted, come back later")
            elif fault in ("unknown", "unknown_354"):
                self.quirk_354 = self.quirk_354 or fault == "unknown_354"
                self.reply("550 5.1.1 no such user")
            elif fault == "close421":
                self.reply("421 4.3.2 service shutting down")
                assert self.transport is not None
                self.transport.close()
            else:
                self.rcpts.append(address)
                self.faults[address] = fault
                self.reply("250 2.1.5 OK")
        elif verb == "DATA":
            self.server.note("data", ",".join(self.rcpts))
            if not self.rcpts and not self.quirk_354:
                self.reply("554 5.5.1 no valid recipients")
                return
            self.in_data = True
            self.reply("354 end with <CRLF>.<CRLF>")
            if "stall_mid_data" in self.faults.values():
                assert self.transport is not None
                self.transport.pause_reading()
        elif verb == "RSET":
            self._reset()
            self.reply("250 2.0.0 OK")
        elif verb == "QUIT":
            self.reply("221 2.0.0 bye")
            assert self.transport is not None
            self.transport.close()
        else:
            self.reply("502 5.5.2 not implemented")

    def _reset(self) -> None:
        self.rcpts, self.faults, self.quirk_354 = [], {}, False

    def _body(self) -> bool:
        """Consume the body; whether a whole message was read."""
        if "drop_mid_data" in self.faults.values():
            if self.buffer:  # some of the body came: cut it there
                self.close()
            return False
        # a body begins after the 354, so its first CRLF may be the end's own
        end = self.buffer.find(END, max(self.scanned - len(END), 0))
        if self.buffer.startswith(END[2:]):
            size, skip = 0, 3
        elif end >= 0:
            size, skip = end + 2, 5
        else:
            self.scanned = len(self.buffer)
            return False
        del self.buffer[: size + skip]
        self.in_data, self.scanned = False, 0
        rcpts, faults = self.rcpts, self.faults
        self._reset()
        if not rcpts:  # the quirk: a DATA let through with every recipient refused
            self.reply("554 5.5.1 no valid recipients")
            return True
        for address in rcpts:
            self.server.note("end", address)
        fault = next((f for f in faults.values() if f), "")
        if fault == "content":
            self.reply("554 5.7.1 message content rejected")
            return True
        if fault == "full":
            self.reply("452 4.3.1 insufficient system storage")
            return True
        if fault == "held_452":
            asyncio.get_running_loop().create_task(self._held())
            return True
        self.server.store(rcpts)
        if fault == "store_drop":
            self.close()
        elif fault == "late":
            asyncio.get_running_loop().create_task(self._late())
        else:
            self.reply("250 2.0.0 queued")
        return True

    async def _held(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.server.release.wait)
        self.reply("452 4.3.1 insufficient system storage")

    async def _late(self) -> None:
        await self.gone.wait()  # only once the client gave up and hung up
        self.reply("250 2.0.0 queued, too late")


class FaultServer:
    """The server, run in a thread with its own event loop; see the module docstring."""

    def __init__(self, *, pipelining: bool = True, small_window: bool = False) -> None:
        self.pipelining = pipelining
        self.small_window = small_window  # for big bodies that must wait for the server
        self.release = threading.Event()  # lets `held_452` answer
        self.plan: dict[str, tuple[str, int]] = {}
        self.lock = threading.Lock()
        self.stored: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()  # ends of data received, per recipient
        self.rcpts: Counter[str] = Counter()  # RCPT commands, per recipient
        self.events: Counter[str] = Counter()  # mail, rcpt, data, end: how many so far
        self.on_event: Callable[[str, int], None] | None = None
        self.sessions: set[_Session] = set()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None

    def take(self, address: str) -> str:
        """The fault for this transaction of `address` ("" for none), used up once."""
        with self.lock:
            fault, times = self.plan.get(address, ("", 0))
            if not times:
                return ""
            self.plan[address] = (fault, times - 1)
            return fault

    def note(self, kind: str, address: str) -> None:
        with self.lock:
            self.events[kind] += 1
            count = self.events[kind]
            if kind == "end":
                self.ends[address] += 1
            elif kind == "rcpt":
                self.rcpts[address] += 1
        if self.on_event is not None:
            self.on_event(kind, count)

    def store(self, rcpts: list[str]) -> None:
        with self.lock:
            self.stored.update(rcpts)

    def vanish(self) -> None:
        """Stop listening and cut every connection (in the server's thread, from `on_event`)."""
        assert self._server is not None
        self._server.close()
        for session in list(self.sessions):
            session.close()

    async def _vanish(self) -> None:
        self.vanish()

    def listen(self) -> None:
        """Listen again on the same port after `vanish`."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        # proto given, so asyncio sets TCP_NODELAY on accepted sockets (no 40 ms stalls)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.small_window:  # a client writing a big body must wait for the server
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await loop.create_server(lambda: _Session(self), sock=sock)

    @contextmanager
    def running(self) -> Iterator[int]:
        """Serve on a free port for the duration; yields the port."""
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._listen())
            ready.set()
            self._loop.run_forever()

        thread = threading.Thread(target=main, daemon=True)
        thread.start()
        assert ready.wait(10)
        try:
            yield self.port
        finally:
            loop = self._loop
            assert loop is not None
            asyncio.run_coroutine_threadsafe(self._vanish(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
