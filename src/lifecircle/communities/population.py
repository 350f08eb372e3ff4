"""Population tables (七普/统计 tables per community) joined to community boundaries.

:func:`join_population` matches each table row to one community: by the 12-digit statistical code
(统计用区划代码) when the row has one, else by its normalised name within its street
(``XX社区居委会`` ≡ ``XX社区`` ≡ ``ＸＸ社区``, ``XX村委会`` ≡ ``XX村民委员会`` ≡ ``XX村``;
``XX街道办事处`` ≡ ``XX街道``). Rows that match no community, or several, are reported and left
out rather than guessed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._text import is_missing, key
from ..sources.tables import find_column, read_counts, read_table, rows_text, shown_values
from .codes import code_text

log = logging.getLogger(__name__)

# Longest first: the kind of unit a community name ends with (compared after _text.key).
_COMMUNITY_ENDINGS = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("村民委员会", "村"),
    ("居委会", "社区"),
    ("村委会", "村"),
    ("社区", "社区"),
    ("村", "村"),
)
_STREET_ENDINGS = ("街道办事处", "人民政府", "办事处", "街道", "镇", "乡")

#: Headers of a population table, compared through ``_text.key``.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": (
        "community_code",
        "code",
        "统计用区划代码",
        "区划代码",
        "社区代码",
        "村社区代码",
        "代码",
    ),
    "name": (
        "community_name",
        "name",
        "社区名称",
        "村社区",
        "村居",
        "村社区名称",
        "村居名称",
        "社区",
        "名称",
        "单位",
    ),
    "street": ("street_name", "street", "街道", "乡镇街道", "乡镇", "镇街", "街道名称", "所属街道"),
    "population": ("population", "常住人口", "人口", "总人口", "人口数", "常住人口数"),
    "elderly": ("pop_elderly", "60岁及以上", "60岁以上", "老年人口", "60+"),
    "child_0_3": ("pop_child_0_3", "0-3岁", "0~3岁", "婴幼儿"),
    "child_3_6": ("pop_child_3_6", "3-6岁", "3~6岁", "学龄前儿童"),
}
_TARGET = {
    "population": "population",
    "elderly": "pop_elderly",
    "child_0_3": "pop_child_0_3",
    "child_3_6": "pop_child_3_6",
}


def name_key(name: Any) -> tuple[str, str]:
    """``(stem, kind)`` of a community name: ``"百福弄社区居委会"`` → ``("百福弄", "社区")``,
    ``"金星村村委会"`` and ``"金星村"`` → ``("金星", "村")``; kind ``""`` when the name has no
    such ending. A stem keeps at least two characters (``"蒋村村委会"`` → ``("蒋村", "村")``)."""
    text, kind = key(name), ""
    stripped = True
    while stripped:
        stripped = False
        for ending, k in _COMMUNITY_ENDINGS:
            if text.endswith(ending) and len(text) - len(ending) >= 2 and kind in ("", k):
                text, kind, stripped = text[: -len(ending)], k, True
                break
    return text, kind


def street_key(name: Any) -> str:
    """A street/town name without 街道办事处/街道/镇/乡 (``"建设街道办事处"`` → ``"建设"``,
    ``"乌镇镇"`` and ``"乌镇"`` → ``"乌镇"``: at least two characters are kept)."""
    text = key(name)
    stripped = True
    while stripped:
        stripped = False
        for ending in _STREET_ENDINGS:
            if text.endswith(ending) and len(text) - len(ending) >= 2:
                text, stripped = text[: -len(ending)], True
                break
    return text


@dataclass
class _Index:
    """Communities by code and by (street, stem, kind), for the look-ups."""

    by_code: dict[str, str]
    by_name: dict[tuple[str, str], list[tuple[str, str]]]  # (street, stem) → [(kind, id)]

    @classmethod
    def of(cls, communities: pd.DataFrame) -> _Index:
        by_code = {
            str(c): str(i)
            for i, c in zip(communities.index, communities["community_code"], strict=True)
            if not is_missing(c)
        }
        by_name: dict[tuple[str, str], list[tuple[str, str]]] = {}
        streets = [
            street_key(n) if not is_missing(n) else ""
            for n in communities.get("street_name", pd.Series(None, index=communities.index))
        ]
        for i, name, street in zip(
            communities.index, communities["community_name"], streets, strict=True
        ):
            stem, kind = name_key(name)
            for s in {street, "*"}:
                by_name.setdefault((s, stem), []).append((kind, str(i)))
        return cls(by_code, by_name)

    def find(self, code: Any, name: Any, street: Any) -> tuple[str, list[str]]:
        """``(how, ids)``: ``("code", [id])``, ``("name", [id])``, or several/no ids; ``how``
        is ``"name, code unknown"`` when the row's code names no community."""
        if not is_missing(code) and str(code) in self.by_code:
            return "code", [self.by_code[str(code)]]
        how = "name" if is_missing(code) else "name, code unknown"
        if is_missing(name):
            return how, []
        stem, kind = name_key(name)
        s = street_key(street) if not is_missing(street) else "*"
        cands = self.by_name.get((s, stem), [])
        if kind:
            same = [i for k, i in cands if k == kind]
            cands = [(k, i) for k, i in cands if k == kind] if same else cands
        return how, sorted({i for _, i in cands})


