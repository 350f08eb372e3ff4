"""Facility loading: OSM files (XML/PBF), bureau tables (CSV/XLSX/GIS, Chinese headers), merging."""

from __future__ import annotations

import collections
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from conftest import FIXTURES, shared_file
from lifecircle import CRSError, InputError, load_profile
from lifecircle.facilities import (
    facilities_from_osm,
    load_facilities,
    merge_duplicates,
    name_score,
    unmatched,
)
from lifecircle.sources.coords import detect_offset, wgs84_to_bd09, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")
TINY_OSM = FIXTURES / "jx_tiny_pois.osm"
UTF8_CSV = FIXTURES / "jx_facilities_gcj02_utf8.csv"
GBK_CSV = FIXTURES / "jx_facilities_bd09_gbk.csv"
#: Seven categories: kindergarten, childcare, elderly_care, community_health, hospital, pharmacy,
#: school (OSM filters as in standards.md §7, Amap codes §8, name keywords).
PROFILE = FIXTURES / "profile_facilities.toml"

# The WGS84 truth behind the hand-made tables (see tests/data/make_fixtures.py).
UTF8_TRUTH = {  # 序号 -> (category, lon, lat, capacity)
    1: ("kindergarten", 120.7550, 30.7470, 360.0),
    2: ("community_health", 120.7620, 30.7510, np.nan),
    3: ("elderly_care", 120.7480, 30.7560, 30.0),
    4: ("hospital", 120.7603, 30.7589, np.nan),
    5: ("childcare", 120.7512, 30.7433, 40.0),
    7: ("pharmacy", 120.7530, 30.7520, np.nan),
    8: ("kindergarten", 120.7080, 30.7650, 270.0),
}
GBK_TRUTH = [  # in file order
    ("elderly_care", 120.7425, 30.7610, 500.0),
    ("elderly_care", 120.7390, 30.7700, 25.0),
    ("community_health", 120.7700, 30.7380, np.nan),
]


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


pytestmark = pytest.mark.usefixtures("quiet")


@pytest.fixture(scope="module")
def profile():
    return load_profile(PROFILE)


def check_frame(gdf: gpd.GeoDataFrame) -> None:
    """The contract every facility frame keeps."""
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert gdf.crs.to_epsg() == 4326
    for col in ("facility_id", "category", "category_zh", "name", "source", "capacity", "geometry"):
        assert col in gdf.columns
    assert gdf.index.is_unique
    assert list(gdf.index) == list(gdf["facility_id"])
    assert (gdf.geometry.geom_type == "Point").all()
    assert gdf["capacity"].dtype == "float64"


# ====================================================================== OSM
def test_tiny_osm_node_way_and_multipolygon(profile, caplog):
    with caplog.at_level(logging.WARNING):
        gdf = facilities_from_osm(TINY_OSM, profile)
    check_frame(gdf)
    assert set(gdf.index) == {
        "osm:node/1",
        "osm:node/2#community_health",
        "osm:node/2#pharmacy",
        "osm:node/5",
        "osm:way/10",
        "osm:way/40",
        "osm:relation/100",
    }
    row = gdf.loc["osm:node/1"]
    assert (row.category, row.category_zh, row["name"], row.capacity) == (
        "kindergarten",
        "幼儿园",
        "南湖幼儿园",
        180.0,
    )
    assert (row.osm_type, row.osm_id, row.source) == ("node", 1, "osm")
    assert (row.geometry.x, row.geometry.y) == (120.755, 30.747)
    # way polygon → point inside it, capacity from beds=
    way = gdf.loc["osm:way/10"]
    assert way.category == "elderly_care" and way.capacity == 120.0
    assert shapely.box(120.7600, 30.7500, 120.7610, 30.7508).contains(way.geometry)
    # multipolygon relation with a hole → point in the ring, not in the hole
    rel = gdf.loc["osm:relation/100"]
    assert rel.category == "community_health" and rel.osm_type == "relation"
    ring = shapely.Polygon(
        [(120.77, 30.74), (120.772, 30.74), (120.772, 30.742), (120.77, 30.742)],
        [[(120.7705, 30.7405), (120.7715, 30.7405), (120.7715, 30.7415), (120.7705, 30.7415)]],
    )
    assert ring.contains(rel.geometry)
    # open way → its midpoint
    assert gdf.loc["osm:way/40"].geometry.equals_exact(shapely.Point(120.741, 30.76), 1e-9)
    # one feature in two categories → two rows, same place
    a, b = gdf.loc["osm:node/2#community_health"], gdf.loc["osm:node/2#pharmacy"]
    assert a.geometry.equals(b.geometry) and a.osm_id == b.osm_id == 2
    # the bank matches nothing; the type=site relation has no area: reported, not silent
    assert not (gdf["osm_id"] == 3).any()
    skipped = unmatched(gdf, "skipped")
    assert list(skipped["osm_id"]) == [200] and skipped["osm_type"].iloc[0] == "relation"
    assert "relation/200" in caplog.text
    # categories with no OSM feature are named in a warning
    assert "医院" in caplog.text and "中小学" in caplog.text


