"""What the two spreadsheet stores (xlsx, csv) share: header labels, lon/lat, cell values."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import shapely

from ..._errors import LifecircleError
from ...standards import load_profile
from ..labels import VALUES, pool_label
from .schema import NAMES
from .values import Row, as_float, coerce, is_na

log = logging.getLogger(__name__)

#: The location columns of xlsx and csv.
LONLAT: tuple[str, str] = ("lon", "lat")
#: The columns of a spreadsheet pool, in order (the location as lon/lat).
TABULAR: list[str] = [n for n in NAMES if n != "geometry"] + list(LONLAT)

#: Headers earlier lifecircle versions wrote for a column, (Chinese, English); still read.
FORMER_HEADERS: dict[str, tuple[str | None, str | None]] = {
    "street_name": (None, "Street / town"),
    "category_zh": (None, "Facility category"),
    "new_covered_pop": ("新增覆盖人口", "Newly covered residents"),
    "uncovered_pop": ("现状未覆盖人口", "Uncovered residents"),
    "threshold_m": (None, "Standard distance (m)"),
    "category": ("设施类别代码", None),
}


def _headers(name: str) -> list[tuple[str, str]]:
    """(header, language) pairs of a column: today's, then those earlier versions wrote."""
    zh, en, _ = pool_label(name)
    former = zip(FORMER_HEADERS.get(name, (None, None)), ("zh", "en"), strict=True)
    return [(zh, "zh"), (en, "en")] + [(text, lang) for text, lang in former if text]


def labels() -> dict[str, str]:
    """Every accepted header (name, Chinese, English, former; case-insensitive) → column name."""
    out: dict[str, str] = {}
    for name in TABULAR:
        for text in [name] + [h for h, _ in _headers(name)]:
            out[text.strip().lower()] = name
    return out


def header(name: str, lang: str) -> str:
    """The header of column ``name`` in ``lang`` ("zh" or "en")."""
    found = pool_label(name)
    return found.zh if lang == "zh" else found.en


def header_lang(headers: list[str]) -> str | None:
    """The language most of ``headers`` are in, None when none is a pool header."""
    known = {text: lang for name in TABULAR for text, lang in _headers(name)}
    n_zh = sum(known.get(h) == "zh" for h in headers)
    n_en = sum(known.get(h) == "en" for h in headers)
    return None if n_zh == n_en == 0 else ("zh" if n_zh >= n_en else "en")


@lru_cache(maxsize=32)
def _level_words(profile_id: str) -> dict[str, tuple[str, str]]:
    """Level code → (Chinese, English) words of a profile known by its id; {} when it is not
    found (a city's own profile file), or for words two levels would share."""
    try:
        profile = load_profile(profile_id)
    except (LifecircleError, OSError):
        log.info("profile %r not found: pool levels are written as codes", profile_id)
        return {}
    words = {code: profile.level_label(code) for code in profile.levels}
    seen = [w for pair in words.values() for w in pair]
    return {c: w for c, w in words.items() if all(seen.count(x) == 1 for x in w)}


def _words(name: str, profile: object) -> dict[object, tuple[str, str]]:
    """Coded values of column ``name`` → (Chinese, English), for the row's ``profile``."""
    if name == "level":
        return {} if is_na(profile) else _level_words(str(profile))
    return VALUES.get(name, {}) if name == "location_kind" else {}


def from_tabular(raw: Row) -> Row:
    """A spreadsheet row (pool names as keys, lon/lat, codes or their words) as a typed pool row."""
    lon, lat = as_float(raw.pop("lon", None)), as_float(raw.pop("lat", None))
    raw["geometry"] = None if lon is None or lat is None else shapely.Point(lon, lat)
    for name in ("level", "location_kind"):
        back = {w: code for code, pair in _words(name, raw.get("profile")).items() for w in pair}
        value = raw.get(name)
        if isinstance(value, str) and value.strip() in back:
            raw[name] = back[value.strip()]
    return coerce(raw)


def tabular_value(value: Any, lang: str, name: str = "", profile: object = None) -> Any:
    """A value as a spreadsheet cell: bools 是/否 (zh) or true/false (en); levels and location
    kinds in words ("5分钟生活圈", "建议选址") when ``profile`` (the row's) names its levels."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("true" if value else "false")
    words = _words(name, profile).get(value) if isinstance(value, str) else None
    return value if words is None else words[0 if lang == "zh" else 1]


def lonlat(geom: Any) -> tuple[float | None, float | None]:
    """The lon/lat cells of a point (empty for anything else)."""
    if geom is None or geom.is_empty or geom.geom_type != "Point":
        return None, None
    return float(geom.x), float(geom.y)
