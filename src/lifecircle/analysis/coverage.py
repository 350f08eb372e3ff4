"""Coverage: one row per community × category — who lives within the category's threshold.

Levels are checked one by one: a category is only satisfied by facilities of that category, so a
15-minute facility never satisfies a 5-minute need (GB 50180-2018: "各层级配套设施的设置为非包含关系").
Group reductions run with numpy on points sorted by community, once per category.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numba import njit

from ..communities import GROUP_COLUMNS
from ..network.kernels import announce_compile
from ..standards import Category
from .access import Access
from .datastatus import NO_DATA, PRESENT

#: The administrative columns every result table carries, county first.
HIERARCHY = [
    "county_code",
    "county_name",
    "street_code",
    "street_name",
    "community_id",
    "community_code",
    "community_name",
]


def group_weights(demand: pd.DataFrame, group: str) -> tuple[np.ndarray, np.ndarray]:
    """Residents of a target group at each demand point, and where the total was used instead
    (no age data for the group)."""
    col = "pop" if group == "total" else GROUP_COLUMNS[group]
    w = demand[col].to_numpy(dtype=float)
    fallback = ~np.isfinite(w)
    return np.where(fallback, demand["pop"].to_numpy(dtype=float), w), fallback


def distance_verdict(
    covered_pop: np.ndarray, group_pop: np.ndarray, min_covered_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """(covered share, meets the distance standard) of community × category rows: met when at
    least ``min_covered_share`` of the target residents are covered; a row without residents of
    the group has nothing to cover (met, share NaN)."""
    cp, gp = np.asarray(covered_pop, dtype=float), np.asarray(group_pop, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(gp > 0, cp / np.where(gp > 0, gp, 1.0), np.nan)
    return share, (share >= min_covered_share) | (gp <= 0)


@dataclass
class _ByCommunity:
    """Per community × category reductions (arrays of shape n_communities × n_categories)."""

    ids: pd.Index
    group_pop: np.ndarray
    covered_pop: np.ndarray
    distance_m: np.ndarray
    distance_min_m: np.ndarray
    distance_max_m: np.ndarray
    nearest: np.ndarray
    fallback: np.ndarray
    unsnapped: np.ndarray


@dataclass(frozen=True, eq=False)
class PointGroups:
    """The demand points by community: ``codes``, each point's community as a position in
    ``ids``, the community ids sorted (the coverage table's community order). Made once per
    analysis (:func:`point_groups`); a scenario, with the same demand, reuses them."""

    codes: np.ndarray
    ids: pd.Index


def point_groups(demand: pd.DataFrame) -> PointGroups:
    """The :class:`PointGroups` of ``demand``'s points."""
    codes, ids = pd.factorize(demand["community_id"], sort=True)
    return PointGroups(codes, pd.Index(ids))


def _reduce(
    groups: PointGroups,
    weights: dict[str, tuple[np.ndarray, np.ndarray]],
    cats: list[Category],
    distance_m: np.ndarray,
    nearest: np.ndarray,
    too_far: np.ndarray,
    thresholds: dict[str, float],
    only: np.ndarray | None = None,
    pairs: np.ndarray | None = None,
) -> tuple[_ByCommunity, np.ndarray]:
    """The reductions over the demand points (rows of ``distance_m``, ``nearest`` and
    ``too_far``, not snapped; their residents per target group in ``weights``,
    :func:`group_weights`): each community's figures come from its own points only, in their
    order. ``only``: positions of the communities to reduce (sorted; default all); ``pairs``
    (those communities × categories, bool): reduce only these, the other entries are left NaN
    (``None``, ``False``). Also returns each community's first point (its data status is the
    community's)."""
    codes = groups.codes
    if only is None:
        ids, points = groups.ids, np.arange(len(codes))
    else:  # the points of those communities, numbered by their position in ``only``
        local = np.full(len(groups.ids), -1, dtype=np.int64)
        local[only] = np.arange(len(only))
        points = np.flatnonzero(local[codes] >= 0)
        ids, codes = groups.ids[only], local[codes[points]]
    n_c, n_k = len(ids), len(cats)
    order = np.argsort(codes, kind="stable")  # points by community, in their order within
    grouped, gc = points[order], codes[order]  # positions in the whole arrays; community
    r = _ByCommunity(
        ids, *(np.full((n_c, n_k), np.nan) for _ in range(5)),
        nearest=np.full((n_c, n_k), None, dtype=object),
        fallback=np.zeros((n_c, n_k), dtype=bool),
        unsnapped=np.bincount(codes, weights=too_far[points].astype(float), minlength=n_c),
    )  # fmt: skip
    for j, c in enumerate(cats):
        # the points of the communities to reduce, grouped by community (a community's sums
        # add its points in their order, whatever the rows around them: the same bits)
        g, gcj = (grouped, gc) if pairs is None else (grouped[pairs[gc, j]], gc[pairs[gc, j]])
        if len(g) == 0:
            continue
        starts = np.flatnonzero(np.r_[True, gcj[1:] != gcj[:-1]])
        sizes = np.diff(np.r_[starts, len(gcj)])
        comm = gcj[starts]
        w, fb = weights[c.target_group]
        w, fb, d = w[g], fb[g], distance_m[g, j]
        total = np.bincount(gcj, weights=w, minlength=n_c)[comm]
        r.group_pop[comm, j] = total
        covered = np.where(d <= thresholds[c.id], w, 0.0)
        r.covered_pop[comm, j] = np.bincount(gcj, weights=covered, minlength=n_c)[comm]
        r.fallback[comm, j] = np.bincount(gcj, weights=fb.astype(float), minlength=n_c)[comm] > 0
        # sort by community, then distance (then position: deterministic ties)
        o = _segment_order(d, starts, sizes)
        ds, ws = d[o], w[o]
        r.distance_min_m[comm, j] = ds[starts]
        r.distance_max_m[comm, j] = ds[starts + sizes - 1]
        r.nearest[comm, j] = nearest[g[o[starts]], j]
        # population-weighted median: first point whose cumulative weight reaches half
        cw = _segment_cumsum(ws, starts, sizes)
        at = np.where(cw >= np.repeat(total / 2.0, sizes), np.arange(len(cw)), len(cw))
        pos = np.minimum.reduceat(at, starts)
        last = starts + sizes - 1
        pos = np.where(total > 0, np.clip(pos, starts, last), starts + (sizes - 1) // 2)
        r.distance_m[comm, j] = ds[pos]
    first = np.full(n_c, -1, dtype=np.int64)  # each community's first point
    starts = np.flatnonzero(np.r_[True, gc[1:] != gc[:-1]]) if len(gc) else np.zeros(0, int)
    first[gc[starts]] = grouped[starts]
    return r, first


@njit(cache=True)
def _segment_order(values, starts, sizes):  # pragma: no cover - compiled
    """Positions that sort ``values`` within each segment (``starts``, ``sizes``), stably: the
    order of ``np.lexsort((positions, values, segment))`` for values grouped by segment."""
    out = np.empty(values.shape[0], np.int64)
    for i in range(starts.shape[0]):
        s, n = starts[i], sizes[i]
        out[s : s + n] = s + np.argsort(values[s : s + n], kind="mergesort")
    return out


@njit(cache=True)
def _segment_cumsum(w, starts, sizes):  # pragma: no cover - compiled
    """The running sum of ``w`` within each segment (``starts``, ``sizes``), added up from the
    segment's own start: the same bits whatever precedes the segment (a region's run and the
    whole area's give the same medians; a global running sum would round differently)."""
    out = w.astype(np.float64)
    for i in range(starts.shape[0]):
        s = starts[i]
        for k in range(s + 1, s + sizes[i]):
            out[k] += out[k - 1]
    return out


def coverage_table(
    demand: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    cats: list[Category],
    access: Access,
    thresholds: dict[str, float],
    min_covered_share: float,
    point_status: np.ndarray | None = None,
    only: np.ndarray | None = None,
    pairs: np.ndarray | None = None,
    groups: PointGroups | None = None,
) -> pd.DataFrame:
    """One row per community × category (community order, then the profile's category order):
    distances (population-weighted median, min, max), target residents, covered and uncovered
    residents, covered share and ``meets_distance``; with ``point_status`` (see
    :mod:`~lifecircle.analysis.datastatus`) also ``data_status`` and ``assessed``. ``groups``:
    :func:`point_groups` of ``demand`` when already made. ``only``: the communities to make
    rows for (a scenario's changed ones; sorted positions in ``groups.ids``): the reductions
    then run over those communities' points only, which gives their rows of the whole table bit
    for bit (each community's figures come from its own points, in their order). ``pairs``:
    with ``only``, which of its communities × ``cats`` to compute; the figures of the other
    rows are left NaN, for a caller that keeps the rows it had."""
    n_k = len(cats)
    if point_status is None:
        point_status = np.full((len(demand), n_k), PRESENT, dtype=object)
    groups = point_groups(demand) if groups is None else groups
    weights = {g: group_weights(demand, g) for g in dict.fromkeys(c.target_group for c in cats)}
    announce_compile(_segment_order, _segment_cumsum)
    r, first = _reduce(
        groups, weights, cats, access.distance_m, access.nearest, access.demand.too_far,
        thresholds, only, pairs,
    )  # fmt: skip
    status = point_status[first]  # a community's status is its street's (the first point's)
    n_c = len(r.ids)
    comm = communities.set_index("community_id").reindex(r.ids)
    places = [h for h in HIERARCHY if h != "community_id"] + ["population", "pop_estimated"]

    def tile(values: list[Any]) -> np.ndarray:
        return np.tile(np.asarray(values, dtype=object), n_c)

    gp, cp = r.group_pop.ravel(), r.covered_pop.ravel()
    share, meets = distance_verdict(cp, gp, min_covered_share)
    columns = {  # one frame made at once: cheaper than setting its columns one by one
        "community_id": np.repeat(np.asarray(r.ids, dtype=object), n_k),
        **{h: np.repeat(comm[h].to_numpy(), n_k) for h in places},
        "category": tile([c.id for c in cats]),
        "category_zh": tile([c.name_zh for c in cats]),
        "category_en": tile([c.name_en for c in cats]),
        "level": tile([c.level for c in cats]),
        "required": np.tile(np.array([bool(c.required) for c in cats]), n_c),
        "target_group": np.where(r.fallback.ravel(), "total", tile([c.target_group for c in cats])),
        "threshold_m": np.tile(np.array([thresholds[c.id] for c in cats]), n_c),
        "distance_m": r.distance_m.ravel(),
        "distance_min_m": r.distance_min_m.ravel(),
        "distance_max_m": r.distance_max_m.ravel(),
        "nearest_facility": r.nearest.ravel(),
        "group_pop": gp,
        "covered_pop": cp,
        "uncovered_pop": np.clip(gp - cp, 0, None),
        "covered_share": share,
        "meets_distance": meets,
        "unsnapped_points": np.repeat(r.unsnapped.astype(int), n_k),
        "data_status": status.ravel(),
        "assessed": status.ravel() != NO_DATA,
    }
    cov = pd.DataFrame(columns)
    return cov
