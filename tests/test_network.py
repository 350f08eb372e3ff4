"""The walking network on hand-built networks: every expected distance is worked out by hand."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, build, grid, grid_pairs, pts, river_with_bridge
from lifecircle import CRSError, InputError, NetworkError


# ---------------------------------------------------------------------- construction
def test_grid_structure_and_csr():
    net = grid(4, 100.0)
    assert len(net.nodes) == 16
    assert len(net.edges) == 24  # 2 * 4 * 3
    assert net.edges["length_m"].tolist() == pytest.approx([100.0] * 24)
    # node 5 (interior) has 4 neighbours, corner 0 has 2
    deg = np.diff(net.indptr)
    assert deg[5] == 4 and deg[0] == 2
    assert net.crs.to_epsg() == 4549
    assert net.components.n_components == 1


def test_parallel_edges_keep_shortest_in_csr():
    # two routes between nodes 0 and 1: straight (100 m) and a detour polyline (200 m)
    xy = np.array([[X0, Y0], [X0 + 100, Y0]])
    straight = shapely.LineString(xy)
    detour = shapely.LineString([xy[0], (X0 + 50, Y0 + 86.60254), xy[1]])
    net = lc.WalkNetwork.from_lines([0, 0], [1, 1], [straight, detour], xy, CRS)
    assert len(net.edges) == 2
    assert net.weights.tolist() == pytest.approx([100.0, 100.0])
    # a point on the detour walks along the detour to either end
    r = net.distance_to_nearest(pts((0, 0)), pts((50, 86.60254)))
    assert r["distance_m"].iloc[0] == pytest.approx(100.0, abs=1e-3)


def test_metric_crs_required():
    xy = np.array([[120.0, 30.0], [120.001, 30.0]])
    with pytest.raises(CRSError, match="degrees"):
        lc.WalkNetwork.from_lines([0], [1], [shapely.LineString(xy)], xy, "EPSG:4326")
    with pytest.raises(CRSError, match="3857"):
        lc.WalkNetwork.from_lines([0], [1], [shapely.LineString(xy * 1e5)], xy * 1e5, "EPSG:3857")


# ---------------------------------------------------------------------- snapping
def test_snap_to_edge_not_node():
    net = grid(3, 100.0)
    # 30 m north of the middle of the bottom edge (0)-(1): nearest node is 50 m away, edge 30 m
    s = net.snap(pts((50, 30))).to_frame()  # inside the first block
    row = s.iloc[0]
    assert row["access_m"] == pytest.approx(30.0)
    assert row["pos_m"] == pytest.approx(50.0)
    assert row["edge_length_m"] == pytest.approx(100.0)
    assert {row["u"], row["v"]} == {0, 1}
    assert (row["x"], row["y"]) == pytest.approx((X0 + 50, Y0))
    assert not row["too_far"]


def test_snap_position_measured_from_u():
    net = river_with_bridge()
    s = net.snap(pts((800, 5))).to_frame()  # on edge (1)-(2) from x=500 to x=1000
    row = s.iloc[0]
    assert (row["u"], row["v"]) == (1, 2)
    assert row["pos_m"] == pytest.approx(300.0)
    assert row["access_m"] == pytest.approx(5.0)


def test_snap_too_far_flagged_not_zero(caplog):
    net = grid(2, 100.0)
    with caplog.at_level(logging.WARNING, logger="lifecircle.network"):
        s = net.snap(pts((50, -700), (50, 10)), max_snap_m=500).to_frame()
    assert s["too_far"].tolist() == [True, False]
    assert s["access_m"].iloc[0] == pytest.approx(700.0)
    assert "farther than 500 m" in caplog.text
    assert "the farthest 700 m away" in caplog.text and "crs=" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lifecircle.network"):
        net.snap(pts((50, 60_000), (50, 10)), max_snap_m=500)  # 60 km off: a wrong CRS or swap
    assert "the farthest 60 km away" in caplog.text
    assert "usually a wrong crs= or longitude and latitude swapped" in caplog.text


def test_snap_deterministic_on_ties():
    net = grid(3, 100.0)
    # the centre of a block is 50 m from four edges
    a = net.snap(pts((50, 50))).to_frame()
    b = net.snap(pts((50, 50))).to_frame()
    assert (
        a["edge"].iloc[0]
        == b["edge"].iloc[0]
        == min(net.edges.index[net.edges.distance(shapely.Point(X0 + 50, Y0 + 50)) < 50 + 1e-9])
    )


# ---------------------------------------------------------------------- distances
def test_grid_nearest_of_two_sources():
    net = grid(4, 100.0)
    # sources: A at node 0 (0,0), B on the edge (2,3)-(3,3) at x=250,y=300 (+10 m off the street)
    src = pts((0, 0), (250, 310), index=["A", "B"])
    # targets: t1 at node 5 (100,100): A 200 m, B 50+100+100+10=... B: 10 access + 50 to node 14
    #   (200,300) + 200 down to (200,100) + 100 left = 360 -> A wins with 200
    # t2 at (300, 250) on edge (3,2)-(3,3) at 50 m from (300,300): B: 10 + 50 + 50 = 110;
    #   A: 300 + 250 = 550 -> B wins with 110
    # t3 at (150, 0), 20 m south of the street: A: 150 + 20 = 170
    tgt = pts((100, 100), (300, 250), (150, -20), index=["t1", "t2", "t3"])
    r = net.distance_to_nearest(src, tgt)
    assert r.loc["t1", "distance_m"] == pytest.approx(200.0)
    assert r.loc["t1", "source"] == "A"
    assert r.loc["t2", "distance_m"] == pytest.approx(110.0)
    assert r.loc["t2", "source"] == "B"
    assert r.loc["t3", "distance_m"] == pytest.approx(170.0)
    assert r.loc["t3", "access_m"] == pytest.approx(20.0)
    assert list(r.index) == ["t1", "t2", "t3"]


def test_river_one_bridge_not_straight_line():
    net = river_with_bridge()
    # facility 10 m south of the south street at x=100; a home 5 m north of the north street at
    # x=100: 215 m apart in a straight line, but the only way is over the bridge at x=500:
    # 10 + 400 + 200 + 400 + 5 = 1015 m
    r = net.distance_to_nearest(pts((100, -10)), pts((100, 205)))
    assert r["distance_m"].iloc[0] == pytest.approx(1015.0)


def test_same_edge_pair_direct():
    net = river_with_bridge()
    # both on the edge (0)-(1): 10 + |300 - 100| + 0 = 210 (through node 0 it would be 410)
    r = net.distance_to_nearest(pts((100, -10)), pts((300, 0)))
    assert r["distance_m"].iloc[0] == pytest.approx(210.0)
    # two sources on the same edge: the nearer one along the edge wins
    r = net.distance_to_nearest(pts((100, 0), (450, 40), index=["near", "far"]), pts((430, 0)))
    # near: 330; far: 40 + 20 = 60
    assert r["source"].iloc[0] == "far"
    assert r["distance_m"].iloc[0] == pytest.approx(60.0)


def test_dead_end():
    # a main street 0-1-2 (x=0..400) and a dead-end spur from node 1 (x=200) going north 300 m
    net = build([(0, 0), (200, 0), (400, 0), (200, 300)], [(0, 1), (1, 2), (1, 3)])
    # facility at the end of the spur; home at x=350 on the main street
    r = net.distance_to_nearest(pts((200, 300)), pts((350, 0), (200, 150)))
    assert r["distance_m"].tolist() == pytest.approx([300 + 150, 150])


def test_disconnected_pieces_keep_all_and_largest(caplog):
    xy = [(0, 0), (100, 0), (200, 0), (1000, 0), (1050, 0)]
    pairs = [(0, 1), (1, 2), (3, 4)]
    net_all = build(xy, pairs, keep="all")
    assert net_all.components.n_components == 2
    assert net_all.components.largest_length_share == pytest.approx(200 / 250)
    r = net_all.distance_to_nearest(pts((0, 0)), pts((1020, 0), (150, 0)))
    assert math.isinf(r["distance_m"].iloc[0])
    assert r["source"].iloc[0] is None
    assert r["distance_m"].iloc[1] == pytest.approx(150.0)
    with caplog.at_level(logging.WARNING, logger="lifecircle.network"):
        net_big = build(xy, pairs, keep="largest")
    assert "2 disconnected pieces" in caplog.text
    assert len(net_big.nodes) == 3 and len(net_big.edges) == 2
    assert net_big.components.dropped_components == 1
    assert net_big.components.dropped_length_m == pytest.approx(50.0)
    assert set(net_big.edges["u"]) | set(net_big.edges["v"]) == {0, 1, 2}


def test_max_m_cutoff():
    net = river_with_bridge()
    tgt = pts((100, 205), (300, 0))
    r = net.distance_to_nearest(pts((100, -10)), tgt, max_m=1000)
    assert math.isinf(r["distance_m"].iloc[0])  # 1015 > 1000
    assert r["distance_m"].iloc[1] == pytest.approx(210.0)
    r = net.distance_to_nearest(pts((100, -10)), tgt, max_m=1015.5)
    assert r["distance_m"].iloc[0] == pytest.approx(1015.0)


def test_unsnapped_points_are_inf_and_reported():
    net = grid(2, 100.0)
    r = net.distance_to_nearest(pts((0, 0)), pts((50, -900), (50, 0)), max_snap_m=500)
    assert math.isinf(r["distance_m"].iloc[0]) and r["unsnapped"].iloc[0]
    assert r["distance_m"].iloc[1] == pytest.approx(50.0)
    # a source too far away is left out: nothing is reachable
    r = net.distance_to_nearest(pts((0, -900)), pts((50, 0)), max_snap_m=500)
    assert math.isinf(r["distance_m"].iloc[0])


def test_source_exactly_on_node_zero_weight():
    net = grid(2, 100.0)
    r = net.distance_to_nearest(pts((0, 0)), pts((0, 0), (100, 100)))
    assert r["distance_m"].tolist() == pytest.approx([0.0, 200.0])


# ---------------------------------------------------------------------- reachable
def test_reachable_partial_edges_river():
    net = river_with_bridge()
    reach = net.reachable(pts((100, -10)), max_m=700)
    nodes = reach.nodes.set_index("node")["distance_m"].to_dict()
    # node 0 at 10+100, node 1 at 10+400, node 4 over the bridge at 610; node 3/5 are 1110 away
    assert nodes == pytest.approx({0: 110.0, 1: 410.0, 4: 610.0})
    pieces = reach.edge_pieces().set_index("edge")[["start_m", "end_m"]]
    # edges: 0:(0,1) 1:(1,2) 2:(3,4) 3:(4,5) 4:(1,4 bridge)
    assert pieces.loc[0].tolist() == pytest.approx([0.0, 500.0])
    assert pieces.loc[1].tolist() == pytest.approx([0.0, 290.0])  # 700 - 410
    assert pieces.loc[4].tolist() == pytest.approx([0.0, 200.0])
    assert pieces.loc[2].tolist() == pytest.approx([410.0, 500.0])  # 90 m back from node 4
    assert pieces.loc[3].tolist() == pytest.approx([0.0, 90.0])
    # a smaller limit from the same search: 300 m -> only the origin's own edge, 100±290
    small = reach.edge_pieces(300).set_index("edge")
    assert list(small.index) == [0]
    assert small.loc[0, ["start_m", "end_m"]].tolist() == pytest.approx([0.0, 390.0])


def test_reachable_many_origins_sparse():
    net = grid(5, 100.0)
    origins = pts((0, 0), (400, 400), (200, 200), index=["a", "b", "c"])
    reach = net.reachable(origins, max_m=100)
    got = reach.nodes.groupby("origin")["node"].apply(sorted).to_dict()
    assert got == {"a": [0, 1, 5], "b": [19, 23, 24], "c": [7, 11, 12, 13, 17]}
    with pytest.raises(InputError, match="exceeds"):
        reach.edge_pieces(200)


def test_reachable_mid_edge_interval():
    # a single long street, origin in the middle: the interval around it
    net = build([(0, 0), (1000, 0)], [(0, 1)])
    pieces = net.reachable(pts((400, 0)), max_m=150).edge_pieces()
    assert pieces[["start_m", "end_m"]].values.tolist() == [pytest.approx([250.0, 550.0])]
    assert len(net.reachable(pts((400, 0)), max_m=150).nodes) == 0


# ---------------------------------------------------------------------- input validation
def test_bad_inputs_clear_errors():
    net = grid(2, 100.0)
    ok = pts((0, 0))
    with pytest.raises(InputError, match="empty"):
        net.distance_to_nearest(ok, gpd.GeoDataFrame(geometry=[], crs=CRS))
    with pytest.raises(CRSError, match="no CRS"):
        net.distance_to_nearest(ok, gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)]))
    poly = gpd.GeoDataFrame(
        geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)], crs=CRS, index=["block7"]
    )
    with pytest.raises(InputError, match=r"Polygon in rows block7"):
        net.snap(poly)
    nan = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0), shapely.Point(np.nan, np.nan)], crs=CRS)
    with pytest.raises(InputError, match=r"rows 1"):
        net.snap(nan)


def test_lonlat_arrays_checked():
    net = grid(2, 100.0)
    lon, lat = 120.755, 30.747  # Jiaxing, Nanhu
    with pytest.raises(InputError, match="swapped"):
        net.snap((np.array([lat]), np.array([lon])))
    with pytest.raises(InputError, match="longitude first"):
        net.snap((np.array([-lon]), np.array([lat])))  # western hemisphere by mistake
    with pytest.raises(InputError, match="NaN"):
        net.snap(np.array([[lon, np.nan]]))
    with pytest.raises(InputError, match=r"\(n, 2\)"):
        net.snap(np.array([lon, lat, 1.0]))


def test_lonlat_input_matches_metric_input():
    net = grid(3, 100.0)
    g = pts((150, 40), (30, 200))
    ll = g.to_crs(4326)
    xy = shapely.get_coordinates(ll.geometry.values)
    a = net.snap(g).to_frame()
    b = net.snap((xy[:, 0], xy[:, 1])).to_frame()
    c = net.snap(xy).to_frame()
    d = net.snap(ll).to_frame()
    for other in (b, c, d):
        assert other["pos_m"].to_numpy() == pytest.approx(a["pos_m"].to_numpy(), abs=1e-3)
        assert other["access_m"].to_numpy() == pytest.approx(a["access_m"].to_numpy(), abs=1e-3)


# ---------------------------------------------------------------------- persistence, loaders
def test_save_load_roundtrip(tmp_path):
    net = river_with_bridge()
    net.save(tmp_path / "net")
    back = lc.load_network(tmp_path / "net")
    assert back.crs == net.crs
    assert np.array_equal(back.indptr, net.indptr)
    assert np.array_equal(back.indices, net.indices)
    assert np.allclose(back.weights, net.weights)
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.edges.drop(columns="geometry")),
        pd.DataFrame(net.edges.drop(columns="geometry")),
    )
    a = net.distance_to_nearest(pts((100, -10)), pts((100, 205)))
    b = back.distance_to_nearest(pts((100, -10)), pts((100, 205)))
    pd.testing.assert_frame_equal(a, b)


def test_load_network_errors(tmp_path):
    with pytest.raises(NetworkError, match="not found"):
        lc.load_network(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "data.txt"
    bad.write_text("hello")
    with pytest.raises(NetworkError, match="don't know how to read"):
        lc.load_network(bad)
    with pytest.raises(InputError, match="keep"):
        lc.load_network(bad, keep="biggest")


def test_to_networkx_matches():
    import networkx as nx

    net = grid(3, 100.0)
    G = net.to_networkx()
    assert G.number_of_nodes() == 9 and G.number_of_edges() == 12
    assert nx.shortest_path_length(G, 0, 8, weight="length") == pytest.approx(400.0)


# ---------------------------------------------------------------------- property test
from hypothesis import example, given  # noqa: E402
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from _independent import independent_nearest  # noqa: E402


def _random_grid(n: int, drop: list[int], rng: np.random.Generator) -> lc.WalkNetwork:
    """An n×n grid of 100 m with nodes jittered by up to 20 m and the streets ``drop`` left out."""
    xy = [(j * 100 + rng.uniform(-20, 20), i * 100 + rng.uniform(-20, 20))
          for i in range(n) for j in range(n)]  # fmt: skip
    pairs = grid_pairs(n)
    keep_pairs = [p for i, p in enumerate(pairs) if i not in set(drop)] or pairs[:1]
    return build(xy, keep_pairs, keep="all")


@hsettings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 5),
    drop=st.lists(st.integers(0, 39), max_size=8),
    seed=st.integers(0, 10_000),
    n_src=st.integers(1, 4),
)
def test_matches_networkx_on_random_grids(n, drop, seed, n_src):
    """Random grids with missing streets and jittered nodes: same answer as networkx with the
    points inserted into the graph."""
    rng = np.random.default_rng(seed)
    net = _random_grid(n, drop, rng)
    span = (n - 1) * 100
    src = rng.uniform(-30, span + 30, (n_src, 2)) + [X0, Y0]
    tgt = rng.uniform(-30, span + 30, (12, 2)) + [X0, Y0]
    ours = net.distance_to_nearest(
        gpd.GeoSeries(shapely.points(src), crs=CRS), gpd.GeoSeries(shapely.points(tgt), crs=CRS)
    )["distance_m"].to_numpy()
    G = net.to_networkx()
    for _, _, d in G.edges(data=True):
        d["geometry"] = net.edges.geometry.iloc[d["edge"]]
    theirs = independent_nearest(G, src, tgt)
    assert np.array_equal(np.isinf(ours), np.isinf(theirs))
    fin = np.isfinite(ours)
    assert ours[fin] == pytest.approx(theirs[fin], abs=1e-6)


def test_distance_by_group_snaps_once(monkeypatch):
    import lifecircle.network.graph as graph

    calls = []
    real = graph.snap_points
    monkeypatch.setattr(graph, "snap_points", lambda *a, **k: calls.append(1) or real(*a, **k))
    net = grid(4, 100.0)
    src = pts((0, 0), (300, 300), (0, 300), index=["k1", "e1", "k2"])
    src["category"] = ["kindergarten", "elderly", "kindergarten"]
    tgt = pts((100, 0), (300, 200), index=["a", "b"])
    r = net.distance_to_nearest(src, tgt, by="category")
    assert r["category"].tolist() == ["elderly", "elderly", "kindergarten", "kindergarten"]
    assert r.index.tolist() == ["a", "b", "a", "b"]
    # elderly (300,300): a 200+300=500, b 100; kindergarten: a from k1 100, b from k2 300+... =
    # min(k1: 300+200=500, k2: 300+100=400) = 400
    assert r["distance_m"].tolist() == pytest.approx([500.0, 100.0, 100.0, 400.0])
    assert r["source"].tolist() == ["e1", "e1", "k1", "k2"]
    assert len(calls) == 2  # sources once, targets once, although there are two categories
    with pytest.raises(InputError, match="by="):
        net.distance_to_nearest(src, tgt, by="missing")


# ---------------------------------------------------------------------- the same-compound rule
def test_same_compound_points_are_a_straight_line_apart():
    """A facility at the same off-street spot as a community, 128 m from the street, used to be
    2 × 128 = 256 m away (out to the street and back). Two points closer to each other than either
    is to the street are as far apart as the straight line between them (docs/concepts.md)."""
    net = river_with_bridge()  # south street y=0: y=-128 is 128 m south of it, off the street
    home = pts((300, -128), index=["home"])
    same_spot = pts((300, -128), index=["same"])
    r = net.distance_to_nearest(same_spot, home)
    assert r.loc["home", "distance_m"] == 0.0
    # 20 m apart inside the compound (both 128 m from the street): 20 m, not 128 + 20 + 128
    r = net.distance_to_nearest(pts((320, -128), index=["f"]), home)
    assert r.loc["home", "distance_m"] == pytest.approx(20.0)
    assert r.loc["home", "source"] == "f"
    # farther apart than the nearer access leg: the walk goes by the street
    # home (300,-128) and (300,-10): straight 118 > 10 (the facility's access) -> 128 + 0 + 10
    r = net.distance_to_nearest(pts((300, -10), index=["g"]), home)
    assert r.loc["home", "distance_m"] == pytest.approx(138.0)
    # pairs_within knows the rule too
    p = net.pairs_within(pts((320, -128), (300, -10), index=["f", "g"]), home, max_m=200)
    assert p.set_index("source")["distance_m"].to_dict() == pytest.approx({"f": 20.0, "g": 138.0})
    # a 200 m standard: met now (it was a false shortfall at 256 m)
    r = net.distance_to_nearest(same_spot, home, max_m=200)
    assert r.loc["home", "distance_m"] == 0.0


def test_same_compound_rule_for_several_homes_at_once():
    """Each of several homes takes its own nearest source inside its compound (caught: the
    first-pair-per-home step broken when there is more than one pair). Homes 128 m south of the
    south street at x=300 and x=700; facilities 10 m from each, inside the same compounds."""
    net = river_with_bridge()
    homes = pts((300, -128), (700, -128), index=["h300", "h700"])
    fac = pts((295, -128), (310, -128), (690, -128), index=["f295", "f310", "f690"])
    r = net.distance_to_nearest(fac, homes)
    assert r["distance_m"].tolist() == pytest.approx([5.0, 10.0])
    assert r["source"].tolist() == ["f295", "f690"]


def test_same_compound_rule_does_not_reach_unsnapped_points():
    net = river_with_bridge()
    home = pts((300, -700), index=["home"])  # 700 m from every street: beyond max_snap_m=500
    r = net.distance_to_nearest(pts((305, -700), index=["f"]), home)
    assert math.isinf(r.loc["home", "distance_m"]) and r.loc["home", "unsnapped"]


def test_saved_network_missing_or_damaged_parts(tmp_path):
    net = river_with_bridge()
    folder = net.save(tmp_path / "net")
    (folder / "edges.parquet").unlink()
    with pytest.raises(NetworkError, match="no edges.parquet; the folder is incomplete"):
        lc.load_network(folder)
    folder = net.save(tmp_path / "net2")
    (folder / "nodes.parquet").write_bytes(b"not parquet")
    with pytest.raises(NetworkError, match="nodes.parquet: cannot read the saved network"):
        lc.load_network(folder)


def test_max_snap_m_must_be_positive():
    net = river_with_bridge()
    for bad in (0, -5, float("nan")):
        with pytest.raises(InputError, match="max_snap_m must be a distance in metres > 0"):
            net.snap(pts((10, 10)), max_snap_m=bad)


def test_source_exactly_on_a_junction():
    """A facility standing exactly on a street junction (access 0, at the end of its edge): its
    zero-length link to that node must stay in the graph, else the walk would go round by the far
    end of the edge. The bridge node is at (500, 0); a target at (500, 200) is 200 m away over
    the bridge, one at (900, 200) 200 + 400 m."""
    net = river_with_bridge()
    r = net.distance_to_nearest(pts((500, 0), index=["junction"]), pts((500, 200), (900, 200)))
    assert r["distance_m"].tolist() == pytest.approx([200.0, 600.0])


def test_same_compound_rule_holds_close_to_the_street_too():
    """Two points 0.8 m off the street and 0.3 m apart: 0.3 m, not 0.8 + 0.3 + 0.8 = 1.9 m."""
    net = river_with_bridge()
    r = net.distance_to_nearest(pts((300, -0.8), index=["f"]), pts((300.3, -0.8)))
    assert r["distance_m"].iloc[0] == pytest.approx(0.3)


def test_no_snapped_source_means_no_distance():
    net = river_with_bridge()
    r = net.distance_to_nearest(pts((300, -900), index=["far"]), pts((300, -5), (10, 200)))
    assert np.isinf(r["distance_m"]).all() and r["source"].isna().all()
    p = net.pairs_within(pts((300, -900), index=["far"]), pts((300, -5)), max_m=5000)
    assert len(p) == 0


def test_pairs_within_off_street_targets_reached_from_either_end():
    """A 300 m square of streets: 0 (0,0) – 1 (300,0) – 2 (300,300) – 3 (0,300) – 0. Target T at
    (250,-5) is on edge 0–1, 250 m from node 0, 5 m off the street; target U at (50,-5).
    Source A at (310,150) is on edge 1–2, 10 m off, 150 m from node 1: A–T = 10 + 150 + 50 + 5
    = 215 m through node 1 (the far end of T's edge); A–U = 10 + 150 + 250 + 5 = 415 m.
    Source B at (-10,150) on edge 3–0: B–U = 10 + 150 + 50 + 5 = 215 m through node 0 (the near
    end); B–T = 10 + 150 + 250 + 5 = 415 m."""
    net = build([(0, 0), (300, 0), (300, 300), (0, 300)], [(0, 1), (1, 2), (2, 3), (3, 0)])
    p = net.pairs_within(
        pts((310, 150), (-10, 150), index=["A", "B"]),
        pts((250, -5), (50, -5), index=["T", "U"]),
        max_m=1000,
    )
    got = {(s, t): d for s, t, d in zip(p["source"], p["target"], p["distance_m"], strict=True)}
    assert got == pytest.approx({("A", "T"): 215.0, ("A", "U"): 415.0,
                                 ("B", "T"): 415.0, ("B", "U"): 215.0})  # fmt: skip


def test_same_compound_rule_at_exactly_the_access_leg():
    """Straight distance equal to the smaller access leg still counts as the same compound:
    (300,-10) and (310,-10) are 10 m apart and 10 m off the street: 10 m, not 10 + 10 + 10."""
    net = river_with_bridge()
    r = net.distance_to_nearest(pts((300, -10), index=["f"]), pts((310, -10)))
    assert r["distance_m"].iloc[0] == pytest.approx(10.0)


def test_origin_piece_near_the_start_of_its_edge():
    """Origin 10 m off the street at x=0.5, limit 10.4 m: 0.4 m to either side of its foot, no
    node reached: the piece [0.1, 0.9] (not clipped at 1 m, not merged with a node's)."""
    net = river_with_bridge()
    pieces = net.reachable(pts((0.5, -10)), max_m=10.4).edge_pieces()
    assert len(net.reachable(pts((0.5, -10)), max_m=10.4).nodes) == 0
    assert pieces["edge"].tolist() == [0]
    assert pieces[["start_m", "end_m"]].iloc[0].tolist() == pytest.approx([0.1, 0.9])


def test_ties_resolved_for_every_point_not_only_the_first():
    """The second of two points is at the centre of a block, 50 m from four edges: it takes the
    lowest edge row, as the first point of a frame does."""
    net = grid(3, 100.0)
    s = net.snap(pts((10, 1), (50, 50))).to_frame()
    centre = shapely.Point(X0 + 50, Y0 + 50)
    assert s["edge"].iloc[1] == min(net.edges.index[net.edges.distance(centre) < 50 + 1e-9])


def test_node_distances_mark_unreached_nodes_with_no_source():
    """Per node: the distance to the nearest source and which source; beyond the limit ``inf``
    and source -1 (caught: -1 turned into 1 or 0, a real source's position).

    Sources on the south street at x=100 (position 0) and x=900 (position 1), 10 m off it.
    Node 0 (x=0): 10 + 100 = 110 m from source 0; node 1 (x=500): 10 + 400 = 410 m from either
    (a tie); node 2 (x=1000): 110 m from source 1; the north nodes
    are 410 + 200 (bridge) = 610 m and more away, beyond the 500 m limit.
    """
    from lifecircle.network.paths import node_distances

    net = river_with_bridge()
    src = net.snap(pts((100, -10), (900, -10)))
    d, origin = node_distances(net, src, 500.0)
    assert d[:3].tolist() == pytest.approx([110.0, 410.0, 110.0])
    assert origin[[0, 2]].tolist() == [0, 1] and origin[1] in (0, 1)
    assert np.isinf(d[3:]).all()
    assert origin[3:].tolist() == [-1, -1, -1]


def test_snapping_on_a_sub_metre_edge_keeps_the_position():
    """A point beside the middle of a 0.5 m edge stands 0.25 m along it (caught: positions on
    edges shorter than 1 m taken as 0, or divided by 1 m instead of the edge's length)."""
    net = build([(0, 0), (0.5, 0)], [(0, 1)])
    s = net.snap(pts((0.25, 5)))
    assert s.pos_m.tolist() == pytest.approx([0.25])
    assert s.access_m.tolist() == pytest.approx([5.0])


@hsettings(max_examples=60, deadline=None)
@given(
    src_x=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    tgt_x=st.lists(st.integers(0, 50), min_size=1, max_size=8),
)
def test_same_edge_nearest_first_of_equals(src_x: list[int], tgt_x: list[int]) -> None:
    """Sources and targets on one 50 m street at whole metres (ties everywhere, up to the
    rounding of snapping): each target's distance is the smallest |x_t - x_s|, along the street,
    and its source one of the sources that near."""
    net = build([(0, 0), (50, 0)], [(0, 1)])
    labels = [f"s{i}" for i in range(len(src_x))]
    r = net.distance_to_nearest(
        pts(*[(x, 0) for x in src_x], index=labels), pts(*[(x, 0) for x in tgt_x])
    )
    for row, x in zip(r.itertuples(), tgt_x, strict=True):
        gaps = [abs(x - s) for s in src_x]
        assert row.distance_m == pytest.approx(min(gaps), abs=1e-6)
        assert row.source in {lab for lab, g in zip(labels, gaps, strict=True) if g == min(gaps)}


@hsettings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-60, 60), st.integers(1, 60)), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(-60, 60), st.integers(1, 60)), min_size=1, max_size=8),
)
# exactly at the boundary: 29 m apart, both 29 m from the street, but the access legs come out
# of the snap as 28.999999999999996 (found by hypothesis in a full run)
@example(src=[(0, 29)], tgt=[(29, 29)])
def test_same_compound_pairs_match_brute_force(
    src: list[tuple[int, int]], tgt: list[tuple[int, int]]
) -> None:
    """Off-street points south of a 200 m street (access leg = how far south): every pair at most
    both access legs apart, found whichever side has more points (the tree is built on the larger
    side), equals the pairs of a check of every pair, in source then target order."""
    from lifecircle.network.paths import same_compound

    net = build([(-100, 0), (100, 0)], [(0, 1)])
    s = net.snap(pts(*[(x, -y) for x, y in src]))
    t = net.snap(pts(*[(x, -y) for x, y in tgt]))
    want = [
        (i, j, math.hypot(a - c, b - d))
        for i, (a, b) in enumerate(src)
        for j, (c, d) in enumerate(tgt)
        if math.hypot(a - c, b - d) <= min(b, d)
    ]
    for p, flip in ((same_compound(s, t), False), (same_compound(t, s), True)):
        got = list(zip(p.source.tolist(), p.target.tolist(), p.distance_m.tolist(), strict=True))
        if flip:
            got = sorted((j, i, d) for i, j, d in got)
        assert [g[:2] for g in got] == [w[:2] for w in want]
        assert [g[2] for g in got] == pytest.approx([w[2] for w in want])


