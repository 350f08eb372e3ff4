"""The community facility-service index (0–100), its roll-ups by street and county, the
category table (短板设施) and the headline summary. See ``docs/concepts.md``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pandas as pd

from ..standards import Category
from .coverage import HIERARCHY
from .datastatus import CONFIRMED_ABSENT, NO_DATA, PRESENT, data_checklist
from .shortfalls import category_weights

log = logging.getLogger(__name__)

#: Label of a missing county or street in roll-ups.
UNKNOWN = "(未知)"


def failing(coverage: pd.DataFrame, meets_standard: np.ndarray | None = None) -> np.ndarray:
    """Per community × category row: an assessed category whose standard is not met.
    ``meets_standard``: the verdict of each row (default the table's ``meets_standard``; the
    programme passes the verdict with its new sites)."""
    ms = coverage["meets_standard"] if meets_standard is None else meets_standard
    return ~np.asarray(ms, dtype=bool) & coverage["assessed"].astype(bool).to_numpy()


def meets_all_required(coverage: pd.DataFrame, meets_standard: np.ndarray | None = None) -> pd.Series:
    """Per community id (sorted): no required, assessed category fails the standard (see
    :func:`failing`). The one rule behind ``meets_all_required`` and the share meeting the
    standard; communities without residents or without any assessed category are set apart
    by :func:`community_index`."""
    fail = failing(coverage, meets_standard) & coverage["required"].astype(bool).to_numpy()
    codes, ids = pd.factorize(coverage["community_id"], sort=True)
    return pd.Series(np.bincount(codes, weights=fail, minlength=len(ids)) == 0, index=ids)


def counted(index: pd.DataFrame, share_of: str) -> pd.Series:
    """The communities the share meeting the standard counts: ``share_of`` ones (``"all"``, or a
    settlement kind) with residents (``meets_all_required`` not missing)."""
    rows = index["meets_all_required"].notna()
    return rows if share_of == "all" else rows & (index["settlement"] == share_of)


def share_meeting(index: gpd.GeoDataFrame, share_of: str) -> float:
    """Share of ``share_of`` communities (with residents) meeting every required category."""
    assessed = index.loc[counted(index, share_of), "meets_all_required"].astype(bool)
    return float(assessed.mean()) if len(assessed) else float("nan")


def index_columns(
    coverage: pd.DataFrame, cats: list[Category], population: pd.Series
) -> pd.DataFrame:
    """The computed columns of :func:`community_index`, one row per community id of
    ``coverage`` (sorted; ``population``: residents per community id): ``service_index``
    (``NaN`` without residents), ``n_shortfalls``, ``meets_all_required`` (``None`` without
    residents or without any assessed category) and ``n_not_assessed``."""
    cov = coverage
    assessed = cov["assessed"].astype(bool)
    w = category_weights(cov["category"], cov["required"], cats) * assessed.to_numpy()
    s = cov["covered_share"].fillna(1.0).clip(0, 1)
    cap = (cov["supply_per_1000"] / cov["capacity_threshold_per_1000"]).clip(0, 1)
    s = s * cap.where(cov["capacity_threshold_per_1000"].notna(), 1.0).fillna(0.0)
    fail = failing(cov)
    codes, ids = pd.factorize(cov["community_id"], sort=True)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=np.asarray(values, dtype=float), minlength=len(ids))

    wsum, n_assessed = total(w), total(assessed.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        service = np.where(wsum > 0, 100.0 * total(w * s.to_numpy()) / wsum, np.nan)
    ids = pd.Index(ids, name="community_id")
    # communities without residents have nothing to cover: no index, not counted in shares
    empty = population.reindex(ids).fillna(0).to_numpy() <= 0
    meets = meets_all_required(cov).to_numpy().astype(object)
    meets[empty | (n_assessed == 0)] = None
    return pd.DataFrame(
        {
            "service_index": np.where(empty, np.nan, service),
            "n_shortfalls": total(fail).astype(int),
            "meets_all_required": meets,
            "n_not_assessed": (np.bincount(codes, minlength=len(ids)) - n_assessed).astype(int),
        },
        index=ids,
    )


def community_index(
    coverage: pd.DataFrame, communities: gpd.GeoDataFrame, cats: list[Category]
) -> gpd.GeoDataFrame:
    """One row per community: its places, population and geometry, and the index columns
    (:func:`index_columns`: ``service_index`` weighted share of target residents served,
    capacity-scaled; ``n_shortfalls``; ``meets_all_required``; ``n_not_assessed``, categories
    without data, which count neither way); communities without coverage rows get none."""
    comm = communities.set_index("community_id")
    keep = [h for h in HIERARCHY if h != "community_id"]
    keep += [c for c in ("province_code", "city_code", "settlement") if c in comm]
    keep += ["population", "pop_estimated"]
    out = comm[[*keep, "geometry"]].join(index_columns(coverage, cats, comm["population"]))
    out["meets_all_required"] = out["meets_all_required"].astype(object)
    out.loc[out["meets_all_required"].isna(), "meets_all_required"] = None
    out = gpd.GeoDataFrame(
        out.reset_index(names="community_id"), geometry="geometry", crs=communities.crs
    )
    return out.sort_values("community_id").reset_index(drop=True)


#: Who counts in the share of communities meeting the standard.
SHARE_OF = ("urban", "village", "all")


def effective_share_of(communities: pd.DataFrame, share_of: str) -> str:
    """``share_of``, or ``"all"`` when no community is classified urban/village (then the
    campaign's urban share cannot be told apart; said in a warning)."""
    settled = communities["settlement"].notna() if "settlement" in communities else None
    if share_of != "all" and (settled is None or not settled.any()):
        log.warning(
            "no community is classified urban (社区) or village (村): the share meeting the "
            "standard is computed over all communities instead of %s ones; give load_communities "
            "urban_rural_code= or settlement= (or names ending in 社区/村) to count urban "
            "communities only",
            share_of,
        )
        return "all"
    return share_of


def _true(meets: pd.Series) -> np.ndarray:
    """1 where ``meets`` is True (not None, NaN or False), else 0."""
    return (meets == True).to_numpy(dtype=bool).astype(np.int64)  # noqa: E712


def index_by(
    index: gpd.GeoDataFrame,
    keys: list[str],
    target_share: float,
    share_of: str = "all",
    grouped: Grouped | None = None,
) -> pd.DataFrame:
    """The index rolled up by ``keys`` (street, county, city): population-weighted mean index and
    the share of communities with residents that meet every required category, counted over
    ``share_of`` communities (``"urban"``: 城镇社区, ``"village"``: 村, ``"all"``); urban and
    village counts are given in their own columns either way. ``grouped``: the groups of
    ``index`` by ``keys`` when already known (:class:`RollUpGroups`)."""
    meets = index["meets_all_required"]
    assessed, meeting = meets.notna().to_numpy().astype(np.int64), _true(meets)
    pop = index["population"].to_numpy(dtype=float)
    service = index["service_index"].to_numpy(dtype=float)
    keys_frame, inv = _place_groups(index, keys) if grouped is None else grouped
    settlement = index["settlement"] if "settlement" in index else pd.Series(None, index=index.index)
    counts = {"communities_assessed": assessed, "communities_meeting": meeting}
    for prefix in ("urban", "village"):
        kind = (settlement == prefix).to_numpy(dtype=bool)
        counts[f"{prefix}_assessed"], counts[f"{prefix}_meeting"] = assessed * kind, meeting * kind

    def total(values: np.ndarray) -> np.ndarray:  # NaN skipped
        return np.bincount(inv, weights=np.nan_to_num(values, nan=0.0), minlength=len(keys_frame))

    population = total(pop)
    weighted = total(np.nan_to_num(pop, nan=0.0) * service)
    sums = {name: total(values).astype(np.int64) for name, values in counts.items()}
    base = "communities" if share_of == "all" else share_of
    n = sums[f"{base}_assessed"]
    with np.errstate(invalid="ignore", divide="ignore"):
        service_index = np.where(population > 0, weighted / population, np.nan)
        share = sums[f"{base}_meeting"] / np.where(n > 0, n, np.nan)
    columns = {  # one frame made at once: cheaper than setting its columns one by one
        **{k: keys_frame[k] for k in keys_frame.columns},
        "communities": np.bincount(inv, minlength=len(keys_frame)).astype(np.int64),
        "population": population,
        "service_index": service_index,
        **sums,
        "share_meeting_standard": share,
        "share_of": share_of,
        "target_share": target_share,
        "meets_target": share >= target_share,
    }
    return pd.DataFrame(columns, index=keys_frame.index)


#: Groups of rows: a frame of their keys, in sorted order, and each row's group.
Grouped = tuple[pd.DataFrame, np.ndarray]


def groups(keys: dict[str, pd.Series]) -> Grouped:
    """The groups of rows with equal ``keys`` (no missing values), in sorted order as
    ``groupby(sort=True)`` gives them: a frame of their keys (typed as a group-by's index types
    them) and each row's group."""
    group = np.zeros(len(next(iter(keys.values()))), dtype=np.int64)
    for col in keys.values():  # lexicographic: each column's sorted codes within the previous
        codes, uniques = pd.factorize(col, sort=True)
        group = group * max(len(uniques), 1) + codes
    _, first, inv = np.unique(group, return_index=True, return_inverse=True)
    frame = pd.DataFrame({k: pd.Index(col.iloc[first].to_numpy()) for k, col in keys.items()})
    return frame, inv.ravel()


STREET_KEYS = ["county_code", "county_name", "street_code", "street_name"]
COUNTY_KEYS = ["county_code", "county_name"]
CITY_KEYS = ["province_code", "city_code"]

_CATEGORY_COLUMNS = [
    "scope", "county_code", "county_name", "street_code", "street_name", "rank", "category",
    "category_zh", "category_en", "level", "required", "threshold_m", "facilities", "group_pop",
    "covered_pop", "uncovered_pop", "covered_share", "communities", "communities_meeting",
    "share_meeting", "data_status",
]  # fmt: skip

#: a group is "present" if any of its rows is, else "confirmed_absent" if any is, else "no_data"
_STATUS_RANK = {PRESENT: 0, CONFIRMED_ABSENT: 1, NO_DATA: 2}
STATUSES = (PRESENT, CONFIRMED_ABSENT, NO_DATA)


def _place_groups(frame: pd.DataFrame, keys: list[str]) -> Grouped:
    """:func:`groups` of the rows of ``frame`` by its ``keys`` columns, missing places
    :data:`UNKNOWN` (a missing name whose code is known: the name other rows give that code, else
    ``(未知) 330402``, so that charts and tables tell such places apart)."""
    filled = {}
    for k in keys:
        col = frame[k]
        code = k.removesuffix("_name") + "_code"
        if k.endswith("_name") and code in keys and col.isna().any():
            col = col.fillna(frame[code].map(_name_of_code(frame[code], col)))
            named = UNKNOWN + " " + frame[code].astype(object).where(frame[code].notna(), "")
            col = col.where(col.notna(), named.str.strip())
        filled[k] = col.fillna(UNKNOWN)
    return groups(filled)


def _name_of_code(codes: pd.Series, names: pd.Series) -> pd.Series:
    """Per code, the name most rows with that code give (ties: the first in sorted order): a
    place named in some communities' rows and not in others is one place."""
    known = pd.DataFrame({"code": codes, "name": names}).dropna()
    n = known.groupby(["code", "name"]).size().rename("n").reset_index()
    n = n.sort_values(["code", "n", "name"], ascending=[True, False, True], kind="stable")
    return n.drop_duplicates("code").set_index("code")["name"]


def _row_values(coverage: pd.DataFrame) -> dict[str, np.ndarray]:
    """What :func:`_category_scope` sums per row: target residents, covered ones, whether the
    row has residents of the group (communities without them don't count) and meets the
    standard, and the rank of its data status (:data:`_STATUS_RANK`; NaN: none)."""
    gp = coverage["group_pop"].to_numpy(dtype=float)
    has = gp > 0
    codes, uniques = pd.factorize(coverage["data_status"])
    ranks = np.array([_STATUS_RANK.get(u, np.nan) for u in uniques] + [np.nan], dtype=float)
    return {
        "group_pop": gp,
        "covered_pop": coverage["covered_pop"].to_numpy(dtype=float),
        "has": has,
        "meet": has & coverage["meets_standard"].astype(bool).to_numpy(),
        "rank": ranks[codes],  # code -1 (missing): the last, NaN
    }


def _category_sums(grouped: Grouped, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sums of ``values`` (:func:`_row_values`) per group of ``grouped`` (place and category,
    :func:`category_groups`), reduced with numpy (``bincount``); ``rank``: the best data status."""
    inv, n = grouped[1], len(grouped[0])
    best = np.full(n, np.nan)
    np.fmin.at(best, inv, values["rank"])
    return {
        "group_pop": np.bincount(inv, weights=values["group_pop"], minlength=n),
        "covered_pop": np.bincount(inv, weights=values["covered_pop"], minlength=n),
        "communities": np.bincount(inv, weights=values["has"], minlength=n).astype(int),
        "communities_meeting": np.bincount(inv, weights=values["meet"], minlength=n).astype(int),
        "rank": best,
    }


_SCOPES = [("city", []), ("county", COUNTY_KEYS), ("street", STREET_KEYS)]


def category_groups(coverage: pd.DataFrame) -> dict[str, Grouped]:
    """The groups of coverage rows the category table sums, per scope (city, county, street):
    place (``keys``, missing ones :data:`UNKNOWN`) and category, in sorted order."""
    return {scope: _place_groups(coverage, [*keys, "category"]) for scope, keys in _SCOPES}


def category_table(
    coverage: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    cats: list[Category],
    thresholds: dict[str, float],
    grouped: dict[str, Grouped] | None = None,
) -> pd.DataFrame:
    """Coverage of each category city-wide and per county and street, worst first (短板设施);
    categories without data (``data_status`` no_data) after the others. ``grouped``:
    :func:`category_groups` of ``coverage`` when already known."""
    values = _row_values(coverage)
    grouped = category_groups(coverage) if grouped is None else grouped
    places = pd.concat([grouped[s][0] for s, _ in _SCOPES], ignore_index=True)
    scope = np.repeat([s for s, _ in _SCOPES], [len(grouped[s][0]) for s, _ in _SCOPES])
    parts = [_category_sums(grouped[s], values) for s, _ in _SCOPES]
    sums = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    meta = pd.DataFrame(
        [(c.name_zh, c.name_en, c.level, bool(c.required)) for c in cats],
        columns=["category_zh", "category_en", "level", "required"],
        index=[c.id for c in cats],
    ).reindex(places["category"])
    fac_counts = facilities["category"].value_counts() if len(facilities) else pd.Series(dtype=int)
    city = scope == "city"
    gp, cp, n = sums["group_pop"], sums["covered_pop"], sums["communities"]
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {  # one frame made at once: cheaper than setting its columns one by one
            "scope": scope,
            **{k: places[k] for k in ("county_code", "county_name", "street_code", "street_name")},
            "rank": 0,
            "category": places["category"],
            **{k: meta[k].to_numpy() for k in meta.columns},
            "threshold_m": places["category"].map(thresholds),
            "facilities": np.where(city, places["category"].map(fac_counts).fillna(0), np.nan),
            "group_pop": gp,
            "covered_pop": cp,
            "uncovered_pop": np.clip(gp - cp, 0, None),
            "covered_share": cp / np.where(gp > 0, gp, np.nan),
            "communities": n,
            "communities_meeting": sums["communities_meeting"],
            "share_meeting": sums["communities_meeting"] / np.where(n > 0, n, np.nan),
            "data_status": pd.Series(sums["rank"]).map(dict(enumerate(STATUSES))),
        }
    out = pd.DataFrame(columns)
    # worst first within each place; a category without data is not a shortfall: it goes last
    keys = out.assign(
        _s=pd.Categorical(scope, [s for s, _ in _SCOPES]).codes,
        _no_data=sums["rank"] == _STATUS_RANK[NO_DATA],
    )
    keys = keys.sort_values(
        ["_s", "county_code", "street_code", "_no_data", "covered_share", "category"],
        na_position="first",
        kind="stable",
    )
    out = out.take(keys.index.to_numpy()).reset_index(drop=True)
    out["rank"] = _rank_within(out)
    return out


def _rank_within(table: pd.DataFrame) -> np.ndarray:
    """1, 2, … within each place (scope, county, street) of the sorted category table: the
    rows of a place are consecutive."""
    new = np.ones(len(table), dtype=bool)
    for k in ("scope", "county_code", "street_code"):
        v = table[k].to_numpy()
        new[1:] &= equal_or_na(v[1:], v[:-1])
    new = ~new
    new[:1] = True
    start = np.maximum.accumulate(np.where(new, np.arange(len(table)), 0))
    return (np.arange(len(table)) - start + 1).astype(np.int64)


def equal_or_na(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Element-wise equality, NA (None, NaN) equal to NA."""
    return np.asarray(x == y, dtype=bool) | (pd.isna(x) & pd.isna(y))


@dataclass(frozen=True, eq=False)
class RollUpGroups:
    """Which rows each roll-up sums: the coverage rows per scope of the category table
    (:func:`category_groups`) and the community index rows per street, county and city. They
    follow from the communities' places alone: a scenario (the same communities, rows in the
    same order) reuses them instead of grouping the text columns again."""

    categories: dict[str, Grouped]
    index: dict[str, Grouped]


def roll_up_groups(coverage: pd.DataFrame, index: gpd.GeoDataFrame) -> RollUpGroups:
    """The :class:`RollUpGroups` of a coverage table and its community index."""
    by = {"street": STREET_KEYS, "county": COUNTY_KEYS, "city": CITY_KEYS}
    return RollUpGroups(
        categories=category_groups(coverage),
        index={k: _place_groups(index, keys) for k, keys in by.items()},
    )


@dataclass(frozen=True)
class RollUps:
    """The tables computed from a coverage table: the community index, its roll-ups by street,
    county and city, the category table and the data checklist; and the row groups they sum."""

    index: gpd.GeoDataFrame
    share_of: str
    index_by_street: pd.DataFrame
    index_by_county: pd.DataFrame
    index_by_city: pd.DataFrame
    categories: pd.DataFrame
    data_gaps: pd.DataFrame
    groups: RollUpGroups

    def tables(self) -> dict[str, object]:
        """The fields by name (the tables themselves, not copies)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def roll_ups(
    coverage: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    cats: list[Category],
    thresholds: dict[str, float],
    share_of: str,
    target_share: float,
    index: gpd.GeoDataFrame | None = None,
    data_gaps: pd.DataFrame | None = None,
    row_groups: RollUpGroups | None = None,
) -> RollUps:
    """Every table that follows from ``coverage`` (one whole-area analysis, or the regions of
    a batch merged): ``share_of`` is the requested denominator (urban, village, all), resolved
    against the communities as :func:`effective_share_of` does. ``index``, ``data_gaps``,
    ``row_groups``: the community index, data checklist and row groups of ``coverage`` when already
    known (a scenario patches the first two from the analysis before and reuses its groups)."""
    index = community_index(coverage, communities, cats) if index is None else index
    used = effective_share_of(communities, share_of)
    g = roll_up_groups(coverage, index) if row_groups is None else row_groups
    return RollUps(
        index=index,
        share_of=used,
        index_by_street=index_by(index, STREET_KEYS, target_share, used, g.index["street"]),
        index_by_county=index_by(index, COUNTY_KEYS, target_share, used, g.index["county"]),
        index_by_city=index_by(index, CITY_KEYS, target_share, used, g.index["city"]),
        categories=category_table(coverage, facilities, cats, thresholds, g.categories),
        data_gaps=data_checklist(coverage, cats) if data_gaps is None else data_gaps,
        groups=g,
    )
