"""Shortfalls: the community × category rows that miss the standard, ranked, with reasons in
Chinese and English (the 短板社区 list)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..standards import Category, Profile

#: Weight of optional (△) categories relative to required (▲) ones in the index and priority.
OPTIONAL_FACTOR = 0.5

#: How reasons name each target group: (Chinese noun, English noun).
GROUP_WORDS = {
    "total": ("居民", "residents"),
    "elderly": ("老年人", "older residents"),
    "child_0_3": ("0–3岁儿童", "children aged 0–3"),
    "child_3_6": ("3–6岁儿童", "children aged 3–6"),
}
UNIT_WORDS = {"beds": ("张床位", "beds"), "places": ("个托位", "places"), "m2": ("平方米", "m²")}


def category_weights(
    categories: pd.Series, required: pd.Series, cats: list[Category]
) -> np.ndarray:
    """The weight of each row's category, halved (:data:`OPTIONAL_FACTOR`) for optional ones."""
    meta = {c.id: float(c.weight) for c in cats}
    weight = categories.map(meta).astype(float).to_numpy()
    return weight * np.where(required, 1.0, OPTIONAL_FACTOR)


def shortfall_table(
    coverage: pd.DataFrame,
    cats: list[Category],
    profile: Profile,
    min_covered_share: float,
    known: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The assessed rows of ``coverage`` that do not meet the standard, ranked: required
    categories first, then by priority score (weight × affected residents). Rows without data
    (``assessed`` False) are not shortfalls: see the data checklist. ``known``: shortfalls made
    earlier with the same profile and required share (a scenario's analysis): rows whose reason
    inputs are unchanged take their sentences from it instead of writing them again."""
    failing = ~coverage["meets_standard"].astype(bool) & coverage["assessed"].astype(bool)
    sf = coverage[failing].copy()
    ratio = sf["supply_per_1000"] / sf["capacity_threshold_per_1000"]
    short_cap = (sf["meets_capacity"] == False).to_numpy()  # noqa: E712 (None: not assessed)
    cap_short = np.where(short_cap, sf["group_pop"] * (1 - ratio.clip(0, 1)), 0.0)
    sf["capacity_short_pop"] = cap_short
    far = ~sf["meets_distance"].to_numpy(bool)
    sf["kind"] = np.select([far & short_cap, far], ["distance+capacity", "distance"], "capacity")
    sf["weight"] = category_weights(sf["category"], sf["required"], cats)
    sf["affected_pop"] = np.maximum(sf["uncovered_pop"].to_numpy(), cap_short)
    sf["priority_score"] = sf["weight"] * sf["affected_pop"]
    sf = sf.iloc[priority_order(sf)]
    sf["priority_rank"] = np.arange(1, len(sf) + 1)
    sf["reason_zh"], sf["reason_en"] = reasons(sf, cats, profile, min_covered_share, known)
    return sf.reset_index(drop=True)


#: The ranking of the shortfall list: required first, then priority score, uncovered residents
#: (both descending), community id and category (a total order: one row per community × category).
RANK_KEYS = ["required", "priority_score", "uncovered_pop", "community_id", "category"]
_RANK_ASCENDING = [False, False, False, True, True]


def priority_order(sf: pd.DataFrame) -> np.ndarray:
    """Positions of the rows of ``sf`` in priority order (:data:`RANK_KEYS`)."""
    keys = sf[RANK_KEYS].reset_index(drop=True)
    return keys.sort_values(RANK_KEYS, ascending=_RANK_ASCENDING, kind="stable").index.to_numpy()


def level_label(profile: Profile, cat: Category) -> tuple[str, str]:
    """(Chinese, English) name of a category's life circle: "5分钟生活圈" / "5-min life circle"."""
    return profile.level_label(cat.level, cat.walk_min)


_REASON_COLUMNS = [
    "category", "target_group", "meets_distance", "meets_capacity", "distance_min_m",
    "threshold_m", "uncovered_pop", "covered_share", "capacity_unit", "supply_per_1000",
    "capacity_threshold_per_1000", "capacity_short_pop",
]  # fmt: skip


def _distance_reason(
    lvl: tuple[str, str], cat: Category, group: str, dmin: float, thr: float, unc: float,
    share: float, min_share: float,
) -> tuple[str, str]:  # fmt: skip
    g_zh, g_en = GROUP_WORDS.get(group, GROUP_WORDS["total"])
    name_en = cat.name_en.lower() if cat.name_en else cat.id
    if not np.isfinite(dmin):
        return (
            f"{lvl[0]}{cat.name_zh}: 步行可达范围内没有此类设施 (标准 {thr:,.0f} m), "
            f"{unc:,.0f} 名{g_zh}未覆盖",
            f"{lvl[1]} {name_en}: none within walking reach (standard {thr:,.0f} m); "
            f"{unc:,.0f} {g_en} not covered",
        )
    share = 0.0 if not np.isfinite(share) else share
    return (
        f"{lvl[0]}{cat.name_zh}: 仅 {share:.0%} 的{g_zh}在 {thr:,.0f} m 步行范围内 (标准要求至少 "
        f"{min_share:.0%}), {unc:,.0f} 名{g_zh}未覆盖; 最近的设施 {dmin:,.0f} m",
        f"{lvl[1]} {name_en}: only {share:.0%} of {g_en} live within {thr:,.0f} m on foot "
        f"(standard: at least {min_share:.0%}); {unc:,.0f} not covered; nearest {dmin:,.0f} m",
    )


def _capacity_reason(
    cat: Category, group: str, unit: str | None, sup: float, cthr: float, short: float
) -> tuple[str, str]:
    g_zh, g_en = GROUP_WORDS.get(group, GROUP_WORDS["total"])
    u_zh, u_en = UNIT_WORDS.get(unit or "", (unit or "", unit or ""))
    return (
        f"{cat.name_zh}供给不足: 每千名{g_zh} {sup:.1f} {u_zh} (标准至少 {cthr:g}), "
        f"约 {short:,.0f} 人的份额缺口",
        f"{cat.name_en} short of capacity: {sup:.1f} {u_en} per 1,000 {g_en} "
        f"(standard: at least {cthr:g}); about {short:,.0f} people's share missing",
    )


def _known_reasons(sf: pd.DataFrame, known: pd.DataFrame) -> list[tuple[str, str] | None]:
    """The (Chinese, English) reason of ``known`` for each row of ``sf`` whose reason inputs
    are identical there (``None`` elsewhere)."""
    keys = ["community_id", "category"]
    cols = [c for c in _REASON_COLUMNS if c != "category"]
    m = sf[[*keys, *cols]].merge(
        known[[*keys, *cols, "reason_zh", "reason_en"]], on=keys, how="left", suffixes=("", "_k")
    )
    same = m["reason_zh"].notna().to_numpy(dtype=bool, copy=True)
    for c in cols:
        a, b = m[c], m[f"{c}_k"]
        same = same & ((a == b) | (a.isna() & b.isna())).to_numpy(dtype=bool)
    zh, en = m["reason_zh"].tolist(), m["reason_en"].tolist()
    return [(z, e) if ok else None for z, e, ok in zip(zh, en, same, strict=True)]


def reasons(
    sf: pd.DataFrame,
    cats: list[Category],
    profile: Profile,
    min_covered_share: float,
    known: pd.DataFrame | None = None,
) -> tuple[list[str], list[str]]:
    """Plain-language reasons in Chinese and English, one per shortfall row: what failed (the
    share within the distance against the required share; the supply per 1,000 against the
    standard) and how many people it affects. ``known``: see :func:`shortfall_table`."""
    meta = {c.id: c for c in cats}
    labels = {k: level_label(profile, c) for k, c in meta.items()}
    zh_out, en_out = [], []
    reuse = _known_reasons(sf, known) if known is not None and len(sf) else [None] * len(sf)
    for old, (k, g, md, mc, dmin, thr, unc, share, unit, sup, cthr, short) in zip(
        reuse, zip(*(sf[c].tolist() for c in _REASON_COLUMNS), strict=True), strict=True
    ):
        if old is not None:
            zh_out.append(old[0])
            en_out.append(old[1])
            continue
        parts = []
        if not md:
            parts.append(
                _distance_reason(labels[k], meta[k], g, dmin, thr, unc, share, min_covered_share)
            )
        if mc is False:
            parts.append(_capacity_reason(meta[k], g, unit, sup, cthr, short))
        zh_out.append("; ".join(p[0] for p in parts))
        en_out.append("; ".join(p[1] for p in parts))
    return zh_out, en_out
