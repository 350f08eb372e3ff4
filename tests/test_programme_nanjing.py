"""The gap-filling programme on real data: the Nanjing Xinjiekou OSM extract in ../shared.

Communities: the 3 × 3 grid of 1 km cells of ``test_end_to_end_nanjing`` (the cell without any
residential building left out), with streets assigned by division: the west, middle and east
columns of cells are three streets (西/中/东街道). Candidates: the extract's 133 landuse polygons
(parcels that could host a facility), with a cost growing with their area and half of them
available only from 2027.

The oracle is lifecircle's own analysis run again with the programme's sites added as
facilities: the share of communities meeting the standard after the last year, and every
community's covered residents, must be what the programme says.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from lifecircle.analysis.programme import ProgrammeParams, plan_programme, share_meeting
from lifecircle.communities import buildings_from_osm

pytestmark = [pytest.mark.shared, pytest.mark.slow, pytest.mark.usefixtures("quiet")]

PROFILE = "gb50180-2018"
#: Categories with facilities in the extract (no capacity rule in GB 50180: the share after a
#: year depends on distance alone).
CATEGORIES = ["health_station", "wet_market", "bus_stop", "primary_school", "kindergarten"]
STREETS = ["西街道", "中街道", "东街道"]


@pytest.fixture(scope="module")
def inputs(nanjing_osm):
    net = lc.load_network(nanjing_osm)
    profile = lc.load_profile(PROFILE)
    fac = lc.facilities_from_osm(nanjing_osm, profile)
    buildings, landuse = buildings_from_osm(nanjing_osm)
    x0, y0, x1, y1 = net.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rc = [(r, c) for r in range(3) for c in range(3) if (r, c) != (2, 2)]  # g22: no homes
    cells = gpd.GeoDataFrame(
        {"社区名称": [f"网格{r}{c}" for r, c in rc], "id": [f"g{r}{c}" for r, c in rc],
         "街道": [STREETS[c] for _, c in rc], "区县": "鼓楼区"},
        geometry=[shapely.box(cx - 1500 + c * 1000, cy - 1500 + r * 1000,
                              cx - 500 + c * 1000, cy - 500 + r * 1000) for r, c in rc],
        crs=net.crs,
    )  # fmt: skip
    comm = lc.load_communities(cells)
    a = lc.analyze(net, fac, comm, profile, categories=CATEGORIES, buildings=buildings,
                   landuse=landuse)  # fmt: skip
    parcels = landuse.to_crs(net.crs)
    area = parcels.geometry.area.to_numpy()
    places = gpd.GeoDataFrame(
        {"名称": [f"地块{i}" for i in range(len(parcels))],
         "投资": np.round(200 + area / 100),
         "最早年份": np.where(np.arange(len(parcels)) % 2 == 0, 2026, 2027)},
        geometry=parcels.geometry.values, crs=net.crs,
    )  # fmt: skip
    return net, fac, buildings, landuse, comm, a, places


@pytest.fixture(scope="module")
def programme(inputs):
    *_, a, places = inputs
    params = ProgrammeParams((2026, 2027, 2028), projects_per_year=4)
    return plan_programme(a, params, places)


def test_programme_meets_the_street_rule_or_says_why(inputs, programme):
    *_, a, _ = inputs
    t = programme.table
    assert len(t) and set(t["year"]) <= {2026, 2027, 2028}
    assert (t["candidate_kind"] == "user").all() and (t["new_covered_pop"] > 0).all()
    assert set(t["category"]) <= set(CATEGORIES)
    for year in (2026, 2027, 2028):
        built = set(t.loc[t["year"] == year, "street_name"])
        told = set(programme.issues.loc[programme.issues["year"] == year, "where"])
        assert built | told == set(STREETS), year  # every street: a project or a reason
        assert not built & told
        assert (t["year"] == year).sum() <= 4
    # candidates not yet available are not used
    name_year = dict(zip(inputs[-1]["名称"], inputs[-1]["最早年份"], strict=True))
    assert all(name_year[n] <= y for n, y in zip(t["site_name"], t["year"], strict=True))
    # by-year totals are the table's
    sums = t.groupby("year")["new_covered_pop"].sum()
    by = programme.by_year.set_index("year")
    assert np.allclose(by.loc[sums.index, "new_covered_pop"], sums)
    assert (by["status"].isin(["optimal", "nothing to place"])).all()


def test_share_after_the_programme_equals_a_new_analysis(inputs, programme):
    net, fac, buildings, landuse, comm, a, _ = inputs
    assert programme.baseline_share == pytest.approx(a.summary["share_meeting_standard"])
    shares = programme.by_year["share_meeting_standard"].to_numpy()
    assert np.all(np.diff(np.r_[programme.baseline_share, shares]) >= -1e-12)
    built = programme.table.to_crs(fac.crs)
    new = gpd.GeoDataFrame(
        {"category": built["category"].to_numpy(), "name": built["site_name"].to_numpy()},
        geometry=built.geometry.values,
        crs=fac.crs,
        index=pd.Index([f"new{i}" for i in range(len(built))], name=fac.index.name),
    )
    after = lc.analyze(net, pd.concat([fac, new]), comm, PROFILE, categories=CATEGORIES,
                       buildings=buildings, landuse=landuse)  # fmt: skip
    assert shares[-1] == pytest.approx(after.summary["share_meeting_standard"])
    gained = (after.coverage["covered_pop"] - a.coverage["covered_pop"]).sum()
    assert gained == pytest.approx(programme.table["new_covered_pop"].sum(), rel=1e-9)
    assert share_meeting(after) == pytest.approx(after.summary["share_meeting_standard"])
