"""Text normalisation, once for the whole library (names, headers, keywords, codes).

Three levels, each built on the one before:

* :func:`fold` — Unicode NFKC (full-width ``ＡＢ１２`` → ``AB12``, ``（`` → ``(``), case-folded,
  stripped; ``""`` for missing values (None, NaN, ``pd.NA``).
* :func:`compact` — :func:`fold` without any whitespace: for keyword matching, where punctuation
  may matter (``"附属中学-北门"``).
* :func:`key` — :func:`compact` without punctuation and underscores: for comparing column headers,
  profile and coordinate-system names, facility names (``"Lng, Lat"`` ≡ ``"lng_lat"``).

Also :func:`count_value`: a count (residents, beds, places) as people write it in a cell.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from decimal import Decimal
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


# a count as written in a cell: 约 / ~ / ≈ first, thousands grouped by "," (only groups of
# three; not by spaces: "100 200" may be two numbers), a decimal part, 万 (10,000) or 千 (1,000),
# a unit of people or places, then 余 / 多 / 左右 / + ("120余张": about, at least 120)
_COUNT = re.compile(
    r"^(?:大约|约|~|≈)?\s*(-?\d{1,3}(?:,\d{3})+|-?\d+)(\.\d+)?\s*(万|千)?\s*(?:余|多|\+)?\s*"
    r"(?:人|张床位|个床位|个托位|个学位|张床|床位|托位|学位|张|床|个|位|名)?\s*(?:左右|以上)?$"
)
_SCALE = {"万": Decimal(10_000), "千": Decimal(1_000), None: Decimal(1)}


def count_value(value: Any) -> float:
    """A count from a cell: a number, or text as people write it (``"1,050"``, ``"约4876人"``,
    ``"2,000张"``, ``"120床位"``, ``"120余张"``, ``"1.2万"`` → 12,000, ``"1.2千"`` → 1,200;
    full-width digits too). ``NaN`` for a blank cell and for anything else (a range such as
    ``"120-150"``, two numbers such as ``"100 200"`` or two lines, households ``"户"``, words):
    the caller says which rows it could not read."""
    if is_missing(value):
        return float("nan")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iuf":  # numpy scalars
        return float(value)
    m = _COUNT.match(fold(value))
    if m is None:
        return float("nan")
    number = Decimal(re.sub(r"[,\s]", "", m.group(1)) + (m.group(2) or ""))
    return float(number * _SCALE[m.group(3)])  # exact: "1.15万" is 11,500, not 11,499.99…
