"""Regions in parallel (lifecircle.batch): the merged result equals one whole-area run on the
columns of the contract (docs/batch.md), failures are reported per region, and the network cut
keeps what a region needs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

import lifecircle as lc
from _nets import X0, Y0, build
from lifecircle import batch
from lifecircle._errors import NetworkError

TABLES = ["index", "index_by_street", "index_by_county", "index_by_city", "categories", "data_gaps"]


# ------------------------------------------------------------------ the network cut
def test_clip_keeps_every_touching_edge_whole_and_the_order():
    # a street 0-1-2-3 along x (0, 100, 200, 300 m) and a spur 1-4 north (100 m)
    net = build([(0, 0), (100, 0), (200, 0), (300, 0), (100, 100)], [(0, 1), (1, 2), (2, 3), (1, 4)])
    part = net.clip(shapely.box(X0 + 150, Y0 - 5, X0 + 160, Y0 + 5))
    assert len(part.edges) == 1 and part.edges["length_m"].iloc[0] == pytest.approx(100.0)
    assert sorted(part.nodes["osmid"]) == [1, 2]
    # a box over nodes 1 and the spur's foot touches edges 0-1, 1-2 and 1-4: kept in their order
    part = net.clip(shapely.box(X0 + 95, Y0 - 5, X0 + 105, Y0 + 5))
    assert list(part.edges["length_m"]) == pytest.approx([100.0, 100.0, 100.0])
    assert list(part.nodes["osmid"]) == [0, 1, 2, 4]
    assert part.components.n_components == 1


def test_clip_away_from_the_network_says_so():
    net = build([(0, 0), (100, 0)], [(0, 1)])
    with pytest.raises(NetworkError, match="no street of the network touches"):
        net.clip(shapely.box(X0 + 5000, Y0, X0 + 5100, Y0 + 100))


# ------------------------------------------------------------------ equality with one run
@pytest.fixture(scope="module")
def profile():
    return lc.load_profile("jiaxing-yilao-yixiao")


@pytest.fixture(scope="module")
def city(profile):
    """300 communities in 4 streets, bands west to east (1.4 km wide); facilities with capacities
    (2SFCA crosses boundaries), none near the westmost street (a region without facilities)."""
    c = lc.synthetic.city(300, profile, seed=3, facilities_per_community=1.0)
    comm = c.communities.copy()
    x = comm.geometry.representative_point().x
    band = np.minimum(((x - x.min()) / (x.max() - x.min() + 1e-9) * 4).astype(int), 3)
    comm["street_code"] = [f"33040200{b}" for b in band]
    comm["street_name"] = [f"街道{b}" for b in band]
    fac = c.facilities.copy()
    fac["capacity"] = np.random.default_rng(1).integers(20, 200, len(fac)).astype(float)
    west = comm[comm["street_code"] == "330402000"].to_crs(fac.crs)
    near = fac.geometry.distance(west.union_all()) < 1600
    return c.network, fac[~near], comm


def _same_coverage(whole: pd.DataFrame, merged: pd.DataFrame, reach_m: float) -> None:
    """Every column equal, the distance columns up to the reach (and beyond it in both)."""
    assert list(whole.columns) == list(merged.columns)
    assert len(whole) == len(merged)
    exact = [c for c in whole.columns if c not in batch.REACH_COLUMNS]
    assert_frame_equal(whole[exact], merged[exact])
    inside = whole["distance_m"].to_numpy() <= reach_m
    for col in ("distance_m", "distance_min_m", "distance_max_m"):
        w, m = whole[col].to_numpy(), merged[col].to_numpy()
        ok = w <= reach_m
        np.testing.assert_array_equal(w[ok], m[ok])
        assert np.isinf(m[~ok]).all()
    nf_w, nf_m = whole["nearest_facility"].to_numpy(), merged["nearest_facility"].to_numpy()
    near = whole["distance_min_m"].to_numpy() <= reach_m
    assert (nf_w[near] == nf_m[near]).all() and pd.isna(nf_m[~near]).all()
    assert inside.sum() > 100 and (~inside).sum() > 10  # both sides of the reach are checked


def test_regions_equal_one_whole_run(city, profile):
    net, fac, comm = city
    whole = lc.analyze(net, fac, comm, profile, data_gap_radius_m=1000)
    res = lc.batch.analyze_regions(
        net, fac, comm, profile, by="street_code", scheduler="inline", data_gap_radius_m=1000
    )
    assert (res.regions["status"] == "ok").all() and len(res.regions) == 4
    # the regions were really cut, and residents reach facilities across their boundary
    assert (res.regions["edges"] < len(net.edges)).sum() >= 2  # the outer bands are cut
    cov = whole.coverage
    region_of = comm.set_index("community_id")["street_code"]
    covered = cov[cov["distance_m"] <= cov["threshold_m"]]
    fac_xy = fac.to_crs(comm.crs).geometry
    own = comm.set_index("community_id").geometry
    across = [
        not own[region_of == region_of[r.community_id]].union_all().contains(fac_xy[r.nearest_facility])
        for r in covered.itertuples()
    ]
    assert sum(across) > 10
    # the region without facilities is reported and still analysed
    empty = res.regions.set_index("region").loc["330402000"]
    assert empty["status"] == "ok" and empty["facilities"] == 0
    assert not cov[cov["street_code"] == "330402000"]["meets_distance"].all()

    _same_coverage(cov, res.coverage, res.reach_m)
    sf = whole.shortfalls[list(res.shortfalls.columns)]
    _same_coverage(sf.drop(columns=["reason_zh", "reason_en"]),
                   res.shortfalls.drop(columns=["reason_zh", "reason_en"]), res.reach_m)  # fmt: skip
    near = sf["distance_min_m"].to_numpy() <= res.reach_m
    for col in ("reason_zh", "reason_en"):
        assert (sf[col][near] == res.shortfalls[col][near]).all()
    assert res.shortfalls["reason_en"][~near].str.contains("none within walking reach").all()
    for name in TABLES:
        assert_frame_equal(getattr(whole, name), getattr(res, name), obj=name)


def _access_points(net, fac, comm, demand):
    """Gated compounds (a layer matched by location, some gates closed) and facility gates:
    random compounds, and one astride every street boundary whose gates lie on both sides."""
    rng = np.random.default_rng(7)
    crs = net.crs
    pts = demand.points.to_crs(crs)
    centres = shapely.get_coordinates(pts.geometry.values)[rng.choice(len(pts), 40, replace=False)]
    x = comm.to_crs(crs).geometry.representative_point().x
    bands = comm.assign(x=x.to_numpy()).groupby("street_code")["x"].agg(["min", "max"])
    edges_x = (bands["max"].to_numpy()[:-1] + bands["min"].to_numpy()[1:]) / 2
    y_mid = float(np.median(centres[:, 1]))
    # (not on the westmost boundary: the west street has no facility within reach)
    astride = np.array([(ex, y_mid + dy) for ex in edges_x[1:] for dy in (-400.0, 400.0)])
    centres = np.vstack([astride, centres])
    boxes = shapely.box(centres[:, 0] - 140, centres[:, 1] - 90, centres[:, 0] + 140,
                        centres[:, 1] + 90)  # fmt: skip
    compounds = gpd.GeoDataFrame({"小区名称": [f"小区{i}" for i in range(len(boxes))]},
                                 geometry=boxes, crs=crs)  # fmt: skip
    ring = shapely.boundary(np.repeat(boxes, 3))
    gate_xy = shapely.get_coordinates(
        shapely.line_interpolate_point(ring, rng.uniform(0, 1, len(ring)), normalized=True)
    )
    gate_xy[: len(astride) * 3] = [  # the compounds astride a boundary: gates west and east
        (c[0] + dx, c[1] + dy)
        for c in astride for dx, dy in ((-140, 30), (140, -30), (0, 90))
    ]  # fmt: skip
    compound_gates = gpd.GeoDataFrame(
        {"usable": rng.uniform(size=len(gate_xy)) > 0.1}, geometry=shapely.points(gate_xy), crs=crs
    )
    some = fac.sample(frac=0.3, random_state=2)
    off = rng.uniform(-120, 120, size=(len(some), 2))
    fxy = shapely.get_coordinates(some.to_crs(crs).geometry.values) + off
    facility_gates = gpd.GeoDataFrame(
        {"facility_id": list(some.index)}, geometry=shapely.points(fxy), crs=crs
    ).to_crs(4326)
    return compounds, compound_gates, facility_gates, astride


def test_regions_with_compound_and_facility_gates_equal_one_whole_run(city, profile):
    net, fac, comm = city
    demand = lc.demand_points(comm, grid_m=50)
    compounds, cgates, fgates, astride = _access_points(net, fac, comm, demand)
    kw = {"compounds": compounds, "compound_gates": cgates, "facility_gates": fgates,
          "data_gap_radius_m": 1000, "demand": demand}  # fmt: skip
    whole = lc.analyze(net, fac, comm, profile, **kw)
    plain = lc.analyze(net, fac, comm, profile, data_gap_radius_m=1000, demand=demand)
    res = lc.batch.analyze_regions(net, fac, comm, profile, scheduler="inline", **kw)
    assert isinstance(res, lc.Analysis) and (res.regions["status"] == "ok").all()
    # the gates change distances, among them those of residents of the compounds astride a
    # street boundary (residents of both regions, gates on both sides)
    reach = res.reach_m
    d_w, d_p = whole.access.distance_m, plain.access.distance_m
    assert ((d_w != d_p) & (d_w <= reach)).sum() > 100
    xy = whole.access.demand.xy
    street = whole.demand["community_id"].map(comm.set_index("community_id")["street_code"])
    changed = 0
    for cx, cy in astride:
        inside = (np.abs(xy[:, 0] - cx) < 140) & (np.abs(xy[:, 1] - cy) < 90)
        assert street[inside.tolist()].nunique() == 2
        changed += ((d_w[inside] != d_p[inside]) & (d_w[inside] <= reach)).sum()
    assert changed > 10
    assert res.access.demand_exits is not None and res.access.facility_entries is not None
    # equal to the whole run: per demand point, per community, every table, the compound level
    near = d_w <= reach
    np.testing.assert_array_equal(res.access.distance_m[near], d_w[near])
    assert np.isinf(res.access.distance_m[~near]).all()
    np.testing.assert_array_equal(res.access.nearest[near], whole.access.nearest[near])
    np.testing.assert_array_equal(res.point_status, whole.point_status)
    _same_coverage(whole.coverage, res.coverage, reach)
    for name in TABLES:
        assert_frame_equal(getattr(whole, name), getattr(res, name), obj=name)
    assert_frame_equal(whole.index_by_compound, res.index_by_compound)
    cc_w, cc_r = whole.compound_coverage, res.compound_coverage
    exact = [c for c in cc_w.columns if c not in batch.REACH_COLUMNS]
    assert_frame_equal(cc_w[exact], cc_r[exact])
    # sites and projects: the same greedy on the same residents
    s_w = whole.propose_sites(max_sites=5)
    s_r = res.propose_sites(max_sites=5)
    assert len(s_w) > 5
    assert_frame_equal(s_w, s_r)
    assert_frame_equal(whole.site_cover, res.site_cover)
    p_w, p_r = whole.projects, res.projects  # the reach rule: nearest_m and its words
    far_cols = ["nearest_m", "reason_zh", "reason_en"]
    assert_frame_equal(p_w.drop(columns=far_cols), p_r.drop(columns=far_cols))
    near = (p_w["nearest_m"] <= reach).to_numpy()
    assert near.sum() > 50 and np.isinf(p_r["nearest_m"][~near]).all()
    assert_frame_equal(p_w[far_cols][near], p_r[far_cols][near])
    assert res.run_id == whole.run_id


def test_a_gate_stays_with_its_compound_across_a_region_boundary(profile):
    """Streets y=0 and y=300 (x=0..1000) joined by cross streets at x=0, 250, 500, 750, 1000;
    street R1 west of x=500, R2 east of it. Compound A (x 300..480, y 100..200, in R1) has its
    gate on its west side at (300, 150); compound B (x 520..700, in R2) has gate G=(520, 150), on
    its own edge and 40 m from A. A kindergarten at (500, 30) on the x=500 street. Without
    capacities R1's region holds only A: matched there alone, G would be A's (nearest compound
    within 100 m) and A's residents would leave by it."""
    from _nets import CRS, X0, Y0, box, build, pts

    xs = [0, 250, 500, 750, 1000]
    net = build([(x, 0) for x in xs] + [(x, 300) for x in xs],
                [(i, i + 1) for i in range(4)] + [(i + 5, i + 6) for i in range(4)]
                + [(i, i + 5) for i in range(5)])  # fmt: skip
    comm = lc.load_communities(gpd.GeoDataFrame(
        {"社区代码": ["330402001001", "330402002001"], "社区名称": ["西社区", "东社区"],
         "街道": ["R1", "R2"], "区县": "南湖区", "常住人口": [1000, 1000]},
        geometry=[box(0, 0, 500, 300), box(500, 0, 1000, 300)], crs=CRS,
    ))  # fmt: skip
    fac = pts((500, 30), index=pd.Index(["K1"], name="facility_id")).assign(category="kindergarten")
    compounds = gpd.GeoDataFrame(
        geometry=[box(300, 100, 480, 200), box(520, 100, 700, 200)], crs=CRS
    )
    gates = pts((300, 150), (520, 150)).assign(usable=True)
    demand = lc.demand_points(comm, grid_m=50)
    # with nursing homes (none here) among the categories, the reach is 1,000 m: all exact
    cats = ["kindergarten", "nursing_home"]
    kw = {"categories": cats, "compounds": compounds, "compound_gates": gates, "demand": demand}
    whole = lc.analyze(net, fac, comm, profile, **kw)
    res = lc.batch.analyze_regions(net, fac, comm, profile, scheduler="inline", **kw)
    assert list(res.regions["status"]) == ["ok", "ok"]
    xy = whole.access.demand.xy - [X0, Y0]
    in_a = (xy[:, 0] > 300) & (xy[:, 0] < 480) & (xy[:, 1] > 100) & (xy[:, 1] < 200)
    assert in_a.sum() >= 4
    # A's residents leave by A's own gate: inside to (300, 150), 50 m to the x=250 street, down
    # 150 m, 250 m east, 30 m up to the kindergarten
    p = xy[in_a]
    by_own = np.hypot(p[:, 0] - 300, p[:, 1] - 150) + 50 + 150 + 250 + 30
    k = whole.access.column("kindergarten")
    np.testing.assert_allclose(whole.access.distance_m[in_a, k], by_own)
    np.testing.assert_array_equal(res.access.distance_m[:, k], whole.access.distance_m[:, k])
    kg = whole.coverage["category"] == "kindergarten"
    assert (whole.coverage.loc[kg, "distance_max_m"] < res.reach_m).all()  # all exact here
    assert_frame_equal(whole.coverage, res.coverage)
    # the trap: R1's compound alone, with the raw gates, gives G to A (130 + 20 + 120 m at A's centre)
    r1 = comm[comm["street_code"] == comm["street_code"].iloc[0]]
    only_a = lc.analyze(net, fac, r1, profile, categories=cats, compounds=compounds.iloc[[0]],
                        compound_gates=gates, grid_m=50)  # fmt: skip
    q = only_a.access.demand.xy - [X0, Y0]
    at_a = (q[:, 0] > 300) & (q[:, 0] < 480) & (q[:, 1] > 100) & (q[:, 1] < 200)
    via_g = np.hypot(q[at_a, 0] - 520, q[at_a, 1] - 150) + 20 + 120
    np.testing.assert_allclose(only_a.access.distance_m[at_a, k], via_g)
    assert (via_g < 300).any() and (by_own > 300).all()


