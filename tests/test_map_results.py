"""What the map says (issue 12, parts 1, 3 and 4 and the popups of part 2): data gaps drawn as
gaps and never as shortfalls, the analysis' own reasons in the popups, a glyph per category,
one marker per proposed site.

Three analyses: ``test_map.py``'s hand-built river case with complete lists (no data gap; the
missing health station and day care are real shortfalls, ``confirmed_absent``), the same case
without that statement (both become data gaps city-wide), and a synthetic city of 60 communities
(three streets) where one street has no data for four categories (``data_gap_radius_m=300``) and
no list of elderly meal-aid points was loaded at all.
"""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import pytest

import lifecircle as lc
from _nets import river_communities, river_facilities, river_with_bridge
from lifecircle.analysis import analyze
from lifecircle.outputs import map as mapping
from lifecircle.outputs.map import _Legend, category_glyphs
from test_map import IMG, OBRIEN, SCRIPT, _profile, features, layer_names, layers_of, sentence

BUILTIN = ("gb50180-2018", "jiaxing-yilao-yixiao", "tdt1062-2021")


def _river(complete: bool):
    comm = lc.load_communities(river_communities((SCRIPT, OBRIEN)))
    kw = {"complete_categories": True} if complete else {}
    a = analyze(river_with_bridge(), river_facilities(IMG), comm, _profile(), **kw)
    a.propose_sites()
    return a


@pytest.fixture(scope="module")
def complete():
    return _river(True)


@pytest.fixture(scope="module")
def gaps():
    return _river(False)


@pytest.fixture(scope="module")
def city():
    """60 communities in three streets; street 0 has no data for four categories, and there is
    no list of elderly meal-aid points at all."""
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    c = lc.synthetic.city(60, prof)
    fac = c.facilities[c.facilities["category"] != "elderly_meal_aid"]
    a = analyze(c.network, fac, c.communities, prof, data_gap_radius_m=300)
    a.propose_sites()
    return a


def comm_props(m) -> dict[str, dict]:
    """Community id (by its escaped name) → the properties the page builds popups from."""
    return {f["properties"]["n"]: f["properties"] for f in features(layers_of(m, "communities")[0])}


def legend_of(m) -> str:
    (legend,) = [ch for ch in m._children.values() if isinstance(ch, _Legend)]
    return legend.html


def filtered_positions(m, kind: str) -> list[int]:
    """The category position each layer of ``kind`` filters on, in layer order."""
    out = []
    for layer in layers_of(m, kind):
        (j,) = re.findall(r"indexOf\((\d+)\)", layer.filter)
        out.append(int(j))
    return out


# ---------------------------------------------------------------------- 1. data gaps
def test_categories_without_data_get_no_shortfall_layer_but_a_no_data_one(gaps):
    m = gaps.map(basemap="none")
    nursery = "托育 &amp; &lt;托儿所&gt;"
    assert layer_names(m)[:5] == [
        "社区设施服务指数",
        "短板：社区卫生服务中心 (0)",
        f"短板：{nursery} (2)",  # the only real shortfalls: both communities, as a.shortfalls
        "缺数据：社区卫生服务站 (2)",
        "缺数据：老年人日间照料中心 (2)",
    ]
    assert sorted(gaps.shortfalls["category"]) == ["nursery", "nursery"]
    # no red (category-coloured, dashed) outline for them: grey dotted, off at start
    for layer in layers_of(m, "no_data"):
        assert mapping.NO_DATA_LINE in layer.style and "dashArray:'1 5'" in layer.style
        assert not any(col in layer.style for col in mapping.CATEGORY_COLORS)
    assert filtered_positions(m, "shortfall") == [0, 2]
    assert filtered_positions(m, "no_data") == [1, 3]
    for p in comm_props(m).values():
        assert p["s"] == [2] and p["g"] == [1, 3]
        assert p["d"][1] == 2 and p["d"][3] == 2  # not assessed: no distance, no ✗


def test_confirmed_absent_categories_are_real_shortfalls(complete):
    m = complete.map(basemap="none")
    assert layers_of(m, "no_data") == []
    assert filtered_positions(m, "shortfall") == [0, 1, 2, 3]
    status = complete.coverage.groupby("category")["data_status"].first()
    assert status["health_station"] == status["elderly_daycare"] == "confirmed_absent"
    for p in comm_props(m).values():
        assert p["s"] == [1, 2, 3] and p["g"] == []


