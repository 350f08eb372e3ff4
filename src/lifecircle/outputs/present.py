"""How result tables read to the people who get them — in one place for every workbook and CSV.

The analysis keeps raw values (ids, ``True``/``False``, shares as 0.25, ``inf`` distances) in
Python. For officials the output layer shows them as they read a list: Chinese-first (or
English) values for coded columns (levels as 5分钟生活圈, target groups, shortfall kinds, scopes,
data status, ▲/△ for required/optional, 是/否), whole numbers for people and metres, shares as
percentages, the nearest facility's name with its id in its own column. Excel cells keep numbers
as numbers with number formats; CSV cells get the rounded text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis.shortfalls import level_label
from ..standards import Profile
from .labels import VALUES, YES_NO

#: Column kinds: how each numeric or coded column is shown.
PEOPLE = (
    "population", "group_pop", "covered_pop", "uncovered_pop", "capacity_short_pop",
    "affected_pop", "new_covered_pop", "communities", "communities_assessed",
    "communities_meeting", "urban_assessed", "urban_meeting", "village_assessed",
    "village_meeting", "unsnapped_points", "n_shortfalls", "n_not_assessed", "facilities", "rank",
    "priority_rank", "site_rank",
)  # fmt: skip
METRES = ("threshold_m", "distance_m", "distance_min_m", "distance_max_m", "nearest_m",
          "distance_m_a", "distance_m_b")  # fmt: skip
SHARES = ("covered_share", "share_meeting", "share_meeting_standard", "target_share",
          "share_before", "share_after", "share_change", "gap_to_target")  # fmt: skip
ONE_DECIMAL = (
    "supply_per_1000", "capacity_threshold_per_1000", "service_index", "priority_score", "weight",
)  # fmt: skip
YES_NO_COLUMNS = (
    "meets_distance", "meets_capacity", "meets_standard", "meets_all_required", "meets_target",
    "pop_estimated",
)  # fmt: skip

#: Excel number format of each kind.
EXCEL_FORMATS = {"people": "#,##0", "metres": "#,##0", "share": "0%", "decimal": "0.0"}

#: Columns left out of a language's tables (the other language's text, internal flags).
DROP = {
    "zh": ("category_en", "reason_en", "answered_by_en", "uses_en", "source_hint_en", "assessed"),
    "en": ("category_zh", "reason_zh", "answered_by_zh", "uses_zh", "source_hint_zh", "assessed"),
}


@dataclass(frozen=True)
class Presented:
    """A table ready to write: display values, and the Excel number format of its columns."""

    frame: pd.DataFrame
    formats: dict[str, str]


def kind_of(column: str) -> str | None:
    """``people``, ``metres``, ``share``, ``decimal`` or ``None`` (text, codes)."""
    for kind, cols in (("people", PEOPLE), ("metres", METRES), ("share", SHARES),
                       ("decimal", ONE_DECIMAL)):  # fmt: skip
        if column in cols:
            return kind
    return None


def _numbers(values: pd.Series, kind: str, for_csv: bool) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce").replace([np.inf, -np.inf], np.nan)
    if kind in ("people", "metres"):
        return v.round().astype("Int64")
    if kind == "decimal":
        return v.round(1)
    if for_csv:  # share
        return v.map(lambda x: "" if pd.isna(x) else f"{x:.0%}")
    return v.round(2)  # shown as a whole percentage by the cell format


def _coded(values: pd.Series, table: dict, i: int) -> pd.Series:
    return values.map(lambda x: table[x][i] if _hashable(x) and x in table else x)


def _hashable(x: object) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return not (isinstance(x, float) and x != x)


def _level_names(profile: Profile | None, i: int) -> dict[str, str]:
    if profile is None:
        return {}
    out = {}
    for cat in profile.categories.values():
        out.setdefault(cat.level, level_label(profile, cat)[i])
    return out


def present(
    df: pd.DataFrame,
    lang: str = "zh",
    *,
    profile: Profile | None = None,
    facility_names: pd.Series | None = None,
    for_csv: bool = False,
    exact: bool = False,
) -> Presented:
    """``df`` as people read it in ``lang`` (see the module docstring). Column names stay the
    internal ones (headers come from :mod:`~lifecircle.outputs.labels`). ``exact``: numbers
    keep their values (only the Excel formats round them on screen), e.g. for a report whose
    cells must equal the analysis tables."""
    i = 0 if lang == "zh" else 1
    out = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    out = out.drop(columns=[c for c in DROP[lang] if c in out.columns])
    formats: dict[str, str] = {}
    for col in list(out.columns):
        kind = kind_of(col)
        if kind is not None:
            if not exact:
                out[col] = _numbers(out[col], kind, for_csv)
            formats[col] = EXCEL_FORMATS[kind]
        elif col in YES_NO_COLUMNS:
            out[col] = _coded(out[col].astype(object), YES_NO, i).where(out[col].notna(), None)
        elif col == "level":
            names = _level_names(profile, i)
            out[col] = out[col].map(lambda x, names=names: names.get(x, x))
        elif col in VALUES:
            out[col] = _coded(out[col].astype(object), VALUES[col], i)
    if "nearest_facility" in out.columns:
        ids = out["nearest_facility"]
        pos = out.columns.get_loc("nearest_facility") + 1
        out.insert(pos, "nearest_facility_id", ids)
        if facility_names is not None:
            out["nearest_facility"] = ids.map(lambda x: facility_names.get(x, x) if x else x)
    return Presented(out, formats)
