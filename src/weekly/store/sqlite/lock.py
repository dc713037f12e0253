"""The per-issue send lock of the SQLite store: an fcntl lock file beside the ledger, which
the OS drops when the holding process dies."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from weekly.errors import WeeklyError


@contextmanager
def issue_lock(folder: Path, issue: int) -> Iterator[None]:
    """Hold issue `issue` of the ledger in `folder` for this process. Taken before the ledger
    is opened, so a second send never races the first one's creation of it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / f"send-{issue}.lock"
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WeeklyError(
                f"issue {issue} is already being sent by {holder} (lock {lock_path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
