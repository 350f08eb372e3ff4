"""Standard profiles held as data: life-circle levels, facility categories, distances, capacities,
each number with its source and clause."""

from .model import Capacity, Category, Fact, Level, Profile, Source, list_profiles, load_profile

__all__ = [
    "Capacity",
    "Category",
    "Fact",
    "Level",
    "Profile",
    "Source",
    "list_profiles",
    "load_profile",
]
