"""Networks from line layers (road centrelines): junctions built from geometry.

Hand-built layers whose distances can be checked by hand (a bridge over a road, a street stopping
short of another, a chain of nearly meeting ends, duplicates), the file formats and coordinate
systems planners hold, and the Nanjing OSM streets written out as a bare line layer (no node ids,
cut at random places, ends moved 0.3 m), whose distances must equal the OSM-built network's.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0
from lifecircle import synthetic
from lifecircle._errors import CRSError, InputError, NetworkError
from lifecircle.sources.coords import wgs84_to_bd09, wgs84_to_gcj02


def layer(*coords, crs=CRS, **columns) -> gpd.GeoDataFrame:
    """Lines given as lists of (x, y) relative to (X0, Y0), with attribute columns."""
    geoms = [shapely.LineString(np.asarray(c, dtype=float) + [X0, Y0]) for c in coords]
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=geoms, crs=crs)


def pts(*xy) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=shapely.points(np.asarray(xy, float) + [X0, Y0]), crs=CRS)


def dist(net: lc.WalkNetwork, a: tuple, b: tuple) -> float:
    """Network distance between two points (access legs not counted); inf if unreachable."""
    sa, sb = net.snap(pts(a)), net.snap(pts(b))
    pr = net.pairs(sa, sb, 1e7)
    if len(pr) == 0:
        return float("inf")
    return float(pr.distance_m[0] - sa.access_m[0] - sb.access_m[0])


# ---------------------------------------------------------------------- grade separation
# A road along y=0 from x=0 to 400; a bridge along x=200 from y=-100 to 100 passes over it with
# no junction; the bridge's north end reaches the road only round the block (x=400).
ROAD = [(0, 0), (400, 0)]
BRIDGE = [(200, -100), (200, 100)]
BLOCK = [(200, 100), (400, 100), (400, 0)]
DETOUR_M = 90 + 200 + 100 + 190  # (200,10) north, east, south, west to (210,0)


@pytest.mark.parametrize(
    "columns, kw",
    [
        ({"bridge": [None, "yes", None]}, {}),
        ({"layer": [0, 1, 0]}, {}),
        ({"桥梁": ["否", "是", "否"]}, {}),
        ({"是否高架": ["N", "Y", "N"]}, {"columns": {"bridge": "是否高架"}}),
    ],
)
def test_bridge_over_road_keeps_the_detour(columns, kw):
    net = lc.load_network(layer(ROAD, BRIDGE, BLOCK, **columns), keep="all", **kw)
    assert dist(net, (200, 10), (210, 0)) == pytest.approx(DETOUR_M, abs=0.01)
    assert net.topology.grade_separated == 1
    # the same lines with no bridge attribute cross at one level: a junction at (200, 0)
    flat = lc.load_network(layer(ROAD, BRIDGE, BLOCK), keep="all")
    assert dist(flat, (200, 10), (210, 0)) == pytest.approx(20.0, abs=0.01)
    assert flat.topology.grade_separated == 0


def test_bridge_cut_right_above_the_road_is_not_joined_to_it():
    # the bridge drawn as two lines meeting 0.2 m north of the road, ends 0.3 m apart
    lines = layer(
        ROAD,
        [(200, -100), (200, 0.2)],
        [(200.1, 0.4), (200, 100)],
        BLOCK,
        bridge=[None, "yes", "yes", None],
    )
    net = lc.load_network(lines, keep="all")
    assert dist(net, (200, 10), (210, 0)) == pytest.approx(DETOUR_M, abs=0.5)
    assert dist(net, (200, -50), (200, 50)) == pytest.approx(100.0, abs=0.5)


def test_footbridge_landing_on_a_path_joins_it():
    # a loose bridge end 0.4 m from the middle of a path at ground level lands on it
    lines = layer([(0, 0), (100, 0)], [(50, 0.4), (50, 60)], bridge=[None, "yes"])
    net = lc.load_network(lines, keep="all")
    assert dist(net, (0, 0), (50, 60)) == pytest.approx(50 + 60, abs=0.05)


# ---------------------------------------------------------------------- ends that miss
def test_street_stopping_short_of_another_joins_its_middle():
    # A stops 0.4 m short of C's middle (a T-junction); C has no vertex there
    lines = layer([(0, 0), (200, 0)], [(100, 0.4), (100, 100)])
    net = lc.load_network(lines, keep="all")
    assert dist(net, (0, 0), (100, 100)) == pytest.approx(200.0, abs=0.05)
    assert net.topology.t_junctions == 1 and net.topology.ends_joined == 1
    assert net.topology.dangles == 3
    # with a smaller tolerance it stays a dead end: no way from C to A
    apart = lc.load_network(lines, keep="all", tolerance_m=0.3)
    assert dist(apart, (0, 0), (100, 100)) == float("inf")


def test_street_closing_on_its_own_middle_joins_it():
    # a "P": along y=0, round a block, back down to 0.4 m above its own start stretch
    lines = layer([(0, 0), (100, 0), (100, 50), (50, 50), (50, 0.4)])
    net = lc.load_network(lines, keep="all")
    assert dist(net, (0, 0), (50, 50)) == pytest.approx(100.0, abs=0.05)
    assert net.topology.t_junctions == 1


def test_overshooting_end_is_cut_at_the_crossing():
    lines = layer([(0, 0), (200, 0)], [(100, -0.4), (100, 100)])
    net = lc.load_network(lines, keep="all")
    assert dist(net, (0, 0), (100, 100)) == pytest.approx(200.0, abs=0.05)
    assert len(net.edges) == 3  # the 0.4 m stub past the road is not kept as a street


def test_slip_road_meeting_at_a_sharp_angle_gives_no_corner_cut():
    # a road and its slip road meet at (0, 0) at 5 degrees; both ends drawn 0.3 m off, so the
    # two lines cross about 3 m before they meet. A walker cannot turn there.
    slope = np.tan(np.radians(5))
    road = [(-100, 0), (0.1, -0.3)]
    slip = [(-100, -100 * slope), (0.0, 0.3)]
    lines = layer(road, slip, [(0, 0), (100, 0)])
    assert shapely.intersects(lines.geometry[0], lines.geometry[1])
    net = lc.load_network(lines, keep="all")
    a, b = (-20, -0.06), (-20, -20 * slope + 0.06)  # on each line, 20 m before they meet
    assert dist(net, a, b) == pytest.approx(40.0, abs=0.6)
    assert dist(net, a, (100, 0)) == pytest.approx(120.0, abs=0.6)


def test_slip_road_cut_just_before_it_merges_is_not_joined_there():
    # the slip road is drawn as two lines cut 1.5 m before it meets the road at (0, 0); at that
    # cut it runs 0.13 m from the road, well within the tolerance, but it does not meet it there
    slope = np.tan(np.radians(5))
    cut = (-1.5, -1.5 * slope)
    lines = layer([(-100, 0), (100, 0)], [(-100, -100 * slope), cut], [cut, (0, 0)])
    net = lc.load_network(lines, keep="all")
    a, b = (-20, 0), (-20, -20 * slope)  # on the road and on the slip road, 20 m before
    assert dist(net, a, b) == pytest.approx(20 + 20 / np.cos(np.radians(5)), abs=0.1)


def test_chain_of_nearly_meeting_ends_is_one_node_whatever_the_order():
    # four streets end 0.6 m apart one after another: 1.8 m from first to last, one junction
    ends = [(0, 0), (0.6, 0), (1.2, 0), (1.8, 0)]
    far = [(0.9, 100), (100, 0.9), (0.9, -100), (-100, 0.9)]
    coords = [[e, f] for e, f in zip(ends, far, strict=True)]
    nets = [
        lc.load_network(layer(*[coords[i] for i in order]), keep="all")
        for order in ([0, 1, 2, 3], [3, 1, 0, 2], [2, 3, 1, 0])
    ]
    for net in nets:
        assert len(net.nodes) == 5
        deg = np.bincount(np.concatenate([net.edges["u"], net.edges["v"]]))
        assert sorted(deg) == [1, 1, 1, 1, 4]
    xy = [np.sort(shapely.get_coordinates(n.nodes.geometry.values), axis=0) for n in nets]
    np.testing.assert_allclose(xy[0], xy[1], atol=1e-9)
    np.testing.assert_allclose(xy[0], xy[2], atol=1e-9)


def test_two_junctions_1_41_m_apart_with_ends_moved_0_3_m_stay_two():
    # Nanjing seed 4: a street runs south through a T-junction J1 = (0, 1.41), where a service road
    # ends, to a crossroads J2 = (0, 0), where it and three other streets end. Every end is moved
    # 0.3 m, towards the other junction: the service end lies 0.81-0.91 m from all four ends at J2
    # (within the 1 m tolerance), the four ends at J2 within 0.31 m of each other.
    j1 = np.array([0.0, 1.41])
    service_end = j1 + [0.0, -0.3]
    ends_j2 = {
        "north": (0.0, 0.3),
        "east": (0.1, 0.283),
        "south": (-0.18, 0.24),
        "west": (-0.2, 0.224),
    }
    for e in ends_j2.values():
        assert np.hypot(*e) == pytest.approx(0.3, abs=2e-3)
        assert 0.8 < np.hypot(*(service_end - e)) < 1.0
    lines = layer(
        [(0, 100), ends_j2["north"]],
        [(100, 0), ends_j2["east"]],
        [(0, -100), ends_j2["south"]],
        [(-100, 0), ends_j2["west"]],
        [(-60, 41.41), tuple(service_end)],
    )
    net = lc.load_network(lines, keep="all")
    assert len(net.nodes) == 7  # five far ends, J1 and J2
    deg = np.bincount(np.concatenate([net.edges["u"], net.edges["v"]]))
    assert sorted(deg) == [1, 1, 1, 1, 1, 3, 4]
    # from the service road to the west street: along the service road to its moved end, which
    # lies on the north street (J1), down that street to J2 among its moved ends (y 0.22-0.30),
    # then 10 m west
    start = np.array([-60, 41.41]) + 0.1 * (service_end - [-60, 41.41])
    along_m = 0.9 * np.hypot(*(service_end - [-60, 41.41]))
    got = dist(net, tuple(start), (-10, 0))
    assert got == pytest.approx(along_m + (1.11 - 0.26) + 10, abs=0.15)


def test_duplicates_merged_but_two_streets_between_the_same_junctions_kept():
    straight = [(0, 0), (100, 0)]
    curved = [(0, 0), (50, 30), (100, 0)]
    copy = [(0, 0.2), (100, 0.1)]  # the straight street drawn again, 0.1-0.2 m off
    part = [(20, 0), (60, 0.05)]  # and a piece of it drawn over it
    net = lc.load_network(layer(straight, curved, copy, part), keep="all")
    assert net.topology.duplicates_merged >= 2
    total = 100 + 2 * np.hypot(50, 30)
    assert net.edges["length_m"].sum() == pytest.approx(total, abs=0.5)
    assert dist(net, (0, 0), (100, 0)) == pytest.approx(100, abs=0.3)


# ---------------------------------------------------------------------- attributes
def test_exclude_by_road_class_and_osm_walk_filter():
    lines = layer(
        [(0, 0), (100, 0)],
        [(100, 0), (200, 0)],
        [(200, 0), (300, 0)],
        [(0, 0), (0, 100)],
        道路等级=["支路", "快速路主路", "高速公路", "次干路"],
        highway=["residential", "residential", "residential", "motorway"],
    )
    net = lc.load_network(lines, keep="all", exclude={"道路等级": ["高速公路", "快速路主路"]})
    assert len(net.edges) == 1 and net.edges["道路等级"].tolist() == ["支路"]
    assert net.topology.lines_excluded == 3 and net.topology.lines_read == 4
    with pytest.raises(InputError, match="no column '等级'.*道路等级"):
        lc.load_network(lines, exclude={"等级": ["高速公路"]})
    with pytest.raises(InputError, match="unknown role"):
        lc.load_network(lines, columns={"elevated": "道路等级"})


# ---------------------------------------------------------------------- files and CRSs
def test_file_formats_and_shapefile_encoding(tmp_path, caplog):
    lines = layer(ROAD, BRIDGE, BLOCK, 桥梁=["否", "是", "否"], 名称=["中山路", "人民桥", "解放路"])
    lines.to_file(tmp_path / "路网中心线.shp", encoding="gb18030")
    (tmp_path / "路网中心线.cpg").unlink()  # as many bureau files come: GBK text, no .cpg
    lines.to_file(tmp_path / "roads.gpkg", layer="centrelines")
    lines.to_file(tmp_path / "roads.gpkg", layer="centrelines_2020")
    lines.to_file(tmp_path / "roads.geojson")
    lines.to_file(tmp_path / "roads.gdb", driver="OpenFileGDB", layer="centrelines")
    with caplog.at_level(logging.INFO):
        shp = lc.load_network(tmp_path / "路网中心线.shp", keep="all")
    assert "read as gb18030" in caplog.text
    assert set(shp.edges["名称"]) == {"中山路", "人民桥", "解放路"}
    for source, kw in [
        (tmp_path / "roads.gpkg", {"layer": "centrelines"}),
        (tmp_path / "roads.geojson", {}),
        (tmp_path / "roads.gdb", {}),
        (str(tmp_path / "路网中心线.shp"), {}),
    ]:
        net = lc.load_network(source, keep="all", **kw)
        assert dist(net, (200, 10), (210, 0)) == pytest.approx(DETOUR_M, abs=0.01), source
    with pytest.raises(NetworkError, match="several layers.*centrelines_2020.*layer="):
        lc.load_network(tmp_path / "roads.gpkg")
    with pytest.raises(NetworkError, match="file not found"):
        lc.load_network(tmp_path / "missing.shp")


def test_layer_without_crs_needs_one(tmp_path):
    lines = layer(ROAD, BRIDGE, BLOCK, bridge=[None, "yes", None])
    lines.to_file(tmp_path / "a.shp")
    (tmp_path / "a.prj").unlink()
    with pytest.raises(CRSError, match=r"no coordinate system.*crs=4549"):
        lc.load_network(tmp_path / "a.shp")
    net = lc.load_network(tmp_path / "a.shp", crs=4549, keep="all")
    assert net.crs.to_epsg() == 4549
    assert dist(net, (200, 10), (210, 0)) == pytest.approx(DETOUR_M, abs=0.01)


def test_cgcs2000_wgs84_gcj02_bd09_give_the_same_network():
    base = layer(ROAD, BRIDGE, BLOCK, bridge=[None, "yes", None])
    ref = lc.load_network(base, keep="all")
    lonlat = base.to_crs(4490)  # CGCS2000 lon/lat
    variants = [(lonlat, None), (lonlat.set_crs(4326, allow_override=True), None)]
    for convert, name in ((wgs84_to_gcj02, "gcj02"), (wgs84_to_bd09, "bd09")):
        shifted = lonlat.copy()
        shifted.geometry = shapely.transform(
            lonlat.geometry.values, lambda c, f=convert: np.column_stack(f(c[:, 0], c[:, 1]))
        )
        variants.append((shifted.set_crs(4326, allow_override=True), name))
    for frame, crs in variants:
        net = lc.load_network(frame, crs=crs, keep="all")
        assert net.crs.to_epsg() == 4549
        np.testing.assert_allclose(
            shapely.get_coordinates(net.nodes.geometry.values),
            shapely.get_coordinates(ref.nodes.geometry.values),
            atol=0.01,
        )
        assert dist(net, (200, 10), (210, 0)) == pytest.approx(DETOUR_M, abs=0.02)


# ---------------------------------------------------------------------- real streets
def _od_matrix(net: lc.WalkNetwork, points: gpd.GeoDataFrame, k: int) -> np.ndarray:
    src, dst = net.snap(points.iloc[:k]), net.snap(points.iloc[k:])
    pr = net.pairs(src, dst, 1e7)
    out = np.full((k, k), np.inf)
    out[pr.source, pr.target] = pr.distance_m - src.access_m[pr.source] - dst.access_m[pr.target]
    return out


def _share_within(a: np.ndarray, b: np.ndarray, tol_m: float) -> tuple[float, int]:
    some = np.isfinite(a) | np.isfinite(b)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(a - b) <= tol_m) | (np.isinf(a) & np.isinf(b))
    return float(ok[some].mean()), int(some.sum())


@pytest.fixture(scope="module")
def nanjing_lines(nanjing_osm):
    osm_net = lc.load_network(nanjing_osm, keep="all")
    points = lc.synthetic.street_points(osm_net, 2 * 200, seed=1)
    return osm_net, points, _od_matrix(osm_net, points, 200)


@pytest.mark.parametrize("seed", [0, 1, 4])  # 4: two junctions 1.41 m apart
def test_nanjing_bare_lines_give_the_osm_distances(nanjing_osm, nanjing_lines, seed):
    osm_net, points, want = nanjing_lines
    lines = synthetic.lines_from_osm(nanjing_osm, seed=seed, split_every_m=150, jitter_m=0.3)
    assert len(lines) > 1.5 * len(osm_net.edges.groupby("osmid"))  # cut at random places
    assert (lines["bridge"] == "yes").sum() >= 5  # Nanjing's bridges over other streets
    net = lc.load_network(lines, keep="all")
    assert net.topology.grade_separated >= 5
    share, n_pairs = _share_within(want, _od_matrix(net, points, 200), 1.0)
    assert n_pairs > 30_000
    assert share >= 0.995, f"{share:.4f} of {n_pairs} pairs within 1 m"


def test_nanjing_gcj02_copy_gives_the_same_answers(nanjing_osm, nanjing_lines):
    _, points, _ = nanjing_lines
    lines = synthetic.lines_from_osm(nanjing_osm, seed=0)
    gcj = lines.copy()
    gcj.geometry = shapely.transform(
        lines.geometry.values, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))
    )
    assert shapely.distance(gcj.geometry.values, lines.geometry.values).min() > 1e-3  # ~500 m
    a = _od_matrix(lc.load_network(lines, keep="all"), points, 200)
    b = _od_matrix(lc.load_network(gcj, crs="gcj02", keep="all"), points, 200)
    fin = np.isfinite(a)
    assert (np.isfinite(b) == fin).all()
    assert np.abs(a[fin] - b[fin]).max() < 0.01


# ---------------------------------------------------------------------- configuration
def test_config_network_section_takes_a_line_layer(tmp_path):
    from lifecircle.cli import sample_dir
    from lifecircle.config import load_config
    from lifecircle.pipeline import run

    d = sample_dir()
    lines = synthetic.lines_from_osm(d / "helsinki_centre.osm.pbf", seed=0)
    lines["道路等级"] = np.where(lines["highway"] == "steps", "台阶", "道路")
    lines.to_file(tmp_path / "roads.gpkg", layer="中心线")
    lines.head(3).to_file(tmp_path / "roads.gpkg", layer="other")
    (tmp_path / "run.toml").write_text(
        '[network]\nsource = "roads.gpkg"\nlayer = "中心线"\ntolerance_m = 1.0\n'
        'exclude = { "道路等级" = ["台阶"] }\ncolumns = { bridge = "bridge" }\n'
        f'[[facilities]]\nosm = "{(d / "helsinki_centre.osm.pbf").as_posix()}"\n'
        f'[communities]\npath = "{(d / "helsinki_communities.geojson").as_posix()}"\n'
        f'[demand]\nbuildings = "{(d / "helsinki_centre.osm.pbf").as_posix()}"\n'
        'missing_population = "zero"\n'
        '[analysis]\nprofile = "gb50180-2018"\n[output]\ndir = "out"\n',
        encoding="utf-8",
    )
    cfg = load_config(tmp_path / "run.toml")
    assert cfg.network["exclude"] == {"道路等级": ["台阶"]}
    net = run(cfg).analysis.network
    assert (tmp_path / "out" / "lifecircle_shortfalls.xlsx").exists()
    assert net.topology is not None
    assert net.topology.lines_excluded == (lines["道路等级"] == "台阶").sum() > 0
    bad = (tmp_path / "run.toml").read_text(encoding="utf-8").replace('["台阶"]', "3")
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(lc.ConfigError, match=r"exclude.*list of values"):
        load_config(tmp_path / "bad.toml")


def test_line_options_refused_for_other_sources(nanjing_osm):
    with pytest.raises(InputError, match="exclude=.*line layers"):
        lc.load_network(nanjing_osm, exclude={"highway": ["footway"]})


def test_multi_part_3d_and_missing_geometries_and_one_way():
    lines = layer([(0, 0), (100, 0)], [(100, 0), (100, 100)], oneway=["yes", "-1"])
    lines.loc[2, "geometry"] = None
    lines.loc[3, "geometry"] = shapely.MultiLineString(
        [[(X0, Y0 + 100), (X0 + 100, Y0 + 100)], [(X0 + 200, Y0, 5), (X0 + 300, Y0, 7)]]
    )
    net = lc.load_network(lines, keep="all")
    assert net.topology.lines_read == 4
    assert net.edges["line_id"].tolist().count(3) == 2  # both parts of the multi-line
    # one-way is ignored: 0,0 -> 100,100 against the second line's direction
    assert dist(net, (100, 100), (0, 0)) == pytest.approx(200.0, abs=0.01)
    assert dist(net, (0, 100), (0, 0)) == pytest.approx(300.0, abs=0.01)
    lines.loc[4, "geometry"] = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    with pytest.raises(NetworkError, match="row 4 of the line layer is a Polygon"):
        lc.load_network(lines)


def test_utf8_shapefile_without_cpg(tmp_path):
    lines = layer(ROAD, BRIDGE, BLOCK, 名称=["中山路", "人民桥", "解放路"], 桥梁=["否", "是", "否"])
    lines.to_file(tmp_path / "a.shp", encoding="utf-8")
    (tmp_path / "a.cpg").unlink()
    net = lc.load_network(tmp_path / "a.shp", keep="all")
    assert set(net.edges["名称"]) == {"中山路", "人民桥", "解放路"}
    assert net.topology.grade_separated == 1
