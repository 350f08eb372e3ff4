"""Facilities from tables: bureau lists, Amap/Baidu exports, GIS layers (:func:`load_facilities`)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import CRSError, InputError
from .._text import key
from ..crs import WGS84
from ..sources.coords import in_gcj_box, to_wgs84
from ..sources.tables import (
    Table,
    coerce_numbers,
    find_column,
    find_lonlat,
    read_counts,
    read_table,
    rows_text,
    shown_values,
)
from .classify import amap_codes, categorise_row, category_by_label, clean_text, looks_like_codes
from .frame import (
    check_bounds,
    explode_categories,
    finish,
    log_counts,
    log_rules,
    profile_categories,
    records,
)
from .gates import attach_gates
from .locate import (
    bad_coords_report,
    bad_coords_text,
    coord_problems,
    flag_outside,
    geometry_xy,
    table_crs,
)
from .poi_types import PoiTypes, poi_types_from

log = logging.getLogger(__name__)

# Headers recognised when not given, in priority order (compared through _text.key).
_NAME_NAMES = (
    "name",
    "名称",
    "名字",
    "设施名称",
    "机构名称",
    "单位名称",
    "园所名称",
    "学校名称",
    "poi名称",
    "poiname",
    "title",
    "标题",
)
_CAT_NAMES = (
    "category",
    "类别",
    "类型",
    "分类",
    "设施类别",
    "设施类型",
    "设施分类",
    "服务类型",
    "机构类型",
    "type",
    "kind",
    "class",
    "大类",
    "tag",
    "标签",
)
_AMAP_NAMES = (
    "typecode",
    "高德类型",
    "高德类型编码",
    "高德编码",
    "类型编码",
    "分类编码",
    "poi类型编码",
    "amaptype",
    "amaptypecode",
    "typecodes",
)
_CAP_NAMES = (
    "capacity",
    "容量",
    "床位",
    "床位数",
    "核定床位",
    "托位",
    "托位数",
    "核定托位",
    "学位",
    "学位数",
    "beds",
    "places",
    "规模",
)
_ID_NAMES = ("facilityid", "id", "uid", "poiid", "编号", "设施编号", "机构编号", "代码", "序号")
_NAME_PARTS = ("名称",)
_CAP_PARTS = ("床位", "托位", "学位", "容量")


@dataclass
class _Columns:
    """The columns a table's facts are read from (None: not present)."""

    lon: Any = None
    lat: Any = None
    name: Any = None
    category: Any = None
    amap: Any = None
    capacity: Any = None
    more_capacity: list[Any] = field(default_factory=list)  # 托位 beside 床位: filled per row
    id: Any = None
    given_cat: Any = None  # a category for every row (category= named one, not a column)
    synthetic: list[str] = field(default_factory=list)  # split out of a "lng,lat" column

    def log(self, where: str) -> None:
        used = {
            "lon": self.lon,
            "lat": self.lat,
            "name": self.name,
            "category": self.category,
            "amap_type": self.amap,
            "capacity": [self.capacity, *self.more_capacity] if self.more_capacity else self.capacity,
            "id": self.id,
        }
        log.info(
            "%s: using columns %s",
            where,
            ", ".join(f"{k}={v!r}" for k, v in used.items() if v is not None) or "(geometry only)",
        )


