"""Siting: where new facilities would cover the most target residents who are not covered now.

Greedy maximal covering on the network (a (1 − 1/e)-approximation of the optimum). Candidates
are the network nodes near uncovered residents and the points on the street nearest to uncovered
demand points (thinned to one per ``candidate_cell_m`` cell); a candidate covers a demand point if
their network distance is within the category's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from .._progress import progress
from ..network import Snapped, WalkNetwork
from ..standards import Category
from .access import Access
from .coverage import HIERARCHY, group_weights

#: Columns of :attr:`Sites.cover`.
COVER_COLUMNS = ["category", "site_rank", "community_id", "pop"]
#: Columns of a site row as :func:`propose_sites` makes it (then the place and the site groups).
_ROW_COLUMNS = ["category", "category_zh", "level", "site_rank", "new_covered_pop",
                "target_group", "community_id", "served_communities"]  # fmt: skip


@dataclass(frozen=True)
class Sites:
    """Proposed sites and whom they serve.

    Attributes
    ----------
    frame : GeoDataFrame (WGS84), one row per site: ``category``, ``category_zh``, ``level``,
        ``site_rank``, ``new_covered_pop``, ``target_group`` (whose residents it counts: the
        category's group, or ``total`` where some of them were counted as all residents for
        want of age data, as in the coverage table), ``community_id`` (the community it serves most),
        ``served_communities`` (ids served, comma-separated), that community's hierarchy,
        ``site_id``, ``uses_zh``/``uses_en``, geometry.
    cover : DataFrame ``category``, ``site_rank``, ``community_id``, ``pop``: the target
        residents of each community each site newly covers.
    """

    frame: gpd.GeoDataFrame
    cover: pd.DataFrame


@dataclass(frozen=True)
class SitingParams:
    """How sites are proposed: at most ``max_sites`` per category while a site newly covers at
    least ``min_new_pop`` residents; street candidates thinned to one per ``candidate_cell_m``."""

    max_sites: int = 10
    min_new_pop: float = 1.0
    candidate_cell_m: float = 25.0


def _candidates(
    network: WalkNetwork, uncovered: Snapped, thr: float, cell_m: float
) -> tuple[csr_matrix, np.ndarray]:
    """Candidate × uncovered-point cover matrix and the candidates' coordinates (metric)."""
    # candidates 1: nodes within the threshold of an uncovered point (symmetric network)
    reach = network.reach(uncovered, thr)
    nodes = np.unique(reach.node)
    node_pos = np.searchsorted(nodes, reach.node)
    # candidates 2: street points next to uncovered demand points, one per cell
    cell = np.floor(uncovered.snapped_xy / cell_m).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    cand = uncovered.take(np.sort(first)).on_street()
    pairs = network.pairs(cand, uncovered, thr)
    m = csr_matrix(
        (
            np.ones(len(node_pos) + len(pairs)),
            (
                np.concatenate([node_pos, len(nodes) + pairs.source]),
                np.concatenate([reach.origin, pairs.target]),
            ),
        ),
        shape=(len(nodes) + len(cand), len(uncovered)),
    )
    m.data[:] = 1.0  # duplicates summed above: a cover is a cover
    node_xy = shapely.get_coordinates(network.nodes.geometry.values[nodes])
    return m, np.vstack([node_xy.reshape(-1, 2), cand.snapped_xy])


def greedy_cover(
    m: csr_matrix, weights: np.ndarray, max_sites: int, min_new_pop: float
) -> list[tuple[int, float, np.ndarray]]:
    """Greedy maximal covering: (candidate, gain, newly covered columns) per round, until
    ``max_sites`` or the gain drops below ``min_new_pop`` (ties: the lowest candidate)."""
    remaining = weights.copy()
    out = []
    for _ in range(max_sites):
        gain = m @ remaining
        best = int(np.argmax(gain))  # argmax takes the lowest index on ties
        if gain[best] < min_new_pop:
            break
        row = m.getrow(best)
        served = row.indices[remaining[row.indices] > 0]
        out.append((best, float(gain[best]), served))
        remaining[served] = 0.0
    return out


def propose_sites(
    network: WalkNetwork,
    demand: pd.DataFrame,
    access: Access,
    cats: list[Category],
    thresholds: dict[str, float],
    communities: gpd.GeoDataFrame,
    params: SitingParams,
    assessed: np.ndarray | None = None,
) -> Sites:
    """Greedy sites per category for the residents beyond the category's threshold.

    ``assessed`` (n_points × n_categories, optional): points whose street has no data for a
    category (see :mod:`~lifecircle.analysis.datastatus`) are not sited for.
    """
    cid = demand["community_id"].to_numpy()
    rows, covers, geoms = [], [], []
    for c in progress(cats, desc="siting"):
        thr = thresholds[c.id]
        w, fallback = group_weights(demand, c.target_group)
        far = access.distance_m[:, access.column(c.id)] > thr
        ok = access.demand.ok
        if assessed is not None:
            ok = ok & assessed[:, access.column(c.id)]
        unc = np.flatnonzero(far & (w > 0) & ok)
        if len(unc) == 0:
            continue
        m, cand_xy = _candidates(network, access.demand.take(unc), thr, params.candidate_cell_m)
        chosen = greedy_cover(m, w[unc], params.max_sites, params.min_new_pop)
        remaining = w[unc].copy()
        for rank, (best, gain, served) in enumerate(chosen, start=1):
            pop = pd.Series(remaining[served], index=cid[unc[served]]).groupby(level=0).sum()
            remaining[served] = 0.0
            main = pop.sort_values(ascending=False, kind="stable").index[0]
            group = "total" if fallback[unc[served]].any() else c.target_group
            rows.append(
                {"category": c.id, "category_zh": c.name_zh, "level": c.level,
                 "site_rank": rank, "new_covered_pop": gain, "target_group": group,
                 "community_id": main, "served_communities": ",".join(sorted(pop.index))}
            )  # fmt: skip
            geoms.append(shapely.Point(cand_xy[best]))
            covers.extend(
                {"category": c.id, "site_rank": rank, "community_id": k, "pop": v}
                for k, v in pop.items()
            )
    # the same columns with no site at all (max_sites=0, nothing uncovered): code reading them
    # (by category, the pool, the map) must not meet a frame without columns
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=_ROW_COLUMNS), geometry=geoms,
                             crs=network.crs)  # fmt: skip
    h = communities.set_index("community_id")[[k for k in HIERARCHY if k != "community_id"]]
    sites = _site_groups(sites.join(h, on="community_id"), cats)
    return Sites(sites.to_crs(4326), pd.DataFrame(covers, columns=COVER_COLUMNS))


def _site_groups(sites: gpd.GeoDataFrame, cats: list[Category]) -> gpd.GeoDataFrame:
    """``site_id`` (S1, S2 … in order of choice) shared by sites of different categories at the
    same spot (within 1 m), and ``uses_zh``/``uses_en``: every category proposed there."""
    xy = np.round(shapely.get_coordinates(sites.geometry.values)).astype(np.int64)
    _, first, inverse = np.unique(xy, axis=0, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))  # groups numbered by their first site
    sites["site_id"] = [f"S{rank[g] + 1}" for g in inverse.ravel()]
    en = {c.id: c.name_en for c in cats}
    groups = sites.groupby("site_id", sort=False)
    sites["uses_zh"] = groups["category_zh"].transform(lambda v: "、".join(dict.fromkeys(v)))
    sites["uses_en"] = groups["category"].transform(
        lambda v: ", ".join(dict.fromkeys(en[c] for c in v))
    )
    return sites
