"""Gap analysis on a hand-built case where every number is worked out by hand.

The network is ``river_with_bridge``: a south street (y=0) and a north street (y=200), x from 0 to
1000 m, one bridge at x=500. Community C1 is a point 10 m south of the south street at x=100
(1,000 residents, 300 aged 60+). Community C2 is a block north of the north street (x 0-400,
y 210-300, 900 residents) with two residential buildings: B1 (x 50-90, 2 floors, 2,400 m²) and
B2 (x 300-340, 4 floors, 4,800 m²), so B1 holds 300 and B2 600 residents; their representative
points are 35 m north of the street at x=70 and x=320.

Facilities: a community health *centre* (15-minute level) 5 m south of the south street at x=150,
and a nursery (5-minute level, 2 places) 5 m north of the north street at x=380.
"""

from __future__ import annotations

import logging
import math
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, box, river_communities, river_facilities, river_with_bridge
from conftest import FIXTURES
from lifecircle.analysis import analyze

#: Four categories (health centre L15 1000 m; health station, nursery and elderly day care L5
#: 300 m; nursery weight 2 with 4.5 places per 1,000, day care weight 2 for people aged 60+).
PROFILE = FIXTURES / "profile_analysis.toml"


def fixture_profile():
    return lc.load_profile(PROFILE)


@pytest.fixture(scope="module")
def case():
    net = river_with_bridge()
    comm = lc.load_communities(river_communities())
    buildings = gpd.GeoDataFrame(
        {"building": ["residential", "apartments", "office"], "building:levels": ["2", "4", "10"]},
        geometry=[box(50, 220, 90, 250), box(300, 220, 340, 250), box(150, 220, 250, 290)],
        crs=CRS,
    )
    fac = river_facilities()
    # the two lists are complete: no health station or day care here is a real absence
    a = analyze(net, fac, comm, fixture_profile(), buildings=buildings, complete_categories=True)
    return a


def cov(a, community, category):
    c = a.coverage
    return c[(c["community_name"] == community) & (c["category"] == category)].iloc[0]


def test_hierarchy_from_codes(case):
    c = case.communities
    assert c["community_id"].tolist() == ["330402001001", "330402001002"]
    assert c["street_code"].tolist() == ["330402001"] * 2
    assert c["county_code"].tolist() == ["330402"] * 2
    assert c["street_name"].tolist() == ["建设街道"] * 2


def test_demand_points_by_floor_area(case):
    d = case.demand
    c2 = d[d["community_id"] == "330402001002"].sort_values("pop")
    assert c2["method"].tolist() == ["buildings", "buildings"]  # the office is not residential
    assert c2["pop"].tolist() == pytest.approx([300.0, 600.0])
    xy = shapely.get_coordinates(c2.geometry.values)
    assert xy.ravel().tolist() == pytest.approx([X0 + 70, Y0 + 235, X0 + 320, Y0 + 235])
    assert d.loc[d["community_id"] == "330402001001", "method"].tolist() == ["point"]


def test_point_community_distances(case):
    # C1 -> health centre on the same edge: 10 + 50 + 5 = 65 m
    r = cov(case, "南岸社区", "health_center")
    assert r["distance_m"] == pytest.approx(65.0)
    assert r["meets_standard"] and r["covered_pop"] == pytest.approx(1000)
    assert r["nearest_facility"] == "F_hc"
    # C1 -> nursery over the bridge: 10 + 400 + 200 + 120 + 5 = 735 m > 300 m
    r = cov(case, "南岸社区", "nursery")
    assert r["distance_m"] == pytest.approx(735.0)
    assert not r["meets_distance"] and r["uncovered_pop"] == pytest.approx(1000)


def test_levels_not_nested(case):
    # a 15-minute health centre 65 m away does not satisfy the 5-minute health station need
    r = cov(case, "南岸社区", "health_station")
    assert math.isinf(r["distance_m"])
    assert not r["meets_standard"]
    assert pd.isna(r["nearest_facility"])


def test_polygon_community_split_by_distance(case):
    # nursery on the north street at x=380: B2 35 + 60 + 5 = 100 m (covered), B1 35 + 310 + 5 = 350 m
    r = cov(case, "北岸社区", "nursery")
    assert r["distance_m"] == pytest.approx(
        100.0
    )  # population-weighted median (600 of 900 at 100 m)
    assert r["distance_max_m"] == pytest.approx(350.0)
    assert r["covered_pop"] == pytest.approx(600.0)
    assert r["covered_share"] == pytest.approx(2 / 3)
    assert not r["meets_distance"]  # 2/3 < 0.8
    # health centre across the river: 5 + 350 + 200 -> node 4 at 555; B2: +180 +35 = 770; B1: +430 +35 = 1020
    r = cov(case, "北岸社区", "health_center")
    assert r["distance_min_m"] == pytest.approx(770.0)
    assert r["distance_max_m"] == pytest.approx(1020.0)
    assert r["covered_pop"] == pytest.approx(600.0)


