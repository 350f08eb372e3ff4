"""The project reserve pool (补短板项目库): export ranked gaps, keep what planners wrote.

:func:`export_pool` writes the projects of an analysis into a pool kept in a GeoPackage (the
default, embedded store), a PostgreSQL/PostGIS table, an Excel workbook, a CSV file or GeoJSON.
Re-exporting is an **upsert**: new projects are added, the fields lifecircle computes are
refreshed, the fields planners own (status, year, owner, notes, and any column or row they added)
are never overwritten, and projects a new run no longer lists are marked (``in_latest_run`` false,
``missing_since``), never deleted. Each export is one transaction (SQLite / PostgreSQL) or one
atomic file replacement (xlsx, csv, GeoJSON): a failure leaves the pool as it was.

:func:`read_pool` reads any of these back into one GeoDataFrame (English column names,
EPSG:4326, admin codes as strings). :data:`POOL_COLUMNS` documents every column (see also
``docs/pool.md``).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import logging
import math
import os
import re
import sqlite3
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ... import settings
from ..._errors import CRSError, InputError, LifecircleError, PoolError
from ..._files import atomic_write
from ..._progress import progress
from ...crs import cgcs2000_gk3_epsg, in_china, utm_epsg

log = logging.getLogger(__name__)

#: Version of the pool layout written by this lifecircle; stored in ``lifecircle_meta``.
SCHEMA_VERSION = 1

#: Grid (metres, in the CGCS2000 Gauss-Krüger / UTM zone of the point) that proposed-site
#: locations are snapped to before hashing them into a project id.
GRID_M = 50.0

#: Planner-owned ``status`` values, in workflow order, and the default of a new project.
STATUSES: tuple[str, ...] = ("储备", "申报", "在建", "建成", "取消")
DEFAULT_STATUS = "储备"

#: Name of the table (GeoPackage, PostgreSQL) or hidden sheet (xlsx) holding schema versions.
META_TABLE = "lifecircle_meta"

Owner = Literal["computed", "planner"]
IfExists = Literal["upsert", "fail"]
Headers = Literal["zh", "en"]


@dataclass(frozen=True)
class PoolColumn:
    """One column of the pool: storage name, Chinese and English headers, type and owner.

    ``owner`` is ``"computed"`` (written by lifecircle, refreshed on every export of a run that
    lists the project) or ``"planner"`` (written by people, never overwritten by an export).
    ``dtype`` is one of ``str``, ``float``, ``int``, ``bool``, ``date``, ``point``.
    """

    name: str
    zh: str
    en: str
    dtype: str
    owner: Owner
    description: str


def _c(name: str, zh: str, en: str, dtype: str, description: str, owner: Owner = "computed"):
    return PoolColumn(name, zh, en, dtype, owner, description)


#: Every column of the pool, in the order files are written. ``geometry`` is a Point in
#: EPSG:4326 (``geom`` in GeoPackage/PostGIS; ``lon``/``lat`` columns 经度/纬度 in xlsx and csv).
POOL_COLUMNS: tuple[PoolColumn, ...] = (
    _c(
        "project_id",
        "项目编号",
        "Project ID",
        "str",
        "Stable id 'LC-' + 12 hex digits of a SHA-1 of category, admin codes and location "
        "(see project_id); a re-run finds the same project. 稳定编号，重新分析仍对应同一项目",
    ),
    _c(
        "priority_rank",
        "优先序",
        "Priority rank",
        "int",
        "Rank in the run, 1 = most urgent. 本次分析中的优先顺序，1 为最急",
    ),
    _c("county_name", "区县", "County", "str", "County / district name. 区县名称"),
    _c("street_name", "街道(乡镇)", "Street / town", "str", "Street or town name. 街道或乡镇名称"),
    _c("community_name", "社区(村)", "Community", "str", "Community or village name. 社区或村名称"),
    _c(
        "category_zh",
        "设施类别",
        "Facility category",
        "str",
        "Facility category in Chinese, e.g. 老年人日间照料中心. 设施类别中文名",
    ),
    _c(
        "level",
        "生活圈层级",
        "Life-circle level",
        "str",
        "L5, L10 or L15 (5/10/15-minute walking life circle). 5/10/15 分钟生活圈",
    ),
    _c(
        "reason_zh",
        "补短板理由",
        "Reason (Chinese)",
        "str",
        "Plain-language reason, e.g. 5分钟生活圈缺托育: 最近 1,240 m, 3,400 人未覆盖. 通俗理由",
    ),
    _c(
        "status",
        "项目状态",
        "Status",
        "str",
        "储备 → 申报 → 在建 → 建成, or 取消; new projects start as 储备. 由规划人员维护",
        "planner",
    ),
    _c(
        "year",
        "计划年度",
        "Planned year",
        "int",
        "Year the project is planned for (integer, may be empty). 计划实施年度",
        "planner",
    ),
    _c(
        "owner",
        "责任单位",
        "Responsible unit",
        "str",
        "Department or person responsible. 责任单位或责任人",
        "planner",
    ),
    _c("notes", "备注", "Notes", "str", "Free notes. 备注", "planner"),
    _c(
        "new_covered_pop",
        "新增覆盖人口",
        "Newly covered residents",
        "float",
        "Residents a facility here would newly cover. 在此建设可新增覆盖的居民数",
    ),
    _c(
        "uncovered_pop",
        "现状未覆盖人口",
        "Uncovered residents",
        "float",
        "Residents not covered now. 现状未被覆盖的居民数",
    ),
    _c(
        "nearest_m",
        "现状最近距离(米)",
        "Nearest facility now (m)",
        "float",
        "Walking network distance to the nearest existing facility; empty = none within reach. "
        "到最近现状设施的步行网络距离，空 = 可达范围内没有",
    ),
    _c(
        "threshold_m",
        "标准距离(米)",
        "Standard distance (m)",
        "float",
        "Walking distance the standard asks for. 标准要求的步行距离",
    ),
    _c(
        "priority_score",
        "优先级得分",
        "Priority score",
        "float",
        "Score the rank is sorted by (higher = more urgent). 排序所用得分，越高越急",
    ),
    _c(
        "location_kind",
        "位置类型",
        "Location kind",
        "str",
        "proposed_site (a proposed site) or community (somewhere in the community). "
        "proposed_site = 建议选址；community = 社区内待选址",
    ),
    _c(
        "category",
        "设施类别代码",
        "Category id",
        "str",
        "Facility category id of the standard profile, e.g. elderly_daycare. 设施类别代码",
    ),
    _c(
        "county_code",
        "区县代码",
        "County code",
        "str",
        "NBS county code (6 digits), text. 国家统计局区划代码，文本",
    ),
    _c(
        "street_code",
        "街道代码",
        "Street code",
        "str",
        "NBS street/town code (9 digits), text. 街道(乡镇)代码，文本",
    ),
    _c(
        "community_code",
        "社区代码",
        "Community code",
        "str",
        "NBS community code (12 digits), text. 社区(村)代码，文本",
    ),
    _c(
        "reason_en",
        "补短板理由(英文)",
        "Reason (English)",
        "str",
        "The reason in English. 英文理由",
    ),
    _c(
        "run_id",
        "分析批次",
        "Run ID",
        "str",
        "Latest analysis run that listed the project; the computed fields come from it. "
        "最近一次列入该项目的分析批次，计算字段取自该批次",
    ),
    _c("run_date", "分析日期", "Run date", "date", "Date of that run (YYYY-MM-DD). 该批次分析日期"),
    _c(
        "profile",
        "标准配置",
        "Profile",
        "str",
        "Standard profile the run used. 该批次使用的标准配置",
    ),
    _c(
        "first_seen_run",
        "首次列入批次",
        "First seen in run",
        "str",
        "Run that first listed the project. 首次列入的分析批次",
    ),
    _c(
        "in_latest_run",
        "最新分析仍列入",
        "In latest run",
        "bool",
        "Whether the latest export's run still lists the project (是/否). 最近一次导出的分析是否仍列入",
    ),
    _c(
        "missing_since",
        "自此批次未列入",
        "Missing since run",
        "str",
        "First run that no longer listed the project (empty while listed); the row is kept. "
        "从该批次起不再列入（行保留，不删除）",
    ),
    _c(
        "geometry",
        "位置",
        "Location",
        "point",
        "Point in EPSG:4326; xlsx/csv hold it as 经度/纬度 (lon/lat). 位置，WGS84 经纬度",
    ),
)

_COL = {c.name: c for c in POOL_COLUMNS}
NAMES: tuple[str, ...] = tuple(c.name for c in POOL_COLUMNS)
#: Columns a projects frame from the analysis provides (besides geometry).
INPUT_COLUMNS: tuple[str, ...] = (
    "county_code", "county_name", "street_code", "street_name", "community_code",
    "community_name", "category", "category_zh", "level", "location_kind", "new_covered_pop",
    "nearest_m", "threshold_m", "uncovered_pop", "priority_score", "priority_rank",
    "reason_zh", "reason_en",
)  # fmt: skip
_REQUIRED_INPUT = ("category", "community_code")
PLANNER_COLUMNS: tuple[str, ...] = tuple(c.name for c in POOL_COLUMNS if c.owner == "planner")
_RUN_COLUMNS = ("run_id", "run_date", "profile")
_BOOK_COLUMNS = ("first_seen_run", "in_latest_run", "missing_since")
#: Columns compared to decide whether a re-listed project "changed".
_COMPARED = (*INPUT_COLUMNS, "profile", "geometry")
#: Columns an export rewrites on a project the run lists (never planner columns).
_REFRESHED = tuple(
    n for n in NAMES if _COL[n].owner == "computed" and n not in ("project_id", "first_seen_run")
)
_CODE_COLUMNS = ("county_code", "street_code", "community_code")
_LONLAT = {"lon": ("经度", "Longitude"), "lat": ("纬度", "Latitude")}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_RESERVED_PREFIXES = ("gpkg_", "rtree_", "sqlite_", "pg_")


# --------------------------------------------------------------------------------------------
# public helpers


def pool_schema() -> pd.DataFrame:
    """The pool's columns as a table: name, Chinese and English header, type, owner, meaning."""
    return pd.DataFrame(
        [(c.name, c.zh, c.en, c.dtype, c.owner, c.description) for c in POOL_COLUMNS],
        columns=["column", "header_zh", "header_en", "type", "owner", "description"],
    )


