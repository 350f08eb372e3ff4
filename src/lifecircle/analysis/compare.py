"""Runs over time (历次评估): what one run records, and what changed between two runs and why.

:func:`run_record` keeps what a later comparison needs from an :class:`Analysis` — its date,
profile id and version, fingerprints of the inputs, the summary, and slim tables (communities,
coverage status per category, facilities, the share meeting the standard per street and county).
The pool keeps these records in its run history (:func:`lifecircle.record_run`).

:func:`compare` takes two Analyses or two records and lists the communities whose standard status
changed, per category, with the cause: a facility opened (the new nearest facility was not in the
earlier run), closed (the earlier nearest one is gone), moved (same id, more than
:data:`FACILITY_MOVED_M` away), the population changed, or the standard changed (threshold or
required share); new and vanished facilities; and the progress of every
street and county toward the target share (and, given ``target_year``, whether it is on track).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from .._errors import InputError
from .coverage import HIERARCHY
from .index import COUNTY_KEYS, STREET_KEYS
from .result import Analysis

#: Cause codes and their (Chinese, English) words.
CAUSES: dict[str, tuple[str, str]] = {
    "facility_opened": ("新设施开放", "a facility opened"),
    "facility_closed": ("设施关闭", "a facility closed"),
    "facility_moved": ("设施位置变动", "a facility moved"),
    "supply_added": ("同类设施新增 (供给增加)",
                     "a facility of the category opened, not the nearest (more supply)"),
    "supply_removed": ("同类设施减少 (供给减少)",
                       "a facility of the category closed, not the nearest (less supply)"),
    "population_changed": ("人口变化", "the population changed"),
    "standard_changed": ("标准变化", "the standard changed"),
    "data_missing": ("该类设施已无数据，不再评估", "no data on the category any more: not assessed"),
    "data_added": ("该类设施有了数据，开始评估", "data on the category now: assessed"),
    "other": ("其他 (路网或人口分布)", "other (network or where people live)"),
}
#: A facility with the same id counts as moved when its location changed by more than this (m).
FACILITY_MOVED_M = 10.0
_GEOD = Geod(ellps="WGS84")
_COVERAGE = ["community_id", "category", "meets_standard", "assessed", "nearest_facility",
             "distance_m", "threshold_m", "covered_share"]  # fmt: skip
_COMMUNITY = [*HIERARCHY, "population", "meets_all_required", "service_index"]
_SHARE = ["communities_assessed", "communities_meeting", "share_meeting_standard", "target_share"]


@dataclass(frozen=True, eq=False)
class RunRecord:
    """What a run leaves in the run history (see :func:`run_record`)."""

    run_id: str
    run_date: str
    profile: str
    profile_version: str
    lifecircle_version: str
    params: dict[str, Any]
    fingerprints: dict[str, str]
    summary: dict[str, Any]
    communities: pd.DataFrame = field(repr=False)
    coverage: pd.DataFrame = field(repr=False)
    facilities: pd.DataFrame = field(repr=False)
    by_street: pd.DataFrame = field(repr=False)
    by_county: pd.DataFrame = field(repr=False)

    def to_json(self) -> str:
        """The record as one JSON text (tables as ``{"columns", "data"}``)."""
        head = {k: v for k, v in asdict(self).items() if not isinstance(v, pd.DataFrame)}
        tables = {k: _table_json(getattr(self, k)) for k in _TABLES}
        return json.dumps({**head, "tables": tables}, ensure_ascii=False, default=_plain)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """The record :meth:`to_json` wrote."""
        d = json.loads(text)
        tables = d.pop("tables")
        return cls(**d, **{k: pd.DataFrame(**tables[k]) for k in _TABLES})


_TABLES = ("communities", "coverage", "facilities", "by_street", "by_county")


def _table_json(df: pd.DataFrame) -> dict[str, Any]:
    return {"columns": list(df.columns), "data": df.astype(object).where(df.notna(), None)
            .to_numpy().tolist()}  # fmt: skip


def _plain(v: Any) -> Any:
    """JSON for numpy scalars and the like."""
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.hexdigest()[:12]


def fingerprints(a: Analysis) -> dict[str, str]:
    """Short digests of each input: network, facilities, communities (population) and demand."""
    fac = a.facilities
    comm = a.communities
    return {
        "network": _digest(np.ascontiguousarray(a.network.weights).tobytes()),
        "facilities": _digest(
            "|".join(map(str, fac.index)).encode(),
            "|".join(map(str, fac["category"])).encode(),
            b"".join(shapely.to_wkb(fac.geometry.values)),
        ),  # fmt: skip
        "communities": _digest(comm[["community_id", "population"]].to_csv(index=False).encode()),
        "demand": _digest(
            pd.util.hash_pandas_object(
                a.demand.drop(columns="geometry"), index=False
            ).values.tobytes()
        ),  # fmt: skip
    }


def _version() -> str:
    from .. import __version__  # the package's one version (pyproject.toml reads it too)

    return __version__


def run_record(a: Analysis, run_date: str | None = None) -> RunRecord:
    """The :class:`RunRecord` of an analysis (``run_date``: ISO date, default today)."""
    fac = a.facilities.to_crs(4326) if a.facilities.crs else a.facilities
    facilities = pd.DataFrame({
        "facility_id": [str(i) for i in fac.index], "category": fac["category"].to_numpy(),
        "name": fac["name"].to_numpy() if "name" in fac else None,
        "lon": fac.geometry.x.to_numpy(), "lat": fac.geometry.y.to_numpy(),
    })  # fmt: skip
    p = a.params
    params = {"thresholds": dict(a.thresholds), "min_covered_share": p.min_covered_share,
              "target_share": p.target_share, "share_of": a.share_of}  # fmt: skip
    return RunRecord(
        run_id=a.run_id,
        run_date=run_date or date.today().isoformat(),
        profile=str(a.profile.id),
        profile_version=str(a.profile.version),
        lifecircle_version=_version(),
        params=params,
        fingerprints=fingerprints(a),
        summary={k: _plain(v) if isinstance(v, np.generic) else v for k, v in a.summary.items()},
        communities=pd.DataFrame(a.index[_COMMUNITY]),
        coverage=a.coverage[_COVERAGE].copy(),
        facilities=facilities,
        by_street=a.index_by_street[[*STREET_KEYS, *_SHARE]].copy(),
        by_county=a.index_by_county[[*COUNTY_KEYS, *_SHARE]].copy(),
    )


# ---------------------------------------------------------------------- the comparison
@dataclass(frozen=True, eq=False)
class Comparison:
    """What changed from run ``a`` (earlier) to run ``b`` (later); see :func:`compare`.

    Attributes
    ----------
    changes : one row per community × category whose ``meets_standard`` changed, or that is
        assessed in one run only: hierarchy, ``category``, ``change`` (``improved``/``worsened``;
        ``no_longer_assessed``: no data on the category in ``b``, e.g. its only facility closed;
        ``newly_assessed``), ``causes`` (codes of :data:`CAUSES`, comma-separated),
        ``reason_zh``/``reason_en``, nearest facility and distance before/after.
    communities : one row per community with a change: ``meets_before``/``meets_after`` (every
        required category), ``improved``/``worsened``/``no_longer_assessed``/``newly_assessed``
        (categories, 、-separated), ``causes``.
    facilities_new, facilities_vanished : facilities in ``b`` only / in ``a`` only.
    by_street, by_county : the share meeting the standard in both runs, its change, the gap to
        the target share, the year it is reached at this pace (``reached_by_year``: the later
        run's year where it is already reached) and, with ``target_year``, ``on_track``.
    summary : headline numbers; ``facilities_moved``: facilities in both runs that moved;
        ``profile_changed``: the standard differs (profile id or version, a category's
        threshold or the required covered share).
    """

    a: RunRecord
    b: RunRecord
    changes: pd.DataFrame
    communities: pd.DataFrame
    facilities_new: pd.DataFrame
    facilities_vanished: pd.DataFrame
    by_street: pd.DataFrame
    by_county: pd.DataFrame
    summary: dict[str, Any]

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<Comparison {s['run_a']} ({s['date_a']}) → {s['run_b']} ({s['date_b']}): "
            f"{s['improved']} improved, {s['worsened']} worsened"
            + (f", {s['no_longer_assessed']} no longer assessed" if s["no_longer_assessed"] else "")
            + f"; {s['facilities_new']} new, {s['facilities_vanished']} vanished"
            + (f", {s['facilities_moved']} moved" if s.get("facilities_moved") else "")
            + " facilities>"
        )


def _as_record(run: Analysis | RunRecord, name: str) -> RunRecord:
    if isinstance(run, RunRecord):
        return run
    if isinstance(run, Analysis):
        return run_record(run)
    raise InputError(
        f"compare: {name} must be an Analysis or a recorded run (read_runs / read_run)"
    )


def _moved(a: RunRecord, b: RunRecord) -> set[str]:
    """Ids of the facilities in both runs whose location changed by more than
    :data:`FACILITY_MOVED_M` (great-circle distance between the recorded lon/lat)."""
    if not {"lon", "lat"} <= set(a.facilities.columns) & set(b.facilities.columns):
        return set()  # a record without locations (written by hand): nothing to say
    m = a.facilities.merge(b.facilities, on="facility_id", suffixes=("_a", "_b"))
    if len(m) == 0:
        return set()
    _, _, moved_m = _GEOD.inv(*(m[c].to_numpy(float) for c in ("lon_a", "lat_a", "lon_b", "lat_b")))
    return set(m.loc[np.asarray(moved_m) > FACILITY_MOVED_M, "facility_id"])


def _causes(
    row: Any, a: RunRecord, b: RunRecord, ids: dict[str, set], pop: pd.Series
) -> list[str]:
    """Cause codes of one changed community × category row (merged before/after columns);
    ``ids``: the ``new``, ``gone`` and ``moved`` facility ids, and the categories that gained
    (``categories_new``) or lost (``categories_gone``) facilities."""
    out = []
    if row.change in ("improved", "newly_assessed") and row.nearest_facility_b in ids["new"]:
        out.append("facility_opened")
    if row.change in ("worsened", "no_longer_assessed") and row.nearest_facility_a in ids["gone"]:
        out.append("facility_closed")
    if ids["moved"] & {row.nearest_facility_a, row.nearest_facility_b}:
        out.append("facility_moved")
    # the nearest facility is the same kind as before, but the category gained or lost others:
    # the supply per 1,000 (capacity step) follows every facility within reach, not the nearest
    if row.change == "improved" and not out and row.category in ids["categories_new"]:
        out.append("supply_added")
    if row.change == "worsened" and not out and row.category in ids["categories_gone"]:
        out.append("supply_removed")
    if row.change in ("no_longer_assessed", "newly_assessed"):
        out.append("data_missing" if row.change == "no_longer_assessed" else "data_added")
    if pop.get(row.community_id, False):
        out.append("population_changed")
    thr_a, thr_b = (
        a.params["thresholds"].get(row.category),
        b.params["thresholds"].get(row.category),
    )
    if thr_a != thr_b or a.params["min_covered_share"] != b.params["min_covered_share"]:
        out.append("standard_changed")
    return out or ["other"]


def _standard_changed(a: RunRecord, b: RunRecord) -> bool:
    """Whether the standard differs: the profile's id or version, a threshold or the required
    covered share."""
    return (a.profile, a.profile_version) != (b.profile, b.profile_version) or any(
        a.params.get(k) != b.params.get(k) for k in ("thresholds", "min_covered_share"))  # fmt: skip


def _changes(a: RunRecord, b: RunRecord, ids: dict[str, set]) -> pd.DataFrame:
    m = a.coverage.merge(b.coverage, on=["community_id", "category"], suffixes=("_a", "_b"))
    aa, ab = m["assessed_a"].astype(bool).to_numpy(), m["assessed_b"].astype(bool).to_numpy()
    ma, mb = m["meets_standard_a"].astype(bool).to_numpy(), m["meets_standard_b"].astype(bool).to_numpy()
    # met or not in both runs, or assessed in one run only (a category left without data: its
    # communities are no longer counted, which a report must show, not drop)
    keep = (aa & ab & (ma != mb)) | (aa != ab)
    change = np.select([aa & ~ab, ~aa & ab, mb], ["no_longer_assessed", "newly_assessed", "improved"],
                       "worsened")  # fmt: skip
    m = m[keep].assign(change=change[keep])
    ca = a.communities.set_index("community_id")["population"]
    cb = b.communities.set_index("community_id")["population"].reindex(ca.index)
    pop_changed = ~np.isclose(ca.to_numpy(float), cb.to_numpy(float), rtol=1e-9, equal_nan=True)
    pop = pd.Series(pop_changed, index=ca.index)
    causes = [_causes(r, a, b, ids, pop) for r in m.itertuples()]
    m["causes"] = [",".join(c) for c in causes]
    m["reason_zh"] = ["、".join(CAUSES[k][0] for k in c) for c in causes]
    m["reason_en"] = ["; ".join(CAUSES[k][1] for k in c) for c in causes]
    place = b.communities[HIERARCHY]
    cols = [*HIERARCHY, "category", "change", "causes", "reason_zh", "reason_en",
            "nearest_facility_a", "distance_m_a", "nearest_facility_b", "distance_m_b"]  # fmt: skip
    return m.merge(place, on="community_id", how="left")[cols].reset_index(drop=True)


_KINDS = ("improved", "worsened", "no_longer_assessed", "newly_assessed")
_COMMUNITY_CHANGE = [*HIERARCHY, "meets_before", "meets_after", *_KINDS, "causes"]


def _communities(a: RunRecord, b: RunRecord, changes: pd.DataFrame) -> pd.DataFrame:
    if changes.empty:
        return pd.DataFrame(columns=_COMMUNITY_CHANGE)
    g = changes.groupby("community_id", sort=False)
    out = pd.DataFrame({
        **{k: g.apply(lambda d, k=k: "、".join(d.loc[d["change"] == k, "category"])) for k in _KINDS},
        "causes": g["causes"].agg(lambda s: ",".join(dict.fromkeys(",".join(s).split(",")))),
    })  # fmt: skip
    ia = a.communities.set_index("community_id")["meets_all_required"]
    ib = b.communities.set_index("community_id")
    out = ib.loc[out.index, [h for h in HIERARCHY if h != "community_id"]].join(out)
    out.insert(6, "meets_before", ia.reindex(out.index).to_numpy())
    out.insert(7, "meets_after", ib.loc[out.index, "meets_all_required"].to_numpy())
    return out.reset_index()[_COMMUNITY_CHANGE]


def _progress(sa: pd.DataFrame, sb: pd.DataFrame, keys: list[str], days: int,
              target_year: int | None, date_b: str) -> pd.DataFrame:  # fmt: skip
    """Shares in both runs (``days`` apart) and the year the target is reached at that pace: the
    later run's year where it is already reached, else the year of the day it is reached."""
    left = sa.set_index(keys)[["share_meeting_standard"]].rename(
        columns={"share_meeting_standard": "share_before"})  # fmt: skip
    right = sb.set_index(keys)[["communities_meeting", "communities_assessed",
                                "share_meeting_standard", "target_share"]]  # fmt: skip
    out = left.join(right.rename(columns={"share_meeting_standard": "share_after"}), how="outer")
    out["share_change"] = out["share_after"] - out["share_before"]
    out["gap_to_target"] = (out["target_share"] - out["share_after"]).clip(lower=0)
    gap = out["gap_to_target"].to_numpy(float)
    per_day = out["share_change"].to_numpy(float) / days if days > 0 else gap * np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        days_to_go = np.where(gap <= 0, 0.0, np.where(per_day > 0, gap / per_day, np.inf))
    ok = days_to_go < 3.65e6  # beyond 10,000 years (or never): no year
    # whole days (a hair of rounding is not a day more), then the calendar year of that day
    day = np.datetime64(date_b[:10], "D") + np.ceil(np.where(ok, days_to_go, 0) - 1e-6).astype(
        "timedelta64[D]")  # fmt: skip
    year = day.astype("datetime64[Y]").astype(int) + 1970
    out["reached_by_year"] = np.where(ok, year, np.nan)
    if target_year is not None:
        out["target_year"] = target_year
        out["on_track"] = out["reached_by_year"] <= target_year
    return out.reset_index()


def compare(
    run_a: Analysis | RunRecord, run_b: Analysis | RunRecord, target_year: int | None = None
) -> Comparison:
    """What changed from ``run_a`` (earlier) to ``run_b`` (later), and why.

    Parameters
    ----------
    run_a, run_b : two :class:`~lifecircle.Analysis` or two records from the run history
        (:func:`lifecircle.read_run`), or one of each.
    target_year : the year the target share is due (e.g. 2025 for Jiaxing's 60%): adds
        ``target_year`` and ``on_track`` to the street/county progress.

    Returns
    -------
    :class:`Comparison`
    """
    a, b = _as_record(run_a, "run_a"), _as_record(run_b, "run_b")
    ids_a, ids_b = set(a.facilities["facility_id"]), set(b.facilities["facility_id"])
    new_ids, gone_ids = ids_b - ids_a, ids_a - ids_b
    fa, fb = a.facilities.set_index("facility_id"), b.facilities.set_index("facility_id")
    ids = {"new": new_ids, "gone": gone_ids, "moved": _moved(a, b),
           "categories_new": set(fb.loc[sorted(new_ids), "category"]),
           "categories_gone": set(fa.loc[sorted(gone_ids), "category"])}  # fmt: skip
    changes = _changes(a, b, ids)
    comm = _communities(a, b, changes)
    days = (date.fromisoformat(b.run_date[:10]) - date.fromisoformat(a.run_date[:10])).days
    by_street = _progress(a.by_street, b.by_street, STREET_KEYS, days, target_year, b.run_date)
    by_county = _progress(a.by_county, b.by_county, COUNTY_KEYS, days, target_year, b.run_date)
    summary = {
        "run_a": a.run_id, "date_a": a.run_date, "run_b": b.run_id, "date_b": b.run_date,
        **{k: int((changes["change"] == k).sum()) for k in _KINDS},
        "facilities_new": len(new_ids), "facilities_vanished": len(gone_ids),
        "facilities_moved": len(ids["moved"]),
        "share_before": a.summary.get("share_meeting_standard"),
        "share_after": b.summary.get("share_meeting_standard"),
        "target_share": b.summary.get("target_share"),
        "profile_changed": _standard_changed(a, b),
        "inputs_changed": [k for k in b.fingerprints if a.fingerprints.get(k) != b.fingerprints[k]],
    }  # fmt: skip
    return Comparison(
        a, b, changes, comm,
        b.facilities[b.facilities["facility_id"].isin(new_ids)].reset_index(drop=True),
        a.facilities[a.facilities["facility_id"].isin(gone_ids)].reset_index(drop=True),
        by_street, by_county, summary,
    )  # fmt: skip
