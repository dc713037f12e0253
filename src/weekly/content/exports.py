"""Whole-newsletter exports from other services, read into posts with a Markdown body.

Substack: a zip of `posts.csv` and `posts/<post_id>.html`. Ghost: the JSON export with each
post's `html`. Buttondown: a zip of `emails.csv` and `emails/<slug>.md` (Markdown bodies).
HTML becomes Markdown with markdownify, so no HTML is parsed by hand here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weekly.errors import LocatedError

SERVICES = ("substack", "ghost", "buttondown")


@dataclass(frozen=True)
class Post:
    """One post or email of an export: published ones become issues, the rest are skipped."""

    key: str
    title: str
    date: dt.date | None
    markdown: str
    published: bool
    preheader: str | None = None


def read_export(path: Path, service: str) -> list[Post]:
    """Every post in the export at `path`, in the file's order; a broken export names the file
    and the row or field that is wrong."""
    readers: dict[str, Callable[[Path], list[Post]]] = {
        "substack": _substack,
        "ghost": _ghost,
        "buttondown": _buttondown,
    }
    try:
        return readers[service](path)
    except OSError as exc:
        raise LocatedError(path, f"cannot read: {exc.strerror or exc}") from None
    except zipfile.BadZipFile:
        raise LocatedError(path, f"not a zip file: a {service} export is a .zip") from None


def html_to_markdown(html: str) -> str:
    """Our Markdown for a post's HTML: `#` headings, `-` bullets, no scripts or styles."""
    from markdownify import markdownify  # only HTML exports need it: keep `weekly` quick to start

    markdown: str = markdownify(
        html, heading_style="ATX", bullets="-", strip=["script", "style", "form", "button"]
    )
    return markdown.strip("\n")


def _substack(path: Path) -> list[Post]:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        posts = []
        for line, row in _csv_rows(path, archive, "posts.csv"):
            post_id = _field(path, row, "post_id", line)
            html_name = f"posts/{post_id}.html"
            published = row.get("is_published", "").strip().lower() == "true"
            if published and html_name not in names:
                raise LocatedError(path, f"posts.csv row {line}: no {html_name} in the export")
            html = archive.read(html_name).decode("utf-8") if html_name in names else ""
            posts.append(
                Post(
                    key=post_id,
                    title=_field(path, row, "title", line),
                    date=_date(path, row.get("post_date", ""), f"posts.csv row {line}: post_date"),
                    markdown=html_to_markdown(html),
                    published=published,
                    preheader=(row.get("subtitle") or "").strip() or None,
                )
            )
    return posts


def _ghost(path: Path) -> list[Post]:
    try:
        data = json.loads(path.read_text("utf-8"))
        posts = data["db"][0]["data"]["posts"]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LocatedError(path, f"not a Ghost JSON export: {exc}") from None
    except (KeyError, IndexError, TypeError):
        raise LocatedError(path, "not a Ghost JSON export: no db[0].data.posts") from None
    found = []
    for index, post in enumerate(posts):
        if post.get("type", "post") != "post":
            continue
        where = f"posts[{index}]"
        found.append(
            Post(
                key=str(post.get("slug") or post.get("id") or index),
                title=_json_text(path, post, "title", where),
                date=_date(path, post.get("published_at") or "", f"{where}.published_at"),
                markdown=html_to_markdown(post.get("html") or ""),
                published=post.get("status") == "published",
                preheader=(post.get("custom_excerpt") or "").strip() or None,
            )
        )
    return found


def _buttondown(path: Path) -> list[Post]:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        posts = []
        for line, row in _csv_rows(path, archive, "emails.csv"):
            slug = (row.get("slug") or row.get("id") or "").strip()
            body_name = f"emails/{slug}.md"
            body = row.get("body") or ""
            if body_name in names:
                body = archive.read(body_name).decode("utf-8")
            posts.append(
                Post(
                    key=slug or str(line),
                    title=_field(path, row, "subject", line),
                    date=_date(path, row.get("publish_date", ""), f"emails.csv row {line}"),
                    markdown=body.replace("\r\n", "\n").strip("\n"),
                    published=row.get("status", "").strip() in ("sent", "imported"),
                    preheader=(row.get("description") or "").strip() or None,
                )
            )
    return posts


def _csv_rows(
    path: Path, archive: zipfile.ZipFile, name: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of the CSV file `name` inside the export."""
    try:
        text = archive.read(name).decode("utf-8-sig")
    except KeyError:
        raise LocatedError(path, f"no {name} in the export") from None
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, row


def _field(path: Path, row: dict[str, str], key: str, line: int) -> str:
    value = (row.get(key) or "").strip()
    if not value:
        raise LocatedError(path, f"row {line}: {key} is empty")
    return value


def _json_text(path: Path, post: dict[str, Any], key: str, where: str) -> str:
    value = post.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LocatedError(path, f"{where}.{key} is missing or empty")
    return value.strip()


def _date(path: Path, text: str, where: str) -> dt.date | None:
    """The date of an ISO timestamp (`2025-11-20T09:00:00.000Z`); None when there is none."""
    text = text.strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise LocatedError(path, f"{where}: not an ISO date: {text!r}") from None
