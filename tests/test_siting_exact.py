"""Exact siting (HiGHS) on a hand-built street where the optimum is known and greedy is worse.

One straight street, x from 0 to 2000 m (nodes every 500 m). Six point communities of 100
residents on the street: d5 at x=60, d1 480, d2 570, d3 930, d4 1020, d6 1440. A health station
(300 m) sits at x=2000 and covers none of them. Three candidate places on the street: Y at x=300
covers d5, d1, d2 (distances 240, 180, 270 m); X at x=740 covers d1, d2, d3, d4 (260, 170, 190,
280 m); Z at x=1200 covers d3, d4, d6 (270, 180, 240 m). A fourth candidate, the parcel W
(x 1900–1960, y 20–60), may only host a nursery.

With two sites greedy takes X (400 residents) and then Y or Z (+100): 500. The optimum is Y + Z:
600, every resident. Greedy's gap: 100 / 600.

For the programme the first three communities are in 东街道, the last three in 西街道; Y and X
lie in 东街道 (nearest communities d1 and d2), Z and W in 西街道.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import csr_matrix

import lifecircle as lc
from _nets import CRS, X0, Y0, box, build
from conftest import FIXTURES
from lifecircle.analysis.candidates import siting_problem, user_candidates
from lifecircle.analysis.optimize import (
    InfeasibleError,
    Rule,
    greedy_covering,
    maximal_covering,
    optimal_sites,
    set_covering,
)
from lifecircle.analysis.programme import (
    ProgrammeParams,
    plan_programme,
    programme_projects,
    share_meeting,
)
from lifecircle.outputs.programme import programme_header

pytestmark = pytest.mark.usefixtures("quiet")

PROFILE = FIXTURES / "profile_analysis.toml"
HOMES = {"d5": 60, "d1": 480, "d2": 570, "d3": 930, "d4": 1020, "d6": 1440}
PLACES = {"Y": 300, "X": 740, "Z": 1200}


@pytest.fixture(scope="module")
def case():
    net = build([(x, 0) for x in range(0, 2001, 500)], [(i, i + 1) for i in range(4)])
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": list(HOMES), "population": [100] * len(HOMES),
             "街道": ["东街道"] * 3 + ["西街道"] * 3},
            geometry=[shapely.Point(X0 + x, Y0) for x in HOMES.values()],
            crs=CRS,
        )
    )  # fmt: skip
    fac = gpd.GeoDataFrame(
        {"category": ["health_station"]},
        geometry=[shapely.Point(X0 + 2000, Y0)],
        crs=CRS,
        index=pd.Index(["F1"], name="facility_id"),
    )
    a = lc.analyze(net, fac, comm, lc.load_profile(PROFILE), categories=["health_station"],
                   complete_categories=True)  # fmt: skip
    places = gpd.GeoDataFrame(
        {"名称": [*PLACES, "W"], "投资": [3.0, 1.0, 3.0, 1.0], "可设类别": ["", "", "", "nursery"]},
        geometry=[*(shapely.Point(X0 + x, Y0) for x in PLACES.values()), box(1900, 20, 1960, 60)],
        crs=CRS,
    )
    cands = user_candidates(net, places, max_snap_m=100, categories=list(a.profile.categories))
    cat = a.profile.categories["health_station"]
    prob = siting_problem(net, a.demand, a.access, cat, a.thresholds[cat.id], cands)
    return a, cands, prob, places


def _names(prob, chosen):
    return sorted(prob.candidates.frame["name"].iloc[chosen])


def test_cover_matrix_by_hand(case):
    a, cands, prob, _ = case
    # the parcel is placed on its street side and snapped; it may not host a health station
    w = cands.frame.set_index("name").geometry["W"]
    assert w.y - Y0 == pytest.approx(20.0)
    assert 1900 <= w.x - X0 <= 1960
    assert list(prob.candidates.frame["name"]) == ["Y", "X", "Z"]
    homes = a.demand["community_id"].map(a.communities.set_index("community_id")["community_name"])
    seen = {
        name: sorted(homes.iloc[prob.points[prob.cover[k].indices]])
        for k, name in enumerate(prob.candidates.frame["name"])
    }
    assert seen == {"Y": ["d1", "d2", "d5"], "X": ["d1", "d2", "d3", "d4"], "Z": ["d3", "d4", "d6"]}
    assert prob.weights.sum() == pytest.approx(600.0)


def test_exact_beats_greedy(case):
    _, _, prob, _ = case
    plan = optimal_sites(prob, "mclp", p=2)
    assert plan.solution.optimal and plan.solution.gap == pytest.approx(0.0)
    assert _names(prob, plan.solution.chosen) == ["Y", "Z"]
    assert plan.solution.covered == pytest.approx(600.0)
    assert plan.greedy.covered == pytest.approx(500.0)
    assert "X" in _names(prob, plan.greedy.chosen)
    assert plan.greedy_gap == pytest.approx(100 / 600)
    assert plan.sites["new_covered_pop"].sum() == pytest.approx(600.0)
    assert plan.sites.crs.to_epsg() == 4326 and set(plan.sites["kind"]) == {"user"}


def test_budget_set_covering_and_capacity(case):
    _, _, prob, _ = case
    # costs Y 3, X 1, Z 3: with 4 to spend Y + Z (6) is out of reach; X + Y covers 500
    plan = optimal_sites(prob, "mclp", budget=4.0)
    assert plan.solution.covered == pytest.approx(500.0)
    assert _names(prob, plan.solution.chosen) == ["X", "Y"]
    # every resident: two sites at least (no site covers d5 and d6 together)
    sc = optimal_sites(prob, "set_covering", target_share=1.0)
    assert len(sc.solution.chosen) == 2 and sc.solution.covered == pytest.approx(600.0)
    # 4 of 6 residents' groups: X alone
    sc = optimal_sites(prob, "set_covering", target_share=4 / 6)
    assert _names(prob, sc.solution.chosen) == ["X"]
    # capacity: with per_1000 = 1, a capacity of 0.15 serves 150 residents
    prob_cap = type(prob)(**{**prob.__dict__})
    prob_cap.candidates.frame["capacity"] = [0.15, 1.0, 0.15]
    cap = optimal_sites(prob_cap, "capacitated", p=2, per_1000=1.0)
    # Y + Z would serve 300; X (400) with Y or Z (100 more) serves 500
    assert cap.solution.covered == pytest.approx(500.0)
    assert "X" in _names(prob, cap.solution.chosen)
    assert cap.sites["new_covered_pop"].sum() == pytest.approx(500.0)
    prob_cap.candidates.frame["capacity"] = np.nan


def test_rules_and_infeasible_requests(case):
    _, _, prob, _ = case
    x = int(np.flatnonzero(prob.candidates.frame["name"] == "X")[0])
    sol = maximal_covering(prob.cover, prob.weights, 2, rules=(Rule(np.array([x]), 1, "X"),))
    assert x in sol.chosen and sol.covered == pytest.approx(500.0)
    rules = (Rule(np.array([0]), 1, "街道 东街道"), Rule(np.array([2]), 1, "街道 西街道"))
    with pytest.raises(InfeasibleError, match="need at least 2 sites.*街道 东街道.*p = 1"):
        maximal_covering(prob.cover, prob.weights, 1, rules=rules)
    with pytest.raises(InfeasibleError, match="街道 新塍镇: only 0 candidate"):
        maximal_covering(prob.cover, prob.weights, 3, rules=(Rule(np.array([], int), 1, "街道 新塍镇"),))
    # duplicates and candidates covering nothing are left out before solving, not from the answer
    dup = csr_matrix(np.vstack([prob.cover.toarray(), prob.cover.toarray(), np.zeros((1, 6))]))
    sol = maximal_covering(dup, prob.weights, 2, cost=np.r_[5, 5, 5, 1, 1, 1, 0.0], budget=2)
    assert list(sol.chosen) == [3, 5] and sol.covered == pytest.approx(600.0)
    # greedy serves a rule naming X first (400), then the best of the rest (Y: +100)
    g = greedy_covering(dup, prob.weights, 2, rules=(Rule(np.array([1]), 1, "X"),))
    assert list(g.chosen) == [0, 1] and g.covered == pytest.approx(500.0)
    with pytest.raises(InfeasibleError, match="short of the target"):
        set_covering(prob.cover[:1], prob.weights, 0.9)


def _random_case(seed: int, n_cli: int = 40, n_fac: int = 15):
    rng = np.random.default_rng(seed)
    cli, fac = rng.uniform(0, 1000, (n_cli, 2)), rng.uniform(0, 1000, (n_fac, 2))
    d = np.hypot(*(cli[:, None, :] - fac[None, :, :]).transpose(2, 0, 1))
    return d, rng.integers(1, 100, n_cli).astype(float)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("seed,p", [(1, 2), (2, 3), (3, 4), (4, 5)])
def test_exact_mclp_equals_spopt(seed, p):
    """The exact objective equals PySAL spopt's MCLP (its own PuLP model, solved with CBC)."""
    spopt = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    d, w = _random_case(seed)
    radius = 250.0
    ref = spopt.MCLP.from_cost_matrix(d, w, radius, p_facilities=p)
    ref.solve(pulp.PULP_CBC_CMD(msg=False))
    ref_obj = float(pulp.value(ref.problem.objective))
    cover = csr_matrix((d <= radius).T.astype(float))
    ours = maximal_covering(cover, w, p)
    assert ours.optimal
    assert ours.covered == pytest.approx(ref_obj)
    assert greedy_covering(cover, w, p).covered <= ours.covered + 1e-9