def _table_columns(df: pd.DataFrame, given: dict[str, Any], what: str) -> dict[str, Any]:
    cols = [c for c in df.columns]
    found: dict[str, Any] = {}
    for k, names in TABLE_COLUMNS.items():
        found[k] = find_column(
            cols, given.get(k), names, f"{k} column", taken=found.values(), where=what
        )
    if found["population"] is None:
        raise InputError(
            f"{what}: no population column (常住人口/人口/population) among "
            f"{', '.join(map(str, cols))}; name it with population_columns={{'population': ...}}"
        )
    if found["code"] is None and found["name"] is None:
        raise InputError(
            f"{what}: neither a 12-digit code column (统计用区划代码) nor a name column "
            f"(社区名称) among {', '.join(map(str, cols))}: the rows cannot be joined"
        )
    return found


def join_population(
    communities: pd.DataFrame,
    table: Any,
    *,
    columns: dict[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population from ``table`` joined to ``communities`` by code, else by name within street.

    Parameters
    ----------
    communities : a frame of :func:`load_communities` (``community_code``, ``community_name``,
        ``street_name``), indexed by ``community_id``.
    table : a DataFrame or a CSV/Excel file of one row per community.
    columns : column names of the table, by role (``code``, ``name``, ``street``,
        ``population``, ``elderly``, ``child_0_3``, ``child_3_6``); found from common Chinese
        and English headers when not given.

    Returns
    -------
    ``(values, report)``: ``values`` indexed by community id with the population columns that
    were found (NaN where no row joined); ``report`` one row per table row: ``row``,
    ``name``, ``street``, ``code``, ``match`` (``"code"``, ``"name"``, ``"unmatched"``,
    ``"ambiguous"``, ``"duplicate"``: several rows with different figures for one community,
    none used; ``"repeated"``: a copy of an earlier row, whose figures are used), ``community_id`` and
    ``candidates`` (the communities an ambiguous row could be) and ``note`` (``"code not
    among the communities"`` when a row's code matched nothing and its name was used).
    """
    t = read_table(table, encoding, sheet, what="population table")
    what = f"population table ({t.name})"
    df = t.frame
    cols = _table_columns(df, dict(columns or {}), what)
    n = len(df)
    col = {
        k: (df[c] if c is not None else pd.Series([None] * n, index=df.index))
        for k, c in cols.items()
    }
    codes = code_text(col["code"]).map(lambda c: key(c) or None if c is not None else None)
    idx = _Index.of(communities)
    recs = []
    for i in range(n):
        how, ids = idx.find(codes.iloc[i], col["name"].iloc[i], col["street"].iloc[i])
        match = ("name" if how != "code" else how) if len(ids) == 1 else "unmatched"
        match = "ambiguous" if len(ids) > 1 else match
        recs.append(
            {
                "row": t.labels[i],
                "name": None if is_missing(col["name"].iloc[i]) else str(col["name"].iloc[i]),
                "street": None if is_missing(col["street"].iloc[i]) else str(col["street"].iloc[i]),
                "code": codes.iloc[i],
                "match": match,
                "community_id": ids[0] if len(ids) == 1 else None,
                "candidates": ", ".join(ids) if len(ids) > 1 else "",
                "note": "code not among the communities" if how == "name, code unknown" else "",
            }
        )
    report = pd.DataFrame.from_records(recs)
    figures = pd.DataFrame({
        k: read_population(df[cols[k]], lambda m: "rows " + rows_text(list(report["row"][m]), 5),
                           what, cols[k])
        for k in _TARGET if cols[k] is not None
    })  # fmt: skip
    # a row repeated with the same figures (copied twice) is one row, its first copy used, when
    # no row of that community says otherwise
    keyed = pd.concat([report["community_id"], figures.fillna(-1.0)], axis=1)
    kinds = keyed.drop_duplicates().groupby("community_id").size()
    one_kind = report["community_id"].map(kinds).eq(1).to_numpy()
    copies = report["community_id"].notna().to_numpy() & one_kind & keyed.duplicated().to_numpy()
    report.loc[copies, "match"] = "repeated"
    report.loc[copies, "candidates"] = report.loc[copies, "community_id"]
    report.loc[copies, "note"] = "the same figures as an earlier row; that row is used"
    report.loc[copies, "community_id"] = None
    dup = report["community_id"].notna() & report["community_id"].duplicated(keep=False)
    report.loc[dup, "match"] = "duplicate"
    report.loc[dup, "candidates"] = report.loc[dup, "community_id"]
    report.loc[dup, "community_id"] = None
    values = _values(figures, report, communities.index)
    _log_report(report, len(communities), what, t.row_note)
    return values, report


def read_population(
    values: pd.Series, rows: Callable[[np.ndarray], str], what: str, col: Any
) -> np.ndarray:
    """The residents in a column (:func:`~lifecircle.sources.tables.read_counts`: ``"12,345"``,
    ``"约4876人"``, ``"1.2万"`` are read, and the rows read from such text are named in a
    warning); a cell that holds no count or a negative one is an error naming the rows
    (``rows(mask)``), the values and how to write them. Blank cells are unknown (NaN)."""
    vals, unread, from_text = read_counts(values)
    if unread.any():
        raise InputError(
            f"{what}: column {col!r} has cells that are not a number of residents in "
            f"{rows(unread)}: {shown_values(values, unread)}. Write one number per cell (1200, "
            "'1,200', '约900' and '1.2万' are read too; not a range such as '900-1000'); leave "
            "the cell empty where the number is not known"
        )
    negative = vals < 0
    if negative.any():
        raise InputError(f"{what}: column {col!r} is negative in {rows(negative)}")
    if from_text.any():
        log.warning("%s: column %r read from text in %s: %s; check them", what, col,
                    rows(from_text), shown_values(values, from_text, vals))  # fmt: skip
    return vals


def _values(figures: pd.DataFrame, report: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """The joined population columns (``figures``: per table row, by role), indexed like the
    communities."""
    ok = report["community_id"].notna().to_numpy()
    out = pd.DataFrame(index=index)
    for k in figures.columns:
        series = pd.Series(figures[k].to_numpy()[ok], index=report.loc[ok, "community_id"].to_numpy())
        out[_TARGET[k]] = series.reindex(index.astype(str)).to_numpy()
    return out


def _log_report(report: pd.DataFrame, n_comm: int, what: str, note: str) -> None:
    counts = report["match"].value_counts()
    joined = int(counts.get("code", 0) + counts.get("name", 0))
    log.info(
        "%s: %d of %d rows joined (%d by code, %d by name within street); %d communities have "
        "no row",
        what,
        joined,
        len(report),
        int(counts.get("code", 0)),
        int(counts.get("name", 0)),
        n_comm - joined,
    )
    for kind, why in (
        ("unmatched", "match no community (check the name and street, or add the 12-digit code)"),
        ("ambiguous", "match several communities (add the street or the 12-digit code)"),
        ("duplicate", "are several rows for one community (merge them or fix the names)"),
        ("repeated", "repeat an earlier row with the same figures (the earlier row is used)"),
    ):
        bad = report[report["match"] == kind]
        if len(bad):
            ex = [f"{r.row} {r.name or r.code}" for r in bad.itertuples()]
            log.warning(
                "%s: %d rows %s; left out, see gdf.attrs['population_join'] (%s): %s",
                what,
                len(bad),
                why,
                note,
                rows_text(ex, 5),
            )


def is_table(value: Any) -> bool:
    """True when ``population=`` holds a table (a frame or a file path), not a column name."""
    if isinstance(value, pd.DataFrame):
        return True
    text = str(value) if value is not None else ""
    return bool(re.search(r"\.(csv|txt|xlsx|xlsm|xls|parquet)$", text, re.IGNORECASE)) or hasattr(
        value, "__fspath__"
    )
