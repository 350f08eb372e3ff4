"""Tables as users bring them: two-row Excel headers, one "lng,lat" column, community codes,
urban/village settlement (issue 13 and issue 18, the classification part)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Geod

import lifecircle as lc
from conftest import FIXTURES, shared_file
from lifecircle.communities.codes import settlement_from_code, settlement_from_name
from lifecircle.sources.coords import wgs84_to_gcj02
from lifecircle.sources.tables import find_column, read_table

PROFILE = FIXTURES / "profile_facilities.toml"
GEOD = Geod(ellps="WGS84")


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# ====================================================================== two-row header
def _merged_header_xlsx(path, rows, top="坐标", extra_group=None):
    """A sheet like bureaus make them: 名称 and 类别 merged over two rows, ``top`` merged over
    经度/纬度 in the second row (and optionally a second coordinate group)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "设施"
    ws["A1"] = "名称"
    ws.merge_cells("A1:A2")
    ws["B1"] = top
    ws.merge_cells("B1:C1")
    ws["B2"], ws["C2"] = "经度", "纬度"
    ws["D1"] = "类别"
    ws.merge_cells("D1:D2")
    if extra_group:
        ws["E1"] = extra_group
        ws.merge_cells("E1:F1")
        ws["E2"], ws["F2"] = "经度", "纬度"
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def test_excel_with_a_merged_coordinate_header_is_read(tmp_path):
    lon, lat = np.array([120.755, 120.753]), np.array([30.747, 30.752])
    gx, gy = wgs84_to_gcj02(lon, lat)
    path = _merged_header_xlsx(
        tmp_path / "设施名单.xlsx",
        [
            ("南湖幼儿园", gx[0], gy[0], "幼儿园"),
            ("建设街道日间照料中心", gx[1], gy[1], "养老服务设施"),
        ],
    )
    # pandas alone sees 坐标 / Unnamed: 2 and a first data row of headers
    raw = pd.read_excel(path, dtype=str)
    assert list(raw.columns) == ["名称", "坐标", "Unnamed: 2", "类别"]
    gdf = lc.load_facilities(path, PROFILE, crs="gcj02")
    assert list(gdf["category"]) == ["kindergarten", "elderly_care"]
    # the data start in spreadsheet row 3, under the two header rows
    assert list(gdf["row"]) == [3, 4]
    assert dist_m(gdf.geometry.x, gdf.geometry.y, lon, lat).max() < 0.01
    assert {"经度", "纬度"} <= set(gdf.columns)
    # a bad cell is named by its spreadsheet row, and the note says the header has two rows
    bad = _merged_header_xlsx(
        tmp_path / "bad.xlsx",
        [("甲幼儿园", 120.75, 30.75, "幼儿园"), ("乙幼儿园", "abc", 30.7, "幼儿园")],
    )
    with pytest.raises(lc.InputError, match=r"not a number: 4 \(abc, 30.7\)") as exc:
        lc.load_facilities(bad, PROFILE, crs="wgs84")
    assert "the header is rows 1-2" in str(exc.value)


def test_two_coordinate_groups_keep_their_group_name(tmp_path):
    """高德坐标 and 百度坐标 each over 经度/纬度: the names would repeat, so the group is kept."""
    path = _merged_header_xlsx(
        tmp_path / "two.xlsx",
        [("南湖幼儿园", 120.76, 30.75, "幼儿园", 120.77, 30.76)],
        top="高德坐标",
        extra_group="百度坐标",
    )
    table = read_table(path)
    assert list(table.frame.columns) == [
        "名称",
        "高德坐标经度",
        "高德坐标纬度",
        "类别",
        "百度坐标经度",
        "百度坐标纬度",
    ]
    with pytest.raises(lc.InputError, match="several columns could hold the lon"):
        lc.load_facilities(path, PROFILE, crs="gcj02")
    gdf = lc.load_facilities(path, PROFILE, crs="gcj02", lon="高德坐标经度", lat="高德坐标纬度")
    assert len(gdf) == 1


def test_a_header_row_over_numbers_is_not_taken_for_a_second_header(tmp_path):
    """An unnamed column with numbers below is data, not a second header row."""
    p = tmp_path / "t.csv"
    p.write_text("名称,经度,纬度,\n甲幼儿园,120.75,30.75,12\n乙幼儿园,120.76,30.76,\n", "utf-8")
    table = read_table(p)
    assert table.header_rows == 1 and list(table.labels) == [2, 3]
    assert len(lc.load_facilities(p, PROFILE, crs="wgs84")) == 2