def test_target_group_elderly_with_fallback(case):
    r = cov(case, "南岸社区", "elderly_daycare")
    assert r["target_group"] == "elderly" and r["group_pop"] == pytest.approx(300)
    r = cov(case, "北岸社区", "elderly_daycare")  # no age data: total population is used
    assert r["target_group"] == "total" and r["group_pop"] == pytest.approx(900)


def test_capacity_two_step_floating_catchment(case):
    # only B2 (600 people, 100 m) is within 300 m of the nursery: supply 2 / 600 per person at B2;
    # C2 average = 600 * (2/600) / 900 * 1000 = 2.222 places per 1,000 < 4.5
    r = cov(case, "北岸社区", "nursery")
    assert r["supply_per_1000"] == pytest.approx(2000 / 900)
    assert r["capacity_threshold_per_1000"] == 4.5
    assert r["meets_capacity"] == False  # noqa: E712
    assert cov(case, "南岸社区", "nursery")["supply_per_1000"] == pytest.approx(0.0)


def _street_points(*specs):
    """Point communities on the south street: (x, name, population)."""
    return lc.load_communities(
        gpd.GeoDataFrame(
            {"name": [n for _, n, _ in specs], "population": [p for *_, p in specs]},
            geometry=[shapely.Point(X0 + x, Y0) for x, _, _ in specs],
            crs=CRS,
        )
    )


def test_capacity_two_facilities_at_different_distances():
    """Gaussian 2SFCA by hand (Dai 2010) with two nurseries: A (2 places) at x=100 and B (3 places)
    at x=400; communities C1 (1,000 people) at x=150 and C2 (1,000) at x=350, all on the street.
    Distances: A–C1 50 m, A–C2 250 m, B–C1 250 m, B–C2 50 m; catchment d0 = 300 m.
    g(d) = (exp(-½(d/d0)²) − e^-½) / (1 − e^-½): g(50) = 0.964945, g(250) = 0.254448.
    Step 1: R_A = 2 / (1000 g50 + 1000 g250), R_B = 3 / (same).
    Step 2: C1 = 1000 (g50 R_A + g250 R_B) = (2 g50 + 3 g250) / (g50 + g250) = 2.20867 per 1,000,
    C2 = (2 g250 + 3 g50) / (g50 + g250) = 2.79133. Without the decay both would be 2.5."""
    net = river_with_bridge()
    comm = _street_points((150, "C1", 1000), (350, "C2", 1000))
    fac = gpd.GeoDataFrame(
        {"category": ["nursery", "nursery"], "capacity": [2.0, 3.0]},
        geometry=[shapely.Point(X0 + 100, Y0), shapely.Point(X0 + 400, Y0)],
        crs=CRS,
        index=pd.Index(["A", "B"], name="facility_id"),
    )
    a = analyze(net, fac, comm, fixture_profile(), categories=["nursery"])
    e = math.exp(-0.5)
    g50, g250 = ((math.exp(-0.5 * (d / 300) ** 2) - e) / (1 - e) for d in (50, 250))
    assert (g50, g250) == pytest.approx((0.964945, 0.254448), abs=1e-6)
    supply = a.coverage.set_index("community_name")["supply_per_1000"]
    assert supply["C1"] == pytest.approx((2 * g50 + 3 * g250) / (g50 + g250))
    assert supply["C2"] == pytest.approx((2 * g250 + 3 * g50) / (g50 + g250))
    assert (supply["C1"], supply["C2"]) == pytest.approx((2.20867, 2.79133), abs=1e-5)
    # every place is handed out: 1,000 × 2.20867 + 1,000 × 2.79133 = 5,000 per 1,000 = 5 places
    assert supply.sum() == pytest.approx(5.0)


def test_isochrones_follow_the_analysis_max_snap_m():
    """A community 10 m from the street is unsnapped with max_snap_m=5: uncovered in the table,
    and the map's isochrone of it is empty too (it used to get a polygon)."""
    net = river_with_bridge()
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["far", "near"], "population": [100, 100]},
            geometry=[shapely.Point(X0 + 100, Y0 - 10), shapely.Point(X0 + 600, Y0 - 2)],
            crs=CRS,
        )
    )
    fac = river_facilities()
    a = analyze(net, fac, comm, fixture_profile(), categories=["health_center"], max_snap_m=5)
    c = a.coverage.set_index("community_name")
    assert c.loc["far", "unsnapped_points"] == 1 and math.isinf(c.loc["far", "distance_m"])
    iso = a.isochrones(minutes=(5,)).set_index("origin")
    ids = a.communities.set_index("community_name")["community_id"]
    assert iso.loc[ids["far"]].geometry.is_empty
    assert not iso.loc[ids["near"]].geometry.is_empty
    # minutes the profile has no level for are an error, not a silent adult speed
    with pytest.raises(lc.InputError, match="no life-circle level of \\[10\\] minutes"):
        a.isochrones(minutes=(5, 10))
    assert len(a.isochrones(minutes=(5, 10), speed="adult")) == 4