def test_legend_says_no_data_not_assessed_and_which_source_to_add(gaps):
    h = legend_of(gaps.map(basemap="none"))
    hints = gaps.data_gaps.set_index("category")["source_hint_zh"]
    assert (
        hints["health_station"] == "补充主管部门的社区卫生服务站名单 (lifecircle.load_facilities)"
    )
    for cat, name in (
        ("health_station", "社区卫生服务站"),
        ("elderly_daycare", "老年人日间照料中心"),
    ):
        assert f"{name}：无数据，未评估<small>{html.escape(hints[cat])}</small>" in h
        # the category's badge is greyed and marked
        glyph = category_glyphs(gaps.profile.categories.values(), "zh")[cat]
        assert (
            f'<span style="background:{mapping.NO_DATA_COLOR}">{glyph}</span></span>{name} '
            '<span class="lc-na">（无数据，未评估）</span>'
        ) in h
    assert "缺数据（无数据，未评估，不计为短板）" in h and "灰色点线框" in h
    en = legend_of(gaps.map(basemap="none", lang="en"))
    hint_en = gaps.data_gaps.set_index("category").loc["health_station", "source_hint_en"]
    assert f"Community health station: no data, not assessed<small>{html.escape(hint_en)}" in en
    assert "No data (not assessed, not counted as shortfalls)" in en


def test_no_gap_no_gap_legend(complete):
    h = legend_of(complete.map(basemap="none"))
    assert "无数据，未评估" not in h and "灰色点线框" not in h


def test_street_level_gaps_follow_the_coverage_table(city):
    """Every community × category: a gap in the page iff ``data_status`` is ``no_data``; a
    shortfall iff the row is in ``Analysis.shortfalls``; the layers count the same."""
    m = city.map(basemap="none")
    meta = layers_of(m, "communities")[0].data.meta
    cats = list(city.params.categories)
    props = {p["n"]: p for p in comm_props(m).values()}
    status = city.coverage.set_index(["community_name", "category"])["data_status"]
    short = set(zip(city.shortfalls["community_name"], city.shortfalls["category"], strict=True))
    n_gap = dict.fromkeys(cats, 0)
    for name, p in props.items():
        for j, c in enumerate(cats):
            is_gap = status[(name, c)] == "no_data"
            n_gap[c] += is_gap
            assert (j in p["g"]) == is_gap and (p["d"][j] == 2) == is_gap
            assert (j in p["s"]) == ((name, c) in short)
        assert not set(p["s"]) & set(p["g"])
    # meal aid: no data anywhere; four categories: no data in street 0 only
    assert n_gap["elderly_meal_aid"] == 60
    partial = {c for c, n in n_gap.items() if 0 < n < 60}
    assert partial == {"child_elderly_playground", "health_station", "nursery", "nursing_home"}
    assert all(n_gap[c] == 20 for c in partial)
    counts = city.shortfalls["category"].value_counts()
    names = layer_names(m)
    for c in cats:
        cname = meta["n"][cats.index(c)]
        if c == "elderly_meal_aid":
            assert not any(n.startswith(f"短板：{cname} ") for n in names)
        else:
            assert f"短板：{cname} ({counts.get(c, 0):,})" in names
        if n_gap[c]:
            assert f"缺数据：{cname} ({n_gap[c]:,})" in names
    h = legend_of(m)
    assert "老年食堂 / 助餐点：无数据，未评估" in h
    assert "托育机构：20 个社区无数据，未评估" in h
    # each gap's source hint reaches the popups, from the data checklist
    hints = city.data_gaps.drop_duplicates("category").set_index("category")["source_hint_zh"]
    for j, c in enumerate(cats):
        assert meta["h"][j] == (html.escape(hints[c]) if c in hints.index else "")


def test_a_street_without_data_is_not_sited_for(city):
    """The sites drawn serve only assessed residents (the analysis does not site for gaps), so
    no proposed site of a category sits in a community without data for it."""
    gap_rows = city.coverage[city.coverage["data_status"] == "no_data"]
    gap = set(zip(gap_rows["community_id"], gap_rows["category"], strict=True))
    assert not any(
        (cid, c) in gap
        for cid, c in zip(city.sites["community_id"], city.sites["category"], strict=True)
    )


