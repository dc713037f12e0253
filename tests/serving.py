"""`weekly serve`'s app under real uvicorn in a thread of the test process: the same routes
and store as the command, but mutmut sees the code the requests run (it links tests only to
what runs in the pytest process). tests/serve_process.py runs the command itself."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from weekly.web.serve import create_app, server_config

from .smtp import SECRET


class Clock:
    """The rate limits' clock: it moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Serving:
    """`weekly serve`'s app under uvicorn on a socket already listening (connections wait in
    its backlog until uvicorn takes them): call it for a client, stop() to end it."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.root, self.clock = root, clock
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.port = self.listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.running: tuple[uvicorn.Server, threading.Thread] | None = None
        self.clients: list[httpx.Client] = []

    def start(self) -> None:
        """Make the app (its settings errors are raised here) and serve it."""
        if self.running is None:
            app = create_app(self.root, self.clock)
            server = uvicorn.Server(server_config(app, "127.0.0.1", self.port))
            server.config.log_level = "warning"
            thread = threading.Thread(target=server.run, args=([self.listening],), daemon=True)
            thread.start()
            self.running = server, thread

    def __call__(self, **headers: str) -> httpx.Client:
        self.start()
        client = httpx.Client(base_url=self.url, headers=headers)
        self.clients.append(client)
        return client

    def stop(self) -> None:
        """Shut uvicorn down the way Ctrl-C does: it finishes the answers and the background
        mail first."""
        for client in self.clients:
            client.close()
        if self.running is not None:
            server, thread = self.running
            server.should_exit = True
            thread.join(timeout=20)
            assert not thread.is_alive()
            self.running = None
        self.clients.clear()
        self.listening.close()


class LogLines(logging.Handler):
    """What the `weekly` loggers say while a serve runs, one line a record; wait() for one."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.lines.append(record.getMessage())
            self.changed.notify_all()

    def wait(self, text: str, timeout: float = 20.0) -> bool:
        """True once a line holds `text`; False if `timeout` passes first."""
        with self.changed:
            return self.changed.wait_for(lambda: any(text in line for line in self.lines), timeout)


@contextmanager
def serve_in_thread(root: Path) -> Iterator[tuple[str, LogLines]]:
    """Serve the newsletter at `root` for the block, signing with the tests' secret as
    serve_process does; yields its base URL and its log."""
    logger = logging.getLogger("weekly")
    lines, level = LogLines(), logger.level
    secret = os.environ.get("WEEKLY_SECRET")
    os.environ["WEEKLY_SECRET"] = SECRET
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    serving = Serving(root)
    try:
        serving.start()
        yield serving.url, lines
    finally:
        serving.stop()
        logger.removeHandler(lines)
        logger.setLevel(level)
        if secret is None:
            del os.environ["WEEKLY_SECRET"]
        else:
            os.environ["WEEKLY_SECRET"] = secret
