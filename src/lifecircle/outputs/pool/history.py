"""The pool's run history (历次评估记录): one row per recorded run, beside the pool.

:func:`record_run` appends the :class:`~lifecircle.analysis.compare.RunRecord` of an analysis —
date, profile id and version, lifecircle version, input fingerprints, summary, and the slim
tables :func:`lifecircle.compare` needs — to the table ``lifecircle_runs`` of a GeoPackage pool
(an attributes table: QGIS shows it). :func:`read_runs` lists the runs, :func:`read_run` gives one
back for :func:`lifecircle.compare`. Recording the same run id again replaces its row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..._errors import PoolError
from ...analysis.compare import RunRecord, run_record
from ...analysis.result import Analysis
from .backend import resolve_target
from .gpkg import open_geopackage

#: The history table.
RUNS_TABLE = "lifecircle_runs"
#: Columns of :func:`read_runs` (the record's JSON is kept in ``record``, not listed).
RUN_COLUMNS = ["run_id", "run_date", "profile", "profile_version", "lifecircle_version",
               "share_meeting_standard", "target_share", "communities", "shortfalls",
               "facilities", "fingerprints", "summary"]  # fmt: skip
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, "
    "run_id TEXT NOT NULL UNIQUE, run_date DATE NOT NULL, profile TEXT, profile_version TEXT, "
    "lifecircle_version TEXT, share_meeting_standard DOUBLE, target_share DOUBLE, "
    "communities INTEGER, shortfalls INTEGER, facilities INTEGER, fingerprints TEXT, "
    "summary TEXT, record TEXT NOT NULL)"
)


def _path(target: str | os.PathLike[str]) -> Path:
    tgt = resolve_target(target)
    if tgt.kind != "gpkg" or tgt.path is None:
        raise PoolError(
            f"run history: {tgt.label} is a {tgt.kind} target; the run history is kept in a "
            "GeoPackage pool (.gpkg) — give the GeoPackage the pool lives in"
        )
    return tgt.path


def record_run(
    analysis: Analysis, target: str | os.PathLike[str], run_date: str | None = None
) -> RunRecord:
    """Append the run of ``analysis`` to the run history of the GeoPackage ``target``.

    ``run_date``: ISO date of the run (default today). Returns the record written.
    """
    rec = run_record(analysis, run_date)
    s = rec.summary
    row: dict[str, Any] = {
        "run_id": rec.run_id, "run_date": rec.run_date, "profile": rec.profile,
        "profile_version": rec.profile_version, "lifecircle_version": rec.lifecircle_version,
        "share_meeting_standard": s["share_meeting_standard"], "target_share": s["target_share"],
        "communities": s["communities"], "shortfalls": s["shortfalls"],
        "facilities": s["facilities"], "fingerprints": json.dumps(rec.fingerprints),
        "summary": json.dumps(s, ensure_ascii=False, default=str), "record": rec.to_json(),
    }  # fmt: skip
    con = open_geopackage(_path(target))
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


def read_runs(target: str | os.PathLike[str]) -> pd.DataFrame:
    """The run history of a GeoPackage pool, oldest first (:data:`RUN_COLUMNS`)."""
    path = _path(target)
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


def read_run(target: str | os.PathLike[str], run_id: str) -> RunRecord:
    """One recorded run (for :func:`lifecircle.compare`); ``run_id`` from :func:`read_runs`."""
    con = open_geopackage(_path(target))
    try:
        row = con.execute(f"SELECT record FROM {RUNS_TABLE} WHERE run_id = ?", (str(run_id),))
        found = row.fetchone()
    except Exception as exc:
        raise PoolError(f"{target}: no run history ({exc})") from exc
    finally:
        con.close()
    if found is None:
        raise PoolError(f"{target}: no recorded run {run_id!r}; see lifecircle.read_runs")
    return RunRecord.from_json(found[0])
