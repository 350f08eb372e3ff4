"""Isochrone polygons and covered areas.

Hand-built networks where the correct polygon is worked out by hand (straight street, T junction,
river with one bridge, blocks with and without holes), then properties on real OSM data: nesting,
containment of every reached node, elderly inside adult, covered area = union of catchments,
determinism.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.ops import substring

import lifecircle as lc
from _nets import CRS, X0, Y0, build, grid, pts, river_with_bridge
from lifecircle import InputError
from lifecircle.isochrone import DEFAULT_QUAD_SEGS, fill_holes, levels

B = 25.0  # default buffer
Q = DEFAULT_QUAD_SEGS
#: pieces stop this short of the limit (radius of the circle inscribed in the polygonal buffer)
TRIM = B * math.cos(math.pi / (4 * Q))
#: area of the polygonal buffer of a point (a regular 4*Q-gon with circumradius B)
DISK = 0.5 * 4 * Q * B * B * math.sin(2 * math.pi / (4 * Q))


pytestmark = pytest.mark.usefixtures("quiet")


def iso(net, origins, **kw):
    kw.setdefault("to_wgs84", False)
    return lc.isochrones(net, origins, **kw)


def rel(*xy):
    """shapely points relative to (X0, Y0)."""
    return shapely.points(np.asarray(xy, dtype=float) + [X0, Y0])


def local(geom):
    """A geometry moved so that (X0, Y0) is the origin (for readable checks)."""
    return shapely.transform(geom, lambda c: c - [X0, Y0])


# ---------------------------------------------------------------------- straight street
def test_straight_street_polygon_is_buffer_of_reached_segment():
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    g = iso(net, pts((500, 0)), minutes=None, distances_m=[100, 200], fill_holes_below_m2=0)
    assert list(g["distance_m"]) == [100, 200]
    for d, poly in zip([100, 200], g.geometry, strict=True):
        # reached: 500 ± d along the street; the pieces stop TRIM short of the limit so that
        # the round cap ends (almost exactly) at the limit
        reach = d - TRIM
        minx, miny, maxx, maxy = local(poly).bounds
        assert minx == pytest.approx(500 - reach - B)
        assert maxx == pytest.approx(500 + reach + B)
        assert minx == pytest.approx(500 - d - B * (1 - math.cos(math.pi / 8)))  # 1.9 m past
        assert (miny, maxy) == pytest.approx((-B, B))
        # area by hand: a 2*reach × 2B rectangle plus two half-octagon caps
        assert poly.area == pytest.approx(2 * reach * 2 * B + DISK, rel=1e-9)
        segment = shapely.LineString([(X0 + 500 - reach, Y0), (X0 + 500 + reach, Y0)])
        assert (
            shapely.symmetric_difference(poly, shapely.buffer(segment, B, quad_segs=Q)).area < 1e-6
        )
    assert g["area_m2"].to_numpy() == pytest.approx(shapely.area(g.geometry.values))


def test_straight_street_untrimmed_and_dead_end():
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    g = iso(net, pts((500, 0)), minutes=None, distances_m=[100], trim_rim=False)
    assert local(g.geometry.iloc[0]).bounds == pytest.approx((375, -25, 625, 25))
    assert g["area_m2"].iloc[0] == pytest.approx(200 * 50 + DISK)
    # 50 m from the dead end at x=0: the polygon stops at the street's end (plus the cap)
    g = iso(net, pts((50, 0)), minutes=None, distances_m=[200])
    minx, _, maxx, _ = local(g.geometry.iloc[0]).bounds
    assert minx == pytest.approx(-B)
    assert maxx == pytest.approx(50 + 200 - TRIM + B)


def test_access_leg_is_walked_and_counted():
    # origin 40 m north of the street: 40 m of the limit go to the access leg
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    g = iso(net, pts((500, 40)), minutes=None, distances_m=[100], fill_holes_below_m2=0)
    poly = g.geometry.iloc[0]
    reach = 100 - TRIM - 40
    expected = shapely.union(
        shapely.buffer(
            shapely.LineString([(X0 + 500 - reach, Y0), (X0 + 500 + reach, Y0)]), B, quad_segs=Q
        ),
        shapely.buffer(shapely.LineString([(X0 + 500, Y0 + 40), (X0 + 500, Y0)]), B, quad_segs=Q),
    )
    assert shapely.symmetric_difference(poly, expected).area < 1e-6
    assert poly.contains(rel((500, 40)))  # the origin itself


def test_speed_profiles_give_distances():
    net = build([(0, 0), (3000, 0)], [(0, 1)])
    g = iso(net, pts((1500, 0)), speed_m_per_s=["adult", "elderly", 1.0])
    assert list(g["speed"]) == ["adult"] * 3 + ["elderly"] * 3 + [1.0] * 3
    assert list(g["walk_min"]) == [5, 10, 15] * 3
    assert g["distance_m"].tolist() == pytest.approx([360, 720, 1080, 270, 540, 810, 300, 600, 900])
    assert g["speed_m_per_s"].tolist() == pytest.approx([1.2] * 3 + [0.9] * 3 + [1.0] * 3)
    # on a straight street the polygon's length is twice the distance (+ the cap overshoot)
    width = g.geometry.bounds["maxx"] - g.geometry.bounds["minx"]
    assert width.to_numpy() == pytest.approx(2 * g["distance_m"].to_numpy() + 2 * (B - TRIM))


# ---------------------------------------------------------------------- T junction
def test_t_junction():
    # horizontal street 0-1-2 along y=0 (x = -200, 200, 600), stem 1-3 up to (200, 300)
    net = build([(-200, 0), (200, 0), (600, 0), (200, 300)], [(0, 1), (1, 2), (1, 3)])
    g = iso(net, pts((200, 100)), minutes=None, distances_m=[300], fill_holes_below_m2=0)
    poly = g.geometry.iloc[0]
    r = 300 - TRIM  # 276.9 m of street from the origin
    side = r - 100  # 176.9 m each way along y=0 after walking 100 m down the stem
    lines = shapely.MultiLineString(
        [
            [(X0 + 200, Y0 + 100), (X0 + 200, Y0 + 300)],  # the whole stem above (200 m < r)
            [(X0 + 200, Y0 + 100), (X0 + 200, Y0)],
            [(X0 + 200 - side, Y0), (X0 + 200 + side, Y0)],
        ]
    )
    expected = shapely.buffer(lines, B, quad_segs=Q)
    assert shapely.symmetric_difference(poly, expected).area < 1.0
    assert poly.area == pytest.approx(expected.area, rel=1e-6)
    inside = [(200 - side, 0), (200 + side, 0), (200, 300 + B - 1), (200, 0), (200 - side - 20, 0)]
    outside = [
        (200 - side - B - 1, 0),
        (200 + side + B + 1, 0),
        (-100, 0),
        (500, 0),
        (100, 150),
        (200, 300 + B + 1),
    ]
    assert shapely.contains(poly, rel(*inside)).all()
    assert not shapely.contains(poly, rel(*outside)).any()


# ---------------------------------------------------------------------- river with a bridge
def test_river_with_one_bridge_does_not_leak():
    net = river_with_bridge()  # banks y=0 and y=200, bridge at x=500
    g = iso(net, pts((100, 0)), minutes=10)  # 720 m at 1.2 m/s
    poly = g.geometry.iloc[0]
    # south bank: 100 m west to the dead end, 720 - 23.1 east; across the bridge (600 m to the
    # north bank node) the remaining 96.9 m each way along the north bank
    north = 720 - 600 - TRIM
    inside = [
        (100, 0),
        (0, 0),
        (700, 0),
        (500, 100),
        (500, 200),
        (500 + north, 200),
        (500 - north, 200),
    ]
    outside = [
        (100, 200),  # just across the river from home: 1,200 m on foot
        (300, 200),
        (700, 200),
        (900, 200),  # rest of the north bank
        (300, 100),
        (700, 100),  # the river itself
        (900, 0),  # south bank beyond the limit (800 m)
    ]
    assert shapely.contains(poly, rel(*inside)).all()
    assert not shapely.contains(poly, rel(*outside)).any()
    # the only part of the polygon north of the river's middle is around the bridge head
    north_part = shapely.intersection(poly, shapely.box(X0 - 100, Y0 + 100, X0 + 1100, Y0 + 300))
    x0, _, x1, _ = local(north_part).bounds
    assert (x0, x1) == pytest.approx((500 - north - B, 500 + north + B))


# ---------------------------------------------------------------------- holes
def test_small_blocks_filled_large_hole_kept():
    net = grid(3, 200.0)  # four 200 m blocks: holes of 150 × 150 m = 2.25 ha inside the buffer
    g = iso(net, pts((100, 0)), minutes=None, distances_m=[5000])
    assert shapely.get_num_interior_rings(g.geometry.iloc[0]) == 0  # filled (< 4 ha)
    g = iso(net, pts((100, 0)), minutes=None, distances_m=[5000], fill_holes_below_m2=0)
    poly = g.geometry.iloc[0]
    assert shapely.get_num_interior_rings(poly) == 4
    assert poly.area == pytest.approx(
        450 * 450 - 4 * 150 * 150 - (4 - DISK / B**2) * B**2, rel=1e-3
    )
    # one 500 m block (a lake in the middle): its 450 × 450 m hole (20 ha) is kept
    big = grid(2, 500.0)
    g = iso(big, pts((250, 0)), minutes=None, distances_m=[5000])
    poly = g.geometry.iloc[0]
    assert shapely.get_num_interior_rings(poly) == 1
    assert not poly.contains(rel((250, 250)))
    assert shapely.Polygon(poly.interiors[0]).area == pytest.approx(450 * 450, rel=1e-9)


def test_partly_reached_block_keeps_its_open_side():
    # the far side of the 200 m block is beyond the limit: no hole to fill, the notch stays open
    net = grid(2, 200.0)
    g = iso(net, pts((0, 0)), minutes=None, distances_m=[300])
    poly = g.geometry.iloc[0]
    assert not poly.contains(rel((100, 100)))
    assert not poly.contains(rel((200, 200)))


def test_fill_holes_helper_keeps_big_holes_and_islands():
    outer = shapely.box(0, 0, 100, 100)
    holes = [
        shapely.box(10, 10, 20, 20).exterior.coords,
        shapely.box(40, 40, 90, 90).exterior.coords,
    ]
    poly = shapely.Polygon(outer.exterior.coords, holes)
    island = shapely.box(50, 50, 60, 60)  # inside the big hole
    out = fill_holes(
        np.array([poly, shapely.MultiPolygon([poly, island]), None], dtype=object), 200.0
    )
    assert shapely.get_num_interior_rings(out[0]) == 1
    assert out[0].area == pytest.approx(100 * 100 - 50 * 50)
    assert out[1].area == pytest.approx(100 * 100 - 50 * 50 + 100)
    assert out[2] is None


def test_fill_holes_of_a_single_polygon():
    """Catches ``num_interior_rings > 0`` turned into ``> 1`` (a polygon with exactly one small
    hole kept it)."""
    poly = shapely.Polygon(
        shapely.box(0, 0, 100, 100).exterior.coords, [shapely.box(10, 10, 20, 20).exterior.coords]
    )
    out = fill_holes(np.array([poly], dtype=object), 200.0)
    assert shapely.get_num_interior_rings(out[0]) == 0
    assert out[0].area == pytest.approx(100 * 100)


# ---------------------------------------------------------------------- output, options, errors
def test_output_frame_labels_crs_and_unsnapped():
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    origins = pts((100, 5), (900, -5), (500, 3000), index=["a", "b", "far"])
    g = lc.isochrones(net, origins, minutes=(10, 5))
    assert list(g.columns) == [
        "origin",
        "walk_min",
        "distance_m",
        "speed",
        "speed_m_per_s",
        "area_m2",
        "geometry",
    ]
    assert g.crs.to_epsg() == 4326
    assert list(g["origin"]) == ["a", "a", "b", "b", "far", "far"]
    assert list(g["walk_min"]) == [5, 10] * 3
    far = g[g["origin"] == "far"]
    assert far.geometry.is_empty.all() and (far["area_m2"] == 0).all()
    # WGS84 output and metric area agree
    metric = g.to_crs(net.crs)
    assert metric.area.to_numpy() == pytest.approx(g["area_m2"].to_numpy(), rel=1e-6)
    lonlat = g.geometry.iloc[0].representative_point()
    assert 119 < lonlat.x < 121 and 30 < lonlat.y < 31  # near Jiaxing


def test_fixed_distances_from_the_standard():
    net = build([(0, 0), (3000, 0)], [(0, 1)])
    g = iso(net, pts((1500, 0)), distances_m=[300, 500, 1000])
    assert list(g["walk_min"]) == [5, 10, 15]
    assert list(g["distance_m"]) == [300, 500, 1000]
    assert (g["speed"] == "fixed").all() and g["speed_m_per_s"].isna().all()
    g = iso(net, pts((1500, 0)), minutes=None, distances_m={15: 800, 5: 300})
    assert list(g["walk_min"]) == [5, 15] and list(g["distance_m"]) == [300, 800]
    g = iso(net, pts((1500, 0)), minutes=None, distances_m=450)
    assert math.isnan(g["walk_min"].iloc[0]) and g["distance_m"].iloc[0] == 450


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"speed_m_per_s": "runner"}, "unknown speed profile 'runner'"),
        ({"speed_m_per_s": -1.0}, "positive"),
        ({"minutes": (5, -10)}, "minutes"),
        ({"minutes": ()}, "no level"),
        ({"distances_m": [300, 500]}, "pair them"),
        ({"minutes": None}, "give minutes"),
        ({"buffer_m": 0}, "buffer_m"),
        ({"fill_holes_below_m2": -1}, "fill_holes_below_m2"),
        ({"quad_segs": 0}, "quad_segs"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_input(kwargs, match):
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    with pytest.raises(InputError, match=match):
        lc.isochrones(net, pts((500, 0)), **kwargs)


def test_levels_default_to_5_10_15_minutes_at_adult_speed():
    """Catches a changed default life-circle level (e.g. 10 → 0 minutes)."""
    lv = levels()
    assert [(x.speed, x.walk_min, x.distance_m) for x in lv] == [
        ("adult", 5, pytest.approx(360)),
        ("adult", 10, pytest.approx(720)),
        ("adult", 15, pytest.approx(1080)),
    ]


def test_levels_helper():
    lv = levels((15, 5), {"slow": 0.5, "adult": 1.2})
    assert [(x.speed, x.walk_min, x.distance_m) for x in lv] == [
        ("slow", 5, 150),
        ("slow", 15, 450),
        ("adult", 5, 360),
        ("adult", 15, 1080),
    ]


def test_simplify_keeps_nesting():
    net = grid(6, 120.0)
    origins = pts((130, 240), (500, 10))
    g = iso(net, origins, simplify_m=5.0, fill_holes_below_m2=0)
    for _, grp in g.groupby("origin"):
        p5, p10, p15 = grp.sort_values("walk_min").geometry
        assert shapely.difference(p5, p10).area < 1e-6
        assert shapely.difference(p10, p15).area < 1e-6


# ---------------------------------------------------------------------- covered area
def test_covered_area_hand_built_and_categories():
    net = build([(0, 0), (2000, 0)], [(0, 1)])
    fac = gpd.GeoDataFrame(
        {"category": ["clinic", "clinic", "school"]},
        geometry=rel((200, 0), (1000, 0), (1900, 0)),
        crs=CRS,
    )
    ca = lc.covered_area(net, fac, minutes=None, distances_m=[100, 500], to_wgs84=False)
    assert list(ca.columns) == [
        "category",
        "walk_min",
        "distance_m",
        "speed",
        "speed_m_per_s",
        "n_facilities",
        "area_m2",
        "geometry",
    ]
    assert list(ca["category"]) == ["clinic", "clinic", "school", "school"]
    assert list(ca["n_facilities"]) == [2, 2, 1, 1]
    c100, c500 = ca.geometry.iloc[0], ca.geometry.iloc[1]
    assert c100.geom_type == "MultiPolygon" and len(c100.geoms) == 2  # two separate catchments
    assert c500.geom_type == "Polygon"  # 200 ± 476.9 and 1000 ± 476.9 overlap
    r = 500 - TRIM
    assert local(c500).bounds == pytest.approx((0 - B, -B, 1000 + r + B, B))
    s500 = ca.geometry.iloc[3]
    assert local(s500).bounds == pytest.approx((1900 - r - B, -B, 2000 + B, B))
    # without the column: one row per level over all facilities
    allc = lc.covered_area(
        net, fac.drop(columns="category"), minutes=None, distances_m=[500], to_wgs84=False
    )
    assert len(allc) == 1 and "category" not in allc.columns and allc["n_facilities"].iloc[0] == 3
    assert allc.geometry.iloc[0].area == pytest.approx(shapely.union(c500, s500).area, rel=1e-9)


# ---------------------------------------------------------------------- real data
def near_edges(net: lc.WalkNetwork, n: int, seed: int, max_off: float = 40.0) -> gpd.GeoDataFrame:
    """Deterministic random points near edges (length-weighted), up to ``max_off`` m off."""
    rng = np.random.default_rng(seed)
    length = net.edges["length_m"].to_numpy()
    e = rng.choice(len(length), n, p=length / length.sum())
    on = shapely.line_interpolate_point(
        net.edges.geometry.values[e], rng.random(n), normalized=True
    )
    xy = shapely.get_coordinates(on) + rng.uniform(-max_off, max_off, (n, 2))
    return gpd.GeoDataFrame(
        geometry=shapely.points(xy), crs=net.crs, index=[f"c{i}" for i in range(n)]
    )


@pytest.fixture(scope="module")
def nanjing(nanjing_osm):
    return lc.load_network(nanjing_osm)


@pytest.fixture(scope="module")
def futian(futian_graphml):
    return lc.load_network(futian_graphml)


def _check_properties(net: lc.WalkNetwork, origins: gpd.GeoDataFrame) -> None:
    g = iso(net, origins, speed_m_per_s=["adult", "elderly"])
    assert len(g) == len(origins) * 6
    assert g.geometry.is_valid.all()
    gi = g.set_index(["origin", "speed", "walk_min"]).geometry
    tol = 0.01  # m² of floating-point noise between levels built from the same pieces
    for o in origins.index:
        for sp in ("adult", "elderly"):
            p5, p10, p15 = (gi[(o, sp, m)] for m in (5.0, 10.0, 15.0))
            assert shapely.difference(p5, p10).area < tol, (o, sp)
            assert shapely.difference(p10, p15).area < tol, (o, sp)
        for m in (5.0, 10.0, 15.0):
            assert shapely.difference(gi[(o, "elderly", m)], gi[(o, "adult", m)]).area < tol, (o, m)
    # every node reached within the limit (edge snapping, access leg included) is inside
    xy = shapely.get_coordinates(net.nodes.geometry.values)
    labels = np.asarray(origins.index, dtype=object)
    for (sp, _), grp in g.groupby(["speed", "walk_min"]):
        limit = grp["distance_m"].iloc[0]
        r = net.reachable(origins, limit).nodes
        assert len(r) > 0
        poly = grp.set_index("origin").geometry.reindex(r["origin"]).to_numpy()
        d = shapely.distance(poly, shapely.points(xy[r["node"].to_numpy()]))
        assert (d < 1e-6).all(), (sp, limit, int((d >= 1e-6).sum()))
    # the origin itself is inside its smallest polygon
    first = g.groupby("origin", sort=False).head(1).set_index("origin").geometry.reindex(labels)
    assert shapely.contains(first.to_numpy(), origins.geometry.to_numpy()).all()


@pytest.mark.shared
def test_nanjing_nesting_and_containment(nanjing):
    _check_properties(nanjing, near_edges(nanjing, 80, seed=1))


@pytest.mark.shared
def test_futian_nesting_and_containment(futian):
    _check_properties(futian, near_edges(futian, 80, seed=2))


@pytest.mark.shared
def test_deterministic_and_thread_independent(futian):
    origins = near_edges(futian, 250, seed=3)  # more than one chunk of work
    a = lc.isochrones(futian, origins, n_jobs=2)
    b = lc.isochrones(futian, origins, n_jobs=2)
    c = lc.isochrones(futian, origins, n_jobs=1)
    for other in (b, c):
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), other.drop(columns="geometry"))
        assert (shapely.to_wkb(a.geometry.values) == shapely.to_wkb(other.geometry.values)).all()


@pytest.mark.shared
def test_covered_area_is_union_of_catchments(nanjing):
    fac = near_edges(nanjing, 30, seed=4)
    fac["category"] = np.where(np.arange(30) % 3 == 0, "kindergarten", "clinic")
    ca = lc.covered_area(nanjing, fac, to_wgs84=False, fill_holes_below_m2=0)
    one = iso(nanjing, fac, fill_holes_below_m2=0)
    one["category"] = fac["category"].reindex(one["origin"]).to_numpy()
    assert len(ca) == 2 * 3
    for _, row in ca.iterrows():
        sel = one[(one["category"] == row["category"]) & (one["walk_min"] == row["walk_min"])]
        union = shapely.union_all(sel.geometry.to_numpy())
        assert row["n_facilities"] == len(sel)
        assert row["area_m2"] == pytest.approx(union.area, rel=1e-4)
        assert shapely.symmetric_difference(row.geometry, union).area < 1e-4 * union.area


# ---------------------------------------------------------------------- fidelity
def pieces_outside_m(net: lc.WalkNetwork, origins: gpd.GeoDataFrame, g: gpd.GeoDataFrame):
    """Length (m) of every reached street stretch (rim pieces included) outside its polygon."""
    labels = np.asarray(origins.index, dtype=object)
    geoms = net.edges.geometry.values
    length = net.edges["length_m"].to_numpy()
    out = []
    for (_, limit), grp in g.groupby(["speed", "distance_m"]):
        pc = net.reachable(origins, limit).edge_pieces(limit)
        pc = pc[pc["end_m"] > pc["start_m"]]
        e = pc["edge"].to_numpy()
        lines = [
            substring(geoms[k], s / length[k], t / length[k], normalized=True)
            for k, s, t in zip(e, pc["start_m"], pc["end_m"], strict=True)
        ]
        poly = grp.set_index("origin").geometry.reindex(labels[pc["origin"]]).to_numpy()
        out.append(shapely.length(shapely.difference(np.array(lines, dtype=object), poly)))
    return np.concatenate(out)


def assert_inside(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, rel_m2: float = 1e-7) -> None:
    """Each polygon of ``a`` lies inside the matching polygon of ``b`` (same rows), give or take
    the buffers' polygonal error: the cap of a shorter piece has its corners on the circle, where
    a longer piece's buffer may have a chord up to ``B - TRIM`` (1.9 m) inside; GEOS also
    simplifies a line by up to 1 % of the distance before buffering it."""
    pd.testing.assert_frame_equal(
        a.drop(columns=["geometry", "area_m2"]), b.drop(columns=["geometry", "area_m2"])
    )
    ga, gb = a.geometry.to_numpy(), shapely.buffer(b.geometry.to_numpy(), B - TRIM + 0.01 * B)
    scale = np.maximum(shapely.area(ga), 1.0)
    assert (shapely.area(shapely.difference(ga, gb)) <= rel_m2 * scale).all()


def test_every_reached_street_is_inside_on_a_grid():
    net = grid(7, 100.0)  # 36 blocks of 1 ha, streets x, y in 0..600
    origins = pts((300, 300), (250, 0), (150, 320), index=["centre", "edge", "off"])
    dist = [250, 600, 5000]
    g = iso(net, origins, minutes=None, distances_m=dist)
    # every reached street stretch, the partly walked rim edges included, is inside
    assert pieces_outside_m(net, origins, g).max() < 1e-6
    # everything reached at 5 km: the 650 m square with the buffer's corners, holes filled
    whole = g[g["distance_m"] == 5000].geometry.to_numpy()
    square = 650 * 650 - (4 - DISK / B**2) * B**2
    assert shapely.area(whole) == pytest.approx(np.full(3, square), rel=1e-9)
    assert (shapely.get_num_interior_rings(whole) == 0).all()
    # the trimmed rim reaches no farther than the untrimmed buffers of the reached streets
    assert_inside(g, iso(net, origins, minutes=None, distances_m=dist, trim_rim=False))


@pytest.mark.shared
@pytest.mark.parametrize("which", ["nanjing", "futian"])
def test_every_reached_street_is_inside_on_real_streets(which, request):
    net = request.getfixturevalue(which)
    origins = near_edges(net, 40, seed=5)
    g = iso(net, origins, speed_m_per_s=["adult", "elderly"])
    assert pieces_outside_m(net, origins, g).max() < 1e-3
