"""Reading OpenStreetMap files (XML, compressed XML, PBF) with pyosmium.

Two readers, one per purpose:

* :func:`read_walk_ways` — what the walking network needs: ways with a ``highway`` tag that pass
  the pedestrian filter, and the locations of their nodes. Ways that reference nodes missing from
  the file (clipped extracts) are split at the gaps instead of failing.
* :func:`read_osm` — tagged features (facilities, buildings, land use, places): nodes, ways,
  areas assembled from closed ways and multipolygon relations, the file's declared bounds and a
  report of the objects that have no usable geometry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import osmium
import pandas as pd
import shapely

from .._errors import InputError, NetworkError
from .._progress import progress

if TYPE_CHECKING:
    import geopandas as gpd

log = logging.getLogger(__name__)

OSM_SUFFIXES = (
    ".osm",
    ".osm.xml",
    ".xml",
    ".osm.gz",
    ".osm.bz2",
    ".xml.gz",
    ".xml.bz2",
    ".osm.pbf",
    ".pbf",
    ".o5m",
)

# Highway values never walkable (OSMnx's walk filter, plus motorways/expressways).
_EXCLUDED_HIGHWAY = {
    "abandoned",
    "bus_guideway",
    "construction",
    "motorway",
    "motorway_link",
    "no",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "bus_stop",
    "services",
    "rest_area",
    "elevator",
    "busway",
    "emergency_bay",
    "escape",
    "traffic_island",
    "disused",
}
_FOOT_YES = {"yes", "designated", "permissive", "official"}
_NO_ACCESS = {"private", "no", "customers_no", "military", "agricultural", "forestry", "delivery"}
_SIDEWALK_KEYS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")

#: Every tag :func:`is_walkable` reads: a loader of tagged ways must keep all of them.
WALK_FILTER_TAGS = ("highway", "foot", "access", "service", "area", "motorroad", *_SIDEWALK_KEYS)

#: Tags kept on each network edge.
EDGE_TAGS = ("highway", "name", "foot", "access", "service", "bridge", "tunnel", "footway")


def is_walkable(tags: dict) -> bool:
    """Pedestrian semantics for one OSM way's tags (one-way is ignored elsewhere).

    Kept: footways, paths, steps, pedestrian streets, living streets, service and residential
    roads and other roads open to pedestrians. Dropped: motorways and ``motorroad=yes``
    expressways, ``foot=no``, ``access=private``/``no`` (unless ``foot`` allows walking),
    areas, ways under construction, cycleways without ``foot=yes``/``designated``, and roads
    whose sidewalks are mapped as separate ways (those sidewalks carry the pedestrians).
    """
    hw = tags.get("highway")
    if not hw:
        return False
    foot = tags.get("foot", "")
    if foot == "no" or foot == "use_sidepath":
        return False
    if hw in _EXCLUDED_HIGHWAY or hw.startswith("motor"):
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("motorroad") == "yes" and foot not in _FOOT_YES:
        return False
    if hw in ("cycleway", "bridleway") and foot not in _FOOT_YES:
        return False
    if (
        tags.get("access") in _NO_ACCESS or tags.get("service") == "private"
    ) and foot not in _FOOT_YES:
        return False
    if any(tags.get(k) == "separate" for k in _SIDEWALK_KEYS) and foot not in _FOOT_YES:
        return False
    return True


#: ``barrier=*`` values that are passable openings (the gates of a compound's fence or wall).
GATE_BARRIERS = {"gate", "entrance", "lift_gate", "swing_gate", "sliding_gate", "turnstile",
                 "full-height_turnstile", "kissing_gate", "wicket_gate"}  # fmt: skip
#: Tag keys of entrances and gates (read them with ``read_osm(path, ENTRANCE_KEYS, ["node"])``).
ENTRANCE_KEYS = ("entrance", "barrier")


def is_entrance(tags: dict) -> bool:
    """True for an entrance node: ``entrance=*`` (not ``no``) or a gate-like ``barrier=*``."""
    entrance = tags.get("entrance")
    if entrance and entrance != "no":
        return True
    return tags.get("barrier") in GATE_BARRIERS


def entrance_usable(tags: dict) -> bool:
    """Pedestrian semantics of an entrance: False when closed to walkers (``access=private``/
    ``no``, ``foot=no``, ``locked=yes``, ``entrance=emergency``) unless ``foot`` allows
    walking (``yes``/``designated``/``permissive``)."""
    foot = tags.get("foot", "")
    if foot in _FOOT_YES:
        return True
    if foot == "no" or tags.get("locked") == "yes":
        return False
    if tags.get("entrance") == "emergency":
        return False
    return tags.get("access") not in _NO_ACCESS


@dataclass
class WalkWays:
    """Walkable ways read from a file: node coordinates and ways as runs of node positions."""

    node_osmid: np.ndarray  # (n,) int64
    lon: np.ndarray  # (n,) float64
    lat: np.ndarray
    way_ptr: np.ndarray  # (w+1,) offsets into way_nodes
    way_nodes: np.ndarray  # positions into node_osmid
    way_osmid: np.ndarray  # (w,) int64
    way_tags: list[dict] = field(default_factory=list)
    missing_refs: int = 0
    ways_split: int = 0


def is_osm_file(path: Path) -> bool:
    """True if ``path`` has an OSM file suffix we can read."""
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def read_walk_ways(path: str | Path) -> WalkWays:
    """Read the walkable ways of an OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``)."""
    path = Path(path)
    if not path.exists():
        raise NetworkError(f"OSM file not found: {path}")
    ids: dict[int, int] = {}
    lons: list[float] = []
    lats: list[float] = []
    way_ptr = [0]
    way_nodes: list[int] = []
    way_osmid: list[int] = []
    way_tags: list[dict] = []
    missing = 0
    split = 0
    try:
        proc = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        proc = proc.with_filter(osmium.filter.KeyFilter("highway"))
        for way in proc:
            if not way.is_way():
                continue
            tags = {t.k: t.v for t in way.tags}
            if not is_walkable(tags):
                continue
            kept = {k: tags[k] for k in EDGE_TAGS if k in tags}
            runs: list[list[int]] = [[]]
            for nd in way.nodes:
                loc = nd.location
                if not loc.valid():
                    missing += 1
                    runs.append([])
                    continue
                pos = ids.get(nd.ref)
                if pos is None:
                    pos = len(lons)
                    ids[nd.ref] = pos
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                runs[-1].append(pos)
            pieces = [r for r in runs if len(r) >= 2]
            for run in pieces:
                way_nodes.extend(run)
                way_ptr.append(len(way_nodes))
                way_osmid.append(way.id)
                way_tags.append(kept)
            if len(pieces) > 1:
                split += 1
    except RuntimeError as exc:
        raise NetworkError(f"cannot read OSM file {path}: {exc}") from exc
    if missing:
        log.warning(
            "%s is a clipped extract: %d way node references point to nodes missing from the "
            "file; the parts of those ways outside the file were dropped (%d ways cut in pieces)",
            path.name,
            missing,
            split,
        )
    node_osmid = np.fromiter(ids.keys(), dtype="int64", count=len(ids))
    return WalkWays(
        node_osmid=node_osmid,
        lon=np.asarray(lons, dtype="float64"),
        lat=np.asarray(lats, dtype="float64"),
        way_ptr=np.asarray(way_ptr, dtype="int64"),
        way_nodes=np.asarray(way_nodes, dtype="int64"),
        way_osmid=np.asarray(way_osmid, dtype="int64"),
        way_tags=way_tags,
        missing_refs=missing,
        ways_split=split,
    )


def split_ways_at_junctions(ww: WalkWays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut ways into edges between junctions (way ends and nodes shared by ways).

    Returns ``(start, stop, way)``: each edge spans ``way_nodes[start:stop + 1]`` and comes from
    way number ``way``.
    """
    n_ways = len(ww.way_osmid)
    if n_ways == 0:
        return (np.empty(0, "int64"),) * 3
    counts = np.bincount(ww.way_nodes, minlength=len(ww.node_osmid))
    junction = counts[ww.way_nodes] > 1
    junction[ww.way_ptr[:-1]] = True
    junction[ww.way_ptr[1:] - 1] = True
    pos = np.flatnonzero(junction)
    way_of = np.searchsorted(ww.way_ptr, pos, side="right") - 1
    same = way_of[:-1] == way_of[1:]
    return pos[:-1][same], pos[1:][same], way_of[:-1][same]


