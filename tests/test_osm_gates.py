"""OSM entrances as compound gates (issue 14 §2): ``entrance=*``/``barrier=gate`` nodes read from
an OSM file, closed gates kept but marked unusable, and distances through the right gate.

``tests/data/gated_compound.osm`` is the compound of ``tests/test_gates_access.py`` written as OSM
(see the file's header): south street y=0, north street y=300, joined at x=0 and x=1000; compound
x=300..850, y=40..260, centre C=(500, 120); gates N=(500, 260) entrance=main, SE=(800, 40)
barrier=gate, P=(600, 40) barrier=gate access=private, W=(300, 150) entrance=emergency.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from _nets import CRS, X0, Y0
from conftest import FIXTURES
from lifecircle.analysis import analyze
from lifecircle.communities import buildings_from_osm
from lifecircle.facilities import gates_from_osm, gates_of_places
from lifecircle.sources.osm import GATE_BARRIERS

OSM = FIXTURES / "gated_compound.osm"
CENTRE = (500.0, 120.0)


def _inside(gate: tuple[float, float]) -> float:
    return math.hypot(gate[0] - CENTRE[0], gate[1] - CENTRE[1])


def _compounds() -> gpd.GeoDataFrame:
    _, landuse = buildings_from_osm(OSM)
    return landuse[landuse["tags"].map(lambda t: t.get("landuse") == "residential")]


def test_entrances_and_gates_are_read_with_their_usable_flag():
    g = gates_from_osm(OSM)
    assert list(g.index) == ["osm/31", "osm/32", "osm/33", "osm/34"]  # the bollard is no gate
    assert g["usable"].to_dict() == {
        "osm/31": True, "osm/32": True, "osm/33": False, "osm/34": False
    }  # fmt: skip
    assert list(g["entrance"].fillna("-")) == ["main", "-", "-", "emergency"]
    assert g.loc["osm/33", "access"] == "private" and g.loc["osm/31", "name"] == "北门"
    assert g.crs.to_epsg() == 4326
    # every gate lies on the compound's boundary: all four go to the one landuse=residential area
    owned = gates_of_places(g, _compounds(), max_distance_m=1.0)
    assert owned["place_id"].tolist() == [0, 0, 0, 0]


@pytest.fixture(scope="module")
def run():
    net = lc.load_network(OSM, crs=CRS)
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["润园社区"], "population": [1000]},
            geometry=[shapely.Point(X0 + CENTRE[0], Y0 + CENTRE[1])],
            crs=CRS,
        )
    )
    # a nursery on the south street below the private gate, a day-care centre on the north street
    fac = gpd.GeoDataFrame(
        {"category": ["nursery", "elderly_daycare"], "capacity": [50.0, 50.0]},
        geometry=[shapely.Point(X0 + 600, Y0), shapely.Point(X0 + 500, Y0 + 300)],
        crs=CRS,
        index=pd.Index(["N1", "D1"], name="facility_id"),
    ).to_crs(4326)
    cats = ["nursery", "elderly_daycare"]

    def go(**kw):
        return analyze(net, fac, comm, profile, categories=cats, **kw)

    return go


def test_residents_leave_through_the_right_usable_gate(run):
    plain = run()
    gated = run(compounds=_compounds(), compound_gates=gates_from_osm(OSM))
    d_plain = dict(zip(plain.access.categories, plain.access.distance_m[0], strict=True))
    d_gated = dict(zip(gated.access.categories, gated.access.distance_m[0], strict=True))
    # plain: the centre snaps to the south street (120 m) below it
    assert d_plain["nursery"] == pytest.approx(120 + 100, abs=0.5)
    assert d_plain["elderly_daycare"] == pytest.approx(120 + 500 + 300 + 500, abs=0.5)
    # nursery: the private gate P (128 + 40 m) is closed, so out by SE and 200 m west along the
    # street; N would be 140 + 40 + 500 + 300 + 400
    assert d_gated["nursery"] == pytest.approx(_inside((800, 40)) + 40 + 200, abs=0.5)
    # day care on the north street: out by the north gate N, 40 m to the street
    assert d_gated["elderly_daycare"] == pytest.approx(_inside((500, 260)) + 40, abs=0.5)


def test_a_gate_opened_to_walkers_is_used(run):
    g = gates_from_osm(OSM)
    g.loc["osm/33", "usable"] = True  # e.g. a survey says the private gate lets residents out
    gated = run(compounds=_compounds(), compound_gates=g)
    j = gated.access.categories.index("nursery")
    assert gated.access.distance_m[0, j] == pytest.approx(_inside((600, 40)) + 40, abs=0.5)


NANJING = Path(os.environ.get("LIFECIRCLE_SHARED", "/work/shared")) / (
    "data/cn_nanjing_xinjiekou/nanjing_xinjiekou_osm_bbox.osm"
)


@pytest.mark.skipif(not NANJING.exists(), reason="shared Nanjing extract not available")
def test_nanjing_entrances_match_a_plain_tag_count():
    """The Nanjing extract: the gates found equal a direct count of the tags in the XML."""
    import xml.etree.ElementTree as ET

    want, closed = 0, 0
    for _, el in ET.iterparse(NANJING):
        if el.tag == "node":
            tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
            ent = tags.get("entrance") not in (None, "no")
            gate = tags.get("barrier") in GATE_BARRIERS
            if ent or gate:
                want += 1
                closed += tags.get("access") in ("private", "no")
        if el.tag in ("node", "way", "relation"):
            el.clear()
    g = gates_from_osm(NANJING)
    assert len(g) == want and want > 0
    assert int((~g["usable"]).sum()) >= closed
