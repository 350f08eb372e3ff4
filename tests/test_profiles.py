"""Standard profiles: built-in content and marks, extends/drop/override, thresholds, validation
errors with key and line, and the facility matchers (tags, names, Amap codes)."""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lifecircle
from conftest import need
from lifecircle import ProfileError
from lifecircle.standards import (
    MARKS,
    POPULATIONS,
    PROFILE_DIR,
    Category,
    Profile,
    Source,
    list_profiles,
    load_profile,
    parse_osm_filter,
)

BUILTINS = ["gb50180-2018", "jiaxing-yilao-yixiao", "tdt1062-2021"]


@functools.cache
def builtin(name: str) -> Profile:
    return load_profile(name)


def marks(sources) -> set[str]:
    return {s.mark for s in sources}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in test text"
    return hits[occurrence - 1]


def expect_error(path: Path, key: str, line: int, *fragments: str) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    err = info.value
    msg = str(err)
    assert str(path) in msg, msg
    assert f"line {line}:" in msg, msg
    assert f" {key}:" in msg, msg
    assert (err.file, err.line, err.key) == (str(path), line, key)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    return err


# --------------------------------------------------------------------------------------------
# Built-in profiles
# --------------------------------------------------------------------------------------------


def test_list_profiles_names_the_shipped_files():
    assert list_profiles() == BUILTINS
    assert {p.stem for p in PROFILE_DIR.glob("*.toml")} == set(BUILTINS)
    assert (PROFILE_DIR / "README.md").exists()


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_loads_and_is_consistent(name):
    p = load_profile(name)
    assert p.id == name and p.path is not None and p.path.parent == PROFILE_DIR
    assert p.title_zh and p.title_en and p.levels and len(p.categories) >= 9
    for c in p.categories.values():
        assert c.level in p.levels
        assert c.distance_m > 0 and math.isfinite(c.distance_m)
        assert c.osm or c.keywords or c.amap_types
        assert c.sources and c.distance_source
        assert c.target_group in POPULATIONS
        if p.element_types:
            assert c.element_type in p.element_types
        for s in [*c.sources, *c.distance_source, *c.match_sources]:
            assert s.mark in MARKS and s.document
        for cap in c.capacity:
            assert cap.per_1000 > 0 and cap.sources
        for fact in c.info.values():
            assert fact.sources
        if c.distance_inherited:
            assert c.distance_m == p.levels[c.level].distance_m
            assert c.distance_source == p.levels[c.level].sources


def test_exports_from_package():
    assert lifecircle.load_profile is load_profile
    assert lifecircle.list_profiles is list_profiles
    assert lifecircle.Profile is Profile and lifecircle.Category is Category
    assert {"Profile", "Category", "Level", "load_profile", "list_profiles"} <= set(
        lifecircle.__all__
    )
    # what a user sees with dir() / tab completion: no stray module imports
    assert not {"annotations", "logging"} & set(dir(lifecircle))


def test_builtin_names_are_normalised_and_profiles_pass_through():
    gb = builtin("gb50180-2018")
    assert load_profile("GB 50180-2018").categories.keys() == gb.categories.keys()
    assert load_profile("TD/T 1062-2021").id == "tdt1062-2021"
    assert load_profile(gb) is gb
    assert load_profile(PROFILE_DIR / "gb50180-2018.toml").id == "gb50180-2018"
    assert load_profile(str(PROFILE_DIR / "gb50180-2018.toml")).id == "gb50180-2018"


def test_unknown_builtin_name_suggests_the_nearest():
    with pytest.raises(ProfileError, match="did you mean 'gb50180-2018'"):
        load_profile("gb50180-2019")
    with pytest.raises(ProfileError, match="not found"):
        load_profile("/nonexistent/x.toml")


def test_category_miss_lists_valid_ids():
    with pytest.raises(ProfileError) as info:
        builtin("gb50180-2018").category("kindergarden")
    assert "did you mean 'kindergarten'" in str(info.value)
    assert "nursery" in str(info.value)
    with pytest.raises(ProfileError, match="did you mean 'L5'"):
        builtin("gb50180-2018").level("L6")