def check_identifier(name: object, what: str = "layer") -> str:
    """Return ``name`` if it is a safe SQL identifier, else raise :class:`InputError`.

    Allowed: a letter or ``_`` then up to 62 letters, digits or ``_`` (PostgreSQL's limit).
    Names are additionally quoted when used; nothing user-given is pasted into SQL raw.
    """
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise InputError(
            f"{what} name {name!r} is not allowed: use letters, digits and _ only, starting "
            "with a letter or _, at most 63 characters (e.g. 'lifecircle_pool')"
        )
    if what == "layer" and (
        name.lower().startswith(_RESERVED_PREFIXES) or name.lower() == META_TABLE
    ):
        raise InputError(f"layer name {name!r} is reserved; choose another, e.g. 'jiaxing_pool'")
    return name


@functools.lru_cache(maxsize=16)
def _to_metric(epsg: int) -> Transformer:
    return Transformer.from_crs(4326, epsg, always_xy=True)


def _metric_epsg(lon: float, lat: float) -> int:
    """EPSG of lifecircle's metric CRS at (lon, lat): CGCS2000 GK 3° zone in China, else UTM."""
    return cgcs2000_gk3_epsg(lon) if in_china(lon, lat) else utm_epsg(lon, lat)


def _metric_xy(lon: float, lat: float) -> tuple[float, float]:
    return _to_metric(_metric_epsg(lon, lat)).transform(lon, lat)


def _key(value: object) -> str:
    return "" if _is_na(value) else str(value).strip()


def project_id(
    category: str,
    county_code: str,
    street_code: str,
    community_code: str,
    location_kind: str,
    lon: float | None,
    lat: float | None,
    *,
    grid_m: float = GRID_M,
) -> str:
    """Deterministic project id: ``"LC-"`` + the first 12 hex digits of a SHA-1.

    The hashed key is the category, the county, street and community codes, the location kind
    and, for ``proposed_site`` projects only, the cell of a ``grid_m`` grid (default 50 m) the
    site falls in, computed in the CGCS2000 Gauss-Krüger zone of the point (UTM outside
    China). A ``community`` project is identified by its community alone, so a moved community
    centroid keeps its id. Coordinate noise of a few metres gives the same id; a site that moves
    across a grid line is still recognised by :func:`export_pool`, which adopts the id of an
    unmatched pool project of the same category and community less than ``grid_m`` away.

    Parameters
    ----------
    category, county_code, street_code, community_code, location_kind
        As in the projects frame (codes as strings).
    lon, lat
        Location in EPSG:4326 degrees (ignored for ``location_kind="community"``).
    grid_m
        Grid size in metres.

    Returns
    -------
    str
        e.g. ``"LC-3f2a9c01b7d4"`` (letters first, so Excel never turns it into a number).
    """
    kind = _key(location_kind)
    cell = ("", "")
    if kind != "community":
        if lon is None or lat is None or not (np.isfinite(lon) and np.isfinite(lat)):
            raise InputError(f"project of category {category!r} has no location (lon/lat)")
        x, y = _metric_xy(float(lon), float(lat))
        cell = (str(math.floor(x / grid_m)), str(math.floor(y / grid_m)))
    parts = ["lcpool1", *(_key(v) for v in (category, county_code, street_code, community_code)),
             kind, *cell]  # fmt: skip
    return "LC-" + hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------------------------
# values