def test_osm_gz_and_pbf_give_the_same_frame(profile, tmp_path):
    base = facilities_from_osm(TINY_OSM, profile)
    for suffix in (".osm.gz", ".osm.bz2", ".osm.pbf"):
        out = tmp_path / f"tiny{suffix}"
        writer = osmium.SimpleWriter(str(out))
        for obj in osmium.FileProcessor(str(TINY_OSM)):
            writer.add(obj)
        writer.close()
        other = facilities_from_osm(out, profile)
        pd.testing.assert_frame_equal(
            base.drop(columns="geometry"), other.drop(columns="geometry"), check_like=False
        )
        assert base.geometry.geom_equals_exact(other.geometry, tolerance=1e-7).all()


def test_osm_bounds_and_errors(profile, tmp_path):
    gdf = facilities_from_osm(TINY_OSM, profile, bounds=(120.750, 30.745, 120.765, 30.755))
    assert set(gdf.index) == {
        "osm:node/1",
        "osm:node/2#community_health",
        "osm:node/2#pharmacy",
        "osm:node/5",
        "osm:way/10",
    }
    with pytest.raises(InputError, match="west, south, east, north"):
        facilities_from_osm(TINY_OSM, profile, bounds=(30.7, 120.7, 30.8, 120.8))
    with pytest.raises(InputError, match="not found"):
        facilities_from_osm(tmp_path / "missing.osm.pbf", profile)
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="load_facilities"):
        facilities_from_osm(csv, profile)
    with pytest.raises(InputError, match="categories"):
        facilities_from_osm(TINY_OSM, object())


def test_nanjing_osm_counts_match_osmnx(profile, nanjing_osm, caplog):
    """PROVENANCE: school 18, hospital 5, pharmacy 3, clinic 1; no kindergarten or elderly care."""
    import osmnx as ox

    with caplog.at_level(logging.WARNING):
        gdf = facilities_from_osm(nanjing_osm, profile)
    check_frame(gdf)
    counts = gdf["category"].value_counts().to_dict()
    # by their tags: 18 schools, 5 hospitals, 3 pharmacies, 1 clinic; by their Chinese names:
    # 5 named POIs tagged office/building (小学/中学/医院 in the name), and 五老村幼儿园, tagged
    # amenity=school, is a kindergarten (the name wins over generic tags)
    assert counts == {
        "school": 21,
        "hospital": 6,
        "pharmacy": 3,
        "community_health": 1,
        "kindergarten": 1,
    }
    for missing in ("托育机构", "养老服务设施"):
        assert missing in caplog.text
    # independent reading with OSMnx
    feats = ox.features_from_xml(
        nanjing_osm,
        tags={
            "amenity": [
                "school",
                "hospital",
                "pharmacy",
                "clinic",
                "doctors",
                "kindergarten",
                "childcare",
                "social_facility",
                "nursing_home",
            ]
        },
    )
    ref = feats["amenity"].value_counts().to_dict()
    assert ref == {"school": 18, "hospital": 5, "pharmacy": 3, "clinic": 1}
    by_tags = sorted(f"osm:{t}/{i}" for t, i in feats.index)
    assert set(by_tags) <= set(gdf.index)
    assert gdf.loc[gdf["name"] == "五老村幼儿园", "category"].tolist() == ["kindergarten"]
    by_name = gdf.drop(index=by_tags)
    assert sorted(by_name["name"]) == sorted(
        [
            "南京市五老村小学敬文书院",
            "南京市五老村小学旧教学楼",
            "石鼓路小学",
            "金陵中学招生办",
            "南京医科大学眼科医院",
        ]
    )
    for name, cat in zip(by_name["name"], by_name["category"], strict=True):
        assert profile.category(cat).matches_name(name)
    # our point lies on/in OSMnx's geometry of the same feature
    for (t, i), geom in feats.geometry.items():
        assert geom.buffer(1e-9).contains(gdf.loc[f"osm:{t}/{i}"].geometry)


