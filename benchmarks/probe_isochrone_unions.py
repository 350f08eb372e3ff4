#!/usr/bin/env python
"""Probe: other ways to union one origin's buffered street pieces (issue 17, "≥ 4× faster polygons").

For ``--origins`` random origins near Milan's streets (seed 0, as ``bench_isochrones.py``), the
15-minute pieces (1,080 m at 1.2 m/s, less the rim trim) are cut and buffered 25 m
(``quad_segs=2``) exactly as :func:`lifecircle.isochrones` does; then each origin's buffers are
unioned in several ways, one thread, and compared with today's ``shapely.union_all``:

* ``union_all(grid_size=0.01)``: GEOS's snap-rounding overlay;
* one buffer of the origin's pieces as a MultiLineString (and of their ``line_merge``);
* tiles: each buffer cut by a square grid (100, 200, 400 m), unioned per tile, and the tiles'
  unions joined with ``union_all`` or ``coverage_union_all`` (they only touch along tile sides).
* bevel joins: each piece buffered with ``join_style="bevel"`` (a subset of today's buffer);
* Z-order rounds: 2–16 neighbouring buffers unioned at a time, holes under 4 ha filled after
  each round (:func:`cascade_fill`).
* other polygon engines (optional packages, left out when they are not installed):
  Clipper2's union with the non-zero fill rule of the same buffers (``manifold3d``'s
  ``CrossSection``, :func:`clipper2_union`), and Clipper1's round offset of the pieces themselves
  (``pyclipper``, :func:`clipper1_offset`), and Clipper2's round offset of the pieces
  (``pyclipr``, :func:`clipper2_offset`: buffers and union in one step). All are permissive
  (Apache-2.0, MIT, Boost). Install them with ``pip install manifold3d pyclipper pyclipr``
  (``pyclipr`` is built from source: it needs CMake and a C++ compiler).

Prints ms per origin, the ratio to today's union, the symmetric difference with today's
polygons and the area outside them (each as a share of their area) and whether every result
is valid. Every way fills holes under 4 ha, as today; the nesting of
levels is left out (it is the same for every way). Run from the repository root::

    python benchmarks/probe_isochrone_unions.py --origins 100
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_isochrones import _substrings, near_edges  # noqa: E402

import lifecircle as lc  # noqa: E402
from lifecircle.isochrone import DEFAULT_FILL_HOLES_M2, fill_holes  # noqa: E402

DATA = Path(os.environ.get("LIFECIRCLE_SHARED", ROOT.parent / "shared")) / "data"


def tiled(bufs: np.ndarray, size_m: float, coverage: bool) -> shapely.Geometry:
    """Buffers cut by a ``size_m`` grid, unioned per tile, the tiles joined."""
    bb = shapely.bounds(bufs)
    i0, i1 = np.floor(bb[:, 0] / size_m).astype(int), np.floor(bb[:, 2] / size_m).astype(int)
    j0, j1 = np.floor(bb[:, 1] / size_m).astype(int), np.floor(bb[:, 3] / size_m).astype(int)
    ni, nj = i1 - i0 + 1, j1 - j0 + 1
    k = ni * nj
    rep = np.repeat(np.arange(len(bufs)), k)
    off = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    ti, tj = i0[rep] + off % ni[rep], j0[rep] + off // ni[rep]
    cells = shapely.box(ti * size_m, tj * size_m, (ti + 1) * size_m, (tj + 1) * size_m)
    clip = shapely.intersection(bufs[rep], cells)
    ok = ~shapely.is_empty(clip)
    clip, ti, tj = clip[ok], ti[ok], tj[ok]
    _, inv = np.unique(np.column_stack([ti, tj]), axis=0, return_inverse=True)
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv)
    rank = np.arange(len(inv)) - (np.cumsum(counts) - counts)[inv[order]]
    table = np.full((len(counts), counts.max()), None, dtype=object)
    table[inv[order], rank] = clip[order]
    parts = shapely.union_all(table, axis=1)
    return shapely.coverage_union_all(parts) if coverage else shapely.union_all(parts)


def _morton(bufs: np.ndarray) -> np.ndarray:
    """Z-order of the buffers' centres on a 1 m grid (spatially close pieces side by side)."""
    bb = shapely.bounds(bufs)
    x = ((bb[:, 0] + bb[:, 2]) / 2 - bb[:, 0].min()).astype(np.uint64)
    y = ((bb[:, 1] + bb[:, 3]) / 2 - bb[:, 1].min()).astype(np.uint64)
    code = np.zeros(len(bufs), dtype=np.uint64)
    for b in range(16):
        code |= ((x >> np.uint64(b)) & np.uint64(1)) << np.uint64(2 * b)
        code |= ((y >> np.uint64(b)) & np.uint64(1)) << np.uint64(2 * b + 1)
    return np.argsort(code, kind="stable")


