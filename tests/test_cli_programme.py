"""The programme from a run configuration (``[programme]``) through the command line.

The street, communities and candidates of ``tests/test_programme_target.py``, as files: the
street as a road centreline layer, the communities as points, the health station as a list,
the candidates P, Q, R, S as a GeoPackage. One project a year for 2026–2027 and the target
50% by 2026 give P in 2026 (the only single project bringing two communities up) and Q in 2027
(the 1,000 residents of B): 50% then 75%.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from openpyxl import load_workbook
from pandas.testing import assert_frame_equal

import lifecircle as lc
from _nets import CRS, X0, Y0
from conftest import FIXTURES
from test_batch_outputs import _map_lines, _pool, _sheets
from test_cli import cli
from test_programme_target import HOMES, PLACES

CONFIG = f"""[network]
source = "street.gpkg"

[[facilities]]
path = "facilities.csv"
crs = "EPSG:4549"
lon = "x"
lat = "y"
category = "category"

[communities]
path = "communities.gpkg"
name = "name"
population = "population"
street = "街道"

[analysis]
profile = "{(FIXTURES / "profile_analysis.toml").as_posix()}"
categories = ["health_station"]
complete_categories = true

[programme]
years = [2026, 2027]
projects_per_year = 1
target_share = 0.5
target_year = 2026
candidates = "candidates.gpkg"

