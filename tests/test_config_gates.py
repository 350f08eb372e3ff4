"""Run configurations with a population table, compounds and gates (issue 14 §2, §4).

The network, compound and its OSM gates are ``tests/data/gated_compound.osm`` (see
``tests/test_osm_gates.py``): south street y=0, north street y=300; compound x=300..850,
y=40..260 with usable gates N=(500, 260) and SE=(800, 40), a private gate P=(600, 40) and an
emergency exit. 润园社区 lives at the compound's centre C=(500, 120).
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from _nets import CRS, X0, Y0
from conftest import FIXTURES
from lifecircle import ConfigError
from lifecircle.config import load_config
from lifecircle.pipeline import run
from test_cli import cli

OSM = FIXTURES / "gated_compound.osm"
CENTRE = (500.0, 120.0)
GATE_SE = (800.0, 40.0)
GATE_N = (500.0, 260.0)


def _wgs84(*xy: tuple[float, float]) -> list[tuple[float, float]]:
    g = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS).to_crs(4326)
    return [(p.x, p.y) for p in g]


def _inputs(folder):
    """Communities (points with codes), a population table with name variants, a facility list
    with one gate POI (阳光托育园-南门)."""
    (c1, c2) = _wgs84(CENTRE, (100, 300))
    comm = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(c)},
             "properties": {"社区名称": n, "区划代码": code, "街道": "南湖街道"}}
            for c, n, code in ((c1, "润园社区", "330402001001"), (c2, "北岸社区", "330402001002"))
        ],
    }  # fmt: skip
    (folder / "communities.geojson").write_text(json.dumps(comm, ensure_ascii=False), "utf-8")
    pd.DataFrame(
        {
            "统计用区划代码": ["330402001001", "", ""],
            "社区名称": ["润园社区", "北岸社区居委会", "不存在社区"],
            "街道": ["南湖街道", "南湖街道", "南湖街道"],
            "常住人口": [1000, 800, 50],
        }
    ).to_excel(folder / "七普人口.xlsx", index=False)
    # the nursery building is 20 m off the south street; its only gate is 100 m east of it
    nursery, gate, daycare = _wgs84((600, 20), (700, 0), (500, 300))
    pd.DataFrame(
        {
            "名称": ["阳光托育园", "阳光托育园-南门", "润园日间照料中心"],
            "经度": [nursery[0], gate[0], daycare[0]],
            "纬度": [nursery[1], gate[1], daycare[1]],
        }
    ).to_csv(folder / "设施.csv", index=False, encoding="utf-8")


BASE = f"""[network]
source = "{OSM.as_posix()}"
crs = "EPSG:4549"

[[facilities]]
path = "设施.csv"
crs = "wgs84"
GATES

[communities]
path = "communities.geojson"
population = "七普人口.xlsx"
COMPOUNDS

[analysis]
profile = "{(FIXTURES / "profile_analysis.toml").as_posix()}"
categories = ["nursery", "elderly_daycare"]

