"""Snapping points to their nearest edge (not node): the typed result every distance, reach,
isochrone and siting computation starts from."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import shapely
from numba import njit
from scipy.spatial import cKDTree

from .kernels import announce_compile
from .points import Points

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points snapped to the nearest edge of a :class:`~lifecircle.WalkNetwork` (metric CRS).

    Every array has one entry per point, in the order of :attr:`index` (the caller's labels).

    Attributes
    ----------
    index : the points' index labels.
    xy : (n, 2) the points themselves, in the network's metric CRS.
    edge : row of :attr:`WalkNetwork.edges` each point is snapped to.
    u, v : the edge's end nodes (positions in :attr:`WalkNetwork.nodes`).
    pos_m : distance along the edge from ``u`` to the snapped position (metres, edge length units).
    edge_length_m : the edge's ``length_m``.
    access_m : straight distance from the point to the edge (the access leg, metres).
    snapped_xy : (n, 2) the snapped position on the edge.
    too_far : True where ``access_m > max_snap_m``: such points are left out of every distance.
    max_snap_m : the snapping limit used (metres).
    """

    index: pd.Index
    xy: np.ndarray
    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    pos_m: np.ndarray
    edge_length_m: np.ndarray
    access_m: np.ndarray
    snapped_xy: np.ndarray
    too_far: np.ndarray
    max_snap_m: float

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return (
            f"<Snapped {len(self):,} points, {int(self.too_far.sum()):,} farther than "
            f"{self.max_snap_m:g} m from the network>"
        )

    @property
    def ok(self) -> np.ndarray:
        """True for points within ``max_snap_m`` of the network (the ones that are used)."""
        return ~self.too_far

    def off_street(self) -> np.ndarray:
        """Positions of the used points that stand off the street (access leg > 0 m)."""
        return np.flatnonzero(~self.too_far & (self.access_m > 0))

    @cached_property
    def off_street_tree(self) -> cKDTree:
        """A KD-tree of the :meth:`off_street` points, made once per snap (a full analysis
        queries the demand points' tree once per category)."""
        return cKDTree(self.xy[self.off_street()].reshape(-1, 2))

    def take(self, rows: np.ndarray) -> Snapped:
        """The subset at positions (or boolean mask) ``rows``, in that order."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return Snapped(
            index=self.index[rows],
            xy=self.xy[rows],
            edge=self.edge[rows],
            u=self.u[rows],
            v=self.v[rows],
            pos_m=self.pos_m[rows],
            edge_length_m=self.edge_length_m[rows],
            access_m=self.access_m[rows],
            snapped_xy=self.snapped_xy[rows],
            too_far=self.too_far[rows],
            max_snap_m=self.max_snap_m,
        )

    def on_street(self) -> Snapped:
        """The same snapped positions as points on the street: access legs of 0 m (e.g. sites
        proposed at the snapped position)."""
        return dataclasses.replace(
            self,
            xy=self.snapped_xy,
            access_m=np.zeros(len(self)),
            too_far=np.zeros(len(self), bool),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per point: ``edge``, ``u``, ``v``, ``pos_m``, ``edge_length_m``, ``access_m``,
        ``x``/``y`` of the snapped position and ``too_far``, indexed like the points."""
        return pd.DataFrame(
            {
                "edge": self.edge,
                "u": self.u,
                "v": self.v,
                "pos_m": self.pos_m,
                "edge_length_m": self.edge_length_m,
                "access_m": self.access_m,
                "x": self.snapped_xy[:, 0],
                "y": self.snapped_xy[:, 1],
                "too_far": self.too_far,
            },
            index=self.index,
        )


