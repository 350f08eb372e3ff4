"""Project ids: the same gap gets the same id in every run (see :func:`project_id`).

The analysis names its projects (so each shortfall can say which project answers it); the reserve
pool (:mod:`lifecircle.outputs.pool`) stores them under the same ids."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._errors import InputError
from .._text import is_missing
from ..crs import WGS84, metric_crs_for, transformer

#: Grid (metres, in the CGCS2000 Gauss-Krüger / UTM zone of the point) that proposed-site
#: locations are snapped to before hashing them into a project id.
GRID_M = 50.0


def metric_xy(lon: float, lat: float, at: tuple[float, float] | None = None) -> tuple[float, float]:
    """(lon, lat) in lifecircle's metric CRS of the point ``at`` (default: of the point itself)."""
    crs = metric_crs_for(*(at or (lon, lat)))
    return transformer(WGS84, crs).transform(lon, lat)


def _key(value: object) -> str:
    return "" if is_missing(value) else str(value).strip()


def _keys(values: Sequence[object]) -> np.ndarray:
    """:func:`_key` of every value, for a whole column at once."""
    s = pd.Series(values, dtype=object)
    text = s.map(str)
    missing = s.isna().to_numpy() | (text == "<NA>").to_numpy()
    return np.where(missing, "", text.str.strip().to_numpy(dtype=object))


def _hashed(parts: Sequence[str]) -> str:
    """The id of a key: ``"LC-"`` + the first 12 hex digits of the SHA-1 of its parts."""
    return "LC-" + hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:12]


def project_id(
    category: str,
    county_code: str,
    street_code: str,
    community_code: str,
    location_kind: str,
    lon: float | None,
    lat: float | None,
    *,
    grid_m: float = GRID_M,
) -> str:
    """Deterministic project id: ``"LC-"`` + the first 12 hex digits of a SHA-1.

    The hashed key is the category, the county, street and community codes, the location kind
    and, for ``proposed_site`` projects only, the cell of a ``grid_m`` grid (default 50 m) the
    site falls in, computed in the CGCS2000 Gauss-Krüger zone of the point (UTM outside
    China). A ``community`` project is identified by its community alone, so a moved community
    centroid keeps its id. Coordinate noise of a few metres gives the same id; a site that moves
    across a grid line is still recognised by :func:`export_pool`, which adopts the id of an
    unmatched pool project of the same category and community less than ``grid_m`` away.

    Parameters
    ----------
    category, county_code, street_code, community_code, location_kind
        As in the projects frame (codes as strings).
    lon, lat
        Location in EPSG:4326 degrees (ignored for ``location_kind="community"``).
    grid_m
        Grid size in metres.

    Returns
    -------
    str
        e.g. ``"LC-3f2a9c01b7d4"`` (letters first, so Excel never turns it into a number).
    """
    kind = _key(location_kind)
    cell = ("", "")
    if kind != "community":
        if lon is None or lat is None or not (np.isfinite(lon) and np.isfinite(lat)):
            raise InputError(f"project of category {category!r} has no location (lon/lat)")
        x, y = metric_xy(float(lon), float(lat))
        cell = (str(math.floor(x / grid_m)), str(math.floor(y / grid_m)))
    parts = ["lcpool1", *(_key(v) for v in (category, county_code, street_code, community_code)),
             kind, *cell]  # fmt: skip
    return _hashed(parts)


def community_project_ids(
    category: Sequence[object],
    county_code: Sequence[object],
    street_code: Sequence[object],
    community_code: Sequence[object],
) -> list[str]:
    """:func:`project_id` of many ``community`` projects at once (the same ids, a column at a
    time: whole-province shortfall lists hold hundreds of thousands)."""
    cols = [_keys(v) for v in (category, county_code, street_code, community_code)]
    return [_hashed(("lcpool1", *row, "community", "", "")) for row in zip(*cols, strict=True)]
