"""The composed issue on disk (`build/<n>/`): written atomically by compose, read by send."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weekly.errors import LocatedError, WeeklyError
from weekly.project import build_dir

HTML_FILE = "email.html"
TEXT_FILE = "email.txt"
MJML_FILE = "email.mjml"
META_FILE = "meta.json"


@dataclass(frozen=True)
class Composed:
    """What `weekly compose` produced for one issue, ready to personalise and send."""

    number: int
    subject: str
    preheader: str
    html: str
    text: str
    meta: dict[str, Any]


def replace_folder(folder: Path, files: Mapping[str, str | bytes]) -> None:
    """Replace `folder` with exactly `files` (relative path → UTF-8 text or bytes), atomically:
    a failure leaves the old folder intact."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
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
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_composed(root: Path, number: int) -> Composed:
    """Read issue `number`'s build; an issue never composed is an error that says what to run."""
    folder = build_dir(root, number)
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        html = (folder / HTML_FILE).read_text(encoding="utf-8")
        text = (folder / TEXT_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WeeklyError(
            f"issue {number} is not composed ({folder} is missing): run `weekly compose {number}`"
        ) from None
    except json.JSONDecodeError as exc:
        raise LocatedError(
            folder / META_FILE,
            f"unreadable build ({exc.msg}): run `weekly compose {number}`",
            exc.lineno,
        ) from None
    except UnicodeDecodeError:
        raise WeeklyError(
            f"{folder}: unreadable build (not UTF-8): run `weekly compose {number}`"
        ) from None
    for key in ("subject", "preheader"):
        if not isinstance(meta, dict) or not isinstance(meta.get(key), str):
            raise WeeklyError(
                f"{folder / META_FILE}: {key}: missing from the build: "
                f"run `weekly compose {number}`"
            )
    return Composed(
        number=number,
        subject=meta["subject"],
        preheader=meta["preheader"],
        html=html,
        text=text,
        meta=meta,
    )
