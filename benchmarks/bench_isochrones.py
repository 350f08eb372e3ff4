"""Benchmark: lifecircle isochrones vs the OSMnx-example recipe, speed and fidelity side by side.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_isochrones.py            # 1,000 origins, recipe on 50
    /work/venv/bin/python benchmarks/bench_isochrones.py --origins 200 --recipe 20   # quicker
    /work/venv/bin/python benchmarks/bench_isochrones.py --variants --origins 300 --recipe 20
    /work/venv/bin/python benchmarks/bench_isochrones.py --variants "edge cells" --networks Milan

For each real network (Liechtenstein and Milan PBF, the largest in ../shared/data, and Shenzhen
Futian):

* origins: deterministic random points near edges (length-weighted edge, uniform position,
  up to 30 m off the street), seed 0;
* lifecircle: ``isochrones(net, origins, minutes=(5, 10, 15), speed_m_per_s=1.2)`` with default
  settings (WGS84 output included), with all CPUs and with one thread;
* recipe (osmnx-examples notebook 13, ``make_iso_polys(G, edge_buff=25, node_buff=0,
  infill=True)``): per origin the nearest node (``ox.distance.nearest_nodes``), per threshold
  ``nx.ego_graph(G, node, radius, distance="length")`` on the same network
  (``WalkNetwork.to_networkx`` as a MultiDiGraph with both directions of every street, the
  shape of an OSMnx walk graph), edges buffered 25 m (geopandas default resolution) and nodes
  buffered 0 m, unioned, holes filled with ``Polygon(exterior)`` (per part when the union is a
  MultiPolygon, where the notebook would fail). Timed on a subset (``--recipe``) of the origins.

Fidelity, for both methods on the recipe subset, against lifecircle's edge-snapped network
distances (which tests/test_network*.py check against networkx):

* nodes outside: share of the nodes reachable within the limit that lie outside the polygon;
* street missed: share of the reachable street length (partial rim edges included) outside it;
* area > limit: share of the polygon's area whose network distance from the origin (sample
  points snapped to their nearest edge: access + along-edge + network) exceeds the limit;
  "> limit + 25 m" counts only points beyond the buffer width (leaks across rivers, rails, or
  filled blocks).

``--variants``: instead of the recipe, ways to build the polygons faster, each timed
single-threaded beside the default, twice, interleaved (the faster run counts), with the same
fidelity figures and the area of each variant's polygons outside the default's (summed over all
origins; more than 0 means the variant can only have more area beyond the limit there):

* ``quad_segs`` 1, 3 and 8 (the default is 2; 8 is shapely's default): fewer or more vertices per
  buffer; the rim trim follows the inscribed radius of each;
* the levels one call each (no reuse of the 5-minute polygon in the 10-minute one, and so on);
* a raster route for the 15-minute level: the reached pieces rasterized (``all_touched``), a
  Euclidean distance transform, the pixels within the buffer turned into polygons
  (``rasterio.features.shapes``) and unioned; its stages are timed per polygon at 2 m and 5 m;
* ``edge cells``: a per-network partition of the buffer zone by nearest edge (:func:`edge_cells`,
  built once and timed apart), whole reached edges dissolved with ``coverage_union_all``,
  partial pieces and legs buffered as today (:func:`cells_polys`).

``--variants "edge cells"`` keeps only the named variants (beside the default) and skips the
raster probe; ``--networks Milan`` keeps only the networks whose label starts so.

Machines are shared and noisy: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import lifecircle as lc

DATA = Path(os.environ.get("LIFECIRCLE_SHARED", ROOT.parent / "shared")) / "data"
NETWORKS = {
    "Liechtenstein (PBF)": "intl/liechtenstein.osm.pbf",
    "Milan (PBF)": "intl/milan.osm.pbf",
    "Shenzhen Futian (GraphML)": "cn_shenzhen_futian/shenzhen_futian_osmnx_all.graphml",
}
MINUTES = (5, 10, 15)
SPEED = 1.2
EDGE_BUFF = 25.0
SAMPLES = 200  # sample points per polygon for the area fidelity


def near_edges(
    net: lc.WalkNetwork, n: int, seed: int = 0, max_off: float = 30.0
) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    length = net.edges["length_m"].to_numpy()
    e = rng.choice(len(length), n, p=length / length.sum())
    on = shapely.line_interpolate_point(
        net.edges.geometry.values[e], rng.random(n), normalized=True
    )
    ang = rng.uniform(0, 2 * np.pi, n)
    off = rng.uniform(0, max_off, n)
    xy = shapely.get_coordinates(on) + np.column_stack([off * np.cos(ang), off * np.sin(ang)])
    return gpd.GeoDataFrame(geometry=shapely.points(xy), crs=net.crs)


# ---------------------------------------------------------------------- the recipe
def recipe_graph(net: lc.WalkNetwork) -> nx.MultiDiGraph:
    """The network as OSMnx hands a walk graph to the recipe: a MultiDiGraph with both
    directions of every street (OSMnx walk networks are bidirectional), edge geometries."""
    G = net.to_networkx()
    geoms = net.edges.geometry.values
    for _, _, d in G.edges(data=True):
        d["geometry"] = geoms[d["edge"]]
    return nx.MultiDiGraph(G)


def recipe_polys(
    G: nx.MultiDiGraph, x: float, y: float, radii: list[float]
) -> list[shapely.Geometry]:
    """osmnx-examples notebook 13, ``make_iso_polys(G, edge_buff=25, node_buff=0, infill=True)``."""
    import osmnx as ox

    center_node = ox.distance.nearest_nodes(G, x, y)
    polys = []
    for radius in sorted(radii, reverse=True):
        subgraph = nx.ego_graph(G, center_node, radius=radius, distance="length")
        node_points = [
            shapely.Point((data["x"], data["y"])) for node, data in subgraph.nodes(data=True)
        ]
        nodes_gdf = gpd.GeoDataFrame({"id": list(subgraph.nodes)}, geometry=node_points).set_index(
            "id"
        )
        edge_lines = []
        for n_fr, n_to in subgraph.edges():
            f = nodes_gdf.loc[n_fr].geometry
            t = nodes_gdf.loc[n_to].geometry
            edge_lines.append(
                G.get_edge_data(n_fr, n_to)[0].get("geometry", shapely.LineString([f, t]))
            )
        n = nodes_gdf.buffer(0).geometry
        e = gpd.GeoSeries(edge_lines).buffer(EDGE_BUFF).geometry
        new_iso = gpd.GeoSeries(list(n) + list(e)).union_all()
        # infill; the notebook's Polygon(new_iso.exterior) fails on MultiPolygons: fill per part
        new_iso = shapely.union_all(
            [shapely.Polygon(p.exterior) for p in getattr(new_iso, "geoms", [new_iso])]
        )
        polys.append(new_iso)
    return polys[::-1]  # ascending radius


# ---------------------------------------------------------------------- fidelity
def sample_in(poly: shapely.Geometry, k: int, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = poly.bounds
    shapely.prepare(poly)
    got = np.empty((0, 2))
    while len(got) < k:
        cand = np.column_stack([rng.uniform(x0, x1, 4 * k), rng.uniform(y0, y1, 4 * k)])
        got = np.vstack([got, cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]])
    return got[:k]


def fidelity(
    net: lc.WalkNetwork,
    origins: gpd.GeoDataFrame,
    polys: np.ndarray,
    radii: list[float],
    seed: int = 1,
) -> dict:
    """Fidelity of ``polys`` (n_origins × n_levels, metric CRS) against network distances."""
    xy_nodes = shapely.get_coordinates(net.nodes.geometry.values)
    out = {
        "nodes_out": 0,
        "nodes": 0,
        "len_out": 0.0,
        "len": 0.0,
        "area": 0.0,
        "far": 0.0,
        "far25": 0.0,
    }
    for k, r in enumerate(radii):
        reach = net.reachable(origins, r)
        nd = reach.nodes
        nd = nd[nd["distance_m"] <= r]
        pos = nd["origin"].to_numpy(dtype=int)
        d = shapely.distance(polys[pos, k], shapely.points(xy_nodes[nd["node"].to_numpy()]))
        out["nodes_out"] += int((~(d <= 1e-6)).sum())  # empty polygon: NaN
        out["nodes"] += len(nd)
        pc = reach.edge_pieces(r)
        pc = pc[pc["end_m"] > pc["start_m"]]
        lines = _substrings(net, pc)
        owners = polys[pc["origin"].to_numpy(), k]
        total = shapely.length(lines)
        outside = shapely.length(shapely.difference(lines, owners))
        out["len"] += float(total.sum())
        out["len_out"] += float(outside.sum())
    rng = np.random.default_rng(seed)
    for i in range(len(origins)):
        src = origins.iloc[[i]]
        for k, r in enumerate(radii):
            poly = polys[i, k]
            if poly is None or poly.is_empty:
                continue
            s = sample_in(poly, SAMPLES, rng)
            tg = gpd.GeoDataFrame(geometry=shapely.points(s), crs=net.crs)
            dist = net.distance_to_nearest(src, tg, max_m=3 * r)["distance_m"].to_numpy()
            out["area"] += poly.area
            out["far"] += poly.area * float(np.mean(dist > r))
            out["far25"] += poly.area * float(np.mean(dist > r + EDGE_BUFF))
    return {
        "nodes outside": out["nodes_out"] / max(out["nodes"], 1),
        "street missed": out["len_out"] / max(out["len"], 1e-9),
        "area > limit": out["far"] / max(out["area"], 1e-9),
        "area > limit+25m": out["far25"] / max(out["area"], 1e-9),
    }


def _substrings(net: lc.WalkNetwork, pc: pd.DataFrame) -> np.ndarray:
    from lifecircle.isochrone import _edge_geom, _lines

    return _lines(
        _edge_geom(net), pc["edge"].to_numpy(), pc["start_m"].to_numpy(), pc["end_m"].to_numpy()
    )


def worst_leak(net, origins, ours, theirs, radii) -> str:
    """The recipe polygon with the most area beyond limit + 25 m, compared with ours."""
    rng = np.random.default_rng(2)
    k = len(radii) - 1

    def far_ha(poly, i: int) -> float:
        if poly is None or poly.is_empty:  # the recipe's start node may have no edge
            return 0.0
        tg = gpd.GeoDataFrame(geometry=shapely.points(sample_in(poly, SAMPLES, rng)), crs=net.crs)
        dist = net.distance_to_nearest(origins.iloc[[i]], tg, max_m=3 * radii[k])
        return poly.area * float(np.mean(dist["distance_m"].to_numpy() > radii[k] + EDGE_BUFF))

    best = None
    for i in range(len(origins)):
        rec, far = far_ha(theirs[i, k], i), far_ha(ours[i, k], i)
        if best is None or rec - far > best[0]:
            best = (rec - far, i, rec, far)
    _, i, rec, far = best
    lonlat = origins.iloc[[i]].to_crs(4326).geometry.iloc[0]
    return (
        f"origin at ({lonlat.x:.5f}, {lonlat.y:.5f}), 15 min: area more than 25 m beyond the "
        f"limit {rec / 1e4:.1f} ha (recipe) vs {far / 1e4:.1f} ha (lifecircle)"
    )


# ---------------------------------------------------------------------- main
def run(label: str, rel: str, n_origins: int, n_recipe: int) -> dict:
    path = DATA / rel
    t = time.perf_counter()
    net = lc.load_network(path)
    load_s = time.perf_counter() - t
    origins = near_edges(net, n_origins)
    radii = [m * 60 * SPEED for m in MINUTES]
    lc.isochrones(net, origins.iloc[:20], minutes=MINUTES, speed_m_per_s=SPEED)  # compile, warm up
    jobs = os.cpu_count() or 1
    times = {}
    for n_jobs in (jobs, 1):
        t = time.perf_counter()
        res = lc.isochrones(net, origins, minutes=MINUTES, speed_m_per_s=SPEED, n_jobs=n_jobs)
        times[n_jobs] = time.perf_counter() - t
    n_poly = len(res)
    ours = res.to_crs(net.crs).geometry.to_numpy().reshape(n_origins, len(MINUTES))
    # all origins: reached nodes outside (cheap)
    fid_all = fidelity_nodes(net, origins, ours, radii)
    # recipe on a subset, same origins
    sub = origins.iloc[:n_recipe]
    G = recipe_graph(net)
    xy = shapely.get_coordinates(sub.geometry.values)
    t = time.perf_counter()
    theirs = np.array([recipe_polys(G, x, y, radii) for x, y in xy], dtype=object)
    recipe_s = time.perf_counter() - t
    fid_ours = fidelity(net, sub, ours[:n_recipe], radii)
    kept = lc.isochrones(
        net, sub, minutes=MINUTES, speed_m_per_s=SPEED, fill_holes_below_m2=0, to_wgs84=False
    )
    kept = kept.geometry.to_numpy().reshape(n_recipe, len(MINUTES))
    fid_kept = fidelity(net, sub, kept, radii)
    fid_theirs = fidelity(net, sub, theirs, radii)
    leak = worst_leak(net, sub, ours[:n_recipe], theirs, radii)
    ms_ours = 1000 * times[jobs] / n_poly
    ms_ours1 = 1000 * times[1] / n_poly
    ms_recipe = 1000 * recipe_s / (n_recipe * len(MINUTES))
    return {
        "label": label,
        "net": repr(net),
        "load_s": load_s,
        "n_origins": n_origins,
        "n_recipe": n_recipe,
        "jobs": jobs,
        "ms_ours": ms_ours,
        "ms_ours1": ms_ours1,
        "ms_recipe": ms_recipe,
        "fid_all": fid_all,
        "fid_ours": fid_ours,
        "fid_theirs": fid_theirs,
        "leak": leak,
        "fid_kept": fid_kept,
        "area_kept": np.mean(shapely.area(kept), axis=0),
        "area_ours": np.mean(shapely.area(ours[:n_recipe]), axis=0),
        "area_theirs": np.mean(shapely.area(theirs), axis=0),
    }


def fidelity_nodes(net, origins, polys, radii) -> float:
    xy_nodes = shapely.get_coordinates(net.nodes.geometry.values)
    bad = tot = 0
    for k, r in enumerate(radii):
        nd = net.reachable(origins, r).nodes
        nd = nd[nd["distance_m"] <= r]
        d = shapely.distance(
            polys[nd["origin"].to_numpy(dtype=int), k],
            shapely.points(xy_nodes[nd["node"].to_numpy()]),
        )
        bad += int((~(d <= 1e-6)).sum())  # empty polygon: NaN
        tot += len(nd)
    return bad / max(tot, 1)


# ---------------------------------------------------------------------- variants
VARIANTS = {
    "default (quad_segs=2, levels nested)": {},
    "quad_segs=1": {"quad_segs": 1},
    "quad_segs=3": {"quad_segs": 3},
    "quad_segs=8 (shapely's default)": {"quad_segs": 8},
}


def _polys(net: lc.WalkNetwork, origins: gpd.GeoDataFrame, **kw) -> np.ndarray:
    res = lc.isochrones(
        net, origins, minutes=MINUTES, speed_m_per_s=SPEED, n_jobs=1, to_wgs84=False, **kw
    )
    return res.geometry.to_numpy().reshape(len(origins), -1)


def _one_by_one(net: lc.WalkNetwork, origins: gpd.GeoDataFrame) -> np.ndarray:
    cols = [
        lc.isochrones(
            net, origins, minutes=m, speed_m_per_s=SPEED, n_jobs=1, to_wgs84=False
        ).geometry.to_numpy()
        for m in MINUTES
    ]
    return np.column_stack(cols)


def raster_probe(
    net: lc.WalkNetwork, origins: gpd.GeoDataFrame, pixel_m: float, trim_m: float
) -> dict:
    """Time the raster route's stages for the 15-minute polygons (ms per polygon)."""
    import rasterio.features as rf
    from rasterio.transform import from_origin
    from scipy import ndimage

    lim = MINUTES[-1] * 60 * SPEED - trim_m
    pc = net.reachable(origins, lim).edge_pieces(lim)
    pc = pc[pc["end_m"] > pc["start_m"]]
    lines = _substrings(net, pc)
    owner = pc["origin"].to_numpy()
    t = {"rasterize": 0.0, "distance transform": 0.0, "shapes": 0.0, "union": 0.0}
    n = 0
    for i in np.unique(owner):
        part = lines[owner == i]
        x0, y0, x1, y1 = shapely.total_bounds(part) + np.array([-1, -1, 1, 1]) * 2 * EDGE_BUFF
        w, h = int((x1 - x0) / pixel_m) + 1, int((y1 - y0) / pixel_m) + 1
        tr = from_origin(x0, y1, pixel_m, pixel_m)
        t0 = time.perf_counter()
        img = rf.rasterize(
            ((g, 1) for g in part), out_shape=(h, w), transform=tr, all_touched=True, dtype="uint8"
        )
        t1 = time.perf_counter()
        # pixels whose centre is within the buffer, less a pixel diagonal (inside the buffers)
        near = ndimage.distance_transform_edt(img == 0) * pixel_m <= EDGE_BUFF - 1.5 * pixel_m
        mask = (near | (img > 0)).astype("uint8")
        t2 = time.perf_counter()
        shapes = [
            shapely.geometry.shape(g) for g, _ in rf.shapes(mask, mask=mask > 0, transform=tr)
        ]
        t3 = time.perf_counter()
        shapely.union_all(shapes)
        t4 = time.perf_counter()
        for k, v in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            t[k] += v
        n += 1
    return {k: 1000 * v / max(n, 1) for k, v in t.items()}


