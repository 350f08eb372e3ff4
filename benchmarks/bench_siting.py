#!/usr/bin/env python
"""Benchmark exact siting and the 5-year programme against greedy and PySAL spopt.

Work, on the Milan network in ../shared (≈ 60k nodes; fixed seeds):

* 2,000 point communities up to 60 m off random edges (500–12,000 residents, 10–30% aged 60+),
  in 20 streets (a 4 × 5 grid over the network) and 2 counties;
* 9 facility categories (3 each at the 15-, 10- and 5-minute level: 1000, 500, 300 m; two for
  people aged 60+), 5–40 random facilities each, so that every category has gaps;
* 5,000 candidate places up to 60 m off random edges, with a cost (100–3,000), an earliest
  year (2026–2028) and any category.

Timed:

1. the siting problems: for each category the uncovered residents and the sparse candidate ×
   point cover matrix on the network (``siting_problem``);
2. exact maximal covering (HiGHS) for p = 5, 10, 20 sites per category, against greedy on the
   same matrix (the fast mode), with greedy's gap to the optimum;
3. the obvious alternative for the exact model, side by side: PySAL spopt's MCLP on the same
   coverage (a dense cost matrix through PuLP, solved with HiGHS), for the first ``--spopt``
   categories;
4. the 5-year programme (2026–2030, ``--per-year`` projects a year, every street ≥ 1 project
   a year), from the analysis to the table, all categories in one model a year.

Machines are noisy: compare ratios. Run from the repository root::

    python benchmarks/bench_siting.py
    python benchmarks/bench_siting.py --data path/to/extract.osm.pbf
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
import highspy  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from bench_network import default_shared, random_points_near_edges  # noqa: E402

import lifecircle as lc  # noqa: E402
from lifecircle.analysis.candidates import siting_problem, user_candidates  # noqa: E402
from lifecircle.analysis.optimize import greedy_covering, maximal_covering  # noqa: E402
from lifecircle.analysis.programme import ProgrammeParams, plan_programme  # noqa: E402

MILAN = "data/intl/milan.osm.pbf"
SEED = 20261204
LEVELS = {"L15": (15, 1000), "L10": (10, 500), "L5": (5, 300)}
#: 9 categories: (id, level, target group)
CATEGORIES = [
    ("c15_health_centre", "L15", "total"),
    ("c15_culture_centre", "L15", "total"),
    ("c15_nursing_home", "L15", "elderly"),
    ("c10_primary_school", "L10", "total"),
    ("c10_market", "L10", "total"),
    ("c10_park", "L10", "total"),
    ("c5_kindergarten", "L5", "total"),
    ("c5_elderly_daycare", "L5", "elderly"),
    ("c5_health_station", "L5", "total"),
]
YEARS = (2026, 2027, 2028, 2029, 2030)


def write_profile(folder: Path) -> Path:
    """A 9-category profile (TOML) whose numbers are this benchmark's choice (mark C)."""
    lines = [
        'id = "bench-9"', 'version = "0"', 'title_zh = "基准测试配置"',
        'title_en = "Benchmark profile, 9 categories"', "nested_levels = false",
        'nested_levels_source = ["bench"]', "", "[refs]",
        'bench = { document = "benchmarks/bench_siting.py", clause = "", mark = "C", '
        'note = "benchmark fixture" }',
    ]  # fmt: skip
    for lid, (walk, dist) in LEVELS.items():
        lines += ["", f"[levels.{lid}]", f'name_zh = "{walk}分钟生活圈"', f"walk_min = {walk}",
                  f"distance_m = {dist}", 'sources = ["bench"]']  # fmt: skip
    for cid, lid, group in CATEGORIES:
        lines += ["", f"[categories.{cid}]", f'name_zh = "{cid}"', f'name_en = "{cid}"',
                  f'level = "{lid}"', f'target_group = "{group}"', 'sources = ["bench"]',
                  f'keywords = ["{cid}"]']  # fmt: skip
    path = folder / "bench-9.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_work(net: lc.WalkNetwork, n_comm: int, n_cand: int) -> tuple:
    """Communities (with streets), facilities and candidates, all WGS84."""
    rng = np.random.default_rng(SEED)
    pts = random_points_near_edges(net, n_comm, SEED)
    metric = gpd.GeoSeries(shapely.points(pts), crs=4326).to_crs(net.crs)
    x0, y0, x1, y1 = net.bounds
    col = np.clip(((metric.x - x0) / (x1 - x0) * 5).astype(int), 0, 4)
    row = np.clip(((metric.y - y0) / (y1 - y0) * 4).astype(int), 0, 3)
    pop = rng.integers(500, 12_001, n_comm).astype(float)
    comm = gpd.GeoDataFrame(
        {"community_id": [f"c{i:04d}" for i in range(n_comm)], "population": pop,
         "pop_elderly": np.round(pop * rng.uniform(0.10, 0.30, n_comm)),
         "街道": [f"街道{r}{c}" for r, c in zip(row, col, strict=True)],
         "区县": np.where(col < 3, "西区", "东区")},
        geometry=shapely.points(pts), crs="EPSG:4326",
    )  # fmt: skip
    frames = []
    for k, (cid, _, _) in enumerate(CATEGORIES):
        xy = random_points_near_edges(net, int(rng.integers(5, 41)), SEED + 1 + k)
        frames.append(pd.DataFrame({"category": cid, "x": xy[:, 0], "y": xy[:, 1]}))
    f = pd.concat(frames, ignore_index=True)
    fac = gpd.GeoDataFrame(
        {"category": f["category"].to_numpy()},
        geometry=shapely.points(f[["x", "y"]].to_numpy()), crs="EPSG:4326",
        index=pd.Index([f"f{i:05d}" for i in range(len(f))]),
    )  # fmt: skip
    cxy = random_points_near_edges(net, n_cand, SEED + 99)
    cand = gpd.GeoDataFrame(
        {"cost": rng.integers(100, 3001, n_cand).astype(float),
         "earliest_year": rng.integers(2026, 2029, n_cand)},
        geometry=shapely.points(cxy), crs="EPSG:4326",
    )  # fmt: skip
    return lc.load_communities(comm), fac, cand


