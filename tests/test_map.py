"""The shortfall map: layers, legend, escaping, basemaps and GCJ-02 shift, offline assets, size.
What the map says about data gaps, shortfall reasons, glyphs and sites is in
``test_map_results.py``; the saved page in real headless Chromium in ``test_map_browser.py``.

The analysis is the hand-built ``river_with_bridge`` case of ``test_analysis.py`` (two communities,
a health centre and a nursery), with hostile names: a community called
``<script>alert(1)</script>``, one called ``O'Brien & 张三``, a facility called
``<img src=x onerror=alert(2)>`` and a category whose name contains ``& <…>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

import lifecircle as lc
from _nets import river_communities, river_facilities, river_with_bridge
from conftest import FIXTURES
from lifecircle.analysis import analyze
from lifecircle.outputs import map as mapping
from lifecircle.outputs.map import _GeoLayer, _Legend, save_map

SCRIPT = "<script>alert(1)</script>"
OBRIEN = "O'Brien & 张三"
IMG = "<img src=x onerror=alert(2)>"
NURSERY_ZH = "托育 & <托儿所>"


def _profile():
    """test_analysis.py's four categories; the nursery is called NURSERY_ZH."""
    p = lc.load_profile(FIXTURES / "profile_map.toml")
    assert p.categories["nursery"].name_zh == NURSERY_ZH
    return p


@pytest.fixture(scope="module")
def case():
    comm = lc.load_communities(river_communities((SCRIPT, OBRIEN)))
    fac = river_facilities(IMG)
    # a toy world whose lists are complete: no health station or day care is a real absence
    a = analyze(river_with_bridge(), fac, comm, _profile(), complete_categories=True)
    a.propose_sites()
    return a


@pytest.fixture(scope="module")
def html_zh(case):
    return case.map(basemap="none", offline=False).get_root().render()


def layer_names(m: folium.Map) -> list[str]:
    return [ch.layer_name for ch in m._children.values() if isinstance(ch, folium.FeatureGroup)]


def layers_of(m: folium.Map, kind: str) -> list[_GeoLayer]:
    return [
        g
        for fg in m._children.values()
        if isinstance(fg, folium.FeatureGroup)
        for g in fg._children.values()
        if isinstance(g, _GeoLayer) and g.kind == kind
    ]


def features(layer: _GeoLayer) -> list[dict]:
    return json.loads(layer.data.text)["features"]


def sentence(meta: dict, packed) -> str:
    """A sentence of a community's popup as the page puts it together (``lcText``): a template
    of ``meta["T"]`` with its numbers and ids put back, or the text itself."""
    if isinstance(packed, str):
        return packed
    parts = meta["T"][packed[0]].split("\x01")
    return parts[0] + "".join(v + t for v, t in zip(packed[1:], parts[1:], strict=True))


def community_xy(m: folium.Map) -> dict[str, tuple[float, float]]:
    """Point community (C1) and the first vertex of C2, as drawn."""
    feats = features(layers_of(m, "communities")[0])
    return {
        f["geometry"]["type"]: tuple(
            shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))[0]
        )
        for f in feats
    }


# ---------------------------------------------------------------------- layers, legend, text
def test_analysis_map_returns_folium_map_with_layer_control(case):
    m = case.map(basemap="none")
    assert isinstance(m, folium.Map)
    assert any(isinstance(ch, folium.LayerControl) for ch in m._children.values())
    nursery = "托育 &amp; &lt;托儿所&gt;"  # category names are escaped too
    assert layer_names(m) == [
        "社区设施服务指数",
        "短板：社区卫生服务中心 (0)",
        "短板：社区卫生服务站 (2)",
        f"短板：{nursery} (2)",
        "短板：老年人日间照料中心 (2)",
        "设施：社区卫生服务中心 (1)",
        "设施：社区卫生服务站 (0)",
        f"设施：{nursery} (1)",
        "设施：老年人日间照料中心 (0)",
        "建议选址 (2)",  # five sites at two spots: S1 (three categories), S2 (two)
    ]
    # the shortfall layers filter the shared community data by category position
    short = layers_of(m, "shortfall")
    assert all(s.data is layers_of(m, "communities")[0].data for s in short)
    feats = features(layers_of(m, "communities")[0])
    assert sorted(tuple(f["properties"]["s"]) for f in feats) == [(1, 2, 3), (1, 2, 3)]
    # Jupyter shows it inline (an iframe with the page in srcdoc)
    assert "srcdoc=" in m._repr_html_()


