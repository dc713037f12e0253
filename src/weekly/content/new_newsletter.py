"""`weekly init`: a newsletter of one's own in a folder, ready to compose, preview and send.

Answers are checked by the real settings loader before anything is written, and the files
are written to a staging folder first, so a refusal or a failure leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from weekly.config import CONFIG_NAME, load_config
from weekly.content.new_issue import write_example_issue
from weekly.errors import ConfigError, WeeklyError
from weekly.files import staging_folder
from weekly.l10n import available_languages
from weekly.project import (
    BUILD_DIR,
    ISSUES_DIR,
    KNOWN_COLUMNS,
    LIST_NAME,
    SITE_DIR,
    STATE_DIR,
    SUBSCRIBED,
    issue_dir,
)

GITIGNORE_NAME = ".gitignore"


@dataclass(frozen=True)
class Answers:
    """What `weekly init` asks; each field is named after its key in `[newsletter]`."""

    language: str
    name: str
    site_url: str
    sender: str
    postal_address: str
    tracking: str = "aggregate"  # [tracking] clicks and opens alike


# Defaults per language: the fields that are words; the rest follow from them.
_WORDS = {
    "ko": {"name": "나의 뉴스레터", "postal_address": "우편 주소를 적어 주세요", "you": "홍길동"},
    "en": {"name": "My Newsletter", "postal_address": "Your postal address", "you": "Your Name"},
}
DEFAULT_SITE_URL = "https://example.com/newsletter/"


def _words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["en"])


def default_name(language: str) -> str:
    """The newsletter name offered when none is given."""
    return _words(language)["name"]


def default_sender(name: str, site_url: str) -> str:
    """`Name <newsletter@host of the site>`: the From offered when none is given."""
    host = urlsplit(site_url).hostname or "example.com"
    return f"{name} <newsletter@{host}>"


def default_postal_address(language: str) -> str:
    """A placeholder postal address that says it must be replaced."""
    return _words(language)["postal_address"]


def default_answers(language: str = "ko") -> Answers:
    """Every answer as `weekly init --no-input` takes it."""
    name = default_name(language)
    return Answers(
        language=language,
        name=name,
        site_url=DEFAULT_SITE_URL,
        sender=default_sender(name, DEFAULT_SITE_URL),
        postal_address=default_postal_address(language),
    )


class AnswerError(WeeklyError):
    """One answer would make an invalid `weekly.toml`; `key` is its name there."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"{key}: {detail}")


@dataclass(frozen=True)
class Created:
    """The folder `weekly init` filled and the files it wrote there, relative to it."""

    root: Path
    files: tuple[Path, ...]


def _toml_string(value: str) -> str:
    """A TOML basic string; JSON's string escapes are valid TOML ones."""
    return json.dumps(value, ensure_ascii=False)


def _unsubscribe_url(site_url: str) -> str:
    """One-click unsubscribes under the site."""
    return f"{site_url.rstrip('/')}/unsubscribe/{{token}}"


def config_text(answers: Answers) -> str:
    """A commented `weekly.toml` holding the answers and sensible delivery settings."""
    domain = parseaddr(answers.sender)[1].rpartition("@")[2] or "example.com"
    q = _toml_string
    languages = " | ".join(available_languages())
    return f"""\
# Settings of this newsletter, written by `weekly init`. Every key, its type and default
# is declared in weekly/config.py; an unknown key or a wrong type is an error.

[newsletter]
name = {q(answers.name)}
language = {q(answers.language)}  # {languages}: fixed strings, dates, <html lang>
# Where the web archive (`weekly archive` builds it in site/) is published.
site_url = {q(answers.site_url)}
from = {q(answers.sender)}
# reply_to = "editor@example.com"   # replies go to From when this is left out
postal_address = {q(answers.postal_address)}  # in every footer, as anti-spam laws require

[delivery]
# As written, `weekly send` hands every message to `weekly sink` on this machine, which
# keeps it in .weekly/outbox/ and delivers nothing: try your sends there first.
# For real sends, name your relay, e.g. host = "smtp.example.com", port = 587,
# security = "starttls", username = "..." (the password only from WEEKLY_SMTP_PASSWORD).
host = "127.0.0.1"
port = 1025
security = "none"

[unsubscribe]
# `weekly serve`, behind your site's HTTPS proxy, answers one-click unsubscribes here.
# The key that signs each {{token}} comes only from the environment: WEEKLY_SECRET.
url = {q(_unsubscribe_url(answers.site_url))}
mailto = {q(f"unsubscribe@{domain}")}

[tracking]
# What `weekly serve` counts of each issue (README: Tracking): off; aggregate (clicks per
# link and opens, no one named); subscriber (by address, only for readers with yes in
# subscribers.csv's tracking column, with a line in their footer saying so).
clicks = {q(answers.tracking)}
opens = {q(answers.tracking)}
"""


