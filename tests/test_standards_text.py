"""Profiles normalise text through lifecircle._text, the library's one normaliser: name keywords
with ``compact`` (NFKC, case-folded, no whitespace), built-in profile names with ``key`` (also no
punctuation or underscores)."""

from __future__ import annotations

import math

import pytest

from lifecircle import ProfileError, _text
from lifecircle.standards import load_profile

PROFILE = """
id = "text"
[levels.L5]
name_zh = "五分钟"
walk_min = 5
distance_m = 300
sources = [{ document = "test", clause = "1", mark = "C" }]

[categories.shop]
name_zh = "便利店"
level = "L5"
keywords = ["ＫＦＣ", "便利 店"]
exclude_keywords = ["Ｏ'Brien"]
sources = [{ document = "test", clause = "1", mark = "C" }]
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "text.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return load_profile(path).category("shop")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("kfc 南湖店", True),  # full-width keyword, case-folded
        ("ＫＦＣ南湖店", True),
        ("南湖 便利店", True),  # whitespace inside the keyword and the name does not count
        ("南湖便\u3000利店", True),  # ideographic space
        ("o'brien 便利店", False),  # exclude keyword, NFKC + case-folded
        ("便民超市", False),
        ("", False),
        (None, False),
        (math.nan, False),
    ],
)
def test_name_keywords_match_as_compact_text(shop, name, expected):
    assert shop.matches_name(name) is expected
    if expected:  # the same rule spelled with _text.compact
        assert any(_text.compact(k) in _text.compact(name) for k in shop.keywords)


@pytest.mark.parametrize(
    "name",
    [
        "gb50180-2018",
        "GB 50180-2018",
        "GB50180_2018",
        " gb/50180.2018 ",
        "ＧＢ５０１８０－２０１８",
    ],
)
def test_builtin_names_compare_as_text_keys(name):
    assert _text.key(name) == _text.key("gb50180-2018") == "gb501802018"
    assert load_profile(name).id == "gb50180-2018"


def test_unknown_builtin_name_still_suggests_one():
    with pytest.raises(ProfileError, match="unknown built-in profile 'gb50180-2019'.*did you mean"):
        load_profile("gb50180-2019")
