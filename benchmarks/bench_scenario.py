#!/usr/bin/env python
"""Benchmark a scenario: ``Analysis.with_projects`` against a full re-analysis.

"Adding 20 facilities must not redo the whole city." On the Milan network (≈ 60k walk nodes):

* the work of ``bench_analysis.py``: 1,000 communities and 12 facility categories with
  5–300 random facilities each (same seed, same 12-category profile). By default the
  communities tile the area the network covers, as a city's community boundaries do (Jiaxing's
  1,202 areas): the Voronoi cells of the 1,000 community points, clipped to the convex hull of
  the network's nodes (583.6 km², 233,421 demand points on a 50 m grid, ``--grid-m``; see
  docs/benchmarks.md, "Tenth round"). With ``--radius-m R`` each community is a disc of radius
  R with demand points on the grid (400 m: 200,788 points; "Ninth round"); with ``--points``
  each community is its single point, as ``bench_analysis.py`` has them (the scenario's tables
  are then a fixed cost of about 90 ms that dominates: about 3×);
* 20 added facilities, random points near random edges (fixed seed), spread over the categories
  (round robin, so every category gets one or two);

Sides, on the same network, taking turns, best of ``--repeat``:

* scenario: ``a.with_projects(added)`` on an analysis already made (everything it returns:
  the new Analysis with all its tables, and the comparison);
* full re-analysis (the obvious alternative): ``lc.analyze(net, facilities + added,
  communities, profile)``;
* and the distances alone: the scenario's ``extend_access`` against ``compute_access`` (snap
  everything, one search per category).

The two sides' tables are checked to be equal (every table, the distance and nearest-facility
arrays and the data status). Both sides deliver the same outputs: an :class:`~lifecircle.Analysis`
computes every table when it is constructed (nothing is lazy), so the scenario's time includes
making all of them, patched from the analysis before (``analysis/scenario.py``).
``--profile`` prints where the scenario's time goes (cProfile, top 25 by cumulative time).

Run from the repository root::

    python benchmarks/bench_scenario.py
    python benchmarks/bench_scenario.py --radius-m 400
    python benchmarks/bench_scenario.py --points
    python benchmarks/bench_scenario.py --data path/to/extract.osm.pbf --added 50
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import logging
import os
import platform
import pstats
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not another installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from bench_analysis import CATEGORIES, SEED, make_work, write_profile  # noqa: E402
from bench_network import best_of, default_shared, random_points_near_edges  # noqa: E402

import lifecircle as lc  # noqa: E402
from lifecircle.analysis.access import compute_access  # noqa: E402
from lifecircle.analysis.scenario import added_facilities, extend_access  # noqa: E402

MILAN = "data/intl/milan.osm.pbf"
TABLES = ["coverage", "shortfalls", "categories", "index", "index_by_street", "index_by_county",
          "index_by_city", "data_gaps", "projects"]  # fmt: skip


def make_added(net: lc.WalkNetwork, n: int, n_cats: int = len(CATEGORIES)) -> gpd.GeoDataFrame:
    """``n`` new facilities near random edges, categories round robin over the first
    ``n_cats`` categories."""
    xy = random_points_near_edges(net, n, SEED + 99)
    ids = [f"new{i:03d}" for i in range(n)]
    cats = [CATEGORIES[i % n_cats][0] for i in range(n)]
    return gpd.GeoDataFrame(
        {"facility_id": ids, "category": cats},
        geometry=shapely.points(xy),
        crs=4326,
        index=pd.Index(ids, dtype=object),
    )


def tile_communities(net: lc.WalkNetwork, comm: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``comm`` (points) as the Voronoi cells of their points, clipped to the convex hull of the
    network's nodes: communities with boundaries that tile the area, none overlapping."""
    m = comm.to_crs(net.crs)
    hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(net.nodes.geometry)))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(shapely.get_coordinates(m.geometry)),
                                 extend_to=hull, ordered=True)
    )  # fmt: skip
    return lc.load_communities(m.assign(geometry=shapely.intersection(cells, hull)).to_crs(4326))


