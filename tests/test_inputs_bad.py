"""The bad-input catalogue: each loader, given a broken input, raises a named error whose message
names the file (or row) and the fix — never a pandas/GEOS/pyogrio traceback.

Each case is (loader, builder of the bad input, error type, message fragments). A builder takes
``tmp_path`` and returns the input. A new loader inherits the catalogue by adding a line to
``LOADERS`` (it is then run on every generic case) and its own cases to ``CASES``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from conftest import FIXTURES
from lifecircle.communities import demand_points

PROFILE = FIXTURES / "profile_facilities.toml"


# ---------------------------------------------------------------------- loaders under test
def _facilities(obj: Any) -> Any:
    return lc.load_facilities(obj, PROFILE, crs="wgs84")


def _communities(obj: Any) -> Any:
    return lc.load_communities(obj, crs="wgs84")


#: Loaders of tables: every generic case below runs on each.
LOADERS: dict[str, Callable[[Any], Any]] = {
    "load_facilities": _facilities,
    "load_communities": _communities,
}


# ---------------------------------------------------------------------- builders
def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def build(tmp_path: Path) -> Path:
        p = tmp_path / name
        if isinstance(data, str):
            p.write_text(data, encoding="utf-8")
        else:
            p.write_bytes(data)
        return p

    return build


def _xlsx_header_only(tmp_path: Path) -> Path:
    p = tmp_path / "只有表头.xlsx"
    pd.DataFrame(columns=["名称", "经度", "纬度"]).to_excel(p, index=False)
    return p


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "没有这个文件.csv"


def _empty_geodataframe(tmp_path: Path) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def _blank_rows_frame(tmp_path: Path) -> pd.DataFrame:
    return pd.DataFrame({"名称": [None, None], "经度": [None, None], "纬度": [None, None]})


#: (case id, builder, error type, message fragments) run on every loader of LOADERS.
GENERIC = [
    ("csv-0-bytes", _write("名单.csv", b""), lc.InputError, ["名单.csv", "empty (0 bytes)"]),
    ("csv-blanks", _write("空白.csv", "\n  \n"), lc.InputError, ["空白.csv", "no text"]),
    (
        "csv-header-only",
        _write("表头.csv", "名称,经度,纬度\n"),
        lc.InputError,
        ["表头.csv", "no rows"],
    ),
    ("xlsx-0-bytes", _write("名单.xlsx", b""), lc.InputError, ["名单.xlsx", "empty (0 bytes)"]),
    ("xlsx-header-only", _xlsx_header_only, lc.InputError, ["只有表头.xlsx", "no rows"]),
    (
        "xlsx-damaged",
        _write("坏.xlsx", b"PK\x03\x04 not really a workbook"),
        lc.InputError,
        ["坏.xlsx", "cannot read as an Excel workbook", "save it again as .xlsx"],
    ),
    (
        "csv-unbalanced-quote",
        _write("引号.csv", '名称,经度,纬度\n"甲幼儿园,120.75,30.75\n乙,1,2\n'),
        lc.InputError,
        ["引号.csv", "cannot read as a table"],
    ),
    ("gpkg-damaged", _write("坏.gpkg", b"SQLite format 3\x00junk"), lc.InputError, ["坏.gpkg"]),
    ("file-missing", _missing, lc.InputError, ["file not found", "没有这个文件.csv"]),
    ("unknown-suffix", _write("名单.docx", b"x"), lc.InputError, ["don't know how to read"]),
    (
        "osm-file",
        _write("map.osm.pbf", b"x"),
        lc.InputError,
        ["is an OSM file, not a table", "facilities_from_osm"],
    ),
    ("frame-empty", lambda tmp: pd.DataFrame({"名称": []}), lc.InputError, ["empty (no rows)"]),
    ("geoframe-empty", _empty_geodataframe, lc.InputError, ["empty (no rows)"]),
    ("frame-blank-rows", _blank_rows_frame, lc.InputError, ["only blank rows"]),
    ("not-a-table", lambda tmp: 42, lc.InputError, ["expected a file path or a (Geo)DataFrame"]),
]


def _gdf(**cols: Any) -> gpd.GeoDataFrame:
    n = len(next(iter(cols.values())))
    return gpd.GeoDataFrame(
        cols, geometry=[shapely.Point(120.75, 30.75 + i / 1000) for i in range(n)], crs=4326
    )


#: Cases of one loader: (loader, case id, builder, error type, message fragments).
CASES = [
    (
        lc.load_communities,
        "no-geometry-no-lonlat",
        lambda tmp: pd.DataFrame({"社区名称": ["甲社区"], "常住人口": [100]}),
        lc.InputError,
        ["no geometry and no 经度/纬度 columns", "社区名称, 常住人口", "crs="],
    ),
    (
        lc.load_communities,
        "lonlat-without-crs",
        lambda tmp: pd.DataFrame({"社区名称": ["甲社区"], "经度": [120.7], "纬度": [30.7]}),
        lc.CRSError,
        ["say which coordinate system", "gcj02"],
    ),
    (
        _communities,
        "lonlat-not-numbers",
        lambda tmp: pd.DataFrame(
            {"社区名称": ["甲社区", "乙社区"], "经度": [120.7, "东"], "纬度": [30.7, 30.8]}
        ),
        lc.InputError,
        ["rows 1 (index labels)", "no usable 经度/纬度"],
    ),
    (
        lc.load_communities,
        "population-not-numbers",
        lambda tmp: _gdf(社区名称=["甲社区", "乙社区"], 常住人口=["100", "约两千"]),
        lc.InputError,
        ["'常住人口'", "not a number of residents", "rows 1", "'约两千'"],
    ),
    (
        lambda obj: lc.load_communities(obj, population="人数"),
        "column-not-found",
        lambda tmp: _gdf(社区名称=["甲社区"], 常住人口=[100]),
        lc.InputError,
        ["column '人数' (population column) not found", "社区名称, 常住人口"],
    ),
    (
        lambda obj: lc.load_facilities(obj, PROFILE),
        "facilities-without-crs",
        lambda tmp: pd.DataFrame({"名称": ["甲幼儿园"], "经度": [120.7], "纬度": [30.7]}),
        lc.CRSError,
        ["say which coordinate system", "gcj02", "bd09"],
    ),
    (
        demand_points,
        "demand-empty-communities",
        lambda tmp: lc.load_communities(_gdf(name=["甲社区"], population=[10])).iloc[:0],
        lc.InputError,
        ["communities frame is empty"],
    ),
    (
        demand_points,
        "demand-not-communities",
        lambda tmp: _gdf(name=["甲社区"]),
        lc.InputError,
        ["load_communities"],
    ),
    (
        lambda src: lc.facilities_from_osm(src, PROFILE),
        "osm-file-missing",
        lambda tmp: tmp / "nope.osm.pbf",
        lc.InputError,
        ["OSM file not found"],
    ),
    (
        lambda src: lc.facilities_from_osm(src, PROFILE),
        "osm-file-damaged",
        _write("坏.osm.pbf", b"\x00\x00\x00\x0dnot a pbf at all"),
        lc.InputError,
        ["cannot read OSM file", "坏.osm.pbf"],
    ),
    (
        lambda src: lc.facilities_from_osm(src, PROFILE),
        "osm-unsupported-source",
        lambda tmp: 42,
        lc.InputError,
        ["unsupported OSM source"],
    ),
]


def _check(loader: Callable, obj: Any, error: type, fragments: list[str]) -> None:
    t0 = time.perf_counter()
    with pytest.raises(error) as exc:
        loader(obj)
    msg = str(exc.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in: {msg}"
    assert time.perf_counter() - t0 < 10, "a bad input must fail fast"


@pytest.mark.parametrize("loader", list(LOADERS), ids=list(LOADERS))
@pytest.mark.parametrize(
    ("build", "error", "fragments"),
    [case[1:] for case in GENERIC],
    ids=[case[0] for case in GENERIC],
)
def test_generic_bad_inputs(loader, build, error, fragments, tmp_path):
    _check(LOADERS[loader], build(tmp_path), error, fragments)


@pytest.mark.parametrize(
    ("loader", "build", "error", "fragments"),
    [(c[0], c[2], c[3], c[4]) for c in CASES],
    ids=[c[1] for c in CASES],
)
def test_bad_inputs_of_one_loader(loader, build, error, fragments, tmp_path):
    _check(loader, build(tmp_path), error, fragments)
