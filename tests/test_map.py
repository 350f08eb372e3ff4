"""The shortfall map: layers, legend, escaping, basemaps and GCJ-02 shift, offline assets, size,
and the saved page opened in real headless Chromium.

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
import shutil
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

import lifecircle as lc
from _nets import CRS, X0, Y0, build, river_communities, river_facilities, river_with_bridge
from conftest import FIXTURES, need
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
        "建议选址 (5)",
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
    assert c1["s"] == [1, 2, 3]
    # per category: nearest distance, nearest facility (escaped), meets, short of capacity
    assert c1["d"] == [
        ["65", "卫生服务中心", 1, 0],
        ["", "", 0, 0],  # no health station anywhere: the page says 步行可达范围内无
        ["735", "&lt;img src=x onerror=alert(2)&gt;", 0, 1],  # nursery over the bridge
        ["", "", 0, 0],
    ]
    c2 = props["O&#x27;Brien &amp; 张三"]
    assert c2["d"][2][2:] == [0, 1]  # nursery places short in C2
    meta = data.meta
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
        "达标",
    ]
    assert meta["none"] == "步行可达范围内无" and meta["cap"] == "供给不足"
    fac = features(layers_of(m, "facilities")[2])[0]["properties"]
    assert fac == {"n": "&lt;img src=x onerror=alert(2)&gt;", "id": "F_n", "c": "2"}


def test_english_labels(case):
    m = case.map(basemap="none", lang="en")
    names = layer_names(m)
    assert names[0] == "Community service index"
    assert "Shortfall: Nursery (2)" in names and "Facilities: Community health centre (1)" in names
    assert names[-1] == "Proposed sites (5)"
    meta = layers_of(m, "communities")[0].data.meta
    assert meta["L"] == [
        "Population",
        "Service index",
        "Shortfalls",
        "Category",
        "Nearest (m)",
        "Threshold (m)",
        "Meets standard",
    ]
    assert meta["n"][2] == "Nursery" and meta["none"] == "none reachable"
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
def synthetic_city(n_comm: int, seed: int = 0, profile=None):
    """``n_comm`` Voronoi communities (~10 ha each) with detailed, curving boundaries (a vertex
    every 10 m) on a 100 m street grid; half as many facilities as communities."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n_comm) * 320)  # ~10 ha per community
    k = int(side // 100) + 1
    xy = [(j * 100.0, i * 100.0) for i in range(k) for j in range(k)]
    pairs = [(i * k + j, i * k + j + 1) for i in range(k) for j in range(k - 1)]
    pairs += [(i * k + j, (i + 1) * k + j) for i in range(k - 1) for j in range(k)]
    net = build(xy, pairs)
    seeds = rng.uniform(0, side, size=(n_comm, 2)) + [X0, Y0]
    frame = shapely.box(X0, Y0, X0 + side, Y0 + side)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    cells = shapely.segmentize(cells, 10.0)
    # boundaries that curve like streets and rivers (±10 m over ~250 m) with 1-2 m survey noise;
    # a function of position, so rings stay closed and neighbours share their boundary
    cells = shapely.transform(
        cells, lambda c: c + 10.0 * np.sin(c[:, ::-1] / 40.0) + 1.5 * np.sin(c[:, ::-1] / 7.0)
    )
    cells = shapely.make_valid(cells)
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {
                "社区代码": [f"330402{i // 20:03d}{i % 20 + 1:03d}" for i in range(len(cells))],
                "社区名称": [f"社区{i}" for i in range(len(cells))],
                "街道": [f"街道{i // 20}" for i in range(len(cells))],
                "区县": "南湖区",
                "常住人口": rng.integers(1000, 9000, len(cells)),
            },
            geometry=cells,
            crs=CRS,
        )
    )
    profile = profile or _profile()
    n_fac = n_comm // 2
    fac = gpd.GeoDataFrame(
        {
            "category": rng.choice(list(profile.categories), n_fac),
            "name": [f"设施{i}" for i in range(n_fac)],
        },
        geometry=shapely.points(rng.uniform(0, side, size=(n_fac, 2)) + [X0, Y0]),
        crs=CRS,
        index=pd.Index([f"F{i:05d}" for i in range(n_fac)], name="facility_id"),
    )
    return analyze(net, fac, comm, profile)


@pytest.mark.slow
def test_html_size_of_a_1000_community_city(tmp_path):
    a = synthetic_city(1000)
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
    assert drawn < raw / 3
    assert size < 1_200_000  # measured 0.85 MB, see docs/map.md


# ---------------------------------------------------------------------- the page in a real browser
def _chromium():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    need(Path(chromium).exists(), "Chromium not installed (Debian package 'chromium')")
    need(Path(driver).exists(), "chromedriver not installed (Debian package 'chromium-driver')")
    return chromium, driver


