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


def _childcare_grounds(folder: Path) -> Path:
    """The fixture with the compound's outline drawn as a childcare centre's grounds
    (``amenity=childcare``, way 120) instead of ``landuse=residential``: its gates lie on it."""
    text = OSM.read_text("utf-8").replace(
        '<tag k="landuse" v="residential"/>', '<tag k="amenity" v="childcare"/>'
    )
    assert 'v="childcare"' in text
    path = folder / "childcare_grounds.osm"
    path.write_text(text, "utf-8")
    return path


def test_a_facility_drawn_as_an_area_gets_the_gates_on_its_outline(tmp_path):
    """OSM gates go to the facility whose outline they lie on, however far from the point that
    stands for it: the grounds' point (representative point, about (575, 150)) is 133 m from N
    and 250 m from SE, beyond the 100 m that attach a gate to a point; on the outline, all four
    go to it (P and the emergency exit W stay unusable). Without the area nothing attaches."""
    from lifecircle.facilities import facility_areas_from_osm, gates_of_facilities
    from lifecircle.facilities.gates import GATE_TO_PLACE_M

    osm = _childcare_grounds(tmp_path)
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    fac = lc.facilities_from_osm(osm, profile)
    assert list(fac["facility_id"]) == ["osm:way/120"]
    areas = facility_areas_from_osm(osm, profile)
    assert list(areas.index) == ["osm:way/120"] and areas.to_crs(CRS).area.item() > 0
    entrances = gates_from_osm(osm)
    owned = gates_of_facilities(entrances, fac, areas)
    assert owned["facility_id"].tolist() == ["osm:way/120"] * 4
    assert gates_of_facilities(entrances, fac)["facility_id"].isna().all()
    point = fac.to_crs(CRS).geometry.iloc[0]
    x, y = point.x - X0, point.y - Y0
    gate_n = (500.0, 260.0)
    assert math.hypot(x - gate_n[0], y - gate_n[1]) > GATE_TO_PLACE_M

    # from the north street at (100, 300): 400 m east, 40 m to N, straight inside to the point
    net = lc.load_network(osm, crs=CRS)
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["北岸社区"], "population": [800]},
            geometry=[shapely.Point(X0 + 100, Y0 + 300)],
            crs=CRS,
        )
    )
    a = analyze(net, fac, comm, profile, categories=["nursery"], facility_gates=owned)
    via_n = 400 + 40 + math.hypot(x - gate_n[0], y - gate_n[1])
    assert float(a.coverage["distance_m"].item()) == pytest.approx(via_n, abs=0.5)


def test_facility_gates_osm_in_a_configuration_use_the_outline(tmp_path):
    """``[[facilities]] osm = "file"`` with ``gates = "osm"``: the same outline rule in a run."""
    from lifecircle.pipeline import run as run_config

    osm = _childcare_grounds(tmp_path)
    comm = gpd.GeoDataFrame(
        {"社区名称": ["北岸社区"], "常住人口": [800]},
        geometry=[shapely.Point(X0 + 100, Y0 + 300)],
        crs=CRS,
    ).to_crs(4326)
    comm.to_file(tmp_path / "communities.geojson")
    cfg = tmp_path / "run.toml"
    profile = (FIXTURES / "profile_analysis.toml").as_posix()
    cfg.write_text(
        f'[network]\nsource = "{osm.as_posix()}"\ncrs = "EPSG:4549"\n\n'
        f'[[facilities]]\nosm = "{osm.as_posix()}"\ngates = "osm"\n\n'
        '[communities]\npath = "communities.geojson"\n\n'
        f'[analysis]\nprofile = "{profile}"\ncategories = ["nursery"]\n\n'
        '[output]\ndir = "out"\nformats = ["csv"]\nmap = false\n',
        "utf-8",
    )
    res = run_config(cfg)
    point = res.analysis.facilities.to_crs(CRS).geometry.iloc[0]
    inside = math.hypot(point.x - X0 - 500, point.y - Y0 - 260)
    dist = float(res.analysis.coverage["distance_m"].item())
    assert dist == pytest.approx(400 + 40 + inside, abs=0.5)
