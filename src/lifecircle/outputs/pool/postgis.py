"""PostgreSQL/PostGIS store: SQLAlchemy Core + psycopg 3, the whole export in one transaction.

New projects and refreshed computed columns go in with ``INSERT … ON CONFLICT (project_id) DO
UPDATE`` of the computed columns only; PostGIS is enabled if missing; an existing table is locked
against a second export while one runs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import shapely

from ..._errors import PoolError
from ..._progress import progress
from .backend import ExportJob, Stored, Target, Written
from .merge import Plan
from .schema import (
    DEFAULT_STATUS,
    META_TABLE,
    NAMES,
    POOL_COLUMNS,
    REFRESHED,
    check_version,
    meta_items,
)  # fmt: skip
from .values import coerce, record

#: Rows per INSERT ... ON CONFLICT batch.
PG_BATCH = 500


def _engine(target: Target, connect_timeout_s: float) -> tuple[Any, bool]:
    """The engine to use and whether this call owns it (and so disposes of it).

    A URL gets libpq's ``connect_timeout`` (whole seconds, at least 2); an Engine the caller
    made is used as it is.
    """
    import sqlalchemy as sa

    if isinstance(target.url, sa.engine.Engine):
        return target.url, False
    seconds = max(2, math.ceil(connect_timeout_s))
    engine = sa.create_engine(
        target.url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": seconds}
    )
    return engine, True


def _address(target: Target) -> str:
    url = getattr(target.url, "url", target.url)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


@contextmanager
def connection(target: Target, connect_timeout_s: float) -> Iterator[Any]:
    """A connection to the target; a server that does not answer raises a clear PoolError."""
    import sqlalchemy as sa

    engine, own = _engine(target, connect_timeout_s)
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            orig = getattr(exc, "orig", None) or exc
            if "timeout" in type(orig).__name__.lower() or "timeout expired" in str(orig):
                raise PoolError(
                    f"PostgreSQL at {_address(target)} did not answer within "
                    f"{max(2, math.ceil(connect_timeout_s))} s (connect_timeout_s); check the "
                    "host and port of the URL. The pool was left unchanged."
                ) from exc
            raise PoolError(
                f"cannot connect to PostgreSQL at {_address(target)}: {orig}. The pool was "
                "left unchanged."
            ) from exc
        with conn:
            yield conn
    finally:
        if own:
            engine.dispose()


def _table(layer: str, schema: str | None, metadata: Any) -> Any:
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


def _meta_table(schema: str | None, metadata: Any) -> Any:
    import sqlalchemy as sa

    return sa.Table(
        META_TABLE, metadata,
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text),
        schema=schema,
    )  # fmt: skip


def _rows(conn: Any, layer: str, schema: str | None) -> Stored:
    """Rows of an existing pool table (None if absent) and the names of planner-added columns."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    if not insp.has_table(layer, schema=schema):
        return Stored(None, [])
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
        rows.append(coerce(raw))
    return Stored(rows, [c for c in names if c not in NAMES])


def _value(name: str, value: Any) -> Any:
    if name == "geometry":
        if value is None:
            return None
        return "SRID=4326;" + shapely.to_wkt(value, rounding_precision=-1)
    if name == "run_date" and value is not None:
        return dt.date.fromisoformat(value)
    return value


def _key(name: str) -> str:
    return "geom" if name == "geometry" else name


class PostGIS:
    """The PostgreSQL/PostGIS store (:class:`~.backend.Backend`)."""

    def read(
        self, target: Target, layer: str, schema: str | None, connect_timeout_s: float
    ) -> Stored:
        """Rows of table ``layer`` in ``schema``, or ``Stored(None, [])`` if there is none."""
        with connection(target, connect_timeout_s) as conn:
            return _rows(conn, layer, schema)

    def export(self, target: Target, job: ExportJob) -> Written:
        """Upsert in one transaction, holding the pool's lock from the read to the commit."""
        import sqlalchemy as sa

        with connection(target, job.connect_timeout_s) as conn:
            try:
                with conn.begin():
                    return _export(conn, job)
            except sa.exc.SQLAlchemyError as exc:
                orig = getattr(exc, "orig", None)
                if getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
                    raise PoolError(
                        f"the pool {job.layer!r} in {target.label} is being written by another "
                        f"process; try again (waited {job.lock_timeout_s:g} s for its lock). "
                        "The pool was left unchanged."
                    ) from exc
                raise PoolError(
                    f"PostgreSQL export to {target.label} failed, the pool was left unchanged: "
                    f"{orig or exc}"
                ) from exc


#: First key of lifecircle's advisory locks (pg_advisory_xact_lock(int, int)): 'LC' 0001.
LOCK_SPACE = 0x4C430001


