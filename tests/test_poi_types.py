"""POI lists as Amap/Baidu export them: provider tags first, names second, entrances attached.

Evidence for issue 14 §2 (entrances as POIs) and §3 (classification): a hand-labelled set of
Chinese names (tests/data/poi_names_labelled.csv) and the Xi'an Baidu health layer from
../shared against hand-checked labels (tests/data/xian_health_truth.csv, one label per uid).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import lifecircle as lc
from conftest import shared_file
from lifecircle.facilities import gates, rules_by_category, unmatched
from lifecircle.facilities.poi_types import load_poi_types, part_of, split_gate

DATA = __import__("pathlib").Path(__file__).parent / "data"
YILAO_HEALTH = [
    "kindergarten",
    "nursery",
    "nursing_home",
    "elderly_daycare",
    "elderly_meal_aid",
    "health_station",
    "health_centre",
]


@pytest.fixture(scope="module")
def yilao():
    return lc.load_profile("jiaxing-yilao-yixiao")


def _scores(pred: list[set[str]], truth: list[str], category: str) -> tuple[float, float, int]:
    tp = sum(category in p and t == category for p, t in zip(pred, truth, strict=True))
    n_pred = sum(category in p for p in pred)
    n_true = sum(t == category for t in truth)
    return tp / max(n_pred, 1), tp / max(n_true, 1), n_true


@pytest.mark.parametrize(
    "name, parent, gate",
    [
        ("上海市杨浦区世界小学-东门", "上海市杨浦区世界小学", "东门"),
        ("嘉兴学院附属中学-北门", "嘉兴学院附属中学", "北门"),
        ("XX小区-南门", "xx小区", "南门"),
        ("西区-15号门", "西区", "15号门"),
        ("陕西省电力公司-大东门", "陕西省电力公司", "大东门"),
        ("秀洲区新城幼儿园(南门)", "秀洲区新城幼儿园", "南门"),
        ("南湖区城南小学－西出入口", "南湖区城南小学", "西出入口"),  # full-width hyphen
        ("爱弥儿幼儿园东门", "爱弥儿幼儿园", "东门"),  # no separator: a gate after 园
        ("江南润园小区北大门", "江南润园小区", "北大门"),
        ("城南中学西出入口", "城南中学", "西出入口"),
        ("南湖区实验幼儿园(东栅园区)2号门", "南湖区实验幼儿园", "2号门"),
    ],
)
def test_entrance_names_give_their_parent(name, parent, gate):
    assert split_gate(name) == (parent, gate)


@pytest.mark.parametrize(
    "name",
    [
        "南门小学",
        "嘉兴市北门菜场",
        "西门社区卫生服务站",
        "江南润园",
        "七星街道敬老院",
        "",
        "幼儿园门口小卖部",  # 门口 is no gate word
        "实验学校门口",
        "安定门",  # a place called …门, no place ending before it
        "东栅幼儿园分园",
    ],
)
def test_names_that_only_contain_men_are_no_gates(name):
    assert split_gate(name) is None


def test_departments_are_parts_of_their_facility(yilao):
    types = load_poi_types()
    cats = list(yilao.categories.values())
    assert part_of("碑林区东关南街社区卫生服务中心-内科", types) == "碑林区东关南街社区卫生服务中心"
    assert part_of("户县大王中心卫生院-门诊部", types) == "户县大王中心卫生院"
    assert part_of("渭城区凤仪街社区卫生服务站口腔科", types, cats) == "渭城区凤仪街社区卫生服务站"
    assert part_of("渭城区凤仪街社区卫生服务站", types, cats) is None
    assert part_of("丈八高科花园-社区卫生服务站", types, cats) is None  # the compound is a place


def _labelled() -> pd.DataFrame:
    df = pd.read_csv(DATA / "poi_names_labelled.csv", keep_default_na=False)
    rng = np.random.default_rng(14)
    df["lon"] = 120.75 + rng.uniform(-0.01, 0.01, len(df))
    df["lat"] = 30.75 + rng.uniform(-0.01, 0.01, len(df))
    return df


def test_hand_labelled_names_meet_the_target(yilao):
    """≥ 95 % precision, ≥ 90 % recall per 一老一小 and health category, through load_facilities."""
    df = _labelled()
    assert len(df) >= 120
    gdf = lc.load_facilities(df, yilao, crs="wgs84", category="tag", source="names")
    pred = [set(gdf.loc[gdf["row"] == i, "category"]) for i in df.index]
    for cat in YILAO_HEALTH:
        precision, recall, n_true = _scores(pred, list(df["truth"]), cat)
        assert n_true >= 7, cat
        assert precision >= 0.95 and recall >= 0.90, (cat, precision, recall)
    # entrances: not facilities, every one recognised
    found = gates(gdf)
    assert sorted(found["row"]) == list(df.index[df["truth"] == "gate"])


SCHOOLS_SHOPS = ["primary_school", "junior_middle_school", "convenience_store"]


def _counts(file: str, profile: lc.Profile, categories: list[str]) -> dict[str, tuple[int, ...]]:
    """``{category: (truth, TP, FP, FN)}`` of a name set, through :func:`lc.load_facilities`."""
    df = pd.read_csv(DATA / file, keep_default_na=False)
    df["lon"], df["lat"] = 120.75 + np.arange(len(df)) * 1e-3, 30.75  # ~100 m apart
    gdf = lc.load_facilities(df, profile, crs="wgs84", category="tag", source="names")
    by_row = gdf.groupby("row")["category"].agg(set)
    pred = [by_row.get(i, set()) for i in df.index]
    out = {}
    for cat in categories:
        tp = sum(cat in p and t == cat for p, t in zip(pred, df["truth"], strict=True))
        fp = sum(cat in p and t != cat for p, t in zip(pred, df["truth"], strict=True))
        fn = sum(cat not in p and t == cat for p, t in zip(pred, df["truth"], strict=True))
        out[cat] = (tp + fn, tp, fp, fn)
    return out


def _documented(title: str) -> dict[str, tuple[int, ...]]:
    """``{category: (truth, TP, FP, FN)}`` of the ``tag+names`` rows of the docs/inputs.md table
    headed ``#### <title>`` (pasted from benchmarks/bench_poi_classes.py)."""
    text = (DATA.parents[1] / "docs" / "inputs.md").read_text(encoding="utf-8")
    head = text.index(f"#### {title} (")
    block = text[head:].split("\n\n", 2)[1]
    out = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 6 and cells[2] == "tag+names":
            out[cells[0]] = tuple(int(c) for c in (cells[1], *cells[3:6]))
    return out