def test_programme_by_year_with_the_street_rule(case):
    a, cands, _, _ = case
    assert share_meeting(a) == pytest.approx(a.summary["share_meeting_standard"]) == 0.0
    # one project a year cannot give both streets one
    with pytest.raises(InfeasibleError, match=r"programme 2026: .*at least 2 sites.*p = 1"):
        plan_programme(a, ProgrammeParams((2026, 2027), projects_per_year=1), cands)
    prog = plan_programme(a, ProgrammeParams((2026, 2027), projects_per_year=2,
                                             target_share=1.0, target_year=2026), cands)  # fmt: skip
    t = prog.table
    assert sorted(t["site_name"]) == ["Y", "Z"] and set(t["year"]) == {2026}
    assert dict(zip(t["site_name"], t["street_name"], strict=True)) == {"Y": "东街道", "Z": "西街道"}
    assert t["new_covered_pop"].sum() == pytest.approx(600.0)
    y = prog.by_year.set_index("year")
    assert y.loc[2026, "share_meeting_standard"] == 1.0 and prog.target_met
    # greedy serves 东街道 first with its best (X, 400), then 西街道 (Z, +100): 500 of 600
    assert y.loc[2026, "greedy_objective"] / y.loc[2026, "objective"] == pytest.approx(5 / 6)
    # and it left one rule unmet: the target's project Y (its two sites went to X and Z)
    assert y.loc[2026, "greedy_rules_unmet"] == 1
    # 2027: nobody is left uncovered; each street's rule is reported, not dropped silently
    assert y.loc[2027, "projects"] == 0
    issues = prog.issues[prog.issues["year"] == 2027]
    assert sorted(issues["where"]) == ["东街道", "西街道"]
    assert issues["message"].str.contains("no uncovered residents left in 2027").all()


