"""Loading OSM files, and distances on real networks cross-checked with an independent networkx
computation (points inserted into the graph by splitting their edges)."""

from __future__ import annotations

import bz2
import gzip
import logging
import shutil

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely

import lifecircle as lc
from _independent import independent_nearest, osmnx_projected, osmnx_walk_from_xml
from conftest import FIXTURES, shared_file
from lifecircle.sources.osm import is_walkable

FILTER_OSM = FIXTURES / "walk_filter.osm"


# ---------------------------------------------------------------------- pedestrian filter
def test_walk_filter_and_clipped_extract(caplog):
    with caplog.at_level(logging.WARNING):
        net = lc.load_network(FILTER_OSM, keep="all")
    assert "clipped extract" in caplog.text and "1 way node references" in caplog.text
    ways = set(net.edges["osmid"])
    assert ways == {1, 2, 3, 4, 5, 6, 7, 29, 30}
    # way 1 is cut at node 2, where ways 2 and 4 join it; one-way is ignored (edges undirected)
    assert (net.edges["osmid"] == 1).sum() == 2
    assert len(net.edges) == 10
    assert net.components.n_components == 3
    assert net.crs.to_epsg() == 4549  # Jiaxing: CGCS2000 / 3-degree GK CM 120E
    # the clipped way keeps the part inside the file (nodes 40-41, ~95.6 m)
    clipped = net.edges[net.edges["osmid"] == 30]
    assert clipped["length_m"].iloc[0] == pytest.approx(95.6, abs=0.5)
    assert net.edges.loc[net.edges["osmid"] == 1, "name"].tolist() == ["中山路", "中山路"]
    largest = lc.load_network(FILTER_OSM)
    assert set(largest.edges["osmid"]) == {1, 2, 3, 4, 5, 6, 7}