def test_legend_classes_categories_and_provenance(case):
    m = case.map(basemap="none")
    (legend,) = [ch for ch in m._children.values() if isinstance(ch, _Legend)]
    h = legend.html
    assert "设施服务指数（0–100）" in h
    for lab, col in zip(
        ["0–20", "20–40", "40–60", "60–80", "80–100"], mapping.INDEX_COLORS, strict=True
    ):
        assert f'background:{col}"></i>{lab}' in h
    assert "托育 &amp; &lt;托儿所&gt;" in h and "建议选址" in h
    assert case.run_id in h and "test-map" in h


def test_index_classes():
    k = mapping.index_class([0, 19.9, 20, 59.99, 80, 100, np.nan])
    assert k.tolist() == [0, 0, 1, 2, 4, 4, 5]


def test_user_strings_are_escaped(html_zh):
    h = html_zh
    assert SCRIPT not in h and IMG not in h and "O'Brien" not in h and "<托儿所>" not in h
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    assert "O&#x27;Brien &amp; 张三" in h
    assert "&lt;img src=x onerror=alert(2)&gt;" in h
    # nothing in the embedded data can close the <script> element
    assert h.count("</script>") == h.count("<script")


def test_popup_data_tells_what_is_missing_and_how_far(case):
    m = case.map(basemap="none")
    data = layers_of(m, "communities")[0].data
    props = {
        f["properties"]["n"]: f["properties"] for f in features(layers_of(m, "communities")[0])
    }
    c1 = props["&lt;script&gt;alert(1)&lt;/script&gt;"]
    assert c1["a"] == "南湖区 · 建设街道" and c1["pop"] == "1,000" and c1["i"] == "16.7"
    assert c1["s"] == [1, 2, 3] and c1["g"] == []
    # per category: nearest distance, nearest facility (escaped), 1 meets / 0 short and, for a
    # shortfall, the analysis' own reason and answer (escaped; checked in test_map_results.py)
    assert c1["d"][0] == ["65", "卫生服务中心", 1]
    assert c1["d"][1][:3] == ["", "", 0]  # no health station anywhere: 步行可达范围内无
    assert c1["d"][2][:3] == ["735", "&lt;img src=x onerror=alert(2)&gt;", 0]  # over the bridge
    meta = data.meta
    why, answer = (sentence(meta, v) for v in c1["d"][2][3:])
    assert why.startswith("5分钟生活圈托育 &amp; &lt;托儿所&gt;: 仅 0% 的居民在 300 m")
    assert "约 1,000 人的份额缺口" in why  # 2 places for 1,900 people: C1 gets none
    assert answer.startswith("本社区的建议选址 S1 可覆盖 (项目 LC-")
    c2 = props["O&#x27;Brien &amp; 张三"]
    why, answer = (sentence(meta, v) for v in c2["d"][2][3:])
    assert c2["d"][2][2] == 0 and "每千名居民 2.2 个托位 (标准至少 4.5)" in why
    assert answer.startswith("本社区内待选址 (项目 LC-")
    assert meta["n"] == [
        "社区卫生服务中心",
        "社区卫生服务站",
        "托育 &amp; &lt;托儿所&gt;",
        "老年人日间照料中心",
    ]
    assert meta["thr"] == ["1,000", "300", "300", "300"]
    assert meta["L"] == [
        "常住人口",
        "设施服务指数",
        "短板数",
        "设施类别",
        "最近距离(米)",
        "标准距离(米)",
    ]
    assert meta["none"] == "步行可达范围内无" and meta["na"] == "无数据，未评估"
    assert meta["h"] == ["", "", "", ""]  # every list is complete here: nothing to add
    fac = features(layers_of(m, "facilities")[2])[0]["properties"]
    assert fac == {"n": "&lt;img src=x onerror=alert(2)&gt;", "id": "F_n", "c": "2"}


