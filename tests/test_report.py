"""The periodic report: opened in real headless Chromium — no console errors, no network request,
Chinese rendered with a CJK font, the charts decoded — and its figures equal the Analysis tables.

The city is ``lifecircle.synthetic.city`` (60 communities in three streets, 100 m street grid)
with three 15-minute categories (1,000 m), so some communities meet the standard and some do not;
the previous run is the same city before 30 of its pool projects were built
(:meth:`Analysis.with_projects`), so the progress section has changes to show.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import lifecircle as lc
from lifecircle.outputs.labels import label
from test_map_browser import _CJK, _requests, browser  # noqa: F401 (browser: a fixture)

CATS = ["health_centre", "culture_centre", "junior_middle_school"]


pytestmark = pytest.mark.usefixtures("quiet")


@pytest.fixture(scope="module")
def runs():
    prof = lc.load_profile("gb50180-2018")
    city = lc.synthetic.city(60, prof, seed=3, facilities_per_community=3.0)
    fac = city.facilities[city.facilities["category"].isin(CATS)]
    before = lc.analyze(city.network, fac, city.communities, prof, categories=CATS, share_of="all")
    pool = before.projects.head(30).assign(status="建成")
    after = before.with_projects(pool).analysis
    return before, after, pool


@pytest.fixture(scope="module")
def html_report(runs, tmp_path_factory):
    before, after, pool = runs
    path = tmp_path_factory.mktemp("report") / "2026年第4季度.html"
    return lc.report(after, previous=before, path=path, pool=pool, target_year=2027)


def _table(drv, key: str) -> list[dict[str, str]]:
    """Rows of one report table: {column: raw data-value (or text)}."""
    return drv.execute_script(
        "return Array.from(document.querySelectorAll('table[data-table=\"' + arguments[0] + "
        "'\"] tr')).slice(1).map(r => Object.fromEntries(Array.from(r.cells).map(c => "
        "[c.dataset.col, c.dataset.value !== undefined ? c.dataset.value : c.textContent])))",
        key,
    )


def test_report_in_chromium(browser, html_report, runs, tmp_path):  # noqa: F811
    _, after, pool = runs
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(html_report.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    # the browser's own pages (chrome://) aside, only the file itself and its data: images
    urls = [u for u in _requests(browser) if not u.startswith(("chrome:", "chrome-"))]
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
    # charts decoded (bar charts per county and street, the trend)
    sizes = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert {s[0] for s in sizes} >= {"by_county", "by_street"}
    assert all(ok and w > 300 for _, ok, w in sizes)
    assert all(browser.execute_script(_CJK))
    browser.save_screenshot(str(tmp_path / "report.png"))
    # headline figures = the summary
    figs = dict(browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-figure]')).filter(e => e.dataset.value)"
        ".map(e => [e.dataset.figure, e.dataset.value])"))  # fmt: skip
    s = after.summary
    assert float(figs["share_meeting_standard"]) == s["share_meeting_standard"]
    assert float(figs["communities"]) == s["communities"]
    assert float(figs["shortfalls"]) == s["shortfalls"]
    # share per street / county = the index tables
    for key, table in (("by_street", after.index_by_street), ("by_county", after.index_by_county)):
        rows = _table(browser, key)
        assert len(rows) == len(table)
        for r, (_, t) in zip(rows, table.iterrows(), strict=True):
            assert r["street_name" if key == "by_street" else "county_name"] == (
                t["street_name" if key == "by_street" else "county_name"])  # fmt: skip
            assert float(r["share_meeting_standard"]) == t["share_meeting_standard"]
            assert float(r["communities_meeting"]) == t["communities_meeting"]
    # top shortfalls in rank order, the pool's status counts
    sf = _table(browser, "shortfalls")
    assert [int(float(r["priority_rank"])) for r in sf] == list(
        after.shortfalls["priority_rank"][:20]
    )
    status = _table(browser, "pool")
    assert sum(float(r["projects"]) for r in status) == len(pool)


def test_report_progress_equals_compare(runs, html_report):
    """The progress section shows what lc.compare says (read from the file, no browser)."""
    before, after, _ = runs
    cmp = lc.compare(before, after)
    text = html_report.read_text(encoding="utf-8")
    assert f"{cmp.summary['improved']}" in text
    assert cmp.summary["improved"] > 0
    county = re.search(r'<table data-table="progress_county">(.*?)</table>', text).group(1)
    assert county.count("<tr>") - 1 == len(cmp.by_county)
    changes = re.search(r'<table data-table="changes">(.*?)</table>', text).group(1)
    assert changes.count("<tr>") - 1 == len(cmp.changes)
    shares = re.findall(r'data-col="share_after" data-value="([^"]+)"', county)
    assert [float(v) for v in shares] == list(cmp.by_county["share_after"])


def test_report_as_excel(runs, tmp_path):
    before, after, pool = runs
    path = lc.report(after, previous=before, path=tmp_path / "季报.xlsx", pool=pool)
    sheets = pd.read_excel(path, sheet_name=None)
    assert {"概要", "区县达标", "街道达标", "重点短板", "数据核查清单", "较上期进展",
            "项目库进展"} <= set(sheets)  # fmt: skip
    streets = sheets["街道达标"]
    assert np.allclose(streets.iloc[:, 4].to_numpy(float),
                       after.index_by_street["share_meeting_standard"].to_numpy(float))  # fmt: skip
    assert list(sheets["趋势"].iloc[:, 1]) == [before.summary["share_meeting_standard"],
                                               after.summary["share_meeting_standard"]]


def _range(sheet: str, col: str, n: int) -> str:
    """A column's cells from row 2 to row n + 1, as openpyxl writes references."""
    return f"'{sheet}'!${col}$2" + (f":${col}${n + 1}" if n > 1 else "")


