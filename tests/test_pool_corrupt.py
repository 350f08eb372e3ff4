"""A file at an Excel pool's path that is not a readable workbook is reported, never rewritten.

Each bad file is made from a real workbook written by an export (cut short, parts removed or
broken) or is another kind of file given the .xlsx name. Exporting to it, reading it, recording
a run into it and reading its run history each raise a PoolError that names the file, says what
is wrong and how to fix it; the file's bytes are unchanged and nothing is left beside it.
"""

from __future__ import annotations

import io
import zipfile

import pytest

import lifecircle as lc
from lifecircle import PoolError, export_pool, read_pool
from lifecircle.outputs.pool.history_files import write_file_run
from test_history_files import run_row
from test_pool import three

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _rezip(good: bytes, drop: str = "", replace: dict[str, bytes] | None = None) -> bytes:
    """The workbook ``good`` with part ``drop`` left out and parts in ``replace`` replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != drop:
                dst.writestr(info, (replace or {}).get(info.filename, src.read(info)))
    return out.getvalue()


#: name → (how the bad file is made from a good workbook's bytes, what the error says is wrong)
BAD = {
    "cut_short": (lambda good: good[: len(good) // 2], "is cut short or damaged"),
    "csv_renamed": (lambda good: "项目编号,社区名称\nP1,禾兴社区\n".encode("utf-8-sig"),
                    "not an .xlsx workbook (perhaps a CSV or text file renamed .xlsx)"),
    "old_xls": (lambda good: OLE + bytes(504), "old Excel 97-2003 (.xls) file"),
    "empty": (lambda good: b"", "the file is empty"),
    "no_workbook_part": (lambda good: _rezip(good, drop="xl/workbook.xml"),
                         "damaged or was saved in a form openpyxl cannot read"),
    "broken_sheet_xml": (lambda good: _rezip(good, replace={"xl/worksheets/sheet1.xml":
                                                            b"<worksheet><sheetData><row r="}),
                         "damaged or was saved in a form openpyxl cannot read"),
}  # fmt: skip
CALLS = {
    "export_pool": lambda path: export_pool(three(), path, run_id="r2"),
    "read_pool": read_pool,
    "record_run": lambda path: write_file_run(path, "xlsx", run_row("r2"), lock_timeout_s=5),
    "read_runs": lc.read_runs,
}


@pytest.fixture(scope="module")
def good_workbook(tmp_path_factory) -> bytes:
    """The bytes of a pool workbook written by an export (its pool sheet is sheet1.xml)."""
    path = tmp_path_factory.mktemp("good") / "pool.xlsx"
    export_pool(three(), path, run_id="r1")
    with zipfile.ZipFile(path) as zf:
        assert "xl/worksheets/sheet1.xml" in zf.namelist()
    return path.read_bytes()


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("bad", BAD)
def test_an_unreadable_workbook_is_named_with_the_fix_and_left_alone(
    tmp_path, good_workbook, bad, call
):
    make, what = BAD[bad]
    path = tmp_path / "pool.xlsx"
    path.write_bytes(make(good_workbook))
    before = path.read_bytes()
    with pytest.raises(PoolError) as err:
        CALLS[call](path)
    msg = str(err.value)
    assert msg.startswith(f"{path} cannot be read as an Excel workbook: ")
    assert what in msg
    assert "Nothing was written to it. Fix: " in msg and "move the file away" in msg
    if bad not in ("empty", "cut_short"):
        assert "save it again as an Excel workbook (.xlsx)" in msg
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["pool.xlsx"]


@pytest.mark.parametrize("call", CALLS)
def test_a_folder_at_the_pool_path_is_named_and_left_alone(tmp_path, call):
    path = tmp_path / "pool.xlsx"
    path.mkdir()
    (path / "planner.txt").write_text("规划人员的文件", encoding="utf-8")
    with pytest.raises(
        PoolError, match=r"cannot be read as an Excel workbook: it cannot be opened"
    ):
        CALLS[call](path)
    assert [p.name for p in path.iterdir()] == ["planner.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["pool.xlsx"]
