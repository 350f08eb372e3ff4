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
from .analysis import Analysis, analyze
from .communities import Demand, demand_points, load_communities
from .network import ComponentReport, Reach, WalkNetwork, load_network
from .pool import PoolReport, export_pool, read_pool

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Analysis",
    "Demand",
    "analyze",
    "demand_points",
    "load_communities",
    "ComponentReport",
    "ConfigError",
    "CRSError",
    "InputError",
    "LifecircleError",
    "NetworkError",
    "PoolError",
    "PoolReport",
    "ProfileError",
    "Reach",
    "WalkNetwork",
    "export_pool",
    "load_network",
    "read_pool",
    "settings",
]
