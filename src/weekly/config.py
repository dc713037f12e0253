"""`weekly.toml`: every setting declared once with type, default and meaning, then validated.

Unknown keys, wrong types and missing required values are errors naming the key and line."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from weekly import setting_checks as must
from weekly.config_tables import KeyLocator, build_table, setting
from weekly.errors import ConfigError, decode_utf8

CONFIG_NAME = "weekly.toml"


@dataclass(frozen=True, kw_only=True)
class NewsletterSettings:
    """`[newsletter]`: who publishes, in what language, and where the archive lives."""

    name: str = setting(
        doc="Newsletter name, shown in the header and as the sender's name.", check=must.not_blank
    )
    language: str = setting(
        "ko",
        doc="Language of fixed strings and dates; any language with a message catalog.",
        check=must.language,
    )
    site_url: str = setting(
        doc="Root URL of the web archive; issue N lives at site_url/N/.", check=must.http_url
    )
    sender: str = setting(
        doc="From header, e.g. 'Name <addr@example.com>'.", key="from", check=must.mailbox
    )
    reply_to: str = setting(
        "",
        doc="Reply-To address; empty means replies go to From.",
        check=must.empty_or(must.mailbox),
    )
    postal_address: str = setting(
        doc="Postal address printed in every footer (CAN-SPAM).",
        lines=True,
        check=must.not_blank,
    )
    timezone: str = setting(
        "",
        doc="IANA time zone of `weekly schedule` times; empty: Asia/Seoul for ko, else UTC.",
        check=must.empty_or(must.time_zone),
    )

    def __post_init__(self) -> None:
        # One trailing slash, whatever the editor wrote, so every user can join paths to it.
        object.__setattr__(self, "site_url", self.site_url.rstrip("/") + "/")


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """`[delivery]`: the SMTP relay and how hard to push it."""

    host: str = setting("127.0.0.1", doc="SMTP relay host.", check=must.not_blank)
    port: int = setting(1025, doc="SMTP relay port.", check=must.port)
    security: Literal["none", "starttls", "tls"] = setting("starttls", doc="Transport security.")
    username: str = setting("", doc="AUTH user; the password comes from WEEKLY_SMTP_PASSWORD.")
    concurrency: int = setting(8, doc="Persistent SMTP connections.", check=must.at_least_1)
    rate: float = setting(
        50.0, doc="Messages per second over all connections.", check=must.positive
    )
    daily_cap: int = setting(
        0,
        doc="Messages a day over all senders (a relay quota); 0: no cap. PostgreSQL store only.",
        check=must.not_negative,
    )
    max_attempts: int = setting(
        5, doc="Tries per recipient before a 4xx counts as failed.", check=must.at_least_1
    )
    timeout: float = setting(
        30.0, doc="Seconds to wait for a connection or a server reply.", check=must.positive
    )
    messages_per_connection: int = setting(
        500,
        doc="Messages sent over one connection before it is replaced by a fresh one.",
        check=must.at_least_1,
    )
    retry_delay: float = setting(
        2.0,
        doc="Seconds before the first retry after a 4xx; doubled each try, with jitter.",
        check=must.not_negative,
    )


@dataclass(frozen=True, kw_only=True)
class UnsubscribeSettings:
    """`[unsubscribe]`: where one-click and mailto unsubscribes go."""

    url: str = setting(
        doc="Unsubscribe page; {token} is replaced by the recipient's token.",
        check=must.unsubscribe_url,
    )
    mailto: str = setting(
        "", doc="Address for List-Unsubscribe mailto requests.", check=must.empty_or(must.mailto)
    )


@dataclass(frozen=True, kw_only=True)
class ComposeSettings:
    """`[compose]`: limits the pre-send checks apply."""

    html_warn_kb: int = setting(
        90, doc="Warn above this HTML size (Gmail clips at 102 KB).", check=must.at_least_1
    )
    subject_max_chars: int = setting(
        78, doc="Warn when the subject is longer than this.", check=must.at_least_1
    )


@dataclass(frozen=True, kw_only=True)
class ArchiveSettings:
    """`[archive]`: the static web archive `weekly archive` builds."""

    subscribe_url: str = setting(
        "",
        doc="Sign-up page linked from every archive page; empty means a mailto: to From.",
        check=must.empty_or(must.http_url),
    )
    per_page: int = setting(
        50, doc="Issues per index page; more make further pages.", check=must.at_least_1
    )
    feed_entries: int = setting(
        20, doc="Newest issues carried in full in the Atom feed.", check=must.at_least_1
    )


@dataclass(frozen=True, kw_only=True)
class DkimSettings:
    """`[dkim]`: sign every message so mailbox providers can tell it really comes from us."""

    # All three or none: each is required once one is given.
    together: ClassVar[tuple[str, ...]] = ("domain", "selector", "key_file")

    domain: str = setting(
        "", doc="Signing domain (d=); empty turns signing off.", check=must.empty_or(must.dns_name)
    )
    selector: str = setting(
        "",
        doc="Selector (s=): the key is published at selector._domainkey.",
        check=must.empty_or(must.dns_name),
    )
    key_file: str = setting("", doc="PEM private key, relative to the newsletter's folder.")

    @property
    def enabled(self) -> bool:
        return bool(self.domain)


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """`[serve]`: the unsubscribe and sign-up web service behind the site's HTTPS proxy."""

    host: str = setting("127.0.0.1", doc="Address `weekly serve` listens on.", check=must.not_blank)
    port: int = setting(8025, doc="Port `weekly serve` listens on.", check=must.port)
    confirm_url: str = setting(
        "",
        doc="Confirmation link with {token}; empty: unsubscribe.url with confirm/ for "
        "unsubscribe/.",
        check=must.empty_or(must.confirm_url_pattern),
    )
    confirm_hours: float = setting(
        48.0, doc="How long a confirmation link works.", check=must.positive
    )
    signups_per_hour: int = setting(
        10, doc="Sign-up requests one IP address may make an hour.", check=must.positive
    )
    signup_tags: str = setting(
        "",
        doc="Tags a reader may pick on the sign-up form, `;`-separated (e.g. 'ai;policy'); "
        "any other tag a form sends is dropped.",
        check=must.tags,
    )
    stats_password_env: str = setting(
        "WEEKLY_STATS_PASSWORD", doc="Variable holding the password of /stats/; unset: no page."
    )


