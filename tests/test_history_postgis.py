"""The run history in a PostgreSQL pool: the same runs, the same comparison as from a GeoPackage.

The two hand-made runs of ``test_compare`` (one facility removed, one added, one population
changed) are recorded in PostgreSQL and in a GeoPackage; read back from either, ``lc.compare``
reports exactly those causes and every table of the comparison is equal. Hostile run ids and
names are stored as data; hostile schema names are refused; writers take turns. Each test works
in its own schema (``t_<random>``), dropped afterwards; the server is ``LIFECIRCLE_TEST_PG_URL``.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from dataclasses import replace

import pandas as pd
import pytest

import lifecircle as lc
import test_compare
import test_pool
from lifecircle.analysis.compare import RunRecord, run_record
from lifecircle.outputs.pool import postgis
from lifecircle.outputs.pool.history import RUN_COLUMNS, RUNS_TABLE
from test_compare import _check
from test_pool import PG_URL

runs = test_compare.runs  # the two hand-made runs of test_compare
pg_engine = test_pool.pg_engine  # the PostgreSQL fixtures of test_pool
pg_schema = test_pool.pg_schema

pytestmark = [pytest.mark.postgis, pytest.mark.usefixtures("quiet")]

EVIL_ID = "r1'); DROP TABLE lifecircle_runs; --"
EVIL_NAME = "卫生站'); DROP SCHEMA public CASCADE; --"
EVIL_SCHEMA = 'x"; DROP SCHEMA public CASCADE; --'
FRAMES = ("changes", "communities", "facilities_new", "facilities_vanished", "by_street",
          "by_county")  # fmt: skip


def tables_in(engine, schema: str) -> list[str]:
    """Names of the tables in ``schema``, as the server lists them."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        return sorted(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
        ), {"s": schema}).scalars())  # fmt: skip


def test_recorded_runs_compare_as_from_a_geopackage(runs, pg_schema, tmp_path):
    a, b = runs
    gpkg = tmp_path / "pool.gpkg"
    for where, kw in ((gpkg, {}), (PG_URL, {"schema": pg_schema})):
        lc.record_run(a, where, run_date="2026-03-31", **kw)
        lc.record_run(b, where, run_date="2026-06-30", **kw)
    hist = lc.read_runs(PG_URL, schema=pg_schema)
    assert list(hist.columns) == RUN_COLUMNS
    assert list(hist["run_date"]) == ["2026-03-31", "2026-06-30"]
    assert list(hist["run_id"]) == [a.run_id, b.run_id]
    pd.testing.assert_frame_equal(hist, lc.read_runs(gpkg))

    from_pg = [lc.read_run(PG_URL, r, schema=pg_schema) for r in hist["run_id"]]
    from_gpkg = [lc.read_run(gpkg, r) for r in hist["run_id"]]
    assert [r.to_json() for r in from_pg] == [r.to_json() for r in from_gpkg]
    cmp = lc.compare(*from_pg, target_year=2027)
    _check(cmp)
    same = lc.compare(*from_gpkg, target_year=2027)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(cmp, name), getattr(same, name), obj=name)
    assert cmp.summary == same.summary
    st = cmp.by_street.iloc[0]
    assert st["share_before"] == a.index_by_street["share_meeting_standard"].iloc[0]
    assert st["share_after"] == b.index_by_street["share_meeting_standard"].iloc[0]


def test_recording_a_run_again_replaces_its_row(runs, pg_engine, pg_schema):
    a, b = runs
    lc.record_run(a, pg_engine, run_date="2026-03-31", schema=pg_schema)  # an engine works too
    lc.record_run(b, PG_URL, run_date="2026-06-30", schema=pg_schema)
    lc.record_run(a, PG_URL, run_date="2026-09-30", schema=pg_schema)
    hist = lc.read_runs(pg_engine, schema=pg_schema)
    assert list(zip(hist["run_id"], hist["run_date"], strict=True)) == [
        (b.run_id, "2026-06-30"), (a.run_id, "2026-09-30")]  # fmt: skip
    assert tables_in(pg_engine, pg_schema) == [RUNS_TABLE]  # no PostGIS table needed for it