def test_english_labels(case):
    m = case.map(basemap="none", lang="en")
    names = layer_names(m)
    assert names[0] == "Community service index"
    assert "Shortfall: Nursery (2)" in names and "Facilities: Community health centre (1)" in names
    assert names[-1] == "Proposed sites (2)"
    meta = layers_of(m, "communities")[0].data.meta
    assert meta["L"] == [
        "Population",
        "Service index",
        "Shortfalls",
        "Category",
        "Nearest (m)",
        "Threshold (m)",
    ]
    assert meta["n"][2] == "Nursery" and meta["none"] == "none reachable"
    c1 = features(layers_of(m, "communities")[0])[0]["properties"]
    why, answer = (sentence(meta, v) for v in c1["d"][2][3:])
    assert why.startswith("5-min life circle nursery: only 0% of residents live within")
    assert answer.startswith("covered by proposed site S1 in &lt;script&gt;")
    (legend,) = [ch for ch in m._children.values() if isinstance(ch, _Legend)]
    assert "Service index (0–100)" in legend.html


def test_language_from_settings(case, monkeypatch):
    monkeypatch.setattr(lc.settings, "language", "en")
    assert layer_names(case.map(basemap="none"))[0] == "Community service index"
    with pytest.raises(lc.InputError, match="lang"):
        case.map(lang="fr")


def test_same_analysis_same_html(case):
    a = case.map(basemap="none").get_root().render()
    b = case.map(basemap="none").get_root().render()
    assert a == b


def test_categories_subset_and_unknown(case):
    m = case.map(basemap="none", categories=["nursery"])
    assert layer_names(m)[1:3] == [
        "短板：托育 &amp; &lt;托儿所&gt; (2)",
        "设施：托育 &amp; &lt;托儿所&gt; (1)",
    ]
    assert layer_names(m)[-1] == "建议选址 (1)"
    with pytest.raises(lc.InputError, match="not analysed"):
        case.map(categories=["school"])


def test_scope_by_street_and_county(case):
    m = case.map(basemap="none", street="建设街道")
    assert len(features(layers_of(m, "communities")[0])) == 2
    m = case.map(basemap="none", county="330402")
    assert len(features(layers_of(m, "communities")[0])) == 2
    with pytest.raises(lc.InputError, match="not found"):
        case.map(street="不存在街道")


def test_facility_layers_start_hidden_in_large_maps(case, monkeypatch):
    shown = {
        fg.layer_name: fg.show
        for fg in case.map(basemap="none")._children.values()
        if isinstance(fg, folium.FeatureGroup)
    }
    assert (
        shown["设施：社区卫生服务中心 (1)"]
        and shown["社区设施服务指数"]
        and not shown["短板：社区卫生服务站 (2)"]
    )
    monkeypatch.setattr(mapping, "SHOW_FACILITIES_MAX", 1)
    shown = {
        fg.layer_name: fg.show
        for fg in case.map(basemap="none")._children.values()
        if isinstance(fg, folium.FeatureGroup)
    }
    assert not shown["设施：社区卫生服务中心 (1)"] and shown["社区设施服务指数"]


def test_max_features_caps_layers_and_says_so(case, caplog):
    with caplog.at_level(logging.WARNING, logger="lifecircle.outputs.map"):
        m = case.map(basemap="none", max_features=1)
    assert layer_names(m)[0] == "社区设施服务指数（显示 1 / 共 2）"
    (f,) = features(layers_of(m, "communities")[0])
    assert f["properties"]["k"] == 0  # the lowest index is kept
    assert "only the 1 with the lowest index" in caplog.text


