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
from .points import FAR_FROM_NETWORK_M, Points

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
        return self._off_street

    @cached_property
    def _off_street(self) -> np.ndarray:
        return np.flatnonzero(~self.too_far & (self.access_m > 0))

    def at_nodes(self, reached: np.ndarray) -> np.ndarray:
        """Positions of the points whose edge ends at a node where ``reached`` (one bool per
        network node) is true, sorted, each once. Few nodes (a scenario's search): looked up in
        the points sorted by node (made once per snap), not by reading every point."""
        nodes = np.flatnonzero(reached)
        if 32 * len(nodes) >= len(self):
            return np.flatnonzero(reached[self.u] | reached[self.v])
        return _in_ranges(*self._by_node, nodes)

    def on_edges(self, edges: np.ndarray) -> np.ndarray:
        """Positions of the points snapped to any of ``edges`` (rows of the network's edges),
        sorted, each once."""
        return _in_ranges(*self._by_edge, np.unique(edges))

    @cached_property
    def _by_node(self) -> tuple[np.ndarray, np.ndarray]:
        """Each point under both ends of its edge, sorted by node: (nodes, point positions)."""
        ends = np.concatenate([self.u, self.v])
        order = np.argsort(ends, kind="stable")
        return ends[order], order % max(len(self), 1)

    @cached_property
    def _by_edge(self) -> tuple[np.ndarray, np.ndarray]:
        """The points sorted by edge: (edges, point positions)."""
        order = np.argsort(self.edge, kind="stable")
        return self.edge[order], order

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
    grid: EdgeGrid,
    edges_u: np.ndarray,
    edges_v: np.ndarray,
    edge_length_m: np.ndarray,
    pts: Points,
    max_snap_m: float,
) -> Snapped:
    """Snap ``pts`` to the nearest of the edge lines of ``grid`` (:func:`edge_grid`; ties: the
    lowest edge row, deterministic)."""
    geoms = shapely.points(pts.xy)
    edge, access = grid.nearest(pts.xy)
    lines = grid.lines[edge]
    geom_len = shapely.length(lines)
    along = shapely.line_locate_point(lines, geoms)
    length = edge_length_m[edge]
    # positions are measured on the geometry; scale to the edge's length_m
    frac = np.where(geom_len > 0, along / np.where(geom_len > 0, geom_len, 1.0), 0.0)
    pos = np.clip(frac, 0.0, 1.0) * length
    snapped = points_along(grid.lines, edge, along)
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
        worst_m = float(access[out.too_far].max())
        log.warning(
            "%d of %d points are farther than %.0f m from the walking network and are left "
            "out (%s; the farthest %s away)%s",
            n_far,
            len(out),
            max_snap_m,
            ", ".join(map(str, out.index[out.too_far][:5])) + (" …" if n_far > 5 else ""),
            f"{worst_m / 1000:,.0f} km" if worst_m >= 10_000 else f"{worst_m:,.0f} m",
            f"; points more than {FAR_FROM_NETWORK_M / 1000:.0f} km off are usually a wrong crs= or "
            "longitude and latitude swapped in those rows" if worst_m > FAR_FROM_NETWORK_M else "",
        )  # fmt: skip
    return out


