"""Column labels of every output, once: Chinese header, English header, explanation.

:data:`COLUMNS` covers the analysis tables (Excel/CSV, map pop-ups, ``docs/outputs.md``);
:data:`POOL_ONLY` the columns only the reserve pool has. A column both have (names, codes, the
shortfall figures of a project) has one label, used by both; the pool keeps its own Chinese
wording only where :data:`POOL_ZH` says so (the register's established headers).
"""

from __future__ import annotations

from typing import NamedTuple


class Label(NamedTuple):
    """Headers and meaning of one output column."""

    zh: str
    en: str
    explanation: str


_L = Label

#: Columns of the analysis tables, in the order of ``docs/outputs.md``.
COLUMNS: dict[str, Label] = {
    "county_code": _L(
        "区县代码",
        "County code",
        "6-digit statistical code of the county/district, as text. 区县代码，文本",
    ),
    "county_name": _L("区县", "County", "county or district (区/县/县级市). 区县名称"),
    "street_code": _L(
        "街道代码",
        "Street code",
        "9-digit statistical code of the street/town, as text. 街道(乡镇)代码，文本",
    ),
    "street_name": _L("街道(乡镇)", "Street/town", "street (街道) or town (镇). 街道或乡镇名称"),
    "community_id": _L("社区编号", "Community id", "stable id: the statistical code when known"),
    "community_code": _L(
        "社区代码",
        "Community code",
        "12-digit statistical code (统计用区划代码), as text. 社区(村)代码，文本",
    ),
    "community_name": _L("社区名称", "Community", "community (社区) or village (村). 社区或村名称"),
    "population": _L("常住人口", "Population", "residents of the community"),
    "pop_estimated": _L(
        "人口为估算",
        "Population estimated",
        "True if estimated from floor area or a raster",
    ),
    "category": _L(
        "设施类别编号",
        "Category id",
        "facility category id in the profile, e.g. elderly_daycare. 设施类别编号",
    ),
    "category_zh": _L(
        "设施类别",
        "Category (Chinese)",
        "facility category, Chinese name, e.g. 老年人日间照料中心. 设施类别中文名",
    ),
    "category_en": _L("设施类别(英)", "Category", "facility category, English name"),
    "level": _L(
        "生活圈层级",
        "Life-circle level",
        "life-circle level id: L5, L10, L15 (5/10/15-minute walking life circle) or L0. 生活圈层级",
    ),
    "required": _L(
        "配建要求", "Required", "▲ required (应配建) or △ optional (宜配建) in the standard"
    ),
    "target_group": _L("服务人群", "Target group", "total, elderly (60+), child_0_3 or child_3_6"),
    "threshold_m": _L(
        "标准距离(米)",
        "Threshold (m)",
        "walking distance the standard allows, metres on the network. 标准要求的步行距离",
    ),
    "distance_m": _L(
        "步行距离中位数(米)",
        "Distance, median (m)",
        "population-weighted median network distance to the nearest facility",
    ),
    "distance_min_m": _L("最近距离(米)", "Nearest (m)", "distance from the best-placed residents"),
    "distance_max_m": _L(
        "最远距离(米)", "Farthest (m)", "distance from the worst-placed residents"
    ),
    "nearest_facility": _L(
        "最近设施",
        "Nearest facility",
        "in Python the id of the nearest facility; in workbooks and CSV its name (the id is in "
        "最近设施编号). 最近设施名称",
    ),
    "group_pop": _L("服务人群人数", "Target residents", "residents of the target group"),
    "covered_pop": _L("已覆盖人数", "Covered", "target residents within the threshold"),
    "uncovered_pop": _L(
        "未覆盖人数",
        "Not covered",
        "target residents beyond the threshold (not covered now). 现状未被覆盖的居民数",
    ),
    "covered_share": _L("覆盖率", "Covered share", "covered / target residents"),
    "meets_distance": _L(
        "距离达标",
        "Meets distance",
        "covered share ≥ the minimum share (default 80%)",
    ),
    "supply_per_1000": _L(
        "每千人供给",
        "Supply per 1,000",
        "Gaussian 2SFCA supply (beds, places …) per 1,000 target residents",
    ),
    "capacity_threshold_per_1000": _L(
        "每千人标准",
        "Standard per 1,000",
        "the standard's per-1,000 supply",
    ),
    "capacity_unit": _L("供给单位", "Supply unit", "beds, places, m2 …"),
    "meets_capacity": _L(
        "供给达标",
        "Meets capacity",
        "supply ≥ standard (empty where not assessed)",
    ),
    "meets_standard": _L("达标", "Meets standard", "meets distance and, where assessed, capacity"),
    "unsnapped_points": _L(
        "未接入路网点数",
        "Unsnapped points",
        "demand points too far from any walkable street",
    ),
    "kind": _L("短板类型", "Shortfall kind", "distance, capacity or both"),
    "capacity_short_pop": _L(
        "供给缺口人数",
        "Short of capacity",
        "people whose share of supply is missing",
    ),
    "weight": _L("权重", "Weight", "category weight × 0.5 for optional categories"),
    "affected_pop": _L("受影响人数", "Affected", "max(not covered, short of capacity)"),
    "priority_score": _L(
        "优先级得分",
        "Priority score",
        "weight × affected residents; ranks sort by it (higher = more urgent). "
        "排序所用得分，越高越急",
    ),
    "priority_rank": _L(
        "优先级排名",
        "Priority rank",
        "1 = most urgent; required categories first. 优先顺序，1 为最急",
    ),
    "reason_zh": _L(
        "原因",
        "Reason (Chinese)",
        "plain-language reason in Chinese, e.g. 5分钟生活圈缺托育: 最近 1,240 m, 3,400 人未覆盖. "
        "通俗理由",
    ),
    "reason_en": _L("原因(英)", "Reason (English)", "plain-language reason in English. 英文理由"),
    "service_index": _L(
        "设施服务指数",
        "Service index",
        "0–100, weighted coverage (docs/concepts.md)",
    ),
    "n_shortfalls": _L("短板数", "Shortfalls", "categories not meeting the standard"),
    "meets_all_required": _L(
        "全部达标",
        "Meets all required",
        "every required category meets the standard",
    ),
    "communities": _L(
        "社区数",
        "Communities",
        "number of communities (with residents of the target group, in the category table)",
    ),
    "communities_meeting": _L(
        "达标社区数",
        "Communities meeting",
        "communities meeting the standard",
    ),
    "communities_assessed": _L(
        "有居民社区数", "Communities assessed", "communities with residents"
    ),
    "share_meeting_standard": _L(
        "达标社区比例",
        "Share meeting",
        "share of communities meeting all required",
    ),
    "share_meeting": _L(
        "达标社区比例",
        "Share meeting",
        "share of communities meeting this category",
    ),
    "target_share": _L("目标比例", "Target share", "campaign target (e.g. 60% by 2025)"),
    "meets_target": _L("达到目标", "Meets target", "share meeting ≥ target"),
    "scope": _L("统计范围", "Scope", "city, county or street"),
    "rank": _L("排名", "Rank", "1 = lowest coverage within the scope"),
    "facilities": _L("设施数", "Facilities", "facilities of the category (city scope)"),
    "site_rank": _L("选址序号", "Site rank", "order of the greedy choice"),
    "new_covered_pop": _L(
        "新增覆盖人数",
        "Newly covered",
        "target residents a facility here would newly cover. 在此建设可新增覆盖的居民数",
    ),
    "location_kind": _L(
        "位置类型",
        "Location kind",
        "proposed_site (a proposed site) or community (somewhere in the community). "
        "proposed_site = 建议选址；community = 社区内待选址",
    ),
    "nearest_m": _L(
        "现状最近距离(米)",
        "Nearest facility now (m)",
        "walking network distance to the nearest existing facility; empty = none within reach. "
        "到最近现状设施的步行网络距离，空 = 可达范围内没有",
    ),
    "data_status": _L(
        "数据状态",
        "Data status",
        "present (facilities in the input), no_data (none in the input, or none within 3 km of a "
        "street while others have some: a list to add, not a shortfall) or confirmed_absent "
        "(the list is stated complete: a real absence). 有数据 / 缺数据 / 确认没有",
    ),
    "assessed": _L(
        "已评估", "Assessed", "False where the data status is no_data. 缺数据的行不评估"
    ),
    "n_not_assessed": _L(
        "未评估类别数",
        "Categories not assessed",
        "categories without data for the community (left out of the index). 缺数据未评估的类别数",
    ),
    "province_code": _L("省代码", "Province code", "2-digit code from the 12-digit code"),
    "city_code": _L("市代码", "City code", "4-digit code from the 12-digit code"),
    "settlement": _L(
        "城乡类型",
        "Settlement",
        "urban (城镇社区, 社区居委会) or village (村委会); empty when unknown. 城镇社区 / 村",
    ),
    "share_of": _L(
        "比例口径",
        "Share of",
        "the communities the share meeting the standard is counted over: urban (default, the "
        "campaign's target), village or all. 达标比例的统计口径",
    ),
    "urban_assessed": _L("城镇社区数", "Urban communities", "urban communities with residents"),
    "urban_meeting": _L(
        "达标城镇社区数", "Urban meeting", "urban communities meeting every required category"
    ),
    "village_assessed": _L("村数", "Villages", "villages with residents"),
    "village_meeting": _L(
        "达标村数", "Villages meeting", "villages meeting every required category"
    ),
    "project_id": _L(
        "项目编号",
        "Project ID",
        "Stable id 'LC-' + 12 hex digits of a SHA-1 of category, admin codes and location "
        "(see project_id); a re-run finds the same project; in the shortfall list: the pool "
        "project that answers the row. 稳定编号，重新分析仍对应同一项目",
    ),
    "answered_by_zh": _L(
        "解决方案",
        "Answered by (Chinese)",
        "which pool project answers the shortfall: a proposed site (maybe in a neighbouring "
        "community) or a site still to find in the community. 由哪个项目解决",
    ),
    "answered_by_en": _L(
        "解决方案(英)", "Answered by", "which pool project answers the shortfall, in English"
    ),
    "compound_id": _L("小区编号", "Compound id", "id of the residential compound (小区)"),
    "compound_name": _L("小区名称", "Compound", "residential compound (小区)"),
    "parent_community_id": _L(
        "所属社区编号", "Community id", "the community most of the compound's residents belong to"
    ),
    "parent_community_name": _L("所属社区", "Community", "that community's name"),
    "served_communities": _L(
        "受益社区", "Communities served", "ids of the communities a proposed site newly covers"
    ),
    "site_id": _L(
        "选址编号",
        "Site",
        "proposed site (S1, S2 …); several categories at one spot share it. 建议选址编号",
    ),
    "uses_zh": _L(
        "同址设施", "Uses (Chinese)", "every category proposed at this spot. 同址建设的设施"
    ),
    "uses_en": _L("同址设施(英)", "Uses", "every category proposed at this spot, in English"),
    "source_hint_zh": _L(
        "建议补充的数据",
        "Source to add (Chinese)",
        "which list or POI type to load. 建议补充的数据来源",
    ),
    "source_hint_en": _L("建议补充的数据(英)", "Source to add", "which list to load, in English"),
    "nearest_facility_id": _L(
        "最近设施编号", "Nearest facility id", "id of the nearest facility (its name: 最近设施)"
    ),
}

