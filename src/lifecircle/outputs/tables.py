"""Writing the analysis results for colleagues: Excel workbooks and CSV with Chinese headers.

Text that a spreadsheet would take for a formula (a community named ``=HYPERLINK(...)``) is
written as text: an Excel cell of type text, a CSV cell with a leading apostrophe
(:func:`csv_text`, the usual advice against CSV injection). Numbers stay numbers.

:data:`COLUMNS` (from :mod:`lifecircle.outputs.labels`, the one label table) explains every output
column in Chinese and English; it is also the source of the column tables in ``docs/outputs.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._files import atomic_write
from ..standards import Profile
from .labels import COLUMNS, VALUES, YES_NO
from .present import Presented, present

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..analysis.programme import Programme

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS", "FORMULA_START", "csv_text", "csv_text_back", "excel_text", "formula_like",
    "headers", "facility_names", "summary_table", "write_csv", "write_excel",
]  # fmt: skip

#: First characters that make Excel or LibreOffice read a typed-in cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: (attribute of Analysis, Chinese sheet, English sheet); ``summary`` is the headline sheet.
SHEETS = [
    ("summary", "总体情况", "Summary"),
    ("shortfalls", "短板社区", "Shortfalls"),
    ("data_gaps", "数据核查清单", "Data checklist"),
    ("categories", "短板设施", "Categories"),
    ("index", "服务指数", "Service index"),
    ("index_by_compound", "小区指数", "By compound"),
    ("index_by_street", "街道汇总", "By street"),
    ("index_by_county", "区县汇总", "By county"),
    ("coverage", "覆盖明细", "Coverage"),
    ("sites", "建议选址", "Proposed sites"),
]


def headers(columns: list[str], lang: str = "zh") -> list[str]:
    """Display headers for ``columns`` in ``lang`` ("zh" or "en"); unknown columns unchanged."""
    i = 0 if lang == "zh" else 1
    return [COLUMNS[c][i] if c in COLUMNS else c for c in columns]


def formula_like(value: object) -> bool:
    """Whether ``value`` is text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def excel_text(cell: Any) -> None:
    """Keep a text cell of an openpyxl sheet text: ``=...`` would otherwise become a formula."""
    if formula_like(cell.value):
        cell.data_type = "s"


def csv_text(value: object) -> object:
    """A CSV cell spreadsheets show as written: an apostrophe before formula-like text.

    Text already starting with apostrophes before such a character gets one more, so that
    :func:`csv_text_back` returns exactly what was given. Anything else is returned as is.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text_back(text: str) -> str:
    """The text :func:`csv_text` was given: its apostrophe removed, and only that one."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text


def _text_columns(df: pd.DataFrame) -> list[int]:
    """Positions of the columns that may hold text (not numbers, booleans or dates)."""
    return [j for j in range(df.shape[1]) if df.dtypes.iloc[j].kind not in "fiubmMc"]


def excel_texts_stay_text(ws: Any, df: pd.DataFrame, header_row: int = 1) -> None:
    """Mark the formula-like text cells ``df.to_excel`` wrote into ``ws`` (its headers in row
    ``header_row``, 1 = the first) as text: a name such as ``=HYPERLINK(…)`` stays a name."""
    for cell in ws[header_row]:
        excel_text(cell)
    for j in _text_columns(df):
        hits = np.flatnonzero(df.iloc[:, j].map(formula_like).to_numpy(dtype=bool))
        for i in hits:
            excel_text(ws.cell(row=int(i) + header_row + 1, column=j + 1))


def facility_names(analysis: Analysis) -> pd.Series:
    """Facility id → name (the id where a facility has no name)."""
    fac = analysis.facilities
    ids = pd.Series(fac.index, index=fac.index)
    if "name" not in fac.columns:
        return ids
    return fac["name"].where(fac["name"].notna() & (fac["name"].astype(str) != ""), ids)


def summary_table(analysis: Analysis, lang: str = "zh") -> pd.DataFrame:
    """The headline numbers for the first sheet: ``item``, ``value`` and the Excel ``format``."""
    s = analysis.summary
    zh = lang == "zh"
    share_of = VALUES["share_of"][s["share_of"]][0 if zh else 1]
    yes_no = YES_NO[bool(s["meets_target"])][0 if zh else 1]
    rows = [
        ("标准配置" if zh else "Standard profile", s["profile"], None),
        ("社区数" if zh else "Communities", s["communities"], "#,##0"),
        ("常住人口" if zh else "Population", round(s["population"]), "#,##0"),
        ("设施类别数" if zh else "Categories", s["categories"], "#,##0"),
        ("缺数据未评估的类别数" if zh else "Categories not assessed (no data)",
         s["categories_not_assessed"], "#,##0"),
        ("数据核查项" if zh else "Data checklist items", s["data_gaps"], "#,##0"),
        ("设施数" if zh else "Facilities", s["facilities"], "#,##0"),
        ("短板数" if zh else "Shortfalls", s["shortfalls"], "#,##0"),
        (f"达标社区比例 ({share_of})" if zh else f"Share meeting the standard ({share_of})",
         s["share_meeting_standard"], "0%"),
        ("目标比例" if zh else "Target share", s["target_share"], "0%"),
        ("达到目标" if zh else "Meets the target", yes_no, None),
        ("城镇社区达标比例" if zh else "Urban communities meeting", s["share_meeting_urban"], "0%"),
        ("村达标比例" if zh else "Villages meeting", s["share_meeting_village"], "0%"),
        ("全部社区达标比例" if zh else "All communities meeting", s["share_meeting_all"], "0%"),
        ("设施服务指数 (人口加权)" if zh else "Service index (population-weighted)",
         round(s["mean_service_index"], 1), "0.0"),
        ("分析批次" if zh else "Run", s["run_id"], None),
        ("分析时间 (UTC)" if zh else "Run time (UTC)", analysis.created_at, None),
    ]  # fmt: skip
    return pd.DataFrame(
        {
            "item": [r[0] for r in rows],
            "value": [_blank_nan(r[1]) for r in rows],
            "format": [r[2] for r in rows],
        }
    )


