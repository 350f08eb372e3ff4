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
from .profiles import Category, Level, Profile, list_profiles, load_profile

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Category",
    "ComponentReport",
    "ConfigError",
    "CRSError",
    "InputError",
    "Level",
    "LifecircleError",
    "NetworkError",
    "PoolError",
    "Profile",
    "ProfileError",
    "Reach",
    "WalkNetwork",
    "list_profiles",
    "load_network",
    "load_profile",
    "settings",
]
