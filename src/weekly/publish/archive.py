"""`weekly archive`: the web archive of published issues, built incrementally into `site/`.

A page per issue with its images, an index newest first, an Atom feed of the newest issues in
full, a sitemap and a 404 page. Pages link to each other relatively, so the site works at a
domain root or under a sub-path; only the feed, the sitemap and canonical links use site_url.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import sys
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from markupsafe import Markup

from weekly import l10n
from weekly.config import Config, issue_url, load_config
from weekly.content import frontmatter, markdown, sanitize
from weekly.content import issue as issue_module
from weekly.content.issue import Issue, read_issue
from weekly.l10n import catalog_path
from weekly.project import SITE_DIR, TEMPLATES_DIR, issue_dir, issue_numbers
from weekly.publish import feed
from weekly.publish import issue_files as files_module
from weekly.publish.feed import FeedEntries, atom_time
from weekly.publish.incremental import Manifest, Report, Unit, digest, load_manifest, publish
from weekly.publish.issue_files import issue_files
from weekly.publish.order import out_of_order
from weekly.render import jinja as templates_module
from weekly.render import text_part as text
from weekly.render.jinja import BUILTIN_DIR, environment, render

SITE_TEMPLATES = "site"
SUMMARY_COLUMNS = 160  # display columns: a Hangul syllable counts as two


@dataclass(frozen=True)
class Entry:
    """What the index, the feed and the neighbouring pages need to know about one issue."""

    number: int
    title: str
    date: dt.date
    draft: bool
    summary: str
    digest: str


@dataclass(frozen=True)
class ArchiveSummary:
    """The outcome of one `weekly archive`: where, how many issues, which files changed."""

    out: Path
    issues: int
    report: Report
    warnings: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for the terminal."""
        report = self.report
        return (
            f"{self.out}: {self.issues} issues, {len(report.written)} files written, "
            f"{len(report.removed)} removed, {report.unchanged} unchanged"
        )


