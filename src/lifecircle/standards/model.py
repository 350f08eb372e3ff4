"""Standard profiles held as data: life-circle levels, facility categories, thresholds, sources.

A profile says which public services residents should reach on foot, at which level
(15/10/5-minute life circle, 居住街坊), within which network distance (metres), with which per-1000
supply targets, and how to recognise such a facility in OSM tags, Chinese POI names and Amap type
codes. Every number carries its :class:`Source` (document, clause and a trust mark: ``V`` seen in
the source, ``V2`` seen in a secondary source, ``C`` calculated, ``R`` recalled and unverified).

Built-in profiles live as TOML files next to this module (``lifecircle/profiles/*.toml``):
``gb50180-2018``, ``tdt1062-2021`` and ``jiaxing-yilao-yixiao``. A city copies one, edits it and
loads it with :func:`load_profile`. A file may ``extends`` another and add, drop or override
categories and levels. Files are validated on load: a :class:`~lifecircle.ProfileError` names the
file, the key path and the line.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import ProfileError
from .._located import (
    Locator,
    Path_,
    TomlPositions,
    located_error,
    read_text,
    yaml_positions,
)

log = logging.getLogger(__name__)

#: Folder of the built-in profiles (shipped inside the package).
PROFILE_DIR: Path = Path(__file__).with_name("profiles")

#: Trust marks of a source, as in ``standards.md``, with Chinese/English labels.
MARKS: dict[str, str] = {
    "V": "已核实 seen in the source",
    "V2": "二手来源 seen in a secondary source",
    "C": "计算 calculated",
    "R": "未核实 recalled, unverified",
}
#: Confidence labels allowed with a mark (mostly for ``R``).
CONFIDENCES: tuple[str, ...] = ("hi", "med-hi", "med", "lo-med", "lo")

#: Population groups a need or a per-1000 target refers to.
POPULATIONS: dict[str, str] = {
    "total": "常住人口 all residents",
    "elderly": "60岁及以上老年人 people aged 60+",
    "child_0_3": "0–3岁婴幼儿 children aged 0-3",
    "child_3_6": "3–6岁幼儿 children aged 3-6",
}

_SUFFIXES = (".toml", ".yaml", ".yml")
_CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LEVEL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_AMAP_CODE = re.compile(r"^[0-9]{2,6}$")
_MARK_ORDER = {"V": 0, "V2": 1, "C": 2, "R": 3}

_TOP_KEYS = (
    "id", "version", "title_zh", "title_en", "description", "extends", "drop", "drop_levels",
    "nested_levels", "nested_levels_source", "element_types", "refs", "levels", "categories",
)  # fmt: skip
#: Keys describing the file itself: not inherited through ``extends``.
_OWN_KEYS = (
    "id",
    "version",
    "title_zh",
    "title_en",
    "description",
    "extends",
    "drop",
    "drop_levels",
)
_LEVEL_KEYS = ("name_zh", "name_en", "walk_min", "distance_m", "sources", "note", "info")
_CATEGORY_KEYS = (
    "name_zh", "name_en", "level", "distance_m", "walk_min", "required", "element_type", "weight",
    "target_group", "capacity", "osm", "keywords", "exclude_keywords", "amap_types", "sources",
    "distance_source", "match_sources", "info", "note",
)  # fmt: skip
_SOURCE_KEYS = ("document", "clause", "mark", "confidence", "note")
_CAPACITY_KEYS = ("unit", "per_1000", "population", "sources", "note")
_FACT_KEYS = ("min", "max", "value", "sources", "note")

_SOURCE_EXAMPLE = '[{ document = "GB 50180-2018", clause = "附录B", mark = "R" }]'
_MARK_HELP = (
    "V = seen in the source, V2 = secondary source, C = calculated, R = recalled/unverified"
)


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
                f"bad source mark {self.mark!r}: use one of {list(MARKS)} ({_MARK_HELP})"
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
    _osm_compiled: tuple[tuple[tuple[str, bool, frozenset[str] | None], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    _names: tuple[tuple[str, ...], tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = []
        for i, flt in enumerate(self.osm):
            try:
                compiled.append(parse_osm_filter(flt))
            except ValueError as exc:
                raise ProfileError(f"category {self.id!r}: osm[{i}]: {exc}") from None
        object.__setattr__(self, "_osm_compiled", tuple(compiled))
        keep = tuple(k for k in map(_norm_text, self.keywords) if k)
        drop = tuple(k for k in map(_norm_text, self.exclude_keywords) if k)
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
        return any(_match_filter(flt, tags) for flt in self._osm_compiled)

    def matches_name(self, name: Any) -> bool:
        """True if ``name`` contains a keyword and no exclude keyword (NFKC, case-insensitive)."""
        text = _norm_text(name)
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
        raise ProfileError(_miss_message("level", id, list(self.levels), self.id))

    def category(self, id: str) -> Category:
        """The category ``id``; a :class:`ProfileError` lists the valid ids on a miss."""
        if id in self.categories:
            return self.categories[id]
        raise ProfileError(_miss_message("category", id, list(self.categories), self.id))

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
                    _miss_message(
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
# OSM tag filters
# --------------------------------------------------------------------------------------------


class _FilterError(ValueError):
    """A malformed tag filter; ``key`` is the offending OSM key (or None)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def parse_osm_filter(flt: Any) -> tuple[tuple[str, bool, frozenset[str] | None], ...]:
    """Compile one tag filter (a dict of ``key -> condition``) into ``(key, negate, values)``.

    ``values`` None means "key present" (``"*"``); ``negate`` turns it into "absent / not one of".
    Raises ``ValueError`` with a plain explanation when the filter is malformed.
    """
    if not isinstance(flt, Mapping):
        raise _FilterError(
            f'a tag filter must be a table like {{ amenity = "kindergarten" }}, not {flt!r}'
        )
    if not flt:
        raise _FilterError("empty tag filter {} would match every object")
    out = []
    for key, cond in flt.items():
        if not isinstance(key, str) or not key.strip() or any(ch in key for ch in "=|!*"):
            raise _FilterError(f"bad OSM key {key!r}: write the key alone, e.g. amenity", str(key))
        if not isinstance(cond, str):
            raise _FilterError(f"{key}: condition must be text in quotes, not {cond!r}", key)
        text = cond.strip()
        negate = text.startswith("!")
        if negate:
            text = text[1:].strip()
        if text == "*":
            out.append((key.strip(), negate, None))
            continue
        alts = [a.strip() for a in text.split("|")]
        if not text or any(not a for a in alts):
            raise _FilterError(
                f'{key} = {cond!r}: empty value; use "*" for any value or "a|b" for one of', key
            )
        if any(a == "*" or a.startswith("!") for a in alts):
            raise _FilterError(f'{key} = {cond!r}: "*" and "!" must stand alone at the start', key)
        out.append((key.strip(), negate, frozenset(alts)))
    return tuple(out)