#: Values of coded columns as people read them: column → value → (Chinese, English).
VALUES: dict[str, dict[object, tuple[str, str]]] = {
    "target_group": {
        "total": ("全体居民", "all residents"),
        "elderly": ("老年人(60岁以上)", "older residents (60+)"),
        "child_0_3": ("0–3岁儿童", "children aged 0–3"),
        "child_3_6": ("3–6岁儿童", "children aged 3–6"),
    },
    "kind": {
        "distance": ("距离不达标", "too far"),
        "capacity": ("供给不足", "short of capacity"),
        "distance+capacity": ("距离与供给均不达标", "too far and short of capacity"),
    },
    "scope": {"city": ("全市", "city"), "county": ("区县", "county"), "street": ("街道", "street")},
    "data_status": {
        "present": ("有数据", "data present"),
        "no_data": ("缺数据", "no data"),
        "confirmed_absent": ("确认没有", "confirmed absent"),
    },
    "location_kind": {
        "proposed_site": ("建议选址", "proposed site"),
        "community": ("社区内待选址", "within the community"),
    },
    "settlement": {"urban": ("城镇社区", "urban community"), "village": ("村", "village")},
    "share_of": {
        "urban": ("城镇社区", "urban communities"),
        "village": ("村", "villages"),
        "all": ("全部社区", "all communities"),
    },
    "capacity_unit": {
        "beds": ("床位", "beds"),
        "places": ("托位", "places"),
        "m2": ("平方米", "m²"),
    },
    "required": {True: ("▲ 应配建", "▲ required"), False: ("△ 宜配建", "△ optional")},
}