[output]
dir = "out"
formats = ["csv"]
map = false
"""


def _config(folder, gates: str = "", compounds: str = ""):
    path = folder / "run.toml"
    path.write_text(BASE.replace("GATES", gates).replace("COMPOUNDS", compounds), "utf-8")
    return path


def _dist(res, community: str, category: str) -> float:
    cov = res.analysis.coverage
    row = cov[(cov["community_id"] == community) & (cov["category"] == category)]
    return float(row["distance_m"].item())


def test_population_table_and_osm_gates_from_the_configuration(tmp_path):
    _inputs(tmp_path)
    plain = run(_config(tmp_path))
    gated = run(_config(tmp_path, "gates = true", 'compounds = "osm"\ncompound_gates = "osm"'))
    # the population table is joined (by code, by name within street) and its report written
    report = pd.read_csv(gated.files["population_join"], dtype=str)
    assert list(report["match"]) == ["code", "name", "unmatched"]
    assert gated.analysis.summary["population"] == pytest.approx(1800)
    # plain: C snaps to the south street (120 m); the nursery is 20 m off it at x=600
    assert _dist(plain, "330402001001", "nursery") == pytest.approx(120 + 100 + 20, abs=0.5)
    # gated: out by SE (P is private), 100 m west to the nursery's gate, 102 m inside to it
    via = math.hypot(800 - 500, 40 - 120) + 40 + 100 + math.hypot(100, 20)
    assert _dist(gated, "330402001001", "nursery") == pytest.approx(via, abs=0.5)
    assert _dist(gated, "330402001001", "elderly_daycare") == pytest.approx(
        math.hypot(*(a - b for a, b in zip(GATE_N, CENTRE, strict=True))) + 40, abs=0.5
    )


def test_compound_and_gate_layers_from_files(tmp_path):
    _inputs(tmp_path)
    from lifecircle.facilities import gates_from_osm
    from test_osm_gates import _compounds

    _compounds().to_file(tmp_path / "小区.gpkg", layer="小区")
    gates_from_osm(OSM).to_file(tmp_path / "出入口.gpkg")
    res = run(
        _config(
            tmp_path,
            compounds='compounds = "小区.gpkg"\ncompounds_layer = "小区"\n'
            'compound_gates = "出入口.gpkg"',
        )
    )
    via = math.hypot(800 - 500, 40 - 120) + 40 + 200 + 20  # SE gate, along to x=600, 20 m in
    assert _dist(res, "330402001001", "nursery") == pytest.approx(via, abs=0.5)


def test_configuration_errors_name_the_key_and_line(tmp_path):
    _inputs(tmp_path)
    with pytest.raises(ConfigError, match=r"line 13.*compound_gates.*compounds ="):
        load_config(_config(tmp_path, compounds='compound_gates = "osm"'))
    cfg = _config(tmp_path, compounds='population_columns = { population = "人口" }')
    text = cfg.read_text("utf-8").replace('population = "七普人口.xlsx"', 'population = "人口"')
    cfg.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=r"line 13.*population_columns.*table file"):
        load_config(cfg)
    cfg = _config(tmp_path, gates="gates = 3")
    with pytest.raises(ConfigError, match=r"line 8.*facilities.*gates.*true/false or text"):
        load_config(cfg)


def test_cli_run_with_a_missing_gate_file_names_the_key(tmp_path):
    _inputs(tmp_path)
    cfg = _config(tmp_path, compounds='compounds = "osm"\ncompound_gates = "无此文件.gpkg"')
    r = cli("--quiet", "run", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "compound_gates" in r.stderr and "无此文件.gpkg" in r.stderr


def test_facility_gates_from_a_layer_matched_by_name(tmp_path):
    """``gates = "校门.gpkg"``: a layer of entrances without ``facility_id``, matched to the
    list's facility by base name (阳光托育园-南门 → 阳光托育园); same distance as ``gates = true``."""
    _inputs(tmp_path)
    table = pd.read_csv(tmp_path / "设施.csv")
    gate = table[table["名称"].str.endswith("南门")]
    table[~table["名称"].str.endswith("南门")].to_csv(tmp_path / "设施.csv", index=False)
    gpd.GeoDataFrame(
        {"name": list(gate["名称"])},
        geometry=gpd.points_from_xy(gate["经度"], gate["纬度"]),
        crs=4326,
    ).to_file(tmp_path / "校门.gpkg")
    res = run(_config(tmp_path, 'gates = "校门.gpkg"', 'compounds = "osm"\ncompound_gates = "osm"'))
    via = math.hypot(800 - 500, 40 - 120) + 40 + 100 + math.hypot(100, 20)
    assert _dist(res, "330402001001", "nursery") == pytest.approx(via, abs=0.5)


def test_helsinki_sample_with_osm_compounds_and_gates(tmp_path):
    """The bundled Helsinki sample run from a configuration with ``compounds = "osm"`` and
    ``compound_gates = "osm"``: demand points outside gated compounds keep their distances, and
    points inside a compound with a usable gate have theirs measured through the gates."""
    import numpy as np

    from lifecircle.cli import sample_dir
    from lifecircle.communities import buildings_from_osm
    from lifecircle.facilities import gates_from_osm, gates_of_places
    from lifecircle.facilities.gates import GATE_ON_RING_M

    d = sample_dir()
    text = (
        f'[network]\nsource = "{(d / "helsinki_centre.osm.pbf").as_posix()}"\n'
        f'[communities]\npath = "{(d / "helsinki_communities.geojson").as_posix()}"\nCOMPOUNDS\n'
        '[demand]\nmissing_population = "zero"\n'
        '[analysis]\nprofile = "gb50180-2018"\n'
        '[output]\ndir = "out"\nformats = ["csv"]\nmap = false\n'
    )
    cfg = tmp_path / "h.toml"
    cfg.write_text(text.replace("COMPOUNDS", ""), "utf-8")
    plain = run(cfg).analysis.access
    cfg.write_text(text.replace("COMPOUNDS", 'compounds = "osm"\ncompound_gates = "osm"'), "utf-8")
    gated_run = run(cfg).analysis
    gated = gated_run.access
    _, landuse = buildings_from_osm(d / "helsinki_centre.osm.pbf")
    res = landuse[landuse["tags"].map(lambda t: t.get("landuse") == "residential")]
    res = res.reset_index(drop=True)
    # an OSM gate is its compound's when it lies on the compound's boundary (within 2 m)
    g = gates_of_places(
        gates_from_osm(d / "helsinki_centre.osm.pbf"), res, max_distance_m=GATE_ON_RING_M,
        on_ring=True,
    )  # fmt: skip
    gated_ids = set(g.loc[g["usable"] & g["place_id"].notna(), "place_id"])
    assert gated_ids  # the sample has gated compounds
    polys = res.loc[sorted(gated_ids)].to_crs(gated_run.network.crs).union_all()
    inside = shapely.contains_xy(polys, gated.demand.xy[:, 0], gated.demand.xy[:, 1])
    assert inside.any() and (~inside).any()
    np.testing.assert_array_equal(plain.distance_m[~inside], gated.distance_m[~inside])
    assert (plain.distance_m[inside] != gated.distance_m[inside]).any()


