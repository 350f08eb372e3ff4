"""Loading communities (社区/村) with population, the administrative hierarchy and settlement."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import CRSError, InputError
from ..crs import WGS84
from ..sources.coords import layer_system, layer_to_wgs84, to_wgs84
from ..sources.tables import Table, coerce_numbers, find_column, find_lonlat, read_table
from .codes import check_codes, code_text, parent_codes, settlements
from .population import TABLE_COLUMNS, is_table, join_population, read_population

log = logging.getLogger(__name__)

#: Standard columns of a communities frame, in order.
COMMUNITY_COLUMNS = [
    "community_id",
    "community_name",
    "community_code",
    "street_code",
    "street_name",
    "county_code",
    "county_name",
    "population",
    "pop_elderly",
    "pop_child_0_3",
    "pop_child_3_6",
    "pop_source",
    "pop_estimated",
    "province_code",
    "city_code",
    "settlement",
]

#: Population groups and their columns (``total`` is ``population``).
GROUP_COLUMNS = {
    "total": "population",
    "elderly": "pop_elderly",
    "child_0_3": "pop_child_0_3",
    "child_3_6": "pop_child_3_6",
}

# Headers recognised when the caller does not name the column (compared through _text.key).
_OWN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("community_id", "id", "编号", "社区编号", "fid"),
    "name": ("community_name", "name", "名称", "社区名称", "社区", "村社区", "社区名", "村居名称"),
    "code": (
        "community_code",
        "code",
        "区划代码",
        "统计用区划代码",
        "社区代码",
        "代码",
        "village_code",
    ),
    "population": ("population", "pop", "人口", "常住人口", "户籍人口", "总人口", "人口数"),
    "street": ("street_name", "street", "街道", "街道名称", "乡镇", "乡镇街道", "镇街", "街道/镇"),
    "street_code": ("street_code", "街道代码", "乡镇代码", "streetcode"),
    "county": ("county_name", "county", "district", "区县", "区", "县", "县市区", "区县名称"),
    "county_code": ("county_code", "区县代码", "areacode", "district_code"),
    "elderly": (
        "pop_elderly",
        "elderly",
        "60岁以上",
        "60岁及以上",
        "老年人口",
        "60+",
        "pop_60plus",
    ),
    "child_0_3": ("pop_child_0_3", "child_0_3", "0-3岁", "0~3岁", "婴幼儿", "0-3"),
    "child_3_6": ("pop_child_3_6", "child_3_6", "3-6岁", "3~6岁", "学龄前儿童", "3-6"),
    "urban_rural_code": (
        "urban_rural_code",
        "城乡分类代码",
        "城乡分类",
        "城乡代码",
        "城乡划分代码",
        "城乡属性代码",
    ),
    "settlement": ("settlement", "城乡类型", "城乡属性", "村居类型", "社区类型"),
}

#: Headers of a boundary layer or community list: its own, then those of a population table for
#: the same role (a bureau uses one set of headers for both files: 所属街道, 村社区名称 …).
_ALIASES: dict[str, tuple[str, ...]] = {
    k: tuple(dict.fromkeys([*v, *TABLE_COLUMNS.get(k, ())])) for k, v in _OWN_ALIASES.items()
}

_GROUPS = [
    ("population", "population"),
    ("elderly", "pop_elderly"),
    ("child_0_3", "pop_child_0_3"),
    ("child_3_6", "pop_child_3_6"),
]


def _geometry(table: Table, crs: Any, lon: Any, lat: Any, what: str) -> gpd.GeoDataFrame:
    """The table as a GeoDataFrame: its own geometry, or points from lon/lat columns."""
    df = table.frame
    if table.geometry_name is not None and lon is None and lat is None:
        system = layer_system(df.crs, crs, what)
        if system in ("gcj02", "bd09"):  # boundaries drawn on Amap/Baidu: every vertex moved
            log.info("%s: %d geometries converted from %s to WGS84", what, len(df), system)
            geoms = layer_to_wgs84(df.geometry.values, system)
            return gpd.GeoDataFrame(df.drop(columns=df.geometry.name), geometry=geoms, crs=WGS84)
        if df.crs is not None and crs is None:
            return df
        return df.set_crs(WGS84 if system == "wgs84" else system, allow_override=True)
    try:
        ll = find_lonlat(df, lon, lat, what, exclude=table.geometry_name)
    except InputError:
        if lon is not None or lat is not None:
            raise
        raise InputError(
            f"{what}: no geometry and no 经度/纬度 columns (the table has columns "
            f"{', '.join(map(str, df.columns))}). Give boundaries (GeoPackage/GeoJSON/Shapefile "
            "or a GeoDataFrame), or centre points as 经度/纬度 columns with crs= ('wgs84', "
            "'gcj02' for Amap, 'bd09' for Baidu)"
        ) from None
    if crs is None:
        raise CRSError(
            f"{what}: say which coordinate system the {ll.lon!r}/{ll.lat!r} columns are in, "
            "e.g. load_communities(..., crs='gcj02') for Amap/高德, 'bd09' for Baidu/百度, "
            "'wgs84' for GPS/OSM/CGCS2000 lon/lat"
        )
    x, bad_x = coerce_numbers(df[ll.lon])
    y, bad_y = coerce_numbers(df[ll.lat])
    bad = bad_x | bad_y | ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise InputError(
            f"{what}: {table.rows(bad, 5)} have no usable {ll.lon}/{ll.lat}; fill them in or "
            "delete those rows"
        )
    wlon, wlat = to_wgs84(x, y, crs)
    rest = df.drop(columns=ll.synthetic)
    return gpd.GeoDataFrame(rest, geometry=shapely.points(wlon, wlat), crs=WGS84)


def _check_geometry(gdf: gpd.GeoDataFrame, table: Table, what: str) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise InputError(f"{what}: {table.rows(bad, 5)} have no geometry")
    kinds = set(gdf.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon", "Point"}:
        raise InputError(f"{what}: geometries must be polygons or points, got {sorted(kinds)}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning("%s: %d invalid polygons repaired with make_valid", what, int(invalid.sum()))
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(geoms[invalid])
    return gdf


def _ids(out: pd.DataFrame, gdf: pd.DataFrame, cols: dict, table: Table, what: str) -> None:
    """``community_id``: the id column, else the code column, else ``c00000``, ``c00001`` ..."""
    if cols["id"]:
        out["community_id"] = code_text(gdf[cols["id"]])
    elif cols["code"]:
        out["community_id"] = out["community_code"]
    else:
        out["community_id"] = [f"c{i:05d}" for i in range(len(gdf))]
    empty = out["community_id"].isna().to_numpy()
    if empty.any():
        raise InputError(f"{what}: empty community id in {table.rows(empty, 5)}")
    dup = out["community_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{what}: duplicate community ids {sorted(set(out['community_id'][dup]))[:5]} in "
            f"{table.rows(dup, 5)}; ids must be unique"
        )


def _population(out: pd.DataFrame, gdf: pd.DataFrame, cols: dict, table: Table, what: str) -> None:
    for name, col in _GROUPS:
        if not cols[name]:
            out[col] = np.nan
            continue
        out[col] = read_population(gdf[cols[name]], lambda m: table.rows(m, 5), what, cols[name])
    over = (out["pop_elderly"] > out["population"]).to_numpy()
    if over.any():
        raise InputError(f"{what}: more people aged 60+ than residents in {table.rows(over, 5)}")
    out["pop_source"] = np.where(out["population"].notna(), "input", None)
    out["pop_estimated"] = False


def load_communities(
    source: Any,
    *,
    id: str | None = None,  # noqa: A002 - the issue's parameter name
    name: str | None = None,
    code: str | None = None,
    population: Any = None,
    street: str | None = None,
    street_code: str | None = None,
    county: str | None = None,
    county_code: str | None = None,
    elderly: str | None = None,
    child_0_3: str | None = None,
    child_3_6: str | None = None,
    urban_rural_code: str | None = None,
    settlement: str | None = None,
    layer: str | int | None = None,
    crs: Any = None,
    lon: str | None = None,
    lat: str | None = None,
    encoding: str | None = None,
    population_columns: dict[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Load communities (polygons or points) with population, hierarchy and settlement.

    Parameters
    ----------
    source : GeoDataFrame or DataFrame, or a GeoPackage/GeoJSON/Shapefile/Parquet, CSV or Excel
        file. Layers need a CRS; tables without geometry need lon/lat columns and ``crs=``.
    id, name, code, population, street, street_code, county, county_code :
        Column names. When not given, common English and Chinese names are recognised
        (``社区名称``, ``常住人口``, ``街道``, ``区县`` ...). ``code`` is the 12-digit NBS statistical
        code (统计用区划代码); street (9 digits), county (6), city (4) and province (2) codes are
        derived from it (codes of another length are reported with a warning).
    elderly, child_0_3, child_3_6 : optional age-group columns (people aged 60+, 0–3, 3–6)
        used to weight 一老一小 needs.
    urban_rural_code : the NBS urban–rural class code column (城乡分类代码, recognised by that
        header): 1xx → ``"urban"``, 2xx → ``"village"``.
    settlement : a column of the user's own urban/village values (urban/village, 城镇/乡村,
        社区/村), used where neither the class code nor the name decides.
    layer : GeoPackage layer or Excel sheet.
    crs, lon, lat : the coordinate system (``"wgs84"``, ``"gcj02"``, ``"bd09"`` or an EPSG code):
        of the lon/lat columns of a table without geometry (needed), or of a layer's geometry
        when the file has none or holds GCJ-02/BD-09 lon/lat (boundaries drawn on Amap or Baidu,
        which files label as WGS84 or not at all: converted vertex by vertex). ``lon``/``lat``:
        the columns (found from 经度/纬度, lng/lat ... when not given).
    encoding : CSV text encoding (default: detected).
    population : a column name, or a separate population table (DataFrame, CSV or Excel file;
        a 七普/统计 table per community), joined by the 12-digit code, else by normalised name
        within street (社区/居委会/村委会 endings and full-width characters ignored). Rows that
        match no community or several are left out and logged; every row's outcome is in
        ``gdf.attrs["population_join"]`` (see :func:`lifecircle.communities.join_population`).
    population_columns : with a population table, its column names by role (``code``,
        ``name``, ``street``, ``population``, ``elderly``, ``child_0_3``, ``child_3_6``) where
        the headers are not recognised.

    Returns
    -------
    GeoDataFrame in the source CRS (WGS84 for lon/lat tables) with :data:`COMMUNITY_COLUMNS`
    and ``geometry``, indexed by ``community_id`` (string). ``settlement`` is ``"urban"``
    (城镇社区, 社区居委会), ``"village"`` (村委会) or None where neither the class code, the
    name (…社区/…居委会, …村/…村委会) nor the settlement column tells (those rows are logged).
    Population may be NaN: :func:`demand_points` can estimate it.
    """
    pop_table = population if is_table(population) else None
    population = None if pop_table is not None else population
    table = read_table(source, encoding, layer, what="communities")
    what = f"communities ({table.name})"
    gdf = _check_geometry(_geometry(table, crs, lon, lat, what), table, what)
    given = {"id": id, "name": name, "code": code, "population": population, "street": street}
    given |= {"street_code": street_code, "county": county, "county_code": county_code}
    given |= {"elderly": elderly, "child_0_3": child_0_3, "child_3_6": child_3_6}
    given |= {"urban_rural_code": urban_rural_code, "settlement": settlement}
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    cols = {
        k: find_column(columns, g, _ALIASES[k], f"{k} column", where=what) for k, g in given.items()
    }
    out = pd.DataFrame(index=gdf.index)
    out["community_code"] = code_text(gdf[cols["code"]]) if cols["code"] else None
    _ids(out, gdf, cols, table, what)
    out["community_name"] = gdf[cols["name"]].astype(str) if cols["name"] else out["community_id"]
    for col in ("street_code", "county_code"):
        out[col] = code_text(gdf[cols[col]]) if cols[col] else None
    out["street_name"] = gdf[cols["street"]].astype(object) if cols["street"] else None
    out["county_name"] = gdf[cols["county"]].astype(object) if cols["county"] else None
    code_ok = check_codes(out["community_code"], table.labels, table.row_note, what)
    parent_codes(out, code_ok)
    _population(out, gdf, cols, table, what)
    kinds = settlements(
        gdf[cols["name"]] if cols["name"] else pd.Series([None] * len(out), dtype=object),
        gdf[cols["urban_rural_code"]] if cols["urban_rural_code"] else None,
        gdf[cols["settlement"]] if cols["settlement"] else None,
        table.labels,
        what,
    )
    out["settlement"] = pd.Series(kinds, index=out.index, dtype=object)
    res = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    res = res.set_index("community_id", drop=False)
    res.index.name = None
    res = res[COMMUNITY_COLUMNS + ["geometry"]].copy()
    if pop_table is not None:
        values, report = join_population(res, pop_table, columns=population_columns)
        for col in values.columns:
            res[col] = values[col].to_numpy()
        res["pop_source"] = np.where(res["population"].notna(), "table", None)
        res.attrs["population_join"] = report.to_dict("records")
    return res
