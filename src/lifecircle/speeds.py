"""Walking speeds, read in one place: a profile name (``"adult"``, ``"elderly"``, ``"child"``, see
:data:`lifecircle.settings.walk_speeds_m_per_s`) or a number of metres per second.

Sources of the built-in speeds: ``docs/concepts.md`` (MUTCD design pedestrian 1.2 m/s; the 15th
percentile of people over 60 about 0.92 m/s; 0.8 m/s for a child with a carer, an assumption).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import settings
from ._errors import InputError

#: Plausible walking speeds (m/s): anything outside is a unit mistake (km/h, m/min) or a typo.
MIN_M_PER_S = 0.2
MAX_M_PER_S = 3.0


#: A walking speed: a profile name ("adult", "elderly", "child") or metres per second.
Speed = str | float
#: One speed, a list of speeds, or ``{name: speed}``: the speed profiles of isochrones.
Speeds = Speed | Sequence[Speed] | Mapping[str, Speed]


def walking_speed(
    value: object, what: str = "speed", known: Mapping[str, float] | None = None
) -> tuple[str | float, float]:
    """``(label, metres per second)`` of a speed given by profile name or in m/s.

    The label is the profile name, or the number given. ``known`` defaults to
    :data:`lifecircle.settings.walk_speeds_m_per_s`. Raises :class:`~lifecircle.InputError` for an
    unknown name or a speed outside 0.2–3 m/s.
    """
    table = settings.walk_speeds_m_per_s if known is None else known
    if isinstance(value, str):
        if value not in table:
            raise InputError(
                f"unknown speed profile {value!r}; known: {', '.join(sorted(table))} "
                "(lifecircle.settings.walk_speeds_m_per_s), or give a speed in m/s"
            )
        return value, _check(table[value], f"{what} {value!r}")
    v = _check(value, what)
    return v, v


def _check(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number of metres per second, got {value!r}") from None
    if not (math.isfinite(v) and MIN_M_PER_S <= v <= MAX_M_PER_S):
        raise InputError(
            f"{what} = {value!r} m/s is not a walking speed: give a positive number between "
            f"{MIN_M_PER_S:g} and {MAX_M_PER_S:g} m/s (1.2 is an adult's pace, 0.9 an older "
            "person's), or a profile name"
        )
    return v
