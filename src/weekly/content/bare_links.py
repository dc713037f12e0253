"""Make the links of imported text real Markdown links: bare URLs and `[1] https://…` lists."""

from __future__ import annotations

import re

from weekly.content.markdown import parse

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_INLINE = re.compile(
    r"(?P<keep>(?P<ticks>`+).*?(?P=ticks)"  # a code span
    r"|!?\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])"  # an inline or reference link, an image
    r"|<[^<>\n]*>)"  # an autolink or an HTML tag
    rf"|(?P<url>https?://{_URL_CHARS}+)"
)
_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:")
_REFERENCE = re.compile(r"^[ \t]*\[(?P<label>\d{1,3})\][ \t]+(?P<rest>.*https?://.*)$")
_TRAILING = ".,:;!?'\"*_~"
_PAIRS = {")": "(", "]": "["}
_SEPARATORS = " \t,:;|-–—"
_LITERAL_BLOCKS = {"fence", "code_block", "html_block"}


def link_markdown(markdown: str) -> str:
    """Rewrite `markdown` so every bare URL is an autolink and each `[n] URL title` line is a
    list item `- [n] [title](URL)`; code and existing links are left alone.

    Mail clients and the plain-text part only know a link when the Markdown says so, and a
    run of reference lines would otherwise collapse into one paragraph.
    """
    literal: set[int] = set()
    for token in parse(markdown):
        if token.type in _LITERAL_BLOCKS and token.map:
            literal.update(range(*token.map))
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if index in literal or _DEFINITION.match(line):
            continue
        reference = _REFERENCE.match(line)
        if reference:
            lines[index] = f"- [{reference['label']}] {_reference_target(reference['rest'])}"
        else:
            lines[index] = _link_bare_urls(line)
    return "\n".join(lines)


def _link_bare_urls(line: str) -> str:
    return _INLINE.sub(_replace, line)


def _replace(match: re.Match[str]) -> str:
    if match["keep"]:
        return match["keep"]
    url, tail = _trim(match["url"])
    return f"<{url}>{tail}"


def _trim(url: str) -> tuple[str, str]:
    """Split off what ends a sentence rather than a URL: final punctuation, unmatched ) or ]."""
    end = len(url)
    while end:
        last = url[end - 1]
        opener = _PAIRS.get(last)
        if last in _TRAILING or (opener and url.count(last, 0, end) > url.count(opener, 0, end)):
            end -= 1
        else:
            break
    return url[:end], url[end:]


def _reference_target(rest: str) -> str:
    """`title URL` or `URL title` becomes `[title](URL)`; anything richer just gets linked."""
    matches = list(_INLINE.finditer(rest))
    if len(matches) != 1 or not matches[0]["url"]:
        return _link_bare_urls(rest)
    match = matches[0]
    url, tail = _trim(match["url"])
    around = (rest[: match.start()], tail + rest[match.end() :])
    title = " ".join(part.strip(_SEPARATORS + _TRAILING) for part in around).strip()
    if not title:
        return f"<{url}>"
    escaped = title.replace("[", r"\[").replace("]", r"\]")
    return f"[{escaped}]({url})"
