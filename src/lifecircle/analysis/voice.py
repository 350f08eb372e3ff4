"""Residents' voice beside the measured coverage: survey results per community
(:func:`lifecircle.load_survey`), disagreements flagged for follow-up, and an optional,
documented priority weight.

* **Disagreements** (per community): the measured coverage meets the standard but satisfaction is
  low (``< low_satisfaction``, default 3 of 5): ``covered_but_unsatisfied``; or it falls short
  but residents are satisfied (``>= high_satisfaction``, default 4): ``short_but_satisfied``.
  A community with a sample size of 0 has no satisfaction to compare: never flagged.
  Per category: residents want it (demand ≥ 0.5) and the community falls short of it:
  ``wanted_and_short``; they do not want it (demand 0) although the standard requires it:
  ``required_not_wanted``.
* **Priority weight** (optional, off unless ``weight`` > 0): the priority score of a shortfall
  becomes ``priority_score × (1 + weight × demand)``, demand in 0–1 (the share answering 需要,
  or 1/rank), 0 where the community was not surveyed; ranks are recomputed in a separate column,
  the analysis' own ranking is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..communities.survey import Survey
from .coverage import HIERARCHY
from .result import Analysis

#: Demand at or above which residents "want" a category.
WANTED = 0.5


@dataclass(frozen=True)
class Voice:
    """Survey results beside coverage (see :func:`residents_voice`).

    Attributes
    ----------
    communities : one row per community: hierarchy, ``service_index``, ``meets_all_required``,
        ``satisfaction``, ``sample_size``, ``flag`` (``covered_but_unsatisfied``,
        ``short_but_satisfied`` or empty).
    categories : one row per surveyed community × surveyed category: hierarchy, ``category``,
        ``meets_standard``, ``covered_share``, ``demand``, ``flag`` (``wanted_and_short``,
        ``required_not_wanted`` or empty).
    shortfalls : the analysis' shortfalls with ``survey_demand``, ``priority_score_weighted``
        and ``priority_rank_weighted`` (equal to the analysis' own when ``weight`` is 0).
    follow_up : the flagged rows of both tables, for follow-up (communities first).
    """

    communities: pd.DataFrame
    categories: pd.DataFrame
    shortfalls: pd.DataFrame
    follow_up: pd.DataFrame


def _demand_long(survey: Survey) -> pd.DataFrame:
    cols = [f"demand:{c}" for c in survey.categories]
    long = survey.frame.melt(id_vars="community_id", value_vars=cols, var_name="category",
                             value_name="demand")  # fmt: skip
    long["category"] = long["category"].str.removeprefix("demand:")
    return long.dropna(subset=["demand"])


def residents_voice(
    analysis: Analysis,
    survey: Survey,
    weight: float = 0.0,
    low_satisfaction: float = 3.0,
    high_satisfaction: float = 4.0,
) -> Voice:
    """Survey results beside the coverage of ``analysis``, disagreements flagged, and (with
    ``weight`` > 0) the shortfalls re-ranked by residents' demand; see the module docstring."""
    idx = analysis.index[[*HIERARCHY, "service_index", "meets_all_required"]]
    comm = idx.merge(survey.frame[["community_id", "satisfaction", "sample_size"]],
                     on="community_id", how="left")  # fmt: skip
    meets = comm["meets_all_required"]
    sat = comm["satisfaction"].where(comm["sample_size"] != 0)
    comm["flag"] = np.select(
        [(meets == True) & (sat < low_satisfaction),  # noqa: E712
         (meets == False) & (sat >= high_satisfaction)],  # noqa: E712
        ["covered_but_unsatisfied", "short_but_satisfied"], "",
    )  # fmt: skip
    cov = analysis.coverage[[*HIERARCHY, "category", "required", "meets_standard",
                             "covered_share", "assessed"]]  # fmt: skip
    cats = cov.merge(_demand_long(survey), on=["community_id", "category"], how="inner")
    short = cats["assessed"].astype(bool) & ~cats["meets_standard"].astype(bool)
    cats["flag"] = np.select(
        [short & (cats["demand"] >= WANTED), cats["required"].astype(bool) & (cats["demand"] == 0)],
        ["wanted_and_short", "required_not_wanted"], "",
    )  # fmt: skip
    sf = analysis.shortfalls.merge(_demand_long(survey), on=["community_id", "category"],
                                   how="left").rename(columns={"demand": "survey_demand"})  # fmt: skip
    sf["survey_demand"] = sf["survey_demand"].fillna(0.0)
    sf["priority_score_weighted"] = sf["priority_score"] * (1 + weight * sf["survey_demand"])
    order = sf.sort_values(["required", "priority_score_weighted", "priority_rank"],
                           ascending=[False, False, True], kind="stable").index  # fmt: skip
    sf.loc[order, "priority_rank_weighted"] = np.arange(1, len(sf) + 1)
    sf["priority_rank_weighted"] = sf["priority_rank_weighted"].astype(int)
    follow = pd.concat([comm[comm["flag"] != ""].assign(category=None),
                        cats[cats["flag"] != ""]], ignore_index=True)  # fmt: skip
    return Voice(comm, cats.drop(columns="assessed"), sf, follow[[*HIERARCHY, "category", "flag"]])
