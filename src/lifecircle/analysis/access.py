"""Access: the network distance from every demand point to the nearest facility of every
category — every point snapped once, then **one** multi-source shortest-path pass per category."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from .._progress import progress
from ..network import Snapped, WalkNetwork


@dataclass(frozen=True, eq=False)
class Access:
    """Distances from demand points to the nearest facility of each category.

    Attributes
    ----------
    categories : category ids, the columns of :attr:`distance_m`.
    demand : the demand points snapped to the network.
    facilities : the facilities snapped to the network (``None`` without facilities).
    facility_category : category id of each facility (rows of :attr:`facilities`).
    distance_m : (n_points, n_categories) network distance to the nearest facility, ``inf``
        where none is reachable or the point is unsnapped.
    nearest : (n_points, n_categories) id of that facility (``None`` where none).
    """

    categories: tuple[str, ...]
    demand: Snapped
    facilities: Snapped | None
    facility_category: np.ndarray
    distance_m: np.ndarray
    nearest: np.ndarray

    def column(self, category: str) -> int:
        """Column of ``category`` in :attr:`distance_m`."""
        return self.categories.index(category)

    def facilities_of(self, category: str) -> Snapped | None:
        """The snapped facilities of one category (``None`` if there are none)."""
        if self.facilities is None:
            return None
        rows = np.flatnonzero(self.facility_category == category)
        return self.facilities.take(rows) if len(rows) else None


def compute_access(
    network: WalkNetwork,
    demand_points: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    categories: tuple[str, ...],
    max_snap_m: float,
    facility_gates: gpd.GeoDataFrame | None = None,
) -> Access:
    """Snap demand points and facilities once; one nearest-facility search per category.

    ``facility_gates``: entrances of the facilities (column ``facility_id``, e.g.
    :func:`lifecircle.facilities.gates`); a facility with usable gates is entered through its
    nearest gate instead of from the street nearest to it (:meth:`WalkNetwork.snap_through_gates`).
    :attr:`Access.facilities` stays one row per facility.
    """
    demand = network.snap(demand_points, max_snap_m, what="demand points")
    fac = network.snap(facilities, max_snap_m, what="facilities") if len(facilities) else None
    fac_cat = facilities["category"].to_numpy() if len(facilities) else np.array([], dtype=object)
    fac_ids = np.asarray(facilities.index, dtype=object)
    via, via_rows = fac, np.arange(len(facilities))
    if fac is not None and facility_gates is not None and len(facility_gates):
        via, via_rows = network.snap_through_gates(
            fac, facility_gates, max_snap_m, what="facilities"
        )
    n = len(demand)
    dist = np.full((n, len(categories)), np.inf)
    nearest = np.full((n, len(categories)), None, dtype=object)
    for j, cid in enumerate(progress(categories, desc="categories")):
        rows = np.flatnonzero(fac_cat[via_rows] == cid)
        if len(rows) == 0:
            continue
        d, which = network.nearest(via.take(rows), demand)  # type: ignore[union-attr]
        dist[:, j] = d
        ok = which >= 0
        nearest[ok, j] = fac_ids[via_rows[rows[which[ok]]]]
    return Access(tuple(categories), demand, fac, fac_cat, dist, nearest)
