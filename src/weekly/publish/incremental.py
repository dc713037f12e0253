"""Publish a static site incrementally: write only files whose bytes changed, drop stale ones.

Output is grouped in units (an issue page with its images, the index, the feed …). A manifest
inside the output folder remembers each unit's input digest and the files it made, so an
unchanged unit is not even rendered, and files no unit makes any more are removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weekly.errors import WeeklyError
from weekly.files import write_file

MANIFEST_NAME = ".weekly-manifest.json"
MANIFEST_FORMAT = 1


def digest(*parts: Any) -> str:
    """A stable hash of JSON-able `parts` (dates and paths as strings)."""
    data = json.dumps(parts, default=str, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Unit:
    """Files rendered together from the same inputs; `render` runs only when `inputs` changed."""

    key: str
    inputs: str
    render: Callable[[], dict[str, bytes]]


@dataclass
class Manifest:
    """What the last build left in the output folder, plus a cache its builder may keep there."""

    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """What one publish did, by site-relative path."""

    written: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    ignored: tuple[str, ...] = ()  # manifest entries pointing outside the output folder


def load_manifest(out: Path) -> Manifest:
    """The manifest of the site in `out`; empty when there is none or it is from another format."""
    path = out / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return Manifest()
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return Manifest()
    return Manifest(units=data["units"], files=data["files"], cache=data["cache"])


def inside(out: Path, name: str) -> Path | None:
    """`out / name` when it stays inside `out` (no `..`, not absolute, no symlink leading
    out), else None: a manifest is a file anyone could edit, so its names are checked."""
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts:
        return None
    path = out / name
    return path if path.resolve().is_relative_to(out.resolve()) else None


def publish(out: Path, old: Manifest, units: Iterable[Unit], cache: dict[str, Any]) -> Report:
    """Bring `out` up to date with `units`; nothing is written unless every render succeeded."""
    units = list(units)
    keys = [unit.key for unit in units]
    if len(set(keys)) != len(keys):
        raise ValueError("unit keys must be unique")
    ignored = sorted(name for name in old.files if inside(out, name) is None)
    old = _without(old, set(ignored))
    new = Manifest(cache=cache)
    rendered: dict[str, bytes] = {}
    for unit in units:
        before = old.units.get(unit.key)
        if before and before["inputs"] == unit.inputs and _intact(out, old, before["files"]):
            new.units[unit.key] = before
            new.files.update({name: old.files[name] for name in before["files"]})
            continue
        files = unit.render()
        _check_names(unit.key, files, rendered)
        rendered.update(files)
        new.units[unit.key] = {"inputs": unit.inputs, "files": sorted(files)}
    written = []
    for name, content in rendered.items():
        sha = hashlib.sha256(content).hexdigest()
        previous = old.files.get(name)
        if previous and previous["sha"] == sha and _intact(out, old, [name]):
            new.files[name] = previous
            continue
        target = inside(out, name)
        if target is None:
            raise WeeklyError(f"{out / name}: leads outside {out}, not written")
        new.files[name] = {"sha": sha, **_stat(write_file(target, content))}
        written.append(name)
    removed = sorted(set(old.files) - set(new.files))
    for name in removed:
        _remove(out, name)
    _save(out, old, new, changed=bool(ignored))
    unchanged = len(new.files) - len(written)
    return Report(tuple(sorted(written)), tuple(removed), unchanged, tuple(ignored))


def _without(manifest: Manifest, names: set[str]) -> Manifest:
    """`manifest` with `names` forgotten, and every unit that listed one of them, so those
    units render again."""
    if not names:
        return manifest
    units = {k: u for k, u in manifest.units.items() if not names & set(u.get("files", []))}
    files = {k: v for k, v in manifest.files.items() if k not in names}
    return Manifest(units=units, files=files, cache=manifest.cache)


def _check_names(key: str, files: dict[str, bytes], taken: dict[str, bytes]) -> None:
    for name in files:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or name == MANIFEST_NAME:
            raise ValueError(f"{key}: unsafe output path {name!r}")
        if name in taken:
            raise WeeklyError(f"two parts of the site both write {name}")


def _intact(out: Path, manifest: Manifest, names: Iterable[str]) -> bool:
    """True when every file is on disk exactly as the manifest recorded it (size and mtime)."""
    for name in names:
        recorded = manifest.files.get(name)
        try:
            stat = (out / name).stat()
        except OSError:
            return False
        if not recorded or (recorded["size"], recorded["mtime_ns"]) != (
            stat.st_size,
            stat.st_mtime_ns,
        ):
            return False
    return True


def _stat(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _remove(out: Path, name: str) -> None:
    """Delete a file the site no longer has, then any folders that left empty."""
    path = inside(out, name)
    if path is None:
        return
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _save(out: Path, old: Manifest, new: Manifest, *, changed: bool = False) -> None:
    if not changed and (old.units, old.files, old.cache) == (new.units, new.files, new.cache):
        return
    data = {"format": MANIFEST_FORMAT, "units": new.units, "files": new.files, "cache": new.cache}
    write_file(out / MANIFEST_NAME, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
