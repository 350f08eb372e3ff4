"""Benchmark: the same multi-region job as one process and on 1 and 2 Dask workers, the equality
of their answers (the contract of lifecircle.batch), and a synthetic province run.

Run from the repository root (needs ``pip install -e '.[batch]'``)::

    .venv/bin/python benchmarks/bench_batch.py                     # Milan + 2M-node province
    .venv/bin/python benchmarks/bench_batch.py --province-n 708    # a 500k-node province
    .venv/bin/python benchmarks/bench_batch.py --skip-milan --memory 224 708
    .venv/bin/python benchmarks/bench_batch.py --skip-milan --province-n 0 --memory 2237  # 5M nodes

* **Milan** (``../shared/data/intl/milan.osm.pbf``, OSM facilities of the Jiaxing profile's
  categories, plus 1 synthetic facility per 25 ha near a random street, with capacities): square
  500 m synthetic communities over the network, grouped into streets by a
  3 × 2 grid of blocks (6 regions). Timed: ``lc.analyze`` on the whole area (one process), then
  ``analyze_regions`` with ``scheduler="inline"`` (one process, region after region), on a Dask
  LocalCluster of 1 worker and of 2 workers (cluster start-up included, and reported apart).
  Each regional result is compared with the whole run on the contract's columns.
* **Province**: ``lc.synthetic.province(n)`` (``n²`` street-grid nodes, 500 m communities,
  25 km counties) split by county, on 2 Dask workers: wall time, time per phase (merge apart),
  peak memory per worker and of the main process during ``analyze_regions``. With
  ``--province-whole``, the same province analysed whole by ``lc.analyze`` in this process instead.
* **Memory per task** (``--memory``): one region covering a whole ``synthetic.province(n)``,
  its worker's peak resident memory during the task, against the worker's memory before it, and
  the merge time and main process's peak.

The main process's peak is sampled every 10 ms (``batch.PeakRSS``) during each timed call; for
the whole script run it under ``/usr/bin/time -v`` (``Maximum resident set size``).

Machines are shared and noisy: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import lifecircle as lc
from lifecircle import batch

DATA = Path(os.environ.get("LIFECIRCLE_SHARED", ROOT.parent / "shared")) / "data"
PROFILE = "jiaxing-yilao-yixiao"
DIST = ["distance_m", "distance_min_m", "distance_max_m"]


def milan_job() -> tuple[lc.WalkNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    pbf = DATA / "intl" / "milan.osm.pbf"
    prof = lc.load_profile(PROFILE)
    net = lc.load_network(pbf)
    fac = lc.facilities_from_osm(pbf, prof)
    x0, y0, x1, y1 = net.bounds
    size = 500.0
    xs, ys = np.arange(x0, x1, size), np.arange(y0, y1, size)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    boxes = shapely.box(gx, gy, gx + size, gy + size)
    keep = shapely.STRtree(net.edges.geometry.values).query(boxes, predicate="intersects")[0]
    keep = np.unique(keep)
    gx, gy, boxes = gx[keep], gy[keep], boxes[keep]
    bx = np.minimum(((gx - x0) / (x1 - x0) * 3).astype(int), 2)
    by = np.minimum(((gy - y0) / (y1 - y0) * 2).astype(int), 1)
    street = by * 3 + bx
    rng = np.random.default_rng(0)
    order = np.argsort(street, kind="stable")
    local = np.zeros(len(street), dtype=int)
    for s in np.unique(street):
        rows = order[street[order] == s]
        local[rows] = np.arange(len(rows))
    comm = gpd.GeoDataFrame(
        {
            "社区代码": [f"330402{s:03d}{m + 1:03d}" for s, m in zip(street, local, strict=True)],
            "社区名称": [f"社区{i}" for i in range(len(street))],
            "街道": [f"街道{s}" for s in street],
            "区县": "米兰区",
            "常住人口": rng.integers(1000, 9000, len(street)),
        },
        geometry=boxes,
        crs=net.crs,
    )
    # the extract holds few POIs: add facilities near random streets (1 per 25 ha, seed 0) with
    # capacities, so both sides of the reach and the 2SFCA across boundaries are exercised
    n_fac = int(len(boxes) * size * size / 250_000)
    e = rng.choice(len(net.edges), n_fac)
    pts = shapely.line_interpolate_point(net.edges.geometry.values[e], rng.random(n_fac),
                                         normalized=True)  # fmt: skip
    extra = gpd.GeoDataFrame(
        {"category": rng.choice(list(prof.categories), n_fac),
         "name": [f"F{i}" for i in range(n_fac)],
         "capacity": rng.integers(20, 200, n_fac).astype(float)},
        geometry=pts, crs=net.crs, index=pd.Index([f"S{i:05d}" for i in range(n_fac)]),
    ).to_crs(fac.crs)  # fmt: skip
    fac = pd.concat([fac, extra])
    return net, fac, lc.load_communities(comm)


def contract_check(whole: pd.DataFrame, merged: pd.DataFrame, reach_m: float) -> str:
    """'equal' or the columns that break the contract (see lifecircle.batch)."""
    if len(whole) != len(merged) or list(whole.columns) != list(merged.columns):
        return f"shape {whole.shape} vs {merged.shape}"
    bad = []
    for col in whole.columns:
        w, m = whole[col].to_numpy(), merged[col].to_numpy()
        if col in DIST:
            ok = w <= reach_m
            if not (np.array_equal(w[ok], m[ok]) and np.isinf(m[~ok]).all()):
                bad.append(col)
        elif col == "nearest_facility":
            near = whole["distance_min_m"].to_numpy() <= reach_m
            if not (w[near] == m[near]).all():
                bad.append(col)
        elif not whole[col].equals(merged[col]):
            bad.append(col)
    return "equal" if not bad else "DIFFERENT: " + ", ".join(bad)


def timed_whole(net, fac, comm, prof):
    with batch.PeakRSS() as mem:
        t0 = time.perf_counter()
        a = lc.analyze(net, fac, comm, prof)
        sec = time.perf_counter() - t0
    return a, sec, mem.peak / 2**20


def timed_regions(net, fac, comm, prof, scheduler, by="street_code", n_workers=None):
    from dask.distributed import Client, LocalCluster

    start = 0.0
    client = cluster = None
    if scheduler == "dask":
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        start = time.perf_counter() - t0
    try:
        with batch.PeakRSS() as mem:
            t0 = time.perf_counter()
            res = lc.analyze_regions(net, fac, comm, prof, by=by,
                                     scheduler=client if client else "inline")  # fmt: skip
            sec = time.perf_counter() - t0
    finally:
        if client:
            client.close()
            cluster.close()
    return res, sec, start, mem.peak / 2**20


def bench_milan() -> None:
    prof = lc.load_profile(PROFILE)
    t0 = time.perf_counter()
    net, fac, comm = milan_job()
    print(
        f"\n## Milan: {net}; {len(comm):,} communities in {comm['street_code'].nunique()} "
        f"regions; {len(fac):,} facilities (loaded in {time.perf_counter() - t0:.1f} s)"
    )
    whole, sec, peak = timed_whole(net, fac, comm, prof)
    print(
        "\n| run | wall s | vs one process | cluster start s | peak MB | main process peak MB "
        "| answers |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| one process, whole area (`lc.analyze`) | {sec:.1f} | 1.00× | – | – | {peak:,.0f} | – |"
    )
    for label, sched, nw in [("regions one after another, one process", "inline", None),
                             ("regions on Dask, 1 worker", "dask", 1),
                             ("regions on Dask, 2 workers", "dask", 2)]:  # fmt: skip
        res, rsec, start, main_peak = timed_regions(net, fac, comm, prof, sched, n_workers=nw)
        check = contract_check(whole.coverage, res.coverage, res.reach_m)
        peak_w = res.regions["peak_rss_mb"].max()
        print(
            f"| {label} | {rsec:.1f} | {sec / rsec:.2f}× | "
            f"{start:.1f} | {peak_w:,.0f} (max per task) | {main_peak:,.0f} | {check} |"
        )
    print("\nregions of the last run:")
    cols = ["region", "status", "communities", "demand_points", "facilities", "nodes", "edges",
            "seconds", "peak_rss_mb"]  # fmt: skip
    print(res.regions[cols].round(1).to_string(index=False))
    inside = (whole.coverage["distance_m"] <= res.reach_m).mean()
    print(
        f"\nreach {res.reach_m:.0f} m, cut {res.cut_m:.0f} m; {inside:.1%} of the "
        "community × category medians lie within the reach (exact), the rest are inf"
    )


def bench_province(n: int, workers: int = 2, whole: bool = False) -> None:
    from dask.distributed import Client, LocalCluster

    prof = lc.load_profile(PROFILE)
    t0 = time.perf_counter()
    p = lc.synthetic.province(n, prof)
    build = time.perf_counter() - t0
    parent = psutil.Process().memory_info().rss / 2**20
    print(
        f"\n## Province: {p.network}; {len(p.communities):,} communities, "
        f"{p.communities['county_code'].nunique()} counties, {len(p.facilities):,} facilities "
        f"(built in {build:.1f} s; parent process {parent:,.0f} MB)"
    )
    if whole:
        a, sec, peak = timed_whole(p.network, p.facilities, p.communities, prof)
        print(
            f"lc.analyze in this process: {sec:.1f} s, peak {peak:,.0f} MB; {len(a.coverage):,} rows"
        )
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    try:
        with batch.PeakRSS() as mem:
            t0 = time.perf_counter()
            res = lc.analyze_regions(p.network, p.facilities, p.communities, prof,
                                     by="county_code", scheduler=client)  # fmt: skip
            sec = time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()
    r = res.regions
    print(
        f"{workers} Dask workers: wall {sec:.1f} s for {len(r)} regions ({(r.status == 'ok').sum()} ok); "
        f"task seconds: median {r.seconds.median():.1f}, max {r.seconds.max():.1f}; "
        f"region networks: median {r.nodes.median():,.0f} nodes, max {r.nodes.max():,.0f}"
    )
    print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items()))
    per_worker = r.groupby("pid")["peak_rss_mb"].max()
    print("peak memory per worker (MB): " + ", ".join(f"{v:,.0f}" for v in per_worker))
    print(
        f"main process: {parent:,.0f} MB before analyze_regions, peak {mem.peak / 2**20:,.0f} MB "
        "during it (plan, prepare, merge)"
    )


def bench_memory(sizes: list[int]) -> None:
    from dask.distributed import Client, LocalCluster

    prof = lc.load_profile(PROFILE)
    print("\n## Memory of one task (a whole synthetic province as one region, 1 Dask worker)")
    print(
        "| nodes | edges | communities | task s | worker before MB | peak during task MB "
        "| merge s | main process peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        p = lc.synthetic.province(n, prof)
        comm = p.communities.assign(county_code="330000")  # the whole province as one region
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        try:
            before = max(client.run(lambda: psutil.Process().memory_info().rss).values()) / 2**20
            with batch.PeakRSS() as mem:
                res = lc.analyze_regions(p.network, p.facilities, comm, prof, by="county_code",
                                         scheduler=client)  # fmt: skip
        finally:
            client.close()
            cluster.close()
        r = res.regions.iloc[0]
        print(
            f"| {len(p.network.nodes):,} | {len(p.network.edges):,} | {len(comm):,} | "
            f"{r.seconds:.1f} | {before:,.0f} | {r.peak_rss_mb:,.0f} | "
            f"{res.seconds.get('merge', float('nan')):.1f} | {mem.peak / 2**20:,.0f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-milan", action="store_true")
    ap.add_argument("--province-n", type=int, default=1415, help="grid side: n² nodes (0: skip)")
    ap.add_argument("--memory", type=int, nargs="*", default=[], help="grid sides for --memory")
    ap.add_argument(
        "--province-whole",
        action="store_true",
        help="analyse the province whole with lc.analyze in this process instead of by region",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("distributed").setLevel(logging.ERROR)
    lc.settings.progress = False  # a benchmark script, not library code
    print(f"machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GB")
    if not args.skip_milan:
        bench_milan()
    if args.province_n:
        bench_province(args.province_n, whole=args.province_whole)
    if args.memory:
        bench_memory(args.memory)


if __name__ == "__main__":
    main()
