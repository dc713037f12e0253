"""`weekly.toml` described from its declarations: every table and setting with type,
default and `doc=`, and the values in effect, for `weekly config` and the README table."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from dataclasses import MISSING, dataclass
from typing import Any, Literal

from weekly.config import Config
from weekly.config_tables import is_table, table_fields, toml_key


@dataclass(frozen=True)
class SettingDoc:
    """One table or setting of `weekly.toml` as documented where it is declared."""

    key: str  # dotted, as errors name it: delivery.port
    kind: str  # string, integer, number, the choices of a Literal, or table
    required: bool
    default: str  # as TOML writes it; empty for a table or a required setting
    doc: str


def settings_docs(cls: type = Config, prefix: tuple[str, ...] = ()) -> Iterator[SettingDoc]:
    """Every table and setting in declaration order, with type, default and `doc=`."""
    hints = typing.get_type_hints(cls)
    for f in table_fields(cls):
        keys, kind = (*prefix, toml_key(f)), hints[f.name]
        required = f.default is MISSING
        table = is_table(kind)
        default = "" if required or table else _toml_literal(f.default)
        name = "table" if table else _kind_name(kind)
        yield SettingDoc(".".join(keys), name, required, default, str(f.metadata["doc"]))
        if table:
            yield from settings_docs(kind, keys)


def toml_lines(settings: object) -> Iterator[str]:
    """`settings` (a Config) as the lines of a weekly.toml that loads to the same values."""
    table = ""
    for key, value in _values(settings):
        section, _, name = key.rpartition(".")
        if section != table:
            yield f"\n[{section}]"
            table = section
        yield f"{name} = {_toml_literal(value)}"


def _values(settings: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every setting in effect, in declaration order."""
    for f in table_fields(type(settings)):
        keys, value = (*prefix, toml_key(f)), getattr(settings, f.name)
        if is_table(type(value)):
            yield from _values(value, keys)
        else:
            yield ".".join(keys), value


def _toml_literal(value: Any) -> str:
    """`value` as weekly.toml would spell it: JSON's string escapes are valid TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _kind_name(kind: Any) -> str:
    if typing.get_origin(kind) is Literal:
        return " | ".join(map(str, typing.get_args(kind)))
    return {str: "string", int: "integer", float: "number", bool: "boolean"}[kind]
