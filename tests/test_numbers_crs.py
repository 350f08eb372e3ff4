"""The metric CRS choice at its edges: zone boundaries, the China box, UTM zones, bad input.

Written for the survivors of ``python tools/mutate.py src/lifecircle/crs.py`` (see
docs/testing.md): before these tests, changing the China box, the UTM hemisphere or zone count,
the Gauss-Krüger clamp or the lon/lat validation passed every test. Every expected EPSG code is
worked out in a comment: CGCS2000 3-degree zones without prefix are EPSG:4534 (central meridian
75°E) + (cm - 75) / 3; WGS84 UTM is 32600 (north) / 32700 (south) + zone,
zone = floor((lon + 180) / 6) mod 60 + 1.
"""

from __future__ import annotations

import math

import pytest

from lifecircle import CRSError
from lifecircle.crs import metric_crs_for


def epsg(lon: float, lat: float) -> int:
    return metric_crs_for(lon, lat).to_epsg()


@pytest.mark.parametrize(
    "lon, lat, expected",
    [
        # Jiaxing: cm = 3 × floor(120.75/3 + 0.5) = 3 × 40 = 120 → 4534 + 45/3 = 4549
        (120.75, 30.75, 4549),
        # a zone ends 1.5° east of its meridian: 121.49 → cm 120 (4549), 121.5 → cm 123 (4550)
        (121.49, 30.75, 4549),
        (121.5, 30.75, 4550),
        # Sanya, Hainan (the box's south edge is 18°N): cm 3 × floor(36.50 + 0.5) = 111 → 4546
        (109.51, 18.25, 4546),
        # Mohe, the north (edge 53.6°N): cm 3 × floor(40.84 + 0.5) = 123 → 4550
        (122.53, 52.97, 4550),
        # the far west, Pamir (edge 73°E): cm 3 × floor(24.5 + 0.5) = 75 → 4534
        (73.5, 39.4, 4534),
        # west of 73.5°E the formula gives cm 72, clamped to the first zone, 75 → 4534
        # (unclamped: 4533, which is the *prefixed* zone 45 at 135°E)
        (73.2, 39.0, 4534),
    ],
)
def test_cgcs2000_zones_inside_china(lon, lat, expected):
    assert epsg(lon, lat) == expected


@pytest.mark.parametrize(
    "lon, lat, expected",
    [
        # just outside the box on each side: UTM
        (100.5, 13.75, 32647),  # Bangkok, south of 18°N: zone floor(280.5/6) + 1 = 47
        (69.2, 34.5, 32642),  # Kabul, west of 73°E: floor(249.2/6) + 1 = 42
        (136.0, 45.0, 32653),  # east of 135.5°E: floor(316/6) + 1 = 53
        (122.5, 54.0, 32651),  # north of 53.6°N: floor(302.5/6) + 1 = 51
        # southern hemisphere: 32700 + zone; Sydney floor(331.21/6) + 1 = 56
        (151.21, -33.87, 32756),
        # the equator counts as north: Gabon-ish (10, 0), floor(190/6) + 1 = 32
        (10.0, 0.0, 32632),
        # the antimeridian: (180 + 180)/6 = 60, mod 60 = 0 → zone 1 (not 61); -180 the same
        (180.0, 10.0, 32601),
        (-180.0, 10.0, 32601),
        # a pole is a valid latitude: floor(300/6) + 1 = 51
        (120.0, 90.0, 32651),
    ],
)
def test_utm_outside_china(lon, lat, expected):
    assert epsg(lon, lat) == expected


@pytest.mark.parametrize(
    "lon, lat",
    [
        (math.nan, 30.0),
        (120.0, math.nan),
        (120.0, 90.5),
        (120.0, -90.5),
        (180.5, 30.0),
        (-180.5, 30.0),
        (570_000.0, 3_400_000.0),  # projected metres passed as lon/lat, the usual mistake
    ],
)
def test_not_a_lon_lat_pair_is_refused(lon, lat):
    with pytest.raises(CRSError, match="not a lon/lat pair"):
        metric_crs_for(lon, lat)