def test_a_region_with_bad_input_is_reported_and_the_others_finish(city, profile):
    net, fac, comm = city
    # one street's communities given 30 km away (wrong coordinates): no street near them
    bad = comm.copy()
    moved = bad["street_code"] == "330402003"
    bad.loc[moved, "geometry"] = bad.loc[moved].geometry.translate(30_000, 0)
    res = lc.batch.analyze_regions(net, fac, bad, profile, scheduler="inline")
    failed = res.failed
    assert list(failed["region"]) == ["330402003"]
    assert "no street of the network touches" in failed["error"].iloc[0]
    assert set(res.coverage["street_code"]) == set(comm["street_code"]) - {"330402003"}
    whole = lc.analyze(net, fac, comm[~moved], profile)
    _same_coverage(whole.coverage, res.coverage, res.reach_m)


# ------------------------------------------------------------------ scenarios and comparisons
@pytest.fixture(scope="module")
def pair(city, profile):
    """The whole run and the regions run of ``city`` (the sites are proposed on each)."""
    net, fac, comm = city
    whole = lc.analyze(net, fac, comm, profile)
    res = lc.batch.analyze_regions(net, fac, comm, profile, by="street_code", scheduler="inline")
    return whole, res


def _same_up_to_reach(whole: np.ndarray, regions: np.ndarray, reach_m: float) -> int:
    """Distances equal within the reach, ``inf`` in ``regions`` beyond it; how many beyond."""
    ok = whole <= reach_m
    np.testing.assert_array_equal(whole[ok], regions[ok])
    assert np.isinf(regions[~ok]).all()
    return int((~ok).sum())


