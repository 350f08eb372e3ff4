"""The project reserve pool (补短板项目库): GeoPackage, PostGIS, Excel, CSV, GeoJSON."""

from .core import PoolReport, export_pool, pool_schema, project_id, read_pool

__all__ = ["PoolReport", "export_pool", "pool_schema", "project_id", "read_pool"]
