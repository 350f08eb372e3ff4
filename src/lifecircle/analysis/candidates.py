"""Candidate places for new facilities and whom each could serve on foot.

A planner's candidates (idle public buildings, land parcels of the 国土空间 plan, community
service centres that could add a function) come as points or polygons with optional
``capacity``, ``cost``, ``earliest_year`` and ``categories`` (which categories the place can
host). Without them, street points next to uncovered residents are generated (``kind`` =
``"street"``, the fallback of :func:`~lifecircle.analysis.siting.propose_sites`).

A polygon is placed at the point of its outline nearest to the walking network (its entrance on
the street side), then snapped to the edge like every other point; the coverage of a candidate
is the sparse set of demand points within the category's threshold on the network
(:meth:`~lifecircle.WalkNetwork.pairs`, edge-snapped on both sides).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from .._errors import InputError
from .._text import compact
from ..network import Snapped, WalkNetwork
from ..standards import Category
from .access import Access
from .coverage import group_weights

#: Columns of :attr:`Candidates.frame` (besides geometry).
CANDIDATE_COLUMNS = ["candidate_id", "kind", "name", "capacity", "cost", "earliest_year",
                     "categories"]  # fmt: skip

#: Headers users may give for each candidate column (Chinese or English, compared folded).
CANDIDATE_HEADERS = {
    "candidate_id": ("candidate_id", "id", "编号", "候选编号"),
    "name": ("name", "名称", "地点", "候选名称"),
    "capacity": ("capacity", "容量", "规模", "床位", "托位"),
    "cost": ("cost", "cost_wan", "投资", "造价", "投资万元"),
    "earliest_year": ("earliest_year", "year", "最早年份", "可用年份"),
    "categories": ("categories", "category", "可设类别", "类别", "功能"),
}


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate places, in the network's metric CRS.

    Attributes
    ----------
    frame : GeoDataFrame (metric CRS), one row per candidate: ``candidate_id``, ``kind``
        (``"user"`` or ``"street"``: generated, the fallback), ``name``, ``capacity`` (NaN: not
        limited), ``cost`` (NaN: none given), ``earliest_year`` (NaN: any year), ``categories``
        (a tuple of category ids, empty: any category), geometry (the point used).
    snapped : the candidates snapped to the network (rows of :attr:`frame`).
    """

    frame: gpd.GeoDataFrame
    snapped: Snapped

    def __len__(self) -> int:
        return len(self.frame)

    def can_host(self, category: str, year: int | None = None) -> np.ndarray:
        """Boolean mask: candidates that may host ``category`` (in ``year``, if given)."""
        cats = self.frame["categories"].to_numpy()
        ok = np.fromiter((not c or category in c for c in cats), bool, count=len(cats))
        ok &= self.snapped.ok
        if year is not None:
            ey = self.frame["earliest_year"].to_numpy(dtype=float)
            ok &= ~(ey > year)
        return ok


def _column(frame: pd.DataFrame, name: str) -> str | None:
    """The user's column holding candidate field ``name`` (None if absent)."""
    wanted = {compact(h) for h in CANDIDATE_HEADERS[name]}
    for col in frame.columns:
        if compact(str(col)) in wanted:
            return str(col)
    return None


