"""Administrative codes (统计用区划代码) and urban/village settlement of communities.

The NBS statistical code of a community (社区居委会) or village (村委会) has 12 digits: province
(2), city (4), county (6), street/town (9), community (12). Its urban–rural class code
(城乡分类代码, 3 digits) starts with 1 for towns and cities (111 主城区, 112 城乡结合区,
121 镇中心区, 122 镇乡结合区, 123 特殊区域) and 2 for the countryside (210 乡中心区, 220 村庄).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from .._text import is_missing, key
from ..sources.tables import rows_text

log = logging.getLogger(__name__)

#: Values of the ``settlement`` column.
URBAN, VILLAGE = "urban", "village"

#: Valid NBS urban–rural class codes (城乡分类代码).
URBAN_RURAL_CODES = {"111", "112", "121", "122", "123", "210", "220"}

# Name endings, checked in this order on the name without spaces and punctuation: the committee
# word decides first (a 村委会 is a village even in a "新村"), then 社区 / 村. A bare "...新村" is
# often an urban housing estate (曹杨新村): not decided.
_NAME_RULES = (
    (("居民委员会", "居委会"), URBAN),
    (("村民委员会", "村委会"), VILLAGE),
    (("社区",), URBAN),
    (("新村",), None),
    (("村",), VILLAGE),
)

# Values of a user's own settlement column, compared through _text.key.
_COLUMN_VALUES = {
    URBAN: (
        "urban",
        "town",
        "city",
        "城镇",
        "城市",
        "城区",
        "社区",
        "居委会",
        "社区居委会",
        "居民委员会",
    ),
    VILLAGE: (
        "village",
        "rural",
        "countryside",
        "乡村",
        "农村",
        "村",
        "村委会",
        "行政村",
        "村民委员会",
    ),
}
_VALUE_KEYS = {key(v): s for s, values in _COLUMN_VALUES.items() for v in values}


def code_text(s: pd.Series) -> pd.Series:
    """Administrative codes as strings, keeping leading digits (no '.0' from floats); full-width
    digits (``３３０４…``, typed with a Chinese input method) as ASCII digits."""

    def one(v: Any) -> Any:
        if is_missing(v):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = unicodedata.normalize("NFKC", str(v)).strip()
        return text[:-2] if re.fullmatch(r"\d+\.0", text) else (text or None)

    return s.map(one).astype(object)


def check_codes(codes: pd.Series, labels: np.ndarray, note: str, what: str) -> np.ndarray:
    """True where a community code has the 12 digits of an NBS code; warn about the others.

    The warning names the rows, grouped by what is wrong: 6- and 9-digit county and street
    codes, 11 or 13 digits (a digit lost or added, e.g. by Excel), other text (``3.30402E+11``:
    Excel's scientific notation). Street, county, city and province codes are then not derived
    for those rows.
    """
    text = codes.fillna("").astype(str)
    ok = text.str.fullmatch(r"\d{12}").to_numpy()
    given = codes.notna().to_numpy()
    length = text.str.len().to_numpy()
    digits = text.str.fullmatch(r"\d+").to_numpy()
    problems = {
        "6- or 9-digit codes are county/street codes, not community codes": digits
        & np.isin(length, (6, 9)),
        "11 or 13 digits, one too few or too many (a digit lost or added?)": digits
        & np.isin(length, (11, 13)),
        "not a 12-digit number (Excel scientific notation such as 3.30402E+11? format the "
        "column as text)": given & ~ok & ~(digits & np.isin(length, (6, 9, 11, 13))),
    }
    lines = [
        f"  {why}: rows {rows_text([f'{labels[i]} ({text.iloc[i]})' for i in np.flatnonzero(m)], 5)}"
        for why, m in problems.items()
        if m.any()
    ]
    if lines:
        log.warning(
            "%s: %d community codes are not 12-digit NBS codes (统计用区划代码) (%s); no "
            "street, county, city or province code is derived from them:\n%s",
            what,
            int((given & ~ok).sum()),
            note,
            "\n".join(lines),
        )
    return ok


def parent_codes(out: pd.DataFrame, code_ok: np.ndarray) -> None:
    """Fill street/county codes from 12-digit community codes where not given, and derive the
    province (2 digits) and city (4 digits) codes from the most detailed code there is."""
    code = out["community_code"]
    out.loc[out["street_code"].isna() & code_ok, "street_code"] = code.str[:9]
    out.loc[out["county_code"].isna() & code_ok, "county_code"] = code.str[:6]
    best = pd.Series(None, index=out.index, dtype=object)
    for col, n in (("county_code", 6), ("street_code", 9)):
        ok = out[col].fillna("").astype(str).str.fullmatch(rf"\d{{{n}}}").to_numpy()
        best[ok] = out.loc[ok, col]
    best[code_ok] = code[code_ok]
    out["province_code"] = best.str[:2].astype(object).where(best.notna(), None)
    out["city_code"] = best.str[:4].astype(object).where(best.notna(), None)


def settlement_from_name(name: Any) -> str | None:
    """``"urban"`` for …社区居委会 / …居委会 / …社区, ``"village"`` for …村委会 / …村, else None."""
    text = key(name)
    if not text:
        return None
    for endings, kind in _NAME_RULES:
        if text.endswith(endings):
            return kind
    return None


def settlement_from_code(code: Any) -> str | None:
    """``"urban"`` for NBS urban–rural class codes 1xx, ``"village"`` for 2xx, else None."""
    if is_missing(code):
        return None
    text = str(code).strip()
    text = text[:-2] if text.endswith(".0") else text
    if text not in URBAN_RURAL_CODES:
        return None
    return URBAN if text.startswith("1") else VILLAGE


def settlement_from_value(value: Any) -> str | None:
    """A user's settlement value (urban/village, 城镇/乡村, 社区/村, or a class code)."""
    return _VALUE_KEYS.get(key(value)) or settlement_from_code(value)


def settlements(
    names: pd.Series,
    codes: pd.Series | None,
    values: pd.Series | None,
    labels: np.ndarray,
    what: str,
) -> list[str | None]:
    """``settlement`` of each community: from the urban–rural class code, else the name, else
    the user's settlement column; never guessed. Rows left undecided are logged with a warning,
    and so are invalid class codes and settlement values."""
    n = len(names)
    by_code = [settlement_from_code(v) for v in codes] if codes is not None else [None] * n
    by_name = [settlement_from_name(v) for v in names]
    by_value = [settlement_from_value(v) for v in values] if values is not None else [None] * n
    for series, found, label in (
        (codes, by_code, "urban–rural class codes (城乡分类代码)"),
        (values, by_value, "settlement values"),
    ):
        if series is None:
            continue
        bad = [i for i in range(n) if found[i] is None and not is_missing(series.iloc[i])]
        if bad:
            log.warning(
                "%s: %d %s not understood (rows %s); expected %s",
                what,
                len(bad),
                label,
                rows_text([f"{labels[i]} ({series.iloc[i]})" for i in bad], 5),
                "111/112/121/122/123 (urban) or 210/220 (rural)"
                if series is codes
                else "urban/village, 城镇/乡村 or 社区/村",
            )
    out = [c or m or v for c, m, v in zip(by_code, by_name, by_value, strict=True)]
    differ = sum(1 for c, m in zip(by_code, by_name, strict=True) if c and m and c != m)
    if differ:
        log.info(
            "%s: for %d communities the urban–rural class code and the name (社区/村) disagree; "
            "the code decides",
            what,
            differ,
        )
    unknown = [i for i in range(n) if out[i] is None]
    if unknown and len(unknown) == n and codes is None and values is None:
        log.info(
            "%s: no community name ends in 社区/居委会 or 村/村委会, so the settlement (urban or "
            "village) is unknown for all; give urban_rural_code= (城乡分类代码) or settlement= to "
            "tell them apart",
            what,
        )
    elif unknown:
        log.warning(
            "%s: %d of %d communities are neither urban (社区/居委会) nor village (村/村委会) by "
            "their %s: rows %s. Their settlement is left empty; give urban_rural_code= "
            "(城乡分类代码) or settlement= (a column of urban/village, 城镇/乡村 or 社区/村).",
            what,
            len(unknown),
            n,
            ", ".join(
                w
                for w, s in (("class code", codes), ("name", names), ("settlement column", values))
                if s is not None
            ),
            rows_text([f"{labels[i]} {names.iloc[i]}" for i in unknown], 8),
        )
    return out
