"""lifecircle: which communities lack the public services their residents should reach on foot.

Pipeline: :func:`load_network` → facilities → communities → network accessibility → coverage
against a standard profile → shortfall lists → proposed sites → map → reserve pool export.
"""

from __future__ import annotations

import logging

from . import settings
from ._errors import (
    ConfigError,
    CRSError,
    InputError,
    LifecircleError,
    NetworkError,
    PoolError,
    ProfileError,
)
from . import coords
from .analysis import Analysis, analyze
from .communities import Demand, demand_points, load_communities
from .coords import detect_offset, parse_coord_system, to_wgs84
from .facilities import facilities_from_osm, load_facilities, merge_duplicates
from .mapping import save_map, shortfall_map
from .network import ComponentReport, Reach, WalkNetwork, load_network
from .isochrone import covered_area, isochrones
from .pool import PoolReport, export_pool, read_pool
from .profiles import Category, Level, Profile, list_profiles, load_profile

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Analysis",
    "Category",
    "ComponentReport",
    "ConfigError",
    "CRSError",
    "Demand",
    "InputError",
    "Level",
    "LifecircleError",
    "NetworkError",
    "PoolError",
    "PoolReport",
    "Profile",
    "ProfileError",
    "Reach",
    "WalkNetwork",
    "analyze",
    "coords",
    "covered_area",
    "demand_points",
    "detect_offset",
    "export_pool",
    "facilities_from_osm",
    "isochrones",
    "list_profiles",
    "load_communities",
    "load_facilities",
    "merge_duplicates",
    "parse_coord_system",
    "to_wgs84",
    "load_network",
    "load_profile",
    "read_pool",
    "save_map",
    "settings",
    "shortfall_map",
]
