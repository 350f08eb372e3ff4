"""Text that looks like a formula is written as text in every spreadsheet lifecircle writes.

A community named ``=HYPERLINK("http://evil","点击")`` must show as that text in Excel and
LibreOffice, never as a live link: Excel cells of type text, CSV cells with a leading apostrophe.
Reading a pool back returns the original text; numbers stay numbers.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import lifecircle as lc
from _nets import river_communities, river_facilities, river_with_bridge
from conftest import FIXTURES, libreoffice_sheets, need
from lifecircle.analysis import analyze
from lifecircle.outputs.tables import csv_text, csv_text_back, write_csv
from test_pool import frame, project

EVIL = '=HYPERLINK("http://evil","点击")'
TRICKY = ["'=x", "'abc", "''=y", "-", "+86 573 8200 0000", "@home", "\tTab", "-2+3", "普通社区"]


@pytest.fixture(scope="module")
def evil_case():
    """The hand-built river case of test_analysis with a community named like a formula."""
    comm = lc.load_communities(river_communities(names=(EVIL, "-北岸社区")))
    profile = lc.load_profile(FIXTURES / "profile_analysis.toml")
    return analyze(river_with_bridge(), river_facilities(), comm, profile)


def rendered(files: list[Path], tmp_path: Path) -> dict[str, list[list[str]]]:
    """The first sheet of each workbook as LibreOffice shows it (converted to UTF-8 CSV)."""
    need(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    out = tmp_path / "rendered"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'lo_profile').as_uri()}", "--headless",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out),
         *map(str, files)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return {
        f.name: list(csv.reader((out / f"{f.stem}.csv").open(encoding="utf-8", newline="")))
        for f in files
    }


def text_cells(path: Path) -> list:
    """Every non-empty cell of every sheet."""
    wb = load_workbook(path)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def test_formula_like_names_stay_text_in_every_spreadsheet(evil_case, tmp_path):
    a = evil_case
    assert EVIL in set(a.shortfalls["community_name"])
    book = a.to_excel(tmp_path / "gaps.xlsx")
    flat = write_csv(a.shortfalls, tmp_path / "gaps.csv")
    lc.export_pool(a, tmp_path / "pool.xlsx", run_id="r1")
    lc.export_pool(a, tmp_path / "pool.csv", run_id="r1")

    # openpyxl: no formula anywhere; the name is a text cell holding exactly the name
    for path in (Path(book), tmp_path / "pool.xlsx"):
        cells = text_cells(path)
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], path.name
        evil = [c for c in cells if c.value == EVIL]
        assert evil and all(c.data_type == "s" for c in evil), path.name
    # LibreOffice shows the text, not the link text "点击" a live formula would show (every
    # sheet of the analysis workbook, as shown)
    shown = rendered([tmp_path / "pool.xlsx"], tmp_path)
    shown.update(libreoffice_sheets(Path(book), tmp_path))
    for name, rows in shown.items():
        cells = [c for row in rows for c in row]
        assert "点击" not in cells, name
        if name in ("pool.xlsx", "短板社区", "服务指数", "覆盖明细"):
            assert EVIL in cells and "-北岸社区" in cells, name

    # CSV: the usual apostrophe before formula-like text, numbers as they were
    for path in (Path(flat), tmp_path / "pool.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        assert "'" + EVIL in cells and EVIL not in cells, path.name
        assert "'-北岸社区" in cells, path.name

    # Reading the pool back gives the names as they were, so a re-export changes nothing.
    for ext in ("xlsx", "csv"):
        pool = lc.read_pool(tmp_path / f"pool.{ext}")
        assert set(pool["community_name"]) == set(a.projects["community_name"]), ext
        report = lc.export_pool(a, tmp_path / f"pool.{ext}", run_id="r1")
        assert (report.added, report.updated, report.unchanged) == (0, 0, report.total), ext


def test_numbers_stay_numbers(tmp_path):
    # analysis CSV: a negative number in a numeric column keeps its minus sign, no apostrophe
    # (people are shown as whole numbers, shares as percentages)
    df = pd.DataFrame(
        {"community_name": [EVIL, "-3"], "covered_pop": [-5.0, 2.0], "weight": [-1.25, 0.5]}
    )
    with write_csv(df, tmp_path / "t.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1:] == [["'" + EVIL, "-5", "-1.2"], ["'-3", "2", "0.5"]]
    # pool: numeric columns are numbers in Excel and plain in CSV, negative or not
    data = frame(project(1, priority_score=-1.5, community_name="-1.5"))
    lc.export_pool(data, tmp_path / "p.xlsx", run_id="r1")
    lc.export_pool(data, tmp_path / "p.csv", run_id="r1")
    ws = load_workbook(tmp_path / "p.xlsx")["lifecircle_pool"]
    header = [c.value for c in ws[1]]
    score = ws.cell(2, header.index("优先级得分") + 1)
    assert (score.value, score.data_type) == (-1.5, "n")
    name = ws.cell(2, header.index("社区(村)") + 1)
    assert (name.value, name.data_type) == ("-1.5", "s")
    with (tmp_path / "p.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["优先级得分"], row["社区(村)"]) == ("-1.5", "'-1.5")
    assert lc.read_pool(tmp_path / "p.csv")["priority_score"].tolist() == [-1.5]


@pytest.mark.parametrize("text", TRICKY)
def test_csv_apostrophe_is_removed_only_where_added(text):
    written = csv_text(text)
    assert csv_text_back(written) == text
    assert (written != text) == text.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r"))


def test_tricky_texts_round_trip_through_pool_files(tmp_path):
    data = frame(*[project(i + 1, community_name=t) for i, t in enumerate(TRICKY)])
    for ext in ("xlsx", "csv"):
        path = tmp_path / f"pool.{ext}"
        lc.export_pool(data, path, run_id="r1")
        pool = lc.read_pool(path).sort_values("priority_rank")
        assert pool["community_name"].tolist() == TRICKY, ext
    assert [c.coordinate for c in text_cells(tmp_path / "pool.xlsx") if c.data_type == "f"] == []


def test_evil_run_id_is_text_in_the_meta_sheet(tmp_path):
    path = tmp_path / "pool.xlsx"
    lc.export_pool(frame(project(1)), path, run_id="=1+1")
    assert lc.read_pool(path)["run_id"].tolist() == ["=1+1"]
    assert [c.coordinate for c in text_cells(path) if c.data_type == "f"] == []
