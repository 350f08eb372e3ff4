"""Chinese map coordinate systems: GCJ-02 (Amap/Gaode, Tencent) and BD-09 (Baidu).

Chinese web maps publish obfuscated lon/lat. Amap (高德), Tencent (腾讯) and most government
"map picker" tools use **GCJ-02**; Baidu (百度) uses **BD-09** (GCJ-02 plus a further shift). In
Jiaxing the GCJ-02 offset is about 470-510 m and the BD-09 offset about 1.09-1.11 km from
WGS84, more than the 300 m of a 5-minute life circle, so every POI must be converted before
any distance is computed.

All functions take and return lon/lat in degrees, longitude first, as numpy arrays (scalars and
lists are accepted; the output has the input's shape). The forward GCJ-02 transform is the public
reverse-engineered formula; its inverse is solved iteratively to better than 1 mm.

CGCS2000 (EPSG:4490) is treated as WGS84: they differ by centimetres to decimetres, far below
planning precision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

from .._errors import CRSError, InputError
from .._text import key, norm_name
from ..crs import WGS84, metric_crs_for, transformer

log = logging.getLogger(__name__)

__all__ = [
    "OffsetReport",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "detect_offset",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_gcj_box",
    "layer_system",
    "layer_to_wgs84",
    "parse_coord_system",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as used by the public GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

#: The usual rough "in China" box of GCJ-02 implementations (lon_min, lat_min, lon_max, lat_max).
#: Points outside it are not shifted. It is a rectangle, so it also covers parts of neighbouring
#: countries; inside China it is what Amap/Baidu data need.
GCJ_BOX = (72.004, 0.8293, 137.8347, 55.8271)

#: Stop the iterative inverses when the forward transform of the estimate is this close to the
#: input (degrees; 1e-10° is about 0.01 mm).
_TOL_DEG = 1e-10
_MAX_ITER = 30

CoordSystem = Literal["wgs84", "gcj02", "bd09"]


# ---------------------------------------------------------------------- helpers
def _arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    if x.shape != y.shape:
        raise InputError(f"lon and lat have different shapes: {x.shape} and {y.shape}")
    return x, y, x.shape


def _out(x: np.ndarray, y: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return x.reshape(shape), y.reshape(shape)


def in_gcj_box(lon: Any, lat: Any, pad: float = 0.0) -> np.ndarray:
    """True where (lon, lat) lies in :data:`GCJ_BOX` (grown by ``pad`` degrees)."""
    x, y, _ = _arrays(lon, lat)
    x0, y0, x1, y1 = GCJ_BOX
    return (x >= x0 - pad) & (x <= x1 + pad) & (y >= y0 - pad) & (y <= y1 + pad)


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 shift (degrees) at WGS84 (lon, lat), applied everywhere (no box test)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _solve(
    forward: Any, tx: np.ndarray, ty: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point iteration x ← x − (f(x) − target) until f(x) is within _TOL_DEG of target.

    ``forward`` is a near-identity map (its Jacobian differs from I by ~1e-3 or less), so each
    step gains about three digits; 3-4 steps reach 1e-10°.
    """
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - tx, fy - ty
        err = np.maximum(np.abs(ex), np.abs(ey))
        if not np.any(err > _TOL_DEG):  # NaN inputs never converge: leave them NaN
            break
        x = x - ex
        y = y - ey
    return x, y


