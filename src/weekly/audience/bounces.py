"""Returned mail: find who failed in each message of a Maildir or mbox and how badly.

RFC 3464 delivery-status reports are read here, because their Status code is what tells a
hard failure (5.x.x) from a soft one (4.x.x); other formats go to flufl.bounce's detectors.
RFC 5965 abuse reports are complaints. When a delivery-status part names no recipient
with an action, the format detectors read the message instead.
"""

from __future__ import annotations

import email
import hashlib
import mailbox
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import cast

from flufl.bounce import all_failures

from weekly.audience.bounce_formats import french_failures, from_mail_system
from weekly.clock import stamp
from weekly.config import load_config
from weekly.errors import WeeklyError
from weekly.store import open_consent_log
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED, Event, Standing


@dataclass(frozen=True, slots=True)
class Failure:
    """One address a returned message reports on."""

    email: str
    kind: str  # BOUNCED (hard), SOFT_BOUNCED or COMPLAINED
    detail: str  # status code and diagnostic, as far as the report gives them


def read_failures(message: Message) -> list[Failure]:
    """Every failed or complaining address `message` reports; none for mail that is not a
    bounce (an out-of-office reply, say)."""
    blocks = [
        block
        for part in message.walk()
        if part.get_content_type() == "message/delivery-status"
        for block in _recipient_blocks(part)
    ]
    if blocks:  # a usable RFC 3464 report: it alone says who failed (a delay is no failure)
        return [failure for block in blocks if (failure := _failure(*block))]
    complaints = _complaints(message)
    if complaints:
        return complaints
    if not from_mail_system(message):
        return []  # a reader quoting a bounce, an auto-reply: their wording proves nothing
    _, permanent = all_failures(message)
    # The detectors also return fragments of other address types (x400's "c", "o", ...).
    addresses = [raw.decode("ascii") for raw in sorted(permanent) if b"@" in raw]
    addresses = addresses or french_failures(message)
    return [Failure(address, BOUNCED, "") for address in addresses]


def _recipient_blocks(report: Message) -> Iterator[tuple[str, str, Message]]:
    """(action, address, block) for each per-recipient block of an RFC 3464 report that
    names both; a report without one gives nothing, and the format detectors take over."""
    # The parser splits a delivery-status part into header blocks: the first is about the
    # message, the rest one per recipient.
    for block in cast(list[Message], report.get_payload())[1:]:
        action = str(block.get("action", "")).strip().lower()
        address = _typed_address(str(block.get("original-recipient", ""))) or _typed_address(
            str(block.get("final-recipient", ""))
        )
        if action and address:
            yield action, address, block


def _failure(action: str, address: str, block: Message) -> Failure | None:
    """The failure one block reports: None unless its Action is `failed` (delayed,
    delivered, relayed, expanded are not failures, or not yet)."""
    if not action.startswith(("failed", "error")):
        return None
    status = str(block.get("status", "")).strip()
    diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
    kind = SOFT_BOUNCED if status.startswith("4") else BOUNCED
    return Failure(address, kind, f"{status} {diagnostic}".strip())


# Address types (RFC 3464, RFC 6533) whose value is a mail address as written.
MAIL_ADDRESS_TYPES = ("rfc822", "utf-8")


def _typed_address(value: str) -> str:
    """The address in an `rfc822; user@example.com` field, without angle brackets; empty
    for other address types (x400, x-local, ...), which name no mail address."""
    kind, _, address = value.partition(";")
    if not address:
        address = kind
    elif kind.strip().lower() not in MAIL_ADDRESS_TYPES:
        return ""
    address = parseaddr(address.strip())[1]
    return address if "@" in address else ""


def _complaints(message: Message) -> list[Failure]:
    """The recipient an RFC 5965 abuse report is about: Original-Rcpt-To, else the To of
    the returned message."""
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        # The parser always makes a message/* part's body one Message (empty if need be).
        block = cast(Message, part.get_payload(0))
        kind = str(block.get("feedback-type", "abuse")).strip().lower()
        address = parseaddr(str(block.get("original-rcpt-to", "")))[1]
        if not address:
            address = _returned_recipient(message)
        if address and kind == "abuse":
            found.append(Failure(address, COMPLAINED, "abuse report"))
    return found


