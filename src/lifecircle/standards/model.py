"""Standard profiles held as data: life-circle levels, facility categories, thresholds, sources.

A profile says which public services residents should reach on foot, at which level
(15/10/5-minute life circle, 居住街坊), within which network distance (metres), with which per-1000
supply targets, and how to recognise such a facility in OSM tags, Chinese POI names and Amap type
codes. Every number carries its :class:`Source` (document, clause and a trust mark: ``V`` seen in
the source, ``V2`` seen in a secondary source, ``C`` calculated, ``R`` recalled and unverified).

This module holds the data classes and the methods of :class:`Profile`; reading, merging and
validating profile files is in :mod:`.loader` (:func:`~.loader.load_profile`), tag filters in
:mod:`.osm_filter`.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import ProfileError
from .._text import compact
from .._text import key as text_key
from .osm_filter import CompiledFilter, format_osm_filter, match_osm_filter, parse_osm_filter

log = logging.getLogger(__name__)

#: Trust marks of a source, as in ``standards.md``, with Chinese/English labels.
MARKS: dict[str, str] = {
    "V": "已核实 seen in the source",
    "V2": "二手来源 seen in a secondary source",
    "C": "计算 calculated",
    "R": "未核实 recalled, unverified",
}
#: The marks in a sentence, for error messages.
MARK_HELP = "V = seen in the source, V2 = secondary source, C = calculated, R = recalled/unverified"
#: An example source list, for error messages.
SOURCE_EXAMPLE = '[{ document = "GB 50180-2018", clause = "附录B", mark = "R" }]'
#: Confidence labels allowed with a mark (mostly for ``R``).
CONFIDENCES: tuple[str, ...] = ("hi", "med-hi", "med", "lo-med", "lo")

#: Population groups a need or a per-1000 target refers to.
POPULATIONS: dict[str, str] = {
    "total": "常住人口 all residents",
    "elderly": "60岁及以上老年人 people aged 60+",
    "child_0_3": "0–3岁婴幼儿 children aged 0-3",
    "child_3_6": "3–6岁幼儿 children aged 3-6",
}

_MARK_ORDER = {"V": 0, "V2": 1, "C": 2, "R": 3}


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a number comes from.

    ``verified`` is True only for mark ``"V"`` (seen in the source itself). ``"V2"`` (seen only in
    a secondary source quoting the document) counts as *not* verified; :attr:`status` shows it as
    ``"secondary"``.
    """

    document: str
    clause: str
    mark: str
    note: str = ""
    confidence: str = ""

    def __post_init__(self) -> None:
        if self.mark not in MARKS:
            raise ProfileError(
                f"bad source mark {self.mark!r}: use one of {list(MARKS)} ({MARK_HELP})"
            )

    @property
    def verified(self) -> bool:
        """True only when the number was seen in the source text itself (mark ``V``)."""
        return self.mark == "V"

    @property
    def status(self) -> str:
        """``"verified"``, ``"secondary"``, ``"calculated"`` or ``"unverified"``."""
        return {"V": "verified", "V2": "secondary", "C": "calculated", "R": "unverified"}[self.mark]

    def __str__(self) -> str:
        mark = f"{self.mark} {self.confidence}".strip()
        text = " ".join(p for p in (self.document, self.clause) if p)
        return f"{text} [{mark}]" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Fact:
    """An informative number or range, e.g. building area ``building_m2`` 350–750 m².

    ``min`` / ``max`` are bounds (``None`` = open); a single value has ``min == max``. The unit is
    part of the key (``_m2``, ``_beds``, ``_classes`` ...).
    """

    key: str
    min: float | None
    max: float | None
    sources: tuple[Source, ...]
    note: str = ""

    @property
    def verified(self) -> bool:
        """True when every source of the fact has mark ``V``."""
        return bool(self.sources) and all(s.verified for s in self.sources)

    def __str__(self) -> str:
        lo, hi = (_fmt_num(self.min), _fmt_num(self.max))
        if self.min is not None and self.min == self.max:
            value = lo
        elif self.max is None:
            value = f"≥{lo}"
        elif self.min is None:
            value = f"≤{hi}"
        else:
            value = f"{lo}–{hi}"
        marks = "/".join(dict.fromkeys(s.mark for s in self.sources))
        return f"{self.key} {value} [{marks}]"


