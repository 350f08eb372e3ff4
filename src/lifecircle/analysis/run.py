""":func:`analyze`: check the inputs, spread the population, and build an :class:`Analysis`."""

from __future__ import annotations

import logging
from os import PathLike
from typing import Any

import geopandas as gpd

from .._errors import InputError
from ..communities import COMMUNITY_COLUMNS, Demand, demand_points
from ..network import WalkNetwork
from ..standards import Profile, load_profile
from .datastatus import DATA_GAP_RADIUS_M
from .params import AnalysisParams
from .result import Analysis

log = logging.getLogger(__name__)


def analyze(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    profile: Profile | str | PathLike[str],
    *,
    categories: list[str] | None = None,
    levels: list[str] | None = None,
    speed: str | float | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    landuse: gpd.GeoDataFrame | None = None,
    raster: Any = None,
    grid_m: float | None = None,
    demand: Demand | None = None,
    min_covered_share: float = 0.8,
    target_share: float = 0.6,
    max_snap_m: float | None = None,
    complete_categories: list[str] | bool | None = None,
    data_gap_radius_m: float = DATA_GAP_RADIUS_M,
    share_of: str = "urban",
    compounds: gpd.GeoDataFrame | None = None,
    facility_gates: gpd.GeoDataFrame | None = None,
    compound_gates: gpd.GeoDataFrame | None = None,
) -> Analysis:
    """Coverage of every community by every facility category of a standard profile.

    Parameters
    ----------
    network : WalkNetwork from :func:`lifecircle.load_network`.
    facilities : GeoDataFrame of points with a ``category`` column (profile category ids) and
        optionally ``capacity`` (beds, places ... in the unit of the category's capacity rule);
        its index is the facility id.
    communities : from :func:`lifecircle.load_communities`.
    profile : a :class:`lifecircle.Profile` or its name (e.g. ``"jiaxing-yilao-yixiao"``).
    categories, levels : analyse only these category ids / level ids.
    speed : ``None`` (default) uses the profile's distances (e.g. 300 m at the 5-minute level);
        ``"adult"`` (1.2 m/s), ``"elderly"`` (0.9 m/s), ``"child"`` or a speed in m/s turns each
        level's walking minutes into metres instead.
    buildings, landuse, raster, grid_m : how population is spread inside community polygons
        (see :func:`lifecircle.demand_points`); or pass ``demand`` ready-made.
    min_covered_share : a community meets the standard for a category when at least this share
        of its target residents lives within the threshold (default 0.8).
    target_share : the campaign's target share of communities meeting the standard (0.6 = 60%
        by 2025 in Jiaxing), reported in :attr:`Analysis.summary` and the street/county index.
    max_snap_m : points farther from the network are reported and left uncovered; default
        :data:`lifecircle.settings.max_snap_m`.
    complete_categories : categories whose facility lists are complete (``True``: all). Where
        such a category has no facility near a street, that is a real absence; for other
        categories it is a data gap (``Analysis.data_gaps``), not a shortfall.
    data_gap_radius_m : a street with no facility of a category within this straight distance
        of any resident, while other streets have one, is a data gap (default 3,000 m).
    share_of : the communities the share meeting the standard is counted over: ``"urban"``
        (城镇社区: the campaign's target is a share of urban communities, default), ``"village"``
        (村) or ``"all"``. Without any urban/village classification it falls back to all
        communities, with a warning; the tables say which one was used (``share_of``).
    compounds : residential compounds (小区), polygons or points, optionally with an id and a
        name column (``小区名称`` …): adds the compound level below the community
        (:attr:`Analysis.index_by_compound`, :attr:`Analysis.compound_coverage`).
    facility_gates : entrances of the facilities, e.g. ``lifecircle.facilities.gates(facilities)``
        for a Baidu/Amap list (column ``facility_id``; optional boolean ``usable``): a facility
        with usable gates is entered through its nearest gate, walking straight inside, instead
        of from the street nearest to it. Default: none (every facility snapped to its street).
    compound_gates : entrances of the ``compounds`` polygons (points, e.g. OSM
        ``entrance=*``/``barrier=gate`` nodes or 小区 gate POIs; optional boolean ``usable``),
        each given to its compound (OSM gates, as :func:`lifecircle.facilities.gates_from_osm`
        gives them, to the compound whose boundary they lie on, within 2 m; others to the
        compound within 100 m): residents of a gated compound leave through its nearest usable
        gate, walking straight inside, for coverage and capacity alike.

    Returns
    -------
    Analysis
    """
    if isinstance(profile, (str, PathLike)):
        profile = load_profile(profile)
    if not isinstance(network, WalkNetwork):
        raise InputError("network: give a WalkNetwork from lifecircle.load_network")
    params = AnalysisParams.build(
        profile, categories=categories, levels=levels, speed=speed,
        min_covered_share=min_covered_share, target_share=target_share, max_snap_m=max_snap_m,
        complete_categories=complete_categories, data_gap_radius_m=data_gap_radius_m,
        share_of=share_of,
    )  # fmt: skip
    fac = _check_facilities(facilities, profile, list(params.categories))
    if demand is None:
        _check_communities(communities)
        demand = demand_points(
            communities, buildings=buildings, landuse=landuse, raster=raster, grid_m=grid_m
        )
    elif isinstance(demand, Demand):
        demand.check()
    else:
        raise InputError("demand: give a Demand (lifecircle.demand_points makes one)")
    missing = [
        c for c in params.categories
        if (fac["category"] == c).sum() == 0 and c not in params.complete_categories
    ]  # fmt: skip
    if missing:
        log.warning(
            "no facilities at all for %d categories: %s — they cannot be assessed and are listed "
            "in Analysis.data_gaps (the data checklist), not as shortfalls; load their lists, or "
            "pass complete_categories=[...] if there really are none",
            len(missing), ", ".join(missing),
        )  # fmt: skip
    return Analysis(
        network, profile, fac, demand, params, compounds=compounds,
        facility_gates=facility_gates, compound_gates=compound_gates,
    )  # fmt: skip


#: Community columns added in 0.2: frames made by older code get them empty.
OPTIONAL_COLUMNS = ("province_code", "city_code", "settlement")


def _check_communities(communities: Any) -> None:
    if not isinstance(communities, gpd.GeoDataFrame):
        raise InputError("communities: give a GeoDataFrame from lifecircle.load_communities")
    if len(communities) == 0:
        raise InputError("communities: the frame is empty; there is nothing to analyse")
    for col in COMMUNITY_COLUMNS:
        if col not in communities.columns and col not in OPTIONAL_COLUMNS:
            raise InputError(
                f"communities: column {col!r} missing; load them with lifecircle.load_communities"
            )


def _check_facilities(
    facilities: gpd.GeoDataFrame, profile: Profile, cat_ids: list[str]
) -> gpd.GeoDataFrame:
    if not isinstance(facilities, gpd.GeoDataFrame):
        raise InputError(
            "facilities: give a GeoDataFrame (see lifecircle.load_facilities / facilities_from_osm)"
        )
    if "category" not in facilities.columns:
        raise InputError(
            "facilities: a 'category' column with the profile's category ids is needed"
        )
    if facilities.index.has_duplicates:
        raise InputError("facilities: the index (facility id) has duplicates; make it unique")
    unknown = sorted(set(facilities["category"].dropna()) - set(profile.categories))
    if unknown:
        log.warning(
            "facilities of categories not in profile %s are ignored: %s", profile.id, unknown
        )
    fac = facilities[facilities["category"].isin(cat_ids)]
    if len(fac) and fac.crs is None:
        raise InputError("facilities: no CRS")
    return fac.sort_index()