# ---------------------------------------------------------------------- basemaps
def test_osm_default_and_none(case):
    h = case.map().get_root().render()
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in h and "OpenStreetMap" in h
    assert "tile.openstreetmap.org" not in case.map(basemap="none").get_root().render()
    with pytest.raises(lc.InputError, match="basemap"):
        case.map(basemap="google")


def test_amap_shifts_overlays_to_gcj02(case):
    plain = community_xy(case.map(basemap="none"))
    amap_map = case.map(basemap="amap")
    shifted = community_xy(amap_map)
    geod = Geod(ellps="WGS84")
    for t in ("Point", "Polygon"):
        (x0, y0), (x1, y1) = plain[t], shifted[t]
        _, _, d = geod.inv(x0, y0, x1, y1)
        assert 470 <= d <= 510, (t, d)  # the GCJ-02 offset in Jiaxing (~490 m)
    # the same shift as lifecircle.coords, to the 5 decimals written
    gx, gy = lc.coords.wgs84_to_gcj02(*plain["Point"])
    assert shifted["Point"] == pytest.approx((float(gx), float(gy)), abs=1e-5)
    # facilities and sites move too
    fac = features(layers_of(amap_map, "facilities")[0])[0]["geometry"]["coordinates"]
    fac0 = features(layers_of(case.map(basemap="none"), "facilities")[0])[0]["geometry"][
        "coordinates"
    ]
    assert geod.inv(*fac0, *fac)[2] == pytest.approx(d, abs=20)
    h = amap_map.get_root().render()
    assert "webrd0{s}.is.autonavi.com" in h and "GCJ-02" in h


def test_tianditu_needs_a_key(case, monkeypatch):
    monkeypatch.delenv("LIFECIRCLE_TIANDITU_KEY", raising=False)
    with pytest.raises(lc.InputError, match="tianditu_key") as e:
        case.map(basemap="tianditu")
    assert "console.tianditu.gov.cn" in str(e.value)
    with pytest.raises(lc.InputError, match="letters and digits"):
        case.map(basemap="tianditu", tianditu_key='abc"><script>')
    h = case.map(basemap="tianditu", tianditu_key="0123abcd").get_root().render()
    assert "tianditu.gov.cn/DataServer?T=vec_w" in h and "T=cva_w" in h and "tk=0123abcd" in h
    monkeypatch.setenv("LIFECIRCLE_TIANDITU_KEY", "feedbeef")
    h = case.map(basemap="tianditu", lang="en").get_root().render()
    assert "tk=feedbeef" in h and "T=eva_w" in h  # English labels
    # Tianditu is CGCS2000 ≈ WGS84: no shift
    assert (
        community_xy(case.map(basemap="tianditu"))["Point"]
        == community_xy(case.map(basemap="none"))["Point"]
    )


# ---------------------------------------------------------------------- assets
def _asset_sri(rel: str) -> str:
    data = (Path(mapping.__file__).parent / "static" / rel).read_bytes()
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_online_loads_only_pinned_leaflet(html_zh):
    srcs = re.findall(r'<script[^>]+src="([^"]+)"', html_zh)
    hrefs = re.findall(r'<link[^>]+href="([^"]+)"', html_zh)
    assert srcs == ["https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"]
    assert hrefs == ["https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"]
    assert f'integrity="{_asset_sri("leaflet/leaflet.js")}"' in html_zh
    assert f'integrity="{_asset_sri("leaflet/leaflet.css")}"' in html_zh
    for dropped in ("jquery", "bootstrap", "fontawesome", "awesome-markers", "glyphicons"):
        assert dropped not in html_zh


