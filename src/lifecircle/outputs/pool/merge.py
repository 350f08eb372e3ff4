"""The upsert, independent of the store: which rows an export adds, refreshes or marks.

Planner columns are never written for an existing project; projects a run no longer lists are
marked (``in_latest_run`` false, ``missing_since``), never deleted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...analysis.ids import metric_xy
from .incoming import Run
from .schema import COMPARED, DEFAULT_STATUS, NAMES, REFRESHED
from .values import Row, planner_edited, same

log = logging.getLogger(__name__)

#: The counts of a :class:`PoolReport`, in its order.
COUNTS = ("added", "updated", "unchanged", "reappeared", "retired", "still_missing", "kept_edits")


@dataclass(frozen=True)
class Plan:
    """The rows of the pool after an export, each with an ``_action``, and the counts.

    Actions: ``add``, ``update``, ``unchanged``, ``reappear`` (computed fields written),
    ``retire`` (only ``in_latest_run``/``missing_since`` written), ``missing`` and ``keep``
    (not written: rows already marked missing, and rows without a usable project id).
    Existing rows come first, in their order, then the new ones.
    """

    rows: list[Row]
    counts: dict[str, int]

    def written(self) -> list[Row]:
        """The rows a store has to write (added, refreshed or newly marked)."""
        return [r for r in self.rows if r["_action"] not in ("keep", "missing")]


#: What a backend calls with the rows it read (None: no pool there yet) to get the plan.
Planner = Callable[[list[Row] | None], Plan]


def merge(existing: list[Row], incoming: list[Row], run: Run, grid_m: float) -> Plan:
    """Plan the upsert of ``incoming`` records into the ``existing`` pool rows."""
    counts = dict.fromkeys(COUNTS, 0)
    rows = [dict(r, _action="keep") for r in existing]
    by_id = _by_id(rows)
    incoming_ids = {r["project_id"] for r in incoming}
    adopt_moved_sites(incoming, by_id, incoming_ids, grid_m)
    new_rows = []
    for rec in incoming:
        row = by_id.get(rec["project_id"])
        if row is None:
            new_rows.append(_new_row(rec, run))
            counts["added"] += 1
        else:
            action = _refresh(row, rec, run)
            counts[{"reappear": "reappeared", "update": "updated"}.get(action, action)] += 1
            counts["kept_edits"] += planner_edited(row)
    for pid, row in by_id.items():
        if row["_action"] != "keep" or pid in incoming_ids:
            continue
        if row.get("in_latest_run") is False:
            row["_action"] = "missing"
            counts["still_missing"] += 1
        else:
            row.update(in_latest_run=False, missing_since=run.run_id, _action="retire")
            counts["retired"] += 1
            counts["kept_edits"] += planner_edited(row)
    return Plan(rows + new_rows, counts)


def _by_id(rows: list[Row]) -> dict[str, Row]:
    by_id: dict[str, Row] = {}
    for row in rows:
        pid = row.get("project_id")
        if pid is None:
            continue
        if pid in by_id:
            log.warning("project %s appears twice in the pool; the later row is left as is", pid)
            continue
        by_id[pid] = row
    return by_id


def _new_row(rec: Row, run: Run) -> Row:
    new = dict.fromkeys(NAMES) | rec
    new.update(run_id=run.run_id, run_date=run.run_date, profile=run.profile,
               first_seen_run=run.run_id, in_latest_run=True, missing_since=None,
               status=DEFAULT_STATUS, _action="add")  # fmt: skip
    return new


def _refresh(row: Row, rec: Row, run: Run) -> str:
    """Write the computed fields of ``rec`` into the pool ``row``; return the action."""
    rec = rec | {"run_id": run.run_id, "run_date": run.run_date, "profile": run.profile}
    if row.get("in_latest_run") is False:
        action = "reappear"
    elif all(same(n, row.get(n), rec.get(n)) for n in COMPARED):
        action = "unchanged"
    else:
        action = "update"
    for name in REFRESHED:
        if name in rec:
            row[name] = rec[name]
    row.update(in_latest_run=True, missing_since=None, _action=action)
    if row.get("year") is None and rec.get("year") is not None:  # planned; a planner's wins
        row["year"] = rec["year"]
    if row.get("first_seen_run") is None:
        row["first_seen_run"] = run.run_id
    return action


def adopt_moved_sites(
    incoming: list[Row], by_id: dict[str, Row], incoming_ids: set[str], grid_m: float
) -> None:
    """Give a proposed site that crossed a grid line the id of its unmatched pool twin."""
    free = [r for pid, r in by_id.items() if pid not in incoming_ids
            and r.get("location_kind") == "proposed_site"
            and r.get("geometry") is not None and r["geometry"].geom_type == "Point"
            and not r["geometry"].is_empty]  # fmt: skip
    if not free:
        return
    for rec in incoming:
        if rec["project_id"] in by_id or rec.get("location_kind") != "proposed_site":
            continue
        cands = [r for r in free if r.get("category") == rec.get("category")
                 and r.get("community_code") == rec.get("community_code")]  # fmt: skip
        if not cands:
            continue
        p = rec["geometry"]
        x0, y0 = metric_xy(p.x, p.y)
        dists = [math.dist((x0, y0), metric_xy(r["geometry"].x, r["geometry"].y, at=(p.x, p.y)))
                 for r in cands]  # fmt: skip
        i = int(np.argmin(dists))
        if dists[i] < grid_m:
            old_id = cands[i]["project_id"]
            log.info("project %s moved %.0f m: keeps id %s", rec["project_id"], dists[i], old_id)
            incoming_ids.discard(rec["project_id"])
            incoming_ids.add(old_id)
            rec["project_id"] = old_id
            free.remove(cands[i])
