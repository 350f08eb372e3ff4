"""Residents' voice: a survey workbook joined to communities by code and by name variants,
unmatched rows reported, disagreements with the measured coverage flagged, the optional priority
weight applied as documented.

Network: a 6 × 6 street grid, 100 m blocks. Communities (points on streets, 1,000 residents,
500 m apart on the network, beyond the 300 m thresholds): 南湖社区 at (0, 0), 北湖社区 at
(500, 0), 东湖村 at (500, 500). Health stations at 南湖 and 北湖, a nursery with 5 places at 北湖
(5 per 1,000: meets 4.5). So 北湖 meets every required category; 南湖 lacks a nursery; 东湖
lacks both.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, grid
from conftest import FIXTURES

PROFILE = FIXTURES / "profile_analysis.toml"


@pytest.fixture(scope="module")
def analysis():
    comm = gpd.GeoDataFrame(
        {"社区代码": ["330402001001", "330402001002", "330402001003"],
         "社区名称": ["南湖社区", "北湖社区", "东湖村"], "街道": ["建设街道"] * 3,
         "区县": ["南湖区"] * 3, "常住人口": [1000, 1000, 1000]},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in [(0, 0), (500, 0), (500, 500)]],
        crs=CRS,
    )  # fmt: skip
    fac = gpd.GeoDataFrame(
        {"category": ["health_station", "health_station", "nursery"], "capacity": [np.nan, np.nan, 5.0]},
        geometry=[shapely.Point(X0, Y0 + 5), shapely.Point(X0 + 500, Y0 + 5), shapely.Point(X0 + 495, Y0)],
        crs=CRS, index=pd.Index(["H1", "H2", "N2"], name="facility_id"),
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lc.settings, "progress", False)
        return lc.analyze(grid(6, 100.0), fac, lc.load_communities(comm),
                          lc.load_profile(PROFILE), categories=["health_station", "nursery"],
                          complete_categories=True)  # fmt: skip


@pytest.fixture(scope="module")
def survey_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("survey") / "满意度调查.xlsx"
    pd.DataFrame(
        {"社区代码": ["330402001002", None, None, None],
         "社区名称": ["北湖", "南湖社区居委会", "东湖村村民委员会", "西湖社区"],
         "样本量": [120, 80, 60, 30], "满意度": [2.0, 4.5, 3.5, 4.0],
         "社区卫生服务站需求": ["需要", "不需要", "需要", "需要"],
         "托育需求": ["需要", "需要", "不需要", "不需要"]}
    ).to_excel(path, index=False)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def survey(analysis, survey_file):
    return lc.load_survey(survey_file, analysis.communities, analysis.profile)


def test_join_by_code_and_name_variants(survey, analysis):
    ids = dict(zip(analysis.communities["community_name"], analysis.communities["community_id"],
                   strict=True))  # fmt: skip
    f = survey.frame.set_index("community_id")
    # by code (the name 北湖 alone would not match), 居委会 → 社区, 村民委员会 → 村
    assert list(f.index) == [ids["北湖社区"], ids["南湖社区"], ids["东湖村"]]
    assert f.loc[ids["南湖社区"], "satisfaction"] == 4.5
    assert f.loc[ids["北湖社区"], "sample_size"] == 120
    assert set(survey.categories) == {"health_station", "nursery"}
    assert f.loc[ids["东湖村"], "demand:health_station"] == 1.0
    assert f.loc[ids["东湖村"], "demand:nursery"] == 0.0
    u = survey.unmatched
    assert list(u["name"]) == ["西湖社区"] and list(u["row"]) == [5]
    assert "no community" in u["reason"].iloc[0]


def test_disagreements_flagged(analysis, survey):
    v = lc.residents_voice(analysis, survey)
    flags = dict(zip(v.communities["community_name"], v.communities["flag"], strict=True))
    # 北湖 meets every required category but residents rate it 2 of 5; 南湖 falls short, rated 4.5
    assert flags == {"南湖社区": "short_but_satisfied", "北湖社区": "covered_but_unsatisfied",
                     "东湖村": ""}  # fmt: skip
    cat = {(r.community_name, r.category): r.flag for r in v.categories.itertuples()}
    assert cat == {
        ("南湖社区", "health_station"): "required_not_wanted",
        ("南湖社区", "nursery"): "wanted_and_short",
        ("北湖社区", "health_station"): "", ("北湖社区", "nursery"): "",
        ("东湖村", "health_station"): "wanted_and_short",
        ("东湖村", "nursery"): "required_not_wanted",
    }  # fmt: skip
    assert len(v.follow_up) == 2 + 4


def test_priority_weight(analysis, survey):
    v0 = lc.residents_voice(analysis, survey)
    assert list(v0.shortfalls["priority_rank_weighted"]) == list(
        analysis.shortfalls["priority_rank"]
    )
    v1 = lc.residents_voice(analysis, survey, weight=1.0)
    sf = v1.shortfalls
    assert np.allclose(
        sf["priority_score_weighted"], sf["priority_score"] * (1 + sf["survey_demand"])
    )
    ranked = sf.sort_values("priority_rank_weighted")
    assert ranked["priority_score_weighted"].is_monotonic_decreasing
    # 东湖村's nursery (not wanted) falls behind 南湖社区's (wanted), equal before
    r = {(x.community_name, x.category): x.priority_rank_weighted for x in sf.itertuples()}
    score = {(x.community_name, x.category): x.priority_score for x in sf.itertuples()}
    assert score[("南湖社区", "nursery")] == score[("东湖村", "nursery")]
    assert r[("南湖社区", "nursery")] < r[("东湖村", "nursery")]


def test_bad_survey_values(analysis, tmp_path):
    bad = pd.DataFrame({"社区名称": ["南湖社区"], "满意度": [7]})
    with pytest.raises(lc.InputError, match="satisfaction must be 1–5"):
        lc.load_survey(bad, analysis.communities, analysis.profile)
    mixed = pd.DataFrame({"社区名称": ["南湖社区", "东湖村"], "托育": ["需要", "很多"]})
    with pytest.raises(lc.InputError, match="mixes answers"):
        lc.load_survey(mixed, analysis.communities, analysis.profile)


def test_short_category_names_unused_columns_and_repeated_communities(analysis, caplog):
    """Planners head demand columns with a category's short name (托育, 养老机构), not the
    profile's full 托育机构（托儿所、托育点）: those are recognised. A column that names nothing
    is reported, not dropped silently; a community listed twice (once by code, once by name) is
    refused, naming both rows."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    df = pd.DataFrame({"社区名称": ["南湖社区", "北湖社区"], "满意度": [4.0, 3.0],
                       "托育需求": ["需要", "不需要"], "养老机构": ["不需要", "需要"],
                       "老年": ["需要", "需要"],  # the start of 老年人… and 老年食堂…: ambiguous
                       "备注": ["", "走访"]})  # fmt: skip
    with caplog.at_level("WARNING", logger="lifecircle.communities"):
        s = lc.load_survey(df, analysis.communities, prof)
    assert set(s.categories) == {"nursery", "nursing_home"}
    assert s.frame["demand:nursery"].tolist() == [1.0, 0.0]
    (said,) = [r.getMessage() for r in caplog.records if "not used" in r.getMessage()]
    assert "老年、备注" in said
    twice = pd.DataFrame({"社区代码": ["330402001001", None], "社区名称": [None, "南湖社区居委会"],
                          "满意度": [4.5, 1.0]})  # fmt: skip
    with pytest.raises(lc.InputError, match=r"rows 0, 1 .* same community twice .*330402001001"):
        lc.load_survey(twice, analysis.communities, prof)


