"""The run history of Excel and CSV pools keeps what planners wrote in it.

Real files throughout: the sheet ``运行记录`` of an openpyxl-written workbook and
``<pool>.runs.csv``, edited between runs the way a planner (or Excel) would, then recorded into
again. Another program saving the file while a run is recorded is a real change to the file,
made after the writer has read it, on the first try only.
"""

from __future__ import annotations

import csv
import json

import pytest
from openpyxl import load_workbook
from openpyxl.styles import Font

import lifecircle as lc
from lifecircle import PoolError
from lifecircle.outputs.pool import history_files
from lifecircle.outputs.pool.history_files import (
    RUNS_SHEET,
    read_file_rows,
    runs_csv,
    write_file_run,
)
from lifecircle.outputs.pool.schema import RUN_COLUMNS

NOTE = "审核意见"  # the column a planner adds


def run_row(run_id: str, run_date: str = "2026-03-31", facilities: int = 7) -> dict:
    """A row as ``history.record_run`` gives it to the file writer."""
    record = json.dumps({"run_id": run_id, "pad": "记录" * 40}, ensure_ascii=False)
    return {"run_id": run_id, "run_date": run_date, "profile": "test-analysis",
            "profile_version": "1", "lifecircle_version": "0.2", "share_meeting_standard": 0.5,
            "target_share": 0.9, "communities": 10, "shortfalls": 3, "facilities": facilities,
            "fingerprints": "{}", "summary": '{"communities": 10}', "record": record}  # fmt: skip


@pytest.fixture(params=["xlsx", "csv"])
def pool(request, tmp_path):
    """An Excel pool (an openpyxl-written workbook with a sheet of its own) or a CSV pool path."""
    path = tmp_path / f"pool.{request.param}"
    if request.param == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        wb.active.title = "说明"
        wb.active["A1"] = "规划人员自己的工作表"
        wb.save(path)
    return path


def kind(pool) -> str:
    return pool.suffix[1:]


def record(pool, row: dict) -> None:
    write_file_run(pool, kind(pool), row, lock_timeout_s=5)


def table(pool) -> list[list]:
    """The history file's cells as written (header first; empty cells as None)."""
    if kind(pool) == "csv":
        with runs_csv(pool).open(encoding="utf-8-sig", newline="") as fh:
            return [[c if c != "" else None for c in line] for line in csv.reader(fh)]
    ws = load_workbook(pool)[RUNS_SHEET]
    return [list(line) for line in ws.iter_rows(values_only=True)]


def history_file(pool):
    return runs_csv(pool) if kind(pool) == "csv" else pool


def planner_writes(pool, values: dict[str, str]) -> None:
    """A planner adds column 审核意见 (if missing) and writes ``values`` (run id → text) in it,
    then saves the file (the CSV as Excel keeps it: the same UTF-8 with BOM)."""
    if kind(pool) == "csv":
        rows = [[c or "" for c in line] for line in table(pool)]
        if NOTE not in rows[0]:
            rows = [line + [NOTE if i == 0 else ""] for i, line in enumerate(rows)]
        col = rows[0].index(NOTE)
        for line in rows[1:]:
            line[col] = values.get(line[0], line[col])
        with runs_csv(pool).open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
        return
    wb = load_workbook(pool)
    ws = wb[RUNS_SHEET]
    head = [c.value for c in ws[1]]
    col = head.index(NOTE) + 1 if NOTE in head else ws.max_column + 1
    ws.cell(1, col, NOTE).font = Font(bold=True)
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value in values:
            ws.cell(r, col, values[ws.cell(r, 1).value])
    wb.save(pool)


def notes(pool) -> dict[str, str | None]:
    """Run id → the planner's 审核意见 cell."""
    rows = table(pool)
    col = rows[0].index(NOTE)
    return {line[0]: line[col] if col < len(line) else None for line in rows[1:]}


def test_a_new_history_has_the_fixed_header(pool, monkeypatch):
    monkeypatch.setattr(history_files, "CHUNK", 100)  # the record takes two cells
    record(pool, run_row("r1"))
    head = table(pool)[0]
    assert head == [*RUN_COLUMNS, "record_1", "record_2"]
    runs = lc.read_runs(pool)
    assert list(runs.columns) == RUN_COLUMNS and runs["run_id"].tolist() == ["r1"]
    assert read_file_rows(pool, kind(pool))[0]["record"] == run_row("r1")["record"]
    if kind(pool) == "xlsx":  # the pool's own sheets are left alone
        assert load_workbook(pool)["说明"]["A1"].value == "规划人员自己的工作表"


def test_a_planner_column_survives_two_more_runs(pool):
    record(pool, run_row("r1"))
    planner_writes(pool, {"r1": "已核，数据来自2026年普查"})
    record(pool, run_row("r2", "2026-06-30"))
    record(pool, run_row("r3", "2026-09-30"))
    assert notes(pool) == {"r1": "已核，数据来自2026年普查", "r2": None, "r3": None}
    assert table(pool)[0][: len(RUN_COLUMNS)] == RUN_COLUMNS
    runs = lc.read_runs(pool)
    assert runs["run_id"].tolist() == ["r1", "r2", "r3"] and list(runs.columns) == RUN_COLUMNS
    # recording r1 again replaces lifecircle's cells of its row, not the planner's
    record(pool, run_row("r1", facilities=9))
    assert notes(pool)["r1"] == "已核，数据来自2026年普查"
    assert lc.read_runs(pool).set_index("run_id").loc["r1", "facilities"] == 9
    assert len(table(pool)) == 4


