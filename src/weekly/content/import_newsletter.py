"""`weekly import EXPORT --from SERVICE`: every published post of another service becomes an
issue folder, numbered in date order, the same way each time it runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from weekly.content.exports import Post, read_export
from weekly.content.frontmatter import join_front_matter
from weekly.content.import_article import issue_files
from weekly.content.markdown import image_sources, is_relative
from weekly.content.read_article import Article, read_article
from weekly.errors import LocatedError
from weekly.files import replace_folder
from weekly.project import issue_dir

_GHOST_URL = "__GHOST_URL__"


@dataclass(frozen=True)
class Row:
    """One imported issue, as the summary table shows it."""

    number: int
    date: dt.date
    sections: int
    title: str
    outcome: str  # made, replaced or unchanged


@dataclass(frozen=True)
class NewsletterImport:
    """What an export import wrote, skipped and wants the editor to know."""

    rows: tuple[Row, ...]
    skipped: tuple[str, ...]
    notes: tuple[str, ...]

    def table(self) -> str:
        """The summary table for stdout, one issue a line, then the count of each outcome."""
        lines = ["   #  date        sections  outcome    title"]
        lines += [
            f"{r.number:>4}  {r.date.isoformat()}  {r.sections:>8}  {r.outcome:<9}  {r.title}"
            for r in self.rows
        ]
        counts = {o: sum(r.outcome == o for r in self.rows) for o in ("made", "replaced")}
        unchanged = sum(r.outcome == "unchanged" for r in self.rows)
        lines.append(
            f"{len(self.rows)} issues: {counts['made']} made, {counts['replaced']} replaced, "
            f"{unchanged} unchanged; {len(self.skipped)} not published, skipped"
        )
        return "\n".join(lines)


def import_newsletter(
    root: Path, export: Path, service: str, *, first: int | None, base_url: str | None, force: bool
) -> NewsletterImport:
    """Read the whole export first, then write each published post as an issue folder; a
    folder that exists with other content is only replaced with `force`."""
    posts = read_export(export, service)
    published = sorted(
        ((_dated(export, p), p.key, p) for p in posts if p.published), key=lambda t: t[:2]
    )
    notes: list[str] = []
    articles = [_article(export, post, base_url, notes) for *_, post in published]
    numbers = _numbers(articles, first)
    planned = []
    for number, (date, _, post), article in zip(numbers, published, articles, strict=True):
        folder = issue_dir(root, number)
        files = issue_files(article, date)
        current = _folder_files(folder)
        outcome = "made" if current is None else "unchanged" if current == files else "replaced"
        if outcome == "replaced" and not force:
            raise LocatedError(
                export,
                f"{folder} exists with other content than post {post.key!r}: "
                "pass --force to replace it",
            )
        row = Row(number, date, len(article.sections), article.title, outcome)
        planned.append((folder, files, row))
    for folder, files, row in planned:
        if row.outcome != "unchanged":
            replace_folder(folder, files)
    skipped = tuple(f"{p.title} ({p.key})" for p in posts if not p.published)
    return NewsletterImport(tuple(row for *_, row in planned), skipped, tuple(notes))


def _dated(export: Path, post: Post) -> dt.date:
    if post.date is None:
        raise LocatedError(export, f"published post {post.key!r} has no date")
    return post.date


def _article(export: Path, post: Post, base_url: str | None, notes: list[str]) -> Article:
    """The post read the way `weekly import` reads a Markdown file, with absolute images."""
    values: dict[str, object] = {"title": post.title, "date": post.date}
    if post.preheader:
        values["preheader"] = post.preheader
    body = _absolute_images(post, base_url, notes)
    article = read_article(Path(f"{export}:{post.key}"), join_front_matter(values, body))
    notes.extend(f"{post.key}: {note}" for note in article.notes)
    return article


def _absolute_images(post: Post, base_url: str | None, notes: list[str]) -> str:
    """Images keep pointing at the service's copies; a relative one is joined to `base_url`."""
    markdown = post.markdown
    for src in sorted(image_sources(markdown)):
        relative = src.startswith(_GHOST_URL) or is_relative(src)
        if not relative:
            continue
        if base_url is None:
            notes.append(f"{post.key}: image {src} is relative: pass --base-url to keep it")
            continue
        absolute = urljoin(base_url.rstrip("/") + "/", src.removeprefix(_GHOST_URL).lstrip("/"))
        markdown = markdown.replace(f"]({src}", f"]({absolute}")
    return markdown


def _numbers(articles: list[Article], first: int | None) -> list[int]:
    """The `#N` of each title when every title has a different one (and no --number), else
    consecutive numbers from `first` (default 1) in date order."""
    from_titles = [a.number for a in articles]
    if first is None and None not in from_titles and len(set(from_titles)) == len(articles):
        return [n for n in from_titles if n is not None]
    start = 1 if first is None else first
    return list(range(start, start + len(articles)))


def _folder_files(folder: Path) -> dict[str, str] | None:
    """The text files of an existing issue folder by relative name; None when there is none."""
    if not folder.is_dir():
        return None
    return {
        path.relative_to(folder).as_posix(): path.read_text("utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