def _is_na(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and value == ""


def _code_text(value: object) -> str | None:
    """Admin codes and ids as text: 330402001001 (int, or the float 3.30402001001e11) → str."""
    if _is_na(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip() or None


def _text(value: object) -> str | None:
    if _is_na(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _float(value: object) -> float | None:
    if _is_na(value) or isinstance(value, bool):
        return None
    try:
        out = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _int(value: object) -> int | None:
    out = _float(value)
    return int(out) if out is not None and out.is_integer() else None


_YEAR = re.compile(r"\s*(\d{4})(?:\.0+)?\s*年?\s*")


def _year(value: object, pid: object) -> int | str | None:
    """Planner's year: an int when it reads as one; otherwise the text, kept as written."""
    if _is_na(value):
        return None
    if isinstance(value, int | np.integer | float | np.floating) and not isinstance(value, bool):
        if float(value).is_integer():
            return int(value)
    m = _YEAR.fullmatch(str(value))
    if m:
        return int(m.group(1))
    log.warning("project %s: year %r is not a year; kept as written", pid, value)
    return str(value)


_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f"}


def _bool(value: object) -> bool | None:
    if _is_na(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _date(value: object) -> str | None:
    if _is_na(value):
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text


def _coerce(raw: dict[str, Any]) -> dict[str, Any]:
    """Normalise a record read from any store: pool columns typed, other keys kept as they are."""
    out = dict(raw)
    pid = _code_text(raw.get("project_id"))
    for name in NAMES:
        col = _COL[name]
        value = raw.get(name)
        if name == "geometry":
            out[name] = None if value is None or _is_na(value) else value
        elif name == "year":
            out[name] = _year(value, pid)
        elif name in _CODE_COLUMNS or name == "project_id":
            out[name] = _code_text(value)
        elif col.dtype == "str":
            out[name] = _text(value)
        elif col.dtype == "float":
            out[name] = _float(value)
        elif col.dtype == "int":
            out[name] = _int(value)
        elif col.dtype == "bool":
            out[name] = _bool(value)
        elif col.dtype == "date":
            out[name] = _date(value)
    status = out.get("status")
    if status is not None and status not in STATUSES:
        log.info("project %s: status %r is not one of %s; kept as written", pid, status, STATUSES)
    return out


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """The values one store row is written from (hook point: every writer calls it per row)."""
    return {k: (None if _is_na(v) else v) for k, v in row.items() if not k.startswith("_")}


def _same(name: str, a: object, b: object) -> bool:
    if _is_na(a) or _is_na(b):
        return _is_na(a) and _is_na(b)
    if name == "geometry":
        if a.is_empty or b.is_empty or a.geom_type != "Point" or b.geom_type != "Point":
            return a.equals(b)
        return abs(a.x - b.x) < 1e-7 and abs(a.y - b.y) < 1e-7
    if _COL[name].dtype in ("float", "int"):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _planner_edited(row: dict[str, Any]) -> bool:
    return (row.get("status") not in (None, DEFAULT_STATUS)) or any(
        not _is_na(row.get(n)) for n in ("year", "owner", "notes")
    )


# --------------------------------------------------------------------------------------------
# input


@dataclass(frozen=True)
class _Run:
    run_id: str
    run_date: str
    profile: str | None


def _run_info(source: object, run_id: str | None, profile: object) -> _Run:
    rid = run_id or getattr(source, "run_id", None)
    created = getattr(source, "created_at", None)
    if profile is None:
        profile = getattr(source, "profile", None)
    prof = getattr(profile, "id", profile)
    now = dt.datetime.now()
    if not rid:
        rid = "run-" + now.strftime("%Y%m%d-%H%M%S")
    run_date = _date(created) if created is not None else now.date().isoformat()
    return _Run(str(rid), run_date or now.date().isoformat(), None if prof is None else str(prof))


def _prepare_projects(projects: object, grid_m: float) -> list[dict[str, Any]]:
    """Validate the projects frame and turn it into records with ids and EPSG:4326 points."""
    if not isinstance(projects, gpd.GeoDataFrame):
        raise InputError(
            "export_pool needs an Analysis (with .projects) or a GeoDataFrame of projects, "
            f"got {type(projects).__name__}"
        )
    missing = [c for c in _REQUIRED_INPUT if c not in projects.columns]
    if missing:
        raise InputError(f"projects frame lacks column(s) {missing}; see lifecircle.pool_schema()")
    absent = [c for c in INPUT_COLUMNS if c not in projects.columns]
    if absent:
        log.warning("projects frame lacks %s; these pool fields stay empty", absent)
    if len(projects) and projects.crs is None:
        raise CRSError("projects frame has no CRS; set it, e.g. projects.set_crs(4549)")
    geom = projects.geometry
    if len(projects):
        geom = projects.to_crs(4326).geometry
    bad = geom.isna() | geom.is_empty | (geom.geom_type != "Point")
    if bad.any():
        rows = list(projects.index[bad.to_numpy()][:5])
        raise InputError(f"projects need one Point location each; rows {rows} have none or other")
    records = []
    for (_, row), point in zip(projects.iterrows(), geom, strict=True):
        rec = _coerce({c: row.get(c) for c in INPUT_COLUMNS} | {"geometry": point})
        rec["project_id"] = project_id(
            rec["category"], rec["county_code"], rec["street_code"], rec["community_code"],
            rec["location_kind"], point.x, point.y, grid_m=grid_m,
        )  # fmt: skip
        records.append(rec)
    return records


def _dedupe(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """One record per id; of duplicates keep the best ranked (two rows, one project)."""
    best: dict[str, dict[str, Any]] = {}
    for rec in records:
        old = best.get(rec["project_id"])
        if old is None or _rank_key(rec) < _rank_key(old):
            best[rec["project_id"]] = rec
    merged = len(records) - len(best)
    if merged:
        log.warning(
            "%d project row(s) share a category, community and %g m cell with a better-ranked "
            "row; kept the better-ranked one of each", merged, GRID_M,
        )  # fmt: skip
    return sorted(best.values(), key=_rank_key), merged


def _rank_key(rec: dict[str, Any]) -> tuple[float, str]:
    rank = rec.get("priority_rank")
    return (math.inf if rank is None else rank, rec["project_id"])


# --------------------------------------------------------------------------------------------
# the upsert, independent of the store


@dataclass(frozen=True)
class PoolReport:
    """What an export did to the pool.

    ``added``: new projects; ``updated``: listed again with a changed computed field;
    ``unchanged``: listed again, same values (only the run fields refreshed); ``reappeared``:
    listed again after having been marked missing; ``retired``: marked missing by this export
    (kept, not deleted); ``still_missing``: were already marked; ``kept_edits``: projects
    touched by this export whose planner fields (status, year, owner, notes) were kept;
    ``merged_duplicates``: input rows folded into a better-ranked row with the same id.
    """

    target: str
    layer: str
    run_id: str
    added: int
    updated: int
    unchanged: int
    reappeared: int
    retired: int
    still_missing: int
    kept_edits: int
    merged_duplicates: int
    total: int

    def __str__(self) -> str:
        return (
            f"pool {self.layer!r} in {self.target} (run {self.run_id}): {self.added} added, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.reappeared} listed again, "
            f"{self.retired} marked missing ({self.still_missing} already missing), "
            f"{self.kept_edits} planner edit(s) kept; {self.total} project(s) in the pool"
        )


def _merge(
    existing: list[dict[str, Any]], incoming: list[dict[str, Any]], run: _Run, grid_m: float
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Plan the upsert: existing rows (their order) then new ones, each with an ``_action``.

    Actions: ``add``, ``update``, ``unchanged``, ``reappear`` (computed fields written),
    ``retire`` (only ``in_latest_run``/``missing_since`` written), ``missing`` and ``keep``
    (not written: rows already marked missing, and rows without a usable project id).
    """
    counts = dict.fromkeys(
        ("added", "updated", "unchanged", "reappeared", "retired", "still_missing", "kept_edits"),
        0,
    )
    plan = [dict(r, _action="keep") for r in existing]
    by_id: dict[str, dict[str, Any]] = {}
    for row in plan:
        pid = row.get("project_id")
        if pid is None:
            continue
        if pid in by_id:
            log.warning("project %s appears twice in the pool; the later row is left as is", pid)
            continue
        by_id[pid] = row
    incoming_ids = {r["project_id"] for r in incoming}
    _adopt_moved_sites(incoming, by_id, incoming_ids, grid_m)

    new_rows = []
    for rec in incoming:
        row = by_id.get(rec["project_id"])
        if row is None:
            new = dict.fromkeys(NAMES) | rec
            new.update(run_id=run.run_id, run_date=run.run_date, profile=run.profile,
                       first_seen_run=run.run_id, in_latest_run=True, missing_since=None,
                       status=DEFAULT_STATUS, _action="add")  # fmt: skip
            new_rows.append(new)
            counts["added"] += 1
            continue
        rec = rec | {"run_id": run.run_id, "run_date": run.run_date, "profile": run.profile}
        if row.get("in_latest_run") is False:
            action = "reappear"
        elif all(_same(n, row.get(n), rec.get(n)) for n in _COMPARED):
            action = "unchanged"
        else:
            action = "update"
        counts[{"reappear": "reappeared", "update": "updated"}.get(action, action)] += 1
        for name in _REFRESHED:
            if name in rec:
                row[name] = rec[name]
        row.update(in_latest_run=True, missing_since=None, _action=action)
        if row.get("first_seen_run") is None:
            row["first_seen_run"] = run.run_id
        counts["kept_edits"] += _planner_edited(row)
    for pid, row in by_id.items():
        if row["_action"] != "keep" or pid in incoming_ids:
            continue
        if row.get("in_latest_run") is False:
            row["_action"] = "missing"
            counts["still_missing"] += 1
        else:
            row.update(in_latest_run=False, missing_since=run.run_id, _action="retire")
            counts["retired"] += 1
            counts["kept_edits"] += _planner_edited(row)
    return plan + new_rows, counts


def _adopt_moved_sites(
    incoming: list[dict[str, Any]], by_id: dict[str, dict[str, Any]], incoming_ids: set[str],
    grid_m: float,
) -> None:  # fmt: skip
    """Give a proposed site that crossed a grid line the id of its unmatched pool twin."""
    free = [r for pid, r in by_id.items() if pid not in incoming_ids
            and r.get("location_kind") == "proposed_site"
            and r.get("geometry") is not None and r["geometry"].geom_type == "Point"
            and not r["geometry"].is_empty]  # fmt: skip
    if not free:
        return
    for rec in incoming:
        if rec["project_id"] in by_id or rec.get("location_kind") != "proposed_site":
            continue
        cands = [r for r in free if r.get("category") == rec.get("category")
                 and r.get("community_code") == rec.get("community_code")]  # fmt: skip
        if not cands:
            continue
        p = rec["geometry"]
        epsg = _metric_epsg(p.x, p.y)
        x0, y0 = _to_metric(epsg).transform(p.x, p.y)
        dists = [math.dist((x0, y0), _to_metric(epsg).transform(r["geometry"].x, r["geometry"].y))
                 for r in cands]  # fmt: skip
        i = int(np.argmin(dists))
        if dists[i] < grid_m:
            old_id = cands[i]["project_id"]
            log.info("project %s moved %.0f m: keeps id %s", rec["project_id"], dists[i], old_id)
            incoming_ids.discard(rec["project_id"])
            incoming_ids.add(old_id)
            rec["project_id"] = old_id
            free.remove(cands[i])


def _written(plan: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (r for r in plan if r["_action"] not in ("keep", "missing"))


# --------------------------------------------------------------------------------------------
# targets


@dataclass(frozen=True)
class _Target:
    kind: Literal["gpkg", "postgis", "xlsx", "csv", "geojson"]
    path: Path | None = None
    url: Any = None  # sqlalchemy URL or Engine

    @property
    def label(self) -> str:
        if self.path is not None:
            return str(self.path)
        url = getattr(self.url, "url", self.url)
        return url.render_as_string(hide_password=True)


_SUFFIXES = {".gpkg": "gpkg", ".xlsx": "xlsx", ".csv": "csv", ".geojson": "geojson",
             ".json": "geojson"}  # fmt: skip


def _resolve_target(target: object) -> _Target:
    try:
        import sqlalchemy as sa

        if isinstance(target, sa.engine.Engine):
            return _Target("postgis", url=target)
    except ImportError:  # pragma: no cover - the postgis extra is optional
        sa = None
    if isinstance(target, str) and re.match(r"(?i)postgres(ql)?(\+\w+)?://", target):
        if sa is None:  # pragma: no cover
            raise PoolError("PostgreSQL targets need: pip install 'lifecircle[postgis]'")
        url = sa.engine.make_url(target).set(drivername="postgresql+psycopg")
        return _Target("postgis", url=url)
    if isinstance(target, str | os.PathLike):
        path = Path(target).expanduser()
        kind = _SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise InputError(
                f"pool target {str(target)!r}: use a .gpkg, .xlsx, .csv or .geojson path or a "
                "postgresql:// URL (an old .xls workbook must be saved as .xlsx first)"
            )
        return _Target(kind, path=path)  # type: ignore[arg-type]
    raise InputError(f"pool target must be a path or a postgresql:// URL, got {target!r}")


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write beside ``path`` and move into place; on failure the pool is left as it was."""
    atomic_write(path, write, error=PoolError, note=" (the pool was left unchanged)")


# --------------------------------------------------------------------------------------------
# public API


def export_pool(
    analysis_or_projects: object,
    target: str | os.PathLike[str] | Any,
    *,
    layer: str = "lifecircle_pool",
    schema: str | None = None,
    run_id: str | None = None,
    profile: object = None,
    if_exists: IfExists = "upsert",
    headers: Headers | None = None,
    grid_m: float = GRID_M,
) -> PoolReport:
    """Add an analysis's projects to the reserve pool (补短板项目库), keeping planners' edits.

    Parameters
    ----------
    analysis_or_projects
        An ``Analysis`` (anything with ``.projects``; ``.run_id``, ``.created_at`` and
        ``.profile.id`` are used when present) or a GeoDataFrame with the projects columns
        (see ``docs/pool.md``), Point geometries in any CRS.
    target
        ``*.gpkg`` (default store), ``postgresql://user@host:port/db`` URL (or SQLAlchemy
        engine), ``*.xlsx``, ``*.csv`` (UTF-8 with BOM) or ``*.geojson``.
    layer
        Table / layer / sheet name; letters, digits and ``_`` only.
    schema
        PostgreSQL schema (created if missing); only for PostgreSQL targets.
    run_id, profile
        Override the run id and profile id recorded with each project. Without a run id (and
        no ``analysis.run_id``) one is made from the current time, ``run-YYYYmmdd-HHMMSS``.
    if_exists
        ``"upsert"`` (default) merges into an existing pool; ``"fail"`` refuses to touch one.
    headers
        ``"zh"`` or ``"en"`` column headers for xlsx/csv. Default: the existing file's, else
        :data:`lifecircle.settings.language`.
    grid_m
        Grid (metres) of :func:`project_id`.

    Returns
    -------
    PoolReport
        Counts of added, updated, unchanged, listed-again, marked-missing projects and kept
        planner edits.

    Raises
    ------
    PoolError
        The store could not be written; the pool was left unchanged.
    InputError
        Bad projects frame, target, layer or schema name.
    """
    source = analysis_or_projects
    if isinstance(source, pd.DataFrame):  # attribute access would find columns, not run info
        projects, run = source, _run_info(None, run_id, profile)
    else:
        projects, run = getattr(source, "projects", source), _run_info(source, run_id, profile)
    tgt = _resolve_target(target)
    check_identifier(layer, "layer")
    if schema is not None:
        if tgt.kind != "postgis":
            raise InputError("schema= applies to PostgreSQL targets only")
        check_identifier(schema, "schema")
    if if_exists not in ("upsert", "fail"):
        raise InputError(f"if_exists must be 'upsert' or 'fail', got {if_exists!r}")
    if headers not in (None, "zh", "en"):
        raise InputError(f"headers must be 'zh' or 'en', got {headers!r}")
    if tgt.kind == "xlsx" and len(layer) > 31:
        raise InputError(f"Excel sheet names have at most 31 characters; {layer!r} is longer")
    incoming, merged = _dedupe(_prepare_projects(projects, grid_m))

    def plan_for(existing: list[dict[str, Any]] | None) -> tuple[list, dict[str, int]]:
        if existing is not None and if_exists == "fail":
            raise PoolError(f"pool {layer!r} already exists in {tgt.label} and if_exists='fail'")
        return _merge(existing or [], incoming, run, grid_m)

    writer = {"gpkg": _gpkg_export, "postgis": _pg_export, "xlsx": _xlsx_export,
              "csv": _csv_export, "geojson": _geojson_export}[tgt.kind]  # fmt: skip
    try:
        counts, total = writer(tgt, layer, schema, run, plan_for, headers)
    except LifecircleError:
        raise
    except Exception as exc:
        raise PoolError(
            f"export to {tgt.label} failed, the pool was left unchanged: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    report = PoolReport(target=tgt.label, layer=layer, run_id=run.run_id,
                        merged_duplicates=merged, total=total, **counts)  # fmt: skip
    log.info("%s", report)
    return report


def read_pool(
    target: str | os.PathLike[str] | Any, layer: str = "lifecircle_pool", schema: str | None = None
) -> gpd.GeoDataFrame:
    """Read a pool written by :func:`export_pool` (and edited by planners) from any store.

    Returns
    -------
    GeoDataFrame
        The :data:`POOL_COLUMNS` (English names) in order, then any column planners added;
        EPSG:4326 points; admin codes and ids as strings; ``year`` as nullable integers
        (object if a planner wrote something that is not a year); ``in_latest_run`` boolean.
    """
    tgt = _resolve_target(target)
    check_identifier(layer, "layer")
    if schema is not None:
        if tgt.kind != "postgis":
            raise InputError("schema= applies to PostgreSQL targets only")
        check_identifier(schema, "schema")
    if tgt.path is not None and not tgt.path.exists():
        raise PoolError(f"no pool at {tgt.path}")
    reader = {"gpkg": _gpkg_read, "postgis": _pg_read, "xlsx": _xlsx_read, "csv": _csv_read,
              "geojson": _geojson_read}[tgt.kind]  # fmt: skip
    try:
        rows, extras = reader(tgt, layer, schema)
    except LifecircleError:
        raise
    except Exception as exc:
        raise PoolError(f"cannot read pool {layer!r} from {tgt.label}: {exc}") from exc
    if rows is None:
        raise PoolError(f"{tgt.label} holds no pool layer {layer!r}")
    return _to_geodataframe(rows, extras)


def _to_geodataframe(rows: list[dict[str, Any]], extras: list[str]) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {}
    for name in NAMES:
        if name == "geometry":
            continue
        values = [r.get(name) for r in rows]
        dtype = _COL[name].dtype
        if name == "year" and any(isinstance(v, str) for v in values):
            data[name] = pd.Series(values, dtype=object)
        elif dtype in ("str", "date"):
            data[name] = pd.Series(values, dtype="str")
        elif dtype == "float":
            data[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif dtype == "int":
            data[name] = pd.Series(values, dtype="Int64")
        elif dtype == "bool":
            data[name] = pd.Series(values, dtype="boolean")
    for name in extras:
        data[name] = pd.Series([r.get(name) for r in rows], dtype=object)
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    geometry = gpd.GeoSeries([r.get("geometry") for r in rows], crs=4326, index=frame.index)
    out = gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)
    return out[[*[n for n in NAMES], *extras]]


# --------------------------------------------------------------------------------------------
# GeoPackage: sqlite3, one transaction


_GPKG_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
_GPKG_CORE = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
    organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
    data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL,
    column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
    z TINYINT NOT NULL, m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
]
_GPKG_SRS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined",
     "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
     "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, _GPKG_WGS84_WKT,
     "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
]  # fmt: skip
_GPKG_TYPES = {"str": "TEXT", "float": "DOUBLE", "int": "INTEGER", "bool": "BOOLEAN",
               "date": "DATE"}  # fmt: skip
_GPKG_EXTRA = {"project_id": " UNIQUE", "status": f" DEFAULT '{DEFAULT_STATUS}'"}
_META_DDL = (
    "CREATE TABLE IF NOT EXISTS lifecircle_meta (fid INTEGER PRIMARY KEY AUTOINCREMENT, "
    "layer TEXT NOT NULL, key TEXT NOT NULL, value TEXT, UNIQUE (layer, key))"
)


def _q(name: str) -> str:
    """Quote an already validated identifier for SQLite."""
    return '"' + name.replace('"', '""') + '"'


def _gpkg_blob(geom: Any) -> bytes | None:
    """GeoPackage geometry blob (little-endian header, no envelope, srs 4326) of a geometry."""
    if geom is None:
        return None
    flags = 0x01 | (0x10 if geom.is_empty else 0)
    return (
        b"GP\x00"
        + bytes([flags])
        + struct.pack("<i", 4326)
        + shapely.to_wkb(geom, byte_order=1, output_dimension=2)
    )


def _gpkg_geom(blob: bytes | None) -> Any:
    if blob is None:
        return None
    data = bytes(blob)
    if data[:2] != b"GP":
        return shapely.from_wkb(data)
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((data[3] >> 1) & 0x07, 0)
    return shapely.from_wkb(data[8 + envelope :])


def _blob_bounds(blob: bytes | None, i: int) -> float | None:
    geom = _gpkg_geom(blob)
    return None if geom is None or geom.is_empty else float(geom.bounds[i])


#: Seconds to wait for a GeoPackage another program is writing.
_SQLITE_TIMEOUT_S = 30.0


def _gpkg_connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=_SQLITE_TIMEOUT_S, isolation_level=None)
    # Functions GDAL's R-tree triggers call, in case QGIS/GDAL re-saved the layer with an index.
    con.create_function("ST_IsEmpty", 1, lambda b: None if b is None else int(
        _gpkg_geom(b).is_empty), deterministic=True)  # fmt: skip
    for i, fname in enumerate(("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")):
        con.create_function(fname, 1, functools.partial(_blob_bounds, i=i), deterministic=True)
    return con


def _gpkg_layer_info(con: sqlite3.Connection, layer: str) -> tuple[list[str], str] | None:
    """Columns and geometry column of ``layer``, or None if the file has no such table."""
    found = con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND lower(name)=lower(?)", (layer,)
    ).fetchone()
    if found is None:
        return None
    cols = [r[1] for r in con.execute(f"PRAGMA table_info({_q(found[0])})")]
    geom = con.execute(
        "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE lower(table_name)=lower(?)",
        (layer,),
    ).fetchone()
    if "project_id" not in cols:
        raise PoolError(f"table {layer!r} exists but is not a lifecircle pool (no project_id)")
    if geom is None:
        raise PoolError(f"table {layer!r} has no registered geometry column")
    if geom[1] != 4326:
        raise PoolError(f"pool {layer!r} is stored in srs {geom[1]}, lifecircle writes EPSG:4326")
    return cols, geom[0]


def _check_version(found: object, where: str) -> None:
    if found is None:
        return
    try:
        version = int(str(found))
    except ValueError:
        raise PoolError(f"{where}: unreadable schema_version {found!r}") from None
    if version > SCHEMA_VERSION:
        raise PoolError(
            f"{where} was written by a newer lifecircle (pool schema {version} > "
            f"{SCHEMA_VERSION}); upgrade lifecircle"
        )
    # Migrations from older versions go here (none yet: version 1 is the first). Columns added
    # by later versions are created by the callers when missing.


def _gpkg_rows(con: sqlite3.Connection, layer: str, cols: list[str], geom_col: str):
    skip = {geom_col, "fid"}
    extras = [c for c in cols if c not in NAMES and c not in skip]
    names = [c for c in cols if c != geom_col]
    sql = "SELECT {}, {} FROM {} ORDER BY rowid".format(
        ", ".join(_q(c) for c in names), _q(geom_col), _q(layer)
    )
    rows = []
    for values in con.execute(sql):
        raw = dict(zip(names, values[:-1], strict=True))
        raw["geometry"] = _gpkg_geom(values[-1])
        rows.append(_coerce(raw))
    return rows, [e for e in extras if e.lower() != "fid"]


def _gpkg_read(tgt: _Target, layer: str, schema: str | None):
    con = _gpkg_connect(tgt.path)
    try:
        info = _gpkg_layer_info(con, layer)
        if info is None:
            return None, []
        return _gpkg_rows(con, layer, *info)
    finally:
        con.close()


def _gpkg_value(name: str, value: Any) -> Any:
    if name == "geometry":
        return _gpkg_blob(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _gpkg_export(tgt: _Target, layer: str, schema, run: _Run, plan_for, headers):
    path: Path = tgt.path
    if path.exists():
        return _gpkg_upsert(path, layer, run, plan_for, new_file=False)
    holder: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        tmp.unlink()
        holder["out"] = _gpkg_upsert(tmp, layer, run, plan_for, new_file=True)

    _atomic_write(path, write)
    return holder["out"]


def _gpkg_upsert(path: Path, layer: str, run: _Run, plan_for, new_file: bool):
    con = _gpkg_connect(path)
    try:
        if new_file:
            con.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            con.execute("PRAGMA user_version = 10200")
        else:
            app = con.execute("PRAGMA application_id").fetchone()[0]
            has = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE name='gpkg_contents'"
            ).fetchone()[0]
            if app != 1196444487 and not has:
                raise PoolError(f"{path} is not a GeoPackage")
        con.execute("BEGIN IMMEDIATE")
        try:
            out = _gpkg_transaction(con, layer, run, plan_for)
            con.execute("COMMIT")
            return out
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise PoolError(
                f"{path} is locked by another program (a QGIS editing session?); save or close "
                "it and export again. The pool was left unchanged."
            ) from exc
        raise
    finally:
        con.close()


def _gpkg_transaction(con: sqlite3.Connection, layer: str, run: _Run, plan_for):
    for ddl in _GPKG_CORE:
        con.execute(ddl)
    con.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _GPKG_SRS)
    con.execute(_META_DDL)
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES ('lifecircle_meta', 'attributes', 'lifecircle_meta', "
        "'lifecircle pool schema versions')"
    )
    info = _gpkg_layer_info(con, layer)
    if info is None:
        existing = None
        defs = ", ".join(
            f"{_q(c.name)} {_GPKG_TYPES[c.dtype]}" + _GPKG_EXTRA.get(c.name, "")
            for c in POOL_COLUMNS if c.name != "geometry"
        )  # fmt: skip
        con.execute(
            f"CREATE TABLE {_q(layer)} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
            f"geom POINT, {defs})"
        )
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            "VALUES (?, 'features', ?, ?, 4326)",
            (layer, layer, "lifecircle project reserve pool 补短板项目库"),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POINT', 4326, 0, 0)", (layer,)
        )
        geom_col = "geom"
    else:
        cols, geom_col = info
        found = con.execute(
            "SELECT value FROM lifecircle_meta WHERE layer=? AND key='schema_version'", (layer,)
        ).fetchone()
        _check_version(found[0] if found else None, f"pool {layer!r}")
        for c in POOL_COLUMNS:
            if c.name != "geometry" and c.name not in cols:
                con.execute(f"ALTER TABLE {_q(layer)} ADD COLUMN {_q(c.name)} "
                            f"{_GPKG_TYPES[c.dtype]}")  # fmt: skip
        existing, _ = _gpkg_rows(con, layer, cols, geom_col)
    plan, counts = plan_for(existing)
    columns = [c for c in NAMES if c != "geometry"]
    insert = "INSERT INTO {} ({}, {}) VALUES ({})".format(
        _q(layer), _q(geom_col), ", ".join(map(_q, columns)), ", ".join("?" * (len(columns) + 1))
    )
    refresh = [c for c in _REFRESHED if c != "geometry"]
    update = "UPDATE {} SET {} = ?, {} WHERE project_id = ?".format(
        _q(layer), _q(geom_col), ", ".join(f"{_q(c)} = ?" for c in refresh)
    )
    retire = f"UPDATE {_q(layer)} SET in_latest_run = ?, missing_since = ? WHERE project_id = ?"
    todo = list(_written(plan))
    for row in progress(todo, desc="pool: writing GeoPackage", unit="project"):
        rec = _record(row)
        action = row["_action"]
        if action == "add":
            values = [_gpkg_value("geometry", rec.get("geometry"))]
            con.execute(insert, values + [_gpkg_value(c, rec.get(c)) for c in columns])
        elif action == "retire":
            con.execute(retire, (0, rec["missing_since"], rec["project_id"]))
        else:
            values = [_gpkg_value("geometry", rec.get("geometry"))]
            values += [_gpkg_value(c, rec.get(c)) for c in refresh]
            con.execute(update, values + [rec["project_id"]])
    bbox = con.execute(
        f"SELECT min(ST_MinX({_q(geom_col)})), min(ST_MinY({_q(geom_col)})), "
        f"max(ST_MaxX({_q(geom_col)})), max(ST_MaxY({_q(geom_col)})) FROM {_q(layer)}"
    ).fetchone()
    con.execute(
        "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, "
        "last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE lower(table_name)=lower(?)",
        (*bbox, layer),
    )
    for key, value in _meta_items(run):
        con.execute(
            "INSERT INTO lifecircle_meta (layer, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (layer, key) DO UPDATE SET value = excluded.value",
            (layer, key, value),
        )
    total = con.execute(f"SELECT count(*) FROM {_q(layer)}").fetchone()[0]
    return counts, total