# ---------------------------------------------------------------------- transforms
def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → GCJ-02 (Amap/Gaode, Tencent), degrees; points outside :data:`GCJ_BOX` unchanged."""
    x, y, shape = _arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    dx, dy = _gcj_delta(x, y)
    inside = in_gcj_box(x, y)
    return _out(np.where(inside, x + dx, x), np.where(inside, y + dy, y), shape)


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS84, degrees, by iterating the forward formula (error < 1 mm).

    The result is the WGS84 point whose GCJ-02 transform is the input. Where that point falls
    outside :data:`GCJ_BOX` (the forward transform would not have shifted it) the input is
    returned unchanged.
    """
    x, y, shape = _arrays(lon, lat)
    x, y = x.ravel(), y.ravel()

    def fwd(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        da, db = _gcj_delta(a, b)
        return a + da, b + db

    dx, dy = _gcj_delta(x, y)
    wx, wy = _solve(fwd, x, y, x - dx, y - dy)
    inside = in_gcj_box(wx, wy, pad=100 * _TOL_DEG)  # a point on the box edge stays inside
    return _out(np.where(inside, wx, x), np.where(inside, wy, y), shape)


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 (Baidu ``bd09ll``), degrees (applied everywhere, like Baidu's API)."""
    x, y, shape = _arrays(lon, lat)
    bx, by = _bd_forward(x.ravel(), y.ravel())
    return _out(bx, by, shape)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02, degrees: the usual closed form refined iteratively (error < 1 mm)."""
    x, y, shape = _arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    x0 = x - 0.0065
    y0 = y - 0.006
    z = np.sqrt(x0 * x0 + y0 * y0) - 0.00002 * np.sin(y0 * _X_PI)
    theta = np.arctan2(y0, x0) - 0.000003 * np.cos(x0 * _X_PI)
    gx, gy = _solve(_bd_forward, x, y, z * np.cos(theta), z * np.sin(theta))
    return _out(gx, gy, shape)


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 (Baidu) → WGS84, degrees."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → BD-09 (Baidu), degrees."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


# ---------------------------------------------------------------------- parsing CRS names
_ALIASES: dict[str, CoordSystem] = {}
for _name in (
    "wgs84",
    "wgs",
    "gps",
    "epsg4326",
    "4326",
    "crs84",
    "ogccrs84",
    "cgcs2000",
    "epsg4490",
    "4490",
    "cgcs",
    "国家2000",
    "2000国家大地坐标系",
    "cgcs2000经纬度",
    "wgs84经纬度",
    "osm",
    "openstreetmap",
):
    _ALIASES[_name] = "wgs84"
for _name in (
    "gcj02",
    "gcj",
    "amap",
    "gaode",
    "autonavi",
    "高德",
    "高德地图",
    "tencent",
    "qq",
    "腾讯",
    "腾讯地图",
    "soso",
    "火星坐标",
    "火星坐标系",
    "国测局",
    "国测局坐标",
):
    _ALIASES[_name] = "gcj02"
for _name in ("bd09", "bd09ll", "bd", "baidu", "百度", "百度地图", "百度坐标", "bd09经纬度"):
    _ALIASES[_name] = "bd09"

_EXPLAIN = (
    "Say which coordinate system the lon/lat are in: crs='gcj02' for Amap/Gaode (高德) and "
    "Tencent (腾讯) data and most Chinese online map pickers, crs='bd09' for Baidu (百度), "
    "crs='wgs84' for GPS, OpenStreetMap and CGCS2000 (国家2000) lon/lat, or an EPSG code such "
    "as 4549 for projected CGCS2000 metres. Guessing wrong moves every point by 0.5-1.1 km."
)


# Geographic datums equal to WGS84 at planning precision (cm-dm): WGS84 and its realisations,
# CGCS2000.
_WGS84_DATUMS = ("world geodetic system 1984", "china geodetic coordinate system 2000")


def parse_coord_system(crs: Any) -> CoordSystem | CRS:
    """Read a coordinate system name: ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or a pyproj CRS.

    Parameters
    ----------
    crs :
        ``"wgs84"``/``"gps"``; ``"cgcs2000"`` (EPSG:4490, treated as WGS84); ``"gcj02"`` and the
        aliases ``"amap"``, ``"gaode"``, ``"高德"``, ``"tencent"``, ``"腾讯"``; ``"bd09"`` and
        ``"baidu"``, ``"百度"``; or any EPSG int, ``"EPSG:xxxx"`` string, WKT or pyproj CRS.

    Returns
    -------
    ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` for lon/lat systems (geographic CRSs on the WGS84 or
    CGCS2000 datum give ``"wgs84"``), else the pyproj CRS (e.g. projected metres).
    """
    if crs is None:
        raise CRSError("no coordinate system given. " + _EXPLAIN)
    if isinstance(crs, str):
        name = key(crs)
        if name in _ALIASES:
            return _ALIASES[name]
        if name in ("bd09mc", "baidumercator", "百度墨卡托"):
            raise CRSError(
                f"{crs!r} (Baidu Mercator metres) is not supported; export Baidu lon/lat "
                "(bd09ll) and pass crs='bd09'"
            )
    if isinstance(crs, (int, np.integer)) and int(crs) in (4326, 4490):
        return "wgs84"
    try:
        c = CRS.from_user_input(crs)
    except Exception as exc:
        raise CRSError(f"unknown coordinate system {crs!r} ({exc}). " + _EXPLAIN) from None
    if c.is_geographic:
        datum = (c.datum.name if c.datum else "").lower()
        if c.to_epsg() in (4326, 4490) or datum.startswith(_WGS84_DATUMS):
            return "wgs84"
    return c


def to_wgs84(lon: Any, lat: Any, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` (anything :func:`parse_coord_system` reads) to WGS84 lon/lat.

    For projected CRSs ``lon``/``lat`` are the x (easting) and y (northing) in that CRS's units.
    """
    system = parse_coord_system(crs)
    x, y, shape = _arrays(lon, lat)
    if system == "wgs84":
        return x.copy(), y.copy()
    if system == "gcj02":
        return gcj02_to_wgs84(x, y)
    if system == "bd09":
        return bd09_to_wgs84(x, y)
    tr = Transformer.from_crs(system, CRS.from_epsg(4326), always_xy=True)
    ox, oy = tr.transform(x.ravel(), y.ravel())
    return _out(np.asarray(ox, dtype="float64"), np.asarray(oy, dtype="float64"), shape)


# ---------------------------------------------------------------------- mismatch detection
_GEOD = Geod(ellps="WGS84")


@dataclass
class OffsetReport:
    """Result of :func:`detect_offset`.

    Attributes
    ----------
    likely : "wgs84", "gcj02" or "bd09"
        The reading of the data's lon/lat that fits the reference best.
    median_m : dict
        Median distance (metres) from the data to the reference under each reading.
    shift_m : float
        Typical size (metres) of the conversion that ``likely`` implies (0 for ``"wgs84"``).
    mode : "matched", "name" or "nearest"
        How distances were measured: pairs joined on a key, pairs with the same name, or the
        nearest reference feature.
    n : int
        Number of data points compared.
    message : str
        Plain-language verdict (also logged as a warning when the data look shifted).
    """

    likely: CoordSystem
    median_m: dict[str, float]
    shift_m: float
    mode: str
    n: int
    message: str = ""

    @property
    def shifted(self) -> bool:
        """True when the data look like unconverted GCJ-02 or BD-09."""
        return self.likely != "wgs84"


def layer_system(layer_crs: Any, crs: Any, what: str) -> CoordSystem | CRS:
    """The coordinate system of a layer's geometry: ``crs=`` when given (GCJ-02/BD-09 lon/lat
    only in a layer labelled lon/lat or not at all: files label them as WGS84 or not at all;
    another system than the layer's label is an error: relabelling would move every point),
    else the layer's own CRS; a layer without one needs ``crs=`` (an error naming ``what``)."""
    if crs is None:
        if layer_crs is None:
            raise CRSError(
                f"{what}: the layer has no CRS. Pass crs=..., e.g. crs='gcj02' for Amap data. "
                "(gcj02 = Amap/高德 and Tencent, bd09 = Baidu/百度, "
                "wgs84 = GPS/OSM/CGCS2000 lon/lat, or an EPSG code such as 4549)"
            )
        return parse_coord_system(layer_crs)
    system = parse_coord_system(crs)
    if layer_crs is None:
        return system
    own = parse_coord_system(layer_crs)
    if system in ("gcj02", "bd09"):
        if own != "wgs84":
            raise CRSError(
                f"{what}: crs={crs!r} says the geometry holds {system} lon/lat, but the "
                f"layer's CRS is {CRS.from_user_input(layer_crs).to_string()} (not lon/lat)"
            )
    elif own != system:
        raise CRSError(
            f"{what}: the layer says {CRS.from_user_input(layer_crs).to_string()} but crs={crs!r} "
            "says otherwise. Leave crs= out (the layer's own CRS is used), or fix the file's label "
            "first (gdf.set_crs(..., allow_override=True)); crs= renames no layer's coordinates"
        )
    return system


def layer_to_wgs84(geoms: np.ndarray, system: CoordSystem | CRS) -> np.ndarray:
    """Geometries of any kind (points, lines, polygons) in ``system`` (:func:`layer_system`)
    as WGS84 lon/lat, converted vertex by vertex: GCJ-02 and BD-09 have no CRS a GIS library
    could transform with."""
    xy = shapely.get_coordinates(geoms)
    lon, lat = to_wgs84(xy[:, 0], xy[:, 1], system)
    return shapely.set_coordinates(np.array(geoms, dtype=object), np.column_stack([lon, lat]))


def _sample_points(geoms: np.ndarray, max_points: int) -> np.ndarray:
    """Points to test: the points themselves, or vertices of lines/polygons (evenly sampled)."""
    pts = shapely.get_coordinates(geoms)
    if len(pts) > max_points:
        idx = np.linspace(0, len(pts) - 1, max_points).round().astype(int)
        pts = pts[idx]
    return pts


def _reference_geoms(reference: Any) -> tuple[np.ndarray, CRS]:
    """Geometries (and their CRS) to measure against: a network's edges or a layer's shapes.

    A network is anything with ``edges`` (a GeoDataFrame) and ``crs`` — a
    :class:`~lifecircle.WalkNetwork` — taken by its shape, since sources come before the network
    in the pipeline.
    """
    import pandas as pd

    if not isinstance(reference, (pd.DataFrame, pd.Series)):
        edges = getattr(reference, "edges", None)
        if edges is not None and hasattr(edges, "geometry") and reference.crs is not None:
            return np.asarray(edges.geometry.values), CRS.from_user_input(reference.crs)
    geoms = getattr(reference, "geometry", None)
    if geoms is None or getattr(reference, "crs", None) is None:
        raise InputError(
            "reference must be a WalkNetwork or a GeoDataFrame/GeoSeries with a CRS "
            "(known to be WGS84 or projected, not GCJ-02)"
        )
    arr = np.asarray(geoms.values)
    types = shapely.get_type_id(arr)
    # polygons: measure to their outlines, otherwise every point inside would be at 0 m
    poly = (types == 3) | (types == 6)
    arr = arr.copy()
    arr[poly] = shapely.boundary(arr[poly])
    return arr, CRS.from_user_input(reference.crs)


def _name_pairs(
    data: Any, reference: Any, max_km: float = 3.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """Data/reference point pairs with the same (normalised, ≥4 characters) name within max_km."""
    if "name" not in getattr(data, "columns", ()) or "name" not in getattr(
        reference, "columns", ()
    ):
        return None
    ref = reference.to_crs(4326)
    rpts = shapely.get_coordinates(shapely.point_on_surface(np.asarray(ref.geometry.values)))
    by_name: dict[str, list[int]] = {}
    for j, n in enumerate(ref["name"].to_numpy()):
        name = norm_name(n)
        if len(name) >= 4:
            by_name.setdefault(name, []).append(j)
    dpts = shapely.get_coordinates(shapely.point_on_surface(np.asarray(data.geometry.values)))
    left, right = [], []
    for i, n in enumerate(data["name"].to_numpy()):
        cand = by_name.get(norm_name(n))
        if not cand:
            continue
        _, _, d = _GEOD.inv(
            np.full(len(cand), dpts[i, 0]),
            np.full(len(cand), dpts[i, 1]),
            rpts[cand, 0],
            rpts[cand, 1],
        )
        k = int(np.argmin(d))
        if d[k] <= max_km * 1000:
            left.append(dpts[i])
            right.append(rpts[cand[k]])
    if len(left) < 3:
        return None
    return np.asarray(left), np.asarray(right)


def detect_offset(
    data: Any,
    reference: Any,
    on: str | None = None,
    max_points: int = 2000,
    warn: bool = True,
) -> OffsetReport:
    """Check whether data labelled WGS84 are really unconverted GCJ-02 or BD-09.

    Each reading of the data's lon/lat ("as is" = WGS84, "gcj02", "bd09") is converted to WGS84
    and compared with a reference known to be right (a WGS84 layer, OSM facilities, an
    OSM-based network). A reading other than WGS84 wins only if it brings the data clearly
    closer: median distance at most half of the as-is one and at least 30 m less.

    Three ways of measuring, strongest first:

    * ``on=`` a key column in both frames (e.g. ``"adcode"``): distance between the centroids
      of rows with the same key (``mode="matched"``);
    * both frames have a ``name`` column and at least 3 names (≥4 characters) occur in both
      within 3 km: distance between same-name points (``mode="name"``), e.g. an Amap list
      against :func:`lifecircle.facilities_from_osm`;
    * otherwise each data vertex is measured to the nearest reference feature (polygons: their
      outlines; a network: its edges) (``mode="nearest"``). This is reliable for lines and
      outlines, but weak for POIs against a dense street network: blocks are about as wide as
      the shift, so it then rarely reaches a verdict.

    Parameters
    ----------
    data : GeoDataFrame
        Points, lines or polygons whose geometry is claimed to be WGS84 lon/lat (EPSG:4326).
    reference : WalkNetwork or GeoDataFrame
        A network from :func:`lifecircle.load_network` or a layer in a known CRS.
    on : str, optional
        Key column present in both frames.
    max_points : int
        At most this many data vertices are tested (evenly sampled) in nearest mode.
    warn : bool
        Log a warning when the data look shifted.

    Returns
    -------
    OffsetReport
    """
    if getattr(data, "crs", None) is None or not hasattr(data, "geometry"):
        raise InputError("data must be a GeoDataFrame with a CRS (the one it claims to be in)")
    src = parse_coord_system(data.crs)
    if src != "wgs84":
        raise CRSError(
            f"detect_offset checks data that claim to be WGS84 lon/lat; these are in {data.crs}"
        )
    if len(data) == 0:
        raise InputError("detect_offset: the data frame is empty")
    ref_geoms, ref_crs = _reference_geoms(reference)
    pts, ref_pts, mode = _points_to_compare(data, reference, on, max_points)
    finite = np.isfinite(pts).all(axis=1)
    pts = pts[finite]
    if ref_pts is not None:
        ref_pts = ref_pts[finite]
    lon, lat = pts[:, 0], pts[:, 1]
    readings = {
        "wgs84": (lon, lat),
        "gcj02": gcj02_to_wgs84(lon, lat),
        "bd09": bd09_to_wgs84(lon, lat),
    }
    if ref_pts is not None:
        medians = _paired_medians(readings, ref_pts)
    else:
        medians = _nearest_medians(readings, ref_geoms, ref_crs)
    return _verdict(readings, medians, mode, len(pts), warn)


def _points_to_compare(
    data: Any, reference: Any, on: str | None, max_points: int
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Data points, the reference points paired with them (None: nearest feature) and the mode."""
    if on is not None:
        if on not in data.columns or on not in reference.columns:
            raise InputError(f"detect_offset: key column {on!r} must be in both frames")
        gname, rname = data.geometry.name, reference.geometry.name
        left = data[[on, gname]].dropna(subset=[on]).drop_duplicates(on)
        right = reference.to_crs(4326)[[on, rname]].dropna(subset=[on]).drop_duplicates(on)
        left = left.rename(columns={gname: "_geom_d"})
        right = right.rename(columns={rname: "_geom_r"})
        pairs = left.merge(right, on=on)
        if len(pairs) == 0:
            raise InputError(f"detect_offset: no {on!r} values are shared by the two frames")
        pts = shapely.get_coordinates(shapely.centroid(np.asarray(pairs["_geom_d"].values)))
        ref_pts = shapely.get_coordinates(shapely.centroid(np.asarray(pairs["_geom_r"].values)))
        return pts, ref_pts, "matched"
    named = _name_pairs(data, reference) if hasattr(reference, "columns") else None
    if named is not None:
        return named[0], named[1], "name"
    return _sample_points(np.asarray(data.geometry.values), max_points), None, "nearest"


def _paired_medians(
    readings: dict[str, tuple[np.ndarray, np.ndarray]], ref_pts: np.ndarray
) -> dict[str, float]:
    medians: dict[str, float] = {}
    for name, (x, y) in readings.items():
        _, _, d = _GEOD.inv(x, y, ref_pts[:, 0], ref_pts[:, 1])
        medians[name] = float(np.median(d))
    return medians


def _nearest_medians(
    readings: dict[str, tuple[np.ndarray, np.ndarray]], ref_geoms: np.ndarray, ref_crs: CRS
) -> dict[str, float]:
    lon, lat = readings["wgs84"]
    metric = metric_crs_for(float(np.median(lon)), float(np.median(lat)))
    tr = transformer(WGS84, metric)
    if not ref_crs.equals(metric):
        tref = transformer(ref_crs, metric)
        ref_geoms = shapely.transform(
            ref_geoms, lambda c: np.column_stack(tref.transform(c[:, 0], c[:, 1]))
        )
    tree = shapely.STRtree(ref_geoms)
    medians: dict[str, float] = {}
    for name, (x, y) in readings.items():
        mx, my = tr.transform(x, y)
        _, d = tree.query_nearest(shapely.points(mx, my), return_distance=True, all_matches=False)
        medians[name] = float(np.median(d))
    return medians


def _verdict(
    readings: dict[str, tuple[np.ndarray, np.ndarray]],
    medians: dict[str, float],
    mode: str,
    n: int,
    warn: bool,
) -> OffsetReport:
    lon, lat = readings["wgs84"]
    best = min(medians, key=lambda k: (medians[k], k != "wgs84"))
    as_is = medians["wgs84"]
    clear = medians[best] <= 0.5 * as_is and as_is - medians[best] >= 30.0
    likely: CoordSystem = best if (best != "wgs84" and clear) else "wgs84"  # type: ignore[assignment]
    x2, y2 = readings[likely]
    _, _, shift = _GEOD.inv(lon, lat, x2, y2)
    shift_m = float(np.median(shift))
    nice = {"wgs84": "WGS84", "gcj02": "GCJ-02 (Amap/高德)", "bd09": "BD-09 (Baidu/百度)"}
    if likely == "wgs84":
        msg = (
            f"no clear shift: median distance to the reference {as_is:,.0f} m as WGS84, "
            f"{medians['gcj02']:,.0f} m as GCJ-02, {medians['bd09']:,.0f} m as BD-09 "
            f"({mode}, {n} points)"
        )
    else:
        msg = (
            f"the data look like unconverted {nice[likely]} coordinates: read as WGS84 they lie a "
            f"median {as_is:,.0f} m from the reference, converted from {likely} only "
            f"{medians[likely]:,.0f} m (shift ≈{shift_m:,.0f} m; {mode}, {n} points). "
            f"Load them with crs='{likely}' (load_facilities, load_communities, load_network "
            f"take it, boundaries too) or convert lon/lat with "
            f"lifecircle.coords.to_wgs84(lon, lat, '{likely}')"
        )
        if warn:
            log.warning(msg)
    return OffsetReport(likely, medians, shift_m, mode, n, msg)
