#!/usr/bin/env python
"""Benchmark snapping points to their nearest edge: lifecircle's grid against OSMnx's way.

OSMnx's ``ox.distance.nearest_edges`` builds a shapely ``STRtree`` of the edge geometries and
calls ``query_nearest`` for the points (``osmnx/distance.py``). lifecircle's
``WalkNetwork.snap`` finds the nearest edge in a grid of the edges' segments, compiled
(``network/snapping.py``, :class:`~lifecircle.network.snapping.EdgeGrid`), with GEOS's
distance bit for bit.

On each network (``lc.load_network``), for random points near random edges (up to 60 m off,
as ``bench_network.py`` makes them) and for points scattered up to kilometres from the streets:

* **grid**: ``EdgeGrid.nearest`` on a grid made beforehand (made once per network and kept,
  as ``WalkNetwork`` keeps it; its build time is printed apart);
* **STRtree**: ``STRtree.query_nearest(..., all_matches=True)`` on a tree made beforehand,
  ties to the lowest edge row, the same answer (checked: edges and distances equal bit for bit);
* **OSMnx's call** as it stands: a new tree and ``all_matches=False`` (any one of tied edges);
* and ``net.snap`` as a whole (the nearest edge, the position along it, the snapped point).

Every step runs ``--repeat`` times, the sides taking turns; the best time is kept. Compare the
ratios, not the absolute seconds. Run from the repository root::

    python benchmarks/bench_snapping.py
    python benchmarks/bench_snapping.py --points 200000 --networks intl/milan.osm.pbf
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not another installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from bench_network import best_of, default_shared  # noqa: E402

import lifecircle as lc  # noqa: E402
from lifecircle.network.snapping import edge_grid  # noqa: E402

NETWORKS = ["intl/milan.osm.pbf", "intl/liechtenstein.osm.pbf"]


def points(net: lc.WalkNetwork, n: int, spread_m: float, seed: int) -> np.ndarray:
    """``n`` points (metric CRS) on random edges, moved up to 60 m (``spread_m`` 0) or by a
    normal offset of ``spread_m`` metres each way."""
    rng = np.random.default_rng(seed)
    lines = net.edges.geometry.values
    on = shapely.get_coordinates(
        shapely.line_interpolate_point(
            lines[rng.integers(0, len(lines), n)], rng.random(n), normalized=True
        )
    )
    if spread_m == 0:
        ang, r = rng.random(n) * 2 * np.pi, rng.random(n) * 60.0
        return on + np.column_stack([r * np.cos(ang), r * np.sin(ang)])
    return on + rng.normal(0, spread_m, on.shape)


def strtree_nearest(tree: shapely.STRtree, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest edge and distance from the STRtree, ties to the lowest edge row."""
    (qi, ei), d = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=True)
    order = np.lexsort((ei, qi))
    qi, ei, d = qi[order], ei[order], d[order]
    first = np.ones(len(qi), dtype=bool)
    first[1:] = qi[1:] != qi[:-1]
    edge, dist = np.empty(len(xy), np.int64), np.empty(len(xy))
    edge[qi[first]], dist[qi[first]] = ei[first], d[first]
    return edge, dist


def built_tree(lines: np.ndarray) -> shapely.STRtree:
    """An STRtree of ``lines``, queried once (GEOS builds it on the first query)."""
    tree = shapely.STRtree(lines)
    tree.query_nearest(shapely.points([[0.0, 0.0]]))
    return tree


def osmnx_way(lines: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """What ``ox.distance.nearest_edges`` does: a new tree, one nearest per point."""
    tree = shapely.STRtree(lines)
    pos, _ = tree.query_nearest(
        [shapely.Point(p) for p in xy], all_matches=False, return_distance=True
    )
    return pos[1]


def run_network(path: Path, n: int, repeat: int) -> None:
    """The rows of one network."""
    net = lc.load_network(path)
    lines = net.edges.geometry.values
    (t_grid_build, t_tree_build), (grid, tree) = best_of(
        [lambda: edge_grid(lines), lambda: built_tree(lines)], 1
    )
    grid.nearest(np.zeros((1, 2)))  # compile (or load the cached kernels) outside the timing
    print(f"<!-- {path.name}: {len(lines):,} edges, {len(grid.seg):,} segments; grid "
          f"{grid.nx}×{grid.ny} cells of {grid.cell_m:.1f} m, made in {1000 * t_grid_build:.0f} "
          f"ms; STRtree made in {1000 * t_tree_build:.0f} ms -->")  # fmt: skip
    for label, spread in (("near edges (≤ 60 m)", 0.0), ("scattered (σ 2 km)", 2000.0)):
        xy = points(net, n, spread, 1)
        frame = gpd.GeoSeries(shapely.points(xy), crs=net.crs)
        (t_g, t_s, t_o, t_snap), (g, s, _, snapped) = best_of(
            [lambda xy=xy: grid.nearest(xy), lambda xy=xy: strtree_nearest(tree, xy),
             lambda xy=xy: osmnx_way(lines, xy),
             lambda frame=frame: net.snap(frame, max_snap_m=1e9)],
            repeat,
        )  # fmt: skip
        same = (np.array_equal(g[0], s[0]) and np.array_equal(g[1], s[1])
                and np.array_equal(snapped.edge, s[0]))  # fmt: skip
        print(f"| {path.name.split('.')[0]} | {label} | {1000 * t_g:.1f} | {1000 * t_s:.1f} | "
              f"{t_s / t_g:.1f}× | {1000 * t_o:.1f} | {t_o / t_g:.1f}× | "
              f"{'yes' if same else 'NO'} | {1000 * t_snap:.1f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=default_shared())
    ap.add_argument("--networks", nargs="*", default=NETWORKS)
    ap.add_argument("--points", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    lc.settings.progress = False
    print(
        f"# bench_snapping, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
        f"{args.points:,} points, best of {args.repeat}"
    )
    print("| network | points | grid ms | STRtree ms | ratio | OSMnx's call ms | ratio | "
          "same edges and distances | net.snap ms |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for name in args.networks:
        run_network(args.shared / "data" / name, args.points, args.repeat)


if __name__ == "__main__":
    main()