def _meta_items(run: _Run) -> list[tuple[str, str]]:
    return [
        ("schema_version", str(SCHEMA_VERSION)),
        ("last_run_id", run.run_id),
        ("last_export_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
    ]


# --------------------------------------------------------------------------------------------
# PostgreSQL / PostGIS: SQLAlchemy Core + psycopg 3, one transaction

#: Rows per INSERT ... ON CONFLICT batch.
_PG_BATCH = 500


def _pg_engine(tgt: _Target):
    import sqlalchemy as sa

    if isinstance(tgt.url, sa.engine.Engine):
        return tgt.url, False
    return sa.create_engine(tgt.url, poolclass=sa.pool.NullPool), True


def _pg_table(layer: str, schema: str | None, metadata):
    import sqlalchemy as sa
    from geoalchemy2 import Geometry

    types = {"str": sa.Text, "float": sa.Float(53), "int": sa.Integer, "bool": sa.Boolean,
             "date": sa.Date}  # fmt: skip
    cols = [sa.Column("project_id", sa.Text, primary_key=True)]
    cols += [sa.Column(c.name, types[c.dtype],
                       server_default=DEFAULT_STATUS if c.name == "status" else None)
             for c in POOL_COLUMNS if c.name not in ("project_id", "geometry")]  # fmt: skip
    cols.append(sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True)))
    return sa.Table(layer, metadata, *cols, schema=schema)