def test_first_heldout_set_meets_the_target_and_matches_the_docs(yilao):
    """tests/data/poi_names_heldout.csv: out of sample when written, in sample since its misses
    (保育院, 托婴, 综合体, 幼儿园东门, 教师发展中心, 第一中学) were fixed by general rules."""
    got = _counts("poi_names_heldout.csv", yilao, YILAO_HEALTH)
    for cat, (n_true, tp, fp, _) in got.items():
        assert n_true >= 2 and tp / (tp + fp) >= 0.95 and tp / n_true >= 0.90, (cat, got[cat])
    assert got == _documented("held-out names (in sample since 2026-12-05)")
    gb = _counts("poi_names_heldout.csv", lc.load_profile("gb50180-2018"), SCHOOLS_SHOPS)
    assert gb == _documented("held-out names (in sample since 2026-12-05), schools and shops")


def test_second_heldout_set_meets_the_target_but_one_and_matches_the_docs(yilao):
    """tests/data/poi_names_heldout2.csv: out of sample when written (2b7c28f), in sample since its
    misses were fixed by general rules; the one 一老一小 miss left is a care community whose name
    says nothing (泰康之家·申园)."""
    got = _counts("poi_names_heldout2.csv", yilao, YILAO_HEALTH)
    assert sum(n for n, *_ in got.values()) >= 45
    for cat, (n_true, tp, fp, _) in got.items():
        assert tp / (tp + fp) >= 0.95, (cat, got[cat])
        assert tp / n_true >= 0.90 or (cat == "nursing_home" and n_true - tp == 1), (cat, got[cat])
    assert got == _documented("held-out names II (in sample since 2026-12-05)")
    gb = _counts("poi_names_heldout2.csv", lc.load_profile("gb50180-2018"), SCHOOLS_SHOPS)
    assert gb == _documented("held-out names II (in sample since 2026-12-05), schools and shops")


