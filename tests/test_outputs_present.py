"""What officials open: the demo workbook and CSV read like an official's list (issue 12.2).

Chinese sheets carry no raw codes (L5, total, True, city, distance+capacity …) and no float with
more than two decimals; LibreOffice (a real spreadsheet application) shows percentages, whole
numbers and Chinese labels; the English workbook gets the same care. In Python the tables keep
their raw values.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from conftest import ROOT, libreoffice_sheets

#: Values that must never reach a Chinese sheet: level ids, group codes, kinds, scopes,
#: data statuses, location kinds, booleans.
RAW_CODES = {
    "L0", "L5", "L10", "L15", "total", "elderly", "child_0_3", "child_3_6", "distance",
    "capacity", "distance+capacity", "city", "county", "street", "present", "no_data",
    "confirmed_absent", "proposed_site", "community", "urban", "village", "all", "True", "False",
    "true", "false", "beds", "places",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    r = subprocess.run(
        [sys.executable, "-m", "lifecircle", "-q", "demo", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return out


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [c for row in ws.iter_rows() for c in row] for ws in wb.worksheets}


def test_chinese_workbook_has_no_raw_codes_or_long_floats(demo):
    sheets = _cells(demo / "lifecircle_shortfalls.xlsx")
    assert list(sheets) == ["总体情况", "短板社区", "数据核查清单", "短板设施", "服务指数",
                            "街道汇总", "区县汇总", "覆盖明细", "建议选址"]  # fmt: skip
    for name, cells in sheets.items():
        for c in cells:
            v = c.value
            if isinstance(v, bool):
                pytest.fail(f"{name}!{c.coordinate}: a boolean {v}")
            if isinstance(v, str):
                assert v not in RAW_CODES, f"{name}!{c.coordinate}: raw code {v!r}"
            if isinstance(v, float) and math.isfinite(v):
                assert round(v, 2) == v, f"{name}!{c.coordinate}: {v} has more than two decimals"
    values = {c.value for cells in sheets.values() for c in cells}
    for shown in ("5分钟生活圈", "15分钟生活圈", "居住街坊", "▲ 应配建", "△ 宜配建", "是", "否",
                  "全体居民", "距离不达标", "全市", "有数据", "缺数据", "S1"):  # fmt: skip
        assert shown in values, shown


def test_libreoffice_shows_percentages_whole_numbers_and_chinese(demo, tmp_path):
    shown = libreoffice_sheets(demo / "lifecircle_shortfalls.xlsx", tmp_path)
    summary = {row[0]: row[1] for row in shown["总体情况"][1:]}
    # 2 of the 4 inhabited sample communities meet every required category; none is classified
    # urban/village, so the share is counted over all communities (and the sheet says so)
    assert summary["达标社区比例 (全部社区)"] == "50%" and summary["目标比例"] == "60%"
    assert summary["达到目标"] == "否" and summary["缺数据未评估的类别数"] == "1"
    cats = shown["短板设施"]
    header = cats[0]
    share = [row[header.index("覆盖率")] for row in cats[1:]]
    assert all(s.endswith("%") and "." not in s for s in share), share[:5]
    gaps = shown["短板社区"]
    header = gaps[0]
    pop = [row[header.index("未覆盖人数")] for row in gaps[1:]]
    assert all(p.replace(",", "").isdigit() for p in pop), pop[:5]
    dist = [row[header.index("最近距离(米)")] for row in gaps[1:]]
    assert all(d == "" or d.replace(",", "").isdigit() for d in dist), dist[:5]
    levels = {row[header.index("生活圈层级")] for row in gaps[1:]}
    assert levels <= {"5分钟生活圈", "10分钟生活圈", "15分钟生活圈", "居住街坊"}
    # the nearest facility by name, its id in its own column
    near = header.index("最近设施")
    assert header[near + 1] == "最近设施编号"
    assert any(row[near].endswith("幼儿园") for row in gaps[1:])


def test_english_workbook_gets_the_same_care(demo, tmp_path):
    import lifecircle as lc
    from lifecircle.config import load_config
    from lifecircle.pipeline import run

    a = run(load_config(demo / "demo.toml")).analysis
    book = a.to_excel(tmp_path / "en.xlsx", lang="en")
    sheets = _cells(book)
    assert "Summary" in sheets and "Data checklist" in sheets
    values = {c.value for cells in sheets.values() for c in cells}
    for shown in ("5-min life circle", "▲ required", "yes", "no", "all residents", "too far"):
        assert shown in values, shown
    assert not any(isinstance(v, bool) for v in values)
    # Python keeps raw values
    assert a.coverage["meets_standard"].dtype == bool
    assert set(a.coverage["level"]) <= set(a.profile.levels)
    assert isinstance(lc, object)


def test_csv_is_rounded_text(demo):
    with (demo / "lifecircle_shortfalls.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["覆盖率"].endswith("%") for r in rows)
    assert all(r["未覆盖人数"].isdigit() for r in rows)
    assert {r["配建要求"] for r in rows} <= {"▲ 应配建", "△ 宜配建"}
    assert {r["距离达标"] for r in rows} <= {"是", "否"}
    df = pd.DataFrame(rows)
    assert not df.isin(RAW_CODES).any().any()
