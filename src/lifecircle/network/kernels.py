"""Compiled graph kernels (Numba): batched bounded Dijkstra with sparse output, and a
multi-source Dijkstra that only visits what new sources bring nearer.

SciPy's ``dijkstra(indices=..., limit=...)`` returns a dense origins × nodes matrix, so memory and
time grow with the whole graph for every origin. Here each origin's search touches only what it
reaches: one distance array with a "stamp" per node (lazy reset) and growable output buffers.
"""

from __future__ import annotations

import heapq
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

log = logging.getLogger(__name__)
_announced: set[str] = set()


def _cached_on_disk(kernel: Any) -> bool:
    """True if Numba's on-disk cache holds a compiled version of ``kernel`` (``cache=True``)."""
    code = kernel.py_func.__code__
    src = Path(code.co_filename)
    pattern = f"{src.stem}.{kernel.py_func.__name__}-*.nbi"
    places = [src.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        places.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    return any(next(p.rglob(pattern), None) is not None for p in places if p.is_dir())


def announce_compile(*kernels: Any) -> None:
    """Say before the wait that compiled kernels are being built: on the very first run Numba
    compiles them (a one-off of about 10–20 s in all on a 2-core machine); they are cached on
    disk for every later run. One warning per process; kernels compiled after it are logged at
    INFO (a first run would otherwise show a warning per kernel)."""
    cold = [
        k.py_func.__name__ for k in kernels
        if k.py_func.__name__ not in _announced and not k.signatures and not _cached_on_disk(k)
    ]  # fmt: skip
    if not cold:
        return
    first = not _announced
    _announced.update(cold)
    if first:
        log.warning(
            "first run: compiling lifecircle's kernels (%s …) — a one-off of about 10–20 s in "
            "all; they are cached on disk for later runs",
            ", ".join(cold),
        )
    else:
        log.info("first run: compiling %s", ", ".join(cold))


@njit(cache=True)
def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if need <= a.shape[0]:
        return a
    size = max(need, 2 * a.shape[0])
    b = np.empty(size, dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def bounded_dijkstra_batch(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    seed_ptr: np.ndarray,
    seed_node: np.ndarray,
    seed_dist: np.ndarray,
    limit: float,
):
    """One bounded Dijkstra per origin; origin ``k`` starts from the seeds
    ``seed_node[seed_ptr[k]:seed_ptr[k+1]]`` at initial distances ``seed_dist[...]``.

    Returns ``(out_ptr, out_node, out_dist)``: origin ``k`` reached ``out_node[out_ptr[k]:out_ptr[k+1]]``
    at distances ``out_dist[...]`` (all ``<= limit``), in settling order.
    """
    n_nodes = indptr.shape[0] - 1
    n_orig = seed_ptr.shape[0] - 1
    dist = np.empty(n_nodes, dtype=np.float64)
    stamp = np.full(n_nodes, -1, dtype=np.int64)
    done = np.full(n_nodes, -1, dtype=np.int64)
    out_ptr = np.zeros(n_orig + 1, dtype=np.int64)
    out_node = np.empty(1024, dtype=np.int64)
    out_dist = np.empty(1024, dtype=np.float64)
    count = 0
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for k in range(n_orig):
        for s in range(seed_ptr[k], seed_ptr[k + 1]):
            node = seed_node[s]
            d0 = seed_dist[s]
            if d0 <= limit and (stamp[node] != k or d0 < dist[node]):
                stamp[node] = k
                dist[node] = d0
                heapq.heappush(heap, (d0, node))
        while len(heap) > 0:
            d, u = heapq.heappop(heap)
            if done[u] == k or d > dist[u]:
                continue
            done[u] = k
            if count >= out_node.shape[0]:
                out_node = _grow(out_node, count + 1)
                out_dist = _grow(out_dist, count + 1)
            out_node[count] = u
            out_dist[count] = d
            count += 1
            for j in range(indptr[u], indptr[u + 1]):
                v = indices[j]
                nd = d + weights[j]
                if nd <= limit and (stamp[v] != k or nd < dist[v]):
                    stamp[v] = k
                    dist[v] = nd
                    heapq.heappush(heap, (nd, v))
        out_ptr[k + 1] = count
    return out_ptr, out_node[:count].copy(), out_dist[:count].copy()


@njit(cache=True)
def improving_dijkstra(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    seed_node: np.ndarray,
    seed_dist: np.ndarray,
    seed_origin: np.ndarray,
    floor: np.ndarray,
    limit: float,
):
    """One multi-source Dijkstra that settles only the nodes it reaches strictly nearer than
    ``floor`` (their distance from other sources) and within ``limit``: what new sources change.

    A node the new sources do not bring nearer passes nothing on (whatever lies behind it is at
    least as near to the old sources), so the search stays inside the region the new sources
    win. The sums are those of a full search (distance of the node before + edge weight, in
    path order), so a changed node gets the same distance as a search from all sources would
    give it. Returns ``(dist, origin)`` per node: ``inf`` / -1 where not brought nearer.
    """
    n_nodes = indptr.shape[0] - 1
    dist = np.full(n_nodes, np.inf)
    origin = np.full(n_nodes, -1, dtype=np.int64)
    done = np.zeros(n_nodes, dtype=np.bool_)
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for s in range(seed_node.shape[0]):
        node = seed_node[s]
        d0 = seed_dist[s]
        if d0 <= limit and d0 < floor[node] and d0 < dist[node]:
            dist[node] = d0
            origin[node] = seed_origin[s]
            heapq.heappush(heap, (d0, node))
    while len(heap) > 0:
        d, u = heapq.heappop(heap)
        if done[u] or d > dist[u]:
            continue
        done[u] = True
        for j in range(indptr[u], indptr[u + 1]):
            v = indices[j]
            nd = d + weights[j]
            if nd <= limit and nd < floor[v] and nd < dist[v]:
                dist[v] = nd
                origin[v] = origin[u]
                heapq.heappush(heap, (nd, v))
    return dist, origin


@njit(cache=True)
def merge_sorted_intervals(
    group_a: np.ndarray, group_b: np.ndarray, start: np.ndarray, end: np.ndarray
):
    """Union of intervals sorted by (group_a, group_b, start).

    Returns ``(keep, merged_end)``: rows where ``keep`` is True start a merged interval that
    ends at ``merged_end``.
    """
    n = start.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    merged_end = end.copy()
    head = -1
    for i in range(n):
        if (
            head >= 0
            and group_a[i] == group_a[head]
            and group_b[i] == group_b[head]
            and start[i] <= merged_end[head] + 1e-9
        ):
            if end[i] > merged_end[head]:
                merged_end[head] = end[i]
        else:
            keep[i] = True
            head = i
    return keep, merged_end
