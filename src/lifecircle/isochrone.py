"""Walking isochrone polygons per origin, and the dissolved area covered by facilities.

How a polygon is built
----------------------
1. **One search per origin** to the largest requested distance (:meth:`WalkNetwork.reachable`,
   compiled, sparse); every level (5/10/15 min, several speed profiles) is binned from it.
2. **Reached pieces of edges**: every edge stretch within the limit, *partial edges at the rim
   included* (the reached fraction of each boundary edge) and the origin's own edge, cut out of
   the true edge geometries; plus the origin's access leg (the straight walk from the origin
   to its street).
3. **Buffer and union**: each piece is buffered by ``buffer_m`` and the pieces of one origin are
   unioned. The polygon therefore follows the streets: it never jumps a river, a railway or a
   motorway where no walkable edge crosses (unless the gap is narrower than ``2 * buffer_m``).
4. **Nested by construction**: level *k* is the union of level *k-1* (holes already filled)
   and the buffers of the pieces that are new or longer at level *k*, so 5 ⊆ 10 ⊆ 15 exactly
   and the work for the inner levels is reused. Whole-edge buffers are computed once per call
   and shared by every origin.
5. **Holes**: holes smaller than ``fill_holes_below_m2`` (city blocks whose streets are all
   reached) are filled; larger ones (a lake, a park without paths, a gated compound or rail yard
   that no reached path enters) are kept.

The rim (``trim_rim=True``, default): pieces stop ``r = buffer_m * cos(pi / (4 * quad_segs))``
short of the limit (``r`` is the radius of the circle inscribed in GEOS's polygonal buffer), so
the polygon ends where the walking distance ends instead of ``buffer_m`` beyond it: every point
of the polygon is within the limit when the last (at most ``buffer_m``) metres are walked
straight from the street, and every reached node is inside (it is within ``r`` in a straight
line of the trimmed end of its path). ``trim_rim=False`` buffers the full reached pieces, as
common recipes do; the polygon then reaches up to ``buffer_m`` past the limit.

Walking speeds
--------------
The built-in profiles are :data:`lifecircle.settings.walk_speeds_m_per_s`:

* ``"adult"`` 1.2 m/s: the design pedestrian of the US MUTCD (4.0 ft/s); the 15th percentile of
  young adults measured 1.15 m/s (TCRP/NCHRP field study, "Another look at pedestrian walking
  speed"); mean speed of under-65s 1.25 m/s (Transportation Research Record 1538).
* ``"elderly"`` 0.9 m/s: 15th percentile of people over 60 in the same study 0.92 m/s; mean of
  over-65s 0.97 m/s (TRR 1538). Chinese life-circle research (吴夏安 & 徐磊青 2021) notes that
  800-1100 m for 15 minutes is too long for older people.
* ``"child"`` 0.8 m/s (a child walking with a carer; no measured source, a planning assumption).

GB 50180-2018 states the levels as distances instead: 5 min 300 m, 10 min 500 m, 15 min
800-1000 m (implied 0.83-1.1 m/s, i.e. roughly an older person's pace). Pass them with
``distances_m=[300, 500, 1000]`` to use the standard's metres rather than a speed.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numba import njit

from ._errors import InputError
from ._progress import progress
from .crs import WGS84
from .network import Reach, Snapped, WalkNetwork
from .network.kernels import announce_compile
from .network.points import PointsLike
from .speeds import Speeds, walking_speed

log = logging.getLogger(__name__)

#: Default buffer around reached streets (metres): about half a Chinese urban street's
#: right-of-way plus the building setback, so the frontage on both sides is inside; the same
#: width as the OSMnx isochrone example (25 m). Peers use 15-30 m.
DEFAULT_BUFFER_M = 25.0

#: Default threshold for filling holes (m²): 4 ha. A block with streets every 250 m (the
#: "small blocks, dense network" target of 8 km of street per km², 2016 State Council opinions
#: on urban planning) leaves a hole of (250 - 2 × 25)² = 4 ha inside a 25 m buffer; such holes
#: are filled, so a block whose surrounding streets are all reached counts as reached. Larger
#: holes (lakes, parks without paths, campuses or compounds no reached path enters, rail yards)
#: are kept.
DEFAULT_FILL_HOLES_M2 = 40_000.0

#: Segments per quarter circle of the buffers. 2 keeps polygons light (the largest gap between
#: the polygon and the true round buffer is buffer_m * (1 - cos(22.5°)) ≈ 7.6 %, 1.9 m at 25 m).
DEFAULT_QUAD_SEGS = 2

#: Origins per work unit (progress bar step; unit of parallel work).
CHUNK = 200

_MIN_PIECE_M = 1e-9
#: Parts of a union smaller than this (m²) are noding specks, not places.
_SLIVER_M2 = 1.0


# ---------------------------------------------------------------------- levels
@dataclass(frozen=True)
class IsochroneLevel:
    """One requested isochrone level: walking minutes (NaN for fixed distances) and metres.

    Not to be confused with :class:`lifecircle.Level`, a life-circle level of a standard profile.
    """

    walk_min: float
    distance_m: float
    speed: str | float  # profile name, the speed value given, or "fixed"
    speed_m_per_s: float


def _positive(value: object, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{what} must be a positive finite number, got {value!r}")
    return v


def _profiles(speed_m_per_s: Speeds) -> list[tuple[str | float, float]]:
    if isinstance(speed_m_per_s, Mapping):
        if not speed_m_per_s:
            raise InputError("speed_m_per_s: the dict of profiles is empty")
        out = [
            (name, walking_speed(v, f"speed_m_per_s[{name!r}]")[1])
            for name, v in speed_m_per_s.items()
        ]
    elif isinstance(speed_m_per_s, (list, tuple)):
        if not speed_m_per_s:
            raise InputError("speed_m_per_s: the list of profiles is empty")
        out = [walking_speed(s, "speed_m_per_s") for s in speed_m_per_s]
    else:
        out = [walking_speed(speed_m_per_s, "speed_m_per_s")]
    names = [n for n, _ in out]
    if len(set(map(str, names))) != len(names):
        raise InputError(f"speed_m_per_s: duplicate profiles {names}")
    return out


def levels(
    minutes: float | Sequence[float] | None = (5, 10, 15),
    speed_m_per_s: Speeds = "adult",
    distances_m: float | Sequence[float] | Mapping[float, float] | None = None,
) -> list[IsochroneLevel]:
    """Resolve the requested levels: minutes × speed profiles, or fixed distances.

    Parameters
    ----------
    minutes : walking minutes (one or several); may be ``None`` with ``distances_m``.
    speed_m_per_s : a profile name (``"adult"``, ``"elderly"``, ``"child"``, see
        :data:`lifecircle.settings.walk_speeds_m_per_s`), a speed in m/s, a list of these,
        or a dict ``{name: m/s}``.
    distances_m : fixed network distances in metres instead of a speed, e.g. the standard
        profile's ``[300, 500, 1000]``: paired with ``minutes`` in order, or a dict
        ``{minutes: metres}``, or alone with ``minutes=None``.

    Returns
    -------
    list of :class:`IsochroneLevel`, profile by profile in the order given, ascending minutes.
    """
    mins: list[float] | None
    if minutes is None:
        mins = None
    else:
        seq = [minutes] if np.isscalar(minutes) else list(minutes)  # type: ignore[arg-type]
        if not seq:
            raise InputError("minutes: no level given")
        mins = [_positive(m, "minutes") for m in seq]
    if distances_m is not None:
        if isinstance(distances_m, Mapping):
            pairs = [
                (_positive(m, "minutes"), _positive(d, "distances_m"))
                for m, d in distances_m.items()
            ]
        else:
            dseq = [distances_m] if np.isscalar(distances_m) else list(distances_m)  # type: ignore[arg-type]
            if not dseq:
                raise InputError("distances_m: no distance given")
            dists = [_positive(d, "distances_m") for d in dseq]
            if mins is None:
                pairs = [(math.nan, d) for d in dists]
            elif len(mins) != len(dists):
                raise InputError(
                    f"distances_m has {len(dists)} values but minutes has {len(mins)}; pair "
                    "them one to one, pass a dict {minutes: metres}, or set minutes=None"
                )
            else:
                pairs = list(zip(mins, dists, strict=True))
        pairs.sort(key=lambda p: (p[1], p[0]))
        return [IsochroneLevel(m, d, "fixed", math.nan) for m, d in pairs]
    if mins is None:
        raise InputError("give minutes (with a speed) or distances_m")
    out = []
    for name, v in _profiles(speed_m_per_s):
        for m in sorted(set(mins)):
            out.append(IsochroneLevel(m, m * 60.0 * v, name, v))
    return out


# ---------------------------------------------------------------------- edge geometry
@dataclass
class _EdgeGeom:
    coords: np.ndarray  # (N, 2) all edge vertices, edge after edge
    ptr: np.ndarray  # (m + 1,) vertex range of each edge
    cum: np.ndarray  # (N,) distance along the edge at each vertex, scaled to length_m


_GEOM_CACHE: weakref.WeakKeyDictionary[WalkNetwork, tuple[int, _EdgeGeom]] = (
    weakref.WeakKeyDictionary()
)
_GEOM_LOCK = threading.Lock()


def _edge_geom(net: WalkNetwork) -> _EdgeGeom:
    with _GEOM_LOCK:
        hit = _GEOM_CACHE.get(net)
        if hit is not None and hit[0] == id(net.edges):
            return hit[1]
        lines = net.edges.geometry.values
        coords, idx = shapely.get_coordinates(lines, return_index=True)
        ptr = np.zeros(len(lines) + 1, dtype=np.int64)
        np.add.at(ptr, idx + 1, 1)
        np.cumsum(ptr, out=ptr)
        seg = np.hypot(*np.diff(coords, axis=0).T)
        cum = np.zeros(len(coords))
        cum[1:] = np.cumsum(seg)
        counts = np.diff(ptr)
        cum -= np.repeat(cum[ptr[:-1]], counts)
        total = cum[np.maximum(ptr[1:] - 1, 0)]
        length = net.edges["length_m"].to_numpy(np.float64)
        # positions along edges are in length_m units; the geometry may differ slightly
        scale = np.where(total > 0, length / np.where(total > 0, total, 1.0), 1.0)
        cum *= np.repeat(scale, counts)
        geom = _EdgeGeom(coords, ptr, cum)
        _GEOM_CACHE[net] = (id(net.edges), geom)
        return geom


@njit(cache=True)
def _cut_pieces(coords, ptr, cum, edge, start, end):  # pragma: no cover - compiled
    """Cut ``[start, end]`` (along-edge metres) out of each piece's edge polyline.

    Returns the vertices of all pieces and their offsets (ragged LineString layout).
    """
    n = edge.shape[0]
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    off = np.zeros(n + 1, np.int64)
    for i in range(n):
        a = ptr[edge[i]]
        b = ptr[edge[i] + 1]
        lo[i] = a + np.searchsorted(cum[a:b], start[i], side="right")
        hi[i] = a + np.searchsorted(cum[a:b], end[i], side="left")
        off[i + 1] = off[i] + 2 + max(hi[i] - lo[i], 0)
    out = np.empty((off[n], 2))
    for i in range(n):
        a = ptr[edge[i]]
        b = ptr[edge[i] + 1]
        k = off[i]
        for side in range(2):
            s = start[i] if side == 0 else end[i]
            j = a + np.searchsorted(cum[a:b], s, side="right")
            if j >= b:
                j = b - 1
            if j <= a:
                j = a + 1
            c0 = cum[j - 1]
            c1 = cum[j]
            f = (s - c0) / (c1 - c0) if c1 > c0 else 0.0
            f = min(max(f, 0.0), 1.0)
            out[k, 0] = coords[j - 1, 0] + f * (coords[j, 0] - coords[j - 1, 0])
            out[k, 1] = coords[j - 1, 1] + f * (coords[j, 1] - coords[j - 1, 1])
            k += 1
            if side == 0:
                for q in range(lo[i], hi[i]):
                    out[k, 0] = coords[q, 0]
                    out[k, 1] = coords[q, 1]
                    k += 1
    return out, off


def _lines(geom: _EdgeGeom, edge: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """LineStrings of edge stretches ``[start, end]`` (metres along the edge from ``u``)."""
    if len(edge) == 0:
        return np.empty(0, dtype=object)
    announce_compile(_cut_pieces)
    out, off = _cut_pieces(
        geom.coords,
        geom.ptr,
        geom.cum,
        edge.astype(np.int64),
        start.astype(np.float64),
        end.astype(np.float64),
    )
    return shapely.from_ragged_array(shapely.GeometryType.LINESTRING, out, (off,))


# ---------------------------------------------------------------------- polygon builder
@dataclass
class _Pieces:
    """Reached stretches of one level: per group (origin), edge, [start, end] along the edge."""

    group: np.ndarray
    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray


class _Builder:
    """Buffers pieces and unions them into nested polygons; shares whole-edge buffers."""

    def __init__(self, net: WalkNetwork, buffer_m: float, quad_segs: int) -> None:
        self.net = net
        self.geom = _edge_geom(net)
        self.length = net.edges["length_m"].to_numpy(np.float64)
        self.buffer_m = buffer_m
        self.quad_segs = quad_segs
        self._whole = np.full(len(self.length), None, dtype=object)
        self._lock = threading.Lock()

    def _buffer(self, geoms: np.ndarray) -> np.ndarray:
        return shapely.buffer(geoms, self.buffer_m, quad_segs=self.quad_segs)

    def whole_edge_buffers(self, edges: np.ndarray) -> np.ndarray:
        with self._lock:
            todo = np.unique(edges)
            todo = todo[shapely.is_missing(self._whole[todo])]
            if len(todo):
                lines = _lines(self.geom, todo, np.zeros(len(todo)), self.length[todo])
                self._whole[todo] = self._buffer(lines)
            return self._whole[edges]

    def nested(
        self,
        n_groups: int,
        pieces: list[_Pieces | None],
        legs: list[np.ndarray | None],
        fill_holes_below_m2: float,
    ) -> np.ndarray:
        """Polygons (n_groups × n_levels) for levels of increasing distance.

        ``pieces[k]`` are the reached stretches at level ``k`` (``None``: nothing reached);
        ``legs[k]`` the access legs ``(group, x0, y0, x1, y1)`` rows at that level.
        """
        n_lv = len(pieces)
        out = np.full((n_groups, n_lv), None, dtype=object)
        prev: np.ndarray = np.full(n_groups, None, dtype=object)
        prev_whole = np.empty(0, dtype=np.int64)
        m = len(self.length)
        prev_leg_len: np.ndarray | None = None
        for k in range(n_lv):
            groups: list[np.ndarray] = []
            geoms: list[np.ndarray] = []
            pc = pieces[k]
            if pc is not None and len(pc.edge):
                L = self.length[pc.edge]
                whole = (pc.start <= _MIN_PIECE_M) & (pc.end >= L - _MIN_PIECE_M)
                key = pc.group.astype(np.int64) * m + pc.edge
                # a whole edge already whole at the previous level adds nothing
                new_whole = whole & ~np.isin(key, prev_whole, assume_unique=False)
                prev_whole = key[whole]
                if new_whole.any():
                    groups.append(pc.group[new_whole])
                    geoms.append(self.whole_edge_buffers(pc.edge[new_whole]))
                part = ~whole
                if part.any():
                    groups.append(pc.group[part])
                    geoms.append(
                        self._buffer(_lines(self.geom, pc.edge[part], pc.start[part], pc.end[part]))
                    )
            lg = legs[k]
            if lg is not None and len(lg):
                # the same legs (rows) at every level, longer or equal at longer distances
                g = lg[:, 0].astype(np.int64)
                leg_len = np.hypot(lg[:, 3] - lg[:, 1], lg[:, 4] - lg[:, 2])
                if prev_leg_len is None:
                    prev_leg_len = np.full(len(lg), -1.0)
                grow = leg_len > prev_leg_len + 1e-9
                prev_leg_len = np.maximum(prev_leg_len, leg_len)
                if grow.any():
                    seg = lg[grow]
                    coords = np.stack([seg[:, 1:3], seg[:, 3:5]], axis=1)
                    groups.append(g[grow])
                    geoms.append(self._buffer(shapely.linestrings(coords)))
            if groups:
                grp = np.concatenate(groups)
                geo = np.concatenate(geoms)
                cur = _union_groups(n_groups, grp, geo, prev)
            else:
                cur = prev.copy()
            cur = drop_slivers(cur)
            if fill_holes_below_m2 > 0:
                cur = fill_holes(cur, fill_holes_below_m2)
            out[:, k] = cur
            prev = cur
        empty = shapely.is_missing(out)
        out[empty] = shapely.Polygon()
        return out


def _union_groups(n_groups: int, grp: np.ndarray, geo: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Union of ``prev[g]`` and the geometries of group ``g``, for every group, in one call."""
    order = np.argsort(grp, kind="stable")
    grp, geo = grp[order], geo[order]
    counts = np.bincount(grp, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(grp)) - starts[grp]
    width = int(counts.max()) + 1 if len(grp) else 1
    table = np.full((n_groups, width), None, dtype=object)
    table[:, 0] = prev
    table[grp, rank + 1] = geo
    has = (counts > 0) | ~shapely.is_missing(prev)
    res = np.full(n_groups, None, dtype=object)
    if has.any():
        sub = table[has]
        # GEOS cascaded union, one call for all groups; None entries are ignored
        res[has] = shapely.union_all(sub, axis=1)
    res[shapely.is_empty(res) & ~shapely.is_missing(res)] = None
    return res


