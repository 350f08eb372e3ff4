"""Network distances between snapped points: nearest source, pairs within a limit, reach.

Every distance is access leg + along-edge part + network path + along-edge part + access leg,
with both points snapped to their nearest edge (:class:`Snapped`); a source and a target on the
same edge also get the direct along-edge distance. Two points closer to each other in a straight
line than either is to the street (the same compound, off the street) are as far apart as that
straight line: nobody walks out to the street and back (see ``docs/concepts.md``). The searches
are compiled: SciPy's multi-source Dijkstra for nearest distances, a Numba batched bounded
Dijkstra for reach, and a Numba Dijkstra that visits only what new sources bring nearer (a
scenario's added facilities).
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .._errors import InputError
from .kernels import (
    announce_compile,
    bounded_dijkstra_batch,
    improving_dijkstra,
    merge_sorted_intervals,
)
from .snapping import Snapped

if TYPE_CHECKING:
    from .graph import WalkNetwork

log = logging.getLogger(__name__)

#: Smallest edge weight used in CSR graphs: a zero-length edge stays an edge even where a sparse
#: operation would drop explicit zeros (SciPy's csgraph keeps them as built here; this is a guard).
MIN_WEIGHT_M = 1e-6


@dataclass(frozen=True)
class Pairs:
    """Sparse (source, target, distance) triples by position in the snapped sources/targets."""

    source: np.ndarray
    target: np.ndarray
    distance_m: np.ndarray

    def __len__(self) -> int:
        return len(self.source)


def node_distances(net: WalkNetwork, src: Snapped, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """One multi-source Dijkstra from the snapped points ``src`` (all within ``max_snap_m``).

    Each source is a virtual node joined to both ends of its edge at access + along-edge
    distance (the network is not changed). Returns, per network node, the distance to the
    nearest source (``inf`` beyond ``limit``) and that source's position in ``src`` (-1).
    """
    n = len(net.nodes)
    k = len(src)
    a, p, length = src.access_m, src.pos_m, src.edge_length_m
    vcols = np.column_stack([src.u, src.v]).ravel()
    vw = np.maximum(np.column_stack([a + p, a + (length - p)]).ravel(), MIN_WEIGHT_M)
    indptr = np.concatenate([net.indptr, net.indptr[-1] + 2 * np.arange(1, k + 1)])
    indices = np.concatenate([net.indices, vcols])
    data = np.concatenate([net.weights, vw])
    g = csr_matrix((data, indices, indptr), shape=(n + k, n + k))
    d, _, origin = dijkstra(
        g,
        directed=True,
        indices=np.arange(n, n + k),
        min_only=True,
        return_predecessors=True,
        limit=limit,
    )
    origin = origin[:n]
    return np.asarray(d[:n], dtype=np.float64), np.where(origin >= 0, origin - n, -1)


def nearest_nodes(
    net: WalkNetwork, src: Snapped, max_m: float | None = None, floor_m: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per network node, the distance to the nearest of the snapped ``src`` (``inf`` beyond
    ``max_m``) and that source's position in ``src`` (-1: none); unsnapped sources are left out.

    ``floor_m`` (one distance per node, e.g. to the facilities already there): only the nodes
    the sources bring strictly nearer than it are searched and given (elsewhere ``inf`` / -1),
    a compiled search that stays inside the region the sources win
    (:func:`~lifecircle.network.kernels.improving_dijkstra`).
    """
    n = len(net.nodes)
    src_pos = np.flatnonzero(src.ok)
    if len(src_pos) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    limit = np.inf if max_m is None else float(max_m)
    s = src.take(src_pos)
    if floor_m is None:
        d, origin = node_distances(net, s, limit)
        return d, np.where(origin >= 0, src_pos[np.maximum(origin, 0)], -1)
    announce_compile(improving_dijkstra)
    vw = np.maximum(
        np.column_stack([s.access_m + s.pos_m, s.access_m + (s.edge_length_m - s.pos_m)]),
        MIN_WEIGHT_M,
    ).ravel()
    return improving_dijkstra(  # origins given as positions in src
        net.indptr, net.indices, net.weights, np.column_stack([s.u, s.v]).ravel(), vw,
        np.repeat(src_pos, 2), np.asarray(floor_m, dtype=np.float64), limit,
    )  # fmt: skip


