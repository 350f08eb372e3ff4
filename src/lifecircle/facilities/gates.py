"""Entrances listed as POIs (``XX小学-东门``, tag ``出入口;门``): attached to their parent.

Amap and Baidu exports list a facility's gates as POIs of their own. They are not extra
facilities: :func:`lifecircle.load_facilities` leaves them out of the facility rows and keeps them
in ``gdf.attrs["gates"]``, each with the ``facility_id`` of the facility of the same base name
(:func:`attach_gates`). :func:`gates` returns them as points, the access points of their parent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError
from .._text import key, name_score
from ..crs import WGS84, metric_crs_for
from ..sources.osm import ENTRANCE_KEYS, entrance_usable, is_entrance, read_osm
from .poi_types import split_gate

log = logging.getLogger(__name__)

#: A gate farther than this from the facility of its base name is not attached to it.
MAX_GATE_DISTANCE_M = 500.0
#: How far a gate found by location (not by name) may lie from the place it belongs to (m).
GATE_TO_PLACE_M = 100.0
#: An OSM gate belongs to the compound (or facility area) whose boundary it lies on, within
#: this distance (metres): mapped on the ``landuse=residential`` way itself, or on a fence
#: drawn along it.
GATE_ON_RING_M = 2.0
#: Lowest :func:`~lifecircle.name_score` of a gate's base name and its parent's name.
MIN_NAME_SCORE = 0.85


def gate_parts(name: Any) -> tuple[str, str]:
    """``(base name, gate)`` of an entrance POI; ``(name, "")`` when the name has no gate part."""
    split = split_gate(name)
    if split is None:
        return (str(name) if name is not None else "", "")
    return split


def _parent(base: str, xy: np.ndarray, names: list[str], fxy: np.ndarray, ids: list[str]) -> Any:
    """The id of the facility named ``base`` nearest the gate within reach, or None."""
    k = key(base)
    if not k or not ids:
        return None
    d = np.hypot(fxy[:, 0] - xy[0], fxy[:, 1] - xy[1])
    same = np.array([key(n) == k for n in names])
    if not same.any():
        same = np.array([name_score(n, base) >= MIN_NAME_SCORE for n in names])
    ok = same & (d <= MAX_GATE_DISTANCE_M)
    if not ok.any():
        return None
    return ids[int(np.flatnonzero(ok)[np.argmin(d[ok])])]


def attach_gates(
    records: list[dict[str, Any]], facilities: gpd.GeoDataFrame, where: str
) -> list[dict[str, Any]]:
    """Give each gate record (``name``, ``lon_wgs84``, ``lat_wgs84``) its ``base_name``, ``gate``
    and the ``facility_id`` of its parent (same base name, within 500 m), or None."""
    if not records:
        return []
    lon = np.array([r["lon_wgs84"] for r in records], dtype="float64")
    lat = np.array([r["lat_wgs84"] for r in records], dtype="float64")
    crs = metric_crs_for(float(np.nanmean(lon)), float(np.nanmean(lat)))
    gxy = shapely.get_coordinates(gpd.GeoSeries(shapely.points(lon, lat), crs=WGS84).to_crs(crs))
    first = facilities[~facilities.index.duplicated()] if len(facilities) else facilities
    fxy = shapely.get_coordinates(first.geometry.to_crs(crs)) if len(first) else np.empty((0, 2))
    names = [str(n) if n is not None else "" for n in first["name"]] if len(first) else []
    # a facility listed under two categories has rows F#kindergarten, F#nursery: the gate is F's
    ids = [str(i).split("#", 1)[0] for i in first["facility_id"]] if len(first) else []
    out = []
    for rec, xy in zip(records, gxy, strict=True):
        base, gate = gate_parts(rec.get("name"))
        parent = _parent(base, xy, names, fxy, ids)
        out.append({**rec, "base_name": base, "gate": gate, "facility_id": parent})
    n_att = sum(r["facility_id"] is not None for r in out)
    log.info(
        "%s: %d entrances (出入口) are not counted as facilities; %d attached to their facility, "
        "%d to none (see lifecircle.facilities.gates(gdf))",
        where,
        len(out),
        n_att,
        len(out) - n_att,
    )
    return out


def gates(gdf: pd.DataFrame) -> gpd.GeoDataFrame:
    """The entrances a loader found, as WGS84 points with the ``facility_id`` of their parent.

    Columns: ``row``, ``name``, ``base_name`` (the parent's name, ``"XX小学"`` for
    ``"XX小学-东门"``), ``gate`` (``"东门"``), ``facility_id`` (None when no facility of that
    name is within 500 m: e.g. the gate of a 小区, to be matched with the communities) and the
    table's own columns.
    """
    recs = gdf.attrs.get("gates", [])
    df = pd.DataFrame.from_records(recs)
    if df.empty:
        cols = ["row", "name", "base_name", "gate", "facility_id"]
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=[], crs=WGS84)
    ids = df["facility_id"].astype(object)
    df["facility_id"] = ids.where(ids.notna(), None)
    geom = shapely.points(df.pop("lon_wgs84").to_numpy(), df.pop("lat_wgs84").to_numpy())
    return gpd.GeoDataFrame(df, geometry=geom, crs=WGS84)


def gates_of_places(
    gate_points: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    name: str | None = None,
    max_distance_m: float = GATE_TO_PLACE_M,
    owner: str = "place_id",
    on_ring: bool = False,
) -> gpd.GeoDataFrame:
    """Attach entrances to the places (compounds 小区, schools ...) they belong to.

    Parameters
    ----------
    gate_points : entrance points, any CRS: entrance POIs (:func:`gates` of a facility frame,
        with ``base_name``; else the base name is taken from ``name``: ``"江南润园-3号门"`` →
        ``"江南润园"``), or a layer of entrances (OSM ``entrance=*``/``barrier=gate`` nodes, a
        survey) matched by location only.
    places : polygons or points, any CRS.
    name : the column of ``places`` holding their names: a gate then goes to the nearest place
        of its base name. ``None``: to the nearest place, whatever its name.
    max_distance_m : a gate is attached only within this distance of the place (metres; gates
        sit on a compound's boundary, so a small distance).
    on_ring : measure to the places' boundary rings rather than to the places: a gate goes to
        the polygon whose edge it lies on (within ``max_distance_m``), not to one it merely lies
        inside or near (OSM gates on a ``landuse=residential`` way: :data:`GATE_ON_RING_M`).

    Returns
    -------
    The gates (WGS84) with a column ``owner`` holding the index label of their place (None where
    no place is near enough), ready for
    ``WalkNetwork.distance_to_nearest(..., target_gates=..., gate_owner=owner)``.
    """
    if name is not None and name not in places:
        raise InputError(f"places have no column {name!r} (their names, to match gates by)")
    out = gate_points.to_crs(WGS84).copy()
    if len(out) == 0:
        out[owner] = pd.Series([], dtype=object)
        return out
    c = shapely.get_coordinates(shapely.centroid(shapely.union_all(out.geometry.values)))[0]
    crs = metric_crs_for(float(c[0]), float(c[1]))
    gm = out.geometry.to_crs(crs).values
    pm = places.geometry.to_crs(crs).values
    if on_ring:
        pm = shapely.boundary(pm)
    if name is None:
        cands = [np.arange(len(places))] * len(out)
    else:
        names = out["base_name"] if "base_name" in out else out["name"].map(_base)
        by_key: dict[str, list[int]] = {}
        for i, n in enumerate(places[name]):
            by_key.setdefault(key(n), []).append(i)
        cands = [np.asarray(by_key.get(key(b), []), dtype=np.int64) for b in names]
    labels = np.asarray(places.index, dtype=object)
    found: list[Any] = []
    for g, cs in zip(gm, cands, strict=True):
        d = shapely.distance(g, pm[cs]) if len(cs) else np.array([])
        near = d <= max_distance_m
        found.append(labels[cs[near][np.argmin(d[near])]] if near.any() else None)
    out[owner] = pd.Series(found, index=out.index, dtype=object)
    n_att = sum(f is not None for f in found)
    log.info("%d of %d gates attached to a place within %g m", n_att, len(found), max_distance_m)
    return out


def gates_of_facilities(
    entrances: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    areas: gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """Entrances (any CRS, e.g. :func:`gates_from_osm`) given to the facilities they open into.

    A facility drawn as an area (``areas``, indexed by facility id without the category part, as
    :func:`~lifecircle.facilities.facility_areas_from_osm` gives them) gets the entrances on its
    boundary, within :data:`GATE_ON_RING_M`: a school's gates on its grounds' outline, however
    far from the point that stands for the school. Every other facility gets the entrances
    within :data:`GATE_TO_PLACE_M` of its point that no area took. Returns the entrances (WGS84)
    with a column ``facility_id`` (the id without the category part, which names every row of a
    facility listed under several categories; None where no facility took the entrance).
    """
    base = pd.Index([str(i).split("#", 1)[0] for i in facilities["facility_id"]], dtype=object)
    first = facilities.set_axis(base)
    first = first[~first.index.duplicated()]
    drawn = first.index.isin(areas.index) if areas is not None else np.zeros(len(first), bool)
    out = entrances.to_crs(WGS84).copy()
    out["facility_id"] = pd.Series(None, index=out.index, dtype=object)
    if drawn.any():
        shapes = gpd.GeoDataFrame(geometry=areas.loc[first.index[drawn]].values, crs=areas.crs,
                                  index=first.index[drawn])  # fmt: skip
        ring = gates_of_places(out, shapes, max_distance_m=GATE_ON_RING_M, owner="facility_id",
                               on_ring=True)  # fmt: skip
        out["facility_id"] = ring["facility_id"]
    rest = out["facility_id"].isna().to_numpy()
    if rest.any() and (~drawn).any():
        near = gates_of_places(out[rest], first[~drawn], max_distance_m=GATE_TO_PLACE_M,
                               owner="facility_id")  # fmt: skip
        out.loc[rest, "facility_id"] = near["facility_id"]
    return out


#: Columns of :func:`gates_from_osm`, besides ``geometry``.
OSM_GATE_COLUMNS = ("osm_id", "name", "entrance", "barrier", "access", "usable")


def is_osm_gate_layer(frame: pd.DataFrame) -> bool:
    """True if ``frame`` holds OSM entrances as :func:`gates_from_osm` gives them (its columns),
    also after a round trip through a file."""
    return set(OSM_GATE_COLUMNS) <= set(map(str, frame.columns))


def gates_from_osm(path: str | Path) -> gpd.GeoDataFrame:
    """Entrances and gates of an OSM file (``.osm``, ``.osm.pbf`` …) as WGS84 points.

    Reads the nodes tagged ``entrance=*`` (not ``no``) or ``barrier=gate`` (and the other
    passable barriers of :data:`lifecircle.sources.osm.GATE_BARRIERS`: ``lift_gate``,
    ``turnstile`` …). Columns: ``osm_id``, ``name``, ``entrance``, ``barrier``, ``access`` (the
    tag values, None when absent), ``usable`` (False for gates closed to walkers:
    ``access=private``/``no``, ``foot=no``, ``locked=yes``, ``entrance=emergency``; kept in the
    layer, skipped by the distances) and ``geometry``. Indexed ``osm/<node id>``.

    Give it to :func:`lifecircle.analyze` as ``compound_gates`` (each gate goes to the compound
    whose boundary it lies on, within :data:`GATE_ON_RING_M`), or to :func:`gates_of_places` to
    see which compound each gate serves.
    """
    feats = read_osm(path, ENTRANCE_KEYS, ["node"], desc=f"entrances in {Path(path).name}").frame
    tags = list(feats["tags"])
    keep = np.array([is_entrance(t) for t in tags], dtype=bool)
    tags = [t for t, k in zip(tags, keep, strict=True) if k]
    ids = feats["osm_id"].to_numpy()[keep]
    data = {
        "osm_id": ids,
        "name": [t.get("name") for t in tags],
        "entrance": [t.get("entrance") for t in tags],
        "barrier": [t.get("barrier") for t in tags],
        "access": [t.get("access") for t in tags],
        "usable": np.array([entrance_usable(t) for t in tags], dtype=bool),
    }
    index = pd.Index([f"osm/{i}" for i in ids], name="gate_id", dtype=object)
    out = gpd.GeoDataFrame(data, geometry=feats.geometry.values[keep], crs=WGS84, index=index)
    log.info(
        "%s: %d entrances/gates (%d closed to walkers: access=private/no, foot=no, locked)",
        Path(path).name, len(out), int((~out["usable"]).sum()),
    )  # fmt: skip
    return out


def _base(name: Any) -> str:
    return gate_parts(name)[0]
