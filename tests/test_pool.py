"""The project reserve pool: round trips, upsert rules, atomicity, ids, identifiers.

PostGIS tests run against a real server named by ``LIFECIRCLE_TEST_PG_URL`` (``.ci/run`` starts
one); each test works in its own schema, dropped afterwards.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sqlite3
import uuid
import zipfile
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pyproj import Transformer

import lifecircle
from conftest import ROOT, need
from lifecircle import CRSError, InputError, PoolError, export_pool, read_pool
from lifecircle.analysis.ids import GRID_M, community_project_ids
from lifecircle.outputs import pool as poolmod
from lifecircle.outputs.pool import csv as pool_csv
from lifecircle.outputs.pool import geojson, gpkg, postgis, schema, xlsx
from lifecircle.outputs.pool.incoming import prepare_projects

PG_URL = os.environ.get("LIFECIRCLE_TEST_PG_URL")
TO_4326 = Transformer.from_crs(4549, 4326, always_xy=True)
# A 50 m grid cell centre in EPSG:4549 near Jiaxing's 南湖区 (x = 50 k + 25, y = 50 m + 25).
X0, Y0 = 544_025.0, 3_402_025.0

FILE_FORMATS = ["gpkg", "xlsx", "csv", "geojson"]
ALL_FORMATS = [*FILE_FORMATS, pytest.param("postgis", marks=pytest.mark.postgis)]


def project(i: int, **overrides) -> dict:
    """One project row of the analysis stage's projects frame (EPSG:4549 point)."""
    community = f"3304020010{i:02d}"
    row = dict(
        county_code="330402", county_name="南湖区", street_code="330402001",
        street_name="建设街道", community_code=community, community_name=f"禾兴{i}社区",
        category="elderly_daycare", category_zh="老年人日间照料中心", level="L10",
        location_kind="proposed_site", new_covered_pop=1000.0 + i, nearest_m=1240.0 + i,
        threshold_m=1000.0, uncovered_pop=3400.0 - i, priority_score=1.0 / i, priority_rank=i,
        reason_zh=f"10分钟生活圈缺日间照料: 最近 {1240 + i:,} m, {3400 - i:,} 人未覆盖",
        reason_en=f"no elderly day care within 10 minutes; nearest {1240 + i} m",
        geometry=shapely.Point(X0 + 500 * i, Y0 + 300 * i),
    )  # fmt: skip
    row.update(overrides)
    return row


def frame(*rows: dict) -> gpd.GeoDataFrame:
    if not rows:  # a run without gaps: the columns, no rows
        return gpd.GeoDataFrame(columns=list(project(1)), geometry="geometry", crs=4549)
    return gpd.GeoDataFrame(list(rows), geometry="geometry", crs=4549)


def p2(**kw) -> dict:
    """A childcare gap located at the community (no site yet), nothing within reach."""
    return project(2, category="childcare", category_zh="托育机构", level="L5",
                   threshold_m=300.0, location_kind="community", nearest_m=math.inf,
                   ) | kw  # fmt: skip


def p3(**kw) -> dict:
    """A gap in another county (秀洲区)."""
    return project(3, county_code="330411", county_name="秀洲区", street_code="330411002",
                   street_name="新城街道", community_code="330411002005",
                   community_name="塘汇社区") | kw  # fmt: skip


def three() -> gpd.GeoDataFrame:
    return frame(project(1), p2(), p3())


# --------------------------------------------------------------------------------------------
# targets


@pytest.fixture(scope="session")
def pg_engine():
    need(bool(PG_URL), "LIFECIRCLE_TEST_PG_URL is not set (start PostgreSQL/PostGIS, see .ci/run)")
    import sqlalchemy as sa

    url = sa.engine.make_url(PG_URL).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except sa.exc.OperationalError as exc:
        need(False, f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(pg_engine):
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:10]
    yield name
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


class Target(SimpleNamespace):
    """A pool store under test: ``where`` for export/read, ``kw`` (schema), and a hand editor."""

    def export(self, data, **kw):
        return export_pool(data, self.where, **self.kw, **kw)

    def read(self, **kw):
        return read_pool(self.where, **self.kw, **kw)


