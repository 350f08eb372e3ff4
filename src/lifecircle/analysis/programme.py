"""The gap-filling programme: which projects to build in which year (统筹安排建设时序，逐年落实).

Year by year (a rolling plan: each year's projects chosen exactly, given the years before), one
maximal-covering model over every category at once (HiGHS, see
:mod:`~lifecircle.analysis.optimize`): the candidate × category pairs available that year (a
candidate's ``earliest_year`` reached, that category not yet built there), at most that year's
number of projects and/or budget, and — the campaign's rule — at least one project in every
street (镇/街道) each year. The objective is the target residents newly brought within walking
reach, weighted like the shortfall priority (category weight, optional categories halved).

A target share of communities meeting the standard by a given year is imposed before the years
are planned: one set-covering model over communities and the years up to the target year
(:func:`~lifecircle.analysis.optimize.target_covering`; a community meets the standard when each
of its failing required categories gets enough residents within reach) fixes the least costly
projects — the fewest without a budget — in their years, within each year's limits and street
rule; each year's maximal covering then fills the rest. Where the target cannot be reached, the
shortfall is named: how many communities short, and which categories and streets block it.

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

from .. import settings
from .._errors import InfeasibleError, InputError
from .._progress import progress
from ..standards import Category, Profile
from .candidates import Candidates, SitingProblem, siting_problem, user_candidates
from .capacity import standard_verdict
from .coverage import HIERARCHY, distance_verdict
from .datastatus import NO_DATA
from .index import UNKNOWN, counted, failing, meets_all_required
from .index import share_meeting as index_share
from .optimize import (
    MIP_GAP,
    TIME_LIMIT_S,
    Period,
    Rule,
    greedy_covering,
    maximal_covering,
    newly_covered,
    target_covering,
)
from .shortfalls import OPTIONAL_FACTOR

if TYPE_CHECKING:
    from .result import Analysis

log = logging.getLogger(__name__)

#: Columns of :attr:`Programme.table` (besides geometry).
PROGRAMME_COLUMNS = [
    "year", "county_code", "county_name", "street_code", "street_name", "community_id",
    "community_code", "community_name", "category", "category_zh", "level", "candidate_id", "candidate_kind",
    "site_name", "new_covered_pop", "capacity", "cost", "for_target",
]  # fmt: skip
#: Columns of :attr:`Programme.by_year`.
YEAR_COLUMNS = [
    "year", "projects", "cost", "new_covered_pop", "share_meeting_standard", "status", "gap",
    "solve_s", "objective", "greedy_objective", "greedy_rules_unmet",
]  # fmt: skip
#: Columns of :attr:`Programme.issues`: ``message`` in English, ``message_zh`` in Chinese.
ISSUE_COLUMNS = ["year", "rule", "where", "message", "message_zh"]
_TARGET, _STREET = "target share", "every street ≥ 1 project a year"
#: The ``rule`` and ``where`` values of :attr:`Programme.issues` in Chinese.
ISSUE_WORDS_ZH = {_TARGET: "达标比例目标", _STREET: "每个街道每年至少 1 个项目", "city": "全市"}


def _issue(year: int, rule: str, where: str, en: str, zh: str) -> dict:
    """One row of :attr:`Programme.issues`."""
    return {"year": year, "rule": rule, "where": where, "message": en, "message_zh": zh}


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
        year (default the last), see :attr:`Programme.target_met`.
    target_rule : ``"report"`` (default: the target is imposed — before the years are planned,
        the least costly projects (the fewest without a budget) that bring enough communities up
        to the standard by the target year are fixed in their years, within each year's limits
        and street rule; where the target cannot be reached, as many communities as the limits
        allow, and the shortfall is named in :attr:`Programme.issues`), ``"require"`` (a target
        that cannot be reached is an :class:`~lifecircle.analysis.optimize.InfeasibleError`
        naming how many communities short and which categories and streets block it) or
        ``"check"`` (not imposed, only checked after the years).
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
    target_rule: Literal["report", "require", "check"] = "report"
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
        if self.target_rule not in ("report", "require", "check"):
            raise InputError(f"target_rule must be 'report', 'require' or 'check', got {self.target_rule!r}")
        if self.target_year is not None and self.target_year not in self.years:
            raise InputError(f"target_year {self.target_year} is not one of the years {self.years}")


@dataclass(frozen=True, eq=False)
class Programme:
    """A year-by-year programme of projects.

    Attributes
    ----------
    table : GeoDataFrame (WGS84), one row per project (year × county × street × project): see
        :data:`PROGRAMME_COLUMNS`; ``candidate_kind`` is ``"user"`` or ``"street"`` (generated);
        ``for_target`` marks the projects fixed so that the target share is reached.
    by_year : one row per year: projects, cost, residents newly covered, the share of
        communities meeting the standard after the year, the solver's status, gap and seconds,
        the objective (residents newly covered, weighted like the shortfall priority) and
        greedy's objective with the same projects, budget and street rule (greedy serves each
        street first with its best project, then fills up) and how many rules greedy left unmet
        (``greedy_rules_unmet``: where it is above 0, greedy's objective can exceed the optimum's,
        which meets every rule).
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
        msg, msg_zh = _why_no_project(b, key, name, row_street, remaining, year)
        if params.every_street == "require":
            raise InfeasibleError(f"{_STREET}: {msg}")
        issues.append(_issue(year, _STREET, name, msg, msg_zh))
    return tuple(rules), issues