def test_shortfalls_ranked_with_reasons(case):
    sf = case.shortfalls
    short2 = 900 * (1 - (2000 / 900) / 4.5)  # people short of nursery places in C2: 455.6
    expected = [
        ("南岸社区", "nursery", 2 * 1000),  # 1,000 uncovered × weight 2
        ("北岸社区", "elderly_daycare", 2 * 900),  # no age data: all 900 residents × 2
        ("南岸社区", "health_station", 1 * 1000),
        ("北岸社区", "nursery", 2 * short2),  # capacity shortfall outweighs 300 uncovered
        ("北岸社区", "health_station", 1 * 900),
        ("南岸社区", "elderly_daycare", 2 * 300),  # 300 people aged 60+
        ("北岸社区", "health_center", 1 * 300),
    ]
    got = list(zip(sf["community_name"], sf["category"], sf["priority_score"], strict=True))
    assert [(n, c) for n, c, _ in got] == [(n, c) for n, c, _ in expected]
    assert [s for *_, s in got] == pytest.approx([s for *_, s in expected])
    assert list(sf["priority_rank"]) == list(range(1, 8))
    assert sf.loc[sf["category"] == "health_center", "kind"].item() == "distance"
    assert set(sf.loc[sf["category"] == "nursery", "kind"]) == {"distance+capacity"}
    r = sf[(sf["community_name"] == "南岸社区") & (sf["category"] == "nursery")].iloc[0]
    # the reason says what failed: the share within the distance against the required share,
    # the supply per 1,000 against the standard, and the people affected
    assert r["reason_zh"] == (
        "5分钟生活圈托育: 仅 0% 的居民在 300 m 步行范围内 (标准要求至少 80%), 1,000 名居民未覆盖; "
        "最近的设施 735 m; 托育供给不足: 每千名居民 0.0 个托位 (标准至少 4.5), 约 1,000 人的份额缺口"
    )
    assert r["reason_en"].startswith(
        "5-min life circle nursery: only 0% of residents live within 300 m on foot "
        "(standard: at least 80%); 1,000 not covered; nearest 735 m"
    )
    # C2: 2/3 of its residents are within 300 m of the nursery, short of 80%; 2.22 places per
    # 1,000 against 4.5: 900 × (1 − 2.222/4.5) = 456 people's share missing
    c2 = sf[(sf["community_name"] == "北岸社区") & (sf["category"] == "nursery")].iloc[0]
    assert (
        "仅 67% 的居民在 300 m 步行范围内 (标准要求至少 80%), 300 名居民未覆盖" in c2["reason_zh"]
    )
    assert "每千名居民 2.2 个托位 (标准至少 4.5), 约 456 人的份额缺口" in c2["reason_zh"]
    hs = sf[(sf["community_name"] == "南岸社区") & (sf["category"] == "health_station")].iloc[0]
    assert hs["reason_zh"] == (
        "5分钟生活圈社区卫生服务站: 步行可达范围内没有此类设施 (标准 300 m), 1,000 名居民未覆盖"
    )


def test_service_index(case):
    idx = case.index.set_index("community_name")
    # C1: health centre 1, health station 0, nursery 0, elderly day care 0 -> 1/4 (equal weights of
    # required categories; weights 1, 1, 2, 2) -> 100 * 1 / 6
    assert idx.loc["南岸社区", "service_index"] == pytest.approx(100 * 1 / 6)
    # C2: health centre 2/3 (w1), station 0 (w1), nursery 2/3 × (2.222/4.5) (w2), day care 0 (w2)
    nursery = (2 / 3) * ((2000 / 900) / 4.5)
    assert idx.loc["北岸社区", "service_index"] == pytest.approx(100 * (2 / 3 + 2 * nursery) / 6)
    assert not idx["meets_all_required"].any()
    st = case.index_by_street.iloc[0]
    assert st["street_code"] == "330402001" and st["communities"] == 2
    assert st["share_meeting_standard"] == 0.0 and not st["meets_target"]
    assert case.summary["share_meeting_standard"] == 0.0