# Marks transcribed from shared/reference/standards.md (the oracle), row by row.
def test_marks_match_standards_md_for_sample_rows():
    gb, jx, tdt = builtin("gb50180-2018"), builtin("jiaxing-yilao-yixiao"), builtin("tdt1062-2021")

    # §4.3: ≥ 40 nursing-home beds per 1000 older people, GB 50437-2007 (2018) 3.2.1 [V]
    (beds,) = jx.category("nursing_home").capacity
    assert (beds.unit, beds.per_1000, beds.population) == ("beds", 40, "elderly")
    assert marks(beds.sources) == {"V"} and all(s.verified for s in beds.sources)
    assert beds.sources[0].clause == "3.2.1" and "GB 50437" in beds.sources[0].document

    # §4.4 / §5: childcare 4.5 places per 1000 residents [V2]
    (places,) = jx.category("nursery").capacity
    assert (places.unit, places.per_1000, places.population) == ("places", 4.5, "total")
    assert marks(places.sources) == {"V2"} and not any(s.verified for s in places.sources)

    # §2.4: kindergarten ≤300 m [R med-hi]; day care ≤300 m [R hi]; 托儿所 △ [R med]
    kg = gb.category("kindergarten")
    assert kg.distance_m == 300 and not kg.distance_inherited
    assert marks(kg.distance_source) == {"R"} and not kg.verified
    dc = gb.category("elderly_daycare")
    assert dc.distance_m == 300 and [s.confidence for s in dc.distance_source] == ["hi"]
    assert gb.category("nursery").required is False and marks(gb.category("nursery").sources) == {
        "R"
    }
    assert gb.category("health_station").required is False
    assert gb.category("elderly_daycare").required is True

    # §2.2: L10 ≈500 m [V]; L15 800–1000 m and L5 300 m [V2]; 居住街坊 population [V]
    assert gb.level("L10").distance_m == 500 and marks(gb.level("L10").sources) == {"V"}
    assert gb.level("L15").distance_m == 1000 and marks(gb.level("L15").sources) == {"V2"}
    walk = gb.level("L15").info["walk_distance_m"]
    assert (walk.min, walk.max) == (800, 1000)
    assert gb.level("L5").distance_m == 300 and marks(gb.level("L5").sources) == {"V2"}
    pop = gb.level("L0").info["population"]
    assert (pop.min, pop.max, marks(pop.sources)) == (1000, 3000, {"V"})
    assert "C" in marks(gb.level("L0").sources)  # 200 m is a proxy chosen here

    # §2.3: non-nested levels [V]
    assert gb.nested_levels is False and jx.nested_levels is False and tdt.nested_levels is False
    assert marks(gb.nested_levels_source) == {"V"} and "第5章" in gb.nested_levels_source[0].clause

    # §4.1: 完整居住社区 kindergarten ≥2200 m² building [V2]; lower bounds of GB areas [V2]
    assert jx.category("kindergarten").info["building_m2_min"].min == 2200
    assert marks(jx.category("kindergarten").info["building_m2_min"].sources) == {"V2"}
    assert "V2" in marks(gb.category("elderly_daycare").info["building_m2"].sources)

    # §8: Amap 141204 kindergarten [V]; 090102 health station code [V2]
    assert kg.amap_types == ("141204",)
    assert any(s.mark == "V" and "高德" in s.document for s in kg.match_sources)
    hs = gb.category("health_station")
    assert hs.amap_types == ("090102",)
    assert {s.mark for s in hs.match_sources if "高德" in s.document} == {"V2"}

    # §3: the whole TD/T element list is [R lo-med]
    for c in tdt.categories.values():
        assert marks(c.sources) == {"R"} and c.sources[0].confidence == "lo-med"


def test_gb_appendix_rows_are_all_unverified():
    # standards.md §2.4: "Everything in this table is [R] unless a source is given".
    for c in builtin("gb50180-2018").categories.values():
        assert marks(c.sources) == {"R"}, c.id
        if not c.distance_inherited:
            assert marks(c.distance_source) == {"R"}, c.id
        assert not c.verified


def test_source_verified_only_for_v():
    status = {m: Source("X", "1", m) for m in MARKS}
    assert [m for m, s in status.items() if s.verified] == ["V"]
    assert status["V2"].status == "secondary" and status["R"].status == "unverified"
    assert (
        str(Source("GB 50180-2018", "附录B", "R", confidence="med"))
        == "GB 50180-2018 附录B [R med]"
    )
    with pytest.raises(ProfileError, match="bad source mark"):
        Source("X", "", "V3")


def test_jiaxing_extends_gb_and_weights_up_yilao_yixiao():
    gb, jx = builtin("gb50180-2018"), builtin("jiaxing-yilao-yixiao")
    assert jx.extends == "gb50180-2018"
    assert "community_canteen" in gb.categories and "community_canteen" not in jx.categories
    assert "elderly_care_home" in gb.categories and "elderly_care_home" not in jx.categories
    assert list(jx.categories)[-1] == "elderly_meal_aid"  # new categories are appended
    # the 一老一小 focus: schools, shops, offices ... are dropped
    assert "primary_school" in gb.categories and "primary_school" not in jx.categories
    assert set(jx.categories) == {
        "health_centre",
        "nursing_home",
        "outdoor_fitness",
        "kindergarten",
        "nursery",
        "elderly_daycare",
        "health_station",
        "child_elderly_playground",
        "elderly_meal_aid",
    }
    # inherited rows keep the parent's fields
    assert (
        jx.category("health_station").distance_source
        == gb.category("health_station").distance_source
    )
    assert jx.category("kindergarten").osm == gb.category("kindergarten").osm
    # info merges fact by fact: GB's recalled area and the 完整居住社区 minimum both present
    assert {"building_m2", "building_m2_min"} <= set(jx.category("kindergarten").info)
    # overrides
    assert gb.category("nursery").required is False and jx.category("nursery").required is True
    assert "护理院" in jx.category("nursing_home").keywords
    assert "护理院" not in gb.category("nursing_home").keywords
    # 一老一小 weighted up; GB itself has no weights
    assert {c.weight for c in gb.categories.values()} == {1.0}
    yilao_yixiao = [c for c in jx.categories.values() if c.target_group != "total"]
    assert {c.id for c in yilao_yixiao} >= {"nursing_home", "elderly_daycare", "elderly_meal_aid",
                                            "nursery", "kindergarten"}  # fmt: skip
    assert min(c.weight for c in yilao_yixiao) >= 2.0
    assert max(c.weight for c in jx.categories.values() if c.target_group == "total") < 2.0
    assert jx.category("elderly_meal_aid").element_type == "品质提升型"
    assert (
        jx.category("health_station").level == "L5" and jx.category("health_centre").level == "L15"
    )


