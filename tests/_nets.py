"""Small hand-built networks (metric CRS EPSG:4549) whose distances can be checked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from lifecircle import WalkNetwork, synthetic

CRS = synthetic.CRS
X0, Y0 = synthetic.ORIGIN  # near Jiaxing in CGCS2000 / GK CM 120E


def build(
    node_xy: list[tuple[float, float]], pairs: list[tuple[int, int]], keep: str = "all"
) -> WalkNetwork:
    """Straight edges between nodes given relative to (X0, Y0)."""
    return synthetic.network_from_segments(node_xy, pairs, keep=keep)


def pts(*xy: tuple[float, float], index=None) -> gpd.GeoDataFrame:
    """Points given relative to (X0, Y0)."""
    arr = np.asarray(xy, dtype=float) + [X0, Y0]
    return gpd.GeoDataFrame(geometry=shapely.points(arr), crs=CRS, index=index)


def grid_pairs(n: int) -> list[tuple[int, int]]:
    """The streets of an n×n grid whose nodes are numbered row by row."""
    pairs = []
    for i in range(n):
        for j in range(n):
            k = i * n + j
            if j + 1 < n:
                pairs.append((k, k + 1))
            if i + 1 < n:
                pairs.append((k, k + n))
    return pairs


def grid(n: int = 4, spacing: float = 100.0) -> WalkNetwork:
    """An n×n grid of streets, nodes numbered row by row (node i*n+j at (j*spacing, i*spacing))."""
    return synthetic.street_grid(n, spacing)


def river_with_bridge() -> WalkNetwork:
    """Two parallel streets 200 m apart (a river between them), joined by one bridge at x=500.

    South bank: y=0 from x=0 to x=1000 (nodes 0: x=0, 1: x=500, 2: x=1000).
    North bank: y=200 (nodes 3: x=0, 4: x=500, 5: x=1000). Bridge: node 1 - node 4.
    """
    xy = [(0, 0), (500, 0), (1000, 0), (0, 200), (500, 200), (1000, 200)]
    pairs = [(0, 1), (1, 2), (3, 4), (4, 5), (1, 4)]
    return build(xy, pairs)


def box(x0: float, y0: float, x1: float, y1: float):
    """A rectangle given relative to (X0, Y0)."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def river_communities(names: tuple[str, str] = ("南岸社区", "北岸社区")) -> gpd.GeoDataFrame:
    """Two communities beside ``river_with_bridge``: a point 10 m south of the south street at
    x=100 (1,000 residents, 300 aged 60+) and a block north of the north street (x 0-400,
    y 210-300, 900 residents, no age data); Chinese column names and NBS codes."""
    return gpd.GeoDataFrame(
        {
            "社区代码": ["330402001001", "330402001002"],
            "社区名称": list(names),
            "街道": ["建设街道", "建设街道"],
            "区县": ["南湖区", "南湖区"],
            "常住人口": [1000, 900],
            "60岁以上": [300, None],
        },
        geometry=[shapely.Point(X0 + 100, Y0 - 10), box(0, 210, 400, 300)],
        crs=CRS,
    )


def river_facilities(nursery_name: str = "托育园") -> gpd.GeoDataFrame:
    """A health centre 5 m south of the south street at x=150 and a nursery (2 places) 5 m
    north of the north street at x=380."""
    import pandas as pd

    return gpd.GeoDataFrame(
        {
            "category": ["health_center", "nursery"],
            "name": ["卫生服务中心", nursery_name],
            "capacity": [np.nan, 2.0],
        },
        geometry=[shapely.Point(X0 + 150, Y0 - 5), shapely.Point(X0 + 380, Y0 + 205)],
        crs=CRS,
        index=pd.Index(["F_hc", "F_n"], name="facility_id"),
    )
