"""The programme workbook: projects by year, the share meeting the standard after each year and
the rules that could not be met, with Chinese (or English) headers.

Headers come from :mod:`lifecircle.outputs.labels` (:data:`~lifecircle.outputs.labels.PROGRAMME_ONLY`,
then the analysis and pool labels); values are shown as in every workbook
(:func:`~lifecircle.outputs.present.present`: people whole, shares as percentages, levels in
words).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._errors import InputError
from .._files import atomic_write
from ..analysis.programme import ISSUE_WORDS_ZH
from ..standards import Profile
from .labels import COLUMNS, POOL_ONLY, PROGRAMME_ONLY
from .present import present
from .tables import excel_text

if TYPE_CHECKING:
    from ..analysis.programme import Programme

#: (attribute of Programme, Chinese sheet, English sheet).
PROGRAMME_SHEETS = [
    ("table", "建设时序", "Programme"),
    ("by_year", "年度汇总", "By year"),
    ("issues", "未满足规则", "Rules not met"),
]


def programme_header(column: str, lang: str = "zh") -> str:
    """The header of a programme column in ``lang``."""
    found = PROGRAMME_ONLY.get(column) or COLUMNS.get(column) or POOL_ONLY.get(column)
    if found is None:
        return column
    return found.zh if lang == "zh" else found.en


def write_programme(
    programme: Programme, path: str | Path, lang: str = "zh", profile: Profile | None = None
) -> Path:
    """Write ``programme`` to one workbook (sheets :data:`PROGRAMME_SHEETS`; the projects with
    their longitude and latitude), replaced atomically. ``profile`` names the levels in words."""
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            write_programme_sheets(xw, programme, lang, profile)

    return atomic_write(Path(path), write)


def write_programme_sheets(
    xw: pd.ExcelWriter, programme: Programme, lang: str = "zh", profile: Profile | None = None
) -> list[str]:
    """Write every sheet of :data:`PROGRAMME_SHEETS` into the open workbook ``xw`` (the
    programme workbook, and the analysis workbook with ``programme=``); returns their names."""
    return [write_programme_sheet(xw, programme, attr, lang, profile) for attr, _, _ in PROGRAMME_SHEETS]


def write_programme_sheet(
    xw: pd.ExcelWriter, programme: Programme, attr: str = "table", lang: str = "zh",
    profile: Profile | None = None,
) -> str:
    """Write one sheet of :data:`PROGRAMME_SHEETS` (``attr``: ``"table"``, ``"by_year"`` or
    ``"issues"``) into the open workbook ``xw``; returns the sheet's name."""
    zh, en = next((z, e) for a, z, e in PROGRAMME_SHEETS if a == attr)
    name = zh if lang == "zh" else en
    df = getattr(programme, attr)
    if attr == "table":
        df = pd.DataFrame(df).assign(lon=df.geometry.x, lat=df.geometry.y)
    if attr == "issues":  # one language: the rule, the place and why
        if lang == "zh":
            df = df.assign(rule=df["rule"].replace(ISSUE_WORDS_ZH),
                           where=df["where"].replace(ISSUE_WORDS_ZH), message=df["message_zh"])  # fmt: skip
        df = df.drop(columns="message_zh")
    frame = present(df, lang, profile=profile).frame.copy()
    frame.columns = [programme_header(c, lang) for c in frame.columns]
    frame.to_excel(xw, sheet_name=name, index=False)
    ws = xw.sheets[name]
    for row in ws.iter_rows():  # a site named "=HYPERLINK(...)" stays text, as in every workbook
        for cell in row:
            excel_text(cell)
    ws.freeze_panes = "A2"
    return name