@dataclass(frozen=True, kw_only=True)
class WelcomeSettings:
    """`[welcome]`: the mail a reader gets once, when their sign-up is confirmed."""

    enabled: bool = setting(
        False,
        doc="Mail templates/welcome.md (else the built-in one) once per address, ever, "
        "when `weekly serve` confirms a sign-up.",
    )
    retry_minutes: float = setting(
        15.0,
        doc="How often `weekly serve` retries welcome mails a relay deferred.",
        check=must.positive,
    )


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    """`[store]`: where the ledger and the consent log live."""

    url: str = setting(
        "",
        doc="postgresql://user@host/db shared by several senders (WEEKLY_STORE_URL overrides; "
        "password from PGPASSWORD or ~/.pgpass); empty: SQLite files in .weekly/.",
        check=must.empty_or(must.store_url),
    )
    lease_seconds: float = setting(
        15.0,
        doc="A sender silent this long is taken for dead: its claimed rows go to the others.",
        check=must.positive,
    )


TrackingMode = Literal["off", "aggregate", "subscriber"]


@dataclass(frozen=True, kw_only=True)
class TrackingSettings:
    """`[tracking]`: what `weekly serve` counts of each issue (README: Tracking)."""

    clicks: TrackingMode = setting(
        "off",
        doc="Count clicks: off; aggregate (per link, no one named); subscriber (by address, "
        "for readers with yes in the list's tracking column; the rest aggregate).",
    )
    opens: TrackingMode = setting("off", doc="Count opens with a 1x1 image; as clicks.")
    scanner_seconds: float = setting(
        10.0, doc="A hit this soon after sending is a link scanner's.", check=must.not_negative
    )

    @property
    def enabled(self) -> bool:
        return self.clicks != "off" or self.opens != "off"

    @property
    def per_subscriber(self) -> bool:
        return "subscriber" in (self.clicks, self.opens)


