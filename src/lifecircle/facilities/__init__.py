"""Facilities by category: from OpenStreetMap and from bureau/Amap/Baidu tables."""

from .loaders import facilities_from_osm, load_facilities, merge_duplicates, name_score, unmatched

__all__ = ["facilities_from_osm", "load_facilities", "merge_duplicates", "name_score", "unmatched"]