def test_categories_ranked(case):
    city = case.categories[case.categories["scope"] == "city"].set_index("category")
    # health station: nobody covered; health centre: 1000 + 600 of 1900
    assert city.loc["health_station", "covered_share"] == 0.0
    assert city.loc["health_center", "covered_share"] == pytest.approx(1600 / 1900)
    assert city.loc["health_center", "facilities"] == 1
    assert city["rank"].tolist() == list(range(1, len(city) + 1))
    assert city["covered_share"].is_monotonic_increasing
    assert set(case.categories["scope"]) == {"city", "county", "street"}


def test_speed_profiles_change_thresholds():
    net = river_with_bridge()
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["a"], "population": [10]},
            geometry=[shapely.Point(X0 + 100, Y0 - 10)],
            crs=CRS,
        )
    )
    fac = gpd.GeoDataFrame(
        {"category": ["nursery"]}, geometry=[shapely.Point(X0 + 430, Y0)], crs=CRS
    )
    # distance 10 + 330 = 340 m: beyond 300 m (standard), within 5 min × 1.2 m/s = 360 m (adult),
    # beyond 5 min × 0.9 m/s = 270 m (elderly)
    res = {
        s: analyze(net, fac, comm, fixture_profile(), categories=["nursery"], speed=s)
        for s in (None, "adult", "elderly")
    }
    assert [bool(r.coverage["meets_distance"].iloc[0]) for r in res.values()] == [
        False,
        True,
        False,
    ]
    assert res["adult"].thresholds["nursery"] == pytest.approx(360.0)
    with pytest.raises(lc.InputError, match="walking speed"):
        analyze(net, fac, comm, fixture_profile(), speed=12)


def test_deterministic(case):
    again = analyze(
        case.network,
        case.facilities,
        case.communities.copy(),
        case.profile,
        demand=lc.communities.Demand(case.demand.copy(), case.communities.copy()),
        complete_categories=True,
    )
    pd.testing.assert_frame_equal(case.shortfalls, again.shortfalls)
    pd.testing.assert_frame_equal(case.coverage, again.coverage)
    assert case.run_id == again.run_id


