"""Communities (社区/村) with population and the administrative hierarchy, and demand points.

Population inside a community is not all at its centroid: :func:`demand_points` spreads it over
residential buildings (weighted by floor area), population-raster cells, or a regular grid, and
uses the centroid only as a last resort (with a warning).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import CRSError, InputError
from ..crs import metric_crs_for

log = logging.getLogger(__name__)

#: Standard columns of a communities frame, in order.
COMMUNITY_COLUMNS = [
    "community_id",
    "community_name",
    "community_code",
    "street_code",
    "street_name",
    "county_code",
    "county_name",
    "population",
    "pop_elderly",
    "pop_child_0_3",
    "pop_child_3_6",
    "pop_source",
    "pop_estimated",
]

#: Population groups and their columns (``total`` is ``population``).
GROUP_COLUMNS = {
    "total": "population",
    "elderly": "pop_elderly",
    "child_0_3": "pop_child_0_3",
    "child_3_6": "pop_child_3_6",
}

# Column names recognised when the caller does not name them (lower-case, no spaces).
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("community_id", "id", "编号", "社区编号", "fid"),
    "name": ("community_name", "name", "名称", "社区名称", "社区", "村社区", "社区名", "村居名称"),
    "code": (
        "community_code",
        "code",
        "区划代码",
        "统计用区划代码",
        "社区代码",
        "代码",
        "village_code",
    ),
    "population": ("population", "pop", "人口", "常住人口", "户籍人口", "总人口", "人口数"),
    "street": ("street_name", "street", "街道", "街道名称", "乡镇", "乡镇街道", "镇街", "街道/镇"),
    "street_code": ("street_code", "街道代码", "乡镇代码", "streetcode"),
    "county": ("county_name", "county", "district", "区县", "区", "县", "县市区", "区县名称"),
    "county_code": ("county_code", "区县代码", "areacode", "district_code"),
    "elderly": (
        "pop_elderly",
        "elderly",
        "60岁以上",
        "60岁及以上",
        "老年人口",
        "60+",
        "pop_60plus",
    ),
    "child_0_3": ("pop_child_0_3", "child_0_3", "0-3岁", "0~3岁", "婴幼儿", "0-3"),
    "child_3_6": ("pop_child_3_6", "child_3_6", "3-6岁", "3~6岁", "学龄前儿童", "3-6"),
}

_RESIDENTIAL_BUILDINGS = {
    "residential",
    "apartments",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
    "bungalow",
    "farm",
}


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", str(s)).lower()


def _find(df: pd.DataFrame, given: str | None, key: str, what: str) -> str | None:
    if given is not None:
        if given not in df.columns:
            raise InputError(
                f"{what}: column {given!r} (for {key}) not found; columns are {list(df.columns)}"
            )
        return given
    cols = {_norm(c): c for c in df.columns}
    for alias in _ALIASES[key]:
        if _norm(alias) in cols:
            return cols[_norm(alias)]
    return None


def _read(source: Any, layer: str | None, what: str) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return source.copy()
    if isinstance(source, pd.DataFrame):
        raise InputError(
            f"{what}: a plain DataFrame has no geometry; give a GeoDataFrame, a GeoPackage/"
            "GeoJSON/Shapefile path, or build points with geopandas.points_from_xy"
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}")
    try:
        return gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds
        raise InputError(f"{what}: cannot read {path}: {exc}") from exc


def _code_str(s: pd.Series) -> pd.Series:
    """Administrative codes as strings, keeping leading digits (no '.0' from floats)."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(one).astype(object)


