"""Writing the analysis results for colleagues: Excel workbooks and CSV with Chinese headers.

:data:`COLUMNS` explains every output column in Chinese and English; it is also the source of
the column tables in ``docs/outputs.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._errors import InputError
from .._files import atomic_write

if TYPE_CHECKING:
    from ..analysis import Analysis

log = logging.getLogger(__name__)

#: column → (Chinese header, English header, explanation)
COLUMNS: dict[str, tuple[str, str, str]] = {
    "county_code": ("区县代码", "County code", "6-digit statistical code of the county/district"),
    "county_name": ("区县", "County", "county or district (区/县/县级市)"),
    "street_code": ("街道代码", "Street code", "9-digit statistical code of the street/town"),
    "street_name": ("街道/镇", "Street/town", "street (街道) or town (镇)"),
    "community_id": ("社区编号", "Community id", "stable id: the statistical code when known"),
    "community_code": ("社区代码", "Community code", "12-digit statistical code (统计用区划代码)"),
    "community_name": ("社区名称", "Community", "community (社区) or village (村)"),
    "population": ("常住人口", "Population", "residents of the community"),
    "pop_estimated": (
        "人口为估算",
        "Population estimated",
        "True if estimated from floor area or a raster",
    ),
    "category": ("设施类别编号", "Category id", "facility category id in the profile"),
    "category_zh": ("设施类别", "Category (zh)", "facility category, Chinese name"),
    "category_en": ("设施类别(英)", "Category", "facility category, English name"),
    "level": ("生活圈层级", "Level", "life-circle level id (L15, L10, L5, L0)"),
    "required": ("应配建", "Required", "▲ required (True) or △ optional (False) in the standard"),
    "target_group": ("服务人群", "Target group", "total, elderly (60+), child_0_3 or child_3_6"),
    "threshold_m": (
        "标准距离(米)",
        "Threshold (m)",
        "walking distance the standard allows, metres on the network",
    ),
    "distance_m": (
        "步行距离中位数(米)",
        "Distance, median (m)",
        "population-weighted median network distance to the nearest facility",
    ),
    "distance_min_m": ("最近距离(米)", "Nearest (m)", "distance from the best-placed residents"),
    "distance_max_m": ("最远距离(米)", "Farthest (m)", "distance from the worst-placed residents"),
    "nearest_facility": ("最近设施", "Nearest facility", "id of the nearest facility"),
    "group_pop": ("服务人群人数", "Target residents", "residents of the target group"),
    "covered_pop": ("已覆盖人数", "Covered", "target residents within the threshold"),
    "uncovered_pop": ("未覆盖人数", "Not covered", "target residents beyond the threshold"),
    "covered_share": ("覆盖率", "Covered share", "covered / target residents"),
    "meets_distance": (
        "距离达标",
        "Meets distance",
        "covered share ≥ the minimum share (default 80%)",
    ),
    "supply_per_1000": (
        "每千人供给",
        "Supply per 1,000",
        "Gaussian 2SFCA supply (beds, places …) per 1,000 target residents",
    ),
    "capacity_threshold_per_1000": (
        "每千人标准",
        "Standard per 1,000",
        "the standard's per-1,000 supply",
    ),
    "capacity_unit": ("供给单位", "Supply unit", "beds, places, m2 …"),
    "meets_capacity": (
        "供给达标",
        "Meets capacity",
        "supply ≥ standard (empty where not assessed)",
    ),
    "meets_standard": ("达标", "Meets standard", "meets distance and, where assessed, capacity"),
    "unsnapped_points": (
        "未接入路网点数",
        "Unsnapped points",
        "demand points too far from any walkable street",
    ),
    "kind": ("短板类型", "Shortfall kind", "distance, capacity or both"),
    "capacity_short_pop": (
        "供给缺口人数",
        "Short of capacity",
        "people whose share of supply is missing",
    ),
    "weight": ("权重", "Weight", "category weight × 0.5 for optional categories"),
    "affected_pop": ("受影响人数", "Affected", "max(not covered, short of capacity)"),
    "priority_score": ("优先级得分", "Priority score", "weight × affected residents"),
    "priority_rank": ("优先级排名", "Priority rank", "1 = most urgent; required categories first"),
    "reason_zh": ("原因", "Reason (zh)", "plain-language reason in Chinese"),
    "reason_en": ("原因(英)", "Reason", "plain-language reason in English"),
    "service_index": (
        "设施服务指数",
        "Service index",
        "0–100, weighted coverage (docs/concepts.md)",
    ),
    "n_shortfalls": ("短板数", "Shortfalls", "categories not meeting the standard"),
    "meets_all_required": (
        "全部达标",
        "Meets all required",
        "every required category meets the standard",
    ),
    "communities": (
        "社区数",
        "Communities",
        "number of communities (with residents of the target group, in the category table)",
    ),
    "communities_meeting": (
        "达标社区数",
        "Communities meeting",
        "communities meeting the standard",
    ),
    "communities_assessed": ("有居民社区数", "Communities assessed", "communities with residents"),
    "share_meeting_standard": (
        "达标社区比例",
        "Share meeting",
        "share of communities meeting all required",
    ),
    "share_meeting": (
        "达标社区比例",
        "Share meeting",
        "share of communities meeting this category",
    ),
    "target_share": ("目标比例", "Target share", "campaign target (e.g. 60% by 2025)"),
    "meets_target": ("达到目标", "Meets target", "share meeting ≥ target"),
    "scope": ("统计范围", "Scope", "city, county or street"),
    "rank": ("排名", "Rank", "1 = lowest coverage within the scope"),
    "facilities": ("设施数", "Facilities", "facilities of the category (city scope)"),
    "site_rank": ("选址序号", "Site rank", "order of the greedy choice"),
    "new_covered_pop": (
        "新增覆盖人数",
        "Newly covered",
        "target residents a facility here would newly cover",
    ),
    "location_kind": ("位置类型", "Location", "proposed_site or community"),
    "nearest_m": (
        "现状最近距离(米)",
        "Nearest now (m)",
        "current distance to the nearest facility",
    ),
}

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
