"""The plain-text part: display-width wrapping that never cuts a word, links as references."""

from __future__ import annotations

import random
from pathlib import Path

from weekly.render.compose import compose_to_build
from weekly.render.text_part import (
    display_width,
    limit_line_octets,
    markdown_to_plain_line,
    markdown_to_text,
    wrap,
)

HANGUL_WORDS = [
    "인공지능",
    "모델",
    "소식을",
    "한눈에",
    "정리했습니다",
    "에이전트가",
    "오픈AI는",
    "2025년",
]


def test_display_width_counts_hangul_as_two() -> None:
    assert display_width("AI 동향") == 3 + 4
    assert display_width("ｆｕｌｌ") == 8


def test_wrap_breaks_only_between_words() -> None:
    rng = random.Random(7)
    for _ in range(200):
        words = [rng.choice(HANGUL_WORDS) for _ in range(rng.randint(1, 60))]
        wrapped = wrap(" ".join(words), 72)
        assert wrapped.split() == words  # no word split, none lost, none joined
        for line in wrapped.split("\n"):
            assert display_width(line) <= 72


def test_long_word_keeps_its_own_line() -> None:
    url = "https://example.com/" + "a" * 100
    assert wrap(f"앞 {url} 뒤", 72).split("\n") == ["앞", url, "뒤"]


def test_line_octet_limit() -> None:
    line = "가" * 1000  # 3,000 octets
    out = limit_line_octets(line)
    assert all(len(part.encode()) <= 998 for part in out.split("\n"))
    assert out.replace("\n", "") == line


def test_links_become_numbered_references() -> None:
    text = markdown_to_text(
        "[앤트로픽 발표](https://a.example/x)와 [오픈AI](https://b.example/y), "
        "다시 [앤트로픽](https://a.example/x).\n\n<https://c.example/>"
    )
    assert text == (
        "앤트로픽 발표 [1]와 오픈AI [2], 다시 앤트로픽 [1].\n\n"
        "https://c.example/\n\n"
        "[1] https://a.example/x\n[2] https://b.example/y"
    )


def test_link_marker_stays_with_its_word() -> None:
    words = " ".join(["가나다라"] * 14)
    text = markdown_to_text(f"{words} [링크](https://x.example/)")
    assert "링크 [1]" in text


def test_lists_quotes_headings_tables() -> None:
    text = markdown_to_text(
        "### 작은 제목\n\n- 하나\n- 둘\n  - 셋\n\n3. 셋째\n4. 넷째\n\n> 인용문\n\n"
        "| 가 | 나 |\n|---|---|\n| 1 | 2 |\n\n```\ncode  line\n```"
    )
    assert text == (
        "작은 제목\n~~~~~~~~~\n\n- 하나\n- 둘\n  - 셋\n\n3. 셋째\n4. 넷째\n\n> 인용문\n\n"
        "가 | 나\n---+---\n1  | 2\n\n    code  line"
    )


def test_plain_line_drops_markup() -> None:
    assert markdown_to_plain_line("**굵게** 그리고 [링크](https://x/)\n다음 줄") == (
        "굵게 그리고 링크 다음 줄"
    )


def test_composed_text_part(newsletter: Path) -> None:
    compose_to_build(newsletter, 324)
    text = (newsletter / "build/324/email.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    assert all(len(line.encode()) <= 998 for line in lines)
    # Only a reference line may run long: its URL is never split.
    long_lines = [line for line in lines if display_width(line) > 72]
    assert all(line.startswith("[") and line.count(" ") == 1 for line in long_lines)
    assert "[1] https://www.anthropic.com/news/claude-sonnet-4-5" in lines
    assert "수신 거부: %%unsubscribe_url%%" in lines
    assert "서울특별시 중구 세종대로 110, 04524" in lines
    assert "웹에서 보기: https://news.example.com/weekly/324/" in lines
    assert "<" not in text  # made from Markdown, not from HTML


def test_table_columns_line_up_by_display_width() -> None:
    text = markdown_to_text(
        "| 모델 | 가격 |\n|---|---|\n| 클로드 소넷 4.5 | 3달러 |\n| GPT 5.2 | 1.75 |\n"
    )
    lines = text.splitlines()
    assert lines[1].startswith("-") and "-+-" in lines[1]
    bars = {display_width(line.split("|")[0]) for line in lines if "|" in line}
    assert bars == {display_width("클로드 소넷 4.5 ")}, text


def test_a_table_wider_than_the_text_becomes_one_block_per_row() -> None:
    head = "| 모델 | 출시일 | 컨텍스트 | 입력 가격 | 출력 가격 | 비고 |\n" + "|---" * 6 + "|\n"
    row = "| 클로드 소넷 4.5 | 2025-09-29 | 200,000 토큰 | 100만 토큰당 3달러 | 15달러 | 코딩 |\n"
    text = markdown_to_text(head + row + row.replace("클로드 소넷 4.5", "GPT 5.2"))
    blocks = text.split("\n\n")
    assert blocks[0].splitlines()[:2] == ["모델: 클로드 소넷 4.5", "출시일: 2025-09-29"]
    assert blocks[1].startswith("모델: GPT 5.2")
    assert all(display_width(line) <= 72 for line in text.splitlines())
