"""Section file names keep Korean titles readable."""

from __future__ import annotations

import unicodedata

from weekly.content.slug import FALLBACK, MAX_LENGTH, slugify


def test_hangul_survives_and_punctuation_becomes_hyphens() -> None:
    assert slugify("앤트로픽, 클로드 소넷 4.5 공개") == "앤트로픽-클로드-소넷-4-5-공개"
    assert slugify("OpenAI의 Sora 2") == "openai의-sora-2"


def test_decomposed_hangul_is_composed() -> None:
    assert slugify(unicodedata.normalize("NFD", "소라")) == "소라"


def test_long_titles_stop_between_words() -> None:
    slug = slugify("캘리포니아 " * 20)
    assert len(slug) <= MAX_LENGTH
    assert slug.endswith("캘리포니아")


def test_title_without_letters_gets_the_fallback() -> None:
    assert slugify("!!! …") == FALLBACK