def _refs(series) -> tuple[str, str]:
    """(values, categories) cell ranges of an openpyxl chart series."""
    cat = series.cat.numRef or series.cat.strRef
    return series.val.numRef.f, cat.f


def test_report_excel_charts(runs, tmp_path):
    """Native charts: per county and street, bars of the share meeting the standard with the
    target as a line, both on the sheet's own cells; the trend over the two runs; and
    LibreOffice opens the workbook (converted to PDF)."""
    import shutil
    import subprocess

    import openpyxl

    before, after, pool = runs
    path = lc.report(after, previous=before, path=tmp_path / "季报.xlsx", pool=pool)
    wb = openpyxl.load_workbook(path)
    n_street = len(after.index_by_street)
    for sheet, n, name_col in (("区县达标", len(after.index_by_county), "A"),
                               ("街道达标", n_street, "B")):  # fmt: skip
        ws = wb[sheet]
        (chart,) = ws._charts
        bars, line = chart, chart._charts[1]
        assert bars.tagname == "barChart" and line.tagname == "lineChart"
        (share,), (target,) = bars.series, line.series
        col = {"区县达标": ("D", "E"), "街道达标": ("E", "F")}[sheet]
        assert _refs(share) == (_range(sheet, col[0], n), _range(sheet, name_col, n))
        assert _refs(target) == (_range(sheet, col[1], n), _range(sheet, name_col, n))
        values = [ws[f"{col[0]}{r}"].value for r in range(2, n + 2)]
        expect = (after.index_by_county if sheet == "区县达标" else after.index_by_street)
        assert np.allclose(values, expect["share_meeting_standard"].to_numpy(float))
        assert all(ws[f"{col[1]}{r}"].value == after.params.target_share for r in range(2, n + 2))
    (trend,) = wb["趋势"]._charts
    assert trend.tagname == "lineChart"
    assert _refs(trend.series[0]) == (_range("趋势", "B", 2), _range("趋势", "A", 2))
    assert _refs(trend._charts[1].series[0])[0] == _range("趋势", "C", 2)
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    # its own LibreOffice profile: another soffice running as the same user does not interfere
    profile = f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}"
    r = subprocess.run(["soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
                        str(tmp_path), str(path)], capture_output=True, text=True, timeout=300)  # fmt: skip
    pdf = tmp_path / "季报.pdf"
    assert r.returncode == 0 and pdf.exists(), r.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_report_name_and_old_module_path():
    """lc.report is the function; the old module path says where its module went."""
    assert callable(lc.report)
    with pytest.raises(ImportError, match="lifecircle.outputs.tables"):
        import lifecircle.report  # noqa: F401


