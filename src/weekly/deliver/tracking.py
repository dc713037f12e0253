"""Click and open tracking at send: the composed parts rewritten once per send (tracked links,
the open pixel), then each reader costs only the visitor marks filled into their copy."""

from __future__ import annotations

from weekly.audience.subscriber_list import Subscriber
from weekly.audience.tokens import visitor_mark
from weekly.config import Config, TrackingMode
from weekly.errors import WeeklyError
from weekly.l10n import translations
from weekly.placeholders import CLICK_MARK, OPEN_MARK, TRACKING_NOTE, placeholder
from weekly.render.composed import Composed
from weekly.render.links import click_path, links_of, open_path, rewrite_html, rewrite_text

CONSENT_COLUMN = "tracking"  # subscribers.csv: yes for a reader who agreed to be counted by name
_YES = frozenset({"yes", "y", "true", "1", "예", "네"})
NOTE = (
    "As you agreed, this newsletter counts what you click or open under your address; "
    "reply to this mail to stop it."
)
PIXEL = (
    '<img src="{src}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
)


def agreed(subscriber: Subscriber) -> bool:
    """Whether the reader agreed to per-subscriber counts (the list's `tracking` column)."""
    return subscriber.fields.get(CONSENT_COLUMN, "").strip().lower() in _YES


class Tracker:
    """One send's tracking: `parts` rewrites the composed HTML and text once; `values` gives
    one reader's marks (signed: a forged one gets no redirect and no count)."""

    def __init__(self, config: Config, composed: Composed, secret: bytes) -> None:
        self._clicks: TrackingMode = config.tracking.clicks
        self._opens: TrackingMode = config.tracking.opens
        self._secret = secret
        self._site = config.newsletter.site_url
        self._number = composed.number
        self._links = links_of(config.root, composed.number) if self._clicks != "off" else []
        self._per_reader = config.tracking.per_subscriber
        if self._per_reader and placeholder(TRACKING_NOTE) not in composed.html:
            raise WeeklyError(
                f"issue {composed.number}: tracking per subscriber needs the footer's note "
                f"({placeholder(TRACKING_NOTE)}): run `weekly compose {composed.number}`"
            )
        self._note = translations(config.newsletter.language).gettext(NOTE)

    def parts(self, html: str, text: str) -> tuple[str, str]:
        """The HTML and text parts as every reader gets them, marks left as placeholders."""
        if self._links:
            mark = placeholder(CLICK_MARK)

            def url(number: int) -> str:
                return self._site + click_path(self._number, number, mark)

            html, text = rewrite_html(html, self._links, url), rewrite_text(text, self._links, url)
        if self._opens != "off":
            src = self._site + open_path(self._number, placeholder(OPEN_MARK))
            pixel = PIXEL.format(src=src)
            end = html.rfind("</body>")
            html = html[:end] + pixel + html[end:] if end >= 0 else html + pixel
        return html, text

    def values(self, subscriber: Subscriber, made: int) -> dict[str, str]:
        """One reader's marks (one mark for both unless only one of them names the reader)
        and, when something counts them by name, the footer's note."""
        named = self._per_reader and agreed(subscriber)
        click = subscriber.key if named and self._clicks == "subscriber" else None
        opened = subscriber.key if named and self._opens == "subscriber" else None
        mark = visitor_mark(self._secret, click, made)
        other = mark if opened == click else visitor_mark(self._secret, opened, made)
        return {CLICK_MARK: mark, OPEN_MARK: other, TRACKING_NOTE: self._note if named else ""}