def nearest(
    net: WalkNetwork,
    src: Snapped,
    tgt: Snapped,
    max_m: float | None = None,
    nodes: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every target to its nearest source, with one multi-source search.

    Returns (distance per target, ``inf`` if none within ``max_m``; position in ``src`` of the
    nearest source, -1 if none). Unsnapped sources and targets are left out. ``nodes``: the
    sources' :func:`nearest_nodes` when already made (the search is then not run again).
    """
    t, d, which = nearest_sparse(net, src, tgt, max_m, nodes)
    best = np.full(len(tgt), np.inf)
    best_src = np.full(len(tgt), -1, dtype=np.int64)
    best[t], best_src[t] = d, which
    return best, best_src


def nearest_sparse(
    net: WalkNetwork,
    src: Snapped,
    tgt: Snapped,
    max_m: float | None = None,
    nodes: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`nearest` for the targets with a source within ``max_m`` only: (their positions in
    ``tgt``, sorted; distance; position in ``src`` of the nearest source). Only the targets next
    to a node the search reached, on a source's edge or in a source's compound are looked at (a
    bounded or pruned search, e.g. a scenario's, reaches few of them)."""
    none = np.zeros(0, dtype=np.int64)
    src_pos = np.flatnonzero(src.ok)
    if len(src_pos) == 0 or len(tgt) == 0:
        return none, np.zeros(0), none
    limit = np.inf if max_m is None else float(max_m)
    s = src.take(src_pos)
    d, origin = nearest_nodes(net, src, max_m) if nodes is None else nodes
    reached = origin >= 0
    on_edge = tgt.on_edges(s.edge)
    pairs = same_compound(s, tgt)
    t = _union(tgt.at_nodes(reached), np.concatenate([on_edge, pairs.target]), len(tgt))
    u, v, pos = tgt.u[t], tgt.v[t], tgt.pos_m[t]
    via_u = d[u] + pos
    via_v = d[v] + (tgt.edge_length_m[t] - pos)
    use_v = via_v < via_u
    best = np.where(use_v, via_v, via_u) + tgt.access_m[t]
    o = np.where(use_v, origin[v], origin[u])  # positions in src; best_src: in s until the end
    in_s = np.full(len(src), -1, dtype=np.int64)
    in_s[src_pos] = np.arange(len(src_pos))
    best_src = np.where(o >= 0, in_s[np.maximum(o, 0)], -1)
    # a source on the target's own edge, then one in its compound, may be nearer directly
    for direct_t, direct_s, direct_d in (_same_edge(s, tgt, on_edge), _nearest_pair(pairs)):
        at = np.searchsorted(t, direct_t)
        better = direct_d < best[at]
        best[at[better]] = direct_d[better]
        best_src[at[better]] = direct_s[better]
    keep = np.isfinite(best) & (best <= limit) & ~tgt.too_far[t]
    return t[keep], best[keep], src_pos[best_src[keep]]


def _union(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """The positions (below ``n``) in ``a`` or ``b``, sorted, each once: sorted for few, a mask
    for many (a whole search reaches every target)."""
    if 8 * (len(a) + len(b)) < n:
        return np.union1d(a, b)
    mask = np.zeros(n, dtype=bool)
    mask[a] = True
    mask[b] = True
    return np.flatnonzero(mask)


def _same_edge(
    s: Snapped, tgt: Snapped, t_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target at ``t_idx`` (those on a source's edge), the nearest source on its own edge
    along the edge (of equally near ones, the first): (targets, sources, distances)."""
    order = np.argsort(s.edge, kind="stable")  # sources by edge, in their order within one
    s_edge = s.edge[order]
    lo = np.searchsorted(s_edge, tgt.edge[t_idx], side="left")
    n = np.searchsorted(s_edge, tgt.edge[t_idx], side="right") - lo
    # every (target, source on its edge) pair
    t = np.repeat(t_idx, n)
    k = order[np.repeat(lo, n) + np.arange(len(t)) - np.repeat(np.cumsum(n) - n, n)]
    d = tgt.access_m[t] + np.abs(tgt.pos_m[t] - s.pos_m[k]) + s.access_m[k]
    return _nearest_pair(Pairs(k, t, d))


def _nearest_pair(p: Pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target of ``p``, its nearest source (of equally near ones, the first): (targets,
    sources, distances)."""
    order = np.lexsort((p.source, p.distance_m, p.target))
    t, k, d = p.target[order], p.source[order], p.distance_m[order]
    first = np.r_[True, t[1:] != t[:-1]] if len(t) else np.zeros(0, dtype=bool)
    return t[first], k[first], d[first]


#: Rounding of distances computed from projected coordinates (millions of metres): an access
#: leg of 29 m can come out as 28.999999999999996. Comparisons of such distances allow this much.
ROUNDING_M = 1e-6


def same_compound(src: Snapped, tgt: Snapped) -> Pairs:
    """Pairs of snapped points closer to each other in a straight line than either is to the
    street (``straight <= min(access legs)``, to :data:`ROUNDING_M`), at their straight distance:
    points in the same compound. Unsnapped points are left out."""
    s_ok, t_ok = src.off_street(), tgt.off_street()
    # the tree of the larger side (made once per snap), queried from each point of the smaller
    # one within its own access leg (a pair must be within both); the slack keeps pairs at
    # exactly that distance
    if len(s_ok) <= len(t_ok):
        q, flat = _within_own_leg(src, s_ok, tgt)
        s, t = s_ok[q], t_ok[flat]
    else:
        q, flat = _within_own_leg(tgt, t_ok, src)
        t, s = t_ok[q], s_ok[flat]
    d = np.hypot(src.xy[s, 0] - tgt.xy[t, 0], src.xy[s, 1] - tgt.xy[t, 1])
    keep = d <= np.minimum(src.access_m[s], tgt.access_m[t]) + ROUNDING_M
    order = np.lexsort((t[keep], s[keep]))
    return Pairs(s[keep][order], t[keep][order], d[keep][order])


def _within_own_leg(a: Snapped, a_pos: np.ndarray, b: Snapped) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``a_pos``, position in ``b.off_street()``) of every pair of points of ``a``
    and off-street points of ``b`` at most ``a``'s access leg apart (a little more: the caller
    checks exactly)."""
    hits = b.off_street_tree.query_ball_point(
        a.xy[a_pos].reshape(-1, 2), r=a.access_m[a_pos] + 2 * ROUNDING_M
    )
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    flat = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=int(counts.sum()))
    return np.repeat(np.arange(len(a_pos)), counts), flat


def pairs_within(net: WalkNetwork, src: Snapped, tgt: Snapped, max_m: float) -> Pairs:
    """All (source, target) pairs with network distance <= ``max_m``, sorted by source, target.

    One batched bounded search from every source (compiled); unsnapped points are left out.
    """
    reach = reach_from(net, src, max_m)
    ok_t = tgt.ok
    t_idx = np.flatnonzero(ok_t)
    tp, ta = tgt.pos_m[ok_t], tgt.access_m[ok_t]
    ends = pd.DataFrame(
        {
            "node": np.concatenate([tgt.u[ok_t], tgt.v[ok_t]]),
            "t": np.concatenate([t_idx, t_idx]),
            "add": np.concatenate([tp + ta, tgt.edge_length_m[ok_t] - tp + ta]),
        }
    )
    r = pd.DataFrame({"s": reach.origin, "node": reach.node, "dist": reach.dist})
    m = r.merge(ends, on="node")
    frames = [pd.DataFrame({"s": m["s"], "t": m["t"], "d": m["dist"] + m["add"]})]
    ok_s = src.ok
    se = pd.DataFrame(
        {
            "s": np.flatnonzero(ok_s),
            "edge": src.edge[ok_s],
            "ps": src.pos_m[ok_s],
            "as": src.access_m[ok_s],
        }
    )
    te = pd.DataFrame({"t": t_idx, "edge": tgt.edge[ok_t], "pt": tp, "at": ta})
    same = se.merge(te, on="edge")
    if len(same):
        d = same["as"] + (same["ps"] - same["pt"]).abs() + same["at"]
        frames.append(pd.DataFrame({"s": same["s"], "t": same["t"], "d": d}))
    compound = same_compound(src, tgt)
    if len(compound):
        frames.append(
            pd.DataFrame({"s": compound.source, "t": compound.target, "d": compound.distance_m})
        )
    allp = pd.concat(frames, ignore_index=True)
    allp = allp[allp["d"] <= max_m]
    allp = allp.groupby(["s", "t"], as_index=False, sort=True)["d"].min()
    return Pairs(
        allp["s"].to_numpy(np.int64), allp["t"].to_numpy(np.int64), allp["d"].to_numpy(np.float64)
    )


def reach_from(net: WalkNetwork, snapped: Snapped, max_m: float) -> Reach:
    """Every node within ``max_m`` of each snapped point, one compiled bounded search each."""
    if not np.isfinite(max_m) or max_m < 0:
        raise InputError(f"max_m must be a finite distance in metres >= 0, got {max_m}")
    ok = snapped.ok
    a, p, length = snapped.access_m, snapped.pos_m, snapped.edge_length_m
    n_o = len(snapped)
    seed_ptr = np.zeros(n_o + 1, dtype=np.int64)
    seed_ptr[1:] = np.cumsum(np.where(ok, 2, 0))
    seed_node = np.column_stack([snapped.u, snapped.v])[ok].ravel()
    seed_dist = np.column_stack([a + p, a + (length - p)])[ok].ravel()
    announce_compile(bounded_dijkstra_batch)
    t0 = time.perf_counter()
    ptr, node, dist = bounded_dijkstra_batch(
        net.indptr,
        net.indices,
        net.weights,
        seed_ptr,
        seed_node.astype(np.int64),
        seed_dist.astype(np.float64),
        float(max_m),
    )
    log.debug("reach: %d origins, %d pairs in %.3f s", n_o, len(node), time.perf_counter() - t0)
    return Reach(net, snapped, float(max_m), ptr, node, dist)


def reach_together(net: WalkNetwork, snapped: Snapped, max_m: float) -> Reach:
    """What is within ``max_m`` of ANY of the snapped points, as one origin (a covered area):
    one multi-source search instead of one search per point."""
    s = snapped.take(snapped.ok)
    d, _ = node_distances(net, s, max_m)
    reached = np.flatnonzero(np.isfinite(d))
    return Reach(
        net,
        s,
        float(max_m),
        np.array([0, len(reached)]),
        reached,
        d[reached],
        snap_origin=np.zeros(len(s), dtype=np.int64),
    )


class Reach:
    """What :meth:`WalkNetwork.reachable` found: reached nodes per origin, sparse.

    Attributes
    ----------
    network : the :class:`~lifecircle.WalkNetwork` searched.
    snapped : :class:`Snapped` origins.
    max_m : the search limit (metres).
    ptr, node, dist : origin ``k`` reached ``node[ptr[k]:ptr[k+1]]`` at ``dist[...]`` metres.
    snap_origin : the origin of each snapped point (default: point i is origin i; several
        points searched together, as for a covered area, share one origin).
    """

    def __init__(
        self,
        network: WalkNetwork,
        snapped: Snapped,
        max_m: float,
        ptr: np.ndarray,
        node: np.ndarray,
        dist: np.ndarray,
        snap_origin: np.ndarray | None = None,
    ) -> None:
        self.network = network
        self.snapped = snapped
        self.max_m = max_m
        self.ptr = ptr
        self.node = node
        self.dist = dist
        self.snap_origin = np.arange(len(snapped)) if snap_origin is None else snap_origin

    @property
    def snaps(self) -> pd.DataFrame:
        """The snapped origins as a frame (see :meth:`Snapped.to_frame`)."""
        return self.snapped.to_frame()

    @property
    def origin(self) -> np.ndarray:
        """Origin position (0..n-1) of every reached (node, distance) pair."""
        return np.repeat(np.arange(len(self.ptr) - 1), np.diff(self.ptr))

    @property
    def nodes(self) -> pd.DataFrame:
        """One row per (origin, reached node): ``origin`` (index label), ``node``, ``distance_m``."""
        labels = np.asarray(self.snapped.index, dtype=object)
        return pd.DataFrame(
            {"origin": labels[self.origin], "node": self.node, "distance_m": self.dist}
        )

    def edge_pieces(self, max_m: float | None = None) -> pd.DataFrame:
        """Reached stretches of edges within ``max_m`` (default: the search limit).

        One row per (origin, edge, interval): ``origin`` (position), ``edge``, ``start_m``,
        ``end_m`` measured along the edge from its ``u`` end. Partly walked edges at the rim
        give partial intervals; the origin's own edge gives the interval around the origin.
        """
        limit = self.max_m if max_m is None else float(max_m)
        if limit > self.max_m + 1e-9:
            raise InputError(f"max_m={limit} exceeds the search limit {self.max_m}")
        keep = self.dist <= limit
        o, e, start, end = _pieces_from_nodes(
            self.network, self.origin[keep], self.node[keep], limit - self.dist[keep]
        )
        own = _own_edge_pieces(self.network, self.snapped, self.snap_origin, limit)
        return _merge_intervals(
            np.concatenate([o, own[0]]),
            np.concatenate([e, own[1]]),
            np.concatenate([start, own[2]]),
            np.concatenate([end, own[3]]),
        )


def _pieces_from_nodes(
    net: WalkNetwork, org: np.ndarray, nd: np.ndarray, rem: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From each reached node, the stretch of every incident edge walkable with ``rem`` metres."""
    eu = net.edges["u"].to_numpy()
    ev = net.edges["v"].to_numpy()
    el = net.edges["length_m"].to_numpy()
    # node -> incident edge ends (edge, at_u)
    ends_node = np.concatenate([eu, ev])
    ends_edge = np.concatenate([np.arange(len(eu)), np.arange(len(ev))])
    ends_at_u = np.concatenate([np.ones(len(eu), bool), np.zeros(len(ev), bool)])
    order = np.argsort(ends_node, kind="stable")
    ends_node, ends_edge, ends_at_u = ends_node[order], ends_edge[order], ends_at_u[order]
    inc_ptr = np.searchsorted(ends_node, np.arange(len(net.nodes) + 1))
    deg = inc_ptr[nd + 1] - inc_ptr[nd]
    rep = np.repeat(np.arange(len(nd)), deg)
    # positions into the incidence arrays for each repeated pair
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(deg) - deg, deg)
    inc = inc_ptr[nd][rep] + offs
    e = ends_edge[inc]
    at_u = ends_at_u[inc]
    r = np.minimum(rem[rep], el[e])
    start = np.where(at_u, 0.0, el[e] - r)
    end = np.where(at_u, r, el[e])
    return org[rep], e, start, end


def _own_edge_pieces(
    net: WalkNetwork, sn: Snapped, snap_origin: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The interval around each origin on its own edge."""
    el = net.edges["length_m"].to_numpy()
    ok = sn.ok
    own_o = snap_origin[ok]
    own_r = limit - sn.access_m[ok]
    has = own_r >= 0
    own_o, own_r = own_o[has], own_r[has]
    own_e = sn.edge[ok][has]
    own_p = sn.pos_m[ok][has]
    return own_o, own_e, np.maximum(own_p - own_r, 0.0), np.minimum(own_p + own_r, el[own_e])


def _merge_intervals(
    o: np.ndarray, e: np.ndarray, start: np.ndarray, end: np.ndarray
) -> pd.DataFrame:
    """Union overlapping intervals per (origin, edge)."""
    order = np.lexsort((start, e, o))
    o, e, start, end = o[order], e[order], start[order], end[order]
    announce_compile(merge_sorted_intervals)
    keep, merged_end = merge_sorted_intervals(o, e, start, end)
    return pd.DataFrame(
        {"origin": o[keep], "edge": e[keep], "start_m": start[keep], "end_m": merged_end[keep]}
    )
