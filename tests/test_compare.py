"""Runs over time: two runs with hand-made differences — one facility removed, one added, one
community's population changed — and ``lc.compare`` reports exactly those causes.

Network: a 6 × 6 street grid, 100 m blocks (x, y from 0 to 500 m). Three point communities on
streets, 500 m apart on the network (farther than the 300 m thresholds): C1 at (0, 0),
C2 at (500, 0), C3 at (500, 500), 1,000 residents each. Categories: health station (300 m) and
nursery (300 m, 4.5 places per 1,000 residents, 2SFCA).

Run A: health stations H1 at C1 and H2 at C2; a nursery N2 with 5 places at C2 (5 per 1,000 at
C2: meets). Run B: H1 closed, H3 opened at C3, C2 has 2,000 residents (2.5 places per 1,000:
short). So: C1 health station worsens (facility closed), C3 health station improves (facility
opened), C2 nursery worsens (population changed); nothing else changes.
"""

from __future__ import annotations

import importlib.metadata

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, grid
from conftest import FIXTURES

PROFILE = FIXTURES / "profile_analysis.toml"
CATS = ["health_station", "nursery"]


def _communities(pop_c2: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"社区代码": ["330402001001", "330402001002", "330402001003"],
         "社区名称": ["C1", "C2", "C3"], "街道": ["建设街道"] * 3, "区县": ["南湖区"] * 3,
         "常住人口": [1000, pop_c2, 1000]},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in [(0, 0), (500, 0), (500, 500)]],
        crs=CRS,
    )  # fmt: skip


def _facilities(rows: list[tuple[str, str, float, float, float]]) -> gpd.GeoDataFrame:
    ids, cats, x, y, cap = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"category": cats, "name": ids, "capacity": cap},
        geometry=[shapely.Point(X0 + a, Y0 + b) for a, b in zip(x, y, strict=True)],
        crs=CRS, index=pd.Index(ids, name="facility_id"),
    )  # fmt: skip


def _run(fac, pop_c2):
    comm = lc.load_communities(_communities(pop_c2))
    return lc.analyze(grid(6, 100.0), fac, comm, lc.load_profile(PROFILE), categories=CATS,
                      complete_categories=True)  # fmt: skip



pytestmark = pytest.mark.usefixtures("quiet")

@pytest.fixture(scope="module")
def runs():
    a = _run(_facilities([("H1", "health_station", 0, 5, np.nan),
                          ("H2", "health_station", 500, 5, np.nan),
                          ("N2", "nursery", 495, 0, 5.0)]), 1000)  # fmt: skip
    b = _run(_facilities([("H2", "health_station", 500, 5, np.nan),
                          ("H3", "health_station", 500, 495, np.nan),
                          ("N2", "nursery", 495, 0, 5.0)]), 2000)  # fmt: skip
    return a, b


def _expected_changes():
    return {("C1", "health_station"): ("worsened", "facility_closed"),
            ("C3", "health_station"): ("improved", "facility_opened"),
            ("C2", "nursery"): ("worsened", "population_changed")}  # fmt: skip


def _check(cmp):
    got = {(r.community_name, r.category): (r.change, r.causes) for r in cmp.changes.itertuples()}
    assert got == _expected_changes()
    assert list(cmp.facilities_new["facility_id"]) == ["H3"]
    assert list(cmp.facilities_vanished["facility_id"]) == ["H1"]
    assert cmp.summary["improved"] == 1 and cmp.summary["worsened"] == 2
    assert set(cmp.summary["inputs_changed"]) >= {"facilities", "communities"}
    c = cmp.communities.set_index("community_name")
    assert (
        c.loc["C1", "worsened"] == "health_station" and c.loc["C1", "causes"] == "facility_closed"
    )
    assert c.loc["C3", "improved"] == "health_station"
    assert c.loc["C2", "meets_before"] == True  # noqa: E712
    assert c.loc["C2", "meets_after"] == False  # noqa: E712


def test_compare_two_analyses_reports_exactly_the_causes(runs):
    a, b = runs
    # the hand-worked premises
    cov = a.coverage.set_index(["community_name", "category"])
    assert cov.loc[("C2", "nursery"), "meets_standard"]
    assert cov.loc[("C2", "nursery"), "supply_per_1000"] == pytest.approx(5.0)
    _check(lc.compare(a, b))


