"""Capacity: supply per 1,000 residents of the target group by the Gaussian two-step floating
catchment area method (Dai 2010), checked against the profile's per-1,000 standard."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from ..network import Snapped, WalkNetwork
from ..sources.tables import rows_text
from ..standards import Category
from .access import Access
from .coverage import group_weights

log = logging.getLogger(__name__)


def gaussian_weight(d: np.ndarray, d0: float) -> np.ndarray:
    """Gaussian distance decay, 1 at 0 m falling to 0 at the catchment ``d0`` (Dai 2010)."""
    e = np.exp(-0.5)
    return (np.exp(-0.5 * (d / d0) ** 2) - e) / (1 - e)


def g2sfca(
    network: WalkNetwork,
    facilities: Snapped,
    supply: np.ndarray,
    demand: Snapped,
    weights: np.ndarray,
    community: np.ndarray,
    d0: float,
    facility_rows: np.ndarray | None = None,
    demand_rows: np.ndarray | None = None,
) -> pd.Series:
    """Supply per 1,000 residents of each community (index: community id).

    Step 1: each facility's supply over the decay-weighted residents within ``d0``; step 2:
    each demand point sums the decay-weighted ratios of the facilities within ``d0``.

    ``facilities`` and ``demand`` may hold several rows per facility or point (entered or left
    through gates, :attr:`Access.facility_entries`, :attr:`Access.demand_exits`):
    ``facility_rows`` / ``demand_rows`` then give, per row, the facility's position in
    ``supply`` / the point's in ``weights``, and the distance of a pair is the smallest over
    their rows, as for coverage.
    """
    p = network.pairs(facilities, demand, d0)
    s, t, d = p.source, p.target, p.distance_m
    if facility_rows is not None or demand_rows is not None:
        s = s if facility_rows is None else np.asarray(facility_rows)[s]
        t = t if demand_rows is None else np.asarray(demand_rows)[t]
        order = np.lexsort((d, t, s))
        s, t, d = s[order], t[order], d[order]
        first = np.r_[True, (s[1:] != s[:-1]) | (t[1:] != t[:-1])] if len(s) else np.zeros(0, bool)
        s, t, d = s[first], t[first], d[first]
    g = gaussian_weight(d, d0)
    demand_j = np.bincount(s, weights=g * weights[t], minlength=len(supply))
    r = np.where(demand_j > 0, supply / np.where(demand_j > 0, demand_j, 1), 0.0)
    a = np.bincount(t, weights=g * r[s], minlength=len(community))  # per person
    df = pd.DataFrame({"c": community, "aw": a * weights, "w": weights})
    df = df.groupby("c")[["aw", "w"]].sum()
    return (1000.0 * df["aw"] / df["w"].where(df["w"] > 0)).fillna(0.0)


def _supply(cat: Category, fac: gpd.GeoDataFrame) -> np.ndarray | None | bool:
    """Capacities of a category's facilities; ``None`` without facilities, ``False`` when no
    facility states a capacity (not assessed). Missing ones take the median, with a warning."""
    f = fac[fac["category"] == cat.id]
    if len(f) == 0:
        return None
    caps = pd.to_numeric(f["capacity"], errors="coerce")
    if caps.notna().sum() == 0:
        return False
    if caps.isna().any():
        med = float(caps.median())
        log.warning(
            "%s: %d of %d facilities have no capacity (%s); the median (%.0f) is assumed: give "
            "their capacity column (%s) for a better answer",
            cat.id, int(caps.isna().sum()), len(caps), rows_text(list(f.index[caps.isna()])), med,
            cat.capacity[0].unit if cat.capacity else "capacity",
        )  # fmt: skip
        caps = caps.fillna(med)
    return caps.to_numpy(dtype=float)


def supply_ratios(
    cats: list[Category],
    facilities: gpd.GeoDataFrame,
    demand: pd.DataFrame,
    access: Access,
    thresholds: dict[str, float],
    network: WalkNetwork,
) -> dict[str, pd.Series]:
    """Supply per 1,000 residents of the target group (index: community id) of each category
    with a per-1,000 rule whose facilities state capacities (:func:`g2sfca`; 0 without
    facilities); categories without are left out (capacity not assessed)."""
    out: dict[str, pd.Series] = {}
    cid = None  # read when a category needs it (most have no per-1,000 rule)
    for c in cats:
        if not c.capacity or "capacity" not in facilities.columns:
            continue
        supply = _supply(c, facilities)
        if supply is False:
            continue
        if cid is None:
            cid = demand["community_id"].to_numpy()
        rule = c.capacity[0]
        entries = access.entries_of(c.id)
        if supply is None or entries is None:
            out[c.id] = pd.Series(0.0, index=np.unique(cid))
        else:
            w, _ = group_weights(demand, rule.population)
            homes, home_rows = access.exits()
            out[c.id] = g2sfca(
                network, entries[0], supply, homes, w, cid, thresholds[c.id],
                facility_rows=entries[1], demand_rows=home_rows,
            )  # fmt: skip
    return out


def add_capacity(
    coverage: pd.DataFrame,
    cats: list[Category],
    facilities: gpd.GeoDataFrame,
    demand: pd.DataFrame,
    access: Access,
    thresholds: dict[str, float],
    network: WalkNetwork,
    ratios: dict[str, pd.Series] | None = None,
) -> None:
    """Add ``supply_per_1000``, ``capacity_threshold_per_1000``, ``capacity_unit``,
    ``meets_capacity`` and ``meets_standard`` to ``coverage`` (in place).

    Distances go through the facilities' and compounds' gates where ``access`` has them (as
    for coverage: :meth:`Access.entries_of`, :meth:`Access.exits`). ``ratios``: the
    :func:`supply_ratios` of ``cats`` when already computed."""
    if ratios is None:
        ratios = supply_ratios(cats, facilities, demand, access, thresholds, network)
    cov = coverage
    cov["supply_per_1000"] = np.nan
    cov["capacity_threshold_per_1000"] = np.nan
    cov["capacity_unit"] = None
    for c in cats:
        if c.id not in ratios:
            continue
        rule = c.capacity[0]
        mask = cov["category"] == c.id
        cov.loc[mask, "supply_per_1000"] = (
            cov.loc[mask, "community_id"].map(ratios[c.id]).to_numpy()
        )
        cov.loc[mask, "capacity_threshold_per_1000"] = rule.per_1000
        cov.loc[mask, "capacity_unit"] = rule.unit
    # assessed where a per-1,000 target applies and the community has residents of the group
    cov["meets_capacity"] = np.where(
        cov["capacity_threshold_per_1000"].notna() & (cov["group_pop"] > 0),
        cov["supply_per_1000"].fillna(0) >= cov["capacity_threshold_per_1000"],
        None,
    )
    cov["meets_standard"] = standard_verdict(cov["meets_distance"], cov["meets_capacity"])


def standard_verdict(meets_distance: np.ndarray, meets_capacity: np.ndarray) -> np.ndarray:
    """Meets the standard: the distance standard met and the per-1,000 rule not failed
    (``None``: the rule does not apply)."""
    cap = np.asarray(meets_capacity, dtype=object)
    return np.asarray(meets_distance, dtype=bool) & (cap != False)  # noqa: E712