def _pg_meta_table(schema: str | None, metadata):
    import sqlalchemy as sa

    return sa.Table(
        META_TABLE, metadata,
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text),
        schema=schema,
    )  # fmt: skip


def _pg_rows(conn, layer: str, schema: str | None):
    """Rows of an existing pool table (None if absent) and the names of planner-added columns."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    if not insp.has_table(layer, schema=schema):
        return None, []
    cols = [c["name"] for c in insp.get_columns(layer, schema=schema)]
    if "project_id" not in cols or "geom" not in cols:
        raise PoolError(f"table {layer!r} exists but is not a lifecircle pool")
    table = sa.table(layer, *[sa.column(c) for c in cols], schema=schema)
    names = [c for c in cols if c != "geom"]
    stmt = sa.select(
        *[table.c[c] for c in names], sa.func.ST_AsBinary(table.c.geom).label("_geom_wkb")
    )
    rows = []
    for values in conn.execute(stmt).mappings():
        raw = {c: values[c] for c in names}
        wkb = values["_geom_wkb"]
        raw["geometry"] = None if wkb is None else shapely.from_wkb(bytes(wkb))
        rows.append(_coerce(raw))
    return rows, [c for c in names if c not in NAMES]


def _pg_read(tgt: _Target, layer: str, schema: str | None):
    engine, own = _pg_engine(tgt)
    try:
        with engine.connect() as conn:
            return _pg_rows(conn, layer, schema)
    finally:
        if own:
            engine.dispose()


def _pg_value(name: str, value: Any) -> Any:
    if name == "geometry":
        if value is None:
            return None
        return "SRID=4326;" + shapely.to_wkt(value, rounding_precision=-1)
    if name == "run_date" and value is not None:
        return dt.date.fromisoformat(value)
    return value


def _pg_export(tgt: _Target, layer: str, schema: str | None, run: _Run, plan_for, headers):
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    engine, own = _pg_engine(tgt)
    try:
        with engine.begin() as conn:
            has_postgis = conn.execute(
                sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            ).first()
            if not has_postgis:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
            if schema is not None:
                conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
            metadata = sa.MetaData()
            table = _pg_table(layer, schema, metadata)
            meta = _pg_meta_table(schema, metadata)
            meta.create(conn, checkfirst=True)
            prep = conn.dialect.identifier_preparer
            qualified = prep.format_table(table, use_schema=True)
            exists = sa.inspect(conn).has_table(layer, schema=schema)
            if not exists:
                table.create(conn)
            else:
                conn.execute(sa.text(f"LOCK TABLE {qualified} IN SHARE ROW EXCLUSIVE MODE"))
                found = conn.execute(
                    sa.select(meta.c.value).where(meta.c.layer == layer,
                                                  meta.c.key == "schema_version")
                ).scalar()  # fmt: skip
                _check_version(found, f"pool {layer!r}")
                have = {c["name"] for c in sa.inspect(conn).get_columns(layer, schema=schema)}
                for col in table.columns:
                    if col.name not in have:
                        ddl = col.type.compile(dialect=conn.dialect)
                        column = prep.quote_identifier(col.name)
                        conn.execute(sa.text(f"ALTER TABLE {qualified} ADD COLUMN {column} {ddl}"))
            existing, _ = _pg_rows(conn, layer, schema) if exists else (None, [])
            plan, counts = plan_for(existing)

            def key(name: str) -> str:
                return "geom" if name == "geometry" else name

            stmt = pg_insert(table)
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.project_id],
                set_={key(n): stmt.excluded[key(n)] for n in _REFRESHED},
            )
            retire = (
                sa.update(table)
                .where(table.c.project_id == sa.bindparam("_pid"))
                .values(in_latest_run=False, missing_since=sa.bindparam("_missing"))
            )
            todo = list(_written(plan))
            batch: list[dict[str, Any]] = []
            retired: list[dict[str, Any]] = []
            for row in progress(todo, desc="pool: writing PostGIS", unit="project"):
                rec = _record(row)
                if row["_action"] == "retire":
                    retired.append({"_pid": rec["project_id"], "_missing": rec["missing_since"]})
                else:
                    batch.append({key(n): _pg_value(n, rec.get(n)) for n in NAMES})
                if len(batch) >= _PG_BATCH:
                    conn.execute(stmt, batch)
                    batch = []
                if len(retired) >= _PG_BATCH:
                    conn.execute(retire, retired)
                    retired = []
            if batch:
                conn.execute(stmt, batch)
            if retired:
                conn.execute(retire, retired)
            for k, v in _meta_items(run):
                upsert = pg_insert(meta).values(layer=layer, key=k, value=v)
                conn.execute(upsert.on_conflict_do_update(
                    index_elements=[meta.c.layer, meta.c.key], set_={"value": v}))  # fmt: skip
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        return counts, int(total)
    except sa.exc.SQLAlchemyError as exc:
        raise PoolError(
            f"PostgreSQL export to {tgt.label} failed, the pool was left unchanged: "
            f"{getattr(exc, 'orig', None) or exc}"
        ) from exc
    finally:
        if own:
            engine.dispose()


# --------------------------------------------------------------------------------------------
# tabular files: header labels, lon/lat


def _labels() -> dict[str, str]:
    """Every accepted header (name, Chinese, English; case-insensitive) → column name."""
    out: dict[str, str] = {}
    for c in POOL_COLUMNS:
        if c.name != "geometry":
            for label in (c.name, c.zh, c.en):
                out[label.strip().lower()] = c.name
    for name, (zh, en) in _LONLAT.items():
        for label in (name, zh, en):
            out[label.lower()] = name
    return out


_TABULAR = [n for n in NAMES if n != "geometry"] + ["lon", "lat"]


def _header(name: str, lang: str) -> str:
    if name in _LONLAT:
        return _LONLAT[name][0] if lang == "zh" else _LONLAT[name][1]
    return _COL[name].zh if lang == "zh" else _COL[name].en


def _header_lang(headers: list[str]) -> str | None:
    zh = {c.zh for c in POOL_COLUMNS} | {v[0] for v in _LONLAT.values()}
    en = {c.en for c in POOL_COLUMNS} | {v[1] for v in _LONLAT.values()}
    n_zh, n_en = sum(h in zh for h in headers), sum(h in en for h in headers)
    return None if n_zh == n_en == 0 else ("zh" if n_zh >= n_en else "en")


def _from_tabular(raw: dict[str, Any]) -> dict[str, Any]:
    lon, lat = _float(raw.pop("lon", None)), _float(raw.pop("lat", None))
    raw["geometry"] = None if lon is None or lat is None else shapely.Point(lon, lat)
    return _coerce(raw)


def _tabular_value(name: str, value: Any, lang: str) -> Any:
    """A value as a tabular cell: bools 是/否 (zh) or true/false (en), geometry → lon/lat."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("true" if value else "false")
    return value


