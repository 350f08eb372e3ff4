#!/usr/bin/env python
"""Benchmark lifecircle's network engine against the usual OSMnx recipe, side by side.

The work is the same on both sides: load the walking network of an OSM extract, then for
6 facility categories (10, 20, 40, 80, 160, 320 random facilities) find each of 1,000 random
community points' network distance to the nearest facility of the category.

* lifecircle: ``lc.load_network(file)`` then one ``net.distance_to_nearest(facilities,
  communities, by="category")`` (every point snapped once to its nearest *edge*, then one SciPy
  multi-source Dijkstra per category).
* the OSMnx recipe: ``ox.graph_from_xml`` + the same pedestrian filter + largest component +
  ``ox.simplify_graph`` + ``ox.project_graph``; ``ox.distance.nearest_nodes`` for facilities and
  communities; per category ``nx.multi_source_dijkstra_path_length(G, facility_nodes,
  weight="length")`` and a look-up per community node (points snapped to the nearest *node*).

OSMnx cannot read PBF, so a ``.osm.pbf`` (or compressed XML) is first converted once to plain
OSM XML with pyosmium, keeping the ``highway=*`` ways and their nodes. That conversion is not
timed. lifecircle is timed both on the original file and on that same XML.

Machines are noisy: every timed step runs ``--repeat`` times, alternating the two sides, and the
best time is kept. Compare the ratio, not the absolute seconds.

Run from the repository root (``../shared`` beside the checkout, or ``--shared``/``--data``)::

    python benchmarks/bench_network.py
    python benchmarks/bench_network.py --data path/to/extract.osm.pbf   # e.g. from Geofabrik
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not another installed copy

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import osmium  # noqa: E402
import osmnx as ox  # noqa: E402
import scipy  # noqa: E402
import shapely  # noqa: E402
from pyproj import Transformer  # noqa: E402

import lifecircle as lc  # noqa: E402
from lifecircle.sources.osm import is_walkable  # noqa: E402
from lifecircle.sources.overpass import WALK_TAGS_WAY  # noqa: E402

DEFAULT_FILE = "data/intl/liechtenstein.osm.pbf"
CATEGORY_SIZES = (10, 20, 40, 80, 160, 320)
N_COMMUNITIES = 1_000
MAX_M = 1_200.0
SEED = 20240601
#: way tags the pedestrian filter looks at; OSMnx keeps only ``useful_tags_way`` on edges
WALK_TAGS = WALK_TAGS_WAY


# ---------------------------------------------------------------------- input
def default_shared() -> Path:
    env = os.environ.get("LIFECIRCLE_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


def resolve_input(args: argparse.Namespace) -> Path:
    """The OSM file to benchmark, or exit with a clear message."""
    if args.data is not None:
        path = Path(args.data).expanduser()
        if not path.is_file():
            sys.exit(f"bench_network: --data {path} does not exist")
        return path
    path = Path(args.shared).expanduser() / DEFAULT_FILE
    if not path.is_file():
        sys.exit(
            f"bench_network: {path} not found. The benchmark needs the shared data folder "
            f"(../shared beside the checkout); pass --shared DIR, or --data FILE for another "
            "OSM extract (.osm, .osm.gz/.bz2, .osm.pbf)."
        )
    return path


def to_highway_xml(src: Path, dst: Path) -> Path:
    """Write the ``highway=*`` ways of ``src`` and the nodes they use as plain OSM XML."""
    used = osmium.index.IdSet()
    for way in osmium.FileProcessor(str(src), osmium.osm.WAY).with_filter(
        osmium.filter.KeyFilter("highway")
    ):
        for nd in way.nodes:
            used.set(nd.ref)
    with osmium.SimpleWriter(str(dst), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node() and obj.id in used:
                writer.add_node(obj)
            elif obj.is_way() and "highway" in obj.tags:
                writer.add_way(obj)
    return dst


def random_points_near_edges(net: lc.WalkNetwork, n: int, seed: int) -> np.ndarray:
    """``n`` random points up to 60 m off random edges, as WGS84 (lon, lat)."""
    rng = np.random.default_rng(seed)
    e = rng.integers(0, len(net.edges), n)
    on = shapely.line_interpolate_point(
        net.edges.geometry.values[e], rng.random(n), normalized=True
    )
    xy = shapely.get_coordinates(on)
    ang = rng.random(n) * 2 * np.pi
    r = rng.random(n) * 60.0
    xy = xy + np.column_stack([r * np.cos(ang), r * np.sin(ang)])
    lon, lat = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1]
    )
    return np.column_stack([lon, lat])


# ---------------------------------------------------------------------- the OSMnx recipe
@dataclass
class Recipe:
    """The OSMnx recipe's graph plus how long each part of building it took."""

    G: nx.MultiDiGraph
    parts: dict[str, float] = field(default_factory=dict)