def load_communities(
    source: Any,
    *,
    id: str | None = None,  # noqa: A002 - the issue's parameter name
    name: str | None = None,
    code: str | None = None,
    population: str | None = None,
    street: str | None = None,
    street_code: str | None = None,
    county: str | None = None,
    county_code: str | None = None,
    elderly: str | None = None,
    child_0_3: str | None = None,
    child_3_6: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Load communities (polygons or points) with population and hierarchy.

    Parameters
    ----------
    source : GeoDataFrame, or a GeoPackage/GeoJSON/Shapefile path (any CRS; must have one).
    id, name, code, population, street, street_code, county, county_code :
        Column names. When not given, common English and Chinese names are recognised
        (``社区名称``, ``常住人口``, ``街道``, ``区县`` ...). ``code`` is the 12-digit NBS statistical
        code (统计用区划代码); street (9 digits) and county (6 digits) codes are derived from it
        when not given.
    elderly, child_0_3, child_3_6 : optional age-group columns (people aged 60+, 0–3, 3–6)
        used to weight 一老一小 needs.

    Returns
    -------
    GeoDataFrame in the source CRS with :data:`COMMUNITY_COLUMNS` and ``geometry``, indexed by
    ``community_id`` (string). Population may be NaN: :func:`demand_points` can estimate it.
    """
    what = f"communities ({source if isinstance(source, (str, Path)) else 'frame'})"
    gdf = _read(source, layer, what)
    if len(gdf) == 0:
        raise InputError(f"{what}: no rows")
    if gdf.crs is None:
        raise CRSError(f"{what}: no CRS; set it (e.g. gdf.set_crs('EPSG:4326')) before loading")
    geoms = gdf.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise InputError(f"{what}: rows {_rows(gdf.index, bad)} have no geometry")
    kinds = set(gdf.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon", "Point"}:
        raise InputError(f"{what}: geometries must be polygons or points, got {sorted(kinds)}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning("%s: %d invalid polygons repaired with make_valid", what, int(invalid.sum()))
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(geoms[invalid])

    cols = {
        key: _find(gdf, given, key, what)
        for key, given in [
            ("id", id),
            ("name", name),
            ("code", code),
            ("population", population),
            ("street", street),
            ("street_code", street_code),
            ("county", county),
            ("county_code", county_code),
            ("elderly", elderly),
            ("child_0_3", child_0_3),
            ("child_3_6", child_3_6),
        ]
    }
    out = pd.DataFrame(index=gdf.index)
    out["community_code"] = _code_str(gdf[cols["code"]]) if cols["code"] else None
    if cols["id"]:
        out["community_id"] = _code_str(gdf[cols["id"]])
    elif cols["code"]:
        out["community_id"] = out["community_code"]
    else:
        out["community_id"] = [f"c{i:05d}" for i in range(len(gdf))]
    if out["community_id"].isna().any():
        raise InputError(
            f"{what}: empty community id in rows {_rows(gdf.index, out['community_id'].isna().to_numpy())}"
        )
    dup = out["community_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{what}: duplicate community ids {sorted(set(out['community_id'][dup]))[:5]} in rows "
            f"{_rows(gdf.index, dup)}; ids must be unique"
        )
    out["community_name"] = gdf[cols["name"]].astype(str) if cols["name"] else out["community_id"]
    out["street_code"] = _code_str(gdf[cols["street_code"]]) if cols["street_code"] else None
    out["street_name"] = gdf[cols["street"]].astype(object) if cols["street"] else None
    out["county_code"] = _code_str(gdf[cols["county_code"]]) if cols["county_code"] else None
    out["county_name"] = gdf[cols["county"]].astype(object) if cols["county"] else None
    code_ok = out["community_code"].fillna("").str.fullmatch(r"\d{12}")
    out.loc[out["street_code"].isna() & code_ok, "street_code"] = out["community_code"].str[:9]
    out.loc[out["county_code"].isna() & code_ok, "county_code"] = out["community_code"].str[:6]
    for key, col in [
        ("population", "population"),
        ("elderly", "pop_elderly"),
        ("child_0_3", "pop_child_0_3"),
        ("child_3_6", "pop_child_3_6"),
    ]:
        if cols[key]:
            vals = pd.to_numeric(gdf[cols[key]], errors="coerce")
            notnum = vals.isna() & gdf[cols[key]].notna()
            if notnum.any():
                raise InputError(
                    f"{what}: column {cols[key]!r} has non-numeric values in rows "
                    f"{_rows(gdf.index, notnum.to_numpy())}"
                )
            if (vals < 0).any():
                raise InputError(
                    f"{what}: column {cols[key]!r} is negative in rows {_rows(gdf.index, (vals < 0).to_numpy())}"
                )
            out[col] = vals.astype(float)
        else:
            out[col] = np.nan
    over = out["pop_elderly"] > out["population"]
    if over.any():
        raise InputError(
            f"{what}: more people aged 60+ than residents in rows {_rows(gdf.index, over.to_numpy())}"
        )
    out["pop_source"] = np.where(out["population"].notna(), "input", None)
    out["pop_estimated"] = False
    res = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    res = res.set_index("community_id", drop=False)
    res.index.name = None
    return res[COMMUNITY_COLUMNS + ["geometry"]]


def _rows(index: pd.Index, mask: np.ndarray, limit: int = 5) -> str:
    labels = list(index[mask][:limit])
    more = int(mask.sum()) - len(labels)
    return ", ".join(map(str, labels)) + (f" and {more} more" if more > 0 else "")


# ---------------------------------------------------------------------- demand points
@dataclass
class Demand:
    """Demand points and the communities with their (possibly estimated) population."""

    points: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame


def residential_buildings(
    buildings: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Residential buildings from OSM-style building polygons.

    Keeps ``building=residential|apartments|house|dormitory|...``, plus ``building=yes`` inside
    ``landuse=residential`` areas when ``landuse`` is given. Needs a ``building`` column (or a
    ``tags`` dict column as from :func:`buildings_from_osm`).
    """
    b = _flatten_tags(buildings, ("building", "building:levels", "height", "landuse"))
    kind = b["building"].fillna("")
    keep = kind.isin(_RESIDENTIAL_BUILDINGS).to_numpy().copy()
    if landuse is not None and len(landuse):
        lu = _flatten_tags(landuse, ("landuse",))
        lu = lu[lu["landuse"] == "residential"].to_crs(b.crs)
        if len(lu):
            inside = b.geometry.representative_point().within(lu.union_all()).to_numpy()
            keep |= (kind == "yes").to_numpy() & inside
    return b.loc[keep & b.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]


def buildings_from_osm(source: str | Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Building and landuse polygons from an OSM file, as ``(buildings, landuse)`` (WGS84)."""
    from ..sources.osm import read_osm

    feats = read_osm(source, ("building", "landuse"), ("way_area", "relation_area")).frame
    feats = feats[feats.geom_type.isin(["Polygon", "MultiPolygon"])]
    feats = feats.drop(columns=["kind", "closed"])
    has_b = feats["tags"].map(lambda t: "building" in t)
    has_l = feats["tags"].map(lambda t: "landuse" in t)
    return feats[has_b].reset_index(drop=True), feats[has_l].reset_index(drop=True)


def _flatten_tags(gdf: gpd.GeoDataFrame, keys: tuple[str, ...]) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for k in keys:
        if k not in out.columns:
            out[k] = out["tags"].map(lambda t, k=k: t.get(k)) if "tags" in out.columns else None
    return out


def floor_area_m2(
    buildings: gpd.GeoDataFrame, default_levels: float = 6.0, m_per_level: float = 3.0
) -> np.ndarray:
    """Floor area per building: footprint × levels (``building:levels``, else ``height`` / 3 m,
    else ``default_levels``). ``buildings`` must be in a metric CRS."""
    lv = (
        pd.to_numeric(buildings.get("building:levels"), errors="coerce")
        if "building:levels" in buildings
        else None
    )
    h = pd.to_numeric(buildings.get("height"), errors="coerce") if "height" in buildings else None
    levels = pd.Series(np.nan, index=buildings.index)
    if lv is not None:
        levels = lv
    if h is not None:
        levels = levels.fillna(np.maximum(np.round(h / m_per_level), 1))
    levels = levels.where(levels > 0).fillna(default_levels)
    return buildings.geometry.area.to_numpy() * levels.to_numpy()


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
    c = communities.copy()
    ll = c.to_crs(4326).geometry.union_all().centroid
    metric = metric_crs_for(ll.x, ll.y)
    cm = c.to_crs(metric)
    is_poly = cm.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    parts: list[pd.DataFrame] = []
    done = np.zeros(len(cm), dtype=bool)
    ids = cm["community_id"].to_numpy()

    # 1. point communities
    if (~is_poly).any():
        g = cm.loc[~is_poly]
        parts.append(
            pd.DataFrame(
                {
                    "community_id": g["community_id"].to_numpy(),
                    "w": 1.0,
                    "geometry": g.geometry.values,
                    "method": "point",
                }
            )
        )
        done |= ~is_poly

    # 2. residential buildings
    floor_by_comm = pd.Series(0.0, index=ids)
    if buildings is not None and len(buildings) and is_poly.any():
        if buildings.crs is None:
            raise CRSError("buildings: no CRS")
        res = residential_buildings(buildings, landuse).to_crs(metric)
        if len(res):
            fa = floor_area_m2(res, default_levels=default_levels)
            pts = gpd.GeoDataFrame(
                {"fa": fa}, geometry=res.geometry.representative_point().values, crs=metric
            )
            polys = cm.loc[is_poly, ["community_id", "geometry"]]
            j = gpd.sjoin(pts, polys, predicate="within", how="inner")
            j = j[~j.index.duplicated(keep="first")]  # overlapping communities: first wins
            if len(j):
                floor_by_comm = j.groupby("community_id")["fa"].sum().reindex(ids).fillna(0.0)
                parts.append(
                    pd.DataFrame(
                        {
                            "community_id": j["community_id"].to_numpy(),
                            "w": j["fa"].to_numpy(),
                            "geometry": j.geometry.values,
                            "method": "buildings",
                        }
                    )
                )
                done |= np.isin(ids, j["community_id"].unique())

    # 3. population raster
    raster_sum = pd.Series(np.nan, index=ids)
    if raster is not None and (~done & is_poly).any():
        rp = _raster_points(cm.loc[~done & is_poly], raster, metric)
        if len(rp):
            raster_sum = rp.groupby("community_id")["w"].sum().reindex(ids)
            parts.append(rp)
            done |= np.isin(ids, rp["community_id"].unique())

    # 4. regular grid
    if grid_m is not None and (~done & is_poly).any():
        gp = _grid_points(cm.loc[~done & is_poly], float(grid_m))
        parts.append(gp)
        done |= np.isin(ids, gp["community_id"].unique())

    # 5. last resort: the representative point
    if (~done).any():
        g = cm.loc[~done]
        log.warning(
            "%d communities have no buildings, raster cells or grid points: their population is "
            "placed at one representative point (%s%s). Give buildings=, raster= or grid_m=.",
            int((~done).sum()),
            ", ".join(map(str, g["community_id"][:5])),
            " ..." if (~done).sum() > 5 else "",
        )
        parts.append(
            pd.DataFrame(
                {
                    "community_id": g["community_id"].to_numpy(),
                    "w": 1.0,
                    "geometry": g.geometry.representative_point().values,
                    "method": "centroid",
                }
            )
        )

    pts = pd.concat(parts, ignore_index=True)
    # population estimates where missing
    missing = c["population"].isna().to_numpy()
    if missing.any():
        est_fa = floor_by_comm.reindex(ids).to_numpy() / per_capita_floor_m2
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
            log.warning(
                "population estimated for %d communities (from %s); flagged pop_estimated",
                int((use_fa | use_r).sum()),
                " and ".join(s for s, m in [("floor area", use_fa), ("raster", use_r)] if m.any()),
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
                f"communities {', '.join(map(str, c.index[still][:5]))}{' ...' if still.sum() > 5 else ''} "
                "have no population and none could be estimated: give a population column, "
                "residential buildings (buildings=) or a population raster (raster=), or pass "
                "missing_population='zero'"
            )
    # spread population and age groups over points in proportion to their weights
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
    out = out.sort_values(["community_id"], kind="stable").reset_index(drop=True)
    return Demand(points=out, communities=c)


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
