"""Atomic writes: a failure part-way leaves what was there before, and no temporary file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from weekly.files import replace_folder, replacing, staging_folder, write_file


class Boom(Exception):
    pass


def test_write_file_replaces_whole_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "page.html"
    write_file(target, b"old")
    write_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["page.html"]


def test_private_mode_is_kept(tmp_path: Path) -> None:
    key = write_file(tmp_path / "key.pem", b"secret", mode=0o600)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(Boom), replacing(target) as temp:
        temp.write_text("half", encoding="utf-8")
        raise Boom
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["list.csv"]


def test_a_failed_folder_replacement_leaves_the_old_folder(tmp_path: Path) -> None:
    folder = tmp_path / "build" / "324"
    replace_folder(folder, {"email.html": "<p>old</p>", "img/a.png": b"\x89PNG"})
    with pytest.raises(TypeError):
        replace_folder(folder, {"email.html": "<p>new</p>", "broken": 42})  # type: ignore[dict-item]
    assert (folder / "email.html").read_text(encoding="utf-8") == "<p>old</p>"
    assert [p.name for p in folder.parent.iterdir()] == ["324"]
    replace_folder(folder, {"email.html": "<p>new</p>"})
    assert sorted(p.name for p in folder.iterdir()) == ["email.html"]


def test_staging_folder_is_gone_after_the_block(tmp_path: Path) -> None:
    with pytest.raises(Boom), staging_folder(tmp_path, ".stage-") as staging:
        (staging / "half").write_text("x", encoding="utf-8")
        raise Boom
    assert list(tmp_path.iterdir()) == []