def _find_columns(
    table: Table, cats: list[Any], given: dict[str, Any], use_geometry: bool, where: str
) -> _Columns:
    df = table.frame
    geom = table.geometry_name
    cols = [c for c in df.columns if c != geom]
    found = _Columns()
    if not use_geometry:
        ll = find_lonlat(df, given["lon"], given["lat"], where, exclude=geom)
        found.lon, found.lat, found.synthetic = ll.lon, ll.lat, ll.synthetic
    taken = [found.lon, found.lat]
    found.name = find_column(
        cols, given["name"], _NAME_NAMES, "name column (名称)", _NAME_PARTS, taken=taken
    )
    taken.append(found.name)
    found.amap = find_column(
        cols, given["amap_type"], _AMAP_NAMES, "amap_type column (高德类型编码)", taken=taken
    )
    taken.append(found.amap)
    category = given["category"]
    if category is not None and category not in cols:
        found.given_cat = category_by_label(str(category), cats)
        if found.given_cat is None:
            raise InputError(
                f"category={category!r} is neither a column of the table "
                f"({', '.join(map(str, cols))}) "
                f"nor a category of the profile ({', '.join(c.id for c in cats)})"
            )
    else:
        found.category = find_column(
            cols, category, _CAT_NAMES, "category column (类别)", taken=taken
        )
    if category is None and found.given_cat is None:
        found.category = _prefer_tags(df, cols, found.category, cats, taken)
    taken.append(found.category)
    if (
        found.category is not None
        and found.amap is None
        and category is None
        and looks_like_codes(df[found.category])
    ):
        found.amap, found.category = found.category, None  # a "type" column of Amap codes
    found.capacity = find_column(
        cols,
        given["capacity"],
        _CAP_NAMES,
        "capacity column (容量/床位/托位)",
        _CAP_PARTS,
        taken=taken,
    )
    taken.append(found.capacity)
    if given["capacity"] is None and found.capacity is not None:
        # beds, childcare places and school places side by side (床位, 托位, 学位 — not 规模 or
        # 容量, which may count classes or floor area): per row, the first that holds a count
        names = {key(n) for n in _CAP_NAMES if any(p in n for p in _CAP_PARTS[:3])}
        if key(found.capacity) in names:
            found.more_capacity = [c for c in cols if c not in taken and key(c) in names]
            taken.extend(found.more_capacity)
    found.id = find_column(cols, given["id"], _ID_NAMES, "id column (编号)", taken=taken)
    return found


def _tag_share(values: pd.Series) -> float:
    """Share of the non-blank cells that are provider type tags known to the tag table."""
    vals = [v for v in clean_text(values.head(2000)) if v]
    types = poi_types_from(None)
    return sum(types.rule(v) is not None for v in vals) / len(vals) if vals else 0.0


def _label_share(values: pd.Series, cats: list[Any]) -> float:
    vals = [v for v in clean_text(values.head(2000)) if v]
    return sum(category_by_label(v, cats) is not None for v in vals) / len(vals) if vals else 0.0


def _prefer_tags(
    df: pd.DataFrame, cols: list[Any], current: Any, cats: list[Any], taken: list[Any]
) -> Any:
    """The category column found by header, unless it holds neither profile categories (20 % of
    its cells or more) nor provider tags while another category-like column (``tag``, ``type`` ...) holds mostly
    provider tags (a Baidu export with both ``type``: ``hospital`` and ``tag``: ``医疗;诊所``)."""
    if current is not None and (
        _tag_share(df[current]) >= 0.5 or _label_share(df[current], cats) >= 0.2
    ):
        return current
    wanted = {key(n) for n in _CAT_NAMES}
    others = [c for c in cols if c != current and c not in taken and key(c) in wanted]
    best = max(others, key=lambda c: _tag_share(df[c]), default=None)
    if best is not None and _tag_share(df[best]) >= 0.5:
        if current is not None:
            log.info(
                "category column: %r holds provider type tags, %r does not; using %r",
                best,
                current,
                best,
            )
        return best
    return current


