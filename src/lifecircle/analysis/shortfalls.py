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


def _formatted(values: pd.Series, spec: str) -> np.ndarray:
    """``format(v, spec)`` of every value as an object array (each distinct value once)."""
    u, inv = np.unique(values.to_numpy(dtype=float), return_inverse=True)
    return np.array([format(x, spec) for x in u], dtype=object)[inv.ravel()]


def _words(column: pd.Series, table: dict[str, tuple[str, str]], default: tuple[str, str]):
    """(Chinese, English) words of every row's key in ``table`` as object arrays."""
    zh = {k: v[0] for k, v in table.items()}
    en = {k: v[1] for k, v in table.items()}
    keys = column.astype(object)
    return (
        keys.map(zh).fillna(default[0]).to_numpy(dtype=object),
        keys.map(en).fillna(default[1]).to_numpy(dtype=object),
    )


def _distance_reasons(
    sf: pd.DataFrame, labels: dict[str, tuple[str, str]], min_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """The distance reason (Chinese, English) of every row of ``sf``, a column at a time."""
    p_zh, p_en = _words(sf["category"], labels, ("", ""))
    g_zh, g_en = _words(sf["target_group"], GROUP_WORDS, GROUP_WORDS["total"])
    thr = _formatted(sf["threshold_m"], ",.0f")
    unc = _formatted(sf["uncovered_pop"], ",.0f")
    dmin = _formatted(sf["distance_min_m"], ",.0f")
    share_v = sf["covered_share"].to_numpy(dtype=float)
    share = _formatted(pd.Series(np.where(np.isfinite(share_v), share_v, 0.0)), ".0%")
    need = format(min_share, ".0%")
    none = ~np.isfinite(sf["distance_min_m"].to_numpy(dtype=float))
    zh = np.empty(len(sf), dtype=object)
    en = np.empty(len(sf), dtype=object)
    rows = zip(p_zh, p_en, g_zh, g_en, thr, unc, dmin, share, none.tolist(), strict=True)
    for i, (pz, pe, gz, ge, t, u, d, sh, no) in enumerate(rows):
        if no:
            zh[i] = f"{pz}: 步行可达范围内没有此类设施 (标准 {t} m), {u} 名{gz}未覆盖"
            en[i] = f"{pe}: none within walking reach (standard {t} m); {u} {ge} not covered"
        else:
            zh[i] = (f"{pz}: 仅 {sh} 的{gz}在 {t} m 步行范围内 (标准要求至少 {need}), "
                     f"{u} 名{gz}未覆盖; 最近的设施 {d} m")  # fmt: skip
            en[i] = (f"{pe}: only {sh} of {ge} live within {t} m on foot (standard: at least "
                     f"{need}); {u} not covered; nearest {d} m")  # fmt: skip
    return zh, en


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
    # the category's words once: "5分钟生活圈托育设施" / "5-min life circle childcare"
    labels = {
        k: (f"{lz}{c.name_zh}", f"{le} {c.name_en.lower() if c.name_en else c.id}")
        for k, c in meta.items()
        for lz, le in [level_label(profile, c)]
    }
    reuse = _known_reasons(sf, known) if known is not None and len(sf) else [None] * len(sf)
    todo = np.flatnonzero([old is None for old in reuse])
    zh, en = _new_reasons(sf.iloc[todo], meta, labels, min_covered_share)
    zh_out = [old[0] if old is not None else "" for old in reuse]
    en_out = [old[1] if old is not None else "" for old in reuse]
    for i, z, e in zip(todo.tolist(), zh.tolist(), en.tolist(), strict=True):
        zh_out[i], en_out[i] = z, e
    return zh_out, en_out


def _new_reasons(
    sf: pd.DataFrame, meta: dict[str, Category], labels: dict[str, tuple[str, str]],
    min_share: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The reasons (Chinese, English) of the rows of ``sf``: the distance sentence a column at
    a time, the capacity sentence (fewer rows) one by one, joined by "; "."""
    far = ~sf["meets_distance"].to_numpy(dtype=bool)
    short_cap = (sf["meets_capacity"] == False).to_numpy(dtype=bool)  # noqa: E712 (None: not assessed)
    zh = np.full(len(sf), "", dtype=object)
    en = np.full(len(sf), "", dtype=object)
    if far.any():
        zh[far], en[far] = _distance_reasons(sf[far], labels, min_share)
    cap = np.flatnonzero(short_cap)
    cols = ["category", "target_group", "capacity_unit", "supply_per_1000",
            "capacity_threshold_per_1000", "capacity_short_pop"]  # fmt: skip
    rows = zip(*(sf[c].iloc[cap].tolist() for c in cols), strict=True)
    for i, (k, g, unit, sup, cthr, short) in zip(cap.tolist(), rows, strict=True):
        c_zh, c_en = _capacity_reason(meta[k], g, unit, sup, cthr, short)
        zh[i] = f"{zh[i]}; {c_zh}" if far[i] else c_zh
        en[i] = f"{en[i]}; {c_en}" if far[i] else c_en
    return zh, en