@hsettings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=2, max_size=6),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.tuples(st.integers(0, 3), st.floats(-1.2, 1.2)), min_size=1, max_size=10),
)
def test_points_along_equal_geos_interpolation(
    lines: list[list[tuple[int, int]]], picks: list[tuple[int, float]]
) -> None:
    """The compiled interpolation gives shapely's ``line_interpolate_point`` bit for bit, on
    lines with repeated vertices (zero-length segments), at the ends, beyond them and from the
    end (negative distances)."""
    from lifecircle.network.snapping import points_along

    geoms = np.array([shapely.LineString([(X0 + x, Y0 + y) for x, y in ln]) for ln in lines])
    edge = np.array([e % len(lines) for e, _ in picks])
    along = np.array([f * shapely.length(geoms[e]) for e, (_, f) in zip(edge, picks, strict=True)])
    want = shapely.get_coordinates(shapely.line_interpolate_point(geoms[edge], along))
    assert np.array_equal(points_along(geoms, edge, along), want)


# ---------------------------------------------------------------------- the nearest edge
def _strtree_nearest(lines: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The independent answer: shapely's STRtree (GEOS distances), ties to the lowest row."""
    (qi, ei), d = shapely.STRtree(lines).query_nearest(
        shapely.points(xy), return_distance=True, all_matches=True
    )
    order = np.lexsort((ei, qi))
    qi, ei, d = qi[order], ei[order], d[order]
    first = np.ones(len(qi), dtype=bool)
    first[1:] = qi[1:] != qi[:-1]
    edge, dist = np.full(len(xy), -1), np.full(len(xy), np.nan)
    edge[qi[first]], dist[qi[first]] = ei[first], d[first]
    return edge, dist


def _grid_nearest_both_ways(lines: np.ndarray, xy: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """:meth:`EdgeGrid.nearest` as shipped, and with the ring search never handing over to
    the STRtree (so that the rings alone are checked on far points too)."""
    from lifecircle.network import snapping

    grid = snapping.edge_grid(lines)
    out = [grid.nearest(xy)]
    keep = snapping._MAX_RING
    snapping._MAX_RING = 10**9
    try:
        out.append(grid.nearest(xy))
    finally:
        snapping._MAX_RING = keep
    return out


@hsettings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(-60, 60), st.integers(-60, 60)), min_size=2, max_size=5
        ),
        min_size=1, max_size=6,
    ),
    st.lists(
        st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)), min_size=1, max_size=12
    ),
    st.floats(0.0, 1.0),
)  # fmt: skip
def test_nearest_edge_equals_geos(
    lines: list[list[tuple[int, int]]], offsets: list[tuple[float, float]], shrink: float
) -> None:
    """The grid's nearest edge and distance are the STRtree's bit for bit: lines with repeated
    vertices, lines on top of each other (ties: the lowest row), points on vertices, near the
    lines and kilometres away, inside the grid's cells and outside it."""
    geoms = np.array([shapely.LineString([(X0 + x, Y0 + y) for x, y in ln]) for ln in lines])
    # some points near the lines (scaled towards them), some on a vertex, some far away
    xy = np.array([(X0 + dx * shrink**3, Y0 + dy * shrink**3) for dx, dy in offsets])
    xy = np.vstack([xy, shapely.get_coordinates(geoms[:1])[:1]])
    want_edge, want_dist = _strtree_nearest(geoms, xy)
    for edge, dist in _grid_nearest_both_ways(geoms, xy):
        assert np.array_equal(edge, want_edge)
        assert np.array_equal(dist, want_dist)