def _why_no_project(b: _Blocks, key: str, name: str, row_street: np.ndarray,
                    remaining: np.ndarray, year: int) -> tuple[str, str]:  # fmt: skip
    """Why a street gets no project in ``year`` (English, Chinese)."""
    here = (row_street == key) & (remaining > 0)
    if not here.any():
        return (f"街道 {name} has no uncovered residents left in {year}: no project to place",
                f"街道 {name} 在 {year} 年已无未覆盖的居民：无项目可安排")  # fmt: skip
    blocks = np.unique(b.row_block[here])
    en = ", ".join(f"{b.cats[k].name_zh} within {b.probs[k].threshold_m:,.0f} m" for k in blocks)
    zh = "、".join(f"{b.cats[k].name_zh}（{b.probs[k].threshold_m:,.0f} 米内）" for k in blocks)
    return (f"街道 {name} has no candidate for {en} of its uncovered residents available in {year}",
            f"街道 {name} 在 {year} 年没有可用的候选地点服务其未覆盖居民：{zh}")  # fmt: skip


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
                row_street: np.ndarray, params: ProgrammeParams, forced: np.ndarray) -> None:  # fmt: skip
    """Choose ``year``'s projects (``forced``: columns the target fixed in this year) and record
    them in ``st``."""
    p, budget = params.per_year(year)
    w_left = b.weight * st.left
    gain = b.cover @ w_left
    cols = np.flatnonzero(~st.used & ~(b.col_year > year) & (gain > 0))
    sub = b.cover[cols]
    rules, issues = _street_rules(b, cols, streets, row_street, b.residents * st.left, year, params)
    st.issues.extend(issues)
    fixed = np.flatnonzero(np.isin(cols, forced))  # built already, or nothing left to cover: dropped
    ids = b.frame["candidate_id"].to_numpy()
    target_rules = tuple(Rule(np.array([j]), 1, f"target: {ids[cols[j]]} in {year}") for j in fixed)
    cost = _costs(b, cols, budget)
    if len(cols) == 0:
        st.years.append({"year": year, "projects": 0, "cost": 0.0, "new_covered_pop": 0.0,
                         "share_meeting_standard": share_meeting(analysis, _added(st)),
                         "status": "nothing to place", "gap": 0.0, "solve_s": 0.0,
                         "objective": 0.0, "greedy_objective": 0.0, "greedy_rules_unmet": 0})  # fmt: skip
        return
    kw = {"cost": cost, "budget": budget, "time_limit_s": params.time_limit_s, "mip_gap": params.mip_gap}
    try:
        sol = maximal_covering(sub, w_left, p, rules=rules + target_rules, **kw)
    except InfeasibleError as exc:
        if not target_rules:
            raise InfeasibleError(f"programme {year}: {exc}") from None
        # the target model saw the years together; this year's own rules may not hold its
        # projects (a street's cheapest project built already): plan the year without them
        msg = (f"the target's projects for {year} do not fit the year's limits with its other "
               f"rules ({exc}); the year is planned without them")  # fmt: skip
        if params.target_rule == "require":
            raise InfeasibleError(f"programme {year}: {msg}") from None
        st.issues.append(_issue(year, _TARGET, "city", msg,
                                f"{year} 年达标目标所需的项目与该年的其他规则和限制冲突（{exc}）；"
                                "该年不含这些项目进行安排"))  # fmt: skip
        fixed, target_rules = fixed[:0], ()
        try:
            sol = maximal_covering(sub, w_left, p, rules=rules, **kw)
        except InfeasibleError as exc2:
            raise InfeasibleError(f"programme {year}: {exc2}") from None
    rules += target_rules
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
        st.rows.append(_project_row(b, cols[j], year, n_new, bool(np.isin(j, fixed))))
    st.used[cols[sol.chosen]] = True
    spent = float(np.nansum(b.col_cost[cols[sol.chosen]])) if len(sol.chosen) else 0.0
    st.years.append({
        "year": year, "projects": len(sol.chosen), "cost": spent, "new_covered_pop": float(new.sum()),
        "share_meeting_standard": share_meeting(analysis, _added(st)), "status": sol.status,
        "gap": sol.gap, "solve_s": sol.solve_s, "objective": sol.covered,
        "greedy_objective": greedy.covered, "greedy_rules_unmet": greedy.rules_unmet,
    })  # fmt: skip