def _coordinates(
    table: Table, c: _Columns, system: Any, use_geometry: bool, bad_coords: str, where: str
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """x, y of the usable rows (the others raise, or are reported and dropped from ``table``)."""
    df = table.frame
    if use_geometry:
        x, y, bad_masks = geometry_xy(df)
    else:
        x, bad_x = coerce_numbers(df[c.lon])
        y, bad_y = coerce_numbers(df[c.lat])
        bad_masks = {"not a number": bad_x | bad_y}
    problems = coord_problems(x, y, system, bad_masks, c.lon, c.lat)
    if not problems:
        return x, y, []
    text = bad_coords_text(table, problems, c.lon, c.lat, where)
    if bad_coords == "raise":
        raise InputError(text)
    log.warning(
        text.replace(", or pass bad_coords='report' to leave them out with a warning", "")
        + " They are left out and kept in lifecircle.facilities.unmatched(gdf, 'bad_coords')."
    )
    report = bad_coords_report(table, problems)
    keep = ~np.logical_or.reduce(list(problems.values()))
    table.keep(keep)
    if len(table.frame) == 0:
        raise InputError(f"{where}: no row has usable coordinates")
    return x[keep], y[keep], report


def _to_wgs84(
    table: Table, x: np.ndarray, y: np.ndarray, system: Any, crs: Any, where: str
) -> tuple[np.ndarray, np.ndarray]:
    wlon, wlat = to_wgs84(x, y, system)
    if system in ("gcj02", "bd09"):
        outside = ~in_gcj_box(x, y)
        if outside.any():
            log.warning(
                "%s: %d points lie outside China, where %s coordinates are not shifted; they were "
                "kept as they are: %s",
                where,
                int(outside.sum()),
                system,
                table.rows(outside),
            )
    bad = ~(np.isfinite(wlon) & np.isfinite(wlat))
    if bad.any():
        raise CRSError(
            f"{where}: {table.rows(bad)} cannot be converted from {crs!r} to WGS84; check the crs"
        )
    return wlon, wlat


@dataclass
class _Categories:
    names: list[Any]
    text: list[Any]
    matched: list[list[Any]]
    how: list[str]


def _categorise(
    table: Table, c: _Columns, cats: list[Any], where: str, types: PoiTypes
) -> _Categories:
    df = table.frame
    n = len(df)
    names = clean_text(df[c.name]) if c.name is not None else [None] * n
    cat_text = clean_text(df[c.category]) if c.category is not None else [None] * n
    amap_text = amap_codes(df[c.amap]) if c.amap is not None else [None] * n
    matched: list[list[Any]] = []
    how: list[str] = []
    for i in range(n):
        cs, h = categorise_row(names[i], cat_text[i], amap_text[i], cats, c.given_cat, types)
        matched.append(cs)
        how.append(h)
    several = np.array([len(cs) > 1 for cs in matched], dtype=bool)
    if several.any():
        log.warning(
            "%s: %s fit several categories (%s) and are counted in each; levels are not nested, "
            "so give a category column where the name does not tell (e.g. 社区卫生服务中心 vs 站)",
            where,
            table.rows(several),
            "; ".join(sorted({"/".join(c.id for c in cs) for cs in matched if len(cs) > 1})),
        )
    return _Categories(names, cat_text, matched, how)


def _capacity(table: Table, cols: list[Any], where: str) -> np.ndarray:
    """Capacity per row from the first of ``cols`` (床位, 托位 …) that holds a count there
    (a list may give beds for elderly care and places for childcare in two columns)."""
    df = table.frame
    values = np.full(len(df), np.nan)
    for col in cols:
        got, unread, from_text = read_counts(df[col])
        both = ~np.isnan(values) & ~np.isnan(got) & (values != got)
        if both.any():
            log.warning("%s: %s hold a count in both %r and %r; the first is used. Leave one "
                        "empty per row (beds for elderly care, places for childcare)", where,
                        table.rows(both), cols[0], col)  # fmt: skip
        if unread.any():
            log.warning(
                "%s: capacity %r is not a count in %s (%s); left empty. Write a number such as "
                "120 or '1,050'", where, col, table.rows(unread),
                shown_values(df[col], unread),
            )  # fmt: skip
        if from_text.any():
            log.info("%s: capacity %r read from text in %s: %s", where, col,
                     table.rows(from_text), shown_values(df[col], from_text, got))  # fmt: skip
        values = np.where(np.isnan(values), got, values)
    return values


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    return s[:-2] if re.fullmatch(r"\d+\.0", s) else s


def _ids(table: Table, col: Any, given: Any, src_name: str, where: str) -> list[str]:
    """Facility ids: ``<source>:<id column>`` when complete and unique, else ``<source>:<row>``."""
    ids = [f"{src_name}:{r}" for r in table.labels]
    if col is None:
        return ids
    raw_ids = table.frame[col]
    if key(col) == "facilityid":  # a frame written by lifecircle: keep its ids
        cand = [_id_text(v) for v in raw_ids]
    else:
        cand = [f"{src_name}:{_id_text(v)}" for v in raw_ids]
    missing_id = raw_ids.isna().to_numpy()
    dup = pd.Series(cand).duplicated(keep=False).to_numpy() & ~missing_id
    problem = ""
    if missing_id.any():
        problem = f"is empty in {table.rows(missing_id)}"
    elif dup.any():
        problem = f"has repeated values in {table.rows(dup)}"
    if problem and given is not None:
        raise InputError(f"{where}: id column {col!r} {problem}; make the ids unique and complete")
    if problem:
        log.warning(
            "%s: id column %r %s, so row numbers are used as facility ids instead (rows with "
            "the same id may be the same facility listed twice: see merge_duplicates)",
            where,
            col,
            problem,
        )
        return ids
    return cand


def _unmatched(
    table: Table,
    cat: _Categories,
    cats: list[Any],
    wgs: tuple[np.ndarray, np.ndarray],
    errors: str,
    where: str,
) -> list[dict[str, Any]]:
    no_match = np.array(
        [not cs and h != "gate" for cs, h in zip(cat.matched, cat.how, strict=True)], dtype=bool
    )
    if not no_match.any():
        return []
    labels = table.labels
    ex = [
        f"{labels[i]} {cat.names[i] or ''}".strip() + (f" [{cat.text[i]}]" if cat.text[i] else "")
        for i in np.flatnonzero(no_match)
    ]
    values = sorted({cat.text[i] for i in np.flatnonzero(no_match) if cat.text[i]})
    msg = (
        f"{where}: {int(no_match.sum())} of {len(table.frame)} rows match no category of the "
        f"profile ({table.row_note}): {rows_text(ex, 5)}."
        + (f" Unknown category values: {rows_text(values, 10)}." if values else "")
        + " Known categories: "
        + ", ".join(f"{c.id} ({c.name_zh})" for c in cats)
        + ". Rename the values, give category=..., or extend the profile's keywords."
    )
    if errors == "raise":
        raise InputError(msg)
    log.warning(msg + " They are kept in lifecircle.facilities.unmatched(gdf).")
    geom = table.geometry_name
    rep = table.frame.loc[no_match].drop(columns=[geom] if geom else []).copy()
    rep.insert(0, "row", labels[no_match])
    rep["rule"] = [cat.how[i] for i in np.flatnonzero(no_match)]
    rep["lon_wgs84"] = wgs[0][no_match]
    rep["lat_wgs84"] = wgs[1][no_match]
    return records(rep)


def _gate_rows(
    table: Table, cat: _Categories, wgs: tuple[np.ndarray, np.ndarray]
) -> list[dict[str, Any]]:
    """Records of the rows that are entrances of another POI (rule ``"gate"``)."""
    is_gate = np.array([h == "gate" for h in cat.how], dtype=bool)
    if not is_gate.any():
        return []
    geom = table.geometry_name
    rep = table.frame.loc[is_gate].drop(columns=[geom] if geom else []).copy()
    rep = rep.drop(columns=[c for c in ("name", "facility_id") if c in rep.columns])
    rep.insert(0, "row", table.labels[is_gate])
    rep.insert(1, "name", [cat.names[i] for i in np.flatnonzero(is_gate)])
    rep["lon_wgs84"] = wgs[0][is_gate]
    rep["lat_wgs84"] = wgs[1][is_gate]
    return records(rep)


def _frame(
    table: Table,
    c: _Columns,
    cat: _Categories,
    ids: list[str],
    capacity: np.ndarray,
    wgs: tuple[np.ndarray, np.ndarray],
    src_name: str,
) -> gpd.GeoDataFrame:
    """One row per (matched row, category): the standard columns, then the table's own."""
    idx = np.flatnonzero(np.array([bool(cs) for cs in cat.matched], dtype=bool))
    fids, mcats, extra = explode_categories(
        [ids[i] for i in idx], [cat.matched[i] for i in idx], {"pos": list(idx)}
    )
    pos = np.asarray(extra["pos"], dtype=np.int64)
    out = pd.DataFrame(
        {
            "facility_id": fids,
            "category": [m.id for m in mcats],
            "category_zh": [m.name_zh for m in mcats],
            "name": [cat.names[i] for i in pos],
            "source": src_name,
            "capacity": capacity[pos] if len(pos) else np.array([], dtype="float64"),
            "category_source": [cat.how[i] for i in pos],
            "row": [table.labels[i] for i in pos],
        }
    )
    geom = table.geometry_name
    rest = table.frame.drop(columns=([geom] if geom else []) + c.synthetic)
    rest = rest.iloc[pos].reset_index(drop=True)
    rename = {}
    for col in rest.columns:
        if col in out.columns or col == "outside_network":
            if col == "name" and c.name == "name":
                rest = rest.drop(columns=[col])
                continue
            rename[col] = f"{col}_raw"
    out = pd.concat([out, rest.rename(columns=rename)], axis=1)
    geometry = shapely.points(wgs[0][pos], wgs[1][pos])
    return finish(gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84))


