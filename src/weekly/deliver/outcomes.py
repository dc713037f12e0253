"""What a server's answer means for one recipient, decided in one table (stage, reply code,
RFC 3463 enhanced code); backends report `Outcome`s, the dispatcher acts on their verdict."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Stage(enum.Enum):
    """Where in the transaction an answer came (or failed to come)."""

    CONNECT = "connect"  # connecting, greeting, TLS, EHLO, AUTH
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the DATA command and the body, before the end of data went out
    END = "end"  # after the end of data was handed to the socket


class Verdict(enum.Enum):
    """What to do with the recipient (and the run)."""

    SENT = "sent"
    UNCERTAIN = "uncertain"  # the end of data went out, no reply: may be delivered
    MAILBOX = "mailbox"  # permanent for the address: fail it and suppress it
    MESSAGE = "message"  # permanent for this message only: fail this issue, keep the address
    RECIPIENT = "recipient"  # temporary for this recipient: retry it alone, with backoff
    CONNECTION = "connection"  # the link or the relay: slow the pace, reconnect, retry
    HALT = "halt"  # the relay refuses the sender: stop the run, blame no recipient


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one message, in any backend's terms: the verdict, and the server's
    reply (or the local reason) that led to it."""

    verdict: Verdict
    reply: str


AFTER_RCPT = (Stage.RCPT, Stage.DATA, Stage.END)
ANY = (Stage.CONNECT, Stage.MAIL, *AFTER_RCPT)


@dataclass(frozen=True, slots=True)
class Rule:
    """Replies at one of `stages` whose code starts with `code` and whose enhanced code
    starts with `enhanced` ("" matches any, also none) get `verdict`."""

    stages: tuple[Stage, ...]
    code: str
    enhanced: str
    verdict: Verdict
    why: str


# The first matching rule wins. The README's "What a reply does" table says the same.
TABLE: tuple[Rule, ...] = (
    Rule(ANY, "421", "", Verdict.CONNECTION, "the server is closing the connection"),
    Rule((Stage.CONNECT, Stage.MAIL), "4", "", Verdict.CONNECTION, "the relay defers us"),
    Rule((Stage.CONNECT, Stage.MAIL), "5", "", Verdict.HALT, "the relay refuses the sender"),
    Rule(AFTER_RCPT, "4", "", Verdict.RECIPIENT, "greylisting, a full mailbox or queue"),
    Rule(AFTER_RCPT, "5", "5.1.", Verdict.MAILBOX, "no such mailbox, domain or address"),
    Rule(AFTER_RCPT, "5", "5.2.1", Verdict.MAILBOX, "the mailbox is disabled"),
    Rule(AFTER_RCPT, "5", "5.", Verdict.MESSAGE, "policy, content, size (5.3.4), media (5.6.x)"),
    Rule((Stage.RCPT,), "550", "", Verdict.MAILBOX, "mailbox unavailable (no enhanced code)"),
    Rule((Stage.RCPT,), "551", "", Verdict.MAILBOX, "user not local (no enhanced code)"),
    Rule((Stage.RCPT,), "553", "", Verdict.MAILBOX, "mailbox name not allowed"),
    Rule(AFTER_RCPT, "5", "", Verdict.MESSAGE, "any other refusal of this message"),
)

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


def enhanced_code(code: int, text: str) -> str:
    """The RFC 3463 code at the start of `text` when its class matches `code`, else ""."""
    found = _ENHANCED.match(text)
    if found is None or found[1] != str(code)[:1]:
        return ""
    return found[0]


def classify(stage: Stage, code: int, text: str = "") -> Verdict:
    """The verdict for reply `code` `text` at `stage`; code 0 means no reply came (a dropped
    connection, a timeout, a TLS failure)."""
    if code == 0:
        return Verdict.UNCERTAIN if stage is Stage.END else Verdict.CONNECTION
    if stage is Stage.END and code in (250, 251):
        return Verdict.SENT
    digits, enhanced = str(code), enhanced_code(code, text)
    for rule in TABLE:
        if (
            stage in rule.stages
            and digits.startswith(rule.code)
            and (not rule.enhanced or enhanced.startswith(rule.enhanced))
        ):
            return rule.verdict
    return Verdict.CONNECTION  # a reply outside SMTP's classes: trust the link no further


def outcome(stage: Stage, code: int, text: str) -> Outcome:
    """The classified outcome of reply `code` `text` (code 0: no reply) at `stage`."""
    return Outcome(classify(stage, code, text), f"{code} {text}" if code else text)
