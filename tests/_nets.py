"""Small hand-built networks (metric CRS EPSG:4549) whose distances can be checked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from lifecircle import WalkNetwork

CRS = "EPSG:4549"
X0, Y0 = 570_000.0, 3_400_000.0  # near Jiaxing in CGCS2000 / GK CM 120E


def build(node_xy: list[tuple[float, float]], pairs: list[tuple[int, int]], keep: str = "all") -> WalkNetwork:
    """Straight edges between nodes given relative to (X0, Y0)."""
    xy = np.asarray(node_xy, dtype=float) + [X0, Y0]
    lines = np.array([shapely.LineString([xy[a], xy[b]]) for a, b in pairs], dtype=object)
    u = np.array([a for a, _ in pairs])
    v = np.array([b for _, b in pairs])
    return WalkNetwork.from_lines(u, v, lines, xy, CRS, keep=keep)


def pts(*xy: tuple[float, float], index=None) -> gpd.GeoDataFrame:
    """Points given relative to (X0, Y0)."""
    arr = np.asarray(xy, dtype=float) + [X0, Y0]
    return gpd.GeoDataFrame(geometry=shapely.points(arr), crs=CRS, index=index)


def grid(n: int = 4, spacing: float = 100.0) -> WalkNetwork:
    """An n×n grid of streets, nodes numbered row by row (node i*n+j at (j*spacing, i*spacing))."""
    xy = [(j * spacing, i * spacing) for i in range(n) for j in range(n)]
    pairs = []
    for i in range(n):
        for j in range(n):
            k = i * n + j
            if j + 1 < n:
                pairs.append((k, k + 1))
            if i + 1 < n:
                pairs.append((k, k + n))
    return build(xy, pairs)


def river_with_bridge() -> WalkNetwork:
    """Two parallel streets 200 m apart (a river between them), joined by one bridge at x=500.

    South bank: y=0 from x=0 to x=1000 (nodes 0: x=0, 1: x=500, 2: x=1000).
    North bank: y=200 (nodes 3: x=0, 4: x=500, 5: x=1000). Bridge: node 1 - node 4.
    """
    xy = [(0, 0), (500, 0), (1000, 0), (0, 200), (500, 200), (1000, 200)]
    pairs = [(0, 1), (1, 2), (3, 4), (4, 5), (1, 4)]
    return build(xy, pairs)
