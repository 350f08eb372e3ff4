"""Run configuration files (TOML) and the whole pipeline behind ``lifecircle run``.

A configuration names the inputs (network, facility lists with their coordinate systems,
communities, profile), the parameters (levels, speeds, thresholds) and the outputs (formats, map,
pool). Every key is checked on load: an unknown or mistyped key is a :class:`ConfigError` that
names the key and its line. Relative paths are relative to the configuration file.
"""

from __future__ import annotations

import difflib
import logging
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigError
from ._located import Locator, Path_, TomlPositions, located_error, read_text

log = logging.getLogger(__name__)

# section -> {key: allowed types}; "facilities" is an array of tables
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "network": {"source": (str,), "crs": (str, int), "keep": (str,), "max_snap_m": _NUM},
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
    },
    "sites": {"max_sites": (int,), "categories": (list,), "min_new_pop": _NUM},
    "output": {
        "dir": (str,),
        "formats": (list,),
        "map": (bool,),
        "map_offline": (bool,),
        "basemap": (str,),
        "tianditu_key": (str,),
        "pool": (str,),
        "lang": (str,),
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


def _validate(loc: Locator, base: Path) -> Config:
    data = loc.data
    for section, value in data.items():
        if section not in SCHEMA:
            near = difflib.get_close_matches(section, list(SCHEMA), n=1)
            hint = f"; did you mean [{near[0]}]?" if near else f"; sections are {', '.join(SCHEMA)}"
            raise _fail(loc, (section,), f"unknown section{hint}")
        if section == "facilities":
            if not isinstance(value, list):
                raise _fail(loc, (section,), "write each facility source as a [[facilities]] table")
            for i, item in enumerate(value):
                _check_table(loc, (section, i), item, SCHEMA[section])
                if ("path" in item) == ("osm" in item):
                    raise _fail(loc, (section, i), 'give either path = "file" or osm = true')
                if (
                    "path" in item
                    and "category" not in item
                    and "name" not in item
                    and "amap_type" not in item
                ):
                    log.info(
                        "facilities[%d]: no category/name/amap_type column named; "
                        "common Chinese and English headers are recognised",
                        i,
                    )
        else:
            _check_table(loc, (section,), value, SCHEMA[section])
    for section, keys in REQUIRED.items():
        for key in keys:
            if key not in data.get(section, {}):
                raise _fail(loc, (section,), f"missing required key {section}.{key}")

    def path(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    def resolve(value: Any) -> Any:
        """A file path relative to the config; a place name (no such file, no suffix) stays text."""
        if (
            isinstance(value, str)
            and value
            and not value.startswith(("postgresql://", "postgres://"))
        ):
            candidate = path(value)
            if candidate.exists() or Path(value).suffix:
                return candidate
        return value

    net = dict(data["network"])
    net["source"] = resolve(net["source"])
    if "keep" in net and net["keep"] not in ("largest", "all"):
        raise _fail(loc, ("network", "keep"), "must be 'largest' or 'all'")
    fac = []
    for item in data.get("facilities", []):
        item = dict(item)
        if "path" in item:
            item["path"] = resolve(item["path"])
        if isinstance(item.get("osm"), str):
            item["osm"] = resolve(item["osm"])
        fac.append(item)
    comm = dict(data["communities"])
    comm["path"] = resolve(comm["path"])
    demand = dict(data.get("demand", {}))
    if isinstance(demand.get("buildings"), str) and demand["buildings"] != "osm":
        demand["buildings"] = resolve(demand["buildings"])
    if "raster" in demand:
        demand["raster"] = resolve(demand["raster"])
    analysis = dict(data["analysis"])
    prof = analysis["profile"]
    if prof.endswith((".toml", ".yaml", ".yml")):
        analysis["profile"] = resolve(prof)
    out = dict(data.get("output", {}))
    for i, f in enumerate(out.get("formats", [])):
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
    out["dir"] = path(out.get("dir", "lifecircle_output"))
    if "pool" in out and not out["pool"].startswith(("postgresql://", "postgres://")):
        p = Path(out["pool"]).expanduser()
        out["pool"] = p if p.is_absolute() else Path(out["dir"]) / p
    return Config(
        path=loc.path,
        network=net,
        facilities=fac,
        communities=comm,
        demand=demand,
        analysis=analysis,
        sites=dict(data.get("sites", {})),
        output=out,
    )


# ---------------------------------------------------------------------- the pipeline
@dataclass
class RunResult:
    """What a run produced: the analysis, the files written and the time each stage took."""

    analysis: Any
    files: dict[str, Path | str]
    seconds: dict[str, float]

    def summary_lines(self, lang: str = "zh") -> list[str]:
        """The end-of-run summary, one line per item."""
        s = self.analysis.summary
        total = sum(self.seconds.values())
        if lang == "en":
            lines = [
                f"communities: {s['communities']:,}  (population {s['population']:,.0f})",
                f"categories: {s['categories']}  facilities: {s['facilities']:,}",
                f"shortfalls: {s['shortfalls']:,}  communities meeting the standard: "
                f"{s['share_meeting_standard']:.0%} (target {s['target_share']:.0%})",
                f"time: {total:.1f} s ("
                + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
                + ")",
            ]
        else:
            lines = [
                f"社区 communities: {s['communities']:,}  (人口 {s['population']:,.0f})",
                f"设施类别 categories: {s['categories']}  设施 facilities: {s['facilities']:,}",
                f"短板 shortfalls: {s['shortfalls']:,}  达标社区比例: {s['share_meeting_standard']:.0%} "
                f"(目标 {s['target_share']:.0%})",
                f"用时 time: {total:.1f} s ("
                + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
                + ")",
            ]
        lines += [f"{k}: {v}" for k, v in self.files.items()]
        return lines


def run(config: Config | str | Path) -> RunResult:
    """Run the whole pipeline of a configuration and write its outputs."""
    import geopandas as gpd
    import pandas as pd

    from . import settings
    from .analysis import analyze
    from .communities import buildings_from_osm, load_communities
    from .facilities import facilities_from_osm, load_facilities, merge_duplicates
    from .network import load_network
    from .outputs.pool import export_pool
    from .outputs.tables import write_csv, write_excel
    from .standards import load_profile

    cfg = config if isinstance(config, Config) else load_config(config)
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[name] = now - t
        t = now

    nc = cfg.network
    net = load_network(nc["source"], crs=nc.get("crs"), keep=nc.get("keep", "largest"))
    if "max_snap_m" in nc:
        settings.max_snap_m = float(nc["max_snap_m"])
    lap("network")

    ac = dict(cfg.analysis)
    ac["profile"] = load_profile(ac["profile"])
    frames = []
    osm_file = nc["source"] if isinstance(nc["source"], Path) else None
    for i, item in enumerate(cfg.facilities or [{"osm": True}]):
        if "osm" in item:
            src = item["osm"] if isinstance(item["osm"], Path) else osm_file
            if item["osm"] is False:
                continue
            if src is None:
                raise ConfigError(
                    f"facilities[{i}]: osm = true needs network.source to be an OSM file"
                )
            frames.append(facilities_from_osm(src, ac["profile"]))
        else:
            kw = {k: v for k, v in item.items() if k not in ("path",)}
            frames.append(load_facilities(item["path"], ac["profile"], network=net, **kw))
    if len(frames) > 1:
        fac = merge_duplicates(*frames, max_distance_m=float(ac.get("merge_duplicates_m", 50)))
    elif frames:
        fac = frames[0]
    else:
        fac = gpd.GeoDataFrame({"category": []}, geometry=[], crs=4326)
    lap("facilities")

    cc = dict(cfg.communities)
    comm = load_communities(cc.pop("path"), **cc)
    dc = cfg.demand
    buildings = landuse = None
    if dc.get("buildings", "osm" if osm_file else False):
        bsrc = osm_file if dc.get("buildings", "osm") in ("osm", True) else dc["buildings"]
        if bsrc is not None and Path(bsrc).suffix.lower() in (
            ".pbf",
            ".osm",
            ".gz",
            ".bz2",
            ".xml",
        ):
            buildings, landuse = buildings_from_osm(bsrc)
        elif bsrc is not None:
            buildings = gpd.read_file(bsrc)
    lap("communities")
    from .communities import demand_points

    demand = demand_points(
        comm,
        buildings=buildings,
        landuse=landuse,
        raster=dc.get("raster"),
        grid_m=dc.get("grid_m"),
        per_capita_floor_m2=float(dc.get("per_capita_floor_m2", 40.0)),
        default_levels=float(dc.get("default_levels", 6.0)),
        missing_population=dc.get("missing_population", "error"),
    )
    a = analyze(
        net,
        fac,
        comm,
        ac["profile"],
        categories=ac.get("categories"),
        levels=ac.get("levels"),
        speed=ac.get("speed"),
        demand=demand,
        min_covered_share=float(ac.get("min_covered_share", 0.8)),
        target_share=float(ac.get("target_share", 0.6)),
    )
    if cfg.sites.get("max_sites", 0):
        a.propose_sites(
            categories=cfg.sites.get("categories"),
            max_sites=int(cfg.sites["max_sites"]),
            min_new_pop=float(cfg.sites.get("min_new_pop", 1.0)),
        )
    lap("analysis")

    oc = cfg.output
    out_dir = Path(oc["dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    lang = oc.get("lang", settings.language)
    files: dict[str, Path | str] = {}
    formats = oc.get("formats", ["xlsx", "csv"])
    if "xlsx" in formats:
        files["xlsx"] = write_excel(a, out_dir / "lifecircle_shortfalls.xlsx", lang=lang)
    if "csv" in formats:
        files["csv"] = write_csv(a.shortfalls, out_dir / "lifecircle_shortfalls.csv", lang=lang)
    if "gpkg" in formats:
        gpkg = out_dir / "lifecircle_results.gpkg"
        a.index.to_file(gpkg, layer="service_index", driver="GPKG")
        cov = a.coverage.merge(a.index[["community_id", "geometry"]], on="community_id")
        gpd.GeoDataFrame(
            pd.DataFrame(cov).replace([float("inf")], None), geometry="geometry", crs=a.index.crs
        ).to_file(gpkg, layer="coverage", driver="GPKG")
        files["gpkg"] = gpkg
    if oc.get("map", True):
        m = a.map(basemap=oc.get("basemap", "osm"), tianditu_key=oc.get("tianditu_key"), lang=lang)
        path = out_dir / "lifecircle_map.html"
        from .outputs.map import save_map

        save_map(m, path, offline=oc.get("map_offline", True))
        files["map"] = path
    pool = oc.get("pool", out_dir / "lifecircle_pool.gpkg")
    if pool:
        export_pool(a, pool)
        files["pool"] = pool
    lap("outputs")
    return RunResult(analysis=a, files=files, seconds=seconds)


TEMPLATE = """# lifecircle run configuration — edit the paths, then: lifecircle run {name}
# Relative paths are relative to this file. Every key is checked; see docs/cli.md.

[network]
source = "city.osm.pbf"          # an .osm.pbf/.osm file (e.g. a Geofabrik extract), a saved network
                                 # folder, or a place name fetched online, e.g. "南湖区, 嘉兴市, 浙江省"
# crs = "EPSG:4549"              # default: the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4549 in Jiaxing)
keep = "largest"                 # or "all": keep disconnected pieces

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

[communities]
path = "communities.gpkg"        # polygons or points with a population column
# name = "社区名称"
# population = "常住人口"
# street = "街道"
# county = "区县"
# code = "区划代码"               # 12-digit statistical code: street and county codes follow from it
# elderly = "60岁以上"

[demand]
buildings = "osm"                # residential buildings from the OSM file spread people inside communities
# raster = "worldpop.tif"        # or a population raster
# grid_m = 100                   # or a regular grid

[analysis]
profile = "jiaxing-yilao-yixiao" # or gb50180-2018, tdt1062-2021, or your own .toml (lifecircle profile init)
# speed = "elderly"              # default: the standard's distances; or adult (1.2 m/s), elderly (0.9 m/s)
min_covered_share = 0.8
target_share = 0.6

[sites]
max_sites = 5                    # proposed sites per category (0: none)

[output]
dir = "lifecircle_output"
formats = ["xlsx", "csv"]
map = true
map_offline = true               # inline the map's JavaScript so it opens without internet
basemap = "osm"                  # osm | tianditu (needs tianditu_key) | amap | none
pool = "lifecircle_pool.gpkg"    # or postgresql://user@host/db for a shared PostGIS pool
lang = "zh"
"""
