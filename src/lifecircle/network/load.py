"""Loading a walking network: OSM files (XML, compressed XML, PBF), OSMnx GraphML, networkx
graphs, saved networks, line layers (road centrelines: Shapefile, GeoPackage, GeoJSON, FileGDB or a
GeoDataFrame; topology in ``lines.py``), or (online) a place / polygon / bbox through OSMnx;
pedestrian semantics applied, projected to a metric CRS (CGCS2000 Gauss-Krüger in China, UTM
elsewhere)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .. import settings
from .._errors import InputError, NetworkError
from .._progress import progress
from ..crs import WGS84, as_crs, metric_crs_for, require_metric, transformer
from ..sources.lines import is_line_file, read_line_layer
from ..sources.osm import (
    WALK_FILTER_TAGS,
    is_osm_file,
    is_walkable,
    read_walk_ways,
    split_ways_at_junctions,
)
from ..sources.overpass import download_walk_graph
from .graph import Keep, WalkNetwork
from .lines import TOLERANCE_M, network_from_lines

log = logging.getLogger(__name__)


def load_network(
    source: Any,
    crs: Any = None,
    keep: Keep = "largest",
    *,
    layer: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    exclude: Mapping[str, Sequence[Any]] | None = None,
    tolerance_m: float = TOLERANCE_M,
) -> WalkNetwork:
    """Load a walking network and project it to a metric CRS.

    Parameters
    ----------
    source :
        * an OSM file: ``.osm``/``.osm.xml`` (also ``.gz``/``.bz2``) or ``.osm.pbf``;
        * an OSMnx GraphML file (``.graphml``);
        * a folder written by :meth:`WalkNetwork.save`;
        * a networkx graph with node ``x``/``y`` and a ``crs`` graph attribute;
        * a line layer of streets (road centrelines, 路网中心线): ``.shp``, ``.gpkg`` (with
          ``layer=``), ``.geojson``/``.json``, ``.fgb``, a FileGDB ``.gdb`` folder, or a
          GeoDataFrame of LineStrings; the junctions are built from the geometry (see
          :func:`lifecircle.network.lines.network_from_lines`);
        * online only, through OSMnx/Overpass: a place name (``"南湖区, 嘉兴市"``), a shapely
          (Multi)Polygon in WGS84, or a ``(west, south, east, north)`` bbox in WGS84.
    crs :
        Metric CRS to use; default: the CGCS2000 3-degree Gauss-Krüger zone inside China
        (EPSG:4549 for Jiaxing), UTM elsewhere. For a line layer, ``crs`` names the layer's own
        coordinates when the file has none or when they are GCJ-02/BD-09 (``"gcj02"``,
        ``"bd09"``): those are converted vertex by vertex.
    keep :
        ``"largest"`` (default) keeps the largest connected piece and reports the rest;
        ``"all"`` keeps every piece.
    layer :
        Line layers only: the layer of a GeoPackage/FileGDB holding the streets.
    columns :
        Line layers only: ``{"bridge": ..., "tunnel": ..., "layer": ...}``, the layer's columns
        saying which lines are bridges, tunnels or on which level (e.g. ``{"bridge": "桥梁"}``);
        default: ``bridge``/``tunnel``/``layer`` or 桥梁/隧道/层级 when present.
    exclude :
        Line layers only: rows not walkable, e.g. ``{"道路等级": ["高速公路", "快速路主路"]}``.
    tolerance_m :
        Line layers only: line ends this close (metres) to another end or line are joined to it.

    Returns
    -------
    WalkNetwork
    """
    if keep not in ("largest", "all"):
        raise InputError(f"keep must be 'largest' or 'all', got {keep!r}")
    t0 = time.perf_counter()
    if isinstance(source, WalkNetwork):
        return source
    line_kw: dict[str, Any] = {
        "columns": columns,
        "exclude": exclude,
        "tolerance_m": tolerance_m,
        "keep": keep,
    }
    if not _is_line_source(source) and (layer, columns, exclude) != (None, None, None):
        raise InputError(
            "layer=, columns= and exclude= are for line layers (.shp, .gpkg, .geojson, .gdb or a "
            f"GeoDataFrame of lines), not for {source!r}"
        )
    if isinstance(source, (gpd.GeoDataFrame, gpd.GeoSeries)):
        net = network_from_lines(source, crs, **line_kw)
    elif isinstance(source, nx.Graph):
        net = _from_networkx(source, crs, keep)
    elif isinstance(source, (str, Path)) and Path(source).exists():
        path = Path(source)
        if is_line_file(path):
            net = network_from_lines(read_line_layer(path, layer), crs, **line_kw)
        elif path.is_dir():
            net = WalkNetwork.load(path)
        elif path.suffix.lower() == ".graphml":
            import osmnx as ox

            net = _from_networkx(ox.load_graphml(path), crs, keep)
        elif is_osm_file(path):
            net = _from_osm_file(path, crs, keep)
        else:
            raise NetworkError(
                f"don't know how to read {path.name}: expected .osm, .osm.gz, .osm.bz2, .osm.pbf, "
                ".graphml, a line layer (.shp, .gpkg, .geojson, .fgb, .gdb) or a saved network "
                "folder"
            )
    elif (
        isinstance(source, (str, Path))
        and (is_osm_file(Path(source)) or is_line_file(Path(source)))
        or (isinstance(source, (str, Path)) and str(source).lower().endswith(".graphml"))
    ):
        raise NetworkError(f"file not found: {source}")
    else:
        graph = download_walk_graph(source, settings.overpass_url, settings.requests_timeout_s)
        net = _from_networkx(graph, crs, keep)
    log.info("loaded %r in %.2f s (%s)", net, time.perf_counter() - t0, net.components)
    return net


def _is_line_source(source: Any) -> bool:
    if isinstance(source, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return True
    return isinstance(source, (str, Path)) and is_line_file(Path(source))


def _pick_crs(lon: np.ndarray, lat: np.ndarray, crs: Any) -> CRS:
    if crs is not None:
        c = as_crs(crs)
        require_metric(c, "crs=")
        return c
    return metric_crs_for(float(np.nanmedian(lon)), float(np.nanmedian(lat)))


def _from_osm_file(path: Path, crs: Any, keep: Keep) -> WalkNetwork:
    with progress(total=2, desc=f"reading {path.name}") as bar:
        ww = read_walk_ways(path)
        bar.update()
        if len(ww.way_osmid) == 0:
            raise NetworkError(f"{path} has no walkable ways (highway=* open to pedestrians)")
        start, stop, way = split_ways_at_junctions(ww)
        metric = _pick_crs(ww.lon, ww.lat, crs)
        tr = transformer(WGS84, metric)
        x, y = tr.transform(ww.lon, ww.lat)
        xy = np.column_stack([x, y])
        # coordinates of each edge: way_nodes[start:stop+1]
        counts = stop - start + 1
        idx = np.repeat(start, counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        pts = ww.way_nodes[idx]
        lines = shapely.linestrings(xy[pts], indices=np.repeat(np.arange(len(start)), counts))
        end_u = ww.way_nodes[start]
        end_v = ww.way_nodes[stop]
        used, inv = np.unique(np.concatenate([end_u, end_v]), return_inverse=True)
        u = inv[: len(start)]
        v = inv[len(start) :]
        tags = pd.DataFrame([ww.way_tags[i] for i in way])
        attrs = pd.DataFrame({"osmid": ww.way_osmid[way]})
        for col in ("highway", "name"):
            attrs[col] = tags[col].to_numpy() if col in tags else None
        bar.update()
    return WalkNetwork.from_lines(u, v, lines, xy[used], metric, attrs, ww.node_osmid[used], keep)


def _attr_ok(data: dict) -> bool:
    """Walk filter on a networkx edge's attributes (list values: every part must pass)."""
    vals = {k: data.get(k) for k in WALK_FILTER_TAGS if data.get(k) is not None}
    if "highway" not in vals:
        return True  # not an OSM-tagged graph: trust it
    lists = {k: v if isinstance(v, list) else [v] for k, v in vals.items()}
    for hw in lists["highway"]:
        tags = {k: str(v[0]) for k, v in lists.items() if k != "highway"}
        tags["highway"] = str(hw)
        if not is_walkable(tags):
            return False
    return True