def recipe_load(xml: Path) -> Recipe:
    """OSM XML -> projected walk graph, the OSMnx way, with lifecircle's pedestrian filter.

    ``graph_from_xml`` applies no ``network_type`` filter, so the same filter as lifecircle's is
    applied to the unsimplified graph, then largest component, simplification and projection.
    """
    parts: dict[str, float] = {}
    t = time.perf_counter()
    G = ox.graph_from_xml(xml, bidirectional=True, simplify=False, retain_all=True)
    parts["graph_from_xml"] = time.perf_counter() - t
    t = time.perf_counter()
    drop = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if not is_walkable({tag: d[tag] for tag in WALK_TAGS if isinstance(d.get(tag), str)})
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    G = ox.truncate.largest_component(G)
    parts["walk filter + largest component"] = time.perf_counter() - t
    t = time.perf_counter()
    G = ox.simplify_graph(G)
    parts["simplify_graph"] = time.perf_counter() - t
    t = time.perf_counter()
    G = ox.project_graph(G)
    parts["project_graph"] = time.perf_counter() - t
    return Recipe(G, parts)


def recipe_nearest(
    G: nx.MultiDiGraph, facilities: list[np.ndarray], communities: np.ndarray, cutoff: float | None
) -> np.ndarray:
    """(category, community) node-to-node distance to the nearest facility node (inf if none)."""
    to_g = Transformer.from_crs("EPSG:4326", G.graph["crs"], always_xy=True)
    cx, cy = to_g.transform(communities[:, 0], communities[:, 1])
    c_nodes = ox.distance.nearest_nodes(G, cx, cy)
    out = np.full((len(facilities), len(communities)), np.inf)
    for k, fac in enumerate(facilities):
        fx, fy = to_g.transform(fac[:, 0], fac[:, 1])
        f_nodes = set(ox.distance.nearest_nodes(G, fx, fy).tolist())
        dist = nx.multi_source_dijkstra_path_length(G, f_nodes, cutoff=cutoff, weight="length")
        out[k] = [dist.get(n, np.inf) for n in c_nodes]
    return out


def recipe_snapped(
    G: nx.MultiDiGraph, facilities: list[np.ndarray], communities: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Coordinates (in G's CRS) of the nodes the recipe snaps facilities and communities to."""
    to_g = Transformer.from_crs("EPSG:4326", G.graph["crs"], always_xy=True)

    def nodes_xy(lonlat: np.ndarray) -> np.ndarray:
        x, y = to_g.transform(lonlat[:, 0], lonlat[:, 1])
        nodes = ox.distance.nearest_nodes(G, x, y)
        return np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])

    return [nodes_xy(f) for f in facilities], nodes_xy(communities)


# ---------------------------------------------------------------------- lifecircle side
def lc_nearest(
    net: lc.WalkNetwork, facilities: list[np.ndarray], communities: np.ndarray, max_m: float | None
) -> np.ndarray:
    """(category, community) network distance to the nearest facility, edge-snapped.

    One call for all categories (``by="category"``), so the communities are snapped once, as
    the recipe snaps them once.
    """
    xy = np.vstack(facilities)
    cat = np.repeat(np.arange(len(facilities)), [len(f) for f in facilities])
    fac = gpd.GeoDataFrame({"category": cat}, geometry=shapely.points(xy), crs="EPSG:4326")
    comm = gpd.GeoSeries(shapely.points(communities), crs="EPSG:4326")
    res = net.distance_to_nearest(fac, comm, max_m=max_m, by="category")
    return res["distance_m"].to_numpy().reshape(len(facilities), len(communities))


def lc_network_part(
    net: lc.WalkNetwork, facilities: list[np.ndarray], communities: np.ndarray
) -> np.ndarray:
    """lifecircle's distance without the two straight access legs (point -> edge)."""
    rows = []
    for fac in facilities:
        res = net.distance_to_nearest(fac, communities)
        f_access = net.snap(fac).access_m
        src = res["source"].to_numpy().astype(np.int64)
        rows.append(res["distance_m"].to_numpy() - res["access_m"].to_numpy() - f_access[src])
    return np.vstack(rows)


# ---------------------------------------------------------------------- timing
@dataclass
class Row:
    step: str
    lc_s: float
    recipe_s: float

    @property
    def ratio(self) -> float:
        return self.recipe_s / self.lc_s


