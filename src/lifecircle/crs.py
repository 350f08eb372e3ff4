"""Coordinate reference systems: the metric CRS used inside, and input validation.

Inside China the library works in the CGCS2000 3-degree Gauss-Krüger zone of the data
(EPSG:4534-4554; EPSG:4549 for Jiaxing, central meridian 120°E), elsewhere in UTM. Maps are
written in WGS84 (EPSG:4326).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer

from ._errors import CRSError

WGS84 = CRS.from_epsg(4326)

# A generous box around mainland China, Hainan and Taiwan. Points in it get a CGCS2000 zone.
_CHINA_BOX = (73.0, 18.0, 135.5, 53.6)


def in_china(lon: float, lat: float) -> bool:
    """True if (lon, lat) lies in the box used to pick a CGCS2000 zone."""
    x0, y0, x1, y1 = _CHINA_BOX
    return x0 <= lon <= x1 and y0 <= lat <= y1


def cgcs2000_gk3_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix) containing ``lon``.

    EPSG:4534 has central meridian 75°E, each following code 3° further east, up to
    EPSG:4554 at 135°E. Jiaxing (120.3-121.3°E) is EPSG:4549.
    """
    cm = 3 * int(math.floor(lon / 3.0 + 0.5))
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone containing (lon, lat)."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs_for(lon: float, lat: float) -> CRS:
    """The metric CRS lifecircle uses for data centred on (lon, lat)."""
    if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90 or abs(lon) > 180:
        raise CRSError(f"cannot pick a metric CRS for lon={lon}, lat={lat}: not a lon/lat pair")
    if in_china(lon, lat):
        return CRS.from_epsg(cgcs2000_gk3_epsg(lon))
    return CRS.from_epsg(utm_epsg(lon, lat))


def as_crs(crs: object) -> CRS:
    """Turn an EPSG int, ``"EPSG:4549"``, WKT or pyproj CRS into a pyproj CRS (clear error)."""
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError of its own with a long message
        raise CRSError(f"unknown coordinate reference system {crs!r}: {exc}") from None


def require_metric(crs: CRS, what: str = "data") -> None:
    """Refuse geographic and Web-Mercator CRSs for distance work."""
    if crs.is_geographic:
        raise CRSError(f"{what}: CRS {crs.to_string()} is in degrees; a metric CRS is needed")
    if crs.to_epsg() == 3857:
        raise CRSError(
            f"{what}: EPSG:3857 (Web Mercator) distorts distances by 1/cos(lat) "
            "(about 16% in Jiaxing); use a CGCS2000 Gauss-Krüger or UTM CRS"
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        raise CRSError(f"{what}: CRS {crs.to_string()} has units {unit!r}; metres are needed")


@lru_cache(maxsize=64)
def transformer(src: CRS, dst: CRS) -> Transformer:
    """A cached ``always_xy`` transformer: building one into a CGCS2000 zone costs ~40 ms."""
    return Transformer.from_crs(src, dst, always_xy=True)
