"""Placing table rows: their coordinate system, unusable coordinates, points outside the area."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .. import settings
from .._errors import CRSError, InputError
from .._text import key
from ..crs import WGS84, transformer
from ..sources.coords import detect_offset, layer_system, parse_coord_system
from ..sources.tables import Table, rows_text
from .frame import records

log = logging.getLogger(__name__)


def crs_hint(*cols: Any) -> str | None:
    """The coordinate system column names suggest (``bd09_lng`` → ``"bd09"``), else None."""
    text = " ".join(key(c) for c in cols if c is not None)
    if "bd09" in text or "baidu" in text or "百度" in text:
        return "bd09"
    if "gcj" in text or "高德" in text or "gaode" in text or "amap" in text:
        return "gcj02"
    if "wgs" in text or "gps" in text:
        return "wgs84"
    return None


def table_crs(
    crs: Any, df: pd.DataFrame, use_geometry: bool, lon_col: Any, lat_col: Any, where: str
) -> Any:
    """The coordinate system of a table's points: given, or the layer's; never guessed."""
    if use_geometry:
        return layer_system(df.crs, crs, where)
    if crs is None:
        hint = crs_hint(lon_col, lat_col)
        raise CRSError(
            f"{where}: say which coordinate system the lon/lat columns ({lon_col!r}, {lat_col!r}) "
            "are in, e.g. load_facilities(..., crs='gcj02'). Amap/高德 (and Tencent) "
            "coordinates are "
            "gcj02, Baidu/百度 coordinates are bd09, GPS, OpenStreetMap and CGCS2000 (国家2000) "
            "lon/lat are wgs84. A wrong choice moves every point by 0.5-1.1 km, more than a "
            "5-minute walk, so lifecircle does not guess."
            + (f" (The column names suggest crs='{hint}'.)" if hint else "")
        )
    system = parse_coord_system(crs)
    hint = crs_hint(lon_col, lat_col)
    if hint is not None and isinstance(system, str) and hint != system:
        log.warning(
            "%s: crs=%r but the column names %r/%r suggest %s; check which system the data use",
            where,
            crs,
            lon_col,
            lat_col,
            hint,
        )
    return system


def geometry_xy(df: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """x, y of a layer's geometries (non-points reduced to a point inside) and the empty ones."""
    geoms = np.asarray(df.geometry.values)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    pts = geoms.copy()
    notpt = ~missing & (shapely.get_type_id(geoms) != 0)
    if notpt.any():
        log.info("%d non-point geometries reduced to a point inside them", int(notpt.sum()))
        pts[notpt] = shapely.point_on_surface(geoms[notpt])
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[~missing] = shapely.get_x(pts[~missing])
    y[~missing] = shapely.get_y(pts[~missing])
    return x, y, {"empty geometry": missing}


def coord_problems(
    x: np.ndarray,
    y: np.ndarray,
    system: Any,
    masks: dict[str, np.ndarray],
    lon_col: Any,
    lat_col: Any,
) -> dict[str, np.ndarray]:
    """Rows with unusable coordinates, by problem: missing, (0, 0), swapped, out of range."""
    problems = dict(masks)
    bad_text = np.zeros(len(x), dtype=bool)
    for m in masks.values():
        bad_text |= m
    missing = ~(np.isfinite(x) & np.isfinite(y)) & ~bad_text
    lx = lon_col if lon_col is not None else "x"
    ly = lat_col if lat_col is not None else "y"
    problems[f"missing {lx}/{ly}"] = missing
    ok = np.isfinite(x) & np.isfinite(y)
    if isinstance(system, str) or (isinstance(system, CRS) and system.is_geographic):
        zero = ok & (x == 0) & (y == 0)
        problems["(0, 0) — a placeholder, not a location"] = zero
        ok &= ~zero
        # swapped: a latitude-like value where the longitude should be, and vice versa
        # a latitude where the longitude should be: |lat| > 90 but a longitude (a typo such as
        # 601.66 is out of range, not swapped), or China's lat/lon ranges
        swapped = ok & (
            ((np.abs(y) > 90) & (np.abs(y) <= 180) & (np.abs(x) <= 90))
            | ((x >= 0.8) & (x <= 56) & (y >= 72) & (y <= 138))
        )
        problems[f"longitude and latitude swapped ({lx} holds the latitude)"] = swapped
        ok &= ~swapped
        out = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
        problems["outside -180..180 / -90..90 (projected metres? then give crs= the EPSG code)"] = (
            out
        )
    return {k: v for k, v in problems.items() if v.any()}