def test_jiaxing_element_types_follow_the_crosswalk():
    jx = builtin("jiaxing-yilao-yixiao")
    assert jx.element_types == ("基础保障型", "品质提升型", "特色引导型")
    for c in jx.categories.values():
        assert c.element_type == ("基础保障型" if c.required else "品质提升型"), c.id


# --------------------------------------------------------------------------------------------
# with_distances and to_frame
# --------------------------------------------------------------------------------------------


def test_with_distances_by_level():
    gb = builtin("gb50180-2018")
    p = gb.with_distances(L15=800)
    assert p.level("L15").distance_m == 800 and marks(p.level("L15").sources) == {"C"}
    assert p.category("nursing_home").distance_m == 800  # inherited from the level
    assert p.category("junior_middle_school").distance_m == 800  # own radius = old level distance
    assert p.category("primary_school").distance_m == 500  # other level untouched
    assert marks(p.category("nursing_home").distance_source) == {"C"}
    # the original is unchanged
    assert gb.level("L15").distance_m == 1000 and gb.category("nursing_home").distance_m == 1000
    # a different radius of its own survives a level change
    q = gb.with_distances(L5=250)
    assert q.category("kindergarten").distance_m == 250
    assert q.category("culture_station").distance_m == 500


def test_with_distances_by_category_wins_over_level():
    gb = builtin("gb50180-2018")
    p = gb.with_distances(L5=400, kindergarten=250)
    assert p.category("kindergarten").distance_m == 250
    assert p.category("nursery").distance_m == 400
    assert p.category("elderly_daycare").distance_m == 400
    assert not p.category("kindergarten").verified
    tdt = builtin("tdt1062-2021").with_distances({"L5_10": 600})
    assert tdt.category("nursery").distance_m == 600


@pytest.mark.parametrize("bad", [{"L16": 800}, {"kindergarden": 300}])
def test_with_distances_unknown_key(bad):
    with pytest.raises(ProfileError, match="did you mean"):
        builtin("gb50180-2018").with_distances(**bad)


@pytest.mark.parametrize("value", [0, -300, True, "800", float("nan")])
def test_with_distances_bad_value(value):
    with pytest.raises(ProfileError, match="positive number of metres"):
        builtin("gb50180-2018").with_distances(L15=value)


def test_to_frame_columns_and_values():
    jx = builtin("jiaxing-yilao-yixiao")
    df = jx.to_frame()
    expected = {
        "id", "name_zh", "name_en", "level", "level_name_zh", "level_name_en", "distance_m",
        "walk_min", "distance_inherited", "required", "required_zh", "element_type", "weight",
        "target_group", "target_group_zh", "capacity", "osm", "keywords", "exclude_keywords",
        "amap_types", "info", "note", "sources", "distance_source", "match_sources",
        "distance_mark", "capacity_mark", "verified",
    }  # fmt: skip
    assert set(df.columns) == expected
    assert list(df.index) == list(jx.categories) and len(df) == len(jx.categories)
    assert df["verified"].dtype == bool and pd.api.types.is_float_dtype(df["distance_m"])
    assert (df["required_zh"].str.startswith("▲") == df["required"]).all()
    row = df.loc["nursing_home"]
    assert "40 beds/1000 elderly [V]" in row["capacity"] and row["capacity_mark"] == "V"
    assert "social_facility=nursing_home|assisted_living" in row["osm"]
    assert "3.2.1" in jx.category("nursing_home").capacity[0].sources[0].clause
    assert df.loc["kindergarten", "distance_mark"] == "R"
    assert df.loc["kindergarten", "level_name_zh"] == "五分钟生活圈居住区"
    assert "<table" in jx._repr_html_()


# --------------------------------------------------------------------------------------------
# User files: extends, drop, override
# --------------------------------------------------------------------------------------------

CHILD = """\
id = "city"
extends = "gb50180-2018"
drop = ["bank", "post_office"]

[levels.L15]
distance_m = 800
sources = [{ document = "某市规划导则", clause = "3.1", mark = "V" }]

[categories.kindergarten]
weight = 3

[categories.childrens_home]
name_zh = "儿童之家"
level = "L5"
keywords = ["儿童之家"]
target_group = "child_3_6"
sources = [{ document = "某市规划导则", clause = "4.2", mark = "V" }]
"""


