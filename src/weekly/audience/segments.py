"""Segments: `ai and not (beta or lang:en)` chooses part of the list. A tokenizer and a
recursive-descent parser turn the text into one predicate, compiled once per send, so each
row costs a few set look-ups; every error names the column where the text goes wrong."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from weekly.audience.subscriber_list import Subscriber
from weekly.errors import WeeklyError
from weekly.tags import RESERVED, TagError, check_tag

LANG_COLUMN = "lang"  # the list column holding a reader's language (`ko`, `en-GB`)
FIELDS = ("lang",)  # what may stand before a colon

# (tags, language) -> whether the reader is in the segment
Test = Callable[[frozenset[str], str], bool]

_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[^\W_][\w-]*(?::[\w-]*)?)|(?P<other>\S))")
_END = "end"


class SegmentError(WeeklyError):
    """A segment expression that does not parse; `reason` ends with the column."""

    def __init__(self, reason: str, column: int) -> None:
        self.reason = f"{reason} at column {column}"
        super().__init__(self.reason)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "(", ")", "and", "or", "not", "tag", "field", or _END
    text: str
    column: int  # 1-based


def tokens(text: str) -> Iterator[Token]:
    """The tokens of `text`, then one end token; an unknown character is an error."""
    position = 0
    while match := _TOKEN.match(text, position):
        position = match.end()
        column = match.start(match.lastgroup or 0) + 1
        if match["paren"]:
            yield Token(match["paren"], match["paren"], column)
        elif word := match["word"]:
            lowered = word.lower()
            kind = lowered if lowered in RESERVED else "field" if ":" in word else "tag"
            yield Token(kind, word, column)
        else:
            raise SegmentError(f'unexpected "{match["other"]}"', column)
    yield Token(_END, "", len(text.rstrip()) + 1)


class _Parser:
    """expression := term ("or" term)*;  term := factor ("and" factor)*;
    factor := "not" factor | "(" expression ")" | tag | lang:code"""

    def __init__(self, text: str) -> None:
        self.tokens = list(tokens(text))
        self._at = 0
        self._previous: Token | None = None

    def parse(self) -> Test:
        test = self._expression()
        token = self._peek()
        if token.kind == ")":
            raise SegmentError('unexpected ")" with no "(" before it', token.column)
        if token.kind != _END:
            raise SegmentError(f'expected "and" or "or" before "{token.text}"', token.column)
        return test

    def _peek(self) -> Token:
        return self.tokens[self._at]

    def _take(self) -> Token:
        token = self.tokens[self._at]
        self._at += 1
        self._previous = token
        return token

    def _expression(self) -> Test:
        return self._chain("or", self._term, _any)

    def _term(self) -> Test:
        return self._chain("and", self._factor, _all)

    def _chain(
        self, word: str, part: Callable[[], Test], combine: Callable[[list[Test]], Test]
    ) -> Test:
        """`part` (`word` `part`)*, combined; a single part stands alone."""
        parts = [part()]
        while self._peek().kind == word:
            self._take()
            parts.append(part())
        return parts[0] if len(parts) == 1 else combine(parts)

    def _factor(self) -> Test:
        token = self._peek()
        if token.kind == "not":
            self._take()
            inner = self._factor()
            return lambda tags, lang: not inner(tags, lang)
        if token.kind == "(":
            self._take()
            inner = self._expression()
            close = self._peek()
            if close.kind != ")":
                opened = f'expected ")" to close the "(" of column {token.column}'
                raise SegmentError(opened, close.column)
            self._take()
            return inner
        if token.kind == "tag":
            self._take()
            return _has_tag(token)
        if token.kind == "field":
            self._take()
            return _field(token)
        if self._previous is not None:
            raise SegmentError(f'expected a tag after "{self._previous.text}"', token.column)
        before = f' before "{token.text}"' if token.kind != _END else ""
        raise SegmentError(f"expected a tag{before}", token.column)


def _has_tag(token: Token) -> Test:
    try:
        tag = check_tag(token.text)
    except TagError as exc:
        raise SegmentError(str(exc), token.column) from None
    return lambda tags, lang: tag in tags


def _field(token: Token) -> Test:
    name, _, value = token.text.partition(":")
    if name.lower() not in FIELDS:
        known = ", ".join(f"{f}:" for f in FIELDS)
        raise SegmentError(f'unknown field "{name}:" (known: {known})', token.column)
    code = value.lower()
    if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", code):
        column = token.column + len(name) + 1
        raise SegmentError(f'expected a language code such as ko after "{name}:"', column)
    prefix = code + "-"
    return lambda tags, lang: lang == code or lang.startswith(prefix)


def _any(parts: list[Test]) -> Test:
    """One test true when any of `parts` is: nested pairs, no generator per row."""
    return functools.reduce(lambda a, b: lambda tags, lang: a(tags, lang) or b(tags, lang), parts)


def _all(parts: list[Test]) -> Test:
    """One test true when all of `parts` are."""
    return functools.reduce(lambda a, b: lambda tags, lang: a(tags, lang) and b(tags, lang), parts)


@dataclass(frozen=True)
class Segment:
    """A parsed expression and the language a row without a `lang` value counts as."""

    expression: str
    test: Test
    default_lang: str
    uses_lang: bool  # else a row's language is never looked up

    @classmethod
    def parse(cls, expression: str, default_lang: str) -> Segment:
        """Compile `expression`; SegmentError (with the column) when it does not parse."""
        parser = _Parser(expression)
        test = parser.parse()
        uses_lang = any(token.kind == "field" for token in parser.tokens)
        return cls(" ".join(expression.split()), test, default_lang.lower(), uses_lang)

    def admits(self, subscriber: Subscriber) -> bool:
        """Whether `subscriber` is in the segment."""
        if not self.uses_lang:
            return self.test(subscriber.tags, "")
        lang = subscriber.fields.get(LANG_COLUMN, "").strip().lower() or self.default_lang
        return self.test(subscriber.tags, lang)
