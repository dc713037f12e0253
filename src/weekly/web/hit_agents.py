"""Who made a hit: the reader, a mail provider's proxy fetching images for them (a machine
open), or a link scanner or crawler (a bot), told by method, user agent and timing."""

from __future__ import annotations

import re
from functools import lru_cache

from weekly.store.hits import BOT, CLICK, HUMAN, MACHINE

# Image proxies that fetch for a reader: Gmail's ("... (via ggpht.com GoogleImageProxy)"),
# Yahoo's and Outlook.com's. They hide whether and when the reader looked.
_IMAGE_PROXY = re.compile(r"GoogleImageProxy|YahooMailProxy|OutlookImageProxy", re.IGNORECASE)
# Apple Mail Privacy Protection fetches every image through Apple's relay at delivery with
# Mail's bare WebKit agent: a Mac's AppleWebKit/605.1.15 with no browser token after it.
_APPLE_MAIL = re.compile(
    r"Mozilla/5\.0 \(Macintosh; Intel Mac OS X [\d_]+\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\)"
)
# Security gateways and link checkers that fetch every link of a message, crawlers and
# scripts. Browsers never send these words.
_SCANNER = re.compile(
    r"bot\b|bot/|crawl|spider|scan|preview|headless|python|curl/|wget/|go-http-client|java/"
    r"|libwww|okhttp|httpclient|axios|node-fetch|mimecast|barracuda|proofpoint|forcepoint"
    r"|symantec|messagelabs|trend ?micro|fortiguard|sophos|ironport|appriver|zscaler"
    r"|safelinks|microsoft office|ms-office|google-safety|facebookexternalhit|slack",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _by_agent(kind: str, user_agent: str) -> str | None:
    """BOT or MACHINE when the user agent alone says so (few agents, many hits: cached)."""
    if not user_agent.strip() or _SCANNER.search(user_agent):
        return BOT
    if _IMAGE_PROXY.search(user_agent) or _APPLE_MAIL.fullmatch(user_agent.strip()):
        return BOT if kind == CLICK else MACHINE  # a proxy does not click
    return None


def classify(kind: str, method: str, user_agent: str, age: float, scanner_seconds: float) -> str:
    """HUMAN, MACHINE or BOT for one hit of `kind`, `age` seconds after its message was made."""
    if method == "HEAD":
        return BOT
    by_agent = _by_agent(kind, user_agent)
    if by_agent is not None:
        return by_agent
    return BOT if age < scanner_seconds else HUMAN