#: How yes/no columns read.
YES_NO = {True: ("是", "yes"), False: ("否", "no")}

#: Columns only the reserve pool has: its id, planner and bookkeeping columns, the location.
POOL_ONLY: dict[str, Label] = {
    "status": _L(
        "项目状态",
        "Status",
        "储备 → 申报 → 在建 → 建成, or 取消; new projects start as 储备. 由规划人员维护",
    ),
    "year": _L(
        "计划年度",
        "Planned year",
        "Year the project is planned for (integer, may be empty). 计划实施年度",
    ),
    "owner": _L(
        "责任单位", "Responsible unit", "Department or person responsible. 责任单位或责任人"
    ),
    "notes": _L("备注", "Notes", "Free notes. 备注"),
    "run_id": _L(
        "分析批次",
        "Run ID",
        "Latest analysis run that listed the project; the computed fields come from it. "
        "最近一次列入该项目的分析批次，计算字段取自该批次",
    ),
    "run_date": _L("分析日期", "Run date", "Date of that run (YYYY-MM-DD). 该批次分析日期"),
    "profile": _L("标准配置", "Profile", "Standard profile the run used. 该批次使用的标准配置"),
    "first_seen_run": _L(
        "首次列入批次", "First seen in run", "Run that first listed the project. 首次列入的分析批次"
    ),
    "in_latest_run": _L(
        "最新分析仍列入",
        "In latest run",
        "Whether the latest export's run still lists the project (是/否). 最近一次导出的分析是否仍列入",
    ),
    "missing_since": _L(
        "自此批次未列入",
        "Missing since run",
        "First run that no longer listed the project (empty while listed); the row is kept. "
        "从该批次起不再列入（行保留，不删除）",
    ),
    "geometry": _L(
        "位置",
        "Location",
        "Point in EPSG:4326; xlsx/csv hold it as 经度/纬度 (lon/lat). 位置，WGS84 经纬度",
    ),
    "lon": _L("经度", "Longitude", "Longitude, EPSG:4326 degrees. 经度，WGS84"),
    "lat": _L("纬度", "Latitude", "Latitude, EPSG:4326 degrees. 纬度，WGS84"),
}

