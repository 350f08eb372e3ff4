"""The parameters of an analysis, checked once and kept with its results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .. import settings
from .._errors import InputError
from ..speeds import walking_speed
from ..standards import Category, Profile
from .datastatus import DATA_GAP_RADIUS_M


@dataclass(frozen=True)
class AnalysisParams:
    """What an analysis ran with. Build it with :meth:`build`, which checks every value.

    Attributes
    ----------
    speed : ``None`` (the standard's distances), a speed profile name or a speed in m/s.
    speed_m_per_s : the speed in m/s, ``None`` in standard mode.
    min_covered_share : a community meets a category's distance standard when at least this
        share of its target residents lives within the threshold.
    target_share : the campaign's target share of communities meeting the standard.
    max_snap_m : demand points and facilities farther than this from the network are left out.
    categories : the profile's category ids analysed, in profile order.
    complete_categories : categories whose facility list the user states is complete: where
        none is near, the absence is real (``confirmed_absent``), not a data gap.
    data_gap_radius_m : a street none of whose residents has a facility of a category within
        this straight distance, while other streets have them, is a data gap (default 3 km).
    share_of : the communities the target share is counted over: ``"urban"`` (城镇社区, the
        campaign's target, default), ``"village"`` (村) or ``"all"``.
    """

    speed: str | float | None
    speed_m_per_s: float | None
    min_covered_share: float
    target_share: float
    max_snap_m: float
    categories: tuple[str, ...]
    complete_categories: tuple[str, ...] = ()
    data_gap_radius_m: float = DATA_GAP_RADIUS_M
    share_of: str = "urban"

    @classmethod
    def build(
        cls,
        profile: Profile,
        *,
        categories: list[str] | None = None,
        levels: list[str] | None = None,
        speed: str | float | None = None,
        min_covered_share: float = 0.8,
        target_share: float = 0.6,
        max_snap_m: float | None = None,
        complete_categories: list[str] | bool | None = None,
        data_gap_radius_m: float = DATA_GAP_RADIUS_M,
        share_of: str = "urban",
    ) -> AnalysisParams:
        """Check the parameters against ``profile``; ``max_snap_m=None`` reads the default from
        :data:`lifecircle.settings.max_snap_m` once, here."""
        if not 0 < min_covered_share <= 1:
            raise InputError(f"min_covered_share must be in (0, 1], got {min_covered_share}")
        if not 0 < target_share <= 1:
            raise InputError(f"target_share must be in (0, 1], got {target_share}")
        snap = settings.max_snap_m if max_snap_m is None else max_snap_m
        if not (isinstance(snap, (int, float)) and math.isfinite(snap) and snap > 0):
            raise InputError(f"max_snap_m must be a distance in metres > 0, got {max_snap_m!r}")
        speed_m_per_s = None if speed is None else walking_speed(speed)[1]
        if not (isinstance(data_gap_radius_m, (int, float)) and data_gap_radius_m > 0):
            raise InputError(f"data_gap_radius_m must be metres > 0, got {data_gap_radius_m!r}")
        if share_of not in ("urban", "village", "all"):
            raise InputError(f"share_of must be 'urban', 'village' or 'all', got {share_of!r}")
        cat_ids = tuple(_category_ids(profile, categories, levels))
        return cls(
            speed=speed,
            speed_m_per_s=speed_m_per_s,
            min_covered_share=float(min_covered_share),
            target_share=float(target_share),
            max_snap_m=float(snap),
            categories=cat_ids,
            complete_categories=_complete(profile, complete_categories, cat_ids),
            data_gap_radius_m=float(data_gap_radius_m),
            share_of=share_of,
        )

    def thresholds(self, profile: Profile) -> dict[str, float]:
        """Walking distance (metres) each category allows: the profile's distance in standard
        mode, else the level's (or category's) minutes × 60 × the speed."""
        out = {}
        for cid in self.categories:
            c = profile.categories[cid]
            walk_min = c.walk_min if c.walk_min is not None else profile.levels[c.level].walk_min
            if self.speed_m_per_s is not None and walk_min:
                out[cid] = float(walk_min) * 60.0 * self.speed_m_per_s
            else:
                out[cid] = float(c.distance_m)
        return out

    def category_list(self, profile: Profile) -> list[Category]:
        """The analysed categories of ``profile``, in order."""
        return [profile.categories[c] for c in self.categories]


def _complete(profile: Profile, complete: Any, cat_ids: tuple[str, ...]) -> tuple[str, ...]:
    if complete is None or complete is False:
        return ()
    if complete is True:
        return cat_ids
    unknown = [c for c in complete if c not in profile.categories]
    if unknown:
        raise InputError(
            f"complete_categories: unknown categories {unknown}; the profile {profile.id} has "
            f"{list(profile.categories)}"
        )
    return tuple(c for c in cat_ids if c in set(complete))


def _category_ids(profile: Profile, categories: Any, levels: Any) -> list[str]:
    cat_ids = list(profile.categories)
    if categories is not None:
        unknown = [c for c in categories if c not in profile.categories]
        if unknown:
            raise InputError(
                f"unknown categories {unknown}; the profile {profile.id} has {cat_ids}"
            )
        cat_ids = [c for c in cat_ids if c in set(categories)]
    if levels is not None:
        unknown = [lv for lv in levels if lv not in profile.levels]
        if unknown:
            raise InputError(
                f"unknown levels {unknown}; the profile {profile.id} has {list(profile.levels)}"
            )
        cat_ids = [c for c in cat_ids if profile.categories[c].level in set(levels)]
    if not cat_ids:
        raise InputError("no categories left to analyse")
    return cat_ids
