"""Facility-name normalisation and similarity that work for Chinese (no word spaces)."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from typing import Any

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def norm_name(s: Any) -> str:
    """Lower-case, full-width folded (NFKC), without spaces and punctuation; "" for missing."""
    if s is None or (isinstance(s, float) and s != s) or str(s) == "<NA>":
        return ""
    text = str(s)
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def _bigrams(s: str) -> Counter[str]:
    return Counter(s[i : i + 2] for i in range(len(s) - 1)) if len(s) > 1 else Counter([s])


def name_score(a: Any, b: Any) -> float:
    """Similarity of two facility names in [0, 1] (0 when either is empty).

    The larger of difflib's ratio and the Dice coefficient of character bigrams, after
    :func:`norm_name`: "嘉兴市南湖区实验幼儿园" vs "南湖区实验幼儿园" → 0.84.
    """
    x, y = norm_name(a), norm_name(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    ratio = difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()
    bx, by = _bigrams(x), _bigrams(y)
    dice = 2.0 * sum((bx & by).values()) / (sum(bx.values()) + sum(by.values()))
    return float(max(ratio, dice))
