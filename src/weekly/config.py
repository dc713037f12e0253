"""`weekly.toml`: every setting declared once with type, default and meaning, then validated.

Unknown keys, wrong types and missing required values are errors naming the key and line.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Literal

from weekly.errors import ConfigError, decode_utf8
from weekly.l10n import LOCALES_DIR, available_languages

CONFIG_NAME = "weekly.toml"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def setting(
    default: Any = dataclasses.MISSING, *, doc: str, key: str | None = None, lines: bool = False
) -> Any:
    """Declare one setting: its default (none means required), what it is for, its TOML key,
    and whether it may span lines (most strings end up in mail headers, where a line break
    would start a header of the editor's own)."""
    return field(default=default, metadata={"doc": doc, "key": key, "lines": lines})


@dataclass(frozen=True, kw_only=True)
class NewsletterSettings:
    """`[newsletter]`: who publishes, in what language, and where the archive lives."""

    name: str = setting(doc="Newsletter name, shown in the header and as the sender's name.")
    language: str = setting(
        "ko", doc="Language of fixed strings and dates; any language with a message catalog."
    )
    site_url: str = setting(doc="Root URL of the web archive; issue N lives at site_url/N/.")
    sender: str = setting(doc="From header, e.g. 'Name <addr@example.com>'.", key="from")
    reply_to: str = setting("", doc="Reply-To address; empty means replies go to From.")
    postal_address: str = setting(
        doc="Postal address printed in every footer (CAN-SPAM).", lines=True
    )

    def __post_init__(self) -> None:
        # One trailing slash, whatever the editor wrote, so every user can join paths to it.
        object.__setattr__(self, "site_url", self.site_url.rstrip("/") + "/")


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """`[delivery]`: the SMTP relay and how hard to push it."""

    host: str = setting("127.0.0.1", doc="SMTP relay host.")
    port: int = setting(1025, doc="SMTP relay port.")
    security: Literal["none", "starttls", "tls"] = setting("starttls", doc="Transport security.")
    username: str = setting("", doc="AUTH user; the password comes from WEEKLY_SMTP_PASSWORD.")
    concurrency: int = setting(8, doc="Persistent SMTP connections.")
    rate: float = setting(50.0, doc="Messages per second over all connections.")
    max_attempts: int = setting(5, doc="Tries per recipient before a 4xx counts as failed.")
    timeout: float = setting(30.0, doc="Seconds to wait for a connection or a server reply.")
    messages_per_connection: int = setting(
        500, doc="Messages sent over one connection before it is replaced by a fresh one."
    )
    retry_delay: float = setting(
        2.0, doc="Seconds before the first retry after a 4xx; doubled each try, with jitter."
    )


@dataclass(frozen=True, kw_only=True)
class UnsubscribeSettings:
    """`[unsubscribe]`: where one-click and mailto unsubscribes go."""

    url: str = setting(doc="Unsubscribe page; {token} is replaced by the recipient's token.")
    mailto: str = setting("", doc="Address for List-Unsubscribe mailto requests.")


@dataclass(frozen=True, kw_only=True)
class ComposeSettings:
    """`[compose]`: limits the pre-send checks apply."""

    html_warn_kb: int = setting(90, doc="Warn above this HTML size (Gmail clips at 102 KB).")
    subject_max_chars: int = setting(78, doc="Warn when the subject is longer than this.")


@dataclass(frozen=True, kw_only=True)
class ArchiveSettings:
    """`[archive]`: the static web archive `weekly archive` builds."""

    subscribe_url: str = setting(
        "", doc="Sign-up page linked from every archive page; empty means a mailto: to From."
    )
    per_page: int = setting(50, doc="Issues per index page; more make further pages.")
    feed_entries: int = setting(20, doc="Newest issues carried in full in the Atom feed.")


@dataclass(frozen=True, kw_only=True)
class DkimSettings:
    """`[dkim]`: sign every message so mailbox providers can tell it really comes from us."""

    domain: str = setting("", doc="Signing domain (d=); empty turns signing off.")
    selector: str = setting("", doc="Selector (s=): the key is published at selector._domainkey.")
    key_file: str = setting("", doc="PEM private key, relative to the newsletter's folder.")

    @property
    def enabled(self) -> bool:
        return bool(self.domain)


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """`[serve]`: the unsubscribe and sign-up web service behind the site's HTTPS proxy."""

    host: str = setting("127.0.0.1", doc="Address `weekly serve` listens on.")
    port: int = setting(8025, doc="Port `weekly serve` listens on.")
    confirm_url: str = setting(
        "",
        doc="Confirmation link with {token}; empty: unsubscribe.url with confirm/ for "
        "unsubscribe/.",
    )
    confirm_hours: float = setting(48.0, doc="How long a confirmation link works.")
    signups_per_hour: int = setting(10, doc="Sign-up requests one IP address may make an hour.")


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
    root: Path = field(default=Path("."), metadata={"internal": True})

    @property
    def path(self) -> Path:
        """The `weekly.toml` these settings came from."""
        return self.root / CONFIG_NAME


def load_config(root: Path) -> Config:
    """Read and validate `root/weekly.toml`."""
    path = root / CONFIG_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "not found: run weekly in the newsletter's folder") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc.strerror}") from None
    text = decode_utf8(path, data, ConfigError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(path, f"invalid TOML: {message}", line) from None
    locate = _KeyLocator(path, text)
    config = _build(Config, data, (), locate)
    return dataclasses.replace(config, root=root)


class _KeyLocator:
    """Finds the line where a dotted key is written, so errors can point at it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, keys: tuple[str, ...]) -> int | None:
        table: tuple[str, ...] = ()
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
            if header:
                table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
                if table == keys:
                    return number
                continue
            assign = re.match(r"([A-Za-z0-9_\-\"]+)\s*=", line)
            if assign and (*table, assign.group(1).strip('"')) == keys:
                return number
        return None

    def error(self, keys: tuple[str, ...], message: str) -> ConfigError:
        line = self.line_of(keys) or self.line_of(keys[:-1])
        return ConfigError(self.path, f"{'.'.join(keys)}: {message}", line)


def _build(cls: type, data: Any, prefix: tuple[str, ...], locate: _KeyLocator) -> Any:
    """Turn one TOML table into the dataclass `cls`, checking keys, types and required values."""
    if not isinstance(data, dict):
        raise locate.error(prefix, "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {
        (f.metadata.get("key") or f.name): f
        for f in dataclasses.fields(cls)
        if not f.metadata.get("internal")
    }
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise locate.error((*prefix, key), f"unknown setting (known: {known})")
    values: dict[str, Any] = {}
    for key, f in fields.items():
        keys = (*prefix, key)
        kind = hints[f.name]
        if key not in data:
            if f.default is dataclasses.MISSING:
                raise locate.error(keys, "required setting is missing")
            continue
        if dataclasses.is_dataclass(kind):
            values[f.name] = _build(kind, data[key], keys, locate)
        else:
            value = _check_value(kind, data[key], keys, locate)
            bad = _CONTROL.search(value) if isinstance(value, str) else None
            if bad and not f.metadata.get("lines"):
                raise locate.error(
                    keys, f"must be one line, without control characters ({bad[0]!r})"
                )
            values[f.name] = value
    obj = cls(**values)
    _validate_meaning(obj, prefix, locate)
    return obj


def _check_value(kind: Any, value: Any, keys: tuple[str, ...], locate: _KeyLocator) -> Any:
    """Check one scalar against its declared type; ints are accepted where floats are."""
    if typing.get_origin(kind) is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            options = " | ".join(map(str, choices))
            raise locate.error(keys, f"must be one of {options}, not {value!r}")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise locate.error(keys, f"must be a finite number, not {value}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise locate.error(keys, f"must be {_type_name(kind)}, not {_type_name(type(value))}")
    return value


def _type_name(kind: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _validate_meaning(obj: Any, prefix: tuple[str, ...], locate: _KeyLocator) -> None:
    """Checks beyond the type: URLs, addresses, ranges."""
    if isinstance(obj, NewsletterSettings):
        if not re.match(r"https?://[^/]+", obj.site_url):
            raise locate.error((*prefix, "site_url"), "must be an http(s) URL")
        _check_mailbox(obj.sender, (*prefix, "from"), locate)
        if obj.reply_to:
            _check_mailbox(obj.reply_to, (*prefix, "reply_to"), locate)
        if obj.language not in (languages := available_languages()):
            raise locate.error((*prefix, "language"), _unknown_language(obj.language, languages))
        if not obj.name.strip():
            raise locate.error((*prefix, "name"), "must not be empty")
    elif isinstance(obj, DeliverySettings):
        if not 0 < obj.port < 65536:
            raise locate.error((*prefix, "port"), "must be between 1 and 65535")
        for key in ("concurrency", "max_attempts", "messages_per_connection"):
            if getattr(obj, key) < 1:
                raise locate.error((*prefix, key), "must be at least 1")
        for key in ("rate", "timeout"):
            if getattr(obj, key) <= 0:
                raise locate.error((*prefix, key), "must be greater than 0")
        if obj.retry_delay < 0:
            raise locate.error((*prefix, "retry_delay"), "must not be negative")
    elif isinstance(obj, ArchiveSettings):
        if obj.subscribe_url and not re.match(r"https?://[^/]+", obj.subscribe_url):
            raise locate.error((*prefix, "subscribe_url"), "must be an http(s) URL")
        for key in ("per_page", "feed_entries"):
            if getattr(obj, key) < 1:
                raise locate.error((*prefix, key), "must be at least 1")
    elif isinstance(obj, ServeSettings):
        if not 0 < obj.port < 65536:
            raise locate.error((*prefix, "port"), "must be between 1 and 65535")
        if obj.confirm_url and not (
            obj.confirm_url.startswith("https://") and "{token}" in obj.confirm_url
        ):
            raise locate.error((*prefix, "confirm_url"), "must be an https:// URL with {token}")
        for key in ("confirm_hours", "signups_per_hour"):
            if getattr(obj, key) <= 0:
                raise locate.error((*prefix, key), "must be greater than 0")
    elif isinstance(obj, DkimSettings):
        _validate_dkim(obj, prefix, locate)
    elif isinstance(obj, UnsubscribeSettings):
        # Both go into the List-Unsubscribe header as they are.
        if "{token}" not in obj.url or not re.fullmatch(r"https://[!-~]+", obj.url):
            raise locate.error((*prefix, "url"), "must be an https:// URL containing {token}")
        if obj.mailto and not re.fullmatch(r"[!-~]+@[!-~]+", obj.mailto):
            raise locate.error((*prefix, "mailto"), f"not an email address: {obj.mailto!r}")


def _check_mailbox(value: str, keys: tuple[str, ...], locate: _KeyLocator) -> None:
    """One `Name <address>` (or bare address) every relay can carry: an IDN domain goes out in
    its ASCII form, but a non-ASCII local part would need SMTPUTF8 of every relay."""
    found = getaddresses([value])
    if len(found) != 1 or "@" not in found[0][1]:
        raise locate.error(keys, f"not an email address: {value!r}")
    address = found[0][1]
    local, _, domain = address.rpartition("@")
    if not re.fullmatch(r"[!-~]+", local):
        raise locate.error(keys, f"the part before @ must be ASCII, not {address!r}")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    if not _DNS_LABELS.fullmatch(ascii_domain):
        raise locate.error(keys, f"not a valid domain after @: {address!r}")


def _unknown_language(language: str, languages: list[str]) -> str:
    """Name the choices, or say there are none: a package installed without its catalogs."""
    if not languages:
        return f"{language!r} has no catalog: none found in {LOCALES_DIR} (reinstall weekly)"
    return f"must be one of {' | '.join(languages)}, not {language!r}"


_DNS_LABELS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*")


def _validate_dkim(obj: DkimSettings, prefix: tuple[str, ...], locate: _KeyLocator) -> None:
    """All three DKIM settings or none; domain and selector must be DNS names."""
    given = {key: getattr(obj, key) for key in ("domain", "selector", "key_file")}
    if any(given.values()):
        for key, value in given.items():
            if not value:
                raise locate.error((*prefix, key), "required when [dkim] is used")
    for key in ("domain", "selector"):
        if given[key] and not _DNS_LABELS.fullmatch(given[key]):
            raise locate.error((*prefix, key), f"not a DNS name: {given[key]!r}")


def confirm_url(config: Config) -> str:
    """The sign-up confirmation link pattern, with {token}."""
    if config.serve.confirm_url:
        return config.serve.confirm_url
    return config.unsubscribe.url.replace("unsubscribe/{token}", "confirm/{token}")


def issue_url(config: Config, number: int) -> str:
    """The web archive address of issue `number`."""
    return f"{config.newsletter.site_url}{number}/"
