"""The one message double opt-in sends: a confirmation link, through the configured backend,
framed and DKIM-signed by the same builder as the newsletter itself."""

from __future__ import annotations

from email.utils import formatdate, make_msgid

import jinja2

from weekly.addresses import ascii_domain, envelope_address
from weekly.audience.tokens import SignUp
from weekly.config import Config
from weekly.deliver.backend import DeliveryBackend
from weekly.deliver.base64_part import encode_lines
from weekly.deliver.dkim import DkimSigner
from weekly.deliver.headers import mailbox, unstructured
from weekly.deliver.message import Frame, sender_mailbox
from weekly.deliver.outcomes import Verdict
from weekly.errors import WeeklyError
from weekly.render.jinja import render


def confirmation_mail(
    config: Config,
    env: jinja2.Environment,
    request: SignUp,
    link: str,
    signer: DkimSigner | None,
) -> bytes:
    """The whole confirmation message for `request`: one text part, signed when DKIM is on."""
    letter = config.newsletter
    context = {
        "newsletter": letter,
        "email": request.email,
        "link": link,
        "hours": f"{config.serve.confirm_hours:g}",
    }
    sender_name, sender = sender_mailbox(letter.sender)
    subject = render(env, "serve/confirm_subject.txt", **context).strip()
    fixed = [
        f"From: {mailbox(sender_name, sender)}",
        unstructured("Subject", subject),
        "Auto-Submitted: auto-generated",
    ]
    head = (
        f"Date: {formatdate(usegmt=True)}\r\n"
        f"Message-ID: {make_msgid(domain=ascii_domain(sender))}\r\n"
        f"To: {mailbox(request.name, envelope_address(request.email))}\r\n"
    )
    body = encode_lines(render(env, "serve/confirm.txt", **context).encode("utf-8"))
    return Frame(fixed, ("text/plain",), signer).message(head, (body,))


async def deliver(backend: DeliveryBackend, sender: str, recipient: str, data: bytes) -> None:
    """Hand one message to the relay over a lane of its own, then close it; raises
    WeeklyError unless the relay took the message."""
    try:
        address = envelope_address(recipient)
        result = await backend.deliver(sender_mailbox(sender)[1], address, data, lambda: None)
    finally:
        await backend.close()
    if result.verdict is not Verdict.SENT:
        raise WeeklyError(f"the relay did not take the confirmation mail: {result.reply}")
