"""Standard profiles held as data: life-circle levels, facility categories, distances, capacities,
each number with its source and clause.

Modules: :mod:`.model` (the data classes and :class:`Profile`'s methods), :mod:`.osm_filter`
(tag filters), :mod:`.loader` (:func:`load_profile`: names, files, ``extends``), with
:mod:`.reading` (one file with the line of every key), :mod:`.merge` (``extends`` chains, with the
file that set each key) and :mod:`.build` (validation and construction).
"""

from .loader import PROFILE_DIR, list_profiles, load_profile
from .model import (
    CONFIDENCES,
    MARKS,
    POPULATIONS,
    Capacity,
    Category,
    Fact,
    Level,
    Profile,
    Source,
)
from .osm_filter import format_osm_filter, match_osm_filter, parse_osm_filter

__all__ = [
    "CONFIDENCES",
    "MARKS",
    "POPULATIONS",
    "PROFILE_DIR",
    "Capacity",
    "Category",
    "Fact",
    "Level",
    "Profile",
    "Source",
    "format_osm_filter",
    "list_profiles",
    "load_profile",
    "match_osm_filter",
    "parse_osm_filter",
]