def test_nearest_edge_equals_geos_on_a_real_network(liechtenstein_pbf) -> None:
    """On Liechtenstein's 7,354 edges, 20,000 points near the streets and 2,000 up to 20 km off
    them get the STRtree's edge and distance bit for bit (ties included)."""
    net = lc.load_network(liechtenstein_pbf)
    lines = net.edges.geometry.values
    rng = np.random.default_rng(7)
    on = shapely.get_coordinates(
        shapely.line_interpolate_point(lines[rng.integers(0, len(lines), 20_000)],
                                       rng.random(20_000), normalized=True)
    )  # fmt: skip
    near = on + rng.normal(0, 30, on.shape)
    far = on[:2000] + rng.normal(0, 8000, (2000, 2))
    xy = np.vstack([near, far, on[:100]])
    want_edge, want_dist = _strtree_nearest(lines, xy)
    for edge, dist in _grid_nearest_both_ways(lines, xy):
        assert np.array_equal(edge, want_edge)
        assert np.array_equal(dist, want_dist)
    snapped = net.snap(gpd.GeoSeries(shapely.points(xy), crs=net.crs), max_snap_m=1e9)
    assert np.array_equal(snapped.edge, want_edge)
    assert np.array_equal(snapped.access_m, want_dist)


def test_first_compile_is_announced_once(caplog, monkeypatch):
    """A first run warns once that kernels are being compiled (not once per kernel); later cold
    kernels are logged at INFO, and a compiled kernel is not announced at all."""
    from numba import njit

    import lifecircle.network.kernels as kernels

    monkeypatch.setattr(kernels, "_announced", set())

    @njit
    def _k1(x):  # pragma: no cover - compiled
        return x + 1

    @njit
    def _k2(x):  # pragma: no cover - compiled
        return x * 2

    with caplog.at_level(logging.INFO, logger="lifecircle.network.kernels"):
        kernels.announce_compile(_k1)
        kernels.announce_compile(_k1, _k2)
        kernels.announce_compile(_k2)
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in said] == [logging.WARNING, logging.INFO]
    assert "(_k1 …)" in said[0][1] and "10–20 s in all" in said[0][1]
    assert said[1][1] == "first run: compiling _k2"
    assert _k1(1) == 2  # compiled now
    monkeypatch.setattr(kernels, "_announced", set())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lifecircle.network.kernels"):
        kernels.announce_compile(_k1)
    assert caplog.records == []