@pytest.fixture
def browser(tmp_path):
    chromium, driver_path = _chromium()
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tmp_path / "chrome-profile"
    profile.mkdir()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _open(drv, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get_log("browser")
    drv.get_log("performance")  # drop what the start page logged
    drv.get(path.as_uri())
    WebDriverWait(drv, 30).until(
        lambda d: d.execute_script(
            "return typeof L !== 'undefined' && document.querySelectorAll("
            "'.leaflet-control-layers-overlays label').length > 0"
        )
    )


def _requests(drv) -> list[str]:
    urls = []
    for e in drv.get_log("performance"):
        msg = json.loads(e["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


@pytest.mark.browser
def test_offline_map_in_headless_chromium(case, browser, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException

    iso = _iso_frame(case)
    path = save_map(
        case.map(basemap="none", isochrones=iso), tmp_path / "offline.html", offline=True
    )
    _open(browser, path)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(l => l.textContent.trim())"
    )
    assert labels[0] == "社区设施服务指数" and "短板：托育 & <托儿所> (2)" in labels
    assert "步行等时圈（5/10/15分钟）" in labels and labels[-1] == "建议选址 (5)"
    # 2 communities + 6 isochrones as SVG paths; 2 facilities + 5 sites as markers
    n_paths = browser.execute_script(
        "return document.querySelectorAll('.leaflet-pane path').length"
    )
    n_markers = browser.execute_script(
        "return document.querySelectorAll('.leaflet-marker-icon').length"
    )
    assert (n_paths, n_markers) == (8, 7)
    assert browser.execute_script(
        "return document.querySelector('.lc-legend').textContent"
    ).startswith("图例")
    # switch a shortfall layer on: two more (dashed) paths
    browser.execute_script(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".find(l => l.textContent.includes('短板：托育')).querySelector('input').click()"
    )
    assert (
        browser.execute_script("return document.querySelectorAll('.leaflet-pane path').length")
        == 10
    )
    # the hostile names are shown as text, never run
    text = browser.execute_script("""
        var out = [];
        map = Object.values(window).find(v => v instanceof L.Map);
        map.eachLayer(function (l) { if (l.feature && l.getPopup && l.getPopup()) {
            l.openPopup(); var c = l.getPopup().getElement().querySelector('.leaflet-popup-content');
            out.push([c.textContent, c.querySelectorAll('script,img').length]); l.closePopup(); } });
        return out;""")
    joined = " ".join(t for t, _ in text)
    assert SCRIPT in joined and OBRIEN in joined and IMG in joined
    assert all(n == 0 for _, n in text)
    # the popup of C1, as a planner reads it
    c1s = [t for t, _ in text if t.startswith(SCRIPT)]
    assert len(c1s) == 2 and c1s[0] == c1s[1]  # index layer and the nursery shortfall layer
    c1 = c1s[0]
    assert "南湖区 · 建设街道" in c1 and "常住人口1,000" in c1 and "设施服务指数16.7" in c1
    assert f"● 托育 & <托儿所>735{IMG}300✗供给不足" in c1
    assert (
        "● 社区卫生服务站步行可达范围内无300✗" in c1
        and "● 社区卫生服务中心65卫生服务中心1,000✓" in c1
    )
    tips = browser.execute_script("""
        var out = []; map.eachLayer(function (l) { if (l.feature && l.getTooltip && l.getTooltip()) {
            l.openTooltip(); out.push(l.getTooltip().getElement().textContent); l.closeTooltip(); } });
        return out;""")
    assert f"{SCRIPT} · 设施服务指数 16.7 · 短板数 3" in tips and f"{IMG} · 托育 & <托儿所>" in tips
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
    # no network at all: only the file itself and data: URIs
    urls = [u for u in _requests(browser) if not u.startswith(("chrome:", "chrome-"))]
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
    shot = tmp_path / "offline.png"
    assert browser.save_screenshot(str(shot))
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.browser
def test_offline_map_with_osm_tiles_requests_only_tiles(case, browser, tmp_path):
    """With a basemap, the only requests an offline page makes are tiles (which fail here: no
    network); those failures are the only console errors, and the data layers still render."""
    path = save_map(case.map(basemap="osm"), tmp_path / "osm.html", offline=True)
    _open(browser, path)
    time.sleep(1.0)
    urls = [
        u for u in _requests(browser) if not u.startswith(("chrome:", "chrome-", "file:", "data:"))
    ]
    assert urls and all(u.startswith("https://tile.openstreetmap.org/") for u in urls), urls
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("tile.openstreetmap.org" in e["message"] for e in errors), errors
    assert (
        browser.execute_script(
            "return document.querySelectorAll('.leaflet-overlay-pane path').length"
        )
        == 2
    )
    assert browser.save_screenshot(str(tmp_path / "osm.png"))
