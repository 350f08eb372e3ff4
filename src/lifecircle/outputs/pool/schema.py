"""The pool's layout: its columns (type, owner, headers), statuses, schema version, names.

:data:`POOL_COLUMNS` documents every column (see also ``docs/pool.md``); :func:`pool_schema`
shows them as a table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..._errors import InputError, PoolError

#: Version of the pool layout written by this lifecircle; stored in ``lifecircle_meta``.
SCHEMA_VERSION = 1

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

#: Every pool column by name.
COLUMN: dict[str, PoolColumn] = {c.name: c for c in POOL_COLUMNS}
#: Column names in file order.
NAMES: tuple[str, ...] = tuple(c.name for c in POOL_COLUMNS)
#: Columns a projects frame from the analysis provides (besides geometry).
INPUT_COLUMNS: tuple[str, ...] = (
    "county_code", "county_name", "street_code", "street_name", "community_code",
    "community_name", "category", "category_zh", "level", "location_kind", "new_covered_pop",
    "nearest_m", "threshold_m", "uncovered_pop", "priority_score", "priority_rank",
    "reason_zh", "reason_en",
)  # fmt: skip
#: Input columns an export cannot do without.
REQUIRED_INPUT: tuple[str, ...] = ("category", "community_code")
#: Columns compared to decide whether a re-listed project "changed".
COMPARED: tuple[str, ...] = (*INPUT_COLUMNS, "profile", "geometry")
#: Columns an export rewrites on a project the run lists (never planner columns).
REFRESHED: tuple[str, ...] = tuple(
    n for n in NAMES if COLUMN[n].owner == "computed" and n not in ("project_id", "first_seen_run")
)
#: Admin codes: always text.
CODE_COLUMNS: tuple[str, ...] = ("county_code", "street_code", "community_code")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_RESERVED_PREFIXES = ("gpkg_", "rtree_", "sqlite_", "pg_")


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


def check_version(found: object, where: str) -> None:
    """Refuse a pool written by a newer lifecircle (``found``: its stored schema version)."""
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


def meta_items(run_id: str) -> list[tuple[str, str]]:
    """The (key, value) pairs stored in ``lifecircle_meta`` for a layer by an export."""
    return [
        ("schema_version", str(SCHEMA_VERSION)),
        ("last_run_id", run_id),
        ("last_export_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
    ]
