"""Projects for the reserve pool (补短板项目库): one per proposed site, plus one per shortfall that
no site answers, located at its community."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..standards import Profile
from .siting import Sites

PLACE = ["county_code", "county_name", "street_code", "street_name", "community_code",
         "community_name"]  # fmt: skip
PROJECT_COLUMNS = [
    *PLACE, "category", "category_zh", "level", "location_kind", "new_covered_pop", "nearest_m",
    "threshold_m", "uncovered_pop", "priority_score", "priority_rank", "reason_zh", "reason_en",
]  # fmt: skip


def _site_record(
    s: Any, served: pd.DataFrame, sfi: pd.DataFrame, comm: pd.DataFrame, profile: Profile,
    threshold_m: float,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:  # fmt: skip
    """The project of one site and the shortfalls (community, category) it answers."""
    keys = [(k, s.category) for k in served["community_id"] if (k, s.category) in sfi.index]
    sub = sfi.loc[keys] if keys else None
    main = (
        sfi.loc[(s.community_id, s.category)] if (s.community_id, s.category) in sfi.index else None
    )
    n = len(served)
    name_en = profile.categories[s.category].name_en
    rec = {
        **{k: comm.at[s.community_id, k] for k in PLACE},
        "category": s.category,
        "category_zh": s.category_zh,
        "level": s.level,
        "location_kind": "proposed_site",
        "new_covered_pop": s.new_covered_pop,
        "nearest_m": float(main["distance_min_m"]) if main is not None else np.nan,
        "threshold_m": threshold_m,
        "uncovered_pop": float(sub["uncovered_pop"].sum()) if sub is not None else 0.0,
        "priority_score": float(sub["priority_score"].sum()) if sub is not None else 0.0,
        "priority_rank": int(sub["priority_rank"].min()) if sub is not None and len(sub) else 0,
        "reason_zh": f"新建{s.category_zh}: 可新覆盖 {s.new_covered_pop:,.0f} 人 ({n} 个社区)"
        + (f"; {main['reason_zh']}" if main is not None else ""),
        "reason_en": f"new {name_en}: would newly cover {s.new_covered_pop:,.0f} people "
        f"in {n} communities" + (f"; {main['reason_en']}" if main is not None else ""),
    }
    return rec, keys


def pool_projects(
    shortfalls: pd.DataFrame,
    sites: Sites | None,
    communities: gpd.GeoDataFrame,
    thresholds: dict[str, float],
    profile: Profile,
) -> gpd.GeoDataFrame:
    """Projects (WGS84) for :func:`lifecircle.export_pool`, by priority rank."""
    comm = communities.set_index("community_id")
    recs: list[dict] = []
    geoms: list[Any] = []
    answered: set[tuple[str, str]] = set()
    if sites is not None and len(sites.frame):
        cover = sites.cover
        sfi = shortfalls.set_index(["community_id", "category"])
        frame = sites.frame
        for s, geom in zip(frame.itertuples(), frame.geometry.values, strict=True):
            served = cover[(cover["category"] == s.category) & (cover["site_rank"] == s.site_rank)]
            rec, keys = _site_record(s, served, sfi, comm, profile, thresholds[s.category])
            answered.update(keys)
            recs.append(rec)
            geoms.append(geom)
    rep = communities.to_crs(4326).set_index("community_id").geometry.representative_point()
    open_rows = [
        (cid, cat) not in answered
        for cid, cat in zip(shortfalls["community_id"], shortfalls["category"], strict=True)
    ]
    rest = shortfalls[np.asarray(open_rows, dtype=bool)]
    at_community = pd.DataFrame(
        {
            **{k: rest[k] for k in [*PLACE, "category", "category_zh", "level"]},
            "location_kind": "community",
            "new_covered_pop": rest["affected_pop"],
            "nearest_m": rest["distance_min_m"],
            **{
                k: rest[k]
                for k in [
                    "threshold_m",
                    "uncovered_pop",
                    "priority_score",
                    "priority_rank",
                    "reason_zh",
                    "reason_en",
                ]
            },
        }  # fmt: skip
    )
    recs.extend(at_community.to_dict("records"))
    geoms.extend(rep[rest["community_id"]].to_list())
    out = gpd.GeoDataFrame(pd.DataFrame(recs, columns=PROJECT_COLUMNS), geometry=geoms, crs=4326)
    return out.sort_values(
        ["priority_rank", "category", "location_kind"], kind="stable"
    ).reset_index(drop=True)
