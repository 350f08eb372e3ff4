"""Which profile category a facility belongs to: from OSM tags, names, category text, Amap codes."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from .._text import key
from .poi_types import PoiTypes, categorise_poi, default_poi_types

#: Tag keys of point-of-interest-like OSM features, whose Chinese name may decide the category.
POI_KEYS = (
    "amenity",
    "shop",
    "office",
    "healthcare",
    "social_facility",
    "leisure",
    "building",
    "club",
    "craft",
    "tourism",
)

_CODES = re.compile(r"^\d{4,6}(\|\d{4,6})*$")


def osm_name(tags: dict[str, str]) -> Any:
    """The name of an OSM feature: ``name``, else a Chinese, official or English name."""
    for k in ("name", "name:zh", "name:zh-Hans", "official_name", "name:en"):
        if tags.get(k):
            return tags[k]
    return None


def match_tags(tags: dict[str, str], cats: list[Any]) -> list[Any]:
    """Categories of an OSM feature: by its tags, with its name as a second opinion.

    * Tags and name agree on some categories → those (the name tells a 社区卫生服务站 from a
      社区卫生服务中心 when both match the tags).
    * Only the tags match, or the name matches nothing → the tag matches.
    * The name matches other categories than the tags, or the tags match none → the name wins:
      Chinese official names state the facility type (``name=五老村幼儿园`` tagged
      ``amenity=school`` is a kindergarten; a ``社区卫生服务中心`` tagged ``amenity=clinic`` is a
      centre), while tags in Chinese OSM are often generic. Only for POI-like features
      (amenity, shop, office, building ...), never roads.
    """
    by_tag = [c for c in cats if c.osm and c.matches_tags(tags)]
    name = osm_name(tags)
    if not name or "highway" in tags or not (by_tag or any(k in tags for k in POI_KEYS)):
        return by_tag
    by_name = [c for c in cats if c.keywords and c.matches_name(name)]
    if not by_name:
        return by_tag
    return [c for c in by_tag if c in by_name] or by_name


def osm_keys(cats: list[Any], names: bool = True) -> list[str] | None:
    """Tag keys an object must carry to match some category, or None if any object might.

    ``names``: also read named objects, which may match by their Chinese name (files only: asking
    Overpass for every named object would fetch every street).
    """
    keys: set[str] = set()
    for c in cats:
        for f in c.osm:
            required = [k for k, v in f.items() if not str(v).startswith("!")]
            if not required:
                return None
            keys.add(required[0])
    if names and any(c.keywords for c in cats):
        keys.add("name")  # named POIs can match by their Chinese name (see match_tags)
    return sorted(keys)


def clean_text(values: pd.Series) -> list[str | None]:
    """Cell texts, NFKC-normalised and stripped; None for blanks."""
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append(None)
            continue
        s = unicodedata.normalize("NFKC", str(v)).strip()  # case kept: names are shown
        out.append(s or None)
    return out


def amap_codes(values: pd.Series) -> list[str | None]:
    """Amap type codes as text, restoring leading zeros lost by Excel (90102 → 090102)."""
    out: list[str | None] = []
    for s in clean_text(values):
        if s is None:
            out.append(None)
            continue
        parts = []
        for p in re.split(r"[|;,，；]", s):
            p = p.strip()
            if re.fullmatch(r"\d+(\.0)?", p):
                p = p.split(".")[0].zfill(6)
            if p:
                parts.append(p)
        out.append("|".join(parts) or None)
    return out


def looks_like_codes(values: pd.Series) -> bool:
    """True when at least 80 % of the non-blank cells are Amap type codes (``090102|141204``)."""
    vals = [v for v in clean_text(values) if v]
    if not vals:
        return False
    hits = sum(bool(_CODES.match(re.sub(r"\.0$", "", v))) for v in vals)
    return hits >= 0.8 * len(vals)


def category_by_label(label: str, cats: list[Any]) -> Any:
    """The category whose id, Chinese or English name is ``label`` (compared through ``key``)."""
    wanted = key(label)
    for c in cats:
        if wanted in (key(c.id), key(c.name_zh), key(c.name_en)):
            return c
    return None


def categorise_row(
    name: str | None,
    cat_text: str | None,
    amap: str | None,
    cats: list[Any],
    given: Any,
    types: PoiTypes | None = None,
) -> tuple[list[Any], str]:
    """Categories of one table row and how they were found.

    Order: a category given for the whole table; the category column read as a category id or
    name; the Amap type code; the provider's type tag (Baidu ``tag``, Amap ``type``) through the
    tag table ``types`` (default: the shipped ``poi_types.toml``), which
    may let the name pick among a few categories, or say the row is an entrance (``"gate"``) or
    a department (``"part"``) rather than a facility; keywords in other category text; the name
    (the category whose keyword ends the name). The first step that finds something decides.
    When an Amap code fits several categories (090102 is used for both 社区卫生服务中心 and
    服务站), the name picks among them.
    """
    if given is not None:
        return [given], "given"
    if cat_text:
        c = category_by_label(cat_text, cats)
        if c is not None:
            return [c], "column"
    if amap:
        cs = [c for c in cats if c.amap_types and c.matches_amap(amap)]
        if len(cs) > 1 and name:
            cs = [c for c in cs if c.matches_name(name)] or cs
        if cs:
            return cs, "amap_type"
    types = types if types is not None else default_poi_types()
    if cat_text and types.rule(cat_text) is not None:
        return categorise_poi(name, cat_text, cats, types)
    if cat_text:
        cs = [c for c in cats if c.matches_name(cat_text)]
        if cs:
            return cs, "keyword"
    return categorise_poi(name, None, cats, types)
