"""The project reserve pool (补短板项目库): export ranked gaps, keep what planners wrote.

:func:`export_pool` writes the projects of an analysis into a pool kept in a GeoPackage (the
default, embedded store), a PostgreSQL/PostGIS table, an Excel workbook, a CSV file or GeoJSON.
Re-exporting is an **upsert**: new projects are added, the fields lifecircle computes are
refreshed, the fields planners own (status, year, owner, notes, and any column or row they added)
are never overwritten, and projects a new run no longer lists are marked (``in_latest_run`` false,
``missing_since``), never deleted. Each export is one transaction (SQLite / PostgreSQL) or one
atomic file replacement (xlsx, csv, GeoJSON): a failure leaves the pool as it was.

:func:`read_pool` reads any of these back into one GeoDataFrame (English column names,
EPSG:4326, admin codes as strings). :data:`POOL_COLUMNS` documents every column (see also
``docs/pool.md``).

Modules: ``schema`` (columns, statuses), ``values`` (cell values), ``ids`` (project ids),
``incoming`` (the run and its projects), ``merge`` (the upsert plan), ``backend`` (targets and
the store interface), one module per store (``gpkg``, ``postgis``, ``xlsx``, ``csv``,
``geojson``; ``tabular`` is what xlsx and csv share) and ``api`` (the entry points).
"""

from ...analysis.ids import project_id
from .api import PoolReport, export_pool, read_pool
from .history import read_run, read_runs, record_run
from .schema import POOL_COLUMNS, pool_schema

__all__ = ["POOL_COLUMNS", "PoolReport", "export_pool", "pool_schema", "project_id", "read_pool"]
__all__ += ["read_run", "read_runs", "record_run"]
