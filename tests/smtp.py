"""Real SMTP servers for send tests: aiosmtpd on 127.0.0.1, recording or misbehaving on cue."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from weekly.files import replace_folder
from weekly.project import build_dir
from weekly.render.composed import HTML_FILE, META_FILE, TEXT_FILE

SECRET = "test-secret-0123456789abcdef"

HTML = (
    "<!doctype html><html><body><p>%%name%% 님, 안녕하세요</p>"
    + "<p>이번 주 인공지능 소식입니다. Claude, Sora, 그리고 더.</p>\n" * 200
    + '<p><a href="%%unsubscribe_url%%">수신 거부</a> · %%email%% · %%company%%</p>'
    "</body></html>"
)
TEXT = (
    "%%name%% 님, 안녕하세요\n"
    + "이번 주 인공지능 소식입니다.\n" * 100
    + "수신 거부: %%unsubscribe_url%%\n"
)
SUBJECT = "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래를 한눈에 보는 아주 긴 제목"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_build(root: Path, number: int = 324, subject: str = SUBJECT) -> None:
    """A composed issue as compose would leave it, with every placeholder kind in it."""
    meta = f'{{"subject": "{subject}", "preheader": "이번 주 소식"}}'
    replace_folder(build_dir(root, number), {HTML_FILE: HTML, TEXT_FILE: TEXT, META_FILE: meta})


def configure(root: Path, port: int, **delivery: Any) -> None:
    """Point weekly.toml's [delivery] at `port` with fast retries, plus any overrides."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "concurrency": 4,
        "rate": 10000,
        "max_attempts": 4,
        "timeout": 5,
        "retry_delay": 0.01,
        **delivery,
    }
    table = "[delivery]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items())
    path = root / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"\[delivery\]\n(?:[^\[\n].*\n|\n)*", table + "\n", text), "utf-8")


def _toml(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def write_list(root: Path, rows: list[str], header: str = "email,name,status,company") -> Path:
    path = root / "subscribers.csv"
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def subscribers(count: int) -> list[str]:
    """`count` subscribed rows with Korean and English names."""
    names = ["김민지", "Alice Martin", "박지훈", "Lee, Dana", "이서연 <관리자>"]
    return [
        f'user{i}@example.com,"{names[i % len(names)]}",subscribed,회사{i}' for i in range(count)
    ]


class Recorder:
    """Keeps every accepted message; subclasses misbehave per recipient or on cue.

    aiosmtpd reads commands one by one, so it copes with pipelined ones; it just does not
    advertise PIPELINING, which `pipelining=True` adds to make clients use it.
    """

    def __init__(self, *, pipelining: bool = False) -> None:
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)  # notified on each message kept
        self.messages: list[tuple[str, bytes]] = []
        self.pipelining = pipelining

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    def wait(self, count: int, timeout: float = 20.0) -> bool:
        """Block until `count` messages are kept (False if `timeout` passes first)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)

    def accepted(self) -> Counter[str]:
        with self.lock:
            return Counter(rcpt for rcpt, _ in self.messages)

    def parsed(self) -> dict[str, EmailMessage]:
        with self.lock:
            return {
                rcpt: email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
                for rcpt, data in self.messages
            }

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, envelope.original_content))
            self.arrived.notify_all()
        return "250 2.0.0 OK: queued"


def only(user: str, password: str) -> Any:
    """An aiosmtpd authenticator that lets in `user` with `password` and no one else."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data == (user.encode(), password.encode())
        return AuthResult(success=ok)

    return authenticator


@contextmanager
def smtp_server(handler: Any, **options: Any) -> Iterator[int]:
    """aiosmtpd serving `handler` on a free 127.0.0.1 port for the duration; `options` go
    to its SMTP sessions (TLS, AUTH)."""
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_hostname="test", **options
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