def _same_scenarios(sw, sr, reach_m: float) -> int:
    """The scenario on the whole run and on the regions: the same summary and tables, the
    coverage and distances up to the reach; how many distances lie beyond it."""
    assert sw.summary == sr.summary
    for name in ("communities", "newly_covered", "by_street", "by_county"):
        assert_frame_equal(getattr(sw, name), getattr(sr, name), obj=name)
    a, b = sw.analysis, sr.analysis
    for name in TABLES:
        assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    _same_coverage(a.coverage, b.coverage, reach_m)
    return _same_up_to_reach(a.access.distance_m, b.access.distance_m, reach_m)


def test_a_scenario_on_the_regions_equals_the_scenario_on_the_whole_run(pair, city, profile):
    whole, res = pair
    sites = whole.propose_sites(max_sites=4)
    assert_frame_equal(sites, res.propose_sites(max_sites=4))
    added = sites[["category", "site_id", "geometry"]].copy()
    added.index = [f"{s}:{c}" for s, c in zip(added["site_id"], added["category"], strict=True)]
    added["facility_id"] = added.index
    # and one facility of each category in the middle of the west street, which has none near
    comm = city[2]
    west = comm[comm["street_code"] == "330402000"].to_crs(4326).union_all().centroid
    cats = list(whole.params.categories)
    extra = gpd.GeoDataFrame({"category": cats, "facility_id": [f"west:{c}" for c in cats]},
                             geometry=[west] * len(cats), crs=4326, index=[f"west:{c}" for c in cats])  # fmt: skip
    added = gpd.GeoDataFrame(pd.concat([added.drop(columns="site_id"), extra]), crs=4326)
    sw, sr = whole.with_projects(added), res.with_projects(added)
    assert len(sw.communities) > 5 and (sw.newly_covered["newly_covered_pop"] > 0).sum() >= 3
    beyond = _same_scenarios(sw, sr, res.reach_m)
    a, b = sw.analysis, sr.analysis
    gained = np.isinf(res.access.distance_m) & np.isfinite(b.access.distance_m)
    assert beyond > 10 and gained.sum() > 10  # both sides of the reach, and new reach
    assert a.reach_m is None and b.reach_m == res.reach_m  # a scenario on it keeps the contract


