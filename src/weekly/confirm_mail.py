"""The one message double opt-in sends: a confirmation link, through the configured relay,
DKIM-signed like the newsletter itself."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, parseaddr

import jinja2

from weekly.config import Config, DeliverySettings
from weekly.dkim_signer import DkimSigner
from weekly.signup import SignUp
from weekly.templates import render

TIMEOUT = 30.0


def confirmation_mail(
    config: Config,
    env: jinja2.Environment,
    request: SignUp,
    link: str,
    signer: DkimSigner | None,
) -> bytes:
    """The whole confirmation message for `request`, CRLF line ends, signed when DKIM is on."""
    letter = config.newsletter
    context = {
        "newsletter": letter,
        "email": request.email,
        "link": link,
        "hours": f"{config.serve.confirm_hours:g}",
    }
    message = EmailMessage(policy=SMTP)
    message["From"] = letter.sender
    message["To"] = formataddr((request.name, request.email))
    message["Subject"] = render(env, "serve/confirm_subject.txt", **context).strip()
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(letter.sender)[1].rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render(env, "serve/confirm.txt", **context))
    data = message.as_bytes()
    return signer.sign(data) if signer else data


def deliver(
    settings: DeliverySettings, secret: str | None, sender: str, recipient: str, data: bytes
) -> None:
    """Hand one message to the relay `[delivery]` names; raises on any refusal."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.security == "tls":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT)
    with client:
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.username and secret is not None:
            client.login(settings.username, secret)
        client.sendmail(parseaddr(sender)[1], [recipient], data)