def _lock_pool(conn: Any, job: ExportJob) -> None:
    """Wait at most ``lock_timeout_s`` for the pool's advisory lock, held until the commit.

    Exports to one table take turns from before the read to the commit, whether or not the
    table exists yet; a new schema, table or extension is created by one of them only.
    """
    lock_table(conn, job.schema, job.layer, job.lock_timeout_s)


def lock_table(conn: Any, schema: str | None, layer: str, lock_timeout_s: float) -> None:
    """Take the advisory lock of table ``layer`` (held until the commit), waiting at most
    ``lock_timeout_s`` (then SQLSTATE 55P03, lock_not_available). Names are bound, not pasted."""
    import sqlalchemy as sa

    ms = max(1, int(lock_timeout_s * 1000))
    conn.execute(sa.text(f"SET LOCAL lock_timeout = {ms}"))
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), hashtext(coalesce(:schema, "
                "current_schema()) || '.' || :layer))"),
        {"space": LOCK_SPACE, "schema": schema, "layer": layer},
    )  # fmt: skip


def _create_missing(conn: Any, schema: str | None, meta: Any) -> None:
    """PostGIS, the schema and the meta table, if missing; one export at a time does it."""
    import sqlalchemy as sa

    def has_postgis() -> bool:
        found = conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'"))
        return found.first() is not None

    def has_schema() -> bool:
        if schema is None:
            return True
        found = conn.execute(
            sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        )
        return found.first() is not None

    if has_postgis() and has_schema() and sa.inspect(conn).has_table(META_TABLE, schema=schema):
        return
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), 0)"), {"space": LOCK_SPACE}
    )
    if not has_postgis():
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    if schema is not None:
        conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    meta.create(conn, checkfirst=True)


def _export(conn: Any, job: ExportJob) -> Written:
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    layer, schema = job.layer, job.schema
    _lock_pool(conn, job)
    metadata = sa.MetaData()
    table = _table(layer, schema, metadata)
    meta = _meta_table(schema, metadata)
    _create_missing(conn, schema, meta)
    exists = sa.inspect(conn).has_table(layer, schema=schema)
    if not exists:
        table.create(conn)
    else:
        _lock_and_migrate(conn, table, meta, layer, schema)
    existing = _rows(conn, layer, schema).rows if exists else None
    plan = job.plan_for(existing)
    _write_plan(conn, table, plan)
    for k, v in meta_items(job.run_id):
        upsert = pg_insert(meta).values(layer=layer, key=k, value=v)
        conn.execute(upsert.on_conflict_do_update(
            index_elements=[meta.c.layer, meta.c.key], set_={"value": v}))  # fmt: skip
    total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    return Written(plan.counts, int(total))


def _lock_and_migrate(conn: Any, table: Any, meta: Any, layer: str, schema: str | None) -> None:
    """Lock an existing pool table, check its version, add columns a later version brought."""
    import sqlalchemy as sa

    prep = conn.dialect.identifier_preparer
    qualified = prep.format_table(table, use_schema=True)
    conn.execute(sa.text(f"LOCK TABLE {qualified} IN SHARE ROW EXCLUSIVE MODE"))
    found = conn.execute(
        sa.select(meta.c.value).where(meta.c.layer == layer, meta.c.key == "schema_version")
    ).scalar()
    check_version(found, f"pool {layer!r}")
    have = {c["name"] for c in sa.inspect(conn).get_columns(layer, schema=schema)}
    for col in table.columns:
        if col.name not in have:
            ddl = col.type.compile(dialect=conn.dialect)
            column = prep.quote_identifier(col.name)
            conn.execute(sa.text(f"ALTER TABLE {qualified} ADD COLUMN {column} {ddl}"))


def _write_plan(conn: Any, table: Any, plan: Plan) -> None:
    """Insert/refresh and mark the plan's rows in batches of :data:`PG_BATCH`."""
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    stmt = pg_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.project_id],
        set_={_key(n): stmt.excluded[_key(n)] for n in REFRESHED},
    )
    retire = (
        sa.update(table)
        .where(table.c.project_id == sa.bindparam("_pid"))
        .values(in_latest_run=False, missing_since=sa.bindparam("_missing"))
    )
    batch: list[dict[str, Any]] = []
    retired: list[dict[str, Any]] = []
    for row in progress(plan.written(), desc="pool: writing PostGIS", unit="project"):
        rec = record(row)
        if row["_action"] == "retire":
            retired.append({"_pid": rec["project_id"], "_missing": rec["missing_since"]})
        else:
            batch.append({_key(n): _value(n, rec.get(n)) for n in NAMES})
        if len(batch) >= PG_BATCH:
            conn.execute(stmt, batch)
            batch = []
        if len(retired) >= PG_BATCH:
            conn.execute(retire, retired)
            retired = []
    if batch:
        conn.execute(stmt, batch)
    if retired:
        conn.execute(retire, retired)
