"""Run configuration files (TOML): reading and checking them. The run itself is
:func:`lifecircle.pipeline.run`.

A configuration names the inputs (network, facility lists with their coordinate systems,
communities, profile), the parameters (levels, speeds, thresholds) and the outputs (formats, map,
pool). Every key is checked on load: an unknown or mistyped key is a :class:`ConfigError` that
names the key and its line. Relative paths are relative to the configuration file.
"""

from __future__ import annotations

import difflib
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigError, InputError
from ._located import Locator, Path_, TomlPositions, located_error, read_text
from .analysis.programme import ProgrammeParams

log = logging.getLogger(__name__)

# section -> {key: allowed types}; "facilities" is an array of tables
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "network": {"source": (str,), "crs": (str, int), "keep": (str,), "max_snap_m": _NUM,
                "layer": (str, int), "columns": (dict,), "exclude": (dict,),
                "tolerance_m": _NUM},  # fmt: skip
    "facilities": {
        "osm": (bool, str),
        "path": (str,),
        "crs": (str, int),
        "lon": (str,),
        "lat": (str,),
        "category": (str,),
        "name": (str,),
        "capacity": (str,),
        "amap_type": (str,),
        "id": (str,),
        "sheet": (str, int),
        "encoding": (str,),
        "source": (str,),
        "layer": (str,),
        "gates": (bool, str),
    },
    "communities": {
        "path": (str,),
        "layer": (str,),
        "id": (str,),
        "name": (str,),
        "code": (str,),
        "population": (str,),
        "street": (str,),
        "street_code": (str,),
        "county": (str,),
        "county_code": (str,),
        "elderly": (str,),
        "child_0_3": (str,),
        "child_3_6": (str,),
        "urban_rural_code": (str,),
        "settlement": (str,),
        "crs": (str, int),
        "lon": (str,),
        "lat": (str,),
        "encoding": (str,),
        "sheet": (str, int),
        "population_columns": (dict,),
        "compounds": (str,),
        "compounds_layer": (str,),
        "compound_gates": (str,),
    },
    "demand": {
        "buildings": (bool, str),
        "raster": (str,),
        "grid_m": _NUM,
        "per_capita_floor_m2": _NUM,
        "default_levels": _NUM,
        "missing_population": (str,),
    },
    "analysis": {
        "profile": (str,),
        "levels": (list,),
        "categories": (list,),
        "speed": (str, int, float),
        "min_covered_share": _NUM,
        "target_share": _NUM,
        "merge_duplicates_m": _NUM,
        "complete_categories": (list, bool),
        "data_gap_radius_m": _NUM,
    },
    "sites": {"max_sites": (int,), "categories": (list,), "min_new_pop": _NUM},
    "programme": {
        "years": (list,),
        "projects_per_year": (int, dict),
        "budget_per_year": (int, float, dict),
        "every_street": (str,),
        "target_share": _NUM,
        "target_year": (int,),
        "target_rule": (str,),
        "candidates": (str,),
        "candidates_layer": (str,),
        "categories": (list,),
        "default_cost": _NUM,
        "time_limit_s": _NUM,
    },
    "output": {
        "dir": (str,),
        "formats": (list,),
        "map": (bool,),
        "map_offline": (bool,),
        "basemap": (str,),
        "tianditu_key": (str,),
        "pool": (str,),
        "record_run": (bool,),
        "lang": (str,),
    },
    "regions": {
        "by": (str,),
        "scheduler": (str,),
        "n_workers": (int,),
        "retries": (int,),
        "workdir": (str,),
    },
}
REQUIRED = {"network": ("source",), "communities": ("path",), "analysis": ("profile",)}
FORMATS = ("xlsx", "csv", "gpkg")


@dataclass
class Config:
    """A validated run configuration (plain dicts per section, paths resolved)."""

    path: Path | None
    network: dict[str, Any]
    facilities: list[dict[str, Any]]
    communities: dict[str, Any]
    demand: dict[str, Any] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    sites: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    loc: Locator | None = field(default=None, repr=False)
    regions: dict[str, Any] = field(default_factory=dict)
    programme: dict[str, Any] = field(default_factory=dict)

    def where(self, *key: str | int) -> str:
        """``"<file>, line N: section.key"`` for error messages about a configured value."""
        if self.loc is None:
            return ".".join(map(str, key))
        err = located_error(self.loc, key, "", ConfigError)
        return str(err).rstrip(": ")


