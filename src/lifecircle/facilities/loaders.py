"""Facilities: load public-service points from OpenStreetMap and from bureau tables.

Every loader returns a WGS84 (EPSG:4326) GeoDataFrame of points, one row per (facility,
category), indexed by a stable unique ``facility_id`` (also kept as a column), with at least the
columns ``facility_id``, ``category`` (profile category id), ``category_zh``, ``name``,
``source``, ``capacity`` (float, NaN when unknown) and ``geometry``.

* :func:`facilities_from_osm` reads the same OSM sources as :func:`lifecircle.load_network`.
* :func:`load_facilities` reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), Excel, GeoPackage,
  GeoJSON or a (Geo)DataFrame with Chinese or English column names; GCJ-02 (Amap) and BD-09
  (Baidu) coordinates are converted to WGS84.
* :func:`merge_duplicates` merges the same facility found in several sources.

Rows that cannot be placed or categorised are never dropped silently: they raise an
:class:`~lifecircle.InputError` naming the rows, or (when asked) are logged and kept in
``gdf.attrs`` (see :func:`unmatched`).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from .._errors import CRSError, InputError
from .._progress import progress
from .._text import name_score, norm_name
from ..crs import WGS84, metric_crs_for
from ..sources.coords import detect_offset, in_gcj_box, parse_coord_system, to_wgs84
from ..sources.osm import is_osm_file

log = logging.getLogger(__name__)

__all__ = ["facilities_from_osm", "load_facilities", "merge_duplicates", "name_score", "unmatched"]

#: Columns every facility frame starts with (in this order).
BASE_COLUMNS = ["facility_id", "category", "category_zh", "name", "source", "capacity"]
OSM_COLUMNS = BASE_COLUMNS + ["osm_type", "osm_id", "osm_tags"]

#: OSM tags read as capacity, first present wins.
CAPACITY_TAGS = ("capacity", "capacity:persons", "beds", "capacity:beds")

_NUMBER = re.compile(r"^\s*[约~≈]?\s*([-+]?\d+(?:\.\d+)?)")


# ====================================================================== shared helpers
def _categories(profile: Any) -> list[Any]:
    if isinstance(profile, (str, Path)):
        from ..standards import load_profile

        profile = load_profile(profile)
    cats = getattr(profile, "categories", None)
    if not isinstance(cats, dict) or not cats:
        raise InputError(
            "profile has no categories; pass a profile from lifecircle.load_profile(...)"
        )
    return list(cats.values())


def _parse_number(value: Any) -> float:
    """A number from a cell or tag ("120", "约120人", "120.5"), NaN when there is none."""
    if value is None:
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    m = _NUMBER.match(unicodedata.normalize("NFKC", str(value)))
    return float(m.group(1)) if m else np.nan


def _rows_text(rows: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _empty_frame(columns: list[str]) -> gpd.GeoDataFrame:
    data = {c: pd.Series(dtype="float64" if c == "capacity" else "object") for c in columns}
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    return gdf


def _finish(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Index by facility_id (kept as a column too), check uniqueness, set EPSG:4326."""
    dup = gdf["facility_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(
            "facility ids are not unique: "
            + _rows_text(sorted(set(gdf.loc[dup, "facility_id"].astype(str))))
            + "; give each row its own id (id= column) or leave id= unset"
        )
    gdf = gdf.set_index(pd.Index(gdf["facility_id"].to_numpy(), dtype="object"))
    gdf.index.name = None  # the column keeps the name; a named index would make it ambiguous
    if gdf.crs is None or not CRS.from_user_input(gdf.crs).equals(WGS84):
        gdf = gdf.set_crs(WGS84, allow_override=True)
    return gdf