def test_online_sources_go_through_osmnx(profile, monkeypatch, local_overpass):
    """Place / polygon / bbox go to OSMnx; faked here with OSMnx's own XML reader (offline)."""
    import osmnx as ox

    calls = []

    def fake(kind):
        def f(where, tags):
            calls.append((kind, where, tags))
            return ox.features_from_xml(TINY_OSM, tags=tags)

        return f

    monkeypatch.setattr(ox, "features_from_place", fake("place"))
    monkeypatch.setattr(ox, "features_from_polygon", fake("polygon"))
    monkeypatch.setattr(ox, "features_from_bbox", fake("bbox"))
    from_file = facilities_from_osm(TINY_OSM, profile)
    # (the type=site relation 200 is not returned by OSMnx either)
    for source in (
        "南湖区, 嘉兴市",
        shapely.box(120.7, 30.7, 120.8, 30.8),
        (120.7, 30.7, 120.8, 30.8),
    ):
        gdf = facilities_from_osm(source, profile).loc[from_file.index]
        check_frame(gdf)
        cols = ["category", "name", "capacity", "osm_type", "osm_id", "osm_tags"]
        pd.testing.assert_frame_equal(gdf[cols], from_file[cols])
        assert gdf.geometry.geom_equals_exact(from_file.geometry, tolerance=1e-7).all()
    assert [c[0] for c in calls] == ["place", "polygon", "bbox"]
    assert calls[0][2] == {"amenity": True, "healthcare": True}

    def boom(where, tags):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "features_from_place", boom)
    with pytest.raises(InputError, match="Offline, pass an .osm/.osm.pbf file"):
        facilities_from_osm("嘉兴市", profile)
    with pytest.raises(InputError, match="unsupported OSM source"):
        facilities_from_osm(42, profile)


class _Count(osmium.SimpleHandler):
    """An independent count: plain SimpleHandler, no area assembly."""

    def __init__(self, cats) -> None:
        super().__init__()
        self.cats = cats
        self.counts: collections.Counter = collections.Counter()
        self.nodes: dict[int, tuple[float, float]] = {}

    def _add(self, tags, kind, obj) -> None:
        for c in self.cats:
            if c.matches_tags(tags):
                self.counts[c.id] += 1
                if kind == "n":
                    self.nodes[obj.id] = (obj.location.lon, obj.location.lat)

    def node(self, n):
        self._add({t.k: t.v for t in n.tags}, "n", n)

    def way(self, w):
        self._add({t.k: t.v for t in w.tags}, "w", w)

    def relation(self, r):
        tags = {t.k: t.v for t in r.tags}
        if tags.get("type") in ("multipolygon", "boundary"):
            self._add(tags, "r", r)


@pytest.mark.parametrize("name", ["liechtenstein.osm.pbf", "andorra.osm.pbf"])
def test_pbf_counts_match_independent_osmium_count(profile, name):
    path = shared_file(f"intl/{name}")
    gdf = facilities_from_osm(path, profile)
    check_frame(gdf)
    h = _Count(list(profile.categories.values()))
    h.apply_file(str(path))
    assert gdf["category"].value_counts().to_dict() == dict(h.counts)
    assert len(gdf) > 5
    nodes = gdf[gdf["osm_type"] == "node"]
    for _, row in nodes.iterrows():
        lon, lat = h.nodes[row.osm_id]
        assert dist_m(lon, lat, row.geometry.x, row.geometry.y) < 0.01


# ====================================================================== tables
def test_utf8_csv_gcj02_with_chinese_headers(profile, caplog):
    with caplog.at_level(logging.WARNING):
        gdf = load_facilities(UTF8_CSV, profile, crs="gcj02")
    check_frame(gdf)
    # ids from 序号, source from the file name
    assert list(gdf.index) == [f"jx_facilities_gcj02_utf8:{k}" for k in UTF8_TRUTH]
    assert (gdf["source"] == "jx_facilities_gcj02_utf8").all()
    for k, (cat, lon, lat, cap) in UTF8_TRUTH.items():
        row = gdf.loc[f"jx_facilities_gcj02_utf8:{k}"]
        assert row.category == cat
        assert dist_m(row.geometry.x, row.geometry.y, lon, lat) < 0.2  # 6-decimal rounding
        assert (np.isnan(cap) and np.isnan(row.capacity)) or row.capacity == cap
        assert row.row == k + 1  # spreadsheet row: header is row 1
    assert gdf.loc["jx_facilities_gcj02_utf8:3", "容量"] == "30张"  # raw value kept
    how = gdf.set_index("row")["category_source"]
    assert how[2] == "column" and how[3] == "keyword" and how[8] == "keyword"  # 社区卫生…/药房
    # unconverted, the same points would be ~490 m off
    raw = pd.read_csv(UTF8_CSV)
    assert dist_m(raw["经度"][0], raw["纬度"][0], 120.755, 30.747) > 470
    # the bank: reported with row number and value, kept retrievable
    assert (
        "1 of 8 rows match no category" in caplog.text
        and "7 中国工商银行嘉兴分行 [银行]" in caplog.text
    )
    um = unmatched(gdf)
    assert list(um["row"]) == [7] and um["名称"].iloc[0] == "中国工商银行嘉兴分行"
    assert dist_m(um["lon_wgs84"].iloc[0], um["lat_wgs84"].iloc[0], 120.757, 30.75) < 0.2


def test_unmatched_rows_can_raise(profile):
    with pytest.raises(
        InputError, match=r"row.*7 中国工商银行嘉兴分行 \[银行\].*Unknown category values: 银行"
    ):
        load_facilities(UTF8_CSV, profile, crs="gcj02", errors="raise")


