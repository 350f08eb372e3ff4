"""GeoPackage store (the default): sqlite3, the whole read-merge-write in one transaction.

The file opens in QGIS/GDAL; other layers in it are kept. Written without GDAL: the tables of
the GeoPackage 1.2 core, the layer, and ``lifecircle_meta``.
"""

from __future__ import annotations

import functools
import sqlite3
import struct
from pathlib import Path
from typing import Any

import shapely

from ..._errors import PoolError
from ..._progress import progress
from .backend import ExportJob, Stored, Target, Written
from .locking import replace_unless_changed
from .merge import Plan
from .schema import DEFAULT_STATUS, NAMES, POOL_COLUMNS, REFRESHED, check_version, meta_items
from .values import Row, coerce, record

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
_GPKG_APPLICATION_ID = 1196444487  # 'GPKG'
#: Seconds :func:`read_pool` waits for a GeoPackage another program is writing.
READ_TIMEOUT_S = 30.0


def _q(name: str) -> str:
    """Quote an already validated identifier for SQLite."""
    return '"' + name.replace('"', '""') + '"'


def gpkg_blob(geom: Any) -> bytes | None:
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


def gpkg_geom(blob: bytes | None) -> Any:
    """The geometry of a GeoPackage blob (or of plain WKB)."""
    if blob is None:
        return None
    data = bytes(blob)
    if data[:2] != b"GP":
        return shapely.from_wkb(data)
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((data[3] >> 1) & 0x07, 0)
    return shapely.from_wkb(data[8 + envelope :])


def _blob_bounds(blob: bytes | None, i: int) -> float | None:
    geom = gpkg_geom(blob)
    return None if geom is None or geom.is_empty else float(geom.bounds[i])


def _connect(path: Path, timeout_s: float) -> sqlite3.Connection:
    """Open ``path``; wait at most ``timeout_s`` for another program's write to finish."""
    con = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    # Functions GDAL's R-tree triggers call, in case QGIS/GDAL re-saved the layer with an index.
    con.create_function("ST_IsEmpty", 1, lambda b: None if b is None else int(
        gpkg_geom(b).is_empty), deterministic=True)  # fmt: skip
    for i, fname in enumerate(("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")):
        con.create_function(fname, 1, functools.partial(_blob_bounds, i=i), deterministic=True)
    return con


def _layer_info(con: sqlite3.Connection, layer: str) -> tuple[list[str], str] | None:
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


def _rows(con: sqlite3.Connection, layer: str, cols: list[str], geom_col: str) -> Stored:
    skip = {geom_col, "fid"}
    extras = [c for c in cols if c not in NAMES and c not in skip]
    names = [c for c in cols if c != geom_col]
    sql = "SELECT {}, {} FROM {} ORDER BY rowid".format(
        ", ".join(_q(c) for c in names), _q(geom_col), _q(layer)
    )
    rows = []
    for values in con.execute(sql):
        raw = dict(zip(names, values[:-1], strict=True))
        raw["geometry"] = gpkg_geom(values[-1])
        rows.append(coerce(raw))
    return Stored(rows, [e for e in extras if e.lower() != "fid"])


def _value(name: str, value: Any) -> Any:
    if name == "geometry":
        return gpkg_blob(value)
    if isinstance(value, bool):
        return int(value)
    return value


class GeoPackage:
    """The GeoPackage store (:class:`~.backend.Backend`)."""

    def read(
        self, target: Target, layer: str, schema: str | None, connect_timeout_s: float
    ) -> Stored:
        """Rows of ``layer`` in the GeoPackage, or ``Stored(None, [])`` if it has none."""
        con = _connect(target.path, READ_TIMEOUT_S)
        try:
            info = _layer_info(con, layer)
            return Stored(None, []) if info is None else _rows(con, layer, *info)
        finally:
            con.close()

    def export(self, target: Target, job: ExportJob) -> Written:
        """Upsert in one transaction; a new file is built beside the target, then moved.

        The caller holds the target's lock (:func:`.locking.exclusive`), so no other export
        creates the file meanwhile; a program that does is caught before the move.
        """
        path: Path = target.path
        if path.exists():
            return _upsert(path, job, new_file=False)
        holder: dict[str, Written] = {}

        def write(tmp: Path) -> None:
            tmp.unlink()
            holder["out"] = _upsert(tmp, job, new_file=True)

        replace_unless_changed(path, write, None)
        return holder["out"]


def _upsert(path: Path, job: ExportJob, new_file: bool) -> Written:
    con = _connect(path, job.lock_timeout_s)
    try:
        if new_file:
            con.execute(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
            con.execute("PRAGMA user_version = 10200")
        else:
            app = con.execute("PRAGMA application_id").fetchone()[0]
            has = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE name='gpkg_contents'"
            ).fetchone()[0]
            if app != _GPKG_APPLICATION_ID and not has:
                raise PoolError(f"{path} is not a GeoPackage")
        con.execute("BEGIN IMMEDIATE")
        try:
            out = _transaction(con, job)
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


