"""Pre-send checks on a composed email: each finding is a warning, or an error with --strict."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from weekly.config import ComposeSettings
from weekly.content.issue import Issue
from weekly.content.markdown import is_relative
from weekly.placeholders import UNSUBSCRIBE_URL, placeholder
from weekly.render.text_part import markdown_to_plain_line

VAGUE_LINK_TEXTS = {"here", "click here", "여기", "여기를 클릭", "여기를 클릭하세요", "클릭"}


@dataclass(frozen=True)
class Finding:
    """One thing an editor should look at before sending."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.check}]"


def check_email(*, subject: str, html: str, text: str, limits: ComposeSettings) -> list[Finding]:
    """Every finding for one composed issue, in a stable order."""
    findings: list[Finding] = []
    size_kb = len(html.encode("utf-8")) / 1024
    if size_kb > limits.html_warn_kb:
        findings.append(
            Finding(
                "html-size",
                f"HTML is {size_kb:.1f} KB, over {limits.html_warn_kb} KB"
                " (Gmail clips messages over 102 KB)",
            )
        )
    if not subject.strip():
        findings.append(Finding("subject", "subject is empty"))
    elif len(subject) > limits.subject_max_chars:
        findings.append(
            Finding(
                "subject",
                f"subject is {len(subject)} characters, over {limits.subject_max_chars}",
            )
        )
    token = placeholder(UNSUBSCRIBE_URL)
    if token not in html:
        findings.append(Finding("unsubscribe", f"the HTML template has no {token} link"))
    if token not in text:
        findings.append(Finding("unsubscribe", f"the text template has no {token}"))
    scan = _ElementScan()
    scan.feed(html)
    findings.extend(scan.findings)
    return findings


def check_content(issue: Issue) -> list[Finding]:
    """Findings on the issue's shape: no sections, a section without words, a lead longer
    than all the sections together (usually an import that found no headings)."""
    if not issue.sections:
        return [Finding("sections", "the issue has no sections: only a lead")]
    findings = []
    lengths = []
    for section in issue.sections:
        words = markdown_to_plain_line(section.body)
        lengths.append(len(words))
        if not words:
            findings.append(
                Finding("empty-section", f"section “{section.title}” has no text: {section.path}")
            )
    lead = len(markdown_to_plain_line(issue.lead))
    if lead > sum(lengths):
        findings.append(
            Finding(
                "lead-length",
                f"the lead ({lead} characters) is longer than all the sections together "
                f"({sum(lengths)}): were its headings missed?",
            )
        )
    return findings


class _ElementScan(HTMLParser):
    """Finds images without alt text and links that are relative, insecure or vague."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[Finding] = []
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            src = values.get("src") or ""
            if not (values.get("alt") or "").strip():
                self.findings.append(Finding("img-alt", f"image without alt text: {src}"))
        elif tag == "a":
            href = (values.get("href") or "").strip()
            self._href, self._link_text = href, []
            if href.lower().startswith("http:"):
                self.findings.append(Finding("link", f"insecure http: link: {href}"))
            elif is_relative(href) or not href:
                self.findings.append(
                    Finding("link", f"relative link (no scheme or host): {href or '(empty)'}")
                )

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._link_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            label = " ".join("".join(self._link_text).split())
            if re.sub(r"[\s.!:,~…]+$", "", label).lower() in VAGUE_LINK_TEXTS:
                self.findings.append(
                    Finding("link-text", f'link text "{label}" says nothing: {self._href}')
                )
            self._href = None
