"""Templates: the newsletter's own override the built-in ones; mistakes name file and line."""

from __future__ import annotations

from pathlib import Path

from weekly.render.compose import compose_to_build

from .conftest import drop_lines


def test_user_template_overrides_builtin(newsletter: Path) -> None:
    (newsletter / "templates" / "subject.txt").write_text(
        "[{{ newsletter.name }}] {{ issue.title }}", encoding="utf-8"
    )
    drop_lines(newsletter / "issues/324/issue.md", "subject:")
    summary = compose_to_build(newsletter, 324)
    assert summary.rendered.subject == "[AI 주간 동향] 소넷 4.5, 소라 2와 인공지능의 미래"


def test_user_template_extends_default(newsletter: Path) -> None:
    """`default:` reaches the built-in file even when the user's file has the same name."""
    (newsletter / "templates" / "email.txt").write_text(
        '{% include "default:email.txt" %}\n추신: 다음 주에 만나요.\n', encoding="utf-8"
    )
    compose_to_build(newsletter, 324)
    text = (newsletter / "build/324/email.txt").read_text(encoding="utf-8")
    assert text.rstrip().endswith("추신: 다음 주에 만나요.")
    assert "%%unsubscribe_url%%" in text


def test_undefined_variable_names_template_and_line(newsletter: Path, run_weekly) -> None:
    (newsletter / "templates" / "email.txt").write_text(
        "첫 줄\n{{ issue.titel }}\n%%unsubscribe_url%%\n", encoding="utf-8"
    )
    result = run_weekly("compose", "324")
    assert result.exit_code == 1
    assert f"{newsletter / 'templates' / 'email.txt'}:2:" in result.output
    assert "titel" in result.output


def test_syntax_error_names_template_and_line(newsletter: Path, run_weekly) -> None:
    (newsletter / "templates" / "email.mjml").write_text(
        "<mjml>\n<mj-body>\n{% for x in %}\n</mj-body></mjml>\n", encoding="utf-8"
    )
    result = run_weekly("compose", "324")
    assert result.exit_code == 1
    assert f"{newsletter / 'templates' / 'email.mjml'}:3:" in result.output


def test_invalid_mjml_is_an_error_and_keeps_previous_build(newsletter: Path, run_weekly) -> None:
    assert run_weekly("compose", "324").exit_code == 0
    before = (newsletter / "build/324/email.html").read_bytes()
    (newsletter / "templates" / "email.mjml").write_text(
        "<mjml>\n<mj-body>\n<mj-section>\n</mj-body>\n</mjml>\n", encoding="utf-8"
    )
    result = run_weekly("compose", "324")
    assert result.exit_code == 1
    assert "email.mjml: the template produced invalid MJML" in result.output
    assert "rendered line 4: mismatched tag: '</mj-body>'" in result.output
    assert (newsletter / "build/324/email.html").read_bytes() == before