@pytest.fixture(params=ALL_FORMATS)
def target(request, tmp_path):
    fmt = request.param
    if fmt == "postgis":
        schema = request.getfixturevalue("pg_schema")
        return Target(fmt=fmt, where=PG_URL, kw={"schema": schema}, path=None)
    path = tmp_path / f"pool.{fmt}"
    return Target(fmt=fmt, where=path, kw={}, path=path)


def snapshot(t: Target, layer: str = "lifecircle_pool"):
    """Everything stored: the file's bytes, or the table's and meta table's rows."""
    if t.fmt != "postgis":
        return t.path.read_bytes() if t.path.exists() else None
    import sqlalchemy as sa

    schema = t.kw["schema"]
    with sa.create_engine(sa.engine.make_url(PG_URL).set(drivername="postgresql+psycopg"),
                          poolclass=sa.pool.NullPool).connect() as conn:  # fmt: skip
        insp = sa.inspect(conn)
        if not insp.has_table(layer, schema=schema):
            return None
        rows = conn.execute(sa.text(
            f'SELECT *, ST_AsText(geom) AS wkt FROM "{schema}"."{layer}" ORDER BY project_id'
        )).all()  # fmt: skip
        meta = conn.execute(
            sa.text(f'SELECT * FROM "{schema}".lifecircle_meta ORDER BY 1, 2')
        ).all()
        return [tuple(r) for r in rows], [tuple(r) for r in meta]


def edit(t: Target, pid: str, **values) -> None:
    """Change planner fields by hand, the way a planner would in that store."""
    if t.fmt == "gpkg":
        with sqlite3.connect(t.path) as con:
            for k, v in values.items():
                con.execute(f'UPDATE lifecircle_pool SET "{k}" = ? WHERE project_id = ?', (v, pid))
    elif t.fmt == "postgis":
        import psycopg
        from psycopg import sql

        with psycopg.connect(PG_URL) as con:
            for k, v in values.items():
                con.execute(
                    sql.SQL("UPDATE {} SET {} = %s WHERE project_id = %s").format(
                        sql.Identifier(t.kw["schema"], "lifecircle_pool"), sql.Identifier(k)
                    ),
                    (v, pid),
                )
    elif t.fmt == "xlsx":
        wb = load_workbook(t.path)
        ws = wb["lifecircle_pool"]
        header = [c.value for c in ws[1]]
        col = {h: i + 1 for i, h in enumerate(header)}
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["项目编号"]).value == pid)
        for k, v in values.items():
            ws.cell(row, col[schema.COLUMN[k].zh], v)
        wb.save(t.path)
    elif t.fmt == "csv":
        with t.path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        idx = {h: i for i, h in enumerate(rows[0])}
        for r in rows[1:]:
            if r[idx["项目编号"]] == pid:
                for k, v in values.items():
                    r[idx[schema.COLUMN[k].zh]] = "" if v is None else str(v)
        with t.path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
    elif t.fmt == "geojson":
        doc = json.loads(t.path.read_text(encoding="utf-8"))
        for feat in doc["features"]:
            if feat["properties"]["project_id"] == pid:
                feat["properties"].update(values)
        t.path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# round trips


def test_round_trip(target):
    data = three()
    report = target.export(data, run_id="2025-05-a", profile="jiaxing-2025")
    assert (report.added, report.updated, report.retired, report.total) == (3, 0, 0, 3)
    pool = target.read()
    assert list(pool.columns) == list(schema.NAMES)
    assert pool.crs.to_epsg() == 4326
    assert len(pool) == 3
    pool = pool.set_index("priority_rank").sort_index()
    assert pool["community_code"].tolist() == ["330402001001", "330402001002", "330411002005"]
    assert pool["county_code"].map(type).eq(str).all()
    assert pool.loc[3, "community_name"] == "塘汇社区"
    assert pool.loc[1, "reason_zh"] == "10分钟生活圈缺日间照料: 最近 1,241 m, 3,399 人未覆盖"
    assert pool.loc[2, "category_zh"] == "托育机构"
    assert np.isnan(pool.loc[2, "nearest_m"])  # inf → empty
    assert pool.loc[1, "nearest_m"] == 1241.0
    assert pool.loc[3, "priority_score"] == pytest.approx(1 / 3, rel=1e-12)
    assert (pool["status"] == "储备").all()
    assert pool["year"].isna().all() and pool["notes"].isna().all()
    assert pool["in_latest_run"].all()
    assert (pool["run_id"] == "2025-05-a").all() and (pool["first_seen_run"] == "2025-05-a").all()
    assert (pool["profile"] == "jiaxing-2025").all()
    assert pool["missing_since"].isna().all()
    expected = data.to_crs(4326).set_index("priority_rank").sort_index().geometry
    assert np.allclose(shapely.get_coordinates(pool.geometry), shapely.get_coordinates(expected),
                       atol=1e-9)  # fmt: skip
    ids = prepare_projects(data, GRID_M)
    assert set(pool["project_id"]) == {r["project_id"] for r in ids}