@dataclass(frozen=True, kw_only=True)
class HooksSettings:
    """`[hooks]`: bounce and complaint webhooks of a sending provider, on `weekly serve`."""

    max_age: float = setting(900.0, doc="Seconds a webhook's time stays good.", check=must.positive)
    soft_limit: int = setting(3, doc="Soft bounces in a row that suppress.", check=must.at_least_1)
    ses_topic_arn: str = setting("", doc="SNS topic ARNs (space separated) /hooks/ses takes.")
    ses_test_hosts: str = setting("", doc="Tests only: host:port serving SNS certificates.")
    postmark_user: str = setting("", doc="/hooks/postmark user; WEEKLY_POSTMARK_PASSWORD.")
    mailgun: bool = setting(False, doc="/hooks/mailgun on; key in WEEKLY_MAILGUN_SIGNING_KEY.")
    sendgrid_public_key: str = setting("", doc="/hooks/sendgrid's verification key (base64).")


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """`[schedule]`: sends `weekly serve` runs at the time `weekly schedule` set."""

    grace: float = setting(
        21600.0,
        doc="Seconds a schedule missed while serve was down may still run late (6 h); "
        "later, it is reported as missed and not sent.",
        check=must.not_negative,
    )


@dataclass(frozen=True, kw_only=True)
class Config:
    """All settings of one newsletter, plus where they were read from."""

    newsletter: NewsletterSettings = setting(doc="The newsletter itself.")
    delivery: DeliverySettings = setting(DeliverySettings(), doc="SMTP delivery.")
    unsubscribe: UnsubscribeSettings = setting(doc="Unsubscribe handling.")
    compose: ComposeSettings = setting(ComposeSettings(), doc="Pre-send check limits.")
    archive: ArchiveSettings = setting(ArchiveSettings(), doc="The web archive.")
    dkim: DkimSettings = setting(DkimSettings(), doc="DKIM signing of outgoing mail.")
    serve: ServeSettings = setting(ServeSettings(), doc="The unsubscribe and sign-up service.")
    store: StoreSettings = setting(StoreSettings(), doc="The shared store.")
    welcome: WelcomeSettings = setting(WelcomeSettings(), doc="The welcome mail.")
    hooks: HooksSettings = setting(HooksSettings(), doc="Provider bounce webhooks.")
    schedule: ScheduleSettings = setting(ScheduleSettings(), doc="Scheduled sends.")
    tracking: TrackingSettings = setting(TrackingSettings(), doc="Click and open counts.")
    root: Path = field(default=Path("."), metadata={"internal": True})

    @property
    def path(self) -> Path:
        """The `weekly.toml` these settings came from."""
        return self.root / CONFIG_NAME


def load_config(root: Path) -> Config:
    """Read and validate `root/weekly.toml`."""
    path = root / CONFIG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "not found: run weekly in the newsletter's folder") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc.strerror}") from None
    text = decode_utf8(path, raw, ConfigError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(path, f"invalid TOML: {message}", line) from None
    locate = KeyLocator(path, text)
    config: Config = build_table(Config, data, (), locate)
    return dataclasses.replace(config, root=root)


def confirm_url(config: Config) -> str:
    """The sign-up confirmation link pattern, with {token}."""
    if config.serve.confirm_url:
        return config.serve.confirm_url
    return config.unsubscribe.url.replace("unsubscribe/{token}", "confirm/{token}")


def time_zone(config: Config) -> str:
    """The newsletter's time zone: its setting, else Asia/Seoul for Korean, else UTC."""
    letter = config.newsletter
    return letter.timezone or ("Asia/Seoul" if letter.language == "ko" else "UTC")


def issue_url(config: Config, number: int) -> str:
    """The web archive address of issue `number`."""
    return f"{config.newsletter.site_url}{number}/"
