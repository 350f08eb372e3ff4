"""Walking networks from line layers (road centrelines, 路网中心线): the topology built from geometry.

Bureau centrelines carry no node ids: lines stop anywhere, cross without a junction and miss each
other by centimetres. :func:`network_from_lines` turns them into an ordinary :class:`WalkNetwork`:

1. *walk filter* — rows dropped by ``exclude={"道路等级": ["高速公路", ...]}`` and, when the layer
   has an OSM ``highway`` column, by the OSM pedestrian rules; one-way is ignored;
2. *coordinates* — any CRS (CGCS2000 lon/lat or Gauss-Krüger, WGS84, UTM ...) and GCJ-02/BD-09
   lon/lat (``crs="gcj02"``), converted vertex by vertex, into a metric CRS;
3. *levels* — each line's level from ``layer``, ``bridge`` (+1) and ``tunnel`` (-1) columns
   (OSM names, or 层级/桥梁/隧道, or any column through ``columns=``);
4. *junctions* — node candidates: every line end; every point where two lines of the same level
   cross or touch (lines of different levels pass over each other); the foot of an end that lies
   within ``tolerance_m`` of the middle of another line (a T-junction; onto another level only
   from a loose end, e.g. a footbridge landing on a path, never from a bridge's continuation).
   Not candidates: crossings of an end segment whose end already meets the other line (ends
   drawn a little off make near-parallel lines cross metres before they meet), and feet of the
   ends of a line merely cut in two onto a line running alongside (a slip road cut before it
   merges). Candidates within ``tolerance_m`` of each other join into one node (line ends of any
   level; others of the same level) — whole chains at once, so the result does not depend on the
   input order — except that a tight knot of three or more line ends stays apart from another
   junction (three or more streets, whose ending lines do not point at the knot) that only
   chains onto it: two real junctions 1.4 m apart stay two when their ends move 0.3 m. A node
   lies on a crossing away from line ends if it has one, else on the through line's vertex a
   street stops short of, else where the meeting lines cross (least squares);
5. *edges* — every line cut at its nodes, with its end vertices moved onto them; pieces joining the
   same two nodes along the same course (Hausdorff distance < ``tolerance_m``) are one street drawn
   twice, and only the first is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from .._errors import CRSError, InputError, NetworkError
from .._progress import progress
from ..crs import WGS84, metric_crs_for, require_metric, transformer
from ..sources.coords import parse_coord_system, to_wgs84
from ..sources.osm import WALK_FILTER_TAGS, is_walkable
from .graph import Keep, WalkNetwork

log = logging.getLogger(__name__)

#: Default end-joining tolerance in metres.
TOLERANCE_M = 1.0

#: Column names looked for when ``columns=`` does not name one (OSM style first, then Chinese).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "bridge": ("bridge", "桥梁", "是否桥梁"),
    "tunnel": ("tunnel", "隧道", "是否隧道"),
    "layer": ("layer", "层级", "层"),
}
# Values meaning "no" in a bridge/tunnel column; anything else non-empty means yes.
_FALSE = {"", "no", "false", "0", "0.0", "n", "f", "none", "nan", "否", "无", "非", "不是"}
# Columns of the edge table that the layer's own attributes may not overwrite.
_RESERVED = {"u", "v", "key", "length_m", "geometry", "line_id"}

# How far a node candidate's position is trusted (a node lies at the mean of its most trusted ones):
# a crossing away from both lines' ends is exact; a foot on a line away from its ends, or a
# crossing near one line's end, is exact across that line; a line end is where the layer put it;
# a crossing of two line ends (near-parallel ends cross far from where they meet) least of all.
_WEAK, _END, _FOOT, _CROSS = 0, 1, 2, 3
_EPS_M = 1e-3  # positions along a line closer than this are the same place
_PARALLEL = np.cos(np.radians(30))  # lines closer than 30 degrees run alongside each other
# Two junctions are apart when this share of the tolerance separates them: the ends of one junction
# lie within the tolerance of each other, so about half of it from its centre, plus its own error.
_APART = 0.7


@dataclass(frozen=True)
class LineTopology:
    """How a line layer was turned into a network (``WalkNetwork.topology``)."""

    lines_read: int
    lines_excluded: int
    ends_joined: int
    t_junctions: int
    crossings: int
    grade_separated: int
    duplicates_merged: int
    dangles: int
    tolerance_m: float

    def __str__(self) -> str:
        return (
            f"{self.lines_read:,} lines ({self.lines_excluded:,} excluded): {self.ends_joined:,} "
            f"ends joined within {self.tolerance_m:g} m ({self.t_junctions:,} onto the middle of "
            f"a line), {self.crossings:,} crossings made junctions, {self.grade_separated:,} "
            f"left grade-separated, {self.duplicates_merged:,} duplicate pieces merged; "
            f"{self.dangles:,} dead ends remain"
        )


@dataclass
class _Cands:
    """Node candidates: position, level, kind; links between them (pairs of positions)."""

    xy: np.ndarray
    level: np.ndarray
    kind: np.ndarray
    links: list[np.ndarray]
    direction: np.ndarray  # unit direction of the line the candidate lies on
    on: np.ndarray  # (n, 2): the line(s) a candidate lies on (an end or foot: one, -1 after it)


# ---------------------------------------------------------------------------- attributes
def _find_column(frame: pd.DataFrame, role: str, columns: Mapping[str, str]) -> str | None:
    if role in columns:
        name = columns[role]
        if name not in frame.columns:
            raise InputError(
                f"columns={{{role!r}: {name!r}}}: the layer has no column {name!r}; its columns "
                f"are {', '.join(map(str, frame.columns))}"
            )
        return name
    return next((c for c in DEFAULT_COLUMNS[role] if c in frame.columns), None)


def _flag(values: pd.Series) -> np.ndarray:
    text = values.astype("string").fillna("").str.strip().str.lower()
    return ~text.isin(_FALSE).to_numpy()


def line_levels(frame: pd.DataFrame, columns: Mapping[str, str] | None = None) -> np.ndarray:
    """Each line's level: its ``layer`` value, else +1 for a bridge, -1 for a tunnel, else 0.

    ``columns`` maps the roles ``"bridge"``, ``"tunnel"``, ``"layer"`` to the layer's own column
    names (``{"bridge": "桥梁", "layer": "层级"}``); unnamed roles use :data:`DEFAULT_COLUMNS`.
    """
    columns = dict(columns or {})
    unknown = set(columns) - set(DEFAULT_COLUMNS)
    if unknown:
        raise InputError(
            f"columns=: unknown role(s) {sorted(unknown)}; known: {sorted(DEFAULT_COLUMNS)}"
        )
    level = np.zeros(len(frame), dtype=np.int64)
    bridge, tunnel, layer = (_find_column(frame, r, columns) for r in ("bridge", "tunnel", "layer"))
    if bridge:
        level[_flag(frame[bridge])] = 1
    if tunnel:
        level[_flag(frame[tunnel])] = -1
    if layer:
        first = frame[layer].astype("string").fillna("").str.split(";").str[0].str.strip()
        num = pd.to_numeric(first, errors="coerce").to_numpy(dtype=float)
        given = np.isfinite(num) & (num != 0)
        level[given] = np.round(num[given]).astype(np.int64)
    return level


def walk_rows(frame: pd.DataFrame, exclude: Mapping[str, Sequence[Any]] | None) -> np.ndarray:
    """Rows kept for walking: not matched by ``exclude`` and, with a ``highway`` column, walkable
    by the OSM rules (:func:`lifecircle.sources.osm.is_walkable`)."""
    keep = np.ones(len(frame), dtype=bool)
    for col, values in (exclude or {}).items():
        if col not in frame.columns:
            raise InputError(
                f"exclude={{{col!r}: ...}}: the layer has no column {col!r}; its columns are "
                f"{', '.join(map(str, frame.columns))}"
            )
        if isinstance(values, str):
            values = [values]
        wanted = {str(v).strip() for v in values}
        keep &= ~frame[col].astype("string").fillna("").str.strip().isin(wanted).to_numpy()
    if "highway" in frame.columns:
        tags = frame[[c for c in WALK_FILTER_TAGS if c in frame.columns]].astype("string")
        ok = [
            is_walkable({k: v for k, v in row.items() if isinstance(v, str) and v})
            for row in tags.to_dict("records")
        ]
        keep &= np.asarray(ok, dtype=bool)
    return keep


# ---------------------------------------------------------------------------- coordinates
def _systems(layer_crs: Any, crs: Any) -> tuple[Any, CRS | None]:
    """The layer's coordinate system and the metric CRS asked for (None: choose one)."""
    if crs is None:
        if layer_crs is None:
            raise CRSError(
                "the line layer has no coordinate system (a Shapefile without .prj?): pass crs=, "
                "e.g. crs=4549 for CGCS2000 Gauss-Krüger 120°E metres, crs='cgcs2000' or "
                "'wgs84' for lon/lat, crs='gcj02' for lines digitised on Amap/Tencent maps"
            )
        return parse_coord_system(layer_crs), None
    given = parse_coord_system(crs)
    if isinstance(given, str) or layer_crs is None:
        if layer_crs is not None and not isinstance(parse_coord_system(layer_crs), str):
            log.warning("the layer says %s; reading it as %s as asked", layer_crs, crs)
        return given, None
    require_metric(given, "crs=")
    return parse_coord_system(layer_crs), given


