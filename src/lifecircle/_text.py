"""Text normalisation, once for the whole library (names, headers, keywords, codes).

Three levels, each built on the one before:

* :func:`fold` — Unicode NFKC (full-width ``ＡＢ１２`` → ``AB12``, ``（`` → ``(``), case-folded,
  stripped; ``""`` for missing values (None, NaN, ``pd.NA``).
* :func:`compact` — :func:`fold` without any whitespace: for keyword matching, where punctuation
  may matter (``"附属中学-北门"``).
* :func:`key` — :func:`compact` without punctuation and underscores: for comparing column headers,
  profile and coordinate-system names, facility names (``"Lng, Lat"`` ≡ ``"lng_lat"``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from typing import Any

_SPACE = re.compile(r"\s+", re.UNICODE)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def is_missing(value: Any) -> bool:
    """True for None, NaN, ``pd.NA``/``NaT`` and the text ``"<NA>"``."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return isinstance(value, str) and value == "<NA>"


def fold(value: Any) -> str:
    """NFKC, case-folded and stripped text; ``""`` for missing values."""
    if is_missing(value):
        return ""
    return unicodedata.normalize("NFKC", str(value)).casefold().strip()


def compact(value: Any) -> str:
    """:func:`fold` without whitespace."""
    return _SPACE.sub("", fold(value))


def key(value: Any) -> str:
    """:func:`fold` without whitespace, punctuation and underscores."""
    return _PUNCT.sub("", fold(value))


def norm_name(value: Any) -> str:
    """A facility or place name for comparison (same as :func:`key`)."""
    return key(value)


def _bigrams(s: str) -> Counter[str]:
    return Counter(s[i : i + 2] for i in range(len(s) - 1)) if len(s) > 1 else Counter([s])


def name_score(a: Any, b: Any) -> float:
    """Similarity of two facility names in [0, 1] (0 when either is empty).

    The larger of difflib's ratio and the Dice coefficient of character bigrams, after
    :func:`key`: "嘉兴市南湖区实验幼儿园" vs "南湖区实验幼儿园" → 0.84.
    """
    x, y = key(a), key(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    ratio = difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()
    bx, by = _bigrams(x), _bigrams(y)
    dice = 2.0 * sum((bx & by).values()) / (sum(bx.values()) + sum(by.values()))
    return float(max(ratio, dice))
