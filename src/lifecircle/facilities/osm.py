"""Facilities from OpenStreetMap: an OSM file (read by :func:`lifecircle.sources.osm.read_osm`)
or, online, Overpass through OSMnx (:func:`lifecircle.sources.overpass.features_from_overpass`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import settings
from .._errors import InputError
from .._text import count_value, is_missing
from ..crs import WGS84
from ..sources.osm import is_osm_file, read_osm
from ..sources.overpass import features_from_overpass
from ..sources.tables import rows_text
from .classify import match_tags, osm_keys, osm_name
from .frame import (
    BASE_COLUMNS,
    check_bounds,
    empty_frame,
    explode_categories,
    finish,
    in_bounds,
    log_counts,
    profile_categories,
)

log = logging.getLogger(__name__)

OSM_COLUMNS = BASE_COLUMNS + ["osm_type", "osm_id", "osm_tags"]

#: OSM tags read as capacity, first present wins.
CAPACITY_TAGS = ("capacity", "capacity:persons", "beds", "capacity:beds")

Bounds = tuple[float, float, float, float]


class _Found:
    """Matching features gathered before the frame is built: id, categories, type, tags, point."""

    def __init__(self, bounds: Bounds | None) -> None:
        self.bounds = bounds
        self.ids: list[str] = []
        self.cats: list[list[Any]] = []
        self.cols: dict[str, list[Any]] = {"osm_type": [], "osm_id": [], "tags": [], "xy": []}
        self.outside = 0

    def add(
        self, kind: str, oid: int, tags: dict[str, str], cs: list[Any], xy: tuple[float, float]
    ) -> None:
        if not in_bounds(xy[0], xy[1], self.bounds):
            self.outside += 1
            return
        self.ids.append(f"osm:{kind}/{oid}")
        self.cats.append(cs)
        for name, value in zip(self.cols, (kind, oid, tags, xy), strict=True):
            self.cols[name].append(value)

    def frame(self) -> gpd.GeoDataFrame:
        if not self.ids:
            return finish(empty_frame(OSM_COLUMNS))
        fids, cats, extra = explode_categories(self.ids, self.cats, self.cols)
        tags = extra["tags"]
        xy = np.asarray(extra["xy"], dtype="float64")
        gdf = gpd.GeoDataFrame(
            {
                "facility_id": fids,
                "category": [c.id for c in cats],
                "category_zh": [c.name_zh for c in cats],
                "name": [osm_name(t) for t in tags],
                "source": "osm",
                "capacity": np.array([osm_capacity(t) for t in tags], dtype="float64"),
                "osm_type": extra["osm_type"],
                "osm_id": np.asarray(extra["osm_id"], dtype="int64"),
                "osm_tags": [json.dumps(t, ensure_ascii=False, sort_keys=True) for t in tags],
            },
            geometry=shapely.points(xy),
            crs=WGS84,
        )
        return finish(gdf)


def osm_capacity(tags: dict[str, str]) -> float:
    """Capacity from the first of :data:`CAPACITY_TAGS` that holds a number, else NaN."""
    for k in CAPACITY_TAGS:
        if k in tags:
            v = count_value(str(tags[k]).split(";")[0])  # "50;20": OSM's list, the first
            if np.isfinite(v):
                return v
    return np.nan


def facilities_from_osm(
    source: Any,
    profile: Any,
    bounds: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Facilities of the profile's categories from OpenStreetMap.

    Parameters
    ----------
    source :
        An OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``) or, online through OSMnx
        (Overpass), a place name, a shapely (Multi)Polygon in WGS84 or a
        ``(west, south, east, north)`` bbox in WGS84 — the same sources as
        :func:`lifecircle.load_network`.
    profile :
        A standard profile (:func:`lifecircle.load_profile`); each category's ``osm`` tag
        filters decide what is a facility.
    bounds :
        Optional ``(west, south, east, north)`` in WGS84 degrees: keep only facilities inside.

    Returns
    -------
    GeoDataFrame (EPSG:4326, points)
        One row per (OSM feature, category): nodes as they are, ways and multipolygon relations
        reduced to a point inside the shape (``representative_point``). Columns
        ``facility_id`` (``osm:node/123``; a feature matching several categories gets one row per
        category with ids ``osm:way/45#kindergarten`` ...), ``category``, ``category_zh``,
        ``name``, ``source`` (``"osm"``), ``capacity`` (from ``capacity``/``beds`` tags, else
        NaN), ``osm_type``, ``osm_id``, ``osm_tags`` (JSON) and ``geometry``. Matching
        relations that have no area geometry (e.g. ``type=site`` or broken multipolygons) are
        logged and listed in ``unmatched(gdf, "skipped")``.
    """
    cats = profile_categories(profile)
    bounds = check_bounds(bounds)
    if isinstance(source, (str, Path)) and Path(source).exists():
        path = Path(source)
        if path.is_dir() or not is_osm_file(path):
            raise InputError(
                f"don't know how to read {path.name} as OpenStreetMap: expected .osm, .osm.gz, "
                ".osm.bz2 or .osm.pbf (for CSV/Excel/GeoPackage tables use load_facilities)"
            )
        gdf = _from_file(path, cats, bounds)
    elif isinstance(source, (str, Path)) and is_osm_file(Path(source)):
        raise InputError(f"OSM file not found: {source}")
    else:
        gdf = _from_overpass(source, cats, bounds)
    log_counts(gdf, cats, "OpenStreetMap")
    return gdf