def _fail(loc: Locator, path: Path_, message: str) -> ConfigError:
    return located_error(loc, path, message, ConfigError)  # type: ignore[return-value]


def _check_table(
    loc: Locator, path: Path_, table: Any, schema: dict[str, tuple[type, ...]]
) -> None:
    if not isinstance(table, dict):
        raise _fail(loc, path, f"expected a table of keys, got {table!r}")
    for key, value in table.items():
        if key not in schema:
            near = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(schema)}"
            raise _fail(loc, path + (key,), f"unknown key{hint}")
        types = schema[key]
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            want = " or ".join(
                {
                    str: "text",
                    int: "an integer",
                    float: "a number",
                    bool: "true/false",
                    list: "a list",
                    dict: "a table",
                }[t]
                for t in types
            )
            raise _fail(loc, path + (key,), f"expected {want}, got {value!r}")


def load_config(path: str | Path) -> Config:
    """Read and validate a run configuration (TOML). Errors name the key and the line."""
    path = Path(path)
    text = read_text(path, "configuration", ConfigError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    loc = Locator(str(path), path, data, TomlPositions(text).pos)
    return _validate(loc, path.parent)


def config_from_dict(data: dict[str, Any], base: str | Path = ".") -> Config:
    """Validate a configuration given as a dict (paths relative to ``base``)."""
    return _validate(Locator("<config>", None, data, {(): 1}), Path(base))


def _check_sections(loc: Locator) -> None:
    data = loc.data
    for section, value in data.items():
        if section not in SCHEMA:
            near = difflib.get_close_matches(section, list(SCHEMA), n=1)
            hint = f"; did you mean [{near[0]}]?" if near else f"; sections are {', '.join(SCHEMA)}"
            raise _fail(loc, (section,), f"unknown section{hint}")
        if section != "facilities":
            _check_table(loc, (section,), value, SCHEMA[section])
            continue
        if not isinstance(value, list):
            raise _fail(loc, (section,), "write each facility source as a [[facilities]] table")
        for i, item in enumerate(value):
            _check_table(loc, (section, i), item, SCHEMA[section])
            if ("path" in item) == ("osm" in item):
                raise _fail(loc, (section, i), 'give either path = "file" or osm = true')
            if "path" in item and not {"category", "name", "amap_type"} & set(item):
                log.info(
                    "facilities[%d]: no category/name/amap_type column named; "
                    "common Chinese and English headers are recognised",
                    i,
                )
    for section, keys in REQUIRED.items():
        for key in keys:
            if key not in data.get(section, {}):
                raise _fail(loc, (section,), f"missing required key {section}.{key}")


class _Paths:
    """Paths in a configuration are relative to the configuration file's folder."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p

    def resolve(self, value: Any) -> Any:
        """A file path relative to the config; a place name (no such file, no suffix) stays text."""
        if isinstance(value, str) and value and not value.startswith(_DB_PREFIXES):
            candidate = self.path(value)
            if candidate.exists() or Path(value).suffix:
                return candidate
        return value


_DB_PREFIXES = ("postgresql://", "postgres://")


def _inputs(loc: Locator, paths: _Paths) -> dict[str, Any]:
    data = loc.data
    net = dict(data["network"])
    net["source"] = paths.resolve(net["source"])
    if "keep" in net and net["keep"] not in ("largest", "all"):
        raise _fail(loc, ("network", "keep"), "must be 'largest' or 'all'")
    if "max_snap_m" in net and not net["max_snap_m"] > 0:
        raise _fail(loc, ("network", "max_snap_m"), "must be a distance in metres > 0")
    if "tolerance_m" in net and not net["tolerance_m"] > 0:
        raise _fail(loc, ("network", "tolerance_m"), "must be a distance in metres > 0")
    for role, column in net.get("columns", {}).items():
        if not isinstance(column, str):
            raise _fail(loc, ("network", "columns", role), "must be a column name (text)")
    for column, values in net.get("exclude", {}).items():
        if not isinstance(values, (str, list)) or not all(
            isinstance(v, (str, int)) for v in ([values] if isinstance(values, str) else values)
        ):
            raise _fail(loc, ("network", "exclude", column), 'must be a list of values, e.g. ["高速公路"]')
    fac = []
    for item in data.get("facilities", []):
        item = dict(item)
        if "path" in item:
            item["path"] = paths.resolve(item["path"])
        if isinstance(item.get("osm"), str):
            item["osm"] = paths.resolve(item["osm"])
        if isinstance(item.get("gates"), str) and item["gates"] != "osm":
            item["gates"] = paths.resolve(item["gates"])
        fac.append(item)
    comm = _communities(loc, paths)
    demand = dict(data.get("demand", {}))
    if isinstance(demand.get("buildings"), str) and demand["buildings"] != "osm":
        demand["buildings"] = paths.resolve(demand["buildings"])
    if "raster" in demand:
        demand["raster"] = paths.resolve(demand["raster"])
    analysis = dict(data["analysis"])
    if analysis["profile"].endswith((".toml", ".yaml", ".yml")):
        analysis["profile"] = paths.resolve(analysis["profile"])
    return {"network": net, "facilities": fac, "communities": comm, "demand": demand,
            "analysis": analysis}  # fmt: skip


#: A ``population`` value with one of these suffixes is a separate table, not a column name.
_TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt", ".parquet")


def _communities(loc: Locator, paths: _Paths) -> dict[str, Any]:
    """The [communities] section: a population table file, compounds and their gates."""
    comm = dict(loc.data["communities"])
    comm["path"] = paths.resolve(comm["path"])
    pop = comm.get("population")
    if isinstance(pop, str) and pop.lower().endswith(_TABLE_SUFFIXES):
        comm["population"] = paths.path(pop)
    elif "population_columns" in comm:
        raise _fail(
            loc, ("communities", "population_columns"),
            'needs population = "<table file>" (e.g. "七普人口.xlsx"); a column name has no columns',
        )  # fmt: skip
    for role, column in comm.get("population_columns", {}).items():
        if not isinstance(column, str):
            raise _fail(loc, ("communities", "population_columns", role), "must be a column name")
    if "compounds_layer" in comm and "compounds" not in comm:
        raise _fail(loc, ("communities", "compounds_layer"), 'needs compounds = "<file>"')
    if "compound_gates" in comm and "compounds" not in comm:
        raise _fail(
            loc, ("communities", "compound_gates"),
            'gates belong to compounds: add compounds = "小区.gpkg" (or "osm")',
        )  # fmt: skip
    for k in ("compounds", "compound_gates"):
        if k in comm and comm[k] != "osm":
            comm[k] = paths.path(comm[k])
    return comm


def _output(loc: Locator, paths: _Paths) -> dict[str, Any]:
    out = dict(loc.data.get("output", {}))
    for f in out.get("formats", []):
        if f not in FORMATS:
            raise _fail(
                loc, ("output", "formats"), f"unknown format {f!r}; use {', '.join(FORMATS)}"
            )
    if out.get("lang", "zh") not in ("zh", "en"):
        raise _fail(loc, ("output", "lang"), "must be 'zh' or 'en'")
    if out.get("basemap", "osm") not in ("osm", "tianditu", "amap", "none"):
        raise _fail(loc, ("output", "basemap"), "must be osm, tianditu, amap or none")
    if out.get("basemap") == "tianditu" and not out.get("tianditu_key"):
        raise _fail(
            loc,
            ("output", "basemap"),
            "the Tianditu basemap needs tianditu_key (a free key from tianditu.gov.cn)",
        )
    out["dir"] = paths.path(out.get("dir", "lifecircle_output"))
    if out["dir"].exists() and not out["dir"].is_dir():
        raise _fail(
            loc, ("output", "dir"),
            f"{out['dir']} is a file, not a folder; name a folder for the results",
        )  # fmt: skip
    if "pool" in out and not out["pool"].startswith(_DB_PREFIXES):
        p = Path(out["pool"]).expanduser()
        out["pool"] = p if p.is_absolute() else Path(out["dir"]) / p
    return out


def _validate(loc: Locator, base: Path) -> Config:
    _check_sections(loc)
    paths = _Paths(base)
    inputs = _inputs(loc, paths)
    output, regions, programme = _output(loc, paths), _regions(loc, paths), _programme(loc, paths)
    _check_files(loc, inputs, programme)  # after the keys and values: those errors come first
    return Config(
        path=loc.path,
        **inputs,
        sites=dict(loc.data.get("sites", {})),
        output=output,
        loc=loc,
        regions=regions,
        programme=programme,
    )


def _check_files(loc: Locator, inputs: dict[str, Any], programme: dict[str, Any]) -> None:
    """Every input file the configuration names exists, checked before anything is loaded (a
    wrong path found after a city's network was read costs that whole load)."""
    keys: list[tuple[Any, ...]] = [("network", "source"), ("communities", "path"),
                                   ("communities", "population"), ("communities", "compounds"),
                                   ("communities", "compound_gates"), ("demand", "buildings"),
                                   ("demand", "raster"), ("analysis", "profile"),
                                   ("programme", "candidates")]  # fmt: skip
    keys += [("facilities", i, k) for i in range(len(inputs["facilities"]))
             for k in ("path", "osm", "gates")]  # fmt: skip
    sections = {**inputs, "programme": programme}
    for key in keys:
        where: Any = sections
        for k in key:
            where = where[k] if isinstance(where, list) else where.get(k)
            if where is None:
                break
        if isinstance(where, Path) and not where.exists():
            raise _fail(loc, key, f"file not found: {where} (a relative path is read from the "
                                  "configuration's folder)")  # fmt: skip


def _per_year(loc: Locator, key: str, value: Any) -> Any:
    """A number, or a table ``{ 2026 = 3, 2027 = 4 }`` of numbers by year (keys as text)."""
    kinds = (int,) if key == "projects_per_year" else _NUM
    if not isinstance(value, dict):  # its type is checked with the schema
        return value
    out = {}
    for year, v in value.items():
        if not str(year).isdigit() or isinstance(v, bool) or not isinstance(v, kinds):
            what = "a whole number" if key == "projects_per_year" else "a number"
            raise _fail(loc, ("programme", key, year), f"give {what} for each year, e.g. {{ 2026 = 3 }}")
        out[int(year)] = v
    return out


def _programme(loc: Locator, paths: _Paths) -> dict[str, Any]:
    """The [programme] section: the year-by-year gap-filling programme after the analysis."""
    pc = dict(loc.data.get("programme", {}))
    if not pc:
        return pc
    years = pc.get("years")
    if not years or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
        raise _fail(loc, ("programme", "years"), "give the years to plan, e.g. years = [2026, 2027, 2028]")
    for key in ("projects_per_year", "budget_per_year"):
        if key in pc:
            pc[key] = _per_year(loc, key, pc[key])
    if "candidates" in pc:
        pc["candidates"] = paths.path(pc["candidates"])
    try:
        programme_params(pc).check()
    except InputError as exc:
        raise _fail(loc, ("programme",), str(exc)) from None
    return pc


def programme_params(section: dict[str, Any]) -> ProgrammeParams:
    """The :class:`~lifecircle.analysis.programme.ProgrammeParams` of a [programme] section."""
    keys = ("projects_per_year", "budget_per_year", "every_street", "target_share", "target_year",
            "target_rule", "default_cost", "time_limit_s")  # fmt: skip
    return ProgrammeParams(tuple(section["years"]), **{k: section[k] for k in keys if k in section})


def _regions(loc: Locator, paths: _Paths) -> dict[str, Any]:
    """The [regions] section: split the run by street or county and run it on Dask."""
    rc = dict(loc.data.get("regions", {}))
    if rc.get("by", "street_code") not in ("street_code", "county_code"):
        raise _fail(loc, ("regions", "by"), 'give by = "street_code" or by = "county_code"')
    if "workdir" in rc:
        rc["workdir"] = paths.path(rc["workdir"])
    return rc


TEMPLATE = """# lifecircle run configuration — edit the paths, then: lifecircle run {name}
# Relative paths are relative to this file. Every key is checked; see docs/cli.md.

[network]
source = "city.osm.pbf"          # an .osm.pbf/.osm file (e.g. a Geofabrik extract), a saved network
                                 # folder, or a place name fetched online, e.g. "南湖区, 嘉兴市, 浙江省"
# crs = "EPSG:4549"              # default: the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4549 in Jiaxing)
keep = "largest"                 # or "all": keep disconnected pieces
# A road centreline layer (路网中心线: .shp, .gpkg, .geojson, .gdb) also works as source:
# layer = "道路中心线"             # the layer of a GeoPackage/FileGDB
# crs = "gcj02"                  # its coordinates, when the file has none or they are GCJ-02/BD-09
# columns = {{ bridge = "桥梁", tunnel = "隧道", layer = "层级" }}
# exclude = {{ "道路等级" = ["高速公路", "快速路主路"] }}
# tolerance_m = 1.0              # line ends this close to another line are joined to it

[[facilities]]
osm = true                       # facilities tagged in the network's OSM file

# [[facilities]]                 # a bureau or Amap list; give its coordinate system
# path = "养老机构.xlsx"
# crs = "gcj02"                  # wgs84 | gcj02 (Amap/高德, Tencent) | bd09 (Baidu) | cgcs2000 | EPSG code
# lon = "经度"
# lat = "纬度"
# name = "名称"
# category = "类别"
# capacity = "床位"
# gates = true                   # its 出入口 POIs (XX小学-东门) are the facilities' entrances, a layer, or "osm"

[communities]
path = "communities.gpkg"        # polygons or points with a population column
# name = "社区名称"
# population = "常住人口"
# street = "街道"
# county = "区县"
# code = "区划代码"               # 12-digit statistical code: street and county codes follow from it
# elderly = "60岁以上"
# population = "七普人口.xlsx"     # or a separate population table, joined by 12-digit code or name
# compounds = "osm"              # 小区 polygons: a layer (.gpkg ...) or "osm" (landuse=residential)
# compound_gates = "osm"         # their gates: the OSM file's entrance=*/barrier=gate, or a layer

[demand]
buildings = "osm"                # residential buildings from the OSM file spread people inside communities
# raster = "worldpop.tif"        # or a population raster
# grid_m = 100                   # or a regular grid
missing_population = "zero"      # communities without population and without residential buildings
                                 # count as empty (named in a warning); "error" stops the run instead

[analysis]
profile = "jiaxing-yilao-yixiao" # or gb50180-2018, tdt1062-2021, or your own .toml (lifecircle profile init)
# speed = "elderly"              # default: the standard's distances; or adult (1.2 m/s), elderly (0.9 m/s)
# complete_categories = ["nursery"]  # lists you know are complete: no facility near = real absence
min_covered_share = 0.8
target_share = 0.6

[sites]
max_sites = 5                    # proposed sites per category (0: none)

# [programme]                    # a year-by-year programme of projects (建设时序) after the analysis
# years = [2026, 2027, 2028, 2029, 2030]
# projects_per_year = 10         # or {{ 2026 = 8, 2027 = 12 }}; and/or budget_per_year (the candidates' cost unit)
# every_street = "report"        # every street >= 1 project a year where it can: report | require | off
# target_share = 0.6             # share of communities meeting the standard to reach by target_year
# target_year = 2028             # default: the last year; target_rule = "report" | "require" | "check"
# candidates = "候选地块.gpkg"     # places that could host a facility; default: points on the streets

[output]
dir = "lifecircle_output"
formats = ["xlsx", "csv"]
map = true
map_offline = true               # inline the map's JavaScript so it opens without internet
basemap = "osm"                  # osm | tianditu (needs tianditu_key) | amap | none
pool = "lifecircle_pool.gpkg"    # or postgresql://user@host/db for a shared PostGIS pool
record_run = true                # keep each run in the pool's run history (lifecircle.read_runs)
lang = "zh"
"""


def __getattr__(name: str) -> Any:
    if name in ("run", "RunResult"):  # moved in 0.2: this module only reads configurations
        import warnings

        from . import pipeline

        warnings.warn(
            f"lifecircle.config.{name} moved to lifecircle.pipeline.{name}; the old name goes "
            "in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
