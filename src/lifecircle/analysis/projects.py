"""Projects for the reserve pool (补短板项目库): one per proposed site, plus one per shortfall that
no site answers, located at its community; and the link from every shortfall to the project that
answers it (a site in a neighbouring community that covers several shortfalls says so in each).

Every project has a stable id (:func:`lifecircle.analysis.ids.project_id`) under which the pool
keeps it; priority ranks are unique (1 = most urgent).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..standards import Profile
from .ids import community_project_ids, project_id
from .siting import Sites

PLACE = ["county_code", "county_name", "street_code", "street_name", "community_code",
         "community_name"]  # fmt: skip
PROJECT_COLUMNS = [
    *PLACE, "category", "category_zh", "level", "location_kind", "new_covered_pop", "nearest_m",
    "threshold_m", "uncovered_pop", "priority_score", "priority_rank", "reason_zh", "reason_en",
]  # fmt: skip
#: Columns :func:`link_shortfalls` adds to the shortfall list.
LINK_COLUMNS = ["project_id", "answered_by_zh", "answered_by_en"]


@dataclass(frozen=True)
class Projects:
    """Projects (WGS84, by unique priority rank, with ``project_id`` and ``site_id``) and which
    project answers each shortfall: :attr:`answers` maps (community_id, category) → project row,
    given as ``answered``, or with ``answered=None`` one community project per row of
    ``shortfalls`` in its order (the map made when first needed)."""

    frame: gpd.GeoDataFrame
    answered: dict[tuple[str, str], int] | None
    shortfalls: pd.DataFrame | None = None

    @cached_property
    def answers(self) -> dict[tuple[str, str], int]:
        """(community_id, category) → the row of the project that answers that shortfall."""
        if self.answered is not None:
            return self.answered
        return {k: i for i, k in enumerate(_keys(self.shortfalls))}


def _site_record(
    s: Any, served: pd.DataFrame, sfi: pd.DataFrame, comm: pd.DataFrame, profile: Profile,
    threshold_m: float,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:  # fmt: skip
    """The project of one site and the shortfalls (community, category) it answers."""
    keys = [(k, s.category) for k in served["community_id"] if (k, s.category) in sfi.index]
    sub = sfi.loc[keys] if keys else None
    main = (
        sfi.loc[(s.community_id, s.category)] if (s.community_id, s.category) in sfi.index else None
    )
    n = len(served)
    name_en = profile.categories[s.category].name_en
    together = [
        u for u in str(getattr(s, "uses_zh", "") or "").split("、") if u and u != s.category_zh
    ]
    with_zh = f"; 与{'、'.join(together)}同址" if together else ""
    rec = {
        **{k: comm.at[s.community_id, k] for k in PLACE},
        "category": s.category,
        "category_zh": s.category_zh,
        "level": s.level,
        "location_kind": "proposed_site",
        "new_covered_pop": s.new_covered_pop,
        "nearest_m": float(main["distance_min_m"]) if main is not None else np.nan,
        "threshold_m": threshold_m,
        "uncovered_pop": float(sub["uncovered_pop"].sum()) if sub is not None else 0.0,
        "priority_score": float(sub["priority_score"].sum()) if sub is not None else 0.0,
        "priority_rank": int(sub["priority_rank"].min()) if sub is not None and len(sub) else 0,
        "reason_zh": f"新建{s.category_zh}: 可新覆盖 {s.new_covered_pop:,.0f} 人 ({n} 个社区)"
        + with_zh
        + (f"; {main['reason_zh']}" if main is not None else ""),
        "reason_en": f"new {name_en}: would newly cover {s.new_covered_pop:,.0f} people "
        f"in {n} communities" + (f"; {main['reason_en']}" if main is not None else ""),
        "site_id": getattr(s, "site_id", None),
    }
    return rec, keys


#: Project columns kept as whole numbers (people, metres).
_WHOLE = ["new_covered_pop", "uncovered_pop", "nearest_m"]


def build_projects(
    shortfalls: pd.DataFrame,
    sites: Sites | None,
    communities: gpd.GeoDataFrame,
    thresholds: dict[str, float],
    profile: Profile,
    known: pd.DataFrame | None = None,
) -> Projects:
    """The projects of a set of shortfalls and (optionally) proposed sites. ``known``: projects
    made earlier (a scenario's analysis): the ids of community projects are taken from it
    instead of hashed again (:func:`~lifecircle.analysis.ids.project_id` of the same key)."""
    comm = communities.set_index("community_id")
    recs: list[dict] = []
    geoms: list[Any] = []
    answered: dict[tuple[str, str], int] = {}
    if sites is not None and len(sites.frame):
        cover = sites.cover
        sfi = shortfalls.set_index(["community_id", "category"])
        frame = sites.frame
        for s, geom in zip(frame.itertuples(), frame.geometry.values, strict=True):
            served = cover[(cover["category"] == s.category) & (cover["site_rank"] == s.site_rank)]
            rec, keys = _site_record(s, served, sfi, comm, profile, thresholds[s.category])
            answered.update({k: len(recs) for k in keys if k not in answered})
            recs.append(rec)
            geoms.append(geom)
    rep = communities.to_crs(4326).set_index("community_id").geometry.representative_point()
    keys = _keys(shortfalls)
    rest = shortfalls[np.asarray([k not in answered for k in keys], dtype=bool)]
    for i, k in enumerate(_keys(rest)):
        answered[k] = len(recs) + i
    cols = [*PROJECT_COLUMNS, "site_id"]
    # the community projects a column at a time (a province has hundreds of thousands)
    frame = _community_frame(rest)
    if recs:
        at_sites = pd.DataFrame(recs, columns=cols)
        # .infer_objects(): text beside the sites' missing values stays text
        both = pd.concat([at_sites, frame], ignore_index=True).infer_objects()
        frame = both if len(frame) else at_sites
    geoms.extend(rep[rest["community_id"]].to_numpy())  # not .to_list(): a Python call per point
    out = gpd.GeoDataFrame(frame[cols], geometry=geoms, crs=4326)
    out["project_id"] = _ids(out, known)
    order = out.sort_values(
        ["priority_rank", "category", "location_kind", "project_id"], kind="stable"
    ).index.to_numpy()
    new_pos = np.empty(len(order), dtype=np.int64)
    new_pos[order] = np.arange(len(order))
    out = out.loc[order].reset_index(drop=True)
    out["priority_rank"] = np.arange(1, len(out) + 1)  # unique, 1 = most urgent
    # as the pool keeps them: whole people and metres, scores to 0.001
    out[_WHOLE] = out[_WHOLE].round()
    out["priority_score"] = out["priority_score"].round(3)
    return Projects(
        out[["project_id", *cols, "geometry"]], {k: int(new_pos[v]) for k, v in answered.items()}
    )


def community_projects(frame: gpd.GeoDataFrame, shortfalls: pd.DataFrame) -> Projects:
    """The :class:`Projects` of ``shortfalls`` without proposed sites, from ``frame``: their
    community projects, one per row of ``shortfalls`` in its order (as :func:`build_projects`
    makes them), with priority ranks renumbered 1 … n."""
    out = frame.reset_index(drop=True)
    out["priority_rank"] = np.arange(1, len(out) + 1)
    return Projects(out, None, shortfalls)


def _community_frame(rest: pd.DataFrame) -> pd.DataFrame:
    """The community projects of the shortfalls ``rest`` (no ``site_id``: a float column of
    NaN, as for records without one)."""
    same = [*PLACE, "category", "category_zh", "level", "threshold_m", "uncovered_pop",
            "priority_score", "priority_rank", "reason_zh", "reason_en"]  # fmt: skip
    out = rest[same].reset_index(drop=True)
    out["location_kind"] = "community"
    out["new_covered_pop"] = rest["affected_pop"].to_numpy()
    out["nearest_m"] = rest["distance_min_m"].to_numpy()
    out["site_id"] = np.nan
    return out


def _keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(community_id, category) of every row."""
    return list(zip(frame["community_id"].tolist(), frame["category"].tolist(), strict=True))


#: What a community project's id is made of (:func:`project_id` ignores its location).
_ID_KEY = ["category", "county_code", "street_code", "community_code", "location_kind"]


def _ids(out: gpd.GeoDataFrame, known: pd.DataFrame | None = None) -> list[str]:
    """The project id of every row (sites located by their point, the others by community);
    community projects of ``known`` keep their id there."""
    reuse: dict[tuple, str] = {}
    if known is not None and len(known):
        community = known[known["location_kind"] == "community"]
        keys = zip(*(community[c].tolist() for c in _ID_KEY), strict=True)
        reuse = dict(zip(keys, community["project_id"].tolist(), strict=True))
    cols = {c: out[c].to_numpy(dtype=object) for c in _ID_KEY}
    ids = np.full(len(out), None, dtype=object)
    if reuse:
        keys = zip(*cols.values(), strict=True)
        ids[:] = [reuse.get(k) for k in keys]
    todo = np.flatnonzero((cols["location_kind"] == "community") & (ids == None))  # noqa: E711
    if todo.size:
        ids[todo] = community_project_ids(*(cols[c][todo] for c in _ID_KEY[:4]))
    geom = out.geometry.values
    for i in np.flatnonzero(ids == None).tolist():  # noqa: E711 (sites: located by their point)
        ids[i] = project_id(*(cols[c][i] for c in _ID_KEY), geom[i].x, geom[i].y)
    return ids.tolist()


def link_shortfalls(shortfalls: pd.DataFrame, projects: Projects) -> pd.DataFrame:
    """``shortfalls`` with :data:`LINK_COLUMNS`: the id of the project that answers each row and,
    for a proposed site, a sentence saying which site (and in which community) covers it."""
    out = shortfalls.copy(deep=False)  # only adds columns: shares the rest with the input
    frame = projects.frame
    ids = out["community_id"].tolist()
    rows = [projects.answers.get(k, -1) for k in _keys(out)]
    names = dict(zip(ids, out["community_name"].tolist(), strict=True))
    # the project columns a link needs, as plain lists (row -1: no project)
    pid, kind, name, site = (frame[c].tolist() + [None] for c in _LINK_FROM)
    zh: list[str | None] = []
    en: list[str | None] = []
    for cid, row in zip(ids, rows, strict=True):
        if row < 0:
            zh.append(None)
            en.append(None)
        elif kind[row] != "proposed_site":  # most rows: a compact loop without a call
            zh.append(f"本社区内待选址 (项目 {pid[row]})")
            en.append(f"a site to find in the community (project {pid[row]})")
        else:
            where = "本社区" if name[row] == names[cid] else str(name[row])
            zh.append(f"{where}的建议选址 {site[row]} 可覆盖 (项目 {pid[row]})")
            en.append(f"covered by proposed site {site[row]} in {name[row]} (project {pid[row]})")
    out["project_id"] = [pid[row] for row in rows]
    out["answered_by_zh"], out["answered_by_en"] = zh, en
    return out


#: Project columns :func:`link_shortfalls` reads.
_LINK_FROM = ["project_id", "location_kind", "community_name", "site_id"]


def pool_projects(
    shortfalls: pd.DataFrame,
    sites: Sites | None,
    communities: gpd.GeoDataFrame,
    thresholds: dict[str, float],
    profile: Profile,
) -> gpd.GeoDataFrame:
    """Projects (WGS84) for :func:`lifecircle.export_pool`, by unique priority rank."""
    return build_projects(shortfalls, sites, communities, thresholds, profile).frame