def test_excel_keeps_the_planners_formatting_and_formulas(tmp_path):
    pool = tmp_path / "pool.xlsx"
    record(pool, run_row("r1"))
    planner_writes(pool, {"r1": "=J2*2"})  # a formula on the facilities cell
    record(pool, run_row("r2"))
    ws = load_workbook(pool)[RUNS_SHEET]
    col = [c.value for c in ws[1]].index(NOTE) + 1
    assert ws.cell(1, col).font.bold
    assert ws.cell(2, col).value == "=J2*2" and ws.cell(2, col).data_type == "f"


def test_planner_notes_rows_and_blank_header_columns_are_kept(pool):
    """A row without a run id and a column without a header are the planner's: kept, not read
    as runs."""
    record(pool, run_row("r1"))
    rows = table(pool)
    width = len(rows[0])
    if kind(pool) == "csv":
        grid = [[c or "" for c in line] + [""] for line in rows]
        grid[1][width] = "未命名列的值"
        grid.append(["", "2026年第二季度暂停评估"] + [""] * width)
        with runs_csv(pool).open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(grid)
    else:
        wb = load_workbook(pool)
        ws = wb[RUNS_SHEET]
        ws.cell(2, width + 1, "未命名列的值")
        ws.cell(3, 2, "2026年第二季度暂停评估")
        wb.save(pool)
    record(pool, run_row("r2"))
    rows = table(pool)
    assert rows[1][width] == "未命名列的值"
    assert rows[2][:2] == [None, "2026年第二季度暂停评估"]
    assert rows[3][0] == "r2"  # appended after the planner's row
    assert lc.read_runs(pool)["run_id"].tolist() == ["r1", "r2"]


def test_a_lifecircle_column_the_planner_deleted_is_added_back(pool):
    record(pool, run_row("r1"))
    rows = [[c or "" for c in line] for line in table(pool)]
    gone = RUN_COLUMNS.index("summary")
    rows = [line[:gone] + line[gone + 1 :] for line in rows]
    if kind(pool) == "csv":
        with runs_csv(pool).open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
    else:
        wb = load_workbook(pool)
        ws = wb[RUNS_SHEET]
        ws.delete_cols(gone + 1)
        wb.save(pool)
    record(pool, run_row("r2"))
    head = table(pool)[0]
    assert head[-1] == "summary" and head.count("summary") == 1
    summary = lc.read_runs(pool).set_index("run_id")["summary"]
    assert summary.isna()["r1"] and summary["r2"] == '{"communities": 10}'


def test_a_history_without_run_ids_is_refused_not_rewritten(pool):
    record(pool, run_row("r1"))
    if kind(pool) == "csv":
        text = runs_csv(pool).read_text(encoding="utf-8-sig").replace("run_id", "运行编号", 1)
        runs_csv(pool).write_text(text, encoding="utf-8-sig")
    else:
        wb = load_workbook(pool)
        wb[RUNS_SHEET]["A1"] = "运行编号"
        wb.save(pool)
    before = history_file(pool).read_bytes()
    for call in (lambda: record(pool, run_row("r2")), lambda: lc.read_runs(pool)):
        with pytest.raises(PoolError, match="has rows but no run_id column.*put the header back"):
            call()
    assert history_file(pool).read_bytes() == before


def test_a_cell_that_is_not_a_number_is_named(pool):
    record(pool, run_row("r1"))
    col = RUN_COLUMNS.index("shortfalls")
    if kind(pool) == "csv":
        rows = [[c or "" for c in line] for line in table(pool)]
        rows[1][col] = "三个"
        with runs_csv(pool).open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
    else:
        wb = load_workbook(pool)
        wb[RUNS_SHEET].cell(2, col + 1, "三个")
        wb.save(pool)
    with pytest.raises(PoolError, match=r"row 2, column shortfalls: '三个' is not a number"):
        lc.read_runs(pool)


@pytest.fixture
def saved_after_read(pool, monkeypatch):
    """Make another program save the history right after the writer has read it, on the first
    ``times`` tries; returns the list of tries."""
    tries: list[int] = []

    def arrange(times: int) -> list[int]:
        name = "_csv_lines" if kind(pool) == "csv" else "open_workbook"
        original = getattr(history_files, name)

        def read_then_other_program_saves(*args):
            out = original(*args)
            tries.append(1)
            if len(tries) <= times:
                planner_writes(pool, {"r1": f"第{len(tries)}次保存"})
            return out

        monkeypatch.setattr(history_files, name, read_then_other_program_saves)
        return tries

    return arrange


def test_a_history_saved_by_another_program_meanwhile_is_read_again(pool, saved_after_read):
    record(pool, run_row("r1"))
    planner_writes(pool, {"r1": "初稿"})
    tries = saved_after_read(times=1)
    record(pool, run_row("r2"))
    assert len(tries) == 2  # read, found the file changed when replacing, read again
    assert notes(pool) == {"r1": "第1次保存", "r2": None}
    assert lc.read_runs(pool)["run_id"].tolist() == ["r1", "r2"]


def test_a_history_that_keeps_changing_is_not_overwritten(pool, saved_after_read):
    record(pool, run_row("r1"))
    planner_writes(pool, {"r1": "初稿"})
    tries = saved_after_read(times=99)
    files = sorted(p.name for p in pool.parent.iterdir())
    with pytest.raises(PoolError) as err:
        record(pool, run_row("r2"))
    assert str(err.value).startswith(
        f"{history_file(pool)} was changed by another program during each of 3 tries; "
        "nothing was written. Close the program that keeps saving it"
    )
    assert len(tries) == 3 and notes(pool) == {"r1": "第3次保存"}
    assert sorted(p.name for p in pool.parent.iterdir()) == files  # no lock or temporary file
