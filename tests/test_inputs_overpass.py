"""Online OSM in one place (sources.overpass): a machine without internet gets a clear error in
seconds, not a minute of silence; osmnx.settings are never left changed. Offline: OSMnx's
download functions are replaced by its own XML reader, the endpoint is a local port."""

from __future__ import annotations

import socket
import time

import networkx as nx
import pytest
import shapely

import lifecircle as lc
from conftest import FIXTURES
from lifecircle import settings
from lifecircle.sources.overpass import (
    WALK_TAGS_WAY,
    check_reachable,
    download_walk_graph,
    features_from_overpass,
    osmnx_settings,
)

TINY_OSM = FIXTURES / "jx_tiny_pois.osm"
#: Two footways meeting at node 2: what Overpass would return for a walk query here.
WALK_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" version="1" lat="30.7500" lon="120.7500"/>
  <node id="2" version="1" lat="30.7500" lon="120.7510"/>
  <node id="3" version="1" lat="30.7510" lon="120.7510"/>
  <way id="1" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
  <way id="2" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
</osm>
"""
PROFILE = FIXTURES / "profile_facilities.toml"
NO_HOST = "no connection to Overpass ({}); load an .osm.pbf file instead (see README)"


@pytest.fixture()
def closed_url():
    """An endpoint on a local port nobody listens on: connections are refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/api"


@pytest.fixture()
def open_url():
    """An endpoint on a local port that accepts connections."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/api"
    srv.close()


def _osmnx_state():
    import osmnx as ox

    return (
        ox.settings.overpass_url,
        ox.settings.requests_timeout,
        list(ox.settings.useful_tags_way),
    )


def test_unreachable_endpoint_fails_fast_with_the_fix(closed_url):
    t0 = time.perf_counter()
    with pytest.raises(lc.InputError) as exc:
        check_reachable(closed_url)
    assert time.perf_counter() - t0 < 2.0
    assert NO_HOST.format(closed_url) in str(exc.value)
    with pytest.raises(lc.NetworkError, match="no connection to Overpass"):
        check_reachable(closed_url, error=lc.NetworkError)


def test_a_silent_host_gives_up_after_the_timeout():
    """A TEST-NET address (RFC 5737) is never answered: the check gives up after its timeout."""
    url = "http://192.0.2.1:81/api"
    t0 = time.perf_counter()
    with pytest.raises(
        lc.InputError, match=r"no connection to Overpass \(http://192.0.2.1:81/api\)"
    ):
        check_reachable(url, timeout_s=0.5)
    assert time.perf_counter() - t0 < 1.5


def test_the_check_goes_through_a_configured_proxy(monkeypatch, open_url, closed_url):
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("https_proxy", open_url.removesuffix("/api"))
    check_reachable("https://overpass.example.invalid/api")  # the proxy answers
    monkeypatch.setenv("https_proxy", closed_url.removesuffix("/api"))
    with pytest.raises(lc.InputError, match="overpass.example.invalid"):
        check_reachable("https://overpass.example.invalid/api")


def test_facilities_offline_place_fails_fast_without_calling_osmnx(monkeypatch, closed_url):
    import osmnx as ox

    calls = []
    monkeypatch.setattr(ox, "features_from_place", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(settings, "overpass_url", closed_url)
    before = _osmnx_state()
    t0 = time.perf_counter()
    for source in ("南湖区, 嘉兴市", (120.7, 30.7, 120.8, 30.8)):
        with pytest.raises(lc.InputError) as exc:
            lc.facilities_from_osm(source, PROFILE)
        assert NO_HOST.format(closed_url) in str(exc.value)
    assert time.perf_counter() - t0 < 4.0
    assert calls == [] and _osmnx_state() == before


def test_features_download_sets_osmnx_settings_only_for_the_call(monkeypatch, open_url):
    import osmnx as ox

    seen = {}

    def fake(bbox, tags):
        seen["inside"] = _osmnx_state()[:2]
        seen["bbox"] = bbox
        return ox.features_from_xml(TINY_OSM, tags=tags)

    monkeypatch.setattr(ox, "features_from_bbox", fake)
    before = _osmnx_state()
    feats = features_from_overpass(
        [120.7, 30.7, 120.8, 30.8], {"amenity": True}, open_url, timeout_s=33
    )
    assert seen == {"inside": (open_url, 33), "bbox": (120.7, 30.7, 120.8, 30.8)}
    assert _osmnx_state() == before
    assert set(feats["amenity"].dropna()) >= {"kindergarten", "pharmacy", "clinic"}
    # OSMnx finding nothing is an empty frame, not an error
    empty = type("InsufficientResponseError", (Exception,), {})

    def nothing(bbox, tags):
        raise empty("no data")

    monkeypatch.setattr(ox, "features_from_bbox", nothing)
    assert len(features_from_overpass((1, 2, 3, 4), {"amenity": True}, open_url, 10)) == 0
    assert _osmnx_state() == before


def test_walk_graph_download_uses_osmnx_walk_query_and_restores_settings(
    monkeypatch, open_url, tmp_path
):
    import osmnx as ox

    walk = tmp_path / "walk.osm"
    walk.write_text(WALK_XML, encoding="utf-8")

    seen = []

    def fake(kind):
        def f(where, **kw):
            url, timeout, tags = _osmnx_state()
            seen.append((kind, where, kw, url, timeout, tags))
            return ox.graph_from_xml(walk, bidirectional=True, simplify=False, retain_all=True)

        return f

    for kind in ("place", "polygon", "bbox"):
        monkeypatch.setattr(ox, f"graph_from_{kind}", fake(kind))
    before = _osmnx_state()
    poly = shapely.box(120.74, 30.74, 120.76, 30.76)
    for source in ("南湖区, 嘉兴市", poly, (120.74, 30.74, 120.76, 30.76)):
        g = download_walk_graph(source, open_url, timeout_s=77)
        assert isinstance(g, nx.MultiDiGraph) and g.number_of_edges() == 4
    assert [s[0] for s in seen] == ["place", "polygon", "bbox"]
    for _, _, kw, url, timeout, tags in seen:
        assert kw == {"network_type": "walk", "simplify": True, "retain_all": True}
        assert (url, timeout) == (open_url, 77)
        assert set(WALK_TAGS_WAY) <= set(tags)
        assert tags[: len(before[2])] == before[2]  # OSMnx's own tags first, ours added
    assert _osmnx_state() == before

    def boom(where, **kw):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "graph_from_place", boom)
    with pytest.raises(lc.NetworkError, match="Offline, pass an .osm/.osm.pbf file"):
        download_walk_graph("嘉兴市", open_url, 10)
    assert _osmnx_state() == before
    with pytest.raises(lc.NetworkError, match="unsupported network source 42"):
        download_walk_graph(42, open_url, 10)


def test_walk_graph_offline_fails_fast(closed_url):
    t0 = time.perf_counter()
    with pytest.raises(lc.NetworkError) as exc:
        download_walk_graph("嘉兴市", closed_url, 180)
    assert NO_HOST.format(closed_url) in str(exc.value)
    assert time.perf_counter() - t0 < 2.0


def test_osmnx_settings_are_restored_after_an_error():
    import osmnx as ox

    before = _osmnx_state()
    with pytest.raises(RuntimeError), osmnx_settings(overpass_url="http://x", requests_timeout=1):
        assert ox.settings.overpass_url == "http://x"
        raise RuntimeError
    assert _osmnx_state() == before
