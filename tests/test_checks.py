"""Pre-send checks: each problem is a warning, and an error under --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly.config import ComposeSettings
from weekly.render.checks import check_email

GOOD = '<a href="%%unsubscribe_url%%">x</a>'
LIMITS = ComposeSettings()


def _checks(html: str, *, subject: str = "제목", text: str = "%%unsubscribe_url%%") -> list[str]:
    return [f.check for f in check_email(subject=subject, html=html, text=text, limits=LIMITS)]


def test_clean_email_has_no_findings() -> None:
    assert _checks(GOOD + '<img src="https://x/a.png" alt="그래프">') == []


@pytest.mark.parametrize(
    ("html", "check"),
    [
        ('<img src="https://x/a.png">', "img-alt"),
        ('<img src="https://x/a.png" alt=" ">', "img-alt"),
        ('<a href="http://example.com/">기사</a>', "link"),
        ('<a href="www.example.com">기사</a>', "link"),
        ('<a href="../323/">지난 호</a>', "link"),
        ('<a href="https://example.com/">여기</a>', "link-text"),
        ('<a href="https://example.com/">Click here!</a>', "link-text"),
        ("x" * (91 * 1024), "html-size"),
    ],
)
def test_each_problem_is_found(html: str, check: str) -> None:
    assert _checks(GOOD + html) == [check]


def test_subject_and_unsubscribe() -> None:
    assert _checks(GOOD, subject=" ") == ["subject"]
    assert _checks(GOOD, subject="가" * 79) == ["subject"]
    assert _checks("<p>no link</p>", text="none") == ["unsubscribe", "unsubscribe"]


def test_compose_warns_and_strict_fails(newsletter: Path, run_weekly) -> None:
    section = newsletter / "issues/324/20-sora.md"
    section.write_text(
        section.read_text(encoding="utf-8") + "\n자세한 내용은 [여기](http://example.com/)\n",
        encoding="utf-8",
    )
    result = run_weekly("compose", "324")
    assert result.exit_code == 0
    assert "warning: insecure http: link: http://example.com/" in result.output
    assert 'warning: link text "여기" says nothing' in result.output
    assert "2 warnings" in result.output

    (newsletter / "build").rename(newsletter / "old-build")
    strict = run_weekly("compose", "324", "--strict")
    assert strict.exit_code == 1
    assert "2 pre-send check(s) failed under --strict" in strict.output
    assert not (newsletter / "build" / "324").exists()
