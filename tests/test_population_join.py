"""Population tables joined to communities by 12-digit code, else by name within street (§4).

Real names and codes: the NBS 2023 divisions of Jiaxing in ../shared (1,202 communities and
villages of 72 streets/towns). The population table is synthetic, written here the way planners'
七普/统计 tables spell things: codes as numbers, names without or with other 居委会/村委会
endings, full-width and stray spaces, streets as 街道办事处/镇人民政府 or bare; plus rows that
match nothing, rows that match two units, and one community listed twice.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle as lc
from conftest import shared_file
from lifecircle.communities import join_population
from lifecircle.communities.population import name_key, street_key


@pytest.mark.parametrize(
    "a, b",
    [
        ("百福弄社区居委会", "百福弄社区"),
        ("百福弄社区居委会", "百福弄社区居民委员会"),
        ("百福弄社区居委会", "百福弄　社区 "),  # ideographic and trailing space
        ("金星村村委会", "金星村"),
        ("金星村村委会", "金星村民委员会"),
        ("文星社区居民委员会", "文星社区居委会"),
        ("Ａ区１号社区", "A区1号社区"),  # full-width letters and digits
    ],
)
def test_name_variants_share_a_key(a, b):
    assert name_key(a) == name_key(b)


def test_a_village_and_a_community_of_one_stem_differ():
    assert name_key("长秦村村委会") != name_key("长秦社区居委会")
    assert street_key("凤桥镇人民政府") == street_key("凤桥镇") == street_key("凤桥")
    assert street_key("乌镇镇") == street_key("乌镇") != street_key("乌")


@pytest.fixture(scope="module")
def divisions() -> pd.DataFrame:
    folder = "jiaxing_admin/divisions_nbs2023"
    villages = pd.read_csv(shared_file(f"{folder}/jiaxing_villages.csv"), dtype=str)
    streets = pd.read_csv(shared_file(f"{folder}/jiaxing_streets.csv"), dtype=str)
    names = dict(zip(streets["code"], streets["name"], strict=True))
    villages["street"] = villages["streetCode"].map(names)
    assert len(villages) == 1202 and villages["street"].notna().all()
    return villages


@pytest.fixture(scope="module")
def boundaries(divisions) -> gpd.GeoDataFrame:
    n = len(divisions)
    rng = np.random.default_rng(4)
    points = shapely.points(120.75 + rng.uniform(-0.3, 0.3, n), 30.75 + rng.uniform(-0.3, 0.3, n))
    return gpd.GeoDataFrame(
        {"区划代码": divisions["code"], "社区名称": divisions["name"], "街道": divisions["street"]},
        geometry=points,
        crs="EPSG:4326",
    )


def _variant_name(name: str, rng: np.random.Generator) -> str:
    swaps = [
        ("社区居委会", ["社区", "社区居民委员会", "居委会"]),
        ("社区居民委员会", ["社区", "社区居委会"]),
        ("村委会", ["", "村民委员会"]),
        ("社区", ["社区居委会", "社区"]),
    ]
    for ending, options in swaps:
        if name.endswith(ending):
            new = name[: -len(ending)] + options[rng.integers(len(options))]
            if ending == "村委会" and not new.endswith("村"):
                new = new if new.endswith("村民委员会") else new + "村"
            name = new
            break
    kind = rng.integers(3)
    if kind == 1:
        name = name[:2] + "\u3000" + name[2:] + " "  # ideographic space, trailing space
    elif kind == 2:
        name = name.replace("1", "１").replace("2", "２") + "\t"
    return name


def _variant_street(street: str, rng: np.random.Generator) -> str:
    options = [street, street + "办事处" if street.endswith("街道") else street + "人民政府"]
    if len(street_key(street)) >= 2:
        options.append(street_key(street))
    return options[rng.integers(len(options))]


def _table(divisions: pd.DataFrame):
    """The synthetic population table and what each of its rows should join to."""
    rng = np.random.default_rng(2023)
    keep = divisions.sample(frac=0.95, random_state=7)  # 5 % of communities have no row
    rows, expect = [], []
    for i, r in enumerate(keep.itertuples()):
        pop = 1000 + 10 * i
        if rng.random() < 0.5:  # with its code: a number (Excel), text, or full-width text
            kind = rng.integers(3)
            code: object = int(r.code) if kind == 0 else r.code
            if kind == 2:
                code = r.code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
            rows.append(
                {"统计用区划代码": code, "村（社区）": r.name, "镇街": None, "常住人口": pop}
            )
            expect.append(("code", r.code))
        else:
            rows.append(
                {
                    "统计用区划代码": None,
                    "村（社区）": _variant_name(r.name, rng),
                    "镇街": _variant_street(r.street, rng),
                    "常住人口": pop,
                }
            )
            expect.append(("name", r.code))
    # no such community
    for name in ["不存在社区", "嘉兴港区海景湾社区", "新丰镇某某村"]:
        rows.append({"统计用区划代码": None, "村（社区）": name, "镇街": "新丰镇", "常住人口": 1})
        expect.append(("unmatched", None))
    # two units of one stem in one street (a 村 and a 社区): the bare stem is ambiguous
    stems = divisions.assign(stem=[name_key(n)[0] for n in divisions["name"]])
    pairs = stems[stems.duplicated(["streetCode", "stem"], keep=False)]
    first = pairs.iloc[0]
    rows.append(
        {"统计用区划代码": None, "村（社区）": first.stem, "镇街": first.street, "常住人口": 1}
    )
    expect.append(("ambiguous", None))
    # a name used in several streets, given without a street
    dup = divisions[divisions["name"].duplicated(keep=False)].iloc[0]
    rows.append({"统计用区划代码": None, "村（社区）": dup["name"], "镇街": None, "常住人口": 1})
    expect.append(("ambiguous", None))
    # a wrong code (a typo) with the right name and street: joined by name, and said so
    typo = keep.iloc[-2]
    rows[len(keep) - 2] = {"统计用区划代码": "330402999999", "村（社区）": typo["name"],
                           "镇街": typo.street, "常住人口": rows[len(keep) - 2]["常住人口"]}  # fmt: skip
    expect[len(keep) - 2] = ("name", typo.code)
    # one community listed twice (by code and by name)
    twice = keep.iloc[-1]
    rows.append(
        {"统计用区划代码": None, "村（社区）": twice["name"], "镇街": twice.street, "常住人口": 5}
    )
    expect[len(keep) - 1] = ("duplicate", None)
    expect.append(("duplicate", None))
    return pd.DataFrame(rows), expect, keep


def test_jiaxing_divisions_join_a_population_table(divisions, boundaries, caplog):
    table, expect, keep = _table(divisions)
    with caplog.at_level(logging.INFO):
        comm = lc.load_communities(boundaries, population=table)
    assert len(comm) == 1202
    report = pd.DataFrame.from_records(comm.attrs["population_join"])
    assert list(report["match"]) == [m for m, _ in expect]
    joined = report["community_id"].notna()
    assert list(report.loc[joined, "community_id"]) == [c for m, c in expect if c is not None]
    # every joined row's population lands on its community, and only there
    pops = table.loc[joined.to_numpy(), "常住人口"].to_numpy(dtype=float)
    assert np.array_equal(comm.loc[report.loc[joined, "community_id"], "population"], pops)
    assert comm["population"].notna().sum() == joined.sum()
    assert (comm.loc[comm["population"].notna(), "pop_source"] == "table").all()
    assert (report["note"] != "").sum() == 1  # the typo
    assert report.loc[report["code"] == "330402999999", "note"].item().startswith("code not")
    n_name = int((report["match"] == "name").sum())
    assert n_name > 400  # about half of the rows join by their (varied) name
    # reported, not guessed
    amb = report[report["match"] == "ambiguous"]
    assert all(len(c.split(", ")) >= 2 for c in amb["candidates"])
    assert "3 rows match no community" in caplog.text
    assert "2 rows match several communities" in caplog.text
    assert "2 rows are several rows for one community" in caplog.text


def test_join_population_on_its_own(boundaries):
    comm = lc.load_communities(boundaries)
    table = pd.DataFrame(
        {
            "社区名称": ["百福弄社区", "瓶山社区居民委员会", "百福弄"],
            "街道": ["建设街道办事处", "建设", "解放街道"],
            "人口": [3200, 4100, 10],
            "60岁及以上": [800, 900, 1],
        }
    )
    values, report = join_population(comm, table)
    assert list(report["match"]) == ["name", "name", "unmatched"]
    assert list(report["community_id"][:2]) == ["330402007024", "330402007029"]
    assert values.loc["330402007024", "population"] == 3200
    assert values.loc["330402007029", "pop_elderly"] == 900
    assert values["population"].notna().sum() == 2


def test_a_table_without_names_or_codes_is_refused(boundaries):
    comm = lc.load_communities(boundaries)
    with pytest.raises(lc.InputError, match="neither a 12-digit code column"):
        join_population(comm, pd.DataFrame({"常住人口": [1, 2]}))


def test_population_from_an_excel_file(divisions, boundaries, tmp_path):
    table, expect, _ = _table(divisions)
    path = tmp_path / "七普人口.xlsx"
    table.astype({"统计用区划代码": str}).replace({"None": None}).to_excel(path, index=False)
    comm = lc.load_communities(boundaries, population=str(path))
    report = pd.DataFrame.from_records(comm.attrs["population_join"])
    assert list(report["match"]) == [m for m, _ in expect]
    assert list(report["row"][:2]) == [2, 3]  # spreadsheet rows: the header is row 1


def test_a_row_copied_twice_is_used_once_and_estimates_are_named(caplog):
    """百福弄 listed twice with the same figures lost both rows (0 residents, then an estimate
    nobody could trace). A copy with the same figures is now one row ("repeated", the first
    used); rows with different figures stay "duplicate" and unused; the communities whose
    population is then estimated are named."""
    comm = gpd.GeoDataFrame(
        {"社区名称": ["百福弄社区", "子城社区"], "街道": ["建设街道", "建设街道"]},
        geometry=shapely.points([[120.75, 30.75], [120.76, 30.76]]), crs=4326,
    )  # fmt: skip
    table = pd.DataFrame({"社区名称": ["百福弄社区", "百福弄社区", "子城社区", "子城社区"],
                          "街道": ["建设街道"] * 4, "常住人口": [3215, 3215, 5630, 5700]})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="lifecircle"):
        c = lc.load_communities(comm, population=table)
    report = pd.DataFrame(c.attrs["population_join"])
    assert report["match"].tolist() == ["name", "repeated", "duplicate", "duplicate"]
    assert c.set_index("community_name")["population"].to_dict()["百福弄社区"] == 3215
    assert np.isnan(c.set_index("community_name")["population"]["子城社区"])
    assert "repeat an earlier row" in caplog.text
    b = gpd.GeoDataFrame({"building": ["residential"], "building:levels": [6]},
                         geometry=[shapely.box(120.7599, 30.7599, 120.7601, 30.7601)], crs=4326)  # fmt: skip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lifecircle"):
        areas = c.assign(geometry=[shapely.box(x - 0.001, y - 0.001, x + 0.001, y + 0.001)
                                   for x, y in zip(c.geometry.x, c.geometry.y, strict=True)])  # fmt: skip
        lc.demand_points(areas, buildings=b)
    assert "population estimated for 1 communities (from floor area): 子城社区" in caplog.text


def test_a_copy_inside_a_conflict_is_no_repeat():
    """3215, 3300, 3215 for one community: the rows disagree, so none is used and none is
    called a repeat; '3,215' and 3215 are the same figure."""
    comm = gpd.GeoDataFrame({"社区名称": ["百福弄社区"], "街道": ["建设街道"]},
                            geometry=shapely.points([[120.75, 30.75]]), crs=4326)  # fmt: skip
    t = pd.DataFrame({"社区名称": ["百福弄社区"] * 3, "街道": ["建设街道"] * 3,
                      "常住人口": [3215, 3300, 3215]})  # fmt: skip
    c = lc.load_communities(comm, population=t)
    assert pd.DataFrame(c.attrs["population_join"])["match"].tolist() == ["duplicate"] * 3
    assert np.isnan(c["population"].iloc[0])
    same = t.assign(常住人口=["3,215", 3215, "3215"])
    c = lc.load_communities(comm, population=same)
    assert pd.DataFrame(c.attrs["population_join"])["match"].tolist() == ["name", "repeated", "repeated"]
    assert c["population"].iloc[0] == 3215