def _added(st: _State) -> pd.Series:
    if not st.added:
        return pd.Series(dtype=float)
    df = pd.concat(st.added, ignore_index=True)
    return df.groupby(["community_id", "category"])["pop"].sum()


def _project_row(b: _Blocks, col: int, year: int, new_pop: float, for_target: bool) -> dict:
    cat = b.cats[b.col_block[col]]
    f = b.frame.iloc[col]
    return {
        "year": year, **b.place.iloc[col].to_dict(), "category": cat.id,
        "category_zh": cat.name_zh, "level": cat.level, "candidate_id": f["candidate_id"],
        "candidate_kind": f["kind"], "site_name": f["name"], "new_covered_pop": new_pop,
        "capacity": f["capacity"], "cost": b.col_cost[col], "for_target": for_target,
        "geometry": f.geometry,
    }  # fmt: skip


@dataclass
class _Pairs:
    """The failing (community × required category) pairs of the communities that do not yet
    meet the standard, each with the residents it still needs and what blocks it."""

    frame: pd.DataFrame  # community_id, street_name, category, category_zh, threshold_m, need, blocked
    row_pair: np.ndarray  # per row of the blocks: its pair (-1: none)
    needed: int  # communities still to bring up
    total: int
    meeting: int
    target: int


def _target_pairs(analysis: Analysis, b: _Blocks, avail: np.ndarray, share: float) -> _Pairs:
    """What the target asks: communities to bring up, and each failing pair's need and blocker
    (``avail``: the columns available by the target year)."""
    idx = analysis.index
    elig = counted(idx, analysis.share_of)
    ids = set(idx.loc[elig, "community_id"])
    total, meeting = int(elig.sum()), int(idx.loc[elig, "meets_all_required"].astype(bool).sum())
    target = int(np.ceil(share * total - 1e-9))
    cov = analysis.coverage
    fr = failing(cov) & cov["required"].astype(bool).to_numpy() & cov["community_id"].isin(ids).to_numpy()
    f = cov.loc[fr, ["community_id", "street_name", "category", "category_zh", "threshold_m"]]
    f = f.reset_index(drop=True).fillna({"street_name": UNKNOWN})
    min_share = analysis.params.min_covered_share
    f["need"] = (min_share * cov.loc[fr, "group_pop"] - cov.loc[fr, "covered_pop"]).to_numpy() - 1e-6
    planned = {c.id for c in b.cats}
    pair_of = pd.Series(np.arange(len(f)), index=pd.MultiIndex.from_frame(f[["community_id", "category"]]))
    row_comm = analysis.demand["community_id"].to_numpy()[b.row_point]
    row_cat = np.array([c.id for c in b.cats], dtype=object)[b.row_block] if len(b.cats) else np.zeros(0, object)
    keys = pd.MultiIndex.from_arrays([row_comm, row_cat])
    row_pair = pair_of.reindex(keys).fillna(-1).to_numpy(dtype=np.int64)
    reach_rows = np.asarray(b.cover[avail].sum(axis=0)).ravel() > 0
    ok = row_pair >= 0
    reach = np.bincount(row_pair[ok & reach_rows], weights=b.residents[ok & reach_rows], minlength=len(f))
    f["blocked"] = np.select(
        [(cov.loc[fr, "meets_capacity"] == False).to_numpy(),  # noqa: E712
         ~f["category"].isin(planned).to_numpy(), reach < f["need"].to_numpy()],
        ["capacity", "not planned", "reach"], default="",
    )  # fmt: skip
    return _Pairs(f, row_pair, target - meeting, total, meeting, target)


