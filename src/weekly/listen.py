"""A listening socket bound before anything else starts, so a port in use or a host that is
no address is one clear error and no state file has been opened yet (`sink`, `serve`, `preview`)."""

from __future__ import annotations

import errno
import socket

from weekly.errors import WeeklyError


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on `host`:`port`; one that cannot be bound is a WeeklyError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise WeeklyError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(100)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise WeeklyError(
                f"cannot listen on {host}:{port}: the port is in use: choose another with --port"
            ) from None
        raise WeeklyError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
