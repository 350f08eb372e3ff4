"""The gap-filling programme: which projects to build in which year (统筹安排建设时序，逐年落实).

Year by year (a rolling plan: each year's projects chosen exactly, given the years before), one
maximal-covering model over every category at once (HiGHS, see
:mod:`~lifecircle.analysis.optimize`): the candidate × category pairs available that year (a
candidate's ``earliest_year`` reached, that category not yet built there), at most that year's
number of projects and/or budget, and — the campaign's rule — at least one project in every
street (镇/街道) each year. The objective is the target residents newly brought within walking
reach, weighted like the shortfall priority (category weight, optional categories halved).

Where a street cannot have a project (no candidate within reach of its uncovered residents, or
no uncovered residents left), the rule is reported in :attr:`Programme.issues`, or raised with
``every_street="require"``; it is never dropped silently. After each year the share of
communities meeting the standard is recomputed as the analysis computes it (distance met by the
new coverage; capacity as it was: the programme adds reach, it is not a capacity plan).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import block_diag, csr_matrix

from .._errors import InfeasibleError, InputError
from .._progress import progress
from ..standards import Category, Profile
from .candidates import Candidates, SitingProblem, siting_problem, user_candidates
from .capacity import standard_verdict
from .coverage import HIERARCHY, distance_verdict
from .datastatus import NO_DATA
from .index import meets_all_required
from .index import share_meeting as index_share
from .optimize import (
    MIP_GAP,
    TIME_LIMIT_S,
    Rule,
    greedy_covering,
    maximal_covering,
    newly_covered,
)
from .shortfalls import OPTIONAL_FACTOR

if TYPE_CHECKING:
    from .result import Analysis

log = logging.getLogger(__name__)

#: Columns of :attr:`Programme.table` (besides geometry).
PROGRAMME_COLUMNS = [
    "year", "county_code", "county_name", "street_code", "street_name", "community_id",
    "community_code", "community_name", "category", "category_zh", "level", "candidate_id", "candidate_kind",
    "site_name", "new_covered_pop", "capacity", "cost",
]  # fmt: skip
#: Columns of :attr:`Programme.by_year`.
YEAR_COLUMNS = [
    "year", "projects", "cost", "new_covered_pop", "share_meeting_standard", "status", "gap",
    "solve_s", "objective", "greedy_objective",
]  # fmt: skip
#: Columns of :attr:`Programme.issues`.
ISSUE_COLUMNS = ["year", "rule", "where", "message"]


@dataclass(frozen=True)
class ProgrammeParams:
    """What a programme is asked to do.

    Attributes
    ----------
    years : the years planned, e.g. ``(2026, 2027, 2028, 2029, 2030)``.
    projects_per_year : projects a year (one number, or ``{year: n}``); ``None``: no limit.
    budget_per_year : money a year (the candidates' cost unit; one number or ``{year: x}``).
    every_street : ``"report"`` (default: every street gets a project each year where it can,
        the others are listed in :attr:`Programme.issues`), ``"require"`` (a street that cannot
        is an :class:`~lifecircle.analysis.optimize.InfeasibleError`) or ``"off"``.
    target_share, target_year : the share of communities meeting the standard to reach by that
        year (checked and reported, see :attr:`Programme.target_met`).
    default_cost : cost of a candidate without one, where a budget is set (``None``: an error).
    time_limit_s, mip_gap : for each year's solve.
    candidate_cell_m : spacing of generated street candidates (no candidates given).
    """

    years: tuple[int, ...]
    projects_per_year: int | dict[int, int] | None = None
    budget_per_year: float | dict[int, float] | None = None
    every_street: Literal["report", "require", "off"] = "report"
    target_share: float | None = None
    target_year: int | None = None
    default_cost: float | None = None
    time_limit_s: float = TIME_LIMIT_S
    mip_gap: float = MIP_GAP
    candidate_cell_m: float = 25.0

    def per_year(self, year: int) -> tuple[int | None, float | None]:
        """(projects, budget) of ``year``."""
        def pick(v: object) -> object:
            return v.get(year) if isinstance(v, dict) else v

        p, b = pick(self.projects_per_year), pick(self.budget_per_year)
        return (None if p is None else int(p)), (None if b is None else float(b))  # type: ignore[arg-type]

    def check(self) -> None:
        """Refuse requests that cannot be planned, naming the value."""
        if not self.years:
            raise InputError("programme: give the years to plan, e.g. years=(2026, 2030)")
        if self.every_street not in ("report", "require", "off"):
            raise InputError(f"every_street must be 'report', 'require' or 'off', got {self.every_street!r}")
        for y in self.years:
            p, b = self.per_year(y)
            if p is None and b is None:
                raise InputError(f"programme {y}: give projects_per_year or budget_per_year for it")
        if self.target_share is not None and not 0 < self.target_share <= 1:
            raise InputError(f"target_share must be in (0, 1], got {self.target_share}")
        if self.target_year is not None and self.target_year not in self.years:
            raise InputError(f"target_year {self.target_year} is not one of the years {self.years}")


@dataclass(frozen=True, eq=False)
class Programme:
    """A year-by-year programme of projects.

    Attributes
    ----------
    table : GeoDataFrame (WGS84), one row per project (year × county × street × project): see
        :data:`PROGRAMME_COLUMNS`; ``candidate_kind`` is ``"user"`` or ``"street"`` (generated).
    by_year : one row per year: projects, cost, residents newly covered, the share of
        communities meeting the standard after the year, the solver's status, gap and seconds,
        the objective (residents newly covered, weighted like the shortfall priority) and
        greedy's objective with the same projects, budget and street rule (greedy serves each
        street first with its best project, then fills up).
    issues : rules that could not be met, with the year, the rule, where, and why.
    baseline_share : the share meeting the standard before the programme.
    target_met : whether ``target_share`` is reached by ``target_year`` (``None`` if not asked).
    """

    table: gpd.GeoDataFrame
    by_year: pd.DataFrame
    issues: pd.DataFrame
    baseline_share: float
    target_met: bool | None

    def to_excel(self, path: str, lang: str = "zh", profile: Profile | None = None) -> Path:
        """Write the programme workbook (建设时序, 年度汇总, 未满足规则); see
        :func:`lifecircle.outputs.programme.write_programme`."""
        from ..outputs.programme import write_programme

        return write_programme(self, path, lang=lang, profile=profile)


@dataclass
class _Blocks:
    """Every category's problem side by side: columns are candidate × category pairs."""

    cats: list[Category]
    probs: list[SitingProblem]
    cover: csr_matrix
    residents: np.ndarray
    weight: np.ndarray
    col_block: np.ndarray
    col_pos: np.ndarray
    col_street: np.ndarray
    col_year: np.ndarray
    col_cost: np.ndarray
    row_block: np.ndarray
    row_point: np.ndarray
    place: pd.DataFrame
    frame: gpd.GeoDataFrame