def _from_networkx(G: nx.Graph, crs: Any, keep: Keep) -> WalkNetwork:
    if G.number_of_edges() == 0:
        raise NetworkError("the graph has no edges")
    gcrs = G.graph.get("crs")
    if gcrs is None:
        raise NetworkError(
            "the networkx graph has no 'crs' graph attribute; set G.graph['crs'] = 'EPSG:4326' "
            "for lon/lat node coordinates"
        )
    gcrs = as_crs(gcrs)
    node_ids = list(G.nodes)
    pos = {n: i for i, n in enumerate(node_ids)}
    try:
        nx_ = np.array([G.nodes[n]["x"] for n in node_ids], dtype=float)
        ny_ = np.array([G.nodes[n]["y"] for n in node_ids], dtype=float)
    except KeyError as exc:
        raise NetworkError(f"graph node without coordinate attribute {exc}") from None
    tr_ll = transformer(gcrs, WGS84)
    lon, lat = tr_ll.transform(nx_, ny_)
    metric = _pick_crs(np.asarray(lon), np.asarray(lat), crs)
    tr = transformer(gcrs, metric)
    x, y = tr.transform(nx_, ny_)
    xy = np.column_stack([x, y])
    seen: set = set()
    us, vs, geoms, rows = [], [], [], []
    dropped = 0
    for a, b, data in G.edges(data=True):
        if not _attr_ok(data):
            dropped += 1
            continue
        ia, ib = pos[a], pos[b]
        geom = data.get("geometry")
        if geom is not None:
            coords = np.asarray(shapely.get_coordinates(geom))
            cx, cy = tr.transform(coords[:, 0], coords[:, 1])
            coords = np.column_stack([cx, cy])
            # orient from a to b
            if np.hypot(*(coords[0] - xy[ia])) > np.hypot(*(coords[-1] - xy[ia])):
                coords = coords[::-1]
        else:
            coords = np.vstack([xy[ia], xy[ib]])
        length = float(np.hypot(*np.diff(coords, axis=0).T).sum())
        key = (min(ia, ib), max(ia, ib), round(length, 2))
        if key in seen:  # the reverse twin of a two-way street
            continue
        seen.add(key)
        us.append(ia)
        vs.append(ib)
        geoms.append(shapely.linestrings(coords))
        osmid = data.get("osmid")
        rows.append(
            {
                "osmid": osmid if not isinstance(osmid, list) else osmid[0],
                "highway": _first(data.get("highway")),
                "name": _first(data.get("name")),
            }
        )
    if dropped:
        log.info("dropped %d graph edges not open to pedestrians", dropped)
    used = np.unique(np.concatenate([us, vs]))
    remap = np.full(len(node_ids), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    osmids = np.array([node_ids[i] for i in used], dtype=object)
    try:
        osmids = osmids.astype(np.int64)
    except (TypeError, ValueError):
        osmids = np.arange(len(used))
    return WalkNetwork.from_lines(
        remap[np.asarray(us)],
        remap[np.asarray(vs)],
        np.asarray(geoms, dtype=object),
        xy[used],
        metric,
        pd.DataFrame(rows),
        osmids,
        keep,
    )


def _first(v: Any) -> Any:
    if isinstance(v, list):
        return v[0] if v else None
    return v