def subscribers_text(answers: Answers, today: dt.date) -> str:
    """The list's header and one example row to replace with real subscribers."""
    you = _words(answers.language)["you"]
    row = ("you@example.com", you, SUBSCRIBED, today.isoformat())
    return f"{','.join(KNOWN_COLUMNS)}\n{','.join(row)}\n"


GITIGNORE_TEXT = f"""\
# weekly's state and outputs, and the real subscriber list, stay out of version control.
/{STATE_DIR}/
/{BUILD_DIR}/
/{SITE_DIR}/
/{LIST_NAME}
/secrets/
"""

# The TOML keys an answer fills, and the keys derived from an answer.
_ANSWER_OF_KEY = {
    "newsletter.name": "name",
    "newsletter.language": "language",
    "newsletter.site_url": "site_url",
    "newsletter.from": "from",
    "newsletter.postal_address": "postal_address",
    "unsubscribe.url": "site_url",
    "unsubscribe.mailto": "from",
    "tracking.clicks": "tracking",
}


def check_answers(answers: Answers) -> None:
    """Load the `weekly.toml` these answers make with the real loader; AnswerError if bad."""
    if answers.site_url.startswith("http://"):
        raise AnswerError("site_url", "must be https://: compose warns of every http: link")
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / CONFIG_NAME).write_text(config_text(answers), encoding="utf-8")
        try:
            load_config(Path(scratch))
        except ConfigError as exc:
            for key, answer in _ANSWER_OF_KEY.items():
                _, found, detail = str(exc.message).partition(f"{key}: ")
                if found and not key.startswith("newsletter."):
                    detail = f"would make {key} invalid ({detail})"
                if found:
                    raise AnswerError(answer, detail) from None
            raise


def check_answer(key: str, value: str) -> None:
    """Check one answer (by its TOML key) among defaults for the rest."""
    field = "sender" if key == "from" else key
    check_answers(dataclasses.replace(default_answers(), **{field: value}))


def check_folder(root: Path) -> None:
    """Refuse a folder that already has a weekly.toml, or any other file init would write."""
    if (root / CONFIG_NAME).exists():
        raise WeeklyError(f"{root / CONFIG_NAME} already exists: {root} is a newsletter already")
    for name in (ISSUES_DIR, LIST_NAME, GITIGNORE_NAME):
        if (root / name).exists():
            raise WeeklyError(f"{root / name} already exists: weekly init would overwrite it")


def init_newsletter(root: Path, answers: Answers, today: dt.date | None = None) -> Created:
    """Write weekly.toml, issues/1/, subscribers.csv and .gitignore into `root`, all or none."""
    check_folder(root)
    check_answers(answers)
    on = today or dt.date.today()
    made_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with staging_folder(root, ".weekly-init-") as staging:
            (staging / CONFIG_NAME).write_text(config_text(answers), encoding="utf-8")
            (staging / LIST_NAME).write_text(subscribers_text(answers, on), encoding="utf-8")
            (staging / GITIGNORE_NAME).write_text(GITIGNORE_TEXT, encoding="utf-8")
            first = issue_dir(staging, 1)
            first.mkdir(parents=True)
            example = write_example_issue(first, answers.language, on)
            issue = [p.relative_to(staging) for p in example]
            for name in (CONFIG_NAME, LIST_NAME, GITIGNORE_NAME, ISSUES_DIR):
                os.replace(staging / name, root / name)
    except BaseException:
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return Created(root, (Path(CONFIG_NAME), *issue, Path(LIST_NAME), Path(GITIGNORE_NAME)))
