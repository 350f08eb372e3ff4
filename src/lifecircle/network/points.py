"""Turn user point input into metric x/y arrays, with clear errors for bad input."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS

from .._errors import CRSError, InputError
from ..crs import WGS84, transformer

#: Points farther than this from the network's bounding box are considered misplaced.
FAR_FROM_NETWORK_M = 50_000.0


@dataclass(frozen=True)
class Points:
    """Points in the network's metric CRS, keeping the caller's index labels."""

    xy: np.ndarray  # (n, 2) float64, metric
    index: pd.Index

    def __len__(self) -> int:
        return len(self.index)


def _rows(index: pd.Index, mask: np.ndarray, limit: int = 5) -> str:
    labels = list(index[mask][:limit])
    more = int(mask.sum()) - len(labels)
    return ", ".join(map(str, labels)) + (f" and {more} more" if more > 0 else "")


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, index: pd.Index, what: str) -> None:
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        raise InputError(f"{what}: missing or NaN coordinates in rows {_rows(index, bad)}")
    lat_bad = np.abs(lat) > 90
    if lat_bad.any():
        swapped = (np.abs(lon[lat_bad]) <= 90).all()
        hint = " — the columns look swapped: pass longitude first, then latitude" if swapped else ""
        raise InputError(
            f"{what}: latitude outside [-90, 90] in rows {_rows(index, lat_bad)}{hint}"
        )
    lon_bad = np.abs(lon) > 180
    if lon_bad.any():
        raise InputError(
            f"{what}: longitude outside [-180, 180] in rows {_rows(index, lon_bad)}; "
            "are these projected metres passed as lon/lat? Give the frame its CRS instead"
        )


#: Points as users give them: a GeoDataFrame/GeoSeries in any CRS, a ``(lon, lat)`` pair of
#: arrays, or an ``(n, 2)`` array of WGS84 lon/lat.
PointsLike = gpd.GeoDataFrame | gpd.GeoSeries | tuple[ArrayLike, ArrayLike] | np.ndarray


def to_points(
    obj: PointsLike, crs: CRS, what: str = "points", bounds: tuple | None = None
) -> Points:
    """Convert ``obj`` to :class:`Points` in ``crs`` (the network's metric CRS).

    ``obj`` may be a GeoDataFrame/GeoSeries of points in any CRS, a ``(lon, lat)`` pair of
    arrays, or an ``(n, 2)`` array of lon/lat in WGS84. ``bounds`` (minx, miny, maxx, maxy in
    ``crs``) enables the check for points far from the network (wrong hemisphere or axis order).
    """
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = obj.geometry if isinstance(obj, gpd.GeoDataFrame) else obj
        index = obj.index
        if len(geoms) == 0:
            raise InputError(f"{what}: the frame is empty")
        if obj.crs is None:
            raise CRSError(
                f"{what}: the frame has no CRS; set it first, e.g. gdf.set_crs('EPSG:4326') "
                "for GPS/OSM lon/lat (use lifecircle.load_facilities for GCJ-02/BD-09 data)"
            )
        arr = np.asarray(geoms.values)
        missing = shapely.is_missing(arr) | shapely.is_empty(arr)
        if missing.any():
            raise InputError(f"{what}: empty or missing geometry in rows {_rows(index, missing)}")
        types = shapely.get_type_id(arr)
        notpt = types != 0
        if notpt.any():
            kinds = sorted(set(geoms[notpt].geom_type))
            raise InputError(
                f"{what}: only Point geometries are accepted, got {', '.join(kinds)} in rows "
                f"{_rows(index, notpt)}; reduce polygons with .representative_point() or use "
                "lifecircle.load_communities for polygons"
            )
        src = CRS.from_user_input(obj.crs)
        x = shapely.get_x(arr)
        y = shapely.get_y(arr)
        if src.is_geographic:
            _check_lonlat(x, y, index, what)
        elif not (np.isfinite(x) & np.isfinite(y)).all():
            bad = ~(np.isfinite(x) & np.isfinite(y))
            raise InputError(f"{what}: NaN coordinates in rows {_rows(index, bad)}")
    else:
        if isinstance(obj, tuple) and len(obj) == 2:
            x = np.asarray(obj[0], dtype="float64").ravel()
            y = np.asarray(obj[1], dtype="float64").ravel()
            if x.shape != y.shape:
                raise InputError(f"{what}: lon and lat have different lengths")
        else:
            a = np.asarray(obj, dtype="float64")
            if a.ndim != 2 or a.shape[1] != 2:
                raise InputError(
                    f"{what}: expected a GeoDataFrame, a (lon, lat) pair of arrays or an "
                    f"(n, 2) lon/lat array, got {type(obj).__name__} of shape {a.shape}"
                )
            x, y = a[:, 0], a[:, 1]
        index = pd.RangeIndex(len(x))
        if len(x) == 0:
            raise InputError(f"{what}: no points given")
        src = WGS84
        _check_lonlat(x, y, index, what)

    if not src.equals(crs):
        x, y = transformer(src, CRS.from_user_input(crs)).transform(x, y)
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        bad = ~(np.isfinite(x) & np.isfinite(y))
        if bad.any():
            raise CRSError(
                f"{what}: rows {_rows(index, bad)} cannot be projected to {crs.to_string()}; "
                "check their CRS and axis order (longitude first)"
            )
    xy = np.column_stack([x, y]).astype("float64")
    if bounds is not None:
        _check_near(xy, index, bounds, what, src)
    return Points(xy=xy, index=index)


def _check_near(xy: np.ndarray, index: pd.Index, bounds: tuple, what: str, src: CRS) -> None:
    minx, miny, maxx, maxy = bounds
    dx = np.maximum(np.maximum(minx - xy[:, 0], xy[:, 0] - maxx), 0)
    dy = np.maximum(np.maximum(miny - xy[:, 1], xy[:, 1] - maxy), 0)
    far = np.hypot(dx, dy) > FAR_FROM_NETWORK_M
    if far.all():
        hint = ""
        if src.is_geographic:
            hint = (
                " Check the axis order (longitude first, then latitude) and the sign of the "
                "longitude (east is positive; China is about 73-135°E, 18-54°N)."
            )
        raise InputError(
            f"{what}: all {len(xy)} points lie more than {FAR_FROM_NETWORK_M / 1000:.0f} km "
            f"from the network's area.{hint}"
        )
