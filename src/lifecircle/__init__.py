"""lifecircle: which communities lack the public services their residents should reach on foot.

Pipeline: :func:`load_network` → facilities → communities → network accessibility → coverage
against a standard profile → shortfall lists → proposed sites → map → reserve pool export.
"""

import logging as _logging

from . import settings

__version__ = "0.2.0.dev0"
from . import _deprecated, batch, synthetic
from ._errors import (
    ConfigError,
    CRSError,
    InfeasibleError,
    InputError,
    LifecircleError,
    NetworkError,
    PoolError,
    ProfileError,
)
from ._progress import TqdmHandler
from .analysis import Analysis, AnalysisParams, analyze
from .analysis.candidates import Candidates, SitingProblem, siting_problem, user_candidates
from .analysis.optimize import SitingPlan, Solution, optimal_sites
from .analysis.programme import Programme, ProgrammeParams, plan_programme, programme_projects
from .batch import RegionsResult, analyze_regions
from .communities import Demand, demand_points, load_communities
from .facilities import facilities_from_osm, load_facilities, merge_duplicates
from .isochrone import covered_area, isochrones
from .network import ComponentReport, Pairs, Reach, Snapped, WalkNetwork, load_network
from .outputs.map import save_map, shortfall_map
from .outputs.pool import PoolReport, export_pool, read_pool
from .sources import coords
from .sources.coords import detect_offset, parse_coord_system, to_wgs84
from .standards import Category, Level, Profile, list_profiles, load_profile

# isort: split
# campaign monitoring (issue 16): scenarios, runs over time, residents' voice, the report
from .analysis import Comparison, RunRecord, Scenario, Voice, compare, residents_voice
from .communities import Survey, load_survey
from .outputs.pool import read_run, read_runs, record_run
from .outputs.report import report

_deprecated.install()


class _FallbackHandler(TqdmHandler):
    """Shows lifecircle's warnings (to stderr) until the application configures logging.

    Warnings here tell users about data problems (facility types missing from OSM, estimated
    populations, points far from the network); in Jupyter nothing would show them. Once the root
    logger has a handler (``logging.basicConfig`` ...), this one stays silent so nothing is shown
    twice.
    """

    def emit(self, record: _logging.LogRecord) -> None:
        if not _logging.getLogger().handlers:
            super().emit(record)


_handler = _FallbackHandler()
_handler.setLevel(_logging.WARNING)
_handler.setFormatter(_logging.Formatter("%(levelname)s %(name)s: %(message)s"))
_logging.getLogger(__name__).addHandler(_handler)

__all__ = [
    "Analysis",
    "AnalysisParams",
    "Category",
    "ComponentReport",
    "ConfigError",
    "CRSError",
    "Demand",
    "InputError",
    "Level",
    "LifecircleError",
    "NetworkError",
    "Pairs",
    "PoolError",
    "PoolReport",
    "Profile",
    "ProfileError",
    "Reach",
    "Snapped",
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
    "synthetic",
    "shortfall_map",
    "Comparison",
    "RunRecord",
    "Scenario",
    "compare",
    "read_run",
    "read_runs",
    "record_run",
    "report",
    "Survey",
    "Voice",
    "load_survey",
    "residents_voice",
    "batch",
    "analyze_regions",
    "RegionsResult",
    "Candidates",
    "InfeasibleError",
    "Programme",
    "ProgrammeParams",
    "SitingPlan",
    "SitingProblem",
    "Solution",
    "optimal_sites",
    "plan_programme",
    "programme_projects",
    "siting_problem",
    "user_candidates",
]