def test_a_geopackage_history_copies_to_postgresql(runs, pg_schema, tmp_path):
    a, b = runs
    gpkg = tmp_path / "pool.gpkg"
    lc.record_run(a, gpkg, run_date="2026-03-31")
    lc.record_run(b, gpkg, run_date="2026-06-30")
    for run_id in lc.read_runs(gpkg)["run_id"]:
        lc.record_run(lc.read_run(gpkg, run_id), PG_URL, schema=pg_schema)
    pd.testing.assert_frame_equal(lc.read_runs(PG_URL, schema=pg_schema), lc.read_runs(gpkg))


def test_hostile_run_ids_and_names_are_stored_as_data(runs, pg_engine, pg_schema):
    a, b = runs
    rec = run_record(a, "2026-03-31")
    fac = rec.facilities.assign(name=EVIL_NAME)
    evil = replace(rec, run_id=EVIL_ID, facilities=fac, profile=EVIL_NAME)
    lc.record_run(b, PG_URL, run_date="2026-06-30", schema=pg_schema)
    lc.record_run(evil, PG_URL, schema=pg_schema)
    lc.record_run(evil, PG_URL, schema=pg_schema)  # replaced: the DELETE binds it too
    hist = lc.read_runs(PG_URL, schema=pg_schema)
    assert list(hist["run_id"]) == [EVIL_ID, b.run_id]
    assert list(hist["profile"]) == [EVIL_NAME, "test-analysis"]
    back = lc.read_run(PG_URL, EVIL_ID, schema=pg_schema)
    assert back.run_id == EVIL_ID and set(back.facilities["name"]) == {EVIL_NAME}
    assert back.to_json() == evil.to_json()
    with pytest.raises(lc.PoolError, match="no recorded run"):
        lc.read_run(PG_URL, "x' OR '1'='1", schema=pg_schema)
    assert tables_in(pg_engine, pg_schema) == [RUNS_TABLE]
    assert "spatial_ref_sys" in tables_in(pg_engine, "public")  # public survived


def test_hostile_schema_names_are_refused_and_names_are_quoted(runs, pg_engine):
    import sqlalchemy as sa

    a = runs[0]
    for call in (lambda s: lc.record_run(a, PG_URL, schema=s),
                 lambda s: lc.read_runs(PG_URL, schema=s),
                 lambda s: lc.read_run(PG_URL, "r1", schema=s)):  # fmt: skip
        with pytest.raises(lc.InputError, match="schema name .* is not allowed"):
            call(EVIL_SCHEMA)
    # a mixed-case name is quoted: created and found with its case, not folded to lower case
    mixed = "Runs_" + uuid.uuid4().hex[:8]
    try:
        lc.record_run(a, PG_URL, run_date="2026-03-31", schema=mixed)
        assert list(lc.read_runs(PG_URL, schema=mixed)["run_id"]) == [a.run_id]
        assert tables_in(pg_engine, mixed) == [RUNS_TABLE]
        assert tables_in(pg_engine, mixed.lower()) == []
    finally:
        with pg_engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{mixed}" CASCADE'))


def test_empty_history_and_other_targets(runs, pg_schema, tmp_path):
    hist = lc.read_runs(PG_URL, schema=pg_schema)  # the schema does not exist yet
    assert hist.empty and list(hist.columns) == RUN_COLUMNS
    with pytest.raises(lc.PoolError, match="no run history"):
        lc.read_run(PG_URL, "r1", schema=pg_schema)
    with pytest.raises(lc.PoolError, match="GeoPackage .*CSV pool, or a PostgreSQL pool"):
        lc.record_run(runs[0], tmp_path / "pool.geojson")
    with pytest.raises(lc.InputError, match="PostgreSQL targets only"):
        lc.record_run(runs[0], tmp_path / "pool.gpkg", schema=pg_schema)