def _categories(value: object, row: object, known: set[str] | None) -> tuple[str, ...]:
    """A cell of the categories column as a tuple of ids (comma/、/; separated or a list)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace("、", ",").replace(";", ",").split(",")]
    else:
        parts = [str(p).strip() for p in value]  # type: ignore[union-attr]
    parts = [p for p in parts if p]
    if known is not None:
        bad = [p for p in parts if p not in known]
        if bad:
            raise InputError(
                f"candidates row {row!r}: unknown categories {bad}; use the profile's ids "
                f"({', '.join(sorted(known))}) or leave the cell empty for any category"
            )
    return tuple(parts)


def _numbers(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric candidate field (NaN where empty); a cell that is not a number is an error."""
    col = _column(frame, name)
    if col is None:
        return np.full(len(frame), np.nan)
    raw = frame[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        rows = list(frame.index[bad.to_numpy()][:5])
        raise InputError(f"candidates column {col!r}: rows {rows} are not numbers; fix or empty them")
    if (num < 0).any():
        rows = list(frame.index[(num < 0).to_numpy()][:5])
        raise InputError(f"candidates column {col!r}: rows {rows} are negative")
    return num.to_numpy(dtype=float)


def _street_side_points(network: WalkNetwork, geoms: np.ndarray) -> np.ndarray:
    """Points as they are; polygons (and lines) at their point nearest to the network."""
    out = geoms.copy()
    other = shapely.get_type_id(geoms) != 0
    if other.any():
        tree = shapely.STRtree(network.edges.geometry.values)
        idx = tree.nearest(geoms[other])
        lines = shapely.shortest_line(geoms[other], network.edges.geometry.values[idx])
        out[other] = shapely.get_point(lines, 0)
    return out


def user_candidates(
    network: WalkNetwork,
    places: gpd.GeoDataFrame,
    max_snap_m: float,
    categories: list[str] | None = None,
) -> Candidates:
    """The planner's candidate places (points or polygons, any CRS) snapped to ``network``.

    Columns are optional and recognised by English or Chinese header (see
    :data:`CANDIDATE_HEADERS`): ``capacity`` (beds, places or m², the unit of the category's
    per-1,000 rule), ``cost`` (any currency unit, the budget's), ``earliest_year``,
    ``categories`` (ids, comma-separated; empty: any). ``categories`` (the profile's ids) lets
    unknown ids in that column be reported with their row.
    """
    if not isinstance(places, gpd.GeoDataFrame) or len(places) == 0:
        raise InputError("candidates: give a non-empty GeoDataFrame of points or polygons")
    if places.crs is None:
        raise InputError("candidates: the frame has no CRS; set it, e.g. .set_crs(4326)")
    geoms = np.asarray(places.to_crs(network.crs).geometry.values)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(f"candidates: rows {list(places.index[empty][:5])} have no geometry")
    pts = _street_side_points(network, geoms)
    known = set(categories) if categories is not None else None
    cat_col = _column(places, "categories")
    cats = [
        _categories(places.at[i, cat_col], i, known) if cat_col else () for i in places.index
    ]
    id_col, name_col = _column(places, "candidate_id"), _column(places, "name")
    frame = gpd.GeoDataFrame(
        {
            "candidate_id": places[id_col].astype(str).to_numpy()
            if id_col else [f"C{i + 1}" for i in range(len(places))],
            "kind": "user",
            "name": places[name_col].to_numpy() if name_col else None,
            "capacity": _numbers(places, "capacity"),
            "cost": _numbers(places, "cost"),
            "earliest_year": _numbers(places, "earliest_year"),
            "categories": cats,
        },
        geometry=pts,
        crs=network.crs,
        index=places.index,
    )  # fmt: skip
    snapped = network.snap(frame, max_snap_m, what="candidates")
    return Candidates(frame.reset_index(drop=True), snapped.take(np.arange(len(frame))))


def street_candidates(network: WalkNetwork, points: Snapped, cell_m: float) -> Candidates:
    """Generated candidates: the street points nearest to ``points`` (uncovered residents),
    thinned to one per ``cell_m`` grid cell; ``kind`` = ``"street"``."""
    ok = points.take(points.ok)
    cell = np.floor(ok.snapped_xy / cell_m).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    cand = ok.take(np.sort(first)).on_street()
    n = len(cand)
    frame = gpd.GeoDataFrame(
        {
            "candidate_id": [f"G{i + 1}" for i in range(n)],
            "kind": "street",
            "name": None,
            "capacity": np.full(n, np.nan),
            "cost": np.full(n, np.nan),
            "earliest_year": np.full(n, np.nan),
            "categories": [()] * n,
        },
        geometry=shapely.points(cand.snapped_xy),
        crs=network.crs,
    )
    return Candidates(frame, cand)


def cover_matrix(
    network: WalkNetwork, candidates: Candidates, demand: Snapped, threshold_m: float
) -> csr_matrix:
    """Sparse candidate × demand-point matrix: 1 where the network distance is within
    ``threshold_m`` (edge-snapped on both sides; unsnapped points cover and are covered by none).
    """
    p = network.pairs(candidates.snapped, demand, threshold_m)
    m = csr_matrix(
        (np.ones(len(p)), (p.source, p.target)), shape=(len(candidates), len(demand))
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def take(candidates: Candidates, rows: np.ndarray) -> Candidates:
    """The candidates at positions (or boolean mask) ``rows``, in that order."""
    rows = np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    return Candidates(candidates.frame.iloc[rows].reset_index(drop=True), candidates.snapped.take(rows))


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """One category's siting problem: the residents to reach and the candidates that could.

    Attributes
    ----------
    category : category id; ``threshold_m`` its walking threshold.
    points : positions (in the analysis' demand points) of the points to reach.
    weights : residents to reach at each of them (target group; for the capacitated model the
        2SFCA shortfall is added, see :func:`siting_problem`).
    candidates : the candidates that may host the category (generated when none were given).
    cover : sparse candidates × ``points`` matrix, 1 within the threshold on the network.
    """

    category: str
    threshold_m: float
    points: np.ndarray
    weights: np.ndarray
    candidates: Candidates
    cover: csr_matrix


def siting_problem(
    network: WalkNetwork,
    demand: pd.DataFrame,
    access: Access,
    category: Category,
    threshold_m: float,
    candidates: Candidates | None = None,
    *,
    short_share: pd.Series | None = None,
    assessed: np.ndarray | None = None,
    cell_m: float = 25.0,
) -> SitingProblem:
    """The target residents beyond ``threshold_m`` of every facility of ``category`` and the
    candidates (those that may host it; street points near them when ``candidates`` is None).

    ``short_share`` (per community id, 0–1): the 2SFCA capacity shortfall as a share of the
    community's target residents; residents within reach in those communities then count with
    that share (the capacitated model's demand). ``assessed`` (per demand point): points without
    data for the category are left out.
    """
    w, _ = group_weights(demand, category.target_group)
    far = access.distance_m[:, access.column(category.id)] > threshold_m
    need = np.where(far, w, 0.0)
    if short_share is not None:
        share = demand["community_id"].map(short_share).fillna(0.0).to_numpy(dtype=float)
        need = np.where(far, w, w * np.clip(share, 0, 1))
    ok = access.demand.ok & (need > 0)
    if assessed is not None:
        ok &= assessed
    points = np.flatnonzero(ok)
    target = access.demand.take(points)
    if candidates is None:
        cands = street_candidates(network, target, cell_m)
    else:
        cands = take(candidates, candidates.can_host(category.id))
    cover = cover_matrix(network, cands, target, threshold_m)
    return SitingProblem(category.id, threshold_m, points, need[points], cands, cover)


def capacity_short_share(coverage: pd.DataFrame, category: str) -> pd.Series:
    """Per community id, the 2SFCA capacity shortfall of ``category`` as a share of its target
    residents: ``1 − supply_per_1000 / capacity_threshold_per_1000`` where the community misses
    the per-1,000 rule, else 0 (the demand :func:`siting_problem` gives the capacitated model)."""
    rows = coverage[coverage["category"] == category]
    ratio = rows["supply_per_1000"] / rows["capacity_threshold_per_1000"]
    short = np.where(rows["meets_capacity"].to_numpy() == False, 1 - ratio.clip(0, 1), 0.0)  # noqa: E712
    return pd.Series(short, index=rows["community_id"].to_numpy(), dtype=float)
