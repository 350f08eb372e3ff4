"""GCJ-02 / BD-09 conversions, coordinate-system parsing and the offset detector."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod

from conftest import shared_file
from lifecircle import CRSError, InputError
from lifecircle.sources.coords import (
    GCJ_BOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_offset,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_coord_system,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# Public test vectors of the GCJ-02 formula (eviltransform's test suite: Shanghai, Shenzhen,
# Beijing), as (wgs lon, wgs lat, gcj lon, gcj lat).
EVIL_VECTORS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]

lons = st.floats(GCJ_BOX[0], GCJ_BOX[2], allow_nan=False)
lats = st.floats(GCJ_BOX[1], GCJ_BOX[3], allow_nan=False)


# ---------------------------------------------------------------------- formulas
@pytest.mark.parametrize("wlon,wlat,glon,glat", EVIL_VECTORS)
def test_gcj02_forward_matches_published_vectors(wlon, wlat, glon, glat):
    x, y = wgs84_to_gcj02(wlon, wlat)
    assert float(x) == pytest.approx(glon, abs=1e-9)
    assert float(y) == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize("wlon,wlat,glon,glat", EVIL_VECTORS)
def test_gcj02_inverse_recovers_published_vectors(wlon, wlat, glon, glat):
    x, y = gcj02_to_wgs84(glon, glat)
    assert dist_m(x, y, wlon, wlat) < 0.001


@settings(max_examples=500, deadline=None)
@given(lons, lats)
def test_gcj02_round_trip_whole_china_box(lon, lat):
    x, y = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert dist_m(x, y, lon, lat) < 0.5


@settings(max_examples=500, deadline=None)
@given(lons, lats)
def test_bd09_round_trip_whole_china_box(lon, lat):
    x, y = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert dist_m(x, y, lon, lat) < 0.5
    gx, gy = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert dist_m(gx, gy, lon, lat) < 0.5


def test_round_trip_error_on_dense_grid_is_sub_millimetre():
    """Measured maximum over a 400 x 400 grid covering the whole box (reported in the docs)."""
    lon, lat = np.meshgrid(
        np.linspace(GCJ_BOX[0], GCJ_BOX[2], 400), np.linspace(GCJ_BOX[1], GCJ_BOX[3], 400)
    )
    x, y = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert dist_m(x.ravel(), y.ravel(), lon.ravel(), lat.ravel()).max() < 1e-3
    x, y = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert dist_m(x.ravel(), y.ravel(), lon.ravel(), lat.ravel()).max() < 1e-3


def test_inverse_is_not_the_one_step_approximation():
    """The usual one-step inverse (subtract the shift at the GCJ point) is off by metres."""
    from lifecircle.sources.coords import _gcj_delta

    glon, glat = wgs84_to_gcj02(120.755, 30.747)
    dx, dy = _gcj_delta(glon, glat)
    one_step = dist_m(glon - dx, glat - dy, 120.755, 30.747)
    x, y = gcj02_to_wgs84(glon, glat)
    assert one_step > 0.05
    assert dist_m(x, y, 120.755, 30.747) < 1e-4


def test_gcj_offset_at_nanhu_is_486_m():
    # standards.md §10 [C]: Nanhu centre (120.755E, 30.747N) → 486 m; Δlng ≈ +0.0042°,
    # Δlat ≈ -0.0023..-0.0025°
    x, y = wgs84_to_gcj02(120.755, 30.747)
    assert dist_m(120.755, 30.747, x, y) == pytest.approx(486, abs=2)
    assert float(x) - 120.755 == pytest.approx(0.0042, abs=0.0003)
    assert -0.0026 < float(y) - 30.747 < -0.0022


# standards.md §10 [C]: GCJ-02 offsets at the district centres (metres)
JIAXING_CENTRES = {
    "Nanhu": (120.755, 30.747, 486),
    "Pinghu": (121.015, 30.705, 491),
    "Haining": (120.68, 30.51, 489),
    "Tongxiang": (120.565, 30.63, 486),
    "Jiashan": (120.925, 30.83, 478),
}


@pytest.mark.parametrize("name", JIAXING_CENTRES)
def test_offsets_at_jiaxing_centres_match_standards(name):
    lon, lat, gcj_m = JIAXING_CENTRES[name]
    assert dist_m(lon, lat, *wgs84_to_gcj02(lon, lat)) == pytest.approx(gcj_m, abs=1.5)
    # standards.md: WGS84 → BD-09 ≈ 1.09-1.11 km (measured 1091-1115 m at these centres)
    assert 1085 < dist_m(lon, lat, *wgs84_to_bd09(lon, lat)) < 1120


def test_offsets_across_jiaxing():
    lon, lat = np.meshgrid(np.linspace(120.3, 121.3, 101), np.linspace(30.35, 31.05, 71))
    lon, lat = lon.ravel(), lat.ravel()
    gx, gy = wgs84_to_gcj02(lon, lat)
    d_gcj = dist_m(lon, lat, gx, gy)
    assert d_gcj.min() > 470 and d_gcj.max() < 510
    # BD-09 varies more than standards.md's 1.09-1.11 km: its 0.000003·cos(lon·x_pi) rotation
    # term swings ±~40 m with a 0.12° period, giving 1.08-1.16 km over the whole city
    bx, by = wgs84_to_bd09(lon, lat)
    d_bd = dist_m(lon, lat, bx, by)
    assert d_bd.min() > 1070 and d_bd.max() < 1170
    # the BD-09 step alone adds about +0.0065° lon and +0.006° lat
    cx, cy = gcj02_to_bd09(gx, gy)
    assert np.allclose(cx - gx, 0.0065, atol=0.0005) and np.allclose(cy - gy, 0.006, atol=0.0005)


@pytest.mark.parametrize(
    "lon,lat", [(139.767125, 35.681236), (-104.9903, 39.7392), (153.0251, -27.4698), (2.35, 48.85)]
)
def test_outside_china_passes_through(lon, lat):
    for f in (wgs84_to_gcj02, gcj02_to_wgs84):
        x, y = f(lon, lat)
        assert (float(x), float(y)) == (lon, lat)


def test_vectorised_shapes_and_nan():
    lon = np.array([[120.7, 120.8, np.nan], [121.0, 2.35, 120.9]])
    lat = np.array([[30.7, 30.8, 30.0], [30.9, 48.85, np.nan]])
    for f in (
        wgs84_to_gcj02,
        gcj02_to_wgs84,
        gcj02_to_bd09,
        bd09_to_gcj02,
        bd09_to_wgs84,
        wgs84_to_bd09,
    ):
        x, y = f(lon, lat)
        assert x.shape == lon.shape and y.shape == lat.shape
        assert np.isnan(x[0, 2]) and np.isnan(y[1, 2])
        assert np.isfinite(x[0, :2]).all()
    x, y = wgs84_to_gcj02(120.755, 30.747)
    assert x.shape == () and y.shape == ()
    x, y = wgs84_to_gcj02([120.755, 120.8], [30.747, 30.8])
    assert x.shape == (2,)
    # element-wise: converting one by one equals converting all at once
    x1 = [float(gcj02_to_wgs84(a, b)[0]) for a, b in zip(lon.ravel(), lat.ravel(), strict=True)]
    np.testing.assert_allclose(np.array(x1), gcj02_to_wgs84(lon, lat)[0].ravel(), rtol=0, atol=1e-9)
    with pytest.raises(InputError):
        wgs84_to_gcj02([1.0, 2.0], [1.0])


# ---------------------------------------------------------------------- names of systems
@pytest.mark.parametrize(
    "name,expected",
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("gps", "wgs84"),
        ("GPS", "wgs84"),
        ("cgcs2000", "wgs84"),
        ("CGCS2000", "wgs84"),
        ("EPSG:4490", "wgs84"),
        (4490, "wgs84"),
        (4326, "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("国家2000", "wgs84"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("amap", "gcj02"),
        ("gaode", "gcj02"),
        ("高德", "gcj02"),
        ("腾讯", "gcj02"),
        ("火星坐标", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("bd09ll", "bd09"),
        ("baidu", "bd09"),
        ("百度", "bd09"),
    ],
)
def test_parse_coord_system_names(name, expected):
    assert parse_coord_system(name) == expected


def test_parse_coord_system_crs_objects():
    assert parse_coord_system(CRS.from_epsg(4326)) == "wgs84"
    assert parse_coord_system(CRS.from_epsg(4490)) == "wgs84"
    c = parse_coord_system(4549)
    assert isinstance(c, CRS) and c.to_epsg() == 4549
    assert parse_coord_system("EPSG:4549").to_epsg() == 4549
    assert isinstance(parse_coord_system(4214), CRS)  # Beijing 1954: a real datum shift, via PROJ


def test_parse_coord_system_errors_explain():
    with pytest.raises(CRSError, match="gcj02.*Amap.*bd09.*Baidu"):
        parse_coord_system(None)
    with pytest.raises(CRSError, match="unknown coordinate system 'marsgrid'"):
        parse_coord_system("marsgrid")
    with pytest.raises(CRSError, match="bd09ll"):
        parse_coord_system("bd09mc")


def test_to_wgs84_all_systems():
    lon, lat = np.array([120.755, 120.76]), np.array([30.747, 30.75])
    x, y = to_wgs84(lon, lat, "wgs84")
    np.testing.assert_array_equal(x, lon)
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert dist_m(*to_wgs84(gx, gy, "高德"), lon, lat).max() < 0.01
    bx, by = wgs84_to_bd09(lon, lat)
    assert dist_m(*to_wgs84(bx, by, "baidu"), lon, lat).max() < 0.01
    # standards.md §10 [C]: (120.755E, 30.747N) → EPSG:4549 E 572 296 m, N 3 403 168 m
    x, y = to_wgs84(572296.0, 3403168.0, 4549)
    assert dist_m(x, y, 120.755, 30.747) < 1.0


# ---------------------------------------------------------------------- real data
def test_bd09_to_wgs84_on_xian_baidu_pois():
    """Raw Baidu coordinates vs the file's WGS84 geometry (PROVENANCE: BD→GCJ + iterative
    inverse, cross-checked to 1.2 m against the author's own KML)."""
    path = shared_file("cn_xian_pois_bd09/xian_baidu_pois.gpkg")
    gdf = gpd.read_file(path, layer="health")
    x, y = bd09_to_wgs84(gdf["bd09_lng"].to_numpy(), gdf["bd09_lat"].to_numpy())
    d = dist_m(x, y, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
    assert len(d) == 4847
    assert np.median(d) < 2.0
    assert np.percentile(d, 99) < 2.0
    # the raw BD-09 points are about 1.1 km off (PROVENANCE)
    raw = dist_m(gdf["bd09_lng"], gdf["bd09_lat"], gdf.geometry.x, gdf.geometry.y)
    assert 1000 < np.median(raw) < 1200


@pytest.fixture(scope="module")
def jiaxing_districts() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    gcj = gpd.read_file(
        shared_file("jiaxing_admin/districts_gcj02/jiaxing_districts_gcj02.geojson")
    )
    wgs = gpd.read_file(
        shared_file("jiaxing_admin/districts_wgs84/jiaxing_districts_wgs84.geojson")
    )
    return gcj[gcj["level"] == "区县"].reset_index(drop=True), wgs


def _convert(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out["geometry"] = shapely.transform(
        gdf.geometry.values, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1]))
    )
    return out


