"""What the two spreadsheet stores (xlsx, csv) share: header labels, lon/lat, cell values."""

from __future__ import annotations

from typing import Any

import shapely

from .schema import COLUMN, NAMES, POOL_COLUMNS
from .values import Row, as_float, coerce

#: The location columns of xlsx and csv: name → (Chinese, English header).
LONLAT: dict[str, tuple[str, str]] = {"lon": ("经度", "Longitude"), "lat": ("纬度", "Latitude")}
#: The columns of a spreadsheet pool, in order (the location as lon/lat).
TABULAR: list[str] = [n for n in NAMES if n != "geometry"] + ["lon", "lat"]


def labels() -> dict[str, str]:
    """Every accepted header (name, Chinese, English; case-insensitive) → column name."""
    out: dict[str, str] = {}
    for c in POOL_COLUMNS:
        if c.name != "geometry":
            for label in (c.name, c.zh, c.en):
                out[label.strip().lower()] = c.name
    for name, (zh, en) in LONLAT.items():
        for label in (name, zh, en):
            out[label.lower()] = name
    return out


def header(name: str, lang: str) -> str:
    """The header of column ``name`` in ``lang`` ("zh" or "en")."""
    if name in LONLAT:
        return LONLAT[name][0] if lang == "zh" else LONLAT[name][1]
    return COLUMN[name].zh if lang == "zh" else COLUMN[name].en


def header_lang(headers: list[str]) -> str | None:
    """The language most of ``headers`` are in, None when none is a pool header."""
    zh = {c.zh for c in POOL_COLUMNS} | {v[0] for v in LONLAT.values()}
    en = {c.en for c in POOL_COLUMNS} | {v[1] for v in LONLAT.values()}
    n_zh, n_en = sum(h in zh for h in headers), sum(h in en for h in headers)
    return None if n_zh == n_en == 0 else ("zh" if n_zh >= n_en else "en")


def from_tabular(raw: Row) -> Row:
    """A spreadsheet row (pool names as keys, lon/lat) as a typed pool row."""
    lon, lat = as_float(raw.pop("lon", None)), as_float(raw.pop("lat", None))
    raw["geometry"] = None if lon is None or lat is None else shapely.Point(lon, lat)
    return coerce(raw)


def tabular_value(value: Any, lang: str) -> Any:
    """A value as a spreadsheet cell: bools 是/否 (zh) or true/false (en)."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("true" if value else "false")
    return value


def lonlat(geom: Any) -> tuple[float | None, float | None]:
    """The lon/lat cells of a point (empty for anything else)."""
    if geom is None or geom.is_empty or geom.geom_type != "Point":
        return None, None
    return float(geom.x), float(geom.y)
