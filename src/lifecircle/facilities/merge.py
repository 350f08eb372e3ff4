"""The same facility found in several sources, merged into one record (:func:`merge_duplicates`)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError
from .._text import is_missing, name_score, norm_name
from ..crs import WGS84, metric_crs_for, transformer
from ..sources.coords import detect_offset
from ..sources.tables import rows_text
from .frame import finish

log = logging.getLogger(__name__)


def _stack(frames: tuple[gpd.GeoDataFrame, ...]) -> gpd.GeoDataFrame:
    """All frames as one WGS84 frame with a fresh 0..n-1 index, checked."""
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
            + rows_text(sorted(set(allf.loc[dup, "facility_id"].astype(str))))
            + "; give the tables different source= names"
        )
    if "capacity" not in allf.columns:
        allf["capacity"] = np.nan
    return allf


def _candidate_pairs(
    allf: gpd.GeoDataFrame,
    max_distance_m: float,
    name_similarity: float,
    unnamed_distance_m: float,
    within_source: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i < j, that may be the same facility, in the order they are merged."""
    lon = shapely.get_x(allf.geometry.values)
    lat = shapely.get_y(allf.geometry.values)
    metric = metric_crs_for(float(np.nanmedian(lon)), float(np.nanmedian(lat)))
    mx, my = transformer(WGS84, metric).transform(lon, lat)
    pts = shapely.points(mx, my)
    qi, qj = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=max_distance_m)
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
    return qi[order], qj[order]


def _groups(
    n: int, qi: np.ndarray, qj: np.ndarray, src: np.ndarray, within_source: bool
) -> dict[int, list[int]]:
    """Union the pairs closest first; a group holds one record per source (unless within_source)."""
    group = np.arange(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for a0, b0 in zip(qi, qj, strict=True):
        a, b = root(int(a0)), root(int(b0))
        if a == b:
            continue
        if not within_source and set(src[members[a]]) & set(src[members[b]]):
            continue
        a, b = min(a, b), max(a, b)
        group[b] = a
        members[a].extend(members.pop(b))
    return members


def _merged(allf: gpd.GeoDataFrame, members: dict[int, list[int]]) -> gpd.GeoDataFrame:
    """One record per group: the richest, its gaps filled, bureau capacity, ``merged_from``."""
    n = len(allf)
    src = allf["source"].astype(str).to_numpy()
    ids = allf["facility_id"].astype(str).to_numpy()
    geom = allf.geometry.name
    filled = allf.drop(columns=[geom]).notna().sum(axis=1).to_numpy()
    is_osm = src == "osm"
    result = allf.copy()
    result["merged_from"] = pd.Series([None] * n, dtype="object")
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
                if c != geom and is_missing(rec[c]):
                    rec[c] = allf.at[i, c]
        bureau_cap = [
            allf.at[i, "capacity"]
            for i in [best, *mem]
            if not is_osm[i] and pd.notna(allf.at[i, "capacity"])
        ]
        if bureau_cap:
            rec["capacity"] = bureau_cap[0]
        for c in allf.columns:
            result.at[best, c] = rec[c]
        result.at[best, "merged_from"] = ";".join(ids[i] for i in mem if i != best)
        drop.update(i for i in mem if i != best)
    result = result.drop(index=sorted(drop)).reset_index(drop=True)
    if drop:
        groups = sum(1 for mem in members.values() if len(mem) > 1)
        log.info("merged %d duplicate records into %d facilities", len(drop), groups)
    return finish(gpd.GeoDataFrame(result, geometry=geom, crs=WGS84))


def _warn_unconverted(allf: gpd.GeoDataFrame) -> None:
    """Warn when a non-OSM source looks like unconverted GCJ-02 / BD-09 (an Amap or Baidu list
    loaded as WGS84): compared by name with the OSM records (:func:`detect_offset`, at least 3
    names in both within 3 km), it would lie about 500 m / 1 km off, so its facilities would
    not merge with OSM's and every one would be counted twice, at the wrong place."""
    src = allf["source"].astype(str).to_numpy()
    osm = allf[src == "osm"]
    if len(osm) == 0:
        return
    for name in sorted(set(src) - {"osm"}):
        rows = allf[src == name]
        report = detect_offset(rows, osm, warn=False)
        if report.mode == "name" and report.likely != "wgs84":
            log.warning(
                "merge_duplicates: facilities of source %r were given as WGS84 but %s; until "
                "they are converted they will not merge with the OSM facilities (each counted "
                "twice, ≈%.0f m off)",
                name, report.message.removeprefix("the data "), report.shift_m,
            )  # fmt: skip


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
    allf = _stack(frames)
    _warn_unconverted(allf)
    qi, qj = _candidate_pairs(
        allf, max_distance_m, name_similarity, unnamed_distance_m, within_source
    )
    src = allf["source"].astype(str).to_numpy()
    members = _groups(len(allf), qi, qj, src, within_source)
    return _merged(allf, members)
