"""The composed issue on disk (`build/<n>/`): written atomically by compose, read by send."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weekly.control import control_character
from weekly.errors import LocatedError, WeeklyError
from weekly.placeholders import split
from weekly.project import build_dir
from weekly.render.checks import Finding

HTML_FILE = "email.html"
TEXT_FILE = "email.txt"
MJML_FILE = "email.mjml"
META_FILE = "meta.json"


@dataclass(frozen=True)
class Composed:
    """One issue's finished email before per-recipient values are filled in: what compose
    renders and writes to `build/<n>/`, and what send and preview read back from there."""

    number: int
    subject: str
    preheader: str
    html: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)  # as in meta.json
    mjml: str = ""  # only as just rendered (the build keeps it for the editor to read)
    findings: list[Finding] = field(default_factory=list)  # only as just rendered

    @property
    def fingerprint(self) -> str:
        """A digest of what recipients read; a resumed send must match its first run's."""
        digest = hashlib.sha256()
        for part in (self.subject, self.text, self.html):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()[:16]


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
        if bad := control_character(meta[key]):
            raise LocatedError(
                folder / META_FILE,
                f"{key}: has a control character ({bad!r}) that would split the mail's "
                f"headers: run `weekly compose {number}`",
            )
    if len(split(meta["subject"])) > 1:
        raise LocatedError(
            folder / META_FILE,
            f"subject: {meta['subject']!r} has a %%placeholder%% no reader's values fill: "
            f"run `weekly compose {number}`",
        )
    return Composed(
        number=number,
        subject=meta["subject"],
        preheader=meta["preheader"],
        html=html,
        text=text,
        meta=meta,
    )
