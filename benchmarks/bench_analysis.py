#!/usr/bin/env python
"""Benchmark a whole gap analysis: lifecircle.analyze against the OSMnx + networkx recipe.

"A city of 1,000 communities × 12 categories completes in seconds." Same work on both sides, on
a network both have already loaded (loading is timed in ``bench_network.py``):

* 1,000 point communities, random points up to 60 m off random edges (fixed seed), each with a
  random population (500–12,000) and a random share of people aged 60+ (10–30%);
* 12 facility categories (4 each at the 15-, 10- and 5-minute level: 1000, 500, 300 m; two of
  them for people aged 60+) with 5–300 random facilities each, from a 12-category TOML profile
  written to a temporary folder;
* for every community and category: the network distance to the nearest facility, the people
  (of the category's target group) within the threshold, and per category the covered share.

Sides:

* lifecircle: ``lc.analyze(network, facilities, communities, profile)`` — everything it does
  (demand points, snapping once, one multi-source search per category, coverage, shortfalls
  ranked with reasons, index, category ranking, run id);
* the recipe: ``ox.distance.nearest_nodes`` for the communities once, then per category
  ``nearest_nodes`` for the facilities and ``nx.multi_source_dijkstra_path_length`` (weight
  ``length``), a look-up per community node, covered people within the threshold and the covered
  share per category with pandas. Timed twice: without a cutoff (it then has the distances, as
  lifecircle has) and with ``cutoff=threshold`` (only covered / not covered).

Machines are noisy: every timed step runs ``--repeat`` times, the sides take turns and the best
time is kept. Compare the ratio, not the seconds.

Run from the repository root::

    python benchmarks/bench_analysis.py
    python benchmarks/bench_analysis.py --data path/to/extract.osm.pbf
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not another installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import osmnx as ox  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import shapely  # noqa: E402
from bench_network import (  # noqa: E402
    DEFAULT_FILE,
    WALK_TAGS,
    Row,
    best_of,
    default_shared,
    print_table,
    random_points_near_edges,
    recipe_load,
    resolve_input,
    to_highway_xml,
)
from pyproj import Transformer  # noqa: E402

import lifecircle as lc  # noqa: E402
from lifecircle.analysis.capacity import add_capacity  # noqa: E402
from lifecircle.analysis.coverage import coverage_table  # noqa: E402
from lifecircle.analysis.index import (  # noqa: E402
    STREET_KEYS,
    category_table,
    community_index,
    index_by,
)
from lifecircle.analysis.shortfalls import shortfall_table  # noqa: E402

N_COMMUNITIES = 1_000
SEED = 20240607
LEVELS = {"L15": (15, 1000), "L10": (10, 500), "L5": (5, 300)}
#: 12 categories: (id, level, target group)
CATEGORIES = [
    ("c15_health_centre", "L15", "total"),
    ("c15_culture_centre", "L15", "total"),
    ("c15_nursing_home", "L15", "elderly"),
    ("c15_sports_hall", "L15", "total"),
    ("c10_primary_school", "L10", "total"),
    ("c10_market", "L10", "total"),
    ("c10_bus_stop", "L10", "total"),
    ("c10_park", "L10", "total"),
    ("c5_kindergarten", "L5", "total"),
    ("c5_elderly_daycare", "L5", "elderly"),
    ("c5_health_station", "L5", "total"),
    ("c5_shops", "L5", "total"),
]


def write_profile(folder: Path) -> Path:
    """A 12-category profile (TOML) whose numbers are this benchmark's choice (mark C)."""
    lines = [
        'id = "bench-12"',
        'version = "0"',
        'title_zh = "基准测试配置"',
        'title_en = "Benchmark profile, 12 categories"',
        "nested_levels = false",
        'nested_levels_source = ["bench"]',
        "",
        "[refs]",
        'bench = { document = "benchmarks/bench_analysis.py", clause = "", mark = "C", '
        'note = "benchmark fixture" }',
    ]
    for lid, (walk, dist) in LEVELS.items():
        lines += [
            "",
            f"[levels.{lid}]",
            f'name_zh = "{walk}分钟生活圈"',
            f"walk_min = {walk}",
            f"distance_m = {dist}",
            'sources = ["bench"]',
        ]
    for cid, lid, group in CATEGORIES:
        lines += [
            "",
            f"[categories.{cid}]",
            f'name_zh = "{cid}"',
            f'name_en = "{cid}"',
            f'level = "{lid}"',
            f'target_group = "{group}"',
            'sources = ["bench"]',
            f'keywords = ["{cid}"]',
        ]
    path = folder / "bench-12.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_work(net: lc.WalkNetwork, n_comm: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(SEED)
    pts = random_points_near_edges(net, n_comm, SEED)
    pop = rng.integers(500, 12_001, n_comm).astype(float)
    elderly = np.round(pop * rng.uniform(0.10, 0.30, n_comm))
    comm = gpd.GeoDataFrame(
        {
            "community_id": [f"c{i:04d}" for i in range(n_comm)],
            "population": pop,
            "pop_elderly": elderly,
        },
        geometry=shapely.points(pts),
        crs="EPSG:4326",
    )
    sizes = rng.integers(5, 301, len(CATEGORIES))
    frames = []
    for k, ((cid, _, _), n) in enumerate(zip(CATEGORIES, sizes, strict=True)):
        xy = random_points_near_edges(net, int(n), SEED + 1 + k)
        frames.append(pd.DataFrame({"category": cid, "x": xy[:, 0], "y": xy[:, 1]}))
    f = pd.concat(frames, ignore_index=True)
    fac = gpd.GeoDataFrame(
        {"category": f["category"].to_numpy()},
        geometry=shapely.points(f[["x", "y"]].to_numpy()),
        crs="EPSG:4326",
        index=pd.Index([f"f{i:05d}" for i in range(len(f))]),
    )
    return lc.load_communities(comm), fac


