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
from .labels import COLUMNS

if TYPE_CHECKING:
    from ..analysis import Analysis

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS", "FORMULA_START", "csv_text", "csv_text_back", "excel_text", "formula_like",
    "headers", "write_csv", "write_excel",
]  # fmt: skip

#: First characters that make Excel or LibreOffice read a typed-in cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_SHEETS = [
    ("shortfalls", "短板社区", "Shortfalls"),
    ("categories", "短板设施", "Categories"),
    ("index", "服务指数", "Service index"),
    ("index_by_street", "街道汇总", "By street"),
    ("index_by_county", "区县汇总", "By county"),
    ("coverage", "覆盖明细", "Coverage"),
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


def _excel_texts_stay_text(ws: Any, df: pd.DataFrame) -> None:
    """Mark the formula-like text cells ``to_excel`` wrote (row 1: headers) as text."""
    for cell in ws[1]:
        excel_text(cell)
    for j in _text_columns(df):
        hits = np.flatnonzero(df.iloc[:, j].map(formula_like).to_numpy(dtype=bool))
        for i in hits:
            excel_text(ws.cell(row=int(i) + 2, column=j + 1))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = df[c].replace([np.inf, -np.inf], np.nan)
    return df


def write_excel(analysis: Analysis, path: str | Path, lang: str = "zh") -> Path:
    """Write the analysis to one workbook: shortfalls, categories, index, summaries, coverage.

    Headers are in Chinese (``lang="zh"``) or English, the header row is frozen and columns
    get widths that fit their content. The file is replaced atomically.
    """
    from openpyxl.utils import get_column_letter

    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    path = Path(path)

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for attr, zh, en in _SHEETS:
                df = _plain(getattr(analysis, attr))
                df.columns = headers(list(df.columns), lang)
                name = zh if lang == "zh" else en
                df.to_excel(xw, sheet_name=name, index=False)
                ws = xw.sheets[name]
                _excel_texts_stay_text(ws, df)
                ws.freeze_panes = "A2"
                for j, col in enumerate(df.columns, start=1):
                    sample = [str(col)] + [str(v) for v in df.iloc[:200, j - 1].tolist()]
                    width = max(_display_width(s) for s in sample)
                    ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)

    out = atomic_write(path, write)
    log.info("wrote %s", out)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, lang: str = "zh") -> Path:
    """Write one result frame as CSV, UTF-8 with BOM (so Excel opens Chinese text).

    Formula-like text gets a leading apostrophe (:func:`csv_text`); numbers are left alone.
    """
    path = Path(path)
    df = _plain(frame)
    for j in _text_columns(df):
        df.isetitem(j, df.iloc[:, j].map(csv_text))
    df.columns = [csv_text(h) for h in headers(list(df.columns), lang)]
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8-sig"))


def _display_width(s: str) -> int:
    """Approximate width in Excel characters: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)
