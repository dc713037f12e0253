"""A part filled per recipient encodes exactly like encoding the filled text whole."""

from __future__ import annotations

import base64
import random

from weekly.deliver.base64_part import Base64Part, encode_lines
from weekly.placeholders import Filler


def test_filled_parts_match_a_whole_encoding_for_any_values() -> None:
    rng = random.Random(324)
    keys = ["name", "email", "unsubscribe_url", "company"]
    for _ in range(200):
        text = "".join(
            rng.choice("가나a<&>\n") * rng.randint(0, 150) + f"%%{rng.choice(keys)}%%"
            for _ in range(rng.randint(0, 5))
        ) + "끝" * rng.randint(0, 80)
        escape = rng.random() < 0.5
        part, plain = Base64Part(text, escape_html=escape), Filler(text, escape_html=escape)
        for _ in range(4):
            values = {k: '김<&>"' * rng.randint(0, 40) for k in keys if rng.random() < 0.8}
            encoded = part.fill(values)
            assert encoded == encode_lines(plain.fill(values).encode("utf-8"))
            lines = encoded.split(b"\r\n")
            assert all(len(line) <= 76 for line in lines)
            assert base64.b64decode(b"".join(lines)) == plain.fill(values).encode("utf-8")


def test_keys_are_the_placeholders_used() -> None:
    assert Base64Part("%%name%% %%email%% %%name%%", escape_html=False).keys == {"name", "email"}


def test_a_few_fills_exactly() -> None:
    """Small cases checked byte for byte (the random test above may not fit in mutmut's
    budget): a value the reader lacks is empty, quotes are escaped in HTML only, and a part
    of many lines joins its pieces as they are."""
    text = "가" * 30 + "%%name%%" + "나" * 30 + "%%company%%" + "다" * 30
    values = {"name": 'Kim "K" <&>'}
    for escape, shown in ((True, "Kim &quot;K&quot; &lt;&amp;&gt;"), (False, 'Kim "K" <&>')):
        filled = Base64Part(text, escape_html=escape).fill(values)
        whole = ("가" * 30 + shown + "나" * 30 + "다" * 30).encode("utf-8")
        assert filled == encode_lines(whole)