def test_offline_inlines_leaflet(case, tmp_path):
    m = case.map(basemap="none", offline=True)
    h = m.get_root().render()
    assert not re.search(r"<script[^>]+src=", h) and not re.search(r"<link[^>]+href=", h)
    assert 't.version="1.9.4"' in h  # Leaflet inlined
    assert "url(images/" not in h and "sourceMappingURL" not in h
    assert not re.search(
        r"https?://(?!www\.openstreetmap\.org|leafletjs\.com)", h.split("</head>")[1]
    )
    # save_map(offline=True) turns an online map offline too, atomically
    out = save_map(case.map(basemap="none"), tmp_path / "m.html", offline=True)
    assert out == tmp_path / "m.html" and "L.Icon.Default.imagePath=''" in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_vendored_assets_small_and_documented():
    static = Path(mapping.__file__).parent / "static"
    total = sum(p.stat().st_size for p in static.rglob("*") if p.is_file())
    assert total < 1_500_000
    readme = (static / "README.md").read_text()
    for p in static.rglob("*"):
        if p.is_file() and p.name != "README.md" and p.suffix != ".png" and p.name != "LICENSE":
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            assert digest in readme, p
    assert (static / "leaflet" / "LICENSE").read_text().startswith("BSD 2-Clause")


def test_offline_plain_folium_map_warns_about_other_assets(tmp_path, caplog):
    m = folium.Map(location=[30.75, 120.75], tiles=None)
    with caplog.at_level(logging.WARNING, logger="lifecircle.outputs.map"):
        save_map(m, tmp_path / "plain.html", offline=True)
    h = (tmp_path / "plain.html").read_text()
    assert "leaflet@" not in h and "L.Icon.Default" in h
    assert "jquery" in caplog.text  # folium's own extras cannot be inlined, and we say so


# ---------------------------------------------------------------------- isochrones, covered areas
def _iso_frame(case) -> gpd.GeoDataFrame:
    pts = case.communities.set_index("community_id").geometry.representative_point()
    rows, geoms = [], []
    for cid, p in pts.items():
        for wm, dm in ((5, 300), (10, 500), (15, 1000)):
            rows.append({"origin": cid, "walk_min": wm, "distance_m": dm})
            geoms.append(p.buffer(dm * 0.8, quad_segs=32))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=case.communities.crs).to_crs(4326)


def test_precomputed_isochrones_and_covered(case):
    iso = _iso_frame(case)
    fac = case.facilities
    cov = gpd.GeoDataFrame(
        {"category": fac["category"].tolist(), "distance_m": [1000.0, 300.0]},
        geometry=fac.geometry.buffer(200).tolist(),
        crs=fac.crs,
    )
    m = case.map(basemap="none", isochrones=iso, covered=cov)
    names = layer_names(m)
    assert "步行等时圈（5/10/15分钟）" in names
    assert "覆盖范围：社区卫生服务中心" in names and "覆盖范围：托育 &amp; &lt;托儿所&gt;" in names
    (lay,) = layers_of(m, "isochrones")
    feats = features(lay)
    assert len(feats) == 6
    assert [f["properties"]["r"] for f in feats] == [
        2,
        2,
        1,
        1,
        0,
        0,
    ]  # 15 min drawn first, 5 min on top
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in feats[0]["properties"]["t"]
    # simplified (5 m) and rounded (5 decimals): far fewer vertices than the 129 of each buffer
    n_vertices = [len(f["geometry"]["coordinates"][0]) for f in feats]
    assert max(n_vertices) < 60
    coords = np.array(feats[0]["geometry"]["coordinates"][0])
    assert np.allclose(coords, np.round(coords, 5), atol=0, rtol=0)
    assert len(layers_of(m, "covered")) == 2 and all(
        c.pane == "lc-cov" for c in layers_of(m, "covered")
    )
    (legend,) = [ch for ch in m._children.values() if isinstance(ch, _Legend)]
    assert "5分钟 · 300 m" in legend.html


def test_isochrones_need_a_level_column(case):
    iso = _iso_frame(case).drop(columns=["walk_min", "distance_m"])
    with pytest.raises(lc.InputError, match="distance_m"):
        case.map(isochrones=iso)
    with pytest.raises(lc.InputError, match="no CRS"):
        case.map(isochrones=_iso_frame(case).set_crs(None, allow_override=True))