def test_report_refuses_unknown_suffix(runs, tmp_path):
    with pytest.raises(lc.InputError, match=".html or .xlsx"):
        lc.report(runs[1], path=tmp_path / "r.pdf")


def _text(path) -> str:
    """The report's visible text (tags dropped)."""
    import html

    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text("utf-8"))))


def test_report_leaves_its_own_run_out_of_previous(runs, tmp_path):
    """previous= as every recorded run (this one's record included, as read_runs lists it): the
    previous run is the one before it, the report is dated this run's recorded date, and the
    trend has each run once. With only its own record there is nothing to compare with."""
    import openpyxl

    from lifecircle.analysis.compare import run_record

    before, after, _ = runs
    recs = [run_record(before, "2026-03-31"), run_record(after, "2026-09-30")]
    text = _text(lc.report(after, previous=recs, path=tmp_path / "r.html", target_year=2027))
    assert f"2026-03-31 ({before.run_id}) → 2026-09-30 ({after.run_id})" in text
    assert f"run {after.run_id} · 2026-09-30" in text
    assert f"评估标准: {after.profile.title_zh} (gb50180-2018 " in text  # its name, then its id
    wb = openpyxl.load_workbook(lc.report(after, previous=recs, path=tmp_path / "r.xlsx"))
    assert list(wb["趋势"].iter_rows(min_row=2, values_only=True)) == [
        ("2026-03-31", before.summary["share_meeting_standard"], after.params.target_share),
        ("2026-09-30", after.summary["share_meeting_standard"], after.params.target_share)]
    alone = lc.report(after, previous=recs[1:], path=tmp_path / "alone.html").read_text("utf-8")
    assert "无更早的评估结果可比较" in alone and 'data-table="progress_county"' not in alone
    assert "改善 0" not in alone


def test_report_previous_in_any_order_and_a_later_run_with_the_same_inputs(runs, tmp_path, caplog):
    """Runs given newest first are taken by their dates (with a warning); a run dated after the
    report is left out; a later period in which nothing changed (same inputs: same run id as the
    recorded one) is compared with that record when run_date= says it is later."""
    from lifecircle.analysis.compare import run_record

    before, after, _ = runs
    a, b = run_record(before, "2026-03-31"), run_record(after, "2026-06-30")
    with caplog.at_level("WARNING", logger="lifecircle"):
        text = _text(lc.report(after, previous=[b, a], path=tmp_path / "r.html"))
    assert f"2026-03-31 ({before.run_id}) → 2026-06-30 ({after.run_id})" in text
    assert "not oldest first" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="lifecircle"):
        text = _text(lc.report(after, previous=[a, b], path=tmp_path / "r.html",
                               run_date="2026-05-15"))  # fmt: skip
    assert f"2026-03-31 ({before.run_id}) → 2026-05-15 ({after.run_id})" in text
    assert f"{after.run_id} (2026-06-30)" in caplog.text  # left out, named
    # the next quarter, nothing changed: compared with the June record, not taken as it
    text = _text(lc.report(after, previous=[a, b], path=tmp_path / "r.html", run_date="2026-09-30"))
    assert f"2026-06-30 ({after.run_id}) → 2026-09-30 ({after.run_id})" in text
    assert "改善 0, 退步 0" in text


