"""Placeholders: filled per recipient by one join, escaped in HTML."""

from __future__ import annotations

import pytest

from weekly.placeholders import Filler, placeholder


def test_fill_escapes_html_only_where_asked() -> None:
    source = '<a href="%%unsubscribe_url%%">%%name%%</a> %%email%% %%missing%%'
    values = {"unsubscribe_url": "https://x/u?a=1&b=2", "name": "<김>", "email": "a@b.kr"}
    html = Filler(source, escape_html=True).fill(values)
    assert html == '<a href="https://x/u?a=1&amp;b=2">&lt;김&gt;</a> a@b.kr '
    assert Filler("%%name%%", escape_html=False).fill(values) == "<김>"


def test_keys() -> None:
    assert Filler("%%a%% %%b_2%% %%C%% %% x %%", escape_html=False).keys == {"a", "b_2"}
    assert Filler("x %%a%% y %%a%%", escape_html=False).keys == {"a"}
    with pytest.raises(ValueError):
        placeholder("Bad Key")