def test_programme_waits_for_a_candidate_and_reports_the_street(case):
    a, _, _, places = case
    later = places.assign(最早年份=[None, None, 2027, None])  # Z from 2027
    prog = plan_programme(a, ProgrammeParams((2026, 2027), projects_per_year={2026: 1, 2027: 2}),
                          later)  # fmt: skip
    t = prog.table
    # 2026: X (400 residents; the only 西街道 candidate waits); 2027: Y and Z, one per street
    assert t.loc[t["year"] == 2026, "site_name"].tolist() == ["X"]
    assert sorted(t.loc[t["year"] == 2027, "site_name"]) == ["Y", "Z"]
    assert prog.by_year["new_covered_pop"].tolist() == [400.0, 200.0]
    msg = prog.issues.set_index("year").loc[2026, "message"]
    assert msg == (
        "街道 西街道 has no candidate for 社区卫生服务站 within 300 m of its uncovered residents "
        "available in 2026"
    )
    with pytest.raises(InfeasibleError, match="every street ≥ 1 project a year: 街道 西街道"):
        plan_programme(a, ProgrammeParams((2026,), projects_per_year=1, every_street="require"),
                       later)  # fmt: skip
    # a budget without costs for generated candidates is refused, naming them
    with pytest.raises(lc.InputError, match="candidates .*G1.* have none"):
        plan_programme(a, ProgrammeParams((2026,), budget_per_year=5.0, every_street="off"))


