"""Unsubscribing: one event in the subscription log, whichever way the request came."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from weekly.addresses import list_id_of, normalize_address
from weekly.audience.bounces import open_mailbox, raw_messages
from weekly.audience.tokens import TOKEN_PATTERN, secret_from_env, token_address
from weekly.clock import stamp
from weekly.config import load_config
from weekly.store import ConsentLog, open_consent_log
from weekly.store.consent import UNSUBSCRIBE_SOURCES, UNSUBSCRIBED, Event


def unsubscribe(store: ConsentLog, email: str, source: str, *, ip: str = "") -> Event:
    """Record that `email` asked to be unsubscribed through `source` (one-click, link, …)."""
    if source not in UNSUBSCRIBE_SOURCES:
        raise ValueError(f"unknown unsubscribe source {source!r}")
    event = Event(at=stamp(), email=email, kind=UNSUBSCRIBED, source=source, ip=ip)
    store.record([event])
    return event


def unsubscribe_by_hand(root: Path, raw: str) -> Event:
    """`weekly unsubscribe ADDRESS`: validate the address, then record the request."""
    load_config(root)  # only inside a newsletter's folder
    email, _ = normalize_address(raw)
    with open_consent_log(root) as store:
        return unsubscribe(store, email, "manual")


@dataclass
class MailtoReport:
    """What a pass over the mailbox of `List-Unsubscribe: <mailto:…>` requests did."""

    messages: int = 0
    without_token: int = 0
    recorded: int = 0

    def line(self) -> str:
        return (
            f"Read {self.messages:,} messages: {self.recorded:,} new unsubscribes, "
            f"{self.without_token:,} without a valid token"
        )


def unsubscribe_from_mailbox(root: Path, path: Path) -> MailtoReport:
    """`weekly unsubscribe --mailbox PATH`: record each request whose subject or body holds
    a valid token (the one our List-Unsubscribe mailto link put there). Rereading adds nothing."""
    config = load_config(root)
    secret = secret_from_env()
    list_id = list_id_of(config.newsletter.sender)
    box = open_mailbox(path)
    report = MailtoReport()
    with open_consent_log(root) as store:
        for data, digest in raw_messages(box):
            report.messages += 1
            message = email.message_from_bytes(data, policy=email.policy.default)
            address = _token_address(message, secret, list_id)
            if address is None:
                report.without_token += 1
                continue
            event = Event(
                at=stamp(),
                email=address,
                kind=UNSUBSCRIBED,
                source="mailto",
                ref=f"mailto:{digest}",
            )
            report.recorded += store.record([event])
    return report


def _token_address(message: EmailMessage, secret: bytes, list_id: str) -> str | None:
    """The address named by the first valid token in the subject or the text of `message`."""
    body = message.get_body(("plain",))
    text = str(message.get("subject", "")) + "\n" + (body.get_content() if body else "")
    for candidate in TOKEN_PATTERN.findall(text):
        address = token_address(secret, list_id, candidate)
        if address is not None:
            return address
    return None
