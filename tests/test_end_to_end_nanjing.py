"""End to end on real data: Nanjing Xinjiekou OSM → network, facilities, buildings → communities
→ gap analysis, checked against an independent computation written here.

Communities: a regular 3 × 3 grid of 1 km cells centred on the walking network (4.1 × 3.2 km).
The file's ``landuse=residential`` polygons were the other candidate, but there are only 11, from
450 m² to 44 ha, two hold no residential building and two overlap; grid cells are equal, do not
overlap, keep away from the clipped edge of the extract and are about the size of an urban 社区
(≈1 km²). They hold 354 of the file's 518 residential buildings. The one cell without any
residential building is left out: its population cannot be estimated (checked below: lifecircle
refuses to guess).

Population: residential floor area / 40 m² per person (lifecircle's default), spread over the
residential buildings by floor area.

The independent side reads the same OSM file with OSMnx (streets and buildings), keeps the
largest connected piece of the walking graph (as ``load_network`` does), inserts every demand
point and facility into the graph with networkx (``_independent.independent_nearest``) and
aggregates with plain pandas.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _independent import independent_nearest, osmnx_projected, osmnx_walk_from_xml
from lifecircle.communities import buildings_from_osm

pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("quiet")]

PROFILE = "gb50180-2018"
#: Categories with facilities in this OSM extract (health centre and station: the one clinic;
#: neighbourhood shops: shops and pharmacies; bus stops; wet markets; primary schools and the one
#: kindergarten: found by their Chinese names, as the schools carry no isced:level and
#: 五老村幼儿园 is tagged amenity=school) ...
PRESENT = [
    "health_centre",
    "wet_market",
    "bus_stop",
    "neighbourhood_shops",
    "health_station",
    "primary_school",
    "kindergarten",
]
#: ... and categories without any: OSM has no childcare or elderly care here.
MISSING = ["nursery", "elderly_daycare"]
CATEGORIES = PRESENT + MISSING

#: Buildings that house people (OSM building values), and ``building=yes`` inside residential land.
RESIDENTIAL = {
    "residential",
    "apartments",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
    "bungalow",
    "farm",
}
M2_PER_PERSON = 40.0
DEFAULT_LEVELS = 6.0




# ---------------------------------------------------------------------- lifecircle side
@pytest.fixture(scope="module")
def inputs(nanjing_osm):
    net = lc.load_network(nanjing_osm)
    fac = lc.facilities_from_osm(nanjing_osm, lc.load_profile(PROFILE))
    buildings, landuse = buildings_from_osm(nanjing_osm)
    x0, y0, x1, y1 = net.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cells = gpd.GeoDataFrame(
        {
            "社区名称": [f"网格{r}{c}" for r in range(3) for c in range(3)],
            "id": [f"g{r}{c}" for r in range(3) for c in range(3)],
        },
        geometry=[
            shapely.box(
                cx - 1500 + c * 1000, cy - 1500 + r * 1000, cx - 500 + c * 1000, cy - 500 + r * 1000
            )
            for r in range(3)
            for c in range(3)
        ],
        crs=net.crs,
    )
    return net, fac, buildings, landuse, cells


def _run(net, fac, buildings, landuse, cells):
    comm = lc.load_communities(cells)
    return lc.analyze(
        net, fac, comm, PROFILE, categories=CATEGORIES, buildings=buildings, landuse=landuse
    )


def _relabelled(buildings, landuse):
    """The landuse rule done by hand: ``building=yes`` inside ``landuse=residential`` relabelled
    ``building=residential``, and no landuse passed."""
    res = landuse[landuse["tags"].map(lambda t: t.get("landuse")) == "residential"].union_all()
    inside = buildings.geometry.representative_point().within(res).to_numpy()
    tags = [
        dict(t, building="residential") if t.get("building") == "yes" and i else t
        for t, i in zip(buildings["tags"], inside, strict=True)
    ]
    return buildings.assign(tags=tags), None


@pytest.fixture(scope="module")
def inhabited(inputs, independent):
    """The grid cells holding residential buildings (found by the independent side)."""
    cells = inputs[4]
    return cells[cells["id"].isin(independent["demand"]["community_id"].unique())]


@pytest.fixture(scope="module")
def run(inputs, inhabited):
    net, fac, buildings, landuse, _ = inputs
    return _run(net, fac, buildings, landuse, inhabited)


# ---------------------------------------------------------------------- independent side
def _floor_area(b: gpd.GeoDataFrame) -> np.ndarray:
    """Footprint × levels: building:levels, else height / 3 m (at least 1), else 6."""
    levels = pd.to_numeric(b.get("building:levels"), errors="coerce")
    height = pd.to_numeric(b.get("height"), errors="coerce")
    levels = levels.fillna(np.maximum(np.round(height / 3.0), 1))
    levels = levels.where(levels > 0).fillna(DEFAULT_LEVELS)
    return b.geometry.area.to_numpy() * levels.to_numpy()


@pytest.fixture(scope="module")
def independent(inputs, nanjing_osm):
    import osmnx as ox

    net, fac, _, _, cells = inputs
    crs = net.crs
    # demand: OSMnx's building polygons, residential ones weighted by floor area
    feats = ox.features_from_xml(nanjing_osm, tags={"building": True, "landuse": "residential"})
    feats = feats[feats.geom_type.isin(["Polygon", "MultiPolygon"])].to_crs(crs)
    res_land = feats[feats["landuse"] == "residential"].union_all()
    b = feats[feats["building"].notna()]
    pt = b.geometry.representative_point()
    keep = b["building"].isin(RESIDENTIAL) | ((b["building"] == "yes") & pt.within(res_land))
    b = b[keep.to_numpy()]
    pts = gpd.GeoDataFrame(
        {"fa": _floor_area(b)}, geometry=b.geometry.representative_point().values, crs=crs
    )
    j = gpd.sjoin(pts, cells[["id", "geometry"]], predicate="within")
    pop = (j.groupby("id")["fa"].sum() / M2_PER_PERSON).round()
    demand = pd.DataFrame(
        {
            "community_id": j["id"].to_numpy(),
            "pop": pop.reindex(j["id"]).to_numpy()
            * j["fa"].to_numpy()
            / j.groupby("id")["fa"].transform("sum").to_numpy(),
            "x": j.geometry.x.to_numpy(),
            "y": j.geometry.y.to_numpy(),
        }
    )
    # streets: OSMnx graph with the pedestrian filter, largest connected piece by length
    G = osmnx_projected(osmnx_walk_from_xml(nanjing_osm), crs)
    comps = list(nx.connected_components(G))
    length = [
        sum(d["length"] for *_, d in G.subgraph(c).edges(keys=True, data=True)) for c in comps
    ]
    G = G.subgraph(comps[int(np.argmax(length))]).copy()
    fxy = fac.to_crs(crs).geometry
    return {
        "demand": demand,
        "population": pop,
        "G": G,
        "fac_xy": pd.DataFrame(
            {"category": fac["category"].to_numpy(), "x": fxy.x.to_numpy(), "y": fxy.y.to_numpy()}
        ),
    }


def _distances(ind, fac_xy: pd.DataFrame) -> pd.DataFrame:
    """Distance (m) from every demand point to the nearest facility of each category."""
    dem = ind["demand"]
    tgt = dem[["x", "y"]].to_numpy()
    out = {}
    for c in CATEGORIES:
        src = fac_xy.loc[fac_xy["category"] == c, ["x", "y"]].to_numpy()
        out[c] = independent_nearest(ind["G"], src, tgt) if len(src) else np.full(len(tgt), np.inf)
    return pd.DataFrame(out)


def _coverage(ind, dist: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """Covered population per community and category, plain pandas."""
    dem = ind["demand"]
    rows = []
    for c in CATEGORIES:
        df = dem.assign(d=dist[c].to_numpy())
        df["cov"] = np.where(df["d"] <= thresholds[c], df["pop"], 0.0)
        for cid, g in df.groupby("community_id"):
            g = g.sort_values("d", kind="stable")
            cw = g["pop"].cumsum()
            rows.append(
                {
                    "community_id": cid,
                    "category": c,
                    "group_pop": g["pop"].sum(),
                    "covered_pop": g["cov"].sum(),
                    "distance_min_m": g["d"].min(),
                    "distance_max_m": g["d"].max(),
                    "distance_m": g["d"][cw >= g["pop"].sum() / 2].iloc[0],
                }
            )
    return pd.DataFrame(rows).set_index(["community_id", "category"]).sort_index()


@pytest.fixture(scope="module")
def reference(run, independent):
    dist = _distances(independent, independent["fac_xy"])
    return dist, _coverage(independent, dist, run.thresholds)


# ---------------------------------------------------------------------- tests
def test_the_real_data_holds_what_we_think(inputs, inhabited, run):
    _, fac, *_, cells = inputs
    counts = fac["category"].value_counts()
    assert all(counts.get(c, 0) > 0 for c in PRESENT)
    assert all(counts.get(c, 0) == 0 for c in MISSING)
    assert len(inhabited) == 8 and len(cells) == 9
    assert run.summary["communities"] == 8 and run.summary["demand_points"] > 300


def test_residential_buildings_with_landuse(inputs):
    from lifecircle.communities import residential_buildings

    _, _, buildings, landuse, _ = inputs
    ours = residential_buildings(buildings, landuse)
    assert len(ours) == len(residential_buildings(*_relabelled(buildings, landuse)))


def test_an_empty_cell_cannot_get_a_population(inputs):
    net, fac, buildings, landuse, cells = inputs
    with pytest.raises(lc.InputError, match="no population and none could be estimated"):
        _run(net, fac, buildings, landuse, cells)


def _aligned(run, independent):
    """Positions of the same demand points on both sides (sorted by community, x, y)."""
    ours = pd.DataFrame(
        {
            "community_id": run.demand["community_id"].to_numpy(),
            "x": run.demand.geometry.x.to_numpy(),
            "y": run.demand.geometry.y.to_numpy(),
        }
    )
    theirs = independent["demand"]
    a = np.lexsort((ours["y"], ours["x"], ours["community_id"]))
    b = np.lexsort((theirs["y"], theirs["x"], theirs["community_id"]))
    assert (
        ours["community_id"].to_numpy()[a].tolist() == theirs["community_id"].to_numpy()[b].tolist()
    )
    np.testing.assert_allclose(
        ours[["x", "y"]].to_numpy()[a], theirs[["x", "y"]].to_numpy()[b], atol=1e-6
    )
    return a, b


def test_population_from_floor_area_matches(run, independent):
    comm = run.communities.set_index("community_id")
    pop = independent["population"]
    assert comm["population"].sort_index().to_dict() == pop.sort_index().to_dict()
    assert comm["pop_estimated"].all() and set(comm["pop_source"]) == {"floor_area"}
    # the same demand points, the same people on each
    a, b = _aligned(run, independent)
    np.testing.assert_allclose(
        run.demand["pop"].to_numpy()[a], independent["demand"]["pop"].to_numpy()[b], rtol=1e-12
    )


def test_coverage_matches_independent_networkx(run, independent, reference):
    dist, ref = reference
    # per demand point (Analysis keeps them in ``_dist``, one column per category)
    a, b = _aligned(run, independent)
    ours = (
        pd.DataFrame(run.access.distance_m, columns=list(run.params.categories))
        .iloc[a]
        .reset_index(drop=True)
    )
    theirs = dist.iloc[b].reset_index(drop=True)
    assert np.array_equal(np.isinf(ours[CATEGORIES]), np.isinf(theirs[CATEGORIES]))
    fin = np.isfinite(theirs[PRESENT].to_numpy())
    gap = np.abs(ours[PRESENT].to_numpy() - theirs[PRESENT].to_numpy())[fin]
    assert fin.mean() > 0.95 and gap.max() <= 1.0
    # covered or not is then unambiguous unless a point lies within that gap of a threshold
    # (one point here is 0.14 m from the 500 m wet-market threshold; the gap is ~1e-12 m)
    for c in PRESENT:
        assert not (np.abs(theirs[c] - run.thresholds[c]) <= gap.max() + 1e-9).any(), c
    # per community × category
    cov = run.coverage.set_index(["community_id", "category"]).sort_index()
    assert cov.index.equals(ref.index)
    for col in ["distance_min_m", "distance_max_m", "distance_m"]:
        x, y = cov[col].to_numpy(), ref[col].to_numpy()
        assert np.array_equal(np.isinf(x), np.isinf(y)), col
        f = np.isfinite(x)
        assert np.abs(x[f] - y[f]).max() <= 1.0, col
    np.testing.assert_allclose(cov["group_pop"], ref["group_pop"], rtol=1e-12)
    np.testing.assert_allclose(cov["covered_pop"], ref["covered_pop"], rtol=1e-12, atol=1e-9)
    # the real data is not trivial: some communities partly covered, some not at all
    share = ref["covered_pop"] / ref["group_pop"]
    present = share[share.index.get_level_values("category").isin(PRESENT)]
    assert (present == 0).any() and (present == 1).any() and ((present > 0) & (present < 1)).any()


def test_missing_categories_are_data_gaps_not_shortfalls(run, inputs, inhabited):
    """OSM has no childcare or elderly care in this extract: a missing source, not a missing
    facility. Those rows are measured (nothing within reach) but not ranked as shortfalls, not
    in the index, and listed in the data checklist with the source to add."""
    cov = run.coverage
    miss = cov[cov["category"].isin(MISSING)]
    assert np.isinf(miss["distance_m"]).all() and np.isinf(miss["distance_min_m"]).all()
    assert (miss["covered_pop"] == 0).all() and miss["nearest_facility"].isna().all()
    assert (miss["data_status"] == "no_data").all() and not miss["assessed"].any()
    present = cov[cov["category"].isin(PRESENT)]
    assert (present["data_status"] == "present").all()
    assert not run.shortfalls["category"].isin(MISSING).any()
    gaps = run.data_gaps.set_index("category")
    assert set(gaps.index) == set(MISSING) and (gaps["scope"] == "city").all()
    assert (gaps["communities"] == 8).all()
    assert gaps.loc["nursery", "source_hint_zh"].startswith("补充主管部门的托儿所名单")
    assert "amenity=childcare" in gaps.loc["nursery", "source_hint_zh"]
    city = run.categories[run.categories["scope"] == "city"].set_index("category")
    assert (city.loc[MISSING, "facilities"] == 0).all()
    assert (city.loc[MISSING, "data_status"] == "no_data").all()
    assert run.summary["categories_not_assessed"] == 2
    assert (run.index["n_not_assessed"] == 2).all()
    # stating that the lists are complete turns the gaps into real shortfalls everywhere
    net, fac, buildings, landuse, _ = inputs
    confirmed = lc.analyze(
        net, fac, lc.load_communities(inhabited), PROFILE, categories=CATEGORIES,
        buildings=buildings, landuse=landuse, complete_categories=MISSING,
    )  # fmt: skip
    sf = confirmed.shortfalls
    inhabited_ids = set(cov.loc[cov["group_pop"] > 0, "community_id"])
    assert len(inhabited_ids) == 8
    for c in MISSING:
        rows = sf[sf["category"] == c]
        assert set(rows["community_id"]) == inhabited_ids, c
        assert (rows["kind"] == "distance").all()
        assert rows["reason_zh"].str.contains("步行可达范围内没有此类设施").all()
    assert len(confirmed.data_gaps) == 0


def test_shortfalls_are_the_failing_rows_ranked_by_priority(run, reference):
    _, ref = reference
    share = (ref["covered_pop"] / ref["group_pop"]).rename("share")
    failing = {k for k in share[share < run.params.min_covered_share].index if k[1] not in MISSING}
    sf = run.shortfalls
    assert set(zip(sf["community_id"], sf["category"], strict=True)) == failing
    assert sf["priority_rank"].tolist() == list(range(1, len(sf) + 1))
    # required (▲) rows first, then optional (△); inside each, priority score does not rise
    req = sf["required"].to_numpy()
    assert (np.diff(req.astype(int)) <= 0).all()
    for flag in (True, False):
        s = sf.loc[sf["required"] == flag, "priority_score"].to_numpy()
        assert (np.diff(s) <= 1e-9).all()
    # score = weight × uncovered people (no capacity targets in GB), optional rows at half weight
    w = np.where(sf["required"], 1.0, 0.5)
    np.testing.assert_allclose(sf["priority_score"], w * sf["uncovered_pop"], rtol=1e-12)


def test_service_index(run, reference):
    _, ref = reference
    idx = run.index.set_index("community_id")["service_index"]
    assert idx.between(0, 100).all() and idx.notna().all()
    # recomputed: required categories weight 1, optional ones 0.5, share of people covered
    # (categories without any facility in the input are data gaps: not in the index)
    prof = lc.load_profile(PROFILE)
    w = pd.Series({c: 1.0 if prof.categories[c].required else 0.5 for c in PRESENT})
    share = (ref["covered_pop"] / ref["group_pop"]).rename("share").reset_index()
    share = share[share["category"].isin(PRESENT)]
    share["w"] = share["category"].map(w)
    expect = share.groupby("community_id").apply(
        lambda g: 100 * (g["w"] * g["share"]).sum() / g["w"].sum(), include_groups=False
    )
    np.testing.assert_allclose(idx.sort_index(), expect.sort_index(), rtol=1e-12)
    # meets every required category that could be assessed: the share of each is >= 80%
    req = share[share["category"].map(lambda c: prof.categories[c].required)]
    meets = req.groupby("community_id")["share"].min() >= run.params.min_covered_share
    got = run.index.set_index("community_id")["meets_all_required"]
    assert got.sort_index().astype(bool).tolist() == meets.sort_index().tolist()


def test_deterministic(inputs, inhabited, run):
    again = _run(*inputs[:4], inhabited)
    assert again.run_id == run.run_id
    for name in ["coverage", "shortfalls", "categories", "index_by_street"]:
        pd.testing.assert_frame_equal(getattr(run, name), getattr(again, name))
    pd.testing.assert_frame_equal(pd.DataFrame(run.index), pd.DataFrame(again.index))


def test_proposed_sites_cover_what_they_claim(run, independent, reference):
    """Add the proposed sites as facilities and recompute coverage independently: the uncovered
    population drops by exactly the sites' claimed new coverage."""
    _, ref = reference
    cats = ["kindergarten", "health_station", "neighbourhood_shops"]
    sites = run.propose_sites(categories=cats, max_sites=3)
    assert set(sites["category"]) == set(cats)
    for c in cats:
        gains = sites.loc[sites["category"] == c, "new_covered_pop"].to_numpy()
        assert len(gains) == 3 and (gains > 0).all() and (np.diff(gains) <= 1e-9).all()  # greedy
    sxy = sites.to_crs(run.network.crs).geometry
    fac_xy = pd.concat(
        [
            independent["fac_xy"],
            pd.DataFrame(
                {
                    "category": sites["category"].to_numpy(),
                    "x": sxy.x.to_numpy(),
                    "y": sxy.y.to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    after = _coverage(independent, _distances(independent, fac_xy), run.thresholds)
    for c in cats:
        before_unc = (ref["group_pop"] - ref["covered_pop"]).xs(c, level="category").sum()
        after_unc = (after["group_pop"] - after["covered_pop"]).xs(c, level="category").sum()
        claimed = sites.loc[sites["category"] == c, "new_covered_pop"].sum()
        assert after_unc < before_unc
        assert before_unc - after_unc == pytest.approx(claimed, rel=1e-9), c
    proj = run.projects
    assert (proj["location_kind"] == "proposed_site").sum() == len(sites)
    assert len(proj) >= len(sites)
