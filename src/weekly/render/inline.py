"""CSS inlining with premailer, set up for email: offline, keeping media queries and doctype."""

from __future__ import annotations

import logging

from premailer import Premailer

DOCTYPE = "<!doctype html>"


def inline_css(html: str) -> str:
    """Move `<style>` rules onto the elements; `@media` rules (phones, dark mode) stay in `<style>`.

    Network is off so a stray remote stylesheet fails loudly instead of being fetched, and
    `!important` is kept because the dark-mode rules need it to beat the inlined light colours,
    and CSS `width`/`height` never become attributes: `height="auto"` is invalid, and either
    would replace the real pixel size an image carries for Outlook.
    """
    inliner = Premailer(
        html,
        allow_network=False,
        allow_loading_external_files=False,
        strip_important=False,
        keep_style_tags=False,
        disable_validation=True,
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    )
    out = str(inliner.transform(pretty_print=False))
    if not out.lstrip().lower().startswith("<!doctype"):
        out = f"{DOCTYPE}\n{out}"
    return out
