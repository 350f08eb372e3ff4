"""The programme on the map and in the analysis workbook, on test_siting_exact.py's hand-built
street (one category, the health station; three candidate places Y, X, Z).

With one project a year and the street rule off the programme is known by hand: 2026 X (covers
d1–d4: 400 residents, cost 1), then Y (d5) and Z (d6), 100 residents each, one in 2027 and the
other in 2028 (a tie; cost 3 each).
"""

from __future__ import annotations

import dataclasses

import pytest

from lifecircle.analysis.programme import ProgrammeParams, plan_programme
from lifecircle.outputs.map import _Legend, programme_colors, save_map
from lifecircle.outputs.programme import programme_header
from test_map import features, layer_names, layers_of
from test_map_browser import _labels, _open, _requests, browser  # noqa: F401 (browser: a fixture)
from test_siting_exact import case  # noqa: F401 (a fixture)

YEARS = (2026, 2027, 2028)
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def prog(case):  # noqa: F811
    a, cands, _, _ = case
    return plan_programme(a, ProgrammeParams(YEARS, projects_per_year=1, every_street="off"), cands)


def _legend(m) -> str:
    (legend,) = [ch for ch in m._children.values() if isinstance(ch, _Legend)]
    return legend.html


def test_the_programme_is_the_one_worked_out_by_hand(prog):
    t = prog.table.sort_values("year")
    assert list(t["year"]) == list(YEARS)
    assert t["site_name"].iloc[0] == "X" and sorted(t["site_name"].iloc[1:]) == ["Y", "Z"]
    assert list(t["new_covered_pop"]) == [400.0, 100.0, 100.0]
    assert list(t["cost"]) == [1.0, 3.0, 3.0]


def test_programme_layer_coloured_by_year(case, prog):  # noqa: F811
    a = case[0]
    m = a.map(basemap="none", programme=prog)
    assert layer_names(m)[-1] == "建设时序 2026–2028 (3)"
    assert "建设时序" not in " ".join(layer_names(a.map(basemap="none")))
    (layer,) = layers_of(m, "programme")
    feats = features(layer)
    colors = programme_colors(YEARS)
    assert len(set(colors.values())) == 3
    by_site = {}
    for f, r in zip(feats, prog.table.sort_values("year").itertuples(), strict=True):
        p = f["properties"]
        assert p["c"] == colors[r.year] and p["g"] == "卫"  # the category's glyph, the year's colour
        by_site[r.site_name] = p
        # the badge sits on the project's place (WGS84, 5 decimals)
        assert f["geometry"]["coordinates"] == pytest.approx([r.geometry.x, r.geometry.y], abs=1e-5)
    x = by_site["X"]["p"]
    for text in ("2026年 · 社区卫生服务站", "计划年度</th><td>2026年", "街道(乡镇)</th><td>东街道",
                 "选址名称</th><td>X", f"{programme_header('new_covered_pop')}</th><td>400",
                 "投资</th><td>1<"):  # fmt: skip
        assert text in x, text
    assert by_site["X"]["t"] == "<b>2026年</b> · 社区卫生服务站 · X"
    h = _legend(m)
    assert "<b>建设时序</b>" in h
    for y in YEARS:
        assert f'background:{colors[y]}"></span></span>{y}年 <small' in h
    assert h.count("1 个项目") == 3


def test_programme_legend_lists_years_without_projects(case):  # noqa: F811
    a, cands, _, _ = case
    prog = plan_programme(a, ProgrammeParams((2026, 2027), projects_per_year=2), cands)
    assert set(prog.table["year"]) == {2026}  # everybody is covered in 2026
    m = a.map(basemap="none", programme=prog, lang="en")
    assert layer_names(m)[-1] == "Programme 2026–2027 (2)"
    h = _legend(m)
    assert "<b>Programme</b>" in h and "2026 <small" in h and "2027 <small" in h
    assert "2 projects" in h and "0 projects" in h
    p = features(layers_of(m, "programme")[0])[0]["properties"]["p"]
    assert "Year</th><td>2026" in p and "Street/town</th><td>" in p and "Cost</th>" in p