def test_analysis_object_supplies_run_fields(tmp_path):
    analysis = SimpleNamespace(projects=three(), run_id="jx-2025-05-01",
                               created_at="2025-05-01T09:30:00+08:00",
                               profile=SimpleNamespace(id="td-t-1062-2021"))  # fmt: skip
    report = export_pool(analysis, tmp_path / "p.gpkg")
    assert report.run_id == "jx-2025-05-01"
    pool = read_pool(tmp_path / "p.gpkg")
    assert set(pool["run_id"]) == {"jx-2025-05-01"}
    assert set(pool["run_date"]) == {"2025-05-01"}
    assert set(pool["profile"]) == {"td-t-1062-2021"}


def test_run_id_defaults_to_time(tmp_path):
    report = export_pool(three(), tmp_path / "p.csv")
    assert re.fullmatch(r"run-\d{8}-\d{6}", report.run_id)


# --------------------------------------------------------------------------------------------
# upsert rules


def test_upsert_keeps_planner_edits_refreshes_and_marks(target):
    data = three()
    target.export(data, run_id="r1")
    ids = target.read().set_index("priority_rank")["project_id"]
    a, b, c = ids[1], ids[2], ids[3]
    edit(target, a, status="在建", notes="已立项，2025年6月开工", year=2025, owner="南湖区民政局")
    edit(target, b, status="申报", notes="等区里批复\n（第二行：用地待定）")

    # Run 2: A's shortfall grew, B is no longer a gap, C unchanged, D is new.
    run2 = frame(project(1, uncovered_pop=5000.0, priority_rank=2), p3(),
                 project(4, category="health_station", category_zh="社区卫生服务站"))  # fmt: skip
    report = target.export(run2, run_id="r2")
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    assert (report.retired, report.still_missing, report.kept_edits) == (1, 0, 2)
    assert report.total == 4
    pool = target.read().set_index("project_id")
    assert len(pool) == 4
    assert pool.loc[a, "status"] == "在建" and pool.loc[a, "notes"] == "已立项，2025年6月开工"
    assert pool.loc[a, "year"] == 2025 and pool.loc[a, "owner"] == "南湖区民政局"
    assert pool.loc[a, "uncovered_pop"] == 5000.0 and pool.loc[a, "priority_rank"] == 2
    assert pool.loc[a, "run_id"] == "r2" and pool.loc[a, "first_seen_run"] == "r1"
    # B is marked, not deleted, and keeps both its edit and its last computed values.
    assert not pool.loc[b, "in_latest_run"] and pool.loc[b, "missing_since"] == "r2"
    assert pool.loc[b, "status"] == "申报"
    assert pool.loc[b, "notes"] == "等区里批复\n（第二行：用地待定）"
    assert pool.loc[b, "run_id"] == "r1" and pool.loc[b, "category_zh"] == "托育机构"
    assert pool.loc[c, "in_latest_run"] and pool.loc[c, "run_id"] == "r2"
    new = pool[pool["category"] == "health_station"].iloc[0]
    assert new["status"] == "储备" and new["first_seen_run"] == "r2" and new["in_latest_run"]

    # Run 3: B comes back; run 4 without B again counts it as newly missing.
    report = target.export(frame(p2()), run_id="r3")
    assert report.reappeared == 1 and report.retired == 3 and report.added == 0
    pool = target.read().set_index("project_id")
    assert pool.loc[b, "in_latest_run"] and pd.isna(pool.loc[b, "missing_since"])
    assert pool.loc[b, "status"] == "申报" and pool.loc[b, "run_id"] == "r3"
    assert pool.loc[a, "missing_since"] == "r3" and pool.loc[a, "status"] == "在建"
    report = target.export(frame(), run_id="r4")
    assert (report.retired, report.still_missing, report.total) == (1, 3, 4)


