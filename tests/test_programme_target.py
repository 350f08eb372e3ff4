"""The programme's target share imposed as a constraint, on a hand-built street with a known
optimum.

One straight street, x from 0 to 2000 m (nodes every 500 m), all in 东街道. Four point
communities: s1 at x=100 (100 residents), s2 at 500 (100), c at 1000 (100) and B at 1500
(1,000). A health station (300 m) at x=2000 covers none of them (B is 500 m away). Candidates:
P at 300 (cost 5) reaches s1 and s2 (200 m each); Q at 1500 (cost 3) reaches B; R at 0 (cost 1)
reaches s1; S at 600 (cost 1) reaches s2. Nothing reaches c (400 m from S, 500 m from Q).

None of the four meets the standard. Target 50% = 2 communities:
* one project a year, checked only: the residents-maximising choice is Q (1,000): 1 of 4 (25%),
  the target is missed; imposed: P, the only single project bringing two communities up: 50%;
* a budget of 6 a year: the cheapest pair is R + S (2), and the rest of the budget goes to Q
  (3; R + S + Q = 5 ≤ 6): 3 of 4 (75%);
* 100% can never be reached (nothing reaches c); 75% by 2026 with one project cannot either
  (one project brings up at most two communities).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, build
from conftest import FIXTURES
from lifecircle.analysis.optimize import InfeasibleError
from lifecircle.analysis.programme import ProgrammeParams, plan_programme, share_meeting

pytestmark = pytest.mark.usefixtures("quiet")

HOMES = {"s1": (100, 100), "s2": (500, 100), "c": (1000, 100), "B": (1500, 1000)}
PLACES = {"P": (300, 5.0), "Q": (1500, 3.0), "R": (0, 1.0), "S": (600, 1.0)}
YEARS = (2026, 2027)


@pytest.fixture(scope="module")
def case():
    net = build([(x, 0) for x in range(0, 2001, 500)], [(i, i + 1) for i in range(4)])
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": list(HOMES), "population": [p for _, p in HOMES.values()],
             "街道": ["东街道"] * len(HOMES)},
            geometry=[shapely.Point(X0 + x, Y0) for x, _ in HOMES.values()],
            crs=CRS,
        )
    )  # fmt: skip
    fac = gpd.GeoDataFrame(
        {"category": ["health_station"]}, geometry=[shapely.Point(X0 + 2000, Y0)], crs=CRS,
        index=pd.Index(["F1"], name="facility_id"),
    )  # fmt: skip
    a = lc.analyze(net, fac, comm, lc.load_profile(FIXTURES / "profile_analysis.toml"),
                   categories=["health_station"], complete_categories=True)  # fmt: skip
    places = gpd.GeoDataFrame(
        {"名称": list(PLACES), "投资": [c for _, c in PLACES.values()]},
        geometry=[shapely.Point(X0 + x, Y0) for x, _ in PLACES.values()],
        crs=CRS,
    )
    return a, places


def _sites(prog, year):
    t = prog.table
    return sorted(t.loc[t["year"] == year, "site_name"])


def test_checked_only_misses_the_target_that_the_constraint_reaches(case):
    a, places = case
    assert share_meeting(a) == 0.0
    checked = plan_programme(a, ProgrammeParams(YEARS, projects_per_year=1, target_share=0.5,
                                                target_year=2026, target_rule="check"), places)  # fmt: skip
    assert _sites(checked, 2026) == ["Q"]
    assert checked.by_year["share_meeting_standard"].tolist() == [0.25, 0.75]  # P in 2027
    assert checked.target_met is False
    assert checked.issues["message"].str.contains("not reached: 25% after 2026").any()

    imposed = plan_programme(a, ProgrammeParams(YEARS, projects_per_year=1, target_share=0.5,
                                                target_year=2026), places)  # fmt: skip
    assert _sites(imposed, 2026) == ["P"] and _sites(imposed, 2027) == ["Q"]
    assert imposed.by_year["share_meeting_standard"].tolist() == [0.5, 0.75]
    assert imposed.target_met is True and imposed.issues.empty
    t = imposed.table.set_index("site_name")
    assert t.loc["P", "for_target"] and not t.loc["Q", "for_target"]
    # the share after the target year is the analysis' own: s1 and s2 meet, c and B do not
    ids = dict(zip(a.communities["community_name"], a.communities["community_id"], strict=True))
    assert share_meeting(a, pd.Series({(ids["s1"], "health_station"): 100.0})) == 0.25


def test_cheapest_projects_with_a_budget(case):
    a, places = case
    prog = plan_programme(a, ProgrammeParams((2026,), budget_per_year=6.0, target_share=0.5),
                          places)  # fmt: skip
    t = prog.table.set_index("site_name")
    assert sorted(t.index) == ["Q", "R", "S"]
    assert sorted(t.index[t["for_target"]]) == ["R", "S"]
    assert prog.by_year["cost"].tolist() == [5.0]
    assert prog.by_year["share_meeting_standard"].tolist() == [0.75]


def test_a_target_out_of_reach_names_the_shortfall(case):
    a, places = case
    params = ProgrammeParams(YEARS, projects_per_year=1, target_share=1.0)
    with pytest.raises(InfeasibleError) as err:
        plan_programme(a, params.__class__(**{**params.__dict__, "target_rule": "require"}), places)
    assert str(err.value) == (
        "target 100% of communities meeting the standard by 2027 (4 of 4; 0 meet now) cannot be "
        "reached: with every candidate at most 3 more can meet it, 1 short. What blocks the "
        "others: 社区卫生服务站 (no candidate within 300 m of enough of its uncovered residents): "
        "街道 东街道 1"
    )
    # reported: as many communities as the limits allow (P and Q, one a year), the shortfall named
    prog = plan_programme(a, params, places)
    assert sorted(_sites(prog, 2026) + _sites(prog, 2027)) == ["P", "Q"]
    assert prog.table["for_target"].all() and prog.by_year["share_meeting_standard"].iat[-1] == 0.75
    assert prog.target_met is False
    (msg,) = prog.issues.loc[prog.issues["rule"] == "target share", "message"]
    assert msg == str(err.value)
    # in Chinese too, as the bureau reads it in the 未满足规则 sheet of a Chinese workbook
    (msg_zh,) = prog.issues.loc[prog.issues["rule"] == "target share", "message_zh"]
    assert msg_zh == (
        "2027 年前达标社区比例 100% 的目标（4 个社区中 4 个；目前 0 个达标）无法实现：即使用上全部候选"
        "地点，最多再有 3 个社区达标，还差 1 个。其余社区受阻的原因：社区卫生服务站（300 米内没有能服务"
        "足够多未覆盖居民的候选地点）：街道 东街道 1 个社区"
    )


def test_the_rules_not_met_sheet_speaks_the_workbook_language(case, tmp_path):
    import openpyxl

    from lifecircle.outputs.programme import write_programme

    a, places = case
    prog = plan_programme(a, ProgrammeParams(YEARS, projects_per_year=1, target_share=1.0), places)
    rows = {}
    for lang in ("zh", "en"):
        wb = openpyxl.load_workbook(write_programme(prog, tmp_path / f"{lang}.xlsx", lang=lang))
        rows[lang] = list(wb[wb.sheetnames[-1]].values)
    assert rows["zh"][0] == ("计划年度", "规则", "位置", "说明")
    assert rows["zh"][1][1:3] == ("达标比例目标", "全市") and rows["zh"][1][3].startswith("2027 年前达标社区比例")
    assert rows["en"][1][1:3] == ("target share", "city") and rows["en"][1][3].startswith("target 100%")
    assert len(rows["en"][0]) == 4  # one message column, in the workbook's language


def test_a_target_the_yearly_limits_cannot_reach(case):
    a, places = case
    with pytest.raises(InfeasibleError) as err:
        plan_programme(a, ProgrammeParams(YEARS, projects_per_year=1, target_share=0.75,
                                          target_year=2026, target_rule="require"), places)  # fmt: skip
    assert str(err.value) == (
        "target 75% of communities meeting the standard by 2026 (3 of 4; 0 meet now) cannot be "
        "reached: the per-year limits (projects, budget, one project per street a year) and the "
        "candidates' earliest years allow at most 2 more by 2026, 1 short. Left out: "
        "社区卫生服务站 (not brought up within the years' limits): 街道 东街道 1"
    )


@pytest.mark.parametrize("p", [1, 2])
def test_the_most_communities_model_bounds_what_it_brings_up(p):
    """Two communities, each needing 10 residents that only its own candidate covers: with p
    sites the model brings p up, and its proved bound says p (not p - 1: the cost term of the
    objective is below one community's weight)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from lifecircle.analysis.optimize import Period, target_covering

    cover = csr_matrix(np.eye(2))  # candidate j covers demand row j
    sol = target_covering(
        cover, np.array([10.0, 10.0]), row_pair=np.array([0, 1]), pair_need=np.array([10.0, 10.0]),
        pair_unit=np.array([0, 1]), units_needed=None,
        periods=[Period(available=np.array([0, 1]), p=p, budget=None)], cost=np.ones(2),
    )  # fmt: skip
    assert sol.status == "optimal"
    assert len(sol.units) == p and sol.units_bound == p
    assert sum(len(c) for c in sol.chosen) == p