#: The reserve pool's own Chinese headers, where the project register keeps its wording.
POOL_ZH: dict[str, str] = {
    "priority_rank": "优先序",
    "community_name": "社区(村)",
    "reason_zh": "补短板理由",
    "reason_en": "补短板理由(英文)",
}


def label(name: str) -> Label:
    """The label of an analysis or pool column (KeyError for an unknown name)."""
    return COLUMNS[name] if name in COLUMNS else POOL_ONLY[name]


def pool_label(name: str) -> Label:
    """The label of a pool column as the pool writes it (:data:`POOL_ZH` applied)."""
    found = label(name)
    return Label(POOL_ZH.get(name, found.zh), found.en, found.explanation)

#: Columns of the monitoring outputs (scenarios, comparisons of runs, the periodic report).
MONITORING: dict[str, Label] = {
    "share_before": _L("上期达标占比", "Share before", "Share meeting the standard, earlier run. 上期达标社区占比"),
    "share_after": _L("本期达标占比", "Share now", "Share meeting the standard, this run. 本期达标社区占比"),
    "share_change": _L("变化", "Change", "Share now minus share before (percentage points). 达标占比变化"),
    "gap_to_target": _L("距目标", "Gap to target", "Target share minus share now (0 when reached). 距目标差距"),
    "reached_by_year": _L("按当前进度达标年份", "Target reached by", "Year the target is reached at the pace "
                          "between the two runs (empty: no progress). 按两次评估间的进度推算的达标年份"),
    "target_year": _L("目标年份", "Target year", "Year the target share is due. 目标年份"),
    "on_track": _L("进度正常", "On track", "Target reached by the target year at this pace. 是否按期达标"),
    "change": _L("变化", "Change", "improved 改善 / worsened 退步 / no_longer_assessed 缺数据不再评估 / "
                 "newly_assessed 开始评估. 变化方向"),
    "causes": _L("原因代码", "Causes", "facility_opened, facility_closed, facility_moved, "
                 "supply_added, supply_removed, population_changed, standard_changed, "
                 "data_missing, data_added, other. 变化原因代码"),
    "nearest_facility_a": _L("上期最近设施", "Nearest facility before", "Id of the nearest facility, "
                             "earlier run. 上期最近设施编号"),
    "nearest_facility_b": _L("本期最近设施", "Nearest facility now", "Id of the nearest facility, "
                             "this run. 本期最近设施编号"),
    "distance_m_a": _L("上期步行距离(米)", "Distance before (m)", "Median walking distance to the "
                       "nearest facility, earlier run. 上期步行距离中位数"),
    "distance_m_b": _L("本期步行距离(米)", "Distance now (m)", "Median walking distance to the "
                       "nearest facility, this run. 本期步行距离中位数"),
    "note": _L("说明", "Note", "A sentence in place of an empty table. 说明"),
    "satisfaction": _L("满意度", "Satisfaction", "Residents' satisfaction 1–5 (survey). 满意度"),
    "sample_size": _L("样本量", "Sample size", "Residents who answered the survey. 样本量"),
    "flag": _L("需跟进", "Follow up", "A disagreement between coverage and the survey. 需跟进的不一致"),
    "item": _L("项目", "Item", "Headline figure. 指标"),
    "value": _L("数值", "Value", "Its value. 数值"),
    "status": _L("状态", "Status", "Project status in the pool: 储备/申报/在建/建成/取消. 项目状态"),
    "projects": _L("项目数", "Projects", "Number of projects. 项目数"),
}  # fmt: skip

