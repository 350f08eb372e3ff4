"""Reading OpenStreetMap files (XML, compressed XML, PBF) with pyosmium.

Only what the walking network needs is read here: ways with a ``highway`` tag that pass the
pedestrian filter, and the locations of their nodes. Ways that reference nodes missing from the
file (clipped extracts) are split at the gaps instead of failing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import osmium

from .._errors import NetworkError

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


def read_features(path: str | Path, keys: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Tagged nodes and areas (closed ways, multipolygon relations) having any of ``keys``.

    Returns a WGS84 GeoDataFrame: ``osm_type`` (``node``/``way``/``relation``), ``osm_id``,
    ``tags`` (dict) and ``geometry`` (Point for nodes, MultiPolygon for areas). Areas whose
    geometry cannot be assembled (broken rings, missing members) are skipped with a count.
    """
    import geopandas as gpd
    import shapely

    path = Path(path)
    if not path.exists():
        raise NetworkError(f"OSM file not found: {path}")
    wkb = osmium.geom.WKBFactory()
    rows_type: list[str] = []
    rows_id: list[int] = []
    rows_tags: list[dict] = []
    rows_wkb: list[bytes] = []
    broken = 0
    try:
        proc = (
            osmium.FileProcessor(str(path))
            .with_areas(osmium.filter.KeyFilter(*keys))
            .with_filter(osmium.filter.KeyFilter(*keys))
        )
        for obj in proc:
            if obj.is_node():
                if not obj.location.valid():
                    continue
                geom = wkb.create_point(obj)
                kind, oid = "node", obj.id
            elif obj.is_area():
                try:
                    geom = wkb.create_multipolygon(obj)
                except RuntimeError:
                    broken += 1
                    continue
                kind = "way" if obj.from_way() else "relation"
                oid = obj.orig_id()
            else:
                continue
            rows_type.append(kind)
            rows_id.append(oid)
            rows_tags.append({t.k: t.v for t in obj.tags})
            rows_wkb.append(bytes.fromhex(geom) if isinstance(geom, str) else geom)
    except RuntimeError as exc:
        raise NetworkError(f"cannot read OSM file {path}: {exc}") from exc
    if broken:
        log.warning(
            "%s: %d areas could not be assembled (broken or clipped rings) and were skipped",
            path.name,
            broken,
        )
    return gpd.GeoDataFrame(
        {"osm_type": rows_type, "osm_id": np.asarray(rows_id, dtype="int64"), "tags": rows_tags},
        geometry=shapely.from_wkb(rows_wkb) if rows_wkb else [],
        crs="EPSG:4326",
    )