# ---------------------------------------------------------------------- the recipe
def recipe_analysis(
    G: nx.MultiDiGraph,
    fac: gpd.GeoDataFrame,
    comm: gpd.GeoDataFrame,
    thresholds: dict[str, float],
    cutoff: bool,
) -> tuple[pd.DataFrame, pd.Series]:
    """Per community × category: distance, covered people; per category: covered share."""
    to_g = Transformer.from_crs("EPSG:4326", G.graph["crs"], always_xy=True)
    cx, cy = to_g.transform(comm.geometry.x.to_numpy(), comm.geometry.y.to_numpy())
    c_nodes = ox.distance.nearest_nodes(G, cx, cy)
    fx, fy = to_g.transform(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    fcat = fac["category"].to_numpy()
    frames = []
    for cid, _, group in CATEGORIES:
        thr = thresholds[cid]
        sel = fcat == cid
        f_nodes = set(ox.distance.nearest_nodes(G, fx[sel], fy[sel]).tolist())
        dist = nx.multi_source_dijkstra_path_length(
            G, f_nodes, cutoff=thr if cutoff else None, weight="length"
        )
        d = np.array([dist.get(n, np.inf) for n in c_nodes])
        people = comm["population" if group == "total" else "pop_elderly"].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "community_id": comm["community_id"].to_numpy(),
                    "category": cid,
                    "distance_m": d,
                    "group_pop": people,
                    "covered_pop": np.where(d <= thr, people, 0.0),
                }
            )
        )
    cov = pd.concat(frames, ignore_index=True)
    g = cov.groupby("category")
    share = g["covered_pop"].sum() / g["group_pop"].sum()
    return cov, share