def test_gbk_csv_bd09(profile):
    gdf = load_facilities(GBK_CSV, profile, crs="bd09")
    check_frame(gdf)
    assert len(gdf) == 3 and list(gdf["row"]) == [2, 3, 4]
    for (cat, lon, lat, cap), (_, row) in zip(GBK_TRUTH, gdf.iterrows(), strict=True):
        assert row.category == cat
        assert dist_m(row.geometry.x, row.geometry.y, lon, lat) < 0.2
        assert (np.isnan(cap) and np.isnan(row.capacity)) or row.capacity == cap
    assert gdf["name"].iloc[0] == "嘉兴市社会福利院"
    # explicit encoding gives the same; a wrong one is a clear error, not mojibake
    same = load_facilities(GBK_CSV, profile, crs="百度", encoding="gbk")
    assert list(same["name"]) == list(gdf["name"])
    with pytest.raises(InputError, match="cannot decode as 'utf-8'"):
        load_facilities(GBK_CSV, profile, crs="bd09", encoding="utf-8")


def test_utf8_bom_and_tab_separated(profile, tmp_path):
    text = UTF8_CSV.read_text(encoding="utf-8").replace(",", "\t")
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeff".encode() + text.encode("utf-8"))
    gdf = load_facilities(p, profile, crs="amap")
    assert len(gdf) == 7 and "序号" in gdf.columns  # the BOM is not glued to the first header


def test_missing_crs_is_an_error_that_explains(profile, tmp_path):
    with pytest.raises(CRSError) as exc:
        load_facilities(UTF8_CSV, profile)
    msg = str(exc.value)
    for word in ("gcj02", "bd09", "wgs84", "Amap/高德", "Baidu/百度", "'经度'", "'纬度'"):
        assert word in msg
    p = tmp_path / "baidu.csv"
    p.write_text("name,bd09_lng,bd09_lat\n某幼儿园,120.76,30.75\n", encoding="utf-8")
    with pytest.raises(CRSError, match="suggest crs='bd09'"):
        load_facilities(p, profile)


def _csv(tmp_path: Path, rows: list[str], header: str = "名称,经度,纬度") -> Path:
    p = tmp_path / "名单.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_bad_rows_are_named(profile, tmp_path):
    p = _csv(
        tmp_path,
        [
            "甲幼儿园,120.75,30.75",  # row 2 ok
            "乙幼儿园,abc,30.75",  # row 3 not a number
            "丙幼儿园,,",  # row 4 missing
            "丁幼儿园,30.76,120.76",  # row 5 swapped
            "戊幼儿园,0,0",  # row 6 placeholder
            "己幼儿园,120.77,30.77",  # row 7 ok
            "庚幼儿园,220.1,30.7",  # row 8 out of range
            "辛幼儿园,120.78,307.8",  # row 9 a latitude typo: out of range, not swapped
        ],
    )
    with pytest.raises(InputError) as exc:
        load_facilities(p, profile, crs="gcj02")
    msg = str(exc.value)
    assert (
        "名单.csv: 6 rows have unusable coordinates (spreadsheet row numbers; the header is row 1)"
        in msg
    )
    assert "not a number: 3 (abc, 30.75)" in msg
    assert "missing 经度/纬度: 4" in msg
    assert "holds the latitude): 5 (30.76, 120.76)" in msg
    assert "(0, 0)" in msg and ": 6" in msg
    assert "EPSG code): 8 (220.1, 30.7), 9 (120.78, 307.8)" in msg
    # report mode keeps going, leaves them out, keeps them retrievable
    gdf = load_facilities(p, profile, crs="gcj02", bad_coords="report")
    assert list(gdf["row"]) == [2, 7]
    bad = unmatched(gdf, "bad_coords")
    assert list(bad["row"]) == [3, 4, 5, 6, 8, 9]
    assert "swapped" in bad.set_index("row").loc[5, "problem"]


def test_swapped_columns_whole_table(profile, tmp_path):
    p = _csv(tmp_path, ["甲幼儿园,30.75,120.75", "乙幼儿园,30.76,120.76"])
    with pytest.raises(InputError, match=r"swapped \(经度 holds the latitude\): 2 \(30.75, 120.75\), 3"):
        load_facilities(p, profile, crs="wgs84")


def test_blank_rows_keep_spreadsheet_numbers(profile, tmp_path):
    p = _csv(tmp_path, ["甲幼儿园,120.75,30.75", ",,", "乙幼儿园,abc,30.75"])
    with pytest.raises(InputError, match=r"not a number: 4 \(abc, 30.75\)"):
        load_facilities(p, profile, crs="wgs84")


