"""Shortfalls: the community × category rows that miss the standard, ranked, with reasons in
Chinese and English (the 短板社区 list)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..standards import Category, Profile

#: Weight of optional (△) categories relative to required (▲) ones in the index and priority.
OPTIONAL_FACTOR = 0.5

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


def category_weights(
    categories: pd.Series, required: pd.Series, cats: list[Category]
) -> np.ndarray:
    """The weight of each row's category, halved (:data:`OPTIONAL_FACTOR`) for optional ones."""
    meta = {c.id: float(c.weight) for c in cats}
    weight = categories.map(meta).astype(float).to_numpy()
    return weight * np.where(required, 1.0, OPTIONAL_FACTOR)


def shortfall_table(coverage: pd.DataFrame, cats: list[Category], profile: Profile) -> pd.DataFrame:
    """The assessed rows of ``coverage`` that do not meet the standard, ranked: required
    categories first, then by priority score (weight × affected residents). Rows without data
    (``assessed`` False) are not shortfalls: see the data checklist."""
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
    sf = sf.sort_values(
        ["required", "priority_score", "uncovered_pop", "community_id", "category"],
        ascending=[False, False, False, True, True],
        kind="stable",
    )
    sf["priority_rank"] = np.arange(1, len(sf) + 1)
    sf["reason_zh"], sf["reason_en"] = reasons(sf, cats, profile)
    return sf.reset_index(drop=True)


def level_label(profile: Profile, cat: Category) -> tuple[str, str]:
    """(Chinese, English) name of a category's life circle: "5分钟生活圈" / "5-min life circle"."""
    lvl = profile.levels.get(cat.level)
    walk = cat.walk_min if cat.walk_min is not None else (lvl.walk_min if lvl else None)
    if walk:
        w = f"{walk:g}"
        return f"{w}分钟生活圈", f"{w}-min life circle"
    return (lvl.name_zh if lvl else cat.level), (lvl.name_en if lvl else cat.level)


_REASON_COLUMNS = [
    "category", "target_group", "meets_distance", "meets_capacity", "distance_min_m",
    "threshold_m", "uncovered_pop", "capacity_unit", "supply_per_1000",
    "capacity_threshold_per_1000",
]  # fmt: skip


def reasons(
    sf: pd.DataFrame, cats: list[Category], profile: Profile
) -> tuple[list[str], list[str]]:
    """Plain-language reasons in Chinese and English, one per shortfall row."""
    meta = {c.id: c for c in cats}
    labels = {k: level_label(profile, c) for k, c in meta.items()}
    zh_out, en_out = [], []
    for k, g, md, mc, dmin, thr, unc, unit, sup, cthr in zip(
        *(sf[c].tolist() for c in _REASON_COLUMNS), strict=True
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
                + f" (standard {thr:,.0f} m), {unc:,.0f} "
                f"{_GROUP_EN.get(g, 'residents')} not covered"
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