def test_extends_drop_override_and_add(tmp_path):
    p = load_profile(write(tmp_path, "city.toml", CHILD))
    gb = builtin("gb50180-2018")
    assert p.id == "city" and p.extends == "gb50180-2018" and p.version == ""
    assert "bank" not in p.categories and "post_office" not in p.categories
    assert len(p.categories) == len(gb.categories) - 2 + 1
    assert list(p.categories)[-1] == "childrens_home"
    kg = p.category("kindergarten")
    assert kg.weight == 3 and kg.name_zh == gb.category("kindergarten").name_zh
    assert kg.distance_m == 300  # untouched
    assert p.level("L15").distance_m == 800 and p.level("L15").name_zh == "十五分钟生活圈居住区"
    assert p.category("nursing_home").distance_m == 800  # inherits the new level distance
    assert marks(p.category("nursing_home").distance_source) == {"V"}
    assert p.category("junior_middle_school").distance_m == 1000  # its own radius
    assert p.category("childrens_home").distance_m == 300 and p.category("childrens_home").required


def test_extends_relative_path_chain_and_ref_override(tmp_path):
    write(tmp_path, "city.toml", CHILD)
    sub = tmp_path / "sub"
    sub.mkdir()
    text = """\
extends = "../city.toml"

[refs]
gb_bc_medhi = { document = "GB 50180-2018", clause = "附录C 表C.0.3", mark = "V", note = "checked" }
"""
    p = load_profile(write(sub, "district.toml", text))
    assert p.id == "district"  # id is not inherited
    assert "bank" not in p.categories and p.category("kindergarten").weight == 3
    # changing a named source updates every number citing it
    assert marks(p.category("kindergarten").distance_source) == {"V"}
    assert p.category("kindergarten").verified


def test_extends_loop_is_reported(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ProfileError, match="loop"):
        load_profile(tmp_path / "a.toml")


# --------------------------------------------------------------------------------------------
# Validation errors: file, key path and line
# --------------------------------------------------------------------------------------------

BASE = """\
id = "t"

[refs]
gb_b = { document = "GB 50180-2018", clause = "附录B", mark = "R" }

[levels.L5]
name_zh = "五分钟生活圈居住区"
distance_m = 300
sources = [{ document = "GB 50180-2018", clause = "表3.0.4", mark = "V2" }]

[categories.kindergarten]
name_zh = "幼儿园"
level = "L5"
osm = [{ amenity = "kindergarten" }]
keywords = ["幼儿园"]
sources = ["gb_b"]
"""


def test_base_file_is_valid(tmp_path):
    p = load_profile(write(tmp_path, "t.toml", BASE))
    assert p.category("kindergarten").distance_m == 300
    assert marks(p.category("kindergarten").sources) == {"R"}


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_unknown_category_key(tmp_path):
    text = edit('level = "L5"\n', 'level = "L5"\ndistanse_m = 250\n')
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.distanse_m",
                 line_of(text, "distanse_m"), "did you mean 'distance_m'", "unknown key")  # fmt: skip


def test_unknown_top_level_key(tmp_path):
    text = edit('id = "t"\n', 'id = "t"\ntitel_zh = "测试"\n')
    expect_error(write(tmp_path, "t.toml", text), "titel_zh", 2, "did you mean 'title_zh'")


def test_unknown_key_in_a_source_on_a_later_line(tmp_path):
    text = edit(
        'sources = ["gb_b"]\n',
        'sources = [\n  "gb_b",\n  { document = "X", mark = "V", clasue = "1" },\n]\n',
    )
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.sources[1].clasue",
                 line_of(text, "clasue"), "did you mean 'clause'")  # fmt: skip


def test_missing_threshold(tmp_path):
    text = edit("distance_m = 300\nsources", "sources")
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.distance_m",
                 line_of(text, "[categories.kindergarten]"), "missing threshold")  # fmt: skip


def test_category_without_identification(tmp_path):
    text = edit('osm = [{ amenity = "kindergarten" }]\nkeywords = ["幼儿园"]\n', "")
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten",
                 line_of(text, "[categories.kindergarten]"), "no way to identify")  # fmt: skip


def test_unknown_level(tmp_path):
    text = edit('level = "L5"', 'level = "L6"')
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.level",
                 line_of(text, 'level = "L6"'), "unknown level 'L6'", "did you mean 'L5'")  # fmt: skip


def test_bad_mark_inline_and_in_refs(tmp_path):
    text = edit('clause = "表3.0.4", mark = "V2"', 'clause = "表3.0.4", mark = "V3"')
    expect_error(write(tmp_path, "t.toml", text), "levels.L5.sources[0].mark",
                 line_of(text, '"V3"'), "bad mark 'V3'", "V2 = secondary")  # fmt: skip
    text = edit('clause = "附录B", mark = "R" }', 'clause = "附录B", mark = "recalled" }')
    expect_error(write(tmp_path, "t2.toml", text), "refs.gb_b.mark", line_of(text, "gb_b ="),
                 "bad mark 'recalled'")  # fmt: skip