# ---------------------------------------------------------------------- 2. the analysis' sentences
@pytest.mark.parametrize("which", ["complete", "gaps", "city"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_popups_carry_the_shortfall_reasons_and_answers(request, which, lang):
    a = request.getfixturevalue(which)
    m = a.map(basemap="none", lang=lang)
    props = comm_props(m)
    meta = layers_of(m, "communities")[0].data.meta
    pos = {c: j for j, c in enumerate(a.params.categories)}
    n = 0
    for r in a.shortfalls.itertuples(index=False):
        p = props[html.escape(r.community_name) or html.escape(r.community_id)]
        cell = p["d"][pos[r.category]]
        reason, answer = getattr(r, f"reason_{lang}"), getattr(r, f"answered_by_{lang}")
        assert reason and answer
        assert cell[2] == 0 and len(cell) == 5
        assert [sentence(meta, v) for v in cell[3:]] == [html.escape(reason), html.escape(answer)]
        n += 1
    assert n == len(a.shortfalls) == sum(len(p["s"]) for p in props.values())


def test_popup_sentences_are_escaped(complete):
    """answered_by names the community of the site: a hostile name stays text."""
    m = complete.map(basemap="none")
    meta = layers_of(m, "communities")[0].data.meta
    p = comm_props(m)["O&#x27;Brien &amp; 张三"]
    assert sentence(meta, p["d"][2][3]) == (
        "托育 &amp; &lt;托儿所&gt;供给不足: 每千名居民 2.2 个托位 (标准至少 4.5), 约 456 人的份额缺口"
    )
    m = complete.map(basemap="none", lang="en")
    meta = layers_of(m, "communities")[0].data.meta
    c1 = comm_props(m)["&lt;script&gt;alert(1)&lt;/script&gt;"]
    assert "in &lt;script&gt;alert(1)&lt;/script&gt; (project LC-" in sentence(meta, c1["d"][1][4])


def test_sentences_are_packed_losslessly():
    """Numbers and project ids are cut out of each sentence, templates kept once; put back
    together they give the same text, whatever it holds."""
    packer = mapping._Sentences()
    texts = [
        "5分钟生活圈托育: 仅 0% 的居民在 300 m 步行范围内, 1,000 名居民未覆盖; 最近的设施 735 m",
        "5分钟生活圈托育: 仅 12% 的居民在 300 m 步行范围内, 8,998 名居民未覆盖; 最近的设施 1,127 m",
        "社区13的建议选址 S2 可覆盖 (项目 LC-2a809d19a055)",
        "O&#x27;Brien 3.5 &amp; 1,2,3. end.",
        "name with the \x01 mark 12",
        "",
        "no numbers at all",
    ]
    packed = [packer.pack(t) for t in texts]
    meta = {"T": packer.templates}
    assert [sentence(meta, v) for v in packed] == texts
    assert packed[0][0] == packed[1][0] and packed[1][1:] == ["5", "12", "300", "8,998", "1,127"]
    assert packed[2][1:] == ["13", "2", "LC-2a809d19a055"]
    assert packed[4] == texts[4] and packed[5] == ""  # kept whole


# ---------------------------------------------------------------------- 3. a glyph per category
@pytest.mark.parametrize("profile", BUILTIN)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_category_of_a_builtin_profile_has_its_own_glyph(profile, lang):
    cats = list(lc.load_profile(profile).categories.values())
    glyphs = category_glyphs(cats, lang)
    assert len(glyphs) == len(cats) and len(set(glyphs.values())) == len(cats)
    assert all(1 <= len(g) <= 2 for g in glyphs.values())
    if profile == "gb50180-2018":
        assert len(cats) == 38


def test_glyphs_of_the_jiaxing_profile():
    cats = list(lc.load_profile("jiaxing-yilao-yixiao").categories.values())
    assert category_glyphs(cats, "zh") == {
        "health_centre": "医",
        "nursing_home": "养",
        "outdoor_fitness": "健",  # was 活, as the playground: its name mentions 活动场地
        "kindergarten": "幼",
        "nursery": "托",
        "elderly_daycare": "照",
        "health_station": "卫",  # was 医, as the health centre
        "child_elderly_playground": "活",
        "elderly_meal_aid": "餐",
    }
    en = category_glyphs(cats, "en")
    assert en["health_centre"] == "H" and en["health_station"] == "HS"


def test_glyphs_stay_unique_when_names_collide():
    same = [SimpleNamespace(id=f"c{i}", name_zh="设施", name_en="Facility") for i in range(40)]
    for lang in ("zh", "en"):
        glyphs = category_glyphs(same, lang)
        assert len(set(glyphs.values())) == 40
    assert list(category_glyphs(same, "zh").values())[:4] == ["设", "施", "1", "2"]


def test_drawn_facility_badges_differ_per_category():
    """gb50180-2018 on a synthetic city: all 38 facility layers, 38 different glyphs."""
    prof = lc.load_profile("gb50180-2018")
    c = lc.synthetic.city(80, prof, facilities_per_community=1.0)
    a = analyze(c.network, c.facilities, c.communities, prof)
    for lang in ("zh", "en"):
        icons = [layer.point for layer in layers_of(a.map(basemap="none", lang=lang), "facilities")]
        glyphs = [re.search(r'lcIcon\("([^"]+)"', i).group(1) for i in icons]
        assert len(glyphs) == 38 and len(set(glyphs)) == 38
        # the same glyph in the legend and whatever categories are drawn
        sub = a.map(basemap="none", lang=lang, categories=["health_station", "outpatient_clinic"])
        sub_glyphs = [
            re.search(r'lcIcon\("([^"]+)"', g.point).group(1) for g in layers_of(sub, "facilities")
        ]
        every = category_glyphs(prof.categories.values(), lang)
        assert sub_glyphs == [every["outpatient_clinic"], every["health_station"]]


# ---------------------------------------------------------------------- 4. one marker per site
def test_one_site_marker_per_site_id_listing_its_uses(complete):
    sites = complete.sites
    assert len(sites) == 5 and sites["site_id"].nunique() == 2
    m = complete.map(basemap="none")
    (layer,) = layers_of(m, "sites")
    feats = features(layer)
    assert len(feats) == sites["site_id"].nunique()
    meta = layers_of(m, "communities")[0].data.meta
    names = dict(zip(complete.params.categories, meta["n"], strict=True))
    glyphs = category_glyphs(complete.profile.categories.values(), "zh")
    for f, (sid, rows) in zip(feats, sites.groupby("site_id", sort=True), strict=True):
        p = f["properties"]
        cats = list(rows["category"])  # the analysis' order: uses_zh lists them the same way
        assert rows["uses_zh"].iloc[0] == "、".join(rows["category_zh"])
        assert p["g"] == [glyphs[c] for c in cats]
        assert p["t"] == f"<b>建议选址 {sid}</b> · " + "、".join(names[c] for c in cats)
        for r in rows.itertuples():
            assert (
                f"{names[r.category]}</td><td>第 {r.site_rank} 个 · 可新覆盖 {r.new_covered_pop:,.0f} 人"
                in p["p"]
            )
        # at the analysis' spot
        x, y = f["geometry"]["coordinates"]
        assert (x, y) == pytest.approx((rows.geometry.iloc[0].x, rows.geometry.iloc[0].y), abs=1e-5)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in feats[0]["properties"]["p"]
    assert SCRIPT not in feats[0]["properties"]["p"]


def test_site_markers_follow_the_drawn_categories(complete, city):
    m = complete.map(basemap="none", categories=["elderly_daycare"])
    (layer,) = layers_of(m, "sites")
    assert [f["properties"]["g"] for f in features(layer)] == [["照"], ["照"]]  # S1 and S2
    assert layer_names(m)[-1] == "建议选址 (2)"
    m = city.map(basemap="none")
    (layer,) = layers_of(m, "sites")
    assert len(features(layer)) == city.sites["site_id"].nunique()
    assert sum(len(f["properties"]["g"]) for f in features(layer)) == len(city.sites)


# ---------------------------------------------------------------------- 5. the legend folds
def test_legend_has_a_fold_button(complete):
    h = legend_of(complete.map(basemap="none"))
    assert h.startswith('<button type="button" class="lc-fold" aria-expanded="true">图例</button>')
    assert '<div class="lc-body">' in h and h.endswith("</div>")
