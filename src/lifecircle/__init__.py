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
from .coords import detect_offset, parse_coord_system, to_wgs84
from .facilities import facilities_from_osm, load_facilities, merge_duplicates
from .network import ComponentReport, Reach, WalkNetwork, load_network

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ComponentReport",
    "ConfigError",
    "CRSError",
    "InputError",
    "LifecircleError",
    "NetworkError",
    "PoolError",
    "ProfileError",
    "Reach",
    "WalkNetwork",
    "coords",
    "detect_offset",
    "facilities_from_osm",
    "load_facilities",
    "merge_duplicates",
    "parse_coord_system",
    "to_wgs84",
    "load_network",
    "settings",
]
