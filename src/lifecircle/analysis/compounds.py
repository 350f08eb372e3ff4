"""The compound level (小区) below the community: the same coverage, capacity and index, computed for
each residential compound from the demand points inside it (issue: the six-level hierarchy
省、市、县(市、区)、街道(镇)、社区(村)、小区).

Compounds come as polygons (a demand point belongs to the compound that contains it) or points
(a demand point belongs to the nearest compound point of its own community within
:data:`MAX_POINT_DISTANCE_M`). Demand points in no compound are left out of this table (they still
count for their community). Nothing is recomputed on the network: the distances are the
analysis' own (:class:`~lifecircle.analysis.access.Access`), grouped by compound instead of by
community.
"""

from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .._errors import InputError
from ..network import WalkNetwork
from ..sources.tables import find_column
from ..standards import Category
from .access import Access
from .capacity import add_capacity
from .coverage import HIERARCHY, coverage_table
from .index import community_index

log = logging.getLogger(__name__)

#: A point compound takes the demand points of its community within this straight distance.
MAX_POINT_DISTANCE_M = 500.0

_ID_NAMES = ("compound_id", "id", "小区编号", "编号", "代码")
_NAME_NAMES = ("compound_name", "name", "小区名称", "小区", "名称")


def _normalise(compounds: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    if not isinstance(compounds, gpd.GeoDataFrame) or len(compounds) == 0:
        raise InputError("compounds: give a non-empty GeoDataFrame of 小区 polygons or points")
    if compounds.crs is None:
        raise InputError("compounds: the frame has no CRS; set it first (e.g. EPSG:4326)")
    cols = list(compounds.columns)
    id_col = find_column(cols, None, _ID_NAMES, "compound id")
    name_col = find_column(cols, None, _NAME_NAMES, "compound name", taken=[id_col])
    ids = (compounds[id_col].astype(str) if id_col is not None
           else pd.Series([f"C{i + 1}" for i in range(len(compounds))], index=compounds.index))  # fmt: skip
    if ids.duplicated().any():
        raise InputError(
            f"compounds: duplicate ids {sorted(set(ids[ids.duplicated()]))[:5]} in column "
            f"{id_col!r}; each compound needs its own id"
        )
    names = compounds[name_col].astype(str) if name_col is not None else ids
    out = gpd.GeoDataFrame(
        {"compound_id": ids.to_numpy(), "compound_name": names.to_numpy()},
        geometry=compounds.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    kinds = set(out.geom_type)
    if not (kinds <= {"Polygon", "MultiPolygon"} or kinds <= {"Point"}):
        raise InputError(f"compounds: give all polygons or all points, got {sorted(kinds)}")
    return out


def assign_compounds(demand: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame) -> np.ndarray:
    """The compound id of every demand point (``None`` where it is in no compound)."""
    pts = demand.to_crs(compounds.crs)
    out = np.full(len(pts), None, dtype=object)
    if (compounds.geom_type == "Point").all():
        return _nearest_point_compound(pts, compounds)
    tree = shapely.STRtree(compounds.geometry.values)
    pi, ci = tree.query(pts.geometry.values, predicate="within")
    order = np.lexsort((ci, pi))  # a point in two overlapping compounds: the first one
    pi, ci = pi[order], ci[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
    out[pi[first]] = compounds["compound_id"].to_numpy()[ci[first]]
    return out


def _nearest_point_compound(pts: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame) -> np.ndarray:
    out = np.full(len(pts), None, dtype=object)
    cxy = shapely.get_coordinates(compounds.geometry.values)
    pxy = shapely.get_coordinates(pts.geometry.values)
    d, j = cKDTree(cxy).query(pxy, distance_upper_bound=MAX_POINT_DISTANCE_M)
    ok = np.isfinite(d)
    out[ok] = compounds["compound_id"].to_numpy()[j[ok]]
    return out


def _compound_frame(demand: pd.DataFrame, key: np.ndarray, compounds: gpd.GeoDataFrame,
                    communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:  # fmt: skip
    """Compounds as "communities" for the coverage code: the hierarchy of the community most of
    their residents belong to, their residents, and their geometry."""
    d = pd.DataFrame({"compound_id": key, "community_id": demand["community_id"].to_numpy(),
                      "pop": demand["pop"].to_numpy()})[key != None]  # noqa: E711  # fmt: skip
    main = (d.groupby(["compound_id", "community_id"])["pop"].sum().reset_index()
            .sort_values(["compound_id", "pop", "community_id"], ascending=[True, False, True])
            .drop_duplicates("compound_id").set_index("compound_id")["community_id"])  # fmt: skip
    comm = communities.set_index("community_id")
    keep = [h for h in HIERARCHY if h != "community_id"]
    keep += [c for c in ("province_code", "city_code", "settlement") if c in comm]
    rows = compounds.set_index("compound_id").loc[main.index]
    out = gpd.GeoDataFrame(
        comm.loc[main.to_numpy(), keep].reset_index(drop=True),
        geometry=rows.geometry.to_crs(communities.crs).to_numpy(),
        crs=communities.crs,
    )
    out.insert(0, "community_id", main.index.to_numpy())  # the compound id, as the row key
    out["parent_community_id"] = main.to_numpy()
    out["parent_community_name"] = out["community_name"]
    out["community_name"] = rows["compound_name"].to_numpy()
    out["population"] = d.groupby("compound_id")["pop"].sum().reindex(main.index).to_numpy()
    est = comm["pop_estimated"].reindex(main.to_numpy()).fillna(False).astype(bool)
    out["pop_estimated"] = est.to_numpy()
    return out


@dataclasses.dataclass(frozen=True)
class CompoundTables:
    """``coverage`` (compound × category) and ``index`` (one row per compound)."""

    coverage: pd.DataFrame
    index: gpd.GeoDataFrame


def compound_tables(
    network: WalkNetwork,
    demand: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    access: Access,
    cats: list[Category],
    thresholds: dict[str, float],
    min_covered_share: float,
    point_status: np.ndarray,
) -> CompoundTables:
    """Coverage and service index of every compound (see the module docstring)."""
    comp = _normalise(compounds, network.crs)
    key = assign_compounds(demand, comp)
    inside = np.flatnonzero(key != None)  # noqa: E711
    n_out = len(key) - len(inside)
    if n_out:
        log.info("%d of %d demand points lie in no compound (they count for their community only)",
                 n_out, len(key))  # fmt: skip
    if len(inside) == 0:
        raise InputError("compounds: no demand point lies in any compound; check their CRS")
    sub = demand.iloc[inside].copy()
    frame = _compound_frame(demand, key, comp, communities)
    sub["community_id"] = key[inside]
    acc = dataclasses.replace(
        access, demand=access.demand.take(inside), distance_m=access.distance_m[inside],
        nearest=access.nearest[inside],
    )  # fmt: skip
    cov = coverage_table(sub, frame, cats, acc, thresholds, min_covered_share, point_status[inside])
    # capacity: the 2SFCA catchments hold every resident, in a compound or not; only the
    # grouping of the result changes
    grouped = demand.copy()
    grouped["community_id"] = np.where(key != None, key, "\0outside")  # noqa: E711
    add_capacity(cov, cats, facilities, grouped, access, thresholds, network)
    idx = community_index(cov, frame, cats)
    idx = idx.rename(columns={"community_id": "compound_id", "community_name": "compound_name"})
    parents = frame.set_index("community_id")[["parent_community_id", "parent_community_name"]]
    idx = idx.join(parents, on="compound_id")
    cov = cov.rename(columns={"community_id": "compound_id", "community_name": "compound_name"})
    return CompoundTables(cov, idx)