# ====================================================================== one "lng,lat" column
@pytest.mark.parametrize(
    ("header", "sep", "lat_first"),
    [
        ("经纬度", ",", False),
        ("经纬度", "，", False),  # full-width comma
        ("lng,lat", ",", False),
        ("location", ",", False),
        ("经纬度（高德）", ", ", False),
        ("坐标", ";", False),
        ("latlng", ",", True),
    ],
)
def test_one_lonlat_column_is_split(tmp_path, header, sep, lat_first):
    lon, lat = np.array([118.78, 118.79]), np.array([32.045, 32.05])
    pairs = [f"{b}{sep}{a}" if lat_first else f"{a}{sep}{b}" for a, b in zip(lon, lat, strict=True)]
    df = pd.DataFrame({"名称": ["新街口幼儿园", "五老村小学"], header: pairs})
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False, encoding="utf-8")
    gdf = lc.load_facilities(p, PROFILE, crs="wgs84")
    assert list(gdf["category"]) == ["kindergarten", "school"]
    assert dist_m(gdf.geometry.x, gdf.geometry.y, lon, lat).max() < 1e-6
    assert header in gdf.columns  # the user's column is kept as it was


def test_separate_columns_win_over_a_combined_one():
    df = pd.DataFrame({"名称": ["甲幼儿园"], "经纬度": ["1,2"], "经度": [118.78], "纬度": [32.045]})
    gdf = lc.load_facilities(df, PROFILE, crs="wgs84")
    assert (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (118.78, 32.045)


def test_combined_column_before_the_fix_was_read_as_latitude():
    """The bug of issue 13: "经纬度" contains "纬度", so it was taken as the latitude column."""
    df = pd.DataFrame({"名称": ["甲幼儿园"], "经纬度": ["118.78,32.045"]})
    gdf = lc.load_facilities(df, PROFILE, crs="wgs84")
    assert gdf.geometry.x.iloc[0] == 118.78 and gdf.geometry.y.iloc[0] == 32.045


def test_find_column_compares_headers_through_text_key():
    cols = ["Ｌｎｇ", " 纬 度 ", "设施-名称"]
    assert find_column(cols, None, ("lng",), "lon") == "Ｌｎｇ"
    assert find_column(cols, None, ("纬度",), "lat") == " 纬 度 "
    assert find_column(cols, None, ("设施名称",), "name") == "设施-名称"
    assert find_column(cols, None, ("x",), "x") is None


# ====================================================================== community codes
def _communities(**cols) -> gpd.GeoDataFrame:
    n = len(next(iter(cols.values())))
    return gpd.GeoDataFrame(
        cols,
        geometry=[shapely.Point(120.75 + i * 0.001, 30.75) for i in range(n)],
        crs=4326,
    )


def test_province_city_county_street_codes_are_derived():
    c = lc.load_communities(
        _communities(
            name=["百福弄社区居委会", "大胜村村民委员会"], code=[330402007024, "330411101201"]
        )
    )
    assert c["province_code"].tolist() == ["33", "33"]
    assert c["city_code"].tolist() == ["3304", "3304"]
    assert c["county_code"].tolist() == ["330402", "330411"]
    assert c["street_code"].tolist() == ["330402007", "330411101"]
    # without a community code, the county code still gives city and province
    c = lc.load_communities(_communities(name=["甲社区"], 区县代码=["330402"]))
    assert (c["province_code"].iloc[0], c["city_code"].iloc[0]) == ("33", "3304")
    assert pd.isna(c["street_code"].iloc[0])


def test_codes_that_are_not_12_digits_are_named(caplog):
    gdf = _communities(
        name=["甲社区", "乙社区", "丙村", "丁社区", "戊社区", "己社区"],
        code=["330402007024", "33040200702", "3304020070240", "330402007", "330402", "3.30402E+11"],
        id=["a", "b", "c", "d", "e", "f"],
    )
    with caplog.at_level(logging.WARNING):
        c = lc.load_communities(gdf)
    text = caplog.text
    assert "5 community codes are not 12-digit NBS codes" in text
    assert "11 or 13 digits" in text and "rows 1 (33040200702), 2 (3304020070240)" in text
    assert "county/street codes" in text and "3 (330402007), 4 (330402)" in text
    assert "scientific notation" in text and "5 (3.30402E+11)" in text
    assert c["street_code"].tolist() == ["330402007", None, None, None, None, None]
    assert c["county_code"].notna().sum() == 1


# ====================================================================== settlement
def test_settlement_from_the_name():
    urban = ["百福弄社区居委会", "云南中路居委会", "新兴社区", "瓶山社区居民委员会", "南湖新村社区"]
    village = ["大胜村村民委员会", "曹桥村委会", "五星村", "知新村村委会"]
    undecided = ["芦潮港农场虚拟生活区", "曹杨新村", "", None, "west"]
    assert [settlement_from_name(n) for n in urban] == ["urban"] * len(urban)
    assert [settlement_from_name(n) for n in village] == ["village"] * len(village)
    assert [settlement_from_name(n) for n in undecided] == [None] * len(undecided)


def test_settlement_from_code_then_name_then_column(caplog):
    assert [settlement_from_code(v) for v in ("111", 121, 123.0, "210", 220, "130", None)] == [
        "urban",
        "urban",
        "urban",
        "village",
        "village",
        None,
        None,
    ]
    gdf = _communities(
        社区名称=["甲村村委会", "乙社区居委会", "丙农场生活区", "丁农场生活区", "戊农场生活区"],
        城乡分类代码=["121", None, "220", None, "999"],
        类型=["乡村", "城镇", "城镇", "社区", None],
    )
    with caplog.at_level(logging.INFO):
        c = lc.load_communities(gdf, settlement="类型")
    # the code decides (a village committee in a town centre, 121, is urban), then the name,
    # then the user's column; 999 is not a class code and 戊 has nothing else: left empty
    assert c["settlement"].tolist() == ["urban", "urban", "village", "urban", None]
    assert "1 urban–rural class codes (城乡分类代码) not understood (rows 4 (999))" in caplog.text
    assert "class code and the name (社区/村) disagree" in caplog.text
    assert "1 of 5 communities are neither urban" in caplog.text and "4 戊农场生活区" in caplog.text
    # without the column argument, an unknown header is not used
    c = lc.load_communities(gdf.drop(columns="城乡分类代码"))
    assert c["settlement"].tolist() == ["village", "urban", None, None, None]
    with pytest.raises(lc.InputError, match="column 'nope' \\(settlement column\\) not found"):
        lc.load_communities(gdf, settlement="nope")


def test_names_that_tell_nothing_are_reported_once_at_info(caplog):
    with caplog.at_level(logging.INFO):
        c = lc.load_communities(_communities(name=["west", "east"]))
    assert c["settlement"].isna().all()
    assert "settlement (urban or village) is unknown for all" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_jiaxing_division_list_462_urban_740_village():
    """PROVENANCE: 1,202 Jiaxing units, 462 社区 and 740 村 (no urban–rural class code in the
    file: the name decides). Loaded as a table with placeholder points at the city centre."""
    path = shared_file("jiaxing_admin/divisions_nbs2023/jiaxing_villages.csv")
    table = pd.read_csv(path, dtype=str)
    assert "城乡分类代码" not in table.columns and len(table) == 1202
    table["经度"], table["纬度"] = "120.755", "30.746"
    c = lc.load_communities(table, crs="wgs84")
    assert c["settlement"].value_counts().to_dict() == {"village": 740, "urban": 462}
    # every 社区 name is urban, every other is a village committee (村委会/村民委员会)
    has_shequ = c["community_name"].str.contains("社区")
    assert (c.loc[has_shequ, "settlement"] == "urban").all()
    assert c.loc[~has_shequ, "community_name"].str.endswith(("村委会", "村民委员会")).all()
    # codes: the file's own street/county/city/province columns agree with the derived ones
    raw = table.set_index("code")
    assert (c["street_code"] == raw.loc[c.index, "streetCode"].to_numpy()).all()
    assert (c["county_code"] == raw.loc[c.index, "areaCode"].to_numpy()).all()
    assert (c["city_code"] == raw.loc[c.index, "cityCode"].to_numpy()).all()
    assert (c["province_code"] == raw.loc[c.index, "provinceCode"].to_numpy()).all()
    assert c.groupby("county_code").size().to_dict() == {
        "330402": 143,
        "330411": 170,
        "330421": 174,
        "330424": 122,
        "330481": 236,
        "330482": 136,
        "330483": 221,
    }


def test_communities_from_a_csv_with_lonlat_columns(tmp_path):
    gx, gy = wgs84_to_gcj02([120.755, 120.76], [30.747, 30.75])
    p = tmp_path / "社区.csv"
    pd.DataFrame(
        {
            "社区名称": ["百福弄社区居委会", "大胜村村民委员会"],
            "区划代码": ["330402007024", "330411101201"],
            "常住人口": [3200, 1800],
            "经度": gx,
            "纬度": gy,
        }
    ).to_csv(p, index=False, encoding="gb18030")
    c = lc.load_communities(p, crs="gcj02")
    assert c.crs.to_epsg() == 4326
    assert dist_m(c.geometry.x, c.geometry.y, [120.755, 120.76], [30.747, 30.75]).max() < 0.01
    assert c["settlement"].tolist() == ["urban", "village"]
    assert c["population"].tolist() == [3200, 1800]
    with pytest.raises(lc.CRSError, match="say which coordinate system the '经度'/'纬度'"):
        lc.load_communities(p)


# ---------------------------------------------------------------------- counts as people write them
@pytest.mark.parametrize(
    ("cell", "count"),
    [("1,050", 1050), ("１，０５０", 1050), ("2,000张", 2000), ("约4876人", 4876),
     ("1.2万", 12000), ("1.15万", 11500), ("1.2千", 1200), ("120", 120), ("120.5", 120.5),
     ("120床位", 120), ("60托位", 60), ("120余张", 120), ("100多", 100), ("120人左右", 120),
     ("120+", 120), ("-5", -5), (35, 35), ("120-150", None), ("1,05", None), ("一百", None),
     ("1 050", None), ("100 200", None), ("120\n150", None), ("1,200户", None), ("3间", None),
     ("", None), (None, None)],
)  # fmt: skip
def test_count_value_reads_counts_as_written(cell, count):
    from lifecircle._text import count_value

    got = count_value(cell)
    assert (np.isnan(got) if count is None else got == count), (cell, got)


def test_bed_and_place_counts_are_read_and_both_columns_used(tmp_path, caplog):
    """A bureau list with 床位 for elderly care and 托位 for childcare, written as people write
    numbers. "1,050" used to become 1 bed and "2,000张" 2; the 托位 column was dropped whenever a
    床位 column was there. A range cannot be read: it is left empty and its row named."""
    df = pd.DataFrame({
        "名称": ["石鼓路老年公寓", "城南养老院", "阳光托育园", "小星星托育", "东城养老中心"],
        "类别": ["养老服务设施", "养老服务设施", "托育机构", "托育机构", "养老服务设施"],
        "经度": [120.75, 120.76, 120.77, 120.78, 120.79],
        "纬度": [30.75, 30.76, 30.77, 30.78, 30.79],
        "床位": ["1,050", "2,000张", None, None, "120-150"],
        "托位": [None, None, 60, "约40", None],
    })  # fmt: skip
    path = tmp_path / "民政名单.xlsx"
    df.to_excel(path, index=False)
    with caplog.at_level(logging.INFO, logger="lifecircle"):
        gdf = lc.load_facilities(path, lc.load_profile(PROFILE), crs="wgs84")
    cap = gdf.set_index("name")["capacity"]
    assert cap["石鼓路老年公寓"] == 1050 and cap["城南养老院"] == 2000
    assert cap["阳光托育园"] == 60 and cap["小星星托育"] == 40
    assert np.isnan(cap["东城养老中心"])
    assert "capacity '床位' is not a count in rows 6 " in caplog.text and "'120-150'" in caplog.text
    assert "'1,050' → 1,050" in caplog.text  # what was read from text is said


def test_population_written_with_separators_or_units_is_read_and_named(caplog):
    """"12,345", "约4876人" and "1.2万" are residents a planner meant; they used to be refused
    ("Write plain numbers"). They are read, and the rows read from text are named in a warning;
    a range is still refused with its value and the fix."""
    comm = gpd.GeoDataFrame(
        {"社区名称": ["甲社区", "乙社区", "丙社区", "丁社区"],
         "常住人口": ["12,345", "约4876人", "1.2万", 3000]},
        geometry=shapely.points([[120.75, 30.75], [120.76, 30.76], [120.77, 30.77], [120.78, 30.78]]),
        crs=4326,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="lifecircle"):
        c = lc.load_communities(comm)
    assert c["population"].tolist() == [12345, 4876, 12000, 3000]
    assert "'常住人口' read from text in rows 0, 1, 2" in caplog.text
    assert "'1.2万' → 12,000" in caplog.text
    with pytest.raises(lc.InputError, match=r"rows 3 .*'900-1000'.*Write one number per cell"):
        lc.load_communities(comm.assign(常住人口=["1", "2", "3", "900-1000"]))
    # the same reading in a separate population table (七普 per community)
    table = pd.DataFrame({"社区名称": ["甲社区", "乙社区", "丙社区", "丁社区"],
                          "常住人口": ["1,200", "约900人", "2万", 15]})  # fmt: skip
    joined = lc.load_communities(comm.drop(columns="常住人口"), population=table)
    assert joined["population"].tolist() == [1200, 900, 20000, 15]


def test_boundaries_take_the_population_tables_headers_and_full_width_codes():
    """A bureau heads the street column 所属街道 in both its files; the population table knew
    that header, the boundary loader did not, so street names were lost without a word and the
    name join failed ("match no community"). A code typed in full-width digits made a county
    "３３０４０２" of its own."""
    comm = gpd.GeoDataFrame(
        {"村社区名称": ["新兴社区", "城南社区"], "所属街道": ["建设街道", "新嘉街道"],
         "区划代码": ["３３０４０２００１００１", "330402002003"], "常住人口": [3200, 4100]},
        geometry=shapely.points([[120.75, 30.75], [120.76, 30.76]]), crs=4326,
    )  # fmt: skip
    c = lc.load_communities(comm)
    assert c["street_name"].tolist() == ["建设街道", "新嘉街道"]
    assert c["community_name"].tolist() == ["新兴社区", "城南社区"]
    assert c["community_code"].tolist() == ["330402001001", "330402002003"]
    assert c["county_code"].tolist() == ["330402", "330402"]
    assert c["street_code"].tolist() == ["330402001", "330402002"]


def test_a_facility_pasted_twice_into_one_list_is_named(caplog):
    """Two identical rows (same name, place and beds) counted as two facilities with twice the
    beds, without a word. The copies are named, with the way to merge them."""
    df = pd.DataFrame({"名称": ["城南养老院", "城南养老院", "城北养老院"],
                       "类别": ["养老服务设施"] * 3, "经度": [120.75, 120.75, 120.76],
                       "纬度": [30.75, 30.75, 30.76], "床位": [120, 120, 80]})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="lifecircle"):
        gdf = lc.load_facilities(df, lc.load_profile(PROFILE), crs="wgs84")
    assert len(gdf) == 3  # kept: the planner decides
    assert "1 rows repeat an earlier row" in caplog.text and "delete the copies" in caplog.text
    assert "(same category, name and place; index labels): 1." in caplog.text