# ---------------------------------------------------------------------- edge cells
def edge_cells(
    net: lc.WalkNetwork, spacing_m: float = 5.0, end_m: float = 0.5, quad_segs: int = 2
) -> dict:
    """Partition of the streets' buffer zone into one cell per edge, built once per network.

    The cell of edge ``e`` is the part of ``buffer(e)`` whose nearest street is ``e``: Voronoi
    polygons of sites along every edge (``end_m`` from each end, then at most ``spacing_m``
    apart; the same end offset everywhere puts the junction ties on the bisectors through the
    node), dissolved by edge, intersected with the edge's buffer, then made an exact coverage
    with ``shapely.coverage_clean``. ``leaky``: edges whose own street leaves their cell
    (overlapping or very close streets); those stay buffers.
    """
    t0 = time.perf_counter()
    lines = net.edges.geometry.values
    length = shapely.length(lines)
    m = len(lines)
    inner = np.maximum(length - 2 * end_m, 0.0)
    cnt = np.where(length <= 2 * end_m, 1, np.ceil(inner / spacing_m).astype(int) + 1)
    edge = np.repeat(np.arange(m), cnt)
    k = np.arange(len(edge)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    step = inner[edge] / np.maximum(cnt[edge] - 1, 1)
    pos = np.where(length[edge] <= 2 * end_m, length[edge] / 2, end_m + step * k)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(lines[edge], pos))
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)  # coinciding streets
    first = np.sort(first)
    xy, edge, k = xy[first], edge[first], k[first]
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), ordered=True))
    bad = ~shapely.is_valid(vor)  # Milan: 18 of 1.1 million cells self-intersect by rounding
    vor[bad] = shapely.make_valid(vor[bad], method="structure", keep_collapsed=False)
    table = np.full((m, int(k.max()) + 1), None, dtype=object)
    table[edge, k] = vor
    cell = _dissolve_rows(table)
    buf = shapely.buffer(lines, EDGE_BUFF, quad_segs=quad_segs)
    cell = shapely.intersection(cell, buf)
    odd = np.flatnonzero(~np.isin(shapely.get_type_id(cell), (3, 6)))  # collections, lines
    for i in odd:
        parts = shapely.get_parts(cell[i])
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        cell[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    cell = shapely.coverage_clean(cell)
    leaky = shapely.length(shapely.difference(lines, cell)) > 1e-6
    return {
        "cell": cell,
        "leaky": leaky,
        "sites": len(xy),
        "build_s": time.perf_counter() - t0,
        "valid": bool(shapely.coverage_is_valid(cell)),
    }


def _dissolve_rows(table: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``coverage_union_all`` per row; rows GEOS finds not exactly noded (the Voronoi
    output of a large network has a few) fall back to ``union_all``."""
    out = np.empty(len(table), dtype=object)
    for i in range(0, len(table), chunk):
        part = table[i : i + chunk]
        try:
            out[i : i + chunk] = shapely.coverage_union_all(part, axis=1)
        except shapely.errors.GEOSException:
            for j, row in enumerate(part):
                try:
                    out[i + j] = shapely.coverage_union_all(row)
                except shapely.errors.GEOSException:
                    out[i + j] = shapely.union_all(row)
    return out


def cells_polys(
    net: lc.WalkNetwork, origins: gpd.GeoDataFrame, cells: dict, timing: dict | None = None
) -> np.ndarray:
    """Isochrones (n_origins × levels, metric CRS, one thread) from the edge cells.

    Whole reached edges: their cells, dissolved with ``coverage_union_all`` (no overlay).
    Partial and leaky edges, access legs, and a partial piece of an earlier level whose edge
    is now whole (its cap may reach outside the edge's cell; carried so the levels nest): their
    buffers, unioned as today, then one overlay with the dissolved cells. Holes and specks as
    today. Every part is inside today's polygon (cells lie in their edge's buffer).
    """
    from lifecircle.isochrone import (
        DEFAULT_FILL_HOLES_M2,
        _edge_geom,
        _lines,
        _pieces_and_legs,
        _trim,
        _union_groups,
        drop_slivers,
        fill_holes,
    )

    timing = {} if timing is None else timing
    snaps = net.snap(origins)
    n = len(snaps)
    limits = np.array([mi * 60 * SPEED for mi in MINUTES]) - _trim(EDGE_BUFF, 2, True)
    reach = net.reach(snaps, float(limits.max()))
    pieces, legs = _pieces_and_legs(reach, limits)
    geom = _edge_geom(net)
    length = net.edges["length_m"].to_numpy(np.float64)
    m = len(length)
    out = np.full((n, len(limits)), None, dtype=object)
    last_key = np.empty(0, dtype=np.int64)
    last_geo = np.empty(0, dtype=object)
    last_grp = np.empty(0, dtype=np.int64)
    for k, pc in enumerate(pieces):
        t0 = time.perf_counter()
        whole = (pc.start <= 1e-9) & (pc.end >= length[pc.edge] - 1e-9) & ~cells["leaky"][pc.edge]
        grp, ed = pc.group[whole], pc.edge[whole]
        order = np.argsort(grp, kind="stable")
        grp, ed = grp[order], ed[order]
        counts = np.bincount(grp, minlength=n)
        rank = np.arange(len(grp)) - (np.cumsum(counts) - counts)[grp]
        table = np.full((n, int(counts.max(initial=0)) + 1), None, dtype=object)
        table[grp, rank] = cells["cell"][ed]
        cov = shapely.coverage_union_all(table, axis=1)
        cov[shapely.is_empty(cov)] = None
        t1 = time.perf_counter()
        part = ~whole
        key = pc.group[part] * m + pc.edge[part]
        geo = shapely.buffer(
            _lines(geom, pc.edge[part], pc.start[part], pc.end[part]), EDGE_BUFF, quad_segs=2
        )
        carry = np.isin(last_key, pc.group[whole] * m + pc.edge[whole])
        keep = ~np.isin(last_key, key)  # replaced by this level's longer piece
        lg = legs[k]
        leg_geo = shapely.buffer(
            shapely.linestrings(np.stack([lg[:, 1:3], lg[:, 3:5]], axis=1)), EDGE_BUFF, quad_segs=2
        )
        t1b = time.perf_counter()
        rim = _union_groups(
            n,
            np.concatenate([pc.group[part], last_grp[carry], lg[:, 0].astype(np.int64)]),
            np.concatenate([geo, last_geo[carry], leg_geo]),
            np.full(n, None, dtype=object),
        )
        last_key = np.concatenate([last_key[keep], key])
        last_geo = np.concatenate([last_geo[keep], geo])
        last_grp = np.concatenate([last_grp[keep], pc.group[part]])
        t1c = time.perf_counter()
        both = ~shapely.is_missing(cov) & ~shapely.is_missing(rim)
        cur = np.where(shapely.is_missing(cov), rim, cov).astype(object)
        cur[both] = shapely.union(cov[both], rim[both])
        t2 = time.perf_counter()
        cur = fill_holes(drop_slivers(cur), DEFAULT_FILL_HOLES_M2)
        out[:, k] = cur
        for name, v in (
            ("cells: coverage union", t1 - t0),
            ("rim: buffers", t1b - t1),
            ("rim: union", t1c - t1b),
            ("overlay with the cells", t2 - t1c),
        ):
            timing[name] = timing.get(name, 0.0) + v
    out[shapely.is_missing(out)] = shapely.Polygon()
    return out


def run_variants(
    label: str, rel: str, n_origins: int, n_fid: int, only: list[str] | None = None
) -> str:
    net = lc.load_network(DATA / rel)
    origins = near_edges(net, n_origins)
    radii = [m * 60 * SPEED for m in MINUTES]
    runs: dict[str, list[float]] = {}
    polys: dict[str, np.ndarray] = {}
    build = {k: (lambda kw=kw: _polys(net, origins, **kw)) for k, kw in VARIANTS.items()}
    build["levels one call each"] = lambda: _one_by_one(net, origins)
    cells = edge_cells(net)
    parts: dict[str, float] = {}
    build["edge cells"] = lambda: cells_polys(net, origins, cells, parts)
    if only:
        build = {k: v for i, (k, v) in enumerate(build.items()) if i == 0 or k in only}
    _polys(net, origins.iloc[:20])  # compile, warm up
    for _ in range(2):
        for name, fn in build.items():
            t = time.perf_counter()
            polys[name] = fn()
            runs.setdefault(name, []).append(time.perf_counter() - t)
    base_name = next(iter(VARIANTS))
    base, base_s = polys[base_name], min(runs[base_name])
    n_poly = n_origins * len(MINUTES)
    lines = [
        f"\n### {label}: {net!r}; {n_origins:,} origins × 3 levels, 1 thread; fidelity on "
        f"{n_fid} origins",
        "",
        "| variant | ms/polygon | runs (s) | speed-up | area vs default | area outside the "
        "default's | nodes outside | street missed | area > limit | area > limit + 25 m |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in polys.items():
        best = min(runs[name])
        f = fidelity(net, origins.iloc[:n_fid], p[:n_fid], radii)
        outside = float(shapely.area(shapely.difference(p, base)).sum())
        share = float(shapely.area(p).sum() / shapely.area(base).sum())
        lines.append(
            f"| {name} | {1000 * best / n_poly:.2f} | "
            + ", ".join(f"{v:.1f}" for v in runs[name])
            + f" | {base_s / best:.2f}× | {100 * share:.2f} % | {outside / 1e4:.2f} ha "
            + " | ".join(
                f"{100 * f[k]:.2f} %"
                for k in ("nodes outside", "street missed", "area > limit", "area > limit+25m")
            ).join(("| ", " |"))
        )
    if "edge cells" in build:
        n_runs = len(runs["edge cells"])
        lines += [
            "",
            f"edge cells: built once in {cells['build_s']:.1f} s ({cells['sites']:,} sites, "
            f"{len(cells['cell']):,} cells, valid coverage {cells['valid']}, "
            f"{int(cells['leaky'].sum()):,} leaky edges kept as buffers); that is "
            f"{1000 * cells['build_s'] / n_poly:.2f} ms per polygon over these {n_poly:,}. "
            "Per polygon inside the variant (mean of its runs): "
            + ", ".join(f"{k} {1000 * v / n_runs / n_poly:.2f} ms" for k, v in parts.items()),
        ]
    if only:
        return "\n".join(lines)
    trim = EDGE_BUFF * np.cos(np.pi / 8)
    lines += ["", "| raster route, 15 min | " + " | ".join(
        f"{k} ms" for k in ("rasterize", "distance transform", "shapes", "union")
    ) + " | total ms/polygon |", "|---|---|---|---|---|---|"]  # fmt: skip
    for pixel in (2.0, 5.0):
        r = raster_probe(net, origins.iloc[:n_fid], pixel, trim)
        lines.append(
            f"| {pixel:.0f} m pixels | "
            + " | ".join(f"{v:.1f}" for v in r.values())
            + f" | {sum(r.values()):.1f} |"
        )
    return "\n".join(lines)


def report(rows: list[dict]) -> str:
    def pct(v: float) -> str:
        return f"{100 * v:.2f} %"

    lines = [
        "| network | lifecircle ms/polygon (threads) | lifecircle ms/polygon (1 thread) "
        "| recipe ms/polygon | speed-up (threads / 1 thread) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']}: {r['net']} | {r['ms_ours']:.2f} ({r['jobs']} threads, {r['n_origins']:,} origins × 3) "
            f"| {r['ms_ours1']:.2f} | {r['ms_recipe']:.0f} ({r['n_recipe']} origins × 3) "
            f"| {r['ms_recipe'] / r['ms_ours']:.0f}× / {r['ms_recipe'] / r['ms_ours1']:.0f}× |"
        )
    lines += [
        "",
        "| network | method | nodes outside | street missed | area > limit | area > limit + 25 m "
        "| mean area 5/10/15 min (ha) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        variants = (
            ("lifecircle (default)", r["fid_ours"], r["area_ours"]),
            ("lifecircle, no hole filling", r["fid_kept"], r["area_kept"]),
            ("recipe", r["fid_theirs"], r["area_theirs"]),
        )
        for name, f, area in variants:
            areas_ha = " / ".join(f"{a / 1e4:.1f}" for a in area)
            lines.append(
                f"| {r['label']} | {name} | {pct(f['nodes outside'])} | {pct(f['street missed'])} "
                f"| {pct(f['area > limit'])} | {pct(f['area > limit+25m'])} | {areas_ha} |"
            )
    lines.append("")
    for r in rows:
        lines.append(
            f"* {r['label']}: lifecircle, all {r['n_origins']:,} origins × 3 levels: nodes outside "
            f"{pct(r['fid_all'])}. Largest leak of the recipe: {r['leak']}."
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--origins", type=int, default=1000)
    ap.add_argument(
        "--recipe",
        type=int,
        default=50,
        help="origins for the (slow) recipe and the fidelity sample",
    )
    ap.add_argument(
        "--variants",
        nargs="*",
        default=None,
        metavar="NAME",
        help="time ways to build the polygons faster beside the default (no recipe); "
        "names (e.g. 'edge cells') keep only those variants and skip the raster probe",
    )
    ap.add_argument(
        "--networks",
        nargs="*",
        default=None,
        metavar="NAME",
        help="only the networks whose label starts with one of these (e.g. Milan)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    lc.settings.progress = False
    nets = {
        k: v
        for k, v in NETWORKS.items()
        if args.networks is None or any(k.startswith(w) for w in args.networks)
    }
    if args.variants is not None:
        print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        for label, rel in nets.items():
            if (DATA / rel).exists():
                n_fid = min(args.recipe, args.origins)
                print(run_variants(label, rel, args.origins, n_fid, args.variants), flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        return
    rows = []
    for label, rel in nets.items():
        if not (DATA / rel).exists():
            print(f"skipping {label}: {DATA / rel} not found", file=sys.stderr)
            continue
        rows.append(run(label, rel, args.origins, min(args.recipe, args.origins)))
        print(f"done: {label}", file=sys.stderr, flush=True)
    print(report(rows))


if __name__ == "__main__":
    main()
