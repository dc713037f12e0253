"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, pg_ctl start
on a free port of 127.0.0.1, stopped at the end. Run as the `postgres` user when we are root."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def binaries() -> Path | None:
    """The folder with initdb and pg_ctl: Debian's newest first, then the PATH."""
    for folder in BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def cluster(folder: Path) -> Iterator[str]:
    """A running cluster under `folder`; yields the URL of its `postgres` database."""
    user = None if os.geteuid() else "postgres"
    if user is not None:
        record = pwd.getpwnam(user)
        os.chown(folder, record.pw_uid, record.pw_gid)
    data, sockets = folder / "data", folder / "sockets"
    for sub in (data, sockets):
        sub.mkdir(mode=0o700)
        if user is not None:
            os.chown(sub, record.pw_uid, record.pw_gid)
    bin_dir = binaries()
    assert bin_dir is not None
    role = user or pwd.getpwuid(os.geteuid()).pw_name

    def run(*command: str | Path) -> None:
        subprocess.run(command, user=user, capture_output=True, check=True, cwd=folder)

    run(bin_dir / "initdb", "-D", data, "-U", role, "--auth=trust", "-E", "UTF8", "--no-sync")
    port = _free_port()
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    run(bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start")
    try:
        yield f"postgresql://{role}@127.0.0.1:{port}/postgres"
    finally:
        run(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")


def fresh_database(admin_url: str, name: str) -> str:
    """Create the empty database `name` in the cluster of `admin_url`; its URL."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    """Drop the database `name`, closing any connection a test left open to it."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_cluster() -> Iterator[str]:
    """`cluster` in a temporary folder removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="weekly-pg-"))
    try:
        with cluster(folder) as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)