def test_third_heldout_set_meets_the_target_and_matches_the_docs(yilao):
    """tests/data/poi_names_heldout3.csv: out of sample when measured (d671ccc, rules of 32a31c0),
    in sample since its misses (福利中心, 照护之家, 儿童福利院, 街道养老服务中心, 驿站, 长者之家,
    饭堂, 街道卫生服务中心, 批发, 职业中学, 唐久便利) were fixed by general rules."""
    got = _counts("poi_names_heldout3.csv", yilao, YILAO_HEALTH)
    assert sum(n for n, *_ in got.values()) >= 60
    for cat, (n_true, tp, fp, _) in got.items():
        assert n_true >= 7 and tp / (tp + fp) >= 0.95 and tp / n_true >= 0.90, (cat, got[cat])
    assert got == _documented("held-out names III (in sample since 2026-12-05)")
    gb = _counts("poi_names_heldout3.csv", lc.load_profile("gb50180-2018"), SCHOOLS_SHOPS)
    for cat, (n_true, tp, fp, _) in gb.items():
        assert tp / (tp + fp) >= 0.95 and tp / n_true >= 0.90, (cat, gb[cat])
    assert gb == _documented("held-out names III (in sample since 2026-12-05), schools and shops")


def test_fourth_heldout_set_is_reported_as_measured(yilao):
    """tests/data/poi_names_heldout4.csv, committed (081caac) before the classifier ran on it and
    not tuned on: the docs/inputs.md tables are what load_facilities gives (health-centre
    precision and 便利店 recall miss the target; the misses are listed there)."""
    got = _counts("poi_names_heldout4.csv", yilao, YILAO_HEALTH)
    assert all(n_true >= 8 for n_true, *_ in got.values()), got
    assert got == _documented("held-out names IV (out of sample)")
    gb = _counts("poi_names_heldout4.csv", lc.load_profile("gb50180-2018"), SCHOOLS_SHOPS)
    assert gb == _documented("held-out names IV (out of sample), schools and shops")


def test_rules_are_reported_per_category(yilao):
    df = _labelled()
    gdf = lc.load_facilities(df, yilao, crs="wgs84", category="tag", source="names")
    table = rules_by_category(gdf)
    assert table.loc["kindergarten", "tag"] == 1  # 金色摇篮幼儿园, 教育培训;幼儿园
    assert table.loc["nursery", "tag+name"] == 1  # 亲亲宝贝托育中心, 教育培训;亲子教育
    assert (
        table.loc["kindergarten", "keyword"]
        == (gdf["category_source"] == "keyword")[gdf["category"] == "kindergarten"].sum()
    )
    assert int(table.to_numpy().sum()) == len(gdf)
    rules = unmatched(gdf).set_index("name")["rule"]
    assert rules["小博士幼儿园"] == "tag:none"  # tagged 培训机构: no kindergarten
    assert rules["嘉兴市南湖区新丰镇卫生院-门诊部"] == "part"
    assert rules["金宝贝早教中心(嘉兴万达店)"] == ""


def test_school_gates_are_not_extra_schools(caplog):
    """The issue's case: "附属中学-北门" counted as a second junior middle school."""
    gb = lc.load_profile("gb50180-2018")
    df = pd.DataFrame(
        {
            "名称": [
                "嘉兴学院附属中学",
                "嘉兴学院附属中学-北门",
                "嘉兴学院附属中学-东门",
                "江南润园",
                "江南润园-3号门",
                "南门小学",
            ],
            "tag": ["教育培训;中学", "出入口;门", "", "房地产;住宅区", "", "教育培训;小学"],
            "经度": [120.7500, 120.7500, 120.7530, 120.7600, 120.7610, 120.7700],
            "纬度": [30.7500, 30.7520, 30.7500, 30.7600, 30.7610, 30.7700],
        }
    )
    with caplog.at_level(logging.INFO):
        gdf = lc.load_facilities(df, gb, crs="wgs84", source="jx")
    assert sorted(gdf["name"]) == ["南门小学", "嘉兴学院附属中学"]
    assert set(gdf["category"]) == {"junior_middle_school", "primary_school"}
    g = gates(gdf).set_index("name")
    school = gdf.index[gdf["name"] == "嘉兴学院附属中学"][0]
    assert g.loc["嘉兴学院附属中学-北门", "facility_id"] == school
    assert g.loc["嘉兴学院附属中学-东门", "facility_id"] == school
    assert g.loc["嘉兴学院附属中学-东门", "gate"] == "东门"
    # a compound's gate: no facility of that name; kept with its base name for the communities
    assert g.loc["江南润园-3号门", "facility_id"] is None
    assert g.loc["江南润园-3号门", "base_name"] == "江南润园"
    assert len(unmatched(gdf)) == 1  # 江南润园 itself (房地产), not its gate
    assert "3 entrances" in caplog.text and "2 attached" in caplog.text


