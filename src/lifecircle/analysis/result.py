""":class:`Analysis`: the results of a gap analysis, computed when it is constructed.

The stages, each in its own module: ``access`` (network distances, one multi-source pass per
category) → ``coverage`` → ``capacity`` (2SFCA) → ``shortfalls`` (ranked, with reasons) →
``index`` (service index, roll-ups, category table); on request ``siting`` (proposed sites) and
``projects`` (for the reserve pool). Maps, workbooks and isochrones are thin conveniences here;
they live in ``lifecircle.outputs`` and ``lifecircle.isochrone``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import settings
from .._errors import InputError
from ..communities import Demand
from ..isochrone import covered_area, isochrones
from ..network import WalkNetwork
from ..standards import Profile
from .access import Access, compute_access
from .capacity import add_capacity
from .compounds import compound_tables
from .coverage import PointGroups, coverage_table, point_groups
from .datastatus import NO_DATA, point_status, street_codes
from .index import RollUps, roll_ups, share_meeting
from .params import AnalysisParams
from .projects import Projects, build_projects, link_shortfalls
from .shortfalls import shortfall_table
from .siting import Sites, SitingParams, propose_sites

if TYPE_CHECKING:
    from .programme import Programme
    from .scenario import Scenario

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Stages:
    """The costly first stages of an :class:`Analysis`, computed once: ``access`` (distances),
    ``point_status`` (data status per demand point × category) and ``coverage`` (with capacity).
    :meth:`Analysis.with_projects` passes them in, updated for the categories that changed."""

    access: Access
    point_status: np.ndarray
    coverage: pd.DataFrame
    #: shortfalls of an earlier analysis with the same profile and parameters, whose reason
    #: sentences unchanged rows reuse (see :func:`~lifecircle.analysis.shortfalls.shortfall_table`)
    known_shortfalls: pd.DataFrame | None = None
    #: projects of that analysis, whose community projects keep their ids
    known_projects: pd.DataFrame | None = None
    #: the tables that follow from ``coverage``, when already made (a scenario patches them
    #: from the analysis before); ``None``: computed from ``coverage``
    tables: Tables | None = None
    #: the street of every demand point (:func:`~lifecircle.analysis.datastatus.street_codes`),
    #: when already made; ``None``: made when first needed
    street_codes: np.ndarray | None = None
    #: the demand points by community (:func:`~lifecircle.analysis.coverage.point_groups`), when
    #: already made; ``None``: made when first needed
    point_groups: PointGroups | None = None
    #: :func:`demand_digest` of the demand points, when already made (a scenario keeps the
    #: demand of the analysis before); ``None``: made on construction
    demand_digest: bytes | None = None


@dataclass(frozen=True, eq=False)
class Tables:
    """The tables an :class:`Analysis` makes from its coverage, made elsewhere: the shortfall
    list before (``unlinked``) and after (``shortfalls``) it names its projects, the projects
    (``None``: built by the analysis, and the shortfalls linked to them) and the roll-ups."""

    unlinked: pd.DataFrame
    shortfalls: pd.DataFrame | None
    projects: Projects | None
    roll_ups: RollUps


def first_stages(
    network: WalkNetwork,
    profile: Profile,
    demand_points: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    params: AnalysisParams,
    thresholds: dict[str, float],
    facility_gates: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    compound_gates: gpd.GeoDataFrame | None = None,
) -> Stages:
    """The costly first stages of an analysis: access (network distances, through the gates),
    the data status of every demand point × category and the coverage table with capacity
    (2SFCA). :class:`Analysis` computes them on construction; each region of
    :func:`lifecircle.analyze_regions` computes only these."""
    cats = params.category_list(profile)
    access = compute_access(
        network, demand_points, facilities, params.categories, params.max_snap_m,
        facility_gates, compounds, compound_gates,
    )  # fmt: skip
    codes = street_codes(demand_points, communities)
    status = point_status(
        codes, access, cats, params.complete_categories, params.data_gap_radius_m
    )
    groups = point_groups(demand_points)
    cov = coverage_table(
        demand_points, communities, cats, access, thresholds, params.min_covered_share, status,
        groups=groups,
    )  # fmt: skip
    add_capacity(cov, cats, facilities, demand_points, access, thresholds, network)
    return Stages(access, status, cov, street_codes=codes, point_groups=groups)


def demand_digest(demand_points: gpd.GeoDataFrame) -> bytes:
    """SHA-1 of every demand point's attributes and position (part of an analysis' run id)."""
    h = hashlib.sha1()
    h.update(
        pd.util.hash_pandas_object(demand_points.drop(columns="geometry"), index=False)
        .to_numpy()
        .tobytes()
    )
    # every point's bytes (a repr of the array elides the middle of long ones)
    h.update(b"".join(shapely.to_wkb(demand_points.geometry.values)))
    return h.digest()


class Analysis:
    """Result of :func:`lifecircle.analyze`; every table is computed on construction.

    Attributes
    ----------
    coverage : DataFrame — one row per community × category.
    shortfalls : DataFrame — the ranked 短板社区 list.
    categories : DataFrame — the 短板设施 list: coverage of each category city-wide and per
        county and street, ranked (worst first).
    index : GeoDataFrame — community facility-service index (0–100), one row per community.
    index_by_street, index_by_county, index_by_city : DataFrame — the index aggregated, with
        the share of communities meeting the standard over :attr:`share_of` communities
        (urban communities by default: the campaign's target) and urban/village counts.
    data_gaps : DataFrame — the data checklist (数据核查清单): categories without any facility in
        the input, and streets with none within ``data_gap_radius_m`` while others have them;
        which source to add. These are not shortfalls (see ``analysis/datastatus.py``).
    roll_up_groups : :class:`~lifecircle.analysis.index.RollUpGroups` — the rows each roll-up
        sums (from the communities' places; a scenario reuses them).
    summary : dict — headline numbers (share of communities meeting the standard vs target).
    access : :class:`~lifecircle.analysis.access.Access` — the distance arrays behind it all.
    sites : GeoDataFrame or None — proposed sites, after :meth:`propose_sites`.
    params, thresholds, profile, network, facilities, communities, demand : the inputs.
    reach_m : float or None — distances are exact up to this and ``inf`` beyond it (a run by
        regions, :class:`lifecircle.batch.RegionsResult`, and its scenarios); ``None``: exact.
    run_id : str — deterministic id of the inputs and parameters; ``demand_digest`` (bytes) is
        the demand points' part of it, kept by scenarios (the same demand).
    """

    #: distances exact up to this, ``inf`` beyond (set by a run by regions); ``None``: all exact
    reach_m: float | None = None

    def __init__(
        self,
        network: WalkNetwork,
        profile: Profile,
        facilities: gpd.GeoDataFrame,
        demand: Demand,
        params: AnalysisParams,
        thresholds: dict[str, float] | None = None,
        compounds: gpd.GeoDataFrame | None = None,
        facility_gates: gpd.GeoDataFrame | None = None,
        compound_gates: gpd.GeoDataFrame | None = None,
        stages: Stages | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.network = network
        self.profile = profile
        self.facilities = facilities
        self.communities = _with_optional_columns(demand.communities)
        self.demand = demand.points
        self.params = params
        self.thresholds = params.thresholds(profile) if thresholds is None else thresholds
        self.created_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        self._sites: Sites | None = None
        cats = params.category_list(profile)
        # the gates (and the compounds they belong to) change where routes start and end
        self._gates = (facility_gates, compounds, compound_gates)
        if stages is None:
            stages = self._first_stages(cats)
        #: :func:`demand_digest` of :attr:`demand` (a scenario, with the same demand, reuses it)
        self.demand_digest = stages.demand_digest or demand_digest(self.demand)
        self.run_id = self._run_id()
        self._street_codes = stages.street_codes
        self._point_groups = stages.point_groups
        self._known_projects = stages.known_projects
        self.access: Access = stages.access
        self.point_status = stages.point_status
        self.coverage = stages.coverage
        r = self._tables(stages, cats)
        self.index = r.index
        #: the communities the share meeting the standard is counted over (see AnalysisParams)
        self.share_of = r.share_of
        self.index_by_street = r.index_by_street
        self.index_by_county = r.index_by_county
        self.index_by_city = r.index_by_city
        self.categories = r.categories
        self.data_gaps = r.data_gaps
        self.roll_up_groups = r.groups
        self._compounds = None if compounds is None else compound_tables(
            network, self.demand, self.communities, facilities, compounds, self.access, cats,
            self.thresholds, params.min_covered_share, self.point_status,
        )  # fmt: skip
        log.info(
            "analysis of %d demand points × %d categories in %.2f s",
            len(self.demand), len(cats), time.perf_counter() - t0,
        )  # fmt: skip

    def _first_stages(self, cats: list) -> Stages:
        """Access, data status and coverage (with capacity) computed from the inputs."""
        return first_stages(
            self.network, self.profile, self.demand, self.communities, self.facilities,
            self.params, self.thresholds, *self._gates,
        )  # fmt: skip

    def _tables(self, stages: Stages, cats: list) -> RollUps:
        """Shortfalls and projects (set on the analysis) and the roll-ups, from the coverage or
        as ``stages.tables`` gives them."""
        t, params = stages.tables, self.params
        if t is None:
            self._unlinked = shortfall_table(
                self.coverage, cats, self.profile, params.min_covered_share,
                stages.known_shortfalls,
            )  # fmt: skip
        else:
            self._unlinked = t.unlinked
        if t is not None and t.projects is not None and t.shortfalls is not None:
            self._projects, self.shortfalls = t.projects, t.shortfalls
        else:
            self._projects = self._build_projects()
            self.shortfalls = link_shortfalls(self._unlinked, self._projects)
        if t is not None:
            return t.roll_ups
        return roll_ups(
            self.coverage, self.communities, self.facilities, cats, self.thresholds,
            params.share_of, params.target_share,
        )  # fmt: skip

    # ------------------------------------------------------------------ bookkeeping
    def _run_id(self) -> str:
        """Deterministic id of the inputs and parameters (same input → same id)."""
        h = hashlib.sha1()
        h.update(str(self.profile.id).encode())
        h.update(repr(self.params).encode())
        h.update(repr(sorted(self.thresholds.items())).encode())
        h.update(np.ascontiguousarray(self.network.weights).tobytes())
        fac = self.facilities
        h.update(
            pd.util.hash_pandas_object(
                fac.drop(columns="geometry").astype(str), index=True
            ).values.tobytes()
        )
        # every point's bytes (a repr of the array elides the middle of long ones)
        h.update(b"".join(shapely.to_wkb(fac.geometry.values)))
        h.update(self.demand_digest)
        return h.hexdigest()[:12]

    @property
    def street_codes(self) -> np.ndarray:
        """The street of every demand point, as a whole number (the same for the points of one
        street; see :func:`~lifecircle.analysis.datastatus.street_codes`)."""
        if self._street_codes is None:
            self._street_codes = street_codes(self.demand, self.communities)
        return self._street_codes

    @property
    def point_groups(self) -> PointGroups:
        """The demand points by community, in the coverage table's community order (see
        :func:`~lifecircle.analysis.coverage.point_groups`)."""
        if self._point_groups is None:
            self._point_groups = point_groups(self.demand)
        return self._point_groups

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<Analysis {s['communities']} communities × {s['categories']} categories, "
            f"{s['shortfalls']} shortfalls, {s['share_meeting_standard']:.0%} meet the standard "
            f"(profile {self.profile.id}, run {self.run_id})>"
        )

    def headline(self, share: float | None = None) -> dict[str, Any]:
        """The figures a campaign follows (part of :attr:`summary`, cheaper to make):
        ``share_meeting_standard`` (of :attr:`share_of` communities; ``share`` when already
        computed), ``meets_target``, ``shortfalls`` and ``mean_service_index`` (weighted by
        residents)."""
        idx = self.index
        if share is None:
            share = share_meeting(idx, self.share_of)
        pop = idx["population"].fillna(0).to_numpy(dtype=float)
        si = idx["service_index"].fillna(0).to_numpy(dtype=float)
        return {
            "share_meeting_standard": share,
            "meets_target": bool(share >= self.params.target_share),
            "shortfalls": int(len(self.shortfalls)),
            "mean_service_index": float(np.average(si, weights=pop)) if pop.sum() > 0 else float("nan"),
        }

    @property
    def summary(self) -> dict[str, Any]:
        """Headline numbers of the run."""
        idx, cats = self.index, self.categories
        shares = {k: share_meeting(idx, k) for k in ("urban", "village", "all")}
        head = self.headline(shares[self.share_of])
        return {
            "run_id": self.run_id,
            "profile": self.profile.id,
            "communities": int(len(idx)),
            "population": float(idx["population"].sum()),
            "categories": len(self.params.categories),
            "facilities": int(len(self.facilities)),
            "demand_points": int(len(self.demand)),
            "shortfalls": head["shortfalls"],
            "categories_not_assessed": int(
                ((cats["scope"] == "city") & (cats["data_status"] == NO_DATA)).sum()
            ),
            "data_gaps": int(len(self.data_gaps)),
            "share_meeting_standard": head["share_meeting_standard"],
            "share_of": self.share_of,
            "share_meeting_urban": shares["urban"],
            "share_meeting_village": shares["village"],
            "share_meeting_all": shares["all"],
            "communities_unclassified": int(idx["settlement"].isna().sum()),
            "target_share": self.params.target_share,
            "meets_target": head["meets_target"],
            "mean_service_index": head["mean_service_index"],
        }

    @property
    def gates(self) -> dict[str, gpd.GeoDataFrame | None]:
        """The compounds and gates the analysis was given (``facility_gates``, ``compounds``,
        ``compound_gates``; ``None`` where not given), as :func:`lifecircle.analyze` takes them."""
        names = ("facility_gates", "compounds", "compound_gates")
        return dict(zip(names, self._gates, strict=True))

    @property
    def index_by_compound(self) -> gpd.GeoDataFrame | None:
        """The service index of every residential compound (小区), when ``compounds=`` was
        given: one row per compound with its parent community (``None`` otherwise)."""
        return None if self._compounds is None else self._compounds.index

    @property
    def compound_coverage(self) -> pd.DataFrame | None:
        """Coverage per compound × category, when ``compounds=`` was given."""
        return None if self._compounds is None else self._compounds.coverage

    # ------------------------------------------------------------------ siting and projects
    def propose_sites(
        self,
        categories: list[str] | None = None,
        max_sites: int = 10,
        min_new_pop: float = 1.0,
        candidate_cell_m: float = 25.0,
        **unknown: Any,
    ) -> gpd.GeoDataFrame:
        """Propose sites for new facilities where they cover the most uncovered residents.

        Greedy maximal covering on the network (a (1 − 1/e)-approximation of the optimum).
        Candidates are the network nodes near uncovered residents and the points on the street
        nearest to uncovered demand points (thinned to one per ``candidate_cell_m`` cell); a
        candidate covers a demand point if their network distance is within the category's
        threshold. Each round takes the candidate covering the most still-uncovered target
        residents (ties: first candidate, nodes before street points, in id order), until
        ``max_sites`` per category or the gain drops below ``min_new_pop``.

        Returns
        -------
        GeoDataFrame (WGS84): ``category``, ``site_rank``, ``new_covered_pop``,
        ``served_communities`` (ids served), the main community's hierarchy, ``site_id`` (sites of several categories
        at one spot share it), ``uses_zh``/``uses_en`` and geometry. Also kept as :attr:`sites`;
        from then on :attr:`projects` places the projects these sites answer at the sites, and
        each row of :attr:`shortfalls` names the site project that answers it.

        For real candidate places, a budget or an exact model, see :func:`lifecircle.siting_problem`
        and :func:`lifecircle.optimal_sites` (``docs/siting.md``); other keywords are refused
        with a message that says so.
        """
        if unknown:
            raise InputError(
                f"propose_sites: unknown argument(s) {', '.join(sorted(unknown))}; it takes "
                "categories, max_sites, min_new_pop and candidate_cell_m. Candidate places, a "
                "budget, p or an exact model: lc.siting_problem(...) then lc.optimal_sites("
                "problem, 'mclp', p=..., budget=...) (docs/siting.md)"
            )
        missing = [c for c in categories or () if c not in self.params.categories]
        if missing:
            raise InputError(
                f"propose_sites: categories {missing} were not analysed; analysed: "
                f"{', '.join(self.params.categories)}"
            )
        cats = self.params.category_list(self.profile)
        if categories is not None:
            cats = [self.profile.categories[c] for c in categories]
        params = SitingParams(int(max_sites), float(min_new_pop), float(candidate_cell_m))
        self._sites = propose_sites(
            self.network, self.demand, self.access, cats, self.thresholds, self.communities,
            params, assessed=self.point_status != NO_DATA,
        )  # fmt: skip
        self._projects = self._build_projects()
        self.shortfalls = link_shortfalls(self._unlinked, self._projects)
        return self._sites.frame

    @property
    def sites(self) -> gpd.GeoDataFrame | None:
        """The sites of the last :meth:`propose_sites` call (``None`` before any)."""
        return None if self._sites is None else self._sites.frame

    @property
    def site_cover(self) -> pd.DataFrame | None:
        """Whom the proposed sites newly cover: ``category``, ``site_rank``, ``community_id``,
        ``pop`` (``None`` before :meth:`propose_sites`)."""
        return None if self._sites is None else self._sites.cover

    @property
    def projects(self) -> gpd.GeoDataFrame:
        """Gap-filling projects for the reserve pool (see :func:`lifecircle.export_pool`).

        One row per proposed site of :attr:`sites`, plus one row per shortfall that no site
        answers, located at the community. Before :meth:`propose_sites` every shortfall is a
        project at its community (logged).
        """
        if self._sites is None:
            log.info(
                "no proposed sites: each shortfall becomes a project at its community "
                "(call propose_sites() first to place projects at sites)"
            )
        return self._projects.frame

    def _build_projects(self) -> Projects:
        return build_projects(
            self._unlinked, self._sites, self.communities, self.thresholds, self.profile,
            self._known_projects,
        )  # fmt: skip

    # ------------------------------------------------------------------ scenarios
    def with_projects(
        self,
        projects: gpd.GeoDataFrame | str | PathLike[str],
        statuses: tuple[str, ...] | None = ("申报", "在建", "建成"),
    ) -> Scenario:
        """The analysis as if ``projects`` were built, and what changes (a
        :class:`~lifecircle.analysis.scenario.Scenario`: ``.analysis``, ``.communities``,
        ``.newly_covered``, ``.by_street``, ``.by_county``, ``.summary``).

        ``projects``: pool rows (a frame from :func:`lifecircle.read_pool`, or the pool's path:
        rows whose ``status`` is in ``statuses``, by default 申报/在建/建成 — declared, under
        construction, built — however written: ``" 在建"``, 已建成, ``built``, see
        :func:`~lifecircle.analysis.scenario.project_status`), proposed sites (:attr:`sites`) or
        any facility frame with a ``category`` column (ids, or the profile's Chinese or English
        category names). Only the added facilities are searched from; the distances are the
        element-wise minimum of the old and new ones, and only the rows of the tables that can
        change are made again (see :mod:`lifecircle.analysis.scenario`); compounds and gates
        are carried over. The result equals :func:`lifecircle.analyze` with the facilities
        appended.
        """
        from .scenario import with_projects

        if isinstance(projects, (str, PathLike)):
            from ..outputs.pool import read_pool

            projects = read_pool(projects)
        return with_projects(self, projects, statuses)

    # ------------------------------------------------------------------ isochrones
    def _level_distances(self) -> dict[float, float]:
        """Walking minutes → metres of the profile's levels (the standard's distances)."""
        return {
            float(lv.walk_min): float(lv.distance_m)
            for lv in self.profile.levels.values()
            if lv.walk_min and lv.distance_m
        }

    def isochrones(
        self,
        communities: list[str] | None = None,
        minutes: tuple[float, ...] | None = None,
        speed: str | float | None = "analysis",
        **kwargs: Any,
    ) -> gpd.GeoDataFrame:
        """Walking isochrones (WGS84) of communities, from their representative points.

        ``speed="analysis"`` (default) follows the analysis: in standard mode the profile's level
        distances (5 → 300 m, 10 → 500 m, 15 → 1000 m for GB 50180; minutes the profile has no
        level for are an error), else the analysis' speed; or give ``"adult"``, ``"elderly"`` or
        m/s. ``minutes=None`` (default): the profile's levels in standard mode, else 5, 10, 15.
        Points are snapped with the analysis' ``max_snap_m``. Other keywords go to
        :func:`lifecircle.isochrones`.
        """
        comm = self.communities.set_index("community_id")
        if communities is not None:
            missing = [c for c in communities if c not in comm.index]
            if missing:
                raise InputError(f"unknown community ids {missing[:5]}")
            comm = comm.loc[list(communities)]
        origins = gpd.GeoDataFrame(geometry=comm.geometry.representative_point(), crs=comm.crs)
        kwargs.setdefault("max_snap_m", self.params.max_snap_m)
        if speed == "analysis" and self.params.speed is None:
            dist = self._level_distances()
            minutes = tuple(sorted(dist)) if minutes is None else minutes
            missing = [m for m in minutes if float(m) not in dist]
            if missing:
                raise InputError(
                    f"profile {self.profile.id} has no life-circle level of {missing} minutes "
                    f"(it has {sorted(dist)}); pass minutes= from those, or speed='adult' / "
                    "'elderly' / m/s to turn minutes into metres"
                )
            return isochrones(
                self.network, origins, minutes=minutes,
                distances_m={float(m): dist[float(m)] for m in minutes}, **kwargs,
            )  # fmt: skip
        if speed == "analysis":
            speed = self.params.speed
        minutes = (5, 10, 15) if minutes is None else minutes
        return isochrones(self.network, origins, minutes=minutes, speed_m_per_s=speed, **kwargs)

    def covered_areas(self, categories: list[str] | None = None, **kwargs: Any) -> gpd.GeoDataFrame:
        """The area within each category's threshold of its facilities (dissolved, WGS84).

        One row per category that has facilities: ``category``, ``distance_m``, geometry.
        Facilities are snapped with the analysis' ``max_snap_m``.
        """
        kwargs.setdefault("max_snap_m", self.params.max_snap_m)
        frames = []
        for cid in categories or self.params.categories:
            fac = self.facilities[self.facilities["category"] == cid]
            if len(fac) == 0:
                continue
            thr = self.thresholds[cid]
            part = covered_area(self.network, fac, minutes=None, distances_m=[thr], **kwargs)
            part["category"] = cid
            frames.append(part)
        if not frames:
            return gpd.GeoDataFrame({"category": [], "distance_m": []}, geometry=[], crs=4326)
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)

    # ------------------------------------------------------------------ conveniences
    def to_excel(self, path: str, lang: str | None = None,
                 programme: Programme | None = None) -> str:
        """Write shortfalls, categories, index and coverage to one Excel workbook; with
        ``programme`` (from :func:`lifecircle.plan_programme`) also its sheets 建设时序, 年度汇总
        and 未满足规则."""
        from ..outputs.tables import write_excel

        return write_excel(self, path, lang=lang or settings.language, programme=programme)

    def map(self, **kwargs: Any) -> Any:
        """Interactive shortfall map (folium); see :func:`lifecircle.shortfall_map`."""
        from ..outputs.map import shortfall_map

        return shortfall_map(self, **kwargs)


def _with_optional_columns(communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Communities from older code lack the 0.2 columns: add them empty."""
    missing = [c for c in ("province_code", "city_code", "settlement") if c not in communities]
    return communities.assign(**{c: None for c in missing}) if missing else communities

