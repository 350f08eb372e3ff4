"""The run history of file pools that are not GeoPackages: Excel and CSV.

An Excel pool keeps its runs in a sheet ``运行记录`` of the workbook (the pool's other sheets
untouched); a CSV pool in a CSV file beside it, ``<pool>.runs.csv`` (UTF-8 with BOM, as the pool).
The columns are those of the GeoPackage table; an Excel cell holds at most 32,767 characters, so
the record's JSON is cut into ``record_1``, ``record_2`` … cells and joined again on reading.
Writers take turns on the pool's lock file, as exports do.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..._errors import PoolError
from ..._files import decode_text
from ..tables import csv_text, csv_text_back, excel_text
from .locking import exclusive, replace_unless_changed, signature
from .xlsx import open_workbook

#: The sheet of an Excel pool that holds its run history.
RUNS_SHEET = "运行记录"
#: Characters of the record per cell (Excel's limit is 32,767).
CHUNK = 32_000
_INT = ("communities", "shortfalls", "facilities")
_FLOAT = ("share_meeting_standard", "target_share")


def runs_csv(pool: Path) -> Path:
    """The run history beside a CSV pool: ``pool.csv`` → ``pool.runs.csv``."""
    return pool.with_name(pool.stem + ".runs.csv")


def write_file_run(path: Path, kind: str, row: dict[str, Any], lock_timeout_s: float) -> None:
    """Add ``row`` (the columns of the GeoPackage table, with ``record``) to the history of
    the Excel or CSV pool ``path``, replacing a row of the same run id."""
    with exclusive(path, lock_timeout_s):
        rows = [r for r in read_file_rows(path, kind) if r["run_id"] != row["run_id"]]
        rows.append({k: ("" if v is None else v) for k, v in row.items()})
        if kind == "csv":
            out = runs_csv(path)
            replace_unless_changed(out, lambda tmp: _write_csv(tmp, rows), signature(out))
            return
        seen = signature(path)
        wb = open_workbook(path, RUNS_SHEET)
        _fill_sheet(wb, rows)
        replace_unless_changed(path, wb.save, seen)


def read_file_rows(path: Path, kind: str) -> list[dict[str, Any]]:
    """The recorded runs of an Excel or CSV pool, in the order they were recorded (no file or
    sheet: none)."""
    if kind == "csv":
        src = runs_csv(path)
        if not src.exists():
            return []
        text, _ = decode_text(src.read_bytes(), str(src), error=PoolError)
        lines = [[csv_text_back(c) for c in line]
                 for line in csv.reader(io.StringIO(text, newline=""))]  # fmt: skip
    else:
        if not path.exists():
            return []
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            if RUNS_SHEET not in wb.sheetnames:
                return []
            lines = [["" if v is None else v for v in r]
                     for r in wb[RUNS_SHEET].iter_rows(values_only=True)]  # fmt: skip
        finally:
            wb.close()
    if not lines:
        return []
    head = [str(h) for h in lines[0]]
    return [_typed(dict(zip(head, line, strict=False))) for line in lines[1:] if any(line)]


def _typed(raw: dict[str, Any]) -> dict[str, Any]:
    """A row read back: the record's pieces joined, numbers as numbers, text as text."""
    parts = sorted((int(k.split("_")[1]), v) for k, v in raw.items() if k.startswith("record_"))
    out = {k: v for k, v in raw.items() if not k.startswith("record_")}
    out["record"] = "".join(str(v) for _, v in parts)
    for k in _INT:
        out[k] = None if out.get(k) in ("", None) else int(out[k])
    for k in _FLOAT:
        out[k] = None if out.get(k) in ("", None) else float(out[k])
    for k in ("run_id", "run_date", "profile", "profile_version", "lifecircle_version",
              "fingerprints", "summary"):  # fmt: skip
        out[k] = None if out.get(k) in ("", None) else str(out[k])
    return out


def _flat(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Header and cells: the record cut into ``record_1`` … pieces of :data:`CHUNK`."""
    pieces = [[r["record"][i:i + CHUNK] for i in range(0, len(r["record"]), CHUNK)] or [""]
              for r in rows]  # fmt: skip
    n = max(len(p) for p in pieces)
    cols = [k for k in rows[0] if k != "record"]
    head = [*cols, *(f"record_{i + 1}" for i in range(n))]
    cells = [[r[k] for k in cols] + p + [""] * (n - len(p)) for r, p in zip(rows, pieces, strict=True)]
    return head, cells


def _write_csv(tmp: Path, rows: list[dict[str, Any]]) -> None:
    head, cells = _flat(rows)
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(head)
        out.writerows([[csv_text(v) if isinstance(v, str) else v for v in line] for line in cells])


def _fill_sheet(wb: Any, rows: list[dict[str, Any]]) -> None:
    """The ``运行记录`` sheet written anew with ``rows`` (created at the end if missing)."""
    if RUNS_SHEET in wb.sheetnames:
        del wb[RUNS_SHEET]
    ws = wb.create_sheet(RUNS_SHEET)
    head, cells = _flat(rows)
    ws.append(head)
    for line in cells:
        ws.append(line)
        for cell in ws[ws.max_row]:
            excel_text(cell)
    ws.freeze_panes = "B2"
