"""The run history of file pools that are not GeoPackages: Excel and CSV.

An Excel pool keeps its runs in a sheet ``运行记录`` of the workbook (the pool's other sheets
untouched); a CSV pool in a CSV file beside it, ``<pool>.runs.csv`` (UTF-8 with BOM, as the pool).
The columns are :data:`~.schema.RUN_COLUMNS`, then the record; an Excel cell holds at most 32,767
characters, so the record's JSON is cut into ``record_1``, ``record_2`` … cells and joined again
on reading.

Recording a run writes only lifecircle's cells: its header cells and the cells of the run's row
(a new row, or the row of the same run id). Columns planners added, and their values in every
row, stay where they are; lifecircle's columns missing from the header are added after the last
column. Writers take turns on the pool's lock file and start over when another program saved
the file meanwhile (:func:`~.locking.write_retrying`), as exports do.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from ..._errors import PoolError
from ..._files import decode_text
from ..tables import csv_text, csv_text_back, excel_text
from .locking import replace_unless_changed, signature, write_retrying
from .schema import RUN_COLUMNS
from .xlsx import open_workbook, read_sheet

#: The sheet of an Excel pool that holds its run history.
RUNS_SHEET = "运行记录"
#: Characters of the record per cell (Excel's limit is 32,767).
CHUNK = 32_000
_RECORD = re.compile(r"record_(\d+)")
_INT = ("communities", "shortfalls", "facilities")
_FLOAT = ("share_meeting_standard", "target_share")


def runs_csv(pool: Path) -> Path:
    """The run history beside a CSV pool: ``pool.csv`` → ``pool.runs.csv``."""
    return pool.with_name(pool.stem + ".runs.csv")


def write_file_run(path: Path, kind: str, row: dict[str, Any], lock_timeout_s: float) -> None:
    """Add ``row`` (:data:`~.schema.RUN_COLUMNS` and ``record``) to the history of the Excel or
    CSV pool ``path``, replacing the row of the same run id; planners' columns are kept."""
    text = row["record"]
    pieces = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    values = {k: row.get(k) for k in RUN_COLUMNS}
    values.update((f"record_{i}", p) for i, p in enumerate(pieces, start=1))
    if kind == "csv":
        out = runs_csv(path)
        write_retrying(path, lambda: _add_to_csv(out, values), lock_timeout_s, label=str(out))
    else:
        write_retrying(path, lambda: _add_to_sheet(path, values), lock_timeout_s)


def _blank(value: object) -> bool:
    return value is None or value == ""


def _extent(lines: list[Any]) -> tuple[list[list[Any]], int]:
    """``lines`` without trailing blank rows, and the width up to the last non-blank cell."""
    lines = [list(line) for line in lines]
    while lines and all(_blank(v) for v in lines[-1]):
        lines.pop()
    ends = [max((i + 1 for i, v in enumerate(line) if not _blank(v)), default=0) for line in lines]
    return lines, max(ends, default=0)


def _names(head: list[Any]) -> dict[str, int]:
    """Header text → its first column (0-based)."""
    at: dict[str, int] = {}
    for i, h in enumerate(head):
        if not _blank(h):
            at.setdefault(str(h).strip(), i)
    return at


def _layout(
    lines: list[list[Any]], width: int, values: dict[str, Any], where: str
) -> dict[str, int]:
    """Column of each of lifecircle's cells: where the header names it, else after ``width``.

    Record pieces the file has beyond those in ``values`` are included (to be emptied). A file
    with rows but no ``run_id`` header raises: its runs could not be told apart.
    """
    at = _names(lines[0]) if lines else {}
    if "run_id" not in at and len(lines) > 1:
        raise PoolError(_no_run_id(where))
    col_of: dict[str, int] = {}
    for name in values:
        if name not in at:
            at[name], width = width, width + 1
        col_of[name] = at[name]
    col_of.update((n, i) for n, i in at.items() if _RECORD.fullmatch(n) and n not in col_of)
    return col_of


def _no_run_id(where: str) -> str:
    return (
        f"{where}: the run history has rows but no run_id column in its first row; put the "
        f"header back (lifecircle's columns: {', '.join(RUN_COLUMNS)}, record_1 …) or move the "
        "file away; nothing was written"
    )


def _row_of(lines: list[list[Any]], col: int, run_id: str) -> int:
    """Index in ``lines`` of the last row of ``run_id``, else the index after the last row."""
    found = [r for r, line in enumerate(lines[1:], start=1)
             if col < len(line) and str(line[col]).strip() == run_id]  # fmt: skip
    return found[-1] if found else max(len(lines), 1)