def test_programme_flows_into_the_pool_with_the_planned_year(case, tmp_path):
    import sqlite3

    a, cands, _, _ = case
    prog = plan_programme(a, ProgrammeParams((2026, 2027), projects_per_year=2), cands)
    frame = programme_projects(prog, a)
    path = tmp_path / "pool.gpkg"
    lc.export_pool(frame, path, run_id="r1")
    pool = lc.read_pool(path).set_index("category_zh")
    assert list(pool["year"]) == [2026, 2026]
    pid = lc.read_pool(path)["project_id"][0]
    with sqlite3.connect(path) as con:  # a planner moves one project to 2028
        con.execute("UPDATE lifecircle_pool SET year = 2028 WHERE project_id = ?", (pid,))
    lc.export_pool(frame, path, run_id="r2")
    pool = lc.read_pool(path).set_index("project_id")
    assert pool.loc[pid, "year"] == 2028
    assert sorted(pool["year"]) == [2026, 2028]


def test_capacitated_demand_is_the_2sfca_shortfall():
    """Two nurseries on a street, A (2 places) at x=100 and B (3 places) at x=400; communities
    C1 at x=150 and C2 at x=350 (1,000 residents each). By hand (see test_analysis): 2.20867 and
    2.79133 places per 1,000 against the rule of 4.5, so C1 lacks 1 − 2.20867/4.5 of its share
    (509.18 residents' worth) and C2 1 − 2.79133/4.5 (379.70). A candidate of 3 places at x=250
    serves 3 × 1000 / 4.5 = 666.67 of them; one of 10 places serves all 888.88."""
    from _nets import river_with_bridge
    from lifecircle.analysis.candidates import capacity_short_share

    net = river_with_bridge()
    comm = lc.load_communities(gpd.GeoDataFrame(
        {"name": ["C1", "C2"], "population": [1000, 1000]},
        geometry=[shapely.Point(X0 + 150, Y0), shapely.Point(X0 + 350, Y0)], crs=CRS,
    ))  # fmt: skip
    fac = gpd.GeoDataFrame(
        {"category": ["nursery", "nursery"], "capacity": [2.0, 3.0]},
        geometry=[shapely.Point(X0 + 100, Y0), shapely.Point(X0 + 400, Y0)], crs=CRS,
        index=pd.Index(["A", "B"], name="facility_id"),
    )  # fmt: skip
    a = lc.analyze(net, fac, comm, lc.load_profile(PROFILE), categories=["nursery"])
    short = capacity_short_share(a.coverage, "nursery")
    ids = a.coverage.set_index("community_name")["community_id"]
    assert short[ids["C1"]] == pytest.approx(1 - 2.20867 / 4.5, abs=1e-5)
    assert short[ids["C2"]] == pytest.approx(1 - 2.79133 / 4.5, abs=1e-5)
    places = gpd.GeoDataFrame({"capacity": [3.0, 10.0]},
                              geometry=[shapely.Point(X0 + 250, Y0)] * 2, crs=CRS)  # fmt: skip
    cands = user_candidates(net, places, max_snap_m=50)
    cat = a.profile.categories["nursery"]
    prob = siting_problem(net, a.demand, a.access, cat, a.thresholds["nursery"], cands,
                          short_share=short)  # fmt: skip
    assert prob.weights.sum() == pytest.approx(1000 * (2 - (2.20867 + 2.79133) / 4.5), abs=0.01)
    small = optimal_sites(prob, "capacitated", p=1, per_1000=4.5, budget=None)
    assert small.solution.covered == pytest.approx(prob.weights.sum())  # 10 places: all of it
    assert small.sites["capacity"].tolist() == [10.0]
    prob.candidates.frame.loc[1, "capacity"] = 1.0  # now 3 places is the larger
    one = optimal_sites(prob, "capacitated", p=1, per_1000=4.5)
    assert one.solution.covered == pytest.approx(3 * 1000 / 4.5)
    assert one.sites["new_covered_pop"].tolist() == pytest.approx([3 * 1000 / 4.5])


def test_programme_with_generated_street_candidates(case):
    """Without candidates, street points next to the uncovered residents are generated (one per
    25 m cell): here on the street at each community. Within 300 m: the points at 60 and 1440
    reach only themselves, those at 480 and 570 reach d1 and d2, those at 930 and 1020 reach d3
    and d4; the best two (one per street) cover 400 residents."""
    a, _, _, _ = case
    prog = plan_programme(a, ProgrammeParams((2026,), projects_per_year=2))
    t = prog.table
    assert (t["candidate_kind"] == "street").all() and len(t) == 2
    assert sorted(t["street_name"]) == ["东街道", "西街道"]
    assert t["new_covered_pop"].sum() == pytest.approx(400.0)
    xs = sorted(round(p.x - X0) for p in t.to_crs(CRS).geometry)
    assert xs[0] in (480, 570) and xs[1] in (930, 1020)
    assert prog.by_year["status"].tolist() == ["optimal"]


