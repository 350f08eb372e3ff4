"""Several processes exporting to one pool at the same moment: no row lost, every report true.

Each round gives every worker process its own project and releases them together (a barrier),
into a pool that does not exist yet and into one that already holds a project. Afterwards every
project must be in the pool, and each report must say what happened: one project added, and a
total that counts the rows of the exports before it (1, 2, 3 ... in some order).
``LIFECIRCLE_TEST_POOL_ROUNDS`` sets the number of rounds (default 12).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import uuid

import geopandas as gpd
import pytest
import shapely

from conftest import need
from lifecircle import export_pool, read_pool

PG_URL = os.environ.get("LIFECIRCLE_TEST_PG_URL")
WORKERS = 3
ROUNDS = int(os.environ.get("LIFECIRCLE_TEST_POOL_ROUNDS", "12"))
X0, Y0 = 544_025.0, 3_402_025.0
FILE_FORMATS = ["gpkg", "xlsx", "csv", "geojson"]


def one_project(i: int) -> gpd.GeoDataFrame:
    """A single proposed site in community i (so each worker has its own project id)."""
    row = dict(
        county_code="330402", county_name="南湖区", street_code="330402001",
        street_name="建设街道", community_code=f"3304020010{i:02d}", community_name=f"禾兴{i}社区",
        category="elderly_daycare", category_zh="老年人日间照料中心", level="L10",
        location_kind="proposed_site", new_covered_pop=1000.0, nearest_m=1240.0,
        threshold_m=1000.0, uncovered_pop=3400.0, priority_score=1.0, priority_rank=1,
        reason_zh="缺日间照料", reason_en="no day care",
        geometry=shapely.Point(X0 + 500 * i, Y0 + 300 * i),
    )  # fmt: skip
    return gpd.GeoDataFrame([row], geometry="geometry", crs=4549)


def _worker(worker: int, jobs: list, barrier, queue) -> None:
    """Export project ``worker + 1`` to each job's target, all workers released together."""
    data = one_project(worker + 1)
    for r, (where, kw) in enumerate(jobs):
        barrier.wait(timeout=300)
        try:
            report = export_pool(data, where, run_id=f"w{worker}", **kw)
            queue.put((r, worker, report.added, report.total, None))
        except Exception as exc:  # reported to the parent, which fails the test
            queue.put((r, worker, None, None, f"{type(exc).__name__}: {exc}"))


def run_rounds(jobs: list) -> dict[int, list]:
    """Run all jobs with WORKERS spawned processes; results per round."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(w, jobs, barrier, queue)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    results: dict[int, list] = {r: [] for r in range(len(jobs))}
    try:
        for _ in range(WORKERS * len(jobs)):
            r, worker, added, total, error = queue.get(timeout=600)
            results[r].append((worker, added, total, error))
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
    return results


def failed_rounds(jobs: list, results: dict[int, list], base: int) -> list[str]:
    """Rounds with an error, a lost project or a report that does not match; [] when all good.

    ``base`` is the number of projects in each pool before the round (0: a new pool).
    """
    failed = []
    for r, (where, kw) in enumerate(jobs):
        errors = [e for *_, e in results[r] if e]
        if errors:
            failed.append(f"round {r}: errors {errors}")
            continue
        names = set(read_pool(where, **kw)["community_name"])
        expected = {f"禾兴{i}社区" for i in range(1 - base, WORKERS + 1)}
        added = [a for _, a, _, _ in results[r]]
        totals = sorted(t for _, _, t, _ in results[r])
        if names != expected:
            failed.append(f"round {r}: lost {sorted(expected - names)}; reports {results[r]}")
        elif added != [1] * WORKERS or totals != [base + k for k in range(1, WORKERS + 1)]:
            failed.append(f"round {r}: reports {results[r]}")
    return failed


@pytest.fixture(scope="module")
def pg_schemas():
    """Schemas for the PostGIS rounds (new and existing pools), dropped afterwards; [] without
    a server."""
    if not PG_URL:
        yield []
        return
    import sqlalchemy as sa

    tag = "c_" + uuid.uuid4().hex[:8]
    schemas = [f"{tag}_{kind}_{r}" for kind in ("new", "old") for r in range(ROUNDS)]
    yield schemas
    engine = sa.create_engine(
        sa.engine.make_url(PG_URL).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool
    )
    with engine.begin() as conn:
        for s in schemas:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{s}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="module")
def rounds(tmp_path_factory, pg_schemas):
    """Run every store's rounds with one set of worker processes (starting them is slow).

    Returns store → (failed rounds of new pools, failed rounds of existing pools).
    """
    folder = tmp_path_factory.mktemp("concurrent")
    jobs: dict[str, tuple[list, list]] = {}
    for fmt in FILE_FORMATS:
        jobs[fmt] = ([(folder / f"new_{r}.{fmt}", {}) for r in range(ROUNDS)],
                     [(folder / f"old_{r}.{fmt}", {}) for r in range(ROUNDS)])  # fmt: skip
    if pg_schemas:
        jobs["postgis"] = ([(PG_URL, {"schema": s}) for s in pg_schemas[:ROUNDS]],
                           [(PG_URL, {"schema": s}) for s in pg_schemas[ROUNDS:]])  # fmt: skip
    for _, old in jobs.values():
        for where, kw in old:
            export_pool(one_project(0), where, run_id="base", **kw)
    flat = [job for new, old in jobs.values() for job in (*new, *old)]
    results = run_rounds(flat)
    out, i = {}, 0
    for store, (new, old) in jobs.items():
        n = len(new)
        new_results = {r: results[i + r] for r in range(n)}
        old_results = {r: results[i + n + r] for r in range(n)}
        out[store] = (failed_rounds(new, new_results, 0), failed_rounds(old, old_results, 1))
        i += 2 * n
    return out, folder


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_concurrent_exports_to_files_lose_nothing(rounds, fmt: str):
    failed, folder = rounds
    assert failed[fmt] == ([], []), f"new pools: {failed[fmt][0]}; existing: {failed[fmt][1]}"
    # every lock file was removed, no temporary file was left behind
    assert sorted(p.name for p in folder.iterdir() if p.suffix == f".{fmt}") == sorted(
        [f"new_{r}.{fmt}" for r in range(ROUNDS)] + [f"old_{r}.{fmt}" for r in range(ROUNDS)]
    )
    assert not [p for p in folder.iterdir() if p.name.endswith(".lock") or p.name[0] == "."]


@pytest.mark.slow
@pytest.mark.postgis
def test_concurrent_exports_to_postgis_lose_nothing(rounds):
    need(bool(PG_URL), "LIFECIRCLE_TEST_PG_URL is not set (start PostgreSQL/PostGIS, see .ci/run)")
    failed, _ = rounds
    assert failed["postgis"] == ([], []), (
        f"new pools: {failed['postgis'][0]}; existing: {failed['postgis'][1]}"
    )