# ---------------------------------------------------------------------- nearest edge
@dataclass(frozen=True, eq=False)
class EdgeGrid:
    """The segments of a network's edge lines in a uniform grid, for nearest-edge searches.

    Attributes
    ----------
    lines : the edge lines (LineStrings, one per edge row).
    seg : (m, 4) every segment's ``x0, y0, x1, y1``, in the order of the lines' coordinates.
    seg_edge : the edge row (position in the lines) of every segment.
    ptr, items : the segments of grid cell ``c`` (``row * nx + col``) are
        ``items[ptr[c]:ptr[c + 1]]``.
    origin : ``(x, y)`` of the grid's lower left corner.
    cell_m : the side of a cell.
    nx, ny : cells per row and per column.
    """

    lines: np.ndarray
    seg: np.ndarray
    seg_edge: np.ndarray
    ptr: np.ndarray
    items: np.ndarray
    origin: tuple[float, float]
    cell_m: float
    nx: int
    ny: int

    def nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest edge of every point of ``xy`` ((n, 2), the lines' CRS) and the distance
        to it: GEOS's point-to-line distance, bit for bit (what ``STRtree.query_nearest``
        returns), ties to the lowest edge row.

        Compiled: a ring of cells at a time around each point, until no cell left can hold
        anything nearer. A point that :data:`_MAX_RING` rings leave open (far from every
        street: the rings grow by a cell at a time) is looked up in the lines' STRtree, which
        gives the same edge and distance."""
        announce_compile(_nearest_edges)
        xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
        edge, dist = _nearest_edges(
            xy, self.seg, self.seg_edge, self.ptr, self.items, self.origin[0], self.origin[1],
            self.cell_m, self.nx, self.ny, _MAX_RING,
        )  # fmt: skip
        far = np.flatnonzero(edge < 0)
        if len(far):
            (qi, ei), d = self.tree.query_nearest(
                shapely.points(xy[far]), return_distance=True, all_matches=True
            )
            order = np.lexsort((ei, qi))  # ties: the lowest edge row
            qi, ei, d = qi[order], ei[order], d[order]
            first = np.ones(len(qi), dtype=bool)
            first[1:] = qi[1:] != qi[:-1]
            edge[far[qi[first]]] = ei[first]
            dist[far[qi[first]]] = d[first]
        return edge, dist

    @cached_property
    def tree(self) -> shapely.STRtree:
        """An STRtree of :attr:`lines` (made on first use: for points far from every street)."""
        return shapely.STRtree(self.lines)


def edge_grid(edge_lines: np.ndarray) -> EdgeGrid:
    """The :class:`EdgeGrid` of ``edge_lines`` (LineStrings): about one segment per cell on
    average (the cell side is the square root of the lines' extent over their segments)."""
    coords, line = shapely.get_coordinates(edge_lines, return_index=True)
    announce_compile(_segments, _fill_grid)
    # one pass, no temporary copies (a province has tens of millions of segments)
    seg, seg_edge = _segments(coords, line)
    if len(seg) == 0:
        raise ValueError("edge_grid: no line has a segment")
    x0, y0 = float(coords[:, 0].min()), float(coords[:, 1].min())
    width = max(float(coords[:, 0].max()) - x0, 1.0)
    height = max(float(coords[:, 1].max()) - y0, 1.0)
    del coords, line
    cell = max(float(np.sqrt(width * height / len(seg))), 1.0)
    nx, ny = int(width // cell) + 1, int(height // cell) + 1
    ptr, items = _fill_grid(seg, x0, y0, cell, nx, ny)
    return EdgeGrid(edge_lines, seg, seg_edge, ptr, items, (x0, y0), cell, nx, ny)


#: Segments are put in every cell within this share of a cell of them (rounding at cell sides).
_GRID_SLACK = 1e-7
#: Rings of cells searched around a point before the STRtree takes it (a point in a large
#: empty area would need many rings, each a little longer).
_MAX_RING = 8


@njit(cache=True)
def _segments(coords, line):  # pragma: no cover - compiled
    """(m, 4) ``x0, y0, x1, y1`` of every pair of consecutive coordinates of one line, and the
    line of each (int32: half the memory of a province's tens of millions)."""
    m = 0
    for k in range(coords.shape[0] - 1):
        if line[k + 1] == line[k]:
            m += 1
    seg = np.empty((m, 4), np.float64)
    seg_edge = np.empty(m, np.int32)
    m = 0
    for k in range(coords.shape[0] - 1):
        if line[k + 1] == line[k]:
            seg[m, 0], seg[m, 1] = coords[k, 0], coords[k, 1]
            seg[m, 2], seg[m, 3] = coords[k + 1, 0], coords[k + 1, 1]
            seg_edge[m] = line[k]
            m += 1
    return seg, seg_edge


@njit(cache=True)
def _cells_of(seg, i, x0, y0, cell, nx, ny, out):  # pragma: no cover - compiled
    """The cells segment ``i`` of ``seg`` passes near (a piece at most a cell long at a time,
    each piece's box widened by :data:`_GRID_SLACK` of a cell): written into ``out``, returns
    how many (a cell may repeat)."""
    ax, ay, bx, by = seg[i, 0], seg[i, 1], seg[i, 2], seg[i, 3]
    pad = _GRID_SLACK * cell + 1e-9
    n_piece = max(1, int(np.ceil(np.sqrt((bx - ax) ** 2 + (by - ay) ** 2) / cell)))
    n = 0
    for t in range(n_piece):
        f0, f1 = t / n_piece, (t + 1) / n_piece
        px0, px1 = ax + f0 * (bx - ax), ax + f1 * (bx - ax)
        py0, py1 = ay + f0 * (by - ay), ay + f1 * (by - ay)
        c0 = max(int((min(px0, px1) - pad - x0) // cell), 0)
        c1 = min(int((max(px0, px1) + pad - x0) // cell), nx - 1)
        r0 = max(int((min(py0, py1) - pad - y0) // cell), 0)
        r1 = min(int((max(py0, py1) + pad - y0) // cell), ny - 1)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if n == out.shape[0]:
                    return n
                out[n] = r * nx + c
                n += 1
    return n


@njit(cache=True)
def _fill_grid(seg, x0, y0, cell, nx, ny):  # pragma: no cover - compiled
    """``ptr, items``: the segments of every cell (see :class:`EdgeGrid`), each once per cell."""
    n_cells = nx * ny
    counts = np.zeros(n_cells + 1, np.int64)
    last = np.full(n_cells, -1, np.int64)
    buf = np.empty(64, np.int64)
    for i in range(seg.shape[0]):
        n = _cells_of(seg, i, x0, y0, cell, nx, ny, buf)
        while n == buf.shape[0]:  # a long segment: a larger buffer
            buf = np.empty(2 * buf.shape[0], np.int64)
            n = _cells_of(seg, i, x0, y0, cell, nx, ny, buf)
        for k in range(n):
            if last[buf[k]] != i:
                last[buf[k]] = i
                counts[buf[k] + 1] += 1
    ptr = np.cumsum(counts)
    fill = ptr[:-1].copy()
    items = np.empty(ptr[-1], np.int32)  # segment rows (int32: half a province's memory)
    last[:] = -1
    for i in range(seg.shape[0]):
        n = _cells_of(seg, i, x0, y0, cell, nx, ny, buf)
        for k in range(n):
            c = buf[k]
            if last[c] != i:
                last[c] = i
                items[fill[c]] = i
                fill[c] += 1
    return ptr, items


@njit(cache=True)
def _segment_distance(px, py, ax, ay, bx, by):  # pragma: no cover - compiled
    """GEOS's ``Distance::pointToSegment``: the same operations in the same order, so the
    same double."""
    if ax == bx and ay == by:
        dx, dy = px - ax, py - ay
        return np.sqrt(dx * dx + dy * dy)
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        dx, dy = px - ax, py - ay
        return np.sqrt(dx * dx + dy * dy)
    if r >= 1.0:
        dx, dy = px - bx, py - by
        return np.sqrt(dx * dx + dy * dy)
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * np.sqrt(len2)


@njit(cache=True)
def _rect_distance(px, py, x0, x1, y0, y1):  # pragma: no cover - compiled
    dx = max(x0 - px, 0.0, px - x1)
    dy = max(y0 - py, 0.0, py - y1)
    return np.sqrt(dx * dx + dy * dy)


@njit(cache=True)
def _left_out(px, py, c0, c1, r0, r1, x0, y0, cell, nx, ny):  # pragma: no cover - compiled
    """How near ``(px, py)`` the grid's cells outside columns ``c0..c1`` × rows ``r0..r1``
    come (inf: none is left out)."""
    gx1, gy1 = x0 + nx * cell, y0 + ny * cell
    lo_x, hi_x = x0 + c0 * cell, x0 + (c1 + 1) * cell
    lo_y, hi_y = y0 + r0 * cell, y0 + (r1 + 1) * cell
    near = np.inf
    if c0 > 0:
        near = min(near, _rect_distance(px, py, x0, lo_x, y0, gy1))
    if c1 < nx - 1:
        near = min(near, _rect_distance(px, py, hi_x, gx1, y0, gy1))
    if r0 > 0:
        near = min(near, _rect_distance(px, py, lo_x, hi_x, y0, lo_y))
    if r1 < ny - 1:
        near = min(near, _rect_distance(px, py, lo_x, hi_x, hi_y, gy1))
    return near


@njit(cache=True)
def _nearest_edges(
    xy, seg, seg_edge, ptr, items, x0, y0, cell, nx, ny, max_ring
):  # pragma: no cover
    """Per point: the edge of the nearest segment (ties: the lowest edge) and its distance,
    searching rings of cells around the point's cell (clamped to the grid) until the cells
    left out are all farther than the best found; edge -1 where ``max_ring`` rings did not
    settle it."""
    n = xy.shape[0]
    edge = np.empty(n, np.int64)
    dist = np.empty(n, np.float64)
    slack = _GRID_SLACK * cell
    for k in range(n):
        px, py = xy[k, 0], xy[k, 1]
        ci = min(max(int((px - x0) // cell), 0), nx - 1)
        cj = min(max(int((py - y0) // cell), 0), ny - 1)
        best, best_e = np.inf, -1
        ring = 0
        while True:
            c0, c1 = max(ci - ring, 0), min(ci + ring, nx - 1)
            r0, r1 = max(cj - ring, 0), min(cj + ring, ny - 1)
            # the ring's cells inside the grid: its bottom and top rows, then the rest of its
            # left and right columns
            for side in range(4):
                if side < 2:
                    r = cj - ring if side == 0 else cj + ring
                    if r < 0 or r >= ny or (side == 1 and ring == 0):
                        continue
                    a, b, step, first = c0, c1, 1, r * nx + c0
                else:
                    c = ci - ring if side == 2 else ci + ring
                    if c < 0 or c >= nx or ring == 0:
                        continue
                    a, b = max(cj - ring + 1, 0), min(cj + ring - 1, ny - 1)
                    step, first = nx, a * nx + c
                for m in range(b - a + 1):
                    cell_id = first + m * step
                    for t in range(ptr[cell_id], ptr[cell_id + 1]):
                        i = items[t]
                        d = _segment_distance(px, py, seg[i, 0], seg[i, 1], seg[i, 2], seg[i, 3])
                        e = seg_edge[i]
                        if d < best or (d == best and e < best_e):
                            best, best_e = d, e
            if best < _left_out(px, py, c0, c1, r0, r1, x0, y0, cell, nx, ny) - slack:
                break
            if c0 == 0 and r0 == 0 and c1 == nx - 1 and r1 == ny - 1:
                break  # every cell searched
            if ring == max_ring:
                best_e = -1
                break
            ring += 1
        edge[k] = best_e
        dist[k] = best
    return edge, dist


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


def _in_ranges(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The ``values`` whose ``keys`` (sorted) are among ``wanted`` (sorted, unique), sorted and
    each once."""
    lo = np.searchsorted(keys, wanted, side="left")
    n = np.searchsorted(keys, wanted, side="right") - lo
    at = np.arange(int(n.sum())) + np.repeat(lo - (np.cumsum(n) - n), n)
    return np.unique(values[at])
