"""Where the tests' scratch files go: a RAM filesystem when the machine has one with room.
On this machine's disk the suite's SQLite files, tmp folders and PostgreSQL cluster made the
tests wait on the disk (test_serve and test_ledger: 28-35 s on /tmp, 19.5-20.5 s on
/dev/shm, the same CPU); nothing the tests write needs to outlive the run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

RAM = Path("/dev/shm")
ROOM = 1 << 30  # bytes free it must have: a whole run writes about 130 MB, a cluster 50 MB


def use_ram_for_scratch() -> None:
    """Point TMPDIR (this process's and its children's) at RAM, unless the caller chose a
    TMPDIR or there is no RAM filesystem with room (a container's 64 MB /dev/shm)."""
    if "TMPDIR" in os.environ or not os.access(RAM, os.W_OK):
        return
    stats = os.statvfs(RAM)
    if stats.f_bavail * stats.f_frsize < ROOM:
        return
    os.environ["TMPDIR"] = str(RAM)
    tempfile.tempdir = None  # gettempdir() caches its first answer: ask it again