def test_run_id_sees_every_facility_and_demand_point_move():
    """The run id changes when any one facility or demand point moves, also in the middle of
    a long list (numpy's repr of an array elides it from 1,000 elements on)."""
    profile = lc.load_profile("jiaxing-yilao-yixiao")
    city = lc.synthetic.city(400, profile, facilities_per_community=3.0)
    fac, comm = city.facilities, city.communities
    demand = lc.demand_points(comm, grid_m=100)
    assert len(fac) > 1000 and len(demand.points) > 1000
    base = lc.analyze(city.network, fac, comm, profile, demand=demand).run_id
    moved = fac.copy()
    mid = len(fac) // 2
    p = moved.geometry.iloc[mid]
    moved.loc[moved.index[mid], "geometry"] = shapely.Point(p.x + 30, p.y)
    assert lc.analyze(city.network, moved, comm, profile, demand=demand).run_id != base
    pts = demand.points.copy()
    at = pts.index[len(pts) // 2]
    pts.loc[at, "geometry"] = shapely.Point(pts.geometry[at].x + 30, pts.geometry[at].y)
    shifted = lc.communities.Demand(pts, demand.communities)
    assert lc.analyze(city.network, fac, comm, profile, demand=shifted).run_id != base
    assert lc.analyze(city.network, fac, comm, profile, demand=demand).run_id == base


def test_proposed_sites_and_projects(case):
    sites = case.propose_sites(categories=["health_station"], max_sites=3)
    # 300 m on foot cannot reach both banks: the first site serves C1 (1,000), the second C2 (900)
    assert sites["category"].tolist() == ["health_station", "health_station"]
    assert sites["new_covered_pop"].tolist() == pytest.approx([1000.0, 900.0])
    assert sites["community_id"].tolist() == ["330402001001", "330402001002"]
    assert sites.crs.to_epsg() == 4326
    proj = case.projects
    hs = proj[proj["category"] == "health_station"]
    assert set(hs["location_kind"]) == {"proposed_site"}
    others = proj[proj["category"] != "health_station"]
    assert set(others["location_kind"]) == {"community"}
    assert len(proj) == len(case.shortfalls)  # each site answers exactly one shortfall here
    for col in [
        "county_code",
        "street_code",
        "community_code",
        "category",
        "level",
        "new_covered_pop",
        "nearest_m",
        "threshold_m",
        "uncovered_pop",
        "priority_score",
        "priority_rank",
        "reason_zh",
        "reason_en",
    ]:
        assert col in proj.columns


def test_shortfalls_link_to_the_projects_that_answer_them():
    """Each shortfall names the pool project that answers it; a site in a neighbouring community
    covering it says so; sites of several categories at one spot are one site with several uses;
    project ranks are unique."""
    net = river_with_bridge()
    comm = _street_points((150, "西社区", 1000), (350, "东社区", 200))
    fac = gpd.GeoDataFrame(
        {"category": ["health_center"]},
        geometry=[shapely.Point(X0 + 150, Y0)],
        crs=CRS,
        index=pd.Index(["F1"], name="facility_id"),
    )
    a = analyze(net, fac, comm, fixture_profile(), complete_categories=True)
    # before any site: every shortfall is a project at its own community
    assert a.shortfalls["answered_by_zh"].str.startswith("本社区内待选址").all()
    assert set(a.shortfalls["project_id"]) == set(a.projects["project_id"])
    sites = a.propose_sites(categories=["nursery", "elderly_daycare", "health_station"])
    # nursery, day care and health station all have a 300 m threshold and the same residents:
    # greedy chooses the same spot for the three, which is one site with three uses
    assert sites["site_id"].nunique() == 1 and len(sites) == 3
    assert set(sites["uses_zh"]) == {"托育、老年人日间照料中心、社区卫生服务站"}
    proj = a.projects
    assert proj["priority_rank"].tolist() == list(range(1, len(proj) + 1))
    assert proj["project_id"].is_unique
    sf = a.shortfalls
    assert sf["project_id"].isin(proj["project_id"]).all()
    # the site stands where it covers both (1,200 people within 300 m of x 150–350): its main
    # community is 西社区, and 东社区's shortfall says it is covered by a site over there
    east = sf[(sf["community_name"] == "东社区") & (sf["category"] == "nursery")].iloc[0]
    west = sf[(sf["community_name"] == "西社区") & (sf["category"] == "nursery")].iloc[0]
    assert east["project_id"] == west["project_id"]
    assert west["answered_by_zh"].startswith("本社区的建议选址 S1 可覆盖")
    assert east["answered_by_zh"].startswith("西社区的建议选址 S1 可覆盖")
    assert "in 西社区" in east["answered_by_en"]
    row = proj.set_index("project_id").loc[east["project_id"]]
    assert row["location_kind"] == "proposed_site" and "同址" in row["reason_zh"]


def test_bad_inputs(case):
    with pytest.raises(lc.InputError, match="category"):
        analyze(
            case.network, case.facilities.drop(columns="category"), case.communities, case.profile
        )
    with pytest.raises(lc.InputError, match="unknown categories"):
        analyze(
            case.network, case.facilities, case.communities, case.profile, categories=["library"]
        )
    with pytest.raises(lc.InputError, match="load_communities"):
        analyze(case.network, case.facilities, case.communities[["geometry"]], case.profile)


def test_excel_and_csv_reports(case, tmp_path):
    import openpyxl

    from lifecircle.outputs.tables import write_csv

    out = case.to_excel(tmp_path / "gaps.xlsx")
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    wb = openpyxl.load_workbook(out)
    # (建议选址 only once sites were proposed: the module's case may have them)
    sheets = ["总体情况", "短板社区", "数据核查清单", "短板设施", "服务指数", "街道汇总", "区县汇总",
              "覆盖明细"] + (["建议选址"] if case.sites is not None and len(case.sites) else [])  # fmt: skip
    assert wb.sheetnames == sheets
    ws = wb["短板社区"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert "社区名称" in header and "原因" in header and "优先级排名" in header
    names = [
        ws.cell(row=i, column=header.index("社区名称") + 1).value for i in range(2, ws.max_row + 1)
    ]
    assert names == case.shortfalls["community_name"].tolist()
    csv = write_csv(case.shortfalls, tmp_path / "gaps.csv")
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so that Excel reads UTF-8
    back = pd.read_csv(csv, encoding="utf-8-sig", dtype=str)
    assert back["原因"].tolist() == case.shortfalls["reason_zh"].tolist()


def test_projects_go_to_the_pool(case, tmp_path):
    case.propose_sites(categories=["health_station"], max_sites=3)
    target = tmp_path / "pool.gpkg"
    rep = lc.export_pool(case, target)
    pool = lc.read_pool(target)
    assert len(pool) == len(case.projects) == rep.total
    assert set(pool["run_id"]) == {case.run_id}
    assert set(pool["status"]) == {"储备"}
    assert sorted(pool["reason_zh"]) == sorted(case.projects["reason_zh"])
    # a second export of the same run finds the same projects
    rep2 = lc.export_pool(case, target)
    assert rep2.added == 0 and len(lc.read_pool(target)) == len(pool)


def test_outputs_doc_lists_every_column(case):
    from conftest import ROOT
    from lifecircle.outputs.tables import COLUMNS

    doc = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    for col in COLUMNS:
        assert f"| `{col}` |" in doc, col
    case.propose_sites(categories=["health_station"], max_sites=1)
    frames = [case.coverage, case.shortfalls, case.categories, case.index, case.index_by_street,
              case.index_by_county, case.index_by_city, case.data_gaps, case.sites]  # fmt: skip
    for frame in frames:
        for col in frame.columns:
            assert col == "geometry" or col in COLUMNS, col


def test_isochrones_and_covered_areas_of_an_analysis(case):
    iso = case.isochrones(communities=["330402001001"], minutes=(5, 15))
    assert iso.crs.to_epsg() == 4326
    assert iso["distance_m"].tolist() == [300.0, 1000.0]  # the profile's level distances
    metric = iso.to_crs(CRS)
    five, fifteen = metric.geometry.iloc[0], metric.geometry.iloc[1]
    assert fifteen.contains(five.buffer(-0.5))
    north_bank = shapely.Point(X0 + 100, Y0 + 200)  # 215 m away in a straight line, 1010 m on foot
    assert not five.contains(north_bank) and not fifteen.contains(north_bank)
    elderly = case.isochrones(communities=["330402001001"], minutes=(5,), speed="elderly")
    assert elderly["distance_m"].iloc[0] == pytest.approx(270.0)
    cov = case.covered_areas()
    assert set(cov["category"]) == {"health_center", "nursery"}  # categories with facilities
    hc = cov[cov["category"] == "health_center"].to_crs(CRS).geometry.iloc[0]
    assert hc.contains(shapely.Point(X0 + 100, Y0 - 10))  # C1 is 65 m from the health centre
    with pytest.raises(lc.InputError, match="unknown community"):
        case.isochrones(communities=["nope"])


def test_communities_without_residents_have_no_shortfalls():
    net = river_with_bridge()
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["people", "nobody"], "population": [100, 0]},
            geometry=[shapely.Point(X0 + 100, Y0 - 10), shapely.Point(X0 + 900, Y0 + 210)],
            crs=CRS,
        )
    )
    fac = gpd.GeoDataFrame(
        {"category": ["nursery"], "capacity": [1.0]},
        geometry=[shapely.Point(X0 + 150, Y0)],
        crs=CRS,
    )
    a = analyze(net, fac, comm, PROFILE, categories=["nursery"])
    # "people": 60 m from the nursery, 1 place for 100 residents = 10 per 1,000 >= 4.5: met.
    # "nobody": 1,000+ m away with no supply, but nobody to serve: not a shortfall either
    assert len(a.shortfalls) == 0
    row = a.coverage.set_index("community_name").loc["nobody"]
    assert row["meets_capacity"] is None and bool(row["meets_standard"])
    assert np.isnan(a.index.set_index("community_name").loc["nobody", "service_index"])
    city = a.categories[a.categories["scope"] == "city"].iloc[0]
    assert city["communities"] == 1  # only communities with residents count