def _cells(
    lines: list[list[Any]], width: int, values: dict[str, Any], where: str
) -> tuple[dict[str, int], int]:
    """(column of each lifecircle cell, index of the run's row) in a history of ``lines``."""
    col_of = _layout(lines, width, values, where)
    return col_of, _row_of(lines, col_of["run_id"], str(values["run_id"]))


def _csv_lines(src: Path) -> list[list[str]]:
    text, _ = decode_text(src.read_bytes(), str(src), error=PoolError)
    return list(csv.reader(io.StringIO(text, newline="")))


def _add_to_csv(out: Path, values: dict[str, Any]) -> None:
    """Write the run into ``<pool>.runs.csv``; other cells are written back as they were read."""
    seen = signature(out)  # before reading: a change made after it is caught when replacing
    lines, width = _extent(_csv_lines(out) if seen is not None else [])
    col_of, r = _cells(lines, width, values, str(out))
    size = max([width, *(c + 1 for c in col_of.values())])
    grid = [line + [""] * (size - len(line)) for line in lines or [[]]]
    if r == len(grid):
        grid.append([""] * size)
    for name, c in col_of.items():
        value = values.get(name)
        grid[0][c] = name
        grid[r][c] = "" if value is None else csv_text(value)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(grid)

    replace_unless_changed(out, write, seen)


def _add_to_sheet(path: Path, values: dict[str, Any]) -> None:
    """Write the run into sheet ``运行记录`` of the workbook (created at the end if missing);
    only lifecircle's header cells and the run's row are written."""
    seen = signature(path)  # before reading: a change made after it is caught when replacing
    wb = open_workbook(path, RUNS_SHEET)
    fresh = RUNS_SHEET not in wb.sheetnames
    ws = wb.create_sheet(RUNS_SHEET) if fresh else wb[RUNS_SHEET]
    lines, width = _extent([] if fresh else list(ws.iter_rows(values_only=True)))
    col_of, r = _cells(lines, width, values, f"{path} sheet {RUNS_SHEET!r}")
    for name, c in col_of.items():
        ws.cell(1, c + 1).value = name
        cell = ws.cell(r + 1, c + 1)
        cell.value = None if values.get(name) == "" else values.get(name)
        excel_text(cell)
    if fresh:
        ws.freeze_panes = "B2"
    replace_unless_changed(path, wb.save, seen)


def read_file_rows(path: Path, kind: str) -> list[dict[str, Any]]:
    """The recorded runs of an Excel or CSV pool, in the order they were recorded (no file or
    sheet: none); rows without a run id (planners' notes) are skipped."""
    src = runs_csv(path) if kind == "csv" else path
    if not src.exists():
        return []
    where = str(src) if kind == "csv" else f"{src} sheet {RUNS_SHEET!r}"
    raw = _csv_lines(src) if kind == "csv" else read_sheet(src, RUNS_SHEET) or []
    lines, _ = _extent(raw)
    if not lines:
        return []
    at = {n: i for n, i in _names(lines[0]).items() if n in RUN_COLUMNS or _RECORD.fullmatch(n)}
    if "run_id" not in at:
        if len(lines) > 1:
            raise PoolError(_no_run_id(where))
        return []
    out = []
    for r, line in enumerate(lines[1:], start=2):
        cells = {n: line[i] if i < len(line) else None for n, i in at.items()}
        if kind == "csv":
            cells = {n: csv_text_back(v) for n, v in cells.items()}
        if not _blank(cells["run_id"]):
            out.append(_typed(cells, f"{where} row {r}"))
    return out


def _number(value: object, name: str, where: str) -> float | None:
    if _blank(value):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PoolError(
            f"{where}, column {name}: {value!r} is not a number; lifecircle writes this cell, "
            "correct it or clear it"
        ) from None


def _typed(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """A row read back: the record's pieces joined, numbers as numbers, text as text."""
    parts = sorted((int(m.group(1)), v) for k, v in raw.items() if (m := _RECORD.fullmatch(k)))
    out = {k: raw.get(k) for k in RUN_COLUMNS}
    out["record"] = "".join("" if v is None else str(v) for _, v in parts)
    for k in _FLOAT:
        out[k] = _number(out[k], k, where)
    for k in _INT:
        n = _number(out[k], k, where)
        out[k] = None if n is None else int(n)
    for k in RUN_COLUMNS:
        if k not in _INT + _FLOAT:
            out[k] = None if _blank(out[k]) else str(out[k])
    return out
