"""The two entry points: :func:`export_pool` (an upsert into any store) and :func:`read_pool`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..._errors import InputError, LifecircleError, PoolError
from ...analysis.ids import GRID_M
from .backend import Backend, ExportJob, Kind, Target, Written, resolve_target
from .csv import CSV
from .geojson import GeoJSON
from .gpkg import GeoPackage
from .incoming import dedupe, prepare_projects, run_info
from .locking import write_retrying
from .merge import Plan, merge
from .postgis import PostGIS
from .schema import COLUMN, NAMES, Headers, IfExists, check_identifier
from .values import Row
from .xlsx import Excel

log = logging.getLogger(__name__)

#: The store of each kind of target.
BACKENDS: dict[Kind, Backend] = {"gpkg": GeoPackage(), "postgis": PostGIS(), "xlsx": Excel(),
                                 "csv": CSV(), "geojson": GeoJSON()}  # fmt: skip


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


def _check_names(tgt: Target, layer: str, schema: str | None) -> None:
    check_identifier(layer, "layer")
    if schema is not None:
        if tgt.kind != "postgis":
            raise InputError("schema= applies to PostgreSQL targets only")
        check_identifier(schema, "schema")


def _check_options(tgt: Target, layer: str, if_exists: object, headers: object) -> None:
    if if_exists not in ("upsert", "fail"):
        raise InputError(f"if_exists must be 'upsert' or 'fail', got {if_exists!r}")
    if headers not in (None, "zh", "en"):
        raise InputError(f"headers must be 'zh' or 'en', got {headers!r}")
    if tgt.kind == "xlsx" and len(layer) > 31:
        raise InputError(f"Excel sheet names have at most 31 characters; {layer!r} is longer")


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
    lock_timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
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
    lock_timeout_s
        Seconds to wait while another process exports to the same pool (exports take turns:
        a ``<file>.lock`` beside a file pool, a lock in PostgreSQL), or while QGIS holds a
        GeoPackage; then :class:`PoolError` "being written by another process".
    connect_timeout_s
        Seconds to wait for a PostgreSQL server to answer (whole seconds, at least 2; not
        applied to an engine you pass); then :class:`PoolError` naming the host:port.

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
        projects, run = source, run_info(None, run_id, profile)
    else:
        projects, run = getattr(source, "projects", source), run_info(source, run_id, profile)
    tgt = resolve_target(target)
    _check_names(tgt, layer, schema)
    _check_options(tgt, layer, if_exists, headers)
    incoming, merged = dedupe(prepare_projects(projects, grid_m))

    def plan_for(existing: list[Row] | None) -> Plan:
        if existing is not None and if_exists == "fail":
            raise PoolError(f"pool {layer!r} already exists in {tgt.label} and if_exists='fail'")
        return merge(existing or [], [dict(r) for r in incoming], run, grid_m)

    job = ExportJob(layer=layer, schema=schema, run_id=run.run_id, plan_for=plan_for,
                    headers=headers, lock_timeout_s=lock_timeout_s,
                    connect_timeout_s=connect_timeout_s)  # fmt: skip
    try:
        counts, total = _export(tgt, job)
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


def _export(tgt: Target, job: ExportJob) -> Written:
    """Export holding the file's lock; start over if another program changed the file."""
    backend = BACKENDS[tgt.kind]
    if tgt.path is None:
        return backend.export(tgt, job)
    return write_retrying(tgt.path, lambda: backend.export(tgt, job), job.lock_timeout_s,
                          label=tgt.label)  # fmt: skip


def read_pool(
    target: str | os.PathLike[str] | Any,
    layer: str = "lifecircle_pool",
    schema: str | None = None,
    *,
    connect_timeout_s: float = 10.0,
) -> gpd.GeoDataFrame:
    """Read a pool written by :func:`export_pool` (and edited by planners) from any store.

    ``connect_timeout_s``: seconds to wait for a PostgreSQL server to answer (then
    :class:`PoolError` naming the host:port).

    Returns
    -------
    GeoDataFrame
        The :data:`POOL_COLUMNS` (English names) in order, then any column planners added;
        EPSG:4326 points; admin codes and ids as strings; ``year`` as nullable integers
        (object if a planner wrote something that is not a year); ``in_latest_run`` boolean.
    """
    tgt = resolve_target(target)
    _check_names(tgt, layer, schema)
    if tgt.path is not None and not tgt.path.exists():
        raise PoolError(f"no pool at {tgt.path}")
    try:
        rows, extras = BACKENDS[tgt.kind].read(tgt, layer, schema, connect_timeout_s)
    except LifecircleError:
        raise
    except Exception as exc:
        raise PoolError(f"cannot read pool {layer!r} from {tgt.label}: {exc}") from exc
    if rows is None:
        raise PoolError(f"{tgt.label} holds no pool layer {layer!r}")
    return to_geodataframe(rows, extras)


def to_geodataframe(rows: list[Row], extras: list[str]) -> gpd.GeoDataFrame:
    """Pool rows as the GeoDataFrame :func:`read_pool` returns (typed columns, EPSG:4326)."""
    data: dict[str, Any] = {}
    for name in NAMES:
        if name == "geometry":
            continue
        values = [r.get(name) for r in rows]
        dtype = COLUMN[name].dtype
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
    return out[[*NAMES, *extras]]