@pytest.mark.parametrize(
    "tags, ok",
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential", "oneway": "yes"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway_link"}, False),
        ({"highway": "trunk"}, True),
        ({"highway": "trunk", "motorroad": "yes"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "private", "foot": "yes"}, True),
        ({"highway": "residential", "foot": "no"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "cycleway", "foot": "designated"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "primary", "sidewalk": "separate"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_is_walkable(tags, ok):
    assert is_walkable(tags) is ok


@pytest.mark.parametrize("opener, suffix", [(gzip.open, ".osm.gz"), (bz2.open, ".osm.bz2")])
def test_compressed_xml(tmp_path, opener, suffix):
    target = tmp_path / f"walk{suffix}"
    with open(FILTER_OSM, "rb") as src, opener(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a = lc.load_network(FILTER_OSM, keep="all")
    b = lc.load_network(target, keep="all")
    assert b.edges["length_m"].sum() == pytest.approx(a.edges["length_m"].sum())
    assert len(b.edges) == len(a.edges)


def test_explicit_crs_overrides(tmp_path):
    net = lc.load_network(FILTER_OSM, crs="EPSG:32651")
    assert net.crs.to_epsg() == 32651
    with pytest.raises(lc.CRSError):
        lc.load_network(FILTER_OSM, crs=4326)


def sample_points(net: lc.WalkNetwork, n: int, seed: int) -> np.ndarray:
    """Random points near random edges (up to 60 m off), in the network's CRS."""
    rng = np.random.default_rng(seed)
    e = rng.integers(0, len(net.edges), n)
    lines = net.edges.geometry.values[e]
    on = shapely.line_interpolate_point(lines, rng.random(n), normalized=True)
    xy = shapely.get_coordinates(on)
    ang = rng.random(n) * 2 * np.pi
    r = rng.random(n) * 60
    return xy + np.column_stack([r * np.cos(ang), r * np.sin(ang)])


def compare(net: lc.WalkNetwork, G_indep: nx.Graph, seed: int, n_src: int = 25, n_tgt: int = 150):
    src = sample_points(net, n_src, seed)
    tgt = sample_points(net, n_tgt, seed + 1)
    ours = net.distance_to_nearest(
        gpd.GeoSeries(shapely.points(src), crs=net.crs),
        gpd.GeoSeries(shapely.points(tgt), crs=net.crs),
    )["distance_m"].to_numpy()
    theirs = independent_nearest(G_indep, src, tgt)
    assert np.isfinite(ours).sum() > 0.8 * n_tgt
    assert np.array_equal(np.isinf(ours), np.isinf(theirs))
    fin = np.isfinite(ours)
    assert np.abs(ours[fin] - theirs[fin]).max() <= 1.0
    return ours


@pytest.mark.shared
def test_futian_graphml_matches_networkx(futian_graphml):
    import osmnx as ox

    net = lc.load_network(futian_graphml, keep="all")
    assert net.crs.to_epsg() == 4547  # Shenzhen: CGCS2000 GK CM 114E
    G = ox.load_graphml(futian_graphml)
    # the same pedestrian filter applied to the raw graph
    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _walkable_attrs(d)]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    compare(net, osmnx_projected(G, net.crs), seed=1)


def _walkable_attrs(d: dict) -> bool:
    hws = d["highway"] if isinstance(d["highway"], list) else [d["highway"]]
    return all(
        is_walkable(
            {"highway": h, **{k: d[k] for k in ("access", "service") if isinstance(d.get(k), str)}}
        )
        for h in hws
    )


@pytest.mark.shared
def test_nanjing_osm_matches_networkx(nanjing_osm):
    net = lc.load_network(nanjing_osm, keep="all")
    assert net.crs.to_epsg() == 4549  # Nanjing, 118.78E: the zone of CM 120E covers 118.5-121.5E
    compare(net, osmnx_projected(osmnx_walk_from_xml(nanjing_osm), net.crs), seed=2)


@pytest.mark.shared
def test_pbf_equals_xml_and_matches_networkx(tmp_path):
    pbf = shared_file("intl/north-bayreuth.osm.pbf")
    xml_gz = shared_file("intl/north-bayreuth.osm.gz")
    a = lc.load_network(pbf, keep="all")
    b = lc.load_network(xml_gz, keep="all")
    assert a.crs.to_epsg() == 32632  # Bavaria: UTM 32N
    assert len(a.edges) == len(b.edges)
    assert a.edges["length_m"].sum() == pytest.approx(b.edges["length_m"].sum(), rel=1e-9)
    xml = tmp_path / "nb.osm"
    with gzip.open(xml_gz, "rb") as s, open(xml, "wb") as d:
        shutil.copyfileobj(s, d)
    compare(a, osmnx_projected(osmnx_walk_from_xml(xml), a.crs), seed=3)


@pytest.mark.shared
def test_liechtenstein_pbf_loads(liechtenstein_pbf):
    net = lc.load_network(liechtenstein_pbf)
    # independent count of walkable ways with pyosmium's own iterator
    n = 0
    for w in osmium.FileProcessor(str(liechtenstein_pbf), osmium.osm.WAY):
        if is_walkable({t.k: t.v for t in w.tags}):
            n += 1
    assert net.components.n_components > 1
    assert net.components.largest_length_share > 0.9
    assert net.edges["osmid"].nunique() <= n
    assert net.edges["osmid"].nunique() > 0.8 * n


def test_online_sources_go_through_osmnx(monkeypatch, tmp_path, local_overpass):
    """Place / polygon / bbox are fetched by OSMnx (Overpass); here OSMnx's download functions are
    replaced by its own reader on a local file, so the path is tested offline."""
    import osmnx as ox

    # what Overpass returns for a walk query: the walkable ways only (OSMnx's reader would merge
    # a footway and a motorway sharing a node into one edge, and refuses clipped files)
    text = FILTER_OSM.read_text(encoding="utf-8")
    walk_ways = (
        '<way id="1">',
        '<way id="2">',
        '<way id="3">',
        '<way id="4">',
        '<way id="5">',
        '<way id="7">',
    )
    unclipped = tmp_path / "walk_only.osm"
    unclipped.write_text(
        "\n".join(
            ln for ln in text.splitlines() if "<way" not in ln or ln.strip().startswith(walk_ways)
        ),
        encoding="utf-8",
    )
    calls = []

    def fake(kind):
        def f(where, **kw):
            calls.append((kind, where, kw["network_type"]))
            return ox.graph_from_xml(unclipped, bidirectional=True, simplify=True, retain_all=True)

        return f

    for kind in ("place", "polygon", "bbox"):
        monkeypatch.setattr(ox, f"graph_from_{kind}", fake(kind))
    offline = lc.load_network(unclipped, keep="all")
    for source in (
        "南湖区, 嘉兴市, 浙江省",
        shapely.box(120.74, 30.74, 120.76, 30.76),
        (120.74, 30.74, 120.76, 30.76),
    ):
        net = lc.load_network(source, keep="all")
        assert net.crs.to_epsg() == 4549
        # OSMnx simplifies and keeps fewer tags, but the walkable length is the same
        assert net.edges["length_m"].sum() == pytest.approx(
            offline.edges["length_m"].sum(), rel=1e-6
        )
    assert [c[0] for c in calls] == ["place", "polygon", "bbox"]
    assert all(c[2] == "walk" for c in calls)

    def boom(where, **kw):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "graph_from_place", boom)
    with pytest.raises(lc.NetworkError, match="Offline, pass an .osm/.osm.pbf file"):
        lc.load_network("嘉兴市")


def test_online_graphs_keep_every_tag_the_walk_filter_reads():
    """A road whose sidewalks are mapped separately (sidewalk:left/right=separate) is dropped
    from a file and from an Overpass/networkx graph alike: the online download keeps those tags."""
    import networkx as nx

    from lifecircle.sources.osm import WALK_FILTER_TAGS, is_walkable
    from lifecircle.sources.overpass import WALK_TAGS_WAY

    assert set(WALK_FILTER_TAGS) <= set(WALK_TAGS_WAY)
    assert {"sidewalk:left", "sidewalk:right", "sidewalk:both"} <= set(WALK_FILTER_TAGS)
    assert not is_walkable({"highway": "primary", "sidewalk:left": "separate"})
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for i, x in enumerate((120.75, 120.751, 120.752)):
        G.add_node(i, x=x, y=30.75)
    G.add_edge(0, 1, highway="residential", length=96.0)
    G.add_edge(1, 2, highway="primary", length=96.0, **{"sidewalk:right": "separate"})
    net = lc.load_network(G, keep="all")
    assert len(net.edges) == 1 and net.edges["highway"].tolist() == ["residential"]