def test_programme_names_are_escaped_and_scope_applies(case, prog):  # noqa: F811
    a = case[0]
    t = prog.table.assign(site_name=prog.table["site_name"].where(prog.table["year"] != 2026, HOSTILE))
    m = a.map(basemap="none", programme=dataclasses.replace(prog, table=t))
    html = m.get_root().render()
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    west = a.map(basemap="none", programme=prog, street="西街道")
    (layer,) = layers_of(west, "programme")
    west_sites = set(prog.table.loc[prog.table["street_name"] == "西街道", "site_name"])
    assert len(features(layer)) == len(west_sites) == 1  # Z (X and Y lie in 东街道)
    with pytest.raises(Exception, match="plan_programme"):
        a.map(basemap="none", programme=prog.table)
    # capped layers say so; the legend still counts every project of the year
    capped = a.map(basemap="none", programme=prog, max_features=2)
    assert layer_names(capped)[-1] == "建设时序 2026–2028（显示 2 / 共 3）"
    assert len(features(layers_of(capped, "programme")[0])) == 2
    assert _legend(capped).count("1 个项目") == 3
    # on the Amap basemap the badges move to GCJ-02 with everything else (a few hundred metres)
    wgs = features(layers_of(a.map(basemap="none", programme=prog), "programme")[0])
    gcj = features(layers_of(a.map(basemap="amap", programme=prog), "programme")[0])
    for f, g in zip(wgs, gcj, strict=True):
        dx, dy = (b - c for b, c in zip(g["geometry"]["coordinates"], f["geometry"]["coordinates"], strict=True))
        assert 1e-4 < abs(dx) + abs(dy) < 1e-2


def test_analysis_workbook_gets_the_programme_sheet(case, prog, tmp_path):  # noqa: F811
    from openpyxl import load_workbook

    a = case[0]
    plain = load_workbook(a.to_excel(str(tmp_path / "plain.xlsx"), lang="zh"))
    wb = load_workbook(a.to_excel(str(tmp_path / "with.xlsx"), lang="zh", programme=prog))
    assert wb.sheetnames == [*plain.sheetnames, "建设时序", "年度汇总", "未满足规则"]
    rows = list(wb["建设时序"].values)
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["计划年度"] for r in body] == list(YEARS)
    assert [r["选址名称"] for r in body][0] == "X"
    assert [r[programme_header("new_covered_pop")] for r in body] == [400, 100, 100]
    assert [r["投资"] for r in body] == [1, 3, 3]
    # the same sheet as the programme's own workbook
    own = load_workbook(prog.to_excel(str(tmp_path / "own.xlsx"), profile=a.profile))
    for sheet in own.sheetnames:
        assert list(own[sheet].values) == list(wb[sheet].values)
    years = [dict(zip(*[list(wb["年度汇总"].values)[i] for i in (0, k)], strict=True))
             for k in range(1, len(YEARS) + 1)]  # fmt: skip
    assert [y["计划年度"] for y in years] == list(YEARS)
    assert [y["项目数"] for y in years] == list(prog.by_year["projects"])
    assert len(list(wb["未满足规则"].values)) == 1 + len(prog.issues)
    # formula-like names stay text, in both workbooks
    bad = dataclasses.replace(prog, table=prog.table.assign(site_name='=HYPERLINK("http://x","y")'))
    for path in (a.to_excel(str(tmp_path / "bad.xlsx"), programme=bad), bad.to_excel(str(tmp_path / "b.xlsx"))):
        ws = load_workbook(path)["建设时序"]
        col = [c.value for c in ws[1]].index("选址名称") + 1
        cells = [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]
        assert [(c.value, c.data_type) for c in cells] == [('=HYPERLINK("http://x","y")', "s")] * 3
    en = load_workbook(a.to_excel(str(tmp_path / "en.xlsx"), lang="en", programme=prog))
    assert en.sheetnames[-3:] == ["Programme", "By year", "Rules not met"]
    assert "Year" in next(en["Programme"].values)


@pytest.mark.browser
def test_programme_layer_in_headless_chromium(case, prog, browser, tmp_path):  # noqa: F811
    a = case[0]
    path = save_map(a.map(basemap="none", programme=prog), tmp_path / "programme.html")
    _open(browser, path)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert _labels(browser)[-1] == "建设时序 2026–2028 (3)"
    badges = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-marker-pane .lc-prog span'))"
        ".map(s => [s.textContent, getComputedStyle(s).backgroundColor])"
    )
    assert len(badges) == 3 and {g for g, _ in badges} == {"卫"}
    assert len({c for _, c in badges}) == 3  # one colour per year
    legend = browser.execute_script("return document.querySelector('.lc-legend').textContent")
    assert all(f"{y}年" in legend for y in YEARS) and "建设时序" in legend
    popups = browser.execute_script("""
        var out = []; map.eachLayer(function (l) {
            if (l.feature && l.feature.properties.g === '卫' && l.getPopup) {
                l.openPopup(); out.push(l.getPopup().getElement().textContent); l.closePopup(); } });
        return out;""")
    assert any("2026年 · 社区卫生服务站" in p and "东街道" in p and "投资1" in p for p in popups)
    # switched off in the layer control, the badges go
    browser.execute_script(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".filter(l => l.textContent.trim().startsWith('建设时序'))"
        ".forEach(l => l.querySelector('input').click())"
    )
    n = browser.execute_script("return document.querySelectorAll('.leaflet-marker-pane .lc-prog').length")
    assert n == 0
    urls = [u for u in _requests(browser) if not u.startswith(("chrome:", "chrome-"))]
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