def test_reexport_same_run_is_unchanged(target):
    target.export(three(), run_id="r1")
    report = target.export(three(), run_id="r1")
    assert (report.added, report.updated, report.unchanged, report.retired) == (0, 0, 3, 0)


def test_duplicate_rows_fold_into_best_ranked(target):
    dup = project(1, priority_rank=7, uncovered_pop=1.0,
                  geometry=shapely.Point(X0 + 500 + 3, Y0 + 300 - 2))  # fmt: skip
    report = target.export(frame(project(1), dup), run_id="r1")
    assert report.merged_duplicates == 1 and report.total == 1
    assert target.read()["priority_rank"].tolist() == [1]


def test_planner_columns_and_rows_survive_in_files(tmp_path):
    # xlsx: a planner adds a column and a hand-made project row, and colours a cell.
    from openpyxl.styles import PatternFill

    path = tmp_path / "pool.xlsx"
    export_pool(three(), path, run_id="r1")
    wb = load_workbook(path)
    ws = wb["lifecircle_pool"]
    extra_col = ws.max_column + 1
    ws.cell(1, extra_col, "联系人")
    ws.cell(2, extra_col, "张三 0573-8200000")
    ws.cell(2, 12).fill = PatternFill("solid", fgColor="FF0000")
    ws.append({3: "南湖区", 5: "新兴社区", 9: "储备", 12: "街道自报项目"})
    wb.save(path)
    export_pool(three().iloc[:2], path, run_id="r2")
    pool = read_pool(path)
    assert "联系人" in pool.columns
    assert pool.loc[0, "联系人"] == "张三 0573-8200000"
    manual = pool[pool["project_id"].isna()]
    assert manual["notes"].tolist() == ["街道自报项目"]
    ws = load_workbook(path)["lifecircle_pool"]
    assert ws.cell(2, 12).fill.fgColor.rgb.endswith("FF0000")

    # csv and GeoJSON: extra columns / properties and a year written as text survive.
    for name in ("pool.csv", "pool.geojson"):
        path = tmp_path / name
        export_pool(three(), path, run_id="r1")
        pid = read_pool(path)["project_id"][0]
        if name.endswith(".csv"):
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.reader(fh))
            rows[0].append("联系人")
            rows[1].append("李四")
            rows[1][rows[0].index("计划年度")] = "2026年底前"
            with path.open("w", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh).writerows(rows)
        else:
            doc = json.loads(path.read_text(encoding="utf-8"))
            doc["features"][0]["properties"] |= {"联系人": "李四", "year": "2026年底前"}
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        export_pool(three(), path, run_id="r2")
        pool = read_pool(path).set_index("project_id")
        assert pool.loc[pid, "联系人"] == "李四"
        assert pool.loc[pid, "year"] == "2026年底前"
        assert pool.loc[pid, "run_id"] == "r2"


def test_planner_columns_survive_in_databases(tmp_path, request):
    path = tmp_path / "pool.gpkg"
    export_pool(three(), path, run_id="r1")
    with sqlite3.connect(path) as con:
        con.execute('ALTER TABLE lifecircle_pool ADD COLUMN "contact" TEXT')
        con.execute("UPDATE lifecircle_pool SET contact = '张三' WHERE priority_rank = 1")
    export_pool(three(), path, run_id="r2")
    pool = read_pool(path)
    assert pool.set_index("priority_rank").loc[1, "contact"] == "张三"


# --------------------------------------------------------------------------------------------
# one transaction / atomic replacement


def _inject_failure(monkeypatch, after: int) -> dict:
    calls = {"n": 0}
    original = gpkg.record  # every store writes each row from values.record

    def failing(row):
        calls["n"] += 1
        if calls["n"] > after:
            raise RuntimeError("injected failure")
        return original(row)

    for store in (gpkg, postgis, xlsx, pool_csv, geojson):
        monkeypatch.setattr(store, "record", failing)
    monkeypatch.setattr(postgis, "PG_BATCH", 1)
    return calls