def test_a_scenario_with_gates_on_the_regions_equals_it_on_the_whole_run(city, profile):
    """Compounds with gates (some astride a street boundary) and facility gates: a facility of
    every category added inside each compound astride a boundary is reached through the
    compounds' gates in both runs, and the scenario tables are the same."""
    net, fac, comm = city
    demand = lc.demand_points(comm, grid_m=50)
    compounds, cgates, fgates, astride = _access_points(net, fac, comm, demand)
    kw = {"compounds": compounds, "compound_gates": cgates, "facility_gates": fgates,
          "demand": demand}  # fmt: skip
    whole = lc.analyze(net, fac, comm, profile, **kw)
    res = lc.batch.analyze_regions(net, fac, comm, profile, scheduler="inline", **kw)
    cats = list(whole.params.categories)
    at = shapely.points(astride + [60.0, 0.0])  # inside the compound, east of its centre
    ids = [f"new:{i}:{c}" for i in range(len(at)) for c in cats]
    added = gpd.GeoDataFrame(
        {"category": cats * len(at), "facility_id": ids},
        geometry=np.repeat(at, len(cats)), crs=net.crs, index=ids,
    ).to_crs(4326)  # fmt: skip
    sw, sr = whole.with_projects(added), res.with_projects(added)
    plain = lc.analyze(net, fac, comm, profile, demand=demand).with_projects(added)
    reach = res.reach_m
    # the gates matter to the scenario: some new distances differ from the run without them
    d_w, d_p = sw.analysis.access.distance_m, plain.analysis.access.distance_m
    assert ((d_w != d_p) & (d_w <= reach)).sum() > 50
    assert (sw.newly_covered["newly_covered_pop"] > 0).sum() >= 3
    _same_scenarios(sw, sr, reach)
    assert_frame_equal(sw.analysis.index_by_compound, sr.analysis.index_by_compound)


