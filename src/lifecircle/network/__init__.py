"""The walking network: loading, snapping to edges (:class:`Snapped`), and network distances.

* ``graph.py`` — :class:`WalkNetwork`, the one object that owns the compiled graph work;
* ``load.py`` — :func:`load_network` from OSM files, GraphML, networkx, saved folders, Overpass;
* ``lines.py`` — networks from line layers (road centrelines): junctions built from geometry;
* ``snapping.py`` — :class:`Snapped`, points snapped to their nearest edge;
* ``paths.py`` — nearest distances, pairs within a limit, reach (:class:`Reach`);
* ``kernels.py`` — Numba kernels; ``points.py`` — checking and projecting user points.
"""

from .graph import ComponentReport, WalkNetwork
from .lines import LineTopology
from .load import load_network
from .paths import Pairs, Reach
from .snapping import Snapped

__all__ = [
    "ComponentReport",
    "LineTopology",
    "Pairs",
    "Reach",
    "Snapped",
    "WalkNetwork",
    "load_network",
]
