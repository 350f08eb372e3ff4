"""One label table for the analysis tables and the pool; pools with earlier headers still read."""

from __future__ import annotations

import csv

import geopandas as gpd
import shapely
from openpyxl import load_workbook

from lifecircle import export_pool, read_pool
from lifecircle.outputs import labels, tables
from lifecircle.outputs.pool.schema import POOL_COLUMNS
from lifecircle.outputs.pool.tabular import FORMER_HEADERS, TABULAR, header


def two_projects() -> gpd.GeoDataFrame:
    rows = [
        dict(county_code="330402", street_code="330402001", community_code=f"33040200100{i}",
             community_name=f"禾兴{i}社区", category="childcare", category_zh="托育机构",
             location_kind="proposed_site", new_covered_pop=100.0 * i, uncovered_pop=50.0 * i,
             threshold_m=300.0, priority_rank=i,
             geometry=shapely.Point(544_025.0 + 500 * i, 3_402_025.0))
        for i in (1, 2)
    ]  # fmt: skip
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4549)


def test_a_column_of_both_tables_has_one_label():
    assert tables.COLUMNS is labels.COLUMNS
    shared = [c for c in POOL_COLUMNS if c.name in labels.COLUMNS]
    assert len(shared) == 19  # the project id, names, codes and the shortfall figures of a project
    for c in shared:
        table = labels.COLUMNS[c.name]
        assert (c.en, c.description) == (table.en, table.explanation), c.name
        assert c.zh == labels.POOL_ZH.get(c.name, table.zh), c.name
    # the pool's own wording is kept only for these four headers
    assert {c.name for c in shared if c.zh != labels.COLUMNS[c.name].zh} == set(labels.POOL_ZH)


def test_pool_headers_are_unique_in_each_language():
    for lang in ("zh", "en"):
        names = [header(n, lang) for n in TABULAR]
        assert len(set(names)) == len(names), lang


def test_a_pool_with_earlier_headers_is_still_read(tmp_path):
    # A csv and an xlsx written before the labels were shared: rename today's headers back.
    old = {header(n, lang): FORMER_HEADERS[n][i] for n in FORMER_HEADERS
           for i, lang in enumerate(("zh", "en")) if FORMER_HEADERS[n][i]}  # fmt: skip
    assert old["新增覆盖人数"] == "新增覆盖人口" and old["Not covered"] == "Uncovered residents"
    for lang in ("zh", "en"):
        path = tmp_path / f"old_{lang}.csv"
        export_pool(two_projects(), path, run_id="r1", headers=lang)
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        rows[0] = [old.get(h, h) for h in rows[0]]
        assert any(h in old.values() for h in rows[0])
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
        pool = read_pool(path).set_index("priority_rank")
        assert pool.loc[2, "new_covered_pop"] == 200.0 and pool.loc[2, "uncovered_pop"] == 100.0
        assert pool.loc[1, "category"] == "childcare"
        report = export_pool(two_projects(), path, run_id="r2")
        assert (report.added, report.unchanged, report.total) == (0, 2, 2)
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader(fh))
        assert first[0] == header("project_id", lang)  # the file's language is kept
    path = tmp_path / "old.xlsx"
    export_pool(two_projects(), path, run_id="r1")
    wb = load_workbook(path)
    for cell in wb["lifecircle_pool"][1]:
        cell.value = old.get(cell.value, cell.value)
    wb.save(path)
    report = export_pool(two_projects(), path, run_id="r2")
    assert (report.added, report.unchanged) == (0, 2)
    assert read_pool(path).set_index("priority_rank").loc[1, "new_covered_pop"] == 100.0
    heads = [c.value for c in load_workbook(path)["lifecircle_pool"][1]]
    assert "新增覆盖人口" in heads and "新增覆盖人数" not in heads  # the planner's sheet as it was


def test_levels_and_location_kinds_are_words_in_spreadsheets_and_codes_when_read(tmp_path):
    projects = two_projects().assign(level="L5")
    for lang, words in (("zh", ("5分钟生活圈", "建议选址")), ("en", ("5-min life circle", "proposed site"))):
        for ext in ("xlsx", "csv"):
            path = tmp_path / f"pool_{lang}.{ext}"
            export_pool(projects, path, run_id="r1", profile="jiaxing-yilao-yixiao", headers=lang)
            if ext == "xlsx":
                ws = load_workbook(path).worksheets[0]
                cells = {c.value for row in ws.iter_rows() for c in row}
            else:
                with path.open(encoding="utf-8-sig", newline="") as fh:
                    cells = {v for row in csv.reader(fh) for v in row}
            assert set(words) <= cells, (lang, ext)
            assert "L5" not in cells and "proposed_site" not in cells
            back = read_pool(path)
            assert list(back["level"]) == ["L5", "L5"], (lang, ext)
            assert list(back["location_kind"]) == ["proposed_site"] * 2, (lang, ext)


def test_a_level_of_an_unknown_profile_stays_a_code(tmp_path):
    path = tmp_path / "pool.csv"
    export_pool(two_projects().assign(level="L5"), path, run_id="r1", profile="our-own-city", headers="zh")
    assert list(read_pool(path)["level"]) == ["L5", "L5"]
    assert "L5" in path.read_text(encoding="utf-8-sig")