_BLOCKED = {
    "capacity": "misses the per-1,000 capacity rule (the programme adds reach, not places)",
    "not planned": "is not among the categories planned",
    "reach": "no candidate within {m:,.0f} m of enough of its uncovered residents",
    "limits": "not brought up within the years' limits",
}
_BLOCKED_ZH = {
    "capacity": "未达到千人指标（建设时序只增加覆盖范围，不增加床位、托位）",
    "not planned": "不在本次规划的设施类别中",
    "reach": "{m:,.0f} 米内没有能服务足够多未覆盖居民的候选地点",
    "limits": "在各年度的限制内无法达标",
}


def _blockers(f: pd.DataFrame, top: int = 8) -> tuple[str, str]:
    """'托育 (why): 街道 A 3 communities, 街道 B 1; …' for the pairs in ``f``, most first
    (English, Chinese)."""
    if not len(f):
        return "", ""
    g = f.groupby(["category_zh", "blocked", "threshold_m", "street_name"], dropna=False)["community_id"].nunique()
    parts = []
    for (cat, why, m), part in g.groupby(level=[0, 1, 2], sort=False):
        part = part.sort_values(ascending=False)
        where = ", ".join(f"街道 {k[3]} {n}" for k, n in part.items())
        where_zh = "、".join(f"街道 {k[3]} {n} 个社区" for k, n in part.items())
        parts.append((int(part.sum()), f"{cat} ({_BLOCKED[why].format(m=m)}): {where}",
                      f"{cat}（{_BLOCKED_ZH[why].format(m=m)}）：{where_zh}"))  # fmt: skip
    parts.sort(key=lambda t: -t[0])
    n_more = len(parts) - top
    more, more_zh = (f"; … {n_more} more", f"；另有 {n_more} 项") if n_more > 0 else ("", "")
    return ("; ".join(p[1] for p in parts[:top]) + more,
            "；".join(p[2] for p in parts[:top]) + more_zh)  # fmt: skip


def _target_periods(b: _Blocks, years: list[int], useful: np.ndarray, relevant: np.ndarray,
                    cost: np.ndarray, params: ProgrammeParams) -> list[Period]:  # fmt: skip
    """One :class:`Period` per year up to the target year: the relevant columns available, the
    year's limits, and each street's rule (its other useful columns as the filler)."""
    out = []
    for y in years:
        avail = useful & ~(b.col_year > y)
        p, budget = params.per_year(y)
        rules, fill = [], []
        if params.every_street != "off":
            for key in np.unique(b.col_street[avail]):
                members = np.flatnonzero(avail & (b.col_street == key))
                rules.append(Rule(members[relevant[members]], 1, f"街道 {key}: ≥ 1 project in {y}"))
                fill.append(float(cost[members].min()))
        out.append(Period(np.flatnonzero(avail & relevant), p, budget, tuple(rules), np.asarray(fill)))
    return out