@pytest.mark.parametrize("value", ["0", "-50", '"300"', "nan"])
def test_non_positive_or_non_numeric_distance(tmp_path, value):
    text = edit("distance_m = 300", f"distance_m = {value}")
    expect_error(write(tmp_path, "t.toml", text), "levels.L5.distance_m",
                 line_of(text, "distance_m ="), "distance in metres")  # fmt: skip


def test_non_positive_category_distance(tmp_path):
    text = edit(
        'level = "L5"\n',
        'level = "L5"\ndistance_m = -5\ndistance_source = [{ document = "X", mark = "C" }]\n',
    )
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.distance_m",
                 line_of(text, "distance_m = -5"), "positive")  # fmt: skip


def test_distance_without_source(tmp_path):
    text = edit('level = "L5"\n', 'level = "L5"\ndistance_m = 250\n')
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.distance_m",
                 line_of(text, "distance_m = 250"), "has no distance_source")  # fmt: skip


def test_duplicate_category_id(tmp_path):
    text = BASE + '\n[categories.kindergarten]\nname_zh = "幼儿园2"\n'
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten",
                 line_of(text, "[categories.kindergarten]", 2), "duplicate category id 'kindergarten'",
                 f"first at line {line_of(text, '[categories.kindergarten]')}")  # fmt: skip


def test_bad_target_group(tmp_path):
    text = edit('level = "L5"\n', 'level = "L5"\ntarget_group = "elderly60"\n')
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.target_group",
                 line_of(text, "target_group"), "did you mean 'elderly'")  # fmt: skip


@pytest.mark.parametrize(
    ("osm", "key_suffix"),
    [
        ('{ amenity = "" }', ".amenity"),
        ('{ amenity = "a||b" }', ".amenity"),
        ('{ amenity = "a|*" }', ".amenity"),
        ('{ amenity = "!" }', ".amenity"),
        ("{ amenity = 5 }", ".amenity"),
        ('{ "amenity=kindergarten" = "*" }', ".amenity=kindergarten"),
        ("{}", ""),
        ('"amenity=kindergarten"', ""),
    ],
)
def test_malformed_osm_filter(tmp_path, osm, key_suffix):
    text = edit(
        'osm = [{ amenity = "kindergarten" }]', f'osm = [\n  {{ shop = "x" }},\n  {osm},\n]'
    )
    expect_error(write(tmp_path, "t.toml", text), f"categories.kindergarten.osm[1]{key_suffix}",
                 line_of(text, "osm = [") + 2, "malformed OSM tag filter")  # fmt: skip


def test_amap_codes_must_be_quoted(tmp_path):
    text = edit('keywords = ["幼儿园"]\n', 'keywords = ["幼儿园"]\namap_types = [141204]\n')
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.amap_types[0]",
                 line_of(text, "amap_types"), "quoted")  # fmt: skip


def test_unknown_ref_name(tmp_path):
    text = edit('sources = ["gb_b"]', 'sources = ["gb_bb"]')
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.sources[0]",
                 line_of(text, '"gb_bb"'), "did you mean 'gb_b'")  # fmt: skip


def test_missing_category_sources(tmp_path):
    text = edit('sources = ["gb_b"]\n', "")
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.sources",
                 line_of(text, "[categories.kindergarten]"), "say where this comes from")  # fmt: skip


def test_category_id_must_be_snake_case(tmp_path):
    text = edit("[categories.kindergarten]", "[categories.Kindergarten]")
    expect_error(write(tmp_path, "t.toml", text), "categories.Kindergarten",
                 line_of(text, "[categories.Kindergarten]"), "snake_case")  # fmt: skip


def test_element_type_outside_declared_list(tmp_path):
    text = edit('id = "t"\n', 'id = "t"\nelement_types = ["基础保障型", "品质提升型"]\n')
    text = edit('level = "L5"\n', 'level = "L5"\nelement_type = "基础保障"\n', text)
    expect_error(write(tmp_path, "t.toml", text), "categories.kindergarten.element_type",
                 line_of(text, 'element_type = "'), "did you mean '基础保障型'")  # fmt: skip


def test_toml_syntax_error_gives_the_line(tmp_path):
    text = edit('level = "L5"', "level = L5")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, "t.toml", text))
    assert f"line {line_of(text, 'level = L5')}:" in str(info.value)
    assert "TOML syntax error" in str(info.value)
    # an earlier syntax error is reported even when a duplicate table follows
    text += '\n[categories.kindergarten]\nname_zh = "x"\n'
    with pytest.raises(ProfileError, match="TOML syntax error") as info:
        load_profile(write(tmp_path, "t2.toml", text))
    assert info.value.line == line_of(text, "level = L5")


