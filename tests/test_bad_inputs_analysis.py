"""The bad-input catalogue, continued for networks and the analysis (see test_inputs_bad.py for
the table loaders): each case raises a named error whose message names what is wrong and the fix,
never a GEOS/pyarrow/pandas traceback."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0, river_communities, river_facilities, river_with_bridge
from conftest import FIXTURES

PROFILE = FIXTURES / "profile_analysis.toml"


def _analyze(**kw):
    net = river_with_bridge()
    comm = kw.pop("communities", None)
    comm = lc.load_communities(river_communities()) if comm is None else comm
    return lc.analyze(net, kw.pop("facilities", river_facilities()), comm, PROFILE, **kw)


def _demand_with(community_id, row=1):
    """Ready-made demand points of the river communities, one point's community id replaced."""
    d = lc.demand_points(lc.load_communities(river_communities()), grid_m=50)
    pts = d.points.copy()
    pts["community_id"] = pts["community_id"].astype(object)
    pts.loc[pts.index[row], "community_id"] = community_id
    return lc.Demand(pts, d.communities)


def _empty_communities():
    return gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)


def _saved_without_edges(tmp_path):
    folder = river_with_bridge().save(tmp_path / "net")
    (folder / "edges.parquet").unlink()
    return folder


CASES = [
    ("analyze-empty-communities", lambda t: _analyze(communities=_empty_communities()),
     lc.InputError, ["communities", "empty"]),
    ("analyze-max-snap-zero", lambda t: _analyze(max_snap_m=0), lc.InputError,
     ["max_snap_m", "> 0"]),
    ("analyze-max-snap-negative", lambda t: _analyze(max_snap_m=-10), lc.InputError,
     ["max_snap_m"]),
    ("analyze-share-of", lambda t: _analyze(share_of="towns"), lc.InputError,
     ["share_of", "'urban', 'village' or 'all'"]),
    ("analyze-target-share", lambda t: _analyze(target_share=60), lc.InputError,
     ["target_share", "(0, 1]"]),
    ("analyze-complete-unknown", lambda t: _analyze(complete_categories=["library"]),
     lc.InputError, ["complete_categories", "library"]),
    ("analyze-speed-kmh", lambda t: _analyze(speed=4.5), lc.InputError,
     ["4.5", "not a walking speed"]),
    ("analyze-facilities-no-category",
     lambda t: _analyze(facilities=river_facilities().drop(columns="category")), lc.InputError,
     ["category"]),
    ("analyze-demand-without-community", lambda t: _analyze(demand=_demand_with(None)),
     lc.InputError, ["1 demand points have no community_id", "rows 1", "demand_points"]),
    ("analyze-demand-unknown-community",
     lambda t: _analyze(demand=_demand_with("no-such-community", 2)), lc.InputError,
     ["1 demand points name a community_id that is not among the communities",
      "(no-such-community)", "rows 2"]),
    ("analyze-demand-not-demand", lambda t: _analyze(demand="points.gpkg"), lc.InputError,
     ["demand: give a Demand"]),
    ("regions-demand-unknown-community", lambda t: lc.analyze_regions(
        river_with_bridge(), river_facilities(), lc.load_communities(river_communities()),
        PROFILE, scheduler="inline", demand=_demand_with("no-such-community")),
     lc.InputError, ["not among the communities"]),
    ("network-saved-without-edges", lambda t: lc.load_network(_saved_without_edges(t)),
     lc.NetworkError, ["edges.parquet", "save the network again"]),
    ("snap-nan", lambda t: river_with_bridge().snap(
        gpd.GeoDataFrame(geometry=[shapely.Point(X0, float("nan"))], crs=CRS)),
     lc.InputError, ["NaN"]),
    ("snap-far-away", lambda t: river_with_bridge().snap(
        gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 9e5, Y0)], crs=CRS)),
     lc.InputError, ["km", "network"]),
]  # fmt: skip


@pytest.mark.parametrize(
    "build, error, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_gives_a_clear_error(build, error, fragments, tmp_path):
    with pytest.raises(error) as info:
        build(tmp_path)
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))
