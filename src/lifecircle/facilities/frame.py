"""The facility frame every loader returns: its columns, its index, its reports.

A facility frame is a WGS84 (EPSG:4326) GeoDataFrame of points, one row per (facility, category),
indexed by a stable unique ``facility_id`` (also kept as a column), starting with
:data:`BASE_COLUMNS`. Rows a loader could not use are kept in ``gdf.attrs`` as plain records
(see :func:`unmatched`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from .._errors import InputError
from ..crs import WGS84
from ..sources.tables import rows_text

log = logging.getLogger(__name__)

#: Columns every facility frame starts with (in this order).
BASE_COLUMNS = ["facility_id", "category", "category_zh", "name", "source", "capacity"]

def profile_categories(profile: Any) -> list[Any]:
    """The categories of a profile (or of the profile a name/path loads), in order."""
    if isinstance(profile, (str, Path)):
        from ..standards import load_profile

        profile = load_profile(profile)
    cats = getattr(profile, "categories", None)
    if not isinstance(cats, dict) or not cats:
        raise InputError(
            "profile has no categories; pass a profile from lifecircle.load_profile(...)"
        )
    return list(cats.values())


def check_bounds(bounds: Any) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` as floats, checked to be a WGS84 box; None stays None."""
    if bounds is None:
        return None
    try:
        w, s, e, n = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise InputError(
            f"bounds must be (west, south, east, north) in WGS84 degrees, got {bounds!r}"
        ) from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InputError(
            f"bounds {bounds!r} are not (west, south, east, north) in WGS84 degrees "
            "(west < east, south < north; e.g. (120.70, 30.70, 120.80, 30.80) for central Jiaxing)"
        )
    return (w, s, e, n)


def in_bounds(lon: float, lat: float, bounds: tuple[float, float, float, float] | None) -> bool:
    """True when (lon, lat) lies in ``bounds`` (or there are none)."""
    if bounds is None:
        return True
    w, s, e, n = bounds
    return w <= lon <= e and s <= lat <= n


def empty_frame(columns: list[str]) -> gpd.GeoDataFrame:
    """A facility frame without rows (``capacity`` float, the rest object)."""
    data = {c: pd.Series(dtype="float64" if c == "capacity" else "object") for c in columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def finish(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Index by facility_id (kept as a column too), check uniqueness, set EPSG:4326."""
    dup = gdf["facility_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(
            "facility ids are not unique: "
            + rows_text(sorted(set(gdf.loc[dup, "facility_id"].astype(str))))
            + "; give each row its own id (id= column) or leave id= unset"
        )
    gdf = gdf.set_index(pd.Index(gdf["facility_id"].to_numpy(), dtype="object"))
    gdf.index.name = None  # the column keeps the name; a named index would make it ambiguous
    if gdf.crs is None or not CRS.from_user_input(gdf.crs).equals(WGS84):
        gdf = gdf.set_crs(WGS84, allow_override=True)
    return gdf


def explode_categories(
    ids: list[str], cats: list[list[Any]], extra: dict[str, list[Any]]
) -> tuple[list[str], list[Any], dict[str, list[Any]]]:
    """One row per (feature, category); ids get ``#category`` when a feature has several."""
    out_ids: list[str] = []
    out_cat: list[Any] = []
    out_extra: dict[str, list[Any]] = {k: [] for k in extra}
    for i, (fid, cs) in enumerate(zip(ids, cats, strict=True)):
        for c in cs:
            out_ids.append(fid if len(cs) == 1 else f"{fid}#{c.id}")
            out_cat.append(c)
            for k, v in extra.items():
                out_extra[k].append(v[i])
    return out_ids, out_cat, out_extra


def unmatched(gdf: pd.DataFrame, what: str = "unmatched") -> pd.DataFrame:
    """Rows a loader reported but left out, as a DataFrame.

    Parameters
    ----------
    gdf : a frame returned by :func:`load_facilities` or :func:`facilities_from_osm`.
    what : ``"unmatched"`` (rows matching no category), ``"bad_coords"`` (rows without usable
        coordinates, with ``bad_coords="report"``) or ``"skipped"`` (OSM features without a
        usable geometry).

    The records live in ``gdf.attrs[what]`` as a list of dicts (plain values, so that
    ``pd.concat`` of facility frames keeps working).
    """
    return pd.DataFrame.from_records(gdf.attrs.get(what, []))


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain-value records for ``attrs`` (no numpy arrays, so attrs compare safely)."""
    out = []
    for rec in df.astype(object).where(df.notna(), None).to_dict("records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out


def log_counts(gdf: pd.DataFrame, cats: list[Any], what: str) -> None:
    """Log how many facilities of each category were found; warn about OSM's missing ones."""
    counts = gdf["category"].value_counts() if len(gdf) else pd.Series(dtype=int)
    text = ", ".join(f"{c.name_zh} {int(counts.get(c.id, 0))}" for c in cats)
    log.info("%s: %d facilities (%s)", what, len(gdf), text)
    missing = [c.name_zh for c in cats if c.osm and int(counts.get(c.id, 0)) == 0]
    if missing and what == "OpenStreetMap":
        log.warning(
            "OpenStreetMap has no %s here. OSM in Chinese cities lacks many small facilities; "
            "load the bureau lists with lifecircle.load_facilities before judging coverage.",
            "、".join(missing),
        )


def rules_by_category(gdf: pd.DataFrame) -> pd.DataFrame:
    """How many facilities of each category were found by which rule (``category_source``).

    One row per category, one column per rule (``tag``, ``tag+name``, ``amap_type``,
    ``column``, ``keyword``, ``given``, OSM ``tags`` ...), counts of facility rows.
    """
    if not len(gdf) or "category_source" not in gdf.columns:
        return pd.DataFrame()
    how = gdf["category_source"].fillna("").replace("", "(none)")
    return pd.crosstab(gdf["category"], how).rename_axis(index="category", columns="rule")


def log_rules(gdf: pd.DataFrame, what: str) -> None:
    """Log, per category, how many facilities each rule found."""
    table = rules_by_category(gdf)
    if table.empty:
        return
    parts = []
    for cat, row in table.iterrows():
        parts.append(f"{cat}: " + ", ".join(f"{r} {int(n)}" for r, n in row.items() if n))
    log.info("%s: categories by rule: %s", what, "; ".join(parts))