def test_failure_mid_export_leaves_pool_unchanged(target, monkeypatch):
    target.export(three(), run_id="r1")
    pid = target.read()["project_id"][0]
    edit(target, pid, status="申报", notes="备注不能丢")
    before = snapshot(target)
    run2 = frame(project(1, uncovered_pop=1.0), p3(uncovered_pop=2.0), project(4),
                 project(5), project(6))  # fmt: skip
    calls = _inject_failure(monkeypatch, after=3)
    with pytest.raises(PoolError, match="left unchanged"):
        target.export(run2, run_id="r2")
    assert calls["n"] == 4  # three rows were written before the failure
    assert snapshot(target) == before
    monkeypatch.undo()
    report = target.export(run2, run_id="r2")
    assert report.added == 3 and report.kept_edits == 1
    pool = target.read().set_index("project_id")
    assert pool.loc[pid, "notes"] == "备注不能丢"


def test_failure_on_first_export_leaves_nothing(target, monkeypatch):
    _inject_failure(monkeypatch, after=1)
    with pytest.raises(PoolError):
        target.export(three(), run_id="r1")
    assert snapshot(target) is None
    if target.path is not None:
        assert list(target.path.parent.iterdir()) == []  # no temporary file left behind


def test_file_open_in_excel_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "pool.xlsx"
    export_pool(three(), path, run_id="r1")
    before = path.read_bytes()

    def locked(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(PoolError, match="open in Excel"):
        export_pool(three(), path, run_id="r2")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.xlsx"]


def test_locked_geopackage_is_reported(tmp_path):
    path = tmp_path / "pool.gpkg"
    export_pool(three(), path, run_id="r1")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. a QGIS editing session
    try:
        with pytest.raises(PoolError, match="locked"):
            export_pool(three(), path, run_id="r2", lock_timeout_s=0.05)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert set(read_pool(path)["run_id"]) == {"r1"}


# --------------------------------------------------------------------------------------------
# project ids


def test_project_ids_are_deterministic_and_stable_under_jitter():
    data = three()
    first = [r["project_id"] for r in prepare_projects(data, 50.0)]
    again = [r["project_id"] for r in prepare_projects(three(), 50.0)]
    assert first == again
    assert all(re.fullmatch(r"LC-[0-9a-f]{12}", p) for p in first)
    jittered = data.set_geometry(data.geometry.translate(0.7, -0.7))  # about 1 m
    assert [r["project_id"] for r in prepare_projects(jittered, 50.0)] == first
    # The same points given in another CRS give the same ids.
    assert [r["project_id"] for r in prepare_projects(data.to_crs(4326), 50.0)] == first
    # Different category or community: different id.
    lon, lat = TO_4326.transform(X0, Y0)
    base = dict(county_code="330402", street_code="330402001", community_code="330402001001",
                location_kind="proposed_site", lon=lon, lat=lat)  # fmt: skip
    assert poolmod.project_id("childcare", **base) != poolmod.project_id("kindergarten", **base)
    assert poolmod.project_id("childcare", **base) != poolmod.project_id(
        "childcare", **base | {"community_code": "330402001002"}
    )
    # A community-located project is identified by its community, not its centroid.
    community = base | {"location_kind": "community"}
    far = community | {"lon": lon + 0.01, "lat": lat}
    assert poolmod.project_id("childcare", **community) == poolmod.project_id("childcare", **far)


@settings(max_examples=60, deadline=None)
@given(dx=st.floats(-24, 24), dy=st.floats(-24, 24))
def test_project_id_ignores_moves_inside_the_cell(dx, dy):
    ids = {
        poolmod.project_id(
            "elderly_daycare",
            "330402",
            "330402001",
            "330402001001",
            "proposed_site",
            *TO_4326.transform(X0 + ex, Y0 + ey),
        )  # fmt: skip
        for ex, ey in ((0.0, 0.0), (dx, dy))
    }
    assert len(ids) == 1


_CODE = st.one_of(
    st.none(), st.just(float("nan")), st.just(pd.NA), st.just("<NA>"), st.integers(0, 10**12),
    st.text(alphabet="33０4 2社区-\t", max_size=6),
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(_CODE, _CODE, _CODE, _CODE), min_size=1, max_size=8))
def test_community_ids_made_a_column_at_a_time_equal_one_by_one(rows):
    """The column-wise ids of community projects (whole-province shortfall lists) are the
    ids :func:`project_id` gives row by row, missing and padded codes included."""
    one_by_one = [poolmod.project_id(*r, "community", None, None) for r in rows]
    columns = [list(c) for c in zip(*rows, strict=True)]
    assert community_project_ids(*columns) == one_by_one


