"""How `weekly.toml`'s tables become settings dataclasses: the declaration of one setting, and
the reading of a table into its class with keys, types and checks, each error at its line."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any, Literal

from weekly.control import control_character
from weekly.errors import ConfigError


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    key: str | None = None,
    lines: bool = False,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """Declare one setting: its default (none means required), what it is for, its TOML key,
    whether it may span lines (most strings end up in mail headers, where a line break would
    start a header of the editor's own), and the check its value must pass beyond its type."""
    return field(default=default, metadata={"doc": doc, "key": key, "lines": lines, "check": check})


class KeyLocator:
    """Finds the line where a dotted key is written, so errors can point at it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, keys: tuple[str, ...]) -> int | None:
        table: tuple[str, ...] = ()
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", line)  # [[x]] too: refused
            if header:
                table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
                if table == keys:
                    return number
                continue
            assign = re.match(r"([A-Za-z0-9_\-\"]+)\s*=", line)
            if assign and (*table, assign.group(1).strip('"')) == keys:
                return number
        return None

    def error(self, keys: tuple[str, ...], message: str) -> ConfigError:
        line = self.line_of(keys) or self.line_of(keys[:-1])
        return ConfigError(self.path, f"{'.'.join(keys)}: {message}", line)


def table_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of a settings table that `weekly.toml` sets, in declaration order."""
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def toml_key(f: dataclasses.Field[Any]) -> str:
    """The TOML key of a setting (its field name unless declared otherwise)."""
    return str(f.metadata.get("key") or f.name)


def is_table(kind: Any) -> bool:
    """Whether a setting's declared type is a table of further settings."""
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def build_table(cls: type, data: Any, prefix: tuple[str, ...], locate: KeyLocator) -> Any:
    """Turn one TOML table into the dataclass `cls`, checking keys, types and required values."""
    if not isinstance(data, dict):
        raise locate.error(prefix, "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {toml_key(f): f for f in table_fields(cls)}
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise locate.error((*prefix, key), f"unknown setting (known: {known})")
    values: dict[str, Any] = {}
    for key, f in fields.items():
        keys = (*prefix, key)
        kind = hints[f.name]
        if key not in data:
            if f.default is dataclasses.MISSING:
                raise locate.error(keys, "required setting is missing")
            continue
        if is_table(kind):
            values[f.name] = build_table(kind, data[key], keys, locate)
        else:
            value = _check_value(kind, data[key], keys, locate)
            bad = control_character(value) if isinstance(value, str) else None
            if bad and not f.metadata.get("lines"):
                raise locate.error(keys, f"must be one line, without control characters ({bad!r})")
            values[f.name] = value
    obj = cls(**values)
    _validate_meaning(obj, prefix, locate)
    return obj


def _check_value(kind: Any, value: Any, keys: tuple[str, ...], locate: KeyLocator) -> Any:
    """Check one scalar against its declared type; ints are accepted where floats are."""
    if typing.get_origin(kind) is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            options = " | ".join(map(str, choices))
            raise locate.error(keys, f"must be one of {options}, not {value!r}")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise locate.error(keys, f"must be a finite number, not {value}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise locate.error(keys, f"must be {_type_name(kind)}, not {_type_name(type(value))}")
    return value


def _type_name(kind: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _validate_meaning(obj: Any, prefix: tuple[str, ...], locate: KeyLocator) -> None:
    """The checks beyond the type each setting of `obj` declares (after its table's
    all-or-none rule, if it has one)."""
    together = getattr(obj, "together", ())
    if any(getattr(obj, name) for name in together):
        for name in together:
            if not getattr(obj, name):
                raise locate.error((*prefix, name), f"required when [{'.'.join(prefix)}] is used")
    for f in table_fields(type(obj)):
        check = f.metadata.get("check")
        problem = check(getattr(obj, f.name)) if check is not None else None
        if problem is not None:
            raise locate.error((*prefix, toml_key(f)), problem)