def test_no_compounds_in_the_osm_file_is_a_warning_not_a_failure(tmp_path, caplog):
    """``compounds = "osm"`` on a file without ``landuse=residential``: the run goes on."""
    _inputs(tmp_path)
    osm = OSM.read_text("utf-8").replace(
        'v="residential"/>\n    <tag k="name" v="江南润园"',
        'v="grass"/>\n    <tag k="name" v="江南润园"',
    )
    assert 'v="grass"' in osm
    (tmp_path / "no_compound.osm").write_text(osm, "utf-8")
    cfg = _config(tmp_path, compounds='compounds = "osm"\ncompound_gates = "osm"')
    cfg.write_text(cfg.read_text("utf-8").replace(OSM.as_posix(), "no_compound.osm"), "utf-8")
    with caplog.at_level("WARNING", logger="lifecircle.pipeline"):
        res = run(cfg)
    assert "no compounds found" in caplog.text and "line 13" in caplog.text
    plain_nursery = 120 + 100 + 20  # the centre snaps to the south street
    assert _dist(res, "330402001001", "nursery") == pytest.approx(plain_nursery, abs=0.5)


def test_facility_gates_from_the_osm_file(tmp_path):
    """``[[facilities]] gates = "osm"``: the OSM file's entrance/gate nodes, each attached to the
    nearest facility within 100 m. A day-care point inside the compound at F=(750, 80) gets the
    south-east gate SE=(800, 40) (64 m); the day-care centre D on the north street (500, 300)
    gets the north gate N (500, 260), 40 m south of it; the nursery (600, 20) gets only the
    private gate P (600, 40), which is closed, so it keeps its own snap.
    From C=(500, 120), snapped to the south street (120 m): plain, F is 120 + 250 + 80 = 450 m
    away; entered through SE, 120 + 300 + 40 + 64.03 = 524.03 m (D is 1,420 m plain, 1,500 m
    through N). The nursery stays 120 + 100 + 20 = 240 m either way."""
    _inputs(tmp_path)
    table = pd.read_csv(tmp_path / "设施.csv")
    (f,) = _wgs84((750, 80))
    extra = pd.DataFrame({"名称": ["润园日间照料站"], "经度": [f[0]], "纬度": [f[1]]})
    pd.concat([table, extra]).to_csv(tmp_path / "设施.csv", index=False)
    plain = run(_config(tmp_path))
    gated = run(_config(tmp_path, 'gates = "osm"'))
    assert _dist(plain, "330402001001", "elderly_daycare") == pytest.approx(450, abs=0.5)
    inside = math.hypot(800 - 750, 80 - 40)
    assert _dist(gated, "330402001001", "elderly_daycare") == pytest.approx(
        120 + 300 + 40 + inside, abs=0.5
    )
    assert _dist(gated, "330402001001", "nursery") == pytest.approx(240, abs=0.5)
    # each facility's entry for the distances: F at SE's place on the south street (40 m + the
    # 64 m inside), D at N's on the north street (40 + 40 m), the nursery its own snap (20 m)
    access = gated.analysis.access
    names = gated.analysis.facilities["name"].to_numpy()[access.facility_entry_rows]
    legs = dict(zip(names, access.facility_entries.access_m, strict=True))
    assert legs == pytest.approx({"润园日间照料站": 40 + inside, "润园日间照料中心": 80.0,
                                  "阳光托育园": 20.0}, abs=0.5)  # fmt: skip


def test_facility_gates_osm_needs_an_osm_file(tmp_path):
    import lifecircle as lc

    _inputs(tmp_path)
    lc.load_network(OSM, crs=CRS).save(tmp_path / "net")  # a saved network: no OSM file to read
    cfg = _config(tmp_path, 'gates = "osm"')
    text = cfg.read_text("utf-8").replace(f'source = "{OSM.as_posix()}"', 'source = "net"')
    cfg.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=r'gates = "osm" needs an OSM file'):
        run(cfg)