def facility_areas_from_osm(path: str | Path, profile: Any) -> gpd.GeoSeries:
    """The shapes of the OSM facilities that are drawn as areas (school grounds, a clinic's
    building ...): the areas :func:`facilities_from_osm` reduces to a point.

    A WGS84 GeoSeries of polygons indexed by facility id without its category part
    (``osm:way/45``, also for the rows ``osm:way/45#kindergarten``), for giving the entrances on
    a facility's boundary to it (:func:`lifecircle.facilities.gates_of_facilities`).
    """
    path = Path(path)
    cats = profile_categories(profile)
    feats = read_osm(
        path, osm_keys(cats), ("way_area", "relation_area"), f"facility areas in {path.name}"
    )
    frame = feats.frame
    ids: dict[str, Any] = {}
    for kind, oid, tags, geom in zip(
        frame["osm_type"], frame["osm_id"], frame["tags"], frame.geometry.values, strict=True
    ):
        own = feats.relation_tags.get(int(oid)) if kind == "relation" else None
        if match_tags(tags, cats) or (own is not None and match_tags(own, cats)):
            ids.setdefault(f"osm:{kind}/{int(oid)}", geom)
    index = pd.Index(list(ids), name="facility_id", dtype=object)
    return gpd.GeoSeries(list(ids.values()), index=index, crs=WGS84)


def way_point(xy: list[tuple[float, float]], closed: bool) -> tuple[float, float]:
    """A point on a way: inside it if it is a closed ring, else halfway along it."""
    if len(xy) == 1:
        return xy[0]
    if closed and len(xy) >= 4:
        poly = shapely.Polygon(xy)
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        if not poly.is_empty and poly.area > 0:
            pt = poly.representative_point()
            return (pt.x, pt.y)
    line = shapely.LineString(xy)
    pt = line.interpolate(0.5, normalized=True)
    return (pt.x, pt.y)


def point_of(geom: Any) -> shapely.Point:
    """One point for a feature: points as they are, lines halfway along, areas inside."""
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type in ("LineString", "LinearRing"):
        return geom.interpolate(0.5, normalized=True)
    return geom.representative_point()