def test_compare_a_regions_run_with_the_whole_run_finds_no_change(pair):
    whole, res = pair
    for a, b in ((whole, res), (res, whole)):
        cmp = lc.compare(a, b)
        assert cmp.changes.empty and cmp.communities.empty
        assert cmp.summary["improved"] == cmp.summary["worsened"] == 0
        assert cmp.summary["facilities_new"] == cmp.summary["facilities_vanished"] == 0
        assert cmp.summary["share_before"] == cmp.summary["share_after"]
        assert cmp.summary["run_a"] == cmp.summary["run_b"] and cmp.summary["inputs_changed"] == []
        assert not cmp.summary["profile_changed"]
        assert len(cmp.by_street) == 4 and (cmp.by_street["share_change"] == 0).all()


# ------------------------------------------------------------------ on Dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_dask_gives_the_inline_answers_and_reports_a_failed_task(city, profile, client, tmp_path):
    net, fac, comm = city
    inline = lc.batch.analyze_regions(net, fac, comm, profile, scheduler="inline")
    res = lc.batch.analyze_regions(net, fac, comm, profile, scheduler=client, workdir=tmp_path)
    assert (res.regions["status"] == "ok").all()
    assert (res.regions["peak_rss_mb"] > 0).all()
    assert_frame_equal(inline.coverage, res.coverage)
    assert_frame_equal(inline.shortfalls, res.shortfalls)
    # the saved partitions: one GeoParquet folder per region, each smaller than the whole
    parts = sorted(tmp_path.glob("region_*/edges.parquet"))
    assert len(parts) == 4

    # a task whose network partition is damaged fails after its retries; the others finish
    demand = lc.demand_points(comm)
    params = lc.AnalysisParams.build(profile)
    reach = max(params.thresholds(profile).values())
    plans = batch.plan_regions(net, demand, fac, "street_code", reach, params.max_snap_m,
                               params.data_gap_radius_m, True)  # fmt: skip
    paths = batch.prepare_regions(net, plans[:3], tmp_path / "again")
    tasks, failed = batch.region_tasks(plans[:3], paths, demand, fac, profile, params, reach)
    (paths[plans[1].region] / "edges.parquet").write_bytes(b"not parquet")
    out = {o.region: o for o in batch.run_tasks(tasks, client, retries=1)}
    assert not failed and len(out) == 3
    assert out[plans[1].region].error and "cannot read the saved network" in out[plans[1].region].error
    for p in (plans[0], plans[2]):
        got = out[p.region].coverage
        want = res.coverage[res.coverage["community_id"].isin(p.core)].reset_index(drop=True)
        assert_frame_equal(want, got)