def snap_points(
    tree: shapely.STRtree,
    edges_u: np.ndarray,
    edges_v: np.ndarray,
    edge_lines: np.ndarray,
    edge_length_m: np.ndarray,
    pts: Points,
    max_snap_m: float,
) -> Snapped:
    """Snap ``pts`` to the nearest of ``edge_lines`` (ties: the lowest edge row, deterministic)."""
    geoms = shapely.points(pts.xy)
    (qi, ei), dist = tree.query_nearest(geoms, return_distance=True, all_matches=True)
    order = np.lexsort((ei, qi))
    qi, ei, dist = qi[order], ei[order], dist[order]
    first = np.ones(len(qi), dtype=bool)
    first[1:] = qi[1:] != qi[:-1]
    edge = np.empty(len(pts), dtype=np.int64)
    access = np.empty(len(pts), dtype=np.float64)
    edge[qi[first]] = ei[first]
    access[qi[first]] = dist[first]
    lines = edge_lines[edge]
    geom_len = shapely.length(lines)
    along = shapely.line_locate_point(lines, geoms)
    length = edge_length_m[edge]
    # positions are measured on the geometry; scale to the edge's length_m
    frac = np.where(geom_len > 0, along / np.where(geom_len > 0, geom_len, 1.0), 0.0)
    pos = np.clip(frac, 0.0, 1.0) * length
    snapped = points_along(edge_lines, edge, along)
    out = Snapped(
        index=pts.index,
        xy=pts.xy,
        edge=edge,
        u=edges_u[edge],
        v=edges_v[edge],
        pos_m=pos,
        edge_length_m=length,
        access_m=access,
        snapped_xy=snapped.reshape(-1, 2),
        too_far=access > max_snap_m,
        max_snap_m=float(max_snap_m),
    )
    n_far = int(out.too_far.sum())
    if n_far:
        log.warning(
            "%d of %d points are farther than %.0f m from the walking network and are left "
            "out (rows %s)",
            n_far,
            len(out),
            max_snap_m,
            ", ".join(map(str, out.index[out.too_far][:5])),
        )
    return out


def points_along(edge_lines: np.ndarray, edge: np.ndarray, along: np.ndarray) -> np.ndarray:
    """(n, 2) the points ``along`` (geometry units) from the start of the lines
    ``edge_lines[edge]``: ``shapely.line_interpolate_point``, bit for bit, compiled (GEOS's
    interpolation costs about 3 µs a point, a city's demand points a fifth of a second)."""
    if len(edge) == 0:
        return np.empty((0, 2))
    used, inv = np.unique(edge, return_inverse=True)
    coords, line = shapely.get_coordinates(edge_lines[used], return_index=True)
    ptr = np.searchsorted(line, np.arange(len(used) + 1))
    announce_compile(_points_along)
    return _points_along(coords, ptr, inv.ravel().astype(np.int64), np.asarray(along, np.float64))


@njit(cache=True)
def _points_along(coords, ptr, line, along):  # pragma: no cover - compiled
    """GEOS's ``LengthIndexedLine.extractPoint`` per point: the segment where the running length
    passes ``along``, and the point at that fraction of it (a negative ``along`` counts from the
    end; the first point at or before the start, the last beyond the end)."""
    out = np.empty((line.shape[0], 2))
    for i in range(line.shape[0]):
        a, b = ptr[line[i]], ptr[line[i] + 1]
        out[i, 0], out[i, 1] = coords[b - 1, 0], coords[b - 1, 1]
        length = along[i]
        if length < 0.0:  # from the end, as GEOS counts a negative distance
            whole = 0.0
            for k in range(a, b - 1):
                dx, dy = coords[k + 1, 0] - coords[k, 0], coords[k + 1, 1] - coords[k, 1]
                whole += np.sqrt(dx * dx + dy * dy)
            length = whole + length
        if length <= 0.0:
            out[i, 0], out[i, 1] = coords[a, 0], coords[a, 1]
            continue
        total = 0.0
        for k in range(a, b - 1):
            dx, dy = coords[k + 1, 0] - coords[k, 0], coords[k + 1, 1] - coords[k, 1]
            seg = np.sqrt(dx * dx + dy * dy)
            if total + seg > length:
                frac = (length - total) / seg
                if frac <= 0.0:
                    out[i, 0], out[i, 1] = coords[k, 0], coords[k, 1]
                elif frac >= 1.0:
                    out[i, 0], out[i, 1] = coords[k + 1, 0], coords[k + 1, 1]
                else:
                    out[i, 0] = (coords[k + 1, 0] - coords[k, 0]) * frac + coords[k, 0]
                    out[i, 1] = (coords[k + 1, 1] - coords[k, 1]) * frac + coords[k, 1]
                break
            total += seg
    return out