def _transaction(con: sqlite3.Connection, job: ExportJob) -> Written:
    layer = job.layer
    for ddl in _GPKG_CORE:
        con.execute(ddl)
    con.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _GPKG_SRS)
    con.execute(_META_DDL)
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES ('lifecircle_meta', 'attributes', 'lifecircle_meta', "
        "'lifecircle pool schema versions')"
    )
    info = _layer_info(con, layer)
    if info is None:
        existing, geom_col = None, _create_layer(con, layer)
    else:
        cols, geom_col = info
        found = con.execute(
            "SELECT value FROM lifecircle_meta WHERE layer=? AND key='schema_version'", (layer,)
        ).fetchone()
        check_version(found[0] if found else None, f"pool {layer!r}")
        for c in POOL_COLUMNS:
            if c.name != "geometry" and c.name not in cols:
                con.execute(f"ALTER TABLE {_q(layer)} ADD COLUMN {_q(c.name)} "
                            f"{_GPKG_TYPES[c.dtype]}")  # fmt: skip
        existing = _rows(con, layer, cols, geom_col).rows
    plan = job.plan_for(existing)
    _write_plan(con, layer, geom_col, plan)
    _finish(con, layer, geom_col, job.run_id)
    total = con.execute(f"SELECT count(*) FROM {_q(layer)}").fetchone()[0]
    return Written(plan.counts, total)


def _create_layer(con: sqlite3.Connection, layer: str) -> str:
    """Create the pool table and register it; return its geometry column."""
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
    return "geom"


def _write_plan(con: sqlite3.Connection, layer: str, geom_col: str, plan: Plan) -> None:
    columns = [c for c in NAMES if c != "geometry"]
    insert = "INSERT INTO {} ({}, {}) VALUES ({})".format(
        _q(layer), _q(geom_col), ", ".join(map(_q, columns)), ", ".join("?" * (len(columns) + 1))
    )
    refresh = [c for c in REFRESHED if c != "geometry"]
    update = "UPDATE {} SET {} = ?, {} WHERE project_id = ?".format(
        _q(layer), _q(geom_col), ", ".join(f"{_q(c)} = ?" for c in refresh)
    )
    retire = f"UPDATE {_q(layer)} SET in_latest_run = ?, missing_since = ? WHERE project_id = ?"
    for row in progress(plan.written(), desc="pool: writing GeoPackage", unit="project"):
        rec: Row = record(row)
        action = row["_action"]
        if action == "add":
            values = [_value("geometry", rec.get("geometry"))]
            con.execute(insert, values + [_value(c, rec.get(c)) for c in columns])
        elif action == "retire":
            con.execute(retire, (0, rec["missing_since"], rec["project_id"]))
        else:
            values = [_value("geometry", rec.get("geometry"))]
            values += [_value(c, rec.get(c)) for c in refresh]
            con.execute(update, values + [rec["project_id"]])


def _finish(con: sqlite3.Connection, layer: str, geom_col: str, run_id: str) -> None:
    """Update the layer's extent and change time in gpkg_contents, and lifecircle_meta."""
    bbox = con.execute(
        f"SELECT min(ST_MinX({_q(geom_col)})), min(ST_MinY({_q(geom_col)})), "
        f"max(ST_MaxX({_q(geom_col)})), max(ST_MaxY({_q(geom_col)})) FROM {_q(layer)}"
    ).fetchone()
    con.execute(
        "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, "
        "last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE lower(table_name)=lower(?)",
        (*bbox, layer),
    )
    for key, value in meta_items(run_id):
        con.execute(
            "INSERT INTO lifecircle_meta (layer, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (layer, key) DO UPDATE SET value = excluded.value",
            (layer, key, value),
        )


def open_geopackage(path: Path, timeout_s: float = READ_TIMEOUT_S) -> sqlite3.Connection:
    """Open a GeoPackage for tables kept beside the pool (the run history), creating the file
    with its core tables if needed (autocommit; the caller wraps writes in a transaction)."""
    new_file = not path.exists()
    con = _connect(path, timeout_s)
    if new_file:
        con.execute(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
        con.execute("PRAGMA user_version = 10200")
    elif con.execute("PRAGMA application_id").fetchone()[0] != _GPKG_APPLICATION_ID and not (
        con.execute("SELECT count(*) FROM sqlite_master WHERE name='gpkg_contents'").fetchone()[0]
    ):
        con.close()
        raise PoolError(f"{path} is not a GeoPackage")
    for ddl in _GPKG_CORE:
        con.execute(ddl)
    con.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _GPKG_SRS)
    return con