def test_xlsx_with_amap_codes_and_keywords(profile, tmp_path):
    """An Amap-style export: 高德类型 codes stored as numbers (Excel drops the leading 0)."""
    lon = np.array([120.7550, 120.7620, 120.7480, 120.7700, 120.7300])
    lat = np.array([30.7470, 30.7510, 30.7560, 30.7400, 30.7300])
    gx, gy = wgs84_to_gcj02(lon, lat)
    df = pd.DataFrame(
        {
            "设施名称": [
                "南湖区实验幼儿园",
                "东栅街道卫生院",
                "城东社区居家养老服务照料中心",
                "某科技公司",
                "阳光宝宝屋",
            ],
            "高德类型": [141204, 90102, None, 170200, None],
            "经度": gx,
            "纬度": gy,
            "核定床位": [None, None, 30, None, None],
        }
    )
    path = tmp_path / "高德导出.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"说明": ["第二页才是数据"]}).to_excel(xw, sheet_name="说明", index=False)
        df.to_excel(xw, sheet_name="设施", index=False)
    assert path.stat().st_size < 50_000
    gdf = load_facilities(path, profile, crs="gcj02", sheet="设施")
    check_frame(gdf)
    assert list(gdf["category"]) == ["kindergarten", "community_health", "childcare"]
    assert list(gdf["category_source"]) == ["amap_type", "amap_type", "keyword"]
    assert list(gdf["row"]) == [2, 3, 6]
    assert dist_m(gdf.geometry.x, gdf.geometry.y, lon[[0, 1, 4]], lat[[0, 1, 4]]).max() < 0.01
    um = unmatched(gdf)
    # 养老服务照料中心 is not in the fixture profile's keywords; the company matches nothing
    assert list(um["row"]) == [4, 5]
    with pytest.raises(InputError, match="Worksheet named 'nope' not found"):
        load_facilities(path, profile, crs="gcj02", sheet="nope")


def test_dataframe_with_given_category_and_columns(profile):
    df = pd.DataFrame(
        {
            "园名": ["甲园", "乙园"],
            "x坐标": ["120.75", "120.76"],
            "y坐标": ["30.75", "30.76"],
            "托位": ["80", "约60人"],
            "uid": ["a1", "b2"],
        }
    )
    gdf = load_facilities(
        df, profile, crs="wgs84", category="kindergarten", name="园名", source="教育局"
    )
    assert list(gdf.index) == ["教育局:a1", "教育局:b2"]
    assert list(gdf["capacity"]) == [80.0, 60.0]
    assert (gdf["category_source"] == "given").all()
    assert list(gdf["row"]) == [0, 1]  # index labels for frames
    same = load_facilities(df, profile, crs="wgs84", category="幼儿园", name="园名")
    assert (same["category"] == "kindergarten").all()
    with pytest.raises(InputError, match="neither a column"):
        load_facilities(df, profile, crs="wgs84", category="网吧")
    with pytest.raises(InputError, match="column 'lng' .* not found"):
        load_facilities(df, profile, crs="wgs84", lon="lng", lat="y坐标")


def test_ambiguous_or_missing_coordinate_columns(profile):
    df = pd.DataFrame(
        {"名称": ["甲幼儿园"], "gcj_lng": [120.7], "wgs_lng": [120.7], "纬度": [30.7]}
    )
    with pytest.raises(InputError, match="several columns could hold the lon"):
        load_facilities(df, profile, crs="gcj02")
    ok = load_facilities(df, profile, crs="gcj02", lon="gcj_lng")
    assert len(ok) == 1
    with pytest.raises(InputError, match="cannot find the longitude and latitude column"):
        load_facilities(pd.DataFrame({"名称": ["甲幼儿园"]}), profile, crs="gcj02")


def test_amap_location_column(profile):
    """Amap API dumps hold one 'location' column with "lng,lat" text."""
    gx, gy = wgs84_to_gcj02([120.755, 120.76], [30.747, 30.75])
    df = pd.DataFrame(
        {
            "name": ["南湖区实验幼儿园", "某托儿所"],
            "type": ["科教文化服务;学校;幼儿园", "生活服务;生活服务场所;生活服务场所"],
            "typecode": ["141204", "070000"],
            "location": [f"{gx[0]:.6f},{gy[0]:.6f}", f"{gx[1]:.6f},{gy[1]:.6f}"],
        }
    )
    gdf = load_facilities(df, profile, crs="gcj02")
    assert list(gdf["category"]) == ["kindergarten", "childcare"]
    assert list(gdf["category_source"]) == ["amap_type", "keyword"]
    assert dist_m(gdf.geometry.x, gdf.geometry.y, [120.755, 120.76], [30.747, 30.75]).max() < 0.2
    assert "location" in gdf.columns and "location:经度" not in gdf.columns
    bad = df.assign(location=["120.1", "abc,30.7"])
    with pytest.raises(InputError, match=r"missing location:经度/location:纬度: 0"):
        load_facilities(bad, profile, crs="gcj02")


