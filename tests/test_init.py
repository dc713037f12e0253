"""`weekly init`: a newsletter of one's own that loads, composes under --strict and refuses to
overwrite one that exists; and the next-step hints of new, compose and import."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from weekly.audience.subscriber_list import Subscriber
from weekly.cli import main
from weekly.config import load_config


def init(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["init", *args], input=input)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("language", "title"), [("ko", "이번 호의 제목"), ("en", "The title")])
def test_no_input_writes_a_newsletter_that_composes_strict(
    tmp_path: Path, language: str, title: str
) -> None:
    root = tmp_path / "news"
    result = init(str(root), "--no-input", "--language", language)
    assert result.exit_code == 0, result.output
    written = ["weekly.toml", "issues/1/issue.md", "issues/1/10-first.md", "subscribers.csv"]
    assert result.stdout.split() == [
        "Started",
        "a",
        "newsletter",
        "in",
        f"{root}:",
        *written,
        ".gitignore",
    ]
    assert result.stderr.splitlines()[1:] == [
        "  $EDITOR issues/1/*.md",
        "  weekly compose",
        "  weekly preview",
    ]
    config = load_config(root)
    assert config.newsletter.language == language
    assert config.unsubscribe.url == "https://example.com/newsletter/unsubscribe/{token}"
    assert "# " in (root / "weekly.toml").read_text(encoding="utf-8"), "commented"
    checked = CliRunner().invoke(main, ["subscribers", "check", "--root", str(root)])
    assert checked.exit_code == 0, checked.output
    ignored = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    for entry in ("/.weekly/", "/build/", "/site/", "/subscribers.csv"):
        assert entry in ignored

    composed = CliRunner().invoke(main, ["compose", "--strict", "--root", str(root)])
    assert composed.exit_code == 0, composed.output
    assert f"#1 '{config.newsletter.name} #1 - {title}" in composed.stdout
    assert "1 sections" in composed.stdout and "0 warnings" in composed.stdout


def test_prompts_ask_again_after_a_bad_answer(tmp_path: Path) -> None:
    answers = [
        *("en", "Acme Weekly", "ftp://x", "https://news.acme.test/w/", "nobody", "", "1 Main"),
        *("every", ""),
    ]
    result = init(str(tmp_path), input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Error: must be an http(s) URL" in result.output
    assert "Error: not an email address: 'nobody'" in result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".gitignore", "issues", "subscribers.csv", "weekly.toml"], "no staging left"
    settings = load_config(tmp_path).newsletter
    assert settings.name == "Acme Weekly"
    assert settings.sender == "Acme Weekly <newsletter@news.acme.test>", "default from the URL"
    assert settings.postal_address == "1 Main"
    assert "must be one of off | aggregate | subscriber, not 'every'" in result.output
    tracking = load_config(tmp_path).tracking
    assert (tracking.clicks, tracking.opens) == ("aggregate", "aggregate"), "offered, taken"


def test_refuses_a_folder_with_weekly_toml_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "weekly.toml").write_text("# mine\n", encoding="utf-8")
    before = snapshot(tmp_path)
    result = init(str(tmp_path), "--no-input")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "weekly.toml already exists" in result.stderr
    assert snapshot(tmp_path) == before


def test_refuses_to_overwrite_a_subscriber_list(tmp_path: Path) -> None:
    (tmp_path / "subscribers.csv").write_text("email\nreal@example.com\n", encoding="utf-8")
    result = init(str(tmp_path), "--no-input")
    assert result.exit_code == 1
    assert "subscribers.csv already exists" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subscribers.csv"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--from", "nobody", "not an email address"),
        ("--language", "fr", "must be one of en | ko"),
        ("--site-url", "http://example.com/", "must be https://"),
        ("--name", " ", "must not be empty"),
    ],
)
def test_a_bad_option_exits_2_naming_it_and_writes_nothing(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    root = tmp_path / "news"
    result = init(str(root), "--no-input", option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': {message}" in result.stderr
    assert "Traceback" not in result.output
    assert not root.exists()


def test_new_uses_the_newsletter_language_and_hints_compose(tmp_path: Path) -> None:
    assert init(str(tmp_path), "--no-input", "--language", "en").exit_code == 0
    result = CliRunner().invoke(main, ["new", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "issues" / "2"
    assert result.stdout == f"{folder}\n"
    assert result.stderr == f"next: edit {folder}/*.md, then weekly compose 2 --root {tmp_path}\n"
    assert "title: The title of this issue" in (folder / "issue.md").read_text(encoding="utf-8")


def test_compose_and_import_hint_their_next_step(newsletter: Path, run_weekly) -> None:
    composed = run_weekly("compose", "324")
    assert composed.stderr == (
        f"next: weekly preview 324 --root {newsletter} to see it, "
        f"then weekly send 324 --test you@example.com --root {newsletter}\n"
    )
    article = newsletter / "article.md"
    article.write_text("# 새 소식\n\n2025-12-12\n\n## 하나\n\n본문.\n", encoding="utf-8")
    imported = run_weekly("import", str(article))
    assert imported.exit_code == 0, imported.output
    assert imported.stderr.endswith(f"next: weekly compose 325 --root {newsletter}\n")


def test_an_idn_sender_starts_a_newsletter_whose_mail_carries_ascii_domains(
    tmp_path: Path,
) -> None:
    """The unsubscribe mailto init derives from an IDN From must load, and go out in IDNA."""
    from weekly.deliver.message import MessageFactory
    from weekly.render.composed import load_composed

    root = tmp_path / "news"
    assert init(str(root), "--no-input", "--from", "뉴스 <weekly@뉴스.한국>").exit_code == 0
    config = load_config(root)
    assert config.unsubscribe.mailto == "unsubscribe@뉴스.한국"
    composed = CliRunner().invoke(main, ["compose", "--root", str(root)])
    assert composed.exit_code == 0, composed.output
    make = MessageFactory(load_composed(root, 1), config, b"0123456789abcdef0123")
    reader = Subscriber(2, "a@example.com", "a@example.com", "a@example.com", "A", "", {})
    head = make.build(reader).data.split(b"\r\n\r\n")[0]
    assert b"<mailto:unsubscribe@xn--" in head
    assert "뉴스".encode() not in head