def format_osm_filter(flt: Mapping[str, str]) -> str:
    """A filter as text: ``amenity=social_facility + social_facility=nursing_home|assisted_living``."""
    return " + ".join(f"{k}={v}" for k, v in flt.items())


def _tag_values(tags: Mapping[str, Any], key: str) -> set[str] | None:
    value = tags.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return {p.strip() for p in str(value).split(";")}


def _match_filter(
    compiled: tuple[tuple[str, bool, frozenset[str] | None], ...], tags: Mapping
) -> bool:
    for key, negate, values in compiled:
        present = _tag_values(tags, key)
        hit = present is not None and (values is None or bool(present & values))
        if hit == negate:
            return False
    return True


def _norm_text(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


# --------------------------------------------------------------------------------------------
# Reading files with the line of every key (see _located.py)
# --------------------------------------------------------------------------------------------


def _fail(loc: Locator, path: Path_, message: str) -> ProfileError:
    return located_error(loc, path, message, ProfileError)  # type: ignore[return-value]


def _read(path: Path, label: str | None = None) -> Locator:
    """Parse a TOML or YAML profile file and locate its keys."""
    file = label or str(path)
    text = read_text(path, "profile", ProfileError, label=file)
    empty = Locator(file, path, {}, {(): 1})
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _toml_syntax_error(empty, text, exc) from None
        return Locator(file, path, data, TomlPositions(text).pos)
    try:
        import yaml
    except ImportError:
        raise ProfileError(
            f"{file}: reading YAML profiles needs PyYAML: pip install pyyaml "
            "(or pip install 'lifecircle[yaml]'), or write the profile as TOML"
        ) from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        err = ProfileError(f"{file}, line {line}: YAML syntax error: {exc}")
        err.file, err.line, err.key = file, line, ""  # type: ignore[attr-defined]
        raise err from None
    pos: dict[Path_, int] = {(): 1}
    dups: list = []
    if node is not None:
        yaml_positions(node, (), pos, dups)
    loc = Locator(file, path, data if data is not None else {}, pos)
    if dups:
        kpath, first, again = dups[0]
        loc.pos[kpath] = again
        what = (
            f"duplicate category id {kpath[-1]!r}"
            if kpath[:-1] == ("categories",)
            else f"duplicate key {kpath[-1]!r}"
        )
        raise _fail(loc, kpath, f"{what} (first at line {first}, again at line {again})")
    if not isinstance(loc.data, dict):
        raise _fail(loc, (), "a profile must be a mapping of keys (id, levels, categories ...)")
    return loc


def _toml_syntax_error(loc: Locator, text: str, exc: tomllib.TOMLDecodeError) -> ProfileError:
    m = re.search(r"at line (\d+)", str(exc))
    line = int(m.group(1)) if m else 1
    # Duplicate category tables are the commonest cause of "Cannot declare ... twice".
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines() if "twice" in str(exc) else [], start=1):
        h = re.match(r"\s*\[\s*categories\s*\.\s*\"?([^\].\"]+)\"?\s*\]\s*(#.*)?$", raw)
        if h:
            cid = h.group(1).strip()
            if cid in seen:
                loc.pos[("categories", cid)] = n
                return _fail(
                    loc, ("categories", cid),
                    f"duplicate category id {cid!r} (first at line {seen[cid]}, again at line {n}): "
                    "merge the two tables or rename one",
                )  # fmt: skip
            seen[cid] = n
    err = ProfileError(f"{loc.file}, line {line}: TOML syntax error: {exc}")
    err.file, err.line, err.key = loc.file, line, ""  # type: ignore[attr-defined]
    return err