def test_rank_columns_typed_1_2_3(analysis):
    """A column whose numbers include one above 1 holds ranks, where 1 is rank 1 (not 需要); a
    column of only 0/1 (or shares up to 1.0) is 不需要/需要; 需要 among ranks is refused, naming
    the row."""
    names = ["南湖社区", "北湖社区", "东湖村"]
    for ranks in ([1, 2, 3], ["1", "2", "3"], [1.0, 2.0, np.nan]):
        s = lc.load_survey(pd.DataFrame({"社区名称": names, "托育排序": ranks}),
                           analysis.communities, analysis.profile)  # fmt: skip
        assert s.demand_kind == {"nursery": "rank"}
        assert s.frame["demand:nursery"].tolist()[:2] == [1.0, 0.5]
    s = lc.load_survey(pd.DataFrame({"社区名称": names, "托育": [1, 0, 1]}),
                       analysis.communities, analysis.profile)  # fmt: skip
    assert s.demand_kind == {"nursery": "share"}
    assert s.frame["demand:nursery"].tolist() == [1.0, 0.0, 1.0]
    s = lc.load_survey(pd.DataFrame({"社区名称": names, "托育": [0.35, 1.0, 0.6]}),
                       analysis.communities, analysis.profile)  # fmt: skip
    assert s.demand_kind == {"nursery": "share"}
    assert s.frame["demand:nursery"].tolist() == [0.35, 1.0, 0.6]
    mixed = pd.DataFrame({"社区名称": names, "托育": ["需要", 2, 3]})
    with pytest.raises(lc.InputError, match=r"'托育' mixes answers in rows 0 .*'需要'.*ranks"):
        lc.load_survey(mixed, analysis.communities, analysis.profile)
    # percentages typed without % are not ranks 35, 100, 60 (read as 1/35 … before)
    percent = pd.DataFrame({"社区名称": names, "托育": [35, 100, 60]})
    with pytest.raises(lc.InputError, match=r"'托育' has numbers above 20 in rows 0, 1, 2 .*: 35, "
                       r"100, 60; ranks go from 1.*35%"):
        lc.load_survey(percent, analysis.communities, analysis.profile)