def test_a_projected_boundary_layer_is_not_relabelled(tmp_path):
    """A layer in EPSG:4549 metres loaded with crs='wgs84' was labelled lon/lat with metre
    values in it (a review found it): a crs= that contradicts the layer's own is refused."""
    comm = gpd.GeoDataFrame({"社区名称": ["甲社区"], "常住人口": [100]},
                            geometry=shapely.points([[120.75, 30.75]]), crs=4326).to_crs(4549)  # fmt: skip
    with pytest.raises(lc.CRSError, match="EPSG:4549 but crs='wgs84'"):
        lc.load_communities(comm, crs="wgs84")
    assert lc.load_communities(comm).crs.to_epsg() == 4549


def test_capacity_columns_of_two_kinds_in_one_row_are_named(caplog):
    """床位 and 托位 both filled in one row (different numbers): the first is used, the row named;
    a 规模 column (classes) never fills in for a missing 学位."""
    df = pd.DataFrame({"名称": ["综合服务中心", "南湖幼儿园"], "类别": ["养老服务设施", "幼儿园"],
                       "经度": [120.75, 120.76], "纬度": [30.75, 30.76],
                       "床位": [120, None], "托位": [40, None], "学位": [None, None], "规模": [None, 4]})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="lifecircle"):
        gdf = lc.load_facilities(df, lc.load_profile(PROFILE), crs="wgs84")
    cap = gdf.set_index("name")["capacity"]
    assert cap["综合服务中心"] == 120 and np.isnan(cap["南湖幼儿园"])
    assert "rows 0 (index labels) hold a count in both '床位' and '托位'" in caplog.text
