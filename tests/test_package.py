"""The package as a user installs it: the sdist and the wheel carry every file weekly reads,
and the wheel alone, in a fresh venv, starts a newsletter, composes, archives and sends."""

from __future__ import annotations

import mailbox
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pytest

from .conftest import REPO
from .smtp import SECRET, configure, free_port

PACKAGE = REPO / "src" / "weekly"
# Every folder of files the package reads at run time, besides its modules.
DATA_DIRS = ("templates", "locales")
# This checkout must not leak in through PYTHONPATH: only the wheel is under test.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"WEEKLY_SECRET": SECRET}


def data_files() -> set[str]:
    """The package's data files in the source tree, as paths inside the package."""
    return {
        str(path.relative_to(PACKAGE.parent))
        for folder in DATA_DIRS
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist built from a clean copy of the project, and a wheel built from that sdist."""
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    # No isolation: the build tools come from this venv (dev extras), so no network is needed.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "out"), source],
        check=True,
        capture_output=True,
    )
    return work / "out"


def test_sdist_carries_templates_and_catalogs(dist: Path) -> None:
    (sdist,) = dist.glob("weekly-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/src/", 1)[1] for name in tar.getnames() if "/src/" in name}
    missing = data_files() - names
    assert not missing, f"sdist lacks {sorted(missing)}"
    assert "weekly/locales/ko/LC_MESSAGES/weekly.po" in names


def test_wheel_carries_templates_and_catalogs(dist: Path) -> None:
    (wheel,) = dist.glob("weekly-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = data_files() - names
    assert not missing, f"wheel lacks {sorted(missing)}"
    assert "weekly/templates/site/style.css" in names


@pytest.fixture(scope="module")
def fresh_bin(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the wheel; its dependencies are borrowed from this venv by a
    .pth path line (which imports nothing of this checkout: the editable hook is not run)."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    (wheel,) = dist.glob("weekly-*.whl")
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        env=ENV,
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site) / "borrowed-deps.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    return venv / "bin"


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the fresh venv's `weekly` console script in `cwd`; fail with its stderr."""
    done = subprocess.run(
        [bin_dir / "weekly", *args], cwd=cwd, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, f"weekly {' '.join(args)}: {done.stderr}"
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture
def sink(fresh_bin: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The fresh venv's `weekly sink` on a free port, once it says it is listening."""
    port, outbox = free_port(), tmp_path / "outbox"
    process = subprocess.Popen(
        [fresh_bin / "weekly", "sink", "--port", str(port), "--outbox", outbox],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert "weekly sink on 127.0.0.1" in process.stderr.readline()
        yield port, outbox
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


def test_wheel_alone_starts_composes_archives_and_sends(
    fresh_bin: Path, tmp_path: Path, sink: tuple[int, Path]
) -> None:
    where = subprocess.run(
        [fresh_bin / "python", "-c", "import weekly; print(weekly.__file__)"],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(fresh_bin.parent)), f"weekly imported from {where}"

    run(fresh_bin, tmp_path, "init", "--no-input", "news", "--name", "Test Weekly")
    root = tmp_path / "news"
    composed = run(fresh_bin, root, "compose", "--strict")
    assert composed.stdout.startswith("#1 'Test Weekly #1 - 이번 호의 제목'")
    assert "0 warnings" in composed.stdout
    run(fresh_bin, root, "archive")
    assert (root / "site" / "1" / "index.html").is_file()

    port, outbox = sink
    configure(root, port)
    run(fresh_bin, root, "send", "1", "--yes", "--silent")
    delivered = list(mailbox.Maildir(outbox, create=False))
    assert [parseaddr(str(m["To"]))[1] for m in delivered] == ["you@example.com"]
    subject = str(make_header(decode_header(delivered[0]["Subject"])))
    assert subject == "Test Weekly #1 - 이번 호의 제목"


def test_a_package_without_catalogs_says_so(
    newsletter: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a wheel without locales/ used to report as `must be one of , not 'ko'`."""
    from weekly import config, l10n, setting_checks

    empty = tmp_path / "locales"
    empty.mkdir()
    monkeypatch.setattr(l10n, "LOCALES_DIR", empty)
    monkeypatch.setattr(setting_checks, "LOCALES_DIR", empty)
    with pytest.raises(config.ConfigError) as error:
        config.load_config(newsletter)
    assert str(error.value.message).endswith(
        f"newsletter.language: 'ko' has no catalog: none found in {empty} (reinstall weekly)"
    )
