"""Links in imported text become Markdown links; code and existing links are left alone."""

from __future__ import annotations

from weekly.content.bare_links import link_markdown


def test_bare_urls_become_autolinks_without_trailing_punctuation() -> None:
    text = "발표문은 https://example.com/a. 위키 (https://ko.wikipedia.org/wiki/A_(B)) 참고"
    assert link_markdown(text) == (
        "발표문은 <https://example.com/a>. 위키 (<https://ko.wikipedia.org/wiki/A_(B)>) 참고"
    )


def test_existing_links_code_and_definitions_stay() -> None:
    text = (
        "[글](https://a.example/) <https://b.example/> `https://c.example/`\n"
        "[d]: https://d.example/\n"
        "```\nhttps://e.example/\n```"
    )
    assert link_markdown(text) == text


def test_reference_lines_become_list_items_with_titled_links() -> None:
    text = (
        "[1] https://example.com/open-models 공개 모델 순위표\n"
        "[2] 오픈AI 블로그: https://openai.com/news/\n"
        "[3] https://example.com/report."
    )
    assert link_markdown(text).split("\n") == [
        "- [1] [공개 모델 순위표](https://example.com/open-models)",
        "- [2] [오픈AI 블로그](https://openai.com/news/)",
        "- [3] <https://example.com/report>",
    ]