def test_gate_far_from_a_namesake_is_not_attached(yilao):
    df = pd.DataFrame(
        {
            "name": ["七星街道敬老院", "七星街道敬老院-南门"],
            "lon": [120.75, 120.75],
            "lat": [30.75, 30.76],  # 1.1 km apart: another place of the same name
        }
    )
    gdf = lc.load_facilities(df, yilao, crs="wgs84")
    assert len(gdf) == 1 and gates(gdf)["facility_id"].tolist() == [None]


def test_xian_baidu_health_layer_meets_the_target(yilao):
    """Baidu tags first, names second, against the hand-checked labels of the health layer.

    The file also holds a ``category`` column derived by its packager (``clinic`` ...): the
    ``tag`` column, which holds Baidu tags, is used instead.
    """
    path = shared_file("cn_xian_pois_bd09/xian_baidu_pois.gpkg")
    gdf = lc.load_facilities(path, yilao, sheet="health", source="xian")
    truth = pd.read_csv(DATA / "xian_health_truth.csv").drop_duplicates("uid")
    assert len(truth) >= 500
    raw = __import__("geopandas").read_file(path, layer="health")
    labels = raw[["uid"]].merge(truth, on="uid", how="left")["truth"].fillna("none")
    by_row = gdf.groupby("row")["category"].agg(set)
    pred = [by_row.get(i, set()) for i in raw.index]
    for cat in ["health_station", "health_centre"]:
        precision, recall, n_true = _scores(pred, list(labels), cat)
        assert n_true >= 100
        assert precision >= 0.95 and recall >= 0.90, (cat, precision, recall)
    rules = rules_by_category(gdf)
    assert rules.loc["health_station", "tag+name"] >= 300  # 医疗;诊所 + 卫生室/卫生服务站


def test_xian_baidu_residential_layer_gives_no_schools_or_care(yilao):
    path = shared_file("cn_xian_pois_bd09/xian_baidu_pois.gpkg")
    gdf = lc.load_facilities(path, yilao, sheet="residential", category="tag", source="xian")
    # the one match is a real 老年公寓 tagged 政府机构;福利机构
    assert set(gdf["category"]) <= {"nursing_home"} and len(gdf) <= 1
    assert all("老年公寓" in n for n in gdf["name"])
    assert len(gates(gdf)) >= 2  # 出入口;门


