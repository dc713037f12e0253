"""weekly.toml: the repo's file loads; every kind of mistake names the key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from weekly.config import load_config
from weekly.errors import ConfigError


def test_repo_settings_load(newsletter: Path) -> None:
    config = load_config(newsletter)
    assert config.newsletter.name == "AI 주간 동향"
    assert config.newsletter.language == "ko"
    assert config.delivery.rate == 50.0
    assert config.compose.html_warn_kb == 90


def _replace(root: Path, old: str, new: str) -> None:
    path = root / "weekly.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(root: Path, needle: str) -> int:
    lines = (root / "weekly.toml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            'language = "ko"',
            'language = "ko"\ncolour = "blue"',
            "colour",
            "newsletter.colour: unknown",
        ),
        (
            "port = 1025",
            'port = "1025"',
            "port =",
            "delivery.port: must be an integer, not a string",
        ),
        (
            'language = "ko"',
            'language = "fr"',
            "language",
            "newsletter.language: must be one of en | ko, not 'fr'",
        ),
        (
            "concurrency = 8",
            "concurrency = 0",
            "concurrency",
            "delivery.concurrency: must be at least 1",
        ),
        ("rate = 50", "rate = true", "rate =", "delivery.rate: must be a number"),
        ("[delivery]", "[delivry]", "[delivry]", "delivry: unknown setting"),
        (
            'site_url = "https://news.example.com/weekly/"',
            'site_url = "news.example.com"',
            "site_url",
            "newsletter.site_url: must be an http(s) URL",
        ),
    ],
)
def test_bad_setting_names_key_and_line(
    newsletter: Path, run_weekly, old: str, new: str, needle: str, message: str
) -> None:
    _replace(newsletter, old, new)
    line = _line_of(newsletter, needle)
    result = run_weekly("compose", "324")
    assert result.exit_code == 1
    assert f"weekly.toml:{line}: {message}" in result.output
    assert not (newsletter / "build").exists()


def test_missing_required_setting(newsletter: Path) -> None:
    _replace(newsletter, 'postal_address = "', 'postal = "')
    with pytest.raises(ConfigError, match=r"newsletter.postal: unknown"):
        load_config(newsletter)
    _replace(newsletter, 'postal = "', '# postal_address = "')
    with pytest.raises(ConfigError) as caught:
        load_config(newsletter)
    assert "newsletter.postal_address: required setting is missing" in str(caught.value)
    assert caught.value.line == _line_of(newsletter, "[newsletter]")


def test_invalid_toml_names_line(newsletter: Path, run_weekly) -> None:
    _replace(newsletter, "port = 1025", "port = = 1025")
    result = run_weekly("compose", "324")
    assert result.exit_code == 1
    assert f"weekly.toml:{_line_of(newsletter, 'port = =')}: invalid TOML" in result.output


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"weekly\.toml: not found"):
        load_config(tmp_path)


def test_defaults_fill_optional_sections(newsletter: Path) -> None:
    text = (newsletter / "weekly.toml").read_text(encoding="utf-8")
    head, _, _ = text.partition("[delivery]")
    _, _, tail = text.partition("[unsubscribe]")
    (newsletter / "weekly.toml").write_text(f"{head}[unsubscribe]{tail}", encoding="utf-8")
    config = load_config(newsletter)
    assert config.delivery.security == "starttls"
    assert config.delivery.concurrency == 8
