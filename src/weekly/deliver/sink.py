"""`weekly sink`: a local SMTP server that keeps every message in a Maildir instead of
delivering it, so a whole send can be watched and read without mailing anyone.
"""

from __future__ import annotations

import asyncio
import mailbox
import signal
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from weekly.errors import WeeklyError
from weekly.listen import listening_socket
from weekly.project import STATE_DIR

OUTBOX = "outbox"
SINK_HOST = "127.0.0.1"


def outbox_path(root: Path) -> Path:
    """The sink's Maildir when no --outbox is given."""
    return root / STATE_DIR / OUTBOX


class MaildirHandler:
    """aiosmtpd handler: stores each message (one file per recipient) and reports it."""

    def __init__(self, folder: Path, report: Callable[[str], None]) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(folder, create=True)
        self.report = report
        self._headers = BytesHeaderParser(policy=default_policy)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        headers = self._headers.parsebytes(content)
        for recipient in envelope.rcpt_tos:
            key = self.maildir.add(content)
            self.report(f"{recipient}\t{headers.get('subject', '')}\t{len(content):,} bytes\t{key}")
        return "250 OK: kept in the outbox"


def _smtp_factory(handler: Any) -> Callable[[], SMTP]:
    """aiosmtpd sessions for `handler`, with a fixed host name (no slow FQDN look-up), offering
    SMTPUTF8 as a modern relay does, so a list with `김@example.com` can be tried locally."""
    return lambda: SMTP(
        handler, hostname="weekly-sink", data_size_limit=50 * 1024 * 1024, enable_SMTPUTF8=True
    )


def serve(
    port: int, folder: Path, report: Callable[[str], None], ready: Callable[[str], None]
) -> None:
    """Listen on 127.0.0.1:`port` until SIGINT or SIGTERM; `ready` hears when it listens."""
    asyncio.run(_serve(port, folder, report, ready))


async def _serve(
    port: int, folder: Path, report: Callable[[str], None], ready: Callable[[str], None]
) -> None:
    for part in (folder, *(folder / sub for sub in ("tmp", "new", "cur"))):
        if part.exists() and not part.is_dir():
            # Maildir would start anyway and then refuse every message a send hands it.
            raise WeeklyError(f"{part}: not a folder, so the outbox cannot keep messages")
    loop = asyncio.get_running_loop()
    sock = listening_socket(SINK_HOST, port)
    handler = MaildirHandler(folder, report)
    server = await loop.create_server(_smtp_factory(handler), sock=sock)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    ready(f"weekly sink on {SINK_HOST}:{port}, keeping messages in {folder}")
    async with server:
        await stop.wait()