def test_report_run_date(runs, tmp_path):
    """run_date= dates the header, the progress line and the pace (the share, 97%, is above the
    target: reached in the run's year)."""
    import datetime

    from lifecircle.analysis.compare import run_record

    before, after, _ = runs
    prev = run_record(before, "2026-01-01")
    for day in ("2026-04-01", datetime.date(2026, 4, 1)):
        path = lc.report(after, previous=prev, path=tmp_path / "r.html", run_date=day,
                         target_year=2026)  # fmt: skip
        text = _text(path)
        assert f"run {after.run_id} · 2026-04-01" in text
        assert f"2026-01-01 ({before.run_id}) → 2026-04-01 ({after.run_id})" in text
    county = re.search(r'<table data-table="progress_county">(.*?)</table>',
                       path.read_text("utf-8")).group(1)  # fmt: skip
    assert 'data-col="reached_by_year" data-value="2026.0">2026<' in county
    with pytest.raises(lc.InputError, match="YYYY-MM-DD"):
        lc.report(after, previous=prev, path=tmp_path / "r.html", run_date="2026/04/01")


def test_report_excel_numbers_progress_and_chinese_changes(runs, tmp_path):
    """概要 holds numbers as numbers; 较上期进展 has the county table, then the street table;
    变化社区 has Chinese headers, category names and 改善/退步."""
    import openpyxl

    before, after, _ = runs
    path = lc.report(after, previous=before, path=tmp_path / "季报.xlsx", target_year=2027)
    wb = openpyxl.load_workbook(path)
    summary = {r[0].value: r[1] for r in wb["概要"].iter_rows(min_row=2)}
    assert summary["社区数"].value == 60 and summary["社区数"].data_type == "n"
    assert summary["常住人口"].value == round(after.summary["population"])
    assert summary["目标比例"].value == after.params.target_share
    assert summary["目标比例"].number_format == "0%"
    rows = list(wb["较上期进展"].iter_rows(values_only=True))
    cmp = lc.compare(before, after, target_year=2027)
    assert rows[0][:3] == ("区县", "上期达标占比", "本期达标占比")
    assert rows[1][:3] == ("南湖区", cmp.by_county["share_before"].iloc[0],
                           cmp.by_county["share_after"].iloc[0])  # fmt: skip
    street_head = 1 + len(cmp.by_county) + 1
    assert rows[street_head][:2] == ("区县", "街道(乡镇)")
    assert len(rows) == street_head + 1 + len(cmp.by_street)
    changes = list(wb["变化社区"].iter_rows(values_only=True))
    assert changes[0] == ("街道(乡镇)", "社区名称", "设施类别", "变化", "原因", "上期最近设施",
                          "上期步行距离(米)", "本期最近设施", "本期步行距离(米)")  # fmt: skip
    names = {c.name_zh for c in after.profile.categories.values()}
    assert len(changes) - 1 == len(cmp.changes)
    assert {r[2] for r in changes[1:]} <= names and {r[3] for r in changes[1:]} == {"改善"}


def test_report_changes_in_words(runs, html_report, tmp_path):
    """The HTML change table: category names and 改善 (English: the English words); an empty
    data checklist is a sentence, not a header row."""
    before, after, _ = runs
    text = html_report.read_text(encoding="utf-8")
    changes = re.search(r'<table data-table="changes">(.*?)</table>', text).group(1)
    cats = after.profile.categories
    assert set(re.findall(r'data-col="change">([^<]*)<', changes)) == {"改善"}
    assert set(re.findall(r'data-col="category_zh">([^<]*)<', changes)) <= {
        c.name_zh for c in cats.values()}  # fmt: skip
    assert after.data_gaps.empty  # premise
    assert '<p data-table="data_gaps">无数据缺口。</p>' in text
    en = lc.report(after, previous=before, path=tmp_path / "r.html", lang="en").read_text("utf-8")
    changes = re.search(r'<table data-table="changes">(.*?)</table>', en).group(1)
    assert set(re.findall(r'data-col="change">([^<]*)<', changes)) == {"improved"}
    assert set(re.findall(r'data-col="category_en">([^<]*)<', changes)) <= {
        c.name_en for c in cats.values()}  # fmt: skip
    assert "No data gaps." in en
    from openpyxl import load_workbook

    sheet = load_workbook(lc.report(after, previous=before, path=tmp_path / "r.xlsx"))["数据核查清单"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["说明"], ["无数据缺口。"]]