def test_error_in_child_override_names_child_file_and_line(tmp_path):
    write(tmp_path, "base.toml", BASE)
    text = 'extends = "base.toml"\n\n[categories.kindergarten]\nweight = 2\ntarget_group = "kids"\n'
    child = write(tmp_path, "child.toml", text)
    expect_error(child, "categories.kindergarten.target_group", 5, "unknown target_group 'kids'")


def test_unknown_key_in_override_of_builtin_names_child_file(tmp_path):
    text = 'extends = "jiaxing-yilao-yixiao"\n\n[categories.nursery]\ndistanse_m = 500\n'
    expect_error(write(tmp_path, "city.toml", text), "categories.nursery.distanse_m", 4,
                 "did you mean 'distance_m'")  # fmt: skip
    text = 'extends = "jiaxing-yilao-yixiao"\n\n[categories.nursery.info.beds]\nmin = 1\nmxa = 2\n'
    expect_error(write(tmp_path, "city2.toml", text), "categories.nursery.info.beds.mxa", 5,
                 "did you mean 'max'")  # fmt: skip


def test_error_in_parent_names_parent_file(tmp_path):
    parent = write(tmp_path, "base.toml", edit('level = "L5"\n', 'level = "L5"\nlevle = "x"\n'))
    write(tmp_path, "child.toml", 'extends = "base.toml"\n')
    with pytest.raises(ProfileError) as info:
        load_profile(tmp_path / "child.toml")
    assert str(parent) in str(info.value) and "categories.kindergarten.levle" in str(info.value)
    assert info.value.line == line_of(parent.read_text(encoding="utf-8"), "levle")


def test_child_cannot_unset_identification_silently(tmp_path):
    write(tmp_path, "base.toml", BASE)
    text = 'extends = "base.toml"\n\n[categories.kindergarten]\nosm = []\nkeywords = []\n'
    expect_error(write(tmp_path, "child.toml", text), "categories.kindergarten.keywords", 5,
                 "no way to identify")  # fmt: skip


def test_drop_unknown_id_and_bad_extends(tmp_path):
    text = 'extends = "gb50180-2018"\ndrop = ["bank", "kindergarden"]\n'
    expect_error(write(tmp_path, "c.toml", text), "drop[1]", 2, "did you mean 'kindergarten'")
    text = 'extends = "gb50180-2018"\ndrop = ["L0"]\n'
    expect_error(write(tmp_path, "d.toml", text), "drop[0]", 2, "use drop_levels")
    text = 'id = "x"\nextends = "gb50180"\n'
    expect_error(write(tmp_path, "e.toml", text), "extends", 2, "unknown built-in profile")


def test_drop_level_still_used_is_reported(tmp_path):
    text = 'extends = "gb50180-2018"\ndrop_levels = ["L0"]\n'
    with pytest.raises(ProfileError, match="unknown level 'L0'") as info:
        load_profile(write(tmp_path, "c.toml", text))
    assert "gb50180-2018.toml (built-in)" in str(info.value)


# --------------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------------

BASE_YAML = """\
id: t
refs:
  gb_b: {document: GB 50180-2018, clause: 附录B, mark: R}
levels:
  L5:
    name_zh: 五分钟生活圈居住区
    distance_m: 300
    sources:
      - {document: GB 50180-2018, clause: 表3.0.4, mark: V2}
categories:
  kindergarten:
    name_zh: 幼儿园
    level: L5
    osm:
      - amenity: kindergarten
    keywords: [幼儿园]
    sources: [gb_b]
"""


@pytest.fixture
def yaml_ok():
    try:
        import yaml  # noqa: F401
    except ImportError:
        need(False, "PyYAML is not installed (pip install 'lifecircle[yaml]')")


def test_yaml_profile_equals_toml(tmp_path, yaml_ok):
    from_yaml = load_profile(write(tmp_path, "t.yaml", BASE_YAML))
    from_toml = load_profile(write(tmp_path, "t.toml", BASE))
    pd.testing.assert_frame_equal(from_yaml.to_frame(), from_toml.to_frame())
    assert from_yaml.levels == from_toml.levels


def test_yaml_unknown_key_and_bad_mark_lines(tmp_path, yaml_ok):
    text = edit("    level: L5\n", "    level: L5\n    walkmin: 5\n", BASE_YAML)
    expect_error(write(tmp_path, "a.yaml", text), "categories.kindergarten.walkmin",
                 line_of(text, "walkmin"), "did you mean 'walk_min'")  # fmt: skip
    text = edit("      - {document: GB 50180-2018, clause: 表3.0.4, mark: V2}",
                "      - document: GB 50180-2018\n        mark: X", BASE_YAML)  # fmt: skip
    expect_error(write(tmp_path, "b.yml", text), "levels.L5.sources[0].mark",
                 line_of(text, "mark: X"), "bad mark 'X'")  # fmt: skip


