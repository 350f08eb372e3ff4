"""Access: the network distance from every demand point to the nearest facility of every
category — every point snapped once, then **one** multi-source shortest-path pass per category."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from .._progress import progress
from ..facilities.gates import GATE_ON_RING_M, GATE_TO_PLACE_M, gates_of_places, is_osm_gate_layer
from ..network import Snapped, WalkNetwork
from ..network.snapping import through_gates


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
    facility_entries, facility_entry_rows : the facilities as the distances reach them, through
        their usable gates (one row per gate; a facility without gates keeps its own row), and
        per row the facility's position in :attr:`facilities`. ``None``: no facility gates.
    demand_exits, demand_exit_rows : the same for demand points in gated compounds (one row per
        gate of their compound) and per row the point's position in :attr:`demand`. ``None``:
        no compound gates.
    node_distance_m : per category, the distance from every network node to its nearest
        facility (an array, ``inf`` beyond reach; ``None`` for a category without facilities). A
        scenario searches from its added facilities only where they beat these
        (:meth:`WalkNetwork.nearest_nodes`) and shares the arrays of the categories it does not
        change. 8 bytes per node and category with facilities (Milan's 58,529 nodes × 12
        categories: 5.6 MB). ``None``: not kept (the merged run of
        :func:`lifecircle.analyze_regions`, whose regions each had their own).
    """

    categories: tuple[str, ...]
    demand: Snapped
    facilities: Snapped | None
    facility_category: np.ndarray
    distance_m: np.ndarray
    nearest: np.ndarray
    facility_entries: Snapped | None = None
    facility_entry_rows: np.ndarray | None = None
    demand_exits: Snapped | None = None
    demand_exit_rows: np.ndarray | None = None
    node_distance_m: tuple[np.ndarray | None, ...] | None = None

    def column(self, category: str) -> int:
        """Column of ``category`` in :attr:`distance_m`."""
        return self.categories.index(category)

    def facilities_of(self, category: str) -> Snapped | None:
        """The snapped facilities of one category (``None`` if there are none)."""
        if self.facilities is None:
            return None
        rows = np.flatnonzero(self.facility_category == category)
        return self.facilities.take(rows) if len(rows) else None

    def entries_of(self, category: str) -> tuple[Snapped, np.ndarray] | None:
        """The facilities of one category as the distances reach them (through their usable
        gates, see :attr:`facility_entries`) and, per row, the facility's position among that
        category's facilities (the rows of :meth:`facilities_of`); ``None`` if there are none."""
        own = self.facilities_of(category)
        if own is None or self.facility_entries is None or self.facility_entry_rows is None:
            return None if own is None else (own, np.arange(len(own)))
        rows = np.flatnonzero(self.facility_category == category)
        pos = np.full(len(self.facility_category), -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        keep = np.flatnonzero(pos[self.facility_entry_rows] >= 0)
        return self.facility_entries.take(keep), pos[self.facility_entry_rows[keep]]

    def nearest_from(
        self,
        network: WalkNetwork,
        sources: Snapped,
        points: np.ndarray | None = None,
        max_m: float | None = None,
        nodes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance from the demand points at positions ``points`` (``None``: all) to the
        nearest of ``sources`` and its position in ``sources`` (-1 if none), leaving gated
        compounds through their gates as :attr:`distance_m` does (see
        :meth:`WalkNetwork.nearest`; ``nodes``: the sources' :meth:`WalkNetwork.nearest_nodes`
        when already made)."""
        if points is None:
            demand, exits, exit_rows = self.demand, self.demand_exits, self.demand_exit_rows
            n = len(self.demand)
        else:
            points = np.asarray(points, dtype=np.int64)
            demand, n = self.demand.take(points), len(points)
            exits, exit_rows = None, None
            if self.demand_exits is not None and self.demand_exit_rows is not None:
                pos = np.full(len(self.demand), -1, dtype=np.int64)
                pos[points] = np.arange(len(points))
                keep = np.flatnonzero(pos[self.demand_exit_rows] >= 0)
                exits, exit_rows = self.demand_exits.take(keep), pos[self.demand_exit_rows[keep]]
        if exits is None or exit_rows is None:
            return network.nearest(sources, demand, max_m=max_m, nodes=nodes)
        d, which = network.nearest(sources, exits, max_m=max_m, nodes=nodes)
        return _best_per_point(d, which, exit_rows, n)

    def reached_from(
        self,
        network: WalkNetwork,
        sources: Snapped,
        max_m: float | None = None,
        nodes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`nearest_from` for the demand points with one of ``sources`` within ``max_m``
        only: (their positions, sorted; distance; position in ``sources``). With ``nodes`` from
        a pruned search only the points next to what it reached are read (a scenario)."""
        exits, rows = self.exits()
        t, d, which = network.nearest_sparse(sources, exits, max_m=max_m, nodes=nodes)
        if self.demand_exits is None:
            return t, d, which
        return _best_of_rows(rows[t], d, which)

    def exits(self) -> tuple[Snapped, np.ndarray]:
        """The demand points as the distances leave them (through their compound's usable gates,
        see :attr:`demand_exits`) and, per row, the point's position in :attr:`demand`."""
        if self.demand_exits is None or self.demand_exit_rows is None:
            return self.demand, np.arange(len(self.demand))
        return self.demand_exits, self.demand_exit_rows


def compute_access(
    network: WalkNetwork,
    demand_points: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    categories: tuple[str, ...],
    max_snap_m: float,
    facility_gates: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    compound_gates: gpd.GeoDataFrame | None = None,
) -> Access:
    """Snap demand points and facilities once; one nearest-facility search per category.

    ``facility_gates``: entrances of the facilities (column ``facility_id``, e.g.
    :func:`lifecircle.facilities.gates`); a facility with usable gates is entered through its
    nearest gate instead of from the street nearest to it (:meth:`WalkNetwork.snap_through_gates`).
    :attr:`Access.facilities` stays one row per facility.

    ``compounds`` (polygons) with ``compound_gates`` (points): residents of a gated compound
    leave through its nearest usable gate (an OSM gate from :func:`gates_from_osm` belongs to
    the compound whose boundary it lies on, within 2 m; a gate of another layer to the compound
    within 100 m; gates from :func:`own_compound_gates` keep the compound they carry), a
    straight walk inside from their demand point to the gate; :attr:`Access.demand` stays the
    plain snap. Both are kept (:attr:`Access.facility_entries`, :attr:`Access.demand_exits`) for
    the capacity step, whose distances go through the same gates.
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
    homes, home_rows = demand, np.arange(len(demand))
    if compounds is not None and compound_gates is not None and len(compound_gates):
        homes, home_rows = _demand_through_gates(
            network, demand, compounds, compound_gates, max_snap_m
        )
    n = len(demand)
    dist = np.full((n, len(categories)), np.inf)
    nearest = np.full((n, len(categories)), None, dtype=object)
    node_dist: list[np.ndarray | None] = [None] * len(categories)
    for j, cid in enumerate(progress(categories, desc="categories")):
        rows = np.flatnonzero(fac_cat[via_rows] == cid)
        if len(rows) == 0:
            continue
        src = via.take(rows)  # type: ignore[union-attr]
        nodes = network.nearest_nodes(src)
        node_dist[j] = nodes[0]
        d, which = network.nearest(src, homes, nodes=nodes)
        d, which = _best_per_point(d, which, home_rows, n)
        dist[:, j] = d
        ok = which >= 0
        nearest[ok, j] = fac_ids[via_rows[rows[which[ok]]]]
    gated_fac = via is not fac
    gated_homes = homes is not demand
    return Access(
        tuple(categories), demand, fac, fac_cat, dist, nearest,
        facility_entries=via if gated_fac else None,
        facility_entry_rows=via_rows if gated_fac else None,
        demand_exits=homes if gated_homes else None,
        demand_exit_rows=home_rows if gated_homes else None,
        node_distance_m=tuple(node_dist),
    )  # fmt: skip


def _best_per_point(
    d: np.ndarray, which: np.ndarray, rows: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per point (``rows`` gives each row's point), the smallest distance and its source."""
    if len(rows) == n and np.array_equal(rows, np.arange(n)):
        return d, which
    points, best, src = _best_of_rows(rows, d, which)
    best_d, best_w = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    best_d[points], best_w[points] = best, src
    return best_d, best_w


def _best_of_rows(
    rows: np.ndarray, d: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point of ``rows`` (each row's point), the smallest distance and its source (of
    equal ones, the first row): (points, sorted; distance; source)."""
    order = np.lexsort((d, rows))
    r = rows[order]
    first = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, dtype=bool)
    return r[first], d[order][first], which[order][first]


#: column of compound gates holding the position, in the ``compounds`` frame, of the compound
#: each belongs to (see :func:`own_compound_gates`); gates that carry it are not matched again
COMPOUND_ROW = "compound_row"


def own_compound_gates(compounds: gpd.GeoDataFrame, gates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The usable gates of the compound polygons, each with its compound's position in
    ``compounds`` (column :data:`COMPOUND_ROW`): an OSM gate (:func:`gates_from_osm`) belongs to
    the compound whose boundary it lies on (within 2 m), a gate of another layer to the compound
    within 100 m; closed gates and gates of no compound are left out. Matching them once lets a
    part of the area (a region of :func:`lifecircle.analyze_regions`) keep every compound's
    gates, wherever they lie."""
    is_poly = compounds.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    polys = compounds[is_poly].set_axis(np.flatnonzero(is_poly))
    if len(polys) == 0 or len(gates) == 0:
        return gates.iloc[:0].assign(**{COMPOUND_ROW: np.zeros(0, dtype=np.int64)})
    if is_osm_gate_layer(gates):  # on the compound's own boundary, not merely near it
        owned = gates_of_places(
            gates, polys, max_distance_m=GATE_ON_RING_M, owner=COMPOUND_ROW, on_ring=True
        )
    else:
        # a layer's gates (survey, POIs) farther than this from every compound are unused
        owned = gates_of_places(gates, polys, max_distance_m=GATE_TO_PLACE_M, owner=COMPOUND_ROW)
    if "usable" in owned:
        owned = owned[owned["usable"].fillna(True).astype(bool)]
    owned = owned[owned[COMPOUND_ROW].notna()]
    return owned.assign(**{COMPOUND_ROW: owned[COMPOUND_ROW].astype(np.int64)})


def _demand_through_gates(
    network: WalkNetwork,
    demand: Snapped,
    compounds: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame,
    max_snap_m: float,
) -> tuple[Snapped, np.ndarray]:
    """Demand points inside gated compound polygons, through those compounds' gates."""
    owned = gates if COMPOUND_ROW in gates else own_compound_gates(compounds, gates)
    if len(owned) == 0:
        return demand, np.arange(len(demand))
    poly_rows = np.flatnonzero(compounds.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy())
    geoms = compounds.geometry.iloc[poly_rows].to_crs(network.crs).values
    pi, ci = shapely.STRtree(geoms).query(shapely.points(demand.xy), predicate="within")
    by_compound: dict[int, list[int]] = {}
    for p_, c_ in zip(pi, poly_rows[ci], strict=True):
        by_compound.setdefault(int(c_), []).append(int(p_))
    gate, point = [], []
    for g, c_ in enumerate(owned[COMPOUND_ROW]):
        for p_ in by_compound.get(int(c_), []):
            gate.append(g)
            point.append(p_)
    snapped = network.snap(owned, max_snap_m, what="compound gates")
    return through_gates(demand, snapped, np.asarray(gate), np.asarray(point))
