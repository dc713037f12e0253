"""The bad-input corpus: every mistake an editor can make in a file, a setting, an argument
or a state file ends in one line naming the file and line (or the option), the right exit
status, no traceback, and nothing written or sent."""

from __future__ import annotations

import hashlib
import mailbox
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from weekly.cli import main
from weekly.publish.archive import build_archive
from weekly.render.compose import compose_to_build
from weekly.render.composed import load_composed
from weekly.store.copy import copy_store
from weekly.store.sqlite.ledger import SqliteLedger

from .conftest import NO_STORE, REPO
from .smtp import SECRET
from .storerows import snapshot

Edit = Callable[[Path], None]
LATIN1 = "Renée Müller".encode("latin-1")


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, the command that meets it, what it must say."""

    id: str
    edit: Edit
    args: tuple[str, ...]
    says: str  # a regular expression the one line of stderr must contain
    status: int = 1
    subprocess: bool = False  # also run as a real `python -m weekly` process
    stores: tuple[str, ...] = ("none",)  # conftest `store` params: where the case runs


# Edits of the editor's files --------------------------------------------------------------


def replace(name: str, old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def write(name: str, content: str | bytes) -> Edit:
    def edit(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return edit


def both(*edits: Edit) -> Edit:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)

    return edit


def nothing(root: Path) -> None:
    """The newsletter as it is: the mistake is in the arguments."""


def toml(old: str, new: str) -> Edit:
    return replace("weekly.toml", old, new)


def head(old: str, new: str) -> Edit:
    return replace("issues/324/issue.md", old, new)


def csv(text: str | bytes) -> Edit:
    return write("subscribers.csv", text)


def empty_sqlite(name: str) -> Edit:
    def edit(root: Path) -> None:
        with sqlite3.connect(root / name) as db:
            db.execute("CREATE TABLE other (x)")
        db.close()

    return edit


NO_SUBJECT = head('subject: "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래"\n', "")
SECTION = "issues/324/10-sonnet.md"
FROM = 'from = "AI 주간 동향 <weekly@news.example.com>"'
TIMEOUT = "max_attempts = 5"
GOOD_ROW = "kim@example.com,김민지,subscribed\n"
COMPOSE = ("compose", "324")
CHECK = ("subscribers", "check")
DRY_RUN = ("send", "324", "--dry-run")
# A command that reads the store before it meets the mistake runs on both stores; one that
# meets a broken SQLite file on SQLite alone; any other runs where no store answers.
BOTH = ("sqlite", "postgresql")
SQLITE_FILES = ("sqlite",)


def bad_setting(id: str, old: str, new: str, says: str, **kw: object) -> Case:
    return Case(id, toml(old, new), COMPOSE, rf"weekly\.toml:\d+: {says}", **kw)  # type: ignore[arg-type]


CASES = [
    # subscribers.csv ------------------------------------------------------------------
    Case(
        "csv-latin1",
        csv(b"email,name\nkim@example.com,Kim\nrenee@example.com," + LATIN1 + b"\n"),
        CHECK,
        r"subscribers\.csv:3: not UTF-8 text: byte 52 is b'\\xe9'",
        subprocess=True,
    ),
    Case(
        "csv-latin1-send",
        csv(b"email,name\nrenee@example.com," + LATIN1 + b"\n"),
        DRY_RUN,
        r"subscribers\.csv:2: not UTF-8 text: byte 32",
        stores=BOTH,
    ),
    Case(
        "csv-latin1-header",
        csv(b"email,n\xe4me\n"),
        CHECK,
        r"subscribers\.csv:1: not UTF-8 text: byte 7",
    ),
    Case(
        "csv-bom-then-latin1",
        csv(b"\xef\xbb\xbfemail\nx\xe9@example.com\n"),
        CHECK,
        r"subscribers\.csv:2: not UTF-8 text: byte 10",
    ),
    Case("csv-utf16", csv("email\nkim@example.com\n".encode("utf-16")), CHECK, r"csv:1: not UTF-8"),
    Case("csv-no-email", csv("name,status\nKim,subscribed\n"), CHECK, r"csv:1: header: no `email`"),
    Case("csv-empty", csv(""), CHECK, r"subscribers\.csv:1: empty file"),
    Case(
        "csv-dup-column", csv("email,name,Name\n"), CHECK, r"csv:1: header: column `name` appears"
    ),
    Case(
        "csv-bad-column",
        csv("email,Company Name\n"),
        CHECK,
        r"csv:1: header: column `company name`",
    ),
    Case(
        "csv-reserved",
        csv("email,unsubscribe_url\n"),
        CHECK,
        r"csv:1: header: column `unsub\w+` is",
    ),
    Case(
        "csv-bad-address",
        csv(f"email,name,status\n{GOOD_ROW}nope,No,\n"),
        DRY_RUN,
        r"csv:3: email: 'nope'",
        stores=BOTH,
    ),
    Case(
        "csv-bad-status",
        csv("email,status\nkim@example.com,maybe\n"),
        DRY_RUN,
        r"csv:2: status",
        stores=BOTH,
    ),
    Case(
        "csv-short-row",
        csv("email,name,status\nkim@example.com\n"),
        DRY_RUN,
        r"csv:2: row: has 1",
        stores=BOTH,
    ),
    Case(
        "csv-long-row",
        csv("email\nkim@example.com,x,y\n"),
        DRY_RUN,
        r"csv:2: row: has 3 fields",
        stores=BOTH,
    ),
    Case(
        "csv-control",
        csv('email,name\nkim@example.com,"Kim\x07"\n'),
        DRY_RUN,
        r"csv:2: name: con",
        stores=BOTH,
    ),
    Case(
        "csv-runaway-quote",
        csv("email,name\n" + "a@example.com,A\n" * 3 + 'b@example.com,"B\n' + "c@x.y,C\n" * 20_000),
        CHECK,
        r"subscribers\.csv:5: malformed CSV: a field over 131,072 characters starts in this row",
        subprocess=True,
    ),
    Case(
        "csv-runaway-quote-header",
        csv('"email\n' + "x" * 140_000),
        DRY_RUN,
        r"subscribers\.csv:1: malformed CSV: a field over",
        stores=BOTH,
    ),
    Case(
        "csv-empty-email",
        csv("email,name\n,Kim\n"),
        DRY_RUN,
        r"csv:2: email: is empty",
        stores=BOTH,
    ),
    Case(
        "csv-line-break",
        csv('email,name\nkim@example.com,"Kim\nBcc: x@y.z"\n'),
        DRY_RUN,
        r"csv:2: name: contains a line break",
        stores=BOTH,
    ),
    Case(
        "csv-list-missing",
        nothing,
        (*DRY_RUN, "--list", "nope.csv"),
        r"nope\.csv: subscriber list",
        stores=BOTH,
    ),
    Case("csv-list-folder", nothing, (*CHECK, "--list", "issues"), r"'--list'", status=2),
    # issue.md front matter ------------------------------------------------------------
    Case(
        "fm-impossible-date",
        head("date: 2025-10-02", "date: 2025-13-45"),
        COMPOSE,
        r"issues/324/issue\.md:3: date: not a real date \(month must be in 1\.\.12\)",
        subprocess=True,
    ),
    Case("fm-feb-30", head("date: 2025-10-02", "date: 2025-02-30"), COMPOSE, r"issue\.md:3: date:"),
    Case(
        "fm-date-words",
        head("date: 2025-10-02", "date: yesterday"),
        COMPOSE,
        r"md:3: date: expected",
    ),
    Case(
        "fm-date-list",
        head("date: 2025-10-02", "date: [1]"),
        COMPOSE,
        r"issue\.md:3: date: expected",
    ),
    Case(
        "fm-no-title",
        head("title: 소넷 4.5, 소라 2와 인공지능의 미래\n", ""),
        COMPOSE,
        r"md:1: title:",
    ),
    Case(
        "fm-title-list", head("title: 소넷", "title: [소넷]\nx: "), COMPOSE, r"md:\d+: x: unknown"
    ),
    Case(
        "fm-title-map",
        head("title: 소넷 4.5, 소라 2와 인공지능의 미래", "title: {a: 1}"),
        COMPOSE,
        r"md:2: title: must",
    ),
    Case(
        "fm-unknown-key",
        head("date: 2025-10-02", "date: 2025-10-02\nauthor: 김"),
        COMPOSE,
        r"md:4: author: unknown",
    ),
    Case(
        "fm-bad-yaml",
        head("date: 2025-10-02", "date: [2025"),
        COMPOSE,
        r"issue\.md:\d+: invalid YAML",
    ),
    Case(
        "fm-tab-indent",
        head("date: 2025-10-02", "date:\n\t- 2025"),
        COMPOSE,
        r"issue\.md:\d+: invalid YAML",
    ),
    Case(
        "fm-unclosed",
        write("issues/324/issue.md", "---\ntitle: x\n"),
        COMPOSE,
        r"issue\.md:1: front matter starts",
    ),
    Case(
        "fm-draft-yes",
        head("date: 2025-10-02", 'date: 2025-10-02\ndraft: "yes"'),
        COMPOSE,
        r"md:4: draft: must be",
    ),
    Case(
        "fm-subject-empty",
        head('subject: "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래"', 'subject: ""'),
        COMPOSE,
        r"md:4: subject: must",
    ),
    Case(
        "fm-subject-placeholder",
        head('subject: "AI', 'subject: "%%name%% 님, AI'),
        COMPOSE,
        r"issues/324/issue\.md:4: subject: .* has a %%placeholder%%",
        subprocess=True,
    ),
    Case(
        "fm-subject-crlf",
        head('subject: "AI', 'subject: "AI\\r\\nBcc: x@y.z AI'),
        COMPOSE,
        r"issues/324/issue\.md:4: subject: must be one line, without control characters",
        subprocess=True,
    ),
    Case(
        "fm-title-lf",
        head("title: 소넷 4.5, 소라 2와 인공지능의 미래", 'title: "소넷\\nBcc: x@y.z"'),
        COMPOSE,
        r"issue\.md:2: title: must be one line, without control characters \('\\n'\)",
    ),
    Case(
        "fm-preheader-control",
        head("preheader: 코딩", 'preheader: "\\x01" # 코딩'),
        COMPOSE,
        r"issue\.md:5: preheader: must be one line",
    ),
    Case(
        "fm-section-title-cr",
        write(SECTION, '---\ntitle: "a\\rb"\n---\n본문\n'),
        COMPOSE,
        r"10-sonnet\.md:2: title: must be one line",
    ),
    Case(
        "fm-not-mapping",
        write("issues/324/issue.md", "---\n- a\n---\n본문\n"),
        COMPOSE,
        r"issue\.md:2: front matter must be a mapping",
    ),
    Case(
        "fm-latin1",
        write("issues/324/issue.md", b"---\ntitle: " + LATIN1 + b"\n"),
        COMPOSE,
        r"issue\.md:2: not UTF-8 text: byte 14",
    ),
    Case(
        "fm-missing",
        lambda root: (root / "issues/324/issue.md").unlink(),
        COMPOSE,
        r"issues/324/issue\.md: missing",
    ),
    Case(
        "fm-preheader-map",
        head("preheader: 코딩", "preheader: {a: 1}\nx: 코딩"),
        COMPOSE,
        r"md:\d+: x: unknown",
    ),
    Case(
        "fm-empty-issue",
        both(write("issues/325/issue.md", "---\ntitle: 빈 호\ndate: 2025-10-09\n---\n")),
        ("compose", "325"),
        r"issues/325/issue\.md: empty issue",
    ),
    # section files -------------------------------------------------------------------
    Case(
        "section-folder",
        lambda root: (root / "issues/324/50-extra.md").mkdir(),
        COMPOSE,
        r"issues/324/50-extra\.md: a folder named like a section file",
        subprocess=True,
    ),
    Case(
        "section-latin1",
        write(SECTION, b"# T\n\nabc " + LATIN1 + b"\n"),
        COMPOSE,
        r"10-sonnet\.md:3: not UTF-8 text: byte 12",
    ),
    Case(
        "section-euc-kr",
        write(SECTION, "# 제목\n본문".encode("euc-kr")),
        COMPOSE,
        r"10-sonnet\.md:1: not UTF-8",
    ),
    Case(
        "section-no-title",
        write(SECTION, "본문만 있습니다.\n"),
        COMPOSE,
        r"10-sonnet\.md:1: section has no title",
    ),
    Case(
        "section-no-text",
        write(SECTION, "---\ntitle: 제목\n---\n\n"),
        COMPOSE,
        r"10-sonnet\.md:4: section has a title but no text",
    ),
    Case(
        "section-unknown-key",
        write(SECTION, "---\ntitle: 제목\ndate: 2025-10-02\n---\n본문\n"),
        COMPOSE,
        r"10-sonnet\.md:3: date: unknown",
    ),
    Case(
        "section-bad-yaml",
        write(SECTION, "---\ntitle: [\n---\n본문\n"),
        COMPOSE,
        r"10-sonnet\.md:\d+: invalid YAML",
    ),
    Case(
        "section-empty-title",
        write(SECTION, '---\ntitle: ""\n---\n본문\n'),
        COMPOSE,
        r"10-sonnet\.md:2: title: must be",
    ),
    Case(
        "section-unclosed",
        write(SECTION, "---\ntitle: 제목\n본문\n"),
        COMPOSE,
        r"10-sonnet\.md:1: front matter starts",
    ),
    Case(
        "section-bad-date",
        write(SECTION, "---\ntitle: 2025-02-30\n---\n본문\n"),
        COMPOSE,
        r"10-sonnet\.md:2: title: not a real date",
    ),
    Case(
        "section-toml-marker",
        write(SECTION, "---\n[title]\n---\n본문\n"),
        COMPOSE,
        r"10-sonnet\.md:2: front matter must be",
    ),
    # templates -----------------------------------------------------------------------
    Case(
        "section-upper-case-extension",
        write("issues/324/40-links.MD", "# 링크\n\n본문\n"),
        COMPOSE,
        r"issues/324/40-links\.MD: section files end in \.md \(lower case\)",
    ),
    Case(
        "tpl-folder-named-email-txt",
        lambda root: (root / "templates/email.txt").mkdir(parents=True),
        COMPOSE,
        r"templates/email\.txt: a folder named like a template",
    ),
    Case(
        "tpl-subject-control",
        both(NO_SUBJECT, write("templates/subject.txt", '#{{ issue.number }} {{ "\\x00" }}\n')),
        COMPOSE,
        r"subject\.txt: the subject has a control character",
    ),
    Case(
        "issue-folder-leading-zero",
        lambda root: shutil.copytree(root / "issues/324", root / "issues/0325"),
        ("archive",),
        r"issues/0325: an issue folder is named by its number in plain digits",
    ),
    Case(
        "issue-folder-other-digits",
        lambda root: (root / "issues/٣٢٥").mkdir(),
        ("archive",),
        r"issues/٣٢٥: an issue folder is named by its number in plain digits",
    ),
    Case(
        "issue-key-twice",
        head("date: 2025-10-02\n", "date: 2025-10-02\ntitle: 다른 제목\n"),
        COMPOSE,
        r"issues/324/issue\.md:4: title: given twice \(first on line 2\)",
    ),
    Case(
        "title-placeholder-in-subject",
        both(NO_SUBJECT, head("title: 소넷 4.5,", "title: 안녕 %%name%%님, 소넷 4.5,")),
        COMPOSE,
        r"subject\.txt: the subject .* has a %%placeholder%%, but it is the same for every reader",
    ),
    Case(
        "tpl-div-zero",
        write("templates/email.txt", "{{ issue.title }}\n{{ 1/0 }}\n"),
        COMPOSE,
        r"templates/email\.txt:2: ZeroDivisionError: division by zero",
        subprocess=True,
    ),
    Case(
        "tpl-subject-type",
        both(NO_SUBJECT, write("templates/subject.txt", '{{ "x"+1 }}\n')),
        COMPOSE,
        r"templates/subject\.txt:1: TypeError: can only concatenate str",
    ),
    Case(
        "tpl-mjml-div-zero",
        write("templates/email.mjml", "<mjml>\n{{ 1/0 }}\n</mjml>\n"),
        COMPOSE,
        r"email\.mjml:2: ZeroDivisionError",
    ),
    Case(
        "tpl-format",
        write("templates/email.txt", 'a\nb\n{{ "%d" % "x" }}\n'),
        COMPOSE,
        r"email\.txt:3: TypeError",
    ),
    Case(
        "tpl-filter-fault",
        write("templates/email.txt", "{{ issue.date | long_date(5) }}\n"),
        COMPOSE,
        r"email\.txt:1: TypeError",
    ),
    Case(
        "tpl-mjml-latin1",
        write("templates/email.mjml", b"<mjml>\n" + LATIN1),
        COMPOSE,
        r"email\.mjml:2: not UTF-8 text: byte 10",
    ),
    Case(
        "tpl-text-latin1",
        write("templates/email.txt", LATIN1),
        COMPOSE,
        r"email\.txt:1: not UTF-8 text: byte 3",
    ),
    Case(
        "tpl-subject-latin1",
        both(NO_SUBJECT, write("templates/subject.txt", b"#{{ issue.number }} " + LATIN1)),
        COMPOSE,
        r"subject\.txt:1: not UTF-8 text",
    ),
    Case("tpl-syntax", write("templates/email.txt", "a\n{% if %}\n"), COMPOSE, r"email\.txt:2: "),
    Case(
        "tpl-unclosed-block",
        write("templates/email.txt", "{% for s in sections %}\n{{ s }}\n"),
        COMPOSE,
        r"email\.txt:\d+: ",
    ),
    Case(
        "tpl-undefined",
        write("templates/email.txt", "a\n{{ issue.nope }}\n"),
        COMPOSE,
        r"email\.txt:2: .*nope",
    ),
    Case(
        "tpl-none-attr",
        write("templates/email.txt", "{{ issue.subject.x.y }}\n"),
        COMPOSE,
        r"email\.txt:1: ",
    ),
    Case(
        "tpl-bad-placeholder",
        write("templates/email.txt", "{{ subscriber.Name }}\n"),
        COMPOSE,
        r"email\.txt:1: .*Name",
    ),
    Case(
        "tpl-subscriber-in-subject",
        both(
            NO_SUBJECT,
            write("templates/subject.txt", "#{{ issue.number }}\n{{ subscriber.name }}\n"),
        ),
        COMPOSE,
        r"templates/subject\.txt:2: subscriber\.name cannot be used here",
    ),
    Case(
        "tpl-include-missing",
        write("templates/email.txt", '{% include "nope.txt" %}\n'),
        COMPOSE,
        r"nope\.txt",
    ),
    Case(
        "tpl-extends-missing",
        write("templates/email.txt", '{% extends "default:nope.txt" %}\n'),
        COMPOSE,
        r"nope\.txt",
    ),
    # weekly.toml ---------------------------------------------------------------------
    bad_setting(
        "toml-from-crlf-bcc",
        FROM,
        'from = "News <a@b.c>\\r\\nBcc: x@y.z"',
        r"newsletter\.from: must be one line",
        subprocess=True,
    ),
    bad_setting(
        "toml-from-lf",
        FROM,
        'from = "News <a@b.c>\\nBcc: x@y.z"',
        r"newsletter\.from: must be one line",
    ),
    bad_setting(
        "toml-name-lf",
        'name = "AI 주간 동향"',
        'name = """AI\nBcc: x@y.z"""',
        r"newsletter\.name: must be one line",
    ),
    bad_setting(
        "toml-reply-crlf",
        'reply_to = "editor@news.example.com"',
        'reply_to = "e@x.com\\r\\nBcc: a@b.c"',
        r"newsletter\.reply_to: must be one line",
    ),
    bad_setting(
        "toml-mailto-cr",
        'mailto = "unsubscribe@news.example.com"',
        'mailto = "u@x.com\\rBcc: a@b.c"',
        r"unsubscribe\.mailto: must be one line",
    ),
    bad_setting(
        "toml-url-lf",
        'url = "https://news.example.com/weekly/unsubscribe/{token}"',
        'url = "https://x.com/{token}\\n"',
        r"unsubscribe\.url: must be one line",
    ),
    bad_setting(
        "toml-username-tab",
        TIMEOUT,
        f'{TIMEOUT}\nusername = "a\\tb"',
        r"delivery\.username: must be one line",
    ),
    bad_setting(
        "toml-timeout-nan",
        TIMEOUT,
        f"{TIMEOUT}\ntimeout = nan",
        r"delivery\.timeout: must be a finite number, not nan",
        subprocess=True,
    ),
    bad_setting(
        "toml-timeout-inf",
        TIMEOUT,
        f"{TIMEOUT}\ntimeout = inf",
        r"delivery\.timeout: must be a finite number, not inf",
    ),
    bad_setting(
        "toml-timeout-neg",
        TIMEOUT,
        f"{TIMEOUT}\ntimeout = -1",
        r"delivery\.timeout: must be greater than 0",
    ),
    bad_setting(
        "toml-timeout-neg-inf",
        TIMEOUT,
        f"{TIMEOUT}\ntimeout = -inf",
        r"delivery\.timeout: must be a finite",
    ),
    bad_setting(
        "toml-rate-nan", "rate = 50", "rate = nan", r"delivery\.rate: must be a finite number"
    ),
    bad_setting(
        "toml-retry-inf",
        TIMEOUT,
        f"{TIMEOUT}\nretry_delay = inf",
        r"delivery\.retry_delay: must be a finite",
    ),
    bad_setting(
        "toml-confirm-hours-inf",
        TIMEOUT,
        f"{TIMEOUT}\n[serve]\nconfirm_hours = inf",
        r"serve\.confirm_hours: must be a finite",
    ),
    bad_setting(
        "toml-from-not-address", FROM, 'from = "News"', r"newsletter\.from: not an email address"
    ),
    bad_setting(
        "toml-from-two",
        FROM,
        'from = "a@b.com, c@d.com"',
        r"newsletter\.from: not an email address",
    ),
    bad_setting(
        "toml-from-trailing",
        FROM,
        'from = "News <a@b.com> x"',
        r"newsletter\.from: not an email address",
    ),
    bad_setting(
        "toml-from-invalid", FROM, 'from = "News <a@b..c>"', r"newsletter\.from: not a valid domain"
    ),
    bad_setting(
        "toml-from-utf8-local",
        FROM,
        'from = "뉴스 <소식@뉴스.한국>"',
        r"newsletter\.from: the part before @ must be ASCII",
    ),
    bad_setting(
        "toml-reply-invalid",
        'reply_to = "editor@news.example.com"',
        'reply_to = "editor"',
        r"newsletter\.reply_to: not an email address",
    ),
    bad_setting(
        "toml-port-range",
        "port = 1025",
        "port = 70000",
        r"delivery\.port: must be between 1 and 65535",
    ),
    bad_setting(
        "toml-port-string",
        "port = 1025",
        'port = "x"',
        r"delivery\.port: must be an integer, not a string",
    ),
    bad_setting(
        "toml-serve-port", TIMEOUT, f"{TIMEOUT}\n[serve]\nport = 0", r"serve\.port: must be between"
    ),
    bad_setting(
        "toml-attempts-float",
        "max_attempts = 5",
        "max_attempts = 1.5",
        r"delivery\.max_attempts: must be an integer",
    ),
    bad_setting(
        "toml-concurrency",
        "concurrency = 8",
        "concurrency = 0",
        r"delivery\.concurrency: must be at least 1",
    ),
    bad_setting(
        "toml-security",
        'security = "none"',
        'security = "ssl"',
        r"delivery\.security: must be one of",
    ),
    bad_setting(
        "toml-language",
        'language = "ko"',
        'language = "fr"',
        r"newsletter\.language: must be one of en \| ko",
    ),
    bad_setting(
        "toml-unknown",
        'language = "ko"',
        'language = "ko"\ncolour = 1',
        r"newsletter\.colour: unknown setting",
    ),
    bad_setting("toml-syntax", "port = 1025", "port = = 1025", r"invalid TOML"),
    bad_setting(
        "toml-site-url",
        'site_url = "https://',
        'site_url = "ftp://',
        r"newsletter\.site_url: must be an http",
    ),
    bad_setting(
        "toml-unsub-token",
        "unsubscribe/{token}",
        "unsubscribe/",
        r"unsubscribe\.url: must be an https",
    ),
    bad_setting(
        "toml-not-table", "[delivery]", "delivery = 5\n[delivery2]", r"delivery2: unknown setting"
    ),
    bad_setting(
        "toml-postal-empty",
        'postal_address = "서울특별시 중구 세종대로 110, 04524"',
        'postal_address = " "',
        r"newsletter\.postal_address: must not be empty",
    ),
    bad_setting(
        "toml-html-warn-negative",
        TIMEOUT,
        f"{TIMEOUT}\n[compose]\nhtml_warn_kb = -1",
        r"compose\.html_warn_kb: must be at least 1",
    ),
    bad_setting(
        "toml-subject-max-zero",
        TIMEOUT,
        f"{TIMEOUT}\n[compose]\nsubject_max_chars = 0",
        r"compose\.subject_max_chars: must be at least 1",
    ),
    bad_setting(
        "toml-unsubscribe-two-tokens",
        "unsubscribe/{token}",
        "unsubscribe/{token}/{token}",
        r"unsubscribe\.url: must be an https:// URL containing \{token\} once",
    ),
    bad_setting(
        "toml-unsubscribe-other-brace",
        "unsubscribe/{token}",
        "unsubscribe/{name}/{token}",
        r"unsubscribe\.url: .*no other braces",
    ),
    bad_setting("toml-host-empty", 'host = "127.0.0.1"', 'host = ""', r"delivery\.host: must not"),
    Case(
        "toml-array-of-tables",
        toml("[newsletter]", "[[newsletter]]"),
        COMPOSE,
        r"weekly\.toml:4: newsletter: must be a table",
    ),
    bad_setting(
        "toml-dkim-half",
        TIMEOUT,
        f'{TIMEOUT}\n[dkim]\ndomain = "news.example.com"',
        r"dkim\.selector: required",
    ),
    bad_setting(
        "toml-missing-name",
        'name = "AI 주간 동향"\n',
        "",
        r"newsletter\.name: required setting is missing",
    ),
    Case(
        "toml-latin1",
        write("weekly.toml", b'[newsletter]\nname = "' + LATIN1 + b'"\n'),
        COMPOSE,
        r"weekly\.toml:2: not UTF-8 text: byte 24",
    ),
    Case(
        "toml-missing",
        lambda root: (root / "weekly.toml").unlink(),
        COMPOSE,
        r"weekly\.toml: not found",
    ),
    # command-line arguments ----------------------------------------------------------
    Case(
        "cli-status-huge",
        nothing,
        ("status", "9223372036854775808"),
        r"'NUMBER': 9223372036854775808 is not in the range",
        status=2,
        subprocess=True,
    ),
    Case(
        "cli-export-huge", nothing, ("export", "9223372036854775808"), r"'\[?NUMBER\]?'", status=2
    ),
    Case("cli-send-huge", nothing, ("send", "99999999999999999999"), r"'\[?NUMBER\]?'", status=2),
    Case(
        "cli-sink-port-high",
        nothing,
        ("sink", "--port", "70000"),
        r"'--port': 70000 is not in the range 1<=x<=65535",
        status=2,
        subprocess=True,
    ),
    Case(
        "cli-sink-port-neg",
        nothing,
        ("sink", "--port", "-1"),
        r"'--port': -1 is not in the range",
        status=2,
    ),
    Case(
        "cli-serve-port-high",
        nothing,
        ("serve", "--port", "70000"),
        r"'--port': 70000 is not in the range",
        status=2,
    ),
    Case(
        "cli-serve-port-neg",
        nothing,
        ("serve", "--port", "-1"),
        r"'--port': -1 is not in the range",
        status=2,
    ),
    Case(
        "cli-serve-host-not-an-address",
        toml(TIMEOUT, f'{TIMEOUT}\n[serve]\nhost = "999.1.1.1"'),
        ("serve",),
        r"cannot listen on 999\.1\.1\.1:8025",
        subprocess=True,
    ),
    Case(
        "cli-serve-host-option",
        nothing,
        ("serve", "--host", "999.1.1.1", "--port", "8031"),
        r"cannot listen on 999\.1\.1\.1:8031",
    ),
    Case(
        "state-outbox-new-is-a-file",
        both(
            lambda root: shutil.rmtree(root / ".weekly/outbox/new"),
            write(".weekly/outbox/new", "not a folder"),
        ),
        ("sink", "--port", "1"),  # refused before it binds
        r"\.weekly/outbox/new: not a folder",
    ),
    Case("cli-preview-port", nothing, ("preview", "324", "--port", "70000"), r"'--port'", status=2),
    Case(
        "cli-compose-zero",
        nothing,
        ("compose", "0"),
        r"'\[NUMBER\]': 0 is not in the range",
        status=2,
    ),
    Case("cli-compose-word", nothing, ("compose", "abc"), r"'\[?NUMBER\]?'", status=2),
    Case("cli-send-no-number", nothing, ("send",), r"Missing argument 'NUMBER'", status=2),
    Case(
        "cli-unknown-option", nothing, ("compose", "--bogus"), r"No such option '--bogus'", status=2
    ),
    Case(
        "cli-import-number", nothing, ("import", "x.md", "--number", "0"), r"'--number'", status=2
    ),
    Case("cli-new-date", nothing, ("new", "--date", "2025-13-45"), r"'--date'", status=2),
    Case("cli-unsubscribe-nothing", nothing, ("unsubscribe",), r"ADDRESS or --mailbox", status=2),
    Case(
        "cli-test-address",
        nothing,
        (*DRY_RUN, "--test", "not-an-address"),
        r"--test 'not-an-address'",
        stores=BOTH,
    ),
    Case(
        "cli-compose-missing-issue",
        nothing,
        ("compose", "999"),
        r"issues/999: no such issue folder",
    ),
    Case("cli-init-existing", nothing, ("init", "--no-input"), r"weekly\.toml already exists"),
    Case(
        "cli-init-language",
        nothing,
        ("init", "fresh", "--no-input", "--language", "fr"),
        r"'--language': must be one of en \| ko",
        status=2,
    ),
    Case(
        "cli-init-postal-empty",
        nothing,
        ("init", "fresh", "--no-input", "--postal-address", ""),
        r"'--postal-address': must not be empty",
        status=2,
    ),
    Case(
        "cli-init-from-bcc",
        nothing,
        ("init", "fresh", "--no-input", "--from", "News <a@b.c>\r\nBcc: x@y.z"),
        r"'--from': must be one line",
        status=2,
    ),
    # state files ---------------------------------------------------------------------
    Case(
        "state-meta-empty",
        write("build/324/meta.json", "{}"),
        DRY_RUN,
        r"build/324/meta\.json: subject: missing",
        subprocess=True,
    ),
    Case(
        "state-meta-garbage",
        write("build/324/meta.json", "\n\x00garbage"),
        DRY_RUN,
        r"build/324/meta\.json:2: unreadable build",
    ),
    Case(
        "state-meta-list",
        write("build/324/meta.json", "[]"),
        DRY_RUN,
        r"meta\.json: subject: missing",
    ),
    Case(
        "state-meta-number",
        write("build/324/meta.json", '{"subject": 5, "preheader": ""}'),
        DRY_RUN,
        r"meta\.json: subject",
    ),
    Case(
        "state-meta-no-preheader",
        write("build/324/meta.json", '{"subject": "s"}'),
        DRY_RUN,
        r"meta\.json: preheader",
    ),
    Case(
        "state-meta-subject-crlf",
        write("build/324/meta.json", '{"subject": "s\\r\\nBcc: x@y.z", "preheader": ""}'),
        DRY_RUN,
        r"build/324/meta\.json: subject: has a control character",
    ),
    Case(
        "state-meta-subject-placeholder",
        write("build/324/meta.json", '{"subject": "%%name%% s", "preheader": ""}'),
        DRY_RUN,
        r"build/324/meta\.json: subject: .* has a %%placeholder%%",
    ),
    Case(
        "state-meta-latin1",
        write("build/324/meta.json", LATIN1),
        DRY_RUN,
        r"build/324: unreadable build \(not UTF-8\)",
    ),
    Case(
        "state-ledger-garbage",
        write(".weekly/ledger.sqlite", b"garbage" * 200),
        ("status", "324"),
        r"\.weekly/ledger\.sqlite: not a readable send ledger",
        subprocess=True,
        stores=SQLITE_FILES,
    ),
    Case(
        "state-ledger-garbage-failed",
        write(".weekly/ledger.sqlite", b"garbage" * 200),
        ("status", "324", "--failed"),
        r"ledger\.sqlite: not a readable",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-ledger-garbage-send",
        write(".weekly/ledger.sqlite", b"garbage" * 200),
        DRY_RUN,
        r"ledger\.sqlite: not a readable",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-ledger-other-db",
        both(
            lambda root: (root / ".weekly/ledger.sqlite").unlink(),
            empty_sqlite(".weekly/ledger.sqlite"),
        ),
        ("status", "324"),
        r"ledger\.sqlite: not a readable send ledger \(no such table",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-log-garbage-unsub",
        write(".weekly/state.sqlite", b"garbage" * 200),
        ("unsubscribe", "kim@example.com"),
        r"\.weekly/state\.sqlite: cannot open the subscription log",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-log-garbage-export",
        write(".weekly/state.sqlite", b"garbage" * 200),
        ("subscribers", "export"),
        r"state\.sqlite: cannot open",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-log-garbage-send",
        write(".weekly/state.sqlite", b"garbage" * 200),
        DRY_RUN,
        r"state\.sqlite: cannot open",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-dir-is-a-file",
        both(lambda root: shutil.rmtree(root / ".weekly"), write(".weekly", "not a folder")),
        ("unsubscribe", "kim@example.com"),
        r"Error: \.weekly: a file where a folder is needed",
        stores=SQLITE_FILES,
    ),
    Case(
        "state-email-html-is-a-folder",
        both(
            lambda root: (root / "build/324/email.html").unlink(),
            lambda root: (root / "build/324/email.html").mkdir(),
        ),
        DRY_RUN,
        r"build/324/email\.html: Is a directory",
    ),
    Case(
        "state-site-is-a-file",
        both(lambda root: shutil.rmtree(root / "site"), write("site", "not a folder")),
        ("archive",),
        r"Error: site: a file where a folder is needed",
    ),
    Case(
        "state-dkim-key-under-a-file",
        toml(
            TIMEOUT,
            f'{TIMEOUT}\n[dkim]\ndomain = "news.example.com"\nselector = "s"\n'
            'key_file = "weekly.toml/k.pem"',
        ),
        ("dkim", "keygen"),
        r"Error: weekly\.toml: a file where a folder is needed",
    ),
    Case(
        "cli-init-under-proc",
        nothing,
        ("init", "/proc/fresh", "--no-input"),
        r"/proc/fresh\b.*: No such file",
    ),
    Case(
        "csv-symlink-loop",
        both(
            lambda root: (root / "subscribers.csv").unlink(),
            lambda root: (root / "subscribers.csv").symlink_to("subscribers.csv"),
        ),
        CHECK,
        r"subscribers\.csv: Too many levels of symbolic links",
    ),
    Case(
        "cli-bounces-not-a-mailbox",
        nothing,
        ("bounces", "weekly.toml"),
        r"weekly\.toml: not an mbox \(no `From ` line first\) nor a Maildir",
    ),
    Case(
        "cli-unsubscribe-mailbox-not-a-mailbox",
        nothing,
        ("unsubscribe", "--mailbox", "subscribers.csv"),
        r"subscribers\.csv: not an mbox",
    ),
    Case(
        "state-not-composed",
        lambda root: shutil.rmtree(root / "build/324"),
        DRY_RUN,
        r"issue 324 is not composed",
    ),
]


# The newsletter each case breaks: composed, archived, sent once to the outbox ---------------


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Issue 324 composed, the archive built, a ledger (SQLite files, whatever the test's
    store: see `broken_store`) and an outbox with one message."""
    root = tmp_path_factory.mktemp("baked") / "newsletter"
    root.mkdir()
    shutil.copy(REPO / "weekly.toml", root / "weekly.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    (root / "subscribers.csv").write_text(f"email,name,status\n{GOOD_ROW}", encoding="utf-8")
    compose_to_build(root, 324)
    build_archive(root)
    ledger = SqliteLedger.open(root)
    ledger.set_fingerprint(324, load_composed(root, 324).fingerprint)
    ledger.add(324, [("kim@example.com", "kim@example.com")])
    ledger.mark(324, "kim@example.com", "sent", "250 OK")
    ledger.close()
    mailbox.Maildir(root / ".weekly/outbox", create=True).add(b"Subject: 324\r\n\r\nhi\r\n")
    return root


@pytest.fixture
def broken(baked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "newsletter"
    shutil.copytree(baked, root)
    monkeypatch.setenv("WEEKLY_SECRET", SECRET)
    monkeypatch.chdir(root)
    return root


def on_postgresql(store: str) -> bool:
    return store not in ("", NO_STORE)


@pytest.fixture
def broken_store(broken: Path, store: str) -> Path:
    """`broken` on the test's store: the baked ledger moved into PostgreSQL when it runs there."""
    if on_postgresql(store):
        copy_store(broken, "sqlite", store)
        for path in (broken / ".weekly").glob("*.sqlite*"):
            path.unlink()
    return broken


WATCHED = ("build", "site", ".weekly/ledger.sqlite", ".weekly/state.sqlite", ".weekly/outbox")


def tree_hashes(root: Path) -> dict[str, str]:
    """A hash of every file under what a failed command must leave alone."""
    found: dict[str, str] = {}
    for name in WATCHED:
        top = root / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def watched(root: Path, store: str) -> tuple[dict[str, str], object]:
    """What a failed command must leave alone: the files, and a PostgreSQL store's rows (the
    SQLite files are among the files)."""
    return tree_hashes(root), snapshot(root) if on_postgresql(store) else None


def check(
    case: Case, status: int, stderr: str, stdout: str, before: object, root: Path, store: str
) -> None:
    assert status == case.status, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert stderr.count("\n") == 1 and stderr.startswith("Error: "), stderr
    assert "unexpected" not in stderr, "the last-resort guard is no message for a known case"
    assert re.search(case.says, stderr), stderr
    assert watched(root, store) == before


def on_stores(cases: list[Case]) -> list[Any]:
    """(case, store) for each store a case runs on, named by the case (and the store when
    it runs on both)."""
    return [
        pytest.param(case, store, id=f"{case.id}-{store}" if case.stores == BOTH else case.id)
        for case in cases
        for store in case.stores
    ]


@pytest.mark.parametrize(("case", "store"), on_stores(CASES), indirect=["store"])
def test_bad_input_is_one_line_and_changes_nothing(
    case: Case, broken_store: Path, store: str
) -> None:
    case.edit(broken_store)
    before = watched(broken_store, store)
    result = CliRunner().invoke(main, case.args, catch_exceptions=False)
    check(case, result.exit_code, result.stderr, result.stdout, before, broken_store, store)


SUBPROCESS = [c for c in CASES if c.subprocess]


@pytest.mark.parametrize(("case", "store"), on_stores(SUBPROCESS), indirect=["store"])
def test_bad_input_in_a_real_process(case: Case, broken_store: Path, store: str) -> None:
    case.edit(broken_store)
    before = watched(broken_store, store)
    env = {**os.environ, "WEEKLY_SECRET": SECRET, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "weekly", *case.args],
        cwd=broken_store,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    check(case, done.returncode, done.stderr, done.stdout, before, broken_store, store)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 90
    assert len({c.id for c in CASES}) == len(CASES)


def test_unexpected_exception_is_one_line(broken: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last resort: a fault nobody anticipated still ends in one line asking for a report."""

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("weekly.render.compose.compose_to_build", fail)
    result = CliRunner().invoke(main, ["compose", "324"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unexpected RuntimeError: boom second line (this is a bug in weekly: "
        "please report it with the command you ran)\n"
    )


@pytest.mark.parametrize("args", [(), ("subscribers",), ("dkim",)])
def test_group_alone_still_shows_its_help(args: tuple[str, ...]) -> None:
    """One-line misuse must not swallow the help a bare group prints."""
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "Usage: " in result.output and "Commands:" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [("serve",), ("sink",)])
def test_a_port_in_use_is_one_line_and_writes_nothing(
    command: tuple[str, ...], broken: Path
) -> None:
    """Bound before the consent log or the outbox is touched: no state appears for a server
    that never ran."""
    shutil.rmtree(broken / ".weekly")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(main, [*command, "--port", port], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: cannot listen on 127.0.0.1:{port}: "
        "the port is in use: choose another with --port\n"
    )
    assert not (broken / ".weekly").exists()


BOM = "\ufeff"


def test_a_bom_is_no_text_in_any_file(broken: Path) -> None:
    """Windows editors put a BOM before the first line; weekly reads past it everywhere, as
    it does in subscribers.csv, instead of missing the front matter or mailing the BOM."""
    for name in ("issues/324/issue.md", SECTION, "weekly.toml"):
        path = broken / name
        path.write_text(BOM + path.read_text(encoding="utf-8"), encoding="utf-8")
    NO_SUBJECT(broken)
    write("templates/subject.txt", f"{BOM}#{{{{ issue.number }}}} BOM\n")(broken)
    write("templates/email.txt", f"{BOM}{{{{ issue.title }}}}\n")(broken)
    result = CliRunner().invoke(main, COMPOSE, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    composed = load_composed(broken, 324)
    assert composed.subject == "#324 BOM"
    assert composed.text.startswith("소넷 4.5")
    assert composed.meta["sections"][0] == "앤트로픽, 클로드 소넷 4.5 공개"
