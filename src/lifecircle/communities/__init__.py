"""Communities with population, and the demand points residents are spread over."""

from .loaders import (
    COMMUNITY_COLUMNS,
    GROUP_COLUMNS,
    Demand,
    buildings_from_osm,
    demand_points,
    floor_area_m2,
    load_communities,
    residential_buildings,
)

__all__ = [
    "COMMUNITY_COLUMNS",
    "GROUP_COLUMNS",
    "Demand",
    "buildings_from_osm",
    "demand_points",
    "floor_area_m2",
    "load_communities",
    "residential_buildings",
]
