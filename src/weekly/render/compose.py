"""Compose: an issue folder and the settings become one finished email, rendered once.

read → Markdown (HTML and text) → Jinja (MJML, text, subject) → MJML → premailer → checks.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from weekly.config import Config, issue_url, load_config
from weekly.content.issue import ISSUE_FILE, Issue, read_issue
from weekly.content.markdown import to_html
from weekly.control import control_character
from weekly.errors import CheckFailed, TemplateError
from weekly.files import replace_folder
from weekly.placeholders import placeholder
from weekly.project import build_dir, chosen_issue_number, issue_dir
from weekly.render.breaks import breakable_html
from weekly.render.checks import check_content, check_email
from weekly.render.composed import HTML_FILE, META_FILE, MJML_FILE, TEXT_FILE, Composed
from weekly.render.images import ImageSizes
from weekly.render.inline import inline_css
from weekly.render.jinja import environment, render
from weekly.render.links import LINKS_FILE, links_json, number_links
from weekly.render.mjml import compile_mjml
from weekly.render.text_part import limit_line_octets, markdown_to_text, opening_words
from weekly.render.unsafe import unsafe_html_findings

PREHEADER_COLUMNS = 110


class Stopwatch:
    """Seconds spent per named stage, added up over calls (for the benchmark)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class SubscriberPlaceholders:
    """`subscriber.<key>` in a template: a token the sender fills per recipient."""

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return placeholder(key)
        except ValueError:
            raise AttributeError(key) from None


class NoSubscriberHere:
    """`subscriber` where no per-reader value can go (the subject): using it is a template
    error naming the file and line."""

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        raise jinja2.UndefinedError(
            f"subscriber.{key} cannot be used here: the subject is the same for every reader"
        )


@dataclass(frozen=True)
class SectionView:
    """A section as templates see it."""

    title: str
    anchor: str
    html: str
    text: str


def _meta(issue: Issue, composed: Composed) -> dict[str, Any]:
    """What send, preview and the archive need to know without re-reading the files."""
    return {
        "number": composed.number,
        "title": issue.title,
        "date": issue.date.isoformat(),
        "draft": issue.draft,
        "subject": composed.subject,
        "preheader": composed.preheader,
        "sections": [s.title for s in issue.sections],
        "html_bytes": len(composed.html.encode("utf-8")),
        "text_bytes": len(composed.text.encode("utf-8")),
        "fingerprint": composed.fingerprint,
        "warnings": [asdict(f) for f in composed.findings],
    }


def render_issue(
    root: Path, config: Config, issue: Issue, watch: Stopwatch | None = None
) -> Composed:
    """Render `issue` into HTML and text with placeholders for per-subscriber values."""
    watch = watch or Stopwatch()
    language = config.newsletter.language
    view_url = issue_url(config, issue.number)
    with watch.stage("markdown"):
        head = issue.folder / ISSUE_FILE
        lead_html = _email_html(issue.lead, view_url, ImageSizes(issue.folder, head), top=2)
        html_bodies = [
            _email_html(s.body, view_url, ImageSizes(issue.folder, s.path)) for s in issue.sections
        ]
    with watch.stage("text"):
        lead_text = markdown_to_text(issue.lead, top=2) if issue.lead else ""
        text_bodies = [markdown_to_text(s.body) for s in issue.sections]
        preheader = issue.preheader or _preheader_from(issue)
    sections = [
        SectionView(title=s.title, anchor=f"section-{i}", html=h, text=t)
        for i, (s, h, t) in enumerate(
            zip(issue.sections, html_bodies, text_bodies, strict=True), start=1
        )
    ]
    with watch.stage("jinja"):
        env = environment(root.resolve(), language)
        context = {
            "newsletter": config.newsletter,
            "issue": issue,
            "sections": sections,
            "view_url": view_url,
            "lead_html": lead_html,
            "lead_text": lead_text,
            "subscriber": SubscriberPlaceholders(),
            # per-subscriber counts say so in the footer (filled only for readers who agreed)
            "tracking_note": config.tracking.per_subscriber,
        }
        subject = issue.subject or " ".join(
            render(env, "subject.txt", **{**context, "subscriber": NoSubscriberHere()}).split()
        )
        if bad := control_character(subject):  # it becomes the Subject header
            raise TemplateError("subject.txt", f"the subject has a control character ({bad!r})")
        context["subject"] = subject
        context["preheader"] = preheader
        mjml_source = render(env, "email.mjml", **context)
        text = limit_line_octets(render(env, "email.txt", **context).strip("\n") + "\n")
    with watch.stage("mjml"):
        raw_html = compile_mjml(mjml_source, "email.mjml")
    with watch.stage("premailer"):
        html = inline_css(raw_html)
    with watch.stage("checks"):
        findings = unsafe_html_findings(issue)
        findings += check_email(subject=subject, html=html, text=text, limits=config.compose)
        findings += check_content(issue)
    composed = Composed(
        number=issue.number,
        subject=subject,
        preheader=preheader,
        html=html,
        text=text,
        mjml=mjml_source,
        findings=findings,
    )
    return dataclasses.replace(composed, meta=_meta(issue, composed))