# --------------------------------------------------------------------------------------------
# Loading: extends, merge with provenance, validation, construction
# --------------------------------------------------------------------------------------------


def _norm_name(name: str) -> str:
    return re.sub(r"[\s/_]+", "", name.strip().lower())


def list_profiles() -> list[str]:
    """Names of the built-in profiles, e.g. ``["gb50180-2018", "jiaxing-yilao-yixiao", ...]``."""
    return sorted(p.stem for p in PROFILE_DIR.iterdir() if p.suffix in _SUFFIXES)


def _builtin(name: str) -> Path | None:
    want = _norm_name(name)
    for p in PROFILE_DIR.iterdir():
        if p.suffix in _SUFFIXES and _norm_name(p.stem) == want:
            return p
    return None


def _resolve_ref(ref: Any, base: Path | None) -> Path:
    """Path of a profile named by ``load_profile``'s argument or an ``extends`` value."""
    if isinstance(ref, Path) or (isinstance(ref, str) and ref.lower().endswith(_SUFFIXES)):
        p = Path(ref).expanduser()
        if not p.is_absolute() and base is not None:
            p = base / p
        if not p.exists():
            raise ProfileError(f"profile file not found: {p}")
        if p.suffix.lower() not in _SUFFIXES:
            raise ProfileError(f"{p}: a profile file must end in .toml, .yaml or .yml")
        return p
    if isinstance(ref, str):
        found = _builtin(ref)
        if found is not None:
            return found
        if Path(ref).expanduser().exists():
            return _resolve_ref(Path(ref), None)
        raise ProfileError(
            _miss_message("built-in profile", ref, list_profiles()) + "; or give a .toml/.yaml path"
        )
    raise ProfileError(
        f"load_profile: give a profile name, a .toml/.yaml path or a Profile, not {ref!r}"
    )


