"""Synthetic street networks and cities for tests, benchmarks and notebooks (no download needed).

Everything is deterministic for a given ``seed`` and lies near Jiaxing in CGCS2000 / 3-degree
Gauss-Krüger (EPSG:4549, central meridian 120°E), so the library picks the same metric CRS as
for real Jiaxing data.

* :func:`network_from_segments` — a hand-built network from node coordinates and node pairs;
* :func:`street_grid` / :func:`grid_graph` — an n × n street lattice (optionally jittered, with
  streets removed) as a :class:`~lifecircle.WalkNetwork` or a networkx graph (for comparisons
  with OSMnx/networkx recipes on the same streets);
* :func:`city` — a street grid with Voronoi communities (curving boundaries, residents, NBS
  codes) and random facilities of a profile's categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .communities import load_communities
from .network import WalkNetwork
from .standards import Profile

#: CRS and origin of every synthetic network: near Jiaxing in CGCS2000 / GK CM 120°E.
CRS = "EPSG:4549"
ORIGIN = (570_000.0, 3_400_000.0)


def network_from_segments(
    node_xy: Any, pairs: Any, origin: tuple[float, float] = ORIGIN, keep: str = "all"
) -> WalkNetwork:
    """Straight streets between nodes: ``node_xy`` (metres, relative to ``origin``) and
    ``pairs`` of node positions. Every distance can be checked by hand."""
    xy = np.asarray(node_xy, dtype=float).reshape(-1, 2) + np.asarray(origin)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    lines = shapely.linestrings(np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], axis=1))
    return WalkNetwork.from_lines(pairs[:, 0], pairs[:, 1], lines, xy, CRS, keep=keep)  # type: ignore[arg-type]


def _lattice(
    n: int, spacing_m: float, jitter: float, drop: float, seed: int, origin: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates (absolute) and street pairs of an n × n lattice, row by row."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x = origin[0] + jj.ravel() * spacing_m
    y = origin[1] + ii.ravel() * spacing_m
    if jitter:
        x = x + rng.uniform(-jitter, jitter, n * n) * spacing_m
        y = y + rng.uniform(-jitter, jitter, n * n) * spacing_m
    k = np.arange(n * n).reshape(n, n)
    pairs = np.vstack(
        [
            np.column_stack([k[:, :-1].ravel(), k[:, 1:].ravel()]),
            np.column_stack([k[:-1, :].ravel(), k[1:, :].ravel()]),
        ]
    )
    if drop:
        pairs = pairs[rng.random(len(pairs)) >= drop]
    return np.column_stack([x, y]), pairs


def street_grid(
    n: int,
    spacing_m: float = 100.0,
    *,
    jitter: float = 0.0,
    drop: float = 0.0,
    seed: int = 0,
    origin: tuple[float, float] = ORIGIN,
    keep: str = "all",
) -> WalkNetwork:
    """An n × n grid of straight streets ``spacing_m`` apart; node ``i*n+j`` at
    ``(j*spacing_m, i*spacing_m)`` from ``origin`` unless ``jitter`` (a share of the spacing)
    moves it; ``drop`` removes that share of the streets at random."""
    xy, pairs = _lattice(n, spacing_m, jitter, drop, seed, origin)
    return network_from_segments(xy, pairs, origin=(0.0, 0.0), keep=keep)


def grid_graph(
    n: int,
    spacing_m: float = 80.0,
    *,
    jitter: float = 0.2,
    drop: float = 0.12,
    seed: int = 0,
    origin: tuple[float, float] = (560_000.0, 3_395_000.0),
) -> nx.MultiDiGraph:
    """The same lattice as :func:`street_grid` as an OSMnx-style networkx graph (both
    directions, ``length`` in metres, ``highway=residential``, ``crs`` EPSG:4549): for
    comparing with OSMnx/networkx recipes at city scale."""
    xy, pairs = _lattice(n, spacing_m, jitter, drop, seed, origin)
    x, y = xy[:, 0], xy[:, 1]
    length = np.hypot(x[pairs[:, 0]] - x[pairs[:, 1]], y[pairs[:, 0]] - y[pairs[:, 1]])
    G = nx.MultiDiGraph(crs=CRS)
    G.add_nodes_from((int(i), {"x": float(x[i]), "y": float(y[i])}) for i in range(n * n))
    for (a, b), w in zip(pairs.tolist(), length.tolist(), strict=True):
        G.add_edge(a, b, length=w, highway="residential")
        G.add_edge(b, a, length=w, highway="residential")
    return G


@dataclass(frozen=True)
class City:
    """A synthetic city: its walking network, communities (from
    :func:`lifecircle.load_communities`) and facilities (``category``, ``name``, index
    ``facility_id``), all in EPSG:4549."""

    network: WalkNetwork
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame


def _voronoi_communities(
    n_comm: int, side: float, rng: np.random.Generator, origin: tuple[float, float]
) -> gpd.GeoDataFrame:
    x0, y0 = origin
    seeds = rng.uniform(0, side, size=(n_comm, 2)) + [x0, y0]
    frame = shapely.box(x0, y0, x0 + side, y0 + side)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    cells = shapely.segmentize(shapely.intersection(cells, frame), 10.0)
    # boundaries that curve like streets and rivers (±10 m over ~250 m) with 1-2 m survey noise;
    # a function of position, so rings stay closed and neighbours share their boundary
    cells = shapely.transform(
        cells, lambda c: c + 10.0 * np.sin(c[:, ::-1] / 40.0) + 1.5 * np.sin(c[:, ::-1] / 7.0)
    )
    cells = shapely.make_valid(cells)
    n = len(cells)
    return gpd.GeoDataFrame(
        {
            "社区代码": [f"330402{i // 20:03d}{i % 20 + 1:03d}" for i in range(n)],
            "社区名称": [f"社区{i}" for i in range(n)],
            "街道": [f"街道{i // 20}" for i in range(n)],
            "区县": "南湖区",
            "常住人口": rng.integers(1000, 9000, n),
        },
        geometry=cells,
        crs=CRS,
    )


def city(
    n_communities: int,
    profile: Profile,
    *,
    seed: int = 0,
    facilities_per_community: float = 0.5,
    origin: tuple[float, float] = ORIGIN,
) -> City:
    """``n_communities`` Voronoi communities (about 10 ha each) with detailed, curving boundaries
    (a vertex every 10 m) on a 100 m street grid, 1,000–9,000 residents each, 20 communities per
    street; ``facilities_per_community`` × as many facilities of random ``profile`` categories
    at random places."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n_communities) * 320)  # ~10 ha per community
    net = street_grid(int(side // 100) + 1, 100.0, origin=origin)
    comm = load_communities(_voronoi_communities(n_communities, side, rng, origin))
    n_fac = int(n_communities * facilities_per_community)
    fac = gpd.GeoDataFrame(
        {
            "category": rng.choice(list(profile.categories), n_fac),
            "name": [f"设施{i}" for i in range(n_fac)],
        },
        geometry=shapely.points(rng.uniform(0, side, size=(n_fac, 2)) + np.asarray(origin)),
        crs=CRS,
        index=pd.Index([f"F{i:05d}" for i in range(n_fac)], name="facility_id"),
    )
    return City(net, comm, fac)


def street_points(network: WalkNetwork, n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` random points on ``network``'s streets, each edge chosen in proportion to its
    length (origins and destinations for distance checks and benchmarks)."""
    rng = np.random.default_rng(seed)
    w = network.edges["length_m"].to_numpy()
    idx = rng.choice(len(w), n, p=w / w.sum())
    geoms = shapely.line_interpolate_point(
        network.edges.geometry.values[idx], rng.uniform(0, 1, n), normalized=True
    )
    return gpd.GeoDataFrame(geometry=geoms, crs=network.crs)


# ---------------------------------------------------------------------- OSM streets as bare lines
def _way_level(tags: dict) -> int:
    if tags.get("bridge", "no") != "no":
        return 1
    if tags.get("tunnel", "no") != "no":
        return -1
    return 0


def _unnoded_crossings(
    lines: np.ndarray, level: np.ndarray, junction_xy: np.ndarray
) -> list[tuple[int, float, int, float]]:
    """(way a, position along a, way b, position along b) where two ways of one level cross
    without a shared node."""
    a, b = shapely.STRtree(lines).query(lines, predicate="intersects")
    pair = (a < b) & (level[a] == level[b])
    a, b = a[pair], b[pair]
    parts, idx = shapely.get_parts(shapely.intersection(lines[a], lines[b]), return_index=True)
    point = shapely.get_type_id(parts) == 0
    pts, idx = parts[point], idx[point]
    noded = np.zeros(len(pts), dtype=bool)
    noded[shapely.STRtree(shapely.points(junction_xy)).query(pts, "dwithin", 0.05)[0]] = True
    out = []
    for i in np.flatnonzero(~noded):
        wa, wb = int(a[idx[i]]), int(b[idx[i]])
        da = float(shapely.line_locate_point(lines[wa], pts[i]))
        out.append((wa, da, wb, float(shapely.line_locate_point(lines[wb], pts[i]))))
    return out


def _half_span(length: float, junction_m: np.ndarray, d: float) -> float:
    """Half the length of a bridge or tunnel piece at ``d``: up to 6 m, short of junctions."""
    gap = float(np.abs(junction_m - d).min()) if len(junction_m) else np.inf
    return min(6.0, 0.4 * gap, 0.4 * d, 0.4 * (length - d))


def _grade_spans(
    lines: np.ndarray, crossings: list, junction_m: list[np.ndarray], tunnel: np.ndarray
) -> dict[int, list[tuple[float, float, str]]]:
    """{way: [(from, to, "bridge" | "tunnel")]}: at each crossing the street above gets a bridge
    piece, or, where it has no room for one (a junction within 2.5 m), the street below a tunnel
    piece; a way that was a tunnel in OSM is the one below."""
    spans: dict[int, list[tuple[float, float, str]]] = {}
    for wa, da, wb, db in crossings:
        if tunnel[wa] and not tunnel[wb]:
            wa, da, wb, db = wb, db, wa, da  # wa: the street above
        ha = _half_span(lines[wa].length, junction_m[wa], da)
        hb = _half_span(lines[wb].length, junction_m[wb], db)
        way, d, half, kind = (
            (wa, da, ha, "bridge") if ha >= min(2.5, hb) else (wb, db, hb, "tunnel")
        )
        spans.setdefault(way, []).append((d - half, d + half, kind))
    return spans


def _pull_back_loose_ends(
    lines: np.ndarray, runs: list[np.ndarray], shared: np.ndarray, gap_m: float
) -> tuple[np.ndarray, int]:
    """Dead ends that OSM leaves unjoined although they lie within ``gap_m`` of another way, cut
    back until they are ``gap_m`` away (a line layer can only say "not joined" with a gap)."""
    from shapely.ops import substring

    tree = shapely.STRtree(lines)
    lines = lines.copy()
    pulled = 0
    for w, run in enumerate(runs):
        for at_end in (False, True):
            node = run[-1] if at_end else run[0]
            if shared[node]:
                continue
            line = lines[w]
            end = shapely.get_point(line, -1 if at_end else 0)
            others = [o for o in tree.query(end, "dwithin", gap_m) if o != w]
            if not others:
                continue
            cut = gap_m
            while cut < 0.5 * line.length:
                lo, hi = (0.0, line.length - cut) if at_end else (cut, line.length)
                piece = substring(line, lo, hi)
                tip = shapely.get_point(piece, -1 if at_end else 0)
                if min(shapely.distance(tip, lines[o]) for o in others) >= gap_m:
                    lines[w] = piece
                    pulled += 1
                    break
                cut += gap_m
    return lines, pulled


def _way_pieces(
    line: shapely.LineString,
    spans: list[tuple[float, float, str]],
    split_every_m: float,
    rng: np.random.Generator,
) -> list[tuple[shapely.LineString, str | None]]:
    """One way cut at random places and at its bridge/tunnel spans: (piece, "bridge"/"tunnel")."""
    from shapely.ops import substring

    length = line.length
    cuts = np.sort(rng.uniform(0, length, rng.poisson(length / split_every_m)))
    cuts = [c for c in cuts if not any(lo - 1 <= c <= hi + 1 for lo, hi, _ in spans)]
    marks = np.unique(
        np.clip([0.0, length, *cuts, *[e for sp in spans for e in sp[:2]]], 0, length)
    )
    pieces = []
    for lo, hi in zip(marks[:-1], marks[1:], strict=True):
        if hi - lo > 1e-6:
            mid = 0.5 * (lo + hi)
            kind = next((k for a, b, k in spans if a < mid < b), None)
            pieces.append((substring(line, lo, hi), kind))
    return pieces


def _jitter_ends(
    piece: shapely.LineString, jitter_m: float, within: bool, rng: np.random.Generator
) -> shapely.LineString:
    xy = shapely.get_coordinates(piece).copy()
    angle = rng.uniform(0, 2 * np.pi, 2)
    radius = jitter_m * np.sqrt(rng.uniform(0, 1, 2)) if within else np.full(2, jitter_m)
    xy[[0, -1]] += radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return shapely.linestrings(xy)


def lines_from_osm(
    path: Any,
    *,
    seed: int = 0,
    split_every_m: float = 150.0,
    jitter_m: float = 0.3,
    jitter_within: bool = False,
    tunnels_as_bridges: bool = True,
) -> gpd.GeoDataFrame:
    """The walkable ways of an OSM file as a bare line layer, the way a bureau's centreline file
    looks: no node ids; every way cut at random places (about one every ``split_every_m``, not at
    junctions); a short ``bridge=yes`` piece (``layer`` one up) wherever two ways of one level cross
    without a shared node (OSM keeps them apart); each piece's two ends moved ``jitter_m`` in a
    random direction (``jitter_within=True``: anywhere within ``jitter_m``, uniform on the disc).
    With ``tunnels_as_bridges`` (default) a tunnel is written as an ordinary line and each street
    it passes under gets the bridge piece instead (a tunnel piece only where that street has no
    room for a bridge).
    Dead ends that OSM leaves unjoined although they lie within 2 m of another way are cut back to
    2 m from it (a line layer says "not joined" only with a gap). Columns ``highway``, ``name``,
    ``bridge``, ``tunnel``, ``layer``, ``foot``, ``access``, ``service``; WGS84. ``attrs`` count
    the ``ends_pulled_back``, ``bridges_added`` and ``tunnels_added``."""
    from .crs import WGS84, metric_crs_for, transformer
    from .sources.osm import read_walk_ways

    ww = read_walk_ways(path)
    metric = metric_crs_for(float(np.median(ww.lon)), float(np.median(ww.lat)))
    x, y = transformer(WGS84, metric).transform(ww.lon, ww.lat)
    xy = np.column_stack([x, y])
    runs = [ww.way_nodes[a:b] for a, b in zip(ww.way_ptr[:-1], ww.way_ptr[1:], strict=True)]
    lines = np.array([shapely.linestrings(xy[r]) for r in runs])
    level = np.array([_way_level(t) for t in ww.way_tags])
    tunnel = level < 0
    if tunnels_as_bridges:
        level[tunnel] = 0
    shared = np.bincount(ww.way_nodes, minlength=len(xy)) > 1
    lines, pulled = _pull_back_loose_ends(lines, runs, shared, 2.0)
    crossings = _unnoded_crossings(lines, level, xy[shared])
    junction_m = [
        shapely.line_locate_point(lines[w], shapely.points(xy[run[shared[run]]]))
        for w, run in enumerate(runs)
    ]
    spans = _grade_spans(lines, crossings, junction_m, tunnel & tunnels_as_bridges)
    rng = np.random.default_rng(seed)
    rows, geoms = [], []
    for w in range(len(runs)):
        tags = ww.way_tags[w]
        for piece, kind in _way_pieces(lines[w], spans.get(w, []), split_every_m, rng):
            geoms.append(_jitter_ends(piece, jitter_m, jitter_within, rng))
            rows.append(
                {
                    "highway": tags.get("highway"),
                    "name": tags.get("name"),
                    "bridge": "yes" if kind == "bridge" else tags.get("bridge"),
                    "tunnel": "yes"
                    if kind == "tunnel"
                    else None
                    if tunnels_as_bridges
                    else tags.get("tunnel"),
                    "foot": tags.get("foot"),
                    "access": tags.get("access"),
                    "service": tags.get("service"),
                    "layer": level[w] + {"bridge": 1, "tunnel": -1, None: 0}[kind],
                }
            )
    back = transformer(metric, WGS84)
    lonlat = shapely.transform(
        np.array(geoms), lambda c: np.column_stack(back.transform(c[:, 0], c[:, 1]))
    )
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=lonlat, crs=4326)
    out.attrs["ends_pulled_back"] = pulled
    kinds = [k for v in spans.values() for _, _, k in v]
    out.attrs["bridges_added"] = kinds.count("bridge")
    out.attrs["tunnels_added"] = kinds.count("tunnel")
    return out


def province(
    n: int,
    profile: Profile,
    *,
    spacing_m: float = 100.0,
    community_m: float = 500.0,
    street_m: float = 5_000.0,
    county_m: float = 25_000.0,
    facilities_per_km2: float = 2.0,
    seed: int = 0,
    origin: tuple[float, float] = ORIGIN,
) -> City:
    """A province-sized synthetic area: an ``n`` × ``n`` street grid (``n²`` nodes) covered by
    square communities of ``community_m``, grouped into square streets (``street_m``) and
    counties (``county_m``) with consistent 12-digit codes, 500–5,000 residents each, and
    ``facilities_per_km2`` facilities of random ``profile`` categories. For batch benchmarks."""
    rng = np.random.default_rng(seed)
    net = street_grid(n, spacing_m, origin=origin)
    side = (n - 1) * spacing_m
    k = max(1, int(side // community_m))
    iy, ix = np.divmod(np.arange(k * k), k)
    x, y = origin[0] + ix * community_m, origin[1] + iy * community_m
    per_street, per_county = int(street_m // community_m), int(county_m // street_m)
    sx, sy = ix // per_street, iy // per_street
    cx, cy = sx // per_county, sy // per_county
    county = cy * (k // (per_street * per_county) + 1) + cx
    street = (sy % per_county) * per_county + (sx % per_county)
    local = (iy % per_street) * per_street + (ix % per_street)
    code = [f"33{c:04d}{s:03d}{m + 1:03d}" for c, s, m in zip(county, street, local, strict=True)]
    comm = gpd.GeoDataFrame(
        {
            "社区代码": code,
            "社区名称": [f"社区{i}" for i in range(k * k)],
            "街道": [f"街道{c}-{s}" for c, s in zip(county, street, strict=True)],
            "区县": [f"区县{c}" for c in county],
            "常住人口": rng.integers(500, 5000, k * k),
        },
        geometry=shapely.box(x, y, x + community_m, y + community_m),
        crs=CRS,
    )
    n_fac = int(facilities_per_km2 * (k * community_m / 1000) ** 2)
    fac = gpd.GeoDataFrame(
        {
            "category": rng.choice(list(profile.categories), n_fac),
            "name": [f"设施{i}" for i in range(n_fac)],
        },
        geometry=shapely.points(
            rng.uniform(0, k * community_m, size=(n_fac, 2)) + np.asarray(origin)
        ),
        crs=CRS,
        index=pd.Index([f"F{i:07d}" for i in range(n_fac)], name="facility_id"),
    )
    return City(net, load_communities(comm), fac)
