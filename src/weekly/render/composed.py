"""The composed issue on disk (`build/<n>/`): written atomically by compose, read by send."""

from __future__ import annotations

import json
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
