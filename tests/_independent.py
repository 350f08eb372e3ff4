"""An independent network-distance computation with networkx, for cross-checks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import shapely


def independent_nearest(G: nx.Graph, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Network distance from each target to the nearest source, with networkx.

    ``G``: undirected graph with node ``x``/``y`` and edge ``geometry`` (metric) and ``length``.
    Every point is inserted into the graph: its nearest edge (brute force over all edges) is
    split at the projection and a connector of the straight access length is added.
    """
    H = nx.Graph()
    edges = list(G.edges(keys=True, data=True)) if G.is_multigraph() else list(G.edges(data=True))
    geoms = [d["geometry"] for *_, d in edges]
    geom_arr = np.array(geoms, dtype=object)
    pts = np.vstack([sources, targets])
    on_edge: dict[int, list[tuple[float, str]]] = {}
    for i, (x, y) in enumerate(pts):
        p = shapely.Point(x, y)
        d = shapely.distance(geom_arr, p)
        e = int(np.argmin(d))
        along = geoms[e].project(p)
        name = f"p{i}"
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
        chain = [(0.0, u)] + sorted((a / glen * L, f"{n}_proj") for a, n in on_edge.get(e, [])) + [(L, v)]
        for (a0, n0), (a1, n1) in zip(chain[:-1], chain[1:]):
            w = a1 - a0
            if H.has_edge(n0, n1):
                w = min(w, H.edges[n0, n1]["length"])
            H.add_edge(n0, n1, length=w)
    src_names = [f"p{i}" for i in range(len(sources))]
    dist = nx.multi_source_dijkstra_path_length(H, src_names, weight="length")
    return np.array([dist.get(f"p{len(sources) + j}", np.inf) for j in range(len(targets))])