def test_site_crossing_a_grid_line_keeps_its_id(tmp_path):
    path = tmp_path / "pool.gpkg"
    edge = shapely.Point(X0 + 24.6, Y0)  # 0.4 m west of a grid line
    export_pool(frame(project(1, geometry=edge)), path, run_id="r1")
    pid = read_pool(path)["project_id"][0]
    edit(Target(fmt="gpkg", path=path), pid, status="申报")
    moved = frame(project(1, geometry=shapely.Point(X0 + 25.4, Y0)))  # crosses the line
    assert prepare_projects(moved, 50.0)[0]["project_id"] != pid
    report = export_pool(moved, path, run_id="r2")
    assert (report.added, report.retired, report.updated) == (0, 0, 1)
    pool = read_pool(path)
    assert pool["project_id"].tolist() == [pid] and pool["status"].tolist() == ["申报"]


# --------------------------------------------------------------------------------------------
# identifiers and input


@pytest.mark.parametrize("bad", ["pool; DROP TABLE x", "1pool", "pool-2025", "项目库", "",
                                 "a" * 64, "gpkg_contents", "lifecircle_meta",
                                 "pool\n"])  # fmt: skip
def test_identifier_validation(tmp_path, bad):
    with pytest.raises(InputError):
        export_pool(three(), tmp_path / "p.gpkg", layer=bad)
    with pytest.raises(InputError):
        read_pool(tmp_path / "p.gpkg", layer=bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgis
def test_postgis_identifiers_are_validated_and_quoted(pg_engine, pg_schema):
    import sqlalchemy as sa

    with pytest.raises(InputError):
        export_pool(three(), PG_URL, layer="pool; DROP TABLE x", schema=pg_schema)
    with pytest.raises(InputError):
        export_pool(three(), PG_URL, schema='x"; DROP SCHEMA public CASCADE; --')
    # Mixed case needs quoting: the table must be created with exactly this name.
    report = export_pool(three(), PG_URL, layer="Pool_2025", schema=pg_schema, run_id="r1")
    assert report.added == 3
    with pg_engine.connect() as conn:
        names = conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
        ), {"s": pg_schema}).scalars().all()  # fmt: skip
    assert sorted(names) == ["Pool_2025", "lifecircle_meta"]
    assert len(read_pool(PG_URL, layer="Pool_2025", schema=pg_schema)) == 3