def test_gcj_district_file_converts_onto_wgs84_districts(jiaxing_districts):
    gcj, wgs = jiaxing_districts
    conv = _convert(gcj)
    m_raw = gcj.merge(wgs, on="adcode", suffixes=("", "_w"))
    m_conv = conv.merge(wgs, on="adcode", suffixes=("", "_w"))
    assert len(m_raw) == 7

    def centroid_gap(m):
        a = shapely.centroid(m.geometry.values)
        b = shapely.centroid(m["geometry_w"].values)
        return dist_m(shapely.get_x(a), shapely.get_y(a), shapely.get_x(b), shapely.get_y(b))

    raw, fixed = centroid_gap(m_raw), centroid_gap(m_conv)
    assert raw.min() > 350 and raw.max() < 510  # unconverted: ~400-500 m apart
    assert (fixed < raw).all()
    # districts whose outline is the same in both sets (area within 0.2%) line up within metres;
    # Nanhu/Xiuzhou (and coastal Haiyan/Haining) have a different boundary version (PROVENANCE)
    utm = CRS.from_epsg(32651)
    a1 = (
        m_conv.set_geometry("geometry")
        .set_crs(4326, allow_override=True)
        .to_crs(utm)
        .area.to_numpy()
    )
    a2 = gpd.GeoSeries(m_conv["geometry_w"], crs=4326).to_crs(utm).area.to_numpy()
    same = np.abs(a1 / a2 - 1) < 0.002
    assert same.sum() >= 3
    assert fixed[same].max() < 5.0