def _explode_categories(
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


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain-value records for ``attrs`` (no numpy arrays, so attrs compare safely)."""
    out = []
    for rec in df.astype(object).where(df.notna(), None).to_dict("records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out


# ====================================================================== OpenStreetMap
def _osm_keys(cats: list[Any], names: bool = True) -> list[str] | None:
    """Tag keys an object must carry to match some category, or None if any object might.

    ``names``: also read named objects, which may match by their Chinese name (files only: asking
    Overpass for every named object would fetch every street).
    """
    keys: set[str] = set()
    for c in cats:
        for f in c.osm:
            required = [k for k, v in f.items() if not str(v).startswith("!")]
            if not required:
                return None
            keys.add(required[0])
    if names and any(c.keywords for c in cats):
        keys.add("name")  # named POIs can match by their Chinese name (see _match_tags)
    return sorted(keys)


_POI_KEYS = (
    "amenity",
    "shop",
    "office",
    "healthcare",
    "social_facility",
    "leisure",
    "building",
    "club",
    "craft",
    "tourism",
)


def _match_tags(tags: dict[str, str], cats: list[Any]) -> list[Any]:
    """Categories of an OSM feature: by its tags, with its name as a second opinion.

    * Tags and name agree on some categories → those (the name tells a 社区卫生服务站 from a
      社区卫生服务中心 when both match the tags).
    * Only the tags match, or the name matches nothing → the tag matches.
    * The name matches other categories than the tags, or the tags match none → the name wins:
      Chinese official names state the facility type (``name=五老村幼儿园`` tagged
      ``amenity=school`` is a kindergarten; a ``社区卫生服务中心`` tagged ``amenity=clinic`` is a
      centre), while tags in Chinese OSM are often generic. Only for POI-like features
      (amenity, shop, office, building ...), never roads.
    """
    by_tag = [c for c in cats if c.osm and c.matches_tags(tags)]
    name = _osm_name(tags)
    if not name or "highway" in tags or not (by_tag or any(k in tags for k in _POI_KEYS)):
        return by_tag
    by_name = [c for c in cats if c.keywords and c.matches_name(name)]
    if not by_name:
        return by_tag
    return [c for c in by_tag if c in by_name] or by_name


def _osm_name(tags: dict[str, str]) -> Any:
    for k in ("name", "name:zh", "name:zh-Hans", "official_name", "name:en"):
        if tags.get(k):
            return tags[k]
    return None


def _osm_capacity(tags: dict[str, str]) -> float:
    for k in CAPACITY_TAGS:
        if k in tags:
            v = _parse_number(tags[k])
            if np.isfinite(v):
                return v
    return np.nan


def _in_bounds(lon: float, lat: float, bounds: tuple[float, float, float, float] | None) -> bool:
    if bounds is None:
        return True
    w, s, e, n = bounds
    return w <= lon <= e and s <= lat <= n


def _check_bounds(bounds: Any) -> tuple[float, float, float, float] | None:
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
    cats = _categories(profile)
    bounds = _check_bounds(bounds)
    if isinstance(source, (str, Path)) and Path(source).exists():
        path = Path(source)
        if path.is_dir() or not is_osm_file(path):
            raise InputError(
                f"don't know how to read {path.name} as OpenStreetMap: expected .osm, .osm.gz, "
                ".osm.bz2 or .osm.pbf (for CSV/Excel/GeoPackage tables use load_facilities)"
            )
        gdf = _osm_file(path, cats, bounds)
    elif isinstance(source, (str, Path)) and is_osm_file(Path(source)):
        raise InputError(f"OSM file not found: {source}")
    else:
        gdf = _osm_online(source, cats, bounds)
    _log_counts(gdf, cats, "OpenStreetMap")
    return gdf


def _log_counts(gdf: pd.DataFrame, cats: list[Any], what: str) -> None:
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


def _osm_file(
    path: Path, cats: list[Any], bounds: tuple[float, float, float, float] | None
) -> gpd.GeoDataFrame:
    import osmium

    keys = _osm_keys(cats)
    wkb = osmium.geom.WKBFactory()
    ids: list[str] = []
    matched: list[list[Any]] = []
    cols: dict[str, list[Any]] = {"osm_type": [], "osm_id": [], "tags": [], "xy": []}
    relations: dict[int, dict[str, str]] = {}
    have_area: set[int] = set()
    skipped: list[dict[str, Any]] = []
    outside = 0

    def add(
        kind: str, oid: int, tags: dict[str, str], cs: list[Any], xy: tuple[float, float]
    ) -> None:
        nonlocal outside
        if not _in_bounds(xy[0], xy[1], bounds):
            outside += 1
            return
        ids.append(f"osm:{kind}/{oid}")
        matched.append(cs)
        cols["osm_type"].append(kind)
        cols["osm_id"].append(oid)
        cols["tags"].append(tags)
        cols["xy"].append(xy)

    try:
        fp = osmium.FileProcessor(str(path)).with_areas()
        if keys is not None:
            fp = fp.with_filter(osmium.filter.KeyFilter(*keys))
        else:
            fp = fp.with_filter(osmium.filter.EmptyTagFilter())
        for obj in progress(fp, desc=f"facilities in {path.name}", unit=" objects"):
            if obj.is_area():
                if obj.from_way():
                    continue  # closed ways are handled as ways below
                tags = {t.k: t.v for t in obj.tags}
                cs = _match_tags(tags, cats)
                if not cs:
                    continue
                try:
                    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                except RuntimeError:
                    continue  # reported below as a relation without geometry
                pt = geom.representative_point()
                have_area.add(obj.orig_id())
                add("relation", obj.orig_id(), tags, cs, (pt.x, pt.y))
                continue
            tags = {t.k: t.v for t in obj.tags}
            cs = _match_tags(tags, cats)
            if not cs:
                continue
            if obj.is_node():
                if obj.location.valid():
                    add("node", obj.id, tags, cs, (obj.location.lon, obj.location.lat))
                else:
                    skipped.append({"osm_type": "node", "osm_id": obj.id, "reason": "no location"})
            elif obj.is_way():
                xy = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if not xy:
                    skipped.append(
                        {
                            "osm_type": "way",
                            "osm_id": obj.id,
                            "name": _osm_name(tags),
                            "reason": "its nodes are missing from the extract",
                        }
                    )
                    continue
                add("way", obj.id, tags, cs, _way_point(xy, obj.is_closed()))
            elif obj.is_relation():
                relations[obj.id] = tags
    except RuntimeError as exc:
        raise InputError(f"cannot read OSM file {path}: {exc}") from exc
    # libosmium leaves ``type=multipolygon`` off areas: report the relation's own tags
    for i, (kind, oid) in enumerate(zip(cols["osm_type"], cols["osm_id"], strict=True)):
        if kind == "relation" and oid in relations:
            cols["tags"][i] = relations[oid]
    for rid, tags in relations.items():
        if rid not in have_area:
            skipped.append(
                {
                    "osm_type": "relation",
                    "osm_id": rid,
                    "name": _osm_name(tags),
                    "reason": f"no area geometry (type={tags.get('type', '?')}; not a complete "
                    "multipolygon in this extract)",
                }
            )
    if outside:
        log.info(
            "%d matching OSM features lie outside bounds=%s and were left out", outside, bounds
        )
    gdf = _osm_frame(ids, matched, cols)
    if skipped:
        log.warning(
            "%d OSM features match a category but have no usable geometry and are left out: %s. "
            "See lifecircle.facilities.unmatched(gdf, 'skipped').",
            len(skipped),
            _rows_text([f"{s['osm_type']}/{s['osm_id']}" for s in skipped]),
        )
        gdf.attrs["skipped"] = skipped
    return gdf


def _point_of(geom: Any) -> shapely.Point:
    """One point for a feature: points as they are, lines halfway along, areas inside."""
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type in ("LineString", "LinearRing"):
        return geom.interpolate(0.5, normalized=True)
    return geom.representative_point()


def _way_point(xy: list[tuple[float, float]], closed: bool) -> tuple[float, float]:
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


def _osm_frame(
    ids: list[str], matched: list[list[Any]], cols: dict[str, list[Any]]
) -> gpd.GeoDataFrame:
    if not ids:
        return _finish(_empty_frame(OSM_COLUMNS))
    fids, cats, extra = _explode_categories(ids, matched, cols)
    tags = extra["tags"]
    xy = np.asarray(extra["xy"], dtype="float64")
    gdf = gpd.GeoDataFrame(
        {
            "facility_id": fids,
            "category": [c.id for c in cats],
            "category_zh": [c.name_zh for c in cats],
            "name": [_osm_name(t) for t in tags],
            "source": "osm",
            "capacity": np.array([_osm_capacity(t) for t in tags], dtype="float64"),
            "osm_type": extra["osm_type"],
            "osm_id": np.asarray(extra["osm_id"], dtype="int64"),
            "osm_tags": [json.dumps(t, ensure_ascii=False, sort_keys=True) for t in tags],
        },
        geometry=shapely.points(xy),
        crs=WGS84,
    )
    return _finish(gdf)


def _osm_online(
    source: Any, cats: list[Any], bounds: tuple[float, float, float, float] | None
) -> gpd.GeoDataFrame:
    """Fetch features through OSMnx (Overpass) for a place name, polygon or bbox."""
    import osmnx as ox

    from .. import settings

    keys = _osm_keys(cats, names=False)
    if keys is None:
        raise InputError("the profile's OSM filters need a required key to query Overpass")
    ox.settings.overpass_url = settings.overpass_url
    ox.settings.requests_timeout = settings.requests_timeout_s
    query = {k: True for k in keys}
    try:
        if isinstance(source, str):
            feats = ox.features_from_place(source, query)
        elif isinstance(source, (shapely.Polygon, shapely.MultiPolygon)):
            feats = ox.features_from_polygon(source, query)
        elif isinstance(source, (tuple, list)) and len(source) == 4:
            feats = ox.features_from_bbox(tuple(float(c) for c in source), query)
        else:
            raise InputError(
                f"unsupported OSM source {source!r}: give an .osm/.osm.pbf file, a place name, "
                "a WGS84 polygon or a (west, south, east, north) bbox"
            )
    except InputError:
        raise
    except Exception as exc:
        if type(exc).__name__ == "InsufficientResponseError":  # OSMnx: nothing matched
            log.warning("Overpass returned no features for %r", source)
            return _osm_frame([], [], {"osm_type": [], "osm_id": [], "tags": [], "xy": []})
        raise InputError(
            f"could not download OSM features for {source!r} from Overpass: {exc}. Offline, "
            "pass an .osm/.osm.pbf file (e.g. a Geofabrik extract) instead."
        ) from exc
    feats = feats.to_crs(WGS84)
    ids: list[str] = []
    matched: list[list[Any]] = []
    cols: dict[str, list[Any]] = {"osm_type": [], "osm_id": [], "tags": [], "xy": []}
    records = feats.drop(columns=feats.geometry.name).to_dict("records")
    for (kind, oid), geom, values in zip(feats.index, feats.geometry.values, records, strict=True):
        # OSMnx adds member lists ("nodes", "ways"); everything else is an OSM tag
        tags = {
            str(k): str(v)
            for k, v in values.items()
            if k not in ("nodes", "ways") and not _is_missing(v)
        }
        cs = _match_tags(tags, cats)
        if not cs or geom is None or geom.is_empty:
            continue
        pt = _point_of(geom)
        if not _in_bounds(pt.x, pt.y, bounds):
            continue
        ids.append(f"osm:{kind}/{int(oid)}")
        matched.append(cs)
        cols["osm_type"].append(kind)
        cols["osm_id"].append(int(oid))
        cols["tags"].append(tags)
        cols["xy"].append((pt.x, pt.y))
    return _osm_frame(ids, matched, cols)


# ====================================================================== tables
# Column names recognised when not given, in priority order (compared after _norm_col).
_LON_NAMES = ("lon", "lng", "longitude", "long", "x", "经度", "东经", "经度坐标", "x坐标")
_LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "纬度坐标", "y坐标")
_NAME_NAMES = (
    "name",
    "名称",
    "名字",
    "设施名称",
    "机构名称",
    "单位名称",
    "园所名称",
    "学校名称",
    "poi名称",
    "poiname",
    "title",
    "标题",
)
_CAT_NAMES = (
    "category",
    "类别",
    "类型",
    "分类",
    "设施类别",
    "设施类型",
    "设施分类",
    "服务类型",
    "机构类型",
    "type",
    "kind",
    "class",
    "大类",
    "tag",
    "标签",
)
_AMAP_NAMES = (
    "typecode",
    "高德类型",
    "高德类型编码",
    "高德编码",
    "类型编码",
    "分类编码",
    "poi类型编码",
    "amaptype",
    "amaptypecode",
    "typecodes",
)
_CAP_NAMES = (
    "capacity",
    "容量",
    "床位",
    "床位数",
    "核定床位",
    "托位",
    "托位数",
    "核定托位",
    "学位",
    "学位数",
    "beds",
    "places",
    "规模",
)
_ID_NAMES = ("facilityid", "id", "uid", "poiid", "编号", "设施编号", "机构编号", "代码", "序号")
# substrings that identify a column when no exact name is found
_LON_PARTS = ("经度",)
_LAT_PARTS = ("纬度",)
_NAME_PARTS = ("名称",)
_CAP_PARTS = ("床位", "托位", "学位", "容量")
_LON_TOKEN = re.compile(r"(^|[^a-z])(lng|lon|longitude)([^a-z]|$)")
_LAT_TOKEN = re.compile(r"(^|[^a-z])(lat|latitude)([^a-z]|$)")

_LOC_NAMES = ("location", "经纬度", "坐标", "lnglat", "lonlat", "lng,lat", "经度,纬度")
_CODES = re.compile(r"^\d{4,6}(\|\d{4,6})*$")
_TABLE_SUFFIXES = (
    ".csv",
    ".txt",
    ".tsv",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".gpkg",
    ".geojson",
    ".json",
    ".shp",
    ".parquet",
)


def _norm_col(name: Any) -> str:
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[\s_\-]+", "", s)


def _find_column(
    columns: Sequence[Any],
    given: Any,
    names: Sequence[str],
    what: str,
    parts: Sequence[str] = (),
    token: re.Pattern[str] | None = None,
    taken: Iterable[Any] = (),
) -> Any:
    """The column for ``what``: the one given, else the first recognised name, else None."""
    if given is not None:
        if given in columns:
            return given
        raise InputError(
            f"column {given!r} ({what}) not found; the table has columns "
            f"{', '.join(map(str, columns))}"
        )
    taken = set(taken)
    free = [c for c in columns if c not in taken]
    norm = {c: _norm_col(c) for c in free}
    for n in names:
        hits = [c for c in free if norm[c] == n]
        if hits:
            return hits[0]
    hits = [c for c in free if any(p in norm[c] for p in parts)]
    if token is not None:
        low = {c: unicodedata.normalize("NFKC", str(c)).strip().lower() for c in free}
        hits += [c for c in free if token.search(low[c]) and c not in hits]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise InputError(
            f"several columns could hold the {what}: {', '.join(map(str, hits))}; "
            f"say which one, e.g. {what.split()[0]}={hits[0]!r}"
        )
    return None


def _split_location(df: pd.DataFrame, col: Any) -> tuple[str, str]:
    """Split a ``"120.75,30.74"`` column (Amap's ``location``) into two new columns, in place."""
    parts = df[col].astype("string").str.replace("，", ",", regex=False).str.split(",", n=1)
    lon_col, lat_col = f"{col}:经度", f"{col}:纬度"
    df[lon_col] = parts.str[0].str.strip()
    df[lat_col] = parts.str[1].str.strip()
    log.info("reading longitude, latitude from the %r column ('lng,lat' text)", col)
    return lon_col, lat_col


def _crs_hint(*cols: Any) -> str | None:
    text = " ".join(_norm_col(c) for c in cols if c is not None)
    if "bd09" in text or "baidu" in text or "百度" in text:
        return "bd09"
    if "gcj" in text or "高德" in text or "gaode" in text or "amap" in text:
        return "gcj02"
    if "wgs" in text or "gps" in text:
        return "wgs84"
    return None


def _sniff_sep(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if encoding is None:
        if raw.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        else:
            try:
                raw.decode("utf-8")
                encoding = "utf-8"
            except UnicodeDecodeError:
                try:
                    raw.decode("gb18030")
                    encoding = "gb18030"
                except UnicodeDecodeError:
                    raise InputError(
                        f"{path.name}: cannot tell the text encoding (not UTF-8, not GBK/GB18030);"
                        " pass encoding=..., or re-save the file as 'CSV UTF-8' in Excel"
                    ) from None
        log.info("%s: read as %s", path.name, encoding)
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"{path.name}: cannot decode as {encoding!r}: {exc}") from None
    text = text.lstrip("\ufeff")
    from io import StringIO

    sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_sep(text)
    return pd.read_csv(
        StringIO(text),
        sep=sep,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
    )


def _read_table(obj: Any, encoding: str | None, sheet: Any) -> tuple[pd.DataFrame, str, bool]:
    """Returns (frame, source name, rows-are-spreadsheet-rows)."""
    if isinstance(obj, pd.DataFrame):
        if len(obj) == 0:
            raise InputError("the table is empty")
        return obj.copy(), "table", False
    if not isinstance(obj, (str, Path)):
        raise InputError(
            f"expected a file path or a (Geo)DataFrame, got {type(obj).__name__}; for OSM use "
            "facilities_from_osm"
        )
    path = Path(obj)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if is_osm_file(path) and suffix not in (".json",):
        raise InputError(f"{path.name} is an OSM file: use lifecircle.facilities_from_osm")
    if suffix in (".csv", ".txt", ".tsv"):
        df, sheet_rows = _read_csv(path, encoding), True
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str)
        except ValueError as exc:
            raise InputError(f"{path.name}: {exc}") from None
        except ImportError as exc:  # .xls needs xlrd
            raise InputError(
                f"{path.name}: cannot read this Excel format ({exc}); save it as .xlsx"
            ) from None
        sheet_rows = True
    elif suffix == ".parquet":
        try:
            df = gpd.read_parquet(path)
        except (ValueError, KeyError):
            df = pd.read_parquet(path)
        sheet_rows = False
    elif suffix in (".gpkg", ".geojson", ".json", ".shp", ".fgb"):
        df = gpd.read_file(path, layer=sheet) if sheet is not None else gpd.read_file(path)
        sheet_rows = False
    else:
        raise InputError(
            f"don't know how to read {path.name}: expected .csv, .xlsx, .gpkg, .geojson, "
            ".shp or .parquet"
        )
    if len(df) == 0:
        raise InputError(f"{path.name}: the table has no rows")
    return df, path.stem, sheet_rows


def _coerce_coords(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from a column; returns (values, non-numeric mask) — blanks are NaN, not bad."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(values), bool)
    text = values.astype("string").str.strip().str.replace("°", "", regex=False)
    text = text.map(lambda s: unicodedata.normalize("NFKC", s) if isinstance(s, str) else s)
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    blank = text.isna().to_numpy() | (text == "").fillna(True).to_numpy()
    bad = np.isnan(num) & ~blank
    return num, bad


def load_facilities(
    table_or_path: Any,
    profile: Any,
    crs: Any = None,
    lon: str | None = None,
    lat: str | None = None,
    category: str | None = None,
    name: str | None = None,
    capacity: str | None = None,
    amap_type: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    *,
    id: str | None = None,  # noqa: A002 - a column name, like the others
    source: str | None = None,
    network: Any = None,
    bounds: tuple[float, float, float, float] | None = None,
    errors: Literal["warn", "raise"] = "warn",
    bad_coords: Literal["raise", "report"] = "raise",
) -> gpd.GeoDataFrame:
    """Load a facility list (bureau table, Amap/Baidu export, GIS layer) as WGS84 points.

    Parameters
    ----------
    table_or_path :
        A CSV (UTF-8, UTF-8 with BOM or GBK/GB18030, detected), Excel, GeoPackage, GeoJSON,
        Shapefile or GeoParquet file, or a DataFrame / GeoDataFrame.
    profile :
        A standard profile (:func:`lifecircle.load_profile`) whose categories are assigned.
    crs :
        The coordinate system of the coordinates: ``"gcj02"`` (Amap/高德, Tencent), ``"bd09"``
        (Baidu/百度), ``"wgs84"`` (GPS, OSM; also ``"cgcs2000"``) or an EPSG code for projected
        x/y. **Required for lon/lat columns** (no guessing: a wrong guess moves every point by
        0.5-1.1 km). For a layer with geometry it defaults to the layer's CRS; give
        ``"gcj02"``/``"bd09"`` when the layer says WGS84 but holds Amap/Baidu coordinates.
    lon, lat, name, capacity, amap_type, id :
        Column names; found automatically when not given (经度/lng/lon/longitude/x,
        纬度/lat/latitude/y, 名称/name, 容量/床位/托位/capacity, 高德类型/typecode, 编号/id ...;
        a single ``location``/``经纬度`` column of ``"lng,lat"`` text, as in Amap API dumps, is
        split). The columns used are logged at INFO level.
    category :
        A column holding the category (a profile category id, Chinese or English name, or a
        text such as an Amap type string ``科教文化服务;学校;幼儿园``), found automatically
        (类别/类型/category/type). If it is not a column but a category id or name, every row
        gets that category (e.g. ``category="kindergarten"`` for a list of kindergartens).
    encoding, sheet :
        CSV text encoding (default: detected); Excel sheet or GeoPackage layer.
    source :
        Label stored in the ``source`` column and used in ids (default: the file name without
        suffix, ``"table"`` for frames).
    network, bounds :
        A :class:`~lifecircle.WalkNetwork` or ``(west, south, east, north)`` WGS84 bbox. Points
        outside it are flagged in a boolean column ``outside_network`` and logged. With a network,
        data given as WGS84 are also checked for an unconverted GCJ-02/BD-09 shift.
    errors :
        Rows that match no category: ``"warn"`` logs them (count and examples) and keeps them in
        ``unmatched(gdf)``; ``"raise"`` raises :class:`~lifecircle.InputError`.
    bad_coords :
        Rows with missing, non-numeric, out-of-range or swapped coordinates: ``"raise"`` (default)
        raises :class:`~lifecircle.InputError` naming the rows; ``"report"`` leaves them out with
        a warning and keeps them in ``unmatched(gdf, "bad_coords")``.

    Returns
    -------
    GeoDataFrame (EPSG:4326, points)
        Indexed by ``facility_id`` (``<source>:<id>`` with an id column, else
        ``<source>:<row>``; ``#<category>`` appended when one row matches several categories,
        which then gives one row per category). Columns ``facility_id``, ``category``,
        ``category_zh``, ``name``, ``source``, ``capacity``, ``category_source`` (``column``,
        ``amap_type``, ``keyword`` or ``given``), ``row`` (the row as the user sees it: spreadsheet
        row number for CSV/Excel — the header is row 1 — else the index label), the table's
        other columns (a name clash gets a ``_raw`` suffix) and ``geometry``.
    """
    cats = _categories(profile)
    if errors not in ("warn", "raise"):
        raise InputError(f"errors must be 'warn' or 'raise', got {errors!r}")
    if bad_coords not in ("raise", "report"):
        raise InputError(f"bad_coords must be 'raise' or 'report', got {bad_coords!r}")
    bounds = _check_bounds(bounds)
    df, stem, sheet_rows = _read_table(table_or_path, encoding, sheet)
    src_name = source or stem
    where = Path(table_or_path).name if isinstance(table_or_path, (str, Path)) else src_name
    if sheet_rows:
        row_labels = np.arange(len(df)) + 2
        row_note = "spreadsheet row numbers; the header is row 1"
    else:
        row_labels = np.asarray(df.index, dtype=object)
        row_note = (
            "index labels"
            if not isinstance(table_or_path, (str, Path))
            else "feature numbers from 0"
        )

    def rows_of(mask: np.ndarray) -> str:
        return f"rows {_rows_text(list(row_labels[mask]))} ({row_note})"

    geom_name = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    # blank rows of a spreadsheet are not data
    data_cols = [c for c in df.columns if c != geom_name]
    blank = df[data_cols].isna().all(axis=1).to_numpy()
    if geom_name is not None:
        blank = blank & df.geometry.isna().to_numpy()
    if blank.any():
        df = df.loc[~blank]
        row_labels = row_labels[~blank]
    columns = list(df.columns)
    cols = [c for c in columns if c != geom_name]

    # -------------------------------------------------------------- columns
    use_geometry = geom_name is not None and lon is None and lat is None
    synthetic: list[str] = []  # lon/lat columns split out of a "lng,lat" column, not output
    if use_geometry:
        lon_col = lat_col = None
    else:
        lon_col = _find_column(
            cols, lon, _LON_NAMES, "lon column (longitude, 经度)", _LON_PARTS, _LON_TOKEN
        )
        lat_col = _find_column(
            cols, lat, _LAT_NAMES, "lat column (latitude, 纬度)", _LAT_PARTS, _LAT_TOKEN, [lon_col]
        )
        if lon is None and lat is None and lon_col is None and lat_col is None:
            loc_col = _find_column(cols, None, _LOC_NAMES, "location column (经纬度)")
            if loc_col is not None:
                lon_col, lat_col = _split_location(df, loc_col)
                synthetic = [lon_col, lat_col]
        if lon_col is None or lat_col is None:
            raise InputError(
                f"{where}: cannot find the "
                + " and ".join(
                    w for w, c in (("longitude", lon_col), ("latitude", lat_col)) if c is None
                )
                + f" column; the table has columns {', '.join(map(str, cols))}. "
                "Name them 经度/纬度 "
                "(or lng/lat), or pass lon='...' and lat='...'"
            )
    taken = [lon_col, lat_col]
    name_col = _find_column(cols, name, _NAME_NAMES, "name column (名称)", _NAME_PARTS, taken=taken)
    taken.append(name_col)
    amap_col = _find_column(
        cols, amap_type, _AMAP_NAMES, "amap_type column (高德类型编码)", taken=taken
    )
    taken.append(amap_col)
    given_cat = None
    if category is not None and category not in cols:
        given_cat = _category_by_label(str(category), cats)
        if given_cat is None:
            raise InputError(
                f"category={category!r} is neither a column of the table "
                f"({', '.join(map(str, cols))}) "
                f"nor a category of the profile ({', '.join(c.id for c in cats)})"
            )
        cat_col = None
    else:
        cat_col = _find_column(cols, category, _CAT_NAMES, "category column (类别)", taken=taken)
    taken.append(cat_col)
    if (
        cat_col is not None
        and amap_col is None
        and category is None
        and _looks_like_codes(df[cat_col])
    ):
        amap_col, cat_col = cat_col, None  # a "type" column holding Amap type codes
    cap_col = _find_column(
        cols, capacity, _CAP_NAMES, "capacity column (容量/床位/托位)", _CAP_PARTS, taken=taken
    )
    taken.append(cap_col)
    id_col = _find_column(cols, id, _ID_NAMES, "id column (编号)", taken=taken)
    used = {
        "lon": lon_col,
        "lat": lat_col,
        "name": name_col,
        "category": cat_col,
        "amap_type": amap_col,
        "capacity": cap_col,
        "id": id_col,
    }
    log.info(
        "%s: using columns %s",
        where,
        ", ".join(f"{k}={v!r}" for k, v in used.items() if v is not None) or "(geometry only)",
    )

    # -------------------------------------------------------------- coordinates
    system = _table_crs(crs, df, use_geometry, lon_col, lat_col, where)
    if use_geometry:
        x, y, bad_masks = _geometry_xy(df)
    else:
        x, bad_x = _coerce_coords(df[lon_col])
        y, bad_y = _coerce_coords(df[lat_col])
        bad_masks = {"not a number": bad_x | bad_y}
    problems = _coord_problems(x, y, system, bad_masks, lon_col, lat_col)
    bad_any = np.zeros(len(df), dtype=bool)
    for mask in problems.values():
        bad_any |= mask
    bad_report: list[dict[str, Any]] = []
    if bad_any.any():

        def shown(what: str, mask: np.ndarray) -> str:
            if what == "not a number" and lon_col is not None:
                vals = [
                    f"{row_labels[i]} ({df[lon_col].iloc[i]!s}, {df[lat_col].iloc[i]!s})"
                    for i in np.flatnonzero(mask)
                ]
                return _rows_text(vals)
            return _rows_text(list(row_labels[mask]))

        lines = [f"  {what}: {shown(what, mask)}" for what, mask in problems.items() if mask.any()]
        fix = (
            "Fix or delete those rows"
            + (" (or pass lon=/lat= if the wrong columns were picked)" if not use_geometry else "")
            + ", or pass bad_coords='report' to leave them out with a warning."
        )
        text = (
            f"{where}: {int(bad_any.sum())} rows have unusable coordinates ({row_note}):\n"
            + "\n".join(lines)
            + "\n"
            + fix
        )
        if bad_coords == "raise":
            raise InputError(text)
        log.warning(
            text.replace(", or pass bad_coords='report' to leave them out with a warning", "")
            + " They are left out and kept in lifecircle.facilities.unmatched(gdf, 'bad_coords')."
        )
        rep = df.loc[bad_any].drop(columns=[geom_name] if geom_name else []).copy()
        rep.insert(0, "row", row_labels[bad_any])
        rep.insert(
            1,
            "problem",
            ["; ".join(w for w, m in problems.items() if m[i]) for i in np.flatnonzero(bad_any)],
        )
        bad_report = _records(rep)
        keep = ~bad_any
        df, x, y, row_labels = df.loc[keep], x[keep], y[keep], row_labels[keep]
        if len(df) == 0:
            raise InputError(f"{where}: no row has usable coordinates")
    wlon, wlat = to_wgs84(x, y, system)
    if system in ("gcj02", "bd09"):
        outside = ~in_gcj_box(x, y)
        if outside.any():
            log.warning(
                "%s: %d points lie outside China, where %s coordinates are not shifted; they were "
                "kept as they are: %s",
                where,
                int(outside.sum()),
                system,
                rows_of(outside),
            )
    if not (np.isfinite(wlon) & np.isfinite(wlat)).all():
        bad = ~(np.isfinite(wlon) & np.isfinite(wlat))
        raise CRSError(
            f"{where}: {rows_of(bad)} cannot be converted from {crs!r} to WGS84; check the crs"
        )

    # -------------------------------------------------------------- categories
    names = _clean_text(df[name_col]) if name_col is not None else [None] * len(df)
    cat_text = _clean_text(df[cat_col]) if cat_col is not None else [None] * len(df)
    amap_text = _amap_codes(df[amap_col]) if amap_col is not None else [None] * len(df)
    matched: list[list[Any]] = []
    how: list[str] = []
    for i in range(len(df)):
        cs, h = _categorise_row(names[i], cat_text[i], amap_text[i], cats, given_cat)
        matched.append(cs)
        how.append(h)
    no_match = np.array([not cs for cs in matched], dtype=bool)
    several = np.array([len(cs) > 1 for cs in matched], dtype=bool)
    if several.any():
        log.warning(
            "%s: %s fit several categories (%s) and are counted in each; levels are not nested, "
            "so give a category column where the name does not tell (e.g. 社区卫生服务中心 vs 站)",
            where,
            rows_of(several),
            "; ".join(sorted({"/".join(c.id for c in cs) for cs in matched if len(cs) > 1})),
        )

    capacity_v = (
        np.array([_parse_number(v) for v in df[cap_col]], dtype="float64")
        if cap_col is not None
        else np.full(len(df), np.nan)
    )
    if cap_col is not None:
        unread = np.isnan(capacity_v) & df[cap_col].notna().to_numpy()
        if unread.any():
            log.warning(
                "%s: capacity %r is not a number in %s; left empty (NaN)",
                where,
                cap_col,
                rows_of(unread),
            )

    # -------------------------------------------------------------- ids
    ids = [f"{src_name}:{r}" for r in row_labels]
    if id_col is not None:
        raw_ids = df[id_col]
        if _norm_col(id_col) == "facilityid":  # a frame written by lifecircle: keep its ids
            cand = [_id_text(v) for v in raw_ids]
        else:
            cand = [f"{src_name}:{_id_text(v)}" for v in raw_ids]
        missing_id = raw_ids.isna().to_numpy()
        dup = pd.Series(cand).duplicated(keep=False).to_numpy() & ~missing_id
        problem = ""
        if missing_id.any():
            problem = f"is empty in {rows_of(missing_id)}"
        elif dup.any():
            problem = f"has repeated values in {rows_of(dup)}"
        if problem and id is not None:
            raise InputError(
                f"{where}: id column {id_col!r} {problem}; make the ids unique and complete"
            )
        if problem:
            log.warning(
                "%s: id column %r %s, so row numbers are used as facility ids instead (rows with "
                "the same id may be the same facility listed twice: see merge_duplicates)",
                where,
                id_col,
                problem,
            )
        else:
            ids = cand

    # -------------------------------------------------------------- unmatched
    unmatched_rep: list[dict[str, Any]] = []
    if no_match.any():
        ex = [
            f"{row_labels[i]} {names[i] or ''}".strip()
            + (f" [{cat_text[i]}]" if cat_text[i] else "")
            for i in np.flatnonzero(no_match)
        ]
        values = sorted({cat_text[i] for i in np.flatnonzero(no_match) if cat_text[i]})
        msg = (
            f"{where}: {int(no_match.sum())} of {len(df)} rows match no category of the "
            f"profile ({row_note}): {_rows_text(ex, 5)}."
            + (f" Unknown category values: {_rows_text(values, 10)}." if values else "")
            + " Known categories: "
            + ", ".join(f"{c.id} ({c.name_zh})" for c in cats)
            + ". Rename the values, give category=..., or extend the profile's keywords."
        )
        if errors == "raise":
            raise InputError(msg)
        log.warning(msg + " They are kept in lifecircle.facilities.unmatched(gdf).")
        rep = df.loc[no_match].drop(columns=[geom_name] if geom_name else []).copy()
        rep.insert(0, "row", row_labels[no_match])
        rep["lon_wgs84"] = wlon[no_match]
        rep["lat_wgs84"] = wlat[no_match]
        unmatched_rep = _records(rep)

    # -------------------------------------------------------------- frame
    keep = ~no_match
    idx = np.flatnonzero(keep)
    fids, mcats, extra = _explode_categories(
        [ids[i] for i in idx], [matched[i] for i in idx], {"pos": list(idx)}
    )
    pos = np.asarray(extra["pos"], dtype=np.int64)
    out = pd.DataFrame(
        {
            "facility_id": fids,
            "category": [c.id for c in mcats],
            "category_zh": [c.name_zh for c in mcats],
            "name": [names[i] for i in pos],
            "source": src_name,
            "capacity": capacity_v[pos] if len(pos) else np.array([], dtype="float64"),
            "category_source": [how[i] for i in pos],
            "row": [row_labels[i] for i in pos],
        }
    )
    rest = df.drop(columns=([geom_name] if geom_name else []) + synthetic)
    rest = rest.iloc[pos].reset_index(drop=True)
    rename = {}
    for c in rest.columns:
        if c in out.columns or c == "outside_network":
            if c == "name" and name_col == "name":
                rest = rest.drop(columns=[c])
                continue
            rename[c] = f"{c}_raw"
    rest = rest.rename(columns=rename)
    out = pd.concat([out, rest], axis=1)
    gdf = gpd.GeoDataFrame(out, geometry=shapely.points(wlon[pos], wlat[pos]), crs=WGS84)
    gdf = _finish(gdf)
    if network is not None or bounds is not None:
        _flag_outside(gdf, network, bounds, where, system)
    if unmatched_rep:
        gdf.attrs["unmatched"] = unmatched_rep
    if bad_report:
        gdf.attrs["bad_coords"] = bad_report
    _log_counts(gdf, cats, where)
    return gdf


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    return s[:-2] if re.fullmatch(r"\d+\.0", s) else s


def _clean_text(values: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append(None)
            continue
        s = unicodedata.normalize("NFKC", str(v)).strip()
        out.append(s or None)
    return out


def _amap_codes(values: pd.Series) -> list[str | None]:
    """Amap type codes as text, restoring leading zeros lost by Excel (90102 → 090102)."""
    out: list[str | None] = []
    for s in _clean_text(values):
        if s is None:
            out.append(None)
            continue
        parts = []
        for p in re.split(r"[|;,，；]", s):
            p = p.strip()
            if re.fullmatch(r"\d+(\.0)?", p):
                p = p.split(".")[0].zfill(6)
            if p:
                parts.append(p)
        out.append("|".join(parts) or None)
    return out


def _looks_like_codes(values: pd.Series) -> bool:
    vals = [v for v in _clean_text(values) if v]
    if not vals:
        return False
    hits = sum(bool(_CODES.match(re.sub(r"\.0$", "", v))) for v in vals)
    return hits >= 0.8 * len(vals)


def _category_by_label(label: str, cats: list[Any]) -> Any:
    key = _norm_col(label)
    for c in cats:
        if key in (_norm_col(c.id), _norm_col(c.name_zh), _norm_col(c.name_en)):
            return c
    return None


def _categorise_row(
    name: str | None, cat_text: str | None, amap: str | None, cats: list[Any], given: Any
) -> tuple[list[Any], str]:
    """Categories of one table row and how they were found.

    Order: a category given for the whole table; the category column read as a category id or
    name; the Amap type code; keywords in the category text (e.g. an Amap type string); keywords
    in the name. The first step that finds something decides. When an Amap code fits several
    categories (090102 is used for both 社区卫生服务中心 and 服务站), the name picks among them.
    """
    if given is not None:
        return [given], "given"
    if cat_text:
        c = _category_by_label(cat_text, cats)
        if c is not None:
            return [c], "column"
    if amap:
        cs = [c for c in cats if c.amap_types and c.matches_amap(amap)]
        if len(cs) > 1 and name:
            cs = [c for c in cs if c.matches_name(name)] or cs
        if cs:
            return cs, "amap_type"
    if cat_text:
        cs = [c for c in cats if c.matches_name(cat_text)]
        if cs:
            return cs, "keyword"
    if name:
        cs = [c for c in cats if c.matches_name(name)]
        if cs:
            return cs, "keyword"
    return [], ""


def _table_crs(
    crs: Any, df: pd.DataFrame, use_geometry: bool, lon_col: Any, lat_col: Any, where: str
) -> Any:
    if use_geometry:
        if crs is not None:
            system = parse_coord_system(crs)
            layer = df.crs
            if layer is not None and system in ("gcj02", "bd09"):
                if parse_coord_system(layer) != "wgs84":
                    raise CRSError(
                        f"{where}: crs={crs!r} says the geometry holds {system} lon/lat, but the "
                        f"layer's CRS is {CRS.from_user_input(layer).to_string()} (not lon/lat)"
                    )
            return system
        if df.crs is None:
            raise CRSError(
                f"{where}: the layer has no CRS. Pass crs=..., e.g. crs='gcj02' for Amap data. "
                "(gcj02 = Amap/高德 and Tencent, bd09 = Baidu/百度, "
                "wgs84 = GPS/OSM/CGCS2000 lon/lat)"
            )
        return parse_coord_system(df.crs)
    if crs is None:
        hint = _crs_hint(lon_col, lat_col)
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
    hint = _crs_hint(lon_col, lat_col)
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


def _geometry_xy(df: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
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


def _coord_problems(
    x: np.ndarray,
    y: np.ndarray,
    system: Any,
    masks: dict[str, np.ndarray],
    lon_col: Any,
    lat_col: Any,
) -> dict[str, np.ndarray]:
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
        # a latitude where the longitude should be: |lat| > 90, or China's lat/lon ranges
        swapped = ok & (
            ((np.abs(y) > 90) & (np.abs(x) <= 90))
            | ((x >= 0.8) & (x <= 56) & (y >= 72) & (y <= 138))
        )
        problems[f"longitude and latitude swapped ({lx} holds the latitude)"] = swapped
        ok &= ~swapped
        out = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
        problems["outside -180..180 / -90..90 (projected metres? then give crs= the EPSG code)"] = (
            out
        )
    return {k: v for k, v in problems.items() if v.any()}


def _flag_outside(
    gdf: gpd.GeoDataFrame,
    network: Any,
    bounds: tuple[float, float, float, float] | None,
    where: str,
    system: Any,
) -> None:
    from .. import settings

    lon = shapely.get_x(gdf.geometry.values)
    lat = shapely.get_y(gdf.geometry.values)
    outside = np.zeros(len(gdf), dtype=bool)
    if bounds is not None:
        w, s, e, n = bounds
        outside |= ~((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n))
    if network is not None:
        from ..network import WalkNetwork

        if not isinstance(network, WalkNetwork):
            raise InputError("network= must be a WalkNetwork from lifecircle.load_network")
        tr = Transformer.from_crs(WGS84, network.crs, always_xy=True)
        mx, my = tr.transform(lon, lat)
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
            _rows_text(list(gdf.index[outside])),
        )


# ====================================================================== duplicates
def _is_missing(v: Any) -> bool:
    return v is None or (not isinstance(v, (list, dict, tuple)) and bool(pd.isna(v)))


def merge_duplicates(
    *frames: gpd.GeoDataFrame,
    max_distance_m: float = 50.0,
    name_similarity: float = 0.6,
    unnamed_distance_m: float = 10.0,
    within_source: bool = False,
) -> gpd.GeoDataFrame:
    """Merge the same facility listed in several sources (e.g. OSM and a bureau list).

    Two records are the same facility when they have the same ``category``, come from different
    ``source`` values (unless ``within_source``), lie within ``max_distance_m`` metres and have
    similar names (:func:`name_score` ≥ ``name_similarity``); records where either name is
    empty merge only within ``unnamed_distance_m``. Pairs are merged closest first, and a merged
    group holds at most one record per source, so the result is deterministic.

    The kept record is the richest (most non-empty fields; ties: non-OSM source, then first
    given); its empty fields are filled from the others, its ``capacity`` comes from a non-OSM
    (bureau) record when one has it, and ``merged_from`` lists the ids of the records merged into
    it (``None`` when nothing was merged).

    Parameters
    ----------
    *frames : facility GeoDataFrames (any CRS; output in EPSG:4326).
    max_distance_m, unnamed_distance_m : float, metres.
    name_similarity : float in [0, 1].
    within_source : also merge records of the same source.

    Returns
    -------
    GeoDataFrame indexed by ``facility_id``, in the order of the input rows.
    """
    if not frames:
        raise InputError("merge_duplicates needs at least one facility frame")
    parts = []
    for k, f in enumerate(frames):
        if not isinstance(f, gpd.GeoDataFrame) or f.crs is None:
            raise InputError(f"frame {k + 1} is not a GeoDataFrame with a CRS")
        missing = [c for c in ("facility_id", "category", "name", "source") if c not in f.columns]
        if missing:
            raise InputError(
                f"frame {k + 1} lacks columns {', '.join(missing)}; load it with "
                "load_facilities or facilities_from_osm"
            )
        g = f.to_crs(WGS84).copy()
        g.attrs = {}
        parts.append(g.reset_index(drop=True))
    allf = pd.concat(parts, ignore_index=True)
    allf = gpd.GeoDataFrame(allf, geometry=allf.geometry.name, crs=WGS84)
    dup = allf["facility_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(
            "the same facility_id appears in more than one frame: "
            + _rows_text(sorted(set(allf.loc[dup, "facility_id"].astype(str))))
            + "; give the tables different source= names"
        )
    n = len(allf)
    if "capacity" not in allf.columns:
        allf["capacity"] = np.nan
    lon = shapely.get_x(allf.geometry.values)
    lat = shapely.get_y(allf.geometry.values)
    metric = metric_crs_for(float(np.nanmedian(lon)), float(np.nanmedian(lat)))
    mx, my = Transformer.from_crs(WGS84, metric, always_xy=True).transform(lon, lat)
    pts = shapely.points(mx, my)
    tree = shapely.STRtree(pts)
    qi, qj = tree.query(pts, predicate="dwithin", distance=max_distance_m)
    keep = qi < qj
    qi, qj = qi[keep], qj[keep]
    cat = allf["category"].to_numpy()
    src = allf["source"].astype(str).to_numpy()
    names = allf["name"].to_numpy()
    ids = allf["facility_id"].astype(str).to_numpy()
    same = cat[qi] == cat[qj]
    if not within_source:
        same &= src[qi] != src[qj]
    qi, qj = qi[same], qj[same]
    dist = np.hypot(mx[qi] - mx[qj], my[qi] - my[qj])
    pairs = list(zip(qi, qj, strict=True))
    sims = np.array([name_score(names[a], names[b]) for a, b in pairs], dtype="float64")
    empty = np.array([not norm_name(names[a]) or not norm_name(names[b]) for a, b in pairs], bool)
    ok = np.where(empty, dist <= unnamed_distance_m, sims >= name_similarity)
    qi, qj, dist, sims = qi[ok], qj[ok], dist[ok], sims[ok]
    order = np.lexsort((ids[qj], ids[qi], -sims, np.round(dist, 6)))
    group = np.arange(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for k in order:
        a, b = root(int(qi[k])), root(int(qj[k]))
        if a == b:
            continue
        if not within_source and set(src[members[a]]) & set(src[members[b]]):
            continue
        a, b = min(a, b), max(a, b)
        group[b] = a
        members[a].extend(members.pop(b))
    filled = allf.drop(columns=[allf.geometry.name]).notna().sum(axis=1).to_numpy()
    is_osm = src == "osm"
    out_rows = []
    drop: set[int] = set()
    for mem in members.values():
        if len(mem) == 1:
            continue
        mem = sorted(mem)
        best = sorted(mem, key=lambda i: (-filled[i], is_osm[i], i))[0]
        rec = allf.loc[best].copy()
        for i in mem:
            if i == best:
                continue
            for c in allf.columns:
                v = rec[c]
                if c != allf.geometry.name and _is_missing(v):
                    rec[c] = allf.at[i, c]
        bureau_cap = [
            allf.at[i, "capacity"]
            for i in [best, *mem]
            if not is_osm[i] and pd.notna(allf.at[i, "capacity"])
        ]
        if bureau_cap:
            rec["capacity"] = bureau_cap[0]
        out_rows.append((best, rec, ";".join(ids[i] for i in mem if i != best)))
        drop.update(i for i in mem if i != best)
    result = allf.copy()
    result["merged_from"] = pd.Series([None] * n, dtype="object")
    for best, rec, mf in out_rows:
        for c in allf.columns:
            result.at[best, c] = rec[c]
        result.at[best, "merged_from"] = mf
    result = result.drop(index=sorted(drop)).reset_index(drop=True)
    if drop:
        log.info("merged %d duplicate records into %d facilities", len(drop), len(out_rows))
    return _finish(gpd.GeoDataFrame(result, geometry=allf.geometry.name, crs=WGS84))
