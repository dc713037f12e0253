"""`weekly preview`: keep the composed issue and a drafts-included archive fresh while the editor
writes, recomposing whenever an issue file, a template or `weekly.toml` changes.

Each refresh makes a Snapshot holding everything the browser is shown, ready to serve;
`preview_http` serves the newest one and tells open pages to reload when it changes.
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from weekly.config import CONFIG_NAME, Config, load_config
from weekly.errors import WeeklyError
from weekly.placeholders import EMAIL, NAME, UNSUBSCRIBE_URL, Filler
from weekly.project import ISSUES_DIR, STATE_DIR, TEMPLATES_DIR
from weekly.publish.archive import build_archive
from weekly.render.compose import compose_to_build
from weekly.render.jinja import environment, render

PREVIEW_SITE = Path(STATE_DIR) / "preview" / "site"
SITE_PREFIX = "/site/"
# Short enough for "saved → page updated" well within 2 s, long enough to batch one save.
DEBOUNCE_MS = 150
_DARK_QUERY = re.compile(r"prefers-color-scheme\s*:\s*dark", re.IGNORECASE)
_LIGHT_QUERY = re.compile(r"prefers-color-scheme\s*:\s*light", re.IGNORECASE)


@dataclass(frozen=True)
class Snapshot:
    """One attempt to render the issue, as the browser is shown it.

    After an error the last good email stays, so the editor still sees it beside the error.
    """

    version: int
    number: int | None = None
    subject: str = ""
    preheader: str = ""
    email_html: str = ""
    text: str = ""
    warnings: tuple[str, ...] = ()
    error: str | None = None
    page: str = ""


@dataclass
class Previewer:
    """The newest snapshot of issue `number` (None: the newest issue) and who waits for it."""

    root: Path
    number: int | None
    snapshot: Snapshot = field(default_factory=lambda: Snapshot(version=0))
    language: str = "en"
    closed: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _refreshing: threading.Lock = field(default_factory=threading.Lock)

    @property
    def site_dir(self) -> Path:
        """Where the preview's archive (drafts included) is built and served from."""
        return self.root / PREVIEW_SITE

    def refresh(self) -> Snapshot:
        """Recompose the issue and rebuild the archive, then wake everyone waiting."""
        with self._refreshing:
            return self._refresh()

    def _refresh(self) -> Snapshot:
        old = self.snapshot
        composed: list[Snapshot] = []
        errors = [
            _failure(lambda: composed.append(self._compose())),
            # Its own step: a half-written other issue must not hide this issue's email.
            _failure(lambda: build_archive(self.root, self.site_dir, drafts=True)),
        ]
        new = composed[0] if composed else old
        error = "\n\n".join(filter(None, errors)) or None
        new = dataclasses.replace(new, version=old.version + 1, error=error)
        new = dataclasses.replace(new, page=self._page(new))
        with self._changed:
            self.snapshot = new
            self._changed.notify_all()
        return new

    def _compose(self) -> Snapshot:
        """Compose the issue and make its parts ready to show (version and page come later)."""
        config = load_config(self.root)
        self.language = config.newsletter.language
        summary = compose_to_build(self.root, self.number)
        composed = summary.rendered  # what was just written, without reading it back
        values = _sample_values(config)
        return Snapshot(
            version=0,
            number=summary.number,
            subject=composed.subject,
            preheader=composed.preheader,
            email_html=_served_locally(
                Filler(composed.html, escape_html=True).fill(values), config
            ),
            text=Filler(composed.text, escape_html=False).fill(values),
            warnings=tuple(summary.warnings),
        )

    def _page(self, snapshot: Snapshot) -> str:
        """The preview page; if its own template fails, a bare page that still reloads."""
        try:
            env = environment(self.root, self.language)
            return render(
                env,
                "preview/page.html",
                snapshot=snapshot,
                site=SITE_PREFIX,
                language=self.language,
            )
        except WeeklyError as exc:
            problems = "\n\n".join(filter(None, [exc.message, snapshot.error]))
            return (
                f'<!doctype html><meta charset="utf-8"><meta name="weekly-version" '
                f'content="{snapshot.version}"><title>weekly preview</title>'
                f'<pre role="alert">{html.escape(problems)}</pre>'
                '<script src="/preview.js"></script>'
            )

    def wait_for_change(self, version: int, timeout: float) -> Snapshot:
        """The snapshot once its version is not `version` (a page from before a restart counts
        too), or the current one after `timeout`."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.closed or self.snapshot.version != version, timeout=timeout
            )
            return self.snapshot

    def close(self) -> None:
        """Release every waiter: the server is stopping."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def watch(self, stop: threading.Event) -> None:
        """Refresh after every batch of saves until `stop` is set: the issues and templates are
        watched as trees, `weekly.toml` through its folder, since editors replace it on save."""
        trees = [
            path for path in (self.root / ISSUES_DIR, self.root / TEMPLATES_DIR) if path.is_dir()
        ]
        settings = threading.Thread(
            target=self._refresh_on_changes,
            args=(stop, [self.root], False, lambda _change, path: Path(path).name == CONFIG_NAME),
            name="preview-watch-settings",
        )
        settings.start()
        self._refresh_on_changes(stop, trees, True, watchfiles.DefaultFilter())
        settings.join()

    def _refresh_on_changes(
        self,
        stop: threading.Event,
        paths: list[Path],
        recursive: bool,
        accept: Callable[[watchfiles.Change, str], bool],
    ) -> None:
        for _changes in watchfiles.watch(
            *paths,
            watch_filter=accept,
            recursive=recursive,
            stop_event=stop,
            debounce=DEBOUNCE_MS,
            step=50,
            raise_interrupt=False,
        ):
            self.refresh()


def _failure(step: Callable[[], object]) -> str | None:
    """None when `step` ran; otherwise what went wrong, worded for the editor."""
    try:
        step()
    except WeeklyError as exc:
        return exc.message
    except Exception:  # a bug shows in the page too, rather than ending the editor's session
        return traceback.format_exc(limit=-4)
    return None


def dark_variant(email_html: str) -> str:
    """The email as a client in dark mode applies it: its dark-mode CSS on, its light-only off."""
    return _LIGHT_QUERY.sub("max-width: 0px", _DARK_QUERY.sub("min-width: 0px", email_html))


def _sample_values(config: Config) -> dict[str, str]:
    """What a subscriber's copy would carry, for a reader named nobody in particular."""
    return {
        NAME: "",
        EMAIL: "reader@example.com",
        UNSUBSCRIBE_URL: config.unsubscribe.url.replace("{token}", "preview"),
    }


def _served_locally(email_html: str, config: Config) -> str:
    """Point the email's archive links and images at the preview's own copy of the archive."""
    return email_html.replace(config.newsletter.site_url, SITE_PREFIX)


def run_preview(
    root: Path, number: int | None, port: int, open_browser: bool, announce: Callable[[str], None]
) -> None:
    """Serve the preview on 127.0.0.1:`port` until interrupted; `announce` gets its address."""
    import webbrowser

    from weekly.web.preview_http import PreviewServer

    previewer = Previewer(root, number)
    previewer.refresh()
    with PreviewServer(previewer, port) as server:
        announce(f"Previewing at {server.url} (Ctrl-C stops)")
        if open_browser:
            webbrowser.open(server.url)
        server.wait()