#: What :func:`read_osm` can return: nodes (points), ways (their node coordinates as a line, or a
#: point for a one-node way), areas assembled from closed ways, areas of multipolygon relations.
OSM_KINDS = ("node", "way", "way_area", "relation_area")


@dataclass
class OsmFeatures:
    """Tagged OSM objects read from a file by :func:`read_osm`.

    Attributes
    ----------
    frame : GeoDataFrame (EPSG:4326), one row per object and kind, in file order
        ``osm_type`` (``node``/``way``/``relation``), ``osm_id``, ``kind`` (one of
        :data:`OSM_KINDS`), ``tags`` (dict; areas of relations carry libosmium's area tags, which
        leave out ``type``), ``closed`` (ways: first node = last node) and ``geometry``.
    skipped : list of dict
        Objects of a requested kind without a usable geometry: ``osm_type``, ``osm_id``,
        ``kind``, ``tags`` and ``reason``, in file order, relations without an area last.
    relation_tags : dict
        The relations' own tags by id (with ``type``), for every relation read.
    bounds : (west, south, east, north) or None
        The bounding box the file declares in its header, if any.
    """

    frame: gpd.GeoDataFrame
    skipped: list[dict[str, Any]]
    relation_tags: dict[int, dict[str, str]]
    bounds: tuple[float, float, float, float] | None


