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
from .network import ComponentReport, Reach, WalkNetwork, load_network
from .isochrones import covered_area, isochrones

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
    "covered_area",
    "isochrones",
    "load_network",
    "settings",
]