def test_duplicate_ids_are_named(profile, tmp_path, caplog):
    p = _csv(
        tmp_path,
        ["1,甲幼儿园,120.75,30.75", "1,乙幼儿园,120.76,30.76"],
        header="编号,名称,经度,纬度",
    )
    with pytest.raises(
        InputError,
        match=r"repeated values in rows 2, 3 \(spreadsheet row numbers; the header is row 1\);",
    ):
        load_facilities(p, profile, crs="wgs84", id="编号")
    # a recognised (not given) id column that is not unique: row numbers instead, with a warning
    with caplog.at_level(logging.WARNING):
        gdf = load_facilities(p, profile, crs="wgs84")
    assert list(gdf.index) == ["名单:2", "名单:3"]
    assert "row numbers are used as facility ids" in caplog.text


def test_geodataframe_layer_in_gcj02(profile, tmp_path):
    """A GIS layer that says EPSG:4326 but holds Amap coordinates (like the cnmaps files)."""
    lon, lat = np.array([120.755, 120.76]), np.array([30.747, 30.75])
    gdf_in = gpd.GeoDataFrame(
        {"name": ["甲幼儿园", "乙养老院"]},
        geometry=gpd.points_from_xy(*wgs84_to_gcj02(lon, lat)),
        crs=4326,
    )
    path = tmp_path / "layer.gpkg"
    gdf_in.to_file(path)
    as_is = load_facilities(path, profile)  # trusts the layer's CRS
    assert dist_m(as_is.geometry.x, as_is.geometry.y, lon, lat).min() > 470
    fixed = load_facilities(path, profile, crs="gcj02")
    assert dist_m(fixed.geometry.x, fixed.geometry.y, lon, lat).max() < 0.01
    assert list(fixed["category"]) == ["kindergarten", "elderly_care"]
    # polygons are reduced to a point inside; projected layers are converted
    poly = gpd.GeoDataFrame(
        {"name": ["丙幼儿园"]}, geometry=[shapely.box(120.75, 30.74, 120.752, 30.742)], crs=4326
    ).to_crs(4549)
    out = load_facilities(poly, profile)
    assert shapely.box(120.75, 30.74, 120.752, 30.742).contains(out.geometry.iloc[0])
    with pytest.raises(CRSError, match="has no CRS"):
        load_facilities(gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(1, 1)]), profile)
    with pytest.raises(CRSError, match="not lon/lat"):
        load_facilities(poly, profile, crs="gcj02")


def test_xian_baidu_pois_bd09_to_wgs84(profile):
    """Raw bd09_lng/bd09_lat through load_facilities equal the file's WGS84 geometry.

    PROVENANCE: converted with BD→GCJ + an iterative GCJ inverse, 1.2 m from the author's KML."""
    path = shared_file("cn_xian_pois_bd09/xian_baidu_pois.gpkg")
    ref = gpd.read_file(path, layer="health")
    table = pd.DataFrame(ref.drop(columns="geometry"))
    gdf = load_facilities(table, profile, crs="bd09", lon="bd09_lng", lat="bd09_lat")
    check_frame(gdf)
    pos = gdf["row"].to_numpy(dtype=int)
    d = dist_m(
        gdf.geometry.x,
        gdf.geometry.y,
        ref.geometry.x.to_numpy()[pos],
        ref.geometry.y.to_numpy()[pos],
    )
    assert np.median(d) < 2.0 and d.max() < 2.0
    # 'category' holds ids of the fixture profile (pharmacy, hospital, community_health); the rest are
    # keyword-matched or reported — none disappears
    assert gdf["row"].nunique() + len(unmatched(gdf)) == len(ref) == 4847
    assert "category_raw" in gdf.columns  # the file's own column, renamed, not lost
    by = gdf[gdf["category_source"] == "column"]["category"].value_counts().to_dict()
    assert by == {"pharmacy": 1739, "hospital": 186, "community_health": 9}
    # reading the file directly with the layer name works too
    direct = load_facilities(
        path, profile, crs="bd09", lon="bd09_lng", lat="bd09_lat", sheet="health"
    )
    assert len(direct) == len(gdf)


def test_network_flags_points_outside(profile, nanjing_osm, caplog):
    from lifecircle import load_network

    net = load_network(nanjing_osm)
    df = pd.DataFrame(
        {
            "名称": ["新街口幼儿园", "远处幼儿园"],
            "经度": [118.7780, 118.9500],
            "纬度": [32.0440, 32.2000],
        }
    )
    with caplog.at_level(logging.WARNING):
        gdf = load_facilities(df, profile, crs="wgs84", network=net)
    assert list(gdf["outside_network"]) == [False, True]
    assert "outside the network's area" in caplog.text and "table:1" in caplog.text
    gdf = load_facilities(df, profile, crs="wgs84", bounds=(118.75, 32.02, 118.80, 32.06))
    assert list(gdf["outside_network"]) == [False, True]