def test_share_meeting_counts_urban_communities_by_default():
    """The campaign's target is a share of urban communities (城镇社区), not villages: A 甲社区
    meets the standard (health centre 50 m away), B 乙社区 does not (150→500 350 m + bridge 200 m
    + 490 m + 10 m = 1,050 m > 1,000 m), C 丙村 meets it. Urban share 1/2, village 1/1, all 2/3."""
    net = river_with_bridge()
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["甲社区", "乙社区", "丙村"], "population": [100, 100, 100]},
            geometry=[shapely.Point(X0 + 150, Y0 + 0.0), shapely.Point(X0 + 990, Y0 + 210),
                      shapely.Point(X0 + 200, Y0 - 5)],
            crs=CRS,
        )
    )  # fmt: skip
    assert comm["settlement"].tolist() == ["urban", "urban", "village"]
    fac = gpd.GeoDataFrame(
        {"category": ["health_center"]}, geometry=[shapely.Point(X0 + 100, Y0)], crs=CRS
    )
    shares = {}
    for share_of in ("urban", "village", "all"):
        a = analyze(net, fac, comm, fixture_profile(), categories=["health_center"],
                    share_of=share_of)  # fmt: skip
        s = a.summary
        assert s["share_of"] == share_of
        shares[share_of] = s["share_meeting_standard"]
        street = a.index_by_street.iloc[0]
        assert street["share_of"] == share_of
        assert street["share_meeting_standard"] == pytest.approx(shares[share_of])
        assert (street["urban_assessed"], street["urban_meeting"]) == (2, 1)
        assert (street["village_assessed"], street["village_meeting"]) == (1, 1)
    assert shares == pytest.approx({"urban": 0.5, "village": 1.0, "all": 2 / 3})
    assert a.summary["share_meeting_urban"] == 0.5 and a.summary["share_meeting_village"] == 1.0
    # a target of 60% is missed over urban communities although 67% of all communities meet it
    a = analyze(net, fac, comm, fixture_profile(), categories=["health_center"])
    assert a.summary["share_of"] == "urban" and not a.summary["meets_target"]


