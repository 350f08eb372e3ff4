"""Communities with population, hierarchy and settlement, and the demand points residents are
spread over.

* ``load.py``: :func:`load_communities` (columns :data:`COMMUNITY_COLUMNS`);
* ``population.py``: :func:`join_population`, a population table joined by code or name;
* ``survey.py``: :func:`load_survey`, residents' survey results per community;
* ``codes.py``: 12-digit NBS codes (统计用区划代码) and urban/village settlement;
* ``demand.py``: :func:`demand_points` and :class:`Demand`;
* ``buildings.py``: :func:`buildings_from_osm`, :func:`residential_buildings`,
  :func:`floor_area_m2`.
"""

from .buildings import buildings_from_osm, floor_area_m2, residential_buildings
from .demand import Demand, demand_points
from .load import COMMUNITY_COLUMNS, GROUP_COLUMNS, load_communities
from .population import join_population
from .survey import Survey, load_survey

__all__ = [
    "COMMUNITY_COLUMNS",
    "GROUP_COLUMNS",
    "Demand",
    "buildings_from_osm",
    "demand_points",
    "floor_area_m2",
    "join_population",
    "load_communities",
    "residential_buildings",
    "Survey",
    "load_survey",
]
