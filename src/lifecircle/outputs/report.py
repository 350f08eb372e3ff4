"""The periodic report (月报/季报) of the 风貌办: one self-contained, printable HTML file, or Excel.

:func:`report` writes the headline figures, the share of communities meeting the standard per
county and street against the target (bar charts), the progress since the previous run (and the
trend over the recorded runs), the top shortfall communities, the data checklist and the status
of the programme in the reserve pool. Charts are drawn with matplotlib (no pyplot state) and
embedded as PNG data URIs; the HTML loads nothing from the network and names CJK fonts first, as
the map does, so Chinese shows wherever it is opened or printed. Every figure in a table carries
its raw value (``data-value``) so it can be checked against the analysis.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import settings
from .._errors import InputError
from .._files import atomic_write
from ..analysis import Analysis
from ..analysis.compare import Comparison, RunRecord, compare, run_record
from ..analysis.scenario import assumed_facilities, project_status
from ..analysis.voice import Voice
from .labels import MONITORING, MONITORING_VALUES, label
from .present import kind_of, present
from .tables import excel_texts_stay_text, summary_table

log = logging.getLogger(__name__)

#: CJK fonts tried first in charts and pages (the first one installed is used in charts).
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
             "WenQuanYi Micro Hei", "SimHei", "Noto Sans CJK JP")  # fmt: skip
#: Rows of the shortfall list shown.
TOP_SHORTFALLS = 20
_CSS = """
body{font-family:%s,sans-serif;margin:24px auto;max-width:1000px;color:#222;line-height:1.5}
h1{font-size:22px;border-bottom:3px solid #b22;padding-bottom:4px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}th,td{border:1px solid #bbb;
padding:2px 6px;text-align:left}td.n{text-align:right}th{background:#f2f2f2}
.head{display:flex;flex-wrap:wrap;gap:10px}.fig{border:1px solid #ccc;padding:6px 12px;min-width:130px}
.fig b{display:block;font-size:20px}.bad{color:#b22}.good{color:#272}img{max-width:100%%}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}table,img{page-break-inside:avoid}}
"""


@dataclass(frozen=True)
class _Parts:
    """What the report shows, computed once for HTML and Excel."""

    analysis: Analysis
    lang: str
    run_date: str
    comparison: Comparison | None
    history: list[RunRecord]
    pool: pd.DataFrame | None
    voice: Voice | None
    #: facilities of the analysis that a scenario assumed built (a forecast, said at the top)
    assumed: int


def _t(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def _header(col: str, lang: str) -> str:
    lab = MONITORING.get(col)
    if lab is None:
        try:
            lab = label(col)
        except KeyError:
            return col
    return lab.zh if lang == "zh" else lab.en


# ---------------------------------------------------------------------- charts
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FONTS if f in have), None)


def _png(draw: Any, height_in: float) -> str:
    """A chart drawn by ``draw(ax)`` as a PNG data URI (CJK font first, no pyplot)."""
    import matplotlib
    from matplotlib.figure import Figure

    font = _cjk_font()
    if font is None:
        log.warning("no CJK font for the report's charts (install Noto Sans CJK SC): Chinese "
                    "labels may show as boxes")  # fmt: skip
    rc = {"font.family": "sans-serif", "axes.unicode_minus": False,
          "font.sans-serif": [f for f in (font, "DejaVu Sans") if f]}  # fmt: skip
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(9, height_in), dpi=110)
        ax = fig.subplots()
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _share_chart(df: pd.DataFrame, name_col: str, target: float, lang: str) -> str:
    names = df[name_col].fillna("—").astype(str).to_list()
    shares = df["share_meeting_standard"].fillna(0).to_numpy(float) * 100

    def draw(ax: Any) -> None:
        y = np.arange(len(names))
        ax.barh(y, shares, color=["#2a7" if s >= target * 100 else "#c44" for s in shares])
        ax.axvline(target * 100, color="#222", ls="--", lw=1)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(_t(f"达标社区占比 (%)，虚线为目标 {target:.0%}",
                         f"communities meeting the standard (%), dashed: target {target:.0%}",
                         lang))  # fmt: skip

    return _png(draw, 0.6 + 0.28 * max(len(names), 2))


def _trend_chart(points: list[tuple[str, float]], target: float, lang: str) -> str:
    def draw(ax: Any) -> None:
        dates = [d for d, _ in points]
        ax.plot(dates, [100 * s for _, s in points], marker="o", color="#36c")
        ax.axhline(target * 100, color="#222", ls="--", lw=1)
        ax.set_ylim(0, 100)
        ax.set_ylabel(_t("达标社区占比 (%)", "meeting the standard (%)", lang))

    return _png(draw, 3.0)


# ---------------------------------------------------------------------- tables
#: Columns that are differences of two shares: shown in percentage points.
_POINTS = ("share_change", "gap_to_target")


def _cell(v: Any, col: str, lang: str) -> str:
    """One ``<td>``: shares as %, their differences in percentage points, people and metres
    whole, years plain (none: "not at this pace"), raw value in ``data-value``."""
    raw = "" if v is None or (isinstance(v, float) and np.isnan(v)) else v
    if isinstance(raw, (bool, np.bool_)):
        text = _t("是" if raw else "否", "yes" if raw else "no", lang)
    elif isinstance(raw, (float, np.floating, int, np.integer)) and raw != "":
        x = float(raw)
        text = (f"{100 * x:+.1f} {_t('个百分点', 'pp', lang)}" if col == "share_change"
                else f"{100 * x:.1f} {_t('个百分点', 'pp', lang)}" if col in _POINTS
                else f"{x:.1%}" if kind_of(col) == "share" else f"{x:,.1f}" if col == "service_index"
                else f"{x:.0f}" if col.endswith("year") else f"{x:,.0f}")  # fmt: skip
        return f'<td class="n" data-col="{col}" data-value="{x!r}">{html.escape(text)}</td>'
    elif col == "reached_by_year":
        text = _t("按当前进度无法达标", "not at this pace", lang)
    else:
        text = str(raw)
    return f'<td data-col="{col}">{html.escape(text)}</td>'


def _table(
    df: pd.DataFrame, cols: Sequence[str], lang: str, key: str, empty: str | None = None
) -> str:
    """A table of ``cols``; with ``empty``, that sentence instead of a table without rows."""
    if empty is not None and len(df) == 0:
        return f'<p data-table="{key}">{html.escape(empty)}</p>'
    cols = [c for c in cols if c in df.columns]
    head = "".join(f"<th>{html.escape(_header(c, lang))}</th>" for c in cols)
    rows = "".join(
        "<tr>" + "".join(_cell(v, c, lang) for v, c in zip(r, cols, strict=True)) + "</tr>"
        for r in df[cols].itertuples(index=False)
    )
    return f'<table data-table="{key}"><tr>{head}</tr>{rows}</table>'


_SHARE_COLS = ["communities_assessed", "communities_meeting", "share_meeting_standard",
               "target_share", "meets_target", "service_index"]  # fmt: skip
_SHORTFALL_COLS = ["priority_rank", "county_name", "street_name", "community_name", "category_zh",
                   "affected_pop", "reason_zh"]  # fmt: skip
_CHECK_COLS = ["scope", "county_name", "street_name", "category_zh", "communities", "group_pop",
               "source_hint_zh"]  # fmt: skip
_PROGRESS_COLS = ["share_before", "share_after", "share_change", "target_share", "gap_to_target",
                  "reached_by_year", "on_track"]  # fmt: skip
_CHANGE_COLS = ["street_name", "community_name", "category_zh", "change", "reason_zh"]
_CHANGE_DETAIL_COLS = ["nearest_facility_a", "distance_m_a", "nearest_facility_b", "distance_m_b"]


def _en(cols: list[str], lang: str) -> list[str]:
    """English tables show the English text columns instead of the Chinese ones."""
    if lang == "zh":
        return cols
    swap = {
        "category_zh": "category_en",
        "reason_zh": "reason_en",
        "source_hint_zh": "source_hint_en",
    }
    return [swap.get(c, c) for c in cols]


def _named(df: pd.DataFrame, a: Analysis, lang: str, coded: str) -> pd.DataFrame:
    """``df`` with its categories' Chinese and English names (``category_zh``/``_en``; none: "")
    and its ``coded`` column in words (:data:`MONITORING_VALUES`)."""
    i = 0 if lang == "zh" else 1
    cats = a.profile.categories
    ids = df["category"].fillna("")
    words = MONITORING_VALUES[coded]
    return df.assign(
        category_zh=[cats[k].name_zh if k in cats else k for k in ids],
        category_en=[cats[k].name_en if k in cats else k for k in ids],
        **{coded: [words[k][i] if k in words else k for k in df[coded]]},
    )


def _changes(c: Comparison, a: Analysis, lang: str) -> pd.DataFrame:
    """The comparison's changes with the category names and the change in words."""
    return _named(c.changes, a, lang, "change")


def _assumed_text(n: int, lang: str) -> str:
    """What the report says when ``n`` of its facilities are projects a scenario assumed built."""
    return _t(f"情景分析：本报告中 {n} 处设施是假设已建成的项目（Analysis.with_projects），"
              "并非设施清单中的设施；其结果是预测，不是实际进展。",
              f"Scenario: {n} facilities of this report are projects assumed built "
              "(Analysis.with_projects), not facilities of any list: a forecast, not progress.",
              lang)  # fmt: skip


def _assumed_note(n: int, lang: str) -> str:
    """The forecast warning at the top of the HTML (nothing when ``n`` is 0)."""
    if n == 0:
        return ""
    text = html.escape(_assumed_text(n, lang))
    return f'<p class="bad" data-figure="assumed_facilities" data-value="{n}">{text}</p>'


def _estimated_note(a: Analysis, lang: str) -> str:
    """A sentence naming the communities whose population is estimated (from floor area or an
    assumption), when there are any: their figures are less certain."""
    idx = a.index
    if "pop_estimated" not in idx.columns:
        return ""
    est = idx[idx["pop_estimated"].fillna(False).astype(bool).to_numpy()]
    if len(est) == 0:
        return ""
    names = "、".join(map(str, est["community_name"].head(10))) + (" …" if len(est) > 10 else "")
    text = _t(f"人口为估算值的社区 {len(est)} 个（按建筑面积等估算，请以统计数据核实）：{names}",
              f"{len(est)} communities have an estimated population (from floor area or an "
              f"assumption; check against the statistics): {names}", lang)  # fmt: skip
    return f'<p data-figure="pop_estimated" data-value="{len(est)}">{html.escape(text)}</p>'


def _headline(a: Analysis, lang: str) -> str:
    s = a.summary
    share, target = s["share_meeting_standard"], s["target_share"]
    figs = [
        ("communities", _t("社区数", "communities", lang), f"{s['communities']:,}"),
        ("population", _t("常住人口", "residents", lang), f"{s['population']:,.0f}"),
        ("share_meeting_standard", _t("达标社区占比", "meeting the standard", lang),
         f"{share:.1%}" if np.isfinite(share) else "—"),
        ("target_share", _t("目标", "target", lang), f"{target:.0%}"),
        ("shortfalls", _t("短板项", "shortfalls", lang), f"{s['shortfalls']:,}"),
        ("mean_service_index", _t("平均服务指数", "mean service index", lang),
         f"{s['mean_service_index']:.1f}"),
        ("data_gaps", _t("数据待核查", "data gaps", lang), f"{s['data_gaps']:,}"),
    ]  # fmt: skip
    cls = "good" if s["meets_target"] else "bad"
    return '<div class="head">' + "".join(
        f'<div class="fig" data-figure="{k}" data-value="{s[k]!r}">{html.escape(t)}'
        f'<b class="{cls if k == "share_meeting_standard" else ""}">{html.escape(v)}</b></div>'
        for k, t, v in figs
    ) + "</div>"  # fmt: skip


def _shares_section(a: Analysis, lang: str) -> str:
    target = a.params.target_share
    out = [
        f"<h2>{_t('分区县、街道达标情况', 'Share meeting the standard by county and street', lang)}</h2>"
    ]
    for df, keys, name, key in ((a.index_by_county, ["county_name"], "county_name", "by_county"),
                                (a.index_by_street, ["county_name", "street_name"], "street_name",
                                 "by_street")):  # fmt: skip
        out.append(f'<img alt="{key}" src="{_share_chart(df, name, target, lang)}">')
        out.append(_table(df, [*keys, *_SHARE_COLS], lang, key))
    return "".join(out)


def _progress_section(p: _Parts) -> str:
    lang = p.lang
    out = [f"<h2>{_t('较上期进展', 'Progress since the previous run', lang)}</h2>"]
    if p.comparison is None:
        return out[0] + f"<p>{_t('无更早的评估结果可比较。', 'No earlier run to compare with.', lang)}</p>"
    c = p.comparison
    s = c.summary
    out.append(
        f"<p data-figure='progress'>{html.escape(_t('上期', 'previous', lang))} {s['date_a']} "
        f"({s['run_a']}) → {s['date_b']} ({s['run_b']}): "
        f"{_t('改善', 'improved', lang)} {s['improved']}, {_t('退步', 'worsened', lang)} "
        f"{s['worsened']}"
        + (f", {_t('缺数据不再评估', 'no longer assessed (no data)', lang)} "
           f"{s['no_longer_assessed']}" if s.get("no_longer_assessed") else "")
        + f"; {_t('新增设施', 'new facilities', lang)} {s['facilities_new']}, "
        f"{_t('消失设施', 'vanished facilities', lang)} {s['facilities_vanished']}"
        + (f", {_t('位置变动设施', 'moved facilities', lang)} {s['facilities_moved']}"
           if s.get("facilities_moved") else "") + "</p>"
    )
    points = _trend_points(p)
    if len(points) >= 2:
        out.append(
            f'<img alt="trend" src="{_trend_chart(points, p.analysis.params.target_share, lang)}">'
        )
    out.append(_table(c.by_county, ["county_name", *_PROGRESS_COLS], lang, "progress_county"))
    out.append(_table(c.by_street, ["county_name", "street_name", *_PROGRESS_COLS], lang,
                      "progress_street"))  # fmt: skip
    out.append(_table(_changes(c, p.analysis, lang), _en(_CHANGE_COLS, lang), lang, "changes",
                      _t("无社区达标状况变化。", "No community changed.", lang)))  # fmt: skip
    return "".join(out)


def _pool_section(pool: pd.DataFrame | None, lang: str) -> str:
    out = f"<h2>{_t('项目库进展', 'Programme status (reserve pool)', lang)}</h2>"
    if pool is None or len(pool) == 0:
        return out + f"<p>{_t('未提供项目库。', 'No pool given.', lang)}</p>"
    return out + _table(pool_status(pool), ["category_zh", "status", "projects"], lang, "pool")


def pool_status(pool: pd.DataFrame) -> pd.DataFrame:
    """Projects per category and status (储备/申报/在建/建成/取消), as listed in the pool; a
    status written otherwise (``" 在建"``, 已建成) counted as the one it means, as a scenario
    reads it (:func:`~lifecircle.analysis.scenario.project_status`)."""
    written = pool["status"].fillna("")
    status = written.map(project_status).fillna(written)
    df = pd.DataFrame({"category_zh": pool["category_zh"].fillna(""), "status": status})
    return df.groupby(["category_zh", "status"]).size().rename("projects").reset_index()


_VOICE_COLS = ["street_name", "community_name", "service_index", "meets_all_required",
               "satisfaction", "sample_size", "flag"]  # fmt: skip
_FOLLOW_COLS = ["street_name", "community_name", "category_zh", "flag"]


def _voice_communities(v: Voice, a: Analysis, lang: str) -> pd.DataFrame:
    """The surveyed communities: satisfaction and sample size beside the coverage."""
    comm = v.communities[v.communities["satisfaction"].notna() | v.communities["sample_size"].notna()]
    shown = _named(comm.assign(category=None), a, lang, "flag")
    return shown[[c for c in _VOICE_COLS if c in shown.columns]]


def _voice_follow_up(v: Voice, a: Analysis, lang: str) -> pd.DataFrame:
    """The disagreements to follow up, with the category's name."""
    return _named(v.follow_up, a, lang, "flag")[_en(_FOLLOW_COLS, lang)]


def _voice_section(v: Voice | None, a: Analysis, lang: str) -> str:
    """The residents' voice: surveyed communities, then the disagreements to follow up."""
    if v is None:
        return ""
    return (
        f"<h2>{_t('居民意见（满意度调查）', 'Residents (survey)', lang)}</h2>"
        + _table(_voice_communities(v, a, lang), _VOICE_COLS, lang, "voice",
                 _t("调查未覆盖任何社区。", "No community surveyed.", lang))
        + f"<h3>{_t('需跟进的不一致', 'Disagreements to follow up', lang)}</h3>"
        + _table(_voice_follow_up(v, a, lang), _en(_FOLLOW_COLS, lang), lang, "follow_up",
                 _t("没有需跟进的不一致。", "Nothing to follow up.", lang))
    )  # fmt: skip


def _html(p: _Parts, title: str) -> str:
    a, lang = p.analysis, p.lang
    sf = a.shortfalls.head(TOP_SHORTFALLS)
    fonts = ",".join(f'"{f}"' for f in CJK_FONTS)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{_t('评估标准', 'profile', lang)}: "
        f"{html.escape(_t(a.profile.title_zh, a.profile.title_en, lang) or str(a.profile.id))} "
        f"({html.escape(str(a.profile.id))} {html.escape(str(a.profile.version))}) · run "
        f"{a.run_id} · {p.run_date}</p>",
        _assumed_note(p.assumed, lang), _headline(a, lang), _estimated_note(a, lang),
        _shares_section(a, lang), _progress_section(p),
        f"<h2>{_t('重点短板社区', 'Top shortfall communities', lang)}</h2>",
        _table(sf, _en(_SHORTFALL_COLS, lang), lang, "shortfalls"),
        f"<h2>{_t('数据核查清单', 'Data checklist', lang)}</h2>",
        _table(a.data_gaps, _en(_CHECK_COLS, lang), lang, "data_gaps",
               _t("无数据缺口。", "No data gaps.", lang)),
        _voice_section(p.voice, a, lang),
        _pool_section(p.pool, lang),
    ]  # fmt: skip
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS % fonts}</style></head><body>{''.join(body)}</body></html>"
    )


# ---------------------------------------------------------------------- entry point
def _history(
    previous: Any, analysis: Analysis, run_date: date | str | None
) -> tuple[list[RunRecord], str]:
    """The runs before this one, oldest first (by their dates, whatever the order given), and
    the report's date: ``run_date``, else the date of this run's own record in ``previous``
    (same run id: the same inputs), else today. Runs dated after the report's date (with a
    warning naming them) and this run's own record are left out."""
    records = [] if previous is None else _records(previous)
    ordered = sorted(records, key=lambda r: r.run_date[:10])
    if [id(r) for r in ordered] != [id(r) for r in records]:
        log.warning("report: the runs in previous= were not oldest first; taken in the order of "
                    "their dates: %s", ", ".join(r.run_date[:10] for r in ordered))  # fmt: skip
    own = [r for r in ordered if r.run_id == analysis.run_id]  # records of the same inputs
    if run_date is not None:
        day = _run_date(run_date)
        this = [r for r in own if r.run_date[:10] == day]  # an earlier one is a previous run
    elif own:
        this = own
        day = own[-1].run_date[:10]
        made = analysis.created_at[:10]
        late = (date.fromisoformat(made) - date.fromisoformat(day)).days > 31
        log.log(
            logging.WARNING if late else logging.INFO,
            "report: run %s in previous= (recorded %s) has this analysis's inputs: taken as this "
            "run, the report is dated %s%s", analysis.run_id, day, day,
            f"; the analysis was made on {made}: for a later run with unchanged inputs pass "
            "run_date=" if late else "",
        )  # fmt: skip
    else:
        this, day = [], date.today().isoformat()
    left = [r for r in ordered if r.run_date[:10] > day]
    if left:
        log.warning("report: runs dated after the report's date %s are left out of previous=: "
                    "%s", day, ", ".join(f"{r.run_id} ({r.run_date[:10]})" for r in left))  # fmt: skip
    mine = {id(r) for r in this}
    return [r for r in ordered if r.run_date[:10] <= day and id(r) not in mine], day


def _records(previous: Any) -> list[RunRecord]:
    """``previous`` (an Analysis, a recorded run or a list of them) as run records."""
    if isinstance(previous, pd.DataFrame):
        raise InputError("report: previous= takes the recorded runs, not the table "
                         "lifecircle.read_runs gives: [lc.read_run(pool, r) for r in "
                         "lc.read_runs(pool)['run_id']]")  # fmt: skip
    items = list(previous) if isinstance(previous, (list, tuple)) else [previous]
    out = []
    for it in items:
        if isinstance(it, Analysis):
            out.append(run_record(it, it.created_at[:10]))
        elif isinstance(it, RunRecord):
            out.append(it)
        else:
            raise InputError("report: previous= takes an Analysis, a recorded run "
                             "(lifecircle.read_run) or a list of them, oldest first")  # fmt: skip
    return out


def _run_date(run_date: date | str) -> str:
    """``run_date`` as 'YYYY-MM-DD'."""
    if isinstance(run_date, date):
        return run_date.isoformat()[:10]
    try:
        return date.fromisoformat(str(run_date).strip()[:10]).isoformat()
    except ValueError:
        raise InputError(f"report: run_date= takes a date or 'YYYY-MM-DD', got {run_date!r}") from None


def report(
    analysis: Analysis,
    previous: Analysis | RunRecord | Sequence[Analysis | RunRecord] | None = None,
    path: str | os.PathLike[str] = "report.html",
    *,
    pool: pd.DataFrame | None = None,
    title: str | None = None,
    lang: str | None = None,
    target_year: int | None = None,
    run_date: date | str | None = None,
    voice: Voice | None = None,
) -> Path:
    """Write the periodic report of ``analysis``: HTML (printable, offline) or Excel by suffix.

    Parameters
    ----------
    analysis : this period's run.
    previous : the previous run (an Analysis or a record from :func:`lifecircle.read_run`), or
        the recorded runs oldest first (the last one is compared; all draw the trend). This
        run's own record (same ``run_id``) and the runs after it are left out.
    path : ``.html`` (default) or ``.xlsx``, e.g. ``"2026年第4季度.html"``.
    pool : the reserve pool (:func:`lifecircle.read_pool`) for the programme status.
    title : defaults to the file name. lang : ``"zh"`` or ``"en"``.
    target_year : the year the target share is due (progress says whether it is on track).
    run_date : the date the report shows and the pace is counted to (a date or 'YYYY-MM-DD');
        default: this run's date in ``previous`` when it holds its record (same run id: the
        same inputs), else today. Given, a record of the same inputs dated earlier is a previous
        run (a later period in which nothing changed). Runs in ``previous`` are taken in the
        order of their dates; those dated after the report's date are left out, with a
        warning.
    voice : residents' voice (:func:`lifecircle.residents_voice` of this analysis and a survey):
        a section with each surveyed community's satisfaction beside its coverage, and the
        disagreements to follow up.

    Returns
    -------
    Path of the file written.
    """
    lang = lang or settings.language
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    path = Path(path)
    earlier, day = _history(previous, analysis, run_date)
    history = [*earlier, run_record(analysis, day)] if earlier else []
    cmp = compare(history[-2], history[-1], target_year) if history else None
    assumed = len(assumed_facilities(analysis))
    if assumed:
        log.warning("report: %d facilities of this analysis are projects a scenario assumed built "
                    "(with_projects), not facilities of any list; the report says so", assumed)  # fmt: skip
    parts = _Parts(analysis, lang, day, cmp, history, pool, voice, assumed)
    if path.suffix.lower() == ".xlsx":
        return _excel(parts, path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"report: {path.name}: give a .html or .xlsx path")
    data = _html(parts, title or path.stem).encode("utf-8")
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path


def _excel(p: _Parts, path: Path) -> Path:
    """The report's tables as sheets (headers in the report's language)."""
    a, lang = p.analysis, p.lang
    head = summary_table(a, lang)
    if p.assumed:  # a forecast: said first, as at the top of the HTML
        note = pd.DataFrame({"item": [_t("情景分析", "Scenario", lang)],
                             "value": [_assumed_text(p.assumed, lang)], "format": [None]})  # fmt: skip
        head = pd.concat([note, head], ignore_index=True)
    head_sheet = _t("概要", "Summary", lang)
    sheets: dict[str, pd.DataFrame | tuple[pd.DataFrame, ...]] = {
        head_sheet: head[["item", "value"]],
        _t("区县达标", "Counties", lang): a.index_by_county[["county_name", *_SHARE_COLS]],
        _t("街道达标", "Streets", lang): a.index_by_street[["county_name", "street_name", *_SHARE_COLS]],
        _t("重点短板", "Top shortfalls", lang): a.shortfalls.head(TOP_SHORTFALLS)[
            [c for c in _en(_SHORTFALL_COLS, lang) if c in a.shortfalls]],
        _t("数据核查清单", "Data checklist", lang): a.data_gaps[
            [c for c in _en(_CHECK_COLS, lang) if c in a.data_gaps]]
        if len(a.data_gaps) else pd.DataFrame({"note": [_t("无数据缺口。", "No data gaps.", lang)]}),
    }  # fmt: skip
    if p.comparison is not None:
        c = p.comparison
        sheets[_t("较上期进展", "Progress", lang)] = (
            c.by_county[[k for k in ["county_name", *_PROGRESS_COLS] if k in c.by_county]],
            c.by_street[[k for k in ["county_name", "street_name", *_PROGRESS_COLS]
                         if k in c.by_street]])  # fmt: skip
        sheets[_t("变化社区", "Changes", lang)] = _changes(c, a, lang)[
            _en([*_CHANGE_COLS, *_CHANGE_DETAIL_COLS], lang)]
    trend = _trend_points(p)
    if len(trend) >= 2:
        sheets[_t("趋势", "Trend", lang)] = pd.DataFrame(
            {"run_date": [d for d, _ in trend], "share_meeting_standard": [v for _, v in trend],
             "target_share": a.params.target_share})  # fmt: skip
    if p.pool is not None and len(p.pool):
        sheets[_t("项目库进展", "Programme", lang)] = pool_status(p.pool)
    if p.voice is not None:
        sheets[_t("居民意见", "Residents", lang)] = (
            _voice_communities(p.voice, a, lang), _voice_follow_up(p.voice, a, lang))
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, frames in sheets.items():
            row = 0  # tables of one sheet one below the other, a blank row between
            for df in frames if isinstance(frames, tuple) else (frames,):
                # as the analysis workbook shows them (yes/no, levels, codes in words; formats:
                # whole people and metres, shares as percentages), the same function; the
                # numbers stay exact (they equal the analysis tables)
                pres = present(df, lang, profile=a.profile, exact=True) if name != head_sheet else None
                shown = (df if pres is None else pres.frame).rename(columns=lambda c: _header(c, lang))
                shown.to_excel(xw, sheet_name=name, index=False, startrow=row)
                ws = xw.sheets[name]
                excel_texts_stay_text(ws, shown, header_row=row + 1)  # names are not formulas
                for j, col in enumerate(pres.frame.columns if pres is not None else (), start=1):
                    fmt = pres.formats.get(col)
                    for r in range(row + 2, row + 2 + len(df)) if fmt else ():
                        ws.cell(row=r, column=j).number_format = fmt
                row += len(df) + 2
        summary = xw.sheets[head_sheet]
        for r, fmt in enumerate(head["format"], start=2):
            if isinstance(fmt, str):
                summary.cell(row=r, column=2).number_format = fmt
        _excel_charts(xw.sheets, sheets, lang)
    atomic_write(path, lambda tmp: tmp.write_bytes(buf.getvalue()))
    return path


def _trend_points(p: _Parts) -> list[tuple[str, float]]:
    """(run date, share meeting the standard) of the recorded runs and this one, oldest first."""
    points = [(r.run_date, r.summary.get("share_meeting_standard")) for r in p.history]
    return [(d, v) for d, v in points if v is not None and np.isfinite(v)]


def _excel_charts(ws: dict[str, Any], sheets: dict[str, pd.DataFrame], lang: str) -> None:
    """Native Excel charts beside their tables: the share meeting the standard per county and
    per street (bars) against the target (a line), and the trend over the runs."""
    from openpyxl.utils import get_column_letter

    for zh, en, name_col in (("区县达标", "Counties", "county_name"),
                             ("街道达标", "Streets", "street_name")):  # fmt: skip
        sheet = _t(zh, en, lang)
        df = sheets[sheet]
        title = _t(f"{zh}: 达标社区占比与目标", f"{en}: share meeting the standard vs target", lang)
        chart = _share_excel_chart(ws[sheet], list(df.columns), len(df), name_col, title, lang)
        ws[sheet].add_chart(chart, f"{get_column_letter(len(df.columns) + 2)}2")
    trend = _t("趋势", "Trend", lang)
    if trend in sheets:
        df = sheets[trend]
        chart = _share_excel_chart(ws[trend], list(df.columns), len(df), "run_date",
                                   _t("达标社区占比趋势", "Share meeting the standard over time",
                                      lang), lang, kind="line")  # fmt: skip
        ws[trend].add_chart(chart, "E2")


def _share_excel_chart(
    sheet: Any, cols: list[str], n: int, name_col: str, title: str, lang: str, kind: str = "bar"
) -> Any:
    """A chart of the ``share_meeting_standard`` column of a written table (header in row 1,
    ``n`` rows): bars (or a line, ``kind="line"``) by ``name_col``, and the ``target_share``
    column as a line over them."""
    from openpyxl.chart import BarChart, LineChart, Reference

    def ref(col: str, header: bool = True) -> Any:
        c = cols.index(col) + 1
        return Reference(sheet, min_col=c, max_col=c, min_row=1 if header else 2, max_row=n + 1)

    main = BarChart() if kind == "bar" else LineChart()
    if kind == "bar":
        main.type = "col"
    main.title = title
    main.add_data(ref("share_meeting_standard"), titles_from_data=True)
    main.set_categories(ref(name_col, header=False))
    main.y_axis.title = _t("达标社区占比", "share meeting the standard", lang)
    main.y_axis.number_format = "0%"
    main.y_axis.scaling.min, main.y_axis.scaling.max = 0.0, 1.0
    main.y_axis.delete = main.x_axis.delete = False
    target = LineChart()
    target.add_data(ref("target_share"), titles_from_data=True)
    target.set_categories(ref(name_col, header=False))
    main += target
    main.width, main.height = max(12.0, 1.2 * n), 8.0
    return main
