"""Atomic writes: a file or a whole folder is replaced in one rename, so a reader or a crash
never sees half of it. Every stage that writes to disk goes through here."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644


@contextmanager
def replacing(path: Path, mode: int = FILE_MODE) -> Iterator[Path]:
    """A temporary file beside `path` to write; when the block ends without error it gets
    `mode` and replaces `path`, otherwise it is removed and `path` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_file(path: Path, content: bytes, mode: int = FILE_MODE) -> Path:
    """Replace `path` with `content` atomically; returns `path`."""
    with replacing(path, mode) as temp:
        temp.write_bytes(content)
    return path


@contextmanager
def staging_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh hidden folder in `parent` to fill and then move into place; whatever is still
    in it when the block ends (all of it, after a failure) is removed."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_folder(folder: Path, files: Mapping[str, str | bytes]) -> None:
    """Replace `folder` with exactly `files` (relative path → UTF-8 text or bytes), atomically:
    a failure leaves the old folder intact."""
    with staging_folder(folder.parent, f".{folder.name}.") as staging:
        for name, content in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8", newline="")
        old = folder.with_name(f".{folder.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        if old.exists():
            shutil.rmtree(old)
