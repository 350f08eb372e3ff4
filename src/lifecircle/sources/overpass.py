"""Online OpenStreetMap through OSMnx (Overpass), in one place: tagged features and walk graphs.

Every call runs inside :func:`osmnx_settings`, which sets the Overpass endpoint and timeout for
that call only and restores ``osmnx.settings`` afterwards. Before downloading, the endpoint is
checked with a short connection attempt (:func:`check_reachable`): without it, a machine with no
internet waits about a minute in silence while OSMnx pauses on the Overpass status page.
"""

from __future__ import annotations

import logging
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import shapely

from .._errors import InputError, NetworkError
from .osm import WALK_FILTER_TAGS

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

log = logging.getLogger(__name__)

#: Seconds to wait for a TCP connection to the Overpass endpoint before giving up.
REACH_TIMEOUT_S = 4.0

#: Way tags a downloaded walk graph keeps: those lifecircle's pedestrian filter reads.
WALK_TAGS_WAY = (*WALK_FILTER_TAGS, "name")

_HELP = "load an .osm.pbf file instead (see README)"


@contextmanager
def osmnx_settings(**values: Any) -> Iterator[None]:
    """Set ``osmnx.settings`` attributes for the duration of a ``with`` block, then restore them."""
    import osmnx as ox

    saved = {name: getattr(ox.settings, name) for name in values}
    try:
        for name, value in values.items():
            setattr(ox.settings, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def _endpoint(url: str) -> tuple[str, int]:
    """Host and port to connect to for ``url``: the proxy's when one is configured for it."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme or "https"
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and host and not urllib.request.proxy_bypass(host):
        p = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return p.hostname or "", p.port or (443 if p.scheme == "https" else 80)
    return host, parts.port or (443 if scheme == "https" else 80)


def check_reachable(
    url: str, timeout_s: float = REACH_TIMEOUT_S, error: type[Exception] = InputError
) -> None:
    """Raise ``error`` quickly when no TCP connection to ``url`` (or its proxy) can be opened.

    The attempt (name lookup included) runs in a helper thread, so a hanging DNS lookup cannot
    hold the caller longer than ``timeout_s``.
    """
    host, port = _endpoint(url)
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                outcome["ok"] = True
        except (OSError, ValueError) as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)
    if outcome.get("ok"):
        return
    why = outcome.get("error") or f"no answer within {timeout_s:g} s"
    log.debug("Overpass endpoint %s:%s unreachable: %s", host, port, why)
    raise error(f"no connection to Overpass ({url}); {_HELP} [{why}]")


def _where(source: Any) -> tuple[str, Any] | None:
    """OSMnx's kind of query for ``source`` and its argument, or None if unsupported."""
    if isinstance(source, str):
        return "place", source
    if isinstance(source, (shapely.Polygon, shapely.MultiPolygon)):
        return "polygon", source
    if isinstance(source, (tuple, list)) and len(source) == 4:
        try:
            return "bbox", tuple(float(c) for c in source)
        except (TypeError, ValueError):
            return None
    return None


def features_from_overpass(
    source: Any, tags: dict[str, Any], overpass_url: str, timeout_s: float
) -> gpd.GeoDataFrame:
    """OSM features with ``tags`` (OSMnx's tag query) for a place name, WGS84 polygon or bbox.

    Returns OSMnx's GeoDataFrame (indexed by ``(element, id)``); an empty GeoDataFrame when
    Overpass finds nothing. Raises :class:`~lifecircle.InputError` for an unsupported source, an
    unreachable endpoint or a failed download.
    """
    import geopandas as gpd
    import osmnx as ox

    where = _where(source)
    if where is None:
        raise InputError(
            f"unsupported OSM source {source!r}: give an .osm/.osm.pbf file, a place name, "
            "a WGS84 polygon or a (west, south, east, north) bbox"
        )
    check_reachable(overpass_url)
    kind, arg = where
    try:
        with osmnx_settings(overpass_url=overpass_url, requests_timeout=timeout_s):
            return getattr(ox, f"features_from_{kind}")(arg, tags)
    except Exception as exc:
        if type(exc).__name__ == "InsufficientResponseError":  # OSMnx: nothing matched
            log.warning("Overpass returned no features for %r", source)
            return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        raise InputError(
            f"could not download OSM features for {source!r} from Overpass: {exc}. Offline, "
            "pass an .osm/.osm.pbf file (e.g. a Geofabrik extract) instead."
        ) from exc


def download_walk_graph(source: Any, overpass_url: str, timeout_s: float) -> nx.MultiDiGraph:
    """The OSMnx walk graph (``network_type="walk"``, simplified, all pieces) of a place name,
    WGS84 polygon or ``(west, south, east, north)`` bbox, keeping :data:`WALK_TAGS_WAY`.

    Raises :class:`~lifecircle.NetworkError` for an unsupported source, an unreachable endpoint
    or a failed download.
    """
    import osmnx as ox

    where = _where(source)
    if where is None:
        raise NetworkError(
            f"unsupported network source {source!r}: give an OSM/GraphML file path, a saved "
            "network folder, a networkx graph, a place name, a WGS84 polygon or a "
            "(west, south, east, north) bbox"
        )
    check_reachable(overpass_url, error=NetworkError)
    kind, arg = where
    tags = list(dict.fromkeys([*ox.settings.useful_tags_way, *WALK_TAGS_WAY]))
    try:
        with osmnx_settings(
            overpass_url=overpass_url, requests_timeout=timeout_s, useful_tags_way=tags
        ):
            return getattr(ox, f"graph_from_{kind}")(
                arg, network_type="walk", simplify=True, retain_all=True
            )
    except Exception as exc:
        raise NetworkError(
            f"could not download the walking network for {source!r} from Overpass: {exc}. "
            "Offline, pass an .osm/.osm.pbf file (e.g. a Geofabrik extract) instead."
        ) from exc
