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
from ..labels import pool_label

#: Version of the pool layout written by this lifecircle; stored in ``lifecircle_meta``.
SCHEMA_VERSION = 1

#: Planner-owned ``status`` values, in workflow order, and the default of a new project.
STATUSES: tuple[str, ...] = ("储备", "申报", "在建", "建成", "取消")
DEFAULT_STATUS = "储备"

#: Name of the table (GeoPackage, PostgreSQL) or hidden sheet (xlsx) holding schema versions.
META_TABLE = "lifecircle_meta"
#: Name of the run history table beside the pool (GeoPackage, PostgreSQL); see ``history``.
RUNS_TABLE = "lifecircle_runs"
#: Columns of the run history (table, sheet ``运行记录``, ``<pool>.runs.csv``) and of
#: :func:`~lifecircle.read_runs`, in order; the record's JSON is kept in ``record`` (in files:
#: ``record_1``, ``record_2`` … after them), not listed.
RUN_COLUMNS: list[str] = ["run_id", "run_date", "profile", "profile_version",
                          "lifecircle_version", "share_meeting_standard", "target_share",
                          "communities", "shortfalls", "facilities", "fingerprints", "summary"]  # fmt: skip

Owner = Literal["computed", "planner"]
IfExists = Literal["upsert", "fail"]
Headers = Literal["zh", "en"]


@dataclass(frozen=True)
class PoolColumn:
    """One column of the pool: storage name, Chinese and English headers, type, owner, meaning.

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


#: Every column of the pool, in the order files are written: (name, type, owner). ``geometry``
#: is a Point in EPSG:4326 (``geom`` in GeoPackage/PostGIS; ``lon``/``lat`` columns 经度/纬度 in
#: xlsx and csv). Headers and descriptions come from :mod:`lifecircle.outputs.labels`.
_LAYOUT: tuple[tuple[str, str, Owner], ...] = (
    ("project_id", "str", "computed"),
    ("priority_rank", "int", "computed"),
    ("county_name", "str", "computed"),
    ("street_name", "str", "computed"),
    ("community_name", "str", "computed"),
    ("category_zh", "str", "computed"),
    ("level", "str", "computed"),
    ("reason_zh", "str", "computed"),
    ("status", "str", "planner"),
    ("year", "int", "planner"),
    ("owner", "str", "planner"),
    ("notes", "str", "planner"),
    ("new_covered_pop", "float", "computed"),
    ("uncovered_pop", "float", "computed"),
    ("nearest_m", "float", "computed"),
    ("threshold_m", "float", "computed"),
    ("priority_score", "float", "computed"),
    ("location_kind", "str", "computed"),
    ("category", "str", "computed"),
    ("county_code", "str", "computed"),
    ("street_code", "str", "computed"),
    ("community_code", "str", "computed"),
    ("reason_en", "str", "computed"),
    ("run_id", "str", "computed"),
    ("run_date", "date", "computed"),
    ("profile", "str", "computed"),
    ("first_seen_run", "str", "computed"),
    ("in_latest_run", "bool", "computed"),
    ("missing_since", "str", "computed"),
    ("geometry", "point", "computed"),
)


def _column(name: str, dtype: str, owner: Owner) -> PoolColumn:
    zh, en, description = pool_label(name)
    return PoolColumn(name, zh, en, dtype, owner, description)


#: Every column of the pool, in the order files are written.
POOL_COLUMNS: tuple[PoolColumn, ...] = tuple(_column(*spec) for spec in _LAYOUT)

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
        name.lower().startswith(_RESERVED_PREFIXES) or name.lower() in (META_TABLE, RUNS_TABLE)
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
