"""Demand points: each community's residents spread over buildings, raster cells or a grid.

Population inside a community is not all at its centroid: :func:`demand_points` spreads it over
residential buildings (weighted by floor area), population-raster cells, or a regular grid, and
uses the representative point only as a last resort (with a warning).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import CRSError, InputError
from ..crs import metric_crs_for
from .buildings import floor_area_m2, residential_buildings
from .load import GROUP_COLUMNS

log = logging.getLogger(__name__)


@dataclass
class Demand:
    """Demand points and the communities with their (possibly estimated) population."""

    points: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame

    def check(self) -> None:
        """Raise an :class:`InputError` naming the rows when demand points made elsewhere
        cannot be analysed: not a frame with ``community_id``, ``pop`` and points, a point
        without a community id, or one whose id names none of :attr:`communities`."""
        pts, comm = self.points, self.communities
        if not isinstance(pts, gpd.GeoDataFrame) or not isinstance(comm, gpd.GeoDataFrame):
            raise InputError(
                "demand: give a Demand of two GeoDataFrames (lifecircle.demand_points makes one)"
            )
        lacking = [c for c in ("community_id", "pop") if c not in pts.columns]
        if lacking or "community_id" not in comm.columns:
            raise InputError(
                f"demand: the points need columns community_id and pop (missing: "
                f"{', '.join(lacking) or 'none'}) and the communities a community_id column; "
                "lifecircle.demand_points makes both"
            )
        ids = pts["community_id"]
        for bad, what in (
            (ids.isna().to_numpy(), "have no community_id"),
            (ids.notna().to_numpy() & ~ids.isin(comm["community_id"]).to_numpy(),
             "name a community_id that is not among the communities"),
        ):  # fmt: skip
            if bad.any():
                rows = pts.index[bad]
                values = sorted({str(v) for v in ids[bad].dropna()})[:5]
                raise InputError(
                    f"demand: {int(bad.sum())} demand points {what}"
                    + (f" ({', '.join(values)})" if values else "")
                    + f", e.g. rows {', '.join(map(str, rows[:5]))}; give each point the id of "
                    "the community it belongs to, or make the points with "
                    "lifecircle.demand_points(communities)"
                )


@dataclass
class _Spread:
    """Demand points gathered so far, by method, and which communities have some."""

    ids: np.ndarray
    is_poly: np.ndarray
    parts: list[pd.DataFrame] = field(default_factory=list)
    done: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.done = np.zeros(len(self.ids), dtype=bool)

    @property
    def todo(self) -> np.ndarray:
        """Polygon communities without demand points yet."""
        return ~self.done & self.is_poly

    def add(self, part: pd.DataFrame) -> None:
        self.parts.append(part)
        # a hash lookup: np.isin on object (string) ids compares them pairwise (minutes at 80k)
        self.done |= pd.Index(self.ids).isin(part["community_id"].unique())


def _part(ids: Any, w: Any, geoms: Any, method: str) -> pd.DataFrame:
    return pd.DataFrame({"community_id": ids, "w": w, "geometry": geoms, "method": method})


def _building_part(
    spread: _Spread,
    cm: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    landuse: gpd.GeoDataFrame | None,
    default_levels: float,
) -> pd.Series:
    """Points at residential buildings weighted by floor area; returns floor area by community."""
    metric = cm.crs
    floor = pd.Series(0.0, index=spread.ids)
    if buildings.crs is None:
        raise CRSError("buildings: no CRS")
    res = residential_buildings(buildings, landuse).to_crs(metric)
    if not len(res):
        return floor
    fa = floor_area_m2(res, default_levels=default_levels)
    pts = gpd.GeoDataFrame(
        {"fa": fa}, geometry=res.geometry.representative_point().values, crs=metric
    )
    polys = cm.loc[spread.is_poly, ["community_id", "geometry"]]
    j = gpd.sjoin(pts, polys, predicate="within", how="inner")
    j = j[~j.index.duplicated(keep="first")]  # overlapping communities: first wins
    if not len(j):
        return floor
    floor = j.groupby("community_id")["fa"].sum().reindex(spread.ids).fillna(0.0)
    spread.add(
        _part(j["community_id"].to_numpy(), j["fa"].to_numpy(), j.geometry.values, "buildings")
    )
    return floor


def _centroid_part(spread: _Spread, cm: gpd.GeoDataFrame) -> None:
    g = cm.loc[~spread.done]
    n = int((~spread.done).sum())
    log.warning(
        "%d communities have no residential building, raster cell or grid point inside: their "
        "population is placed at one representative point (%s%s). To spread it, add a grid "
        "(grid_m=100; in a config file: [demand] grid_m = 100) or a population raster.",
        n,
        ", ".join(map(str, g["community_id"][:5])),
        " ..." if n > 5 else "",
    )
    points = g.geometry.representative_point().values
    spread.add(_part(g["community_id"].to_numpy(), 1.0, points, "centroid"))


def _estimate_population(
    c: gpd.GeoDataFrame,
    ids: np.ndarray,
    floor: pd.Series,
    raster_sum: pd.Series,
    per_capita_floor_m2: float,
    missing_population: str,
) -> None:
    """Fill missing population from floor area, else the raster sum; else 0 or an error."""
    missing = c["population"].isna().to_numpy()
    if not missing.any():
        return
    est_fa = floor.reindex(ids).to_numpy() / per_capita_floor_m2
    est_r = raster_sum.reindex(ids).to_numpy()
    use_fa = missing & (est_fa > 0)
    use_r = missing & ~use_fa & np.isfinite(est_r) & (est_r > 0)
    c.loc[use_fa, "population"] = np.round(est_fa[use_fa])
    c.loc[use_fa, "pop_source"] = "floor_area"
    c.loc[use_r, "population"] = np.round(est_r[use_r])
    c.loc[use_r, "pop_source"] = "raster"
    c.loc[use_fa | use_r, "pop_estimated"] = True
    still = c["population"].isna().to_numpy()
    if (use_fa | use_r).any():
        names = c["community_name"] if "community_name" in c else pd.Series(c.index, index=c.index)
        est = names[use_fa | use_r].astype(str).tolist()
        log.warning(
            "population estimated for %d communities (from %s): %s; flagged pop_estimated. "
            "Their population was missing (a blank cell, or a population-table row not joined: "
            "see the join's report)",
            len(est),
            " and ".join(s for s, m in [("floor area", use_fa), ("raster", use_r)] if m.any()),
            "、".join(est[:10]) + (f" … (+{len(est) - 10})" if len(est) > 10 else ""),
        )
    if still.any() and missing_population == "zero":
        log.warning(
            "%d communities have no population and no residential buildings or raster cells "
            "(%s): counted as 0 residents (missing_population='zero'), flagged pop_estimated",
            int(still.sum()),
            ", ".join(map(str, c.index[still][:5])),
        )
        c.loc[still, "population"] = 0.0
        c.loc[still, "pop_source"] = "none"
        c.loc[still, "pop_estimated"] = True
    elif still.any():
        raise InputError(
            f"communities {', '.join(map(str, c.index[still][:5]))}"
            f"{' ...' if still.sum() > 5 else ''} "
            "have no population and none could be estimated: give a population column, "
            "residential buildings (buildings=) or a population raster (raster=), or count them "
            "as empty with missing_population='zero' (in a config file: [demand] "
            'missing_population = "zero")'
        )


def _spread_population(pts: pd.DataFrame, c: gpd.GeoDataFrame, metric: Any) -> gpd.GeoDataFrame:
    """Population and age groups over the points, in proportion to their weights."""
    wsum = pts.groupby("community_id")["w"].transform("sum").to_numpy()
    share = np.where(wsum > 0, pts["w"].to_numpy() / np.where(wsum > 0, wsum, 1), 0.0)
    cid = pts["community_id"].to_numpy()
    out = gpd.GeoDataFrame(
        {"community_id": cid, "method": pts["method"].to_numpy()},
        geometry=gpd.GeoSeries(pts["geometry"].to_numpy(), crs=metric).values,
        crs=metric,
    )
    for group, col in GROUP_COLUMNS.items():
        src = c[col].reindex(cid).to_numpy(dtype=float)
        out["pop" if group == "total" else col] = share * src
    return out.sort_values(["community_id"], kind="stable").reset_index(drop=True)


def demand_points(
    communities: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    landuse: gpd.GeoDataFrame | None = None,
    raster: str | Path | None = None,
    grid_m: float | None = None,
    per_capita_floor_m2: float = 40.0,
    default_levels: float = 6.0,
    missing_population: str = "error",
) -> Demand:
    """Spread each community's population over demand points.

    Order of preference per community: residential ``buildings`` (weighted by floor area), a
    population ``raster`` (GeoTIFF of people per cell, e.g. WorldPop), a regular grid every
    ``grid_m`` metres inside the polygon, and the representative point as a last resort (with a
    warning). Point communities are their own demand point.

    Communities without population get an estimate: residential floor area / ``per_capita_floor_m2``
    (default 40 m² per person, close to the 2020 census urban figure of about 38.6 m² — a
    recalled, unverified number: set your city's), or the raster sum. They are flagged
    ``pop_estimated`` with ``pop_source`` = ``"floor_area"`` or ``"raster"``.

    ``missing_population`` says what to do when a community has no population and none can be
    estimated: ``"error"`` (default) or ``"zero"`` (count it as 0 residents, with a warning).

    Returns
    -------
    :class:`Demand`: ``points`` (metric CRS of the communities' area) with ``community_id``,
    ``pop``, ``pop_elderly``, ``pop_child_0_3``, ``pop_child_3_6``, ``method``; and ``communities``
    with population filled in where it could be estimated.
    """
    if "community_id" not in communities.columns:
        raise InputError("demand_points: give communities from lifecircle.load_communities")
    if len(communities) == 0:
        raise InputError(
            "demand_points: the communities frame is empty (no rows); check the file or the "
            "filter that selected them"
        )
    c = communities.copy()
    ll = c.to_crs(4326).geometry.union_all().centroid
    metric = metric_crs_for(ll.x, ll.y)
    cm = c.to_crs(metric)
    ids = cm["community_id"].to_numpy()
    spread = _Spread(ids, cm.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy())
    if (~spread.is_poly).any():  # point communities are their own demand point
        g = cm.loc[~spread.is_poly]
        spread.add(_part(g["community_id"].to_numpy(), 1.0, g.geometry.values, "point"))
    floor = pd.Series(0.0, index=ids)
    if buildings is not None and len(buildings) and spread.is_poly.any():
        floor = _building_part(spread, cm, buildings, landuse, default_levels)
    raster_sum = pd.Series(np.nan, index=ids)
    if raster is not None and spread.todo.any():
        rp = _raster_points(cm.loc[spread.todo], raster, metric)
        if len(rp):
            raster_sum = rp.groupby("community_id")["w"].sum().reindex(ids)
            spread.add(rp)
    if grid_m is not None and spread.todo.any():
        spread.add(_grid_points(cm.loc[spread.todo], float(grid_m)))
    if (~spread.done).any():
        _centroid_part(spread, cm)
    pts = pd.concat(spread.parts, ignore_index=True)
    _estimate_population(c, ids, floor, raster_sum, per_capita_floor_m2, missing_population)
    return Demand(points=_spread_population(pts, c, metric), communities=c)


def _grid_points(polys: gpd.GeoDataFrame, grid_m: float) -> pd.DataFrame:
    rows = []
    for cid, geom in zip(polys["community_id"], polys.geometry.values, strict=True):
        x0, y0, x1, y1 = geom.bounds
        xs = np.arange(np.floor(x0 / grid_m) * grid_m + grid_m / 2, x1, grid_m)
        ys = np.arange(np.floor(y0 / grid_m) * grid_m + grid_m / 2, y1, grid_m)
        gx, gy = np.meshgrid(xs, ys)
        cand = shapely.points(gx.ravel(), gy.ravel())
        inside = cand[shapely.contains_xy(geom, gx.ravel(), gy.ravel())] if len(cand) else cand
        if len(inside) == 0:
            inside = np.array([geom.representative_point()])
        rows.append(
            pd.DataFrame({"community_id": cid, "w": 1.0, "geometry": inside, "method": "grid"})
        )
    return pd.concat(rows, ignore_index=True)


def _raster_points(polys: gpd.GeoDataFrame, raster: str | Path, metric: Any) -> pd.DataFrame:
    import rasterio
    from rasterio.features import rasterize
    from rasterio.windows import from_bounds

    with rasterio.open(raster) as ds:
        if ds.crs is None:
            raise CRSError(f"raster {raster}: no CRS")
        p = polys.to_crs(ds.crs)
        win = from_bounds(*p.total_bounds, transform=ds.transform).round_offsets().round_lengths()
        win = win.intersection(rasterio.windows.Window(0, 0, ds.width, ds.height))
        data = ds.read(1, window=win, masked=True).astype("float64").filled(0.0)
        tr = ds.window_transform(win)
        codes = np.arange(1, len(p) + 1)
        labels = rasterize(
            zip(p.geometry.values, codes, strict=True),
            out_shape=data.shape,
            transform=tr,
            fill=0,
            dtype="int32",
            all_touched=False,
        )
        rr, cc = np.nonzero((labels > 0) & (data > 0))
        xs, ys = rasterio.transform.xy(tr, rr, cc)
        pts = gpd.GeoSeries(shapely.points(np.asarray(xs), np.asarray(ys)), crs=ds.crs).to_crs(
            metric
        )
    return pd.DataFrame(
        {
            "community_id": p["community_id"].to_numpy()[labels[rr, cc] - 1],
            "w": data[rr, cc],
            "geometry": pts.values,
            "method": "raster",
        }
    )