def test_yaml_duplicate_category_and_malformed_osm(tmp_path, yaml_ok):
    text = BASE_YAML + "  kindergarten:\n    name_zh: 又一个\n"
    expect_error(write(tmp_path, "a.yaml", text), "categories.kindergarten",
                 line_of(text, "  kindergarten:", 2), "duplicate category id")  # fmt: skip
    text = edit("      - amenity: kindergarten", "      - amenity: 'a||b'", BASE_YAML)
    expect_error(write(tmp_path, "b.yaml", text), "categories.kindergarten.osm[0].amenity",
                 line_of(text, "a||b"), "malformed OSM tag filter")  # fmt: skip
    text = edit(
        "    keywords: [幼儿园]\n", "    keywords: [幼儿园]\n    amap_types: [060400]\n", BASE_YAML
    )
    expect_error(write(tmp_path, "c.yaml", text), "categories.kindergarten.amap_types[0]",
                 line_of(text, "amap_types"), "quoted")  # fmt: skip


def test_yaml_syntax_error_line(tmp_path, yaml_ok):
    text = edit("    level: L5\n", "    level: [L5\n", BASE_YAML)
    with pytest.raises(ProfileError, match="YAML syntax error") as info:
        load_profile(write(tmp_path, "a.yaml", text))
    assert info.value.line >= line_of(text, "level: [L5")


def test_yaml_without_pyyaml_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ProfileError, match="needs PyYAML"):
        load_profile(write(tmp_path, "t.yaml", BASE_YAML))


# --------------------------------------------------------------------------------------------
# Matchers: OSM tags, names, Amap codes
# --------------------------------------------------------------------------------------------


def test_matches_tags_for_yilao_yixiao():
    jx = builtin("jiaxing-yilao-yixiao")
    nh, dc = jx.category("nursing_home"), jx.category("elderly_daycare")
    nursery, kg, hs = (
        jx.category("nursery"),
        jx.category("kindergarten"),
        jx.category("health_station"),
    )
    assert nh.matches_tags({"amenity": "social_facility", "social_facility": "nursing_home"})
    dc = builtin("jiaxing-yilao-yixiao").category("elderly_daycare")
    assert dc.matches_tags({"amenity": "social_facility", "social_facility": "day_care"})
    assert dc.matches_tags({"amenity": "social_facility", "social_facility": "day_care",
                            "social_facility:for": "senior"})  # fmt: skip
    # a children's day-care (real case: Hoivanet Kids Park in Helsinki) is not elderly care
    assert not dc.matches_tags({"amenity": "social_facility", "social_facility": "day_care",
                                "social_facility:for": "child"})  # fmt: skip
    assert nh.matches_tags({"amenity": "social_facility", "social_facility": "assisted_living"})
    assert nh.matches_tags({"amenity": "nursing_home"})
    assert nh.matches_tags({"amenity": "social_facility", "social_facility": "group_home",
                            "social_facility:for": "senior"})  # fmt: skip
    assert not nh.matches_tags({"amenity": "social_facility", "social_facility": "group_home"})
    day = {"amenity": "social_facility", "social_facility": "day_care"}
    assert dc.matches_tags(day) and not nh.matches_tags(day)
    assert nursery.matches_tags({"amenity": "childcare"})
    assert nursery.matches_tags({"amenity": "kindergarten", "nursery": "yes"})
    assert not nursery.matches_tags({"amenity": "kindergarten"})
    assert kg.matches_tags({"amenity": "kindergarten"}) and not kg.matches_tags(
        {"amenity": "childcare"}
    )
    assert hs.matches_tags({"healthcare": "doctor"}) and hs.matches_tags({"amenity": "clinic"})
    assert hs.matches_tags({"amenity": "clinic;pharmacy"})  # multi-value tag
    assert not hs.matches_tags({"amenity": "hospital"})
    assert not hs.matches_tags({"amenity": float("nan")}) and not hs.matches_tags({"amenity": None})
    assert not hs.matches_tags({})


def test_matches_tags_negation_and_presence():
    pool = builtin("tdt1062-2021").category("swimming_pool")
    assert pool.matches_tags({"leisure": "swimming_pool"})
    assert pool.matches_tags({"leisure": "swimming_pool", "access": "yes"})
    assert not pool.matches_tags({"leisure": "swimming_pool", "access": "private"})
    gb = builtin("gb50180-2018")
    assert gb.category("large_sports_ground").matches_tags({"leisure": "pitch", "sport": "soccer"})
    assert not gb.category("large_sports_ground").matches_tags({"leisure": "pitch"})


def test_matches_name():
    jx = builtin("jiaxing-yilao-yixiao")
    assert jx.category("kindergarten").matches_name("嘉兴市南湖区实验幼儿园")
    assert not jx.category("kindergarten").matches_name("贝贝幼儿园用品店")
    assert jx.category("nursery").matches_name("南湖区普惠托育中心")
    assert not jx.category("nursery").matches_name("小天才托育培训中心")
    assert jx.category("elderly_daycare").matches_name("新兴街道居家养老服务中心 日间照料")
    assert jx.category("elderly_meal_aid").matches_name("禾城幸福食堂")
    centre, station = jx.category("health_centre"), jx.category("health_station")
    assert centre.matches_name("城厢街道社区卫生服务中心") and not station.matches_name(
        "城厢街道社区卫生服务中心"
    )
    assert station.matches_name("湘湖社区卫生服务站") and not centre.matches_name(
        "湘湖社区卫生服务站"
    )
    gb = builtin("gb50180-2018")
    assert not gb.category("bank").matches_name("工商银行atm")  # exclude is case-insensitive
    assert jx.category("kindergarten").matches_name("实验 幼儿 园")  # spaces ignored
    for bad in ("", None, float("nan"), 5):
        assert not jx.category("kindergarten").matches_name(bad)