def _target_plan(analysis: Analysis, b: _Blocks, params: ProgrammeParams) -> tuple[dict[int, np.ndarray], list[dict]]:
    """The sites to build, year by year, so that the target share is reached by the target
    year at the least cost (fewest projects without a budget); the shortfall named when it
    cannot be. Returns {year: columns} and issues."""
    share, year = params.target_share, params.target_year or max(params.years)
    if share is None or params.target_rule == "check":
        return {}, []
    years = sorted(y for y in params.years if y <= year)
    useful = (b.cover @ b.residents) > 0
    pairs = _target_pairs(analysis, b, useful & ~(b.col_year > year), share)
    head = (f"target {share:.0%} of communities meeting the standard by {year} "
            f"({pairs.target} of {pairs.total}; {pairs.meeting} meet now) cannot be reached",
            f"{year} 年前达标社区比例 {share:.0%} 的目标（{pairs.total} 个社区中 {pairs.target} 个；"
            f"目前 {pairs.meeting} 个达标）无法实现")  # fmt: skip
    if pairs.needed <= 0:
        return {}, []
    f = pairs.frame
    bad = set(f.loc[f["blocked"] != "", "community_id"])
    units = pd.Index(sorted(set(f["community_id"]) - bad))
    if len(units) < pairs.needed:
        why, why_zh = _blockers(f[f["blocked"] != ""])
        short = pairs.needed - len(units)
        msg = (f"{head[0]}: with every candidate at most {len(units)} more can meet it, {short} "
               f"short. What blocks the others: {why}",
               f"{head[1]}：即使用上全部候选地点，最多再有 {len(units)} 个社区达标，还差 {short} 个。"
               f"其余社区受阻的原因：{why_zh}")  # fmt: skip
        return _target_fallback(b, params, pairs, units, years, useful, msg, year)
    return _target_solve(b, params, pairs, units, years, useful, head, year)


def _target_solve(b: _Blocks, params: ProgrammeParams, pairs: _Pairs,
                  units: pd.Index, years: list[int], useful: np.ndarray, head: tuple[str, str],
                  year: int) -> tuple[dict[int, np.ndarray], list[dict]]:  # fmt: skip
    """Solve the target model for ``units``; the most that the limits allow where not all.
    ``head``: the issue's first sentence (English, Chinese)."""
    f = pairs.frame
    keep = f["community_id"].isin(units).to_numpy()
    pair_unit = units.get_indexer(f["community_id"])
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    row_pair = np.where(pairs.row_pair >= 0, remap[np.maximum(pairs.row_pair, 0)], -1)
    relevant = np.asarray(b.cover[:, row_pair >= 0].sum(axis=1)).ravel() > 0
    budgeted = any(params.per_year(y)[1] is not None for y in years)
    cost = _costs(b, np.arange(len(b.col_cost)), 0.0) if budgeted else np.ones(len(b.col_cost))
    periods = _target_periods(b, years, useful, relevant, cost, params)
    args = (b.cover, b.residents, row_pair, f.loc[keep, "need"].to_numpy(), pair_unit[keep])
    kw = {"time_limit_s": params.time_limit_s, "mip_gap": params.mip_gap}
    try:
        sol = target_covering(*args, pairs.needed, periods, cost, **kw)
        return dict(zip(years, sol.chosen, strict=True)), []
    except InfeasibleError:
        pass
    except InputError as exc:  # the time limit, without a plan
        return _target_unsettled(params, year, exc)
    try:
        sol = target_covering(*args, None, periods, cost, **kw)
    except InfeasibleError:  # not even the street rule fits the limits of every year together
        return _target_unsettled(params, year, ("the per-year limits cannot hold one project per street "
                                 "a year together with the target",
                                 "各年度的限制容不下每个街道每年一个项目和达标目标"), InfeasibleError)  # fmt: skip
    except InputError as exc:
        return _target_unsettled(params, year, exc)
    left = f[keep & ~f["community_id"].isin(units[sol.units]).to_numpy()]
    limits = ("the per-year limits (projects, budget, one project per street a year) and the "
              "candidates' earliest years")  # fmt: skip
    limits_zh = "各年度的限制（项目数、投资、每个街道每年一个项目）和候选地点的最早可用年份"
    n, t = len(sol.units), params.time_limit_s
    found = f"a plan for {n} found within time_limit_s={t:g}"
    found_zh = f"在 time_limit_s={t:g} 内找到 {n} 个社区的方案"
    if sol.status == "optimal":
        most = f"allow at most {n} more by {year}, {pairs.needed - n} short"
        most_zh = f"最多只能让 {n} 个社区在 {year} 年前达标，还差 {pairs.needed - n} 个"
    elif np.isfinite(sol.units_bound):
        ub = int(sol.units_bound)
        most = f"allow at most {ub} more by {year} ({found}), at least {pairs.needed - ub} short"
        most_zh = f"最多只能让 {ub} 个社区在 {year} 年前达标（{found_zh}），至少还差 {pairs.needed - ub} 个"
    else:
        most = f"allow too few: how many more by {year} was not settled ({found})"
        most_zh = f"不足以达标：{year} 年前最多能再有多少个社区达标未能确定（{found_zh}）"
    why, why_zh = _blockers(left.assign(blocked="limits"))
    msg = f"{head[0]}: {limits} {most}. Left out: {why}"
    if params.target_rule == "require":
        raise InfeasibleError(msg)
    issue = _issue(year, _TARGET, "city", msg, f"{head[1]}：{limits_zh}{most_zh}。未纳入：{why_zh}")
    return dict(zip(years, sol.chosen, strict=True)), [issue]


