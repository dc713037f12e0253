"""The files of an issue folder the archive publishes beside its page: regular files only,
so a symlink in an issue folder can never publish what it points at."""

from __future__ import annotations

import os
from pathlib import Path

from weekly.content.issue import is_hidden


def issue_files(folder: Path, refused: list[Path] | None = None) -> list[str]:
    """Paths (relative, `/`-separated) of the files an issue folder publishes, in a stable
    order; names starting with `.` or `_` are skipped, as for sections. Only regular files
    are published: a symlink (which could lead anywhere) or a device is added to `refused`."""
    found = []
    for current, folders, files in os.walk(folder):
        base = os.path.relpath(current, folder)
        for name in [*folders, *files]:
            path = Path(current, name)
            if is_hidden(name):
                continue
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                if refused is not None:
                    refused.append(path)
            elif name in files:
                found.append(name if base == "." else f"{base}/{name}".replace(os.sep, "/"))
        folders[:] = [n for n in folders if not is_hidden(n) and not Path(current, n).is_symlink()]
    return sorted(found)