def _returned_recipient(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list):  # message/rfc822: parsed, one Message
                return parseaddr(str(cast(Message, inner[0]).get("to", "")))[1]
            if isinstance(inner, str):
                return parseaddr(str(email.message_from_string(inner).get("to", "")))[1]
    return ""


def open_mailbox(path: Path) -> mailbox.Mailbox:
    """A Maildir (a folder with cur/ and new/) or an mbox file."""
    if path.is_dir():
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise WeeklyError(f"{path}: not a Maildir (no cur/ and new/ inside)")
        box: mailbox.Mailbox = mailbox.Maildir(path, factory=None, create=False)
    elif path.is_file():
        with path.open("rb") as head:
            start = head.read(5)
        if start and start != b"From ":  # an empty file is an empty mbox; any other starts so
            raise WeeklyError(f"{path}: not an mbox (no `From ` line first) nor a Maildir")
        box = mailbox.mbox(path, create=False)
    else:
        raise WeeklyError(f"{path}: no such Maildir or mbox")
    return box


def raw_messages(box: mailbox.Mailbox) -> Iterator[tuple[bytes, str]]:
    """Each message of `box` as bytes, with the digest that keys the events it gives, so a
    second pass over the same mailbox records nothing new."""
    for key in box.iterkeys():
        data = box.get_bytes(key)
        yield data, hashlib.sha256(data).hexdigest()[:32]


def _when(message: Message) -> str:
    """When the report was written (its Date), so events keep their real order; else now."""
    try:
        moment = parsedate_to_datetime(str(message.get("date", "")))
    except (TypeError, ValueError):
        return stamp()
    if moment.tzinfo is None:
        return stamp()
    return stamp(moment)


@dataclass
class BounceReport:
    """What a pass over a mailbox found and recorded."""

    messages: int = 0
    not_bounces: int = 0
    found: Counter[str] = field(default_factory=Counter)  # by kind
    recorded: int = 0
    stopped: list[tuple[str, str]] = field(default_factory=list)  # (address, why): newly off

    def lines(self) -> Iterator[str]:
        """The summary, then each address this pass took off the list."""
        found = self.found
        yield (
            f"Read {self.messages:,} messages: {found[BOUNCED]:,} hard bounces, "
            f"{found[SOFT_BOUNCED]:,} soft bounces, {found[COMPLAINED]:,} complaints, "
            f"{self.not_bounces:,} not bounces; {self.recorded:,} new events recorded"
        )
        for address, why in self.stopped:
            yield f"  no more mail to {address} ({why})"


def record_bounces(root: Path, path: Path) -> BounceReport:
    """`weekly bounces PATH`: record every failure in the mailbox at `path`. Each event is
    keyed by the returned message's digest and the address, so a second pass adds nothing."""
    load_config(root)  # only inside a newsletter's folder
    box = open_mailbox(path)
    report = BounceReport()
    with open_consent_log(root) as store:
        before = store.standings()
        for data, digest in raw_messages(box):
            message = email.message_from_bytes(data)
            failures = read_failures(message)
            report.messages += 1
            if not failures:
                report.not_bounces += 1
            at = _when(message)
            events = []
            for failure in failures:
                report.found[failure.kind] += 1
                events.append(
                    Event(
                        at=at,
                        email=failure.email,
                        kind=failure.kind,
                        source="mailbox",
                        detail=failure.detail,
                        ref=f"mailbox:{digest}:{failure.email.lower()}",
                    )
                )
            report.recorded += store.record(events)
        if report.recorded:
            report.stopped = _newly_suppressed(before, store.standings())
    return report


def _newly_suppressed(
    before: dict[str, Standing], after: dict[str, Standing]
) -> list[tuple[str, str]]:
    """Addresses suppressed in `after` that were not in `before`, with the reason."""
    stopped = []
    for address, standing in sorted(after.items()):
        earlier = before.get(address)
        if standing.suppressed and (earlier is None or not earlier.suppressed):
            stopped.append((standing.email, standing.status))
    return stopped