@pytest.mark.parametrize("suffix", [".gpkg", ".xlsx", ".csv"])
def test_compare_recorded_runs(runs, tmp_path, suffix):
    """The same, from the run history of a GeoPackage, Excel or CSV pool (written and read
    back)."""
    a, b = runs
    pool = tmp_path / f"pool{suffix}"
    lc.record_run(a, pool, run_date="2026-03-31")
    lc.record_run(b, pool, run_date="2026-06-30")
    hist = lc.read_runs(pool)
    assert list(hist["run_date"]) == ["2026-03-31", "2026-06-30"]
    assert list(hist["run_id"]) == [a.run_id, b.run_id]
    assert list(hist["profile"]) == ["test-analysis"] * 2
    # the version a run records is the one the package reports and is installed as
    assert list(hist["lifecircle_version"]) == [lc.__version__] * 2
    assert importlib.metadata.version("lifecircle") == lc.__version__
    ra, rb = (lc.read_run(pool, r) for r in hist["run_id"])
    cmp = lc.compare(ra, rb, target_year=2027)
    _check(cmp)
    st = cmp.by_street.iloc[0]
    assert st["share_before"] == a.index_by_street["share_meeting_standard"].iloc[0]
    assert st["share_after"] == b.index_by_street["share_meeting_standard"].iloc[0]


def test_file_pools_keep_the_history_beside_the_pool(runs, tmp_path, monkeypatch):
    """Excel: a 运行记录 sheet that pool exports leave alone, the record cut into cells of at
    most CHUNK characters; CSV: pool.runs.csv. Both read back as the GeoPackage history does,
    and recording a run id again replaces its row."""
    import openpyxl

    from lifecircle.outputs.pool import history_files

    a, b = runs
    monkeypatch.setattr(history_files, "CHUNK", 1000)  # small cells: the record takes several
    frames = {}
    for suffix in (".gpkg", ".xlsx", ".csv"):
        pool = tmp_path / f"pool{suffix}"
        lc.export_pool(a, pool)
        lc.record_run(b, pool, run_date="2026-06-30")
        lc.record_run(a, pool, run_date="2026-03-31")
        lc.record_run(a, pool, run_date="2026-03-31")  # again: replaces
        lc.export_pool(b, pool)  # the pool is written again: the history stays
        frames[suffix] = lc.read_runs(pool)
        assert list(frames[suffix]["run_id"]) == [a.run_id, b.run_id]
        gpkg_rec = lc.read_run(tmp_path / "pool.gpkg", b.run_id)
        assert lc.read_run(pool, b.run_id).to_json() == gpkg_rec.to_json()
        assert len(lc.read_pool(pool)) == len(lc.read_pool(tmp_path / "pool.gpkg"))
    pd.testing.assert_frame_equal(frames[".xlsx"], frames[".gpkg"])
    pd.testing.assert_frame_equal(frames[".csv"], frames[".gpkg"])
    ws = openpyxl.load_workbook(tmp_path / "pool.xlsx")["运行记录"]
    head = [c.value for c in ws[1]]
    assert head[:3] == ["run_id", "run_date", "profile"] and "record_2" in head
    assert all(len(c.value or "") <= 1000 for row in ws.iter_rows(min_row=2) for c in row
               if isinstance(c.value, str))  # fmt: skip
    assert (tmp_path / "pool.runs.csv").exists()


def test_progress_toward_target_year(runs):
    """Shares and the year the target is reached at the pace between the two runs."""
    from lifecircle.analysis.compare import run_record

    a, b = runs
    ra = run_record(a, "2025-01-01")
    rb = run_record(b, "2026-01-01")
    # hand-made shares: 20% → 40% in a year, target 60%: reached in 2027
    ra.by_county["share_meeting_standard"] = 0.2
    rb.by_county["share_meeting_standard"] = 0.4
    rb.by_county["target_share"] = 0.6
    p = lc.compare(ra, rb, target_year=2026).by_county.iloc[0]
    assert p["share_change"] == pytest.approx(0.2)
    assert p["gap_to_target"] == pytest.approx(0.2)
    assert p["reached_by_year"] == 2027
    assert not p["on_track"]


def test_compare_refuses_other_things(runs):
    with pytest.raises(lc.InputError, match="Analysis or a recorded run"):
        lc.compare(runs[0], "last quarter")