def test_computing_isochrones_without_the_module_is_a_clear_error(case, monkeypatch):
    for method in ("isochrones", "covered_areas"):  # as before the isochrone issue landed
        monkeypatch.delattr(lc.Analysis, method, raising=False)
    with pytest.raises(lc.InputError, match="precomputed isochrones"):
        case.map(communities=["330402001001"])
    with pytest.raises(lc.InputError, match="precomputed"):
        case.map(covered=True)


def test_unknown_isochrone_community_and_both_sources(case):
    with pytest.raises(lc.InputError, match="not in the analysis"):
        case.map(communities=["nope"])
    with pytest.raises(lc.InputError, match="not both"):
        case.map(communities=["330402001001"], isochrones=_iso_frame(case))


def test_computed_isochrones_and_covered(case):
    if not hasattr(lc.Analysis, "isochrones"):
        pytest.skip("Analysis.isochrones (the isochrone issue) not merged yet")
    expected = case.isochrones(communities=["330402001001"])
    m = case.map(basemap="none", communities=["330402001001"], covered=True)
    names = layer_names(m)
    levels = "/".join(f"{v:g}" for v in sorted(expected["walk_min"].unique()))
    assert f"步行等时圈（{levels}分钟）" in names
    (lay,) = layers_of(m, "isochrones")
    assert len(features(lay)) == len(expected)
    covered = [n for n in names if n.startswith("覆盖范围：")]
    assert covered == ["覆盖范围：社区卫生服务中心", "覆盖范围：托育 &amp; &lt;托儿所&gt;"]


# ---------------------------------------------------------------------- size
#: The 1,000-community city's offline map measured 1.42 MB (docs/map.md): 0.99 MB of geometry and
#: page before the popups carried the analysis' sentences, then 7,317 shortfalls with their
#: reasons and answers (packed: about 60 bytes each).
SIZE_1000_MAX = 1_800_000


def synthetic_analysis(n_comm: int, profile: str = "jiaxing-yilao-yixiao", **kwargs):
    """The analysis of ``lifecircle.synthetic.city(n_comm, profile)`` (seed 0): the city of the
    size numbers in docs/map.md and of benchmarks/bench_map.py."""
    prof = lc.load_profile(profile)
    c = lc.synthetic.city(n_comm, prof)
    return analyze(c.network, c.facilities, c.communities, prof, **kwargs)


def test_same_seed_same_city_same_map():
    """The size numbers hold for anyone: lifecircle.synthetic.city is the same city for the same
    seed (and another for another seed), so its map is the same page."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    a, b, c = (lc.synthetic.city(40, prof, seed=s) for s in (0, 0, 1))
    assert a.communities.geometry.geom_equals_exact(b.communities.geometry, 0).all()
    assert a.facilities.equals(b.facilities) and not a.facilities.equals(c.facilities)
    pages = [
        analyze(x.network, x.facilities, x.communities, prof).map(basemap="none") for x in (a, b)
    ]
    assert features(layers_of(pages[0], "communities")[0]) == features(
        layers_of(pages[1], "communities")[0]
    )


@pytest.mark.slow
def test_html_size_of_a_1000_community_city(tmp_path):
    a = synthetic_analysis(1000)
    t0 = time.perf_counter()
    m = a.map(basemap="none", offline=True)
    out = save_map(m, tmp_path / "city.html")
    secs = time.perf_counter() - t0
    size = out.stat().st_size
    raw = sum(len(shapely.get_coordinates(g)) for g in a.index.geometry)
    drawn = sum(
        len(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
        for f in features(layers_of(m, "communities")[0])
    )
    logging.getLogger(__name__).warning(
        "1,000 communities: %.2f MB in %.1f s; vertices %d -> %d", size / 1e6, secs, raw, drawn
    )
    assert (raw, drawn) == (132_154, 15_801)  # the numbers of docs/map.md: the same city
    assert size < SIZE_1000_MAX
