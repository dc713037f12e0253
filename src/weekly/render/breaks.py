"""Line breaks for a phone: `<wbr>` in runs too long for a 320 px line, no-break spaces in
short tokens, and titles that never end on a lone word. HTML only; the text part keeps words.

CSS cannot do it: Korean wants `word-break: keep-all`, and `overflow-wrap` is not honoured by
Gmail, Apple Mail or Outlook, so a 34-syllable compound or a pasted URL widened the email.
`<wbr>` (not U+200B) is used because it never reaches a reader's clipboard.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

WBR = "<wbr>"
NBSP = "\u00a0"
HANGUL_GROUP = 4  # syllables between break opportunities in a run without spaces
LATIN_GROUP = 12  # characters between break opportunities in a long word with no punctuation
LONG_RUN = 8  # Hangul runs up to this many syllables stay whole (a long compound is fine)
LONG_WORD = 18  # other runs up to this many characters stay whole

_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
# Kept whole: character references, and `%%key%%` placeholders filled in at send time.
_ATOM = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);|%%[\w.-]+%%", re.IGNORECASE)
_HANGUL_RUN = re.compile("[\uac00-\ud7a3\u3131-\u318e]{" + str(LONG_RUN + 1) + ",}")
_WORD = re.compile("[^\\s<>&\uac00-\ud7a3]{" + str(LONG_WORD + 1) + ",}")
_AFTER = re.compile(r"(?<=[/\-_.?=&])(?=[^/\-_.?=&])")
# `SB 53`, `GPT 5.2`, `소라 2`, `#324 호`: a short word and a number read as one token.
_PAIR = re.compile(r"(?<![\w.])(#?[\w]{1,4}) (#?\d[\d.,]*)(?![\d.,]*\w{2,})")
_SKIP = {"style", "script", "title"}
TABLE_BOX = '<div class="table-scroll">'


def breakable_html(html: str) -> str:
    """`html` with break opportunities in long runs and no-break spaces in short tokens, in
    text only (never tags, attributes, entities or placeholders); each outermost table goes
    in a `table-scroll` box, so a table wider than a phone scrolls instead of widening it."""
    out: list[str] = []
    skipping = tables = 0
    position = 0
    for tag in _TAG.finditer(html):
        text = html[position : tag.start()]
        out.append(text if skipping else _text(text))
        name_match = re.match(r"<(/?)([a-zA-Z0-9]+)", tag.group())
        closing, name = (
            (name_match.group(1), name_match.group(2).lower()) if name_match else ("", "")
        )
        if name == "table" and not closing:
            tables += 1
            out.append(TABLE_BOX if tables == 1 else "")
        out.append(tag.group())
        if name == "table" and closing and tables:
            tables -= 1
            out.append("</div>" if tables == 0 else "")
        if name in _SKIP:
            skipping = max(skipping + (-1 if closing else 1), 0)
        position = tag.end()
    tail = html[position:]
    out.append(_text(tail) if not skipping else tail)
    return "".join(out)


def title_html(title: str) -> Markup:
    """A title as HTML: escaped, breakable like body text, its last two words held together."""
    words = str(escape(title)).rsplit(" ", 1)
    if len(words) == 2 and " " in words[0] and len(words[1]) <= 10:
        return Markup(breakable_html(f"{words[0]}{NBSP}{words[1]}"))
    return Markup(breakable_html(str(escape(title))))


def _text(text: str) -> str:
    """One text node: atoms are kept whole while the pieces between them are broken."""
    pieces: list[str] = []
    position = 0
    for atom in _ATOM.finditer(text):
        pieces.append(_plain(text[position : atom.start()]))
        pieces.append(atom.group())
        position = atom.end()
    pieces.append(_plain(text[position:]))
    return "".join(pieces)


def _plain(text: str) -> str:
    text = _PAIR.sub(lambda m: f"{m.group(1)}{NBSP}{m.group(2)}", text)
    text = _HANGUL_RUN.sub(lambda m: _every(m.group(), HANGUL_GROUP), text)
    return _WORD.sub(lambda m: _break_word(m.group()), text)


def _break_word(word: str) -> str:
    """A long Latin word or URL: a break after `/ - _ . ? = &`, and inside any part still long."""
    parts = _AFTER.split(word)
    return WBR.join(_every(part, LATIN_GROUP) if len(part) > LONG_WORD else part for part in parts)


def _every(run: str, size: int) -> str:
    return WBR.join(run[i : i + size] for i in range(0, len(run), size))
