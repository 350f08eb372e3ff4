"""Where a pool lives: the target a user names, and the interface every store implements.

A store (:class:`Backend`) reads a layer into rows and writes an export's plan. The five stores
are ``gpkg``, ``postgis``, ``xlsx``, ``csv`` and ``geojson`` (one module each).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from ..._errors import InputError, PoolError
from .merge import Planner
from .schema import Headers
from .values import Row

Kind = Literal["gpkg", "postgis", "xlsx", "csv", "geojson"]


@dataclass(frozen=True)
class Target:
    """A resolved pool target: a file ``path`` or a PostgreSQL ``url`` (URL or Engine)."""

    kind: Kind
    path: Path | None = None
    url: Any = None  # sqlalchemy URL or Engine

    @property
    def label(self) -> str:
        """The target as shown in reports and errors (no password)."""
        if self.path is not None:
            return str(self.path)
        url = getattr(self.url, "url", self.url)
        return url.render_as_string(hide_password=True)


class Stored(NamedTuple):
    """A layer as read: its rows (None when the store holds no such layer) and extra columns."""

    rows: list[Row] | None
    extras: list[str]


class Written(NamedTuple):
    """What an export wrote: the plan's counts and the number of projects now in the pool."""

    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class ExportJob:
    """Everything a store needs to write an export, besides the target."""

    layer: str
    schema: str | None
    run_id: str
    plan_for: Planner
    headers: Headers | None
    lock_timeout_s: float
    connect_timeout_s: float


class Backend(Protocol):
    """A pool store."""

    def read(
        self, target: Target, layer: str, schema: str | None, connect_timeout_s: float
    ) -> Stored:
        """Rows of ``layer`` (typed by ``values.coerce``) and the planner-added columns."""
        ...

    def export(self, target: Target, job: ExportJob) -> Written:
        """Read the layer, call ``job.plan_for`` with its rows, write the plan, all or nothing."""
        ...


_SUFFIXES: dict[str, Kind] = {".gpkg": "gpkg", ".xlsx": "xlsx", ".csv": "csv",
                              ".geojson": "geojson", ".json": "geojson"}  # fmt: skip


def resolve_target(target: object) -> Target:
    """Turn a path, a ``postgresql://`` URL or a SQLAlchemy engine into a :class:`Target`."""
    try:
        import sqlalchemy as sa

        if isinstance(target, sa.engine.Engine):
            return Target("postgis", url=target)
    except ImportError:  # pragma: no cover - the postgis extra is optional
        sa = None
    if isinstance(target, str) and re.match(r"(?i)postgres(ql)?(\+\w+)?://", target):
        if sa is None:  # pragma: no cover
            raise PoolError("PostgreSQL targets need: pip install 'lifecircle[postgis]'")
        url = sa.engine.make_url(target).set(drivername="postgresql+psycopg")
        return Target("postgis", url=url)
    if isinstance(target, str | os.PathLike):
        path = Path(target).expanduser()
        kind = _SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise InputError(
                f"pool target {str(target)!r}: use a .gpkg, .xlsx, .csv or .geojson path or a "
                "postgresql:// URL (an old .xls workbook must be saved as .xlsx first)"
            )
        return Target(kind, path=path)
    raise InputError(f"pool target must be a path or a postgresql:// URL, got {target!r}")
