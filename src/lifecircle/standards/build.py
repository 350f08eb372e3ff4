"""Validating merged profile data and building the :class:`~.model.Profile`.

Every value is checked by a typed reader (text, number, sources, tag filters, Amap codes ...);
a :class:`~lifecircle.ProfileError` names the file and line that set the offending key.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from typing import Any

from .._located import Path_
from .merge import MergedProfile
from .model import (
    CONFIDENCES,
    MARK_HELP,
    MARKS,
    POPULATIONS,
    SOURCE_EXAMPLE,
    Capacity,
    Category,
    Fact,
    Level,
    Profile,
    Source,
    miss_message,
)
from .osm_filter import OsmFilterError, parse_osm_filter

_CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LEVEL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_AMAP_CODE = re.compile(r"^[0-9]{2,6}$")

#: Keys allowed at the top of a profile file.
TOP_KEYS = (
    "id", "version", "title_zh", "title_en", "description", "extends", "drop", "drop_levels",
    "nested_levels", "nested_levels_source", "element_types", "refs", "levels", "categories",
)  # fmt: skip
_LEVEL_KEYS = ("name_zh", "name_en", "walk_min", "distance_m", "sources", "note", "info")
_CATEGORY_KEYS = (
    "name_zh", "name_en", "level", "distance_m", "walk_min", "required", "element_type", "weight",
    "target_group", "capacity", "osm", "keywords", "exclude_keywords", "amap_types", "sources",
    "distance_source", "match_sources", "info", "note",
)  # fmt: skip
_SOURCE_KEYS = ("document", "clause", "mark", "confidence", "note")
_CAPACITY_KEYS = ("unit", "per_1000", "population", "sources", "note")
_FACT_KEYS = ("min", "max", "value", "sources", "note")


class _Reader:
    """Typed readers of merged values; an error names the file and line that set the key."""

    def __init__(self, merged: MergedProfile) -> None:
        self.merged = merged
        self.fail = merged.fail

    def check_keys(self, path: Path_, table: Any, valid: tuple[str, ...], what: str) -> None:
        self.merged.check_keys(None, path, table, valid, what)

    def text(self, path: Path_, value: Any, *, required: bool = False, default: str = "") -> str:
        if value is None:
            if required:
                raise self.fail(path, "missing: this key is required")
            return default
        if not isinstance(value, str):
            raise self.fail(path, f"expected text in quotes, got {value!r}")
        if required and not value.strip():
            raise self.fail(path, "must not be empty")
        return value.strip()

    def number(
        self, path: Path_, value: Any, *, positive: bool = True, what: str = "number"
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(path, f"expected a {what}, got {value!r}")
        if positive and not value > 0:
            raise self.fail(path, f"must be a positive {what}, got {value!r}")
        if not positive and value < 0:
            raise self.fail(path, f"must not be negative, got {value!r}")
        return float(value)

    def optional_number(self, path: Path_, value: Any, what: str) -> float | None:
        return None if value is None else self.number(path, value, what=what)

    def texts(self, path: Path_, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            raise self.fail(path, f"expected a list, e.g. [{value!r}]")
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of texts, got {value!r}")
        out = []
        for k, v in enumerate(value):
            if not isinstance(v, str) or not v.strip():
                raise self.fail(path + (k,), f"expected non-empty text in quotes, got {v!r}")
            out.append(v.strip())
        return tuple(out)

    def source(self, path: Path_, value: Any) -> Source:
        if isinstance(value, str):  # a name from [refs]
            refs = self.merged.data.get("refs", {})
            if value not in refs:
                raise self.fail(path, miss_message("source name in [refs]", value, list(refs)))
            return self.source(("refs", value), refs[value])
        if not isinstance(value, dict):
            raise self.fail(
                path,
                f"a source is {{ document = ..., clause = ..., mark = ... }} or a [refs] name, not {value!r}",
            )
        self.check_keys(path, value, _SOURCE_KEYS, "a source")
        mark = value.get("mark")
        if mark not in MARKS:
            raise self.fail(
                path + ("mark",), f"bad mark {mark!r}: use one of {', '.join(MARKS)} ({MARK_HELP})"
            )
        conf = self.text(path + ("confidence",), value.get("confidence"))
        if conf and conf not in CONFIDENCES:
            raise self.fail(
                path + ("confidence",),
                f"bad confidence {conf!r}: use one of {', '.join(CONFIDENCES)}",
            )
        return Source(
            document=self.text(path + ("document",), value.get("document"), required=True),
            clause=self.text(path + ("clause",), value.get("clause")),
            mark=mark,
            note=self.text(path + ("note",), value.get("note")),
            confidence=conf,
        )

    def sources(self, path: Path_, value: Any, *, required: bool = False) -> tuple[Source, ...]:
        if value is None or value == []:
            if required:
                raise self.fail(
                    path,
                    f"missing: say where this comes from, e.g. {path[-1]} = {SOURCE_EXAMPLE} ({MARK_HELP})",
                )
            return ()
        if not isinstance(value, list):
            value = [value]
        return tuple(self.source(path + (k,), v) for k, v in enumerate(value))

    def info(self, path: Path_, value: Any, default_sources: Any) -> dict[str, Fact]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(
                path,
                f"expected a table of facts like {{ building_m2 = {{ min = 350, max = 750 }} }}, got {value!r}",
            )
        return {
            key: self.fact(path + (key,), key, fv, default_sources) for key, fv in value.items()
        }

    def fact(self, fp: Path_, key: str, fv: Any, default_sources: Any) -> Fact:
        self.check_keys(fp, fv, _FACT_KEYS, f"info.{key} (e.g. {{ min = 350, max = 750 }})")
        if "value" in fv and ("min" in fv or "max" in fv):
            raise self.fail(fp, "give either value or min/max, not both")
        lo = fv.get("value", fv.get("min"))
        hi = fv.get("value", fv.get("max"))
        if lo is None and hi is None:
            raise self.fail(fp, "give value, min or max")
        if lo is not None:
            lo = self.number(fp + ("min" if "min" in fv else "value",), lo, positive=False)
        if hi is not None:
            hi = self.number(fp + ("max" if "max" in fv else "value",), hi, positive=False)
        if lo is not None and hi is not None and lo > hi:
            raise self.fail(fp, f"min {lo:g} is larger than max {hi:g}")
        return Fact(
            key,
            lo,
            hi,
            self.sources(fp + ("sources",), fv.get("sources", default_sources), required=True),
            self.text(fp + ("note",), fv.get("note")),
        )

    def capacity(self, path: Path_, value: Any) -> tuple[Capacity, ...]:
        if value is None:
            return ()
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(
                path,
                'expected a list like [{ unit = "beds", per_1000 = 40, population = "elderly", sources = [...] }]',
            )
        return tuple(self.one_capacity(path + (k,), cv) for k, cv in enumerate(value))

    def one_capacity(self, p: Path_, cv: Any) -> Capacity:
        self.check_keys(p, cv, _CAPACITY_KEYS, "a capacity target")
        if "per_1000" not in cv:
            raise self.fail(p + ("per_1000",), "missing: the target per 1000 people")
        pop = self.text(p + ("population",), cv.get("population"), default="total")
        if pop not in POPULATIONS:
            raise self.fail(p + ("population",), miss_message("population", pop, list(POPULATIONS)))
        return Capacity(
            unit=self.text(p + ("unit",), cv.get("unit"), required=True),
            per_1000=self.number(p + ("per_1000",), cv["per_1000"], what="number per 1000 people"),
            population=pop,
            sources=self.sources(p + ("sources",), cv.get("sources"), required=True),
            note=self.text(p + ("note",), cv.get("note")),
        )

    def osm(self, path: Path_, value: Any) -> tuple[dict[str, str], ...]:
        if value is None:
            return ()
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(
                path,
                f'expected a list of tag filters like [{{ amenity = "kindergarten" }}], got {value!r}',
            )
        out = []
        for k, flt in enumerate(value):
            try:
                parse_osm_filter(flt)
            except OsmFilterError as exc:
                where = path + (k,) + ((exc.key,) if exc.key else ())
                raise self.fail(where, f"malformed OSM tag filter: {exc}") from None
            out.append({str(key).strip(): str(v).strip() for key, v in flt.items()})
        return tuple(out)

    def amap(self, path: Path_, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(
                path, f'expected a list of Amap codes in quotes, e.g. ["141204"], got {value!r}'
            )
        out = []
        for k, v in enumerate(value):
            if not isinstance(v, str):
                raise self.fail(
                    path + (k,),
                    f'write Amap codes as quoted text, e.g. "090102" (a number loses its leading zeros), got {v!r}',
                )
            if not _AMAP_CODE.match(v.strip()):
                raise self.fail(
                    path + (k,),
                    f'bad Amap type code {v!r}: 2 to 6 digits, e.g. "141204" or the prefix "0801"',
                )
            out.append(v.strip())
        return tuple(out)


# --------------------------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------------------------


def build_profile(merged: MergedProfile) -> Profile:
    """Validate the merged data of a chain of profile files and build the :class:`Profile`."""
    r = _Reader(merged)
    d = merged.data
    top = merged.top
    assert top is not None
    pid = r.text(("id",), d.get("id"), default=top.path.stem if top.path else "profile")
    levels = _levels(r, d.get("levels"))
    for name, ref in d.get("refs", {}).items():
        r.source(("refs", name), ref)
    element_types = r.texts(("element_types",), d.get("element_types"))
    cats_raw = d.get("categories")
    if not cats_raw:
        raise r.fail(
            ("categories",),
            "missing: a profile needs at least one category, e.g. [categories.kindergarten]",
        )
    cats = {cid: _category(r, cid, cv, levels, element_types) for cid, cv in cats_raw.items()}
    nested = d.get("nested_levels", False)
    if not isinstance(nested, bool):
        raise r.fail(("nested_levels",), f"expected true or false, got {nested!r}")
    return Profile(
        id=pid,
        version=str(d.get("version", "")),
        title_zh=r.text(("title_zh",), d.get("title_zh"), default=pid),
        title_en=r.text(("title_en",), d.get("title_en"), default=pid),
        levels=levels,
        categories=cats,
        nested_levels=nested,
        path=top.path,
        nested_levels_source=r.sources(("nested_levels_source",), d.get("nested_levels_source")),
        element_types=element_types,
        description=r.text(("description",), d.get("description")),
        extends=top.data.get("extends"),
    )


# --------------------------------------------------------------------------------------------
# Levels
# --------------------------------------------------------------------------------------------


def _levels(r: _Reader, levels_raw: Any) -> dict[str, Level]:
    if not levels_raw:
        raise r.fail(("levels",), "missing: a profile needs at least one level, e.g. [levels.L5]")
    levels = {lid: _level(r, lid, lv) for lid, lv in levels_raw.items()}
    _check_level_order(r, levels)
    return levels


def _level(r: _Reader, lid: str, lv: Any) -> Level:
    lp: Path_ = ("levels", lid)
    if not _LEVEL_ID.match(str(lid)):
        raise r.fail(lp, f"level id {lid!r} must start with a letter and use letters, digits, _")
    r.check_keys(lp, lv, _LEVEL_KEYS, f"level {lid}")
    return Level(
        id=lid,
        name_zh=r.text(lp + ("name_zh",), lv.get("name_zh"), required=True),
        name_en=r.text(lp + ("name_en",), lv.get("name_en"), default=lid),
        walk_min=r.optional_number(lp + ("walk_min",), lv.get("walk_min"), "number of minutes"),
        distance_m=r.optional_number(
            lp + ("distance_m",), lv.get("distance_m"), "distance in metres"
        ),
        sources=r.sources(lp + ("sources",), lv.get("sources"), required=True),
        note=r.text(lp + ("note",), lv.get("note")),
        info=r.info(lp + ("info",), lv.get("info"), lv.get("sources")),
    )


def _check_level_order(r: _Reader, levels: dict[str, Level]) -> None:
    """A level with more walking minutes must not have a shorter distance than one with fewer.

    The error blames the level in most disagreeing pairs (then: the one whose distance the last
    file of an ``extends`` chain set, then the longer walk) and names the other level and its line.
    """
    timed = [v for v in levels.values() if v.walk_min is not None and v.distance_m is not None]
    pairs = [
        (a, b)
        for a in timed
        for b in timed
        if a.walk_min < b.walk_min and a.distance_m > b.distance_m  # type: ignore[operator]
    ]
    if not pairs:
        return
    count = Counter(v.id for pair in pairs for v in pair)

    def path(v: Level) -> Path_:
        return ("levels", v.id, "distance_m")

    def blame(v: Level) -> tuple[int, bool, float]:
        return (count[v.id], r.merged.loc(path(v)) is r.merged.top, v.walk_min or 0.0)

    bad = max((v for v in timed if v.id in count), key=blame)
    other = next(b if a is bad else a for a, b in pairs if bad in (a, b))
    where = r.merged.loc(path(other))
    at = f"line {where.line(path(other))}"
    if where is not r.merged.loc(path(bad)):
        at = f"{where.file}, {at}"
    longer = "longer" if bad.walk_min < other.walk_min else "shorter"  # type: ignore[operator]
    raise r.fail(
        path(bad),
        f"level {bad.id} ({bad.walk_min:g} min) has distance_m = {bad.distance_m:g}, {longer} than "
        f"the {other.distance_m:g} m of level {other.id} ({other.walk_min:g} min, {at}): a level "
        "with more walking minutes must not have a shorter distance; correct one of the two",
    )


# --------------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------------


def _category(
    r: _Reader, cid: str, cv: Any, levels: dict[str, Level], element_types: tuple[str, ...]
) -> Category:
    cp: Path_ = ("categories", cid)
    if not isinstance(cid, str) or not _CATEGORY_ID.match(cid):
        raise r.fail(
            cp,
            f"category id {cid!r} must be snake_case: lower-case letters, digits and _ (e.g. elderly_daycare)",
        )
    r.check_keys(cp, cv, _CATEGORY_KEYS, f"category {cid}")
    lid = r.text(cp + ("level",), cv.get("level"), required=True)
    if lid not in levels:
        raise r.fail(cp + ("level",), miss_message("level", lid, list(levels)))
    lvl = levels[lid]
    dist, dsrc, inherited = _threshold(r, cid, cv, lvl)
    walk = cv.get("walk_min")
    etype = _element_type(r, cp, cv, element_types)
    target = r.text(cp + ("target_group",), cv.get("target_group"), default="total")
    if target not in POPULATIONS:
        raise r.fail(
            cp + ("target_group",), miss_message("target_group", target, list(POPULATIONS))
        )
    required = cv.get("required", True)
    if not isinstance(required, bool):
        raise r.fail(
            cp + ("required",), f"expected true (▲ 应配建) or false (△ 宜配建), got {required!r}"
        )
    osm, keywords, amap = _identification(r, cid, cv)
    return Category(
        id=cid,
        name_zh=r.text(cp + ("name_zh",), cv.get("name_zh"), required=True),
        name_en=r.text(cp + ("name_en",), cv.get("name_en"), default=cid.replace("_", " ")),
        level=lid,
        distance_m=dist,
        walk_min=lvl.walk_min
        if walk is None
        else r.number(cp + ("walk_min",), walk, what="number of minutes"),
        required=required,
        element_type=etype,
        weight=r.number(cp + ("weight",), cv.get("weight", 1.0), positive=False, what="weight"),
        target_group=target,
        capacity=r.capacity(cp + ("capacity",), cv.get("capacity")),
        osm=osm,
        keywords=keywords,
        exclude_keywords=r.texts(cp + ("exclude_keywords",), cv.get("exclude_keywords")),
        amap_types=amap,
        sources=r.sources(cp + ("sources",), cv.get("sources"), required=True),
        distance_source=dsrc,
        match_sources=r.sources(cp + ("match_sources",), cv.get("match_sources")),
        info=r.info(cp + ("info",), cv.get("info"), cv.get("sources")),
        note=r.text(cp + ("note",), cv.get("note")),
        distance_inherited=inherited,
    )


def _threshold(
    r: _Reader, cid: str, cv: dict, lvl: Level
) -> tuple[float, tuple[Source, ...], bool]:
    """The category's distance, its sources and whether it is the level's."""
    cp: Path_ = ("categories", cid)
    if "distance_m" in cv:
        dist = r.number(cp + ("distance_m",), cv["distance_m"], what="distance in metres")
        return (
            dist,
            r.sources(cp + ("distance_source",), cv.get("distance_source"), required=True),
            False,
        )
    if lvl.distance_m is None:
        raise r.fail(
            cp + ("distance_m",),
            f"missing threshold: category {cid!r} sets no distance_m and its level {lvl.id!r} has none; "
            f"add distance_m (metres) with distance_source to the category or the level",
        )
    if "distance_source" in cv:
        raise r.fail(
            cp + ("distance_source",), "distance_source without distance_m: set both or neither"
        )
    return lvl.distance_m, lvl.sources, True


def _element_type(r: _Reader, cp: Path_, cv: dict, element_types: tuple[str, ...]) -> str:
    etype = r.text(cp + ("element_type",), cv.get("element_type"))
    if element_types and etype and etype not in element_types:
        close = difflib.get_close_matches(etype, element_types, n=1, cutoff=0.3)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise r.fail(
            cp + ("element_type",),
            f"unknown element_type {etype!r}: {hint}this profile allows {', '.join(element_types)}",
        )
    return etype


def _identification(
    r: _Reader, cid: str, cv: dict
) -> tuple[tuple[dict[str, str], ...], tuple[str, ...], tuple[str, ...]]:
    """OSM tag filters, name keywords and Amap codes: at least one of them is needed."""
    cp: Path_ = ("categories", cid)
    osm = r.osm(cp + ("osm",), cv.get("osm"))
    keywords = r.texts(cp + ("keywords",), cv.get("keywords"))
    amap = r.amap(cp + ("amap_types",), cv.get("amap_types"))
    if not (osm or keywords or amap):
        set_here = [
            cp + (k,) for k in ("osm", "keywords", "amap_types") if cp + (k,) in r.merged.origin
        ]
        raise r.fail(
            set_here[-1] if set_here else cp,
            f"category {cid!r} has no way to identify facilities: give osm tag filters, keywords or amap_types",
        )
    return osm, keywords, amap