def to_metric(geoms: np.ndarray, layer_crs: Any, crs: Any) -> tuple[np.ndarray, CRS]:
    """Lines in ``layer_crs`` (or ``crs``, see :func:`load_network`) in a metric CRS, converted
    vertex by vertex (GCJ-02/BD-09 through :mod:`lifecircle.sources.coords`)."""
    system, metric = _systems(layer_crs, crs)
    if isinstance(system, CRS) and metric in (None, system):
        try:
            require_metric(system, "the line layer")
            return geoms, system
        except CRSError:
            pass  # Web Mercator or feet: through lon/lat
    xy = shapely.get_coordinates(geoms)
    if len(xy) == 0:
        raise NetworkError("the line layer has no coordinates")
    lon, lat = to_wgs84(xy[:, 0], xy[:, 1], system)
    if metric is None:
        metric = metric_crs_for(float(np.nanmedian(lon)), float(np.nanmedian(lat)))
    x, y = transformer(WGS84, metric).transform(lon, lat)
    return shapely.set_coordinates(geoms.copy(), np.column_stack([x, y])), metric


# ---------------------------------------------------------------------------- topology
def _end_candidates(lines: np.ndarray, level: np.ndarray, tol: float) -> tuple[_Cands, np.ndarray]:
    """Both ends of every line (2i start, 2i+1 end), linked to ends of any level within ``tol``.

    Returns the candidates and, per end, 0 if it is loose (no other end within ``tol``), 1 if
    it continues one other line (one end within ``tol``, the lines in line: a line cut in two),
    else 2.
    """
    n = len(lines)
    ends = np.empty((2 * n, 2))
    ends[0::2] = shapely.get_coordinates(shapely.get_point(lines, 0))
    ends[1::2] = shapely.get_coordinates(shapely.get_point(lines, -1))
    pts = shapely.points(ends)
    a, b = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=tol)
    pair = a < b
    near = np.bincount(np.concatenate([a[pair], b[pair]]), minlength=2 * n)
    length = shapely.length(lines)
    reach = np.minimum(5.0, length / 2)
    line = np.repeat(np.arange(n), 2)
    at = np.column_stack([reach, length - reach]).ravel()
    cands = _Cands(
        ends,
        np.repeat(level, 2),
        np.full(2 * n, _END),
        [np.column_stack([a, b])[pair]],
        _directions(lines, line, at, np.repeat(reach, 2)),
        np.column_stack([line, np.full(2 * n, -1)]),
    )
    one = pair & (near[a] == 1) & (near[b] == 1)
    cos = np.abs(np.sum(cands.direction[a[one]] * cands.direction[b[one]], axis=1))
    kind = np.where(near == 0, 0, 2)
    kind[a[one][cos > _PARALLEL]] = 1
    kind[b[one][cos > _PARALLEL]] = 1
    return cands, kind