def test_matches_amap():
    gb = builtin("gb50180-2018")
    kg, hs, hall = (
        gb.category("kindergarten"),
        gb.category("health_station"),
        gb.category("sports_hall"),
    )
    assert kg.matches_amap("141204") and kg.matches_amap("141201|141204")
    assert not kg.matches_amap("141203") and not kg.matches_amap("090102")
    assert hs.matches_amap("090102") and hs.matches_amap(90102)  # int: leading zero restored
    assert hall.matches_amap("080101")  # prefix match
    for bad in ("", None, float("nan"), True):
        assert not kg.matches_amap(bad)
    assert not gb.category("nursery").matches_amap("141204")  # no Amap class for 托育


# Property tests of the tag-filter language against plain set semantics.
KEYS = st.sampled_from(["amenity", "shop", "leisure", "nursery", "social_facility"])
VALUES = st.sampled_from(["a", "b", "c", "yes", "no"])
TAGS = st.dictionaries(KEYS, VALUES, max_size=4)


@functools.cache
def _template() -> Category:
    return builtin("gb50180-2018").category("kindergarten")


def cat(*filters: dict[str, str]) -> Category:
    return dataclasses.replace(_template(), osm=tuple(filters))


@given(TAGS.filter(bool))
def test_a_filter_made_of_the_tags_matches_them(tags):
    assert cat(dict(tags)).matches_tags(tags)
    assert cat(dict(tags)).matches_tags({**tags, "extra": "x"})


@given(TAGS, KEYS, VALUES)
def test_single_condition_and_its_negation(tags, key, value):
    hit = key in tags and tags[key] == value
    assert cat({key: value}).matches_tags(tags) == hit
    assert cat({key: "!" + value}).matches_tags(tags) == (not hit)
    assert cat({key: "*"}).matches_tags(tags) == (key in tags)
    assert cat({key: "!*"}).matches_tags(tags) == (key not in tags)


@given(TAGS, KEYS, VALUES, VALUES)
def test_alternatives_are_or(tags, key, v1, v2):
    either = cat({key: v1}).matches_tags(tags) or cat({key: v2}).matches_tags(tags)
    assert cat({key: f"{v1}|{v2}"}).matches_tags(tags) == either


@given(
    TAGS, st.lists(st.dictionaries(KEYS, VALUES, min_size=1, max_size=2), min_size=1, max_size=3)
)
def test_filter_list_is_or_and_filter_is_and(tags, filters):
    assert cat(*filters).matches_tags(tags) == any(cat(f).matches_tags(tags) for f in filters)
    for f in filters:
        assert cat(f).matches_tags(tags) == all(
            cat({k: v}).matches_tags(tags) for k, v in f.items()
        )


@given(KEYS, VALUES, VALUES)
def test_semicolon_values_match_any_part(key, v1, v2):
    assert cat({key: v2}).matches_tags({key: f"{v1};{v2}"})


@given(
    st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=8), st.integers()), max_size=3)
)
def test_parser_accepts_or_explains(flt):
    try:
        compiled = parse_osm_filter(flt)
    except ValueError as exc:
        assert str(exc)
    else:
        assert len(compiled) == len(flt) and flt


def test_category_named_as_people_write_it():
    """A category by id, full Chinese name (full- or half-width brackets), the name without its
    note, a name the note lists, its start when only one category starts so, or its English name; none for a start
    shared by two (老年: 老年人日间照料中心 and 老年食堂) or for other words."""
    p = load_profile("jiaxing-yilao-yixiao")
    named = {v: p.category_named(v) for v in [
        "nursery", "托育机构（托儿所、托育点）", "托育机构(托儿所、托育点)", "托育机构", "托育",
        "养老机构", "养老院", "托老所", " 幼儿园 ", "Kindergarten (ages 3-6)", "老年", "社区卫生", "学校",
        None]}  # fmt: skip
    assert named == {
        "nursery": "nursery", "托育机构（托儿所、托育点）": "nursery",
        "托育机构(托儿所、托育点)": "nursery", "托育机构": "nursery", "托育": "nursery",
        "养老机构": "nursing_home", "养老院": "nursing_home", "托老所": "elderly_daycare",
        " 幼儿园 ": "kindergarten",
        "Kindergarten (ages 3-6)": "kindergarten", "老年": None, "社区卫生": "health_station",
        "学校": None, None: None,
    }  # fmt: skip
    assert p.category_named("托育", among=["kindergarten"]) is None