def test_concat_of_loaded_frames_still_works(profile):
    """Reports live in attrs as plain records, so pd.concat does not choke on them."""
    a = load_facilities(UTF8_CSV, profile, crs="gcj02")
    b = load_facilities(GBK_CSV, profile, crs="bd09")
    both = pd.concat([a, b])
    assert len(both) == len(a) + len(b)


# ====================================================================== offset detection
def test_detect_offset_by_name_and_against_network(profile, nanjing_osm):
    """Nanjing OSM is WGS84 (PROVENANCE): as-is no alarm; shifted copies are caught."""
    from lifecircle import load_network

    fac = facilities_from_osm(nanjing_osm, profile)
    lon, lat = fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()
    shifted = fac.copy()
    shifted["geometry"] = gpd.points_from_xy(*wgs84_to_gcj02(lon, lat))
    rep = detect_offset(shifted, fac)
    assert rep.mode == "name" and rep.likely == "gcj02" and rep.median_m["gcj02"] < 0.01
    baidu = fac.copy()
    baidu["geometry"] = gpd.points_from_xy(*wgs84_to_bd09(lon, lat))
    assert detect_offset(baidu, fac).likely == "bd09"
    assert detect_offset(fac, fac).likely == "wgs84"

    net = load_network(nanjing_osm)
    # POIs against a dense network: weak evidence, but no false alarm for correct data
    assert detect_offset(fac, net).likely == "wgs84"
    # lines (here the network's own streets, shifted to GCJ-02) are caught reliably
    edges = net.edges.to_crs(4326)
    fake = edges.copy()
    fake["geometry"] = shapely.transform(
        edges.geometry.values, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))
    )
    rep = detect_offset(fake, net)
    assert rep.likely == "gcj02" and rep.median_m["gcj02"] < 1.0


# ====================================================================== duplicates
def test_name_score_for_chinese_names():
    assert name_score("嘉兴市南湖区实验幼儿园", "南湖区实验幼儿园") == pytest.approx(
        0.842, abs=0.01
    )
    assert name_score("南湖幼儿园", "南湖幼儿园 ") == 1.0
    assert name_score("南湖幼儿园（总园）", "南湖幼儿园(总园)") == 1.0  # full-width folded
    assert name_score("南湖幼儿园", "秀洲区新城小学") < 0.4
    assert name_score("", "南湖幼儿园") == 0.0 and name_score(None, None) == 0.0


def _bureau(rows: list[tuple], source: str = "教育局") -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=["名称", "类别", "lon", "lat", "托位"])
    df["经度"], df["纬度"] = df["lon"], df["lat"]
    return load_facilities(
        df.drop(columns=["lon", "lat"]), load_profile(PROFILE), crs="wgs84", source=source
    )


def _east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, 90, metres)
    return x, y


def test_merge_duplicates_osm_and_bureau(profile):
    osm = facilities_from_osm(TINY_OSM, profile)
    k20 = _east(120.755, 30.747, 20)  # 20 m from OSM node 1 (南湖幼儿园)
    e5 = _east(120.753, 30.752, 5)  # 5 m from OSM node 5 (elderly day care)
    e30 = _east(120.753, 30.752, 30)
    far = _east(120.755, 30.747, 200)
    bureau = _bureau(
        [
            ("嘉兴市南湖幼儿园", "幼儿园", *k20, 200),  # same kindergarten → merged
            ("南湖小学附属托儿所", "托育机构", *k20, 50),  # other category → not merged
            ("", "养老服务设施", *e5, 30),  # unnamed, 5 m → merged
            ("", "养老服务设施", *e30, 20),  # unnamed, 30 m → kept apart
            ("南湖幼儿园", "幼儿园", *far, 90),  # same name, 200 m → kept apart
        ]
    )
    merged = merge_duplicates(osm, bureau)
    check_frame(merged)
    assert len(merged) == len(osm) + len(bureau) - 2
    kg = merged[merged["merged_from"].fillna("").str.contains("osm:node/1")]
    assert len(kg) == 1
    kg = kg.iloc[0]
    assert kg["facility_id"] == "教育局:0"  # the bureau record is richer (托位, 类别 …)
    assert kg["capacity"] == 200.0  # bureau capacity preferred over OSM's 180
    assert kg["osm_id"] == 1  # OSM fields filled in
    assert merged.loc["教育局:2", "merged_from"] == "osm:node/5"
    for fid in ("教育局:1", "教育局:3", "教育局:4"):
        assert pd.isna(merged.loc[fid, "merged_from"])
    # deterministic: the frame order does not change which groups are formed
    again = merge_duplicates(bureau, osm)
    assert sorted(again.index) == sorted(merged.index)
    assert again.loc["教育局:0", "merged_from"] == merged.loc["教育局:0", "merged_from"]


