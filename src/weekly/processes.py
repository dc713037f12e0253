"""Processes on this machine: whether one still runs, so the work a dead one held (a seat in
a shared send, a scheduled send it was running) can be taken over."""

from __future__ import annotations

import os


def running(pid: int) -> bool:
    """Whether process `pid` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