def test_detect_offset_flags_gcj_districts(jiaxing_districts, caplog):
    gcj, wgs = jiaxing_districts
    with caplog.at_level(logging.WARNING, logger="lifecircle.sources.coords"):
        rep = detect_offset(gcj, wgs, on="adcode")
    assert rep.likely == "gcj02" and rep.shifted and rep.mode == "matched"
    assert 350 < rep.median_m["wgs84"] < 510
    assert rep.median_m["gcj02"] < 60
    assert 470 < rep.shift_m < 510
    assert "crs='gcj02'" in caplog.text
    # without a key: outline vertices against the WGS84 outlines
    rep = detect_offset(gcj, wgs, warn=False)
    assert rep.likely == "gcj02" and rep.mode == "nearest"
    assert rep.median_m["gcj02"] < 5.0 < 200 < rep.median_m["wgs84"]
    # converted data: no alarm
    rep = detect_offset(_convert(gcj), wgs)
    assert rep.likely == "wgs84" and not rep.shifted


def test_detect_offset_input_errors(jiaxing_districts):
    gcj, wgs = jiaxing_districts
    with pytest.raises(InputError, match="key column"):
        detect_offset(gcj, wgs, on="nope")
    with pytest.raises(CRSError):
        detect_offset(gcj.to_crs(4549), wgs)
    with pytest.raises(InputError, match="WalkNetwork or a GeoDataFrame"):
        detect_offset(gcj, [1, 2, 3])


