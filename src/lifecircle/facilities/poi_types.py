"""POI rows as Amap/Baidu export them: provider type tags, entrances, parts of a facility.

* :func:`load_poi_types` reads the tag → category table (``poi_types.toml`` beside this module,
  or a user's copy): the provider's own type decides first, the name second.
* :func:`split_gate` recognises an entrance listed as its own POI (``上海市杨浦区世界小学-东门``,
  ``XX小区-南门``, ``西区-15号门``) and gives the parent's name.
* :func:`part_of` recognises a department or building of a facility listed as its own POI
  (``XX社区卫生服务中心-内科``, ``XX医院-门诊部``), which is not a second facility; the
  endings that say so are data too (``[names]`` in the table).
* :func:`name_categories` matches names by the facility type they end with, so that
  ``社区医院便民药房`` is a pharmacy, not a community hospital; the type words of every category
  of a base standard (``rank_over`` in ``[names]``) take part, so that ``幼儿园路小学`` is no
  kindergarten even for a profile without primary schools.
* :func:`brand_categories` recognises a chain by its brand at the start of a name
  (``全家FamilyMart(徐家汇店)`` is a 便利店; ``[brands]`` in the table).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import InputError, ProfileError
from .._text import compact

#: The table shipped with lifecircle.
DEFAULT_TYPES = Path(__file__).with_name("poi_types.toml")

_BRACKETS = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_GATE = re.compile(
    r"^(?:[东南西北]{1,2}|正|侧|后|前|主|次|大|小|[东南西北]?侧|[a-z0-9一二三四五六七八九十]+号?)?"
    r"(?:[东南西北]{0,2}(?:大门|门|门岗|出入口|入口|出口|进口|门卫)|[东南西北]?[0-9一二三四五六七八九十]*号?门)$"
)
_SEP = re.compile(r"[-—–－_·|]")
_BRAND_NEXT = re.compile(r"$|[(\[（【\-—–－_·|\s]|[a-z]|便利")


@dataclass(frozen=True)
class TagRule:
    """What a provider type tag says: ``is`` categories, name ``among`` them, or an entrance."""

    tag: str
    decides: tuple[str, ...] | None  # None: the name picks
    among: tuple[str, ...] | None
    gate: bool = False


@dataclass(frozen=True)
class PoiTypes:
    """Provider type tags (compacted) and their rules; :meth:`rule` finds the one for a tag."""

    rules: dict[str, TagRule]
    path: str
    part_endings: tuple[str, ...] = ()  # a department or building of a facility (科, 门诊部 ...)
    other_endings: tuple[str, ...] = ()  # after the type word: the POI is something else (路, 公司)
    community_words: tuple[str, ...] = ()  # 社区, 村: a community named before the type word ...
    community_types: dict[str, str] | None = None  # ... makes these type words this category
    gate_parent_endings: tuple[str, ...] = ()  # 园, 校, 小区: a gate word may follow without "-"
    rank_over: str = ""  # a standard whose categories' type words all compete for a name's type
    brands: dict[str, tuple[str, ...]] | None = None  # category id → brands that start a name
    outrank: dict[str, tuple[str, ...]] | None = (
        None  # 卫生室 → (门诊, 诊所) after a community word
    )
    end_types: dict[str, tuple[str, ...]] | None = None  # category id → words only at a name's end

    def rivals(self) -> list[Any]:
        """The categories of the ``rank_over`` standard (none when it is not set)."""
        return list(_standard_categories(self.rank_over)) if self.rank_over else []

    def rule(self, tag: Any) -> TagRule | None:
        """The rule of the longest listed prefix of ``tag`` (``"医疗;诊所;x"`` → ``"医疗;诊所"``)."""
        text = compact(tag).replace("；", ";")
        if not text:
            return None
        parts = [p for p in re.split(r"[;|]", text) if p]
        for n in range(len(parts), 0, -1):
            found = self.rules.get(";".join(parts[:n]))
            if found is not None:
                return found
        return None


def load_poi_types(path: str | Path | None = None) -> PoiTypes:
    """Read a tag → category table (default: the one shipped, ``facilities/poi_types.toml``).

    Each entry of ``[tags]`` is ``"<tag>" = { is = [ids] }`` (the tag decides),
    ``{ among = [ids] }`` (the name picks among these categories) or ``{ gate = true }``.
    ``[names]`` holds ``part_endings``, ``other_endings``, ``gate_parent_endings`` (a place
    ending, 园 or 小区, that a gate word may follow without a ``-``), ``rank_over`` (a standard
    whose categories' type words all compete for the word a name ends with) and
    ``[names.community]``: ``words`` (社区, 村) that, before one of the type words in ``types``,
    make the name that community's own centre (``{ "养老服务中心" = "elderly_daycare" }``), and
    ``outrank`` (``{ "卫生室" = ["门诊"] }``: after a community word, 卫生室 ranks over a later
    门诊); ``[names.end_types]`` maps a category id to words that count only at a name's end
    (``convenience_store = ["便利"]``).
    ``[brands]`` maps a category id to chain brands that name it (``convenience_store = ["全家"]``).
    """
    file = Path(path) if path is not None else DEFAULT_TYPES
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{file}: cannot read the POI type table: {exc}") from None
    rules: dict[str, TagRule] = {}
    for tag, spec in data.get("tags", {}).items():
        if not isinstance(spec, dict) or not ({"is", "among", "gate"} & spec.keys()):
            raise InputError(
                f"{file}: tag {tag!r} needs is = [...], among = [...] or gate = true, got {spec!r}"
            )
        decides = tuple(spec["is"]) if "is" in spec else None
        among = tuple(spec["among"]) if "among" in spec else None
        rules[compact(tag)] = TagRule(tag, decides, among, bool(spec.get("gate", False)))
    names = data.get("names", {})
    community = names.get("community", {})
    return PoiTypes(
        rules,
        str(file),
        tuple(map(compact, names.get("part_endings", ()))),
        tuple(map(compact, names.get("other_endings", ()))),
        tuple(map(compact, community.get("words", ()))),
        {compact(k): str(v) for k, v in community.get("types", {}).items()},
        tuple(map(compact, names.get("gate_parent_endings", ()))),
        str(names.get("rank_over", "")),
        {str(k): tuple(map(compact, v)) for k, v in data.get("brands", {}).items()},
        {compact(k): tuple(map(compact, v)) for k, v in community.get("outrank", {}).items()},
        {str(k): tuple(map(compact, v)) for k, v in names.get("end_types", {}).items()},
    )


@functools.cache
def _standard_categories(ref: str) -> tuple[Any, ...]:
    """The categories of a standard profile (a built-in name or a path), read once."""
    from ..standards import load_profile

    try:
        return tuple(load_profile(ref).categories.values())
    except (ProfileError, OSError) as exc:  # say which table named it
        raise InputError(f"POI type table: rank_over = {ref!r} cannot be loaded: {exc}") from None


@functools.cache
def default_poi_types() -> PoiTypes:
    """The shipped table (read once)."""
    return load_poi_types()


def poi_types_from(value: Any) -> PoiTypes:
    """A :class:`PoiTypes` from ``None`` (the shipped table), a path, or a :class:`PoiTypes`."""
    if value is None:
        return default_poi_types()
    if isinstance(value, PoiTypes):
        return value
    return load_poi_types(value)


def _tail(name: str) -> tuple[str, str]:
    """``(base, tail)`` split at the last separator (``-``), brackets removed; tail "" if none."""
    text = _BRACKETS.sub("", compact(name))
    parts = _SEP.split(text)
    if len(parts) < 2 or not parts[-1] or not "".join(parts[:-1]):
        return text, ""
    return "-".join(parts[:-1]), parts[-1]


def split_gate(name: Any, types: PoiTypes | None = None) -> tuple[str, str] | None:
    """``(parent name, gate)`` when ``name`` is an entrance POI, else None.

    ``"上海市杨浦区世界小学-东门"`` → ``("上海市杨浦区世界小学", "东门")``; also ``(南门)`` in
    brackets and ``"-3号出入口"``; without a separator when the gate word follows one of the
    ``gate_parent_endings`` of ``types`` (default: the shipped table): ``"爱弥儿幼儿园东门"`` →
    ``("爱弥儿幼儿园", "东门")``. A name that only *contains* 门 (``南门小学``) is no gate.
    """
    raw = compact(name)
    if not raw:
        return None
    m = re.search(r"[(（]([^()（）]*)[)）]$", raw)
    if m and _GATE.match(m.group(1)):
        return raw[: m.start()], m.group(1)
    base, tail = _tail(raw)
    if tail and _GATE.match(tail):
        return base, tail
    return _glued_gate(_BRACKETS.sub("", raw) or raw, types or default_poi_types())


def _glued_gate(text: str, types: PoiTypes) -> tuple[str, str] | None:
    """``(parent, gate)`` of a gate word glued to a place ending (``XX幼儿园东门``), else None:
    the shortest gate tail whose rest ends with one of ``types.gate_parent_endings``."""
    ends = types.gate_parent_endings
    if not ends or not text.endswith(("门", "口", "门卫", "门岗")):
        return None
    for i in range(1, min(len(text), 7)):
        head, tail = text[:-i], text[-i:]
        if len(head) >= 2 and head.endswith(ends) and _GATE.match(tail):
            return head, tail
    return None


def _after_type(name: Any, cats: Sequence[Any]) -> tuple[str, str, str]:
    """``(base, separator tail, text after the last type keyword of cats)`` of a name."""
    base, tail = _tail(name)
    text = base if not tail else f"{base}-{tail}"
    words = tuple(k for c in cats for k in map(compact, c.keywords) if k)
    end = _last_end(text, words)
    return base, tail, text[end:] if 0 < end < len(text) else ""


def part_of(name: Any, types: PoiTypes, cats: Sequence[Any] = ()) -> str | None:
    """The parent's name when ``name`` is a part of a facility, else None.

    A part ends with a department or building word (``part_endings`` of ``types``) after a
    ``-`` (``XX卫生院-门诊部``) or after the type keyword of one of ``cats``
    (``XX社区卫生服务站口腔科``, ``XX社区卫生服务中心中医理疗区``).
    """
    base, tail, after = _after_type(name, cats)
    if not types.part_endings:
        return None
    if tail and tail.endswith(types.part_endings):
        return base
    if after and after.endswith(types.part_endings):
        return compact(name)[: -len(after)] or base
    return None


def _last_end(text: str, words: tuple[str, ...]) -> int:
    return max((text.rfind(w) + len(w) for w in words if w in text), default=-1)


def name_categories(name: Any, cats: list[Any], rivals: Sequence[Any] = ()) -> list[Any]:
    """Categories whose keywords ``name`` matches, keeping those whose keyword ends last.

    A Chinese name ends with its type (``社区医院便民药房`` is a 药房, ``超市`` in
    ``便利超市`` ...): when several categories match, those whose keyword ends latest win; a
    bracketed branch (``(丈八东路店)``) is ignored. The keywords of ``rivals`` (categories of a
    base standard that the profile may lack) compete too: when one of them ends later, no
    category of ``cats`` is the name's type (``幼儿园路小学`` is a 小学, not a 幼儿园).
    """
    text = _BRACKETS.sub("", compact(name)) or compact(name)
    hits = [c for c in cats if c.keywords and c.matches_name(text)]
    if not hits or (len(hits) < 2 and not rivals):
        return hits
    ends = {c.id: _last_end(text, tuple(k for k in map(compact, c.keywords) if k)) for c in hits}
    best = max(ends.values())
    own = {c.id for c in cats}
    for r in rivals:
        if r.keywords and r.id not in own and r.matches_name(text):
            if _last_end(text, tuple(k for k in map(compact, r.keywords) if k)) > best:
                return []
    return [c for c in hits if ends[c.id] == best]


def brand_categories(name: Any, cats: Sequence[Any], types: PoiTypes) -> list[Any]:
    """Categories of ``cats`` named by a chain brand that starts ``name`` (``[brands]`` of the
    table): the brand must be followed by the end, a bracket or separator, a Latin word or 便利
    (``全家FamilyMart(徐家汇店)``, ``罗森(南京西路店)``), not by more Chinese (``全家福照相馆``)."""
    text = compact(name)
    out = []
    for c in cats:
        for brand in (types.brands or {}).get(c.id, ()):
            rest = text[len(brand) :]
            if brand and text.startswith(brand) and _BRAND_NEXT.match(rest):
                out.append(c)
                break
    return out


def _outranked(name: str, types: PoiTypes) -> str:
    """``name`` cut after a type word that outranks the later one it ends with (``outrank`` of
    ``[names.community]``) when a community word comes before it: ``西营村第二卫生室中西医门诊``
    → ``西营村第二卫生室``; else ``name`` unchanged (``卫生室小娟门诊`` names no community)."""
    text = _BRACKETS.sub("", compact(name)) or compact(name)
    for word, later in (types.outrank or {}).items():
        i = text.rfind(word)
        j = i + len(word)
        if i > 0 and later and text[j:].endswith(later):
            if any(w in text[:i] for w in types.community_words):
                return text[:j]
    return name


def _end_categories(name: str, cats: Sequence[Any], types: PoiTypes) -> list[Any]:
    """Categories of ``cats`` whose ``end_types`` word ends ``name`` (brackets removed) after
    something else, no exclude keyword of the category in it (``唐久便利(亲贤北街店)``)."""
    text = _BRACKETS.sub("", compact(name)) or compact(name)
    out = []
    for c in cats:
        words = (types.end_types or {}).get(c.id, ())
        if any(w and len(text) > len(w) and text.endswith(w) for w in words):
            if not any(k and k in text for k in map(compact, c.exclude_keywords)):
                out.append(c)
    return out


def _community_centre(
    name: Any, cs: list[Any], allowed: Sequence[Any], types: PoiTypes
) -> list[Any]:
    """``cs`` with a community's own centre put right: when the keyword the name ends with is one
    of ``community_types`` (``养老服务中心``) and a community word (``社区``, ``村``) comes before
    it, the category that table gives (``XX社区居民养老服务中心`` is the community's day-care
    centre, not a care home); else ``cs`` unchanged."""
    if not cs or not types.community_types or not types.community_words:
        return cs
    text = _BRACKETS.sub("", compact(name)) or compact(name)
    words = tuple(k for c in cs for k in map(compact, c.keywords) if k)
    end = _last_end(text, words)
    for word, category in types.community_types.items():
        start = end - len(word)
        if (
            start >= 0
            and text[start:end] == word
            and any(w in text[:start] for w in types.community_words)
        ):
            return [c for c in allowed if c.id == category] or cs
    return cs


def categorise_poi(
    name: str | None, tag: str | None, cats: list[Any], types: PoiTypes
) -> tuple[list[Any], str]:
    """Categories of a POI from its provider ``tag`` first, its name second, and the rule used.

    Rules: ``"gate"`` (an entrance: no category), ``"part"`` (a department or building of a
    facility: no category), ``"tag"`` (the tag decides), ``"tag+name"`` (the name picks among
    the tag's categories), ``"tag:none"`` (the tag says no category), ``"keyword"`` (no
    usable tag: the name alone), ``""`` (nothing matched).
    """
    rule = types.rule(tag) if tag else None
    if (rule is not None and rule.gate) or (name and split_gate(name, types)):
        return [], "gate"
    if name and part_of(name, types, cats):
        return [], "part"
    if rule is not None and rule.decides is not None:
        cs = [c for c in cats if c.id in rule.decides]
        return cs, "tag" if cs else "tag:none"
    allowed = cats if rule is None else [c for c in cats if c.id in (rule.among or ())]
    cs = (
        name_categories(_outranked(name, types), allowed, types.rivals())
        if name and allowed
        else []
    )
    if not cs and name and allowed and types.end_types:
        cs = _end_categories(name, allowed, types)
    if not cs and name and allowed and types.brands:
        cs = brand_categories(name, allowed, types)
    cs = _community_centre(name, cs, allowed, types)
    if cs and types.other_endings:
        after = _after_type(name, cs)[2]
        if after and after.endswith(types.other_endings):
            cs = []  # 幼儿园路公交站, 卫生室设备公司: named after a facility, not one
    if rule is None:
        return cs, "keyword" if cs else ""
    return cs, "tag+name" if cs else "tag:none"