[output]
dir = "out"
formats = ["xlsx"]
map = false
"""


def _inputs(folder):
    street = shapely.LineString([(X0 + x, Y0) for x in range(0, 2001, 500)])
    gpd.GeoDataFrame({"name": ["街"]}, geometry=[street], crs=CRS).to_file(folder / "street.gpkg")
    gpd.GeoDataFrame(
        {"name": list(HOMES), "population": [p for _, p in HOMES.values()], "街道": "东街道"},
        geometry=[shapely.Point(X0 + x, Y0) for x, _ in HOMES.values()], crs=CRS,
    ).to_file(folder / "communities.gpkg")  # fmt: skip
    pd.DataFrame({"category": ["health_station"], "x": [X0 + 2000], "y": [Y0]}).to_csv(
        folder / "facilities.csv", index=False
    )
    gpd.GeoDataFrame(
        {"名称": list(PLACES), "投资": [c for _, c in PLACES.values()]},
        geometry=[shapely.Point(X0 + x, Y0) for x, _ in PLACES.values()], crs=CRS,
    ).to_file(folder / "candidates.gpkg")  # fmt: skip


def _sheet(wb, name):
    rows = list(wb[name].values)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_programme_from_the_configuration(tmp_path):
    _inputs(tmp_path)
    (tmp_path / "run.toml").write_text(CONFIG, "utf-8")
    r = cli("--quiet", "run", str(tmp_path / "run.toml"))
    assert r.returncode == 0, r.stderr
    assert "建设时序 programme 2026–2027: 2 个项目, 达标社区比例 0% → 75%" in r.stdout
    out = tmp_path / "out"
    wb = load_workbook(out / "lifecircle_programme.xlsx")
    assert wb.sheetnames == ["建设时序", "年度汇总", "未满足规则"]
    assert [(p["计划年度"], p["选址名称"]) for p in _sheet(wb, "建设时序")] == [(2026, "P"), (2027, "Q")]
    assert [y["计划年度"] for y in _sheet(wb, "年度汇总")] == [2026, 2027]
    # the analysis workbook has the same three sheets last
    assert load_workbook(out / "lifecircle_shortfalls.xlsx").sheetnames[-3:] == wb.sheetnames
    # the pool: the analysis' shortfalls and the programme's projects with their planned year
    pool = lc.read_pool(out / "lifecircle_pool.gpkg")
    planned = pool[pool["year"].notna()]
    assert sorted(planned["year"].astype(int)) == [2026, 2027]
    assert (pool["year"].isna() & (pool["location_kind"] != "proposed_site")).any()


def test_programme_configuration_errors_name_the_key(tmp_path):
    _inputs(tmp_path)
    bad = CONFIG.replace("target_year = 2026", "target_year = 2031")
    (tmp_path / "run.toml").write_text(bad, "utf-8")
    r = cli("--quiet", "run", str(tmp_path / "run.toml"))
    assert r.returncode == 2 and "target_year 2031 is not one of the years" in r.stderr
    assert "programme" in r.stderr and "line" in r.stderr
    bad = CONFIG.replace("projects_per_year = 1", 'projects_per_year = { 2026 = "x" }')
    (tmp_path / "run.toml").write_text(bad, "utf-8")
    r = cli("--quiet", "run", str(tmp_path / "run.toml"))
    assert r.returncode == 2 and "programme.projects_per_year.2026" in r.stderr
    # half a project is refused, not rounded down
    bad = CONFIG.replace("projects_per_year = 1", "projects_per_year = { 2026 = 2.5 }")
    (tmp_path / "run.toml").write_text(bad, "utf-8")
    r = cli("--quiet", "run", str(tmp_path / "run.toml"))
    assert r.returncode == 2 and "give a whole number for each year" in r.stderr
    # a target the candidates cannot reach, required: the run stops and names the shortfall
    bad = CONFIG.replace("target_share = 0.5", 'target_share = 1.0\ntarget_rule = "require"')
    (tmp_path / "run.toml").write_text(bad, "utf-8")
    r = cli("--quiet", "run", str(tmp_path / "run.toml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "1 short" in r.stderr and "街道 东街道 1" in r.stderr


def _programme_files(tmp_path, name: str, regions: bool) -> tuple[dict, dict, pd.DataFrame, list]:
    """Run the configuration (two streets, a map) whole or by region; return the programme
    workbook's sheets, the analysis workbook's sheets, the pool and the map's lines."""
    text = CONFIG.replace('street = "街道"', 'street = "街道"\nstreet_code = "street_code"')
    text = text.replace("projects_per_year = 1", "projects_per_year = 2")  # one a street
    text = text.replace('dir = "out"', f'dir = "{name}"').replace("map = false", "map = true")
    if regions:
        text += '\n[regions]\nby = "street_code"\nscheduler = "inline"\n'
    (tmp_path / f"{name}.toml").write_text(text, "utf-8")
    r = cli("--quiet", "run", f"{name}.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / name
    assert ("lifecircle_regions.csv" in r.stdout) == regions
    programme = pd.read_excel(out / "lifecircle_programme.xlsx", sheet_name=None)
    sheets, pool = _sheets(out / "lifecircle_shortfalls.xlsx"), _pool(out / "lifecircle_pool.gpkg")
    return programme, sheets, pool, _map_lines(out / "lifecircle_map.html")


def test_programme_with_regions_equals_the_whole_run(tmp_path):
    """``[programme]`` with ``[regions]``: the same programme workbook, programme sheets in the
    analysis workbook, planned years in the pool and programme layer in the map as a whole run
    (two streets, one region each; distances beyond the reach differ by the batch contract)."""
    _inputs(tmp_path)
    comm = gpd.read_file(tmp_path / "communities.gpkg")
    west = comm["name"].isin(["s1", "s2"])
    comm["street_code"] = np.where(west, "330402001", "330402002")
    comm["街道"] = np.where(west, "西街道", "东街道")
    comm.to_file(tmp_path / "communities.gpkg")
    w_prog, w_xl, w_pool, w_map = _programme_files(tmp_path, "whole", regions=False)
    r_prog, r_xl, r_pool, r_map = _programme_files(tmp_path, "regions", regions=True)
    assert list(w_prog) == ["建设时序", "年度汇总", "未满足规则"] == list(r_prog)
    assert len(w_prog["建设时序"]) >= 2 and list(w_prog["年度汇总"]["计划年度"]) == [2026, 2027]
    for sheet in w_prog:  # all but the solver's own time
        for got in (w_prog, r_prog, w_xl, r_xl):
            got[sheet] = got[sheet].drop(columns=["求解秒数"], errors="ignore")
        assert_frame_equal(w_prog[sheet], r_prog[sheet], obj=sheet)
        assert_frame_equal(w_xl[sheet], r_xl[sheet], obj=sheet)
    # the pool: the programme's projects with their planned year, whole rows alike; the
    # shortfall rows alike but for the nearest distance, all beyond the reach (300 m) here
    planned = w_pool["year"].notna()
    assert planned.sum() == len(w_prog["建设时序"])
    assert_frame_equal(w_pool[planned], r_pool[planned], obj="pool, planned")
    near = ["nearest_m", "reason_zh", "reason_en"]
    assert_frame_equal(w_pool.drop(columns=near), r_pool.drop(columns=near), obj="pool")
    assert (w_pool.loc[~planned, "nearest_m"] > 300).all() and r_pool["nearest_m"].isna().all()
    # the map: the same page, the programme's layer included, but for the nearest distances
    assert len(w_map) == len(r_map) > 100
    assert sum("2026年" in line for line in w_map) >= 1
    differ = [i for i, (a, b) in enumerate(zip(w_map, r_map, strict=True)) if a != b]
    assert len(differ) <= 1 and all("最近距离(米)" in w_map[i] for i in differ)
