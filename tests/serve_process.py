"""`weekly serve` as the real command in its own process, ready once it logs that it listens."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .smtp import SECRET, free_port

READY = "weekly serve on http://127.0.0.1:"


class LogLines:
    """Every line a process writes to a pipe, read in a thread; wait() for one to appear."""

    def __init__(self, pipe: object) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.closed = False
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe: object) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def wait(self, text: str, timeout: float = 30.0) -> bool:
        """True once a line holds `text`; False if the pipe closes or `timeout` passes."""

        def seen() -> bool:
            return any(text in line for line in self.lines)

        with self.changed:
            self.changed.wait_for(lambda: seen() or self.closed, timeout)
            return seen()


def start_serve(root: Path) -> tuple[subprocess.Popen[str], str, LogLines]:
    """Start `weekly serve --port P --root ROOT`; its process, base URL and log, returned
    once it says it listens."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "weekly", "serve", "--port", str(port), "--root", str(root)],
        env={**os.environ, "WEEKLY_SECRET": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = LogLines(process.stderr)
    if not log.wait(f"{READY}{port}"):
        process.kill()
        process.wait(20)
        raise AssertionError("".join(log.lines))
    return process, f"http://127.0.0.1:{port}", log


@contextmanager
def serve_process(root: Path) -> Iterator[tuple[str, LogLines]]:
    """Run `weekly serve` for the block; yields its base URL and its log once it says it
    listens, and stops it with SIGTERM (asserting an orderly shutdown) at the end."""
    process, url, log = start_serve(root)
    try:
        yield url, log
    finally:
        process.terminate()
        process.wait(20)
    # uvicorn shuts down in order, then re-raises the SIGTERM it caught
    assert log.wait("Finished server process"), "".join(log.lines)