def cascade_fill(bufs: np.ndarray, fan: int, fill_m2: float, from_level: int) -> shapely.Geometry:
    """Union ``fan`` neighbours at a time (Z-order), filling holes < ``fill_m2`` after each
    round from round ``from_level`` on: a hole of a partial union that small only holds
    holes of the whole union that small, which are filled at the end anyway."""
    geoms = bufs[_morton(bufs)]
    level = 0
    while len(geoms) > 1:
        n = -(-len(geoms) // fan) * fan
        table = np.full(n, None, dtype=object)
        table[: len(geoms)] = geoms
        geoms = shapely.union_all(table.reshape(-1, fan), axis=1)
        level += 1
        if level >= from_level and fill_m2 > 0:
            geoms = fill_holes(geoms, fill_m2)
    return geoms[0]


def _rings_to_polygon(outers: list[np.ndarray], holes: list[list[np.ndarray]]) -> shapely.Geometry:
    polys = [shapely.Polygon(o, h) for o, h in zip(outers, holes, strict=True)]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def clipper2_union(bufs: np.ndarray) -> shapely.Geometry:
    """The union of ``bufs`` by Clipper2 (``manifold3d.CrossSection`` built from their outer
    rings with the non-zero fill rule), as a shapely (Multi)Polygon. Coordinates are taken
    relative to the first ring's first point (metres, double precision)."""
    import manifold3d

    xy, idx = shapely.get_coordinates(shapely.get_exterior_ring(bufs), return_index=True)
    x0 = xy[0]
    cuts = np.flatnonzero(np.diff(idx)) + 1
    cs = manifold3d.CrossSection(np.split(xy - x0, cuts), manifold3d.FillRule.NonZero)
    outers, holes = [], []
    for part in cs.decompose():  # one outer ring and its holes each
        rings = part.to_polygons()
        area = [shapely.area(shapely.Polygon(r)) for r in rings]
        k = int(np.argmax(area))
        outers.append(rings[k] + x0)
        holes.append([r + x0 for j, r in enumerate(rings) if j != k])
    return _rings_to_polygon(outers, holes)


def clipper1_offset(lines: np.ndarray, buffer_m: float, quad_segs: int) -> shapely.Geometry:
    """The round offset of the pieces ``lines`` by Clipper1 (``pyclipper``, open paths, round
    ends and joins, coordinates in centimetres), arcs as coarse as ``quad_segs``."""
    import pyclipper

    scale = 100.0
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    x0 = xy[0]
    cuts = np.flatnonzero(np.diff(idx)) + 1
    off = pyclipper.PyclipperOffset()
    off.ArcTolerance = buffer_m * (1 - math.cos(math.pi / (4 * quad_segs))) * scale
    paths = np.split(np.round((xy - x0) * scale).astype(np.int64), cuts)
    off.AddPaths(paths, pyclipper.JT_ROUND, pyclipper.ET_OPENROUND)
    outers, holes = [], []

    def walk(node: object) -> None:
        for outer in node.Childs:  # type: ignore[attr-defined]
            outers.append(np.asarray(outer.Contour, float) / scale + x0)
            holes.append([np.asarray(h.Contour, float) / scale + x0 for h in outer.Childs])
            for h in outer.Childs:
                walk(h)

    walk(off.Execute2(buffer_m * scale))
    return _rings_to_polygon(outers, holes)


def clipper2_offset(lines: np.ndarray, buffer_m: float, quad_segs: int) -> shapely.Geometry:
    """The round offset of the pieces ``lines`` by Clipper2 (``pyclipr``: open paths, round
    ends and joins, coordinates in centimetres), arcs as coarse as ``quad_segs``: the buffers
    and their union in one step."""
    import pyclipr

    scale = 100.0
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    x0 = xy[0]
    cuts = np.flatnonzero(np.diff(idx)) + 1
    off = pyclipr.ClipperOffset()
    off.scaleFactor = int(scale)
    off.arcTolerance = buffer_m * (1 - math.cos(math.pi / (4 * quad_segs))) * scale
    off.addPaths(np.split(xy - x0, cuts), pyclipr.JoinType.Round, pyclipr.EndType.Round)
    outers, holes = [], []

    def walk(node: object) -> None:
        for outer in node.children:  # type: ignore[attr-defined]
            outers.append(np.asarray(outer.polygon) + x0)
            holes.append([np.asarray(h.polygon) + x0 for h in outer.children])
            for h in outer.children:
                walk(h)

    walk(off.execute2(buffer_m))
    return _rings_to_polygon(outers, holes)


def _installed(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        print(f"({name} is not installed: its way is left out)")
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--origins", type=int, default=100)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="also time today's union and Clipper2's (no hole filling) on this many "
        "threads against one",
    )
    ap.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="run only the ways whose name contains one of these (today's always runs)",
    )
    args = ap.parse_args()
    lc.settings.progress = False
    net = lc.load_network(DATA / "intl/milan.osm.pbf")
    snaps = net.snap(near_edges(net, args.origins, 0))
    buffer_m, quad_segs = 25.0, 2  # lifecircle's defaults
    trim = buffer_m * math.cos(math.pi / (4 * quad_segs))  # the rim trim of lc.isochrones
    limit = 15 * 60 * 1.2 - trim
    pc = net.reach(snaps, limit).edge_pieces(limit)
    lines = _substrings(net, pc)
    bufs = shapely.buffer(lines, buffer_m, quad_segs=quad_segs)
    origin = pc["origin"].to_numpy()
    groups = [np.flatnonzero(origin == i) for i in range(args.origins)]
    print(f"{net!r}; {args.origins} origins, {len(lines) / args.origins:.0f} pieces per origin")

    fill = DEFAULT_FILL_HOLES_M2

    def per_origin(f: Callable[[np.ndarray], shapely.Geometry], geoms: np.ndarray):
        """Each origin's union by ``f``, then its holes under 4 ha filled (timed together)."""
        t = time.perf_counter()
        out = [fill_holes(np.array([f(geoms[g])]), fill)[0] for g in groups]
        return 1000 * (time.perf_counter() - t) / args.origins, out

    ways: list[tuple[str, Callable, np.ndarray]] = [
        ("union_all (today)", shapely.union_all, bufs),
        ("union_all, grid_size 0.01 m", lambda g: shapely.union_all(g, grid_size=0.01), bufs),
        ("one buffer of the pieces", lambda g: shapely.buffer(
            shapely.multilinestrings(g), buffer_m, quad_segs=quad_segs
        ), lines),
        ("one buffer of line_merge(pieces)", lambda g: shapely.buffer(
            shapely.line_merge(shapely.multilinestrings(g)), buffer_m,
            quad_segs=quad_segs,
        ), lines),
    ]  # fmt: skip
    bevel = shapely.buffer(lines, buffer_m, quad_segs=quad_segs, join_style="bevel")
    ways.append(("bevel joins (a subset of each buffer), union_all", shapely.union_all, bevel))
    for fan in (2, 4, 8, 16):
        for lv in (1, 2, 3):
            ways.append(
                (
                    f"Z-order rounds of {fan}, holes filled from round {lv}",
                    lambda g, f=fan, v=lv: cascade_fill(g, f, fill, v),
                    bufs,
                )
            )
    if _installed("manifold3d"):
        ways.append(("Clipper2 union (manifold3d), non-zero fill", clipper2_union, bufs))
    if _installed("pyclipper"):
        ways.append(
            (
                "Clipper1 round offset of the pieces (pyclipper)",
                lambda g: clipper1_offset(g, buffer_m, quad_segs),
                lines,
            )
        )
    if _installed("pyclipr"):
        ways.append(
            (
                "Clipper2 round offset of the pieces (pyclipr)",
                lambda g: clipper2_offset(g, buffer_m, quad_segs),
                lines,
            )
        )
    for size in (100, 200, 400):
        for cov in (False, True):
            name = f"tiles {size} m, {'coverage_union_all' if cov else 'union_all'}"
            ways.append((name, lambda g, s=size, c=cov: tiled(g, s, c), bufs))
    print(
        "| way | ms per origin | vs today | symmetric difference / today's area "
        "| area outside today's / today's area | valid |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    ref_ms, ref = None, None
    if args.only:
        ways = ways[:1] + [w for w in ways[1:] if any(o in w[0] for o in args.only)]
    for name, f, geoms in ways:
        ms, out = per_origin(f, geoms)
        if ref is None:
            ref_ms, ref = ms, out
        pairs = list(zip(ref, out, strict=True))
        total = sum(shapely.area(g) for g in ref)
        diff = sum(shapely.area(shapely.symmetric_difference(a, b)) for a, b in pairs) / total
        outside = sum(shapely.area(shapely.difference(b, a)) for a, b in pairs) / total
        valid = "yes" if all(shapely.is_valid(b) for b in out) else "NO"
        print(f"| {name} | {ms:.2f} | {ref_ms / ms:.2f}× | {diff:.1e} | {outside:.1e} | {valid} |")
    if args.threads > 1:
        _thread_table(
            [w for w in ways if w[0].startswith(("union_all (today)", "Clipper2 union"))],
            groups,
            args.threads,
        )


def _thread_table(
    ways: list[tuple[str, Callable, np.ndarray]], groups: list[np.ndarray], threads: int
) -> None:
    """ms per origin of each way's union alone on one thread and on ``threads`` threads: GEOS
    releases the GIL, so its unions run side by side; a binding that holds it does not."""
    from concurrent.futures import ThreadPoolExecutor

    print(f"\n| way (union only) | ms per origin, 1 thread | {threads} threads | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for name, f, geoms in ways:
        t = time.perf_counter()
        for g in groups:
            f(geoms[g])
        one = time.perf_counter() - t
        with ThreadPoolExecutor(threads) as pool:
            t = time.perf_counter()
            list(pool.map(lambda g, f=f, geoms=geoms: f(geoms[g]), groups))
            many = time.perf_counter() - t
        n = len(groups)
        print(f"| {name} | {1000 * one / n:.2f} | {1000 * many / n:.2f} | {one / many:.2f}× |")


if __name__ == "__main__":
    main()
