"""OSM tag filters of a profile's categories: parse, format and match.

A filter is a table of ``key = "condition"`` pairs, all of which must hold: ``"x"`` (the value is
x), ``"a|b"`` (one of), ``"*"`` (key present), ``"!x"`` (not x, or absent), ``"!*"`` (absent). A
tag value holding several values separated by ``;`` matches if any part matches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: A parsed filter: ``(key, negate, values)`` per condition; ``values`` None = "key present".
CompiledFilter = tuple[tuple[str, bool, frozenset[str] | None], ...]


class OsmFilterError(ValueError):
    """A malformed tag filter; ``key`` is the offending OSM key (or None)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def parse_osm_filter(flt: Any) -> CompiledFilter:
    """Compile one tag filter (a dict of ``key -> condition``) into ``(key, negate, values)``.

    ``values`` None means "key present" (``"*"``); ``negate`` turns it into "absent / not one of".
    Raises ``ValueError`` with a plain explanation when the filter is malformed.
    """
    if not isinstance(flt, Mapping):
        raise OsmFilterError(
            f'a tag filter must be a table like {{ amenity = "kindergarten" }}, not {flt!r}'
        )
    if not flt:
        raise OsmFilterError("empty tag filter {} would match every object")
    return tuple(_condition(key, cond) for key, cond in flt.items())


def _condition(key: Any, cond: Any) -> tuple[str, bool, frozenset[str] | None]:
    """One ``key = "condition"`` pair of a filter, parsed."""
    if not isinstance(key, str) or not key.strip() or any(ch in key for ch in "=|!*"):
        raise OsmFilterError(f"bad OSM key {key!r}: write the key alone, e.g. amenity", str(key))
    if not isinstance(cond, str):
        raise OsmFilterError(f"{key}: condition must be text in quotes, not {cond!r}", key)
    text = cond.strip()
    negate = text.startswith("!")
    if negate:
        text = text[1:].strip()
    if text == "*":
        return (key.strip(), negate, None)
    alts = [a.strip() for a in text.split("|")]
    if not text or any(not a for a in alts):
        raise OsmFilterError(
            f'{key} = {cond!r}: empty value; use "*" for any value or "a|b" for one of', key
        )
    if any(a == "*" or a.startswith("!") for a in alts):
        raise OsmFilterError(f'{key} = {cond!r}: "*" and "!" must stand alone at the start', key)
    return (key.strip(), negate, frozenset(alts))


def format_osm_filter(flt: Mapping[str, str]) -> str:
    """A filter as text: ``amenity=social_facility + social_facility=nursing_home|assisted_living``."""
    return " + ".join(f"{k}={v}" for k, v in flt.items())


def _tag_values(tags: Mapping[str, Any], key: str) -> set[str] | None:
    value = tags.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return {p.strip() for p in str(value).split(";")}


def match_osm_filter(compiled: CompiledFilter, tags: Mapping[str, Any]) -> bool:
    """True if OSM ``tags`` satisfy every condition of a filter from :func:`parse_osm_filter`.

    Missing, ``None`` and NaN values count as absent.
    """
    for key, negate, values in compiled:
        present = _tag_values(tags, key)
        hit = present is not None and (values is None or bool(present & values))
        if hit == negate:
            return False
    return True
