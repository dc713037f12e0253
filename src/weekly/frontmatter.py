"""YAML front matter between `---` lines, with line numbers kept for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from weekly.errors import IssueError

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


def split_front_matter(path: Path, text: str) -> FrontMatter:
    """Parse `text` (the content of `path`); a file without front matter has an empty mapping."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return FrontMatter({}, {}, text, 1)
    end = next(
        (i for i, line in enumerate(lines) if i and line.rstrip("\r\n") in ("---", "...")), 0
    )
    if not end:
        raise IssueError(path, "front matter starts with --- but never ends with ---", 1)
    source = "".join(lines[1:end])
    try:
        node = yaml.compose(source, Loader=_LOADER)
        values = yaml.load(source, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise IssueError(path, f"invalid YAML front matter: {problem}", line) from None
    if values is None:
        values, node = {}, None
    if not isinstance(values, dict):
        raise IssueError(path, "front matter must be a mapping of key: value lines", 2)
    key_lines = {}
    if isinstance(node, yaml.MappingNode):
        key_lines = {str(k.value): k.start_mark.line + 2 for k, _ in node.value}
    return FrontMatter(values, key_lines, "".join(lines[end + 1 :]), end + 2)
