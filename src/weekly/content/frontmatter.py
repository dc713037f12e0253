"""YAML front matter between `---` lines (or Hugo's TOML between `+++`), with line numbers kept
for error messages."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from weekly.errors import IssueError

_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")

# libyaml's loader when PyYAML was built with it: the same safe subset, many times faster,
# which counts when the archive reads hundreds of issues.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FrontMatter:
    """The parsed mapping, the line each key is on, and the Markdown body after it."""

    values: dict[str, Any]
    key_lines: dict[str, int]
    body: str
    body_line: int


def date_value(matter: FrontMatter) -> dt.date | str | None:
    """The `date` key: a date when YAML read one (a timestamp's day), else its text; None
    when absent. Each reader parses the text its own way (an issue strictly, an import
    loosely)."""
    value = matter.values.get("date")
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return str(value).strip()


def split_front_matter(path: Path, text: str) -> FrontMatter:
    """Parse `text` (the content of `path`); a file without front matter has an empty mapping."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return FrontMatter({}, {}, text, 1)
    end = _closing_line(path, lines, ("---", "..."))
    source = "".join(lines[1:end])
    loader = _LOADER(source)
    try:  # one parse: the node tree gives key lines, the same tree gives the values
        node = loader.get_single_node()
        values = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise IssueError(path, f"invalid YAML front matter: {problem}", line) from None
    except ValueError as exc:  # well-formed YAML naming an impossible date, such as 2025-13-01
        key, line = _bad_date(node) if isinstance(node, yaml.Node) else ("date", None)
        raise IssueError(path, f"{key}: not a real date ({exc})", line) from None
    finally:
        loader.dispose()
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise IssueError(path, "front matter must be a mapping of key: value lines", 2)
    key_lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            name, line = str(key.value), key.start_mark.line + 2
            if name in key_lines:  # YAML keeps the last one silently: the editor meant one
                first = key_lines[name]
                raise IssueError(path, f"{name}: given twice (first on line {first})", line)
            key_lines[name] = line
    return FrontMatter(values, key_lines, "".join(lines[end + 1 :]), end + 2)


def _bad_date(node: yaml.Node) -> tuple[str, int | None]:
    """The key and line of the first value in `node` that looks like a date but is none."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if value.tag == "tag:yaml.org,2002:timestamp":
                try:
                    yaml.SafeLoader("").construct_yaml_timestamp(value)
                except ValueError:
                    return str(key.value), value.start_mark.line + 2
    return "date", None


def join_front_matter(values: dict[str, Any], body: str) -> str:
    """The text of a Markdown file with `values` as YAML front matter above `body`."""
    yaml_text = yaml.safe_dump(values, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{yaml_text}---\n{body.strip()}\n" if body.strip() else f"---\n{yaml_text}---\n"


def split_toml_front_matter(path: Path, text: str) -> FrontMatter | None:
    """Hugo's other front matter, TOML between `+++` lines; None when `text` has none."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "+++":
        return None
    end = _closing_line(path, lines, ("+++",))
    try:
        values = tomllib.loads("".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        problem, _, where = str(exc).partition(" (at line ")
        line = int(where.split(",")[0]) + 1 if where else 1
        raise IssueError(path, f"invalid TOML front matter: {problem}", line) from None
    key_lines: dict[str, int] = {}
    for index, text_line in enumerate(lines[1:end], start=1):
        if found := _TOML_KEY.match(text_line):
            key_lines.setdefault(found[1], index + 1)  # top-level keys come before any table
    return FrontMatter(values, key_lines, "".join(lines[end + 1 :]), end + 2)


def _closing_line(path: Path, lines: list[str], marks: tuple[str, ...]) -> int:
    """Index of the line that closes front matter opened by `lines[0]`."""
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip("\r\n") in marks:
            return index
    opening = lines[0].strip()
    raise IssueError(path, f"front matter starts with {opening} but never ends with {opening}", 1)
