"""Scenarios: ``Analysis.with_projects`` equals a full re-analysis with the facilities appended,
exactly, on the real Nanjing Xinjiekou extract; and its comparison says what changed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

import lifecircle as lc
from lifecircle.communities import Demand, buildings_from_osm

pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("quiet")]

PROFILE = "gb50180-2018"
#: present in the extract, and two categories without any facility (nursery, elderly day care)
CATEGORIES = ["health_centre", "wet_market", "bus_stop", "neighbourhood_shops", "health_station",
              "primary_school", "kindergarten", "nursery", "elderly_daycare"]  # fmt: skip




@pytest.fixture(scope="module")
def inputs(nanjing_osm):
    net = lc.load_network(nanjing_osm)
    fac = lc.facilities_from_osm(nanjing_osm, lc.load_profile(PROFILE))
    buildings, landuse = buildings_from_osm(nanjing_osm)
    x0, y0, x1, y1 = net.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cells = gpd.GeoDataFrame(
        {"社区名称": [f"网格{r}{c}" for r in range(3) for c in range(3)],
         "id": [f"g{r}{c}" for r in range(3) for c in range(3)]},
        geometry=[shapely.box(cx - 1500 + c * 1000, cy - 1500 + r * 1000,
                              cx - 500 + c * 1000, cy - 500 + r * 1000)
                  for r in range(3) for c in range(3)],
        crs=net.crs,
    )  # fmt: skip
    comm = lc.load_communities(cells)
    demand = lc.demand_points(comm, buildings=buildings, landuse=landuse, missing_population="zero")
    return net, fac, comm, demand


def _analyze(inputs, fac):
    net, _, comm, demand = inputs
    return lc.analyze(net, fac, comm, PROFILE, categories=CATEGORIES, demand=demand)


@pytest.fixture(scope="module")
def before(inputs):
    return _analyze(inputs, inputs[1])


@pytest.fixture(scope="module")
def added(before, inputs):
    """Proposed sites (3 per category) plus two nurseries where there was none: a category
    without data becomes assessed."""
    sites = before.propose_sites(max_sites=3)
    comm = inputs[2].to_crs(4326)
    pts = comm.geometry.representative_point().to_numpy()[:2]
    nurseries = gpd.GeoDataFrame(
        {"facility_id": ["new-nursery-1", "new-nursery-2"], "category": "nursery"},
        geometry=list(pts), crs=4326, index=["new-nursery-1", "new-nursery-2"],
    )  # fmt: skip
    rows = sites[["category", "site_id", "geometry"]].copy()
    rows["facility_id"] = [
        f"{s}:{c}" for s, c in zip(rows["site_id"], rows["category"], strict=True)
    ]
    rows = rows.set_index("facility_id", drop=False).drop(columns="site_id")
    return gpd.GeoDataFrame(pd.concat([rows, nurseries]), crs=4326)


@pytest.fixture(scope="module")
def scenario(before, added):
    return before.with_projects(added)


@pytest.fixture(scope="module")
def full(inputs, before, scenario):
    """The full re-analysis with the same facility rows appended."""
    return _analyze(inputs, pd.concat([before.facilities, scenario.added]))


TABLES = ["coverage", "shortfalls", "categories", "data_gaps", "index_by_street",
          "index_by_county", "index_by_city"]  # fmt: skip


@pytest.mark.parametrize("table", TABLES)
def test_tables_equal_full_reanalysis(scenario, full, table):
    pd.testing.assert_frame_equal(getattr(scenario.analysis, table), getattr(full, table))


def test_index_projects_and_arrays_equal_full_reanalysis(scenario, full):
    s = scenario.analysis
    pd.testing.assert_frame_equal(s.index, full.index)
    pd.testing.assert_frame_equal(s.projects, full.projects)
    assert np.array_equal(s.access.distance_m, full.access.distance_m)
    assert np.array_equal(s.access.nearest, full.access.nearest)
    assert np.array_equal(s.point_status, full.point_status)
    assert s.access.facilities.index.equals(full.access.facilities.index)
    assert np.array_equal(s.access.facilities.edge, full.access.facilities.edge)
    assert pd.Series(s.summary).equals(pd.Series(full.summary))  # NaN == NaN here
    assert s.run_id == full.run_id


def test_something_changed(before, scenario, added):
    """The sites were proposed where they cover residents: the scenario must cover more."""
    nc = scenario.newly_covered.set_index("category")
    assert set(nc.index) == set(added["category"])
    assert (nc["newly_covered_pop"] >= 0).all()
    assert nc["newly_covered_pop"].sum() > 0
    assert nc.loc["nursery", "covered_pop_before"] == 0
    # the data checklist lost nursery (it now has facilities)
    assert "nursery" in set(before.data_gaps["category"])
    assert "nursery" not in set(scenario.analysis.data_gaps["category"])


def test_comparison_matches_tables(before, scenario):
    """Every community listed changed, every one not listed did not; counts agree."""
    b = before.index.set_index("community_id")
    a = scenario.analysis.index.set_index("community_id")
    listed = set(scenario.communities["community_id"])
    for cid in b.index:
        same = (str(b.at[cid, "meets_all_required"]) == str(a.at[cid, "meets_all_required"])
                and np.isclose(b.at[cid, "service_index"], a.at[cid, "service_index"],
                               equal_nan=True, rtol=0, atol=1e-9))  # fmt: skip
        assert (cid not in listed) == same, cid
    up = scenario.communities[scenario.communities["change"] == "short_to_meeting"]
    assert scenario.summary["communities_short_to_meeting"] == len(up)
    for cid in up["community_id"]:
        assert b.at[cid, "meets_all_required"] is not True
        assert a.at[cid, "meets_all_required"] is True
    st = scenario.by_street
    after = scenario.analysis.index_by_street.set_index("street_name")
    for _, r in st.iterrows():
        assert r["communities_meeting_after"] == after.at[r["street_name"], "communities_meeting"]
    # the categories newly met, by id and by Chinese name, are the coverage rows that turned
    cb, ca = before.coverage, scenario.analysis.coverage
    turned = cb[~cb["meets_standard"].astype(bool) & ca["meets_standard"].astype(bool)]
    cats = before.profile.categories
    for r in scenario.communities.itertuples():
        ids = turned.loc[turned["community_id"] == r.community_id, "category"].tolist()
        assert r.categories_met == "、".join(ids)
        assert r.categories_met_zh == "、".join(cats[k].name_zh for k in ids)
    assert (scenario.communities["categories_met"] != "").any()  # premise: something was met


def test_pool_rows_by_status(before):
    """Pool rows: only declared / under construction / built projects are taken by default."""
    proj = before.projects.head(4).copy()
    proj["status"] = ["储备", "在建", "建成", "取消"]
    sc = before.with_projects(proj)
    assert list(sc.added.index) == list(proj["project_id"].iloc[[1, 2]])
    assert sc.summary["facilities_added"] == 2


def test_taken_ids_are_refused(before):
    fac = before.facilities.head(1)
    with pytest.raises(lc.InputError, match="taken by facilities"):
        before.with_projects(fac)


def test_repeated_project_ids_become_one_facility_each(before):
    """A pool may list one project id at two places: each row is a facility of its own."""
    proj = before.projects.head(2).copy()
    proj["project_id"] = "LC-same"
    sc = before.with_projects(proj, statuses=None)
    assert list(sc.added.index) == ["LC-same", "LC-same#2"]


def test_nothing_to_add_says_why(before):
    """The message names the statuses the rows have, not the categories (which are fine)."""
    proj = before.projects.head(2).assign(status="储备")
    with pytest.raises(lc.InputError, match=r"nothing to add.*status 申报/在建/建成 \(their "
                       r"statuses: 储备 ×2\); set the status"):
        before.with_projects(proj)
    other = before.projects.head(1).assign(category="primary_school_x", status="在建")
    with pytest.raises(lc.InputError, match="analysed category.*their categories: primary_school_x"):
        before.with_projects(other)


def test_pool_statuses_as_planners_write_them(before, caplog):
    """Statuses with stray spaces, full-width, 已建成 or English words are read as the pool's
    five; one that is none of them is left out with a warning naming its row."""
    from lifecircle.analysis.scenario import project_status

    assert [project_status(v) for v in [" 在建", "建成 ", "已建成", "Under construction",
                                        "ｂｕｉｌｔ", "储备", "待定", None]] == [
        "在建", "建成", "建成", "在建", "建成", "储备", None, None]  # fmt: skip
    proj = before.projects.head(5).copy()
    proj["project_id"] = [f"P{i}" for i in range(5)]  # communities without codes share ids
    proj["status"] = [" 在建", "建成 ", "已建成", "储备", "待定"]
    with caplog.at_level("WARNING", logger="lifecircle"):
        sc = before.with_projects(proj)
    assert list(sc.added.index) == list(proj["project_id"].iloc[:3])
    assert "status that is none of" in caplog.text and "(待定)" in caplog.text
    # a status of one's own, asked for by name, is still taken as written
    own = before.projects.head(1).assign(status="approved", project_id="P9")
    assert before.with_projects(own, statuses=("approved",)).summary["facilities_added"] == 1


def test_categories_by_name_and_rows_without_one(before, caplog):
    """A category given by its Chinese or English name (or the start of its Chinese name) is
    that category; a row without one is
    left out with a warning naming it; a capacity written with its unit is read."""
    nursery = before.profile.categories["nursery"]
    pts = before.communities.to_crs(4326).geometry.representative_point().to_numpy()[:4]
    rows = gpd.GeoDataFrame(
        {"facility_id": ["A", "B", "C", "D"],
         "category": [nursery.name_zh, nursery.name_en.upper(), None, "托儿"],
         "capacity": ["30个托位", "约40", None, "许多"]},
        geometry=list(pts), crs=4326, index=["A", "B", "C", "D"],
    )  # fmt: skip
    with caplog.at_level("WARNING", logger="lifecircle"):
        sc = before.with_projects(rows)
    assert list(sc.added.index) == ["A", "B", "D"]
    assert list(sc.added["category"]) == ["nursery"] * 3
    assert sc.added["capacity"].tolist()[:2] == [30.0, 40.0]
    assert np.isnan(sc.added["capacity"].iloc[2])
    assert "rows C have no category" in caplog.text
    assert "capacity of rows D could not be read ('许多')" in caplog.text


@pytest.mark.parametrize("seed", [1, 2])
def test_bounded_search_equals_full_distances_on_a_synthetic_city(seed):
    """The bounded search from the added facilities gives the same distance arrays as a full
    access computation, on a synthetic city with random old and added facilities."""
    from lifecircle.analysis.access import compute_access
    from lifecircle.analysis.scenario import added_facilities, extend_access

    prof = lc.load_profile(PROFILE)
    city = lc.synthetic.city(80, prof, seed=seed, facilities_per_community=0.4)
    cats = ["health_centre", "kindergarten", "elderly_daycare"]
    fac = city.facilities[city.facilities["category"].isin(cats)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lc.settings, "progress", False)
        a = lc.analyze(city.network, fac, city.communities, prof, categories=cats)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = city.network.bounds
    new = gpd.GeoDataFrame(
        {"category": rng.choice(cats, 6)},
        geometry=shapely.points(rng.uniform([x0, y0], [x1, y1], size=(6, 2))),
        crs=city.network.crs, index=[f"N{i}" for i in range(6)],
    )  # fmt: skip
    added = added_facilities(new, a)
    both = gpd.GeoDataFrame(pd.concat([a.facilities, added.to_crs(a.facilities.crs)]).sort_index(),
                            crs=a.facilities.crs)  # fmt: skip
    acc, moved = extend_access(a, added, both)
    full = compute_access(city.network, a.demand, both, a.params.categories, a.params.max_snap_m)
    assert set(moved) == set(new["category"])
    for cid, pts in moved.items():  # exactly the points brought nearer
        j = acc.column(cid)
        assert np.array_equal(pts, np.flatnonzero(acc.distance_m[:, j] != a.access.distance_m[:, j]))
    assert np.array_equal(acc.distance_m, full.distance_m)
    assert np.array_equal(acc.nearest, full.nearest)


def test_pool_path(before, tmp_path):
    """A pool's path works like its rows; a fresh pool's projects are 储备 (reserve): none taken
    by default."""
    pool = tmp_path / "pool.gpkg"
    lc.export_pool(before.projects.head(3), pool, run_id=before.run_id, profile="gb50180-2018")
    with pytest.raises(lc.InputError, match="nothing to add"):
        before.with_projects(pool)
    sc = before.with_projects(pool, statuses=None)
    assert sorted(sc.added.index) == sorted(lc.read_pool(pool)["project_id"])


def _added_at(before, category, points, prefix):
    """Facilities of ``category`` at ``points`` (WGS84), ids ``prefix-1`` …"""
    ids = [f"{prefix}-{i + 1}" for i in range(len(points))]
    return gpd.GeoDataFrame({"facility_id": ids, "category": category}, geometry=list(points),
                            crs=4326, index=ids)  # fmt: skip


def _assert_equals_full(inputs, before, sc):
    full = _analyze(inputs, pd.concat([before.facilities, sc.added]))
    for table in [*TABLES, "index", "projects"]:
        pd.testing.assert_frame_equal(getattr(sc.analysis, table), getattr(full, table))
    assert np.array_equal(sc.analysis.point_status, full.point_status)


def test_one_category_changes(inputs, before):
    """Two kindergartens at the first communities: only kindergarten rows of coverage differ
    from before, and every table still equals the full re-analysis."""
    pts = inputs[2].to_crs(4326).geometry.representative_point().to_numpy()[:2]
    sc = before.with_projects(_added_at(before, "kindergarten", pts, "kg"))
    _assert_equals_full(inputs, before, sc)
    old, new = before.coverage, sc.analysis.coverage
    other = (old["category"] != "kindergarten").to_numpy()
    pd.testing.assert_frame_equal(old[other], new[other])
    assert not old[~other].equals(new[~other])  # the kindergartens did change something
    assert sc.summary["categories_changed"] == ["kindergarten"]


def test_nothing_changes(inputs, before):
    """A health centre at the network's south-westernmost node, nearer to no resident than the
    health centres there are: coverage and index are those of before, the city table counts
    one more facility, and the tables still equal the full re-analysis."""
    nodes = inputs[0].nodes
    far = nodes.geometry.x + nodes.geometry.y
    corner = nodes.geometry.loc[[far.idxmin()]].to_crs(4326).to_numpy()
    sc = before.with_projects(_added_at(before, "health_centre", corner, "far"))
    _assert_equals_full(inputs, before, sc)
    pd.testing.assert_frame_equal(sc.analysis.coverage, before.coverage)
    pd.testing.assert_frame_equal(sc.analysis.index, before.index)
    assert len(sc.communities) == 0
    city = sc.analysis.categories.query("scope == 'city'").set_index("category")
    city_before = before.categories.query("scope == 'city'").set_index("category")
    assert city.at["health_centre", "facilities"] == city_before.at["health_centre", "facilities"] + 1


def test_status_with_added_by_hand():
    """Three streets: 0 present, 1 and 2 without data. A facility 100 m from the second point
    of street 1 (radius 500 m) makes all of street 1 present; street 2, 2 km away, stays."""
    from lifecircle.analysis.datastatus import NO_DATA, PRESENT, status_with_added

    codes = np.array([0, 0, 1, 1, 2])
    xy = np.array([[0, 0], [50, 0], [1000, 0], [1400, 0], [3500, 0]], dtype=float)
    status = np.array([PRESENT, PRESENT, NO_DATA, NO_DATA, NO_DATA], dtype=object)
    out = status_with_added(status, codes, xy, np.array([[1500.0, 0.0]]), 500.0)
    assert list(out) == [PRESENT] * 4 + [NO_DATA]
    assert list(status) == [PRESENT, PRESENT, NO_DATA, NO_DATA, NO_DATA]  # not changed in place
    assert status_with_added(status, codes, xy, np.empty((0, 2)), 500.0) is status


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 40), st.integers(0, 40)), min_size=1,
             max_size=40),
    st.sets(st.integers(0, 5)),
    st.lists(st.tuples(st.integers(-10, 50), st.integers(-10, 50)), max_size=3),
    st.sampled_from([0.0, 3.0, 7.5, 20.0]),
)  # fmt: skip
def test_status_with_added_is_every_street_near_an_added_facility(rows, present, added, radius):
    """Random streets of points (street ``present`` or without data), random added facilities:
    a street turns present exactly when one of its points is within the radius of one of them,
    as a k-d tree query of every point says (the box around the added facilities only skips
    points that cannot be within it)."""
    from lifecircle.analysis.datastatus import NO_DATA, PRESENT, status_with_added

    codes = np.array([c for c, _, _ in rows])
    xy = np.array([(x, y) for _, x, y in rows], dtype=float)
    status = np.array([PRESENT if c in present else NO_DATA for c in codes], dtype=object)
    fxy = np.array(added, dtype=float).reshape(-1, 2)
    out = status_with_added(status, codes, xy, fxy, radius)
    expected = status.copy()
    if len(fxy):
        d, _ = cKDTree(fxy).query(xy, distance_upper_bound=radius)
        near_streets = set(codes[np.isfinite(d)].tolist())
        expected[np.isin(codes, list(near_streets))] = PRESENT
    assert list(out) == list(expected)
    assert (out is status) == (list(out) == list(status))  # unchanged: the same array
    # told which points may lack data (as a scenario tells it: its communities' rows), the same
    among = np.flatnonzero(status != PRESENT)
    told = status_with_added(status, codes, xy, fxy, radius, among=among)
    assert list(told) == list(expected)
    assert (told is status) == (out is status)


@pytest.fixture(scope="module")
def plain(inputs):
    """An analysis on which no sites were proposed: its projects are one per shortfall, which a
    scenario patches instead of building again."""
    return _analyze(inputs, inputs[1])


def test_before_is_left_as_it_was(before, scenario, plain):
    """The scenario shares arrays with the analysis before where nothing changed; where the new
    nurseries changed the data status, the analysis before still has its own (caught: the
    status written into before's array)."""
    assert not np.array_equal(scenario.analysis.point_status, before.point_status)
    assert np.array_equal(before.point_status, plain.point_status)
    assert np.array_equal(before.access.distance_m, plain.access.distance_m)
    assert np.array_equal(before.access.nearest, plain.access.nearest)


def test_analysis_without_sites_equals_full_reanalysis(inputs, plain, added):
    """The patched shortfalls, projects and links (no sites before) equal the full re-analysis,
    and the shortfalls of communities that did not change keep their rows."""
    sc = plain.with_projects(added)
    assert plain.sites is None
    _assert_equals_full(inputs, plain, sc)
    full = _analyze(inputs, pd.concat([plain.facilities, sc.added]))
    assert np.array_equal(sc.analysis.access.distance_m, full.access.distance_m)
    changed = set(sc.communities["community_id"])
    assert changed  # the sites reach someone
    keep = ~plain.shortfalls["community_id"].isin(changed)
    cols = [c for c in plain.shortfalls.columns if c != "priority_rank"]
    left = plain.shortfalls.loc[keep, cols].set_index(["community_id", "category"])
    right = sc.analysis.shortfalls[cols].set_index(["community_id", "category"])
    pd.testing.assert_frame_equal(left, right.loc[left.index])


def test_one_category_without_sites(inputs, plain):
    """Two kindergartens on an analysis without sites: the patched tables equal the full
    re-analysis, and a second scenario on the first one's analysis does too."""
    pts = inputs[2].to_crs(4326).geometry.representative_point().to_numpy()
    sc = plain.with_projects(_added_at(plain, "kindergarten", pts[:2], "kg"))
    _assert_equals_full(inputs, plain, sc)
    again = sc.analysis.with_projects(_added_at(plain, "health_station", pts[3:5], "hs"))
    _assert_equals_full(inputs, sc.analysis, again)


def test_compound_gates_in_a_scenario():
    """river_with_bridge: a compound (box x 50-150, y 20-190) with a gate at (100, 20) holds a
    point community at (100, 150); its nursery N1 is at (900, -5): 130 m inside to the gate,
    20 m to the south street, 800 m along it, 5 m: 955 m. A nursery added at (150, -5) is
    130 + 20 + 50 + 5 = 205 m away through the gate. The scenario equals the full re-analysis,
    the compound tables included."""
    from _nets import CRS, X0, Y0, box, pts, river_with_bridge
    from conftest import FIXTURES

    net = river_with_bridge()
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    comm = lc.load_communities(gpd.GeoDataFrame(
        {"name": ["C1"], "population": [1000]}, geometry=[shapely.Point(X0 + 100, Y0 + 150)],
        crs=CRS,
    ))  # fmt: skip
    fac = gpd.GeoDataFrame({"category": ["nursery"], "capacity": [10.0]},
                           geometry=[shapely.Point(X0 + 900, Y0 - 5)], crs=CRS,
                           index=pd.Index(["N1"], name="facility_id"))  # fmt: skip
    new = gpd.GeoDataFrame({"category": ["nursery"], "capacity": [20.0]},
                           geometry=[shapely.Point(X0 + 150, Y0 - 5)], crs=CRS,
                           index=pd.Index(["N2"], name="facility_id"))  # fmt: skip
    kw = {"categories": ["nursery"], "compound_gates": pts((100, 20), index=["south"]),
          "compounds": gpd.GeoDataFrame({"小区名称": ["江南润园"]},
                                        geometry=[box(50, 20, 150, 190)], crs=CRS)}  # fmt: skip
    a = lc.analyze(net, fac, comm, profile, **kw)
    assert a.access.distance_m[0, 0] == pytest.approx(955)
    sc = a.with_projects(new)
    full = lc.analyze(net, pd.concat([fac, sc.added]), comm, profile, **kw)
    assert sc.analysis.access.distance_m[0, 0] == pytest.approx(205)
    assert np.array_equal(sc.analysis.access.distance_m, full.access.distance_m)
    for table in [*TABLES, "index", "projects", "index_by_compound", "compound_coverage"]:
        pd.testing.assert_frame_equal(getattr(sc.analysis, table), getattr(full, table))
    assert sc.analysis.index_by_compound is not None


def _river_case(nurseries: dict, communities: dict):
    """river_with_bridge with point communities and nurseries ``{id: ((x, y), n)}`` (metres
    from the synthetic origin; n: residents or places) and the fixture profile."""
    from _nets import CRS, X0, Y0, river_with_bridge
    from conftest import FIXTURES

    def frame(spec: dict, column: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {column: [n for _, n in spec.values()]},
            geometry=[shapely.Point(X0 + x, Y0 + y) for (x, y), _ in spec.values()],
            crs=CRS, index=pd.Index(list(spec), name="facility_id"),
        )  # fmt: skip

    fac = frame(nurseries, "capacity").assign(category="nursery")
    if not communities:
        return None, fac, None, None
    comm = frame(communities, "population").reset_index(names="name")
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    return river_with_bridge(), fac, lc.load_communities(comm), profile


def test_capacity_reaches_beyond_the_nearest_facility():
    """South street y=0. Community A (1,000 people) at (100, -10), B (1,000) at (400, -10);
    nursery N1 (10 places) at (100, -5): A is 5 m from it (straight, both beside the same
    spot of the street), B 10 + 300 + 5 = 315 m (beyond the 300 m catchment). N2 (10 places)
    added at (300, -5) is 10 + 200 + 5 = 215 m from A (N1 stays its nearest: A's distance is
    unchanged) and 115 m from B. A's supply per 1,000 still changes
    (N2's catchment reaches it, Gaussian 2SFCA): the scenario must notice it from the capacity
    step, and equals the full re-analysis."""
    net, fac, comm, profile = _river_case(
        {"N1": ((100, -5), 10.0)}, {"A": ((100, -10), 1000), "B": ((400, -10), 1000)}
    )
    new = _river_case({"N2": ((300, -5), 10.0)}, {})[1]
    a = lc.analyze(net, fac, comm, profile, categories=["nursery"])
    sc = a.with_projects(new)
    full = lc.analyze(net, pd.concat([fac, sc.added]), comm, profile, categories=["nursery"])
    for table in [*TABLES, "index", "projects"]:
        pd.testing.assert_frame_equal(getattr(sc.analysis, table), getattr(full, table))
    old = a.coverage.set_index("community_name")
    cov = sc.analysis.coverage.set_index("community_name")
    assert old.at["A", "distance_m"] == cov.at["A", "distance_m"] == pytest.approx(5)
    assert old.at["B", "distance_m"] == pytest.approx(315)
    assert cov.at["B", "distance_m"] == pytest.approx(115)
    assert cov.at["A", "supply_per_1000"] > old.at["A", "supply_per_1000"]


def test_capacity_assessed_once_capacities_are_known():
    """The old nurseries state no capacity (capacity not assessed anywhere); an added one states
    10 places: every community's capacity rule now applies, those far from it included, as in
    the full re-analysis."""
    net, fac, comm, profile = _river_case(
        {"N1": ((100, -5), np.nan)}, {"A": ((100, -10), 1000), "B": ((900, 210), 1000)}
    )
    new = _river_case({"N2": ((300, -5), 10.0)}, {})[1]
    a = lc.analyze(net, fac, comm, profile, categories=["nursery"])
    assert a.coverage["capacity_threshold_per_1000"].isna().all()
    sc = a.with_projects(new)
    full = lc.analyze(net, pd.concat([fac, sc.added]), comm, profile, categories=["nursery"])
    for table in [*TABLES, "index", "projects"]:
        pd.testing.assert_frame_equal(getattr(sc.analysis, table), getattr(full, table))
    assert (sc.analysis.coverage["capacity_threshold_per_1000"] == 4.5).all()


def test_newly_covered_sums_the_coverage(before, scenario):
    """Covered residents and communities meeting, per category, are the coverage tables' sums
    (the comparison reads them from the category tables' city rows)."""
    nc = scenario.newly_covered.set_index("category")
    for side, cov in (("before", before.coverage), ("after", scenario.analysis.coverage)):
        cov = cov[cov["category"].isin(nc.index)]
        pop = cov.groupby("category")["covered_pop"].sum().reindex(nc.index)
        meeting = (cov["group_pop"] > 0) & cov["meets_standard"].astype(bool)
        n_meeting = meeting.groupby(cov["category"]).sum().reindex(nc.index)
        np.testing.assert_allclose(nc[f"covered_pop_{side}"], pop, rtol=1e-12)
        assert (nc[f"communities_meeting_{side}"] == n_meeting).all()
    assert (nc["newly_covered_pop"] == nc["covered_pop_after"] - nc["covered_pop_before"]).all()


def test_places_roll_up_as_in_a_full_run(inputs):
    """Communities in two counties and three streets (one without a street code): the scenario
    reuses the analysis' row groups, and a kindergarten in one community changes its street's
    and county's rows only; every table equals the full re-analysis."""
    net, fac, comm, demand = inputs
    comm = comm.copy()
    row = comm["community_id"].str[1].astype(int).to_numpy()  # ids g<row><col>
    comm["county_code"] = np.where(row < 2, "320102", "320104")
    comm["county_name"] = np.where(row < 2, "玄武区", "秦淮区")
    comm["street_code"] = [f"32010{r}00{r}" for r in row]
    comm["street_name"] = [f"街道{r}" for r in row]
    middle = (comm["community_id"] == "g11").to_numpy()
    comm.loc[middle, ["street_code", "street_name"]] = None
    placed = (net, fac, comm, Demand(demand.points, comm))
    before = _analyze(placed, fac)
    assert len(before.index_by_street) == 4 and len(before.index_by_county) == 2
    kg = before.coverage.query("category == 'kindergarten' and group_pop > 0")
    worst = kg.sort_values("covered_share")["community_id"].iloc[0]  # least covered
    points = demand.points[demand.points["community_id"] == worst]
    pts = points.loc[[points["pop"].idxmax()]].to_crs(4326).geometry.to_numpy()
    at = comm.set_index("community_id").loc[[worst]]
    sc = before.with_projects(_added_at(before, "kindergarten", pts, "kg"))
    _assert_equals_full(placed, before, sc)
    # the streets whose kindergarten row moved are those of the communities whose row moved
    cov_b, cov_a = (
        x.query("category == 'kindergarten'") for x in (before.coverage, sc.analysis.coverage)
    )
    changed = cov_b["covered_pop"].to_numpy() != cov_a["covered_pop"].to_numpy()
    streets = set(cov_a["street_code"].fillna("(未知)").to_numpy()[changed])
    assert at["street_code"].fillna("(未知)").iloc[0] in streets
    cat_b, cat_a = (
        x.query("category == 'kindergarten' and scope == 'street'")
        for x in (before.categories, sc.analysis.categories)
    )
    moved = cat_b["covered_pop"].to_numpy() != cat_a["covered_pop"].to_numpy()
    assert set(cat_a["street_code"].to_numpy()[moved]) == streets
    assert len(streets) < 4  # some streets kept their rows


def test_an_added_facility_is_entered_through_its_gate():
    """The analysis's facility gates name a planned nursery N2 inside a compound (gate 10 m
    north of the south street at x=100); the community is on that street at x=100. A full run
    enters N2 through its gate: 10 m of street access + 140 m inside = 150 m. The scenario
    used to snap N2 to its own nearest street (the north one, 50 m away) and found N1 at 905 m
    instead (a review found it): the added facilities now go through the same gates."""
    from _nets import CRS, X0, Y0, pts, river_with_bridge
    from conftest import FIXTURES

    net = river_with_bridge()
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    comm = lc.load_communities(gpd.GeoDataFrame(
        {"name": ["C1"], "population": [1000]}, geometry=[shapely.Point(X0 + 100, Y0)], crs=CRS
    ))  # fmt: skip
    fac = gpd.GeoDataFrame(
        {"category": ["nursery", "nursery"], "capacity": [10.0, 10.0]},
        geometry=[shapely.Point(X0 + 1000, Y0 - 5), shapely.Point(X0 + 100, Y0 + 150)],
        crs=CRS, index=pd.Index(["N1", "N2"], name="facility_id"),
    )  # fmt: skip
    gate = pts((100, 10), index=["g2"])
    gate["facility_id"] = "N2"
    kw = {"categories": ["nursery"], "facility_gates": gate}
    before = lc.analyze(net, fac.loc[["N1"]], comm, profile, **kw)
    sc = before.with_projects(fac.loc[["N2"]].to_crs(4326), statuses=None).analysis
    full = lc.analyze(net, fac, comm, profile, **kw)
    assert full.access.distance_m[0, 0] == pytest.approx(150.0)
    assert sc.access.distance_m[0, 0] == full.access.distance_m[0, 0]
    assert sc.access.nearest[0, 0] == full.access.nearest[0, 0] == "N2"
    for t in ("coverage", "shortfalls", "index", "categories"):
        pd.testing.assert_frame_equal(getattr(sc, t), getattr(full, t))


def test_a_scenario_on_an_analysis_without_facilities_keeps_the_column_types():
    """Before: no facility at all, so every ``nearest_facility`` is empty (an object column).
    The scenario's patched column held the new ids in that object column, while a full run
    makes a text column: the tables were equal in value but not in type (a review found it)."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    c = lc.synthetic.city(30, prof)
    before = lc.analyze(c.network, c.facilities.iloc[:0], c.communities, prof)
    assert before.coverage["nearest_facility"].isna().all()
    add = c.facilities.assign(facility_id=c.facilities.index.astype(str))
    sc = before.with_projects(add, statuses=None).analysis
    full = lc.analyze(c.network, sc.facilities, c.communities, prof)
    for t in ("coverage", "shortfalls", "index"):
        pd.testing.assert_frame_equal(getattr(sc, t), getattr(full, t))
