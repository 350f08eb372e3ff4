"""Gap analysis: coverage per community and category, shortfalls, a service index and sites.

:func:`analyze` snaps every demand point once, then runs **one** multi-source shortest-path
pass per facility category (see :meth:`WalkNetwork.distance_to_nearest`) and aggregates the
distances to communities, streets and counties. Levels are checked one by one: a category is
only satisfied by facilities of that category, so a 15-minute facility never satisfies a
5-minute need (GB 50180-2018: "各层级配套设施的设置为非包含关系").
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from .. import settings
from .._errors import InputError
from .._progress import progress
from ..communities import COMMUNITY_COLUMNS, GROUP_COLUMNS, Demand, demand_points
from ..network import WalkNetwork

log = logging.getLogger(__name__)

HIERARCHY = [
    "county_code",
    "county_name",
    "street_code",
    "street_name",
    "community_id",
    "community_code",
    "community_name",
]

_GROUP_ZH = {
    "total": "人",
    "elderly": "名老年人",
    "child_0_3": "名0–3岁儿童",
    "child_3_6": "名3–6岁儿童",
}
_GROUP_EN = {
    "total": "residents",
    "elderly": "older residents",
    "child_0_3": "children aged 0–3",
    "child_3_6": "children aged 3–6",
}
_GROUP_PER_ZH = {
    "total": "千人",
    "elderly": "千名老年人",
    "child_0_3": "千名0–3岁儿童",
    "child_3_6": "千名3–6岁儿童",
}
_UNIT_ZH = {"beds": "张床位", "places": "个托位", "m2": "平方米"}

#: Weight of optional (△) categories relative to required (▲) ones in the index and priority.
OPTIONAL_FACTOR = 0.5


@dataclass(frozen=True)
class AnalysisParams:
    """Parameters an analysis ran with (kept with the results)."""

    speed: str | float | None
    speed_m_per_s: float | None
    min_covered_share: float
    target_share: float
    max_snap_m: float
    categories: tuple[str, ...]


def _thresholds(profile: Any, cats: list[Any], speed_m_per_s: float | None) -> dict[str, float]:
    out = {}
    for c in cats:
        walk_min = c.walk_min if c.walk_min is not None else profile.levels[c.level].walk_min
        if speed_m_per_s is not None and walk_min:
            out[c.id] = float(walk_min) * 60.0 * speed_m_per_s
        else:
            out[c.id] = float(c.distance_m)
    return out


def _level_label(profile: Any, cat: Any) -> tuple[str, str]:
    lvl = profile.levels.get(cat.level)
    walk = cat.walk_min if cat.walk_min is not None else (lvl.walk_min if lvl else None)
    if walk:
        w = f"{walk:g}"
        return f"{w}分钟生活圈", f"{w}-min life circle"
    return (lvl.name_zh if lvl else cat.level), (lvl.name_en if lvl else cat.level)


class Analysis:
    """Result of :func:`analyze`.

    Attributes
    ----------
    coverage : DataFrame — one row per community × category.
    shortfalls : DataFrame — the ranked 短板社区 list.
    categories : DataFrame — the 短板设施 list: coverage of each category city-wide and per
        county and street, ranked (worst first).
    index : GeoDataFrame — community facility-service index (0–100), one row per community.
    index_by_street, index_by_county : DataFrame — the index aggregated.
    summary : dict — headline numbers (share of communities meeting the standard vs target).
    sites : GeoDataFrame or None — proposed sites after :meth:`propose_sites`.
    """

    def __init__(
        self,
        network: WalkNetwork,
        profile: Any,
        facilities: gpd.GeoDataFrame,
        demand: Demand,
        params: AnalysisParams,
        thresholds: dict[str, float],
    ) -> None:
        self.network = network
        self.profile = profile
        self.facilities = facilities
        self.communities = demand.communities
        self.demand = demand.points
        self.params = params
        self.thresholds = thresholds
        self.created_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        self.run_id = self._run_id()
        self.sites: gpd.GeoDataFrame | None = None
        self._site_cover: pd.DataFrame | None = None

    # ------------------------------------------------------------------ bookkeeping
    def _run_id(self) -> str:
        """Deterministic id of the inputs and parameters (same input → same id)."""
        h = hashlib.sha1()
        h.update(str(self.profile.id).encode())
        h.update(repr(self.params).encode())
        h.update(repr(sorted(self.thresholds.items())).encode())
        h.update(np.ascontiguousarray(self.network.weights).tobytes())
        h.update(
            pd.util.hash_pandas_object(
                self.facilities.drop(columns="geometry").astype(str), index=True
            ).values.tobytes()
        )
        h.update(shapely.to_wkb(self.facilities.geometry.values).__repr__().encode())
        h.update(
            pd.util.hash_pandas_object(
                self.demand.drop(columns="geometry"), index=False
            ).values.tobytes()
        )
        return h.hexdigest()[:12]

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<Analysis {s['communities']} communities × {s['categories']} categories, "
            f"{s['shortfalls']} shortfalls, {s['share_meeting_standard']:.0%} meet the standard "
            f"(profile {self.profile.id}, run {self.run_id})>"
        )

    # ------------------------------------------------------------------ compute
    def _compute(self) -> None:
        t0 = time.perf_counter()
        net = self.network
        prof = self.profile
        cats = [prof.categories[c] for c in self.params.categories]
        pts = self.demand
        snaps = net._snap(_as_points(pts, net), self.params.max_snap_m)
        self._demand_snaps = snaps
        fac = self.facilities
        fac_snaps = net._snap(_as_points(fac, net), self.params.max_snap_m) if len(fac) else None
        fac_cat = fac["category"].to_numpy() if len(fac) else np.array([], dtype=object)
        n_pts = len(pts)
        dist = np.full((n_pts, len(cats)), np.inf)
        nearest = np.full((n_pts, len(cats)), None, dtype=object)
        fac_ids = np.asarray(fac.index, dtype=object)
        for j, c in enumerate(progress(cats, desc="categories")):
            rows = np.flatnonzero(fac_cat == c.id)
            if len(rows) == 0:
                continue
            d, which = net._nearest_from_snaps(fac_snaps.iloc[rows], snaps, None)
            dist[:, j] = d
            ok = which >= 0
            nearest[ok, j] = fac_ids[rows[which[ok]]]
        self._dist = dist
        self._nearest = nearest
        self.coverage = self._coverage(cats, dist, nearest)
        self._capacity(cats)
        self.shortfalls = self._shortfalls(cats)
        self.index, self.index_by_street, self.index_by_county = self._index(cats)
        self.categories = self._categories(cats)
        log.info(
            "analysis of %d demand points × %d categories in %.2f s",
            n_pts,
            len(cats),
            time.perf_counter() - t0,
        )

    def _group_weights(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """Demand weights for a population group; falls back to total where unknown."""
        pts = self.demand
        col = "pop" if group == "total" else GROUP_COLUMNS[group]
        w = pts[col].to_numpy(dtype=float)
        fallback = ~np.isfinite(w)
        return np.where(fallback, pts["pop"].to_numpy(dtype=float), w), fallback

    def _coverage(self, cats: list[Any], dist: np.ndarray, nearest: np.ndarray) -> pd.DataFrame:
        """One row per community × category (community order, then the profile's category order).

        Group reductions are done with numpy on points sorted by community, once per category.
        """
        pts = self.demand
        codes, comm_ids = pd.factorize(pts["community_id"], sort=True)
        n_c, n_k = len(comm_ids), len(cats)
        order = np.argsort(codes, kind="stable")
        gc = codes[order]
        starts = np.flatnonzero(np.r_[True, gc[1:] != gc[:-1]])
        sizes = np.diff(np.r_[starts, len(gc)])
        unsnapped = np.bincount(
            codes, weights=self._demand_snaps["too_far"].to_numpy().astype(float), minlength=n_c
        )
        out: dict[str, np.ndarray] = {
            k: np.empty((n_c, n_k))
            for k in ("group_pop", "covered_pop", "distance_m", "distance_min_m", "distance_max_m")
        }
        fallback = np.zeros((n_c, n_k), dtype=bool)
        near = np.empty((n_c, n_k), dtype=object)
        for j, c in enumerate(cats):
            w, fb = self._group_weights(c.target_group)
            d = dist[:, j]
            out["group_pop"][:, j] = np.bincount(codes, weights=w, minlength=n_c)
            out["covered_pop"][:, j] = np.bincount(
                codes, weights=np.where(d <= self.thresholds[c.id], w, 0.0), minlength=n_c
            )
            fallback[:, j] = np.bincount(codes, weights=fb.astype(float), minlength=n_c) > 0
            # sort by community, then distance (then position: deterministic ties)
            o = np.lexsort((np.arange(len(d)), d, codes))
            ds, ws = d[o], w[o]
            out["distance_min_m"][:, j] = ds[starts]
            out["distance_max_m"][:, j] = ds[starts + sizes - 1]
            near[:, j] = nearest[o[starts], j]
            # population-weighted median: first point whose cumulative weight reaches half
            cw = np.cumsum(ws)
            before = np.r_[0.0, cw][starts]
            total = out["group_pop"][:, j]
            pos = np.searchsorted(cw, before + total / 2.0, side="left")
            pos = np.where(
                total > 0, np.clip(pos, starts, starts + sizes - 1), starts + (sizes - 1) // 2
            )
            out["distance_m"][:, j] = ds[pos]
        rows = n_c * n_k
        comm = self.communities.set_index("community_id").reindex(comm_ids)
        cov = pd.DataFrame({"community_id": np.repeat(np.asarray(comm_ids, dtype=object), n_k)})
        for h in [h for h in HIERARCHY if h != "community_id"] + ["population", "pop_estimated"]:
            cov[h] = np.repeat(comm[h].to_numpy(), n_k)

        def tile(values: list[Any]) -> np.ndarray:
            return np.tile(np.asarray(values, dtype=object), n_c)

        cov["category"] = tile([c.id for c in cats])
        cov["category_zh"] = tile([c.name_zh for c in cats])
        cov["category_en"] = tile([c.name_en for c in cats])
        cov["level"] = tile([c.level for c in cats])
        cov["required"] = np.tile(np.array([bool(c.required) for c in cats]), n_c)
        cov["target_group"] = np.where(
            fallback.ravel(), "total", tile([c.target_group for c in cats])
        )
        cov["threshold_m"] = np.tile(np.array([self.thresholds[c.id] for c in cats]), n_c)
        for k in ("distance_m", "distance_min_m", "distance_max_m"):
            cov[k] = out[k].ravel()
        cov["nearest_facility"] = near.ravel()
        gp, cp = out["group_pop"].ravel(), out["covered_pop"].ravel()
        cov["group_pop"] = gp
        cov["covered_pop"] = cp
        cov["uncovered_pop"] = np.clip(gp - cp, 0, None)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(gp > 0, cp / np.where(gp > 0, gp, 1.0), np.nan)
        cov["covered_share"] = share
        # communities without residents of the group: nothing to cover
        cov["meets_distance"] = (share >= self.params.min_covered_share) | (gp <= 0)
        cov["unsnapped_points"] = np.repeat(unsnapped.astype(int), n_k)
        assert len(cov) == rows
        return cov

    def _capacity(self, cats: list[Any]) -> None:
        """Gaussian 2SFCA supply per 1,000 people of the target group (where capacities exist)."""
        cov = self.coverage
        cov["supply_per_1000"] = np.nan
        cov["capacity_threshold_per_1000"] = np.nan
        cov["capacity_unit"] = None
        fac = self.facilities
        for c in cats:
            if not c.capacity or "capacity" not in fac.columns:
                continue
            cap_rule = c.capacity[0]
            f = fac[fac["category"] == c.id]
            if len(f) == 0:
                supply = None
            else:
                caps = pd.to_numeric(f["capacity"], errors="coerce")
                if caps.notna().sum() == 0:
                    continue
                if caps.isna().any():
                    med = float(caps.median())
                    log.warning(
                        "%s: %d of %d facilities have no capacity; the median (%.0f) is assumed",
                        c.id,
                        int(caps.isna().sum()),
                        len(caps),
                        med,
                    )
                    caps = caps.fillna(med)
                supply = caps.to_numpy(dtype=float)
            w, _ = self._group_weights(cap_rule.population)
            ratio = self._g2sfca(c, f, supply, w)
            mask = cov["category"] == c.id
            cov.loc[mask, "supply_per_1000"] = cov.loc[mask, "community_id"].map(ratio).to_numpy()
            cov.loc[mask, "capacity_threshold_per_1000"] = cap_rule.per_1000
            cov.loc[mask, "capacity_unit"] = cap_rule.unit
        # assessed where a per-1,000 target applies and the community has residents of the group
        cov["meets_capacity"] = np.where(
            cov["capacity_threshold_per_1000"].notna() & (cov["group_pop"] > 0),
            cov["supply_per_1000"].fillna(0) >= cov["capacity_threshold_per_1000"],
            None,
        )
        cov["meets_standard"] = cov["meets_distance"] & (cov["meets_capacity"] != False)  # noqa: E712

    def _g2sfca(
        self, cat: Any, fac: gpd.GeoDataFrame, supply: np.ndarray | None, w: np.ndarray
    ) -> pd.Series:
        """Community supply ratio (per 1,000) by Gaussian two-step floating catchment (Dai 2010)."""
        cid = self.demand["community_id"].to_numpy()
        if supply is None:
            return pd.Series(0.0, index=np.unique(cid))
        d0 = self.thresholds[cat.id]
        net = self.network
        fs = net._snap(_as_points(fac, net), self.params.max_snap_m)
        pairs = net._pairs_from_snaps(fs, self._demand_snaps, d0)
        s, t, d = pairs["s"].to_numpy(), pairs["t"].to_numpy(), pairs["d"].to_numpy()
        e = np.exp(-0.5)
        g = (np.exp(-0.5 * (d / d0) ** 2) - e) / (1 - e)
        demand_j = np.bincount(s, weights=g * w[t], minlength=len(fac))
        r = np.where(demand_j > 0, supply / np.where(demand_j > 0, demand_j, 1), 0.0)
        a = np.bincount(t, weights=g * r[s], minlength=len(cid))  # per person
        df = pd.DataFrame({"c": cid, "aw": a * w, "w": w}).groupby("c")[["aw", "w"]].sum()
        return (1000.0 * df["aw"] / df["w"].where(df["w"] > 0)).fillna(0.0)

    def _shortfalls(self, cats: list[Any]) -> pd.DataFrame:
        cov = self.coverage
        meta = {c.id: c for c in cats}
        sf = cov[~cov["meets_standard"].astype(bool)].copy()
        ratio = sf["supply_per_1000"] / sf["capacity_threshold_per_1000"]
        cap_short = np.where(
            sf["meets_capacity"] == False, sf["group_pop"] * (1 - ratio.clip(0, 1)), 0.0
        )  # noqa: E712
        sf["capacity_short_pop"] = cap_short
        sf["kind"] = np.select(
            [~sf["meets_distance"] & (sf["meets_capacity"] == False), ~sf["meets_distance"]],  # noqa: E712
            ["distance+capacity", "distance"],
            "capacity",
        )
        weight = sf["category"].map(lambda k: float(meta[k].weight)).astype(float)
        factor = np.where(sf["required"], 1.0, OPTIONAL_FACTOR)
        sf["weight"] = weight * factor
        sf["affected_pop"] = np.maximum(sf["uncovered_pop"].to_numpy(), cap_short)
        sf["priority_score"] = sf["weight"] * sf["affected_pop"]
        sf = sf.sort_values(
            ["required", "priority_score", "uncovered_pop", "community_id", "category"],
            ascending=[False, False, False, True, True],
            kind="stable",
        )
        sf["priority_rank"] = np.arange(1, len(sf) + 1)
        sf["reason_zh"], sf["reason_en"] = self._reasons(sf, meta)
        return sf.reset_index(drop=True)

    def _reasons(self, sf: pd.DataFrame, meta: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Plain-language reasons in Chinese and English, one per shortfall row."""
        labels = {k: _level_label(self.profile, c) for k, c in meta.items()}
        cols = [
            "category",
            "target_group",
            "meets_distance",
            "meets_capacity",
            "distance_min_m",
            "threshold_m",
            "uncovered_pop",
            "capacity_unit",
            "supply_per_1000",
            "capacity_threshold_per_1000",
        ]
        zh_out, en_out = [], []
        for k, g, md, mc, dmin, thr, unc, unit, sup, cthr in zip(
            *(sf[c].tolist() for c in cols), strict=True
        ):
            cat = meta[k]
            lvl_zh, lvl_en = labels[k]
            zh, en = [], []
            if not md:
                reach = np.isfinite(dmin)
                zh.append(
                    f"{lvl_zh}缺{cat.name_zh}: "
                    + (f"最近 {dmin:,.0f} m" if reach else "步行可达范围内无此类设施")
                    + f" (标准 {thr:,.0f} m), {unc:,.0f} {_GROUP_ZH.get(g, '人')}未覆盖"
                )
                en.append(
                    f"{lvl_en} lacks {cat.name_en.lower() if cat.name_en else cat.id}: "
                    + (f"nearest {dmin:,.0f} m" if reach else "none reachable on foot")
                    + f" (standard {thr:,.0f} m), {unc:,.0f} {_GROUP_EN.get(g, 'residents')} not covered"
                )
            if mc is False:
                u = unit or ""
                zh.append(
                    f"{cat.name_zh}供给不足: 每{_GROUP_PER_ZH.get(g, '千人')} {sup:.1f} "
                    f"{_UNIT_ZH.get(u, u)}, 标准 {cthr:g}"
                )
                en.append(
                    f"{cat.name_en} short of capacity: {sup:.1f} {u} per 1,000 "
                    f"{_GROUP_EN.get(g, 'residents')}, standard {cthr:g}"
                )
            zh_out.append("; ".join(zh))
            en_out.append("; ".join(en))
        return zh_out, en_out

    def _index(self, cats: list[Any]) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
        """Community facility-service index (0–100) and its aggregation; see ``docs/concepts.md``."""
        cov = self.coverage
        meta = {c.id: c for c in cats}
        w = cov["category"].map(lambda k: float(meta[k].weight)).astype(float) * np.where(
            cov["required"], 1.0, OPTIONAL_FACTOR
        )
        s = cov["covered_share"].fillna(1.0).clip(0, 1)
        cap = (cov["supply_per_1000"] / cov["capacity_threshold_per_1000"]).clip(0, 1)
        s = s * cap.where(cov["capacity_threshold_per_1000"].notna(), 1.0).fillna(0.0)
        tmp = pd.DataFrame(
            {
                "community_id": cov["community_id"],
                "ws": w * s,
                "w": w,
                "req_fail": cov["required"] & ~cov["meets_standard"].astype(bool),
                "fail": ~cov["meets_standard"].astype(bool),
            }
        )
        g = tmp.groupby("community_id", sort=True)
        idx = pd.DataFrame(
            {
                "service_index": 100.0 * g["ws"].sum() / g["w"].sum(),
                "n_shortfalls": g["fail"].sum().astype(int),
                "meets_all_required": ~g["req_fail"].any(),
            }
        )
        comm = self.communities.set_index("community_id")
        out = comm[
            [h for h in HIERARCHY if h != "community_id"]
            + ["population", "pop_estimated", "geometry"]
        ].join(idx)
        # communities without residents have nothing to cover: no index, not counted in shares
        empty = out["population"].fillna(0) <= 0
        out.loc[empty, "service_index"] = np.nan
        out["meets_all_required"] = out["meets_all_required"].astype(object)
        out.loc[empty, "meets_all_required"] = None
        out = gpd.GeoDataFrame(
            out.reset_index(names="community_id"), geometry="geometry", crs=self.communities.crs
        )
        out = out.sort_values("community_id").reset_index(drop=True)

        def agg(keys: list[str]) -> pd.DataFrame:
            df = pd.DataFrame(out.drop(columns="geometry"))
            df[keys] = df[keys].fillna("(未知)")
            df["_pw"] = df["population"].fillna(0) * df["service_index"]
            gg = df.groupby(keys, sort=True, dropna=False)
            res = pd.DataFrame(
                {
                    "communities": gg.size(),
                    "population": gg["population"].sum(),
                    "service_index": gg["_pw"].sum()
                    / gg["population"].sum().where(lambda x: x > 0),
                    "communities_assessed": gg["meets_all_required"].count(),
                    "communities_meeting": gg["meets_all_required"].agg(
                        lambda v: int(v.dropna().astype(bool).sum())
                    ),
                }
            )
            res["share_meeting_standard"] = res["communities_meeting"] / res[
                "communities_assessed"
            ].where(res["communities_assessed"] > 0)
            res["target_share"] = self.params.target_share
            res["meets_target"] = res["share_meeting_standard"] >= self.params.target_share
            return res.reset_index()

        return (
            out,
            agg(["county_code", "county_name", "street_code", "street_name"]),
            agg(["county_code", "county_name"]),
        )

    def _categories(self, cats: list[Any]) -> pd.DataFrame:
        cov = self.coverage
        fac_counts = (
            self.facilities["category"].value_counts()
            if len(self.facilities)
            else pd.Series(dtype=int)
        )
        frames = []
        for scope, keys in [
            ("city", []),
            ("county", ["county_code", "county_name"]),
            ("street", ["county_code", "county_name", "street_code", "street_name"]),
        ]:
            df = cov.copy()
            df[keys] = df[keys].fillna("(未知)") if keys else df[keys]
            gkeys = keys + ["category"]
            df["_has"] = (
                df["group_pop"] > 0
            )  # communities without residents of the group don't count
            df["_meet"] = df["_has"] & df["meets_standard"].astype(bool)
            g = df.groupby(gkeys, sort=True, dropna=False)
            res = pd.DataFrame(
                {
                    "group_pop": g["group_pop"].sum(),
                    "covered_pop": g["covered_pop"].sum(),
                    "communities": g["_has"].sum().astype(int),
                    "communities_meeting": g["_meet"].sum().astype(int),
                }
            ).reset_index()
            res["scope"] = scope
            frames.append(res)
        out = pd.concat(frames, ignore_index=True)
        meta = {c.id: c for c in cats}
        out["category_zh"] = out["category"].map(lambda k: meta[k].name_zh)
        out["category_en"] = out["category"].map(lambda k: meta[k].name_en)
        out["level"] = out["category"].map(lambda k: meta[k].level)
        out["required"] = out["category"].map(lambda k: bool(meta[k].required))
        out["threshold_m"] = out["category"].map(self.thresholds)
        out["facilities"] = out["category"].map(fac_counts).fillna(0).astype(int)
        out.loc[out["scope"] != "city", "facilities"] = pd.NA
        out["uncovered_pop"] = (out["group_pop"] - out["covered_pop"]).clip(lower=0)
        out["covered_share"] = out["covered_pop"] / out["group_pop"].where(out["group_pop"] > 0)
        out["share_meeting"] = out["communities_meeting"] / out["communities"].where(
            out["communities"] > 0
        )
        scope_order = {"city": 0, "county": 1, "street": 2}
        out["_s"] = out["scope"].map(scope_order)
        out = out.sort_values(
            ["_s", "county_code", "street_code", "covered_share", "category"],
            na_position="first",
            kind="stable",
        ).drop(columns="_s")
        out["rank"] = (
            out.groupby(["scope", "county_code", "street_code"], dropna=False).cumcount() + 1
        )
        cols = [
            "scope",
            "county_code",
            "county_name",
            "street_code",
            "street_name",
            "rank",
            "category",
            "category_zh",
            "category_en",
            "level",
            "required",
            "threshold_m",
            "facilities",
            "group_pop",
            "covered_pop",
            "uncovered_pop",
            "covered_share",
            "communities",
            "communities_meeting",
            "share_meeting",
        ]
        return out[cols].reset_index(drop=True)

    # ------------------------------------------------------------------ summary
    @property
    def summary(self) -> dict[str, Any]:
        """Headline numbers of the run."""
        idx = self.index
        assessed = idx["meets_all_required"].dropna().astype(bool)
        share = float(assessed.mean()) if len(assessed) else float("nan")
        return {
            "run_id": self.run_id,
            "profile": self.profile.id,
            "communities": int(len(idx)),
            "population": float(idx["population"].sum()),
            "categories": len(self.params.categories),
            "facilities": int(len(self.facilities)),
            "demand_points": int(len(self.demand)),
            "shortfalls": int(len(self.shortfalls)),
            "share_meeting_standard": share,
            "target_share": self.params.target_share,
            "meets_target": bool(share >= self.params.target_share),
            "mean_service_index": float(
                np.average(idx["service_index"].fillna(0), weights=idx["population"].fillna(0))
            )
            if idx["population"].fillna(0).sum() > 0
            else float("nan"),
        }

    # ------------------------------------------------------------------ siting
    def propose_sites(
        self,
        categories: list[str] | None = None,
        max_sites: int = 10,
        min_new_pop: float = 1.0,
        candidate_cell_m: float = 25.0,
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
        GeoDataFrame (WGS84): ``category``, ``site_rank``, ``new_covered_pop``, ``communities``
        (ids served), the main community's hierarchy, and geometry. Also kept as :attr:`sites`
        and used by :attr:`projects`.
        """
        cats = [self.profile.categories[c] for c in (categories or self.params.categories)]
        net = self.network
        pts = self.demand
        cid = pts["community_id"].to_numpy()
        rows, covers, geoms = [], [], []
        col = {c: j for j, c in enumerate(self.params.categories)}
        node_xy = shapely.get_coordinates(net.nodes.geometry.values)
        for c in progress(cats, desc="siting"):
            thr = self.thresholds[c.id]
            w, _ = self._group_weights(c.target_group)
            unc = np.flatnonzero(
                (self._dist[:, col[c.id]] > thr)
                & (w > 0)
                & ~self._demand_snaps["too_far"].to_numpy()
            )
            if len(unc) == 0:
                continue
            usn = self._demand_snaps.iloc[unc]
            # candidates 1: nodes within the threshold of an uncovered point (symmetric network)
            reach = net._reach_from_snaps(usn, thr)
            nodes = np.unique(reach.node)
            node_pos = np.searchsorted(nodes, reach.node)
            # candidates 2: street points next to uncovered demand points, one per cell
            cell = np.floor(usn[["x", "y"]].to_numpy() / candidate_cell_m).astype(np.int64)
            _, first = np.unique(cell, axis=0, return_index=True)
            cand = usn.iloc[np.sort(first)].assign(access_m=0.0)
            pairs = net._pairs_from_snaps(cand, usn, thr)
            n_c = len(nodes) + len(cand)
            M = csr_matrix(
                (
                    np.ones(len(node_pos) + len(pairs)),
                    (
                        np.concatenate([node_pos, len(nodes) + pairs["s"].to_numpy()]),
                        np.concatenate([reach.origin, pairs["t"].to_numpy()]),
                    ),
                ),
                shape=(n_c, len(unc)),
            )
            M.data[:] = 1.0  # duplicates summed above: a cover is a cover
            cand_xy = np.vstack([node_xy[nodes], cand[["x", "y"]].to_numpy()])
            remaining = w[unc].copy()
            for rank in range(1, max_sites + 1):
                gain = M @ remaining
                best = int(np.argmax(gain))  # argmax takes the lowest index on ties
                if gain[best] < min_new_pop:
                    break
                row = M.getrow(best)
                served = row.indices[remaining[row.indices] > 0]
                pop_by_comm = (
                    pd.Series(remaining[served], index=cid[unc[served]]).groupby(level=0).sum()
                )
                main = pop_by_comm.sort_values(ascending=False, kind="stable").index[0]
                rows.append(
                    {
                        "category": c.id,
                        "category_zh": c.name_zh,
                        "level": c.level,
                        "site_rank": rank,
                        "new_covered_pop": float(gain[best]),
                        "community_id": main,
                        "communities": ",".join(sorted(pop_by_comm.index)),
                    }
                )
                geoms.append(shapely.Point(cand_xy[best]))
                covers.extend(
                    {"category": c.id, "site_rank": rank, "community_id": k, "pop": v}
                    for k, v in pop_by_comm.items()
                )
                remaining[served] = 0.0
        sites = gpd.GeoDataFrame(rows, geometry=geoms, crs=net.crs)
        if len(sites):
            h = self.communities.set_index("community_id")[
                [k for k in HIERARCHY if k != "community_id"]
            ]
            sites = sites.join(h, on="community_id")
        self.sites = sites.to_crs(4326)
        self._site_cover = pd.DataFrame(
            covers, columns=["category", "site_rank", "community_id", "pop"]
        )
        return self.sites

    # ------------------------------------------------------------------ projects
    @property
    def projects(self) -> gpd.GeoDataFrame:
        """Gap-filling projects for the reserve pool (see :func:`lifecircle.export_pool`).

        One row per proposed site (after :meth:`propose_sites`), plus one row per shortfall not
        answered by a site, located at the community.
        """
        sf = self.shortfalls
        comm = self.communities.set_index("community_id")
        cols = [
            "county_code",
            "county_name",
            "street_code",
            "street_name",
            "community_code",
            "community_name",
            "category",
            "category_zh",
            "level",
            "location_kind",
            "new_covered_pop",
            "nearest_m",
            "threshold_m",
            "uncovered_pop",
            "priority_score",
            "priority_rank",
            "reason_zh",
            "reason_en",
        ]
        recs: list[dict] = []
        geoms: list[Any] = []
        answered: set[tuple[str, str]] = set()
        if self.sites is not None and len(self.sites):
            cover = self._site_cover
            sfi = sf.set_index(["community_id", "category"])
            for s, geom in zip(self.sites.itertuples(), self.sites.geometry.values, strict=True):
                served = cover[
                    (cover["category"] == s.category) & (cover["site_rank"] == s.site_rank)
                ]
                keys = [
                    (k, s.category) for k in served["community_id"] if (k, s.category) in sfi.index
                ]
                answered.update(keys)
                sub = sfi.loc[keys] if keys else None
                main = (
                    sfi.loc[(s.community_id, s.category)]
                    if (s.community_id, s.category) in sfi.index
                    else None
                )
                n = len(served)
                recs.append(
                    {
                        **{
                            k: comm.at[s.community_id, k]
                            for k in [
                                "county_code",
                                "county_name",
                                "street_code",
                                "street_name",
                                "community_code",
                                "community_name",
                            ]
                        },
                        "category": s.category,
                        "category_zh": s.category_zh,
                        "level": s.level,
                        "location_kind": "proposed_site",
                        "new_covered_pop": s.new_covered_pop,
                        "nearest_m": float(main["distance_min_m"]) if main is not None else np.nan,
                        "threshold_m": self.thresholds[s.category],
                        "uncovered_pop": float(sub["uncovered_pop"].sum())
                        if sub is not None
                        else 0.0,
                        "priority_score": float(sub["priority_score"].sum())
                        if sub is not None
                        else 0.0,
                        "priority_rank": int(sub["priority_rank"].min())
                        if sub is not None and len(sub)
                        else 0,
                        "reason_zh": f"新建{s.category_zh}: 可新覆盖 {s.new_covered_pop:,.0f} 人 ({n} 个社区)"
                        + (f"; {main['reason_zh']}" if main is not None else ""),
                        "reason_en": f"new {self.profile.categories[s.category].name_en}: would newly cover "
                        f"{s.new_covered_pop:,.0f} people "
                        f"in {n} communities"
                        + (f"; {main['reason_en']}" if main is not None else ""),
                    }
                )
                geoms.append(geom)
        rep = (
            self.communities.to_crs(4326).set_index("community_id").geometry.representative_point()
        )
        for r in sf.itertuples():
            if (r.community_id, r.category) in answered:
                continue
            recs.append(
                {
                    "county_code": r.county_code,
                    "county_name": r.county_name,
                    "street_code": r.street_code,
                    "street_name": r.street_name,
                    "community_code": r.community_code,
                    "community_name": r.community_name,
                    "category": r.category,
                    "category_zh": r.category_zh,
                    "level": r.level,
                    "location_kind": "community",
                    "new_covered_pop": r.affected_pop,
                    "nearest_m": r.distance_min_m,
                    "threshold_m": r.threshold_m,
                    "uncovered_pop": r.uncovered_pop,
                    "priority_score": r.priority_score,
                    "priority_rank": r.priority_rank,
                    "reason_zh": r.reason_zh,
                    "reason_en": r.reason_en,
                }
            )
            geoms.append(rep[r.community_id])
        out = gpd.GeoDataFrame(pd.DataFrame(recs, columns=cols), geometry=geoms, crs=4326)
        return out.sort_values(
            ["priority_rank", "category", "location_kind"], kind="stable"
        ).reset_index(drop=True)

    # ------------------------------------------------------------------ isochrones
    def _level_distances(self) -> dict[float, float]:
        """Walking minutes → metres of the profile's levels (the standard's distances)."""
        out = {}
        for lv in self.profile.levels.values():
            if lv.walk_min and lv.distance_m:
                out[float(lv.walk_min)] = float(lv.distance_m)
        return out

    def isochrones(
        self,
        communities: list[str] | None = None,
        minutes: tuple[float, ...] = (5, 10, 15),
        speed: str | float | None = "analysis",
        **kwargs: Any,
    ) -> gpd.GeoDataFrame:
        """Walking isochrones (WGS84) of communities, from their representative points.

        ``speed="analysis"`` (default) follows the analysis: the profile's level distances in
        standard mode (5 → 300 m, 10 → 500 m, 15 → 1000 m for GB 50180), else its speed; or give
        ``"adult"``, ``"elderly"`` or m/s. Other keywords go to :func:`lifecircle.isochrones`.
        """
        from ..isochrone import isochrones

        comm = self.communities.set_index("community_id")
        if communities is not None:
            missing = [c for c in communities if c not in comm.index]
            if missing:
                raise InputError(f"unknown community ids {missing[:5]}")
            comm = comm.loc[list(communities)]
        origins = gpd.GeoDataFrame(geometry=comm.geometry.representative_point(), crs=comm.crs)
        if speed == "analysis":
            speed = self.params.speed
            if speed is None:
                dist = self._level_distances()
                if all(float(m) in dist for m in minutes):
                    return isochrones(
                        self.network,
                        origins,
                        minutes=minutes,
                        distances_m={float(m): dist[float(m)] for m in minutes},
                        **kwargs,
                    )
                speed = "adult"
        return isochrones(self.network, origins, minutes=minutes, speed_m_per_s=speed, **kwargs)

    def covered_areas(self, categories: list[str] | None = None, **kwargs: Any) -> gpd.GeoDataFrame:
        """The area within each category's threshold of its facilities (dissolved, WGS84).

        One row per category that has facilities: ``category``, ``distance_m``, geometry.
        """
        from ..isochrone import covered_area

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

    # ------------------------------------------------------------------ export helpers
    def to_excel(self, path: str, lang: str | None = None) -> str:
        """Write shortfalls, categories, index and coverage to one Excel workbook."""
        from ..outputs.tables import write_excel

        return write_excel(self, path, lang=lang or settings.language)

    def map(self, **kwargs: Any) -> Any:
        """Interactive shortfall map (folium); see :func:`lifecircle.mapping.shortfall_map`."""
        from ..outputs.map import shortfall_map

        return shortfall_map(self, **kwargs)


def _as_points(gdf: gpd.GeoDataFrame, net: WalkNetwork) -> Any:
    from ..network.points import to_points

    return to_points(gdf, net.crs, what="points", bounds=None)


def analyze(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    profile: Any,
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
    max_snap_m : points farther from the network are reported and left uncovered.

    Returns
    -------
    Analysis
    """
    if isinstance(profile, (str, PathLike)):
        from ..standards import load_profile

        profile = load_profile(profile)
    if not isinstance(network, WalkNetwork):
        raise InputError("network: give a WalkNetwork from lifecircle.load_network")
    if not 0 < min_covered_share <= 1:
        raise InputError(f"min_covered_share must be in (0, 1], got {min_covered_share}")
    cat_ids = list(profile.categories)
    if categories is not None:
        unknown = [c for c in categories if c not in profile.categories]
        if unknown:
            raise InputError(
                f"unknown categories {unknown}; the profile {profile.id} has {cat_ids}"
            )
        cat_ids = [c for c in cat_ids if c in set(categories)]
    if levels is not None:
        unknown = [lv for lv in levels if lv not in profile.levels]
        if unknown:
            raise InputError(
                f"unknown levels {unknown}; the profile {profile.id} has {list(profile.levels)}"
            )
        cat_ids = [c for c in cat_ids if profile.categories[c].level in set(levels)]
    if not cat_ids:
        raise InputError("no categories left to analyse")
    if speed is None:
        speed_m_per_s = None
    elif isinstance(speed, str):
        if speed not in settings.walk_speeds_m_per_s:
            raise InputError(
                f"unknown speed profile {speed!r}; use one of {list(settings.walk_speeds_m_per_s)} or m/s"
            )
        speed_m_per_s = settings.walk_speeds_m_per_s[speed]
    else:
        speed_m_per_s = float(speed)
        if not 0.2 <= speed_m_per_s <= 3.0:
            raise InputError(f"speed {speed_m_per_s} m/s is not a walking speed (0.2–3 m/s)")
    fac = _check_facilities(facilities, profile, cat_ids)
    if demand is None:
        for col in COMMUNITY_COLUMNS:
            if col not in communities.columns:
                raise InputError(
                    f"communities: column {col!r} missing; load them with lifecircle.load_communities"
                )
        demand = demand_points(
            communities, buildings=buildings, landuse=landuse, raster=raster, grid_m=grid_m
        )
    params = AnalysisParams(
        speed=speed,
        speed_m_per_s=speed_m_per_s,
        min_covered_share=float(min_covered_share),
        target_share=float(target_share),
        max_snap_m=settings.max_snap_m if max_snap_m is None else float(max_snap_m),
        categories=tuple(cat_ids),
    )
    cats = [profile.categories[c] for c in cat_ids]
    missing = [c.id for c in cats if (fac["category"] == c.id).sum() == 0]
    if missing:
        log.warning(
            "no facilities at all for %d categories: %s — every community falls short there",
            len(missing),
            ", ".join(missing),
        )
    a = Analysis(network, profile, fac, demand, params, _thresholds(profile, cats, speed_m_per_s))
    a._compute()
    return a


def _check_facilities(
    facilities: gpd.GeoDataFrame, profile: Any, cat_ids: list[str]
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