def test_programme_status_counts_statuses_as_written_by_planners():
    """" 在建", "在建" and "在建中" are one status in the programme table (the HTML shows them
    alike, and a scenario takes all three); a word that is no status stays as written."""
    from lifecircle.outputs.report import pool_status

    pool = pd.DataFrame({"category_zh": ["托育"] * 4 + ["养老"],
                         "status": [" 在建", "在建", "在建中", "待定", None]})  # fmt: skip
    got = pool_status(pool).set_index(["category_zh", "status"])["projects"].to_dict()
    assert got == {("托育", "在建"): 3, ("托育", "待定"): 1, ("养老", ""): 1}


def test_report_excel_keeps_formula_like_names_as_text(tmp_path):
    """A street named =HYPERLINK(…) and a community named =1+1 are text in every sheet of the
    report's workbook, not formulas (nothing injected); shares are percentages."""
    from openpyxl import load_workbook

    prof = lc.load_profile("gb50180-2018")
    city = lc.synthetic.city(60, prof, seed=3, facilities_per_community=3.0)
    comm = city.communities.assign(community_name="=1+1",
                                   street_name='=HYPERLINK("http://x.example","y")')  # fmt: skip
    fac = city.facilities[city.facilities["category"].isin(CATS)]
    a = lc.analyze(city.network, fac, comm, prof, categories=CATS, share_of="all")
    wb = load_workbook(lc.report(a, previous=a, path=tmp_path / "r.xlsx"))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    streets = wb["街道达标"]
    assert streets["B2"].value == '=HYPERLINK("http://x.example","y")'
    assert streets["B2"].data_type == "s"
    head = [c.value for c in streets[1]]
    share = streets.cell(row=2, column=head.index("达标社区比例") + 1)
    assert isinstance(share.value, float) and share.number_format == "0%"
    meets = streets.cell(row=2, column=head.index(label("meets_target").zh) + 1)
    assert meets.value in ("是", "否")  # as in the HTML, not True/False
    short = wb["重点短板"]
    head = [c.value for c in short[1]]
    pop = short.cell(row=2, column=head.index(label("affected_pop").zh) + 1)
    assert isinstance(pop.value, (int, float)) and pop.number_format == "#,##0"


def test_a_scenario_is_reported_as_a_forecast(runs, tmp_path, caplog):
    """The runs' later analysis is a scenario (30 pool projects assumed built): its report says
    so at the top and recording it warns; the analysis before has no such note."""
    before, after, _ = runs
    with caplog.at_level("WARNING", logger="lifecircle"):
        text = _text(lc.report(after, previous=before, path=tmp_path / "r.html"))
        lc.record_run(after, tmp_path / "pool.gpkg", run_date="2026-12-31")
    assert "情景分析：本报告中 30 处设施是假设已建成的项目" in text
    assert "the record is a forecast" in caplog.text
    plain = _text(lc.report(before, path=tmp_path / "b.html"))
    assert "情景分析" not in plain
    from openpyxl import load_workbook

    summary = load_workbook(lc.report(after, previous=before, path=tmp_path / "r.xlsx"))["概要"]
    assert summary["A2"].value == "情景分析" and "30 处设施是假设已建成的项目" in summary["B2"].value


