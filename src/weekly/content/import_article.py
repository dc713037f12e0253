"""`weekly import`: turn an article written elsewhere into a new issue folder."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from weekly.content.frontmatter import join_front_matter
from weekly.content.issue import ISSUE_FILE
from weekly.content.markdown import image_sources, is_relative
from weekly.content.read_article import Article, read_article
from weekly.content.slug import slugify
from weekly.errors import LocatedError, WeeklyError, decode_utf8
from weekly.files import replace_folder
from weekly.project import issue_dir, issue_numbers

STDIN = "-"


@dataclass(frozen=True)
class Imported:
    """The issue folder an import wrote, and what the editor should be told about it."""

    folder: Path
    source: str
    article: Article
    date: dt.date
    section_files: tuple[str, ...]
    replaced: bool
    notes: tuple[str, ...]

    def report(self) -> str:
        """What was made, for stdout: folder, title, date and each section file."""
        verb = "Replaced" if self.replaced else "Made"
        lines = [
            f"{verb} {self.folder}/ from {self.source} ({self.article.form})",
            f"  title: {self.article.title}",
            f"  date:  {self.date.isoformat()}",
        ]
        lines += [
            f"  {name}  {part.title}"
            for name, part in zip(self.section_files, self.article.sections, strict=True)
        ]
        return "\n".join(lines)


def import_article(
    root: Path, source: str, *, number: int | None, on: dt.date | None, force: bool
) -> Imported:
    """Read `source` (a path, or `-` for stdin) and write it as an issue folder under `root`.

    Nothing is written unless the whole article reads cleanly; an existing folder is only
    replaced with `force`, and then atomically.
    """
    name = "<stdin>" if source == STDIN else source
    path = Path(name)
    article = read_article(path, _decode(path, _read_bytes(source)))
    date = on or article.date
    if date is None:
        raise LocatedError(path, "no date in the front matter or the text: pass --date YYYY-MM-DD")
    chosen, notes = _choose_number(root, article, number, force)
    folder = issue_dir(root, chosen)
    if folder.exists() and not force:
        raise LocatedError(path, f"{folder} already exists: pass --force to replace it")
    files = issue_files(article, date)
    images, missing = _images(source, article)
    notes += [f"image {src} is not beside {name}: copy it into {folder}" for src in missing]
    if article.dropped:
        notes.append(f"dropped front matter an issue has no use for: {', '.join(article.dropped)}")
    notes += article.notes
    replaced = folder.exists()
    replace_folder(folder, {**files, **images})
    return Imported(
        folder=folder,
        source=name,
        article=article,
        date=date,
        section_files=tuple(file for file in files if file != ISSUE_FILE),
        replaced=replaced,
        notes=tuple(notes),
    )


def issue_files(article: Article, date: dt.date) -> dict[str, str]:
    """File name → text of the issue folder: `issue.md` and `10-<slug>.md`, `20-…` in order."""
    files = {
        ISSUE_FILE: join_front_matter(
            {"title": article.title, "date": date, **article.meta}, article.lead
        )
    }
    width = len(str(10 * len(article.sections)))
    for index, part in enumerate(article.sections, start=1):
        files[f"{10 * index:0{width}d}-{slugify(part.title)}.md"] = (
            f"# {part.title}\n\n{part.body}\n"
        )
    return files


def _images(source: str, article: Article) -> tuple[dict[str, bytes], list[str]]:
    """Images the article shows by a relative path, read from beside the source file (as in a
    Hugo page bundle) so the issue folder is whole; and the ones that are not there."""
    base = None if source == STDIN else Path(source).parent
    found: dict[str, bytes] = {}
    missing = []
    texts = [article.lead, *(p.body for p in article.sections)]
    relative_sources = {src for text in texts for src in image_sources(text) if is_relative(src)}
    for src in sorted(relative_sources):
        relative = PurePosixPath(unquote(src))
        file = base / relative if base is not None and ".." not in relative.parts else None
        if file is not None and file.is_file():
            found[str(relative)] = file.read_bytes()
        else:
            missing.append(src)
    return found, missing


def _read_bytes(source: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if source == STDIN else Path(source).read_bytes()
    except OSError as exc:
        raise WeeklyError(f"{source}: cannot read: {exc.strerror}") from None


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 (a BOM is fine); anything else names the line of the first bad byte."""
    try:
        return decode_utf8(path, data)
    except LocatedError as exc:
        advice = "save it as UTF-8 and import again"
        if _reads_as_cp949(data):
            advice = "it looks like CP949/EUC-KR: convert it with `iconv -f cp949 -t utf-8`"
        raise LocatedError(path, f"{exc.detail}; {advice}", exc.line) from None


def _reads_as_cp949(data: bytes) -> bool:
    """Korean text saved on Windows is usually CP949, a superset of EUC-KR."""
    try:
        data.decode("cp949")
    except UnicodeDecodeError:
        return False
    return True


def _choose_number(
    root: Path, article: Article, number: int | None, force: bool
) -> tuple[int, list[str]]:
    """--number, else a `#N` from the title when free (or --force), else the next number."""
    if number is not None:
        return number, []
    taken = issue_numbers(root)
    notes: list[str] = []
    if article.number is not None:
        if force or article.number not in taken:
            return article.number, notes
        notes.append(f"#{article.number} from the title is taken; using the next number")
    return max(taken, default=0) + 1, notes
