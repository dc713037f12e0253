"""Dates written in Korean and English text are found, and lines holding only a date told apart."""

from __future__ import annotations

import datetime as dt

import pytest

from weekly.content.dates import DATE, DATE_LINE, written_date


@pytest.mark.parametrize(
    "line",
    [
        "2025년 12월 12일",
        "2025년 12월 12일 (금)",
        "**2025년 12월 12일 금요일**",
        "2025. 12. 12.",
        "2025.12.12",
        "2025-12-12",
        "December 12, 2025",
        "Friday, Dec. 12, 2025",
        "12 December 2025",
    ],
)
def test_date_lines(line: str) -> None:
    found = DATE_LINE.match(line)
    assert found is not None
    assert written_date(found) == dt.date(2025, 12, 12)


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("지난 2025년 9월 29일 발표된 법안", dt.date(2025, 9, 29)),
        ("We met on May 3, 2024 in Seoul.", dt.date(2024, 5, 3)),
    ],
)
def test_dates_inside_sentences_are_found_but_are_not_date_lines(text: str, date) -> None:
    found = DATE.search(text)
    assert found is not None and written_date(found) == date
    assert not DATE_LINE.match(text)


@pytest.mark.parametrize("text", ["Maybe 12, 2025", "버전 1.2025.12.3", "2025.12.190", "12월 12일"])
def test_not_dates(text: str) -> None:
    assert DATE.search(text) is None


def test_impossible_date_is_a_value_error() -> None:
    found = DATE.search("2025년 2월 30일")
    assert found is not None
    with pytest.raises(ValueError):
        written_date(found)