def bad_coords_text(
    table: Table, problems: dict[str, np.ndarray], lon_col: Any, lat_col: Any, where: str
) -> str:
    """The message naming the rows with unusable coordinates, by problem, and the fix."""
    df, labels = table.frame, table.labels

    def shown(what: str, mask: np.ndarray) -> str:
        if lon_col is not None and not what.startswith(("missing", "(0, 0)")):  # show the values
            vals = [
                f"{labels[i]} ({df[lon_col].iloc[i]!s}, {df[lat_col].iloc[i]!s})"
                for i in np.flatnonzero(mask)
            ]
            return rows_text(vals)
        return rows_text(list(labels[mask]))

    bad_any = np.logical_or.reduce(list(problems.values()))
    lines = [f"  {what}: {shown(what, mask)}" for what, mask in problems.items() if mask.any()]
    fix = (
        "Fix or delete those rows"
        + (" (or pass lon=/lat= if the wrong columns were picked)" if lon_col is not None else "")
        + ", or pass bad_coords='report' to leave them out with a warning."
    )
    return (
        f"{where}: {int(bad_any.sum())} rows have unusable coordinates ({table.row_note}):\n"
        + "\n".join(lines)
        + "\n"
        + fix
    )


def bad_coords_report(table: Table, problems: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Records of the rows with unusable coordinates (``row``, ``problem``, the row's cells)."""
    bad_any = np.logical_or.reduce(list(problems.values()))
    geom = table.geometry_name
    rep = table.frame.loc[bad_any].drop(columns=[geom] if geom else []).copy()
    rep.insert(0, "row", table.labels[bad_any])
    rep.insert(
        1,
        "problem",
        ["; ".join(w for w, m in problems.items() if m[i]) for i in np.flatnonzero(bad_any)],
    )
    return records(rep)


def flag_outside(
    gdf: gpd.GeoDataFrame,
    network: Any,
    bounds: tuple[float, float, float, float] | None,
    where: str,
    system: Any,
) -> None:
    """Add the boolean column ``outside_network`` (outside ``bounds`` or the network's area).

    ``network`` is anything with ``crs``, ``bounds`` (metric) and ``edges`` (a
    :class:`~lifecircle.WalkNetwork`); data given as WGS84 are then also checked for an
    unconverted GCJ-02/BD-09 shift (:func:`lifecircle.detect_offset`).
    """
    lon = shapely.get_x(gdf.geometry.values)
    lat = shapely.get_y(gdf.geometry.values)
    outside = np.zeros(len(gdf), dtype=bool)
    if bounds is not None:
        w, s, e, n = bounds
        outside |= ~((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n))
    if network is not None:
        if not all(hasattr(network, a) for a in ("crs", "bounds", "edges")):
            raise InputError("network= must be a WalkNetwork from lifecircle.load_network")
        mx, my = transformer(WGS84, network.crs).transform(lon, lat)
        minx, miny, maxx, maxy = network.bounds
        pad = settings.max_snap_m
        outside |= ~(
            (mx >= minx - pad) & (mx <= maxx + pad) & (my >= miny - pad) & (my <= maxy + pad)
        )
        if system == "wgs84" and len(gdf) >= 5:
            detect_offset(gdf, network)
    gdf["outside_network"] = outside
    if outside.any():
        log.warning(
            "%s: %d of %d facilities lie outside the network's area (flagged in column "
            "'outside_network'): %s",
            where,
            int(outside.sum()),
            len(gdf),
            rows_text(list(gdf.index[outside])),
        )