# ---------------------------------------------------------------------- where lifecircle's time goes
def lc_parts(net: lc.WalkNetwork, fac: gpd.GeoDataFrame, comm: gpd.GeoDataFrame, profile) -> dict:
    """The stages of ``analyze`` timed one by one (the same public stage functions it calls)."""
    out = {}

    def timed(key, fn):
        t = time.perf_counter()
        res = fn()
        out[key] = time.perf_counter() - t
        return res

    demand = timed("demand points", lambda: lc.demand_points(comm))
    f = fac.sort_index()
    snaps = timed(
        "snap communities + facilities to edges",
        lambda: (net.snap(demand.points), net.snap(f)),
    )
    cat = f["category"].to_numpy()
    timed(
        f"{len(CATEGORIES)} multi-source searches (SciPy Dijkstra)",
        lambda: [
            net.nearest(snaps[1].take(np.flatnonzero(cat == cid)), snaps[0])
            for cid, _, _ in CATEGORIES
        ],
    )
    a = timed("whole analyze", lambda: lc.analyze(net, fac, comm, profile))
    cats = a.params.category_list(profile)
    pts = a.demand

    def coverage():
        cov = coverage_table(pts, a.communities, cats, a.access, a.thresholds, 0.8)
        add_capacity(cov, cats, a.facilities, pts, a.access, a.thresholds, net)
        return cov

    cov = timed("  coverage table (incl. weighted medians)", coverage)
    timed("  shortfalls ranked, with zh/en reasons", lambda: shortfall_table(cov, cats, profile))
    timed(
        "  service index + street/county",
        lambda: index_by(community_index(cov, a.communities, cats), STREET_KEYS, 0.6),
    )
    timed(
        "  category ranking (city/county/street)",
        lambda: category_table(cov, a.facilities, cats, a.thresholds),
    )
    return out


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
    ap.add_argument("--repeat", type=int, default=5, help="rounds per timed step (best kept)")
    ap.add_argument("--communities", type=int, default=N_COMMUNITIES)
    ap.add_argument(
        "--synthetic-grid",
        type=int,
        default=None,
        metavar="N",
        help="use a synthetic N × N street grid (80 m blocks) instead of an OSM file, "
        "to measure at city scale (e.g. 300: 90,000 nodes)",
    )
    args = ap.parse_args(argv)

    src = None if args.synthetic_grid else resolve_input(args)
    lc.settings.progress = False
    logging.getLogger("lifecircle").setLevel(logging.ERROR)
    ox.settings.useful_tags_way = list(dict.fromkeys([*ox.settings.useful_tags_way, *WALK_TAGS]))

    print(f"lifecircle gap-analysis benchmark — {dt.date.today().isoformat()}")
    if src is not None:
        print(f"file: {src} ({src.stat().st_size / 1e6:.1f} MB)")
    else:
        print(
            f"network: synthetic {args.synthetic_grid} × {args.synthetic_grid} street grid, 80 m blocks"
        )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}; "
        f"Python {platform.python_version()}"
    )
    print(
        f"lifecircle {lc.__version__} ({Path(lc.__file__).parent}), osmnx {ox.__version__}, "
        f"networkx {nx.__version__}, scipy {scipy.__version__}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, shapely {shapely.__version__}, geopandas {gpd.__version__}"
    )
    print(f"best of {args.repeat}, sides alternated\n")

    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp_:
        tmp = Path(tmp_)
        # untimed: both sides load their network once
        if src is None:
            G = ox.truncate.largest_component(lc.synthetic.grid_graph(args.synthetic_grid, seed=SEED))
            net = lc.load_network(G)
        else:
            name = src.name.lower()
            xml = (
                src
                if name.endswith((".osm", ".xml"))
                else to_highway_xml(src, tmp / "highways.osm")
            )
            net = lc.load_network(src)
            G = recipe_load(xml).G
        profile = lc.load_profile(write_profile(tmp))
    print(f"lifecircle: {net!r}")
    print(f"OSMnx:      {len(G):,} nodes, {G.number_of_edges():,} directed edges, {G.graph['crs']}")

    comm, fac = make_work(net, args.communities)
    thresholds = {c.id: float(c.distance_m) for c in profile.categories.values()}
    counts = fac["category"].value_counts()
    print(
        f"work: {len(comm):,} communities ({comm['population'].sum():,.0f} people) × "
        f"{len(CATEGORIES)} categories ({len(fac):,} facilities, {counts.min()}–{counts.max()} "
        "per category)"
    )

    lc_analyze = lambda: lc.analyze(net, fac, comm, profile)  # noqa: E731
    rec_full = lambda: recipe_analysis(G, fac, comm, thresholds, cutoff=False)  # noqa: E731
    rec_cut = lambda: recipe_analysis(G, fac, comm, thresholds, cutoff=True)  # noqa: E731
    (t_lc, t_full, t_cut), (a, (cov_r, share_r), (cov_c, share_c)) = best_of(
        [lc_analyze, rec_full, rec_cut], args.repeat
    )
    rows = [
        Row(
            f"{len(comm):,} communities × {len(CATEGORIES)} categories: analyze vs recipe, no cutoff",
            t_lc,
            t_full,
        ),
        Row("the same, recipe with cutoff = threshold", t_lc, t_cut),
    ]
    print_table(rows)
    print(f"\nlifecircle produced: {a!r}")

    # where lifecircle's time goes
    parts: dict[str, float] = {}
    for _ in range(args.repeat):
        for k, v in lc_parts(net, fac, comm, profile).items():
            parts[k] = min(parts.get(k, np.inf), v)
    print(
        "\nwhere lifecircle's time goes (each part best of "
        f"{args.repeat}, timed apart, so they need not add up to the whole):"
    )
    for k, v in parts.items():
        print(f"  {k:<52} {v:7.3f} s")

    # agreement: the recipe snaps to nodes, lifecircle to edges
    lc_share = a.categories[a.categories["scope"] == "city"].set_index("category")["covered_share"]
    cov_l = a.coverage.set_index(["community_id", "category"])
    r = cov_r.set_index(["community_id", "category"]).loc[cov_l.index]
    in_l = cov_l["distance_m"].to_numpy() <= cov_l["threshold_m"].to_numpy()
    in_r = r["covered_pop"].to_numpy() > 0
    print("\ncovered share per category, lifecircle vs recipe (node-snapped):")
    for cid, _, _ in CATEGORIES:
        print(f"  {cid:<22} {lc_share[cid]:6.1%}  {share_r[cid]:6.1%}")
    print(
        f"community × category pairs covered on one side only: {np.mean(in_l != in_r):.1%} "
        f"(lifecircle only {np.mean(in_l & ~in_r):.1%}, recipe only {np.mean(in_r & ~in_l):.1%})"
    )
    assert np.allclose(share_r.sort_index(), share_c.sort_index()), (
        "cutoff changed the recipe's result"
    )


if __name__ == "__main__":
    main()
