"""Tests that fail when the numbers are wrong.

Each test pins a number that a plausible one-point bug in the numerical code would change (a
``<=`` turned into ``<``, a minimum into a maximum, a parameter ignored ...). The bug each test was
seen to catch is named in its docstring; docs/testing.md lists them with the mutation runner
(tools/mutate.py) that found them.

Unless said otherwise the network is ``river_with_bridge`` (tests/_nets.py): a south street y=0
and a north street y=200, x from 0 to 1000 m, one bridge at x=500. Coordinates below are metres
relative to its origin (X0, Y0) in EPSG:4549. Every expected number is worked out by hand in a
comment. Only the public API is used, so the tests survive a reorganisation of the package.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

import lifecircle as lc
from _nets import CRS, X0, Y0, box, build, pts, river_communities, river_facilities
from _nets import river_with_bridge as river
from conftest import FIXTURES

#: Fixture profile: nursery L5 300 m, 4.5 places per 1,000 residents (weight 2); health centre
#: L15 1000 m; health station and elderly day care L5 300 m.
PROFILE = FIXTURES / "profile_analysis.toml"

#: Gaussian weight of the 2SFCA at d/d0 = 1 (the catchment's rim): exp(-1/2).
E_HALF = math.exp(-0.5)


def gauss(d: float, d0: float) -> float:
    """The Gaussian 2SFCA distance weight (Dai 2010), 1 at the facility, 0 at d0."""
    return (math.exp(-0.5 * (d / d0) ** 2) - E_HALF) / (1 - E_HALF)


def communities(*xy: tuple[float, float], pop: float = 1000) -> gpd.GeoDataFrame:
    """Point communities c0, c1 ... of ``pop`` residents each (no admin codes)."""
    return lc.load_communities(
        gpd.GeoDataFrame(
            {"name": [f"c{i}" for i in range(len(xy))], "population": [pop] * len(xy)},
            geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy],
            crs=CRS,
        )
    )


def nurseries(*xy: tuple[float, float], capacity: list[float] | None = None) -> gpd.GeoDataFrame:
    """Nurseries at the given points; without ``capacity`` there is no capacity column."""
    cols: dict = {"category": ["nursery"] * len(xy)}
    if capacity is not None:
        cols["capacity"] = capacity
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def nursery_analysis(fac, comm, **kwargs) -> lc.Analysis:
    return lc.analyze(river(), fac, comm, PROFILE, categories=["nursery"], **kwargs)


# ---------------------------------------------------------------------- network distances
# Source S (100,-10) snaps to the south street at x=100 (access 10 m); target T (300,0) lies on
# it (access 0). Three routes: along the shared edge 10 + (300 - 100) + 0 = 210 m; out through
# node x=0: 10 + 100 + 300 = 410 m; out through the bridge node x=500: 10 + 400 + 200 = 610 m.


def test_pairs_within_keeps_a_pair_exactly_at_the_limit():
    """Catches ``d <= max_m`` turned into ``d < max_m`` in pairs_within."""
    p = river().pairs_within(pts((100, -10)), pts((300, 0)), max_m=210)
    assert len(p) == 1
    assert p["distance_m"].tolist() == pytest.approx([210.0])


def test_pairs_within_takes_the_shortest_route():
    """Catches the minimum over routes turned into a maximum (which gives 610 m)."""
    p = river().pairs_within(pts((100, -10)), pts((300, 0)), max_m=1000)
    assert p["distance_m"].tolist() == pytest.approx([210.0])
    # 209 m excludes the only pair
    assert len(river().pairs_within(pts((100, -10)), pts((300, 0)), max_m=209)) == 0


def test_distance_to_nearest_keeps_a_target_exactly_at_the_limit():
    """Catches ``best > limit`` turned into ``>=`` (a target at exactly max_m becomes inf)."""
    d = river().distance_to_nearest(pts((100, -10)), pts((300, 0)), max_m=210)
    assert d["distance_m"].tolist() == pytest.approx([210.0])
    assert d["source"].tolist() == [0]
    d = river().distance_to_nearest(pts((100, -10)), pts((300, 0)), max_m=209.9)
    assert math.isinf(d["distance_m"].iloc[0]) and d["source"].iloc[0] is None


# ---------------------------------------------------------------------- coverage
def half_covered(min_covered_share: float):
    """A block north of the north street (x 0-400, y 210-300), 1,000 residents in two equal
    2-floor buildings (x 50-90 and 300-340, y 220-250: 2,400 m² each, so 500 people each, at
    (70, 235) and (320, 235)), and a nursery 5 m north of the street at x=380.

    B2: 35 + (380 - 320) + 5 = 100 m <= 300 (covered); B1: 35 + (380 - 70) + 5 = 350 m > 300.
    Covered share 500 / 1000 = 0.5.
    """
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["c"], "population": [1000]}, geometry=[box(0, 210, 400, 300)], crs=CRS
        )
    )
    buildings = gpd.GeoDataFrame(
        {"building": ["residential"] * 2, "building:levels": ["2", "2"]},
        geometry=[box(50, 220, 90, 250), box(300, 220, 340, 250)],
        crs=CRS,
    )
    a = nursery_analysis(
        nurseries((380, 205)), comm, buildings=buildings, min_covered_share=min_covered_share
    )
    assert a.demand["pop"].tolist() == pytest.approx([500.0, 500.0])
    return a.coverage.iloc[0]


def test_covered_share_equal_to_the_minimum_meets():
    """Catches ``share >= min_covered_share`` turned into ``>``."""
    r = half_covered(0.5)
    assert r["covered_pop"] == pytest.approx(500.0)
    assert r["covered_share"] == pytest.approx(0.5)
    assert r["distance_min_m"] == pytest.approx(100.0)
    assert r["distance_max_m"] == pytest.approx(350.0)
    assert bool(r["meets_distance"]) and bool(r["meets_standard"])


@pytest.mark.parametrize("share, meets", [(0.4, True), (0.6, False)])
def test_min_covered_share_is_used(share, meets):
    """Catches ``min_covered_share`` ignored (a fixed 0.8, or any fixed value: 0.5 meets 0.4,
    fails 0.6)."""
    r = half_covered(share)
    assert r["covered_share"] == pytest.approx(0.5)
    assert bool(r["meets_distance"]) is meets


def test_point_exactly_at_the_threshold_is_covered():
    """Catches ``d <= threshold`` turned into ``<`` in the covered population.

    Community (100, 0) and nursery (400, 0) on the south street: 0 + (400 - 100) + 0 = 300 m,
    exactly the nursery's 300 m.
    """
    r = nursery_analysis(nurseries((400, 0)), communities((100, 0))).coverage.iloc[0]
    assert r["distance_m"] == pytest.approx(300.0)
    assert r["covered_pop"] == pytest.approx(1000.0)
    assert r["uncovered_pop"] == pytest.approx(0.0)
    assert bool(r["meets_distance"])


# ---------------------------------------------------------------------- capacity (2SFCA)
def test_two_step_catchment_uses_the_gaussian_decay():
    """Catches the distance decay replaced by 1 (both communities would get 1.0 per 1,000).

    Nursery with 2 places at (100, 0); communities of 1,000 at (150, 0) (50 m) and (350, 0)
    (250 m), d0 = 300 m. Gaussian weights g(d) = (exp(-d²/2d0²) - e^-½) / (1 - e^-½), with
    e^-½ = 0.6065307 and 1 - e^-½ = 0.3934693:
      g(50)  = (exp(-1/72)  - 0.6065307) / 0.3934693 = (0.9862071 - 0.6065307) / 0.3934693 = 0.9649455
      g(250) = (exp(-25/72) - 0.6065307) / 0.3934693 = (0.7066483 - 0.6065307) / 0.3934693 = 0.2544483
    Step 1: demand = 1000 × (0.9649455 + 0.2544483) = 1219.3938; ratio r = 2 / 1219.3938
    = 0.00164016. Step 2: supply per 1,000 = 1000 × g × r = 1.58266 at 50 m and 0.41734 at
    250 m (their sum is the 2 places).
    """
    a = nursery_analysis(nurseries((100, 0), capacity=[2.0]), communities((150, 0), (350, 0)))
    g1, g2 = gauss(50, 300), gauss(250, 300)
    assert (g1, g2) == pytest.approx((0.9649455, 0.2544483), abs=1e-7)
    r = 2 / (1000 * (g1 + g2))
    sup = a.coverage.set_index("community_name")["supply_per_1000"]
    assert sup["c0"] == pytest.approx(1000 * g1 * r)
    assert sup["c1"] == pytest.approx(1000 * g2 * r)
    assert sup.tolist() == pytest.approx([1.58266, 0.41734], abs=1e-5)
    assert sup.sum() == pytest.approx(2.0)  # every place is allotted


def test_capacity_exactly_at_the_rule_meets():
    """Catches ``supply >= per_1000`` turned into ``>``.

    One facility and one community: the 2SFCA weight cancels (supply = capacity / residents),
    so 4.5 places for 1,000 residents at the same point is exactly 4.5 per 1,000, the rule.
    """
    r = nursery_analysis(nurseries((100, 0), capacity=[4.5]), communities((100, 0))).coverage
    assert r["supply_per_1000"].iloc[0] == pytest.approx(4.5)
    assert r["capacity_threshold_per_1000"].iloc[0] == 4.5
    assert r["meets_capacity"].iloc[0] is True


def test_a_missing_capacity_takes_the_median_and_is_named(caplog):
    """Nurseries with 4.5, 9 and no capacity: the third gets the median, 6.75 places, and the
    warning names it and the column to fill. One community at the third (100 m from it and
    from nothing else within 300 m): supply = 6.75 / 1,000 residents × 1,000 = 6.75 per 1,000."""
    fac = nurseries((100, 0), (900, 210), (500, 400), capacity=[np.nan, 4.5, 9.0])
    fac.index = ["N-missing", "N-4.5", "N-9"]
    with caplog.at_level("WARNING", logger="lifecircle"):
        r = nursery_analysis(fac, communities((100, 0))).coverage
    assert r["supply_per_1000"].iloc[0] == pytest.approx(6.75)
    assert "1 of 3 facilities have no capacity (N-missing); the median (7) is assumed" in caplog.text
    assert "give their capacity column (places)" in caplog.text


# ---------------------------------------------------------------------- index and summary
def test_street_and_county_index_weighted_by_population():
    """Catches an unweighted mean of the community index (19.376 instead of 19.233).

    The standard case of tests/test_analysis.py (``case``): service indices
      C1 (1,000 residents) = 100 × 1 / 6                      = 16.66667
      C2 (900 residents)  = 100 × (2/3 + 2 × 2/3 × (2000/900)/4.5) / 6
                          = 100 × (0.666667 + 0.658436) / 6     = 22.08505
    Street and county: (1000 × 16.66667 + 900 × 22.08505) / 1900 = 36543.210 / 1900 = 19.23327.
    """
    buildings = gpd.GeoDataFrame(
        {"building": ["residential", "apartments", "office"], "building:levels": ["2", "4", "10"]},
        geometry=[box(50, 220, 90, 250), box(300, 220, 340, 250), box(150, 220, 250, 290)],
        crs=CRS,
    )
    comm = lc.load_communities(river_communities())
    a = lc.analyze(
        river(), river_facilities(), comm, PROFILE, buildings=buildings, complete_categories=True
    )
    si1 = 100 * 1 / 6
    si2 = 100 * (2 / 3 + 2 * (2 / 3) * ((2000 / 900) / 4.5)) / 6
    idx = a.index.set_index("community_name")["service_index"]
    assert idx.tolist() == pytest.approx([si1, si2])
    expected = (1000 * si1 + 900 * si2) / 1900
    assert expected == pytest.approx(19.23327, abs=1e-5)
    assert a.index_by_street["service_index"].tolist() == pytest.approx([expected])
    assert a.index_by_county["service_index"].tolist() == pytest.approx([expected])
    assert a.summary["mean_service_index"] == pytest.approx(expected)


def test_meets_target_at_exactly_the_target_share():
    """Catches ``share >= target_share`` turned into ``>`` (summary and street index).

    Communities of 100 at (100, -10) and (900, 210); nursery with 10 places at (150, 0).
    c0: 10 + 50 + 0 = 60 m, supply 10 / 100 = 100 per 1,000 >= 4.5: meets. c1: 10 + 400 + 200
    (bridge) + 350 = 960 m > 300: fails. Share meeting 1 / 2 = 0.5 = target.
    """
    a = nursery_analysis(
        nurseries((150, 0), capacity=[10.0]),
        communities((100, -10), (900, 210), pop=100),
        target_share=0.5,
    )
    cov = a.coverage.set_index("community_name")
    assert cov.loc["c0", "distance_m"] == pytest.approx(60.0)
    assert cov.loc["c1", "distance_m"] == pytest.approx(960.0)
    assert a.summary["share_meeting_standard"] == 0.5
    assert a.summary["meets_target"] is True
    st = a.index_by_street.iloc[0]
    assert st["share_meeting_standard"] == 0.5 and bool(st["meets_target"])


# ---------------------------------------------------------------------- isochrones
def test_isochrone_access_leg_is_cut_at_the_limit():
    """Catches the access leg not cut at the limit (the polygon would reach y = -25).

    One street (0,0)-(1000,0), origin (500, 80): access 80 m, more than the 50 m limit, so only
    the leg is walked. The rim trim is r = 25 × cos(π/8) = 23.097 m, the leg's limit
    50 - 23.097 = 26.903 m, its end at y = 80 - 26.903 = 53.097 and the 25 m buffer's lowest
    vertex (quad_segs 2 puts one straight below the end) at 53.097 - 25 = 28.097 m.
    """
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    iso = lc.isochrones(net, pts((500, 80)), minutes=None, distances_m=[50], to_wgs84=False)
    x0, y0, x1, y1 = iso.geometry.iloc[0].bounds
    trim = 25 * math.cos(math.pi / 8)
    assert trim == pytest.approx(23.097, abs=1e-3)
    assert y0 - Y0 == pytest.approx(80 - (50 - trim) - 25, abs=1e-6)
    assert y0 - Y0 == pytest.approx(28.097, abs=1e-3)
    assert (x0 - X0, x1 - X0, y1 - Y0) == pytest.approx((475.0, 525.0, 105.0))


# ---------------------------------------------------------------------- coordinates
GEOD = Geod(ellps="WGS84")
#: Jiaxing's five district centres (lon, lat), as in tests/test_coords.py.
JIAXING = np.array(
    [(120.755, 30.747), (121.015, 30.705), (120.68, 30.51), (120.565, 30.63), (120.925, 30.83)]
)


def offset_case(as_is_m: float, gcj_m: float) -> lc.coords.OffsetReport:
    """Data at JIAXING; the reference has, for each point, one point ``as_is_m`` north of it and
    one ``gcj_m`` north of its GCJ-02 → WGS84 reading (about 490 m away). Nearest mode: median
    distance as-is ``as_is_m``, as GCJ-02 ``gcj_m``, as BD-09 several hundred metres."""
    lon, lat = JIAXING[:, 0], JIAXING[:, 1]
    n = len(lon)
    ax, ay, _ = GEOD.fwd(lon, lat, np.zeros(n), np.full(n, as_is_m))
    glon, glat = lc.coords.gcj02_to_wgs84(lon, lat)
    gx, gy, _ = GEOD.fwd(glon, glat, np.zeros(n), np.full(n, gcj_m))
    data = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    ref = gpd.GeoDataFrame(geometry=gpd.points_from_xy(np.r_[ax, gx], np.r_[ay, gy]), crs=4326)
    return lc.detect_offset(data, ref, warn=False)


def test_detect_offset_needs_a_30_m_gain():
    """Catches the 30 m minimum gain dropped.

    As-is 25 m, as GCJ-02 5 m: 5 <= 0.5 × 25 (halved) but the gain 25 - 5 = 20 m < 30 m, so the
    verdict stays WGS84. With the reference 40 m away the gain is 35 m: GCJ-02.
    """
    r = offset_case(25.0, 5.0)
    assert r.mode == "nearest"
    # the metric CRS (EPSG:4549) stretches distances by its scale factor, < 0.01 %
    assert r.median_m["wgs84"] == pytest.approx(25.0, rel=1e-3)
    assert r.median_m["gcj02"] == pytest.approx(5.0, rel=1e-3)
    assert r.median_m["bd09"] > 300
    assert r.likely == "wgs84" and not r.shifted
    assert offset_case(40.0, 5.0).likely == "gcj02"


def name_case(names: list[str], far_m: float = 0.0) -> lc.coords.OffsetReport:
    """Reference: WGS84 points at JIAXING[:3] named ``names``; data: the same names at the
    GCJ-02 coordinates of those points (about 490 m away), the first moved ``far_m`` north."""
    lon, lat = JIAXING[:3, 0], JIAXING[:3, 1]
    glon, glat = lc.coords.wgs84_to_gcj02(lon, lat)
    glon, glat, _ = GEOD.fwd(glon, glat, [0, 0, 0], [far_m, 0, 0])
    ref = gpd.GeoDataFrame({"name": names}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    data = gpd.GeoDataFrame({"name": names}, geometry=gpd.points_from_xy(glon, glat), crs=4326)
    return lc.detect_offset(data, ref, warn=False)


def test_detect_offset_name_pairs_at_their_limits():
    """Name mode needs at least 3 shared names of at least 4 characters within 3 km.

    Caught changes: ``< 3`` pairs → ``<= 3``, ``>= 4`` characters → ``> 4``, the 3 km limit
    (3.0 → 0), wrong coordinates in the pair distance. Each falls back to nearest mode (which
    here also finds GCJ-02, so only ``mode`` tells them apart).
    """
    ok = name_case(["南湖公园", "月河街区", "嘉兴火车站"])  # exactly 3 names, two of 4 chars
    assert (ok.mode, ok.n, ok.likely) == ("name", 3, "gcj02")
    assert ok.median_m["gcj02"] < 0.01  # the reading recovers the reference exactly
    assert 470 < ok.median_m["wgs84"] < 510  # the GCJ-02 shift in Jiaxing
    short = name_case(["南湖园", "月河街区", "嘉兴火车站"])  # a 3-character name does not count
    assert short.mode == "nearest"
    # Nanhu's GCJ-02 point is 486 m from it, 414 m east and 255 m south; moved 2,400 m north
    # it is hypot(414, 2400 - 255) = 2,185 m away: within 3 km
    assert name_case(["南湖公园", "月河街区", "嘉兴火车站"], far_m=2_400).mode == "name"
    # moved 4,000 m north: hypot(414, 4000 - 255) = 3,768 m, dropped; 2 pairs are left
    assert name_case(["南湖公园", "月河街区", "嘉兴火车站"], far_m=4_000).mode == "nearest"


def test_bd09_matches_a_published_vector():
    """BD-09 on its own: a wrong constant in the radial term 0.00002·sin(lat·x_pi) or the
    angular term 0.000003·cos(lon·x_pi) moves points by up to metres, which the round-trip
    tests cannot see (a wrong forward constant is undone by the same wrong inverse).

    Vectors from the README of wandergis/coordtransform (the widely used JS implementation;
    dromara/hutool's CoordinateUtilTest.java uses the same BD-09 values):
      gcj02tobd09(116.404, 39.915) = [116.41036949371029, 39.92133699351021]
      bd09togcj02(116.404, 39.915) = [116.39762729119315, 39.90865673957631]
    The second is the one-step closed form, about 5 cm from the exact inverse that lifecircle
    iterates, hence the 0.1 m tolerance there; 1e-9° is about 0.1 mm.
    """
    bx, by = lc.coords.gcj02_to_bd09(116.404, 39.915)
    assert float(bx) == pytest.approx(116.41036949371029, abs=1e-9)
    assert float(by) == pytest.approx(39.92133699351021, abs=1e-9)
    gx, gy = lc.coords.bd09_to_gcj02(116.404, 39.915)
    assert GEOD.inv(float(gx), float(gy), 116.39762729119315, 39.90865673957631)[2] < 0.1
    fx, fy = lc.coords.gcj02_to_bd09(gx, gy)  # exact inverse: back to the input
    assert (float(fx), float(fy)) == pytest.approx((116.404, 39.915), abs=1e-9)


# ---------------------------------------------------------------------- reserve pool
def projects(**changes_of_first) -> gpd.GeoDataFrame:
    """Three proposed sites (EPSG:4549 points 500 m apart) in three communities of one street."""
    rows = []
    for i in (1, 2, 3):
        rows.append(
            dict(
                county_code="330402",
                county_name="南湖区",
                street_code="330402001",
                street_name="建设街道",
                community_code=f"3304020010{i:02d}",
                community_name=f"社区{i}",
                category="nursery",
                category_zh="托育",
                level="L5",
                location_kind="proposed_site",
                new_covered_pop=100.0 * i,
                nearest_m=400.0 + i,
                threshold_m=300.0,
                uncovered_pop=1000.0 * i,
                priority_score=2000.0 * i,
                priority_rank=4 - i,
                reason_zh=f"理由{i}",
                reason_en=f"reason {i}",
                geometry=shapely.Point(X0 + 500 * i, Y0),
            )  # fmt: skip
        )
    rows[0].update(changes_of_first)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


@pytest.mark.parametrize("column", ["uncovered_pop", "new_covered_pop", "priority_score"])
def test_pool_counts_a_changed_number_as_updated(tmp_path, column):
    """Catches a computed number left out of the pool's change check (the project would count
    as unchanged)."""
    target = tmp_path / "pool.gpkg"
    first = lc.export_pool(projects(), target, run_id="r1")
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    again = lc.export_pool(projects(**{column: 5000.0}), target, run_id="r2")
    assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
    pool = lc.read_pool(target).set_index("community_code")
    assert pool.loc["330402001001", column] == 5000.0
