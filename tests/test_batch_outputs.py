"""``lifecircle run`` with a ``[regions]`` section writes what a whole-area run writes (the workbook,
the shortfall CSV, the map, the pool with the proposed sites, the run history) plus the table of
regions, with the same contents: the bundled Helsinki sample with OSM compounds and their gates,
split into three streets, run through the real command line on a Dask LocalCluster."""

from __future__ import annotations

import re
import sqlite3

import geopandas as gpd
import pandas as pd
from pandas.testing import assert_frame_equal

from lifecircle.cli import sample_dir
from test_cli import cli

CONFIG = """
[network]
source = "{pbf}"
[communities]
path = "communities.geojson"
street_code = "street_code"
compounds = "osm"
compound_gates = "osm"
[demand]
missing_population = "zero"
[analysis]
profile = "gb50180-2018"
[sites]
max_sites = 3
[output]
dir = "{out}"
formats = ["xlsx", "csv"]
map = true
"""


def _run(tmp_path, name: str, extra: str = "", gates: bool = True) -> str:
    d = sample_dir()
    text = CONFIG.format(pbf=(d / "helsinki_centre.osm.pbf").as_posix(), out=name) + extra
    if not gates:
        text = text.replace('compounds = "osm"\ncompound_gates = "osm"\n', "")
    (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    r = cli("--quiet", "run", f"{name}.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return r.stdout


#: the contract of docs/batch.md: a distance beyond the reach (1,000 m here) is left empty in a
#: regions run, and where the nearest facility is that far, it is not named and the reason says
#: "none within walking reach"; every other cell is the same
REACH_M = 1000.0
DISTANCES = ["步行距离中位数(米)", "最近距离(米)", "最远距离(米)", "nearest_m"]
NEAREST = ["最近设施", "最近设施编号", "原因", "reason_zh", "reason_en"]


def _same_up_to_reach(whole: pd.DataFrame, regions: pd.DataFrame, name: str) -> int:
    """Assert the contract on one table; return how many cells lie beyond the reach."""
    assert list(whole.columns) == list(regions.columns) and len(whole) == len(regions), name
    rest = [c for c in whole.columns if c not in DISTANCES + NEAREST]
    assert_frame_equal(whole[rest], regions[rest], obj=name)
    beyond = 0
    for col in [c for c in DISTANCES if c in whole]:
        w, r = whole[col].astype(float), regions[col].astype(float)
        far = (w > REACH_M).to_numpy()
        assert_frame_equal(
            whole.loc[~far, [col]].astype(float), regions.loc[~far, [col]].astype(float), obj=name
        )
        assert r[far].isna().all(), (name, col)
        beyond += int(far.sum())
    key = "最近距离(米)" if "最近距离(米)" in whole else "nearest_m"
    if key in whole:
        far = (whole[key].astype(float) > REACH_M).to_numpy()
        cols = [c for c in NEAREST if c in whole]
        assert_frame_equal(whole.loc[~far, cols], regions.loc[~far, cols], obj=name)
        for col in cols:
            got = regions.loc[far, col]
            if col.startswith("最近设施"):
                assert got.isna().all(), (name, col)
            else:
                assert got.str.contains(
                    "步行可达范围内没有此类设施|none within walking reach"
                ).all()
    return beyond


def _sheets(path) -> dict[str, pd.DataFrame]:
    sheets = pd.read_excel(path, sheet_name=None)
    first = next(iter(sheets))  # the summary: its creation time is the run's own
    text = sheets[first].astype(str)
    stamp = text.apply(lambda col: col.str.match(r"\d{4}-\d\d-\d\dT\d\d:")).any(axis=1)
    sheets[first] = sheets[first][~stamp].reset_index(drop=True)
    return sheets


def _pool(path) -> pd.DataFrame:
    pool = gpd.read_file(path, layer="lifecircle_pool")
    return pd.DataFrame(pool.drop(columns="geometry")).assign(wkt=pool.geometry.to_wkt())


def test_run_with_regions_writes_the_files_of_a_whole_run(tmp_path):
    comm = gpd.read_file(sample_dir() / "helsinki_communities.geojson")
    x = comm.geometry.representative_point().x.rank(method="first").astype(int) - 1
    comm["street_code"] = [f"9100{i // 2}" for i in x]  # three streets of two, west to east
    comm.to_file(tmp_path / "communities.geojson", driver="GeoJSON")

    whole_out = _run(tmp_path, "whole")
    regions_out = _run(tmp_path, "regions", '[regions]\nby = "street_code"\nn_workers = 2\n')
    whole, regions = tmp_path / "whole", tmp_path / "regions"
    names = ["lifecircle_shortfalls.xlsx", "lifecircle_shortfalls.csv", "lifecircle_map.html",
             "lifecircle_pool.gpkg"]  # fmt: skip
    for name in names:
        assert (whole / name).stat().st_size > 0 and (regions / name).stat().st_size > 0, name
    table = pd.read_csv(regions / "lifecircle_regions.csv", encoding="utf-8-sig")
    assert list(table["status"]) == ["ok"] * 3 and table["pid"].nunique() == 2  # on Dask
    assert "lifecircle_regions.csv" in regions_out and "lifecircle_regions.csv" not in whole_out

    w_csv = pd.read_csv(whole / "lifecircle_shortfalls.csv", encoding="utf-8-sig")
    r_csv = pd.read_csv(regions / "lifecircle_shortfalls.csv", encoding="utf-8-sig")
    assert len(w_csv) > 10
    beyond = _same_up_to_reach(w_csv, r_csv, "csv")
    w_xl = _sheets(whole / "lifecircle_shortfalls.xlsx")
    r_xl = _sheets(regions / "lifecircle_shortfalls.xlsx")
    assert list(w_xl) == list(r_xl) and len(w_xl) >= 8
    for sheet in w_xl:
        beyond += _same_up_to_reach(w_xl[sheet], r_xl[sheet], sheet)
    # the compound level (OSM compounds) and the proposed sites are there, in both, and the
    # compound gates change distances within the reach (a run without them differs)
    _run(tmp_path, "plain", gates=False)
    cov = "覆盖明细"
    plain = _sheets(tmp_path / "plain" / "lifecircle_shortfalls.xlsx")[cov]
    col = "步行距离中位数(米)"
    both = (plain[col] <= REACH_M) & (w_xl[cov][col] <= REACH_M)
    assert (plain.loc[both, col] != w_xl[cov].loc[both, col]).sum() > 5
    assert len(w_xl["小区指数"]) > 5 and len(w_xl["建议选址"]) > 3
    # the pool: the same projects at the same proposed sites, with the same run id
    w_pool, r_pool = _pool(whole / "lifecircle_pool.gpkg"), _pool(regions / "lifecircle_pool.gpkg")
    assert (w_pool["location_kind"] == "proposed_site").sum() > 3
    beyond += _same_up_to_reach(w_pool, r_pool, "pool")
    assert beyond > 10  # the reach rule was exercised
    # the run history records the run under the same run id
    runs = [pd.read_sql("select run_id from lifecircle_runs", sqlite3.connect(d / "lifecircle_pool.gpkg"))
            for d in (whole, regions)]  # fmt: skip
    assert len(runs[0]) == 1 and list(runs[0]["run_id"]) == list(runs[1]["run_id"])
    assert list(w_pool["run_id"].unique()) == list(runs[0]["run_id"])
    # the map: the same page (up to its element ids and creation time), except in the layer that
    # gives each community's nearest distances (the reach rule again)
    w_map, r_map = (_map_lines(d / "lifecircle_map.html") for d in (whole, regions))
    assert len(w_map) == len(r_map) > 100
    differ = [i for i, (a, b) in enumerate(zip(w_map, r_map, strict=True)) if a != b]
    assert len(differ) <= 1 and all("最近距离(米)" in w_map[i] for i in differ)
    assert sum("lc_data_" in line for line in w_map) >= 3


def _map_lines(path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"_[0-9a-f]{32}", "_ID", text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00)?", "TIME", text).splitlines()
