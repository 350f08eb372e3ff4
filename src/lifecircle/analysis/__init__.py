"""Gap analysis, one module per stage: ``params`` → ``access`` (network distances) → ``coverage``
→ ``capacity`` (2SFCA) → ``shortfalls`` (ranked, with reasons) → ``index`` (service index,
roll-ups, category table); ``siting`` and ``projects`` on request. :func:`analyze` (``run``)
builds an :class:`Analysis` (``result``), whose tables are computed on construction."""

from .candidates import Candidates, SitingProblem, siting_problem, user_candidates
from .compare import Comparison, RunRecord, compare, run_record
from .optimize import SitingPlan, Solution, optimal_sites
from .params import AnalysisParams
from .programme import Programme, ProgrammeParams, plan_programme, programme_projects
from .result import Analysis
from .run import analyze
from .scenario import Scenario
from .siting import Sites, SitingParams
from .voice import Voice, residents_voice

__all__ = ["Analysis", "AnalysisParams", "Sites", "SitingParams", "analyze"]
__all__ += ["Comparison", "RunRecord", "Scenario", "compare", "run_record"]
__all__ += ["Voice", "residents_voice"]
__all__ += [
    "Candidates", "SitingProblem", "siting_problem", "user_candidates", "SitingPlan", "Solution",
    "optimal_sites", "Programme", "ProgrammeParams", "plan_programme", "programme_projects",
]  # fmt: skip