def test_load_communities_converts_a_gcj02_boundary_layer(jiaxing_districts, caplog):
    """Community (or district) boundaries drawn on Amap come as a GeoJSON labelled WGS84.
    ``crs="gcj02"`` used to be ignored for layers with geometry: the polygons stayed ~500 m
    off and every resident was counted in the wrong place, without a word. Now every vertex is
    converted, as ``load_facilities`` and ``load_network`` do; without ``crs=`` the layer's own
    label is kept (the data cannot tell)."""
    import lifecircle as lc

    gcj, wgs = jiaxing_districts
    kw = {"id": "adcode", "name": "district", "population": None}
    as_is = lc.load_communities(gcj, **kw)
    with caplog.at_level(logging.INFO, logger="lifecircle"):
        fixed = lc.load_communities(gcj, crs="gcj02", **kw)
    assert "7 geometries converted from gcj02 to WGS84" in caplog.text
    assert fixed.crs.to_epsg() == 4326 and len(fixed) == len(gcj) == 7
    # the same coordinates as converting every vertex by hand, and none left as they were
    by_hand = _convert(gcj)
    assert all(a.equals_exact(b, 1e-12) for a, b in zip(fixed.geometry, by_hand.geometry, strict=True))
    assert shapely.get_num_coordinates(fixed.geometry.values).sum() == shapely.get_num_coordinates(
        gcj.geometry.values).sum()  # fmt: skip
    assert all(a.equals(b) for a, b in zip(as_is.geometry, gcj.geometry, strict=True))
    # against the WGS84 district file: the converted centroids are nearer, each of them
    w = wgs.set_index("adcode").geometry
    ids = fixed["community_id"].to_numpy()

    def gap(frame):
        a, b = shapely.centroid(frame.geometry.values), shapely.centroid(w.loc[ids].values)
        return dist_m(shapely.get_x(a), shapely.get_y(a), shapely.get_x(b), shapely.get_y(b))

    raw, conv = gap(as_is), gap(fixed)
    assert raw.min() > 350 and (conv < raw).all() and np.median(conv) < 100
    # a GCJ-02 claim on a layer in metres is refused, naming it
    with pytest.raises(CRSError, match="not lon/lat"):
        lc.load_communities(gcj.to_crs(4549), crs="gcj02", **kw)