def test_a_held_history_times_out_and_changes_nothing(runs, pg_schema):
    import psycopg

    a, b = runs
    lc.record_run(a, PG_URL, run_date="2026-03-31", schema=pg_schema)
    with psycopg.connect(PG_URL) as other:  # another session recording a run, mid-transaction
        other.execute(
            "SELECT pg_advisory_xact_lock(CAST(%s AS integer), hashtext(%s || '.' || %s))",
            (postgis.LOCK_SPACE, pg_schema, RUNS_TABLE),
        )
        start = time.monotonic()
        with pytest.raises(lc.PoolError, match="being written by another process; try again"):
            lc.record_run(b, PG_URL, schema=pg_schema, lock_timeout_s=1)
        assert time.monotonic() - start < 6
        other.rollback()
    assert list(lc.read_runs(PG_URL, schema=pg_schema)["run_id"]) == [a.run_id]


def _record(rec: RunRecord, schema: str, barrier, queue) -> None:
    """Record ``rec`` once all workers are ready; report the error text, if any."""
    barrier.wait(timeout=300)
    try:
        lc.record_run(rec, PG_URL, schema=schema)
        queue.put(None)
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(f"{type(exc).__name__}: {exc}")


def test_writers_at_once_into_a_new_schema_lose_nothing(runs, pg_schema):
    """Four processes at once into a schema that does not exist yet: two record their own run,
    two the same run id; afterwards three rows, no error."""
    a, b = runs
    ra, rb = run_record(a, "2026-03-31"), run_record(b, "2026-06-30")
    recs = [ra, rb, replace(ra, run_id="same"), replace(rb, run_id="same")]
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(len(recs)), ctx.Queue()
    procs = [ctx.Process(target=_record, args=(r, pg_schema, barrier, queue)) for r in recs]
    for p in procs:
        p.start()
    try:
        errors = [queue.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
    assert errors == [None] * len(recs)
    hist = lc.read_runs(PG_URL, schema=pg_schema)
    assert sorted(hist["run_id"]) == sorted([a.run_id, b.run_id, "same"])


def test_a_server_that_never_answers_fails_within_the_timeout(runs):
    from test_pool_locks import SilentServer

    server = SilentServer()
    url = f"postgresql://planner@127.0.0.1:{server.port}/gis"
    try:
        for call in (lambda: lc.record_run(runs[0], url, connect_timeout_s=2),
                     lambda: lc.read_runs(url, connect_timeout_s=2),
                     lambda: lc.read_run(url, "r1", connect_timeout_s=2)):  # fmt: skip
            start = time.monotonic()
            with pytest.raises(lc.PoolError, match=f"127.0.0.1:{server.port} did not answer"):
                call()
            assert 2 <= time.monotonic() - start < 6
        assert len(server.held) == 3
    finally:
        server.close()


def test_the_history_sits_beside_the_pool_and_its_name_is_reserved(runs, pg_engine, pg_schema,
                                                                   tmp_path):  # fmt: skip
    from test_pool import frame, project

    lc.export_pool(frame(project(1)), PG_URL, schema=pg_schema, run_id="r1")
    lc.record_run(runs[0], PG_URL, run_date="2026-03-31", schema=pg_schema)
    assert RUNS_TABLE in tables_in(pg_engine, pg_schema)
    assert list(lc.read_pool(PG_URL, schema=pg_schema)["run_id"]) == ["r1"]
    assert list(lc.read_runs(PG_URL, schema=pg_schema)["run_id"]) == [runs[0].run_id]
    for where, kw in ((PG_URL, {"schema": pg_schema}), (tmp_path / "pool.gpkg", {})):
        with pytest.raises(lc.InputError, match="'lifecircle_runs' is reserved"):
            lc.export_pool(frame(project(1)), where, layer=RUNS_TABLE, **kw)


def test_recording_the_same_inputs_on_another_date_warns_in_postgresql(runs, pg_schema, caplog):
    """As in a GeoPackage: one record per run id, replaced with a warning naming both dates."""
    with caplog.at_level("WARNING", logger="lifecircle"):
        lc.record_run(runs[0], PG_URL, run_date="2026-03-31", schema=pg_schema)
        lc.record_run(runs[0], PG_URL, run_date="2026-06-30", schema=pg_schema)
    assert f"run {runs[0].run_id} (the same inputs) was recorded on 2026-03-31" in caplog.text
    assert list(lc.read_runs(PG_URL, schema=pg_schema)["run_date"]) == ["2026-06-30"]
