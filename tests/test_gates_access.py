"""Distances through gates (issue 14 §2): a gated compound is left through its nearest usable
gate, walking straight inside, instead of from the street nearest to its centre.

The network (metres, relative to the synthetic origin): a south street y=0 and a north street
y=300, both x=0..1000, joined only at their ends (x=0 and x=1000). The compound lies between them;
its centre C=(500, 120) is nearest the south street (120 m). Gates: N=(500, 260), 40 m from the
north street, and S=(800, 40), 40 m from the south street.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from _nets import build, pts
from lifecircle import InputError

CENTRE = (500.0, 120.0)
GATE_N = (500.0, 260.0)
GATE_S = (800.0, 40.0)


@pytest.fixture(scope="module")
def net():
    return build([(0, 0), (1000, 0), (0, 300), (1000, 300)], [(0, 1), (2, 3), (0, 2), (1, 3)])


def _gates(usable=(True, True)) -> gpd.GeoDataFrame:
    g = pts(GATE_N, GATE_S, index=["N", "S"])
    g["facility_id"] = "C"
    g["usable"] = list(usable)
    return g


def _inside(gate: tuple[float, float]) -> float:
    return math.hypot(gate[0] - CENTRE[0], gate[1] - CENTRE[1])


def test_a_facility_across_the_compound_is_reached_through_the_north_gate(net):
    school = pts((500, 300), index=["school"])
    compound = pts(CENTRE, index=["C"])
    plain = net.distance_to_nearest(school, compound)
    # centre → south street (120) → along to a corner (500) → up (300) → back (500)
    assert plain.loc["C", "distance_m"] == pytest.approx(120 + 500 + 300 + 500)
    gated = net.distance_to_nearest(school, compound, target_gates=_gates())
    assert gated.loc["C", "distance_m"] == pytest.approx(_inside(GATE_N) + 40)  # 140 + 40
    assert gated.loc["C", "source"] == "school" and not gated.loc["C", "unsnapped"]


def test_a_facility_on_the_south_street_is_reached_through_the_south_gate(net):
    shop = pts((900, 0), index=["shop"])
    compound = pts(CENTRE, index=["C"])
    gated = net.distance_to_nearest(shop, compound, target_gates=_gates())
    via_s = _inside(GATE_S) + 40 + 100  # 310.5 inside, 40 to the street, 100 along it
    via_n = _inside(GATE_N) + 40 + 500 + 300 + 100
    assert gated.loc["C", "distance_m"] == pytest.approx(min(via_s, via_n))
    assert gated.loc["C", "distance_m"] == pytest.approx(via_s)
    # the plain centroid snap is shorter here (120 + 400): gates are not a shortcut in general
    assert net.distance_to_nearest(shop, compound).loc["C", "distance_m"] == pytest.approx(520)


def test_a_closed_gate_is_not_used(net):
    school = pts((500, 300), index=["school"])
    compound = pts(CENTRE, index=["C"])
    d = net.distance_to_nearest(school, compound, target_gates=_gates(usable=(False, True)))
    assert d.loc["C", "distance_m"] == pytest.approx(_inside(GATE_S) + 40 + 200 + 300 + 500)


def test_a_facility_with_gates_is_entered_through_them(net):
    """The same compound as a source (a school behind its gates), residents on the street."""
    school = pts(CENTRE, index=["C"])
    homes = pts((500, 300), (900, 0), (0, 150), index=["north", "south", "west"])
    plain = net.distance_to_nearest(school, homes)
    gated = net.distance_to_nearest(school, homes, source_gates=_gates())
    assert list(gated.index) == ["north", "south", "west"]
    assert gated.loc["north", "distance_m"] == pytest.approx(_inside(GATE_N) + 40)
    assert gated.loc["south", "distance_m"] == pytest.approx(_inside(GATE_S) + 40 + 100)
    # west side street x=0: via N (180 + 500 + 150) or S (350.5 + 800 + 150)
    assert gated.loc["west", "distance_m"] == pytest.approx(_inside(GATE_N) + 40 + 500 + 150)
    assert (gated["source"] == "C").all()
    assert plain.loc["north", "distance_m"] == pytest.approx(1420)


def test_points_without_gates_and_by_category_are_unchanged(net):
    fac = pts((500, 300), (900, 0), index=["a", "b"])
    fac["category"] = ["school", "shop"]
    homes = pts(CENTRE, (100, 0), index=["C", "D"])
    plain = net.distance_to_nearest(fac, homes, by="category")
    gated = net.distance_to_nearest(fac, homes, by="category", target_gates=_gates())
    d_row = plain[plain.index == "D"].reset_index(drop=True)
    assert d_row.equals(gated[gated.index == "D"].reset_index(drop=True))
    school = gated[(gated.index == "C") & (gated["category"] == "school")]
    assert school["distance_m"].item() == pytest.approx(180)
    assert np.isfinite(gated["distance_m"]).all()


def test_gates_need_their_owner_column(net):
    g = _gates().drop(columns="facility_id")
    with pytest.raises(InputError, match="facility_id"):
        net.distance_to_nearest(pts((500, 300)), pts(CENTRE, index=["C"]), target_gates=g)


def test_baidu_gates_of_a_compound_give_its_distances(net):
    """End to end: a Baidu-like list (a school, a 小区 and the 小区's two gates as POIs), the
    gates attached to the compound polygon by name, the compound left through the right gate."""
    import pandas as pd

    import lifecircle as lc
    from _nets import CRS, box
    from lifecircle.facilities import gates, gates_of_places

    names = ["实验小学", "江南润园", "江南润园-北门", "江南润园-东南门"]
    where = pts((500, 300), CENTRE, GATE_N, GATE_S).to_crs("EPSG:4326")
    table = pd.DataFrame(
        {
            "name": names,
            "tag": ["教育培训;小学", "房地产;住宅区", "出入口;门", ""],
            "lng": where.geometry.x,
            "lat": where.geometry.y,
        }
    )
    fac = lc.load_facilities(table, "gb50180-2018", crs="wgs84", category="tag")
    assert list(fac["name"]) == ["实验小学"]  # the compound and its gates are no facilities
    compounds = gpd.GeoDataFrame(
        {"小区名称": ["江南润园"]}, geometry=[box(300, 40, 850, 260)], crs=CRS, index=["jn"]
    )
    g = gates_of_places(gates(fac), compounds, name="小区名称")
    assert list(g["place_id"]) == ["jn", "jn"] and list(g["gate"]) == ["北门", "东南门"]
    home = pts(CENTRE, index=["jn"])
    d = net.distance_to_nearest(fac, home, target_gates=g, gate_owner="place_id")
    assert d.loc["jn", "distance_m"] == pytest.approx(_inside(GATE_N) + 40, abs=0.05)


def test_analyze_enters_facilities_through_their_gates():
    """river_with_bridge (south street y=0, north street y=200, bridge at x=500). A nursery
    inside a compound at (100, 150) is nearest the north street (50 m); its south gate (100, 10)
    is 10 m from the south street, where the community lives at x=100.
    Without gates: 0 + 400 (to the bridge) + 200 + 400 + 50 = 1,050 m: beyond 300 m.
    Through the gate: 140 (inside) + 10 = 150 m: covered."""
    import pandas as pd
    import shapely

    import lifecircle as lc
    from _nets import CRS, X0, Y0, river_with_bridge
    from conftest import FIXTURES
    from lifecircle.analysis import analyze

    net = river_with_bridge()
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["C1"], "population": [1000]},
            geometry=[shapely.Point(X0 + 100, Y0)],
            crs=CRS,
        )
    )
    fac = gpd.GeoDataFrame(
        {"category": ["nursery"], "capacity": [10.0]},
        geometry=[shapely.Point(X0 + 100, Y0 + 150)],
        crs=CRS,
        index=pd.Index(["N1"], name="facility_id"),
    )
    gate = pts((100, 10), index=["g"])
    gate["facility_id"] = "N1"
    plain = analyze(net, fac, comm, profile, categories=["nursery"])
    gated = analyze(net, fac, comm, profile, categories=["nursery"], facility_gates=gate)
    assert plain.access.distance_m[0, 0] == pytest.approx(1050)
    assert gated.access.distance_m[0, 0] == pytest.approx(150)
    assert gated.access.nearest[0, 0] == "N1"
    assert not bool(plain.coverage["meets_distance"].iloc[0])
    assert bool(gated.coverage["meets_distance"].iloc[0])
    assert len(gated.access.facilities) == 1  # still one facility (capacity counted once)


def test_a_gate_serves_every_category_row_of_its_facility():
    from lifecircle.network.snapping import gate_owners

    labels = pd.Index(["F#kindergarten", "F#nursery", "G", "F2"])
    owners = pd.Series(["F", "G", "H", None, "F2"])
    usable = pd.Series([True, True, True, True, False])
    gate, owner = gate_owners(labels, owners, usable)
    assert list(zip(gate, owner, strict=True)) == [(0, 0), (0, 1), (1, 2)]


def test_an_entrance_layer_is_assigned_to_compounds_by_location():
    """OSM entrance=* / barrier=gate nodes, or a survey layer: no names, the nearest compound."""
    from _nets import CRS, box
    from lifecircle.facilities import gates_of_places

    compounds = gpd.GeoDataFrame(
        geometry=[box(300, 40, 850, 260), box(0, 400, 200, 500)], crs=CRS, index=["A", "B"]
    )
    entrances = pts(GATE_N, (100, 400), (100, 398), (2000, 2000), index=["n", "b", "b2", "far"])
    g = gates_of_places(entrances, compounds)
    assert g["place_id"].to_dict() == {"n": "A", "b": "B", "b2": "B", "far": None}
    strict = gates_of_places(entrances, compounds, max_distance_m=1.0)
    assert strict["place_id"].to_dict() == {"n": "A", "b": "B", "b2": None, "far": None}


def test_analyze_lets_residents_leave_through_their_compound_gate():
    """river_with_bridge again. A compound between the streets, box x 50-150, y 20-190; its
    residents (a point community at (100, 150)) are nearest the north street (50 m). Its gate
    (100, 20) is 20 m from the south street, where a nursery stands 5 m south at x=100.
    Without gates: 50 + 400 (to the bridge) + 200 + 400 + 5 = 1,055 m.
    Through the gate: 130 (inside) + 20 + 5 = 155 m."""
    import shapely

    import lifecircle as lc
    from _nets import CRS, X0, Y0, box, river_with_bridge
    from conftest import FIXTURES
    from lifecircle.analysis import analyze

    net = river_with_bridge()
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["C1"], "population": [1000]},
            geometry=[shapely.Point(X0 + 100, Y0 + 150)],
            crs=CRS,
        )
    )
    fac = gpd.GeoDataFrame(
        {"category": ["nursery"], "capacity": [10.0]},
        geometry=[shapely.Point(X0 + 100, Y0 - 5)],
        crs=CRS,
        index=pd.Index(["N1"], name="facility_id"),
    )
    compounds = gpd.GeoDataFrame(
        {"小区名称": ["江南润园"]}, geometry=[box(50, 20, 150, 190)], crs=CRS
    )
    gate = pts((100, 20), (2000, 2000), index=["south", "elsewhere"])
    kw = {"categories": ["nursery"], "compounds": compounds}
    plain = analyze(net, fac, comm, profile, **kw)
    gated = analyze(net, fac, comm, profile, compound_gates=gate, **kw)
    assert plain.access.distance_m[0, 0] == pytest.approx(1055)
    assert gated.access.distance_m[0, 0] == pytest.approx(130 + 20 + 5)
    assert gated.access.nearest[0, 0] == "N1"
    closed = gate.assign(usable=[False, True])
    shut = analyze(net, fac, comm, profile, compound_gates=closed, **kw)
    assert shut.access.distance_m[0, 0] == pytest.approx(1055)  # no usable gate: as before


def _river(communities: dict, nurseries: dict):
    """river_with_bridge, the fixture profile, point communities ``{name: ((x, y), people)}``
    and nurseries ``{facility_id: ((x, y), places)}`` (metres from the synthetic origin)."""
    import shapely

    import lifecircle as lc
    from _nets import CRS, X0, Y0, river_with_bridge
    from conftest import FIXTURES

    def points(spec: dict) -> list:
        return [shapely.Point(X0 + x, Y0 + y) for (x, y), _ in spec.values()]

    comm = lc.load_communities(
        gpd.GeoDataFrame(
            {"name": list(communities), "population": [p for _, p in communities.values()]},
            geometry=points(communities),
            crs=CRS,
        )
    )
    fac = gpd.GeoDataFrame(
        {"category": "nursery", "capacity": [float(c) for _, c in nurseries.values()]},
        geometry=points(nurseries),
        crs=CRS,
        index=pd.Index(list(nurseries), name="facility_id"),
    )
    return river_with_bridge(), lc.load_profile(FIXTURES / "profile_analysis.toml"), comm, fac


#: test_analysis's hand-computed 2SFCA on the south street; nursery A's only gate is at x=300
TWO_NURSERIES = (
    {"C1": ((150, 0), 1000), "C2": ((350, 0), 1000)},
    {"A": ((100, 0), 2), "B": ((400, 0), 3)},
)


def _gate_of_a() -> gpd.GeoDataFrame:
    gate = pts((300, 0), index=["a_gate"])
    gate["facility_id"] = "A"
    return gate


def test_capacity_reaches_facilities_through_their_gates():
    """The 2SFCA step measures through the same gates as coverage. river_with_bridge's south
    street (y=0); communities C1 (1,000 people) at x=150 and C2 (1,000) at x=350; nurseries A (2
    places) at x=100 and B (3) at x=400 (as in test_analysis's hand-computed 2SFCA). A's only gate
    is at x=300: A is entered there after 200 m inside, so A–C1 = 200 + 150 = 350 m (beyond the
    300 m catchment) and A–C2 = 200 + 50 = 250 m; B (no gate): B–C1 250 m, B–C2 50 m.
    Step 1: R_A = 2 / (1000 g250), R_B = 3 / (1000 g250 + 1000 g50).
    Step 2: C1 = 3 g250 / (g50 + g250) = 0.62600 per 1,000; C2 = 2 + 3 g50 / (g50 + g250) =
    4.37400. Plain snapping gave 2.20867 and 2.79133."""
    from lifecircle.analysis import analyze

    net, profile, comm, fac = _river(*TWO_NURSERIES)
    a = analyze(net, fac, comm, profile, categories=["nursery"], facility_gates=_gate_of_a())
    e = math.exp(-0.5)
    g50, g250 = ((math.exp(-0.5 * (d / 300) ** 2) - e) / (1 - e) for d in (50, 250))
    supply = a.coverage.set_index("community_name")["supply_per_1000"]
    assert supply["C1"] == pytest.approx(3 * g250 / (g50 + g250))
    assert supply["C2"] == pytest.approx(2 + 3 * g50 / (g50 + g250))
    assert (supply["C1"], supply["C2"]) == pytest.approx((0.62600, 4.37400), abs=1e-5)
    assert supply.sum() == pytest.approx(5.0)  # every place handed out
    # the coverage distances went through the same gate: C1 250 m (B), C2 50 m (B)
    dist = a.coverage.set_index("community_name")["distance_m"]
    assert (dist["C1"], dist["C2"]) == pytest.approx((250.0, 50.0))
    plain = analyze(net, fac, comm, profile, categories=["nursery"])
    before = plain.coverage.set_index("community_name")["supply_per_1000"]
    assert (before["C1"], before["C2"]) == pytest.approx((2.20867, 2.79133), abs=1e-5)


def test_capacity_leaves_compounds_through_their_gates():
    """The compound of test_analyze_lets_residents_leave_through_their_compound_gate: its 1,000
    residents reach the nursery (10 places) in 155 m through the gate, 1,055 m without it (beyond
    the 300 m catchment). Through the gate every place is theirs: 10 / 1,000 people = 10 per
    1,000; without it none (0)."""
    from _nets import CRS, box
    from lifecircle.analysis import analyze

    net, profile, comm, fac = _river({"C1": ((100, 150), 1000)}, {"N1": ((100, -5), 10)})
    compounds = gpd.GeoDataFrame(geometry=[box(50, 20, 150, 190)], crs=CRS)
    kw = {"categories": ["nursery"], "compounds": compounds}
    plain = analyze(net, fac, comm, profile, **kw)
    gated = analyze(net, fac, comm, profile, compound_gates=pts((100, 20), index=["s"]), **kw)
    assert plain.coverage["supply_per_1000"].iloc[0] == pytest.approx(0.0)
    assert gated.coverage["supply_per_1000"].iloc[0] == pytest.approx(10.0)
    assert bool(gated.coverage["meets_capacity"].iloc[0])  # 10 >= 4.5


def test_a_scenario_keeps_the_gates_of_the_facilities_it_had():
    """with_projects on an analysis with facility gates: nursery A (2 places, gate at x=300) of
    test_capacity_reaches_facilities_through_their_gates, then B (3 places, no gate) built: the
    coverage and capacity equal those of the full analysis of A and B with A's gate."""
    from lifecircle.analysis import analyze

    net, profile, comm, fac = _river(*TWO_NURSERIES)
    kw = {"categories": ["nursery"], "facility_gates": _gate_of_a()}
    before = analyze(net, fac.loc[["A"]], comm, profile, **kw)
    after = before.with_projects(fac.loc[["B"]].to_crs(4326), statuses=None).analysis
    full = analyze(net, fac, comm, profile, **kw)
    cols = ["community_name", "distance_m", "supply_per_1000"]
    pd.testing.assert_frame_equal(after.coverage[cols], full.coverage[cols], atol=1e-6)
    supply = after.coverage.set_index("community_name")["supply_per_1000"]
    assert (supply["C1"], supply["C2"]) == pytest.approx((0.62600, 4.37400), abs=1e-5)


def test_an_osm_gate_belongs_to_the_compound_whose_boundary_it_lies_on():
    """river_with_bridge; the compound box x 50-150, y 20-190 between the south street (y=0) and
    the north street (y=200); residents at (100, 150); a nursery 5 m north of the north street at
    x=100. OSM entrances: the compound's gate S on its south edge (100, 20), and a shop's entrance
    E 6 m north of its north edge (100, 196), on no compound's boundary.
    As OSM gates (gates_from_osm's columns) only S is the compound's: 130 (inside) + 20 + 400 (to
    the bridge) + 200 + 400 + 5 = 1,155 m. As a plain layer both are within 100 m of the
    compound: out through E, 46 + 4 + 5 = 55 m."""
    from _nets import CRS, box
    from lifecircle.analysis import analyze
    from lifecircle.facilities import gates_of_places
    from lifecircle.facilities.gates import OSM_GATE_COLUMNS, is_osm_gate_layer

    net, profile, comm, fac = _river({"C1": ((100, 150), 1000)}, {"N1": ((100, 205), 10)})
    compounds = gpd.GeoDataFrame(geometry=[box(50, 20, 150, 190)], crs=CRS)
    plain = pts((100, 20), (100, 196), index=["osm/1", "osm/2"])
    osm = plain.assign(osm_id=[1, 2], name=None, entrance=[None, "yes"], barrier=["gate", None],
                       access=None, usable=True)  # fmt: skip
    assert is_osm_gate_layer(osm) and not is_osm_gate_layer(plain)
    assert set(OSM_GATE_COLUMNS) < set(osm.columns)
    on_ring = gates_of_places(osm, compounds, max_distance_m=2.0, on_ring=True)
    assert on_ring["place_id"].tolist() == [0, None]
    kw = {"categories": ["nursery"], "compounds": compounds}
    d_osm = analyze(net, fac, comm, profile, compound_gates=osm, **kw).access.distance_m[0, 0]
    d_plain = analyze(net, fac, comm, profile, compound_gates=plain, **kw).access.distance_m[0, 0]
    assert d_osm == pytest.approx(130 + 20 + 400 + 200 + 400 + 5)
    assert d_plain == pytest.approx(46 + 4 + 5)


def test_a_scenario_measures_added_facilities_through_compound_gates():
    """The compound of test_capacity_leaves_compounds_through_their_gates with its nursery on the
    north street (x=100, 5 m north of it): out through the south gate, 130 + 20 + 400 + 200 + 400
    + 5 = 1,155 m. A nursery built 5 m south of the south street at x=100 is 130 + 20 + 5 = 155 m
    away through the gate, as in the full analysis (from the residents' plain snap to the north
    street it would be 50 + 400 + 200 + 400 + 5 = 1,055 m)."""
    from _nets import CRS, box
    from lifecircle.analysis import analyze

    net, profile, comm, fac = _river(
        {"C1": ((100, 150), 1000)}, {"N1": ((100, 205), 10), "N2": ((100, -5), 10)}
    )
    kw = {
        "categories": ["nursery"],
        "compounds": gpd.GeoDataFrame(geometry=[box(50, 20, 150, 190)], crs=CRS),
        "compound_gates": pts((100, 20), index=["s"]),
    }
    before = analyze(net, fac.loc[["N1"]], comm, profile, **kw)
    assert before.access.distance_m[0, 0] == pytest.approx(1155)
    after = before.with_projects(fac.loc[["N2"]].to_crs(4326), statuses=None).analysis
    full = analyze(net, fac, comm, profile, **kw)
    assert after.access.distance_m[0, 0] == pytest.approx(155)
    cols = ["distance_m", "supply_per_1000", "meets_distance"]
    pd.testing.assert_frame_equal(after.coverage[cols], full.coverage[cols], atol=1e-6)