def _from_file(path: Path, cats: list[Any], bounds: Bounds | None) -> gpd.GeoDataFrame:
    feats = read_osm(
        path, osm_keys(cats), ("node", "way", "relation_area"), f"facilities in {path.name}"
    )
    _check_file_bounds(path, feats.bounds, bounds)
    found = _Found(bounds)
    frame = feats.frame
    for kind, oid, shape, tags, closed, geom in zip(
        frame["osm_type"],
        frame["osm_id"],
        frame["kind"],
        frame["tags"],
        frame["closed"],
        frame.geometry.values,
        strict=True,
    ):
        cs = match_tags(tags, cats)
        if not cs:
            continue
        if shape == "way":
            xy = way_point([tuple(c) for c in shapely.get_coordinates(geom)], bool(closed))
        else:  # nodes; areas of relations (libosmium leaves type=multipolygon off their tags)
            pt = geom if shape == "node" else geom.representative_point()
            xy = (pt.x, pt.y)
            own = feats.relation_tags.get(int(oid))
            if shape == "relation_area" and own is not None and match_tags(own, cats):
                tags = own
        found.add(kind, int(oid), tags, cs, xy)
    if found.outside:
        log.info(
            "%d matching OSM features lie outside bounds=%s and were left out",
            found.outside,
            bounds,
        )
    gdf = found.frame()
    skipped = _skipped(feats.skipped, cats)
    if skipped:
        log.warning(
            "%d OSM features match a category but have no usable geometry and are left out: %s. "
            "See lifecircle.facilities.unmatched(gdf, 'skipped').",
            len(skipped),
            rows_text([f"{s['osm_type']}/{s['osm_id']}" for s in skipped]),
        )
        gdf.attrs["skipped"] = skipped
    return gdf


def _check_file_bounds(path: Path, file_box: Bounds | None, bounds: Bounds | None) -> None:
    """Warn when ``bounds`` do not overlap the area an OSM file says it covers."""
    if bounds is None or file_box is None:
        return
    w, s, e, n = bounds
    fw, fs, fe, fn = file_box
    if e < fw or w > fe or n < fs or s > fn:
        log.warning(
            "bounds=%s lie outside the area of %s (%.4f, %.4f, %.4f, %.4f): no facility can be "
            "inside; check the order (west, south, east, north) and the file",
            bounds,
            path.name,
            *file_box,
        )


def _skipped(reported: list[dict[str, Any]], cats: list[Any]) -> list[dict[str, Any]]:
    """The reader's objects without geometry that match a category, as report records."""
    out = []
    for s in reported:
        if not match_tags(s["tags"], cats):
            continue
        rec = {"osm_type": s["osm_type"], "osm_id": s["osm_id"]}
        if s["osm_type"] != "node":
            rec["name"] = osm_name(s["tags"])
        rec["reason"] = s["reason"]
        out.append(rec)
    return out


def _from_overpass(source: Any, cats: list[Any], bounds: Bounds | None) -> gpd.GeoDataFrame:
    """Fetch features through OSMnx (Overpass) for a place name, polygon or bbox."""
    keys = osm_keys(cats, names=False)
    if keys is None:
        raise InputError("the profile's OSM filters need a required key to query Overpass")
    feats = features_from_overpass(
        source, {k: True for k in keys}, settings.overpass_url, settings.requests_timeout_s
    )
    found = _Found(bounds)
    if len(feats) == 0:
        return found.frame()
    feats = feats.to_crs(WGS84)
    rows = feats.drop(columns=feats.geometry.name).to_dict("records")
    for (kind, oid), geom, values in zip(feats.index, feats.geometry.values, rows, strict=True):
        # OSMnx adds member lists ("nodes", "ways"); everything else is an OSM tag
        tags = {
            str(k): str(v)
            for k, v in values.items()
            if k not in ("nodes", "ways") and not is_missing(v)
        }
        cs = match_tags(tags, cats)
        if not cs or geom is None or geom.is_empty:
            continue
        pt = point_of(geom)
        found.add(kind, int(oid), tags, cs, (pt.x, pt.y))
    return found.frame()