def _feet(
    lines: np.ndarray, level: np.ndarray, cands: _Cands, ends: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ends within ``tol`` of the middle of a line (T-junctions): (end, line, position along).

    Not the ends where a line was merely cut in two, onto a line running alongside (a slip road
    cut just before it merges is not joined there).
    """
    loose = ends == 0
    n_end = 2 * len(lines)
    pts = shapely.points(cands.xy[:n_end])
    e, ln = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=tol)
    own = e // 2
    ok = ((level[own] == level[ln]) | loose[e]) & (ln != own)
    e, ln = e[ok], ln[ok]
    d = shapely.line_locate_point(lines[ln], pts[e])
    le, ld = _own_loops(lines, pts, tol)  # a line closing on its own middle
    e, ln, d = np.concatenate([e, le]), np.concatenate([ln, le // 2]), np.concatenate([d, ld])
    length = shapely.length(lines[ln])
    inside = (d > _EPS_M) & (d < length - _EPS_M)
    near = shapely.distance(shapely.line_interpolate_point(lines[ln], d), pts[e]) <= tol
    along = np.abs(np.sum(_directions(lines, ln, d, np.full(len(d), 2.0)) * cands.direction[e], 1))
    keep = inside & near & ~((ends[e] == 1) & (along > _PARALLEL))
    return e[keep], ln[keep], d[keep]


def _own_loops(lines: np.ndarray, ends: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Ends within ``tol`` of their own line more than ``2 tol`` along it from that end (a loop
    closing on itself, a "P"): (end, position along the line), the nearest such place per end."""
    xy, li = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(*np.diff(xy, axis=0).T)
    seg = li[1:] == li[:-1]
    m = np.concatenate([[0.0], np.cumsum(np.where(seg, step, 0.0))])
    m -= m[np.searchsorted(li, li)]  # along-line position of every vertex
    i = np.flatnonzero(seg)
    segs = shapely.linestrings(np.stack([xy[i], xy[i + 1]], axis=1))
    e, s = shapely.STRtree(segs).query(ends, predicate="dwithin", distance=tol)
    line, m0, m1 = li[i[s]], m[i[s]], m[i[s] + 1]
    length = shapely.length(lines[line])
    far = np.where(e % 2 == 0, m0 > 2 * tol, m1 < length - 2 * tol)
    e, s, m0 = e[(line == e // 2) & far], s[(line == e // 2) & far], m0[(line == e // 2) & far]
    if len(e) == 0:
        return e, np.empty(0)
    d = m0 + shapely.line_locate_point(segs[s], ends[e])
    gap = shapely.distance(segs[s], ends[e])
    order = np.lexsort((gap, e))
    first = np.r_[True, e[order][1:] != e[order][:-1]]
    return e[order][first], d[order][first]


def _feet_on_vertices(
    lines: np.ndarray, fl: np.ndarray, fd: np.ndarray, foot_xy: np.ndarray, within_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move each foot onto the nearest inner vertex of its line within ``within_m``, if any.

    A line drawn through a junction usually has a vertex there (OSM nodes, CAD snapping), and a
    street that stops short of it meets it at that vertex. Returns (moved?, foot xy, position).
    """
    moved = np.zeros(len(fl), dtype=bool)
    if len(fl) == 0:
        return moved, foot_xy, fd
    xy, line = shapely.get_coordinates(lines[np.unique(fl)], return_index=True)
    line = np.unique(fl)[line]
    change = line[1:] != line[:-1]
    inner = ~np.r_[True, change] & ~np.r_[change, True]  # neither a line's first nor its last
    xy, line = xy[inner], line[inner]
    if len(xy) == 0:
        return moved, foot_xy, fd
    f, vtx = shapely.STRtree(shapely.points(xy)).query(
        shapely.points(foot_xy), predicate="dwithin", distance=within_m
    )
    ok = line[vtx] == fl[f]
    f, vtx = f[ok], vtx[ok]
    dist = np.hypot(*(xy[vtx] - foot_xy[f]).T)
    order = np.lexsort((dist, f))
    f, vtx = f[order], vtx[order]
    first = np.ones(len(f), dtype=bool)
    first[1:] = f[1:] != f[:-1]
    f, vtx = f[first], vtx[first]
    foot_xy = foot_xy.copy()
    fd = fd.copy()
    foot_xy[f] = xy[vtx]
    fd[f] = shapely.line_locate_point(lines[fl[f]], shapely.points(xy[vtx]))
    moved[f] = True
    return moved, foot_xy, fd


def _crossings(
    lines: np.ndarray, level: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Points where two lines of the same level cross, touch or start/stop overlapping.

    Returns (points xy, line a, line b) per point and the number of line pairs that cross at
    different levels (left unjoined).
    """
    a, b = shapely.STRtree(lines).query(lines, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    same = level[a] == level[b]
    separated = _passing_over(lines, a[~same], b[~same])
    a, b = a[same], b[same]
    parts, idx = shapely.get_parts(shapely.intersection(lines[a], lines[b]), return_index=True)
    kind = shapely.get_type_id(parts)
    is_pt = kind == 0
    is_ln = kind == 1
    xy = np.concatenate(
        [
            shapely.get_coordinates(parts[is_pt]),
            shapely.get_coordinates(shapely.get_point(parts[is_ln], 0)),
            shapely.get_coordinates(shapely.get_point(parts[is_ln], -1)),
        ]
    )
    owner = np.concatenate([idx[is_pt], idx[is_ln], idx[is_ln]])
    return xy, a[owner], b[owner], separated


def _end_noise(
    lines: np.ndarray,
    cands: _Cands,
    crossings: tuple[np.ndarray, np.ndarray, np.ndarray],
    feet: tuple[np.ndarray, np.ndarray],
    tol: float,
) -> np.ndarray:
    """Crossings made by line ends drawn a little off, to be dropped.

    A straight end segment that meets another line at its end cannot also cross it elsewhere:
    such a crossing comes from an end drawn a little off (for near-parallel lines, metres before
    they meet), and a walker could turn there and cut the acute corner. Dropped: crossings on the
    end segments of two lines whose ends meet; and crossings within ``10 * tol`` of a line's end,
    on its end segment, where that end is joined to the other line (end to end or onto its middle).
    """
    cx, ca, cb = crossings
    xy, li = shapely.get_coordinates(lines, return_index=True)
    first = np.searchsorted(li, np.arange(len(lines)))
    last = np.r_[first[1:], len(li)] - 1
    length = shapely.length(lines)
    seg = (np.hypot(*(xy[first + 1] - xy[first]).T), np.hypot(*(xy[last] - xy[last - 1]).T))
    pts = shapely.points(cx)
    at = [shapely.line_locate_point(lines[ln], pts) for ln in (ca, cb)]
    on_end = [
        [at[k] <= seg[0][ln] + _EPS_M, at[k] >= length[ln] - seg[1][ln] - _EPS_M]
        for k, ln in enumerate((ca, cb))
    ]
    from_end = [[at[k], length[ln] - at[k]] for k, ln in enumerate((ca, cb))]
    links = cands.links[0]
    met = set(map(tuple, np.sort(links, axis=1).tolist()))
    joined = set(zip(feet[0].tolist(), feet[1].tolist(), strict=True))
    joined |= set(zip(links[:, 0].tolist(), (links[:, 1] // 2).tolist(), strict=True))
    joined |= set(zip(links[:, 1].tolist(), (links[:, 0] // 2).tolist(), strict=True))
    out = np.zeros(len(cx), dtype=bool)
    for sa in (0, 1):
        for sb in (0, 1):
            pair = np.sort(np.column_stack([2 * ca + sa, 2 * cb + sb]), axis=1)
            meet = np.fromiter((tuple(p) in met for p in pair.tolist()), bool, len(pair))
            out |= meet & on_end[0][sa] & on_end[1][sb]
    for k, (line, other) in enumerate(((ca, cb), (cb, ca))):
        for side in (0, 1):
            end = (2 * line + side).tolist()
            pairs = zip(end, other.tolist(), strict=True)
            onto = np.fromiter((p in joined for p in pairs), bool, len(end))
            out |= onto & on_end[k][side] & (from_end[k][side] <= 10 * tol)
    return out


def _passing_over(lines: np.ndarray, a: np.ndarray, b: np.ndarray) -> int:
    """How many pairs of lines (of different levels) cross away from their ends."""
    parts, idx = shapely.get_parts(shapely.intersection(lines[a], lines[b]), return_index=True)
    point = shapely.get_type_id(parts) == 0
    parts, idx = parts[point], idx[point]
    inner = np.ones(len(parts), dtype=bool)
    for line in (a[idx], b[idx]):
        d = shapely.line_locate_point(lines[line], parts)
        inner &= (d > _EPS_M) & (d < shapely.length(lines[line]) - _EPS_M)
    return len(np.unique(idx[inner]))


def _join(cands: _Cands, n_end: int, tol: float) -> np.ndarray:
    """Node number of every candidate: linked ones and same-level ones within ``tol`` together,
    except that two junctions a little more than ``tol`` apart stay two (:func:`_split_pairs`)."""
    pts = shapely.points(cands.xy)
    a, b = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=tol)
    ok = (a < b) & (cands.level[a] == cands.level[b])
    links = np.concatenate([*cands.links, np.column_stack([a[ok], b[ok]])])
    links = np.unique(np.sort(links, axis=1), axis=0)  # a pair linked twice is one link
    n = len(cands.xy)
    graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    return _split_pairs(cands, n_end, links, comp, tol)


def _extent(xy: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Diagonal of each group's bounding box (metres)."""
    n_comp = int(comp.max()) + 1
    lo = np.full((n_comp, 2), np.inf)
    hi = np.full((n_comp, 2), -np.inf)
    np.minimum.at(lo, comp, xy)
    np.maximum.at(hi, comp, xy)
    return np.hypot(*(hi - lo).T)


def _split_pairs(
    cands: _Cands, n_end: int, links: np.ndarray, comp: np.ndarray, tol: float
) -> np.ndarray:
    """Split groups of joined candidates that hold two junctions a little more than ``tol`` apart.

    Joining within ``tol`` chains: where two real junctions lie 1.4 m apart, ends moved a few
    decimetres towards each other link them into one. A group wider than ``_APART * tol`` is cut
    at a link of its minimum spanning tree (longest first) when one side is a tight knot — ends
    of three or more lines, all within ``tol`` of each other — and the other a junction apart
    from it (:func:`_apart`), the two sides' centres at least ``_APART * tol`` apart. A chain of
    ends each a little apart, with no such knot, stays one node.
    """
    n_comp = int(comp.max()) + 1
    ends_in = np.bincount(comp[:n_end], minlength=n_comp)
    size = np.bincount(comp, minlength=n_comp)
    wide = (_extent(cands.xy, comp) > _APART * tol) & (ends_in >= 3) & (size >= 4)
    if not wide.any():
        return comp
    sel = wide[comp[links[:, 0]]]
    la, lb = links[sel, 0], links[sel, 1]
    n = len(cands.xy)
    gap = np.hypot(*(cands.xy[la] - cands.xy[lb]).T) + 1e-9  # zero weights would vanish
    tree = minimum_spanning_tree(coo_matrix((gap, (la, lb)), shape=(n, n))).tocoo()
    by_edge = np.argsort(comp[tree.row], kind="stable")
    ta, tb, w = tree.row[by_edge], tree.col[by_edge], tree.data[by_edge]
    edge_at = np.searchsorted(comp[ta], np.arange(n_comp + 1))
    order = np.argsort(comp, kind="stable")
    member_at = np.searchsorted(comp[order], np.arange(n_comp + 1))
    comp = comp.copy()
    for group in np.flatnonzero(wide):
        members = order[member_at[group] : member_at[group + 1]]
        e = slice(edge_at[group], edge_at[group + 1])
        for part in _cut_apart(cands, n_end, members, ta[e], tb[e], w[e], tol)[1:]:
            comp[part] = n_comp
            n_comp += 1
    return comp


def _cut_apart(
    cands: _Cands,
    n_end: int,
    members: np.ndarray,
    ta: np.ndarray,
    tb: np.ndarray,
    w: np.ndarray,
    tol: float,
) -> list[np.ndarray]:
    """The parts of one wide group (its spanning tree ``ta``-``tb``, weights ``w``), see
    :func:`_split_pairs`."""
    local = {int(m): i for i, m in enumerate(members)}
    ia = [local[int(x)] for x in ta]
    ib = [local[int(x)] for x in tb]
    adjacent: list[list[int]] = [[] for _ in members]
    for k, (a, b) in enumerate(zip(ia, ib, strict=True)):
        adjacent[a].append(k)
        adjacent[b].append(k)
    for k in np.argsort(-w, kind="stable"):
        side = _tree_side(adjacent, ia, ib, int(k))
        one, two = members[side], members[~side]
        centre_gap = np.hypot(*(cands.xy[one].mean(0) - cands.xy[two].mean(0)))
        if centre_gap < _APART * tol:
            continue
        if _apart(cands, n_end, one, two, tol) or _apart(cands, n_end, two, one, tol):
            return [
                *_cut_apart(cands, n_end, one, *_sub_tree(one, ta, tb, w), tol),
                *_cut_apart(cands, n_end, two, *_sub_tree(two, ta, tb, w), tol),
            ]
    return [members]


def _tree_side(adjacent: list[list[int]], ia: list[int], ib: list[int], cut: int) -> np.ndarray:
    """Mask of the tree's nodes on ``ia[cut]``'s side once link ``cut`` is removed."""
    side = np.zeros(len(adjacent), dtype=bool)
    side[ia[cut]] = True
    stack = [ia[cut]]
    while stack:
        node = stack.pop()
        for k in adjacent[node]:
            if k == cut:
                continue
            other = ib[k] if ia[k] == node else ia[k]
            if not side[other]:
                side[other] = True
                stack.append(other)
    return side


def _sub_tree(
    part: np.ndarray, ta: np.ndarray, tb: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spanning-tree links with both ends in ``part``."""
    keep = np.isin(ta, part) & np.isin(tb, part)
    return ta[keep], tb[keep], w[keep]


def _apart(cands: _Cands, n_end: int, knot: np.ndarray, other: np.ndarray, tol: float) -> bool:
    """Whether ``other`` is a junction apart from the tight knot of ends ``knot``: three or more
    streets meet in it, and every line ending in it, continued straight on, misses the knot's
    centre by ``_APART * tol`` or more (an end moved off its junction still points at it)."""
    if not _tight_knot(cands, n_end, knot, tol) or _streets(cands, n_end, other, tol) < 3:
        return False
    ends = other[other < n_end]
    off = cands.xy[knot].mean(0) - cands.xy[ends]
    t = cands.direction[ends]
    return bool(np.all(np.abs(t[:, 0] * off[:, 1] - t[:, 1] * off[:, 0]) >= _APART * tol))


def _tight_knot(cands: _Cands, n_end: int, part: np.ndarray, tol: float) -> bool:
    """Whether ``part`` holds ends of three or more lines, all within ``tol`` of each other."""
    ends = part[part < n_end]
    if len(np.unique(cands.on[ends, 0])) < 3:
        return False
    xy = cands.xy[ends]
    return bool(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)).max() <= tol)


def _streets(cands: _Cands, n_end: int, part: np.ndarray, tol: float) -> int:
    """How many streets meet in ``part``: a line ending in it one, a line passing through two
    (a foot or crossing on it in ``part`` at least ``_APART * tol`` from both its ends)."""
    ending = set(cands.on[part[part < n_end], 0].tolist())
    inner = part[part >= n_end]
    on = cands.on[inner].ravel()
    at = np.repeat(cands.xy[inner], 2, axis=0)
    ok = on >= 0
    on, at = on[ok], at[ok]
    away = np.minimum(
        np.hypot(*(at - cands.xy[2 * on]).T), np.hypot(*(at - cands.xy[2 * on + 1]).T)
    )
    passing = set(on[away >= _APART * tol].tolist()) - ending
    return len(ending) + 2 * len(passing)


def _directions(lines: np.ndarray, line: np.ndarray, d: np.ndarray, reach_m: float) -> np.ndarray:
    """Unit direction of each ``line`` around position ``d``, over ``reach_m`` each way (clipped)."""
    length = shapely.length(lines[line])
    lo = shapely.line_interpolate_point(lines[line], np.clip(d - reach_m, 0, length))
    hi = shapely.line_interpolate_point(lines[line], np.clip(d + reach_m, 0, length))
    t = shapely.get_coordinates(hi) - shapely.get_coordinates(lo)
    norm = np.hypot(t[:, 0], t[:, 1])
    return t / np.where(norm > 0, norm, 1.0)[:, None]


def _node_xy(cands: _Cands, comp: np.ndarray, tol: float) -> np.ndarray:
    """Node positions.

    With a crossing away from line ends, the mean of those (exact). Otherwise the point nearest
    the lines that meet there (each end's line continued, each T-junction's through line), held
    near the candidates by a weak pull: where a line was cut a few decimetres from a junction,
    the junction stays where the other streets meet it, not at the mean of the cut ends. A
    result farther than ``tol`` from the candidates' mean falls back to that mean.
    """
    n_comp = int(comp.max()) + 1
    x, y = cands.xy[:, 0], cands.xy[:, 1]
    use = np.isin(cands.kind, (_END, _FOOT))
    exact = cands.kind == _CROSS
    has_exact = np.bincount(comp[exact], minlength=n_comp) > 0
    use = np.where(has_exact[comp], exact, use)
    use |= ~(np.bincount(comp[use], minlength=n_comp) > 0)[comp]  # only weak ones: use them
    c, w = comp[use], np.ones(int(use.sum()))
    count = np.bincount(c, minlength=n_comp)
    mean = (
        np.column_stack(
            [
                np.bincount(c, weights=x[use], minlength=n_comp),
                np.bincount(c, weights=y[use], minlength=n_comp),
            ]
        )
        / count[:, None]
    )
    nx_, ny_ = -cands.direction[use, 1], cands.direction[use, 0]
    lam = 0.1
    a11 = np.bincount(c, weights=w * nx_ * nx_ + lam, minlength=n_comp)
    a12 = np.bincount(c, weights=w * nx_ * ny_, minlength=n_comp)
    a22 = np.bincount(c, weights=w * ny_ * ny_ + lam, minlength=n_comp)
    proj = nx_ * x[use] + ny_ * y[use]
    b1 = np.bincount(c, weights=w * nx_ * proj + lam * x[use], minlength=n_comp)
    b2 = np.bincount(c, weights=w * ny_ * proj + lam * y[use], minlength=n_comp)
    det = a11 * a22 - a12 * a12
    fit = np.column_stack([(a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det])
    bad = has_exact | ~np.isfinite(fit).all(axis=1) | (np.hypot(*(fit - mean).T) > tol)
    fit[bad] = mean[bad]
    return fit


def _cut(
    lines: np.ndarray,
    events: tuple[np.ndarray, np.ndarray, np.ndarray],
    node_xy: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut every line at its events (line, position along it, node).

    Returns (u, v, piece LineStrings, source line) for the pieces between consecutive events
    (pieces from a node back to itself only if longer than ``2 * tol``: a loop, not a sliver).
    Vertices within 1 mm of a cut are dropped; piece ends sit exactly on their nodes.
    """
    ev_line, ev_d, ev_node = events
    length = shapely.length(lines)
    offset = np.concatenate([[0.0], np.cumsum(length + 1.0)[:-1]])  # one global position axis
    order = np.lexsort((ev_node, ev_d, ev_line))
    ev_line, ev_node = ev_line[order], ev_node[order]
    ev_g = offset[ev_line] + ev_d[order]
    xy, vline = shapely.get_coordinates(lines, return_index=True)
    seg = np.hypot(*np.diff(xy, axis=0).T)
    seg[vline[1:] != vline[:-1]] = 0.0
    m = np.concatenate([[0.0], np.cumsum(seg)])
    first = np.searchsorted(vline, np.arange(len(lines)))
    g = offset[vline] + m - m[first][vline]
    piece = np.searchsorted(ev_g, g, side="right") - 1
    piece = np.clip(piece, 0, len(ev_g) - 2)
    inner = (g - ev_g[piece] > _EPS_M) & (ev_g[piece + 1] - g > _EPS_M)
    valid = (ev_line[:-1] == ev_line[1:]) & (
        (ev_node[:-1] != ev_node[1:]) | (ev_g[1:] - ev_g[:-1] > 2 * tol)
    )
    starts = np.flatnonzero(valid)
    keep_v = inner & valid[piece]
    pid = np.concatenate([starts, piece[keep_v], starts])
    pg = np.concatenate([ev_g[starts], g[keep_v], ev_g[starts + 1]])
    pxy = np.concatenate([node_xy[ev_node[starts]], xy[keep_v], node_xy[ev_node[starts + 1]]])
    rank = np.concatenate([np.zeros(len(starts)), np.ones(keep_v.sum()), np.full(len(starts), 2)])
    o = np.lexsort((rank, pg, pid))
    _, inv = np.unique(pid[o], return_inverse=True)
    geoms = shapely.linestrings(pxy[o], indices=inv)
    return ev_node[starts], ev_node[starts + 1], geoms, ev_line[starts]


def _dedupe(u: np.ndarray, v: np.ndarray, geoms: np.ndarray, tol: float) -> np.ndarray:
    """Mask of pieces to keep: of pieces between the same nodes along the same course, the first."""
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    frame = pd.DataFrame({"lo": lo, "hi": hi, "i": np.arange(len(u))})
    first = frame.groupby(["lo", "hi"])["i"].transform("min").to_numpy()
    dup = first != frame["i"].to_numpy()
    idx = np.flatnonzero(dup)
    same = shapely.hausdorff_distance(geoms[idx], geoms[first[idx]]) < tol
    keep = np.ones(len(u), dtype=bool)
    keep[idx[same]] = False
    return keep


def _topology(
    lines: np.ndarray, level: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Nodes and edges of a line layer (metric LineStrings, one level each).

    Returns (u, v, edge LineStrings, source line of each edge, node xy, counts for the report).
    """
    n = len(lines)
    cands, ends = _end_candidates(lines, level, tol)
    fe, fl, fd = _feet(lines, level, cands, ends, tol)
    foot_xy = shapely.get_coordinates(shapely.line_interpolate_point(lines[fl], fd))
    on_vertex, foot_xy, fd = _feet_on_vertices(lines, fl, fd, foot_xy, 0.5 * tol)
    cx, ca, cb, separated = _crossings(lines, level)
    noise = _end_noise(lines, cands, (cx, ca, cb), (fe, fl), tol)
    cx, ca, cb = cx[~noise], ca[~noise], cb[~noise]
    n_end, n_foot = 2 * n, len(fe)
    length = shapely.length(lines)
    cross_pts = shapely.points(cx)
    da = shapely.line_locate_point(lines[ca], cross_pts)
    db = shapely.line_locate_point(lines[cb], cross_pts)

    def near_end(line: np.ndarray, d: np.ndarray) -> np.ndarray:
        return (d < 2 * tol) | (d > length[line] - 2 * tol)

    foot_trust = np.where(on_vertex, _CROSS, np.where(near_end(fl, fd), _WEAK, _FOOT))
    cross_trust = np.array([_CROSS, _FOOT, _WEAK])[
        near_end(ca, da).astype(int) + near_end(cb, db).astype(int)
    ]
    cands.xy = np.concatenate([cands.xy, foot_xy, cx])
    cands.level = np.concatenate([cands.level, level[fl], level[ca]])
    cands.kind = np.concatenate([cands.kind, foot_trust, cross_trust])
    cands.direction = np.concatenate(
        [cands.direction, _directions(lines, fl, fd, np.full(n_foot, 2.0)), np.zeros((len(cx), 2))]
    )
    cands.on = np.concatenate(
        [cands.on, np.column_stack([fl, np.full(n_foot, -1)]), np.column_stack([ca, cb])]
    )
    cands.links.append(np.column_stack([fe, n_end + np.arange(n_foot)]))
    comp = _join(cands, n_end, tol)
    node_xy = _node_xy(cands, comp, tol)
    cross_id = n_end + n_foot + np.arange(len(cx))
    events = (
        np.concatenate([np.repeat(np.arange(n), 2), fl, ca, cb]),
        np.concatenate([np.column_stack([np.zeros(n), length]).ravel(), fd, da, db]),
        comp[np.concatenate([np.arange(n_end), n_end + np.arange(n_foot), cross_id, cross_id])],
    )
    u, v, geoms, src = _cut(lines, events, node_xy, tol)
    keep = _dedupe(u, v, geoms, tol)
    u, v, geoms, src = u[keep], v[keep], geoms[keep], src[keep]
    used, inv = np.unique(np.concatenate([u, v]), return_inverse=True)
    degree = np.bincount(inv, minlength=len(used))
    moved = np.hypot(*(node_xy[comp[:n_end]] - cands.xy[:n_end]).T) > _EPS_M
    counts = {
        "ends_joined": int(np.count_nonzero(moved)),
        "t_junctions": int(np.count_nonzero(~near_end(fl, fd))),
        "crossings": int(len(np.unique(comp[cross_id][cross_trust == _CROSS]))),
        "grade_separated": separated,
        "duplicates_merged": int(np.count_nonzero(~keep)),
        "dangles": int(np.count_nonzero(degree == 1)),
    }
    return inv[: len(u)], inv[len(u) :], geoms, src, node_xy[used], counts


def _explode(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """2-D LineStrings of the layer (multi-part lines split) and the row of each."""
    geoms = shapely.force_2d(np.asarray(frame.geometry.values, dtype=object))
    parts, row = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    bad = ~np.isin(kind, (1, 2)) & ~shapely.is_empty(parts)
    if bad.any():
        first = frame.index[row[np.flatnonzero(bad)[0]]]
        raise NetworkError(
            f"row {first!r} of the line layer is a {parts[bad][0].geom_type}, not a line "
            f"({int(bad.sum())} such parts); a network needs road centrelines, e.g. "
            "frame[frame.geom_type.str.endswith('LineString')]"
        )
    ok = np.isin(kind, (1, 2)) & (shapely.length(parts) > 0)
    return parts[ok], row[ok]


def network_from_lines(
    frame: gpd.GeoDataFrame | gpd.GeoSeries,
    crs: Any = None,
    *,
    columns: Mapping[str, str] | None = None,
    exclude: Mapping[str, Sequence[Any]] | None = None,
    tolerance_m: float = TOLERANCE_M,
    keep: Keep = "largest",
) -> WalkNetwork:
    """A walking network from a layer of lines (see the module docstring for the rules).

    Parameters
    ----------
    frame :
        LineStrings/MultiLineStrings with their attributes, in any CRS.
    crs :
        The layer's coordinate system when it has none or when it is GCJ-02/BD-09 lon/lat
        (``"gcj02"``, ``"bd09"``; such files are often labelled WGS84); a metric CRS given for a
        layer that has its own CRS is the CRS to work in. Default: the layer's own, and the
        metric CRS the library picks (a projected metric layer is kept in its CRS).
    columns :
        ``{"bridge": ..., "tunnel": ..., "layer": ...}``: the layer's columns holding those.
    exclude :
        ``{column: [values]}``: rows to leave out, e.g. ``{"道路等级": ["高速公路", "快速路主路"]}``.
    tolerance_m :
        Line ends this close to another end or line are joined to it (metres).
    keep :
        ``"largest"`` connected piece (default) or ``"all"``.

    Returns
    -------
    WalkNetwork, with the :class:`LineTopology` report as ``.topology``.
    """
    if isinstance(frame, gpd.GeoSeries):
        frame = gpd.GeoDataFrame(geometry=frame)
    if not np.isfinite(tolerance_m) or tolerance_m <= 0:
        raise InputError(f"tolerance_m must be a distance in metres > 0, got {tolerance_m!r}")
    with progress(total=3, desc="building the network from lines") as bar:
        n_read = len(frame)
        level_all = line_levels(frame, columns)
        walk = walk_rows(frame, exclude)
        frame = frame.loc[walk]
        lines, row = _explode(frame)
        if len(lines) == 0:
            raise NetworkError("the line layer has no walkable lines")
        lines, metric = to_metric(lines, frame.crs, crs)
        bar.update()
        u, v, geoms, src, node_xy, counts = _topology(
            lines, level_all[walk][row], float(tolerance_m)
        )
        bar.update()
        attrs = frame.drop(columns=frame.geometry.name).iloc[row[src]].reset_index(drop=True)
        attrs = attrs[[c for c in attrs.columns if str(c) not in _RESERVED]]
        attrs.insert(0, "line_id", frame.index.to_numpy()[row[src]])
        net = WalkNetwork.from_lines(u, v, geoms, node_xy, metric, attrs, keep=keep)
        bar.update()
    report = LineTopology(
        lines_read=n_read,
        lines_excluded=int(n_read - walk.sum()),
        tolerance_m=float(tolerance_m),
        **counts,
    )
    net.topology = report
    log.info("line layer: %s", report)
    return net