def street_key(frame: pd.DataFrame) -> np.ndarray:
    """One key per row for its street (code and name; empty where missing)."""
    def text(v: object) -> str:
        return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    code, name = frame["street_code"].map(text), frame["street_name"].map(text)
    return (code + "|" + name).to_numpy(dtype=object)


def _place(frame: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> pd.DataFrame:
    """The community (and its street, county) each candidate lies in, or is nearest to."""
    comm = communities[[*HIERARCHY, "geometry"]].to_crs(frame.crs)
    pts = gpd.GeoDataFrame(geometry=frame.geometry.values, crs=frame.crs)
    j = gpd.sjoin_nearest(pts, comm, how="left")
    j = j[~j.index.duplicated(keep="first")]
    return j[HIERARCHY].reset_index(drop=True)


def _blocks(analysis: Analysis, cats: list[Category], cands: Candidates | None,
            params: ProgrammeParams) -> _Blocks:  # fmt: skip
    """Build each category's siting problem and put them side by side."""
    status = analysis.point_status
    probs = []
    for c in progress(cats, desc="programme problems"):
        col = analysis.access.column(c.id)
        probs.append(siting_problem(
            analysis.network, analysis.demand, analysis.access, c, analysis.thresholds[c.id],
            cands, assessed=status[:, col] != NO_DATA, cell_m=params.candidate_cell_m,
        ))  # fmt: skip
    places = [_place(p.candidates.frame, analysis.communities) for p in probs]
    weight = {c.id: float(c.weight) * (1.0 if c.required else OPTIONAL_FACTOR) for c in cats}
    ncol = [len(p.candidates) for p in probs]
    nrow = [len(p.points) for p in probs]
    place = pd.concat(places, ignore_index=True)
    frames = pd.concat([p.candidates.frame for p in probs], ignore_index=True)
    cost = frames["cost"].to_numpy(dtype=float)
    if params.default_cost is not None:
        cost = np.where(np.isnan(cost), params.default_cost, cost)
    return _Blocks(
        cats, probs,
        csr_matrix(block_diag([p.cover for p in probs], format="csr"))
        if probs else csr_matrix((0, 0)),
        np.concatenate([p.weights for p in probs]) if probs else np.zeros(0),
        np.concatenate([p.weights * weight[p.category] for p in probs]) if probs else np.zeros(0),
        np.repeat(np.arange(len(probs)), ncol),
        np.concatenate([np.arange(n) for n in ncol]) if probs else np.zeros(0, int),
        street_key(place),
        frames["earliest_year"].to_numpy(dtype=float),
        cost,
        np.repeat(np.arange(len(probs)), nrow),
        np.concatenate([p.points for p in probs]) if probs else np.zeros(0, int),
        place,
        frames,
    )  # fmt: skip


def share_meeting(analysis: Analysis, added: pd.Series | None = None) -> float:
    """Share of communities meeting the standard (over the analysis' ``share_of``
    communities), with ``added`` target residents newly within reach (index: community id,
    category) — by the analysis' own rule (:func:`~lifecircle.analysis.index.meets_all_required`):
    the distance standard with the new coverage, capacity as it was."""
    cov = analysis.coverage
    covered = cov["covered_pop"].to_numpy(dtype=float)
    if added is not None and len(added):
        keys = pd.MultiIndex.from_arrays([cov["community_id"], cov["category"]])
        covered = covered + added.reindex(keys).fillna(0.0).to_numpy()
    gp = cov["group_pop"].to_numpy(dtype=float)
    _, meets_d = distance_verdict(covered, gp, analysis.params.min_covered_share)
    verdict = meets_all_required(cov, standard_verdict(meets_d, cov["meets_capacity"]))
    idx = analysis.index
    now = idx["community_id"].map(verdict).astype(object)
    now[idx["meets_all_required"].isna().to_numpy()] = None  # no residents, nothing assessed
    return index_share(idx.assign(meets_all_required=now), analysis.share_of)


def _street_rules(b: _Blocks, cols: np.ndarray, streets: pd.Series, row_street: np.ndarray,
                  remaining: np.ndarray, year: int,
                  params: ProgrammeParams) -> tuple[tuple[Rule, ...], list[dict]]:  # fmt: skip
    """One rule per street (≥ 1 of its available, useful columns), and the streets that cannot."""
    if params.every_street == "off":
        return (), []
    rules, issues = [], []
    col_street = b.col_street[cols]
    for key, name in streets.items():
        members = np.flatnonzero(col_street == key)
        if len(members):
            rules.append(Rule(members, 1, f"街道 {name}: ≥ 1 project in {year}"))
            continue
        msg = _why_no_project(b, key, name, row_street, remaining, year)
        if params.every_street == "require":
            raise InfeasibleError(f"every street ≥ 1 project a year: {msg}")
        issues.append({"year": year, "rule": "every street ≥ 1 project a year", "where": name,
                       "message": msg})  # fmt: skip
    return tuple(rules), issues


def _why_no_project(b: _Blocks, key: str, name: str, row_street: np.ndarray,
                    remaining: np.ndarray, year: int) -> str:  # fmt: skip
    here = (row_street == key) & (remaining > 0)
    if not here.any():
        return f"街道 {name} has no uncovered residents left in {year}: no project to place"
    lacking = [
        f"{b.cats[k].name_zh} within {b.probs[k].threshold_m:,.0f} m"
        for k in np.unique(b.row_block[here])
    ]
    return (f"街道 {name} has no candidate for {', '.join(lacking)} of its uncovered "
            f"residents available in {year}")  # fmt: skip


@dataclass
class _State:
    """What the years so far have done: columns built, rows covered, residents added."""

    used: np.ndarray
    left: np.ndarray
    added: list[pd.DataFrame]
    rows: list[dict]
    years: list[dict]
    issues: list[dict]


def _costs(b: _Blocks, cols: np.ndarray, budget: float | None) -> np.ndarray | None:
    if budget is None:
        return None
    cost = b.col_cost[cols]
    if np.isnan(cost).any():
        ids = list(dict.fromkeys(b.frame["candidate_id"].to_numpy()[cols[np.isnan(cost)]]))[:5]
        raise InputError(
            f"a budget needs every candidate's cost; candidates {ids} have none (add a cost "
            "column, or give ProgrammeParams(default_cost=...))"
        )
    return cost


def _solve_year(analysis: Analysis, b: _Blocks, st: _State, year: int, streets: pd.Series,
                row_street: np.ndarray, params: ProgrammeParams) -> None:  # fmt: skip
    """Choose ``year``'s projects and record them in ``st``."""
    p, budget = params.per_year(year)
    w_left = b.weight * st.left
    gain = b.cover @ w_left
    cols = np.flatnonzero(~st.used & ~(b.col_year > year) & (gain > 0))
    sub = b.cover[cols]
    rules, issues = _street_rules(b, cols, streets, row_street, b.residents * st.left, year, params)
    st.issues.extend(issues)
    cost = _costs(b, cols, budget)
    if len(cols) == 0:
        st.years.append({"year": year, "projects": 0, "cost": 0.0, "new_covered_pop": 0.0,
                         "share_meeting_standard": share_meeting(analysis, _added(st)),
                         "status": "nothing to place", "gap": 0.0, "solve_s": 0.0,
                         "objective": 0.0, "greedy_objective": 0.0})  # fmt: skip
        return
    try:
        sol = maximal_covering(sub, w_left, p, cost=cost, budget=budget, rules=rules,
                               time_limit_s=params.time_limit_s, mip_gap=params.mip_gap)  # fmt: skip
    except InfeasibleError as exc:
        raise InfeasibleError(f"programme {year}: {exc}") from None
    greedy = greedy_covering(sub, w_left, p, cost=cost, budget=budget, rules=rules)
    order = sol.chosen[np.argsort(-(sub[sol.chosen] @ w_left), kind="stable")]
    new = newly_covered(sub, b.residents * st.left, order)
    demand_comm = analysis.demand["community_id"].to_numpy()
    for j, n_new in zip(order, new, strict=True):
        rows = sub.indices[sub.indptr[j] : sub.indptr[j + 1]]
        rows = rows[st.left[rows]]
        st.left[rows] = False
        k = b.col_block[cols[j]]
        st.added.append(pd.DataFrame({"community_id": demand_comm[b.row_point[rows]],
                                      "category": b.cats[k].id, "pop": b.residents[rows]}))  # fmt: skip
        st.rows.append(_project_row(b, cols[j], year, n_new))
    st.used[cols[sol.chosen]] = True
    spent = float(np.nansum(b.col_cost[cols[sol.chosen]])) if len(sol.chosen) else 0.0
    st.years.append({
        "year": year, "projects": len(sol.chosen), "cost": spent, "new_covered_pop": float(new.sum()),
        "share_meeting_standard": share_meeting(analysis, _added(st)), "status": sol.status,
        "gap": sol.gap, "solve_s": sol.solve_s, "objective": sol.covered,
        "greedy_objective": greedy.covered,
    })  # fmt: skip


def _added(st: _State) -> pd.Series:
    if not st.added:
        return pd.Series(dtype=float)
    df = pd.concat(st.added, ignore_index=True)
    return df.groupby(["community_id", "category"])["pop"].sum()


def _project_row(b: _Blocks, col: int, year: int, new_pop: float) -> dict:
    cat = b.cats[b.col_block[col]]
    f = b.frame.iloc[col]
    return {
        "year": year, **b.place.iloc[col].to_dict(), "category": cat.id,
        "category_zh": cat.name_zh, "level": cat.level, "candidate_id": f["candidate_id"],
        "candidate_kind": f["kind"], "site_name": f["name"], "new_covered_pop": new_pop,
        "capacity": f["capacity"], "cost": b.col_cost[col], "geometry": f.geometry,
    }  # fmt: skip


def plan_programme(
    analysis: Analysis,
    params: ProgrammeParams,
    candidates: gpd.GeoDataFrame | Candidates | None = None,
    categories: list[str] | None = None,
) -> Programme:
    """A year-by-year programme of projects for ``analysis``'s shortfalls.

    ``candidates``: the planner's places (points or polygons, see
    :func:`~lifecircle.analysis.candidates.user_candidates`); ``None``: street points next to
    uncovered residents, generated per category. ``categories``: the analysed categories to
    plan for (default all). Raises
    :class:`~lifecircle.analysis.optimize.InfeasibleError` naming the year, the constraint and
    where, when a year cannot be planned.
    """
    params.check()
    cats = analysis.params.category_list(analysis.profile)
    if categories is not None:
        unknown = [c for c in categories if c not in analysis.params.categories]
        if unknown:
            raise InputError(f"programme: categories {unknown} were not analysed")
        cats = [c for c in cats if c.id in set(categories)]
    if isinstance(candidates, gpd.GeoDataFrame):
        candidates = user_candidates(analysis.network, candidates, analysis.params.max_snap_m,
                                     list(analysis.profile.categories))  # fmt: skip
    b = _blocks(analysis, cats, candidates, params)
    comm = analysis.communities
    keys = street_key(comm)
    streets = pd.Series(comm["street_name"].to_numpy(), index=keys)
    streets = streets[~streets.index.duplicated()].sort_index()
    street_of = pd.Series(keys, index=comm["community_id"].to_numpy())
    row_street = street_of.reindex(analysis.demand["community_id"].to_numpy()[b.row_point]).to_numpy()
    st = _State(np.zeros(b.cover.shape[0], bool), np.ones(b.cover.shape[1], bool), [], [], [], [])
    for year in progress(sorted(params.years), desc="programme years"):
        _solve_year(analysis, b, st, year, streets, row_street, params)
    return _finish(analysis, st, params)


def _finish(analysis: Analysis, st: _State, params: ProgrammeParams) -> Programme:
    by_year = pd.DataFrame(st.years, columns=YEAR_COLUMNS)
    met = None
    if params.target_share is not None:
        year = params.target_year or max(params.years)
        share = float(by_year.set_index("year").at[year, "share_meeting_standard"])
        met = bool(share >= params.target_share)
        if not met:
            msg = (f"target {params.target_share:.0%} of communities meeting the standard by "
                   f"{year} not reached: {share:.0%} after {year}; add projects, budget or candidates")  # fmt: skip
            log.warning("%s", msg)
            st.issues.append({"year": year, "rule": "target share", "where": "city", "message": msg})
    rows = pd.DataFrame(st.rows, columns=[*PROGRAMME_COLUMNS, "geometry"])
    crs = analysis.network.crs
    table = gpd.GeoDataFrame(rows.drop(columns="geometry"), geometry=list(rows["geometry"]), crs=crs)
    for i in st.issues:
        log.warning("%s", i["message"])
    return Programme(table.to_crs(4326), by_year, pd.DataFrame(st.issues, columns=ISSUE_COLUMNS),
                     share_meeting(analysis), met)  # fmt: skip


def programme_projects(programme: Programme, analysis: Analysis) -> gpd.GeoDataFrame:
    """The programme's projects as a projects frame for :func:`lifecircle.export_pool`, with the
    planned ``year`` filled in (WGS84). A year a planner already wrote in the pool is kept."""
    t = programme.table
    out = t[["county_code", "county_name", "street_code", "street_name", "community_code",
             "community_name", "category", "category_zh", "level"]].copy()  # fmt: skip
    out["location_kind"] = "proposed_site"
    out["new_covered_pop"] = t["new_covered_pop"].round()
    out["nearest_m"] = np.nan
    out["threshold_m"] = t["category"].map(analysis.thresholds)
    out["uncovered_pop"] = np.nan
    out["priority_score"] = np.nan
    order = np.lexsort((-t["new_covered_pop"].to_numpy(), t["year"].to_numpy()))
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(1, len(t) + 1)
    out["priority_rank"] = rank
    site = t["site_name"].where(t["site_name"].notna(), t["candidate_id"]).astype(str)
    out["reason_zh"] = [
        f"{y}年计划: 在{s}新建{c}, 可新覆盖 {n:,.0f} 人"
        for y, s, c, n in zip(t["year"], site, t["category_zh"], t["new_covered_pop"], strict=True)
    ]
    en = {c.id: c.name_en for c in analysis.profile.categories.values()}
    out["reason_en"] = [
        f"planned for {y}: new {en.get(c, c)} at {s}, newly covering {n:,.0f} people"
        for y, s, c, n in zip(t["year"], site, t["category"], t["new_covered_pop"], strict=True)
    ]
    out["year"] = t["year"].astype(int)
    return gpd.GeoDataFrame(out, geometry=t.geometry.values, crs=t.crs)
