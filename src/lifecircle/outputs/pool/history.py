"""The pool's run history (历次评估记录): one row per recorded run, beside the pool.

:func:`record_run` appends the :class:`~lifecircle.analysis.compare.RunRecord` of an analysis —
date, profile id and version, lifecircle version, input fingerprints, summary, and the slim
tables :func:`lifecircle.compare` needs — to the table ``lifecircle_runs`` of a GeoPackage pool
(an attributes table: QGIS shows it). :func:`read_runs` lists the runs, :func:`read_run` gives one
back for :func:`lifecircle.compare`. Recording the same run id again replaces its row.

A PostgreSQL pool (a ``postgresql://`` URL or an engine, with its ``schema=``) keeps the same
table, with the same columns, in PostgreSQL (:mod:`.history_pg`); read back, its runs compare
exactly as a GeoPackage's do. An Excel pool keeps it in a sheet ``运行记录``, a CSV pool in
``<pool>.runs.csv`` beside it (:mod:`.history_files`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..._errors import InputError, PoolError
from ...analysis.compare import RunRecord, run_record
from ...analysis.result import Analysis
from ...analysis.scenario import assumed_facilities
from .backend import Target, resolve_target
from .gpkg import open_geopackage
from .history_files import read_file_rows, runs_csv, write_file_run
from .history_pg import read_record, read_rows, write_run
from .schema import RUN_COLUMNS, RUNS_TABLE, check_identifier

log = logging.getLogger(__name__)

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, "
    "run_id TEXT NOT NULL UNIQUE, run_date DATE NOT NULL, profile TEXT, profile_version TEXT, "
    "lifecircle_version TEXT, share_meeting_standard DOUBLE, target_share DOUBLE, "
    "communities INTEGER, shortfalls INTEGER, facilities INTEGER, fingerprints TEXT, "
    "summary TEXT, record TEXT NOT NULL)"
)


#: The pool kinds that keep a run history.
HISTORY_KINDS = ("gpkg", "postgis", "xlsx", "csv")
#: Pool kinds whose history is a sheet or a file beside the pool (:mod:`.history_files`).
_FILE_KINDS = ("xlsx", "csv")


def _target(target: object, schema: str | None) -> Target:
    """The resolved target: a GeoPackage or PostgreSQL (``schema`` for PostgreSQL only)."""
    tgt = resolve_target(target)
    if tgt.kind not in HISTORY_KINDS:
        raise PoolError(
            f"run history: {tgt.label} is a {tgt.kind} target; the run history is kept in a "
            "GeoPackage (.gpkg), Excel (.xlsx) or CSV pool, or a PostgreSQL pool "
            "(postgresql:// URL) — give the file or the database the pool lives in"
        )
    if schema is not None:
        if tgt.kind != "postgis":
            raise InputError("schema= applies to PostgreSQL targets only")
        check_identifier(schema, "schema")
    return tgt


def _path(tgt: Target) -> Path:
    if tgt.path is None:  # pragma: no cover - resolve_target gives every gpkg target a path
        raise PoolError(f"run history: {tgt.label} has no file path")
    return tgt.path


def _row(rec: RunRecord) -> dict[str, Any]:
    s = rec.summary
    return {
        "run_id": rec.run_id, "run_date": rec.run_date, "profile": rec.profile,
        "profile_version": rec.profile_version, "lifecircle_version": rec.lifecircle_version,
        "share_meeting_standard": s["share_meeting_standard"], "target_share": s["target_share"],
        "communities": s["communities"], "shortfalls": s["shortfalls"],
        "facilities": s["facilities"], "fingerprints": json.dumps(rec.fingerprints),
        "summary": json.dumps(s, ensure_ascii=False, default=str), "record": rec.to_json(),
    }  # fmt: skip


def record_run(
    analysis: Analysis | RunRecord,
    target: str | os.PathLike[str] | Any,
    run_date: str | None = None,
    *,
    schema: str | None = None,
    lock_timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
) -> RunRecord:
    """Append the run of ``analysis`` to the run history of the pool ``target``.

    ``target``: the GeoPackage (``.gpkg``), Excel (``.xlsx``: sheet ``运行记录``) or CSV
    (``.csv``: ``<pool>.runs.csv`` beside it) file, or the ``postgresql://`` URL (or SQLAlchemy
    engine) of the pool; ``schema``: its PostgreSQL schema (created if missing). ``analysis`` may also
    be a recorded run (:func:`read_run`), e.g. to copy a GeoPackage history to PostgreSQL.
    ``run_date``: ISO date of the run (default today, or the record's date). ``lock_timeout_s``
    and ``connect_timeout_s`` as in :func:`lifecircle.export_pool` (PostgreSQL). Returns the
    record written.
    """
    tgt = _target(target, schema)
    if isinstance(analysis, RunRecord):
        rec = analysis if run_date is None else replace(analysis, run_date=run_date)
    else:
        rec = run_record(analysis, run_date)
        assumed = assumed_facilities(analysis)
        if len(assumed):
            log.warning(
                "record_run: %d facilities of this analysis are projects a scenario assumed built "
                "(%s): the record is a forecast, not a run of real facilities", len(assumed),
                ", ".join(map(str, assumed[:5])),
            )  # fmt: skip
    _warn_if_replacing(target, tgt, schema, rec, connect_timeout_s)
    row = _row(rec)
    if tgt.kind == "postgis":
        write_run(tgt, RUNS_TABLE, row, schema, (lock_timeout_s, connect_timeout_s))
        return rec
    if tgt.kind in _FILE_KINDS:
        write_file_run(_path(tgt), tgt.kind, row, lock_timeout_s)
        return rec
    con = open_geopackage(_path(tgt))
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute(_DDL)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES (?, 'attributes', ?, ?)",
            (RUNS_TABLE, RUNS_TABLE, "lifecircle run history (历次评估记录)"),
        )
        con.execute(f"DELETE FROM {RUNS_TABLE} WHERE run_id = ?", (rec.run_id,))
        cols = ", ".join(row)
        con.execute(f"INSERT INTO {RUNS_TABLE} ({cols}) VALUES ({', '.join('?' * len(row))})",
                    tuple(row.values()))  # fmt: skip
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return rec


def _warn_if_replacing(
    target: Any, tgt: Target, schema: str | None, rec: RunRecord, timeout_s: float
) -> None:  # fmt: skip
    """A warning when the history holds the run id of ``rec`` under another date: the same
    inputs recorded earlier, whose record ``rec`` replaces (one record per run id). A file pool
    not written yet has nothing to replace; a PostgreSQL server that does not answer fails here,
    once, as the write would."""
    try:
        runs = read_runs(target, schema=schema, connect_timeout_s=timeout_s)
    except PoolError:
        if tgt.kind == "postgis":
            raise
        return
    dates = sorted({str(d)[:10] for d in runs.loc[runs["run_id"] == rec.run_id, "run_date"]})
    other = [d for d in dates if d != rec.run_date[:10]]
    if other:
        log.warning(
            "record_run: run %s (the same inputs) was recorded on %s; its record is replaced by "
            "this one of %s (the history keeps one record per run id). Nothing changed between "
            "the two: to keep both dates in the trend, change an input or record only the first",
            rec.run_id, ", ".join(other), rec.run_date[:10],
        )  # fmt: skip


def read_runs(
    target: str | os.PathLike[str] | Any, *, schema: str | None = None,
    connect_timeout_s: float = 10.0,
) -> pd.DataFrame:  # fmt: skip
    """The run history of a GeoPackage, Excel, CSV or PostgreSQL pool, oldest first
    (:data:`RUN_COLUMNS`)."""
    tgt = _target(target, schema)
    if tgt.kind == "postgis":
        rows = read_rows(tgt, RUNS_TABLE, RUN_COLUMNS, schema, connect_timeout_s)
        return pd.DataFrame(rows, columns=RUN_COLUMNS)
    path = _path(tgt)
    if tgt.kind in _FILE_KINDS:
        if not path.exists() and not runs_csv(path).exists():
            raise PoolError(f"no pool at {path}")
        rows = read_file_rows(path, tgt.kind)
        out = pd.DataFrame([[r.get(c) for c in RUN_COLUMNS] for r in rows], columns=RUN_COLUMNS)
        return out.sort_values("run_date", kind="stable").reset_index(drop=True)
    if not path.exists():
        raise PoolError(f"no pool at {path}")
    con = open_geopackage(path)
    try:
        has = con.execute("SELECT count(*) FROM sqlite_master WHERE name = ?", (RUNS_TABLE,))
        if not has.fetchone()[0]:
            return pd.DataFrame(columns=RUN_COLUMNS)
        rows = con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM {RUNS_TABLE} "
                           "ORDER BY run_date, fid").fetchall()  # fmt: skip
    finally:
        con.close()
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def read_run(
    target: str | os.PathLike[str] | Any, run_id: str, *, schema: str | None = None,
    connect_timeout_s: float = 10.0,
) -> RunRecord:  # fmt: skip
    """One recorded run (for :func:`lifecircle.compare`); ``run_id`` from :func:`read_runs`."""
    tgt = _target(target, schema)
    if tgt.kind == "postgis":
        text = read_record(tgt, RUNS_TABLE, str(run_id), schema, connect_timeout_s)
        found = None if text is None else (text,)
    elif tgt.kind in _FILE_KINDS:
        recs = [r["record"] for r in read_file_rows(_path(tgt), tgt.kind)
                if r["run_id"] == str(run_id)]  # fmt: skip
        found = (recs[-1],) if recs else None
    else:
        con = open_geopackage(_path(tgt))
        try:
            row = con.execute(f"SELECT record FROM {RUNS_TABLE} WHERE run_id = ?", (str(run_id),))
            found = row.fetchone()
        except Exception as exc:
            raise PoolError(f"{target}: no run history ({exc})") from exc
        finally:
            con.close()
    if found is None:
        raise PoolError(f"{tgt.label}: no recorded run {run_id!r}; see lifecircle.read_runs")
    return RunRecord.from_json(found[0])