def test_report_cells_in_words():
    """Differences of shares in percentage points, a year that is never reached in words, yes/no
    in the report's language."""
    from lifecircle.outputs.report import _cell

    assert ">10.0 个百分点<" in _cell(0.1, "gap_to_target", "zh")
    assert ">+5.0 pp<" in _cell(0.05, "share_change", "en")
    assert ">按当前进度无法达标<" in _cell(np.nan, "reached_by_year", "zh")
    assert ">2027<" in _cell(2027.0, "reached_by_year", "zh")
    assert ">no<" in _cell(False, "on_track", "en") and ">否<" in _cell(False, "on_track", "zh")


def test_report_names_communities_with_estimated_population(tmp_path):
    """The sample's populations are estimated from floor area: the report says so and names
    them; a report of communities with stated populations has no such sentence."""
    from lifecircle.cli import sample_dir

    data = sample_dir()
    osm = data / "helsinki_centre.osm.pbf"
    prof = lc.load_profile("jiaxing-yilao-yixiao")
    net = lc.load_network(osm)
    fac = lc.facilities_from_osm(osm, prof)
    comm = lc.load_communities(data / "helsinki_communities.geojson")
    a = lc.analyze(net, fac, comm, prof, grid_m=50, demand=lc.demand_points(
        comm, buildings=lc.communities.buildings_from_osm(osm)[0], grid_m=50,
        missing_population="zero"))  # fmt: skip
    est = a.index[a.index["pop_estimated"].astype(bool)]
    text = _text(lc.report(a, path=tmp_path / "r.html"))
    assert f"人口为估算值的社区 {len(est)} 个" in text
    assert all(n in text for n in est["community_name"])
    stated = lc.load_communities(comm.assign(population=1000.0))
    b = lc.analyze(net, fac, stated, prof, grid_m=50)
    assert "人口为估算值" not in _text(lc.report(b, path=tmp_path / "b.html"))


def test_report_with_the_residents_voice(runs, tmp_path):
    """voice=: each surveyed community's satisfaction and sample size beside its coverage, and
    the disagreements to follow up in words, in HTML and Excel; the flags are the Voice's."""
    from openpyxl import load_workbook

    before, after, _ = runs
    idx = after.index
    meets = idx.loc[idx["meets_all_required"] == True, "community_name"]  # noqa: E712
    short = idx.loc[idx["meets_all_required"] == False, "community_name"]  # noqa: E712
    names = [meets.iloc[0], short.iloc[0], short.iloc[1]]
    survey = lc.load_survey(pd.DataFrame({"社区名称": names, "样本量": [120, 80, 0],
                                          "满意度": [1.5, 4.5, 3.0]}),
                            after.communities, after.profile)  # fmt: skip
    voice = lc.residents_voice(after, survey)
    text = _text(lc.report(after, previous=before, path=tmp_path / "r.html", voice=voice))
    assert "居民意见（满意度调查）" in text
    words = {"covered_but_unsatisfied": "覆盖达标但居民不满意", "short_but_satisfied": "未达标但居民满意"}
    flagged = voice.communities[voice.communities["flag"] != ""]
    assert sorted(flagged["flag"]) == ["covered_but_unsatisfied", "short_but_satisfied"]
    for r in flagged.itertuples():
        assert f"{r.community_name} " in text and words[r.flag] in text
    wb = load_workbook(lc.report(after, previous=before, path=tmp_path / "r.xlsx", voice=voice))
    rows = list(wb["居民意见"].iter_rows(values_only=True))
    assert "满意度" in rows[0] and "样本量" in rows[0] and "需跟进" in rows[0]
    community = rows[0].index(label("community_name").zh)
    assert {r[community] for r in rows[1:4]} == set(names)  # the 3 surveyed, then the follow-up
    assert "覆盖达标但居民不满意" in {v for r in rows for v in r}
