"""Tests that fail when the analysis' numbers are wrong: the gaps the mutation run on
``analysis/`` found (docs/testing.md, "Measured survival rates"). Each docstring names the change
the test catches.

The network is ``river_with_bridge`` (tests/_nets.py): a south street y=0 and a north street
y=200, x from 0 to 1000 m, one bridge at x=500. Coordinates are metres relative to (X0, Y0) in
EPSG:4549. Fixture profile: nursery L5 300 m, 4.5 places per 1,000 residents (weight 2);
elderly day care L5 300 m for the elderly (weight 2); health station L5 300 m; health centre
L15 1,000 m. Only the public API is used.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, box
from _nets import river_with_bridge as river
from conftest import FIXTURES

PROFILE = FIXTURES / "profile_analysis.toml"


def coded(*rows: tuple[str, str, float, object]) -> gpd.GeoDataFrame:
    """Communities (12-digit code, name, residents, geometry in local metres)."""
    return lc.load_communities(
        gpd.GeoDataFrame(
            {
                "社区代码": [r[0] for r in rows],
                "社区名称": [r[1] for r in rows],
                "常住人口": [r[2] for r in rows],
            },
            geometry=[r[3] for r in rows],
            crs=CRS,
        )
    )


def facilities(category: str, *xy: tuple[float, float], capacity=None) -> gpd.GeoDataFrame:
    cols: dict = {"category": [category] * len(xy)}
    if capacity is not None:
        cols["capacity"] = capacity
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def demand(comm: gpd.GeoDataFrame, points: list[tuple[str, float, float, float, float]]):
    """Demand points (community code, x, y, residents, elderly residents) of ``comm``."""
    ids = comm.set_index("community_code")["community_id"]
    pts = gpd.GeoDataFrame(
        {
            "community_id": [ids[p[0]] for p in points],
            "method": "building",
            "pop": [p[3] for p in points],
            "pop_elderly": [p[4] for p in points],
            "pop_child_0_3": np.nan,
            "pop_child_3_6": np.nan,
        },
        geometry=[shapely.Point(X0 + p[1], Y0 + p[2]) for p in points],
        crs=CRS,
    )
    return lc.communities.Demand(pts, comm)


# ---------------------------------------------------------------------- coverage: the median
def test_distance_is_the_population_weighted_median():
    """Catches ``before + total / 2`` turned into ``before - total / 2`` (the nearest point's
    distance would be reported).

    Nursery on the north street at x=100. Community A's demand points stand 10 m north of the
    street at x=100, 300 and 900: 10, 210 and 810 m. With 100, 100 and 1,000 residents the
    median resident (600th of 1,200) lives at 810 m; reversed (1,000, 100, 100), at 10 m.
    """
    a_code, b_code = "330402001001", "330402001002"
    comm = coded(
        (a_code, "A", 1200, box(0, 205, 1000, 300)), (b_code, "B", 1200, box(0, -300, 1000, -5))
    )
    pts = [(a_code, 100, 210, 100, 0), (a_code, 300, 210, 100, 0), (a_code, 900, 210, 1000, 0)]
    pts += [(b_code, 100, -10, 1000, 0), (b_code, 300, -10, 100, 0), (b_code, 900, -10, 100, 0)]
    fac = facilities("nursery", (100, 200), (100, 0))
    a = lc.analyze(river(), fac, comm, PROFILE, categories=["nursery"], demand=demand(comm, pts))
    cov = a.coverage.set_index("community_name")
    assert cov.loc["A", ["distance_min_m", "distance_m", "distance_max_m"]].tolist() == (
        pytest.approx([10.0, 810.0, 810.0])
    )
    assert cov.loc["B", ["distance_min_m", "distance_m", "distance_max_m"]].tolist() == (
        pytest.approx([10.0, 10.0, 810.0])
    )


def test_without_residents_of_the_group_the_middle_point_is_reported():
    """Catches ``total > 0`` turned into ``>=`` and the middle ``(n - 1) // 2`` changed to
    ``n // 2`` or ``(n - 2) // 2``.

    Elderly day care on the north street at x=100; no demand point has elderly residents, so
    the reported distance is the middle of the points sorted by distance: of 10, 210, 810 m
    (A, three points) the 2nd, 210 m; of 10, 110, 210, 810 m (B, four points) the 2nd, 110 m.
    """
    a_code, b_code = "330402001001", "330402001002"
    comm = coded(
        (a_code, "A", 300, box(0, 205, 1000, 300)), (b_code, "B", 400, box(0, 301, 1000, 400))
    )
    pts = [(a_code, x, 210, 100, 0) for x in (100, 300, 900)]
    pts += [(b_code, x, 210, 100, 0) for x in (100, 200, 300, 900)]
    fac = facilities("elderly_daycare", (100, 200))
    a = lc.analyze(
        river(), fac, comm, PROFILE, categories=["elderly_daycare"], demand=demand(comm, pts)
    )
    cov = a.coverage.set_index("community_name")
    assert cov["group_pop"].tolist() == [0.0, 0.0]
    assert cov.loc["A", "distance_m"] == pytest.approx(210.0)
    assert cov.loc["B", "distance_m"] == pytest.approx(110.0)


# ---------------------------------------------------------------------- one resident counts
def test_a_community_of_one_resident_is_assessed_like_any_other():
    """Catches ``> 0`` turned into ``> 1`` (and ``<= 0`` into ``<= 1``) in the tests for "has
    residents": meets_distance, meets_capacity, the street's community count, covered share and
    share meeting.

    One resident at (900, 210): 10 + 400 + 200 (bridge) + 350 = 960 m from the nursery at
    (150, 0) > 300 m, and 10 places within 300 m of nobody: supply 0 < 4.5 per 1,000.
    """
    comm = coded(("330402001001", "独居", 1, shapely.Point(X0 + 900, Y0 + 210)))
    a = lc.analyze(
        river(), facilities("nursery", (150, 0), capacity=[10.0]), comm, PROFILE,
        categories=["nursery"],
    )  # fmt: skip
    row = a.coverage.iloc[0]
    assert row["distance_m"] == pytest.approx(960.0)
    assert row["group_pop"] == 1.0 and row["covered_share"] == 0.0
    assert not bool(row["meets_distance"])
    assert row["meets_capacity"] is False and not bool(row["meets_standard"])
    street = a.categories[a.categories["scope"] == "street"].iloc[0]
    assert street["communities"] == 1
    assert street["covered_share"] == 0.0 and street["share_meeting"] == 0.0
    assert len(a.shortfalls) == 1


def test_one_resident_gets_the_supply_within_reach():
    """Catches a community's supply per 1,000 dropped when it weighs 1 resident or less
    (``w > 0`` turned into ``w > 1``): one resident at a nursery with one place has 1,000 places
    per 1,000 residents."""
    comm = coded(("330402001001", "独居", 1, shapely.Point(X0 + 100, Y0)))
    fac = facilities("nursery", (100, 0), capacity=[1.0])
    a = lc.analyze(river(), fac, comm, PROFILE, categories=["nursery"])
    assert a.coverage["supply_per_1000"].tolist() == pytest.approx([1000.0])
    assert a.coverage["meets_capacity"].tolist() == [True]


def test_a_community_without_residents_has_no_verdict_and_no_supply():
    """Catches the "no residents or nothing assessed" rule of ``meets_all_required`` turned
    into "no residents and nothing assessed", and an empty community's supply filled with 1.0
    instead of 0."""
    comm = coded(
        ("330402001001", "people", 100, shapely.Point(X0 + 100, Y0 - 10)),
        ("330402001002", "nobody", 0, shapely.Point(X0 + 900, Y0 + 210)),
    )
    fac = facilities("nursery", (150, 0), capacity=[1.0])
    a = lc.analyze(river(), fac, comm, PROFILE, categories=["nursery"])
    idx = a.index.set_index("community_name")
    assert idx.loc["people", "meets_all_required"] is True
    assert idx.loc["nobody", "meets_all_required"] is None
    sup = a.coverage.set_index("community_name")["supply_per_1000"]
    assert sup["people"] == pytest.approx(10.0)  # 1 place for 100 residents at 60 m
    assert sup["nobody"] == 0.0


def test_a_community_with_nothing_assessed_has_no_verdict():
    """Catches ``meets_all_required`` given for a community none of whose categories could be
    assessed (no facility data at all)."""
    comm = coded(("330402001001", "people", 100, shapely.Point(X0 + 100, Y0 - 10)))
    empty = facilities("nursery")
    a = lc.analyze(river(), empty, comm, PROFILE, categories=["nursery", "health_station"])
    assert not a.coverage["assessed"].any()
    assert a.index["meets_all_required"].tolist() == [None]


# ---------------------------------------------------------------------- the category table
def test_category_table_data_status_and_order():
    """Catches the data-status ranks changed (confirmed absent shown as present or as no data,
    no data lost) and streets sorted among counties instead of after them.

    Two counties (330402 and 330411), one street each. Nursery: a facility (present); elderly
    day care: declared complete with none (confirmed absent); health station: nothing (no data).
    """
    comm = coded(
        ("330402001001", "南", 100, shapely.Point(X0 + 100, Y0 - 10)),
        ("330411002001", "北", 100, shapely.Point(X0 + 900, Y0 + 210)),
    )
    a = lc.analyze(
        river(), facilities("nursery", (150, 0)), comm, PROFILE,
        categories=["nursery", "elderly_daycare", "health_station"],
        complete_categories=["elderly_daycare"],
    )  # fmt: skip
    t = a.categories
    assert t["scope"].tolist() == ["city"] * 3 + ["county"] * 6 + ["street"] * 6
    assert t["county_code"].iloc[3:].tolist() == ["330402"] * 3 + ["330411"] * 3 + (
        ["330402"] * 3 + ["330411"] * 3
    )
    status = t.set_index(["scope", "category"])["data_status"]
    for scope in ("city", "county", "street"):
        s = status.loc[scope]
        s = s.groupby(level=0).first() if s.index.has_duplicates else s
        assert s["nursery"] == "present"
        assert s["elderly_daycare"] == "confirmed_absent"
        assert s["health_station"] == "no_data"


# ---------------------------------------------------------------------- shortfalls
def optional_profile(tmp_path) -> lc.Profile:
    """The fixture profile with elderly day care optional and the nursery counted in seats."""
    text = PROFILE.read_text(encoding="utf-8")
    head, _, tail = text.partition("[categories.elderly_daycare]")
    tail = tail.replace("required = true", "required = false", 1)
    text = (head + "[categories.elderly_daycare]" + tail).replace(
        'unit = "places"', 'unit = "座位"'
    )
    path = tmp_path / "optional.toml"
    path.write_text(text, encoding="utf-8")
    return lc.load_profile(path)


def test_optional_category_weight_is_halved(tmp_path):
    """Catches ``weight * OPTIONAL_FACTOR`` turned into ``weight / OPTIONAL_FACTOR``.

    Elderly day care (weight 2, made optional) 960 m from the community's 300 elderly: weight
    2 × 0.5 = 1, affected 300, priority 300. The nursery (required, weight 2) has 1,000
    uncovered residents: priority 2,000, ranked first.
    """
    comm = gpd.GeoDataFrame(
        {"name": ["c0"], "population": [1000], "pop_elderly": [300]},
        geometry=[shapely.Point(X0 + 900, Y0 + 210)],
        crs=CRS,
    )
    fac = pd.concat(
        [facilities("nursery", (150, 0)), facilities("elderly_daycare", (150, 0))],
        ignore_index=True,
    )
    a = lc.analyze(
        river(), fac, lc.load_communities(comm), optional_profile(tmp_path),
        categories=["nursery", "elderly_daycare"],
    )  # fmt: skip
    sf = a.shortfalls.set_index("category")
    assert sf.loc["elderly_daycare", "weight"] == 1.0
    assert sf.loc["elderly_daycare", "affected_pop"] == pytest.approx(300.0)
    assert sf.loc["elderly_daycare", "priority_score"] == pytest.approx(300.0)
    assert sf.loc["nursery", "priority_score"] == pytest.approx(2000.0)
    assert sf["kind"].tolist() == ["distance", "distance"]
    assert sf["capacity_short_pop"].tolist() == [0.0, 0.0]  # no capacity rule failed
    assert a.shortfalls["category"].tolist() == ["nursery", "elderly_daycare"]


def test_capacity_short_population_and_its_reason(tmp_path):
    """Catches ``group_pop × (1 - ratio)`` turned into ``group_pop × (2 - ratio)``, and a unit
    without words of its own lost from the reason.

    One community of 1,000 at the nursery with 2.25 seats: 2.25 per 1,000 against 4.5, ratio
    0.5, so 1,000 × (1 - 0.5) = 500 residents' share is missing.
    """
    comm = gpd.GeoDataFrame(
        {"name": ["c0"], "population": [1000]}, geometry=[shapely.Point(X0 + 100, Y0)], crs=CRS
    )
    a = lc.analyze(
        river(), facilities("nursery", (100, 0), capacity=[2.25]), lc.load_communities(comm),
        optional_profile(tmp_path), categories=["nursery"],
    )  # fmt: skip
    row = a.shortfalls.iloc[0]
    assert row["supply_per_1000"] == pytest.approx(2.25)
    assert row["kind"] == "capacity"
    assert row["capacity_short_pop"] == pytest.approx(500.0)
    assert row["affected_pop"] == pytest.approx(500.0)
    assert "2.2 座位" in row["reason_zh"] and "500" in row["reason_zh"]
    assert "2.2 座位 per 1,000" in row["reason_en"]