@pytest.mark.postgis
def test_postgis_default_schema_and_types(pg_engine):
    import sqlalchemy as sa

    layer = "t_" + uuid.uuid4().hex[:10]
    try:
        export_pool(three(), PG_URL, layer=layer, run_id="r1", profile="p")
        with pg_engine.connect() as conn:
            types = dict(conn.execute(sa.text(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = :t"), {"t": layer}
            ).all())  # fmt: skip
            srid = conn.execute(sa.text(
                "SELECT srid FROM geometry_columns WHERE f_table_name = :t"), {"t": layer}
            ).scalar()  # fmt: skip
        assert types["community_code"] == "text" and types["geom"] == "geometry"
        assert types["run_date"] == "date" and types["in_latest_run"] == "bool"
        assert srid == 4326
        assert len(read_pool(PG_URL, layer=layer)) == 3
    finally:
        with pg_engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS public."{layer}"'))
            conn.execute(sa.text("DELETE FROM public.lifecircle_meta WHERE layer = :t"),
                         {"t": layer})  # fmt: skip
            if not conn.execute(sa.text("SELECT count(*) FROM public.lifecircle_meta")).scalar():
                conn.execute(sa.text("DROP TABLE public.lifecircle_meta"))


def test_bad_targets_and_input(tmp_path):
    with pytest.raises(InputError, match="xlsx"):
        export_pool(three(), tmp_path / "pool.xls")
    with pytest.raises(InputError, match="PostgreSQL"):
        export_pool(three(), tmp_path / "pool.gpkg", schema="planning")
    with pytest.raises(InputError, match="GeoDataFrame"):
        export_pool(pd.DataFrame(three().drop(columns="geometry")), tmp_path / "pool.gpkg")
    with pytest.raises(InputError, match="community_code"):
        export_pool(three().drop(columns="community_code"), tmp_path / "pool.gpkg")
    with pytest.raises(CRSError):
        export_pool(three().set_crs(None, allow_override=True), tmp_path / "pool.gpkg")
    bad = three()
    bad.loc[1, "geometry"] = shapely.box(0, 0, 1, 1)
    with pytest.raises(InputError, match="Point"):
        export_pool(bad, tmp_path / "pool.gpkg")
    with pytest.raises(PoolError, match="no pool"):
        read_pool(tmp_path / "missing.gpkg")
    assert list(tmp_path.iterdir()) == []


def test_if_exists_fail(tmp_path):
    path = tmp_path / "pool.gpkg"
    export_pool(three(), path, if_exists="fail")
    before = path.read_bytes()
    with pytest.raises(PoolError, match="already exists"):
        export_pool(three(), path, if_exists="fail")
    assert path.read_bytes() == before


# --------------------------------------------------------------------------------------------
# format details


def test_geopackage_opens_in_gdal_and_keeps_other_layers(tmp_path):
    path = tmp_path / "jiaxing.gpkg"
    other = gpd.GeoDataFrame({"name": ["南湖"]}, geometry=[shapely.Point(120.76, 30.75)], crs=4326)
    pyogrio.write_dataframe(other, path, layer="lakes")
    export_pool(three(), path, run_id="r1")
    layers = dict(pyogrio.list_layers(path))
    assert layers["lifecircle_pool"] == "Point" and "lakes" in layers
    gdal = pyogrio.read_dataframe(path, layer="lifecircle_pool")
    assert gdal.crs.to_epsg() == 4326 and len(gdal) == 3
    assert set(gdal["community_code"]) == {"330402001001", "330402001002", "330411002005"}
    assert "塘汇社区" in set(gdal["community_name"])
    info = pyogrio.read_info(path, layer="lifecircle_pool")
    assert info["geometry_type"] == "Point" and info["features"] == 3
    assert pyogrio.read_dataframe(path, layer="lakes")["name"].tolist() == ["南湖"]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        meta = dict(con.execute("SELECT key, value FROM lifecircle_meta "
                                "WHERE layer = 'lifecircle_pool'").fetchall())  # fmt: skip
        assert meta["schema_version"] == "1" and meta["last_run_id"] == "r1"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []


def test_geopackage_resaved_by_gdal_with_spatial_index(tmp_path):
    # As if a planner saved the pool again from QGIS: GDAL adds R-tree triggers calling ST_*.
    src, path = tmp_path / "src.gpkg", tmp_path / "resaved.gpkg"
    export_pool(three(), src, run_id="r1")
    pyogrio.write_dataframe(read_pool(src), path, layer="lifecircle_pool", SPATIAL_INDEX="YES")
    with sqlite3.connect(path) as con:
        triggers = con.execute("SELECT count(*) FROM sqlite_master WHERE type='trigger'").fetchone()
    assert triggers[0] > 0
    report = export_pool(frame(project(1), project(9)), path, run_id="r2")
    assert (report.added, report.retired) == (1, 2)
    assert len(read_pool(path)) == 4
    assert len(pyogrio.read_dataframe(path, layer="lifecircle_pool", bbox=(120, 30, 122, 32))) == 4


def test_xlsx_layout(tmp_path):
    path = tmp_path / "pool.xlsx"
    export_pool(three(), path, run_id="r1")
    wb = load_workbook(path)
    ws = wb["lifecircle_pool"]
    assert wb.sheetnames[0] == "lifecircle_pool"
    assert wb["lifecircle_meta"].sheet_state == "hidden" and "字段说明" in wb.sheetnames
    header = [c.value for c in ws[1]]
    assert header[:5] == ["项目编号", "优先序", "区县", "街道(乡镇)", "社区(村)"]
    assert header[-2:] == ["经度", "纬度"]
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref.startswith("A1:")
    reason = ws.column_dimensions[chr(ord("A") + header.index("补短板理由"))].width
    assert reason >= 40
    assert all(ws.column_dimensions[chr(ord("A") + i)].width >= 8 for i in range(20))
    code = ws.cell(2, header.index("社区代码") + 1)
    assert code.data_type == "s" and code.number_format == "@"
    assert [dv.formula1 for dv in ws.data_validations.dataValidation] == [
        '"储备,申报,在建,建成,取消"'
    ]
    assert ws.cell(2, header.index("最新分析仍列入") + 1).value == "是"
    path_en = tmp_path / "pool_en.xlsx"
    export_pool(three(), path_en, headers="en")
    assert load_workbook(path_en)["lifecircle_pool"]["A1"].value == "Project ID"
    assert len(read_pool(path_en)) == 3


def test_xlsx_with_charts_is_not_rewritten(tmp_path):
    path = tmp_path / "pool.xlsx"
    export_pool(three(), path, run_id="r1")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("xl/media/image1.png", b"\x89PNG")
    before = path.read_bytes()
    with pytest.raises(PoolError, match="charts, images"):
        export_pool(three(), path, run_id="r2")
    assert path.read_bytes() == before


def test_csv_encoding_and_headers(tmp_path):
    path = tmp_path / "pool.csv"
    export_pool(three(), path, run_id="r1")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[0] == "项目编号" and header[-2:] == ["经度", "纬度"]
    # Excel on a Chinese Windows saves "CSV" as GB18030: still read, edits kept, rewritten UTF-8.
    text = raw.decode("utf-8-sig").replace(",储备,", ",在建,", 1)
    path.write_bytes(text.encode("gb18030"))
    export_pool(three(), path, run_id="r2")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    pool = read_pool(path)
    assert (pool["status"] == "在建").sum() == 1 and set(pool["run_id"]) == {"r2"}
    en = tmp_path / "en.csv"
    export_pool(three(), en, headers="en")
    assert en.read_text(encoding="utf-8-sig").startswith("Project ID,Priority rank,County,")
    assert read_pool(en)["community_code"].tolist() == read_pool(path)["community_code"].tolist()
    # The file's language is kept on re-export unless asked otherwise.
    export_pool(three(), en)
    assert en.read_text(encoding="utf-8-sig").startswith("Project ID,")


def test_geojson_is_rfc7946(tmp_path):
    path = tmp_path / "pool.geojson"
    export_pool(three(), path, run_id="r1")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc and doc["lifecircle"]["schema_version"] == 1
    props = doc["features"][0]["properties"]
    assert props["community_code"] == "330402001001" and props["in_latest_run"] is True
    assert doc["features"][1]["properties"]["nearest_m"] is None  # inf → null
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert 120 < lon < 122 and 30 < lat < 31.5
    gdal = pyogrio.read_dataframe(path)
    assert len(gdal) == 3 and gdal.crs.to_epsg() == 4326


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "pool.gpkg"
    export_pool(three(), path, run_id="r1")
    with sqlite3.connect(path) as con:
        con.execute("UPDATE lifecircle_meta SET value = '99' WHERE key = 'schema_version'")
    before = path.read_bytes()
    with pytest.raises(PoolError, match="newer lifecircle"):
        export_pool(three(), path, run_id="r2")
    assert path.read_bytes() == before


def test_missing_columns_are_added_on_upsert(tmp_path):
    # An older pool without some computed column gets it added (the migration path).
    path = tmp_path / "pool.gpkg"
    export_pool(three(), path, run_id="r1")
    with sqlite3.connect(path) as con:
        con.execute("ALTER TABLE lifecircle_pool DROP COLUMN reason_en")
    export_pool(three(), path, run_id="r2")
    assert read_pool(path)["reason_en"].notna().all()


# --------------------------------------------------------------------------------------------
# documentation


def test_docs_table_matches_schema():
    doc = (ROOT / "docs" / "pool.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+?) \| (\w+) \| (\w+) \|", doc, re.M)
    assert [(n, zh, en, t, o) for n, zh, en, t, o in rows] == [
        (c.name, c.zh, c.en, c.dtype, c.owner) for c in schema.POOL_COLUMNS
    ]
    assert lifecircle.export_pool is export_pool and lifecircle.PoolReport is poolmod.PoolReport
    table = poolmod.pool_schema()
    assert list(table["column"]) == list(schema.NAMES)