def _target_unsettled(params: ProgrammeParams, year: int, why: Exception | tuple[str, str],
                      error: type[InputError] = InputError) -> tuple[dict[int, np.ndarray], list[dict]]:  # fmt: skip
    """The target model gave no plan (``why``: an error, or English and Chinese text): raise
    ``error`` (``"require"``) or plan the years without it and say so."""
    why_en, why_zh = why if isinstance(why, tuple) else (str(why), str(why))
    share = params.target_share
    msg = (f"target {share:.0%} of communities meeting the standard by {year} not "
           f"settled: {why_en}; the years are planned without it")  # fmt: skip
    if params.target_rule == "require":
        raise error(msg) from None
    return {}, [_issue(year, _TARGET, "city", msg, f"{year} 年前达标社区比例 {share:.0%} 的目标未能求解："
                       f"{why_zh}；各年度不含该目标进行安排")]  # fmt: skip


def _target_fallback(b: _Blocks, params: ProgrammeParams, pairs: _Pairs,
                     units: pd.Index, years: list[int], useful: np.ndarray, msg: tuple[str, str],
                     year: int) -> tuple[dict[int, np.ndarray], list[dict]]:  # fmt: skip
    """The target cannot be reached (``msg``: English, Chinese): raise (``target_rule="require"``), or bring up as many
    communities as the limits allow and report the shortfall."""
    head = (f"nor can the {len(units)} communities within the candidates' reach be brought up by {year}",
            f"候选地点可及范围内的 {len(units)} 个社区也无法在 {year} 年前全部达标")  # fmt: skip
    if params.target_rule == "require":
        raise InfeasibleError(msg[0])
    issue = _issue(year, _TARGET, "city", *msg)
    if not len(units):
        return {}, [issue]
    short = _Pairs(pairs.frame, pairs.row_pair, len(units), pairs.total, pairs.meeting, pairs.target)
    fixed, more = _target_solve(b, params, short, units, years, useful, head, year)
    return fixed, [issue, *more]


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
    fixed, issues = _target_plan(analysis, b, params)
    st = _State(np.zeros(b.cover.shape[0], bool), np.ones(b.cover.shape[1], bool), [], [], [], issues)
    for year in progress(sorted(params.years), desc="programme years"):
        forced = fixed.get(year, np.zeros(0, np.int64))
        _solve_year(analysis, b, st, year, streets, row_street, params, forced)
    return _finish(analysis, st, params)


def _finish(analysis: Analysis, st: _State, params: ProgrammeParams) -> Programme:
    by_year = pd.DataFrame(st.years, columns=YEAR_COLUMNS)
    met = None
    if params.target_share is not None:
        year = params.target_year or max(params.years)
        share = float(by_year.set_index("year").at[year, "share_meeting_standard"])
        met = bool(share >= params.target_share)
        if not met and not any(i["rule"] == _TARGET for i in st.issues):
            target = params.target_share
            msg = (f"target {target:.0%} of communities meeting the standard by "
                   f"{year} not reached: {share:.0%} after {year}; add projects, budget or candidates")  # fmt: skip
            st.issues.append(_issue(year, _TARGET, "city", msg,
                                    f"{year} 年前达标社区比例 {target:.0%} 的目标未实现：{year} 年后为 "
                                    f"{share:.0%}；请增加项目、投资或候选地点"))  # fmt: skip
    rows = pd.DataFrame(st.rows, columns=[*PROGRAMME_COLUMNS, "geometry"])
    crs = analysis.network.crs
    table = gpd.GeoDataFrame(rows.drop(columns="geometry"), geometry=list(rows["geometry"]), crs=crs)
    for i in st.issues:
        log.warning("%s", i["message_zh"] if settings.language == "zh" else i["message"])
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