# ---------------------------------------------------------------------- what new sources change
def _snap(net, gdf):
    return net.snap(gdf, 50.0)


def test_nearest_nodes_with_floor_gives_only_what_the_new_source_wins():
    """Grid 4×4, 100 m: the old facility at node 0 (0,0), a new one at node 15 (300,300). Node
    (row i, column j) is 100·(i+j) from the old one and 100·(6−i−j) from the new one: the new one
    wins where i+j > 3 (i+j = 3 ties, up to rounding); elsewhere nothing is given."""
    net = grid(4, 100.0)
    floor, _ = net.nearest_nodes(_snap(net, pts((0, 0))))
    # (a facility exactly on a node is 1e-6 m from it: MIN_WEIGHT_M keeps its edge an edge)
    assert floor == pytest.approx([100.0 * (i + j) for i in range(4) for j in range(4)], abs=1e-5)
    new = _snap(net, pts((300, 300), (0, 0)))  # the second one is where the old one is
    d, origin = net.nearest_nodes(new, floor_m=floor)
    for i in range(4):
        for j in range(4):
            k = i * 4 + j
            if i + j > 3:
                assert d[k] == pytest.approx(100.0 * (6 - i - j), abs=1e-5) and origin[k] == 0
            elif i + j < 3:
                assert d[k] == np.inf and origin[k] == -1
            else:  # a tie up to the rounding of the edge lengths: either way, never worse
                assert d[k] == np.inf or d[k] == pytest.approx(300.0, abs=1e-5)
    # targets: at (300, 250) the new one is 50 m away; at (100, 100) it changes nothing
    tgt = _snap(net, pts((300, 250), (100, 100)))
    dist, which = net.nearest(new, tgt, nodes=(d, origin))
    assert dist == pytest.approx([50.0, np.inf], abs=1e-5) and which.tolist() == [0, -1]
    # with a limit: nothing beyond it
    d150, _ = net.nearest_nodes(new, max_m=150.0, floor_m=floor)
    assert sorted(np.flatnonzero(np.isfinite(d150)).tolist()) == [11, 14, 15]


