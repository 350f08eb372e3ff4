"""Residents' survey results per community (需求调研、满意度调研), joined to the communities.

A survey table (Excel, CSV or a frame) has one row per community: its code or name, a sample
size, a satisfaction score 1–5 and, per facility category, either the residents' answer
"需要"/"不需要" (or the share answering 需要, 0–1) or a demand rank (1 = most wanted). A category
column whose numbers include one above 1 holds ranks (there 1 is rank 1; ranks above the number
of category columns, and above 20, are refused: percentages are written with %); a column of
only 0/1 is 不需要/需要. Sample size and satisfaction may be written with units (``"4.5分"``, ``"约120"``,
``"80份"``, ``"120人"``, full-width digits); a cell that holds no number, a satisfaction outside
1–5 or a negative sample size is refused, naming the rows. Rows are
matched to communities by code first, then by name through the project's normaliser
(:func:`lifecircle._text.key`: width, case, spaces, punctuation) and the usual name variants
(``X社区`` = ``X社区居委会`` = ``X居民委员会``; ``X村`` = ``X村委会`` = ``X村民委员会``; failing that,
``X社区`` = ``X`` when only one community has that stem). Rows that match
no community, or several, are kept in :attr:`Survey.unmatched` with the reason — never dropped
silently.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._text import fold, key
from ..sources.tables import Table, find_column, read_counts, read_table, shown_values
from ..standards import Profile
from .codes import code_text

log = logging.getLogger(__name__)

#: Header names recognised for each survey field (compared through ``key``).
HEADERS = {
    "code": ("社区代码", "统计用区划代码", "区划代码", "code", "community_code"),
    "name": ("社区名称", "社区", "村社区", "社区(村)", "名称", "name", "community_name"),
    "sample": ("样本量", "样本数", "有效问卷", "问卷数", "sample_size", "sample", "n"),
    "satisfaction": ("满意度", "总体满意度", "满意度评分", "satisfaction"),
}
#: Name endings that say the same community (longest first).
SUFFIXES = ("社区居民委员会", "社区居委会", "居民委员会", "村民委员会", "居委会", "村委会")
#: Answers read as "needed" (1) and "not needed" (0); the numbers 1 and 0 too, outside a column
#: of ranks.
YES = {"需要", "是", "有需要", "需求", "yes", "y", "√"}
NO = {"不需要", "否", "无需要", "no", "n", "×"}
#: The highest rank read as a rank when a survey has fewer category columns (a higher number,
#: e.g. 35 or 100, is a percentage written without %: refused).
MAX_RANK = 20
#: A unit after a sample size or satisfaction (80份, 4.5分), cut before the number is read.
_UNIT = re.compile(r"\s*[分份]\s*$")


@dataclass(frozen=True)
class Survey:
    """Survey results joined to communities.

    Attributes
    ----------
    frame : one row per matched community: ``community_id``, ``sample_size``, ``satisfaction``
        (1–5) and per surveyed category ``demand:<category id>``: the share needing it (0–1, from
        需要/不需要 or a share) or, for a rank, ``1 / rank`` (1 = most wanted).
    unmatched : the survey rows matched to no community or to several: ``row``, the code and name
        as written, ``reason``.
    categories : the category ids surveyed.
    demand_kind : ``"share"`` (需要/不需要) or ``"rank"``, per category id.
    """

    frame: pd.DataFrame
    unmatched: pd.DataFrame
    categories: tuple[str, ...]
    demand_kind: dict[str, str]


def name_variant(name: Any) -> str:
    """The comparable form of a community name: :func:`key`, with the committee endings
    (居委会, 村委会, 居民委员会 …) cut to 社区 / 村."""
    k = key(name)
    for suffix in SUFFIXES:
        if k.endswith(suffix) and len(k) > len(suffix):
            base = k[: -len(suffix)]
            village = "村" in suffix
            k = base if base.endswith(("社区", "村")) else base + ("村" if village else "社区")
            break
    return k


def _bare(variant: str) -> str:
    """A :func:`name_variant` without its ending 社区 (a 村 keeps its 村: a village is not the
    urban community of the same name)."""
    return variant[: -len("社区")] if variant.endswith("社区") and len(variant) > 2 else variant


def _answer_number(text: str) -> float:
    """The number in an answer (``"35%"`` → 0.35), NaN for words and blanks."""
    try:
        return float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        return np.nan


def _demand_value(text: str, x: float, ranks: bool) -> tuple[float, str]:
    """(value, kind) of one folded answer (``x``: its :func:`_answer_number`): 需要 → (1, share);
    0.35 → (0.35, share); in a column of ``ranks`` 2 → (0.5, rank) and 1 → (1, rank); kind
    ``"bad"`` for anything else."""
    if text == "":
        return np.nan, ""
    if np.isnan(x):
        return (1.0, "share") if text in YES else (0.0, "share") if text in NO else (np.nan, "bad")
    if ranks:
        rank = x >= 1 and x.is_integer() and not text.endswith("%")
        return (1.0 / x, "rank") if rank else (np.nan, "bad")
    return (x, "share") if 0 <= x <= 1 else (np.nan, "bad")


def _category_columns(columns: list[Any], profile: Profile, taken: set) -> dict[Any, str]:
    """Survey columns that name a profile category (:meth:`Profile.category_named`), after the
    words 需求/需要/排序/排名 at their end."""
    out = {}
    for col in columns:
        if col in taken:
            continue
        cid = profile.category_named(re.sub(r"(需求|需要|排序|排名)$", "", key(col)))
        if cid is not None:
            out[col] = cid
    return out


def _match(
    codes: list[Any], names: list[Any], communities: pd.DataFrame
) -> tuple[list[Any], list[str]]:
    """Community id of each survey row (None: unmatched) and the reason when unmatched."""
    by_code = dict(zip(code_text(communities["community_code"]), communities["community_id"],
                       strict=True))  # fmt: skip
    variants = pd.Series(communities["community_id"].to_numpy(),
                         index=[name_variant(n) for n in communities["community_name"]])  # fmt: skip
    bare = pd.Series(variants.to_numpy(), index=[_bare(v) for v in variants.index])
    ids, reasons = [], []
    for code, name in zip(code_text(pd.Series(codes, dtype=object)), names, strict=True):
        if code is not None and code in by_code:
            ids.append(by_code[code])
            reasons.append("")
            continue
        hits = variants[variants.index == name_variant(name)] if fold(name) else variants.iloc[:0]
        if len(hits) == 0 and fold(name):  # "X社区" for a community listed as plain "X", or back
            hits = variants[bare.index == _bare(name_variant(name))]
        if len(hits) == 1:
            ids.append(hits.iloc[0])
            reasons.append("")
            continue
        ids.append(None)
        reasons.append("several communities have this name; give the community code"
                       if len(hits) > 1 else "no community with this code or name")  # fmt: skip
    return ids, reasons


def load_survey(
    obj: Any, communities: pd.DataFrame, profile: Profile, *, sheet: str | int | None = None,
    code: str | None = None, name: str | None = None,
) -> Survey:  # fmt: skip
    """Read survey results per community and join them to ``communities``.

    Parameters
    ----------
    obj : an Excel/CSV path or a DataFrame, one row per community.
    communities : from :func:`lifecircle.load_communities` (or ``Analysis.communities``).
    profile : the profile whose categories the demand columns name (id, Chinese or English name,
        optionally followed by 需求/需要/排序). A column holds 需要/不需要, shares 0–1 or ranks
        1, 2, 3 …: one whose numbers include one above 1 is read as ranks (1 = rank 1), one of
        only 0/1 as 不需要/需要.
    sheet : Excel sheet. code, name : the code / name columns if not recognised.

    Returns
    -------
    :class:`Survey`; unmatched rows are logged and kept in ``Survey.unmatched``. Sample size and
    satisfaction are read with their units (``"4.5分"``, ``"约120"``, ``"80份"``); a cell that
    holds no number, a satisfaction outside 1–5 or a negative sample size is an error naming the
    rows; a satisfaction with a sample size of 0 is warned about (it is not compared with the
    coverage by :func:`lifecircle.residents_voice`).
    """
    table = read_table(obj, sheet=sheet, what="survey")
    df = table.frame
    cols = list(df.columns)
    c_code = find_column(cols, code, HEADERS["code"], "community code", where=table.name)
    c_name = find_column(cols, name, HEADERS["name"], "community name", taken=[c_code],
                         where=table.name)  # fmt: skip
    if c_code is None and c_name is None:
        raise InputError(f"{table.name}: no community code or name column; name them 社区代码 / "
                         "社区名称, or pass code= / name=")  # fmt: skip
    c_sample = find_column(cols, None, HEADERS["sample"], "sample size", where=table.name)
    c_sat = find_column(cols, None, HEADERS["satisfaction"], "satisfaction", where=table.name)
    cat_cols = _category_columns(cols, profile, {c_code, c_name, c_sample, c_sat})
    codes = df[c_code].tolist() if c_code is not None else [None] * len(df)
    names = df[c_name].tolist() if c_name is not None else [None] * len(df)
    ids, reasons = _match(codes, names, communities)
    ok = np.array([i is not None for i in ids])
    out = pd.DataFrame({"community_id": pd.Series(ids, dtype=object)[ok].to_numpy()})
    sample = _numbers(table, c_sample, "sample size", "120, '约120' or '120份'")
    sat = _numbers(table, c_sat, "satisfaction", "4.5 or '4.5分'")
    bad = (sat < 1) | (sat > 5)
    if bad.any():
        raise InputError(f"{table.name}: satisfaction must be 1–5 in {table.rows(bad)}")
    if (sample < 0).any():
        raise InputError(f"{table.name}: the sample size is negative in {table.rows(sample < 0)}; "
                         "give the number of residents who answered")  # fmt: skip
    nobody = (sample == 0) & ~np.isnan(sat)
    if nobody.any():
        log.warning("%s: satisfaction is given with a sample size of 0 in %s; it is not compared "
                    "with the coverage. Give the number of residents who answered, or leave the "
                    "satisfaction empty", table.name, table.rows(nobody))  # fmt: skip
    out["sample_size"] = sample[ok]
    out["satisfaction"] = sat[ok]
    unused = [c for c in cols if c not in {c_code, c_name, c_sample, c_sat, *cat_cols}]
    if unused:
        log.warning(
            "%s: columns %s are not used: a demand column is headed by a category's id or Chinese "
            "or English name (e.g. %s), optionally followed by 需求", table.name,
            "、".join(map(str, unused)),
            "、".join(f"{c.name_zh} / {c.id}" for c in list(profile.categories.values())[:2]),
        )  # fmt: skip
    matched = pd.Series(ids, dtype=object)
    twice = (matched.notna() & matched.duplicated(keep=False)).to_numpy()
    if twice.any():
        raise InputError(
            f"{table.name}: {table.rows(twice)} are the same community twice (by code or name: "
            f"{sorted(set(matched[twice]))[:5]}); keep one row per community, or combine them"
        )
    kinds = _demand_columns(out, table, cat_cols, ok)
    unmatched = pd.DataFrame({"row": table.labels[~ok], "code": np.asarray(codes, dtype=object)[~ok],
                              "name": np.asarray(names, dtype=object)[~ok],
                              "reason": np.asarray(reasons, dtype=object)[~ok]})  # fmt: skip
    if len(unmatched):
        log.warning("%s: %d survey rows match no community (%s); see Survey.unmatched",
                    table.name, len(unmatched), table.rows(~ok))  # fmt: skip
    return Survey(out, unmatched, tuple(kinds), kinds)


def _numbers(table: Table, col: Any, what: str, example: str) -> np.ndarray:
    """The numbers in ``col`` for every row, units cut (``"4.5分"``, ``"约120"``, ``"80份"``);
    NaN where blank or without a column. A cell that holds no number is an error naming the rows."""
    if col is None:
        return np.full(len(table.frame), np.nan)
    values = table.frame[col]
    cut = values.map(lambda v: _UNIT.sub("", v) if isinstance(v, str) else v)
    vals, unread, from_text = read_counts(cut)
    if unread.any():
        raise InputError(f"{table.name}: the {what} {col!r} is not a number in {table.rows(unread)}: "
                         f"{shown_values(values, unread)}; write one number per cell ({example}), "
                         "or leave the cell empty")  # fmt: skip
    if from_text.any():
        log.info("%s: %s %r read from text in %s: %s", table.name, what, col,
                 table.rows(from_text), shown_values(values, from_text, vals))  # fmt: skip
    return vals


def _demand_columns(
    out: pd.DataFrame, table: Table, cat_cols: dict[Any, str], ok: np.ndarray
) -> dict[str, str]:
    """Write ``demand:<category id>`` of the matched rows into ``out``; the kind per category id.
    A column whose numbers include one above 1 holds ranks; answers of another kind are an error
    naming the rows."""
    kinds: dict[str, str] = {}
    top = max(len(cat_cols), MAX_RANK)
    for col, cid in cat_cols.items():
        texts = [fold(v) for v in table.frame[col]]
        numbers = np.array([_answer_number(t) for t in texts])
        ranks = bool((numbers[ok] > 1).any())
        high = ok & (numbers > top)
        if ranks and high.any():
            raise InputError(
                f"{table.name}: column {col!r} has numbers above {top} in {table.rows(high)}: "
                f"{shown_values(table.frame[col], high)}; ranks go from 1 to the number of "
                "categories asked. Shares answering 需要 are written 0–1 or with % (35%, 0.35)"
            )
        values = [_demand_value(t, x, ranks) for t, x in zip(texts, numbers, strict=True)]
        kind = np.array([k for _, k in values], dtype=object)
        wrong = ok & (kind != "") & (kind != ("rank" if ranks else "share"))
        if wrong.any():
            raise InputError(
                f"{table.name}: column {col!r} mixes answers in {table.rows(wrong)}: "
                f"{shown_values(table.frame[col], wrong)}; give 需要/不需要, shares 0–1 or ranks "
                "1, 2, 3 … in one column (a column with a number above 1 holds ranks)"
            )
        out[f"demand:{cid}"] = np.array([v for v, _ in values])[ok]
        kinds[cid] = "rank" if ranks else "share"
    return kinds