def test_dask_carries_the_gates_to_the_workers(city, profile, client):
    net, fac, comm = city
    demand = lc.demand_points(comm, grid_m=50)
    compounds, cgates, fgates, _ = _access_points(net, fac, comm, demand)
    kw = {"compounds": compounds, "compound_gates": cgates, "facility_gates": fgates,
          "demand": demand}  # fmt: skip
    inline = lc.batch.analyze_regions(net, fac, comm, profile, scheduler="inline", **kw)
    res = lc.batch.analyze_regions(net, fac, comm, profile, scheduler=client, **kw)
    plain = lc.batch.analyze_regions(net, fac, comm, profile, scheduler=client, demand=demand)
    assert res.regions["pid"].nunique() == 2
    np.testing.assert_array_equal(inline.access.distance_m, res.access.distance_m)
    assert_frame_equal(inline.coverage, res.coverage)
    assert (res.access.distance_m != plain.access.distance_m).sum() > 100


# ------------------------------------------------------------------ lifecircle run with [regions]
def test_run_with_a_regions_section_writes_the_same_shortfalls(tmp_path, profile):
    from lifecircle.config import load_config
    from lifecircle.pipeline import run

    c = lc.synthetic.city(60, profile, seed=3, facilities_per_community=1.0)
    c.network.save(tmp_path / "net")
    c.communities.to_file(tmp_path / "comm.gpkg")
    c.facilities.reset_index().to_file(tmp_path / "fac.gpkg")
    toml = """
[network]
source = "net"
[[facilities]]
path = "fac.gpkg"
category = "category"
name = "name"
id = "facility_id"
[communities]
path = "comm.gpkg"
[demand]
buildings = false
[analysis]
profile = "jiaxing-yilao-yixiao"
[output]
dir = "{out}"
formats = ["csv"]
map = false
"""
    (tmp_path / "whole.toml").write_text(toml.format(out="whole"), encoding="utf-8")
    (tmp_path / "regions.toml").write_text(
        toml.format(out="regions") + '[regions]\nby = "street_code"\nscheduler = "inline"\n',
        encoding="utf-8",
    )
    whole = run(load_config(tmp_path / "whole.toml"))
    res = run(load_config(tmp_path / "regions.toml"))
    assert isinstance(res.analysis, batch.RegionsResult)
    assert res.analysis.summary["regions_ok"] == 3 and res.analysis.summary["regions_failed"] == 0
    assert res.analysis.summary["shortfalls"] == whole.analysis.summary["shortfalls"] > 0
    assert any("lifecircle_regions.csv" in line for line in res.summary_lines("en"))
    w = pd.read_csv(tmp_path / "whole" / "lifecircle_shortfalls.csv", encoding="utf-8-sig")
    r = pd.read_csv(tmp_path / "regions" / "lifecircle_shortfalls.csv", encoding="utf-8-sig")
    assert list(w.iloc[:, 0]) == list(r.iloc[:, 0])  # the same ranking