def drop_slivers(polys: np.ndarray, below_m2: float = _SLIVER_M2) -> np.ndarray:
    """Drop the specks (parts smaller than ``below_m2``) that overlay noding may leave.

    MultiPolygons left with one part become Polygons.
    """
    polys = np.asarray(polys, dtype=object)
    multi = np.flatnonzero(shapely.get_type_id(polys) == 6)
    if len(multi) == 0:
        return polys
    out = polys.copy()
    parts, idx = shapely.get_parts(polys[multi], return_index=True)
    big = shapely.area(parts) >= below_m2
    n_big = np.bincount(idx[big], minlength=len(multi))
    n_all = np.bincount(idx, minlength=len(multi))
    for j in np.flatnonzero((n_big < n_all) | (n_big <= 1)):
        keep = parts[(idx == j) & big]
        if len(keep) == 0:
            out[multi[j]] = None
        else:
            out[multi[j]] = keep[0] if len(keep) == 1 else shapely.multipolygons(keep)
    return out


def fill_holes(polys: np.ndarray, below_m2: float) -> np.ndarray:
    """Fill interior rings smaller than ``below_m2`` (m², metric CRS) in (Multi)Polygons."""
    polys = np.asarray(polys, dtype=object)
    out = polys.copy()
    has_geom = ~shapely.is_missing(polys) & ~shapely.is_empty(polys)
    idx_geom = np.flatnonzero(has_geom)
    if len(idx_geom) == 0:
        return out
    parts, pidx = shapely.get_parts(polys[idx_geom], return_index=True)
    nint = shapely.get_num_interior_rings(parts)
    sel = np.flatnonzero(nint > 0)
    if len(sel) == 0:
        return out
    rings, ridx = shapely.get_rings(parts[sel], return_index=True)
    first = np.ones(len(ridx), dtype=bool)
    first[1:] = ridx[1:] != ridx[:-1]
    area = shapely.area(shapely.polygons(rings))
    keep = first | (area >= below_m2)
    changed = np.zeros(len(sel), dtype=bool)
    np.logical_or.at(changed, ridx, ~keep)
    if not changed.any():
        return out
    rebuilt = shapely.polygons(rings[keep], indices=ridx[keep])
    parts = parts.copy()
    parts[sel[changed]] = rebuilt[changed]
    touched = np.unique(pidx[sel[changed]])
    n_parts = np.bincount(pidx, minlength=len(idx_geom))
    for j in touched:
        members = parts[pidx == j]
        if n_parts[j] == 1:
            out[idx_geom[j]] = members[0]
        else:
            # a part may lie inside a hole that was just filled: union repairs the overlap
            out[idx_geom[j]] = shapely.union_all(members)
    return out


