"""Residential buildings from OpenStreetMap, and their floor area (a weight for demand points)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..sources.osm import read_osm

_RESIDENTIAL_BUILDINGS = {
    "residential",
    "apartments",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
    "bungalow",
    "farm",
}


def buildings_from_osm(source: str | Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Building and landuse polygons from an OSM file, as ``(buildings, landuse)`` (WGS84).

    Areas of closed ways and multipolygon relations (:func:`lifecircle.sources.osm.read_osm`),
    with columns ``osm_type``, ``osm_id``, ``tags`` (dict) and ``geometry`` (MultiPolygon).
    """
    feats = read_osm(source, ("building", "landuse"), ("way_area", "relation_area")).frame
    feats = feats[feats.geom_type.isin(["Polygon", "MultiPolygon"])]
    feats = feats.drop(columns=["kind", "closed"])
    has_b = feats["tags"].map(lambda t: "building" in t).to_numpy(dtype=bool)
    has_l = feats["tags"].map(lambda t: "landuse" in t).to_numpy(dtype=bool)
    return feats[has_b].reset_index(drop=True), feats[has_l].reset_index(drop=True)


def _flatten_tags(gdf: gpd.GeoDataFrame, keys: tuple[str, ...]) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for k in keys:
        if k not in out.columns:
            out[k] = out["tags"].map(lambda t, k=k: t.get(k)) if "tags" in out.columns else None
    return out


def residential_buildings(
    buildings: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Residential buildings from OSM-style building polygons.

    Keeps ``building=residential|apartments|house|dormitory|...``, plus ``building=yes`` inside
    ``landuse=residential`` areas when ``landuse`` is given. Needs a ``building`` column (or a
    ``tags`` dict column as from :func:`buildings_from_osm`).
    """
    b = _flatten_tags(buildings, ("building", "building:levels", "height", "landuse"))
    kind = b["building"].fillna("")
    keep = kind.isin(_RESIDENTIAL_BUILDINGS).to_numpy().copy()
    if landuse is not None and len(landuse):
        lu = _flatten_tags(landuse, ("landuse",))
        lu = lu[lu["landuse"] == "residential"].to_crs(b.crs)
        if len(lu):
            inside = b.geometry.representative_point().within(lu.union_all()).to_numpy()
            keep |= (kind == "yes").to_numpy() & inside
    return b.loc[keep & b.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]


def floor_area_m2(
    buildings: gpd.GeoDataFrame, default_levels: float = 6.0, m_per_level: float = 3.0
) -> np.ndarray:
    """Floor area per building: footprint × levels (``building:levels``, else ``height`` / 3 m,
    else ``default_levels``). ``buildings`` must be in a metric CRS."""
    lv = (
        pd.to_numeric(buildings.get("building:levels"), errors="coerce")
        if "building:levels" in buildings
        else None
    )
    h = pd.to_numeric(buildings.get("height"), errors="coerce") if "height" in buildings else None
    levels = pd.Series(np.nan, index=buildings.index)
    if lv is not None:
        levels = lv
    if h is not None:
        levels = levels.fillna(np.maximum(np.round(h / m_per_level), 1))
    levels = levels.where(levels > 0).fillna(default_levels)
    return buildings.geometry.area.to_numpy() * levels.to_numpy()