def test_share_falls_back_to_all_when_nothing_is_classified(caplog):
    net = river_with_bridge()
    comm = _street_points((150, "Block A", 100), (600, "Block B", 100))
    fac = gpd.GeoDataFrame(
        {"category": ["health_center"]}, geometry=[shapely.Point(X0 + 100, Y0)], crs=CRS
    )
    with caplog.at_level(logging.WARNING, logger="lifecircle.analysis"):
        a = analyze(net, fac, comm, fixture_profile(), categories=["health_center"])
    assert a.share_of == "all" and a.summary["share_of"] == "all"
    assert "computed over all communities instead of urban ones" in caplog.text
    assert a.summary["communities_unclassified"] == 2


def openpyxl_sheets(path):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_compound_level_below_the_community(case, tmp_path):
    """Two residential compounds (小区) inside 北岸社区: 甲小区 around building B1 (300 people,
    350 m from the nursery) and 乙小区 around B2 (600 people, 100 m). Nursery coverage: 0 and 1;
    2SFCA supply: B1 is outside the 300 m catchment (0), B2 holds all 2 places for its 600 people
    (2 / 600 × 1,000 = 3.333 per 1,000); the community's own figure stays 2,000 / 900."""
    compounds = gpd.GeoDataFrame(
        {"小区名称": ["甲小区", "乙小区"], "小区编号": ["XQ1", "XQ2"]},
        geometry=[box(40, 215, 100, 260), box(290, 215, 350, 260)],
        crs=CRS,
    )
    a = analyze(
        case.network, case.facilities, case.communities, case.profile,
        demand=lc.communities.Demand(case.demand.copy(), case.communities.copy()),
        complete_categories=True, compounds=compounds,
    )  # fmt: skip
    cov = a.compound_coverage.set_index(["compound_name", "category"])
    assert cov.loc[("甲小区", "nursery"), "covered_share"] == 0.0
    assert cov.loc[("乙小区", "nursery"), "covered_share"] == 1.0
    assert cov.loc[("甲小区", "nursery"), "group_pop"] == pytest.approx(300)
    assert cov.loc[("甲小区", "nursery"), "supply_per_1000"] == pytest.approx(0.0)
    assert cov.loc[("乙小区", "nursery"), "supply_per_1000"] == pytest.approx(2000 / 600)
    idx = a.index_by_compound.set_index("compound_id")
    assert list(idx.index) == ["XQ1", "XQ2"]
    assert set(idx["parent_community_name"]) == {"北岸社区"}
    assert idx.loc["XQ2", "service_index"] > idx.loc["XQ1", "service_index"]
    from lifecircle.outputs.tables import COLUMNS

    assert all(c == "geometry" or c in COLUMNS for c in a.index_by_compound.columns)
    book = openpyxl_sheets(a.to_excel(tmp_path / "c.xlsx"))
    assert "小区指数" in book and "小区名称" in book["小区指数"][0]
    # the community level is unchanged by the compounds
    pd.testing.assert_frame_equal(a.coverage, case.coverage)
    assert case.index_by_compound is None
    with pytest.raises(lc.InputError, match="duplicate ids"):
        analyze(case.network, case.facilities, case.communities, case.profile,
                compounds=compounds.assign(小区编号="X"))  # fmt: skip