def _trim(buffer_m: float, quad_segs: int, trim_rim: bool) -> float:
    return buffer_m * math.cos(math.pi / (4 * quad_segs)) if trim_rim else 0.0


def _check_params(buffer_m: float, quad_segs: int, fill: float, simplify_m: float) -> None:
    _positive(buffer_m, "buffer_m")
    if int(quad_segs) != quad_segs or quad_segs < 1:
        raise InputError(f"quad_segs must be an integer >= 1, got {quad_segs!r}")
    for v, what in ((fill, "fill_holes_below_m2"), (simplify_m, "simplify_m")):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise InputError(f"{what} must be a finite number >= 0, got {v!r}")


def _simplify_nested(polys: np.ndarray, simplify_m: float) -> np.ndarray:
    """Simplify each level (topology kept), then restore nesting with the inner level."""
    out = shapely.simplify(polys, simplify_m, preserve_topology=True)
    for k in range(1, out.shape[1]):
        out[:, k] = shapely.union(out[:, k], out[:, k - 1])
    return out


def _n_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if int(n_jobs) < 1:
        raise InputError(f"n_jobs must be >= 1, got {n_jobs!r}")
    return int(n_jobs)


# ---------------------------------------------------------------------- isochrones
def isochrones(
    network: WalkNetwork,
    origins: PointsLike,
    minutes: float | Sequence[float] | None = (5, 10, 15),
    speed_m_per_s: Speeds = "adult",
    distances_m: float | Sequence[float] | Mapping[float, float] | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    fill_holes_below_m2: float = DEFAULT_FILL_HOLES_M2,
    simplify_m: float = 0.0,
    trim_rim: bool = True,
    quad_segs: int = DEFAULT_QUAD_SEGS,
    to_wgs84: bool = True,
    max_snap_m: float | None = None,
    n_jobs: int | None = None,
) -> gpd.GeoDataFrame:
    """Walking isochrone polygons of every origin at every level (5/10/15 minutes by default).

    Parameters
    ----------
    network : the walking network (:func:`lifecircle.load_network`).
    origins : points (GeoDataFrame/GeoSeries in any CRS, ``(lon, lat)`` arrays or an (n, 2)
        lon/lat array), e.g. community centroids or gates. Each is snapped to its nearest edge;
        the straight access leg counts as walked.
    minutes, speed_m_per_s, distances_m : the levels, see :func:`levels`. Speeds: ``"adult"``
        1.2 m/s, ``"elderly"`` 0.9 m/s, ``"child"`` 0.8 m/s, a number, a list, or a dict
        ``{name: m/s}``; or fixed distances such as GB 50180's ``[300, 500, 1000]`` m.
    buffer_m : buffer around the reached streets (metres), default 25.
    fill_holes_below_m2 : fill holes smaller than this (m²), default 4 ha (a 250 m block);
        0 keeps every hole.
    simplify_m : simplify the polygons by this tolerance (metres, topology kept; nesting is
        restored afterwards); 0 (default) leaves them as built.
    trim_rim : stop the pieces short of the limit by the buffer's inscribed radius so the
        polygon does not overshoot the walking distance (default); ``False`` buffers the full
        reached pieces.
    quad_segs : segments per quarter circle of the buffers (default 2).
    to_wgs84 : return geometries in WGS84 (EPSG:4326, default) or in the network's metric CRS.
    max_snap_m : see :meth:`WalkNetwork.snap`; farther origins get an empty polygon.
    n_jobs : threads (default: the number of CPUs, at most 8). Output does not depend on it.

    Returns
    -------
    GeoDataFrame, one row per origin × profile × level, ordered that way: ``origin`` (index
    label of the origin), ``walk_min``, ``distance_m`` (network distance limit, metres),
    ``speed`` (profile name, the speed given, or ``"fixed"``), ``speed_m_per_s``, ``area_m2``
    (computed in the metric CRS) and ``geometry`` (Polygon; empty for unsnapped origins).
    Levels of one origin are nested: a shorter distance's polygon lies inside a longer one's.
    """
    _check_params(buffer_m, quad_segs, fill_holes_below_m2, simplify_m)
    lv = levels(minutes, speed_m_per_s, distances_m)
    t0 = time.perf_counter()
    snaps = network.snap(origins, max_snap_m, what="origins")
    n = len(snaps)
    trim = _trim(buffer_m, quad_segs, trim_rim)
    dist = np.array(sorted({lvl.distance_m for lvl in lv}))
    builder = _Builder(network, float(buffer_m), int(quad_segs))
    jobs = _n_jobs(n_jobs)
    # chunks only group the work: each origin's polygons do not depend on them
    size = max(1, min(CHUNK, -(-n // jobs)))
    chunks = [np.arange(i, min(i + size, n)) for i in range(0, n, size)]

    def work(rows: np.ndarray) -> np.ndarray:
        return _origin_chunk(network, builder, snaps.take(rows), dist, trim, fill_holes_below_m2)

    jobs = min(jobs, len(chunks))
    with progress(total=n, desc="isochrones", unit="origin") as bar:
        if jobs <= 1:
            parts = []
            for rows in chunks:
                parts.append(work(rows))
                bar.update(len(rows))
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                parts = []
                for rows, res in zip(chunks, pool.map(work, chunks), strict=True):
                    parts.append(res)
                    bar.update(len(rows))
    polys = np.concatenate(parts, axis=0) if parts else np.empty((0, len(dist)), dtype=object)
    if simplify_m > 0:
        polys = _simplify_nested(polys, simplify_m)
    col = {d: j for j, d in enumerate(dist)}
    n_lv = len(lv)
    geom = np.empty(n * n_lv, dtype=object)
    for j, lvl in enumerate(lv):
        geom[j::n_lv] = polys[:, col[lvl.distance_m]]
    labels = np.asarray(snaps.index, dtype=object)
    frame = pd.DataFrame(
        {
            "origin": np.repeat(labels, n_lv),
            "walk_min": np.tile([lvl.walk_min for lvl in lv], n),
            "distance_m": np.tile([lvl.distance_m for lvl in lv], n),
            "speed": np.tile(np.array([lvl.speed for lvl in lv], dtype=object), n),
            "speed_m_per_s": np.tile([lvl.speed_m_per_s for lvl in lv], n),
            "area_m2": shapely.area(geom),
        }
    )
    out = gpd.GeoDataFrame(frame, geometry=geom, crs=network.crs)
    if to_wgs84:
        out = out.to_crs(WGS84)
    dt = time.perf_counter() - t0
    log.info(
        "isochrones: %d origins × %d levels in %.2f s (%.2f ms per polygon)",
        n,
        n_lv,
        dt,
        1000 * dt / max(n * len(dist), 1),
    )
    return out


def _origin_chunk(
    net: WalkNetwork,
    builder: _Builder,
    snaps: Snapped,
    dist: np.ndarray,
    trim: float,
    fill: float,
) -> np.ndarray:
    n = len(snaps)
    limits = dist - trim
    top = float(limits.max())
    if top < 0 or snaps.too_far.all():
        return builder.nested(n, [None] * len(dist), [None] * len(dist), fill)
    reach = net.reach(snaps, top)
    pieces, legs = _pieces_and_legs(reach, limits)
    return builder.nested(n, pieces, legs, fill)


def _pieces_and_legs(
    reach: Reach, limits: np.ndarray
) -> tuple[list[_Pieces | None], list[np.ndarray | None]]:
    """Reached edge pieces and access legs of every origin of ``reach``, per limit (metres).

    Levels with a negative limit stay ``None``.
    """
    sn = reach.snapped
    ok = sn.ok
    group = reach.snap_origin[ok]
    pxy, a = sn.xy[ok], sn.access_m[ok]
    sx, sy = sn.snapped_xy[ok, 0], sn.snapped_xy[ok, 1]
    pieces: list[_Pieces | None] = [None] * len(limits)
    legs: list[np.ndarray | None] = [None] * len(limits)
    for k, lim in enumerate(limits):
        if lim < 0:
            continue
        pc = reach.edge_pieces(lim)
        pieces[k] = _Pieces(
            pc["origin"].to_numpy(np.int64),
            pc["edge"].to_numpy(np.int64),
            pc["start_m"].to_numpy(),
            pc["end_m"].to_numpy(),
        )
        legs[k] = _legs(group, pxy, sx, sy, a, lim)
    return pieces, legs


def _legs(
    group: np.ndarray, xy: np.ndarray, sx: np.ndarray, sy: np.ndarray, a: np.ndarray, lim: float
) -> np.ndarray:
    """Access legs from each point towards its snapped position, cut at ``lim`` metres."""
    f = np.where(a > 0, np.minimum(lim, a) / np.where(a > 0, a, 1.0), 0.0)
    x1 = xy[:, 0] + f * (sx - xy[:, 0])
    y1 = xy[:, 1] + f * (sy - xy[:, 1])
    return np.column_stack([group, xy[:, 0], xy[:, 1], x1, y1])


# ---------------------------------------------------------------------- covered area
def covered_area(
    network: WalkNetwork,
    facilities: PointsLike,
    minutes: float | Sequence[float] | None = (5, 10, 15),
    speed_m_per_s: Speeds = "adult",
    distances_m: float | Sequence[float] | Mapping[float, float] | None = None,
    category: str | None = "category",
    buffer_m: float = DEFAULT_BUFFER_M,
    fill_holes_below_m2: float = DEFAULT_FILL_HOLES_M2,
    simplify_m: float = 0.0,
    trim_rim: bool = True,
    quad_segs: int = DEFAULT_QUAD_SEGS,
    to_wgs84: bool = True,
    max_snap_m: float | None = None,
) -> gpd.GeoDataFrame:
    """The area within walking reach of at least one facility: one dissolved polygon per level.

    It is the union of every facility's isochrone (same construction as :func:`isochrones`),
    computed with **one** multi-source search per category (every facility seeds both ends of
    its edge) instead of one search and one polygon per facility.

    Parameters
    ----------
    network : the walking network.
    facilities : points (GeoDataFrame/GeoSeries in any CRS, or lon/lat arrays).
    minutes, speed_m_per_s, distances_m : the levels, see :func:`levels`.
    category : name of a column of ``facilities``; if present, one row per category × level
        (categories sorted). ``None`` or a missing column: all facilities together.
    buffer_m, fill_holes_below_m2, simplify_m, trim_rim, quad_segs, to_wgs84, max_snap_m :
        as in :func:`isochrones`.

    Returns
    -------
    GeoDataFrame: ``category`` (if used), ``walk_min``, ``distance_m``, ``speed``,
    ``speed_m_per_s``, ``n_facilities`` (snapped facilities), ``area_m2``, ``geometry``
    ((Multi)Polygon, empty if no facility is on the network).
    """
    _check_params(buffer_m, quad_segs, fill_holes_below_m2, simplify_m)
    lv = levels(minutes, speed_m_per_s, distances_m)
    t0 = time.perf_counter()
    snaps = network.snap(facilities, max_snap_m, what="facilities")
    use_cat = (
        category is not None
        and isinstance(facilities, pd.DataFrame)
        and category in facilities.columns
    )
    if use_cat:
        cats = pd.Series(facilities[category].to_numpy(), index=snaps.index)
        if cats.isna().any():
            raise InputError(
                f"facilities: missing {category!r} in rows "
                f"{', '.join(map(str, cats.index[cats.isna()][:5]))}"
            )
        names = sorted(cats.unique(), key=lambda c: (str(type(c)), c))
    else:
        cats = None
        names = [None]
    trim = _trim(buffer_m, quad_segs, trim_rim)
    dist = np.array(sorted({lvl.distance_m for lvl in lv}))
    builder = _Builder(network, float(buffer_m), int(quad_segs))
    rows = []
    for name in progress(names, desc="covered area", unit="category"):
        sel = np.ones(len(snaps), dtype=bool) if cats is None else (cats == name).to_numpy()
        sub = snaps.take(sel)
        poly = _covered_one(network, builder, sub, dist, trim, fill_holes_below_m2)
        n_fac = int(sub.ok.sum())
        rows.append((name, poly, n_fac))
    polys = np.stack([r[1] for r in rows]) if rows else np.empty((0, len(dist)), dtype=object)
    if simplify_m > 0:
        polys = _simplify_nested(polys, simplify_m)
    col = {d: j for j, d in enumerate(dist)}
    recs = []
    geoms = []
    for i, (name, _, n_fac) in enumerate(rows):
        for lvl in lv:
            rec = {
                "walk_min": lvl.walk_min,
                "distance_m": lvl.distance_m,
                "speed": lvl.speed,
                "speed_m_per_s": lvl.speed_m_per_s,
                "n_facilities": n_fac,
            }
            if use_cat:
                rec = {"category": name, **rec}
            recs.append(rec)
            geoms.append(polys[i, col[lvl.distance_m]])
    frame = pd.DataFrame.from_records(recs)
    geo = np.array(geoms, dtype=object)
    frame["area_m2"] = shapely.area(geo) if len(geo) else []
    out = gpd.GeoDataFrame(frame, geometry=geo, crs=network.crs)
    if to_wgs84:
        out = out.to_crs(WGS84)
    log.info(
        "covered_area: %d facilities, %d categor%s × %d levels in %.2f s",
        len(snaps),
        len(names),
        "y" if len(names) == 1 else "ies",
        len(lv),
        time.perf_counter() - t0,
    )
    return out


def _covered_one(
    net: WalkNetwork,
    builder: _Builder,
    snaps: Snapped,
    dist: np.ndarray,
    trim: float,
    fill: float,
) -> np.ndarray:
    """Nested polygons (one per distance) of the union of the facilities' catchments."""
    limits = dist - trim
    top = float(limits.max())
    if top < 0 or not snaps.ok.any():
        return builder.nested(1, [None] * len(dist), [None] * len(dist), fill)[0]
    # all facilities together are one origin of a Reach: its edge pieces are the union
    reach = net.reach(snaps, top, together=True)
    pieces, legs = _pieces_and_legs(reach, limits)
    return builder.nested(1, pieces, legs, fill)[0]


def __getattr__(name: str) -> Any:
    if name == "Level":  # renamed in 0.2: lifecircle.Level is a standard's life-circle level
        import warnings

        warnings.warn(
            "lifecircle.isochrone.Level is now IsochroneLevel; the old name goes in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return IsochroneLevel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