#: Values of coded monitoring columns (as :data:`VALUES` for the analysis tables).
MONITORING_VALUES: dict[str, dict[object, tuple[str, str]]] = {
    "flag": {
        "covered_but_unsatisfied": ("覆盖达标但居民不满意", "covered but unsatisfied"),
        "short_but_satisfied": ("未达标但居民满意", "short but satisfied"),
        "wanted_and_short": ("居民需要但未达标", "wanted and short"),
        "required_not_wanted": ("标准要求但居民不需要", "required, not wanted"),
    },
    "change": {
        "improved": ("改善", "improved"),
        "worsened": ("退步", "worsened"),
        "no_longer_assessed": ("缺数据不再评估", "no longer assessed (no data)"),
        "newly_assessed": ("开始评估", "newly assessed"),
    },
}

#: Columns only the programme tables have (``plan_programme``: table, by year, issues); the
#: others (names, codes, category, level, new_covered_pop …) use :data:`COLUMNS`.
PROGRAMME_ONLY: dict[str, Label] = {
    "year": _L("计划年度", "Year", "year the project is planned for. 计划建设年度"),
    "candidate_id": _L("候选编号", "Candidate id", "id of the candidate place"),
    "candidate_kind": _L("候选来源", "Candidate source",
                         "user: a place the planner gave; street: generated on the street"),
    "site_name": _L("选址名称", "Site", "name of the candidate place (its id when it has none)"),
    "capacity": _L("规模", "Capacity", "capacity of the place in the unit of the category's rule"),
    "cost": _L("投资", "Cost", "cost of the project, in the unit the candidates gave"),
    "for_target": _L("达标目标所需", "For the target",
                     "fixed so that the target share of communities meeting the standard is reached"),
    "projects": _L("项目数", "Projects", "projects planned that year"),
    "status": _L("求解状态", "Solver status", "optimal, or why the solver stopped"),
    "gap": _L("最优性差距", "Optimality gap", "relative gap between the plan and the solver's bound"),
    "solve_s": _L("求解秒数", "Solve seconds", "seconds the solver took"),
    "objective": _L("目标值", "Objective", "residents newly covered, weighted like the priority"),
    "greedy_objective": _L("贪心目标值", "Greedy objective",
                           "the same for greedy, with the same projects and street rule"),
    "greedy_rules_unmet": _L("贪心未满足规则数", "Rules greedy left unmet",
                             "rules (a street's project, the target's projects) greedy did not meet; "
                             "above 0 its objective can exceed the optimum's, which meets them all. "
                             "贪心法未满足的规则数：大于 0 时贪心目标值可能高于满足全部规则的最优值"),
    "rule": _L("规则", "Rule", "the rule that could not be met"),
    "where": _L("位置", "Where", "the street (or city) concerned"),
    "message": _L("说明", "Message", "why, in words"),
}  # fmt: skip