def spopt_mclp(cover, weights: np.ndarray, p: int) -> tuple[float, float]:
    """PySAL spopt's MCLP on the same coverage: (objective, seconds incl. building the model)."""
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    cost = np.where(cover.T.toarray() > 0, 0.0, 2.0)  # demand × candidates; radius 1
    m = MCLP.from_cost_matrix(cost, weights, 1.0, p_facilities=p)
    m.solve(pulp.HiGHS(msg=False))
    return float(pulp.value(m.problem.objective)), time.perf_counter() - t0


def bench_categories(a: lc.Analysis, cands, n_spopt: int) -> None:
    """Exact MCLP vs greedy for p = 5, 10, 20 per category, and spopt on the first ones."""
    print("\nexact maximal covering (HiGHS) vs greedy, per category "
          "(residents newly covered; gap = greedy's shortfall from the optimum):")  # fmt: skip
    print(f"  {'category':<20} {'pts':>5} {'cands':>5} {'build s':>7} {'p':>3} "
          f"{'exact':>10} {'greedy':>10} {'gap':>6} {'exact s':>8} {'greedy s':>8} status")  # fmt: skip
    totals = {"build": 0.0, "exact": 0.0, "greedy": 0.0}
    spopt_rows = []
    for k, c in enumerate(a.params.category_list(a.profile)):
        t0 = time.perf_counter()
        prob = siting_problem(a.network, a.demand, a.access, c, a.thresholds[c.id], cands)
        build = time.perf_counter() - t0
        totals["build"] += build
        for p in (5, 10, 20):
            ex = maximal_covering(prob.cover, prob.weights, p)
            gr = greedy_covering(prob.cover, prob.weights, p)
            totals["exact"] += ex.solve_s
            totals["greedy"] += gr.solve_s
            gap = (ex.covered - gr.covered) / ex.covered if ex.covered else 0.0
            print(f"  {c.id:<20} {len(prob.points):>5} {prob.cover.shape[0]:>5} {build:>7.2f} "
                  f"{p:>3} {ex.covered:>10,.0f} {gr.covered:>10,.0f} {gap:>6.2%} "
                  f"{ex.solve_s:>8.3f} {gr.solve_s:>8.3f} {ex.status}")  # fmt: skip
            if k < n_spopt:
                obj, secs = spopt_mclp(prob.cover, prob.weights, p)
                spopt_rows.append((c.id, p, ex.covered, ex.solve_s, obj, secs))
    print(f"  totals: build {totals['build']:.2f} s, exact {totals['exact']:.2f} s, "
          f"greedy {totals['greedy']:.2f} s (27 solves each)")  # fmt: skip
    if spopt_rows:
        print("\nthe same exact model, lifecircle (HiGHS, merged demand) vs spopt MCLP "
              "(PuLP → HiGHS, dense cost matrix), same coverage:")  # fmt: skip
        print(f"  {'category':<20} {'p':>3} {'lifecircle':>10} {'s':>7} {'spopt':>10} {'s':>7} ratio")
        for cid, p, ours, s1, obj, s2 in spopt_rows:
            print(f"  {cid:<20} {p:>3} {ours:>10,.0f} {s1:>7.3f} {obj:>10,.0f} {s2:>7.2f} "
                  f"{s2 / max(s1, 1e-9):5.0f}×")  # fmt: skip


