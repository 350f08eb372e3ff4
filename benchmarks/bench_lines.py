#!/usr/bin/env python
"""Networks from line layers: how fast, and how exact, side by side with the OSM-built network.

Two parts:

* **accuracy** (Nanjing Xinjiekou): the OSM streets written out as a bare line layer
  (``synthetic.lines_from_osm``: no node ids, cut at random places about every 150 m, bridges kept
  as ``bridge=yes``, both ends of every line moved 0.3 m in a random direction), rebuilt with
  ``lc.load_network(lines)``; network distances between 300 × 300 random points on the streets
  compared with the OSM-built network's (``lc.load_network(osm)``, junctions from shared node ids).
  Also: ends moved up to 0.3 m (uniform on the disc), not moved at all, and a GCJ-02 copy.
* **speed** (Rhein-Neckar, ~40k walk-graph nodes): building the walking network from the same
  streets written out as a line layer, against the obvious alternatives measured in the same run:
  lifecircle's own OSM load (junctions known from node ids), OSMnx ``graph_from_xml`` on the
  ``highway=*`` XML, and the usual GIS recipe for lines — ``shapely.union_all`` to node every
  crossing, then graph nodes from the unique end points (no tolerance, no bridges).

Every timed step is the best of ``--repeat`` runs, the sides taking turns. Run from the repository
root with ``../shared`` beside the checkout (or ``--shared DIR``)::

    python benchmarks/bench_lines.py
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not another installed copy
sys.path.insert(0, str(ROOT / "benchmarks"))

import geopandas as gpd
import numpy as np
import osmnx as ox
import shapely
from bench_network import best_of, to_highway_xml

import lifecircle as lc
from lifecircle import synthetic
from lifecircle.sources.coords import wgs84_to_gcj02

NANJING = "data/cn_nanjing_xinjiekou/nanjing_xinjiekou_osm_bbox.osm"
RHEIN_NECKAR = "data/intl/rhein_neckar_rnv.osm.pbf"
K = 300  # origins and destinations


def default_shared() -> Path:
    env = os.environ.get("LIFECIRCLE_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


# ---------------------------------------------------------------------- accuracy
def od_matrix(net: lc.WalkNetwork, points: gpd.GeoDataFrame, k: int) -> np.ndarray:
    """Network distance between every origin and destination, access legs left out."""
    src, dst = net.snap(points.iloc[:k]), net.snap(points.iloc[k:])
    pr = net.pairs(src, dst, 1e7)
    out = np.full((k, k), np.inf)
    out[pr.source, pr.target] = pr.distance_m - src.access_m[pr.source] - dst.access_m[pr.target]
    return out


def compare(want: np.ndarray, got: np.ndarray) -> str:
    some = np.isfinite(want) | np.isfinite(got)
    with np.errstate(invalid="ignore"):
        diff = np.abs(want - got)
        ok = (diff <= 1.0) | (np.isinf(want) & np.isinf(got))
    near = some & (np.minimum(want, got) <= 1200)
    fin = np.isfinite(diff)
    return (
        f"{ok[some].mean():8.2%} | {ok[near].mean():8.2%} | {np.percentile(diff[fin], 99):5.2f} | "
        f"{diff[fin].max():6.2f} | {int((np.isfinite(want) != np.isfinite(got)).sum()):5d} | "
        f"{int(some.sum()):,}"
    )


def accuracy(osm: Path, seeds: list[int]) -> None:
    ref = lc.load_network(osm, keep="all")
    points = lc.synthetic.street_points(ref, 2 * K, seed=1)
    want = od_matrix(ref, points, K)
    print(f"\nAccuracy: {osm.name}; OSM-built {ref}; {K} x {K} random points on the streets")
    print(
        "\n| line layer | seed | within 1 m | within 1 m (≤ 1,200 m) | p99 m | max m "
        "| reach differs | pairs |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    variants = [
        ("ends moved 0.3 m", {"jitter_m": 0.3}),
        ("ends moved ≤ 0.3 m", {"jitter_m": 0.3, "jitter_within": True}),
        ("ends not moved", {"jitter_m": 0.0}),
    ]
    for name, kw in variants:
        for seed in seeds if kw["jitter_m"] else seeds[:1]:
            lines = synthetic.lines_from_osm(osm, seed=seed, **kw)
            net = lc.load_network(lines, keep="all")
            print(f"| {name} | {seed} | {compare(want, od_matrix(net, points, K))} |")
            if name == "ends moved 0.3 m" and seed == seeds[0]:
                print(f"<!-- {len(lines)} lines, {lines.attrs}; {net.topology} -->")
                gcj = lines.copy()
                gcj.geometry = shapely.transform(
                    lines.geometry.values,
                    lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])),
                )
                got = od_matrix(lc.load_network(gcj, crs="gcj02", keep="all"), points, K)
                print(f"| the same, GCJ-02 copy, crs='gcj02' | {seed} | {compare(want, got)} |")
                flat = lines.drop(columns=["bridge", "layer"])
                got = od_matrix(lc.load_network(flat, keep="all"), points, K)
                print(f"| the same, bridge/layer columns dropped | {seed} | {compare(want, got)} |")


# ---------------------------------------------------------------------- speed
def union_recipe(lines: gpd.GeoDataFrame) -> tuple[int, int]:
    """The usual GIS recipe: node all lines with one union, nodes = unique end points."""
    metric = lines.to_crs(lines.estimate_utm_crs())
    noded = shapely.get_parts(shapely.union_all(metric.geometry.values))
    ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(noded, 0)),
            shapely.get_coordinates(shapely.get_point(noded, -1)),
        ]
    )
    nodes = np.unique(np.round(ends, 3), axis=0)
    return len(nodes), len(noded)


def speed(pbf: Path, repeat: int) -> None:
    t = time.perf_counter()
    lines = synthetic.lines_from_osm(pbf, seed=0)
    made_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = Path(tmp) / "lines.gpkg"
        lines.to_file(gpkg, layer="streets")
        xml = to_highway_xml(pbf, Path(tmp) / "highways.osm")
        sides = {
            "lc.load_network(GeoDataFrame of lines)": lambda: lc.load_network(lines, keep="all"),
            "lc.load_network(lines.gpkg)": lambda: lc.load_network(gpkg, keep="all"),
            "lc.load_network(osm.pbf), node ids": lambda: lc.load_network(pbf, keep="all"),
            "ox.graph_from_xml(highways.osm)": lambda: ox.graph_from_xml(
                xml, bidirectional=True, simplify=False, retain_all=True
            ),
            "shapely.union_all noding + end points": lambda: union_recipe(lines),
        }
        best, results = best_of(list(sides.values()), repeat)
    print(f"\nSpeed: {pbf.name} written as {len(lines):,} lines ({made_s:.1f} s, not timed)")
    print(f"lines: {results[0]}; {results[0].topology}")
    print(f"OSM:   {results[2]}")
    print("\n| build | best s | ÷ line layer (GeoDataFrame) |")
    print("| --- | ---: | ---: |")
    for (name, _), s in zip(sides.items(), best, strict=True):
        print(f"| {name} | {s:.2f} | {s / best[0]:.2f} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=default_shared(), type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, osmnx {ox.__version__}, shapely {shapely.__version__}"
    )
    accuracy(args.shared / NANJING, args.seeds)
    if not args.skip_speed:
        speed(args.shared / RHEIN_NECKAR, args.repeat)


if __name__ == "__main__":
    main()
