"""Facilities by category: from OpenStreetMap and from bureau/Amap/Baidu tables.

Every loader returns a WGS84 (EPSG:4326) GeoDataFrame of points, one row per (facility,
category), indexed by a stable unique ``facility_id`` (also kept as a column), with at least the
columns ``facility_id``, ``category`` (profile category id), ``category_zh``, ``name``,
``source``, ``capacity`` (float, NaN when unknown) and ``geometry``.

* :func:`facilities_from_osm` (``osm.py``) reads the same OSM sources as
  :func:`lifecircle.load_network`.
* :func:`load_facilities` (``tables.py``) reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), Excel,
  GeoPackage, GeoJSON or a (Geo)DataFrame with Chinese or English column names; GCJ-02 (Amap)
  and BD-09 (Baidu) coordinates are converted to WGS84 (``locate.py``).
* :func:`merge_duplicates` (``merge.py``) merges the same facility found in several sources.
* ``classify.py`` decides categories (OSM tags, names, category text, Amap codes); the provider
  type tags of Amap/Baidu exports are read through the table ``poi_types.toml``
  (``poi_types.py``); entrances listed as POIs are attached to their facility (``gates.py``,
  :func:`gates`), OSM entrances to the facility whose outline they lie on
  (:func:`gates_of_facilities`, with :func:`facility_areas_from_osm`); ``frame.py`` holds the
  common columns and reports (:func:`rules_by_category`).

Rows that cannot be placed or categorised are never dropped silently: they raise an
:class:`~lifecircle.InputError` naming the rows, or (when asked) are logged and kept in
``gdf.attrs`` (see :func:`unmatched`).
"""

from .._text import name_score
from .frame import rules_by_category, unmatched
from .gates import gates, gates_from_osm, gates_of_facilities, gates_of_places
from .merge import merge_duplicates
from .osm import facilities_from_osm, facility_areas_from_osm
from .tables import load_facilities

__all__ = [
    "facilities_from_osm",
    "facility_areas_from_osm",
    "gates",
    "gates_from_osm",
    "gates_of_facilities",
    "gates_of_places",
    "load_facilities",
    "merge_duplicates",
    "name_score",
    "rules_by_category",
    "unmatched",
]