def bench_programme(a: lc.Analysis, places: gpd.GeoDataFrame, per_year: int, target_rule: str) -> None:
    """The whole 5-year programme, timed from the analysis and the candidate places."""
    t0 = time.perf_counter()
    cands = user_candidates(a.network, places, a.params.max_snap_m)
    params = ProgrammeParams(YEARS, projects_per_year=per_year, target_share=0.6, target_year=2030,
                             target_rule=target_rule)  # fmt: skip
    prog = plan_programme(a, params, cands)
    secs = time.perf_counter() - t0
    print(f"\n5-year programme ({YEARS[0]}–{YEARS[-1]}, {per_year} projects a year, every street "
          f"≥ 1 a year, {len(CATEGORIES)} categories × {len(places):,} candidates, target 60% by "
          f"2030 {target_rule}): {secs:.1f} s in all")  # fmt: skip
    by = prog.by_year.copy()
    by["greedy_gap"] = 1 - by["greedy_objective"] / by["objective"]
    print(by.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    print(f"solver time {by['solve_s'].sum():.1f} s of {secs:.1f} s; greedy (same projects and "
          "street rule) short of the optimum by the greedy_gap above")  # fmt: skip
    for msg in prog.issues["message"].head(3):
        print(f"  reported: {msg}")
    print(f"share meeting the standard before: {prog.baseline_share:.3f}; target 0.6 by 2030 "
          f"met: {prog.target_met}; rules reported: {len(prog.issues)}")  # fmt: skip
    streets = prog.table.groupby("year")["street_name"].nunique()
    print(f"streets with a project each year: {streets.to_dict()}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(default_shared()))
    ap.add_argument("--data", default=None, help=f"another OSM file instead of <shared>/{MILAN}")
    ap.add_argument("--communities", type=int, default=2_000)
    ap.add_argument("--candidates", type=int, default=5_000)
    ap.add_argument("--per-year", type=int, default=30, help="projects a year in the programme")
    ap.add_argument("--spopt", type=int, default=1, help="categories also solved with spopt")
    ap.add_argument("--target-rule", default="check", choices=("check", "report"),
                    help="the programme's target: only checked (as before), or imposed")
    ap.add_argument("--programme-only", action="store_true", help="skip the per-category solves")
    ap.add_argument("--machine", default="", help="what else runs on the machine, for the log")
    args = ap.parse_args(argv)
    src = Path(args.data) if args.data else Path(args.shared) / MILAN
    if not src.is_file():
        sys.exit(f"bench_siting: {src} does not exist (use --shared or --data)")
    lc.settings.progress = False
    logging.getLogger("lifecircle").setLevel(logging.ERROR)
    print(f"lifecircle siting benchmark — {dt.date.today().isoformat()}; file: {src}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}; "
          f"Python {platform.python_version()}; HiGHS {highspy.Highs().version()} (1 thread) "
          f"{args.machine}")  # fmt: skip
    t0 = time.perf_counter()
    net = lc.load_network(src)
    print(f"network: {net!r} (loaded in {time.perf_counter() - t0:.1f} s, untimed below)")
    comm, fac, places = make_work(net, args.communities, args.candidates)
    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp:
        profile = lc.load_profile(write_profile(Path(tmp)))
    t0 = time.perf_counter()
    a = lc.analyze(net, fac, comm, profile)
    print(f"analysis: {a!r} in {time.perf_counter() - t0:.1f} s")
    cands = user_candidates(net, places, a.params.max_snap_m)
    if not args.programme_only:
        bench_categories(a, cands, args.spopt)
    bench_programme(a, places, args.per_year, args.target_rule)


if __name__ == "__main__":
    main()