def test_units_read_and_unreadable_refused(analysis):
    """Satisfaction and sample size written with units are read (not blanked), so a community
    meeting the standard but rated "2分" is flagged; a cell with no number is refused, naming the
    row and the column."""
    df = pd.DataFrame({"社区名称": ["南湖社区", "北湖社区", "东湖村"],
                       "样本量": ["约120", "80份", "～６０ 人"], "满意度": ["4.5分", "2分", " ３.５ 分"]})  # fmt: skip
    s = lc.load_survey(df, analysis.communities, analysis.profile)
    assert s.frame["sample_size"].tolist() == [120.0, 80.0, 60.0]
    assert s.frame["satisfaction"].tolist() == [4.5, 2.0, 3.5]
    v = lc.residents_voice(analysis, s)
    flags = dict(zip(v.communities["community_name"], v.communities["flag"], strict=True))
    assert flags == {"南湖社区": "short_but_satisfied", "北湖社区": "covered_but_unsatisfied",
                     "东湖村": ""}  # fmt: skip
    bad = df.assign(满意度=["4.5分", "很好", "3"])
    with pytest.raises(
        lc.InputError, match=r"satisfaction '满意度' is not a number in rows 1 .*'很好'"
    ):
        lc.load_survey(bad, analysis.communities, analysis.profile)
    bad = df.assign(样本量=["约120", "80", "不详"])
    with pytest.raises(
        lc.InputError, match=r"sample size '样本量' is not a number in rows 2 .*'不详'"
    ):
        lc.load_survey(bad, analysis.communities, analysis.profile)


def test_sample_size_zero_and_negative(analysis, caplog):
    """With 0 respondents there is no satisfaction to compare: no flag, and a warning naming the
    row; a negative sample size is refused, naming the row."""
    df = pd.DataFrame(
        {"社区名称": ["南湖社区", "北湖社区"], "样本量": [80, 0], "满意度": [4.5, 2.0]}
    )
    with caplog.at_level("WARNING", logger="lifecircle.communities"):
        s = lc.load_survey(df, analysis.communities, analysis.profile)
    (said,) = [r.getMessage() for r in caplog.records if "sample size of 0" in r.getMessage()]
    assert "rows 1 " in said
    v = lc.residents_voice(analysis, s)
    flags = dict(zip(v.communities["community_name"], v.communities["flag"], strict=True))
    assert flags == {"南湖社区": "short_but_satisfied", "北湖社区": "", "东湖村": ""}
    with pytest.raises(lc.InputError, match=r"sample size is negative in rows 1 "):
        lc.load_survey(df.assign(样本量=[80, -5]), analysis.communities, analysis.profile)


def test_a_name_without_its_shequ_ending(analysis):
    """"南湖" and "南湖居委会" are 南湖社区 (the only community of that stem); "东湖" is not the
    village 东湖村 (a 村 keeps its ending)."""
    names = ["南湖", "北湖居委会", "东湖"]
    s = lc.load_survey(pd.DataFrame({"社区名称": names, "满意度": [4, 3, 5]}),
                       analysis.communities, analysis.profile)  # fmt: skip
    ids = dict(zip(analysis.communities["community_name"], analysis.communities["community_id"],
                   strict=True))  # fmt: skip
    assert s.frame["community_id"].tolist() == [ids["南湖社区"], ids["北湖社区"]]
    assert s.unmatched["name"].tolist() == ["东湖"]