class _Builder:
    """Merges a chain of profile files and builds a validated :class:`Profile`."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origin: dict[Path_, Locator] = {}
        self.top: Locator | None = None

    # -- provenance ---------------------------------------------------------------------------
    def loc(self, path: Path_) -> Locator:
        for k in range(len(path), -1, -1):
            if path[:k] in self.origin:
                return self.origin[path[:k]]
        assert self.top is not None
        return self.top

    def fail(self, path: Path_, message: str) -> ProfileError:
        return _fail(self.loc(path), path, message)

    def _set(self, container: dict, path: Path_, key: str, value: Any, loc: Locator) -> None:
        container[key] = value
        full = path + (key,)
        for q in [q for q in self.origin if q[: len(full)] == full]:
            del self.origin[q]
        self.origin[full] = loc

    # -- loading the chain --------------------------------------------------------------------
    def load(self, path: Path, stack: tuple[Path, ...] = ()) -> None:
        real = path.resolve()
        if real in stack:
            chain = " → ".join(p.name for p in (*stack, real))
            raise ProfileError(f"profile files extend each other in a loop: {chain}")
        builtin = real.parent == PROFILE_DIR.resolve()
        loc = _read(path, label=f"{path.name} (built-in)" if builtin else None)
        raw = loc.data
        self.check_keys(loc, (), raw, _TOP_KEYS, "top level")
        parent = raw.get("extends")
        if parent is not None:
            if not isinstance(parent, str) or not parent.strip():
                raise _fail(
                    loc, ("extends",), "give a built-in profile name or a relative file path"
                )
            try:
                ppath = _resolve_ref(parent, path.parent)
            except ProfileError as exc:
                raise _fail(loc, ("extends",), str(exc)) from None
            self.load(ppath, stack + (real,))
        self.merge(loc)

    @staticmethod
    def _check_distance_source(loc: Locator, path: Path_, item: dict) -> None:
        """A file that sets a distance must say, in the same table, where it comes from."""
        src_key = "sources" if path[0] == "levels" else "distance_source"
        if "distance_m" in item and src_key not in item:
            raise _fail(
                loc, path + ("distance_m",),
                f"distance_m = {item['distance_m']!r} has no {src_key} in this table: say where the "
                f"number comes from, e.g. {src_key} = {_SOURCE_EXAMPLE} ({_MARK_HELP})",
            )  # fmt: skip

    def check_keys(
        self, loc: Locator | None, path: Path_, table: Any, valid: Iterable[str], what: str
    ) -> None:
        """Refuse keys not in ``valid``; ``loc`` None = blame the file that set each key."""
        if not isinstance(table, dict):
            raise _fail(
                loc or self.loc(path),
                path,
                f"expected a table of keys ({what}), got {type(table).__name__} {table!r}",
            )
        valid = list(valid)
        for key in table:
            if key not in valid:
                close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise _fail(
                    loc or self.loc(path + (str(key),)), path + (str(key),),
                    f"未知键 unknown key {key!r} in {what}: {hint}valid keys: {', '.join(valid)}",
                )  # fmt: skip

    def merge(self, loc: Locator) -> None:
        raw, data = loc.data, self.data
        first = self.top is None
        self.top = loc
        if first:
            self.origin[()] = loc
        for key in _OWN_KEYS:
            if key in data:
                del data[key]
        for key, value in raw.items():
            if key in ("levels", "categories", "refs"):
                if not isinstance(value, dict):
                    raise _fail(loc, (key,), f"expected a table of {key} by id, got {value!r}")
                into = data.setdefault(key, {})
                if (key,) not in self.origin:
                    self.origin[(key,)] = loc
                for item_id, item in value.items():
                    if key != "refs" and isinstance(item, dict):
                        self._check_distance_source(loc, (key, item_id), item)
                    if (
                        key != "refs"
                        and isinstance(item, dict)
                        and isinstance(into.get(item_id), dict)
                    ):
                        for sub, subval in item.items():  # override key by key
                            old = into[item_id].get(sub)
                            if sub == "info" and isinstance(subval, dict) and isinstance(old, dict):
                                into[item_id][sub] = dict(old)
                                for fk, fv in subval.items():  # and info fact by fact
                                    self._set(into[item_id][sub], (key, item_id, sub), fk, fv, loc)
                            else:
                                self._set(into[item_id], (key, item_id), sub, subval, loc)
                    else:  # a copy, so that overrides never write into the parent's data
                        new = dict(item) if isinstance(item, dict) else item
                        self._set(into, (key,), item_id, new, loc)
            else:
                self._set(data, (), key, value, loc)
        for key, table in (("drop", "categories"), ("drop_levels", "levels")):
            ids = raw.get(key)
            if ids is None:
                continue
            if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
                raise _fail(loc, (key,), f'give a list of ids, e.g. {key} = ["community_canteen"]')
            for k, item_id in enumerate(ids):
                current = data.get(table, {})
                if item_id not in current:
                    other = "levels" if table == "categories" else "categories"
                    extra = (
                        f" ({item_id!r} is in {other}: use "
                        f"{'drop_levels' if key == 'drop' else 'drop'})"
                        if item_id in data.get(other, {})
                        else ""
                    )
                    raise _fail(
                        loc, (key, k), _miss_message(table[:-1], item_id, list(current)) + extra
                    )
                if item_id in raw.get(table, {}):
                    raise _fail(
                        loc, (key, k), f"{item_id!r} is both dropped and defined in this file"
                    )
                del current[item_id]
                log.debug("profile %s: dropped %s %s", loc.file, table[:-1], item_id)

    # -- typed readers ------------------------------------------------------------------------
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
            refs = self.data.get("refs", {})
            if value not in refs:
                raise self.fail(path, _miss_message("source name in [refs]", value, list(refs)))
            return self.source(("refs", value), refs[value])
        if not isinstance(value, dict):
            raise self.fail(
                path,
                f"a source is {{ document = ..., clause = ..., mark = ... }} or a [refs] name, not {value!r}",
            )
        self.check_keys(None, path, value, _SOURCE_KEYS, "a source")
        mark = value.get("mark")
        if mark not in MARKS:
            raise self.fail(
                path + ("mark",), f"bad mark {mark!r}: use one of {', '.join(MARKS)} ({_MARK_HELP})"
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
                    f"missing: say where this comes from, e.g. {path[-1]} = {_SOURCE_EXAMPLE} ({_MARK_HELP})",
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
        out = {}
        for key, fv in value.items():
            fp = path + (key,)
            self.check_keys(
                None, fp, fv, _FACT_KEYS, f"info.{key} (e.g. {{ min = 350, max = 750 }})"
            )
            if "value" in fv and ("min" in fv or "max" in fv):
                raise self.fail(fp, "give either value or min/max, not both")
            lo = fv.get("value", fv.get("min"))
            hi = fv.get("value", fv.get("max"))
            if lo is None and hi is None:
                raise self.fail(fp, "give value, min or max")
            lo = (
                None
                if lo is None
                else self.number(fp + ("min" if "min" in fv else "value",), lo, positive=False)
            )
            hi = (
                None
                if hi is None
                else self.number(fp + ("max" if "max" in fv else "value",), hi, positive=False)
            )
            if lo is not None and hi is not None and lo > hi:
                raise self.fail(fp, f"min {lo:g} is larger than max {hi:g}")
            srcs = fv.get("sources", default_sources)
            out[key] = Fact(
                key,
                lo,
                hi,
                self.sources(fp + ("sources",), srcs, required=True),
                self.text(fp + ("note",), fv.get("note")),
            )
        return out

    # -- building -----------------------------------------------------------------------------
    def build(self) -> Profile:
        d = self.data
        top = self.top
        assert top is not None
        pid = self.text(("id",), d.get("id"), default=top.path.stem if top.path else "profile")
        levels_raw = d.get("levels")
        if not levels_raw:
            raise self.fail(
                ("levels",), "missing: a profile needs at least one level, e.g. [levels.L5]"
            )
        levels: dict[str, Level] = {}
        for lid, lv in levels_raw.items():
            lp = ("levels", lid)
            if not _LEVEL_ID.match(str(lid)):
                raise self.fail(
                    lp, f"level id {lid!r} must start with a letter and use letters, digits, _"
                )
            self.check_keys(None, lp, lv, _LEVEL_KEYS, f"level {lid}")
            dist = lv.get("distance_m")
            walk = lv.get("walk_min")
            levels[lid] = Level(
                id=lid,
                name_zh=self.text(lp + ("name_zh",), lv.get("name_zh"), required=True),
                name_en=self.text(lp + ("name_en",), lv.get("name_en"), default=lid),
                walk_min=None
                if walk is None
                else self.number(lp + ("walk_min",), walk, what="number of minutes"),
                distance_m=None
                if dist is None
                else self.number(lp + ("distance_m",), dist, what="distance in metres"),
                sources=self.sources(lp + ("sources",), lv.get("sources"), required=True),
                note=self.text(lp + ("note",), lv.get("note")),
                info=self.info(lp + ("info",), lv.get("info"), lv.get("sources")),
            )
        for name, ref in d.get("refs", {}).items():
            self.source(("refs", name), ref)
        element_types = self.texts(("element_types",), d.get("element_types"))
        cats_raw = d.get("categories")
        if not cats_raw:
            raise self.fail(
                ("categories",),
                "missing: a profile needs at least one category, e.g. [categories.kindergarten]",
            )
        cats = {cid: self.category(cid, cv, levels, element_types) for cid, cv in cats_raw.items()}
        nested = d.get("nested_levels", False)
        if not isinstance(nested, bool):
            raise self.fail(("nested_levels",), f"expected true or false, got {nested!r}")
        return Profile(
            id=pid,
            version=str(d.get("version", "")),
            title_zh=self.text(("title_zh",), d.get("title_zh"), default=pid),
            title_en=self.text(("title_en",), d.get("title_en"), default=pid),
            levels=levels,
            categories=cats,
            nested_levels=nested,
            path=top.path,
            nested_levels_source=self.sources(
                ("nested_levels_source",), d.get("nested_levels_source")
            ),
            element_types=element_types,
            description=self.text(("description",), d.get("description")),
            extends=top.data.get("extends"),
        )

    def category(
        self, cid: str, cv: Any, levels: dict[str, Level], element_types: tuple[str, ...]
    ) -> Category:
        cp: Path_ = ("categories", cid)
        if not isinstance(cid, str) or not _CATEGORY_ID.match(cid):
            raise self.fail(
                cp,
                f"category id {cid!r} must be snake_case: lower-case letters, digits and _ (e.g. elderly_daycare)",
            )
        self.check_keys(None, cp, cv, _CATEGORY_KEYS, f"category {cid}")
        lid = self.text(cp + ("level",), cv.get("level"), required=True)
        if lid not in levels:
            raise self.fail(cp + ("level",), _miss_message("level", lid, list(levels)))
        lvl = levels[lid]
        if "distance_m" in cv:
            dist = self.number(cp + ("distance_m",), cv["distance_m"], what="distance in metres")
            dsrc = self.sources(cp + ("distance_source",), cv.get("distance_source"), required=True)
            inherited = False
        else:
            if lvl.distance_m is None:
                raise self.fail(
                    cp + ("distance_m",),
                    f"missing threshold: category {cid!r} sets no distance_m and its level {lid!r} has none; "
                    f"add distance_m (metres) with distance_source to the category or the level",
                )
            if "distance_source" in cv:
                raise self.fail(
                    cp + ("distance_source",),
                    "distance_source without distance_m: set both or neither",
                )
            dist, dsrc, inherited = lvl.distance_m, lvl.sources, True
        walk = cv.get("walk_min")
        etype = self.text(cp + ("element_type",), cv.get("element_type"))
        if element_types and etype and etype not in element_types:
            close = difflib.get_close_matches(etype, element_types, n=1, cutoff=0.3)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.fail(
                cp + ("element_type",),
                f"unknown element_type {etype!r}: {hint}this profile allows {', '.join(element_types)}",
            )
        target = self.text(cp + ("target_group",), cv.get("target_group"), default="total")
        if target not in POPULATIONS:
            raise self.fail(
                cp + ("target_group",), _miss_message("target_group", target, list(POPULATIONS))
            )
        required = cv.get("required", True)
        if not isinstance(required, bool):
            raise self.fail(
                cp + ("required",),
                f"expected true (▲ 应配建) or false (△ 宜配建), got {required!r}",
            )
        osm = self.osm(cp + ("osm",), cv.get("osm"))
        keywords = self.texts(cp + ("keywords",), cv.get("keywords"))
        amap = self.amap(cp + ("amap_types",), cv.get("amap_types"))
        if not (osm or keywords or amap):
            set_here = [
                cp + (k,) for k in ("osm", "keywords", "amap_types") if cp + (k,) in self.origin
            ]
            raise self.fail(
                set_here[-1] if set_here else cp,
                f"category {cid!r} has no way to identify facilities: give osm tag filters, keywords or amap_types",
            )
        return Category(
            id=cid,
            name_zh=self.text(cp + ("name_zh",), cv.get("name_zh"), required=True),
            name_en=self.text(cp + ("name_en",), cv.get("name_en"), default=cid.replace("_", " ")),
            level=lid,
            distance_m=dist,
            walk_min=lvl.walk_min
            if walk is None
            else self.number(cp + ("walk_min",), walk, what="number of minutes"),
            required=required,
            element_type=etype,
            weight=self.number(
                cp + ("weight",), cv.get("weight", 1.0), positive=False, what="weight"
            ),
            target_group=target,
            capacity=self.capacity(cp + ("capacity",), cv.get("capacity")),
            osm=osm,
            keywords=keywords,
            exclude_keywords=self.texts(cp + ("exclude_keywords",), cv.get("exclude_keywords")),
            amap_types=amap,
            sources=self.sources(cp + ("sources",), cv.get("sources"), required=True),
            distance_source=dsrc,
            match_sources=self.sources(cp + ("match_sources",), cv.get("match_sources")),
            info=self.info(cp + ("info",), cv.get("info"), cv.get("sources")),
            note=self.text(cp + ("note",), cv.get("note")),
            distance_inherited=inherited,
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
        out = []
        for k, cv in enumerate(value):
            p = path + (k,)
            self.check_keys(None, p, cv, _CAPACITY_KEYS, "a capacity target")
            if "per_1000" not in cv:
                raise self.fail(p + ("per_1000",), "missing: the target per 1000 people")
            pop = self.text(p + ("population",), cv.get("population"), default="total")
            if pop not in POPULATIONS:
                raise self.fail(
                    p + ("population",), _miss_message("population", pop, list(POPULATIONS))
                )
            out.append(
                Capacity(
                    unit=self.text(p + ("unit",), cv.get("unit"), required=True),
                    per_1000=self.number(
                        p + ("per_1000",), cv["per_1000"], what="number per 1000 people"
                    ),
                    population=pop,
                    sources=self.sources(p + ("sources",), cv.get("sources"), required=True),
                    note=self.text(p + ("note",), cv.get("note")),
                )
            )
        return tuple(out)

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
            except _FilterError as exc:
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


def load_profile(name_or_path: str | Path | Profile) -> Profile:
    """Load a standard profile by built-in name or from a TOML/YAML file.

    Parameters
    ----------
    name_or_path : str, Path or Profile
        A built-in name (see :func:`list_profiles`: ``"gb50180-2018"``, ``"tdt1062-2021"``,
        ``"jiaxing-yilao-yixiao"``), a path to a ``.toml``/``.yaml`` file, or a Profile (returned
        as is).

    Returns
    -------
    Profile
        Levels and categories with distance thresholds in metres and their sources.

    Raises
    ------
    ProfileError
        If the name is unknown or the file is invalid; the message names the file, key and line,
        also available as the error's ``file``, ``key`` and ``line`` attributes.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    path = _resolve_ref(name_or_path, None)
    builder = _Builder()
    builder.load(path)
    profile = builder.build()
    log.info(
        "loaded profile %s: %d levels, %d categories (%s)",
        profile.id, len(profile.levels), len(profile.categories), path,
    )  # fmt: skip
    return profile


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _miss_message(what: str, name: Any, valid: list[str], where: str = "") -> str:
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