def test_time_limit_reports_the_gap_or_says_no_plan_was_found():
    """A random instance HiGHS cannot close in seconds (400 candidates × 600 points, 5% dense):
    stopped by the time limit, the plan comes with its bound and gap; with no time at all there
    is no plan, and the error says so (not "infeasible")."""
    rng = np.random.default_rng(0)
    cover = csr_matrix((rng.random((400, 600)) < 0.05).astype(float))
    w = rng.integers(1, 100, 600).astype(float)
    with pytest.raises(lc.InputError, match="no plan within time_limit_s=1e-09") as err:
        maximal_covering(cover, w, 15, time_limit_s=1e-9)
    assert not isinstance(err.value, InfeasibleError)
    sol = maximal_covering(cover, w, 15, time_limit_s=3.0)
    assert sol.status == "time limit reached" and not sol.optimal
    assert 0 < len(sol.chosen) <= 15
    assert sol.covered < sol.bound and sol.gap == pytest.approx((sol.bound - sol.covered) / sol.covered, rel=0.05)


def test_programme_workbook(case, tmp_path):
    from openpyxl import load_workbook

    a, cands, _, _ = case
    prog = plan_programme(a, ProgrammeParams((2026, 2027), projects_per_year=2), cands)
    path = prog.to_excel(str(tmp_path / "programme.xlsx"), profile=a.profile)
    wb = load_workbook(path)
    assert wb.sheetnames == ["建设时序", "年度汇总", "未满足规则"]
    rows = list(wb["建设时序"].values)
    head = rows[0]
    assert {"计划年度", "街道(乡镇)", "选址名称", "投资", "经度", "纬度"} <= set(head)
    body = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    assert sorted(r["选址名称"] for r in body) == ["Y", "Z"]
    assert sum(r[programme_header("new_covered_pop")] for r in body) == 600
    years = [dict(zip(list(wb["年度汇总"].values)[0], r, strict=True))
             for r in list(wb["年度汇总"].values)[1:]]  # fmt: skip
    assert [y["计划年度"] for y in years] == [2026, 2027]
    assert [y["项目数"] for y in years] == [2, 0]
    en = load_workbook(prog.to_excel(str(tmp_path / "en.xlsx"), lang="en"))
    assert en.sheetnames == ["Programme", "By year", "Rules not met"]
    assert "Year" in next(en["Programme"].values)


def test_no_solver_banner_on_standard_output():
    """HiGHS prints "Running HiGHS … Copyright …" to file descriptor 1 when a process makes its
    first solver, before options can be set; it reached notebook cells and the CLI's output.
    Checked in a fresh process (the first solver), on the descriptor itself."""
    import subprocess
    import sys

    code = (
        "import numpy as np; from scipy.sparse import csr_matrix;"
        "from lifecircle.analysis.optimize import maximal_covering;"
        "cover = csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]));"
        "s = maximal_covering(cover, np.array([1.0, 2.0, 3.0]), p=1);"
        "print('chosen', s.chosen.tolist())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "chosen [1]"
    assert "HiGHS" not in out.stderr


def test_greedy_that_leaves_a_rule_unmet_says_so():
    """Two rules (streets A: candidates 0 or 1; B: 1 or 2), one site. The optimum must meet
    both: candidate 1 (2 residents). Greedy serves A with its best member, 0 (5 residents), and
    has no site left for B: it covers more than the optimum by breaking a rule. 年度汇总 showed
    "optimal" beside a larger greedy objective with nothing to say why."""
    cover = csr_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]))
    w = np.array([5.0, 2.0, 1.0])
    rules = (Rule(np.array([0, 1]), 1, "A"), Rule(np.array([1, 2]), 1, "B"))
    best = maximal_covering(cover, w, 1, rules=rules)
    greedy = greedy_covering(cover, w, 1, rules=rules)
    assert best.chosen.tolist() == [1] and best.covered == 2.0 and best.rules_unmet == 0
    assert greedy.chosen.tolist() == [0] and greedy.covered == 5.0 and greedy.rules_unmet == 1
    assert programme_header("greedy_rules_unmet") == "贪心未满足规则数"
