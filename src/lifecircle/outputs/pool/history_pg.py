"""The run history in PostgreSQL: the table ``lifecircle_runs`` beside a PostGIS pool.

The same columns as the GeoPackage history (:mod:`.history`), as a plain table (no geometry, so
the PostGIS extension is not needed for it): ``fid`` an identity key, ``run_id`` unique,
``run_date`` a ``date``, numbers as ``double precision`` / ``integer``, the fingerprints, summary
and whole record as JSON text. Connections, the advisory lock and its timeout are those of the
pool's store (:mod:`.postgis`); every value is a bound parameter and every name is quoted by
SQLAlchemy, so nothing a user gives is pasted into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..._errors import PoolError
from .backend import Target
from .postgis import LOCK_SPACE, connection, lock_table

#: Column types of the history table (SQLAlchemy type names), in table order after ``fid``.
_TYPES = {"run_id": "Text", "run_date": "Date", "profile": "Text", "profile_version": "Text",
          "lifecircle_version": "Text", "share_meeting_standard": "Float",
          "target_share": "Float", "communities": "Integer", "shortfalls": "Integer",
          "facilities": "Integer", "fingerprints": "Text", "summary": "Text",
          "record": "Text"}  # fmt: skip
_NOT_NULL = {"run_id", "run_date", "record"}


def runs_table(name: str, schema: str | None) -> Any:
    """The SQLAlchemy table of the run history ``name`` in ``schema``."""
    import sqlalchemy as sa

    def typ(t: str) -> Any:
        return sa.Float(53) if t == "Float" else getattr(sa, t)

    cols = [sa.Column(c, typ(t), nullable=c not in _NOT_NULL, unique=c == "run_id")
            for c, t in _TYPES.items()]  # fmt: skip
    fid = sa.Column("fid", sa.BigInteger, sa.Identity(), primary_key=True)
    return sa.Table(name, sa.MetaData(), fid, *cols, schema=schema)


@contextmanager
def _transaction(target: Target, what: str, connect_timeout_s: float) -> Iterator[Any]:
    """A connection in a transaction; database errors become a PoolError saying ``what``."""
    import sqlalchemy as sa

    with connection(target, connect_timeout_s) as conn:
        try:
            with conn.begin():
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            if getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise PoolError(
                    f"{what} in {target.label}: the run history is being written by another "
                    "process; try again. Nothing was changed."
                ) from exc
            raise PoolError(f"{what} in {target.label} failed, nothing was changed: "
                            f"{orig or exc}") from exc  # fmt: skip


def _create(conn: Any, table: Any) -> None:
    """The schema and the table, if missing (one session at a time, as the pool does)."""
    import sqlalchemy as sa

    if sa.inspect(conn).has_table(table.name, schema=table.schema):
        return
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), 0)"), {"space": LOCK_SPACE}
    )
    if table.schema is not None:
        conn.execute(sa.schema.CreateSchema(table.schema, if_not_exists=True))
    table.create(conn, checkfirst=True)


def write_run(
    target: Target, name: str, row: dict[str, Any], schema: str | None,
    timeouts_s: tuple[float, float],
) -> None:  # fmt: skip
    """Write ``row`` to the history ``name``, replacing a row with the same run id.

    ``timeouts_s``: (lock, connect). Writers of one history take turns (the table's advisory
    lock), so a run id recorded twice at once leaves one row.
    """
    import sqlalchemy as sa

    lock_timeout_s, connect_timeout_s = timeouts_s
    table = runs_table(name, schema)
    values = {**row, "run_date": dt.date.fromisoformat(str(row["run_date"]))}
    with _transaction(target, f"recording run {row['run_id']!r}", connect_timeout_s) as conn:
        lock_table(conn, schema, name, lock_timeout_s)
        _create(conn, table)
        conn.execute(sa.delete(table).where(table.c.run_id == values["run_id"]))
        conn.execute(sa.insert(table).values(values))


def _select(
    target: Target, name: str, schema: str | None, connect_timeout_s: float,
    query: Callable[[Any], Any],
) -> list[Any] | None:  # fmt: skip
    """Rows of ``query(table)``, or None when there is no history table."""
    import sqlalchemy as sa

    table = runs_table(name, schema)
    with _transaction(target, "reading the run history", connect_timeout_s) as conn:
        if not sa.inspect(conn).has_table(name, schema=schema):
            return None
        return list(conn.execute(query(table)).all())


def read_rows(
    target: Target, name: str, columns: list[str], schema: str | None, connect_timeout_s: float
) -> list[tuple[Any, ...]]:
    """The ``columns`` of every recorded run, oldest first (dates as ISO text)."""
    import sqlalchemy as sa

    def query(t: Any) -> Any:
        return sa.select(*[t.c[c] for c in columns]).order_by(t.c.run_date, t.c.fid)

    rows = _select(target, name, schema, connect_timeout_s, query) or []
    return [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in r) for r in rows]


def read_record(
    target: Target, name: str, run_id: str, schema: str | None, connect_timeout_s: float
) -> str | None:
    """The JSON record of ``run_id`` (None if not recorded); PoolError if there is no history."""
    import sqlalchemy as sa

    def query(t: Any) -> Any:
        return sa.select(t.c.record).where(t.c.run_id == run_id)

    rows = _select(target, name, schema, connect_timeout_s, query)
    if rows is None:
        where = f"schema {schema!r}" if schema else "the default schema"
        raise PoolError(f"{target.label}: no run history (table {name!r} in {where}); record a "
                        "run first with lifecircle.record_run")  # fmt: skip
    return rows[0][0] if rows else None