class _Collector:
    """Rows and skipped objects gathered while scanning a file."""

    def __init__(self, kinds: set[str]) -> None:
        self.kinds = kinds
        self.wkb = osmium.geom.WKBFactory()
        self.rows: dict[str, list[Any]] = {
            k: [] for k in ("osm_type", "osm_id", "kind", "tags", "closed", "geometry")
        }
        self.skipped: list[dict[str, Any]] = []
        self.relation_tags: dict[int, dict[str, str]] = {}
        self.have_area: set[int] = set()

    def add(self, osm_type: str, oid: int, kind: str, tags: dict, closed: bool, geom: Any) -> None:
        for name, value in zip(self.rows, (osm_type, oid, kind, tags, closed, geom), strict=True):
            self.rows[name].append(value)

    def skip(self, osm_type: str, oid: int, kind: str, tags: dict, reason: str) -> None:
        self.skipped.append(
            {"osm_type": osm_type, "osm_id": oid, "kind": kind, "tags": tags, "reason": reason}
        )

    def node(self, obj: Any) -> None:
        tags = {t.k: t.v for t in obj.tags}
        if obj.location.valid():
            geom = shapely.Point(obj.location.lon, obj.location.lat)
            self.add("node", obj.id, "node", tags, False, geom)
        else:
            self.skip("node", obj.id, "node", tags, "no location")

    def way(self, obj: Any) -> None:
        tags = {t.k: t.v for t in obj.tags}
        xy = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
        if not xy:
            self.skip("way", obj.id, "way", tags, "its nodes are missing from the extract")
            return
        geom = shapely.Point(xy[0]) if len(xy) == 1 else shapely.LineString(xy)
        self.add("way", obj.id, "way", tags, bool(obj.is_closed()), geom)

    def area(self, obj: Any) -> None:
        from_way = obj.from_way()
        kind = "way_area" if from_way else "relation_area"
        if kind not in self.kinds:
            return
        osm_type = "way" if from_way else "relation"
        tags = {t.k: t.v for t in obj.tags}
        try:
            geom = shapely.from_wkb(self.wkb.create_multipolygon(obj))
        except RuntimeError:
            if from_way:  # relations without an area are reported at the end
                self.skip(osm_type, obj.orig_id(), kind, tags, "broken or clipped ring")
            return
        if not from_way:
            self.have_area.add(obj.orig_id())
        self.add(osm_type, obj.orig_id(), kind, tags, from_way, geom)

    def relation(self, obj: Any) -> None:
        self.relation_tags[obj.id] = {t.k: t.v for t in obj.tags}

    def finish(self) -> None:
        """Report relations that got no area (``type=site``, broken or clipped multipolygons)."""
        if "relation_area" not in self.kinds:
            return
        for rid, tags in self.relation_tags.items():
            if rid not in self.have_area:
                reason = (
                    f"no area geometry (type={tags.get('type', '?')}; not a complete "
                    "multipolygon in this extract)"
                )
                self.skip("relation", rid, "relation_area", tags, reason)


def _file_bounds(path: Path) -> tuple[float, float, float, float] | None:
    box = osmium.FileProcessor(str(path)).header.box()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def read_osm(
    path: str | Path,
    keys: Sequence[str] | None,
    kinds: Sequence[str] = OSM_KINDS,
    desc: str | None = None,
) -> OsmFeatures:
    """Tagged features of an OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``).

    Parameters
    ----------
    path : the file.
    keys : read objects having any of these tag keys; ``None`` reads every tagged object.
    kinds : which of :data:`OSM_KINDS` to return (default all). A closed way is both a ``way``
        and, when libosmium can assemble it, a ``way_area``.
    desc : label of the progress bar (default: ``"reading <file name>"``).

    Returns
    -------
    :class:`OsmFeatures`
    """
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise InputError(f"OSM file not found: {path}")
    unknown = set(kinds) - set(OSM_KINDS)
    if unknown:
        raise ValueError(f"unknown OSM kinds {sorted(unknown)}; use some of {OSM_KINDS}")
    want = set(kinds)
    col = _Collector(want)
    make_filter = (
        (lambda: osmium.filter.KeyFilter(*keys))
        if keys is not None
        else (lambda: osmium.filter.EmptyTagFilter())
    )
    try:
        fp = osmium.FileProcessor(str(path))
        if want & {"way_area", "relation_area"}:
            fp = fp.with_areas(make_filter())
        else:
            fp = fp.with_locations()
        fp = fp.with_filter(make_filter())
        for obj in progress(fp, desc=desc or f"reading {path.name}", unit=" objects"):
            if obj.is_area():
                col.area(obj)
            elif obj.is_node():
                if "node" in want:
                    col.node(obj)
            elif obj.is_way():
                if "way" in want:
                    col.way(obj)
            elif obj.is_relation():
                col.relation(obj)
        bounds = _file_bounds(path)
    except RuntimeError as exc:
        raise InputError(f"cannot read OSM file {path}: {exc}") from exc
    col.finish()
    rows = col.rows
    frame = gpd.GeoDataFrame(
        {
            "osm_type": rows["osm_type"],
            "osm_id": np.asarray(rows["osm_id"], dtype="int64"),
            "kind": rows["kind"],
            "tags": pd.Series(rows["tags"], dtype="object"),
            "closed": np.asarray(rows["closed"], dtype=bool),
        },
        geometry=gpd.GeoSeries(rows["geometry"], crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    return OsmFeatures(frame, col.skipped, col.relation_tags, bounds)
