"""What an export brings in: the run (id, date, profile) and its projects as checked records."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import geopandas as gpd

from ..._errors import CRSError, InputError
from ...analysis.ids import GRID_M, project_id
from .schema import INPUT_COLUMNS, REQUIRED_INPUT
from .values import Row, as_date, coerce

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """The analysis run an export records with its projects."""

    run_id: str
    run_date: str
    profile: str | None


def run_info(source: object, run_id: str | None, profile: object) -> Run:
    """The run of ``source`` (an Analysis or None), ``run_id``/``profile`` overriding it."""
    rid = run_id or getattr(source, "run_id", None)
    created = getattr(source, "created_at", None)
    if profile is None:
        profile = getattr(source, "profile", None)
    prof = getattr(profile, "id", profile)
    now = dt.datetime.now()
    if not rid:
        rid = "run-" + now.strftime("%Y%m%d-%H%M%S")
    run_date = as_date(created) if created is not None else now.date().isoformat()
    return Run(str(rid), run_date or now.date().isoformat(), None if prof is None else str(prof))


def prepare_projects(projects: object, grid_m: float) -> list[Row]:
    """Validate the projects frame and turn it into records with ids and EPSG:4326 points."""
    if not isinstance(projects, gpd.GeoDataFrame):
        raise InputError(
            "export_pool needs an Analysis (with .projects) or a GeoDataFrame of projects, "
            f"got {type(projects).__name__}"
        )
    missing = [c for c in REQUIRED_INPUT if c not in projects.columns]
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
    # a planned year (a programme's) comes in too; the pool keeps a year a planner wrote
    cols = (*INPUT_COLUMNS, "year") if "year" in projects.columns else INPUT_COLUMNS
    for (_, row), point in zip(projects.iterrows(), geom, strict=True):
        rec = coerce({c: row.get(c) for c in cols} | {"geometry": point})
        rec["project_id"] = project_id(
            rec["category"], rec["county_code"], rec["street_code"], rec["community_code"],
            rec["location_kind"], point.x, point.y, grid_m=grid_m,
        )  # fmt: skip
        records.append(rec)
    return records


def rank_key(rec: Row) -> tuple[float, str]:
    """Sort key: priority rank (missing last), then id."""
    rank = rec.get("priority_rank")
    return (math.inf if rank is None else rank, rec["project_id"])


def dedupe(records: list[Row]) -> tuple[list[Row], int]:
    """One record per id; of duplicates keep the best ranked (two rows, one project)."""
    best: dict[str, Row] = {}
    for rec in records:
        old = best.get(rec["project_id"])
        if old is None or rank_key(rec) < rank_key(old):
            best[rec["project_id"]] = rec
    merged = len(records) - len(best)
    if merged:
        log.warning(
            "%d project row(s) share a category, community and %g m cell with a better-ranked "
            "row; kept the better-ranked one of each", merged, GRID_M,
        )  # fmt: skip
    return sorted(best.values(), key=rank_key), merged