@dataclass(frozen=True)
class Level:
    """A life-circle level, e.g. ``L5`` 五分钟生活圈居住区 with a 300 m default distance.

    ``distance_m`` is the default network-distance threshold (metres) of categories at this level;
    ``None`` when the level sets none (each category must then set its own).
    """

    id: str
    name_zh: str
    name_en: str
    walk_min: float | None
    distance_m: float | None
    sources: tuple[Source, ...]
    note: str = ""
    info: dict[str, Fact] = field(default_factory=dict)


@dataclass(frozen=True)
class Capacity:
    """A supply target per 1000 people, e.g. 40 beds per 1000 people aged 60+."""

    unit: str
    per_1000: float
    population: str
    sources: tuple[Source, ...]
    note: str = ""

    def __str__(self) -> str:
        marks = "/".join(dict.fromkeys(s.mark for s in self.sources))
        return f"{_fmt_num(self.per_1000)} {self.unit}/1000 {self.population} [{marks}]"


@dataclass(frozen=True)
class Category:
    """A facility category that residents should reach within ``distance_m`` metres on foot.

    Identification (used by the facilities step): ``osm`` is an OR of tag filters, each a dict
    ANDing conditions (value ``"*"`` = key present, ``"a|b"`` = any of, ``"!x"`` = not x, ``"!*"``
    = key absent); ``keywords`` / ``exclude_keywords`` match Chinese names; ``amap_types`` are Amap
    type-code prefixes. ``distance_inherited`` is True when the threshold comes from the level.
    """

    id: str
    name_zh: str
    name_en: str
    level: str
    distance_m: float
    walk_min: float | None
    required: bool
    element_type: str
    weight: float
    target_group: str
    capacity: tuple[Capacity, ...]
    osm: tuple[dict[str, str], ...]
    keywords: tuple[str, ...]
    exclude_keywords: tuple[str, ...]
    amap_types: tuple[str, ...]
    sources: tuple[Source, ...]
    distance_source: tuple[Source, ...]
    match_sources: tuple[Source, ...] = ()
    info: dict[str, Fact] = field(default_factory=dict)
    note: str = ""
    distance_inherited: bool = False
    _osm_compiled: tuple[CompiledFilter, ...] = field(init=False, repr=False, compare=False)
    _names: tuple[tuple[str, ...], tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = []
        for i, flt in enumerate(self.osm):
            try:
                compiled.append(parse_osm_filter(flt))
            except ValueError as exc:
                raise ProfileError(f"category {self.id!r}: osm[{i}]: {exc}") from None
        object.__setattr__(self, "_osm_compiled", tuple(compiled))
        keep = tuple(k for k in map(compact, self.keywords) if k)
        drop = tuple(k for k in map(compact, self.exclude_keywords) if k)
        object.__setattr__(self, "_names", (keep, drop))

    @property
    def verified(self) -> bool:
        """True when the threshold and every capacity target come from sources marked ``V``."""
        srcs = list(self.distance_source) + [s for c in self.capacity for s in c.sources]
        return bool(srcs) and all(s.verified for s in srcs)

    def matches_tags(self, tags: Mapping[str, Any]) -> bool:
        """True if OSM ``tags`` satisfy any of the ``osm`` filters.

        A tag value holding several values separated by ``;`` matches if any part matches.
        Missing, ``None`` and NaN values count as absent.
        """
        return any(match_osm_filter(flt, tags) for flt in self._osm_compiled)

    def matches_name(self, name: Any) -> bool:
        """True if ``name`` contains a keyword and no exclude keyword (NFKC, case-insensitive)."""
        text = compact(name)
        keep, drop = self._names
        if not text or not keep or any(k in text for k in drop):
            return False
        return any(k in text for k in keep)

    def matches_amap(self, typecode: Any) -> bool:
        """True if an Amap ``typecode`` (e.g. ``"141204"`` or ``"090102|090100"``) starts with any
        of ``amap_types``. An ``int`` is read as a six-digit code with leading zeros."""
        if isinstance(typecode, bool) or typecode is None:
            return False
        if isinstance(typecode, int):
            typecode = f"{typecode:06d}"
        if not isinstance(typecode, str) or not self.amap_types:
            return False
        codes = [c.strip() for c in re.split(r"[|;,]", typecode) if c.strip()]
        return any(c.startswith(p) for c in codes for p in self.amap_types)


@dataclass(frozen=True)
class Profile:
    """A standard profile: ordered levels and facility categories with thresholds and sources.

    ``nested_levels`` False (GB 50180-2018: "各层级配套设施的设置为非包含关系") means a facility of a
    higher level does not satisfy a lower level's need: coverage is checked level by level.
    """

    id: str
    version: str
    title_zh: str
    title_en: str
    levels: dict[str, Level]
    categories: dict[str, Category]
    nested_levels: bool
    path: Path | None
    nested_levels_source: tuple[Source, ...] = ()
    element_types: tuple[str, ...] = ()
    description: str = ""
    extends: str | None = None

    def __repr__(self) -> str:
        return (
            f"Profile({self.id!r}, {len(self.levels)} levels, {len(self.categories)} categories, "
            f"nested_levels={self.nested_levels})"
        )

    def _repr_html_(self) -> str:
        cols = ["name_zh", "name_en", "level", "distance_m", "required", "weight", "target_group",
                "verified"]  # fmt: skip
        head = f"<p><b>{self.title_zh}</b> ({self.id} {self.version})</p>"
        return head + self.to_frame()[cols].to_html()

    def level(self, id: str) -> Level:
        """The level ``id``; a :class:`ProfileError` lists the valid ids on a miss."""
        if id in self.levels:
            return self.levels[id]
        raise ProfileError(miss_message("level", id, list(self.levels), self.id))

    def level_label(self, id: str, walk_min: float | None = None) -> tuple[str, str]:
        """(Chinese, English) name of level ``id`` as people say it: "5分钟生活圈" /
        "5-min life circle" when it has walking minutes (``walk_min`` overrides the level's),
        else its own name ("居住街坊"); an unknown id is returned as it is."""
        lvl = self.levels.get(id)
        walk = walk_min if walk_min is not None else (lvl.walk_min if lvl else None)
        if walk:
            return f"{walk:g}分钟生活圈", f"{walk:g}-min life circle"
        return (lvl.name_zh, lvl.name_en) if lvl else (id, id)

    def category(self, id: str) -> Category:
        """The category ``id``; a :class:`ProfileError` lists the valid ids on a miss."""
        if id in self.categories:
            return self.categories[id]
        raise ProfileError(miss_message("category", id, list(self.categories), self.id))

    def category_named(self, name: Any, among: Iterable[str] | None = None) -> str | None:
        """The id of the category (of ``among``, default all) that ``name`` names as people write
        it: its id, Chinese or English name, the Chinese name without its bracketed note (养老机构
        for 养老机构（养老院、老年养护院）), a name that note lists (养老院), or the start of
        exactly one category's Chinese name (托育 for 托育机构…, at least 2 characters); compared through
        :func:`lifecircle._text.key`. ``None`` when it names none (or several)."""
        k = text_key(name)
        if not k:
            return None
        cats = [self.categories[c] for c in (self.categories if among is None else among)]
        names: dict[str, str] = {}
        notes: dict[str, set[str]] = {}
        for c in cats:
            short = re.split(r"[（(]", c.name_zh or "")[0]
            names.update({text_key(n): c.id for n in (c.id, c.name_zh, c.name_en, short) if n})
            for note in re.findall(r"[（(]([^）)]*)[）)]", c.name_zh or ""):
                for part in re.split(r"[、,，/]", note):
                    notes.setdefault(text_key(part), set()).add(c.id)
        if k in names:
            return names[k]
        if len(notes.get(k, ())) == 1:  # a name the note lists (养老院), of one category only
            return next(iter(notes[k]))
        starts = {c.id for c in cats if c.name_zh and len(k) >= 2 and text_key(c.name_zh).startswith(k)}
        return starts.pop() if len(starts) == 1 else None

    def to_frame(self) -> pd.DataFrame:
        """One row per category, every field flattened to text or numbers.

        Returns
        -------
        pandas.DataFrame
            Indexed by category ``id``; distances in metres; ``sources``/``distance_source`` as
            text with marks; ``verified`` True when the threshold and capacity targets all come
            from sources marked ``V``; ``distance_mark`` is the weakest mark behind the threshold.
        """
        rows = []
        for c in self.categories.values():
            lvl = self.levels[c.level]
            rows.append(
                {
                    "id": c.id,
                    "name_zh": c.name_zh,
                    "name_en": c.name_en,
                    "level": c.level,
                    "level_name_zh": lvl.name_zh,
                    "level_name_en": lvl.name_en,
                    "distance_m": c.distance_m,
                    "walk_min": c.walk_min,
                    "distance_inherited": c.distance_inherited,
                    "required": c.required,
                    "required_zh": "▲ 应配建" if c.required else "△ 宜配建",
                    "element_type": c.element_type,
                    "weight": c.weight,
                    "target_group": c.target_group,
                    "target_group_zh": POPULATIONS[c.target_group].split(" ")[0],
                    "capacity": "; ".join(str(x) for x in c.capacity),
                    "osm": " OR ".join(format_osm_filter(f) for f in c.osm),
                    "keywords": "、".join(c.keywords),
                    "exclude_keywords": "、".join(c.exclude_keywords),
                    "amap_types": "|".join(c.amap_types),
                    "info": "; ".join(str(f) for f in c.info.values()),
                    "note": c.note,
                    "sources": "; ".join(str(s) for s in c.sources),
                    "distance_source": "; ".join(str(s) for s in c.distance_source),
                    "match_sources": "; ".join(str(s) for s in c.match_sources),
                    "distance_mark": _weakest(c.distance_source),
                    "capacity_mark": _weakest([s for x in c.capacity for s in x.sources]),
                    "verified": c.verified,
                }
            )
        return pd.DataFrame(rows).set_index("id", drop=False).rename_axis(None)

    def with_distances(
        self, distances: Mapping[str, float] | None = None, /, **distance_m: float
    ) -> Profile:
        """A copy with thresholds changed, by level id or category id, in metres.

        ``profile.with_distances(L15=800)`` changes level ``L15`` and every category of that level
        whose threshold is the level's (inherited, or its own radius equal to the old level
        distance); a category with a different radius of its own keeps it (e.g. GB's 文化活动站,
        500 m at the 5-minute level). ``with_distances(kindergarten=500)`` changes one category (a
        category wins over its level). Level ids that are not Python names go in a dict first
        argument. The new numbers get a source ``with_distances()`` marked ``C``.
        """
        changes = {**(distances or {}), **distance_m}
        for key, value in changes.items():
            if key not in self.levels and key not in self.categories:
                raise ProfileError(
                    miss_message(
                        "level or category", key, [*self.levels, *self.categories], self.id
                    )
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ProfileError(
                    f"with_distances: {key} = {value!r}: give a positive number of metres"
                )
        levels = dict(self.levels)
        for key, value in changes.items():
            if key in levels:
                src = (_user_source(key, value),)
                levels[key] = dataclasses.replace(levels[key], distance_m=float(value), sources=src)
        cats = {}
        for cid, cat in self.categories.items():
            if cid in changes:
                v = float(changes[cid])
                cat = dataclasses.replace(
                    cat,
                    distance_m=v,
                    distance_source=(_user_source(cid, v),),
                    distance_inherited=False,
                )
            elif cat.level in changes and (
                cat.distance_inherited or cat.distance_m == self.levels[cat.level].distance_m
            ):
                lvl = levels[cat.level]
                cat = dataclasses.replace(
                    cat, distance_m=lvl.distance_m, distance_source=lvl.sources
                )
            cats[cid] = cat
        log.info("profile %s: distances changed: %s", self.id, changes)
        return dataclasses.replace(self, levels=levels, categories=cats)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def miss_message(what: str, name: Any, valid: list[str], where: str = "") -> str:
    """``unknown <what> 'x' [in profile 'p']; did you mean 'y'? Valid: a, b`` for error messages."""
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    in_ = f" in profile {where!r}" if where else ""
    return f"unknown {what} {name!r}{in_}{hint} Valid: {', '.join(valid) or '(none)'}"


def _user_source(key: str, value: float) -> Source:
    return Source(
        document="with_distances()",
        clause="",
        mark="C",
        note=f"{key} = {value:g} m set in code by the user, not taken from a standard",
    )


def _weakest(sources: Iterable[Source]) -> str:
    marks = [s.mark for s in sources]
    return max(marks, key=_MARK_ORDER.__getitem__) if marks else ""


def _fmt_num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:g}" if abs(x) < 1e6 else f"{x:.0f}"