@pytest.mark.parametrize("shift", ["gcj02", "bd09", None])
def test_merge_warns_when_a_list_is_unconverted(nanjing_osm, caplog, shift):
    """An Amap (GCJ-02) or Baidu (BD-09) list loaded as WGS84 lies ~500 m / ~1 km off: merged
    with OSM, nothing would merge and every facility would count twice. merge_duplicates says
    so, naming the source and the fix; a list in true WGS84 gets no warning. Real data: the
    Nanjing Xinjiekou facilities of OSM, written out as a bureau list."""
    profile = load_profile("gb50180-2018")
    osm = facilities_from_osm(nanjing_osm, profile)
    lon, lat = shapely.get_coordinates(osm.geometry).T
    convert = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}.get(shift)
    x, y = convert(lon, lat) if convert else (lon, lat)
    table = pd.DataFrame({"名称": osm["name"].to_numpy(), "类别": osm["category_zh"].to_numpy(),
                          "经度": x, "纬度": y})  # fmt: skip
    bureau = load_facilities(table, profile, crs="wgs84", source="高德导出")
    with caplog.at_level(logging.WARNING, logger="lifecircle.facilities.merge"):
        merged = merge_duplicates(osm, bureau)
    said = [r.getMessage() for r in caplog.records if r.name == "lifecircle.facilities.merge"]
    if shift is None:
        assert said == [] and len(merged) == len(osm)  # every record found its twin
    else:
        assert len(said) == 1 and "'高德导出'" in said[0] and f"crs='{shift}'" in said[0]
        assert len(merged) > 1.9 * len(osm)  # why it matters: nothing merged


def test_merge_keeps_one_record_per_source_and_checks_input(profile):
    osm = facilities_from_osm(TINY_OSM, profile)
    a = _bureau([("南湖幼儿园", "幼儿园", 120.755, 30.747, 100)], source="甲")
    b = _bureau([("南湖幼儿园", "幼儿园", *_east(120.755, 30.747, 10), 120)], source="乙")
    merged = merge_duplicates(osm, a, b)
    row = merged[merged["merged_from"].notna()]
    assert len(row) == 1 and len(row.iloc[0]["merged_from"].split(";")) == 2
    # two rows of the same bureau list are never merged with each other
    twin = _bureau(
        [("南湖幼儿园", "幼儿园", 120.755, 30.747, 1), ("南湖幼儿园", "幼儿园", 120.755, 30.747, 2)]
    )
    assert len(merge_duplicates(twin)) == 2
    with pytest.raises(InputError, match="more than one frame"):
        merge_duplicates(osm, osm)
    with pytest.raises(InputError, match="lacks columns"):
        merge_duplicates(gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)], crs=4326))


def test_osm_name_disambiguates_categories_with_the_same_tags():
    """A clinic's Chinese name tells a 社区卫生服务中心 (15-minute level) from a 站 (5-minute
    level); without a telling name a clinic is not a centre (levels are not nested, so counting it
    as both would hide a shortfall). A POI whose tags match nothing can match by name."""
    from lifecircle import load_profile
    from lifecircle.facilities.classify import match_tags as _match_tags

    gb = load_profile("gb50180-2018")
    cats = list(gb.categories.values())
    ids = lambda tags: {c.id for c in _match_tags(tags, cats)}  # noqa: E731
    clinic = {"amenity": "clinic"}
    assert ids(clinic) == {"health_station", "outpatient_clinic"}
    assert ids({"amenity": "hospital"}) == {"health_centre"}
    assert ids({**clinic, "name": "湘湖社区卫生服务站"}) == {"health_station"}
    assert ids({**clinic, "name": "城厢街道社区卫生服务中心"}) == {"health_centre"}
    assert ids({"amenity": "school", "name": "五老村幼儿园"}) == {"kindergarten"}
    assert ids({"highway": "residential", "name": "幼儿园路"}) == set()
    assert ids({"name": "幼儿园"}) == set()  # a bare name, not a POI


def test_amap_code_shared_by_two_categories_is_split_by_name(caplog):
    """Amap 090102 types both 社区卫生服务中心 and 服务站: the name decides; a name that does not
    tell leaves both, with a warning asking for a category column."""
    import pandas as pd

    from lifecircle import load_facilities

    df = pd.DataFrame(
        {
            "名称": ["城厢街道社区卫生服务中心", "湘湖社区卫生服务站", "某某诊所"],
            "经度": [120.750, 120.751, 120.752],
            "纬度": [30.75, 30.75, 30.75],
            "typecode": ["090102", "090102", "090102"],
        }
    )
    with caplog.at_level(logging.WARNING):
        g = load_facilities(df, "jiaxing-yilao-yixiao", crs="gcj02", amap_type="typecode")
    got = sorted(zip(g["name"], g["category"], strict=True))
    assert got == [
        ("城厢街道社区卫生服务中心", "health_centre"),
        ("某某诊所", "health_centre"),
        ("某某诊所", "health_station"),
        ("湘湖社区卫生服务站", "health_station"),
    ]
    assert "fit several categories (health_centre/health_station)" in caplog.text