def test_a_users_own_tag_table(tmp_path, yilao):
    """The tag table is data: a city whose export tags kindergartens as 培训机构 edits a copy."""
    own = tmp_path / "my_types.toml"
    own.write_text('[tags]\n"教育培训;培训机构" = { among = ["kindergarten"] }\n', encoding="utf-8")
    df = pd.DataFrame(
        {
            "name": ["小博士幼儿园", "新东方英语"],
            "tag": ["教育培训;培训机构"] * 2,
            "lon": [120.75, 120.76],
            "lat": [30.75, 30.76],
        }  # fmt: skip
    )
    shipped = lc.load_facilities(df, yilao, crs="wgs84", category="tag")
    assert len(shipped) == 0
    mine = lc.load_facilities(df, yilao, crs="wgs84", category="tag", poi_types=own)
    assert list(mine["name"]) == ["小博士幼儿园"]
    assert list(mine["category_source"]) == ["tag+name"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[tags]\n"医疗" = ["health_station"]\n', encoding="utf-8")
    with pytest.raises(lc.InputError, match="needs is = "):
        lc.load_facilities(df, yilao, crs="wgs84", category="tag", poi_types=bad)


@pytest.mark.parametrize(
    "name, want",
    [
        ("双府社区居民养老服务中心", "elderly_daycare"),  # a community's own centre
        ("王店镇庄安村养老中心", "elderly_daycare"),
        ("嘉兴市南湖区养老服务中心", "nursing_home"),  # a district's: a care home
        ("新塍镇敬老院", "nursing_home"),
        ("梅湾社区敬老院", "nursing_home"),  # only 养老(服务)中心 changes with the community
        ("咸阳市渭城区金秋老年服务中心", "elderly_daycare"),
        ("协和阳光中老年服务站", None),  # 中老年: a shop selling to older people
        ("中老年用品店", None),
    ],
)
def test_community_elderly_centres_are_day_care(yilao, name, want):
    df = pd.DataFrame({"name": [name], "lon": [120.75], "lat": [30.75]})
    gdf = lc.load_facilities(df, yilao, crs="wgs84")
    assert list(gdf["category"]) == ([want] if want else [])


@pytest.mark.parametrize(
    "name, profile, want",
    [
        ("西安市雁塔区第二保育院", "jiaxing-yilao-yixiao", "kindergarten"),  # 保育院: 3-6
        ("爱儿坊托婴中心", "jiaxing-yilao-yixiao", "nursery"),
        ("桐乡市梧桐街道养老服务综合体", "jiaxing-yilao-yixiao", "elderly_daycare"),
        ("南湖区幼儿园教师发展中心", "jiaxing-yilao-yixiao", None),  # an office
        ("嘉兴市托育行业协会", "jiaxing-yilao-yixiao", None),
        ("爱弥儿幼儿园东门", "jiaxing-yilao-yixiao", None),  # a gate, not a second kindergarten
        ("嘉兴市第一中学", "gb50180-2018", None),  # a city's No. 1: senior / complete
        ("嘉兴市第十一中学", "gb50180-2018", "junior_middle_school"),  # 第十一 is no 第一
        ("嘉兴市秀洲区第一初级中学", "gb50180-2018", "junior_middle_school"),
    ],
)
def test_name_rules_for_childcare_daycare_and_schools(name, profile, want):
    gdf = lc.load_facilities(
        pd.DataFrame({"name": [name], "lon": [120.75], "lat": [30.75]}),
        lc.load_profile(profile),
        crs="wgs84",
    )
    assert list(gdf["category"]) == ([want] if want else [])
    assert len(gates(gdf)) == ("东门" in name)


def test_xian_untagged_elderly_names_meet_the_target(yilao):
    """The 17 untagged Xi'an names of the elderly_like layer against tests/data labels (read by
    hand); the rules were changed after reading them, so this is in sample."""
    path = shared_file("cn_xian_pois_bd09/xian_baidu_pois.gpkg")
    raw = __import__("geopandas").read_file(path, layer="elderly_like")
    truth = pd.read_csv(DATA / "xian_elderly_truth.csv")["truth"].tolist()
    assert len(raw) == len(truth) == 17
    df = pd.DataFrame({"name": raw["name"], "lon": 108.9, "lat": 34.3})
    gdf = lc.load_facilities(df, yilao, crs="wgs84", source="xian")
    pred = [set(gdf.loc[gdf["row"] == i, "category"]) for i in df.index]
    precision, recall, n_true = _scores(pred, truth, "elderly_daycare")
    assert n_true == 10
    assert precision >= 0.95 and recall >= 0.90, (precision, recall)
    assert not any({"nursing_home", "elderly_meal_aid"} & p for p in pred)  # none of those


def _one(name: str, profile: str, tag: str | None = None, **kw) -> list[str]:
    """Categories ``load_facilities`` gives one named row (with an optional provider tag)."""
    df = pd.DataFrame({"name": [name], "tag": [tag], "lon": [120.75], "lat": [30.75]})
    gdf = lc.load_facilities(df, lc.load_profile(profile), crs="wgs84", category="tag", **kw)
    return sorted(gdf["category"])


@pytest.mark.parametrize(
    "name, profile, want",
    [
        # the type word is ranked over every gb50180-2018 category, also those a profile drops
        ("幼儿园路小学", "jiaxing-yilao-yixiao", []),  # a 小学, though the profile has none
        ("嘉兴市幼儿园路小学", "gb50180-2018", ["primary_school"]),
        ("幼儿园路幼儿园", "jiaxing-yilao-yixiao", ["kindergarten"]),  # own type word last
        ("卫生室小娟门诊", "jiaxing-yilao-yixiao", []),  # a 门诊 (outpatient) named after a 卫生室
        # 指导中心: a guidance office, not the service
        ("浙江省婴幼儿照护服务指导中心", "jiaxing-yilao-yixiao", []),
        ("嘉兴市托育服务指导中心", "jiaxing-yilao-yixiao", []),
        ("南湖区新兴街道婴幼儿照护服务中心", "jiaxing-yilao-yixiao", ["nursery"]),
        # other cities' names for day care, meal aid and health stations
        ("上海市徐汇区田林街道综合为老服务中心", "jiaxing-yilao-yixiao", ["elderly_daycare"]),
        ("广州市海珠区南华西街长者综合服务中心", "jiaxing-yilao-yixiao", ["elderly_daycare"]),
        ("深圳市南山区蛇口街道长者服务站", "jiaxing-yilao-yixiao", ["elderly_daycare"]),
        ("深圳市南山区蛇口街道长者服务站", "tdt1062-2021", ["elderly_daycare"]),
        ("北京市东城区东四街道老年餐桌", "jiaxing-yilao-yixiao", ["elderly_meal_aid"]),
        ("北京市东城区东四街道老年餐桌", "tdt1062-2021", ["meal_aid"]),
        ("北京市东城区东四街道老年餐桌", "gb50180-2018", ["community_canteen"]),
        ("深圳市南山区蛇口社区健康服务中心", "jiaxing-yilao-yixiao", ["health_station"]),
        ("深圳市南山区蛇口社康中心", "tdt1062-2021", ["health_station"]),
    ],
)
def test_type_word_ranking_offices_and_regional_names(name, profile, want):
    assert _one(name, profile) == want


@pytest.mark.parametrize(
    "name, parent, gate",
    [
        ("桐乡市梧桐街道养老服务综合体东侧门", "桐乡市梧桐街道养老服务综合体", "东侧门"),
        ("海宁市硖石街道养老服务综合体北门", "海宁市硖石街道养老服务综合体", "北门"),
    ],
)
def test_a_gate_after_a_zonghe_ti_is_an_entrance(name, parent, gate, yilao):
    assert split_gate(name) == (parent, gate)
    assert _one(name, "jiaxing-yilao-yixiao") == []


@pytest.mark.parametrize(
    "name, tag, want",
    [
        ("全家FamilyMart(人民广场店)", None, ["convenience_store"]),  # brand + Latin word
        ("全家(南湖万达店)", None, ["convenience_store"]),  # brand + branch
        ("罗森", None, ["convenience_store"]),
        ("7-Eleven(天河城店)", None, ["convenience_store"]),
        ("美宜佳便利(东城店)", None, ["convenience_store"]),
        ("全家福饺子馆", None, []),  # 全家 followed by more Chinese: no brand
        ("快客驿站", None, []),
        ("新全家(北店)", None, []),  # the brand must start the name
        ("全家(南湖万达店)", "购物;超市", []),  # the tag allows no 便利店
    ],
)
def test_convenience_chains_by_brand(name, tag, want):
    assert _one(name, "gb50180-2018", tag) == want


def test_rank_over_and_brands_are_data(tmp_path):
    """A table without ``rank_over`` or ``[brands]`` falls back to the profile's own words; a
    ``rank_over`` that names no standard is an InputError."""
    bare = tmp_path / "bare.toml"
    bare.write_text("[tags]\n", encoding="utf-8")
    assert _one("幼儿园路小学", "jiaxing-yilao-yixiao", poi_types=bare) == ["kindergarten"]
    assert _one("全家(南湖万达店)", "gb50180-2018", poi_types=bare) == []
    assert load_poi_types().rank_over == "gb50180-2018"
    assert "全家" in load_poi_types().brands["convenience_store"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[names]\nrank_over = "no-such-standard"\n', encoding="utf-8")
    with pytest.raises(lc.InputError, match="rank_over"):
        _one("幼儿园路小学", "jiaxing-yilao-yixiao", poi_types=bad)


@pytest.mark.parametrize(
    "name, profile, want",
    [
        # shops and wholesalers selling to kindergartens (批发, 玩具 exclude keywords)
        ("幼儿园课桌椅批发", "jiaxing-yilao-yixiao", []),
        ("童乐幼儿园玩具城", "jiaxing-yilao-yixiao", []),
        ("宝宝乐托育玩具店", "jiaxing-yilao-yixiao", []),
        # 社会福利中心 with care beds, Shanghai's 长者照护之家; a 儿童福利院 is an orphanage
        ("莆田市社会福利中心", "jiaxing-yilao-yixiao", ["nursing_home"]),
        ("莆田市社会福利中心", "gb50180-2018", ["nursing_home"]),
        ("静安区江宁路街道长者照护之家", "jiaxing-yilao-yixiao", ["nursing_home"]),
        ("莆田市儿童福利院", "jiaxing-yilao-yixiao", []),
        ("莆田市儿童福利院", "tdt1062-2021", []),
        # a street's 养老服务中心 is its day-care hub; a town's stays a care home
        ("朝阳区双井街道综合养老服务中心", "jiaxing-yilao-yixiao", ["elderly_daycare"]),
        ("余杭区瓶窑镇养老服务中心", "jiaxing-yilao-yixiao", ["nursing_home"]),
        # Beijing/Hebei 驿站, Jinan's 长者之家, Guangdong's 长者饭堂
        ("西城区月坛街道社区养老服务驿站", "jiaxing-yilao-yixiao", ["elderly_daycare"]),
        ("西城区月坛街道养老驿站", "tdt1062-2021", ["elderly_daycare"]),
        ("槐荫区道德街街道长者之家", "jiaxing-yilao-yixiao", ["elderly_daycare"]),
        ("越秀区北京街长者饭堂", "jiaxing-yilao-yixiao", ["elderly_meal_aid"]),
        ("越秀区北京街长者饭堂", "tdt1062-2021", ["meal_aid"]),
        ("越秀区北京街长者饭堂", "gb50180-2018", ["community_canteen"]),
        # a street's 卫生服务中心 without 社区; its offices stay offices
        ("五华区护国街道卫生服务中心", "jiaxing-yilao-yixiao", ["health_centre"]),
        ("五华区护国街道卫生服务中心", "tdt1062-2021", ["health_centre"]),
        ("五华区卫生服务管理中心", "jiaxing-yilao-yixiao", []),
        # a vocational 职业中学 is no junior middle school
        ("莆田市第二职业中学", "gb50180-2018", []),
        ("莆田市第二职业中学", "tdt1062-2021", []),
        ("莆田市第二中学", "gb50180-2018", ["junior_middle_school"]),
        # a village's 卫生室 ranks over the 门诊 that names its service
        ("西营村第二卫生室中西医门诊", "jiaxing-yilao-yixiao", ["health_station"]),
        ("西营村第二卫生室中西医门诊", "gb50180-2018", ["health_station"]),
        ("东关社区卫生室中医诊所", "gb50180-2018", ["health_station"]),  # 诊所: no rival word
        ("卫生室小娟门诊", "gb50180-2018", ["outpatient_clinic"]),  # no community: a 门诊
    ],
)
def test_set_three_rules_welfare_daycare_meals_health_and_schools(name, profile, want):
    """The general rules made for the misses of tests/data/poi_names_heldout3.csv (each fails on
    the rules of 32a31c0)."""
    assert _one(name, profile) == want


@pytest.mark.parametrize(
    "name, tag, want",
    [
        ("唐久便利(亲贤北街店)", None, ["convenience_store"]),  # 便利 ends the name
        ("苏果便利", None, ["convenience_store"]),
        ("便利", None, []),  # nothing before the word
        ("便利生活广场", None, []),  # 便利 inside a name
        ("唐久便利(亲贤北街店)", "购物;超市", []),  # the tag allows no 便利店
    ],
)
def test_bianli_at_the_end_of_a_name_is_a_convenience_store(name, tag, want):
    assert _one(name, "gb50180-2018", tag) == want


def test_outrank_and_end_types_are_data(tmp_path):
    """Without ``outrank`` and ``[names.end_types]`` in the table, neither rule applies."""
    bare = tmp_path / "bare.toml"
    bare.write_text('[names]\nrank_over = "gb50180-2018"\n', encoding="utf-8")
    assert _one("唐久便利(亲贤北街店)", "gb50180-2018", poi_types=bare) == []
    assert _one("西营村第二卫生室中西医门诊", "gb50180-2018", poi_types=bare) == [
        "outpatient_clinic"
    ]
    types = load_poi_types()
    assert types.outrank == {"卫生室": ("门诊",)}
    assert types.end_types == {"convenience_store": ("便利",)}
