"""Writing the analysis results for colleagues: Excel workbooks and CSV with Chinese headers.

:data:`COLUMNS` (from :mod:`lifecircle.outputs.labels`, the one label table) explains every output
column in Chinese and English; it is also the source of the column tables in ``docs/outputs.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._errors import InputError
from .._files import atomic_write
from .labels import COLUMNS

if TYPE_CHECKING:
    from ..analysis import Analysis

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "headers", "write_csv", "write_excel"]

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
                ws.freeze_panes = "A2"
                for j, col in enumerate(df.columns, start=1):
                    sample = [str(col)] + [str(v) for v in df.iloc[:200, j - 1].tolist()]
                    width = max(_display_width(s) for s in sample)
                    ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)

    out = atomic_write(path, write)
    log.info("wrote %s", out)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, lang: str = "zh") -> Path:
    """Write one result frame as CSV, UTF-8 with BOM (so Excel opens Chinese text)."""
    path = Path(path)
    df = _plain(frame)
    df.columns = headers(list(df.columns), lang)
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8-sig"))


def _display_width(s: str) -> int:
    """Approximate width in Excel characters: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)
