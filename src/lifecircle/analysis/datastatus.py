"""Data status: a missing data source is not a missing facility.

Every category gets a status city-wide and per street (街道/镇):

* ``present`` — the input has facilities of the category within reach of the street;
* ``no_data`` — the input has **no** facility of the category at all, or none within
  ``data_gap_radius_m`` (straight line, default 3 km) of any resident of the street while other
  streets have them: most likely a list that was not loaded, not a real absence;
* ``confirmed_absent`` — as ``no_data``, but the user stated that the list of this category is
  complete (``complete_categories``): the absence is real.

Rows with ``no_data`` are not shortfalls: they go to the data checklist (数据核查清单,
:func:`data_checklist`), are left out of the service index and the share meeting the standard,
and never become pool projects. A street with no known street code is judged community by
community.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..standards import Category
from .access import Access

PRESENT = "present"
NO_DATA = "no_data"
CONFIRMED_ABSENT = "confirmed_absent"
STATUSES = (PRESENT, NO_DATA, CONFIRMED_ABSENT)

#: A street none of whose residents has a facility of the category within this straight distance
#: (while other streets have them) is a data gap, not a shortfall.
DATA_GAP_RADIUS_M = 3000.0


def _street_key(demand: pd.DataFrame, communities: pd.DataFrame) -> np.ndarray:
    """The street code of each demand point, or its community id where the street is unknown."""
    street = communities.set_index("community_id")["street_code"]
    codes = demand["community_id"].map(street)
    return np.where(codes.notna(), "s:" + codes.astype(str), "c:" + demand["community_id"])


def point_status(
    codes: np.ndarray,
    access: Access,
    cats: list[Category],
    complete: tuple[str, ...],
    radius_m: float,
) -> np.ndarray:
    """(n_points, n_categories) data status of every demand point's street and category
    (``codes``: the points' streets, :func:`street_codes`)."""
    out = np.full((len(codes), len(cats)), PRESENT, dtype=object)
    xy = access.demand.xy
    for j, c in enumerate(cats):
        absent = CONFIRMED_ABSENT if c.id in complete else NO_DATA
        fac = access.facilities_of(c.id)
        if fac is None:
            out[:, j] = absent
            continue
        out[~_streets_near(codes, xy, fac.xy, radius_m)[codes], j] = absent
    return out


def street_codes(demand: pd.DataFrame, communities: pd.DataFrame) -> np.ndarray:
    """A whole number per demand point, the same for the points of one street (see
    :func:`_street_key`)."""
    return pd.factorize(_street_key(demand, communities))[0]


def _streets_near(
    codes: np.ndarray, xy: np.ndarray, facility_xy: np.ndarray, radius_m: float
) -> np.ndarray:
    """Per street code: has a point of ``xy`` within ``radius_m`` of a facility."""
    d, _ = cKDTree(facility_xy).query(xy, distance_upper_bound=radius_m)
    return np.bincount(codes, weights=np.isfinite(d).astype(float),
                       minlength=int(codes.max(initial=-1)) + 1) > 0  # fmt: skip


def status_with_added(
    status: np.ndarray, codes: np.ndarray, xy: np.ndarray, added_xy: np.ndarray,
    radius_m: float, among: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """One category's ``status`` (per demand point, as :func:`point_status` gave it) after
    facilities at ``added_xy`` are added: a street without data becomes present when one of its
    points is within ``radius_m`` of an added facility; nothing else can change (``codes``:
    :func:`street_codes`; ``xy``: the demand points' metric coordinates). Returns ``status``
    itself when nothing changes. Only points inside the box around the added facilities (grown by
    the radius) are looked at: a street turns present through those alone; ``among``: the
    positions of the only points that may lack data (e.g. those of communities whose coverage
    row lacks data), when known (default: every point)."""
    if len(status) == 0 or len(added_xy) == 0:
        return status
    lo, hi = added_xy.min(axis=0) - radius_m, added_xy.max(axis=0) + radius_m
    x, y = (xy[:, 0], xy[:, 1]) if among is None else (xy[among, 0], xy[among, 1])
    box = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]))
    if among is not None:
        box = among[box]
    pts = box[status[box] != PRESENT]
    if len(pts) == 0:
        return status
    near = _streets_near(codes[pts], xy[pts], added_xy, radius_m)
    if not near.any():
        return status
    turned = np.zeros(int(codes.max()) + 1, dtype=bool)  # per street code: turns present
    turned[: len(near)] = near
    out = status.copy()
    out[turned[codes] & (status != PRESENT)] = PRESENT
    return out


def checklist_hint(cat: Category) -> tuple[str, str]:
    """(Chinese, English) sentence saying which source to add for a category."""
    parts_zh = [f"主管部门的{cat.name_zh}名单 (lifecircle.load_facilities)"]
    parts_en = [f"the authority's list of {cat.name_en.lower()} (lifecircle.load_facilities)"]
    if cat.amap_types:
        codes = "、".join(cat.amap_types[:4])
        parts_zh.append(f"高德/百度 POI (类型 {codes})")
        parts_en.append(f"Amap/Baidu POIs (types {', '.join(cat.amap_types[:4])})")
    if cat.osm:
        tags = " 或 ".join("+".join(f"{k}={v}" for k, v in f.items()) for f in cat.osm[:2])
        parts_zh.append(f"OpenStreetMap ({tags})")
        parts_en.append(f"OpenStreetMap ({tags.replace(' 或 ', ' or ')})")
    return "补充" + "、".join(parts_zh), "add " + ", ".join(parts_en)


_CHECK_KEYS = ["county_code", "county_name", "street_code", "street_name"]


def data_checklist(coverage: pd.DataFrame, cats: list[Category]) -> pd.DataFrame:
    """The data checklist (数据核查清单): one row per category without data city-wide, and one
    per street × category without data where the category has data elsewhere."""
    gaps = coverage[coverage["data_status"] == NO_DATA]
    meta = {c.id: c for c in cats}
    all_gap = (coverage["data_status"] == NO_DATA).groupby(coverage["category"]).all()
    city_gap = {c for c in meta if all_gap.get(c, True)}
    rows = []
    for cid in [c.id for c in cats if c.id in city_gap]:
        part = gaps[gaps["category"] == cid]
        rows.append(_checklist_row("city", {}, part, meta[cid]))
    street = gaps[~gaps["category"].isin(city_gap)]
    keys = street[_CHECK_KEYS].fillna("")
    for key, part in street.groupby([*(keys[k] for k in _CHECK_KEYS), street["category"]],
                                    sort=True):  # fmt: skip
        place = dict(zip(_CHECK_KEYS, key[:-1], strict=True))
        rows.append(_checklist_row("street", place, part, meta[key[-1]]))
    return pd.DataFrame(rows, columns=CHECKLIST_COLUMNS)


CHECKLIST_COLUMNS = [
    "scope", *_CHECK_KEYS, "category", "category_zh", "category_en", "level", "communities",
    "group_pop", "data_status", "source_hint_zh", "source_hint_en",
]  # fmt: skip


def _checklist_row(scope: str, place: dict, part: pd.DataFrame, cat: Category) -> dict:
    hint_zh, hint_en = checklist_hint(cat)
    return {
        "scope": scope,
        **{k: place.get(k) or None for k in _CHECK_KEYS},
        "category": cat.id,
        "category_zh": cat.name_zh,
        "category_en": cat.name_en,
        "level": cat.level,
        "communities": int(part["community_id"].nunique()),
        "group_pop": float(part["group_pop"].sum()),
        "data_status": NO_DATA,
        "source_hint_zh": hint_zh,
        "source_hint_en": hint_en,
    }
