"""The walking network: :class:`WalkNetwork`, the one object that owns the compiled graph work.

It holds nodes and edges as GeoDataFrames in a metric CRS and a compact CSR adjacency. Points are
snapped to their nearest edge once (:meth:`WalkNetwork.snap` → :class:`Snapped`); every distance,
reach, isochrone and siting computation takes those snapped points. Loading lives in ``load.py``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .. import settings
from .._errors import InputError, NetworkError
from ..crs import as_crs, require_metric
from . import paths
from .paths import MIN_WEIGHT_M, Pairs, Reach
from .points import to_points
from .snapping import EdgeGrid, Snapped, edge_grid, gate_owners, snap_points, through_gates

if TYPE_CHECKING:
    from .lines import LineTopology

log = logging.getLogger(__name__)

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
    topology : LineTopology or None
        For a network built from a line layer: ends joined, crossings made junctions, crossings
        left grade-separated, duplicates merged, dead ends (``None`` otherwise).
    """

    topology: LineTopology | None = None

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
        self._grid: EdgeGrid | None = None
        self._bounds: tuple[float, ...] | None = None

    # ------------------------------------------------------------------ construction
    def _build_csr(self) -> None:
        n = len(self.nodes)
        u = self.edges["u"].to_numpy(np.int64)
        v = self.edges["v"].to_numpy(np.int64)
        w = np.maximum(self.edges["length_m"].to_numpy(np.float64), MIN_WEIGHT_M)
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

    def clip(self, area: shapely.Geometry | np.ndarray) -> WalkNetwork:
        """The part of the network that touches ``area`` (a polygon, or an array of polygons, in
        the network's metric CRS).

        Every edge that intersects ``area`` is kept whole, with both its end nodes; node and edge
        order is kept, so snapping ties resolve as in the whole network. Disconnected pieces are
        all kept. Used by :func:`lifecircle.batch.analyze_regions` to cut a region plus its buffer.

        Raises
        ------
        NetworkError
            When no edge touches ``area`` (the area is not where the network is).
        """
        hit = self._edge_grid().tree.query(area, predicate="intersects")
        if hit.ndim == 2:  # an array of polygons: (polygon, edge) pairs
            hit = np.unique(hit[1])
        if len(hit) == 0:
            raise NetworkError(
                "no street of the network touches the area to clip; check that the area is in "
                f"the network's CRS ({self.crs.to_string()}) and overlaps its extent {self.bounds}"
            )
        edge_mask = np.zeros(len(self.edges), dtype=bool)
        edge_mask[hit] = True
        node_mask = np.zeros(len(self.nodes), dtype=bool)
        node_mask[self.edges["u"].to_numpy()[edge_mask]] = True
        node_mask[self.edges["v"].to_numpy()[edge_mask]] = True
        part = self._subset(node_mask, edge_mask, self.components)
        part.components = part._component_report()[0]
        return part

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
        frames = []
        for name in ("nodes.parquet", "edges.parquet"):
            if not (path / name).exists():
                raise NetworkError(
                    f"{path}: the saved network has no {name}; the folder is incomplete — save "
                    "the network again with WalkNetwork.save, or load it from its source file"
                )
            try:
                frames.append(gpd.read_parquet(path / name))
            except Exception as exc:  # pyarrow raises several types for damaged files
                raise NetworkError(f"{path / name}: cannot read the saved network ({exc})") from exc
        return cls(frames[0], frames[1], ComponentReport(**meta["components"]))

    # ------------------------------------------------------------------ info
    def __repr__(self) -> str:
        return (
            f"<WalkNetwork {len(self.nodes):,} nodes, {len(self.edges):,} edges, "
            f"{self.edges['length_m'].sum() / 1000:,.1f} km, {self.crs.to_string()}>"
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the edges in the metric CRS."""
        if self._bounds is None:  # computed once, as the snapping tree: every snap checks them
            self._bounds = tuple(self.edges.total_bounds)
        return self._bounds  # type: ignore[return-value]

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
    def snap(
        self, points: Any, max_snap_m: float | None = None, *, what: str = "points"
    ) -> Snapped:
        """Snap points to their nearest edge (not node).

        Parameters
        ----------
        points : GeoDataFrame/GeoSeries of points (any CRS), ``(lon, lat)`` arrays or an (n, 2)
            lon/lat array (WGS84); a :class:`Snapped` is returned as it is.
        max_snap_m : points farther than this (metres) from every edge are flagged
            ``too_far`` and left out of distances; default :data:`lifecircle.settings.max_snap_m`.
        what : how error messages name the points (``"facilities"``, ``"origins"`` ...).

        Returns
        -------
        :class:`Snapped`: per point the edge, its ends ``u``/``v``, the position ``pos_m`` along
        it from ``u``, the access leg ``access_m`` and ``too_far``; ``.to_frame()`` gives a
        DataFrame indexed like ``points``.
        """
        if isinstance(points, Snapped):
            return points
        limit = settings.max_snap_m if max_snap_m is None else float(max_snap_m)
        if not np.isfinite(limit) or limit <= 0:
            raise InputError(f"max_snap_m must be a distance in metres > 0, got {max_snap_m!r}")
        pts = to_points(points, self.crs, what=what, bounds=self.bounds)
        return snap_points(
            self._edge_grid(),
            self.edges["u"].to_numpy(np.int64),
            self.edges["v"].to_numpy(np.int64),
            self.edges["length_m"].to_numpy(np.float64),
            pts,
            limit,
        )

    def _edge_grid(self) -> EdgeGrid:
        """The network's one spatial index of its edges (made on first use, then kept): the
        segment grid for nearest edges, and its STRtree (``.tree``) for the rest."""
        if self._grid is None:
            self._grid = edge_grid(self.edges.geometry.values)
        return self._grid

    def snap_through_gates(
        self,
        points: Any,
        gates: Any,
        max_snap_m: float | None = None,
        *,
        owner: str = "facility_id",
        what: str = "points",
    ) -> tuple[Snapped, np.ndarray]:
        """Snap points that are entered through gates (entrances of a compound or a school).

        Parameters
        ----------
        points : points with a unique index (see :meth:`snap`), e.g. facilities or the
            centres of gated compounds.
        gates : a GeoDataFrame of gate points (any CRS) whose ``owner`` column names the index
            label of the point each gate belongs to (e.g. ``lifecircle.facilities.gates(gdf)``;
            ``"F"`` also names the rows ``"F#kindergarten"``, ``"F#nursery"`` of a facility
            listed under two categories); a boolean column ``usable`` (optional) leaves closed
            gates out. ``None``: no gates.
        max_snap_m : see :meth:`snap`; gates farther than this from the network are not used.

        Returns
        -------
        ``(snapped, rows)``: a point with usable gates gives one row per gate: the gate's place
        on the network, reached by a straight walk inside from the point to the gate (access leg
        = that walk + the gate's own access leg); other points are snapped as by :meth:`snap`.
        ``rows`` gives, per row, the position in ``points`` it stands for.
        """
        pts = self.snap(points, max_snap_m, what=what)
        if gates is None or len(gates) == 0:
            return pts, np.arange(len(pts))
        if not isinstance(gates, gpd.GeoDataFrame) or owner not in gates:
            raise InputError(
                f"gates must be a GeoDataFrame with a column {owner!r} naming the {what} each "
                "gate belongs to (e.g. lifecircle.facilities.gates(facilities))"
            )
        gate, owned = gate_owners(pts.index, gates[owner], gates.get("usable"))
        return through_gates(pts, self.snap(gates, max_snap_m, what="gates"), gate, owned)

    # ------------------------------------------------------------------ on snapped points
    def nearest(
        self,
        sources: Snapped,
        targets: Snapped,
        max_m: float | None = None,
        nodes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance from every snapped target to its nearest snapped source (arrays).

        One multi-source Dijkstra (SciPy, compiled) whatever the number of sources. Returns
        (``distance_m`` per target, ``inf`` if none within ``max_m`` or unsnapped; position in
        ``sources`` of the nearest source, -1 if none). ``nodes``: the sources'
        :meth:`nearest_nodes`, when already made.
        """
        return paths.nearest(self, sources, targets, max_m, nodes)

    def nearest_sparse(
        self,
        sources: Snapped,
        targets: Snapped,
        max_m: float | None = None,
        nodes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`nearest` for the targets with a source within ``max_m`` only: (their
        positions in ``targets``, sorted; distance; position in ``sources`` of the nearest).
        With ``nodes`` from a pruned search (:meth:`nearest_nodes` with ``floor_m``) it reads
        only the targets next to what the search reached."""
        return paths.nearest_sparse(self, sources, targets, max_m, nodes)

    def nearest_nodes(
        self, sources: Snapped, max_m: float | None = None, floor_m: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per network node, the distance to the nearest snapped source (``inf`` beyond
        ``max_m``) and its position in ``sources`` (-1: none). With ``floor_m`` (a distance per
        node, e.g. to the facilities already there) only the nodes the sources bring strictly
        nearer are searched and given (elsewhere ``inf``): the search of added facilities."""
        return paths.nearest_nodes(self, sources, max_m, floor_m)

    def pairs(self, sources: Snapped, targets: Snapped, max_m: float) -> Pairs:
        """All (source, target) position pairs within ``max_m`` metres (sparse :class:`Pairs`)."""
        return paths.pairs_within(self, sources, targets, float(max_m))

    def reach(self, origins: Snapped, max_m: float, together: bool = False) -> Reach:
        """Everything within ``max_m`` metres of each snapped origin (one compiled pass).

        ``together=True`` treats all origins as one (what is within ``max_m`` of any of them,
        one multi-source search): a covered area.
        """
        if together:
            return paths.reach_together(self, origins, float(max_m))
        return paths.reach_from(self, origins, float(max_m))

    # ------------------------------------------------------------------ on points
    def distance_to_nearest(
        self,
        sources: Any,
        targets: Any,
        max_m: float | None = None,
        max_snap_m: float | None = None,
        by: str | None = None,
        *,
        source_gates: Any = None,
        target_gates: Any = None,
        gate_owner: str = "facility_id",
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
        source_gates, target_gates : gates of the sources / targets (see
            :meth:`snap_through_gates`, column ``gate_owner``): a source or target with usable
            gates is left and entered through its nearest gate, walking straight inside,
            instead of from the street nearest to it.

        Returns
        -------
        DataFrame indexed like ``targets``: ``distance_m`` (``inf`` if unreachable, beyond
        ``max_m`` or unsnapped), ``source`` (index label of the nearest source, ``None`` if none),
        ``access_m`` and ``unsnapped`` (target farther than ``max_snap_m`` from the network);
        with ``by``, also the ``by`` column, rows ordered by its sorted values.
        """
        if by is not None and (not isinstance(sources, gpd.GeoDataFrame) or by not in sources):
            raise InputError(f"by={by!r}: sources must be a GeoDataFrame with that column")
        src, src_rows = self.snap_through_gates(sources, source_gates, max_snap_m, owner=gate_owner)
        tgt, tgt_rows = self.snap_through_gates(targets, target_gates, max_snap_m, owner=gate_owner)
        if by is None:
            return self._nearest_frame(src, tgt, max_m, tgt_rows)
        groups = sources[by].to_numpy()[src_rows]
        frames = []
        for value in sorted(pd.unique(groups[pd.notna(groups)])):
            part = self._nearest_frame(src.take(groups == value), tgt, max_m, tgt_rows)
            part.insert(0, by, value)
            frames.append(part)
        return pd.concat(frames)

    def _nearest_frame(
        self, src: Snapped, tgt: Snapped, max_m: float | None, tgt_rows: np.ndarray | None = None
    ) -> pd.DataFrame:
        dist, pos = self.nearest(src, tgt, max_m)
        labels = np.asarray(src.index, dtype=object)
        source = np.where(pos >= 0, labels[np.maximum(pos, 0)], None)
        frame = pd.DataFrame(
            {
                "distance_m": dist,
                "source": source,
                "access_m": tgt.access_m,
                "unsnapped": tgt.too_far,
            },
            index=tgt.index,
        )
        if tgt_rows is None:
            return frame
        # targets entered through gates: per target its best row (ties: the first), in order
        order = np.lexsort((dist, tgt_rows))
        first = np.ones(len(order), dtype=bool)
        first[1:] = tgt_rows[order][1:] != tgt_rows[order][:-1]
        unsnapped = np.ones(int(tgt_rows.max()) + 1 if len(tgt_rows) else 0, dtype=bool)
        np.logical_and.at(unsnapped, tgt_rows, tgt.too_far)
        out = frame.iloc[order[first]].copy()
        out["unsnapped"] = unsnapped[tgt_rows[order[first]]]
        return out

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
        p = self.pairs(src, tgt, max_m)
        return pd.DataFrame(
            {
                "source": np.asarray(src.index, dtype=object)[p.source],
                "target": np.asarray(tgt.index, dtype=object)[p.target],
                "distance_m": p.distance_m,
            }
        )

    def reachable(self, origins: Any, max_m: float, max_snap_m: float | None = None) -> Reach:
        """Everything within ``max_m`` metres of each origin, in one batched compiled pass.

        Each origin is snapped to its nearest edge and searched from both ends of that edge
        (access leg included). The result is sparse: only reached nodes are stored.

        Returns
        -------
        :class:`Reach` with ``.nodes`` (origin, node, distance_m) and
        :meth:`Reach.edge_pieces` (the reached intervals of every edge, partial edges included).
        """
        return self.reach(self.snap(origins, max_snap_m), max_m)
