"""The walking network: loading, snapping to edges, and network distances.

:func:`load_network` reads OSM files (XML, compressed XML, PBF), OSMnx GraphML, networkx graphs,
saved networks, or (online) a place / polygon / bbox through OSMnx, applies pedestrian semantics
and projects to a metric CRS. :class:`WalkNetwork` holds nodes and edges as GeoDataFrames and a
compact CSR adjacency used for every computation.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from .. import settings
from .._errors import InputError, NetworkError
from .._progress import progress
from ..crs import WGS84, as_crs, metric_crs_for, require_metric, transformer
from ..sources.osm import is_osm_file, is_walkable, read_walk_ways, split_ways_at_junctions
from .kernels import bounded_dijkstra_batch, merge_sorted_intervals
from .points import Points, to_points

log = logging.getLogger(__name__)

#: Smallest edge weight used in the CSR graph: SciPy drops exact zeros from sparse graphs.
_MIN_WEIGHT_M = 1e-6
_FORMAT_VERSION = 1

Keep = Literal["largest", "all"]


@dataclass(frozen=True)
class ComponentReport:
    """Connectivity of a network: how many pieces and how much length is outside the largest."""

    n_components: int
    largest_nodes: int
    largest_length_share: float
    dropped_components: int
    dropped_length_m: float

    def __repr__(self) -> str:
        return f"<ComponentReport: {self}>"

    def __str__(self) -> str:
        return (
            f"{self.n_components} connected piece(s); the largest holds "
            f"{self.largest_length_share:.1%} of the length"
            + (
                f"; dropped {self.dropped_components} piece(s), {self.dropped_length_m:,.0f} m"
                if self.dropped_components
                else ""
            )
        )


class WalkNetwork:
    """An undirected walking network in a metric CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        Metric CRS of ``nodes`` and ``edges`` (CGCS2000 Gauss-Krüger in China, else UTM).
    nodes : GeoDataFrame
        One row per node, index ``0..n-1``; columns ``osmid``, ``component``, ``geometry``.
    edges : GeoDataFrame
        One row per undirected edge, index ``0..m-1``; columns ``u``, ``v`` (node positions),
        ``length_m``, OSM tags (``highway``, ``name`` ...), ``osmid`` and a LineString
        ``geometry`` running from ``u`` to ``v``.
    indptr, indices, weights : numpy arrays
        Symmetric CSR adjacency (shortest parallel edge per node pair), weights in metres.
    components : ComponentReport
        Connectivity as loaded.
    """

    def __init__(
        self,
        nodes: gpd.GeoDataFrame,
        edges: gpd.GeoDataFrame,
        components: ComponentReport | None = None,
    ) -> None:
        if nodes.crs is None or edges.crs is None:
            raise NetworkError("nodes and edges need a CRS")
        self.crs: CRS = CRS.from_user_input(nodes.crs)
        require_metric(self.crs, "network")
        self.nodes = nodes
        self.edges = edges
        self._build_csr()
        self.components = components or self._component_report()[0]
        self._tree: shapely.STRtree | None = None

    # ------------------------------------------------------------------ construction
    def _build_csr(self) -> None:
        n = len(self.nodes)
        u = self.edges["u"].to_numpy(np.int64)
        v = self.edges["v"].to_numpy(np.int64)
        w = np.maximum(self.edges["length_m"].to_numpy(np.float64), _MIN_WEIGHT_M)
        loop = u == v
        rows = np.concatenate([u[~loop], v[~loop]])
        cols = np.concatenate([v[~loop], u[~loop]])
        data = np.concatenate([w[~loop], w[~loop]])
        # keep the shortest of parallel edges: sort by (row, col, weight), take the first
        order = np.lexsort((data, cols, rows))
        rows, cols, data = rows[order], cols[order], data[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, data = rows[first], cols[first], data[first]
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(self.indptr, rows + 1, 1)
        np.cumsum(self.indptr, out=self.indptr)
        self.indices = cols.astype(np.int64)
        self.weights = data.astype(np.float64)

    def csr(self, extra_rows: int = 0) -> csr_matrix:
        """The adjacency as a SciPy CSR matrix (optionally with empty extra rows/columns)."""
        n = len(self.nodes) + extra_rows
        indptr = np.concatenate([self.indptr, np.full(extra_rows, self.indptr[-1])])
        return csr_matrix((self.weights, self.indices, indptr), shape=(n, n))

    def _component_report(self) -> tuple[ComponentReport, np.ndarray]:
        n_comp, labels = connected_components(self.csr(), directed=False)
        if len(self.edges):
            lengths = np.bincount(
                labels[self.edges["u"].to_numpy()],
                weights=self.edges["length_m"].to_numpy(),
                minlength=n_comp,
            )
        else:
            lengths = np.zeros(n_comp)
        sizes = np.bincount(labels, minlength=n_comp)
        # largest by length, ties by size then lowest label (deterministic)
        big = int(np.lexsort((np.arange(n_comp), -sizes, -lengths))[0]) if n_comp else 0
        total = lengths.sum()
        report = ComponentReport(
            n_components=int(n_comp),
            largest_nodes=int(sizes[big]) if n_comp else 0,
            largest_length_share=float(lengths[big] / total) if total > 0 else 1.0,
            dropped_components=0,
            dropped_length_m=0.0,
        )
        # renumber so that component 0 is the largest
        order = np.argsort(np.lexsort((np.arange(n_comp), -sizes, -lengths)))
        return report, order[labels]

    @classmethod
    def from_lines(
        cls,
        u: np.ndarray,
        v: np.ndarray,
        lines: np.ndarray,
        node_xy: np.ndarray,
        crs: Any,
        attrs: pd.DataFrame | None = None,
        node_osmid: np.ndarray | None = None,
        keep: Keep = "largest",
    ) -> WalkNetwork:
        """Build a network from edge LineStrings (metric CRS) running from node ``u`` to ``v``.

        This is the common constructor behind every loader, also handy for hand-built
        networks in tests: ``node_xy`` are node coordinates, ``lines`` shapely LineStrings.
        """
        crs = as_crs(crs)
        require_metric(crs, "network")
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        lines = np.asarray(lines, dtype=object)
        if len(u) == 0:
            raise NetworkError("the network has no walkable edges")
        nodes = gpd.GeoDataFrame(
            {"osmid": node_osmid if node_osmid is not None else np.arange(len(node_xy))},
            geometry=shapely.points(node_xy),
            crs=crs,
        )
        edges = gpd.GeoDataFrame(
            {"u": u, "v": v, "length_m": shapely.length(lines)},
            geometry=lines,
            crs=crs,
        )
        if attrs is not None:
            for col in attrs.columns:
                edges[col] = attrs[col].to_numpy()
        net = cls(nodes, edges)
        report, labels = net._component_report()
        net.nodes["component"] = labels
        if keep == "largest" and report.n_components > 1:
            total = float(net.edges["length_m"].sum())
            keep_nodes = labels == 0
            kept_edges = keep_nodes[net.edges["u"].to_numpy()]
            dropped_len = float(net.edges.loc[~kept_edges, "length_m"].sum())
            report = ComponentReport(
                n_components=report.n_components,
                largest_nodes=report.largest_nodes,
                largest_length_share=report.largest_length_share,
                dropped_components=report.n_components - 1,
                dropped_length_m=dropped_len,
            )
            log.warning(
                "network has %d disconnected pieces; keeping the largest (%.1f%% of %.1f km), "
                "dropping %d pieces (%.1f km). Pass keep='all' to keep them.",
                report.n_components,
                100 * report.largest_length_share,
                total / 1000,
                report.dropped_components,
                dropped_len / 1000,
            )
            net = net._subset(keep_nodes, kept_edges, report)
        elif report.n_components > 1:
            log.info("network has %d disconnected pieces (kept all)", report.n_components)
        return net

    def _subset(
        self, node_mask: np.ndarray, edge_mask: np.ndarray, report: ComponentReport
    ) -> WalkNetwork:
        new_id = np.full(len(node_mask), -1, dtype=np.int64)
        new_id[node_mask] = np.arange(int(node_mask.sum()))
        nodes = self.nodes.loc[node_mask].reset_index(drop=True)
        edges = self.edges.loc[edge_mask].reset_index(drop=True)
        edges["u"] = new_id[edges["u"].to_numpy()]
        edges["v"] = new_id[edges["v"].to_numpy()]
        return WalkNetwork(nodes, edges, report)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Save to a folder (GeoParquet nodes and edges + ``meta.json``); fast to load again."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.nodes.to_parquet(path / "nodes.parquet")
        self.edges.to_parquet(path / "edges.parquet")
        meta = {
            "format": "lifecircle-walknetwork",
            "version": _FORMAT_VERSION,
            "crs": self.crs.to_wkt(),
            "components": self.components.__dict__,
        }
        (path / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> WalkNetwork:
        """Load a network written by :meth:`save`."""
        path = Path(path)
        meta_path = path / "meta.json"
        if not meta_path.exists():
            raise NetworkError(f"{path} is not a saved lifecircle network (no meta.json)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if (
            meta.get("format") != "lifecircle-walknetwork"
            or meta.get("version", 0) > _FORMAT_VERSION
        ):
            raise NetworkError(
                f"{path}: unsupported network format {meta.get('format')} v{meta.get('version')}"
            )
        nodes = gpd.read_parquet(path / "nodes.parquet")
        edges = gpd.read_parquet(path / "edges.parquet")
        return cls(nodes, edges, ComponentReport(**meta["components"]))

    # ------------------------------------------------------------------ info
    def __repr__(self) -> str:
        return (
            f"<WalkNetwork {len(self.nodes):,} nodes, {len(self.edges):,} edges, "
            f"{self.edges['length_m'].sum() / 1000:,.1f} km, {self.crs.to_string()}>"
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the edges in the metric CRS."""
        return tuple(self.edges.total_bounds)  # type: ignore[return-value]

    def to_networkx(self) -> nx.MultiGraph:
        """The network as an undirected networkx MultiGraph (``length`` in metres)."""
        G = nx.MultiGraph(crs=self.crs.to_string())
        xy = shapely.get_coordinates(self.nodes.geometry.values)
        G.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(xy))
        G.add_edges_from(
            (int(a), int(b), {"length": float(w), "edge": i})
            for i, (a, b, w) in enumerate(
                zip(self.edges["u"], self.edges["v"], self.edges["length_m"], strict=True)
            )
        )
        return G

    # ------------------------------------------------------------------ snapping
    def _points(self, obj: Any, what: str) -> Points:
        return to_points(obj, self.crs, what=what, bounds=self.bounds)

    def snap(self, points: Any, max_snap_m: float | None = None) -> pd.DataFrame:
        """Snap points to their nearest edge (not node).

        Parameters
        ----------
        points : GeoDataFrame/GeoSeries of points (any CRS), ``(lon, lat)`` arrays or an (n, 2)
            lon/lat array (WGS84).
        max_snap_m : points farther than this (metres) from every edge are flagged
            ``too_far``; default :data:`lifecircle.settings.max_snap_m`.

        Returns
        -------
        DataFrame indexed like ``points``: ``edge`` (row of :attr:`edges`), ``u``, ``v``,
        ``pos_m`` (distance along the edge from ``u``), ``edge_length_m``, ``access_m``
        (straight distance from the point to the edge), ``x``/``y`` of the snapped point in
        the metric CRS, and ``too_far``.
        """
        pts = self._points(points, "points")
        return self._snap(pts, max_snap_m)

    def _snap(self, pts: Points, max_snap_m: float | None) -> pd.DataFrame:
        max_snap = settings.max_snap_m if max_snap_m is None else float(max_snap_m)
        if self._tree is None:
            self._tree = shapely.STRtree(self.edges.geometry.values)
        geoms = shapely.points(pts.xy)
        (qi, ei), dist = self._tree.query_nearest(geoms, return_distance=True, all_matches=True)
        # deterministic tie-break: lowest edge row among equally near edges
        order = np.lexsort((ei, qi))
        qi, ei, dist = qi[order], ei[order], dist[order]
        first = np.ones(len(qi), dtype=bool)
        first[1:] = qi[1:] != qi[:-1]
        edge = np.empty(len(pts), dtype=np.int64)
        access = np.empty(len(pts), dtype=np.float64)
        edge[qi[first]] = ei[first]
        access[qi[first]] = dist[first]
        lines = self.edges.geometry.values[edge]
        geom_len = shapely.length(lines)
        along = shapely.line_locate_point(lines, geoms)
        length = self.edges["length_m"].to_numpy()[edge]
        # positions are measured on the geometry; scale to the edge's length_m
        frac = np.where(geom_len > 0, along / np.where(geom_len > 0, geom_len, 1.0), 0.0)
        pos = np.clip(frac, 0.0, 1.0) * length
        snapped = shapely.line_interpolate_point(lines, along)
        sxy = shapely.get_coordinates(snapped)
        out = pd.DataFrame(
            {
                "edge": edge,
                "u": self.edges["u"].to_numpy()[edge],
                "v": self.edges["v"].to_numpy()[edge],
                "pos_m": pos,
                "edge_length_m": length,
                "access_m": access,
                "x": sxy[:, 0],
                "y": sxy[:, 1],
                "too_far": access > max_snap,
            },
            index=pts.index,
        )
        n_far = int(out["too_far"].sum())
        if n_far:
            log.warning(
                "%d of %d points are farther than %.0f m from the walking network and are left "
                "out (rows %s)",
                n_far,
                len(out),
                max_snap,
                ", ".join(map(str, out.index[out["too_far"]][:5])),
            )
        return out

    # ------------------------------------------------------------------ distances
    def distance_to_nearest(
        self,
        sources: Any,
        targets: Any,
        max_m: float | None = None,
        max_snap_m: float | None = None,
        by: str | None = None,
    ) -> pd.DataFrame:
        """Network distance from every target to its nearest source.

        The distance is access leg + along-edge + network path + along-edge + access leg, with
        both points snapped to their nearest edge; a source and target on the same edge use the
        direct along-edge distance. It is computed with **one** multi-source Dijkstra seeded at
        both ends of each source's edge (SciPy, compiled), whatever the number of sources.

        Parameters
        ----------
        sources, targets : points (see :meth:`snap`), any CRS.
        max_m : distances above this (metres) are reported as ``inf``; also bounds the search.
        max_snap_m : see :meth:`snap`. Sources and targets beyond it are left out.
        by : a column of ``sources`` (e.g. ``"category"``): one pass per value, with every point
            snapped only once; the result then has one row per target and value.

        Returns
        -------
        DataFrame indexed like ``targets``: ``distance_m`` (``inf`` if unreachable, beyond
        ``max_m`` or unsnapped), ``source`` (index label of the nearest source, ``None`` if none),
        ``access_m`` and ``unsnapped`` (target farther than ``max_snap_m`` from the network);
        with ``by``, also the ``by`` column, rows ordered by its sorted values.
        """
        src = self.snap(sources, max_snap_m)
        tgt = self.snap(targets, max_snap_m)
        if by is None:
            return self._nearest_frame(src, tgt, max_m)
        if not isinstance(sources, gpd.GeoDataFrame) or by not in sources.columns:
            raise InputError(f"by={by!r}: sources must be a GeoDataFrame with that column")
        groups = sources[by].to_numpy()
        frames = []
        for value in sorted(pd.unique(groups[pd.notna(groups)])):
            part = self._nearest_frame(src[groups == value], tgt, max_m)
            part.insert(0, by, value)
            frames.append(part)
        return pd.concat(frames)

    def _nearest_frame(
        self, src: pd.DataFrame, tgt: pd.DataFrame, max_m: float | None
    ) -> pd.DataFrame:
        dist, pos = self._nearest_from_snaps(src, tgt, max_m)
        labels = np.asarray(src.index, dtype=object)
        source = np.where(pos >= 0, labels[np.maximum(pos, 0)], None)
        return pd.DataFrame(
            {
                "distance_m": dist,
                "source": source,
                "access_m": tgt["access_m"].to_numpy(),
                "unsnapped": tgt["too_far"].to_numpy(),
            },
            index=tgt.index,
        )

    def _multi_source(self, s: pd.DataFrame, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """One multi-source Dijkstra from the snapped points ``s`` (all within ``max_snap_m``).

        Each source is a virtual node joined to both ends of its edge at access + along-edge
        distance (no change to the network). Returns, per network node, the distance to the
        nearest source (``inf`` beyond ``limit``) and that source's position in ``s`` (-1).
        """
        n = len(self.nodes)
        k = len(s)
        a = s["access_m"].to_numpy()
        p = s["pos_m"].to_numpy()
        L = s["edge_length_m"].to_numpy()
        vcols = np.column_stack([s["u"].to_numpy(), s["v"].to_numpy()]).ravel()
        vw = np.maximum(np.column_stack([a + p, a + (L - p)]).ravel(), _MIN_WEIGHT_M)
        indptr = np.concatenate([self.indptr, self.indptr[-1] + 2 * np.arange(1, k + 1)])
        indices = np.concatenate([self.indices, vcols])
        data = np.concatenate([self.weights, vw])
        g = csr_matrix((data, indices, indptr), shape=(n + k, n + k))
        d, _, origin = dijkstra(
            g,
            directed=True,
            indices=np.arange(n, n + k),
            min_only=True,
            return_predecessors=True,
            limit=limit,
        )
        origin = origin[:n]
        return np.asarray(d[:n], dtype=np.float64), np.where(origin >= 0, origin - n, -1)

    def _nearest_from_snaps(
        self, src: pd.DataFrame, tgt: pd.DataFrame, max_m: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Core of :meth:`distance_to_nearest` on snapped frames.

        Returns (distance per target, position in ``src`` of the nearest source or -1).
        """
        n_t = len(tgt)
        best = np.full(n_t, np.inf)
        best_src = np.full(n_t, -1, dtype=np.int64)
        ok_src = ~src["too_far"].to_numpy()
        src_pos = np.flatnonzero(ok_src)
        if len(src_pos) == 0 or n_t == 0:
            return best, best_src
        limit = np.inf if max_m is None else float(max_m)
        s = src.iloc[src_pos]
        a_s = s["access_m"].to_numpy()
        p_s = s["pos_m"].to_numpy()
        k = len(s)
        d, origin = self._multi_source(s, limit)
        tu = tgt["u"].to_numpy()
        tv = tgt["v"].to_numpy()
        tp = tgt["pos_m"].to_numpy()
        tL = tgt["edge_length_m"].to_numpy()
        ta = tgt["access_m"].to_numpy()
        via_u = d[tu] + tp
        via_v = d[tv] + (tL - tp)
        use_v = via_v < via_u
        best = np.where(use_v, via_v, via_u) + ta
        best_src = np.where(use_v, origin[tv], origin[tu])
        # same-edge pairs: the direct along-edge distance may be shorter
        te = tgt["edge"].to_numpy()
        se = s["edge"].to_numpy()
        common = np.intersect1d(te, se)
        if len(common):
            t_idx = np.flatnonzero(np.isin(te, common))
            pairs = pd.DataFrame({"t": t_idx, "edge": te[t_idx]}).merge(
                pd.DataFrame({"s": np.arange(k), "edge": se}), on="edge"
            )
            direct = ta[pairs["t"]] + np.abs(tp[pairs["t"]] - p_s[pairs["s"]]) + a_s[pairs["s"]]
            pairs["d"] = direct
            pairs = pairs.sort_values(["t", "d", "s"]).drop_duplicates("t")
            t_rows = pairs["t"].to_numpy()
            better = pairs["d"].to_numpy() < best[t_rows]
            best[t_rows[better]] = pairs["d"].to_numpy()[better]
            best_src[t_rows[better]] = pairs["s"].to_numpy()[better]
        too_far_t = tgt["too_far"].to_numpy()
        out = ~np.isfinite(best) | (best > limit) | too_far_t
        best[out] = np.inf
        best_src[out] = -1
        best_src[~out] = src_pos[best_src[~out]]
        return best, best_src

    def pairs_within(
        self, sources: Any, targets: Any, max_m: float, max_snap_m: float | None = None
    ) -> pd.DataFrame:
        """All (source, target) pairs within ``max_m`` metres on the network, sparse.

        Same distance definition as :meth:`distance_to_nearest` (access legs, along-edge parts,
        same-edge pairs), computed from one batched bounded search per source.

        Returns
        -------
        DataFrame with ``source`` and ``target`` (index labels) and ``distance_m``, sorted by
        source, then target.
        """
        src = self.snap(sources, max_snap_m)
        tgt = self.snap(targets, max_snap_m)
        p = self._pairs_from_snaps(src, tgt, float(max_m))
        return pd.DataFrame(
            {
                "source": np.asarray(src.index, dtype=object)[p["s"].to_numpy()],
                "target": np.asarray(tgt.index, dtype=object)[p["t"].to_numpy()],
                "distance_m": p["d"].to_numpy(),
            }
        )

    def _pairs_from_snaps(self, src: pd.DataFrame, tgt: pd.DataFrame, max_m: float) -> pd.DataFrame:
        """Pairs (s, t, d) by position in ``src``/``tgt`` with network distance d <= max_m."""
        reach = self._reach_from_snaps(src, max_m)
        ok_t = ~tgt["too_far"].to_numpy()
        t_idx = np.flatnonzero(ok_t)
        tu = tgt["u"].to_numpy()[ok_t]
        tv = tgt["v"].to_numpy()[ok_t]
        tp = tgt["pos_m"].to_numpy()[ok_t]
        tL = tgt["edge_length_m"].to_numpy()[ok_t]
        ta = tgt["access_m"].to_numpy()[ok_t]
        ends = pd.DataFrame(
            {
                "node": np.concatenate([tu, tv]),
                "t": np.concatenate([t_idx, t_idx]),
                "add": np.concatenate([tp + ta, tL - tp + ta]),
            }
        )
        r = pd.DataFrame({"s": reach.origin, "node": reach.node, "dist": reach.dist})
        m = r.merge(ends, on="node")
        frames = [pd.DataFrame({"s": m["s"], "t": m["t"], "d": m["dist"] + m["add"]})]
        # same-edge pairs
        ok_s = ~src["too_far"].to_numpy()
        se = pd.DataFrame(
            {
                "s": np.flatnonzero(ok_s),
                "edge": src["edge"].to_numpy()[ok_s],
                "ps": src["pos_m"].to_numpy()[ok_s],
                "as": src["access_m"].to_numpy()[ok_s],
            }
        )
        te = pd.DataFrame({"t": t_idx, "edge": tgt["edge"].to_numpy()[ok_t], "pt": tp, "at": ta})
        same = se.merge(te, on="edge")
        if len(same):
            frames.append(
                pd.DataFrame(
                    {
                        "s": same["s"],
                        "t": same["t"],
                        "d": same["as"] + (same["ps"] - same["pt"]).abs() + same["at"],
                    }
                )
            )
        allp = pd.concat(frames, ignore_index=True)
        allp = allp[allp["d"] <= max_m]
        allp = allp.groupby(["s", "t"], as_index=False, sort=True)["d"].min()
        return allp

    def reachable(self, origins: Any, max_m: float, max_snap_m: float | None = None) -> Reach:
        """Everything within ``max_m`` metres of each origin, in one batched compiled pass.

        Each origin is snapped to its nearest edge and searched from both ends of that edge
        (access leg included). The result is sparse: only reached nodes are stored.

        Returns
        -------
        :class:`Reach` with ``.nodes`` (origin, node, distance_m) and
        :meth:`Reach.edge_pieces` (the reached intervals of every edge, partial edges included).
        """
        pts = self._points(origins, "origins")
        snaps = self._snap(pts, max_snap_m)
        return self._reach_from_snaps(snaps, float(max_m))

    def _reach_from_snaps(self, snaps: pd.DataFrame, max_m: float) -> Reach:
        if not np.isfinite(max_m) or max_m < 0:
            raise InputError(f"max_m must be a finite distance in metres >= 0, got {max_m}")
        ok = ~snaps["too_far"].to_numpy()
        a = snaps["access_m"].to_numpy()
        p = snaps["pos_m"].to_numpy()
        L = snaps["edge_length_m"].to_numpy()
        n_o = len(snaps)
        seed_ptr = np.zeros(n_o + 1, dtype=np.int64)
        seed_ptr[1:] = np.cumsum(np.where(ok, 2, 0))
        seed_node = np.column_stack([snaps["u"].to_numpy(), snaps["v"].to_numpy()])[ok].ravel()
        seed_dist = np.column_stack([a + p, a + (L - p)])[ok].ravel()
        t0 = time.perf_counter()
        ptr, node, dist = bounded_dijkstra_batch(
            self.indptr,
            self.indices,
            self.weights,
            seed_ptr,
            seed_node.astype(np.int64),
            seed_dist.astype(np.float64),
            max_m,
        )
        log.debug(
            "reachable: %d origins, %d pairs in %.3f s", n_o, len(node), time.perf_counter() - t0
        )
        return Reach(self, snaps, max_m, ptr, node, dist)


class Reach:
    """Result of :meth:`WalkNetwork.reachable`: reached nodes per origin, sparse."""

    def __init__(
        self,
        network: WalkNetwork,
        snaps: pd.DataFrame,
        max_m: float,
        ptr: np.ndarray,
        node: np.ndarray,
        dist: np.ndarray,
        snap_origin: np.ndarray | None = None,
    ) -> None:
        self.network = network
        self.snaps = snaps
        self.max_m = max_m
        self.ptr = ptr
        self.node = node
        self.dist = dist
        #: origin of each row of ``snaps`` (default: row i is origin i); several sources searched
        #: together (a covered area) form one origin
        self.snap_origin = np.arange(len(snaps)) if snap_origin is None else snap_origin

    @property
    def origin(self) -> np.ndarray:
        """Origin position (0..n-1) of every reached (node, distance) pair."""
        return np.repeat(np.arange(len(self.ptr) - 1), np.diff(self.ptr))

    @property
    def nodes(self) -> pd.DataFrame:
        """One row per (origin, reached node): ``origin`` (index label), ``node``, ``distance_m``."""
        labels = np.asarray(self.snaps.index, dtype=object)
        return pd.DataFrame(
            {"origin": labels[self.origin], "node": self.node, "distance_m": self.dist}
        )

    def edge_pieces(self, max_m: float | None = None) -> pd.DataFrame:
        """Reached stretches of edges within ``max_m`` (default: the search limit).

        One row per (origin, edge, interval): ``origin`` (position), ``edge``, ``start_m``,
        ``end_m`` measured along the edge from its ``u`` end. Partly walked edges at the rim
        give partial intervals; the origin's own edge gives the interval around the origin.
        """
        limit = self.max_m if max_m is None else float(max_m)
        if limit > self.max_m + 1e-9:
            raise InputError(f"max_m={limit} exceeds the search limit {self.max_m}")
        net = self.network
        keep = self.dist <= limit
        org = self.origin[keep]
        nd = self.node[keep]
        rem = limit - self.dist[keep]
        eu = net.edges["u"].to_numpy()
        ev = net.edges["v"].to_numpy()
        el = net.edges["length_m"].to_numpy()
        # node -> incident edge ends (edge, at_u)
        ends_node = np.concatenate([eu, ev])
        ends_edge = np.concatenate([np.arange(len(eu)), np.arange(len(ev))])
        ends_at_u = np.concatenate([np.ones(len(eu), bool), np.zeros(len(ev), bool)])
        order = np.argsort(ends_node, kind="stable")
        ends_node, ends_edge, ends_at_u = ends_node[order], ends_edge[order], ends_at_u[order]
        inc_ptr = np.searchsorted(ends_node, np.arange(len(net.nodes) + 1))
        deg = inc_ptr[nd + 1] - inc_ptr[nd]
        rep = np.repeat(np.arange(len(nd)), deg)
        # positions into the incidence arrays for each repeated pair
        offs = np.arange(len(rep)) - np.repeat(np.cumsum(deg) - deg, deg)
        inc = inc_ptr[nd][rep] + offs
        e = ends_edge[inc]
        at_u = ends_at_u[inc]
        r = np.minimum(rem[rep], el[e])
        start = np.where(at_u, 0.0, el[e] - r)
        end = np.where(at_u, r, el[e])
        o = org[rep]
        # the origin's own edge: the interval around the origin
        sn = self.snaps
        ok = ~sn["too_far"].to_numpy()
        own_o = self.snap_origin[ok]
        own_r = limit - sn["access_m"].to_numpy()[ok]
        has = own_r >= 0
        own_o, own_r = own_o[has], own_r[has]
        own_e = sn["edge"].to_numpy()[ok][has]
        own_p = sn["pos_m"].to_numpy()[ok][has]
        o = np.concatenate([o, own_o])
        e = np.concatenate([e, own_e])
        start = np.concatenate([start, np.maximum(own_p - own_r, 0.0)])
        end = np.concatenate([end, np.minimum(own_p + own_r, el[own_e])])
        return _merge_intervals(o, e, start, end)


def _merge_intervals(
    o: np.ndarray, e: np.ndarray, start: np.ndarray, end: np.ndarray
) -> pd.DataFrame:
    """Union overlapping intervals per (origin, edge)."""
    order = np.lexsort((start, e, o))
    o, e, start, end = o[order], e[order], start[order], end[order]
    keep, merged_end = merge_sorted_intervals(o, e, start, end)
    return pd.DataFrame(
        {"origin": o[keep], "edge": e[keep], "start_m": start[keep], "end_m": merged_end[keep]}
    )


# ---------------------------------------------------------------------- loaders
def load_network(
    source: Any,
    crs: Any = None,
    keep: Keep = "largest",
) -> WalkNetwork:
    """Load a walking network and project it to a metric CRS.

    Parameters
    ----------
    source :
        * an OSM file: ``.osm``/``.osm.xml`` (also ``.gz``/``.bz2``) or ``.osm.pbf``;
        * an OSMnx GraphML file (``.graphml``);
        * a folder written by :meth:`WalkNetwork.save`;
        * a networkx graph with node ``x``/``y`` and a ``crs`` graph attribute;
        * online only, through OSMnx/Overpass: a place name (``"南湖区, 嘉兴市"``), a shapely
          (Multi)Polygon in WGS84, or a ``(west, south, east, north)`` bbox in WGS84.
    crs :
        Metric CRS to use; default: the CGCS2000 3-degree Gauss-Krüger zone inside China
        (EPSG:4549 for Jiaxing), UTM elsewhere.
    keep :
        ``"largest"`` (default) keeps the largest connected piece and reports the rest;
        ``"all"`` keeps every piece.

    Returns
    -------
    WalkNetwork
    """
    if keep not in ("largest", "all"):
        raise InputError(f"keep must be 'largest' or 'all', got {keep!r}")
    t0 = time.perf_counter()
    if isinstance(source, WalkNetwork):
        return source
    if isinstance(source, nx.Graph):
        net = _from_networkx(source, crs, keep)
    elif isinstance(source, (str, Path)) and Path(source).exists():
        path = Path(source)
        if path.is_dir():
            net = WalkNetwork.load(path)
        elif path.suffix.lower() == ".graphml":
            import osmnx as ox

            net = _from_networkx(ox.load_graphml(path), crs, keep)
        elif is_osm_file(path):
            net = _from_osm_file(path, crs, keep)
        else:
            raise NetworkError(
                f"don't know how to read {path.name}: expected .osm, .osm.gz, .osm.bz2, .osm.pbf, "
                ".graphml or a saved network folder"
            )
    elif (
        isinstance(source, (str, Path))
        and is_osm_file(Path(source))
        or (isinstance(source, (str, Path)) and str(source).lower().endswith(".graphml"))
    ):
        raise NetworkError(f"file not found: {source}")
    else:
        net = _from_networkx(_download(source), crs, keep)
    log.info("loaded %r in %.2f s (%s)", net, time.perf_counter() - t0, net.components)
    return net


def _pick_crs(lon: np.ndarray, lat: np.ndarray, crs: Any) -> CRS:
    if crs is not None:
        c = as_crs(crs)
        require_metric(c, "crs=")
        return c
    return metric_crs_for(float(np.nanmedian(lon)), float(np.nanmedian(lat)))


def _from_osm_file(path: Path, crs: Any, keep: Keep) -> WalkNetwork:
    with progress(total=2, desc=f"reading {path.name}") as bar:
        ww = read_walk_ways(path)
        bar.update()
        if len(ww.way_osmid) == 0:
            raise NetworkError(f"{path} has no walkable ways (highway=* open to pedestrians)")
        start, stop, way = split_ways_at_junctions(ww)
        metric = _pick_crs(ww.lon, ww.lat, crs)
        tr = transformer(WGS84, metric)
        x, y = tr.transform(ww.lon, ww.lat)
        xy = np.column_stack([x, y])
        # coordinates of each edge: way_nodes[start:stop+1]
        counts = stop - start + 1
        idx = np.repeat(start, counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        pts = ww.way_nodes[idx]
        lines = shapely.linestrings(xy[pts], indices=np.repeat(np.arange(len(start)), counts))
        end_u = ww.way_nodes[start]
        end_v = ww.way_nodes[stop]
        used, inv = np.unique(np.concatenate([end_u, end_v]), return_inverse=True)
        u = inv[: len(start)]
        v = inv[len(start) :]
        tags = pd.DataFrame([ww.way_tags[i] for i in way])
        attrs = pd.DataFrame({"osmid": ww.way_osmid[way]})
        for col in ("highway", "name"):
            attrs[col] = tags[col].to_numpy() if col in tags else None
        bar.update()
    return WalkNetwork.from_lines(u, v, lines, xy[used], metric, attrs, ww.node_osmid[used], keep)


def _attr_ok(data: dict) -> bool:
    """Walk filter on a networkx edge's attributes (list values: every part must pass)."""
    keys = ("highway", "foot", "access", "service", "area", "motorroad", "sidewalk")
    vals = {k: data.get(k) for k in keys if data.get(k) is not None}
    if "highway" not in vals:
        return True  # not an OSM-tagged graph: trust it
    lists = {k: v if isinstance(v, list) else [v] for k, v in vals.items()}
    for hw in lists["highway"]:
        tags = {k: str(v[0]) for k, v in lists.items() if k != "highway"}
        tags["highway"] = str(hw)
        if not is_walkable(tags):
            return False
    return True


def _from_networkx(G: nx.Graph, crs: Any, keep: Keep) -> WalkNetwork:
    if G.number_of_edges() == 0:
        raise NetworkError("the graph has no edges")
    gcrs = G.graph.get("crs")
    if gcrs is None:
        raise NetworkError(
            "the networkx graph has no 'crs' graph attribute; set G.graph['crs'] = 'EPSG:4326' "
            "for lon/lat node coordinates"
        )
    gcrs = as_crs(gcrs)
    node_ids = list(G.nodes)
    pos = {n: i for i, n in enumerate(node_ids)}
    try:
        nx_ = np.array([G.nodes[n]["x"] for n in node_ids], dtype=float)
        ny_ = np.array([G.nodes[n]["y"] for n in node_ids], dtype=float)
    except KeyError as exc:
        raise NetworkError(f"graph node without coordinate attribute {exc}") from None
    tr_ll = transformer(gcrs, WGS84)
    lon, lat = tr_ll.transform(nx_, ny_)
    metric = _pick_crs(np.asarray(lon), np.asarray(lat), crs)
    tr = transformer(gcrs, metric)
    x, y = tr.transform(nx_, ny_)
    xy = np.column_stack([x, y])
    seen: set = set()
    us, vs, geoms, rows = [], [], [], []
    dropped = 0
    for a, b, data in G.edges(data=True):
        if not _attr_ok(data):
            dropped += 1
            continue
        ia, ib = pos[a], pos[b]
        geom = data.get("geometry")
        if geom is not None:
            coords = np.asarray(shapely.get_coordinates(geom))
            cx, cy = tr.transform(coords[:, 0], coords[:, 1])
            coords = np.column_stack([cx, cy])
            # orient from a to b
            if np.hypot(*(coords[0] - xy[ia])) > np.hypot(*(coords[-1] - xy[ia])):
                coords = coords[::-1]
        else:
            coords = np.vstack([xy[ia], xy[ib]])
        length = float(np.hypot(*np.diff(coords, axis=0).T).sum())
        key = (min(ia, ib), max(ia, ib), round(length, 2))
        if key in seen:  # the reverse twin of a two-way street
            continue
        seen.add(key)
        us.append(ia)
        vs.append(ib)
        geoms.append(shapely.linestrings(coords))
        osmid = data.get("osmid")
        rows.append(
            {
                "osmid": osmid if not isinstance(osmid, list) else osmid[0],
                "highway": _first(data.get("highway")),
                "name": _first(data.get("name")),
            }
        )
    if dropped:
        log.info("dropped %d graph edges not open to pedestrians", dropped)
    used = np.unique(np.concatenate([us, vs]))
    remap = np.full(len(node_ids), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    osmids = np.array([node_ids[i] for i in used], dtype=object)
    try:
        osmids = osmids.astype(np.int64)
    except (TypeError, ValueError):
        osmids = np.arange(len(used))
    return WalkNetwork.from_lines(
        remap[np.asarray(us)],
        remap[np.asarray(vs)],
        np.asarray(geoms, dtype=object),
        xy[used],
        metric,
        pd.DataFrame(rows),
        osmids,
        keep,
    )


def _first(v: Any) -> Any:
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _download(source: Any) -> nx.MultiDiGraph:
    """Fetch a walk graph through OSMnx (Overpass) for a place, polygon or bbox."""
    import osmnx as ox

    ox.settings.overpass_url = settings.overpass_url
    ox.settings.requests_timeout = settings.requests_timeout_s
    # keep the tags lifecircle's own pedestrian filter reads (see _attr_ok)
    wanted = ["highway", "foot", "access", "service", "area", "motorroad", "sidewalk", "name"]
    ox.settings.useful_tags_way = list(dict.fromkeys([*ox.settings.useful_tags_way, *wanted]))
    kwargs = dict(network_type="walk", simplify=True, retain_all=True)
    try:
        if isinstance(source, str):
            return ox.graph_from_place(source, **kwargs)
        if isinstance(source, (shapely.Polygon, shapely.MultiPolygon)):
            return ox.graph_from_polygon(source, **kwargs)
        if isinstance(source, (tuple, list)) and len(source) == 4:
            return ox.graph_from_bbox(tuple(float(c) for c in source), **kwargs)
    except Exception as exc:
        raise NetworkError(
            f"could not download the walking network for {source!r} from Overpass: {exc}. "
            "Offline, pass an .osm/.osm.pbf file (e.g. a Geofabrik extract) instead."
        ) from exc
    raise NetworkError(
        f"unsupported network source {source!r}: give an OSM/GraphML file path, a saved network "
        "folder, a networkx graph, a place name, a WGS84 polygon or a (west, south, east, north) bbox"
    )
