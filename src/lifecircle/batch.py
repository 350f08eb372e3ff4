"""Province scale: the gap analysis region by region (county or street) on Dask, with the same
answers as one whole-area run.

:func:`analyze_regions` splits the communities by a column (``street_code`` or ``county_code``),
cuts each region's network out of the whole (its demand points plus a buffer, see
:func:`plan_regions`), saves every cut as its own GeoParquet folder (prepared once: a worker reads
only its part) and runs one independent Dask task per region, retried on failure. A region that
fails is reported in :attr:`RegionsResult.regions` while the others finish. Routes start and end
at the same gates as in one whole-area run (facility gates, compounds and their gates; a
compound's gates are matched to it once and travel with it into every region holding its
residents). The regions' per-community and per-demand-point rows are merged into an ordinary
:class:`lifecircle.Analysis` of the whole network (:class:`RegionsResult`), so every roll-up
(index, shortfalls ranked across the whole area, street/county/city tables, category table, data
checklist, compound level), the proposed sites, the projects, the pool, the map and the workbook
come from the same code as one whole-area run.

The contract (what "identical" means; ``docs/batch.md``): for every community of a region that
finished, the coverage table equals the whole-area run's in every column, except that a distance
(``distance_m``, ``distance_min_m``, ``distance_max_m``) and its ``nearest_facility`` are only
exact up to the **reach** (the largest threshold): a whole-area distance within the reach is
reproduced exactly; one beyond it is given as ``inf`` (farther than the reach; a region does not
hold the streets that far), with no nearest facility. The community index and the roll-ups are
then equal in every column; the shortfall list too, except those distances and, where the
nearest facility is beyond the reach, the reason's "nearest … m" (it says "none within walking
reach" instead). The per-point distances (:attr:`RegionsResult.access`) follow the same rule, so
the proposed sites (which only ask whether a resident is within a threshold) are the same.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import binary_dilation

from ._errors import InputError, LifecircleError
from ._progress import Laps, progress
from .analysis import Analysis, AnalysisParams
from .analysis.access import COMPOUND_ROW, compute_access, own_compound_gates
from .analysis.result import Stages, first_stages
from .analysis.run import OPTIONAL_COLUMNS
from .communities import Demand, demand_points
from .network import WalkNetwork
from .standards import Profile, load_profile

log = logging.getLogger(__name__)

#: Distance columns of the coverage table that are exact only up to the reach.
REACH_COLUMNS = ("distance_m", "distance_min_m", "distance_max_m", "nearest_facility")


@dataclass(frozen=True)
class RegionPlan:
    """What one region needs: its communities, the demand points and facilities near them, and
    the area of network to cut (metric CRS of the network).

    Attributes
    ----------
    region : the region's value of the split column.
    core : ids of the region's own communities (the rows it reports).
    points : positions in the whole demand-point frame: the region's own points, then (for
        capacities) the other regions' points within twice the reach, in their original order.
    facilities : positions of the facilities the region sees (within the reach or the data-gap
        radius of its points, whichever is larger).
    area : the network to cut (grid cells holding every point within ``cut_m`` of the region's
        points), polygons in the network's CRS.
    """

    region: str
    core: tuple[str, ...]
    points: np.ndarray
    facilities: np.ndarray
    area: np.ndarray


@dataclass
class RegionOutput:
    """The outcome of one region: its coverage rows and, per demand point of its own
    communities (``rows``: positions in the whole demand-point frame), the distances, nearest
    facilities and data status; or the error that stopped it."""

    region: str
    coverage: pd.DataFrame | None = None
    error: str | None = None
    stats: dict[str, float] = field(default_factory=dict)
    rows: np.ndarray | None = None
    distance_m: np.ndarray | None = None
    nearest: np.ndarray | None = None
    point_status: np.ndarray | None = None


class RegionsResult(Analysis):
    """Result of :func:`analyze_regions`: an :class:`lifecircle.Analysis` of the whole area
    (the communities of the regions that finished) built from the regions' rows, so that
    sites, projects, the pool, the map and the workbook work as for one whole-area run.

    Attributes
    ----------
    regions : one row per region: ``region``, ``status`` (``ok`` / ``failed``), ``error``,
        ``communities``, ``demand_points``, ``facilities``, ``nodes``, ``edges``, ``seconds``,
        ``peak_rss_mb`` (the worker's peak memory while the task ran) and ``pid`` (the worker
        process).
    reach_m : distances are exact up to this (the largest threshold); beyond it they are
        ``inf`` (see the module's contract), in :attr:`coverage` and :attr:`access` alike.
    cut_m : radius of the network cut around each region's demand points.
    seconds : wall time of each phase: ``demand``, ``plan``, ``prepare`` (cut and save the
        networks), ``run`` (the tasks) and ``merge``.
    """

    def __init__(
        self, network: WalkNetwork, profile: Profile, facilities: gpd.GeoDataFrame,
        demand: Demand, params: AnalysisParams, stages: Stages, points: AccessPoints,
        regions: pd.DataFrame, reach_m: float, cut_m: float,
    ) -> None:  # fmt: skip
        self.regions = regions
        self.reach_m = reach_m
        self.cut_m = cut_m
        self.seconds: dict[str, float] = {}
        super().__init__(
            network, profile, facilities, demand, params, compounds=points.compounds,
            facility_gates=points.facility_gates, compound_gates=points.compound_gates,
            stages=stages,
        )  # fmt: skip

    @property
    def summary(self) -> dict[str, Any]:
        """Headline numbers, as :attr:`lifecircle.Analysis.summary`, plus the regions that
        finished and failed."""
        return {
            **super().summary,
            "regions_ok": int((self.regions["status"] == "ok").sum()),
            "regions_failed": int(len(self.failed)),
        }

    @property
    def failed(self) -> pd.DataFrame:
        """The regions that did not finish, with their errors."""
        return self.regions[self.regions["status"] == "failed"]


@dataclass
class AccessPoints:
    """Where routes start and end, as :func:`lifecircle.analyze` takes them: the facilities'
    gates, the compounds and the compounds' gates. The compound gates are matched to their
    compounds once, for the whole area (:func:`~lifecircle.analysis.access.own_compound_gates`),
    so that a region takes every compound holding one of its demand points with all its gates,
    wherever they lie."""

    facility_gates: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    compound_gates: gpd.GeoDataFrame | None = None
    #: positions of the compound polygons in :attr:`compounds`, and a tree of them (metric)
    poly_rows: np.ndarray | None = field(default=None, repr=False)
    poly_tree: shapely.STRtree | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        facility_gates: gpd.GeoDataFrame | None,
        compounds: gpd.GeoDataFrame | None,
        compound_gates: gpd.GeoDataFrame | None,
        crs: Any,
    ) -> AccessPoints:
        """The access points of the whole area (``crs``: the network's), the compound gates
        matched to their compounds."""
        if compounds is None or compound_gates is None or len(compound_gates) == 0:
            return cls(facility_gates, compounds, compound_gates)
        owned = own_compound_gates(compounds, compound_gates)
        rows = np.flatnonzero(compounds.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy())
        tree = shapely.STRtree(compounds.geometry.iloc[rows].to_crs(crs).values)
        return cls(facility_gates, compounds, owned, rows, tree)

    def of_region(
        self, points: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, crs: Any
    ) -> AccessPoints:
        """What one region needs: the gates of its ``facilities``, and the compounds holding
        (within 1 m) any of its demand ``points`` with all their gates (positions renumbered)."""
        fg = self.facility_gates
        if fg is not None and "facility_id" in fg:
            labels = [str(i) for i in facilities.index]
            names = set(labels) | {i.split("#", 1)[0] for i in labels}
            fg = fg[fg["facility_id"].notna() & fg["facility_id"].astype(str).isin(names)]
        owned = self.compound_gates
        if owned is None or self.compounds is None or self.poly_tree is None:
            return AccessPoints(fg)
        xy = shapely.points(shapely.get_coordinates(points.to_crs(crs).geometry.values))
        _, hit = self.poly_tree.query(xy, predicate="dwithin", distance=1.0)
        keep = self.poly_rows[np.unique(hit)]  # type: ignore[index]
        gates = owned[owned[COMPOUND_ROW].isin(keep)]
        gates = gates.assign(**{COMPOUND_ROW: np.searchsorted(keep, gates[COMPOUND_ROW])})
        return AccessPoints(fg, self.compounds.iloc[keep], gates)


# ---------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class _Zone:
    """Grid cells within a distance of a region's points: a cell raster dilated by whole cells
    (a square around each cell, so it holds every point's circle; a little more is harmless)."""

    lo: np.ndarray  # (2,) cell index of the raster's corner
    mask: np.ndarray  # (nx, ny) bool
    cell_m: float

    @classmethod
    def around(cls, cells: np.ndarray, cell_m: float, radius_m: float) -> _Zone:
        k = int(np.ceil((radius_m + 1.0) / cell_m))
        lo = cells.min(axis=0) - k
        size = cells.max(axis=0) + k - lo + 1
        occ = np.zeros(tuple(size), dtype=bool)
        occ[cells[:, 0] - lo[0], cells[:, 1] - lo[1]] = True
        mask = binary_dilation(occ, structure=np.ones((2 * k + 1, 2 * k + 1), dtype=bool))
        return cls(lo, mask, cell_m)

    def holds(self, xy: np.ndarray) -> np.ndarray:
        """Which points ``xy`` (metric) lie in the zone's cells."""
        c = np.floor(xy / self.cell_m).astype(np.int64) - self.lo
        inside = (c >= 0).all(axis=1) & (c < self.mask.shape).all(axis=1)
        out = np.zeros(len(xy), dtype=bool)
        out[inside] = self.mask[c[inside, 0], c[inside, 1]]
        return out

    def boxes(self) -> np.ndarray:
        """The zone's cells as polygons (to cut the network with)."""
        ix, iy = np.nonzero(self.mask)
        x0 = (ix + self.lo[0]) * self.cell_m
        y0 = (iy + self.lo[1]) * self.cell_m
        return shapely.box(x0, y0, x0 + self.cell_m, y0 + self.cell_m)


def plan_regions(
    network: WalkNetwork,
    demand: Demand,
    facilities: gpd.GeoDataFrame,
    by: str,
    reach_m: float,
    max_snap_m: float,
    data_gap_radius_m: float,
    capacities: bool,
) -> list[RegionPlan]:
    """Split the demand into regions by the communities' column ``by`` and plan each cut.

    A resident within ``reach_m`` of a facility has the whole path, and the facility's nearest
    street, within ``reach_m + max_snap_m`` of it; with capacities (2SFCA) a facility's catchment
    reaches ``reach_m`` further, so the cut is ``2 × reach_m + max_snap_m`` and the other regions'
    points within ``2 × reach_m`` come along (their rows are dropped at the merge).
    """
    comm = demand.communities
    if by not in comm.columns:
        raise InputError(f"regions: the communities have no column {by!r} to split by")
    bad = comm[by].isna()
    if bad.any():
        rows = ", ".join(map(str, comm.loc[bad, "community_id"].head(5)))
        raise InputError(
            f"communities {rows} have no {by!r} to assign them to a region; fill it in"
        )
    region_of = comm.set_index("community_id")[by].astype(str)
    pts = demand.points.to_crs(network.crs)
    xy = shapely.get_coordinates(pts.geometry.values)
    fac_xy = (
        shapely.get_coordinates(facilities.to_crs(network.crs).geometry.values)
        if len(facilities) else np.empty((0, 2))
    )  # fmt: skip
    point_region = demand.points["community_id"].map(region_of).to_numpy()
    halo_m = 2 * reach_m if capacities else 0.0
    cut_m = (2 * reach_m if capacities else reach_m) + max_snap_m
    fac_m = max(reach_m, data_gap_radius_m)
    cell_m = max(100.0, reach_m / 4)
    cells = np.floor(xy / cell_m).astype(np.int64)
    plans = []
    for region in sorted(pd.unique(region_of)):
        own = np.flatnonzero(point_region == region)
        core = tuple(region_of.index[region_of == region])
        if len(own) == 0:
            plans.append(RegionPlan(region, core, own, own, np.empty(0, dtype=object)))
            continue
        occupied = np.unique(cells[own], axis=0)
        if halo_m:
            near = _Zone.around(occupied, cell_m, halo_m).holds(xy)
            own = np.flatnonzero(near | (point_region == region))
        fac_rows = np.flatnonzero(_Zone.around(occupied, cell_m, fac_m).holds(fac_xy))
        area = _Zone.around(occupied, cell_m, cut_m).boxes()
        plans.append(RegionPlan(region, core, own, fac_rows, area))
    return plans


def prepare_regions(
    network: WalkNetwork, plans: list[RegionPlan], folder: str | Path
) -> dict[str, Path | str]:
    """Cut and save each region's network (GeoParquet, one folder per region) once.

    Returns the folder of every region, or the error text where its cut failed (e.g. a region
    whose communities lie away from every street).
    """
    folder = Path(folder)
    out: dict[str, Path | str] = {}
    for i, plan in enumerate(progress(plans, desc="cutting regions")):
        try:
            if len(plan.area) == 0:
                raise InputError(f"region {plan.region}: no demand points to analyse")
            part = network.clip(plan.area)
            out[plan.region] = part.save(folder / f"region_{i:05d}")
        except LifecircleError as exc:
            out[plan.region] = f"{type(exc).__name__}: region {plan.region}: {exc}"
            log.warning("region %s cannot be prepared: %s", plan.region, exc)
    return out


# ---------------------------------------------------------------------------------- one task
@dataclass(frozen=True)
class RegionTask:
    """Everything one worker needs for one region (picklable; the network is read from disk).
    ``positions``: the positions of :attr:`points` in the whole demand-point frame."""

    region: str
    network_path: str
    core: tuple[str, ...]
    points: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    profile: Profile
    params: AnalysisParams
    reach_m: float
    positions: np.ndarray | None = None
    access_points: AccessPoints = field(default_factory=AccessPoints)


def beyond_reach(coverage: pd.DataFrame, reach_m: float) -> pd.DataFrame:
    """``coverage`` with every distance beyond ``reach_m`` set to ``inf`` (and the nearest
    facility to ``None`` where the closest resident is beyond it): a region does not hold the
    streets that far, so it states "farther than the reach" rather than a number."""
    cov = coverage.copy()
    for col in ("distance_m", "distance_min_m", "distance_max_m"):
        cov.loc[cov[col] > reach_m, col] = np.inf
    cov.loc[~np.isfinite(cov["distance_min_m"]), "nearest_facility"] = None
    return cov


class PeakRSS:
    """The process's peak resident memory (bytes, :attr:`peak`) while a ``with`` block runs,
    sampled every 10 ms (needs psutil, which Dask brings)."""

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def region_stages(
    network: WalkNetwork,
    points: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    profile: Profile,
    params: AnalysisParams,
    access_points: AccessPoints | None = None,
) -> Stages:
    """The first stages of :class:`lifecircle.Analysis` for one region (access through the
    gates, data status, coverage with capacity: :func:`~lifecircle.analysis.result.first_stages`),
    without the roll-ups a region's task does not need."""
    ap = access_points or AccessPoints()
    comm = communities.assign(**{c: None for c in OPTIONAL_COLUMNS if c not in communities})
    return first_stages(
        network, profile, points, comm, facilities, params, params.thresholds(profile),
        ap.facility_gates, ap.compounds, ap.compound_gates,
    )  # fmt: skip


def run_region(task: RegionTask) -> RegionOutput:
    """Analyse one region on its saved network; return the rows of its own communities and
    demand points (distances beyond the reach as ``inf``).

    Runs on a Dask worker (or in-process); an error propagates so that Dask can retry it.
    """
    t0 = time.perf_counter()
    with PeakRSS() as mem:
        net = WalkNetwork.load(task.network_path)
        if len(task.facilities) == 0:
            log.warning("region %s: no facilities within reach", task.region)
        st = region_stages(
            net, task.points, task.communities, task.facilities, task.profile, task.params,
            task.access_points,
        )  # fmt: skip
        cov = beyond_reach(st.coverage[st.coverage["community_id"].isin(task.core)], task.reach_m)
        own = task.points["community_id"].isin(task.core).to_numpy()
        dist = st.access.distance_m[own]
        nearest = st.access.nearest[own]
        nearest[dist > task.reach_m] = None
        dist[dist > task.reach_m] = np.inf
    stats = {
        "communities": len(task.core),
        "demand_points": len(task.points),
        "facilities": len(task.facilities),
        "nodes": len(net.nodes),
        "edges": len(net.edges),
        "seconds": time.perf_counter() - t0,
        "peak_rss_mb": mem.peak / 2**20,
        "pid": os.getpid(),
    }
    rows = np.flatnonzero(own) if task.positions is None else task.positions[own]
    return RegionOutput(
        task.region, cov.reset_index(drop=True), stats=stats, rows=rows, distance_m=dist,
        nearest=nearest, point_status=st.point_status[own],
    )  # fmt: skip


# ---------------------------------------------------------------------------------- running
def region_tasks(
    plans: list[RegionPlan],
    paths: dict[str, Path | str],
    demand: Demand,
    facilities: gpd.GeoDataFrame,
    profile: Profile,
    params: AnalysisParams,
    reach_m: float,
    access_points: AccessPoints | None = None,
    crs: Any = None,
) -> tuple[list[RegionTask], list[RegionOutput]]:
    """Tasks for the regions whose network was cut; the others are failed outputs already.
    ``access_points`` (from :meth:`AccessPoints.build`; ``crs``: the network's) gives each
    region the gates of its facilities and the compounds of its points with their gates."""
    tasks, failed = [], []
    comm = demand.communities
    ap = access_points or AccessPoints()
    for plan in plans:
        path = paths.get(plan.region)
        if not isinstance(path, Path):
            failed.append(RegionOutput(plan.region, error=str(path)))
            continue
        pts = demand.points.iloc[plan.points]
        fac = facilities.iloc[plan.facilities]
        ids = set(pts["community_id"]) | set(plan.core)
        tasks.append(
            RegionTask(
                plan.region, str(path), plan.core, pts, comm[comm["community_id"].isin(ids)],
                fac, profile, params, reach_m, positions=np.asarray(plan.points),
                access_points=ap.of_region(pts, fac, crs) if len(pts) else AccessPoints(),
            )
        )  # fmt: skip
    return tasks, failed


def _client(scheduler: Any, n_workers: int | None) -> tuple[Any, list[Any]]:
    """A Dask client: the one given, one to a scheduler address, or a new LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError(
            "analyze_regions needs Dask: pip install 'lifecircle[batch]' (or "
            "scheduler='inline' to run the regions one after another in this process)"
        ) from exc
    if isinstance(scheduler, Client):
        return scheduler, []
    if isinstance(scheduler, str):
        client = Client(scheduler)
        return client, [client]
    cluster = LocalCluster(
        n_workers=n_workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    return client, [client, cluster]


def run_tasks(
    tasks: list[RegionTask], scheduler: Any = None, n_workers: int | None = None, retries: int = 2
) -> list[RegionOutput]:
    """Run the regions' tasks: one independent Dask task per region, retried ``retries`` times;
    a region that still fails is reported (:attr:`RegionOutput.error`), the others finish.
    ``scheduler`` as for :func:`analyze_regions` (``"inline"``: in this process, no Dask)."""
    if scheduler == "inline":
        return _run_inline(tasks)
    from dask.distributed import as_completed

    client, owned = _client(scheduler, n_workers)
    try:
        futures = {
            client.submit(
                run_region, t, retries=retries, pure=False, key=f"region-{i}-{t.region}"
            ): t
            for i, t in enumerate(tasks)
        }
        out = []
        bar = progress(total=len(tasks), desc="regions")
        for fut in as_completed(futures):
            region = futures[fut].region
            if fut.status == "finished":
                out.append(fut.result())
            else:
                exc = fut.exception()
                log.warning("region %s failed: %s", region, exc)
                out.append(RegionOutput(region, error=f"{type(exc).__name__}: {exc}"))
            bar.update(1)
        bar.close()
        return out
    finally:
        for obj in owned:
            obj.close()


def _run_inline(tasks: list[RegionTask]) -> list[RegionOutput]:
    """The regions one after another in this process (no Dask), failures reported."""
    out = []
    for t in progress(tasks, desc="regions"):
        try:
            out.append(run_region(t))
        except Exception as exc:  # reported per region, like a failed Dask task
            log.warning("region %s failed: %s", t.region, exc)
            out.append(RegionOutput(t.region, error=f"{type(exc).__name__}: {exc}"))
    return out


# ---------------------------------------------------------------------------------- merging
def _region_table(outputs: list[RegionOutput]) -> pd.DataFrame:
    rows = [
        {"region": o.region, "status": "failed" if o.error else "ok", "error": o.error, **o.stats}
        for o in outputs
    ]
    cols = ["region", "status", "error", "communities", "demand_points", "facilities", "nodes",
            "edges", "seconds", "peak_rss_mb", "pid"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=cols).sort_values("region").reset_index(drop=True)


def merge_regions(
    outputs: list[RegionOutput],
    network: WalkNetwork,
    demand: Demand,
    facilities: gpd.GeoDataFrame,
    params: AnalysisParams,
    by: str,
    access_points: AccessPoints | None = None,
) -> tuple[Demand, Stages]:
    """The demand and first stages of the whole area from the regions' rows (failed regions
    left out): the coverage rows, and per demand point the distances, nearest facilities and
    data status, put back in the whole demand-point order. The demand and facilities are
    snapped on the whole ``network`` through the same ``access_points`` (no distance pass), so
    that sites and compounds see what one whole-area run sees."""
    done = [o for o in outputs if o.coverage is not None and o.error is None]
    if not done:
        raise InputError("regions: every region failed; see the warnings for their errors")
    cov = pd.concat([o.coverage for o in done], ignore_index=True)
    cov = cov.sort_values("community_id", kind="stable").reset_index(drop=True)
    ok = {o.region for o in done}
    comm = demand.communities
    comm = comm[comm[by].astype(str).isin(ok)]
    rows = np.flatnonzero(demand.points["community_id"].isin(comm["community_id"]).to_numpy())
    pos = np.full(len(demand.points), -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    n, k = len(rows), len(params.categories)
    dist, nearest = np.full((n, k), np.inf), np.full((n, k), None, dtype=object)
    status = np.empty((n, k), dtype=done[0].point_status.dtype)  # type: ignore[union-attr]
    for o in done:
        at = pos[o.rows]
        dist[at], nearest[at], status[at] = o.distance_m, o.nearest, o.point_status
    pts = demand.points.iloc[rows]
    ap = access_points or AccessPoints()
    snapped = compute_access(
        network, pts, facilities, (), params.max_snap_m, ap.facility_gates, ap.compounds,
        ap.compound_gates,
    )  # fmt: skip
    access = replace(
        snapped, categories=tuple(params.categories), distance_m=dist, nearest=nearest,
        node_distance_m=None,  # the regions searched their own parts of the network
    )  # fmt: skip
    return Demand(pts, comm), Stages(access, status, cov)


# ---------------------------------------------------------------------------------- entry
def analyze_regions(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    profile: Profile | str | os.PathLike[str],
    *,
    by: str = "street_code",
    scheduler: Any = None,
    n_workers: int | None = None,
    retries: int = 2,
    workdir: str | Path | None = None,
    demand: Demand | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    facility_gates: gpd.GeoDataFrame | None = None,
    compound_gates: gpd.GeoDataFrame | None = None,
    **analysis: Any,
) -> RegionsResult:
    """The gap analysis of a large area region by region, in parallel on Dask, with the answers
    of one whole-area :func:`lifecircle.analyze` run (see the module's contract).

    Parameters
    ----------
    network, facilities, communities, profile : as for :func:`lifecircle.analyze`.
    by : the communities' column that names each one's region: ``"street_code"`` (街道/镇,
        default) or ``"county_code"`` (区县).
    scheduler : ``None`` starts a Dask ``LocalCluster`` of ``n_workers`` single-threaded worker
        processes (default 2); a scheduler address (``"tcp://host:8786"``) or a
        ``dask.distributed.Client`` runs on that cluster; ``"inline"`` runs the regions one
        after another in this process without Dask.
    retries : how often Dask retries a failed region before reporting it.
    workdir : where the regions' networks are saved (one GeoParquet folder per region; a real
        cluster's workers must see it); default a temporary folder.
    demand : ready-made demand points (see :func:`lifecircle.demand_points`).
    compounds, facility_gates, compound_gates : as for :func:`lifecircle.analyze`: routes start
        and end at the same gates as in one whole-area run (a compound's gates are matched to
        it once, for the whole area, and travel with it into every region holding its
        residents).
    **analysis : ``categories``, ``levels``, ``speed``, ``min_covered_share``, ``target_share``,
        ``max_snap_m``, ``complete_categories``, ``data_gap_radius_m``, ``share_of`` as for
        :func:`lifecircle.analyze`.

    Returns
    -------
    RegionsResult : an :class:`lifecircle.Analysis` of the regions that finished, with
        :attr:`~RegionsResult.regions` (each region's status) and the reach.
    """
    if isinstance(profile, (str, os.PathLike)):
        profile = load_profile(profile)
    params = AnalysisParams.build(profile, **analysis)
    laps = Laps()
    if demand is None:
        demand = demand_points(communities)
    else:
        demand.check()
    laps("demand")
    fac = facilities[facilities["category"].isin(params.categories)].sort_index()
    reach_m = max(params.thresholds(profile).values())
    capacities = "capacity" in fac.columns and bool(fac["capacity"].notna().any())
    plans = plan_regions(
        network, demand, fac, by, reach_m, params.max_snap_m, params.data_gap_radius_m, capacities
    )
    cut_m = (2 * reach_m if capacities else reach_m) + params.max_snap_m
    points = AccessPoints.build(facility_gates, compounds, compound_gates, network.crs)
    laps("plan")
    with tempfile.TemporaryDirectory(prefix="lifecircle-regions-") as tmp:
        paths = prepare_regions(network, plans, workdir or tmp)
        tasks, outputs = region_tasks(
            plans, paths, demand, fac, profile, params, reach_m, points, network.crs
        )
        laps("prepare")
        outputs += run_tasks(tasks, scheduler, n_workers, retries)
        laps("run")
    whole, stages = merge_regions(outputs, network, demand, fac, params, by, points)
    res = RegionsResult(
        network, profile, fac, whole, params, stages, points, _region_table(outputs), reach_m,
        cut_m,
    )  # fmt: skip
    laps("merge")
    res.seconds = laps.seconds
    log.info("analyze_regions: %s", ", ".join(f"{k} {v:.1f} s" for k, v in laps.seconds.items()))
    return res


def write_regions_csv(result: RegionsResult, path: str | Path) -> Path:
    """Write a regions run's table of regions (status, error, size, time, memory) as CSV
    (UTF-8 with BOM), beside the files every run writes."""
    path = Path(path)
    result.regions.to_csv(path, index=False, encoding="utf-8-sig")
    return path
