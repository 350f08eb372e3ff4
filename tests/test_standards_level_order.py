"""Issue 13: a level with more walking minutes must not have a shorter distance than a level with
fewer (a 5-minute level of 1200 m next to a 15-minute level of 1000 m was accepted silently).

The error names the file and line of the distance it blames and the other level with its line
(and file, when an ``extends`` chain set it elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecircle import ProfileError
from lifecircle.standards import PROFILE_DIR, load_profile

SRC = '{ document = "test", clause = "1", mark = "C" }'


def level(lid: str, walk_min: float | None, distance_m: float) -> str:
    walk = f"walk_min = {walk_min}\n" if walk_min is not None else ""
    return (
        f'[levels.{lid}]\nname_zh = "{lid}"\n{walk}distance_m = {distance_m}\nsources = [{SRC}]\n\n'
    )


CATEGORY = (
    '[categories.clinic]\nname_zh = "卫生站"\nlevel = "L15"\nkeywords = ["卫生"]\nsources = ['
    + SRC
    + "]\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def error_of(path: Path) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    return info.value


def test_longer_walk_with_shorter_distance_names_both_levels_and_lines(tmp_path):
    # L5 = 3000 m disagrees with both L10 (500 m) and L15 (1000 m): L5 is blamed
    text = 'id = "t"\n' + level("L15", 15, 1000) + level("L10", 10, 500) + level("L5", 5, 3000)
    path = write(tmp_path, "bad.toml", text + CATEGORY)
    err = error_of(path)
    line = line_of(text, "distance_m = 3000")
    assert (err.file, err.line, err.key) == (str(path), line, "levels.L5.distance_m")
    msg = str(err)
    assert msg.startswith(f"{path}, line {line}: levels.L5.distance_m: ")
    other = line_of(text, "distance_m = 1000")
    assert "level L5 (5 min) has distance_m = 3000, longer than the 1000 m of level L15 " in msg
    assert f"(15 min, line {other})" in msg
    assert "more walking minutes must not have a shorter distance" in msg


def test_a_too_short_long_walk_is_blamed(tmp_path):
    # L15 = 250 m is shorter than L10 (500 m) and L5 (300 m): L15 is blamed, L10 named
    text = level("L15", 15, 250) + level("L10", 10, 500) + level("L5", 5, 300)
    path = write(tmp_path, "short.toml", text + CATEGORY)
    err = error_of(path)
    assert (err.line, err.key) == (line_of(text, "distance_m = 250"), "levels.L15.distance_m")
    assert (
        "level L15 (15 min) has distance_m = 250, shorter than the 500 m of level L10 "
        f"(10 min, line {line_of(text, 'distance_m = 500')})"
    ) in str(err)


def test_with_two_levels_the_longer_walk_is_blamed(tmp_path):
    text = level("L5", 5, 1200) + level("L15", 15, 1000)
    err = error_of(write(tmp_path, "two.toml", text + CATEGORY))
    assert err.key == "levels.L15.distance_m" and err.line == line_of(text, "distance_m = 1000")
    l5 = line_of(text, "distance_m = 1200")
    assert f"shorter than the 1200 m of level L5 (5 min, line {l5})" in str(err)


def test_in_an_extends_chain_the_file_that_changed_a_distance_is_blamed(tmp_path):
    # the child sets L15 = 250 m over GB's 500 m L10 / 300 m L5: blamed in the child's file,
    # the other level named with the built-in file and its line
    child = f'extends = "gb50180-2018"\n\n[levels.L15]\ndistance_m = 250\nsources = [{SRC}]\n'
    path = write(tmp_path, "child.toml", child)
    err = error_of(path)
    assert (err.file, err.line, err.key) == (str(path), 4, "levels.L15.distance_m")
    gb = (PROFILE_DIR / "gb50180-2018.toml").read_text(encoding="utf-8")
    l10 = line_of(gb, "distance_m = 500")
    assert f"of level L10 (10 min, gb50180-2018.toml (built-in), line {l10})" in str(err)


def test_on_a_tie_the_distance_set_by_the_extending_file_is_blamed(tmp_path):
    parent = level("L15", 15, 1000) + level("L5", 5, 300) + CATEGORY
    write(tmp_path, "parent.toml", parent)
    child = 'extends = "parent.toml"\n\n' + level("L5", 5, 1200).replace('name_zh = "L5"\n', "")
    path = write(tmp_path, "child.toml", child)
    err = error_of(path)
    assert (err.file, err.key) == (str(path), "levels.L5.distance_m")
    assert err.line == line_of(child, "distance_m = 1200")
    other = f"{tmp_path / 'parent.toml'}, line {line_of(parent, 'distance_m = 1000')}"
    assert f"longer than the 1000 m of level L15 (15 min, {other})" in str(err)


def test_equal_distances_and_levels_without_minutes_are_accepted(tmp_path):
    # L10 and L15 both 1000 m: not shorter; L0 (no walk_min, 2000 m) is not compared
    text = (
        level("L15", 15, 1000) + level("L10", 10, 1000) + level("L5", 5, 300)
        + level("L0", None, 2000)
    )  # fmt: skip
    p = load_profile(write(tmp_path, "ok.toml", text + CATEGORY))
    assert [(v.id, v.walk_min, v.distance_m) for v in p.levels.values()] == [
        ("L15", 15.0, 1000.0),
        ("L10", 10.0, 1000.0),
        ("L5", 5.0, 300.0),
        ("L0", None, 2000.0),
    ]


@pytest.mark.parametrize("name", ["gb50180-2018", "tdt1062-2021", "jiaxing-yilao-yixiao"])
def test_builtin_levels_grow_with_minutes(name):
    timed = sorted(
        (v.walk_min, v.distance_m)
        for v in load_profile(name).levels.values()
        if v.walk_min is not None and v.distance_m is not None
    )
    assert len(timed) >= 2
    assert [d for _, d in timed] == sorted(d for _, d in timed)