def _lonlat(geom: Any) -> tuple[float | None, float | None]:
    if geom is None or geom.is_empty or geom.geom_type != "Point":
        return None, None
    return float(geom.x), float(geom.y)


# --------------------------------------------------------------------------------------------
# CSV


def _read_csv_text(path: Path) -> tuple[list[list[str]], str]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise PoolError(f"{path}: cannot decode as UTF-8 or GB18030")
    if encoding != "utf-8-sig":
        log.info("%s was saved as %s (Excel 'CSV'); it is rewritten as UTF-8 with BOM", path,
                 encoding)  # fmt: skip
    return list(csv.reader(io.StringIO(text, newline=""))), encoding


def _csv_load(path: Path):
    """Rows, column names in file order (pool names or planners' own headers) and language."""
    lines, _ = _read_csv_text(path)
    if not lines:
        return [], [], None
    header = lines[0]
    labels = _labels()
    names = [labels.get(h.strip().lower(), h) for h in header]
    if "project_id" not in names:
        raise PoolError(f"{path} is not a lifecircle pool (no 项目编号/project_id column)")
    rows = []
    for line in lines[1:]:
        if not any(cell.strip() for cell in line):
            continue
        raw = dict(zip(names, line + [""] * (len(names) - len(line)), strict=False))
        rows.append(_from_tabular(raw))
    return rows, names, _header_lang(header)


