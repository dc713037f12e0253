"""The one-part text mails `weekly serve` sends (the confirmation link, the welcome), through
the configured backend, framed and DKIM-signed by the same builder as the newsletter itself."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate, make_msgid

import jinja2

from weekly.addresses import ascii_domain, envelope_address
from weekly.audience.tokens import SignUp
from weekly.config import Config
from weekly.deliver.backend import BeforeEnd, DeliveryBackend
from weekly.deliver.base64_part import encode_lines
from weekly.deliver.dkim import DkimSigner
from weekly.deliver.headers import mailbox, unstructured
from weekly.deliver.message import Frame, sender_mailbox
from weekly.deliver.outcomes import Outcome, Verdict
from weekly.errors import WeeklyError
from weekly.render.jinja import render


def text_mail(
    config: Config,
    subject: str,
    to: tuple[str, str],
    body: str,
    signer: DkimSigner | None,
    *,
    fields: Sequence[str] = (),
    head: str = "",
) -> tuple[str, bytes]:
    """(Message-ID, message) of a text mail from the newsletter to `to` (name, address);
    `fields` are fixed header fields to add, `head` lines (each ending in CRLF) of its own."""
    sender_name, sender = sender_mailbox(config.newsletter.sender)
    fixed = [
        f"From: {mailbox(sender_name, sender)}",
        unstructured("Subject", subject),
        "Auto-Submitted: auto-generated",
        *fields,
    ]
    message_id = make_msgid(domain=ascii_domain(sender))
    own = (
        f"Date: {formatdate(usegmt=True)}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"To: {mailbox(to[0], envelope_address(to[1]))}\r\n"
        f"{head}"
    )
    data = encode_lines(body.encode("utf-8"))
    return message_id, Frame(fixed, ("text/plain",), signer).message(own, (data,))


def confirmation_mail(
    config: Config,
    env: jinja2.Environment,
    request: SignUp,
    link: str,
    signer: DkimSigner | None,
) -> bytes:
    """The whole confirmation message for `request`: one text part, signed when DKIM is on."""
    context = {
        "newsletter": config.newsletter,
        "email": request.email,
        "link": link,
        "hours": f"{config.serve.confirm_hours:g}",
    }
    subject = render(env, "serve/confirm_subject.txt", **context).strip()
    body = render(env, "serve/confirm.txt", **context)
    return text_mail(config, subject, (request.name, request.email), body, signer)[1]


async def hand_over(
    backend: DeliveryBackend,
    sender: str,
    recipient: str,
    data: bytes,
    before_end: BeforeEnd = lambda: None,
) -> Outcome:
    """Hand one message to the relay over a lane of its own, then close it."""
    try:
        address = envelope_address(recipient)
        return await backend.deliver(sender_mailbox(sender)[1], address, data, before_end)
    finally:
        await backend.close()


async def deliver(backend: DeliveryBackend, sender: str, recipient: str, data: bytes) -> None:
    """`hand_over`, raising WeeklyError unless the relay took the message."""
    result = await hand_over(backend, sender, recipient, data)
    if result.verdict is not Verdict.SENT:
        raise WeeklyError(f"the relay did not take the confirmation mail: {result.reply}")
