"""Exact siting models solved with HiGHS (``highspy``, MIT), and greedy as the fast mode.

Every model works on a sparse candidate × demand-point cover matrix (1 where a candidate is
within the category's walking threshold of the point, see
:func:`~lifecircle.analysis.candidates.cover_matrix`) and the residents at each point:

* **maximal covering** (MCLP, Church & ReVelle 1974): choose at most ``p`` sites (and/or spend
  at most ``budget``) to cover the most residents;
* **set covering** (partial): the fewest sites (or the least cost) that cover a target share;
* **capacitated covering**: a site of capacity ``N`` serves at most ``N × 1000 / per_1000``
  residents (the category's per-1,000 rule); each point's demand may be split between sites.

Demand points with the same set of candidates are merged before solving (their residents
added): the optimum is unchanged and the model much smaller. Each result states the solver's
status, the best bound, the optimality gap and the time spent; a time limit returns the best
plan found so far with its gap.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import highspy
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, hstack, identity, vstack

from .._errors import InfeasibleError, InputError
from .candidates import SitingProblem

log = logging.getLogger(__name__)

#: Default time limit of one solve (seconds) and relative optimality gap accepted.
TIME_LIMIT_S = 60.0
MIP_GAP = 1e-6


@dataclass(frozen=True)
class Rule:
    """At least ``min_sites`` of the candidates ``members`` (positions) must be chosen; ``label``
    names the rule in messages (e.g. ``"街道 新塍镇: ≥ 1 project in 2026"``)."""

    members: np.ndarray
    min_sites: int
    label: str


@dataclass(frozen=True)
class Solution:
    """A siting plan and how good it is.

    Attributes
    ----------
    chosen : positions of the chosen candidates (ascending).
    covered : residents the plan covers (objective of the covering models; served residents
        for the capacitated model).
    bound : the solver's bound on the best possible value (equal to ``covered`` at the optimum;
        for set covering: the bound on the number of sites / cost).
    gap : relative optimality gap (0 at the optimum; ``nan`` for greedy).
    status : ``"optimal"``, ``"time limit"``, ``"greedy"`` …
    solve_s : wall time of the solve (seconds).
    served : for the capacitated model, residents each chosen site serves (same order).
    rules_unmet : rules the plan leaves unmet (greedy only: it does not search, so it can cover
        more than the optimum by leaving a rule unmet; the exact models meet every rule or fail).
    """

    chosen: np.ndarray
    covered: float
    bound: float
    gap: float
    status: str
    solve_s: float
    served: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rules_unmet: int = 0

    @property
    def optimal(self) -> bool:
        """True when the solver proved the plan optimal (within the gap asked for)."""
        return self.status == "optimal"


def merge_demand(cover: csr_matrix, weights: np.ndarray) -> tuple[csc_matrix, np.ndarray]:
    """Drop points without residents or without any candidate; merge points covered by the same
    candidates (their residents added). Returns the smaller candidate × group matrix (CSC) and
    the residents of each group."""
    a = csc_matrix(cover)
    a.sum_duplicates()
    a.sort_indices()
    keep = np.flatnonzero((np.diff(a.indptr) > 0) & (np.asarray(weights) > 0))
    a = a[:, keep]
    w = np.asarray(weights, dtype=float)[keep]
    keys = [a.indices[a.indptr[j] : a.indptr[j + 1]].tobytes() for j in range(a.shape[1])]
    groups: dict[bytes, int] = {}
    gid = np.fromiter((groups.setdefault(k, len(groups)) for k in keys), np.int64, len(keys))
    first = np.full(len(groups), -1, dtype=np.int64)
    first[gid[::-1]] = np.arange(len(gid))[::-1]
    gw = np.bincount(gid, weights=w, minlength=len(groups))
    merged = a[:, first]
    merged.data[:] = 1.0
    return csc_matrix(merged), gw


def _check(cover: csr_matrix, weights: np.ndarray, p: int | None, budget: float | None,
           cost: np.ndarray | None) -> None:  # fmt: skip
    if cover.shape[1] != len(weights):
        raise InputError(f"{cover.shape[1]} demand points in the cover matrix, {len(weights)} weights")
    if p is None and budget is None:
        raise InputError("give p (number of sites) or budget (with cost) or both")
    if p is not None and p < 0:
        raise InputError(f"p must be a number of sites >= 0, got {p}")
    if budget is not None and cost is None:
        raise InputError("a budget needs the candidates' cost")
    if cost is not None and (len(cost) != cover.shape[0] or not np.all(np.isfinite(cost))):
        raise InputError("cost: one finite cost per candidate is needed where a budget is set")


#: Whether this process has made a HiGHS solver yet (see :func:`_new_highs`).
_made: list[bool] = []
_made_lock = threading.Lock()


def _new_highs() -> highspy.Highs:
    """A HiGHS solver. The first one a process makes prints HiGHS's banner ("Running HiGHS …
    Copyright …") to the process's standard output (file descriptor 1, below Python's
    ``sys.stdout``: it reaches a notebook's cell and the CLI's output) before any option can be
    set; that one is made with descriptor 1 pointed at the null device."""
    with _made_lock:
        if _made:
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _made.append(True)
        return h


def _highs(time_limit_s: float) -> highspy.Highs:
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit_s), 1e-9))
    h.setOptionValue("threads", 1)
    return h


def _relaxation(lp: highspy.HighsLp, n_int: int, time_limit_s: float) -> tuple | str | None:
    """The linear relaxation, solved first: where its optimum is integral in the first ``n_int``
    columns it is the integer optimum too (proved: the relaxation's bound is reached), and
    HiGHS's MIP set-up, often most of the time on covering models, is skipped; where it is
    infeasible so is the integer model. Returns (all column values, objective), ``"infeasible"``
    or ``None`` (fractional, or not solved)."""
    kinds = lp.integrality_
    lp.integrality_ = []
    try:
        h = _highs(time_limit_s)
        h.passModel(lp)
        h.run()
    finally:
        lp.integrality_ = kinds
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    cols = np.asarray(h.getSolution().col_value, dtype=float)
    x = cols[:n_int]
    if len(x) and np.abs(x - np.round(x)).max() > 1e-6:
        return None
    cols[:n_int] = np.round(x)
    return cols, float(h.getInfo().objective_function_value)


def _solve(lp: highspy.HighsLp, n_x: int, time_limit_s: float, mip_gap: float,
           start: np.ndarray | None = None) -> tuple:  # fmt: skip
    """Run HiGHS (the relaxation first, see :func:`_relaxation`; ``start``: a feasible plan to
    start the search from); return (x values of the first ``n_x`` columns, objective, bound,
    gap, status, seconds, all column values)."""
    t0 = time.perf_counter()
    relaxed = _relaxation(lp, n_x, time_limit_s)
    if relaxed == "infeasible":
        return None, np.nan, np.nan, np.nan, "infeasible", time.perf_counter() - t0, None
    if relaxed is not None:
        cols, obj = relaxed
        secs = time.perf_counter() - t0
        log.debug("HiGHS: the relaxation is integral, optimal in %.2f s", secs)
        return cols[:n_x], obj, obj, 0.0, "optimal", secs, cols
    h = _highs(time_limit_s - (time.perf_counter() - t0))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.passModel(lp)
    if start is not None:
        h.setSolution(len(start), np.arange(len(start), dtype=np.int32), np.asarray(start, float))
    h.run()
    secs = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus()).lower()
    if status == "infeasible":
        return None, np.nan, np.nan, np.nan, status, secs, None
    info = h.getInfo()
    log.debug("HiGHS: %s, %d nodes, %d simplex iterations, %.2f s", status,
              info.mip_node_count, info.simplex_iteration_count, secs)  # fmt: skip
    cols = np.asarray(h.getSolution().col_value)
    if len(cols) == 0 or info.primal_solution_status != 2:  # 2: a feasible plan was found
        return None, np.nan, np.nan, np.nan, status, secs, None
    return (cols[:n_x], info.objective_function_value, info.mip_dual_bound,
            info.mip_gap, status, secs, cols)  # fmt: skip


def _lp(a: csc_matrix, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
        row_lo: np.ndarray, row_hi: np.ndarray, n_int: int, maximize: bool) -> highspy.HighsLp:
    """A HiGHS model: columns ``a``'s columns, the first ``n_int`` of them integer."""  # fmt: skip
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_, lp.col_upper_ = np.asarray(lower, float), np.asarray(upper, float)
    lp.row_lower_, lp.row_upper_ = np.asarray(row_lo, float), np.asarray(row_hi, float)
    a = csc_matrix(a)
    a.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    kinds = [highspy.HighsVarType.kInteger] * n_int
    lp.integrality_ = kinds + [highspy.HighsVarType.kContinuous] * (a.shape[1] - n_int)
    return lp


def _side_rows(n: int, p: int | None, cost: np.ndarray | None, budget: float | None,
               rules: tuple[Rule, ...]) -> tuple[csr_matrix, np.ndarray, np.ndarray]:  # fmt: skip
    """Rows over the ``n`` site columns: Σx ≤ p, Σ cost·x ≤ budget, Σ_{members} x ≥ min."""
    rows, lo, hi = [], [], []
    if p is not None:
        rows.append(np.ones(n))
        lo.append(-np.inf)
        hi.append(float(p))
    if budget is not None:
        rows.append(np.asarray(cost, dtype=float))
        lo.append(-np.inf)
        hi.append(float(budget))
    for r in rules:
        row = np.zeros(n)
        row[r.members] = 1.0
        rows.append(row)
        lo.append(float(r.min_sites))
        hi.append(np.inf)
    m = csr_matrix(np.vstack(rows)) if rows else csr_matrix((0, n))
    return m, np.asarray(lo, float), np.asarray(hi, float)


def _chosen(x: np.ndarray | None) -> np.ndarray:
    return np.zeros(0, np.int64) if x is None else np.flatnonzero(x > 0.5)


def maximal_covering(
    cover: csr_matrix,
    weights: np.ndarray,
    p: int | None = None,
    *,
    cost: np.ndarray | None = None,
    budget: float | None = None,
    rules: tuple[Rule, ...] = (),
    time_limit_s: float = TIME_LIMIT_S,
    mip_gap: float = MIP_GAP,
) -> Solution:
    """Exact maximal covering: at most ``p`` sites (and cost within ``budget``), every
    :class:`Rule` met, covering the most residents. ``cover``: candidates × demand points."""
    _check(cover, weights, p, budget, cost)
    a, w = merge_demand(cover, weights)
    keep = reduce_candidates(a, cost, rules)
    pos = np.full(a.shape[0], -1, dtype=np.int64)
    pos[keep] = np.arange(len(keep))
    red_rules = tuple(
        Rule(np.unique(pos[r.members][pos[r.members] >= 0]), r.min_sites, r.label) for r in rules
    )
    a = csc_matrix(a[keep])
    red_cost = None if cost is None else np.asarray(cost, dtype=float)[keep]
    n, g = a.shape
    # rows: z_g - Σ_j a_jg x_j ≤ 0 for every demand group, then the side rows on x
    link = hstack([-a.T, identity(g, format="csc")], format="csc")
    side, lo, hi = _side_rows(n, p, red_cost, budget, red_rules)
    full = vstack([link, hstack([side, csr_matrix((side.shape[0], g))])], format="csc")
    lp = _lp(full, np.r_[np.zeros(n), w], np.zeros(n + g), np.ones(n + g),
             np.r_[np.full(g, -np.inf), lo], np.r_[np.zeros(g), hi], n, True)  # fmt: skip
    x, obj, bound, gap, status, secs, _ = _solve(lp, n, time_limit_s, mip_gap)
    if x is None:
        raise _no_plan(status, time_limit_s, _why_infeasible(n, p, red_cost, budget, red_rules))
    chosen = _chosen(x)
    covered = float(w[np.asarray(a[chosen].sum(axis=0)).ravel() > 0].sum())
    log.debug("MCLP %d candidates × %d groups: %s in %.2f s", n, g, status, secs)
    return Solution(np.sort(keep[chosen]), covered, float(bound), float(gap), status, secs)


def reduce_candidates(
    a: csc_matrix, cost: np.ndarray | None, rules: tuple[Rule, ...] = ()
) -> np.ndarray:
    """Positions of the candidates worth keeping: of candidates covering the same demand groups
    and named by the same rules, the cheapest (then the first); candidates covering nothing
    only where a rule names them. The optimum is unchanged; the model is smaller."""
    n = a.shape[0]
    r = csr_matrix(a)
    r.sort_indices()
    sig = [[] for _ in range(n)]  # type: list[list[int]]
    for k, rule in enumerate(rules):
        for j in np.asarray(rule.members, dtype=np.int64):
            sig[j].append(k)
    dedupe = all(rule.min_sites <= 1 for rule in rules)
    c = np.zeros(n) if cost is None else np.asarray(cost, dtype=float)
    order = np.lexsort((np.arange(n), c))  # cheapest first, then the first
    seen: set[bytes] = set()
    keep = []
    for j in order:
        cols = r.indices[r.indptr[j] : r.indptr[j + 1]]
        if len(cols) == 0 and not sig[j]:
            continue
        key = cols.tobytes() + b"|" + np.asarray(sig[j], np.int64).tobytes()
        if dedupe and key in seen:
            continue
        seen.add(key)
        keep.append(j)
    return np.sort(np.asarray(keep, dtype=np.int64))


def _no_plan(status: str, time_limit_s: float, why: str) -> InputError:
    """The error of a solve without a plan: infeasible (``why``), or out of time."""
    if status == "infeasible":
        return InfeasibleError(why)
    return InputError(
        f"HiGHS found no plan within time_limit_s={time_limit_s:g} ({status}); allow more time, "
        "or fewer candidates (greedy_covering answers at once)"
    )


def _why_infeasible(n: int, p: int | None, cost: np.ndarray | None, budget: float | None,
                    rules: tuple[Rule, ...]) -> str:  # fmt: skip
    """Name the constraint a request cannot meet (the first rule that fails on its own)."""
    for r in rules:
        if len(r.members) < r.min_sites:
            return f"{r.label}: only {len(r.members)} candidate(s) for {r.min_sites} site(s)"
    need = sum(r.min_sites for r in rules)
    if p is not None and need > p:
        return (f"the rules need at least {need} sites ({'; '.join(r.label for r in rules[:5])}"
                f"{' …' if len(rules) > 5 else ''}) but p = {p}")  # fmt: skip
    if budget is not None and cost is not None:
        cheapest = sum(float(np.sort(cost[r.members])[: r.min_sites].sum()) for r in rules)
        if cheapest > budget:
            return f"the rules' cheapest sites cost {cheapest:,.0f} > budget {budget:,.0f}"
    return f"no plan meets p = {p}, budget = {budget} and {len(rules)} rule(s) together"


def greedy_covering(
    cover: csr_matrix,
    weights: np.ndarray,
    p: int | None = None,
    *,
    cost: np.ndarray | None = None,
    budget: float | None = None,
    rules: tuple[Rule, ...] = (),
) -> Solution:
    """Greedy maximal covering, the fast mode: each round the affordable candidate covering the
    most still-uncovered residents (ties: the lowest position), until ``p`` sites, the budget or
    no gain. A (1 − 1/e)-approximation without a budget or rules. Rules are served first, each
    with its best members (a rule it cannot serve is left unmet: greedy does not search)."""
    _check(cover, weights, p, budget, cost)
    t0 = time.perf_counter()
    m = csr_matrix(cover)
    m.data[:] = 1.0
    st = {"remaining": np.asarray(weights, dtype=float).copy(),
          "left": np.inf if budget is None else float(budget), "total": 0.0}  # fmt: skip
    c = np.zeros(m.shape[0]) if cost is None else np.asarray(cost, dtype=float)
    chosen: list[int] = []

    def pick(allowed: np.ndarray | None, need_gain: bool) -> bool:
        gain = m @ st["remaining"]
        gain[c > st["left"]] = -1.0
        gain[chosen] = -1.0
        if allowed is not None:
            mask = np.full(len(gain), -1.0)
            mask[allowed] = gain[allowed]
            gain = mask
        best = int(np.argmax(gain))
        if gain[best] < 0 or (need_gain and gain[best] <= 0):
            return False
        chosen.append(best)
        st["total"] += float(gain[best])
        st["left"] -= c[best]
        st["remaining"][m.indices[m.indptr[best] : m.indptr[best + 1]]] = 0.0
        return True

    for r in rules:
        while (p is None or len(chosen) < p) and len(np.intersect1d(chosen, r.members)) < r.min_sites:
            if not pick(np.asarray(r.members, dtype=np.int64), False):
                break
    while (p is None or len(chosen) < p) and pick(None, True):
        pass
    secs = time.perf_counter() - t0
    unmet = sum(len(np.intersect1d(chosen, r.members)) < r.min_sites for r in rules)
    return Solution(np.sort(np.asarray(chosen, np.int64)), st["total"], np.nan, np.nan, "greedy",
                    secs, rules_unmet=int(unmet))  # fmt: skip


def set_covering(
    cover: csr_matrix,
    weights: np.ndarray,
    target_share: float,
    *,
    cost: np.ndarray | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    mip_gap: float = MIP_GAP,
) -> Solution:
    """The fewest sites (least total ``cost`` when given) covering at least ``target_share`` of
    the residents in ``weights`` (all of them, reachable or not)."""
    if not 0 < target_share <= 1:
        raise InputError(f"target_share must be in (0, 1], got {target_share}")
    total = float(np.sum(weights))
    a, w = merge_demand(cover, weights)
    need = target_share * total
    if w.sum() < need - 1e-9:
        raise InfeasibleError(
            f"set covering: even every candidate together covers {w.sum():,.0f} of "
            f"{total:,.0f} residents ({w.sum() / total:.0%}), short of the target "
            f"{target_share:.0%}; add candidates nearer the uncovered residents"
        )
    n, g = a.shape
    link = hstack([-a.T, identity(g, format="csc")], format="csc")
    share_row = csr_matrix(np.r_[np.zeros(n), w][None, :])
    full = vstack([link, share_row], format="csc")
    site_cost = np.ones(n) if cost is None else np.asarray(cost, dtype=float)
    lp = _lp(full, np.r_[site_cost, np.zeros(g)], np.zeros(n + g), np.ones(n + g),
             np.r_[np.full(g, -np.inf), need], np.r_[np.zeros(g), np.inf], n, False)  # fmt: skip
    x, obj, bound, gap, status, secs, _ = _solve(lp, n, time_limit_s, mip_gap)
    if x is None:
        raise _no_plan(status, time_limit_s, f"set covering: no plan reaches {target_share:.0%}")
    chosen = _chosen(x)
    covered = float(w[np.asarray(a[chosen].sum(axis=0)).ravel() > 0].sum())
    return Solution(chosen, covered, float(bound), float(gap), status, secs)


def capacitated_covering(
    cover: csr_matrix,
    demand: np.ndarray,
    serves: np.ndarray,
    p: int | None = None,
    *,
    cost: np.ndarray | None = None,
    budget: float | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    mip_gap: float = MIP_GAP,
) -> Solution:
    """Capacitated maximal covering: a chosen site ``j`` serves at most ``serves[j]`` residents
    (its capacity × 1000 / the per-1,000 rule) among the points it covers; a point's ``demand``
    (e.g. the 2SFCA shortfall) may be split between sites. Maximises the residents served.
    ``Solution.served`` gives each chosen site's residents."""
    _check(cover, demand, p, budget, cost)
    a = csr_matrix(cover)
    a.sum_duplicates()
    n, d = a.shape
    if len(serves) != n or np.any(~np.isfinite(serves)) or np.any(np.asarray(serves) < 0):
        raise InputError("serves: one finite number of residents >= 0 per candidate is needed")
    coo = a.tocoo()
    j, i, k = coo.row, coo.col, len(coo.row)  # one y column per (site, point) pair
    ar = np.arange(k)
    # rows: Σ_j y_ji ≤ demand_i (d rows); Σ_i y_ji - serves_j x_j ≤ 0 (n rows)
    dem_rows = csr_matrix((np.ones(k), (i, n + ar)), shape=(d, n + k))
    cap_rows = csr_matrix(
        (np.r_[-np.asarray(serves, float), np.ones(k)], (np.r_[np.arange(n), j], np.r_[np.arange(n), n + ar])),
        shape=(n, n + k),
    )  # fmt: skip
    side, lo, hi = _side_rows(n, p, cost, budget, ())
    full = vstack([dem_rows, cap_rows, hstack([side, csr_matrix((side.shape[0], k))])], "csc")
    lp = _lp(full, np.r_[np.zeros(n), np.ones(k)], np.zeros(n + k),
             np.r_[np.ones(n), np.asarray(demand, float)[i]],
             np.r_[np.full(d + n, -np.inf), lo],
             np.r_[np.asarray(demand, float), np.zeros(n), hi], n, True)  # fmt: skip
    x, obj, bound, gap, status, secs, cols = _solve(lp, n, time_limit_s, mip_gap)
    if x is None:
        raise _no_plan(status, time_limit_s, _why_infeasible(n, p, cost, budget, ()))
    chosen = _chosen(x)
    per_site = np.bincount(j, weights=cols[n:], minlength=n)
    return Solution(chosen, float(obj), float(bound), float(gap), status, secs, per_site[chosen])


def greedy_gap(exact: Solution, greedy: Solution) -> float:
    """Greedy's shortfall from the exact plan, as a share of the exact plan's residents."""
    if exact.covered <= 0:
        return 0.0
    return max(0.0, (exact.covered - greedy.covered) / exact.covered)


#: The models :func:`optimal_sites` solves.
MODELS = ("mclp", "set_covering", "capacitated", "greedy")


@dataclass(frozen=True, eq=False)
class SitingPlan:
    """The sites a model chose for one category, and how they compare with greedy.

    Attributes
    ----------
    sites : GeoDataFrame (WGS84), one row per chosen candidate: ``category``,
        ``candidate_id``, ``kind`` (``"user"`` / ``"street"``), ``name``, ``capacity``,
        ``cost``, ``new_covered_pop`` (residents it newly covers, or serves in the capacitated
        model), geometry.
    model : the model solved (see :data:`MODELS`).
    solution : the solver's :class:`Solution` (status, bound, gap, seconds).
    greedy : greedy's :class:`Solution` for the same number of sites and budget (``None`` for
        set covering and when not asked for).
    greedy_gap : greedy's shortfall from the exact plan, as a share of the exact plan's
        residents (``nan`` where greedy did not run).
    """

    sites: gpd.GeoDataFrame
    model: str
    solution: Solution
    greedy: Solution | None
    greedy_gap: float


def _site_frame(problem: SitingProblem, sol: Solution, per_site: np.ndarray) -> gpd.GeoDataFrame:
    f = problem.candidates.frame.iloc[sol.chosen]
    out = gpd.GeoDataFrame(
        {
            "category": problem.category,
            "candidate_id": f["candidate_id"].to_numpy(),
            "kind": f["kind"].to_numpy(),
            "name": f["name"].to_numpy(),
            "capacity": f["capacity"].to_numpy(),
            "cost": f["cost"].to_numpy(),
            "new_covered_pop": per_site,
        },
        geometry=f.geometry.values,
        crs=f.crs,
    )
    return out.to_crs(4326)


def newly_covered(cover: csr_matrix, weights: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Residents each chosen site newly covers, counted in the order given (a point covered by
    several chosen sites counts for the first)."""
    left = np.asarray(weights, dtype=float).copy()
    m = csr_matrix(cover)
    out = np.zeros(len(chosen))
    for k, j in enumerate(chosen):
        cols = m.indices[m.indptr[j] : m.indptr[j + 1]]
        out[k] = left[cols].sum()
        left[cols] = 0.0
    return out


def optimal_sites(
    problem: SitingProblem,
    model: str = "mclp",
    p: int | None = None,
    *,
    budget: float | None = None,
    target_share: float | None = None,
    per_1000: float | None = None,
    compare_greedy: bool = True,
    time_limit_s: float = TIME_LIMIT_S,
    mip_gap: float = MIP_GAP,
) -> SitingPlan:
    """Solve one category's :class:`~lifecircle.analysis.candidates.SitingProblem`.

    ``model``: ``"mclp"`` (``p`` sites and/or ``budget``), ``"set_covering"`` (fewest sites,
    or least cost with a budget-free cost column, reaching ``target_share`` of the residents),
    ``"capacitated"`` (``p``/``budget``; each candidate serves ``capacity × 1000 / per_1000``
    residents, unlimited without a capacity) or ``"greedy"``. With ``compare_greedy`` the
    covering models also run greedy for the same ``p`` and budget and report its gap.
    """
    if model not in MODELS:
        raise InputError(f"model must be one of {MODELS}, got {model!r}")
    frame = problem.candidates.frame
    cost = frame["cost"].to_numpy(dtype=float) if budget is not None else None
    if cost is not None and np.isnan(cost).any():
        ids = list(frame.loc[np.isnan(cost), "candidate_id"][:5])
        raise InputError(f"{problem.category}: a budget needs every candidate's cost; {ids} have none")
    a, w = problem.cover, problem.weights
    greedy = None
    if model == "set_covering":
        if target_share is None:
            raise InputError("set_covering needs target_share (e.g. 0.8)")
        sol = set_covering(a, w, target_share, time_limit_s=time_limit_s, mip_gap=mip_gap)
    elif model == "capacitated":
        if per_1000 is None or per_1000 <= 0:
            raise InputError(f"capacitated: per_1000 (the category's rule) must be > 0, got {per_1000}")
        cap = frame["capacity"].to_numpy(dtype=float) * 1000.0 / per_1000
        serves = np.where(np.isnan(cap), float(np.sum(w)), cap)
        sol = capacitated_covering(a, w, serves, p, cost=cost, budget=budget,
                                   time_limit_s=time_limit_s, mip_gap=mip_gap)  # fmt: skip
    elif model == "greedy":
        sol = greedy_covering(a, w, p, cost=cost, budget=budget)
    else:
        sol = maximal_covering(a, w, p, cost=cost, budget=budget, time_limit_s=time_limit_s,
                               mip_gap=mip_gap)  # fmt: skip
    if compare_greedy and model in ("mclp", "capacitated"):
        greedy = greedy_covering(a, w, p, cost=cost, budget=budget)
    if not sol.optimal and model != "greedy":
        log.warning(
            "%s: %s stopped (%s) with a gap of %.1f%%: the plan may not be the best%s",
            problem.category, model, sol.status, 100 * sol.gap,
            f"; greedy covers {greedy.covered:,.0f} against {sol.covered:,.0f}" if greedy else "",
        )  # fmt: skip
    per_site = sol.served if model == "capacitated" else newly_covered(a, w, sol.chosen)
    gap = greedy_gap(sol, greedy) if greedy is not None and model == "mclp" else float("nan")
    return SitingPlan(_site_frame(problem, sol, per_site), model, sol, greedy, gap)


@dataclass(frozen=True)
class TargetSolution:
    """Sites chosen, period by period, so that enough communities meet the standard.

    Attributes
    ----------
    chosen : per period, the positions of the candidates built that period (ascending).
    units : the communities (positions) the plan brings up to the standard.
    status, solve_s : the solver's status and seconds.
    units_bound : the most units any plan could bring up, as the solver proved it (with
        ``units_needed=None``; equal to ``len(units)`` at the optimum).
    """

    chosen: list[np.ndarray]
    units: np.ndarray
    status: str
    solve_s: float
    units_bound: float = float("nan")


@dataclass(frozen=True)
class Period:
    """One period (year) of :func:`target_covering`: the candidates available, at most ``p``
    sites and/or ``budget``, and rules "≥ 1 of ``members``" each of which may also be met by
    a site elsewhere in the rule's area (a *filler*, costing ``filler_cost``) that covers
    nothing the target needs."""

    available: np.ndarray
    p: int | None
    budget: float | None
    rules: tuple[Rule, ...] = ()
    filler_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))


def target_covering(
    cover: csr_matrix,
    weights: np.ndarray,
    row_pair: np.ndarray,
    pair_need: np.ndarray,
    pair_unit: np.ndarray,
    units_needed: int | None,
    periods: list[Period],
    cost: np.ndarray,
    *,
    time_limit_s: float = TIME_LIMIT_S,
    mip_gap: float = MIP_GAP,
) -> TargetSolution:
    """Set covering over communities and periods: a community (a *unit*) meets the standard
    when each of its failing pairs (community × category) gets at least ``pair_need`` more
    residents within reach; ``row_pair`` gives each demand row's pair (-1: none). Chooses,
    period by period within each :class:`Period`'s limits and rules, sites (each at most once)
    so that ``units_needed`` units meet at the least total ``cost``; with ``units_needed=None``
    the most units, then the least cost. ``cover``: candidates × demand rows."""
    t0 = time.perf_counter()
    n_cand, n_units = cover.shape[0], int(pair_unit.max()) + 1 if len(pair_unit) else 0
    sub, g_w, g_pair = _pair_groups(cover, weights, row_pair)
    # of candidates covering the same groups, available in the same periods and named by the
    # same rules, the cheapest: the optimum does not change
    seen = [Rule(np.asarray(pe.available, np.int64), 0, "") for pe in periods]
    seen += [r for pe in periods for r in pe.rules]
    kept = np.zeros(n_cand, bool)
    kept[reduce_candidates(csc_matrix(sub), cost, tuple(seen))] = True
    xs = [(k, np.asarray(pe.available, np.int64)[kept[pe.available]]) for k, pe in enumerate(periods)]
    x_cand = np.concatenate([a for _, a in xs]) if xs else np.zeros(0, np.int64)
    x_per = np.concatenate([np.full(len(a), k) for k, a in xs]) if xs else np.zeros(0, np.int64)
    n_x, n_f = len(x_cand), sum(len(pe.rules) for pe in periods)
    n_z = len(g_w)
    n = n_x + n_f + n_units + n_z
    fcost = np.concatenate([np.asarray(pe.filler_cost, float) for pe in periods]) if n_f else np.zeros(0)
    f_per = np.concatenate([np.full(len(pe.rules), k) for k, pe in enumerate(periods)]) if n_f else np.zeros(0, int)
    blocks, lo, hi = [], [], []

    def add(m: csr_matrix, low: np.ndarray, high: np.ndarray) -> None:
        blocks.append(csr_matrix(m, shape=(m.shape[0], n)))
        lo.append(np.asarray(low, float))
        hi.append(np.asarray(high, float))

    ones = np.ones(n_x)
    # each candidate at most once over the periods
    add(csr_matrix((ones, (x_cand, np.arange(n_x))), shape=(n_cand, n)), np.full(n_cand, -np.inf), np.ones(n_cand))
    # z_r <= Σ a_jr x_jp
    link = -csr_matrix(sub[x_cand].T)
    add(hstack([link, csr_matrix((n_z, n_f + n_units)), identity(n_z, format="csr")], format="csr"),
        np.full(n_z, -np.inf), np.zeros(n_z))  # fmt: skip
    # Σ_{r in pair} w_r z_r - need_q u_unit(q) >= 0
    n_q = len(pair_need)
    m = csr_matrix(
        (np.r_[g_w, -np.asarray(pair_need, float)],
         (np.r_[g_pair, np.arange(n_q)], np.r_[n_x + n_f + n_units + np.arange(n_z), n_x + n_f + pair_unit])),
        shape=(n_q, n),
    )  # fmt: skip
    add(m, np.zeros(n_q), np.full(n_q, np.inf))
    _period_rows(periods, x_cand, x_per, np.r_[cost[x_cand], fcost], f_per, n, add)
    site_cost = np.r_[cost[x_cand], fcost]
    scale = max(float(site_cost.max()) if len(site_cost) else 1.0, 1e-12)
    obj = np.r_[site_cost / scale, np.zeros(n_units + n_z)]
    unit_w, start = n_x + n_f + 1.0, None
    if units_needed is None:  # most units first, then the least cost; start: the fillers alone
        obj = np.r_[-obj[: n_x + n_f], np.full(n_units, unit_w), np.zeros(n_z)]
        start = np.r_[np.zeros(n_x), np.ones(n_f), np.zeros(n_units + n_z)]
    else:
        add(csr_matrix(np.r_[np.zeros(n_x + n_f), np.ones(n_units), np.zeros(n_z)][None, :]),
            [float(units_needed)], [np.inf])  # fmt: skip
    full = vstack(blocks, format="csc")
    n_int = n_x + n_f + n_units
    lp = _lp(full, obj, np.zeros(n), np.ones(n), np.concatenate(lo), np.concatenate(hi),
             n_int, units_needed is None)  # fmt: skip
    x, _, bound, _, status, secs, cols = _solve(lp, n_int, time_limit_s, mip_gap, start)
    if x is None:
        raise _no_plan(status, time_limit_s, f"no plan brings {units_needed} more communities up to the standard")
    chosen = [np.sort(x_cand[(x_per == k) & (x[:n_x] > 0.5)]) for k in range(len(periods))]
    units = np.flatnonzero(x[n_x + n_f : n_int] > 0.5)
    log.debug("target covering: %d site × period columns, %d units, %d row groups: %s in %.2f s",
              n_x, n_units, n_z, status, time.perf_counter() - t0)  # fmt: skip
    # the objective is unit_w · units − cost with 0 <= cost < unit_w, so a bound B on it allows at
    # most ceil(B / unit_w) units
    proved = units_needed is not None or status == "optimal"
    units_bound = float(len(units)) if proved else np.ceil(bound / unit_w - 1e-6)
    return TargetSolution(chosen, units, status, secs, float(units_bound))


def _period_rows(periods: list[Period], x_cand: np.ndarray, x_per: np.ndarray, site_cost: np.ndarray,
                 f_per: np.ndarray, n: int, add: Callable[..., None]) -> None:  # fmt: skip
    """Each period's rows of :func:`target_covering`: at most ``p`` sites, the budget, and each
    rule (its members that period, or its filler) — columns: the site × period pairs, then the
    fillers."""
    n_x, n_f = len(x_cand), len(f_per)
    in_sites = np.r_[np.ones(n_x), np.ones(n_f), np.zeros(n - n_x - n_f)]
    money = np.r_[site_cost, np.zeros(n - n_x - n_f)]
    per = np.r_[x_per, f_per, np.full(n - n_x - n_f, -1)]
    f0 = 0
    for k, pe in enumerate(periods):
        if pe.p is not None:
            add(csr_matrix((in_sites * (per == k))[None, :]), [-np.inf], [pe.p])
        if pe.budget is not None:
            add(csr_matrix((money * (per == k))[None, :]), [-np.inf], [pe.budget])
        pos = {int(c): i for i, c in enumerate(x_cand) if x_per[i] == k}
        for r in pe.rules:
            row = np.zeros(n)
            row[[pos[int(j)] for j in r.members if int(j) in pos]] = 1.0
            row[n_x + f0] = 1.0
            f0 += 1
            add(csr_matrix(row[None, :]), [float(r.min_sites)], [np.inf])


def _pair_groups(cover: csr_matrix, weights: np.ndarray,
                 row_pair: np.ndarray) -> tuple[csc_matrix, np.ndarray, np.ndarray]:  # fmt: skip
    """The rows of each pair (``row_pair`` >= 0) merged where the same candidates cover them
    (:func:`merge_demand` with the pair as one more "candidate"): candidates × groups, the
    residents of each group, its pair."""
    rows = np.flatnonzero(row_pair >= 0)
    n_cand = cover.shape[0]
    sub = csc_matrix(cover)[:, rows]
    tag = csc_matrix((np.ones(len(rows)), (row_pair[rows], np.arange(len(rows)))),
                     shape=(int(row_pair.max()) + 1 if len(rows) else 0, len(rows)))  # fmt: skip
    merged, g_w = merge_demand(vstack([sub, tag], format="csr"), np.asarray(weights, float)[rows])
    merged = csc_matrix(merged)
    last = merged.indices[merged.indptr[1:] - 1]  # the pair tag: the largest row of each group
    return csc_matrix(merged[:n_cand]), g_w, last - n_cand
