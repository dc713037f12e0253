"""The composed issue is one type with one fingerprint, read back from `build/<n>/` as written."""

from __future__ import annotations

import json
from pathlib import Path

from weekly.render.compose import compose_to_build
from weekly.render.composed import META_FILE, Composed, load_composed


def test_fingerprint_is_the_one_earlier_sends_recorded() -> None:
    # Computed by `weekly.deliver.send.fingerprint` before the two types became one: a send started
    # before the change resumes after it.
    composed = Composed(
        324, "AI 주간 동향 #324", "", "<p>안녕하세요, %%name%%님</p>", "안녕하세요, %%name%%님\n"
    )
    assert composed.fingerprint == "d6449832c0dab463"


def test_build_records_the_fingerprint_send_checks(newsletter: Path) -> None:
    summary = compose_to_build(newsletter, 324)
    loaded = load_composed(newsletter, 324)
    meta = json.loads((summary.folder / META_FILE).read_text(encoding="utf-8"))
    assert meta["fingerprint"] == loaded.fingerprint == summary.rendered.fingerprint
    assert (loaded.subject, loaded.html, loaded.text) == (
        summary.rendered.subject,
        summary.rendered.html,
        summary.rendered.text,
    )