def _email_html(markdown: str, view_url: str, sizes: ImageSizes, top: int = 3) -> str:
    """A lead (`top=2`) or section body as email HTML: images sized, long runs breakable on a
    phone."""
    if not markdown:
        return ""
    return breakable_html(sizes.apply(to_html(markdown, image_base=view_url, top=top), view_url))


def _preheader_from(issue: Issue) -> str:
    """The lead's (or first section's) opening words, cut at a word near the inbox preview width."""
    return opening_words(issue.opening, PREHEADER_COLUMNS)


@dataclass(frozen=True)
class ComposeSummary:
    """What compose made and where it wrote it, for its one-line report and for preview."""

    rendered: Composed
    folder: Path

    @property
    def number(self) -> int:
        return self.rendered.number

    @property
    def warnings(self) -> list[str]:
        return [str(finding) for finding in self.rendered.findings]

    def line(self) -> str:
        rendered, count = self.rendered, len(self.rendered.findings)
        noun = "warning" if count == 1 else "warnings"
        return (
            f"#{rendered.number} {rendered.subject!r}: {len(rendered.meta['sections'])} sections, "
            f"HTML {len(rendered.html.encode('utf-8')) / 1024:.1f} KB, {count} {noun} "
            f"→ {self.folder}"
        )


def compose_issue(
    root: Path, number: int | None, watch: Stopwatch | None = None
) -> tuple[Issue, Composed]:
    """Read the settings and issue `number` (default: newest) and render it."""
    watch = watch or Stopwatch()
    with watch.stage("read"):
        config = load_config(root)
        issue = read_issue(issue_dir(root, chosen_issue_number(root, number)))
    return issue, render_issue(root, config, issue, watch)


def compose_to_build(
    root: Path, number: int | None, *, strict: bool = False, watch: Stopwatch | None = None
) -> ComposeSummary:
    """Compose issue `number` into `build/<number>/`; with `strict`, any warning is an error."""
    watch = watch or Stopwatch()
    issue, rendered = compose_issue(root, number, watch)
    warnings = [str(f) for f in rendered.findings]
    if strict and rendered.findings:
        raise CheckFailed(
            f"issue {issue.number}: {len(warnings)} pre-send check(s) failed "
            f"under --strict: {'; '.join(warnings)}"
        )
    folder = build_dir(root, issue.number)
    with watch.stage("write"):
        replace_folder(
            folder,
            {
                HTML_FILE: rendered.html,
                TEXT_FILE: rendered.text,
                MJML_FILE: rendered.mjml,
                META_FILE: json.dumps(rendered.meta, ensure_ascii=False, indent=2) + "\n",
                LINKS_FILE: links_json(number_links(rendered.html)),
            },
        )
    return ComposeSummary(rendered, folder)