def _csv_read(tgt: _Target, layer: str, schema):
    rows, names, _ = _csv_load(tgt.path)
    return rows, [n for n in names if n not in _TABULAR]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _csv_export(tgt: _Target, layer: str, schema, run: _Run, plan_for, headers):
    path: Path = tgt.path
    existing, names, lang = _csv_load(path) if path.exists() else (None, [], None)
    lang = headers or lang or settings.language
    columns = [*names, *[n for n in _TABULAR if n not in names]]
    plan, counts = plan_for(existing)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh)
            out.writerow([_header(n, lang) if n in _TABULAR else n for n in columns])
            for row in progress(plan, desc="pool: writing CSV", unit="project"):
                rec = _record(row)
                rec["lon"], rec["lat"] = _lonlat(rec.get("geometry"))
                out.writerow([_csv_text(_tabular_value(n, rec.get(n), lang)) for n in columns])

    _atomic_write(path, write)
    return counts, len(plan)


# --------------------------------------------------------------------------------------------
# GeoJSON


def _geojson_load(path: Path, layer: str):
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PoolError(f"{path} is not readable GeoJSON: {exc}") from exc
    if doc.get("type") != "FeatureCollection":
        raise PoolError(f"{path} is not a GeoJSON FeatureCollection")
    _check_version((doc.get("lifecircle") or {}).get("schema_version"), str(path))
    rows, extras = [], []
    for feat in doc.get("features", []):
        props = dict(feat.get("properties") or {})
        for k in props:
            if k not in NAMES and k not in extras:
                extras.append(k)
        geom = feat.get("geometry")
        props["geometry"] = None if geom is None else shapely.geometry.shape(geom)
        rows.append(_coerce(props))
    return rows, extras


def _geojson_read(tgt: _Target, layer: str, schema):
    return _geojson_load(tgt.path, layer)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _geojson_export(tgt: _Target, layer: str, schema, run: _Run, plan_for, headers):
    path: Path = tgt.path
    existing, extras = _geojson_load(path, layer) if path.exists() else (None, [])
    plan, counts = plan_for(existing)

    def write(tmp: Path) -> None:
        features = []
        for row in progress(plan, desc="pool: writing GeoJSON", unit="project"):
            rec = _record(row)
            geom = rec.get("geometry")
            props = {n: _json_value(rec.get(n)) for n in NAMES if n != "geometry"}
            props |= {k: _json_value(rec.get(k)) for k in extras}
            features.append({
                "type": "Feature",
                "properties": props,
                "geometry": None if geom is None else shapely.geometry.mapping(geom),
            })  # fmt: skip
        doc = {
            "type": "FeatureCollection",
            "name": layer,
            "lifecircle": dict(_meta_items(run)) | {"schema_version": SCHEMA_VERSION},
            "features": features,
        }
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1, allow_nan=False)

    _atomic_write(path, write)
    return counts, len(plan)


# --------------------------------------------------------------------------------------------
# Excel


#: Parts of a workbook openpyxl cannot carry over: refuse to rewrite such a file.
_XLSX_UNSUPPORTED = ("xl/drawings/drawing", "xl/charts/", "xl/media/", "xl/pivotTables/",
                     "xl/vbaProject", "xl/slicers/")  # fmt: skip