def _blank_nan(v: object) -> object:
    return None if isinstance(v, float) and v != v else v


def _sheet_frame(analysis: Analysis, attr: str, lang: str) -> Presented | None:
    df = getattr(analysis, attr)
    if df is None or (attr == "sites" and len(df) == 0):
        return None
    return present(df, lang, profile=analysis.profile, facility_names=facility_names(analysis))


def _fit_columns(ws: Any, df: pd.DataFrame) -> None:
    from openpyxl.utils import get_column_letter

    for j, col in enumerate(df.columns, start=1):
        sample = [str(col)] + [str(v) for v in df.iloc[:200, j - 1].tolist()]
        width = max(_display_width(s) for s in sample)
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)


def _number_formats(ws: Any, columns: list[str], formats: dict[str, str], n_rows: int) -> None:
    for j, col in enumerate(columns, start=1):
        fmt = formats.get(col)
        if fmt:
            for r in range(2, n_rows + 2):
                ws.cell(row=r, column=j).number_format = fmt


def _write_summary(xw: Any, analysis: Analysis, lang: str, name: str) -> None:
    table = summary_table(analysis, lang)
    df = table[["item", "value"]].copy()
    df.columns = ["项目", "数值"] if lang == "zh" else ["Item", "Value"]
    df.to_excel(xw, sheet_name=name, index=False)
    ws = xw.sheets[name]
    for r, fmt in enumerate(table["format"], start=2):
        if isinstance(fmt, str):
            ws.cell(row=r, column=2).number_format = fmt
    excel_texts_stay_text(ws, df)
    _fit_columns(ws, df)


def write_excel(
    analysis: Analysis, path: str | Path, lang: str = "zh", programme: Programme | None = None
) -> Path:
    """Write the analysis to one workbook, Chinese-first (``lang="zh"``) or English.

    Sheets: the headline numbers, shortfalls, the data checklist, categories, the service index
    and its roll-ups by street and county, coverage, and proposed sites when there are any; with
    ``programme`` (from :func:`lifecircle.plan_programme`) last its three sheets, the projects
    by year 建设时序, the share after each year 年度汇总 and the rules not met 未满足规则 (as in
    the programme workbook, :func:`lifecircle.outputs.programme.write_programme_sheets`).
    Values read as an official's list (see :mod:`lifecircle.outputs.present`): numbers keep
    Excel number formats (people and metres whole, shares as percentages), the header row is
    frozen and columns fit their content. The file is replaced atomically.
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    path = Path(path)

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for attr, zh, en in SHEETS:
                name = zh if lang == "zh" else en
                if attr == "summary":
                    _write_summary(xw, analysis, lang, name)
                    continue
                table = _sheet_frame(analysis, attr, lang)
                if table is None:
                    continue
                df = table.frame
                cols = list(df.columns)
                df = df.copy()
                df.columns = headers(cols, lang)
                df.to_excel(xw, sheet_name=name, index=False)
                ws = xw.sheets[name]
                excel_texts_stay_text(ws, df)
                _number_formats(ws, cols, table.formats, len(df))
                ws.freeze_panes = "A2"
                _fit_columns(ws, df)
            if programme is not None:
                from .programme import write_programme_sheets  # it imports excel_text from here

                write_programme_sheets(xw, programme, lang, analysis.profile)

    out = atomic_write(path, write)
    log.debug("wrote %s", out)
    return out


def write_csv(
    frame: pd.DataFrame,
    path: str | Path,
    lang: str = "zh",
    *,
    profile: Profile | None = None,
    facility_names: pd.Series | None = None,
) -> Path:
    """Write one result frame as CSV, UTF-8 with BOM (so Excel opens Chinese text).

    Values as in the workbook but as rounded text (shares as ``25%``); pass ``profile`` to show
    levels as 5分钟生活圈 and ``facility_names`` (id → name) to name the nearest facility.
    Formula-like text gets a leading apostrophe (:func:`csv_text`); numbers are left alone.
    """
    path = Path(path)
    df = present(frame, lang, profile=profile, facility_names=facility_names, for_csv=True).frame
    for j in _text_columns(df):
        df.isetitem(j, df.iloc[:, j].map(csv_text))
    df.columns = [csv_text(h) for h in headers(list(df.columns), lang)]
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8-sig"))


def _display_width(s: str) -> int:
    """Approximate width in Excel characters: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)