def test_category_table_puts_categories_without_data_last():
    """短板设施 ranks the categories of each place worst first; a category without data is not a
    shortfall (0 % covered only because nothing is known), so it comes after the assessed ones.
    A synthetic city of 60 communities with no list of elderly meal-aid points at all."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    c = lc.synthetic.city(60, prof)
    fac = c.facilities[c.facilities["category"] != "elderly_meal_aid"]
    t = analyze(c.network, fac, c.communities, prof, data_gap_radius_m=300).categories
    city = t[t["scope"] == "city"]
    assert city["data_status"].iloc[0] != "no_data"
    assert city["category"].iloc[-1] == "elderly_meal_aid"
    assert city["data_status"].iloc[-1] == "no_data"
    for _, place in t.groupby(["scope", "county_code", "street_code"], dropna=False, sort=False):
        no_data = (place["data_status"] == "no_data").to_numpy()
        assert not (no_data[:-1] & ~no_data[1:]).any()  # no assessed row after a no-data one
        assert place["rank"].tolist() == list(range(1, len(place) + 1))
        share = place.loc[~no_data, "covered_share"].dropna().to_numpy()
        assert (np.diff(share) >= 0).all()  # worst first


def test_no_sites_keep_the_columns_of_sites(tmp_path):
    """``propose_sites(max_sites=0)`` (the CLI's "none") gives no rows but the usual columns, so
    what reads ``a.sites`` afterwards (by category, the workbook, the pool) still works."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    c = lc.synthetic.city(30, prof)
    a = analyze(c.network, c.facilities, c.communities, prof)
    some = a.propose_sites(max_sites=2)
    assert len(some) > 0
    none = a.propose_sites(max_sites=0)
    assert len(none) == 0 and list(none.columns) == list(some.columns) and none.crs == some.crs
    assert none.groupby("category").size().empty
    a.to_excel(tmp_path / "短板清单.xlsx")
    assert lc.export_pool(a, tmp_path / "pool.gpkg") is not None


def test_propose_sites_refuses_other_keywords_and_says_where_they_are():
    """A planner who writes ``propose_sites(budget=…)`` or ``candidates=…`` learns that the
    fast mode takes neither and which functions do, instead of Python's TypeError; nothing is
    proposed (the sites before stay)."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    c = lc.synthetic.city(30, prof)
    a = analyze(c.network, c.facilities, c.communities, prof)
    before = a.propose_sites(max_sites=1)
    for kw in ({"budget": 1000.0}, {"candidates": c.communities}, {"p": 3}):
        with pytest.raises(lc.InputError, match="lc.optimal_sites") as e:
            a.propose_sites(**kw)
        assert next(iter(kw)) in str(e.value) and "max_sites" in str(e.value)
    assert a.sites.equals(before)
    with pytest.raises(lc.InputError, match="were not analysed"):
        a.propose_sites(categories=["no_such_category"])


def test_sites_say_whose_residents_they_count():
    """``new_covered_pop`` counts the category's target group; where a community has no age
    data the site counts all its residents, and the site's ``target_group`` says ``total`` (as
    the coverage rows do), so a reader does not take 2,000 residents for 2,000 elderly."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    c = lc.synthetic.city(30, prof)
    group = {k: v.target_group for k, v in prof.categories.items()}
    pop = c.communities["population"]
    aged = c.communities.assign(pop_elderly=(0.2 * pop).round(), pop_child_0_3=(0.03 * pop).round(),
                                pop_child_3_6=(0.03 * pop).round())  # fmt: skip
    sites = analyze(c.network, c.facilities, aged, prof).propose_sites(max_sites=2)
    assert sites["target_group"].tolist() == sites["category"].map(group).tolist()
    assert set(sites["target_group"]) > {"total"}  # age groups are counted where known
    no_age = c.communities  # the synthetic city has no age data
    assert no_age[["pop_elderly", "pop_child_0_3", "pop_child_3_6"]].isna().all().all()
    blind = analyze(c.network, c.facilities, no_age, prof)
    sites = blind.propose_sites(max_sites=2)
    assert len(sites) > 0 and (sites["target_group"] == "total").all()
    cov = blind.coverage.set_index(["community_id", "category"])["target_group"]
    assert (cov == "total").all()  # the coverage rows say the same


def test_places_known_by_code_only_are_told_apart():
    """Communities with NBS codes but no county or street names: each county and street is
    named by its code in the roll-ups (two counties both called "(未知)" would share one bar in
    the report's chart)."""
    from _nets import CRS, X0, Y0
    from _nets import river_with_bridge as river

    comm = lc.load_communities(gpd.GeoDataFrame(
        {"name": ["c0", "c1", "c2"], "code": ["330402001001", "330402001002", "330411002001"],
         "population": [1000] * 3},
        geometry=[shapely.Point(X0 + 100, Y0 - 10), shapely.Point(X0 + 900, Y0 + 210),
                  shapely.Point(X0 + 300, Y0 - 10)], crs=CRS,
    ))  # fmt: skip
    fac = gpd.GeoDataFrame({"category": ["nursery"]}, geometry=[shapely.Point(X0 + 150, Y0)], crs=CRS)
    a = lc.analyze(river(), fac, comm, "jiaxing-yilao-yixiao", categories=["nursery"])
    by_county = a.index_by_county.set_index("county_code")
    assert by_county["county_name"].to_dict() == {"330402": "(未知) 330402", "330411": "(未知) 330411"}
    assert by_county["communities"].to_dict() == {"330402": 2, "330411": 1}
    assert a.index_by_street["street_name"].tolist() == ["(未知) 330402001", "(未知) 330411002"]
    county_rows = a.categories[a.categories["scope"] == "county"]
    assert county_rows["county_name"].tolist() == ["(未知) 330402", "(未知) 330411"]
    # named in one community's row only: one county, by that name
    comm.loc[comm.index[0], "county_name"] = "南湖区"
    b = lc.analyze(river(), fac, comm, "jiaxing-yilao-yixiao", categories=["nursery"])
    assert b.index_by_county[["county_code", "county_name", "communities"]].values.tolist() == [
        ["330402", "南湖区", 2], ["330411", "(未知) 330411", 1]]  # fmt: skip
