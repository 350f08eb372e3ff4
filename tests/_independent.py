"""An independent network-distance computation with networkx, for cross-checks."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import shapely

from lifecircle.sources.osm import is_walkable
from lifecircle.sources.overpass import WALK_TAGS_WAY


def independent_nearest(G: nx.Graph, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Network distance from each target to the nearest source, with networkx.

    ``G``: undirected graph with node ``x``/``y`` and edge ``geometry`` (metric) and ``length``.
    Every point is inserted into the graph: its nearest edge (brute force over all edges) is
    split at the projection and a connector of the straight access length is added. A source
    and a target closer to each other in a straight line than either is to its edge (the same
    compound) are that straight distance apart (docs/concepts.md), checked pair by pair.
    """
    H = nx.Graph()
    edges = list(G.edges(keys=True, data=True)) if G.is_multigraph() else list(G.edges(data=True))
    geoms = [d["geometry"] for *_, d in edges]
    geom_arr = np.array(geoms, dtype=object)
    pts = np.vstack([sources, targets])
    on_edge: dict[int, list[tuple[float, str]]] = {}
    access = np.empty(len(pts))
    for i, (x, y) in enumerate(pts):
        p = shapely.Point(x, y)
        d = shapely.distance(geom_arr, p)
        e = int(np.argmin(d))
        along = geoms[e].project(p)
        name = f"p{i}"
        access[i] = d[e]
        on_edge.setdefault(e, []).append((along, name))
        H.add_edge(name, f"{name}_proj", length=float(d[e]))
    for e, (*ends, data) in enumerate(edges):
        u, v = ends[0], ends[1]
        # undirected graphs may report an edge as (v, u): orient by the geometry's start
        start = shapely.get_coordinates(data["geometry"])[0]
        du = np.hypot(start[0] - G.nodes[u]["x"], start[1] - G.nodes[u]["y"])
        dv = np.hypot(start[0] - G.nodes[v]["x"], start[1] - G.nodes[v]["y"])
        if dv < du:
            u, v = v, u
        L = data["length"]
        glen = data["geometry"].length
        chain = (
            [(0.0, u)]
            + sorted((a / glen * L, f"{n}_proj") for a, n in on_edge.get(e, []))
            + [(L, v)]
        )
        for (a0, n0), (a1, n1) in zip(chain[:-1], chain[1:], strict=True):
            w = a1 - a0
            if H.has_edge(n0, n1):
                w = min(w, H.edges[n0, n1]["length"])
            H.add_edge(n0, n1, length=w)
    src_names = [f"p{i}" for i in range(len(sources))]
    dist = nx.multi_source_dijkstra_path_length(H, src_names, weight="length")
    out = np.array([dist.get(f"p{len(sources) + j}", np.inf) for j in range(len(targets))])
    n_s = len(sources)
    straight = np.hypot(*(pts[n_s:, None, :] - pts[None, :n_s, :]).transpose(2, 0, 1))
    cap = np.minimum(access[n_s:, None], access[None, :n_s])  # targets × sources
    direct = np.where((cap > 0) & (straight <= cap), straight, np.inf)
    return np.minimum(out, direct.min(axis=1, initial=np.inf))


def osmnx_projected(G: nx.MultiDiGraph, crs) -> nx.MultiGraph:
    """An osmnx graph projected to ``crs``, undirected, with geometry on every edge and
    ``length`` = planar length of that geometry (lifecircle's definition)."""
    import osmnx as ox

    G = ox.project_graph(G, to_crs=crs)
    U = nx.MultiGraph()
    for n, d in G.nodes(data=True):
        U.add_node(n, x=d["x"], y=d["y"])
    seen = set()
    for u, v, d in G.edges(data=True):
        geom = d.get("geometry") or shapely.LineString(
            [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
        )
        start = shapely.get_coordinates(geom)[0]
        if np.hypot(start[0] - G.nodes[u]["x"], start[1] - G.nodes[u]["y"]) > 1e-3:
            geom = shapely.reverse(geom)
        key = (min(u, v), max(u, v), round(geom.length, 2))
        if key in seen:
            continue
        seen.add(key)
        U.add_edge(u, v, geometry=geom, length=geom.length)
    return U


def osmnx_walk_from_xml(path: Path) -> nx.MultiDiGraph:
    """OSMnx's unsimplified graph of an OSM XML file, with lifecircle's pedestrian filter applied
    to each edge's tags (the filter is the definition under test elsewhere, not the reading)."""
    import osmnx as ox

    tags = list(WALK_TAGS_WAY)
    old = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = list(dict.fromkeys(list(old) + tags))
    try:
        G = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    finally:
        ox.settings.useful_tags_way = old
    drop = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if not is_walkable({t: d[t] for t in tags if isinstance(d.get(t), str)})
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    return G
