"""The compose, new and config commands as an editor runs them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

from weekly.cli import main
from weekly.config import load_config

from .conftest import drop_lines


def test_compose_writes_build_and_one_line(newsletter: Path, run_weekly) -> None:
    result = run_weekly("compose", "324")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("#324 'AI 주간 동향 #324 - 소넷 4.5")
    assert "4 sections" in result.output and "0 warnings" in result.output
    folder = newsletter / "build" / "324"
    assert sorted(p.name for p in folder.iterdir()) == [
        "email.html",
        "email.mjml",
        "email.txt",
        "links.json",
        "meta.json",
    ]
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["subject"] == "AI 주간 동향 #324 - 소넷 4.5, 소라 2와 인공지능의 미래"
    assert meta["sections"][0] == "앤트로픽, 클로드 소넷 4.5 공개"
    assert meta["html_bytes"] == len((folder / "email.html").read_bytes())
    assert meta["warnings"] == []


def test_compose_without_number_takes_newest(newsletter: Path, run_weekly) -> None:
    result = run_weekly("compose")
    assert result.exit_code == 0
    assert (newsletter / "build" / "324").is_dir()
    assert not (newsletter / "build" / "323").exists()


def test_failed_compose_keeps_previous_build(newsletter: Path, run_weekly) -> None:
    assert run_weekly("compose", "324").exit_code == 0
    before = {p.name: p.read_bytes() for p in (newsletter / "build/324").iterdir()}
    (newsletter / "issues/324/10-sonnet.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    assert run_weekly("compose", "324").exit_code == 1
    after = {p.name: p.read_bytes() for p in (newsletter / "build/324").iterdir()}
    assert after == before
    assert [p.name for p in (newsletter / "build").iterdir()] == ["324"]


def test_preheader_defaults_to_lead(newsletter: Path, run_weekly) -> None:
    drop_lines(newsletter / "issues/323/issue.md", "preheader:")
    assert run_weekly("compose", "323").exit_code == 0
    meta = json.loads((newsletter / "build/323/meta.json").read_text(encoding="utf-8"))
    assert meta["preheader"].startswith("안녕하세요, AI 주간 동향입니다. 이번 주에는")
    assert meta["preheader"].endswith("…")
    assert (
        meta["subject"]
        == "AI 주간 동향 #323 - 엔비디아와 오픈AI의 100억 달러 동맹, 그리고 스마트 안경"
    )


def test_new_scaffolds_next_issue(newsletter: Path, run_weekly) -> None:
    result = run_weekly("new")
    assert result.exit_code == 0
    folder = newsletter / "issues" / "325"
    assert result.stdout.strip() == str(folder)
    assert f"date: {dt.date.today().isoformat()}" in (folder / "issue.md").read_text("utf-8")
    assert run_weekly("compose").exit_code == 0, "a scaffolded issue composes as it is"
    assert (newsletter / "build" / "325" / "email.html").exists()


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help, f"{name} has no help text"


def test_usage_error_exits_2(run_weekly) -> None:
    result = run_weekly("compose", "not-a-number")
    assert result.exit_code == 2


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "weekly", "--help"], capture_output=True, text=True, check=True
    )
    assert "compose" in out.stdout


def test_config_prints_the_settings_in_effect_as_toml(
    newsletter: Path, run_weekly, monkeypatch
) -> None:
    monkeypatch.setenv("WEEKLY_SECRET", "s3cret-never-shown")
    monkeypatch.delenv("WEEKLY_SMTP_PASSWORD", raising=False)
    result = run_weekly("config")
    assert result.exit_code == 0, result.output
    assert "s3cret-never-shown" not in result.output
    assert "# WEEKLY_SECRET is set (not shown)" in result.output
    assert "# WEEKLY_SMTP_PASSWORD is not set" in result.output
    shown = tomllib.loads(result.stdout)
    assert shown["compose"] == {"html_warn_kb": 90, "subject_max_chars": 78}  # defaults too
    assert shown["newsletter"]["from"] == "AI 주간 동향 <weekly@news.example.com>"
    # What it prints is a weekly.toml of its own that loads to the very same settings.
    before = load_config(newsletter)
    (newsletter / "weekly.toml").write_text(result.stdout, encoding="utf-8")
    assert load_config(newsletter) == before


def test_config_docs_lists_every_setting_with_type_default_and_meaning(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "--docs", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output  # needs no weekly.toml
    lines = result.stdout.splitlines()
    assert "delivery.port: integer, default 1025" in lines
    assert 'delivery.security: none | starttls | tls, default "starttls"' in lines
    assert "newsletter.from: string, required" in lines
    assert "[dkim] (optional table)" in lines
    meaning = lines[lines.index("delivery.rate: number, default 50.0") + 1]
    assert meaning == "    Messages per second over all connections."


def test_config_markdown_without_docs_is_misuse(run_weekly) -> None:
    result = run_weekly("config", "--markdown")
    assert result.exit_code == 2
    assert "--markdown goes with --docs" in result.output