def build_archive(
    root: Path,
    out: Path | None = None,
    *,
    drafts: bool = False,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> ArchiveSummary:
    """Build (or bring up to date) the archive of `root`'s issues in `out` (default `site/`).

    Drafts and issues dated after `today` are left out unless `drafts` is true; `now` (aware)
    is the feed's `updated` time for issues edited since the last build.
    """
    config = load_config(root)
    out = out if out is not None else root / SITE_DIR
    manifest = load_manifest(out)
    refused: list[Path] = []
    entries, read = _scan(root, manifest, refused)
    today = today or dt.date.today()
    shown = [e for e in entries if drafts or (not e.draft and e.date <= today)]
    stamp = atom_time(now or dt.datetime.now(dt.UTC))
    site = _SiteRenderer(root, config, read, dict(manifest.cache.get("feed", {})), stamp)
    units = [
        *site.issue_units(shown),
        site.index_unit(shown),
        site.feed_unit(shown),
        site.sitemap_unit(shown),
        site.static_unit(),
    ]
    cache = {
        "code": _code_digest(),
        "issues": {str(e.number): _entry_to_json(e) for e in entries},
        "feed": site.feed.saved,  # filled in while the feed renders, saved after
    }
    warnings = (
        *out_of_order([(e.number, e.date) for e in shown]),
        *(f"{path}: not a regular file in its issue folder, not published" for path in refused),
    )
    report = publish(out, manifest, units, cache)
    ignored = (
        f"{out}: manifest entry {name!r} leads outside the site, ignored" for name in report.ignored
    )
    return ArchiveSummary(out, len(shown), report, (*warnings, *ignored))


def _scan(
    root: Path, manifest: Manifest, refused: list[Path]
) -> tuple[list[Entry], dict[int, Issue]]:
    """Every issue's entry, ascending, and the issues that had to be read: only those with a
    file changed since the last build (or all, when there was none). The one walk of each
    folder adds its symlinks and special files to `refused`."""
    fresh = manifest.cache.get("code") == _code_digest()
    cached = manifest.cache.get("issues", {}) if fresh else {}
    entries = []
    read: dict[int, Issue] = {}
    for number in issue_numbers(root):
        folder = issue_dir(root, number)
        folder_digest = _folder_digest(folder, refused)
        known = cached.get(str(number))
        if known and known["digest"] == folder_digest:
            entries.append(_entry_from_json(known))
        else:
            read[number] = read_issue(folder)
            entries.append(_entry_of(read[number], folder_digest))
    return entries, read


def _entry_of(issue: Issue, folder_digest: str) -> Entry:
    return Entry(
        number=issue.number,
        title=issue.title,
        date=issue.date,
        draft=issue.draft,
        summary=_summary(issue),
        digest=folder_digest,
    )


def _entry_to_json(entry: Entry) -> dict[str, Any]:
    return {**dataclasses.asdict(entry), "date": entry.date.isoformat()}


def _entry_from_json(data: dict[str, Any]) -> Entry:
    return Entry(**{**data, "date": dt.date.fromisoformat(data["date"])})


def _summary(issue: Issue) -> str:
    """One line for the index: the preheader, else the opening words of the lead or a section."""
    return issue.preheader or text.opening_words(issue.opening, SUMMARY_COLUMNS)


def _folder_digest(folder: Path, refused: list[Path]) -> str:
    return _files_digest([(name, folder / name) for name in issue_files(folder, refused)])


class _SiteRenderer:
    """Turns entries into site units; every unit's inputs include what shapes all output."""

    def __init__(
        self,
        root: Path,
        config: Config,
        read: dict[int, Issue],
        feed_content: dict[str, Any],
        now: str,
    ) -> None:
        self.root = root
        self.config = config
        self.read = read
        self.feed = FeedEntries(feed_content, now)
        self.env = environment(root, config.newsletter.language)
        self.site_url = config.newsletter.site_url
        self.shape = digest(
            _templates_digest(root, config.newsletter.language),
            dataclasses.asdict(config.newsletter),
            dataclasses.asdict(config.archive),
        )

    def issue_units(self, shown: list[Entry]) -> list[Unit]:
        """One unit per issue page: its own files plus the titles of its neighbours."""
        units = []
        for index, entry in enumerate(shown):
            previous = shown[index - 1] if index > 0 else None
            following = shown[index + 1] if index + 1 < len(shown) else None
            neighbours = [(e.number, e.title) if e else None for e in (previous, following)]
            units.append(
                Unit(
                    key=f"issue/{entry.number}",
                    inputs=digest(self.shape, entry.digest, neighbours),
                    render=functools.partial(self._issue_page, entry, previous, following),
                )
            )
        return units

    def index_unit(self, shown: list[Entry]) -> Unit:
        """The index pages: `index.html`, then `page/2/index.html` … past `per_page` issues."""
        listed = [(e.number, e.title, e.date, e.summary, e.draft) for e in shown]
        return Unit("index", digest(self.shape, listed), lambda: self._index_pages(shown))

    def feed_unit(self, shown: list[Entry]) -> Unit:
        """The Atom feed: the newest issues with their full content."""
        newest = shown[::-1][: self.config.archive.feed_entries]
        inputs = digest(self.shape, [(e.number, e.digest) for e in newest])
        return Unit("feed", inputs, lambda: self._feed(newest))

    def sitemap_unit(self, shown: list[Entry]) -> Unit:
        """`sitemap.xml`: the index pages and every issue page."""
        inputs = digest(self.shape, [(e.number, e.date) for e in shown])
        return Unit("sitemap", inputs, lambda: self._sitemap(shown))

    def static_unit(self) -> Unit:
        """The stylesheet and the 404 page, which depend on nothing but templates and settings."""
        return Unit("static", self.shape, self._static)

    def _context(self, root: str) -> dict[str, Any]:
        """What every site template gets; `root` leads from the page to the site's top."""
        return {
            "newsletter": self.config.newsletter,
            "language": self.config.newsletter.language,
            "site_url": self.site_url,
            "subscribe_url": self.config.archive.subscribe_url or _mailto(self.config),
            "root": root,
        }

    def _issue(self, number: int) -> Issue:
        """Issue `number`, read once per build."""
        if number not in self.read:
            self.read[number] = read_issue(issue_dir(self.root, number))
        return self.read[number]

    def _content(self, issue: Issue, image_base: str | None) -> str:
        """The issue's lead and sections as HTML, shared by its page and its feed entry."""
        return render(
            self.env,
            f"{SITE_TEMPLATES}/content.html",
            lead=Markup(markdown.to_html(issue.lead, image_base=image_base, top=2)),
            sections=[
                {
                    "title": section.title,
                    "html": Markup(markdown.to_html(section.body, image_base=image_base)),
                }
                for section in issue.sections
            ],
        )

    def _issue_page(
        self, entry: Entry, previous: Entry | None, following: Entry | None
    ) -> dict[str, bytes]:
        folder = issue_dir(self.root, entry.number)
        issue = self._issue(entry.number)
        page = render(
            self.env,
            f"{SITE_TEMPLATES}/issue.html",
            **self._context("../"),
            issue=issue,
            summary=entry.summary,
            content=Markup(self._content(issue, image_base=None)),
            previous=previous,
            next=following,
            canonical=issue_url(self.config, entry.number),
        )
        files = {f"{entry.number}/index.html": page.encode("utf-8")}
        for name in issue_files(folder):
            if not name.lower().endswith(".md"):
                files[f"{entry.number}/{name}"] = (folder / name).read_bytes()
        return files

    def _index_pages(self, shown: list[Entry]) -> dict[str, bytes]:
        per_page = self.config.archive.per_page
        newest_first = shown[::-1]
        count = self._page_count(shown)
        files = {}
        for page in range(1, count + 1):
            root = "./" if page == 1 else "../../"
            html = render(
                self.env,
                f"{SITE_TEMPLATES}/index.html",
                **self._context(root),
                entries=newest_first[(page - 1) * per_page : page * per_page],
                page=page,
                pages=count,
                newer=_page_href(root, page - 1) if page > 1 else None,
                older=_page_href(root, page + 1) if page < count else None,
            )
            files[_page_href("", page) + "index.html"] = html.encode("utf-8")
        return files

    def _page_count(self, shown: list[Entry]) -> int:
        """How many index pages `shown` fills; an empty archive still has its first page."""
        return max(1, -(-len(shown) // self.config.archive.per_page))

    def _feed(self, newest: list[Entry]) -> dict[str, bytes]:
        entries, updated = self.feed.entries(
            newest,
            self.shape,
            self.config,
            lambda number, url: self._content(self._issue(number), image_base=url),
        )
        xml = render(
            self.env,
            f"{SITE_TEMPLATES}/feed.xml",
            **self._context(self.site_url),
            entries=entries,
            updated=updated,
        )
        return {"feed.xml": xml.encode("utf-8")}

    def _sitemap(self, shown: list[Entry]) -> dict[str, bytes]:
        count = self._page_count(shown)
        xml = render(
            self.env,
            f"{SITE_TEMPLATES}/sitemap.xml",
            **self._context(self.site_url),
            pages=[_page_href(self.site_url, page) for page in range(1, count + 1)],
            entries=[(issue_url(self.config, e.number), e.date) for e in reversed(shown)],
        )
        return {"sitemap.xml": xml.encode("utf-8")}

    def _static(self) -> dict[str, bytes]:
        # The 404 page is served at any depth, so its links start from the absolute site URL.
        missing = render(self.env, f"{SITE_TEMPLATES}/404.html", **self._context(self.site_url))
        style = render(self.env, f"{SITE_TEMPLATES}/style.css")
        return {"404.html": missing.encode("utf-8"), "style.css": style.encode("utf-8")}


def _page_href(root: str, page: int) -> str:
    """The folder of index page `page`, from a page whose way to the top is `root`."""
    return root if page == 1 else f"{root}page/{page}/"


def _mailto(config: Config) -> str:
    return f"mailto:{parseaddr(config.newsletter.sender)[1]}?subject=subscribe"


def _templates_digest(root: Path, language: str) -> str:
    """A hash of what shapes the site besides the issues: the site templates (built-in and the
    newsletter's own), the language's catalog, and the code that renders."""
    named = [(f"catalog/{language}", catalog_path(language))]
    for label, base in (("builtin", BUILTIN_DIR), ("user", root / TEMPLATES_DIR)):
        folder = base / SITE_TEMPLATES
        if folder.is_dir():
            named += [(f"{label}/{p.relative_to(base)}", p) for p in sorted(folder.rglob("*"))]
    return digest(_code_digest(), _files_digest(named))


@functools.cache
def _code_digest() -> str:
    """A hash of the modules that read issues and turn them into pages and summaries, so a new
    version of weekly rebuilds everything even where no issue changed."""
    modules = (
        sys.modules[__name__],
        feed,
        markdown,
        sanitize,
        files_module,
        text,
        issue_module,
        frontmatter,
        templates_module,
        l10n,
    )
    return _files_digest([(module.__name__, Path(module.__file__ or "")) for module in modules])


def _files_digest(named: list[tuple[str, Path]]) -> str:
    sha = hashlib.sha256()
    for label, path in named:
        if path.is_file():
            sha.update(label.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()