def best_of(fns: list[Callable[[], Any]], repeat: int) -> tuple[list[float], list[Any]]:
    """Best wall time of each function over ``repeat`` rounds, and its last result.

    The functions take turns within each round (order rotated every round), so that a noisy
    neighbour on a shared machine slows all sides alike.
    """
    best = [np.inf] * len(fns)
    results: list[Any] = [None] * len(fns)
    for r in range(repeat):
        for i in range(len(fns)):
            side = (i + r) % len(fns)
            gc.collect()
            t = time.perf_counter()
            results[side] = fns[side]()
            best[side] = min(best[side], time.perf_counter() - t)
    return best, results


# ---------------------------------------------------------------------- report
def stats(diff: np.ndarray) -> str:
    a = np.abs(diff[np.isfinite(diff)])
    return (
        f"median {np.median(a):6.1f} m, p90 {np.percentile(a, 90):6.1f} m, max {a.max():7.1f} m; "
        f"> 50 m: {np.mean(a > 50):5.1%}, > 100 m: {np.mean(a > 100):5.1%}"
    )


def print_table(rows: list[Row]) -> None:
    w = max(len(r.step) for r in rows)
    print(f"\n| {'step':<{w}} | lifecircle s | OSMnx recipe s | ratio (recipe / lifecircle) |")
    print(f"| {'-' * w} | -----------: | -------------: | --------------------------: |")
    for r in rows:
        ratio = f"{r.ratio:.1f}×" if r.ratio >= 1 else f"{r.ratio:.2f}× (lifecircle slower)"
        print(f"| {r.step:<{w}} | {r.lc_s:12.3f} | {r.recipe_s:14.3f} | {ratio:>27} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--shared",
        default=str(default_shared()),
        help="the shared data folder (default: ../shared beside the checkout)",
    )
    ap.add_argument(
        "--data", default=None, help=f"another OSM file instead of <shared>/{DEFAULT_FILE}"
    )
    ap.add_argument("--repeat", type=int, default=3, help="rounds per timed step (best kept)")
    ap.add_argument("--communities", type=int, default=N_COMMUNITIES)
    ap.add_argument(
        "--no-bounded",
        action="store_true",
        help=f"skip the bounded (max_m={MAX_M:.0f}) distance pass",
    )
    ap.add_argument("--no-save", action="store_true", help="skip the save/reload comparison")
    args = ap.parse_args(argv)

    src = resolve_input(args)
    lc.settings.progress = False
    logging.getLogger("lifecircle").setLevel(logging.ERROR)
    ox.settings.useful_tags_way = list(dict.fromkeys([*ox.settings.useful_tags_way, *WALK_TAGS]))

    print(f"lifecircle network benchmark — {dt.date.today().isoformat()}")
    print(f"file: {src} ({src.stat().st_size / 1e6:.1f} MB)")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}; "
        f"Python {platform.python_version()}"
    )
    print(
        f"lifecircle {lc.__version__} ({Path(lc.__file__).parent}), osmnx {ox.__version__}, "
        f"networkx {nx.__version__}, scipy {scipy.__version__}, numpy {np.__version__}, "
        f"shapely {shapely.__version__}, geopandas {gpd.__version__}"
    )
    print(f"best of {args.repeat}, sides alternated\n")

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp_:
        tmp = Path(tmp_)
        name = src.name.lower()
        if name.endswith((".osm", ".xml", ".osm.xml")):
            xml = src
        else:
            t = time.perf_counter()
            xml = to_highway_xml(src, tmp / "highways.osm")
            print(
                f"(untimed) converted {src.name} -> OSM XML of highway ways and their nodes for "
                f"OSMnx with pyosmium: {xml.stat().st_size / 1e6:.1f} MB in "
                f"{time.perf_counter() - t:.1f} s"
            )

        # 1. loading
        loaders = [lambda: lc.load_network(src), lambda: recipe_load(xml)]
        if xml != src:
            loaders.append(lambda: lc.load_network(xml))
        times, results = best_of(loaders, args.repeat)
        net, rec = results[0], results[1]
        label = "PBF" if name.endswith(".pbf") else "file"
        rows.append(Row(f"load: lifecircle on the {label} vs OSMnx on XML", times[0], times[1]))
        if xml != src:
            rows.append(Row("load: both on the same XML", times[2], times[1]))
            if len(results[2].edges) != len(net.edges):
                print("warning: lifecircle read a different network from the converted XML")
        G = rec.G
        print(f"lifecircle: {net!r}")
        print(
            f"OSMnx:      {len(G):,} nodes, {G.number_of_edges():,} directed edges, "
            f"{sum(d['length'] for *_, d in G.edges(data=True)) / 2000:,.1f} km undirected, "
            f"{G.graph['crs']}"
        )
        print(
            "OSMnx recipe load, parts (last round): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in rec.parts.items())
        )

        # 2. the same random work for both
        communities = random_points_near_edges(net, args.communities, SEED)
        facilities = [
            random_points_near_edges(net, n, SEED + 1 + k) for k, n in enumerate(CATEGORY_SIZES)
        ]
        work = (
            f"{len(CATEGORY_SIZES)} categories ({sum(CATEGORY_SIZES)} facilities) × "
            f"{args.communities:,} communities"
        )
        print(f"work: {work}")

        (t_lc, t_rc), (d_lc, d_rc) = best_of(
            [
                lambda: lc_nearest(net, facilities, communities, None),
                lambda: recipe_nearest(G, facilities, communities, None),
            ],
            args.repeat,
        )
        rows.append(Row("nearest distance, unbounded (snap + 6 searches)", t_lc, t_rc))
        # where lifecircle's time goes: snapping every point once to its nearest edge
        (t_snap,), _ = best_of(
            [lambda: (net.snap(np.vstack(facilities)), net.snap(communities))], args.repeat
        )
        print(
            f"lifecircle's unbounded pass: {t_lc:.3f} s, of which snapping to edges "
            f"{t_snap:.3f} s ({t_snap / t_lc:.0%})"
        )
        if not args.no_bounded:
            (t_lc, t_rc), (d_lc_b, d_rc_b) = best_of(
                [
                    lambda: lc_nearest(net, facilities, communities, MAX_M),
                    lambda: recipe_nearest(G, facilities, communities, MAX_M),
                ],
                args.repeat,
            )
            rows.append(
                Row(f"nearest distance, max_m={MAX_M:.0f} / cutoff={MAX_M:.0f}", t_lc, t_rc)
            )

        # 3. saving and reloading the network
        if not args.no_save:
            (t_lc, t_rc), _ = best_of(
                [lambda: net.save(tmp / "net"), lambda: ox.save_graphml(G, tmp / "g.graphml")],
                args.repeat,
            )
            rows.append(Row("save: WalkNetwork.save vs ox.save_graphml", t_lc, t_rc))
            (t_lc, t_rc), _ = best_of(
                [lambda: lc.load_network(tmp / "net"), lambda: ox.load_graphml(tmp / "g.graphml")],
                args.repeat,
            )
            rows.append(Row("reload saved: folder vs ox.load_graphml", t_lc, t_rc))

    print_table(rows)

    # 4. accuracy: the recipe snaps to nodes, lifecircle to edges
    fin = np.isfinite(d_lc) & np.isfinite(d_rc)
    print(
        f"\naccuracy over {fin.sum():,} community × category pairs "
        f"({(~fin).sum()} not finite on one side):"
    )
    print(
        "  the recipe measures node to node (each point moved to its nearest node); lifecircle "
        "measures point to point along the nearest edges, access legs included"
    )
    print(f"  |recipe − lifecircle|, whole distance:         {stats((d_rc - d_lc)[fin])}")
    net_part = lc_network_part(net, facilities, communities)
    print(f"  same, lifecircle without its 2 access legs:    {stats((d_rc - net_part)[fin])}")
    if not args.no_bounded:
        cov_lc = np.isfinite(d_lc_b)
        cov_rc = np.isfinite(d_rc_b)
        print(
            f"  within {MAX_M:.0f} m on one side only: {np.mean(cov_lc != cov_rc):.1%} of pairs "
            f"(lifecircle only {np.mean(cov_lc & ~cov_rc):.1%}, recipe only "
            f"{np.mean(cov_rc & ~cov_lc):.1%})"
        )
    # the graphs themselves agree: start lifecircle at the recipe's snapped nodes
    f_xy, c_xy = recipe_snapped(G, facilities, communities)
    gcrs = G.graph["crs"]
    same = np.vstack(
        [
            net.distance_to_nearest(
                gpd.GeoSeries(shapely.points(f), crs=gcrs),
                gpd.GeoSeries(shapely.points(c_xy), crs=gcrs),
            )["distance_m"].to_numpy()
            for f in f_xy
        ]
    )
    rel = np.abs(same - d_rc)[fin] / np.maximum(d_rc[fin], 1.0)
    print(
        f"  graph check: lifecircle from the recipe's snapped nodes reproduces the recipe's "
        f"distances to {np.max(np.abs(same - d_rc)[fin]):.1f} m (max), {rel.max():.3%} relative "
        "(OSMnx lengths are great-circle on a sphere, lifecircle's planar in the metric CRS)"
    )


if __name__ == "__main__":
    main()