def test_regions_section_is_checked(tmp_path):
    from lifecircle.config import config_from_dict

    data = {"network": {"source": "x.osm.pbf"}, "communities": {"path": "c.gpkg"},
            "analysis": {"profile": "gb50180-2018"}, "regions": {"by": "province"}}  # fmt: skip
    with pytest.raises(lc.ConfigError, match='by = "street_code"'):
        config_from_dict(data, tmp_path)


# ------------------------------------------------------------------ real data: Milan in 6 regions
@pytest.mark.slow
@pytest.mark.shared
def test_milan_in_six_regions_equals_one_whole_run(profile):
    from conftest import shared_file

    pbf = shared_file("intl/milan.osm.pbf")
    net = lc.load_network(pbf)
    osm = lc.facilities_from_osm(pbf, profile)
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = net.bounds
    gx, gy = (a.ravel() for a in np.meshgrid(np.arange(x0, x1, 500.0), np.arange(y0, y1, 500.0)))
    boxes = shapely.box(gx, gy, gx + 500, gy + 500)
    on = np.unique(shapely.STRtree(net.edges.geometry.values).query(boxes, "intersects")[0])
    gx, gy, boxes = gx[on], gy[on], boxes[on]
    street = np.minimum(((gy - y0) / (y1 - y0) * 2).astype(int), 1) * 3 + np.minimum(
        ((gx - x0) / (x1 - x0) * 3).astype(int), 2
    )
    local = pd.Series(street).groupby(street).cumcount().to_numpy()
    comm = lc.load_communities(gpd.GeoDataFrame(
        {"社区代码": [f"330402{s:03d}{m + 1:03d}" for s, m in zip(street, local, strict=True)],
         "社区名称": [f"社区{i}" for i in range(len(street))], "街道": [f"街道{s}" for s in street],
         "区县": "米兰区", "常住人口": rng.integers(1000, 9000, len(street))},
        geometry=boxes, crs=net.crs,
    ))  # fmt: skip
    e = rng.choice(len(net.edges), 800)
    extra = gpd.GeoDataFrame(
        {"category": rng.choice(list(profile.categories), 800),
         "capacity": rng.integers(20, 200, 800).astype(float)},
        geometry=shapely.line_interpolate_point(net.edges.geometry.values[e], 0.5, normalized=True),
        crs=net.crs, index=pd.Index([f"S{i:04d}" for i in range(800)]),
    ).to_crs(osm.crs)  # fmt: skip
    fac = pd.concat([osm, extra])
    whole = lc.analyze(net, fac, comm, profile)
    res = lc.analyze_regions(net, fac, comm, profile, scheduler="inline")
    assert len(res.regions) == 6 and (res.regions["status"] == "ok").all()
    assert (res.regions["edges"] < len(net.edges)).all()
    _same_coverage(whole.coverage, res.coverage, res.reach_m)
    for name in TABLES:
        assert_frame_equal(getattr(whole, name), getattr(res, name), obj=name)