@hsettings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 6),
    drop=st.lists(st.integers(0, 59), max_size=10),
    seed=st.integers(0, 10_000),
    n_old=st.integers(1, 4),
    n_new=st.integers(1, 3),
)
def test_floor_search_equals_a_search_from_all_sources(n, drop, seed, n_old, n_new):
    """On random grids with missing streets: the old sources' node distances, lowered by the
    new sources' search with that floor, equal one search from old and new sources together,
    bit for bit; the floor search gives exactly the nodes the new sources bring nearer."""
    rng = np.random.default_rng(seed)
    net = _random_grid(n, drop, rng)
    span = (n - 1) * 100
    both = rng.uniform(-30, span + 30, (n_old + n_new, 2))
    old = _snap(net, pts(*map(tuple, both[:n_old])))
    new = _snap(net, pts(*map(tuple, both[n_old:])))
    together = _snap(net, pts(*map(tuple, both)))
    floor, _ = net.nearest_nodes(old)
    d, origin = net.nearest_nodes(new, floor_m=floor)
    full, full_origin = net.nearest_nodes(together)
    assert np.array_equal(np.minimum(floor, d), full)
    alone, _ = net.nearest_nodes(new)
    assert np.array_equal(np.isfinite(d), alone < floor)
    won = np.isfinite(d)
    assert np.array_equal(d[won], alone[won])
    assert (origin[won] >= 0).all() and (origin[~won] == -1).all()
    # where the new sources win, the search from all names one of them
    assert (full_origin[won & (alone < floor)] >= n_old).all() or not won.any()


@hsettings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.sampled_from([0.0, 0.01, 0.05, 0.3, 1.0]))
def test_points_at_nodes_and_on_edges_by_lookup(seed: int, share: float) -> None:
    """Which snapped points a search reaches: the lookup in points sorted by node (few nodes
    reached, a scenario) and the read of every point (many) both give exactly the points with an
    end node reached, sorted; the points on given edges likewise equal a plain check."""
    rng = np.random.default_rng(seed)
    net = grid(6, 100.0)
    s = net.snap(pts(*[tuple(xy) for xy in rng.uniform(0, 500, size=(400, 2))]))
    reached = rng.random(len(net.nodes)) < share
    want = np.flatnonzero(reached[s.u] | reached[s.v])
    assert np.array_equal(s.at_nodes(reached), want)
    edges = rng.choice(len(net.edges), size=rng.integers(0, 6))
    assert np.array_equal(s.on_edges(edges), np.flatnonzero(np.isin(s.edge, edges)))