def test_same_run_twice_changes_nothing(runs):
    cmp = lc.compare(runs[0], runs[0])
    assert cmp.changes.empty and cmp.communities.empty
    assert cmp.facilities_new.empty and cmp.facilities_vanished.empty
    assert cmp.summary["inputs_changed"] == []
    assert (cmp.by_street["share_change"] == 0).all()


def test_a_category_left_without_data_is_reported_not_dropped(tmp_path):
    """Run A has one nursery (N2); in run D it closed, and no list says the city has none
    (complete_categories off), so nursery has no data in D and is not assessed there. Every
    community's nursery row changes from assessed to not assessed: the comparison lists the three
    (C2 met the standard before) as ``no_longer_assessed``, caused by the closure; the other way
    round they are ``newly_assessed``. Also through the run history read back."""
    comm = lc.load_communities(_communities(1000))
    prof = lc.load_profile(PROFILE)
    fac = _facilities([("H1", "health_station", 0, 5, np.nan),
                       ("H2", "health_station", 500, 5, np.nan),
                       ("N2", "nursery", 495, 0, 5.0)])  # fmt: skip
    a = lc.analyze(grid(6, 100.0), fac, comm, prof, categories=CATS)
    d = lc.analyze(grid(6, 100.0), fac.drop(index="N2"), comm, prof, categories=CATS)
    assert a.coverage.set_index(["community_name", "category"]).loc[("C2", "nursery"), "meets_standard"]
    assert not d.coverage.loc[d.coverage["category"] == "nursery", "assessed"].any()  # premise
    pool = tmp_path / "pool.gpkg"
    lc.record_run(a, pool, run_date="2026-03-31")
    lc.record_run(d, pool, run_date="2026-06-30")
    recorded = [lc.read_run(pool, r) for r in lc.read_runs(pool)["run_id"]]
    for cmp in (lc.compare(a, d), lc.compare(*recorded)):
        got = {(r.community_name, r.category): (r.change, r.causes) for r in cmp.changes.itertuples()}
        assert got == {(c, "nursery"): ("no_longer_assessed", "facility_closed,data_missing")
                       for c in ("C1", "C2", "C3")}  # fmt: skip
        assert cmp.summary["no_longer_assessed"] == 3 and cmp.summary["worsened"] == 0
        assert "3 no longer assessed" in repr(cmp)
        c = cmp.communities.set_index("community_name")
        assert c.loc["C2", "no_longer_assessed"] == "nursery" and c.loc["C2", "worsened"] == ""
        assert "该类设施已无数据" in cmp.changes["reason_zh"].iloc[0]
    back = lc.compare(d, a)
    assert set(back.changes["change"]) == {"newly_assessed"}
    assert set(back.changes["causes"]) == {"facility_opened,data_added"}
    assert back.summary["newly_assessed"] == 3


@pytest.mark.parametrize(
    ("date_a", "date_b", "before", "after", "reached", "on_track"),
    [
        # already above the target in a run dated late in 2026: reached in 2026, on track
        ("2026-03-31", "2026-09-30", 0.0, 2 / 3, 2026, True),
        # +20 points in 183 days, 20 to go: 183 days more, 2027-04-01
        ("2026-03-31", "2026-09-30", 0.2, 0.4, 2027, False),
        # +30 points in 90 days, 10 to go: 30 days more, 2026-05-01
        ("2026-01-01", "2026-04-01", 0.2, 0.5, 2026, True),
        # no progress: never
        ("2026-01-01", "2026-04-01", 0.4, 0.4, None, False),
    ],
)
def test_year_the_target_is_reached(runs, date_a, date_b, before, after, reached, on_track):
    """The year of the day the target share is reached at the pace between the runs (target
    60%, due 2026); a place at or above the target has reached it in the later run's year."""
    from lifecircle.analysis.compare import run_record

    a, b = runs
    ra, rb = run_record(a, date_a), run_record(b, date_b)
    ra.by_county["share_meeting_standard"] = before
    rb.by_county["share_meeting_standard"] = after
    rb.by_county["target_share"] = 0.6
    p = lc.compare(ra, rb, target_year=2026).by_county.iloc[0]
    if reached is None:
        assert np.isnan(p["reached_by_year"])
    else:
        assert p["reached_by_year"] == reached
    assert bool(p["on_track"]) is on_track