def _check_equal(sc_analysis: lc.Analysis, full: lc.Analysis) -> None:
    for t in TABLES:
        pd.testing.assert_frame_equal(getattr(sc_analysis, t), getattr(full, t))
    assert np.array_equal(sc_analysis.access.distance_m, full.access.distance_m)
    assert np.array_equal(sc_analysis.access.nearest, full.access.nearest)
    assert np.array_equal(sc_analysis.point_status, full.point_status)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(default_shared()))
    ap.add_argument("--data", default=None, help=f"an OSM file instead of <shared>/{MILAN}")
    ap.add_argument("--added", type=int, default=20, help="facilities added (default 20)")
    ap.add_argument("--communities", type=int, default=1000)
    ap.add_argument(
        "--added-categories",
        type=int,
        default=len(CATEGORIES),
        help="spread the added facilities over this many categories (default: all 12)",
    )
    ap.add_argument(
        "--radius-m",
        type=float,
        default=0.0,
        help="communities as discs of this radius with demand points on a grid (--grid-m) "
        "inside (default 0: not discs)",
    )
    ap.add_argument(
        "--points",
        action="store_true",
        help="point communities, one demand point each (default: Voronoi cells tiling the "
        "network's area, demand points on a grid)",
    )
    ap.add_argument("--tiled", action="store_true", help="the default (kept for old commands)")
    ap.add_argument("--grid-m", type=float, default=50.0, help="demand grid spacing (default 50)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="cProfile the scenario call")
    ap.add_argument("--machine", default="", help="what else runs on the machine, for the record")
    args = ap.parse_args(argv)
    src = Path(args.data) if args.data else Path(args.shared) / MILAN
    lc.settings.progress = False
    logging.getLogger("lifecircle").setLevel(logging.ERROR)

    print(f"lifecircle scenario benchmark — {dt.date.today().isoformat()}")
    print(f"file: {src} ({src.stat().st_size / 1e6:.1f} MB)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}; "
          f"Python {platform.python_version()}; {args.machine}")  # fmt: skip
    net = lc.load_network(src)
    with TemporaryDirectory(prefix="lc-bench-") as tmp:
        profile = lc.load_profile(write_profile(Path(tmp)))
    comm, fac = make_work(net, args.communities)
    demand = None
    if args.points and (args.tiled or args.radius_m > 0):
        ap.error("--points: not with --tiled or --radius-m")
    if args.radius_m > 0:
        m = comm.to_crs(net.crs)
        comm = lc.load_communities(m.assign(geometry=m.geometry.buffer(args.radius_m)).to_crs(4326))
    elif not args.points:
        comm = tile_communities(net, comm)
    if not args.points:
        demand = lc.demand_points(comm, grid_m=args.grid_m)
        area = comm.to_crs(net.crs).area.sum() / 1e6
        print(f"communities: {len(comm):,} areas, {area:,.1f} km² in all")
    added = make_added(net, args.added, args.added_categories)
    print(f"{net!r}")
    print(f"work: {len(comm):,} communities × {len(CATEGORIES)} categories, {len(fac):,} "
          f"facilities; {len(added)} added over {added['category'].nunique()} categories; "
          f"{len(demand.points) if demand else len(comm):,} demand points")  # fmt: skip
    a = lc.analyze(net, fac, comm, profile, demand=demand)
    both = pd.concat([fac, added])

    (t_sc, t_full), (sc, full) = best_of(
        [
            lambda: a.with_projects(added),
            lambda: lc.analyze(net, both, comm, profile, demand=demand),
        ],
        args.repeat,
    )
    _check_equal(sc.analysis, full)
    new = added_facilities(added, a)
    fac_all = gpd.GeoDataFrame(pd.concat([a.facilities, new]).sort_index(), crs=a.facilities.crs)
    p = a.params
    (t_ext, t_acc), _ = best_of(
        [lambda: extend_access(a, new, fac_all),
         lambda: compute_access(net, a.demand, fac_all, p.categories, p.max_snap_m)],
        args.repeat,
    )  # fmt: skip
    print(f"\nbest of {args.repeat}, sides alternated; tables checked equal\n")
    print("| step | scenario s | full re-analysis s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| whole call: with_projects vs analyze | {t_sc:.3f} | {t_full:.3f} | "
          f"{t_full / t_sc:.1f}× |")  # fmt: skip
    print(f"| distances: extend_access vs compute_access | {t_ext:.3f} | {t_acc:.3f} | "
          f"{t_acc / t_ext:.1f}× |")  # fmt: skip
    form = "points" if args.points else f"discs of {args.radius_m:g} m" if args.radius_m else "tiles"
    print(f"\nissue 16 asks a scenario ≥ 10× faster than a full re-analysis (Milan, 20 added): "
          f"{t_full / t_sc:.1f}× here, communities as {form}")  # fmt: skip
    print(f"\n{sc!r}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        a.with_projects(added)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