def through_gates(
    points: Snapped, gates: Snapped, gate: np.ndarray, owner: np.ndarray
) -> tuple[Snapped, np.ndarray]:
    """Points that are entered through their gates (a compound's or a school's entrances).

    ``(gate[k], owner[k])`` are pairs of positions in ``gates`` and ``points``: gate ``gate[k]``
    belongs to point ``owner[k]`` (a gate may serve several points, e.g. the rows of a facility
    listed under two categories). A point with at least one gate within ``max_snap_m`` of the
    network is replaced by one row per such gate: the gate's place on the network, and an access
    leg of the gate's own access leg plus the straight walk inside, from the point to the gate.
    Other points keep their own row (snapped to the nearest street, as before). Rows keep the
    point's index label and ``xy``, so the same-compound rule still compares the points
    themselves.

    Returns the rows and, per row, the position in ``points`` it stands for: a distance to the
    point is the smallest over its rows.
    """
    gate = np.asarray(gate, dtype=np.int64)
    owner = np.asarray(owner, dtype=np.int64)
    keep = (owner >= 0) & (gate >= 0)
    gate, owner = gate[keep], owner[keep]
    keep = gates.ok[gate]
    gate, owner = gate[keep], owner[keep]
    gated = np.zeros(len(points), dtype=bool)
    gated[owner] = True
    own = np.flatnonzero(~gated)
    rows = np.concatenate([own, owner])
    inside_m = np.hypot(*(points.xy[owner] - gates.xy[gate]).T)
    kept, via = points.take(own), gates.take(gate)
    out = Snapped(
        index=points.index[rows],
        xy=points.xy[rows],
        edge=np.concatenate([kept.edge, via.edge]),
        u=np.concatenate([kept.u, via.u]),
        v=np.concatenate([kept.v, via.v]),
        pos_m=np.concatenate([kept.pos_m, via.pos_m]),
        edge_length_m=np.concatenate([kept.edge_length_m, via.edge_length_m]),
        access_m=np.concatenate([kept.access_m, via.access_m + inside_m]),
        snapped_xy=np.concatenate([kept.snapped_xy, via.snapped_xy]),
        too_far=np.concatenate([kept.too_far, via.too_far]),
        max_snap_m=points.max_snap_m,
    )
    return out, rows


def gate_owners(
    labels: pd.Index, owners: pd.Series, usable: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (gate position, point position): each gate's ``owners`` value names the points
    labelled so, or ``"<owner>#<anything>"`` (a facility's rows per category). Gates with a
    false ``usable`` value, or whose owner is missing or names no point, give no pair."""
    base = pd.Series([str(x).split("#", 1)[0] for x in labels])
    exact = pd.Series(np.asarray(labels, dtype=object)).astype(str)
    by_name: dict[str, list[int]] = {}
    for i, (e, b) in enumerate(zip(exact, base, strict=True)):
        by_name.setdefault(e, []).append(i)
        if b != e:
            by_name.setdefault(b, []).append(i)
    ok = np.ones(len(owners), dtype=bool)
    if usable is not None:
        ok = usable.fillna(True).astype(bool).to_numpy()
    gate, owner = [], []
    for g, (o, use) in enumerate(zip(owners, ok, strict=True)):
        if not use or pd.isna(o):
            continue
        for i in sorted(set(by_name.get(str(o), []))):
            gate.append(g)
            owner.append(i)
    return np.asarray(gate, dtype=np.int64), np.asarray(owner, dtype=np.int64)
