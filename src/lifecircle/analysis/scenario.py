"""Scenarios (情景): the analysis as if some facilities were built, without redoing the city.

:meth:`Analysis.with_projects` takes pool rows, proposed sites or any facility frame and returns a
:class:`Scenario`: the new :class:`~lifecircle.Analysis` and what changed. Only the new
facilities are searched from (one bounded multi-source search per category that gets any), and
the distances become the element-wise minimum of the old and the new ones: nothing else is
snapped or searched again. Then only what can change is made again, and the rest is copied from
the analysis before:

* data status: only streets without data near an added facility;
* coverage: only the rows of changed categories in communities whose demand points moved
  (distance, nearest facility or data status) or whose 2SFCA supply per 1,000 changed (a new
  facility's catchment reaches beyond the points it is nearest to), and of those only the rows
  that differ replace the old ones (column by column, numpy);
* shortfalls and their projects (when the analysis before has no proposed sites; else the
  projects are built again): the rows of the changed coverage rows are made and merged into
  before's by rank; the community index: its computed columns are made for the changed
  communities and written into before's rows;
* the roll-ups by street, county and city, the category table and the summary are recomputed
  (numpy sums over before's row groups, :attr:`Analysis.roll_up_groups`: the communities and
  their places are the same); the data checklist is before's while no data status changed;
* compounds and gates (:attr:`Analysis.gates`) are carried over, so the compound tables and the
  routes through gates are those of a full run.

The result equals a full re-analysis with the facilities appended, table for table
(``tests/test_scenario.py``, on the real Nanjing extract and hand-built networks); only where two
facilities are exactly equally near a point (a grid of streets) may the one named differ. On a run by
regions (:attr:`Analysis.reach_m` set) the searches stop at the reach and distances beyond it stay
``inf``, so the scenario keeps the regions' contract and equals the scenario on the whole run up
to the reach, every roll-up exactly (``tests/test_batch.py``). The added facilities are
searched only where they beat the old ones (:attr:`Access.node_distance_m`, a search pruned by
it), entered through their gates where the analysis's facility gates name them, and only the
demand points next to what that search reached are read (:meth:`Access.reached_from`). On the
Milan bench (``benchmarks/bench_scenario.py``: 1,000 communities, 12 categories, 20 added) the
whole call was 12.8× faster than a full re-analysis with the communities as areas tiling the
network's 583.6 km² (233,421 demand points on a 50 m grid), and about 3× with 1,000 point
communities: the tables' pandas work is a fixed cost of about 90 ms, the rest grows with the
points the added facilities reach (see ``docs/benchmarks.md``, "Tenth round").
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numba import njit

from .._errors import InputError
from .._text import key
from ..communities import Demand
from ..network import Snapped
from ..network.kernels import announce_compile
from ..sources.tables import read_counts, rows_text, shown_values
from .access import Access
from .capacity import add_capacity, supply_ratios
from .coverage import HIERARCHY, coverage_table
from .datastatus import PRESENT, status_with_added
from .index import RollUps, equal_or_na, index_columns, roll_ups
from .projects import LINK_COLUMNS, build_projects, community_projects, link_shortfalls
from .result import Analysis, Stages, Tables
from .shortfalls import RANK_KEYS, priority_order, shortfall_table

if TYPE_CHECKING:
    from ..standards import Category

log = logging.getLogger(__name__)

#: Pool statuses taken by default: declared, under construction, built (申报、在建、建成).
BUILT_OR_PLANNED: tuple[str, ...] = ("申报", "在建", "建成")
#: How planners also write the pool's statuses (储备/申报/在建/建成/取消), compared through
#: :func:`lifecircle._text.key` (full-width, spaces and punctuation ignored, case-folded).
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "储备": ("储备中", "入库", "已入库", "reserve", "reserved", "pool"),
    "申报": ("已申报", "申报中", "拟建", "计划", "计划建设", "declared", "planned"),
    "在建": ("在建中", "建设中", "施工中", "已开工", "under construction", "building"),
    "建成": ("已建成", "建成投用", "已投用", "已完工", "完工", "竣工", "已竣工", "built", "done",
             "completed", "finished"),
    "取消": ("已取消", "撤销", "已撤销", "cancelled", "canceled"),
}  # fmt: skip
_STATUS_KEY = {key(w): s for s, words in STATUS_WORDS.items() for w in (s, *words)}
#: The ``source`` of the facilities a scenario adds: assumed built, not in any facility list.
SCENARIO_SOURCE = "scenario"
#: Columns of :attr:`Scenario.by_street` / ``by_county`` compared before and after.
_COMPARED = ["service_index", "communities_meeting", "share_meeting_standard", "meets_target"]


@dataclass(frozen=True, eq=False)
class Scenario:
    """An analysis as if ``added`` were built, and the comparison with the analysis before.

    Attributes
    ----------
    analysis : the new :class:`~lifecircle.Analysis` (all its tables, as after a full run).
    before : the analysis the scenario started from.
    added : the facilities added (a facility frame, ids ``facility_id``).
    communities : one row per community whose standard status or service index changed:
        hierarchy, ``meets_before``/``meets_after`` (every required category), ``service_index_before``
        /``_after``, ``change`` (``short_to_meeting``, ``meeting_to_short``, ``index_only``) and
        ``categories_met`` (categories newly meeting the standard there, 、-separated ids) and
        ``categories_met_zh`` (their Chinese names).
    newly_covered : one row per category with added facilities: ``facilities_added``,
        ``covered_pop_before``/``_after``, ``newly_covered_pop`` (target residents now within the
        threshold), ``communities_meeting_before``/``_after``.
    by_street, by_county : the service index and the share meeting the standard before and after
        (``*_before``, ``*_after``) per street / county.
    summary : headline numbers before and after.
    """

    analysis: Analysis
    before: Analysis
    added: gpd.GeoDataFrame
    communities: pd.DataFrame
    newly_covered: pd.DataFrame
    by_street: pd.DataFrame
    by_county: pd.DataFrame
    summary: dict[str, Any]

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<Scenario +{s['facilities_added']} facilities: {s['communities_short_to_meeting']} "
            f"communities reach the standard; share meeting {s['share_before']:.1%} → "
            f"{s['share_after']:.1%}>"
        )


# ---------------------------------------------------------------------- the added facilities
def added_facilities(
    projects: gpd.GeoDataFrame,
    before: Analysis,
    statuses: tuple[str, ...] | None = BUILT_OR_PLANNED,
) -> gpd.GeoDataFrame:
    """``projects`` as facility rows like ``before.facilities``: pool rows (kept where ``status``
    is in ``statuses``, read as :func:`project_status` reads it; ids ``project_id``), proposed
    sites (ids ``site_id:category``) or any facility frame (ids from ``facility_id`` or the
    index). A category may be given by its id or its Chinese or English name; rows without a
    category and categories not analysed are left out, with a warning naming them."""
    if not isinstance(projects, gpd.GeoDataFrame) or "category" not in projects.columns:
        raise InputError(
            "with_projects: give a GeoDataFrame with a 'category' column: pool rows "
            "(lifecircle.read_pool), proposed sites (Analysis.sites) or facilities"
        )
    rows = projects
    if "status" in rows.columns and statuses is not None:
        written = rows["status"]
        status = written.map(project_status).to_numpy(dtype=object)
        take = _taken(written, statuses)
        unread = pd.isna(status) & written.notna().to_numpy() & ~take
        if unread.any():
            log.warning(
                "scenario: pool rows %s have a status that is none of 储备/申报/在建/建成/取消 "
                "(%s) and are left out; write one of those", rows_text(list(rows.index[unread])),
                "、".join(sorted(set(written[unread].astype(str)))),
            )  # fmt: skip
        rows = rows[take]
        log.info("scenario: %d of %d pool projects with status %s", len(rows), len(projects),
                 "/".join(statuses))  # fmt: skip
    category = _category_ids(rows["category"], before).to_numpy(dtype=object)
    blank = rows["category"].map(key).eq("").to_numpy()
    if blank.any():
        log.warning("scenario: rows %s have no category and are left out",
                    rows_text(list(rows.index[blank])))  # fmt: skip
    unknown = sorted(set(rows["category"][pd.isna(category) & ~blank].astype(str)))
    if unknown:
        log.warning(
            "scenario: projects of categories not analysed are left out: %s (analysed: %s)",
            unknown, ", ".join(f"{c} {before.profile.categories[c].name_zh}"
                               for c in before.params.categories),
        )  # fmt: skip
    rows = rows[~pd.isna(category)].assign(category=category[~pd.isna(category)])
    if len(rows) == 0:
        raise InputError(f"with_projects: nothing to add: {_none_added(projects, before, statuses)}")
    ids = pd.Index(_unique(_ids(rows)), dtype="object")
    clash = sorted(set(ids[ids.isin(before.facilities.index.astype(str))]))
    if clash:
        raise InputError(
            f"with_projects: facility ids {clash[:5]} are taken by facilities of the analysis; "
            "give each added facility its own id (facility_id column)"
        )
    crs = before.facilities.crs or rows.crs
    cat = rows["category"].to_numpy()
    cat_zh = {c: before.profile.categories[c].name_zh for c in before.params.categories}
    columns = {  # one frame made at once: cheaper than setting its columns one by one
        "facility_id": ids.to_numpy(),
        "category": cat,
        "category_zh": [cat_zh[c] for c in cat],
        "name": rows["name"].to_numpy() if "name" in rows else None,
        "source": SCENARIO_SOURCE,
        "capacity": _capacities(rows) if "capacity" in rows else np.nan,
    }  # fmt: skip
    out = gpd.GeoDataFrame(
        columns,
        geometry=rows.geometry.to_crs(crs).values if rows.crs else rows.geometry.values,
        crs=crs,
        index=ids,
    )
    # the columns of before's facilities, and always the source: it marks them assumed built
    keep = [c for c in before.facilities.columns if c in out.columns and c != "source"]
    return out[[*keep, "source"] if "geometry" in keep else [*keep, "source", "geometry"]]


def _unique(ids: list[str]) -> list[str]:
    """``ids`` with repeats numbered (``id#2``, ``id#3`` …): one facility per row (a pool may
    list one project id at several places, e.g. communities without codes)."""
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
        out.append(i if seen[i] == 1 else f"{i}#{seen[i]}")
    return out


def _ids(rows: gpd.GeoDataFrame) -> list[str]:
    if "project_id" in rows.columns:
        return [str(v) for v in rows["project_id"]]
    if "site_id" in rows.columns:
        return [f"{s}:{c}" for s, c in zip(rows["site_id"], rows["category"], strict=True)]
    if "facility_id" in rows.columns:
        return [str(v) for v in rows["facility_id"]]
    return [str(v) for v in rows.index]


def _capacities(rows: pd.DataFrame) -> np.ndarray:
    """The ``capacity`` of every row as people write it (``"30个托位"``, ``"约120张"``); a cell
    that holds no number is taken as not given, with a warning naming the rows."""
    values, unreadable, _ = read_counts(rows["capacity"])
    if unreadable.any():
        log.warning(
            "scenario: the capacity of rows %s could not be read (%s) and is taken as not given",
            rows_text(list(rows.index[unreadable])), shown_values(rows["capacity"], unreadable),
        )  # fmt: skip
    return values


def assumed_facilities(analysis: Analysis) -> pd.Index:
    """The ids of the facilities of ``analysis`` that a scenario added (``source`` ==
    :data:`SCENARIO_SOURCE`): projects assumed built, not facilities of any list. A report or a
    run record of such an analysis says so."""
    fac = analysis.facilities
    if "source" not in fac.columns:
        return pd.Index([], dtype=object)
    return fac.index[(fac["source"] == SCENARIO_SOURCE).to_numpy(dtype=bool)]


def _taken(written: pd.Series, statuses: tuple[str, ...]) -> np.ndarray:
    """Which pool rows' status (as ``written``) is one of ``statuses``: read as
    :func:`project_status` reads it, or exactly as written (a status of one's own)."""
    return (written.map(project_status).isin(statuses) | written.isin(statuses)).to_numpy()


def project_status(value: object) -> str | None:
    """The pool status (储备/申报/在建/建成/取消) a planner's ``value`` means, however written
    (``" 在建"``, ``已建成``, ``built``: :data:`STATUS_WORDS`); ``None`` when it is none of them."""
    return _STATUS_KEY.get(key(value))


def _category_ids(values: pd.Series, before: Analysis) -> pd.Series:
    """The analysed category id each value names (:meth:`Profile.category_named`: by id, Chinese
    or English name, or the Chinese name's start); missing where none."""
    cats = before.params.categories
    named = {v: before.profile.category_named(v, cats) for v in values.dropna().unique()}
    return values.map(named).astype(object)


def _none_added(projects: pd.DataFrame, before: Analysis, statuses: tuple[str, ...] | None) -> str:
    """Why no row of ``projects`` can be added: the statuses and categories it has."""
    cats = ", ".join(before.params.categories)
    found = "、".join(sorted(set(projects["category"].dropna().astype(str)))[:8]) or "none"
    if len(projects) == 0:
        return "the frame has no rows"
    if statuses is not None and "status" in projects.columns:
        counts = projects["status"].fillna("(blank)").astype(str).value_counts()
        written = "、".join(f"{s} ×{n}" for s, n in counts.items())
        if not _taken(projects["status"], statuses).any():
            return (
                f"none of the {len(projects)} pool rows has status {'/'.join(statuses)} (their "
                f"statuses: {written}); set the status of the projects to build, or pass "
                "statuses=None to take every row"
            )
    return (
        f"none of the {len(projects)} rows is of an analysed category ({cats}); their "
        f"categories: {found}"
    )


# ---------------------------------------------------------------------- distances
def _concat_snapped(a: Snapped | None, b: Snapped, order: np.ndarray) -> Snapped:
    """``a`` then ``b`` (one set of snapped points), rows taken in ``order``."""
    if a is None:
        return b.take(order)
    fields = {}
    for f in dataclasses.fields(Snapped):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "index":
            fields[f.name] = a.index.append(b.index)
        elif f.name == "max_snap_m":
            fields[f.name] = x
        else:
            fields[f.name] = np.concatenate([x, y])
    return Snapped(**fields).take(order)


def extend_access(
    before: Analysis, added: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame
) -> tuple[Access, dict[str, np.ndarray]]:
    """The access of ``before`` with ``added`` built: one search per category from the added
    facilities only (entered through their gates where the analysis's ``facility_gates`` name
    them, as a full run enters them), then the element-wise minimum. ``facilities``: old and
    added, sorted by id (as :func:`lifecircle.analyze` sorts them). Returns the access and, per
    category with added facilities, the demand points they bring nearer (the only ones whose
    distance and nearest facility changed)."""
    old = before.access
    net = before.network
    new = net.snap(added, before.params.max_snap_m, what="added facilities")
    via, via_rows = new, np.arange(len(new))
    gates = before.gates["facility_gates"]
    if gates is not None and len(gates):
        via, via_rows = net.snap_through_gates(
            new, gates, before.params.max_snap_m, what="added facilities"
        )
    new_cat = added["category"].to_numpy()
    new_ids = np.asarray(added.index, dtype=object)
    dist, nearest = old.distance_m.copy(), old.nearest.copy()
    nodes_before = old.node_distance_m
    node_dist = None if nodes_before is None else list(nodes_before)  # changed rows replaced
    moved: dict[str, np.ndarray] = {}
    reach = before.reach_m  # a run by regions: beyond it, distances stay inf (its contract)
    for cid in [c for c in old.categories if (new_cat == c).any()]:
        j = old.column(cid)
        rows = np.flatnonzero(new_cat[via_rows] == cid)  # the category's entries
        src = via.take(rows)
        if node_dist is not None:
            # only where the added facilities beat the old ones: a search of their own region
            floor = node_dist[j] if node_dist[j] is not None else np.full(len(net.nodes), np.inf)
            nodes = net.nearest_nodes(src, max_m=reach, floor_m=floor)
            node_dist[j] = np.minimum(floor, nodes[0])
            t, d, which = old.reached_from(net, src, max_m=reach, nodes=nodes)
            better = np.flatnonzero(d < dist[t, j])
            pts, d, which = t[better], d[better], which[better]
        else:  # a merged run by regions keeps no node distances: a search bounded by the points
            cand, limit = _may_gain(dist[:, j], old, src)
            if len(cand) == 0:
                moved[cid] = cand
                continue
            if reach is not None:
                limit = reach if limit is None else min(limit, reach)
            # the same compiled search as above (no floor), so that added facilities equally
            # near a point tie alike in both (a grid of streets makes such ties)
            nodes = net.nearest_nodes(src, max_m=limit, floor_m=np.full(len(net.nodes), np.inf))
            d, which = old.nearest_from(net, src, cand, max_m=limit, nodes=nodes)
            if reach is not None:
                d = np.where(d > reach, np.inf, d)
            better = np.flatnonzero(d < dist[cand, j])
            pts, d, which = cand[better], d[better], which[better]
        dist[pts, j] = d  # the points the added facilities bring nearer
        nearest[pts, j] = new_ids[via_rows[rows[which]]]
        moved[cid] = pts
    ids = pd.Index(np.asarray(before.facilities.index, dtype=object)).append(
        pd.Index(new_ids, dtype=object)
    )
    order = pd.Index(ids).get_indexer(pd.Index(facilities.index))
    snapped = _concat_snapped(old.facilities, new, order)
    cats = facilities["category"].to_numpy()
    entries, entry_rows = None, None
    if old.facility_entries is not None or via is not new:
        # the facilities as the distances reach them: the old ones' entries stay theirs (at
        # their new positions), then the added ones'
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        n_old = len(before.facilities)
        old_entries, old_rows = old.facility_entries, old.facility_entry_rows
        if old_entries is None or old_rows is None:
            old_entries, old_rows = old.facilities, np.arange(n_old)
        entries = _concat_snapped(old_entries, via, np.arange(len(old_rows) + len(via)))
        entry_rows = position[np.concatenate([old_rows, n_old + via_rows])]
    access = dataclasses.replace(
        old, facilities=snapped, facility_category=cats, distance_m=dist, nearest=nearest,
        facility_entries=entries, facility_entry_rows=entry_rows,
        node_distance_m=None if node_dist is None else tuple(node_dist),
    )  # fmt: skip
    return access, moved


#: Slack on straight distances in :func:`_may_gain`: projected metres may differ from the
#: network's edge lengths by a map projection's scale (well under 1%).
_STRAIGHT_SLACK = 1.01


def _may_gain(dist: np.ndarray, access: Access, new: Snapped) -> tuple[np.ndarray, float | None]:
    """The demand points the added facilities ``new`` may bring nearer, and how far to search.

    A new facility only matters where it is nearer than the current nearest one, and no walk is
    shorter than the straight line: only points whose current distance exceeds their straight
    distance to a new facility can gain, and the search stops at the largest current distance
    among those (``None``, unbounded, while one of them has no facility within reach at all).
    """
    announce_compile(_near_any)
    may = _near_any(access.demand.xy, dist, access.demand.ok, new.xy[new.ok], _STRAIGHT_SLACK)
    cand = np.flatnonzero(may)
    limit = float(dist[cand].max()) if len(cand) else 0.0
    return cand, (limit if np.isfinite(limit) else None)


@njit(cache=True)
def _near_any(xy, dist, ok, fxy, slack):  # pragma: no cover - compiled
    """Which points (``ok`` ones) are nearer in a straight line to one of ``fxy`` than their
    ``dist`` times ``slack`` plus 1 m (inf: every one)."""
    out = np.zeros(xy.shape[0], np.bool_)
    for i in range(xy.shape[0]):
        if not ok[i]:
            continue
        within = dist[i] * slack + 1.0
        if not within < np.inf:
            out[i] = True
            continue
        w2 = within * within
        for k in range(fxy.shape[0]):
            dx, dy = xy[i, 0] - fxy[k, 0], xy[i, 1] - fxy[k, 1]
            if dx * dx + dy * dy < w2:
                out[i] = True
                break
    return out


def _sub_access(access: Access, cats: list[str]) -> Access:
    """``access`` for ``cats`` only (itself when they are all its categories, in its order)."""
    if tuple(cats) == tuple(access.categories):
        return access
    cols = [access.column(c) for c in cats]
    nodes = access.node_distance_m
    return dataclasses.replace(access, categories=tuple(cats), distance_m=access.distance_m[:, cols],
                               nearest=access.nearest[:, cols],
                               node_distance_m=None if nodes is None else tuple(nodes[j] for j in cols))  # fmt: skip


# ---------------------------------------------------------------------- the stages
#: Columns of a coverage row set by its community and category alone: the same in a scenario.
_FIXED_COVERAGE = {
    *HIERARCHY, "population", "pop_estimated", "category", "category_zh", "category_en", "level",
    "required", "threshold_m",
}  # fmt: skip


def _equal_columns(
    old: pd.DataFrame, pos: np.ndarray, new: pd.DataFrame, fixed: set[str] | None = None
) -> dict[str, np.ndarray]:
    """Per column of ``old`` but the geometry and ``fixed`` (columns known equal): which rows
    of ``new`` equal the row of ``old`` at ``pos`` in it."""
    cols = [c for c in old.columns if c != "geometry" and c not in (fixed or ())]
    at = old[cols].take(pos)  # one take of the frame: cheaper than one per (text) column
    return {c: equal_or_na(at[c].to_numpy(), new[c].to_numpy()) for c in cols}


def _patch_rows(
    old: pd.DataFrame, pos: np.ndarray, new: pd.DataFrame, equal: dict[str, np.ndarray]
) -> pd.DataFrame:
    """``old`` with its rows at positions ``pos`` replaced by the rows of ``new`` (``new``'s
    i-th row goes to ``pos[i]``), only in the columns where ``equal`` (:func:`_equal_columns`,
    one flag per row of ``new``) finds a difference; the geometry stays ``old``'s. Unchanged
    columns are shared (copy on write)."""
    out = old.copy(deep=False)
    for c, same in equal.items():
        if not same.all():
            col = old[c].copy()
            col.iloc[pos] = new[c].to_numpy()
            if col.dtype == object and pd.api.types.is_string_dtype(new[c].dtype):
                col = col.astype(new[c].dtype)  # all empty before (no facility): text now
            out[c] = col
    return out


def scenario_stages(
    before: Analysis, access: Access, facilities: gpd.GeoDataFrame, moved: dict[str, np.ndarray],
    added: pd.Index,
) -> Stages:  # fmt: skip
    """Data status, capacity and coverage recomputed for the categories of ``moved`` only (per
    category, the demand points whose distance changed, :func:`extend_access`; the data status
    of streets without data only, near the ``added`` facilities' ids; coverage rows only for
    the communities that may change, :func:`_affected`); the rows that differ from
    ``before``'s replace its rows, and the tables that follow are patched from ``before``'s
    (:func:`scenario_tables`)."""
    params = before.params
    cats: list[Category] = params.category_list(before.profile)
    sub_cats = [c for c in cats if c.id in moved]
    groups = before.point_groups  # the communities of the coverage table, in its order
    known = {
        "known_shortfalls": before.shortfalls, "known_projects": before.projects,
        "street_codes": before.street_codes, "demand_digest": before.demand_digest,
        "point_groups": groups,
    }  # fmt: skip
    if not sub_cats:
        return Stages(access, before.point_status.copy(), before.coverage.copy(), **known)
    codes, ids = groups.codes, groups.ids
    order = [c.id for c in cats]  # the coverage table's categories, in its order
    status, status_changed = _status_after(before, access, sub_cats, added, order)
    sub = _sub_access(access, [c.id for c in sub_cats])
    ratios = supply_ratios(
        sub_cats, facilities, before.demand, sub, before.thresholds, before.network
    )
    pair_hit = _affected(
        before, moved, status, status_changed, sub_cats, ratios, codes, ids, order
    )
    hit = pair_hit.any(axis=1)
    sub_status = status if sub is access else status[:, [access.column(c.id) for c in sub_cats]]
    cov = coverage_table(
        before.demand, before.communities, sub_cats, sub, before.thresholds,
        params.min_covered_share, sub_status,
        only=np.flatnonzero(hit), pairs=pair_hit[hit], groups=groups,
    )  # fmt: skip
    add_capacity(cov, sub_cats, facilities, before.demand, sub, before.thresholds,
                 before.network, ratios=ratios)  # fmt: skip
    # the rows of the changed categories: community order, then the profile's category order
    col = np.array([i for i, c in enumerate(cats) if c.id in moved])
    pos = (np.flatnonzero(hit)[:, None] * len(cats) + col[None, :]).ravel()
    equal = _equal_columns(before.coverage, pos, cov, _FIXED_COVERAGE)
    # only the rows computed again may differ (the others keep before's)
    differ = np.flatnonzero(pair_hit[hit].ravel() & ~np.logical_and.reduce(list(equal.values())))
    rows = pos[differ]
    coverage = _patch_rows(
        before.coverage, rows, cov.iloc[differ], {c: e[differ] for c, e in equal.items()}
    )
    tables = scenario_tables(before, coverage, rows, facilities)
    return Stages(access, status, coverage, **known, tables=tables)


def _status_after(
    before: Analysis, access: Access, cats: list[Category], added: pd.Index, order: list[str]
) -> tuple[np.ndarray, set[int]]:
    """``before``'s data status per demand point × category with the ``added`` facilities:
    streets without data near one of them become present (only ``cats`` can change). Also the
    columns where a point's status changed; with none, the status is ``before``'s own array (not
    a copy: an Analysis's arrays are not changed in place). A point has its street's status, as
    its community's coverage rows do; ``order``: the coverage table's categories."""
    status = before.point_status  # copied before the first change (most scenarios make none)
    changed: set[int] = set()
    is_new = access.facilities.index.isin(added)
    lacking_all = before.coverage["data_status"].ne(PRESENT).fillna(True).to_numpy(dtype=bool)
    lacking_all = lacking_all.reshape(-1, len(order))  # communities × categories
    point_community = before.point_groups.codes
    for c in cats:
        lacking = lacking_all[:, order.index(c.id)]
        if not lacking.any():
            continue  # nothing to turn present
        j = access.column(c.id)
        new = np.flatnonzero(is_new & (access.facility_category == c.id))
        col = status[:, j]
        after = status_with_added(
            col, before.street_codes, access.demand.xy, access.facilities.take(new).xy,
            before.params.data_gap_radius_m, among=np.flatnonzero(lacking[point_community]),
        )  # fmt: skip
        if after is not col:
            if not changed:
                status = status.copy()
            status[:, j] = after
            changed.add(j)
    return status, changed


def _affected(
    before: Analysis, moved: dict[str, np.ndarray], status: np.ndarray, status_changed: set[int],
    cats: list[Category], ratios: dict[str, pd.Series], codes: np.ndarray, ids: pd.Index,
    order: list[str],
) -> np.ndarray:  # fmt: skip
    """Which communities (``ids``, those of the coverage table in its order; ``codes``: each
    demand point's position in them) may change in which of ``cats``: a bool array,
    communities × ``cats``. A coverage row follows from its community's demand points (their
    distance, nearest facility and data status in the category) and from the capacity step
    (supply per 1,000 from ``ratios``, :func:`supply_ratios`; whether it is assessed at all):
    a community and category whose points kept all three and whose capacity figures are equal
    keep their row. ``moved``: per category, the points whose distance dropped (from
    :func:`extend_access`, which changes a point's nearest facility only there);
    ``status_changed``: the columns (of ``before.access``) where ``status`` differs from
    ``before``'s; ``order``: the coverage table's categories."""
    hit = np.zeros((len(ids), len(cats)), dtype=bool)
    cov = before.coverage
    all_supply = cov["supply_per_1000"].to_numpy(dtype=float)
    all_rule = cov["capacity_threshold_per_1000"].to_numpy(dtype=float)
    for i, c in enumerate(cats):
        j = before.access.column(c.id)
        hit[codes[moved[c.id]], i] = True
        if j in status_changed:
            hit[codes[status[:, j] != before.point_status[:, j]], i] = True
        k = order.index(c.id)  # the category's rows: every len(order)-th from k
        supply = all_supply[k :: len(order)]
        rule = all_rule[k :: len(order)]
        if c.id in ratios:
            new = ratios[c.id].reindex(ids).to_numpy(dtype=float)
            rule_new = np.full(len(ids), c.capacity[0].per_1000)
            hit[:, i] |= ~equal_or_na(supply, new) | ~equal_or_na(rule, rule_new)
        else:
            hit[:, i] |= ~np.isnan(rule)
    return hit


def scenario_tables(
    before: Analysis, coverage: pd.DataFrame, rows: np.ndarray, facilities: gpd.GeoDataFrame
) -> Tables:
    """The shortfalls, projects and roll-ups of ``coverage`` (``before``'s with the rows at
    positions ``rows`` changed): the shortfalls, projects and community index of the changed
    rows are made again and merged into ``before``'s (ranks renumbered); the roll-ups over
    streets, counties, the city and categories are recomputed."""
    params, cats = before.params, before.params.category_list(before.profile)
    old = before.shortfalls
    changed = coverage.iloc[rows]
    ids = changed["community_id"]
    # the old shortfalls of the changed rows (a shortfall's coverage row: its community's
    # position × the number of categories + its category's position)
    at = before.point_groups.ids.get_indexer(old["community_id"]) * len(cats)
    at += pd.Index([c.id for c in cats]).get_indexer(old["category"])
    kept = np.flatnonzero(~np.isin(at, rows))
    # the changed rows are written afresh (few: cheaper than looking up what they had)
    new = shortfall_table(changed, cats, before.profile, params.min_covered_share)
    src = _merged_order(old, kept, new)
    if before.sites is None:  # one community project per shortfall, in the same order
        comm = before.communities
        made = build_projects(
            new, None, comm[comm["community_id"].isin(ids)], before.thresholds, before.profile
        )
        shortfalls = _take(old, link_shortfalls(new, made), src)
        projects = community_projects(_take(before.projects, made.frame, src), shortfalls)
        unlinked = shortfalls.drop(columns=LINK_COLUMNS)
    else:  # the projects are built again (the sites of before are not the scenario's)
        shortfalls, projects = None, None
        unlinked = _take(old.drop(columns=LINK_COLUMNS), new, src)
    return Tables(unlinked, shortfalls, projects, _roll_ups(before, coverage, rows, facilities))


def _merged_order(old: pd.DataFrame, kept: np.ndarray, new: pd.DataFrame) -> np.ndarray:
    """The shortfall rows ``kept`` of ``old`` and the rows of ``new`` in priority order (a
    merge: only the ranking columns are sorted), as positions in ``old`` then ``new`` (the
    i-th row of ``new``: ``len(old) + i``)."""
    src = np.r_[kept, len(old) + np.arange(len(new))]
    keys = pd.concat([old[RANK_KEYS].iloc[kept], new[RANK_KEYS]], ignore_index=True)
    return src[priority_order(keys)]


def _take(old: pd.DataFrame, new: pd.DataFrame, src: np.ndarray) -> pd.DataFrame:
    """The rows of ``old`` then ``new`` at positions ``src`` (see :func:`_merged_order`), index
    reset and shortfall ranks renumbered 1 … n; no rows at all: ``new`` (made as the full
    analysis makes an empty table: empty frames can lose their column types)."""
    if len(src) == 0:
        return new.reset_index(drop=True)
    both = new if len(old) == 0 else old if len(new) == 0 else pd.concat([old, new])
    out = both.iloc[src].reset_index(drop=True)
    out["priority_rank"] = np.arange(1, len(out) + 1)
    return out


def _roll_ups(
    before: Analysis, coverage: pd.DataFrame, rows: np.ndarray, facilities: gpd.GeoDataFrame
) -> RollUps:
    """The roll-ups of ``coverage``: the index columns of the communities with changed ``rows``
    made again (all their categories) and written into ``before``'s index, the data checklist
    ``before``'s while no changed row's data status differs; the rest recomputed."""
    params, cats = before.params, before.params.category_list(before.profile)
    n_k = len(cats)
    comm_pos = np.unique(rows // n_k)
    comm_rows = (comm_pos[:, None] * n_k + np.arange(n_k)[None, :]).ravel()
    old = before.index
    population = pd.Series(old["population"].to_numpy(), index=old["community_id"].to_numpy())
    made = index_columns(coverage.iloc[comm_rows], cats, population)
    at = pd.Index(old["community_id"]).get_indexer(made.index)
    made = made.reset_index(drop=True)
    index = _patch_rows(old, at, made, _equal_columns(old[made.columns], at, made))
    status = before.coverage["data_status"].to_numpy()
    same = equal_or_na(status[rows], coverage["data_status"].to_numpy()[rows]).all()
    gaps = before.data_gaps.copy() if same else None
    return roll_ups(
        coverage, before.communities, facilities, cats, before.thresholds, params.share_of,
        params.target_share, index=index, data_gaps=gaps, row_groups=before.roll_up_groups,
    )  # fmt: skip


def with_projects(
    before: Analysis,
    projects: gpd.GeoDataFrame,
    statuses: tuple[str, ...] | None = BUILT_OR_PLANNED,
) -> Scenario:
    """The analysis as if ``projects`` were built (see :meth:`Analysis.with_projects`)."""
    added = added_facilities(projects, before, statuses)
    old = before.facilities
    both = pd.concat([old, added.to_crs(old.crs) if old.crs else added]).sort_index()
    both = gpd.GeoDataFrame(both, geometry="geometry", crs=old.crs or added.crs)
    access, moved = extend_access(before, added, both)
    stages = scenario_stages(before, access, both, moved, added.index)
    demand = Demand(before.demand, before.communities)
    after = Analysis(
        before.network, before.profile, both, demand, before.params, before.thresholds,
        **before.gates, stages=stages,
    )  # fmt: skip
    after.reach_m = before.reach_m
    return compare_scenario(before, after, added)


# ---------------------------------------------------------------------- the comparison
def compare_scenario(before: Analysis, after: Analysis, added: gpd.GeoDataFrame) -> Scenario:
    """The :class:`Scenario` of ``after`` (``before`` with ``added`` built)."""
    b = before.index
    a = after.index
    if not np.array_equal(b["community_id"].to_numpy(), a["community_id"].to_numpy()):
        a = a.set_index("community_id").reindex(b["community_id"]).reset_index()
    meets_b, meets_a = b["meets_all_required"], a["meets_all_required"]
    si_b, si_a = b["service_index"].to_numpy(float), a["service_index"].to_numpy(float)
    diff = (_tri(meets_b) != _tri(meets_a)) | ~np.isclose(
        np.nan_to_num(si_b, nan=-1.0), np.nan_to_num(si_a, nan=-1.0), rtol=0, atol=1e-9
    )
    rows = np.flatnonzero(diff)
    mb, ma = meets_b.to_numpy()[rows], meets_a.to_numpy()[rows]
    place = b[HIERARCHY].take(rows).reset_index(drop=True)
    met = _newly_met(before, after)
    comm = pd.DataFrame(  # one frame made at once: cheaper than setting its columns one by one
        {
            **{h: place[h] for h in HIERARCHY},
            "meets_before": mb,
            "meets_after": ma,
            "service_index_before": si_b[rows],
            "service_index_after": si_a[rows],
            "change": np.select(
                [(mb != True) & (ma == True), (mb == True) & (ma != True)],  # noqa: E712
                ["short_to_meeting", "meeting_to_short"],
                "index_only",
            ),
            "categories_met": ["、".join(met.get(c, [])) for c in place["community_id"]],
            "categories_met_zh": ["、".join(before.profile.categories[k].name_zh
                                           for k in met.get(c, [])) for c in place["community_id"]],
        }
    )
    summary = _summary(before, after, added, comm)
    return Scenario(
        after, before, added, comm, _newly_covered(before, after, added),
        _before_after(before.index_by_street, after.index_by_street),
        _before_after(before.index_by_county, after.index_by_county), summary,
    )  # fmt: skip


def _tri(meets: pd.Series) -> np.ndarray:
    """True / False / not assessed (None, NaN) as comparable codes."""
    return meets.map({True: 1, False: 0}).fillna(-1).to_numpy(dtype=int)


def _newly_met(before: Analysis, after: Analysis) -> dict[str, list[str]]:
    """Categories newly meeting the standard, per community id (the coverage tables of both have
    the same rows in the same order)."""
    cb, ca = before.coverage, after.coverage
    met = np.flatnonzero(
        ~cb["meets_standard"].astype(bool).to_numpy() & ca["meets_standard"].astype(bool).to_numpy()
    )
    out: dict[str, list[str]] = {}  # few rows: plain Python beats a groupby
    for c, k in zip(cb["community_id"].to_numpy()[met], cb["category"].to_numpy()[met], strict=True):
        out.setdefault(c, []).append(k)
    return out


def _per_category(categories: pd.DataFrame, cats: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Covered target residents and communities meeting the standard of each of ``cats``: the
    city rows of a category table (:func:`~lifecircle.analysis.index.category_table`)."""
    city = np.flatnonzero(categories["scope"].to_numpy() == "city")
    at = pd.Index(categories["category"].to_numpy()[city]).get_indexer(cats)
    row = city[at[at >= 0]]  # a category without rows (no communities): 0
    pop, meeting = np.zeros(len(cats)), np.zeros(len(cats), dtype=int)
    pop[at >= 0] = categories["covered_pop"].to_numpy(dtype=float)[row]
    meeting[at >= 0] = categories["communities_meeting"].to_numpy(dtype=int)[row]
    return pop, meeting


def _newly_covered(before: Analysis, after: Analysis, added: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per category with added facilities: covered residents and communities meeting
    the standard, before and after."""
    counts = added["category"].value_counts()
    cats = [c for c in before.params.categories if c in counts.index]
    (pop_b, meet_b), (pop_a, meet_a) = (
        _per_category(before.categories, cats),
        _per_category(after.categories, cats),
    )
    return pd.DataFrame(
        {
            "category": cats,
            "category_zh": [before.profile.categories[c].name_zh for c in cats],
            "facilities_added": counts.loc[cats].to_numpy(dtype=int),
            "covered_pop_before": pop_b,
            "covered_pop_after": pop_a,
            "newly_covered_pop": pop_a - pop_b,
            "communities_meeting_before": meet_b,
            "communities_meeting_after": meet_a,
        }
    )


def _before_after(b: pd.DataFrame, a: pd.DataFrame) -> pd.DataFrame:
    """Place columns of ``b`` with :data:`_COMPARED` before (``_before``) and after (``_after``)."""
    place = [c for c in b.columns if c.endswith(("_code", "_name"))]
    same = len(a) == len(b) and all(  # the same places in the same order (a scenario keeps them)
        np.array_equal(b[c].to_numpy(dtype=object), a[c].to_numpy(dtype=object)) for c in place
    )
    if same:
        out = pd.DataFrame(
            {**{c: b[c] for c in place}, **{f"{c}_before": b[c] for c in _COMPARED},
             **{f"{c}_after": a[c] for c in _COMPARED}}
        )  # fmt: skip
    else:
        left = b[place + _COMPARED].rename(columns={c: f"{c}_before" for c in _COMPARED})
        right = a[place + _COMPARED].rename(columns={c: f"{c}_after" for c in _COMPARED})
        out = left.merge(right, on=place, how="outer")
    out["share_change"] = out["share_meeting_standard_after"] - out["share_meeting_standard_before"]
    return out


def _summary(
    before: Analysis, after: Analysis, added: gpd.GeoDataFrame, comm: pd.DataFrame
) -> dict[str, Any]:
    sb, sa = before.headline(), after.headline()
    return {
        "facilities_added": int(len(added)),
        "categories_changed": sorted(set(added["category"])),
        "communities_short_to_meeting": int((comm["change"] == "short_to_meeting").sum()),
        "communities_meeting_to_short": int((comm["change"] == "meeting_to_short").sum()),
        "share_before": sb["share_meeting_standard"],
        "share_after": sa["share_meeting_standard"],
        "share_of": after.share_of,
        "target_share": after.params.target_share,
        "meets_target_before": sb["meets_target"],
        "meets_target_after": sa["meets_target"],
        "shortfalls_before": sb["shortfalls"],
        "shortfalls_after": sa["shortfalls"],
        "mean_service_index_before": sb["mean_service_index"],
        "mean_service_index_after": sa["mean_service_index"],
    }