def load_facilities(
    table_or_path: Any,
    profile: Any,
    crs: Any = None,
    lon: str | None = None,
    lat: str | None = None,
    category: str | None = None,
    name: str | None = None,
    capacity: str | None = None,
    amap_type: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    *,
    id: str | None = None,  # noqa: A002 - a column name, like the others
    source: str | None = None,
    network: Any = None,
    bounds: tuple[float, float, float, float] | None = None,
    errors: Literal["warn", "raise"] = "warn",
    bad_coords: Literal["raise", "report"] = "raise",
    poi_types: Any = None,
) -> gpd.GeoDataFrame:
    """Load a facility list (bureau table, Amap/Baidu export, GIS layer) as WGS84 points.

    Parameters
    ----------
    table_or_path :
        A CSV (UTF-8, UTF-8 with BOM or GBK/GB18030, detected), Excel, GeoPackage, GeoJSON,
        Shapefile or GeoParquet file, or a DataFrame / GeoDataFrame.
    profile :
        A standard profile (:func:`lifecircle.load_profile`) whose categories are assigned.
    crs :
        The coordinate system of the coordinates: ``"gcj02"`` (Amap/高德, Tencent), ``"bd09"``
        (Baidu/百度), ``"wgs84"`` (GPS, OSM; also ``"cgcs2000"``) or an EPSG code for projected
        x/y. **Required for lon/lat columns** (no guessing: a wrong guess moves every point by
        0.5-1.1 km). For a layer with geometry it defaults to the layer's CRS; give
        ``"gcj02"``/``"bd09"`` when the layer says WGS84 but holds Amap/Baidu coordinates.
    lon, lat, name, capacity, amap_type, id :
        Column names; found automatically when not given (经度/lng/lon/longitude/x,
        纬度/lat/latitude/y, 名称/name, 容量/床位/托位/capacity, 高德类型/typecode, 编号/id ...;
        a single ``location``/``经纬度`` column of ``"lng,lat"`` text, as in Amap API dumps, is
        split; a header over two rows, such as ``坐标`` merged over ``经度``/``纬度``, is read as
        one). The columns used are logged at INFO level.
    category :
        A column holding the category (a profile category id, Chinese or English name, or a
        text such as an Amap type string ``科教文化服务;学校;幼儿园``), found automatically
        (类别/类型/category/type; a column of Baidu/Amap type tags such as ``tag`` is taken
        instead when the first one holds neither profile categories nor such tags). If it is not
        a column but a category id or name, every row gets that category (e.g.
        ``category="kindergarten"`` for a list of kindergartens).
    encoding, sheet :
        CSV text encoding (default: detected); Excel sheet or GeoPackage layer.
    source :
        Label stored in the ``source`` column and used in ids (default: the file name without
        suffix, ``"table"`` for frames).
    network, bounds :
        A :class:`~lifecircle.WalkNetwork` or ``(west, south, east, north)`` WGS84 bbox. Points
        outside it are flagged in a boolean column ``outside_network`` and logged. With a network,
        data given as WGS84 are also checked for an unconverted GCJ-02/BD-09 shift.
    errors :
        Rows that match no category: ``"warn"`` logs them (count and examples) and keeps them in
        ``unmatched(gdf)``; ``"raise"`` raises :class:`~lifecircle.InputError`.
    bad_coords :
        Rows with missing, non-numeric, out-of-range or swapped coordinates: ``"raise"`` (default)
        raises :class:`~lifecircle.InputError` naming the rows; ``"report"`` leaves them out with
        a warning and keeps them in ``unmatched(gdf, "bad_coords")``.
    poi_types :
        The table of provider type tags (Baidu ``tag``, Amap ``type``) → categories: a TOML file
        laid out like the shipped ``lifecircle/facilities/poi_types.toml`` (copy and edit it), or
        ``None`` for the shipped one.

    Returns
    -------
    GeoDataFrame (EPSG:4326, points)
        Indexed by ``facility_id`` (``<source>:<id>`` with an id column, else
        ``<source>:<row>``; ``#<category>`` appended when one row matches several categories,
        which then gives one row per category). Entrances listed as POIs (tag ``出入口;门`` or
        names like ``XX小学-东门``) are no facilities: they are kept, attached to the facility of
        their base name, in :func:`~lifecircle.facilities.gates`. Departments (``XX医院-内科``)
        are no facilities either (rule ``part`` in ``unmatched(gdf)``). Columns ``facility_id``,
        ``category``, ``category_zh``, ``name``, ``source``, ``capacity``, ``category_source``
        (``column``, ``amap_type``, ``tag`` (the provider's type tag decided, e.g. Baidu
        ``教育培训;幼儿园``), ``tag+name`` (the tag allowed a few categories, the name picked),
        ``keyword`` or ``given``; per category:
        :func:`~lifecircle.facilities.rules_by_category`), ``row`` (the row as the user sees it:
        spreadsheet row number for CSV/Excel — the header is row 1 — else the index label), the
        table's other columns (a name clash gets a ``_raw`` suffix) and ``geometry``.
    """
    cats = profile_categories(profile)
    if errors not in ("warn", "raise"):
        raise InputError(f"errors must be 'warn' or 'raise', got {errors!r}")
    if bad_coords not in ("raise", "report"):
        raise InputError(f"bad_coords must be 'raise' or 'report', got {bad_coords!r}")
    bounds = check_bounds(bounds)
    table = read_table(table_or_path, encoding, sheet, what="facilities")
    src_name = source or table.stem
    where = table.name if table.is_file else src_name
    use_geometry = table.geometry_name is not None and lon is None and lat is None
    given = {"lon": lon, "lat": lat, "name": name, "category": category}
    given |= {"capacity": capacity, "amap_type": amap_type, "id": id}
    cols = _find_columns(table, cats, given, use_geometry, where)
    cols.log(where)
    system = table_crs(crs, table.frame, use_geometry, cols.lon, cols.lat, where)
    x, y, bad_report = _coordinates(table, cols, system, use_geometry, bad_coords, where)
    wgs = _to_wgs84(table, x, y, system, crs, where)
    cat = _categorise(table, cols, cats, where, poi_types_from(poi_types))
    cap = _capacity(table, [c for c in [cols.capacity, *cols.more_capacity] if c is not None], where)
    ids = _ids(table, cols.id, id, src_name, where)
    unmatched_rep = _unmatched(table, cat, cats, wgs, errors, where)
    gdf = _frame(table, cols, cat, ids, cap, wgs, src_name)
    gate_rep = attach_gates(_gate_rows(table, cat, wgs), gdf, where)
    if network is not None or bounds is not None:
        flag_outside(gdf, network, bounds, where, system)
    if unmatched_rep:
        gdf.attrs["unmatched"] = unmatched_rep
    if bad_report:
        gdf.attrs["bad_coords"] = bad_report
    if gate_rep:
        gdf.attrs["gates"] = gate_rep
    _warn_copies(gdf, where, table.row_note)
    log_counts(gdf, cats, where)
    log_rules(gdf, where)
    return gdf


def _warn_copies(gdf: gpd.GeoDataFrame, where: str, note: str) -> None:
    """Warn about rows that repeat an earlier row: the same category and name within about a
    metre (a list pasted together twice): each would count as a facility and add its capacity."""
    if len(gdf) < 2:
        return
    xy = np.round(shapely.get_coordinates(gdf.geometry.values) * 1e5)  # ~1 m in degrees
    names = gdf["name"].map(key) if "name" in gdf else pd.Series("", index=gdf.index)
    k = pd.DataFrame({"c": gdf["category"].to_numpy(), "n": names.to_numpy(),
                      "x": xy[:, 0], "y": xy[:, 1]})  # fmt: skip
    again = k.duplicated(keep="first").to_numpy() & (k["n"] != "").to_numpy()
    if again.any():
        log.warning(
            "%s: %d rows repeat an earlier row (same category, name and place; %s): %s. Each "
            "counts as a facility with its capacity; delete the copies",
            where, int(again.sum()), note, rows_text(list(gdf["row"].to_numpy()[again])),
        )  # fmt: skip
