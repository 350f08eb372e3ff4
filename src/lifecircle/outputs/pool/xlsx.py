"""Excel store: the existing workbook is edited in place (other sheets, colours, comments kept).

Chinese headers (``headers="en"`` for English), a frozen header row and id column, filters,
widths, a 项目状态 drop-down, a 字段说明 sheet and a hidden ``lifecircle_meta`` sheet. Only the
cells lifecircle owns are written; the workbook is saved beside the target and moved into place.
A file at the pool path that is not a readable workbook (cut short, a CSV renamed ``.xlsx``, an
old ``.xls``, a workbook openpyxl cannot parse) raises :class:`PoolError` naming the file, what is
wrong and the fix; it is never rewritten.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import settings
from ..._errors import LifecircleError, PoolError
from ..._progress import progress
from ..tables import excel_text
from .backend import ExportJob, Stored, Target, Written
from .locking import replace_unless_changed, signature
from .merge import Plan
from .schema import (
    CODE_COLUMNS,
    COLUMN,
    META_TABLE,
    POOL_COLUMNS,
    REFRESHED,
    STATUSES,
    check_version,
    meta_items,
)
from .tabular import (
    LONLAT,
    TABULAR,
    from_tabular,
    header,
    header_lang,
    labels,
    lonlat,
    tabular_value,
)
from .values import Row, is_na, record

#: Parts of a workbook openpyxl cannot carry over: refuse to rewrite such a file.
_UNSUPPORTED = ("xl/drawings/drawing", "xl/charts/", "xl/media/", "xl/pivotTables/",
                "xl/vbaProject", "xl/slicers/")  # fmt: skip
_ABOUT = "字段说明"
_FORMATS = {"new_covered_pop": "#,##0", "uncovered_pop": "#,##0", "nearest_m": "#,##0",
            "threshold_m": "#,##0", "priority_score": "0.000", "year": "0",
            "lon": "0.000000", "lat": "0.000000"}  # fmt: skip
_WIDE = {"reason_zh": 48, "reason_en": 48, "notes": 30, "owner": 16}


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _sheet_rows(title: str, lines: Iterable[tuple]) -> tuple[list[str | None], list[Row]]:
    """Column names of sheet ``title`` (None for empty headers) and its rows (with ``_row``),
    from its cell values ``lines``."""
    accepted = labels()
    rows_iter = iter(lines)
    first = next(rows_iter, None) or ()
    names = [accepted.get(str(h).strip().lower(), str(h)) if h is not None else None
             for h in first]  # fmt: skip
    if "project_id" not in names:
        raise PoolError(f"sheet {title!r} is not a lifecircle pool (no 项目编号/project_id)")
    rows = []
    for r, values in enumerate(rows_iter, start=2):
        if values is None or all(is_na(v) for v in values):
            continue
        raw = {n: v for n, v in zip(names, values, strict=False) if n is not None}
        rec = from_tabular(raw)
        rec["_row"] = r
        rows.append(rec)
    return names, rows


def _cell(ws: Any, r: int, c: int, name: str, rec: Row, lang: str) -> None:
    cell = ws.cell(row=r, column=c)
    # set even when None: ws.cell(value=None) would keep the old value
    cell.value = tabular_value(rec.get(name), lang, name, rec.get("profile"))
    excel_text(cell)  # text such as "=HYPERLINK(...)" stays text, never a formula
    if name in CODE_COLUMNS or name == "project_id":
        cell.number_format = "@"
    elif name in _FORMATS:
        cell.number_format = _FORMATS[name]


def _style_header(ws: Any, columns: list[str], lang: str, first_col: int = 1) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    planner = PatternFill("solid", fgColor="FFF2CC")
    computed = PatternFill("solid", fgColor="DDEBF7")
    for i, name in enumerate(columns[first_col - 1 :], start=first_col):
        cell = ws.cell(row=1, column=i, value=header(name, lang))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=False)
        owner = COLUMN[name].owner if name in COLUMN else "computed"
        cell.fill = planner if owner == "planner" else computed
        if name in COLUMN:
            who = (
                "规划人员填写，导出不会覆盖"
                if owner == "planner"
                else "lifecircle 计算，重新导出时刷新"
            )
            cell.comment = Comment(f"{COLUMN[name].description}\n({who})", "lifecircle",
                                   width=320, height=120)  # fmt: skip
        width = max(_display_width(cell.value) + 2, 8)
        width = _WIDE.get(name, width)
        ws.column_dimensions[get_column_letter(i)].width = min(width, 60)


def _autowidth(ws: Any, columns: list[str], rows: list[Row]) -> None:
    from openpyxl.utils import get_column_letter

    for i, name in enumerate(columns, start=1):
        if name in _WIDE:
            continue
        letter = get_column_letter(i)
        sample = [r.get(name) for r in rows[:200]] if name not in LONLAT else [0.0000001]
        widest = max([_display_width(v) for v in sample] + [0])
        ws.column_dimensions[letter].width = min(
            max(ws.column_dimensions[letter].width or 8, widest + 2), 60
        )


def _about(wb: Any) -> None:
    if _ABOUT in wb.sheetnames:
        return
    ws = wb.create_sheet(_ABOUT)
    ws.append(
        [
            "字段 column",
            "中文表头",
            "English header",
            "类型 type",
            "维护方 owner",
            "说明 description",
        ]
    )
    for c in POOL_COLUMNS:
        ws.append([c.name, c.zh, c.en, c.dtype, "规划人员 planner" if c.owner == "planner" else
                   "计算 computed", c.description])  # fmt: skip
    for letter, width in zip("ABCDEF", (18, 18, 24, 8, 16, 90), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def _meta(wb: Any, layer: str, run_id: str) -> None:
    if META_TABLE in wb.sheetnames:
        ws = wb[META_TABLE]
    else:
        ws = wb.create_sheet(META_TABLE)
        ws.append(["layer", "key", "value"])
        ws.sheet_state = "hidden"
    where = {(row[0].value, row[1].value): row[2] for row in ws.iter_rows(min_row=2)}
    for key, value in meta_items(run_id):
        if (layer, key) in where:
            cell = where[(layer, key)]
            cell.value = value
        else:
            ws.append([layer, key, value])
            cell = ws.cell(ws.max_row, 3)
        excel_text(cell)


def _version(wb: Any, layer: str) -> object:
    if META_TABLE not in wb.sheetnames:
        return None
    for row in wb[META_TABLE].iter_rows(min_row=2, values_only=True):
        if row[:2] == (layer, "schema_version"):
            return row[2]
    return None


def _status_validation(ws: Any, col: int) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    letter = get_column_letter(col)
    dv = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=True,
                        errorStyle="warning", showErrorMessage=True, errorTitle="项目状态",
                        error="建议使用：" + "、".join(STATUSES))  # fmt: skip
    dv.add(f"{letter}2:{letter}1048576")
    ws.add_data_validation(dv)


#: How an old Excel 97-2003 (.xls) file, or a password-protected workbook, starts (OLE2).
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _unreadable(path: Path, exc: Exception) -> PoolError:
    """The error for a file at ``path`` that openpyxl cannot read: what is wrong, and the fix."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""
    resave = "open it in Excel or WPS and save it again as an Excel workbook (.xlsx)"
    if isinstance(exc, OSError):
        what = "it cannot be opened (a folder, or a file this account may not read?)"
        fix = "check the path and the file's permissions"
    elif not head:
        what, fix = "the file is empty", "restore it from a backup"
    elif head == _OLE:
        what = "it is an old Excel 97-2003 (.xls) file or a password-protected workbook"
        fix = f"{resave} without a password"
    elif not head.startswith(b"PK"):
        what = "it is not an .xlsx workbook (perhaps a CSV or text file renamed .xlsx)"
        fix = f"{resave}, or if it is a CSV pool, give it back its .csv name"
    elif isinstance(exc, zipfile.BadZipFile):
        what = "the workbook is cut short or damaged (an incomplete copy or download?)"
        fix = f"copy it again or restore it from a backup, or {resave}"
    else:
        what = "the workbook is damaged or was saved in a form openpyxl cannot read"
        fix = resave
    return PoolError(
        f"{path} cannot be read as an Excel workbook: {what} ({type(exc).__name__}: {exc}). "
        f"Nothing was written to it. Fix: {fix}; or move the file away (rename it) and run "
        "again to start a new pool at this path."
    )


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn what openpyxl or zipfile raise on an unreadable file into :func:`_unreadable`."""
    try:
        yield
    except LifecircleError:
        raise
    except Exception as exc:
        raise _unreadable(path, exc) from exc


def read_sheet(path: Path, sheet: str) -> list[tuple] | None:
    """The cell values of sheet ``sheet`` of the workbook at ``path``, row by row (None when it
    has no such sheet); :class:`PoolError` naming the fix when the file is not a readable
    workbook."""
    from openpyxl import load_workbook

    with _readable(path):
        wb = load_workbook(path, read_only=True)
        try:
            if sheet not in wb.sheetnames:
                return None
            return list(wb[sheet].iter_rows(values_only=True))
        finally:
            wb.close()


def open_workbook(path: Path, layer: str) -> Any:
    """The workbook at ``path`` to edit (refusing parts openpyxl would drop), or a new empty
    one; :class:`PoolError` naming the fix when the file is not a readable workbook."""
    from openpyxl import Workbook, load_workbook

    if not path.exists():
        wb = Workbook()
        wb.remove(wb.active)
        return wb
    with _readable(path):
        with zipfile.ZipFile(path) as zf:
            bad = [n for n in zf.namelist() if n.startswith(_UNSUPPORTED)]
        if bad:
            raise PoolError(
                f"{path} holds charts, images, pivot tables or macros ({bad[0]}) that cannot be "
                "kept when the workbook is rewritten; export to a new file, or move them to "
                "another workbook"
            )
        wb = load_workbook(path)
    check_version(_version(wb, layer), f"{path} sheet {layer!r}")
    return wb


@dataclass
class _Sheet:
    """The pool sheet being written: its columns (file order), language, rows read."""

    ws: Any
    columns: list[Any]
    lang: str
    existing: list[Row] | None
    fresh: bool


def _sheet(wb: Any, layer: str, headers: str | None) -> _Sheet:
    if layer not in wb.sheetnames:
        ws = wb.create_sheet(layer, 0)
        return _Sheet(ws, [], headers or settings.language, None, True)
    ws = wb[layer]
    names, existing = _sheet_rows(ws.title, ws.iter_rows(values_only=True))
    lang = headers or header_lang([str(ws.cell(1, i + 1).value) for i in range(len(names))])
    return _Sheet(ws, list(names), lang or settings.language, existing, False)


def _write_plan(sheet: _Sheet, plan: Plan, col_of: dict[str, int]) -> None:
    ws = sheet.ws
    next_row = max([ws.max_row if not sheet.fresh else 1] + [r.get("_row", 0) for r in plan.rows])
    next_row += 1
    book = ("in_latest_run", "missing_since")
    for row in progress(plan.written(), desc="pool: writing Excel", unit="project"):
        rec = record(row)
        rec["lon"], rec["lat"] = lonlat(rec.get("geometry"))
        action = row["_action"]
        if action == "add":
            r, names = next_row, TABULAR
            next_row += 1
        else:
            r = row["_row"]
            names = book if action == "retire" else [*REFRESHED, "lon", "lat"]
        for name in names:
            if name != "geometry":
                _cell(ws, r, col_of[name], name, rec, sheet.lang)


class Excel:
    """The Excel store (:class:`~.backend.Backend`)."""

    def read(
        self, target: Target, layer: str, schema: str | None, connect_timeout_s: float
    ) -> Stored:
        """Rows of sheet ``layer`` and the planner-added columns, or ``Stored(None, [])``."""
        lines = read_sheet(target.path, layer)
        if lines is None:
            return Stored(None, [])
        names, rows = _sheet_rows(layer, lines)
        for r in rows:
            r.pop("_row", None)
        return Stored(rows, [n for n in names if n is not None and n not in TABULAR])

    def export(self, target: Target, job: ExportJob) -> Written:
        """Write only lifecircle's cells of the pool sheet; save beside, then move."""
        from openpyxl.utils import get_column_letter

        path: Path = target.path
        seen = signature(path)
        wb = open_workbook(path, job.layer)
        sheet = _sheet(wb, job.layer, job.headers)
        ws, columns = sheet.ws, sheet.columns
        first_new = len(columns) + 1
        columns += [n for n in TABULAR if n not in columns]
        col_of = {n: i for i, n in enumerate(columns, start=1) if n is not None}
        if sheet.fresh or first_new <= len(columns):
            _style_header(ws, columns, sheet.lang, first_col=first_new)
        plan = job.plan_for(sheet.existing)
        _write_plan(sheet, plan, col_of)
        if sheet.fresh:
            ws.freeze_panes = "B2"
            _status_validation(ws, col_of["status"])
            _autowidth(ws, columns, plan.rows)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 2)}"
        _about(wb)
        _meta(wb, job.layer, job.run_id)
        replace_unless_changed(path, wb.save, seen)
        return Written(plan.counts, sum(1 for r in plan.rows if r.get("project_id") is not None))