def test_a_moved_facility_is_its_own_cause(runs):
    """H1 (at C1) moves 490 m north, same id: C1's health station worsens because a facility
    moved; a 3 m shift (coordinates redrawn) is no move."""
    a, _ = runs
    fac = a.facilities.copy()
    fac.loc["H1", "geometry"] = shapely.Point(X0, Y0 + 495)
    cmp = lc.compare(a, _run(fac, 1000))
    got = {(r.community_name, r.category): (r.change, r.causes) for r in cmp.changes.itertuples()}
    assert got == {("C1", "health_station"): ("worsened", "facility_moved")}
    assert cmp.changes["reason_zh"].iloc[0] == "设施位置变动"
    assert cmp.summary["facilities_moved"] == 1
    assert repr(cmp).endswith("0 new, 0 vanished, 1 moved facilities>")
    assert cmp.facilities_new.empty and cmp.facilities_vanished.empty
    fac.loc["H1", "geometry"] = shapely.Point(X0, Y0 + 8)
    small = lc.compare(a, _run(fac, 1000))
    assert small.changes.empty and small.summary["facilities_moved"] == 0
    assert small.summary["inputs_changed"] == ["facilities"]


def test_profile_changed_when_a_distance_changed(runs):
    """with_distances keeps the profile's id and version; its thresholds differ all the same."""
    a, _ = runs
    comm = lc.load_communities(_communities(1000))
    prof = lc.load_profile(PROFILE).with_distances(health_station=100)
    c = lc.analyze(grid(6, 100.0), a.facilities, comm, prof, categories=CATS,
                   complete_categories=True)  # fmt: skip
    assert (prof.id, prof.version) == (a.profile.id, a.profile.version)  # premise
    cmp = lc.compare(a, c)
    assert cmp.summary["profile_changed"] is True
    assert lc.compare(a, a).summary["profile_changed"] is False


def test_recording_the_same_inputs_on_another_date_says_it_replaces(runs, tmp_path, caplog):
    """The history keeps one record per run id: recording the same inputs again on a later date
    replaces the earlier record, with a warning naming both dates (again on the same date:
    silently, as before)."""
    a, _ = runs
    pool = tmp_path / "pool.gpkg"
    with caplog.at_level("WARNING", logger="lifecircle"):
        lc.record_run(a, pool, run_date="2026-03-31")
        lc.record_run(a, pool, run_date="2026-03-31")
    assert "replaced" not in caplog.text
    with caplog.at_level("WARNING", logger="lifecircle"):
        lc.record_run(a, pool, run_date="2026-06-30")
    assert f"run {a.run_id} (the same inputs) was recorded on 2026-03-31" in caplog.text
    assert "replaced by this one of 2026-06-30" in caplog.text
    assert list(lc.read_runs(pool)["run_date"]) == ["2026-06-30"]


def test_records_without_facility_locations_still_compare(runs):
    """A record whose facility table lacks lon/lat (kept by hand, or by another tool) compares
    as before: no facility counts as moved."""
    import dataclasses

    from lifecircle.analysis.compare import run_record

    a, b = runs
    ra = run_record(a, "2026-03-31")
    bare = dataclasses.replace(ra, facilities=ra.facilities.drop(columns=["lon", "lat"]))
    assert lc.compare(bare, run_record(b, "2026-06-30")).summary["facilities_moved"] == 0
    assert lc.compare(bare, ra).changes.empty


def test_a_facility_that_adds_supply_without_being_nearest(runs):
    """C2 has 2,000 residents and its nursery N2 (5 places: 2.5 per 1,000, short). N3 opens at
    (400, 100), 200 m from C2 (within the 300 m catchment, 500 m from C1 and C3) with 10 places;
    N2, 5 m away, stays the nearest. C2's nursery meets the standard because a facility of the
    category opened that is not its nearest: supply_added, not "other"."""
    fac = [("H2", "health_station", 500, 5, np.nan), ("N2", "nursery", 495, 0, 5.0)]
    a = _run(_facilities(fac), 2000)
    b = _run(_facilities([*fac, ("N3", "nursery", 400, 100, 10.0)]), 2000)
    cmp = lc.compare(a, b)
    got = {(r.community_name, r.category): (r.change, r.causes, r.nearest_facility_b)
           for r in cmp.changes.itertuples()}  # fmt: skip
    assert got == {("C2", "nursery"): ("improved", "supply_added", "N2")}
    assert cmp.changes["reason_zh"].iloc[0] == "同类设施新增 (供给增加)"
    back = lc.compare(b, a)  # and N3 closing again
    assert back.changes["causes"].tolist() == ["supply_removed"]