_XLSX_ABOUT = "字段说明"
_XLSX_FORMATS = {"new_covered_pop": "#,##0", "uncovered_pop": "#,##0", "nearest_m": "#,##0",
                 "threshold_m": "#,##0", "priority_score": "0.000", "year": "0",
                 "lon": "0.000000", "lat": "0.000000"}  # fmt: skip


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _xlsx_sheet_rows(ws) -> tuple[list[str], list[dict[str, Any]]]:
    labels = _labels()
    rows_iter = ws.iter_rows(values_only=True)
    header = next(rows_iter, None) or ()
    names = [labels.get(str(h).strip().lower(), str(h)) if h is not None else None for h in header]
    if "project_id" not in names:
        raise PoolError(f"sheet {ws.title!r} is not a lifecircle pool (no 项目编号/project_id)")
    rows = []
    for r, values in enumerate(rows_iter, start=2):
        if values is None or all(_is_na(v) for v in values):
            continue
        raw = {n: v for n, v in zip(names, values, strict=False) if n is not None}
        rec = _from_tabular(raw)
        rec["_row"] = r
        rows.append(rec)
    return names, rows


def _xlsx_read(tgt: _Target, layer: str, schema):
    from openpyxl import load_workbook

    wb = load_workbook(tgt.path, read_only=True)
    try:
        if layer not in wb.sheetnames:
            return None, []
        names, rows = _xlsx_sheet_rows(wb[layer])
    finally:
        wb.close()
    for r in rows:
        r.pop("_row", None)
    return rows, [n for n in names if n is not None and n not in _TABULAR]


def _xlsx_cell(ws, r: int, c: int, name: str, value: Any, lang: str) -> None:
    cell = ws.cell(row=r, column=c)
    cell.value = _tabular_value(name, value, lang)  # ws.cell(value=None) would keep the old value
    if name in _CODE_COLUMNS or name == "project_id":
        cell.number_format = "@"
    elif name in _XLSX_FORMATS:
        cell.number_format = _XLSX_FORMATS[name]


def _xlsx_style_header(ws, columns: list[str], lang: str, first_col: int = 1) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    planner = PatternFill("solid", fgColor="FFF2CC")
    computed = PatternFill("solid", fgColor="DDEBF7")
    for i, name in enumerate(columns[first_col - 1 :], start=first_col):
        cell = ws.cell(row=1, column=i, value=_header(name, lang))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=False)
        owner = _COL[name].owner if name in _COL else "computed"
        cell.fill = planner if owner == "planner" else computed
        if name in _COL:
            who = (
                "规划人员填写，导出不会覆盖"
                if owner == "planner"
                else "lifecircle 计算，重新导出时刷新"
            )
            cell.comment = Comment(f"{_COL[name].description}\n({who})", "lifecircle",
                                   width=320, height=120)  # fmt: skip
        width = max(_display_width(cell.value) + 2, 8)
        width = {"reason_zh": 48, "reason_en": 48, "notes": 30, "owner": 16}.get(name, width)
        ws.column_dimensions[get_column_letter(i)].width = min(width, 60)


def _xlsx_autowidth(ws, columns: list[str], plan: list[dict[str, Any]]) -> None:
    from openpyxl.utils import get_column_letter

    for i, name in enumerate(columns, start=1):
        if name in ("reason_zh", "reason_en", "notes", "owner"):
            continue
        letter = get_column_letter(i)
        sample = [r.get(name) for r in plan[:200]] if name not in _LONLAT else [0.0000001]
        widest = max([_display_width(v) for v in sample] + [0])
        ws.column_dimensions[letter].width = min(
            max(ws.column_dimensions[letter].width or 8, widest + 2), 60
        )


def _xlsx_about(wb) -> None:
    if _XLSX_ABOUT in wb.sheetnames:
        return
    ws = wb.create_sheet(_XLSX_ABOUT)
    ws.append(
        [
            "字段 column",
            "中文表头",
            "English header",
            "类型 type",
            "维护方 owner",
            "说明 description",
        ]
    )
    for c in POOL_COLUMNS:
        ws.append([c.name, c.zh, c.en, c.dtype, "规划人员 planner" if c.owner == "planner" else
                   "计算 computed", c.description])  # fmt: skip
    for letter, width in zip("ABCDEF", (18, 18, 24, 8, 16, 90), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def _xlsx_meta(wb, layer: str, run: _Run) -> None:
    if META_TABLE in wb.sheetnames:
        ws = wb[META_TABLE]
    else:
        ws = wb.create_sheet(META_TABLE)
        ws.append(["layer", "key", "value"])
        ws.sheet_state = "hidden"
    where = {(row[0].value, row[1].value): row[2] for row in ws.iter_rows(min_row=2)}
    for key, value in _meta_items(run):
        if (layer, key) in where:
            where[(layer, key)].value = value
        else:
            ws.append([layer, key, value])


def _xlsx_version(wb, layer: str) -> object:
    if META_TABLE not in wb.sheetnames:
        return None
    for row in wb[META_TABLE].iter_rows(min_row=2, values_only=True):
        if row[:2] == (layer, "schema_version"):
            return row[2]
    return None


def _xlsx_status_validation(ws, col: int) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    letter = get_column_letter(col)
    dv = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=True,
                        errorStyle="warning", showErrorMessage=True, errorTitle="项目状态",
                        error="建议使用：" + "、".join(STATUSES))  # fmt: skip
    dv.add(f"{letter}2:{letter}1048576")
    ws.add_data_validation(dv)


def _xlsx_export(tgt: _Target, layer: str, schema, run: _Run, plan_for, headers):
    from openpyxl import Workbook, load_workbook
    from openpyxl.utils import get_column_letter

    path: Path = tgt.path
    existing = None
    if path.exists():
        try:
            with zipfile.ZipFile(path) as zf:
                bad = [n for n in zf.namelist() if n.startswith(_XLSX_UNSUPPORTED)]
        except zipfile.BadZipFile as exc:
            raise PoolError(f"{path} is not an .xlsx workbook") from exc
        if bad:
            raise PoolError(
                f"{path} holds charts, images, pivot tables or macros ({bad[0]}) that cannot be "
                "kept when the workbook is rewritten; export to a new file, or move them to "
                "another workbook"
            )
        wb = load_workbook(path)
        _check_version(_xlsx_version(wb, layer), f"{path} sheet {layer!r}")
    else:
        wb = Workbook()
        wb.remove(wb.active)
    if layer in wb.sheetnames:
        ws = wb[layer]
        names, existing = _xlsx_sheet_rows(ws)
        lang = headers or _header_lang([str(ws.cell(1, i + 1).value) for i in range(len(names))])
        lang = lang or settings.language
        columns = list(names)
        fresh = False
    else:
        ws = wb.create_sheet(layer, 0)
        lang = headers or settings.language
        columns = []
        fresh = True
    first_new = len(columns) + 1
    columns += [n for n in _TABULAR if n not in columns]
    col_of = {n: i for i, n in enumerate(columns, start=1) if n is not None}
    if fresh or first_new <= len(columns):
        _xlsx_style_header(ws, columns, lang, first_col=first_new)
    plan, counts = plan_for(existing)

    next_row = max([ws.max_row if not fresh else 1] + [r.get("_row", 0) for r in plan]) + 1
    book = ("in_latest_run", "missing_since")
    for row in progress(list(_written(plan)), desc="pool: writing Excel", unit="project"):
        rec = _record(row)
        rec["lon"], rec["lat"] = _lonlat(rec.get("geometry"))
        action = row["_action"]
        if action == "add":
            r, names_ = next_row, _TABULAR
            next_row += 1
        else:
            r = row["_row"]
            names_ = book if action == "retire" else [*_REFRESHED, "lon", "lat"]
        for name in names_:
            if name != "geometry":
                _xlsx_cell(ws, r, col_of[name], name, rec.get(name), lang)
    if fresh:
        ws.freeze_panes = "B2"
        _xlsx_status_validation(ws, col_of["status"])
        _xlsx_autowidth(ws, columns, plan)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 2)}"
    _xlsx_about(wb)
    _xlsx_meta(wb, layer, run)
    _atomic_write(path, wb.save)
    return counts, sum(1 for r in plan if r.get("project_id") is not None)
