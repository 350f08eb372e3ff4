"""The whole run that a configuration file describes (``lifecircle run config.toml``):
network → facilities → communities and demand → analysis (and sites) → the programme (with a
``[programme]`` section) → outputs and pool.

Errors from a stage name the configuration key (and line) that fed it. A run's files are written
into a temporary folder beside the results and moved in only when every output, the pool
included, was written: a failed run never leaves half of its files behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from . import settings
from ._errors import ConfigError, InputError, LifecircleError
from ._progress import Laps
from .analysis import Analysis, analyze
from .analysis.datastatus import DATA_GAP_RADIUS_M
from .analysis.programme import Programme, plan_programme, programme_projects
from .batch import RegionsResult, analyze_regions, write_regions_csv
from .communities import buildings_from_osm, demand_points, load_communities
from .config import Config, load_config, programme_params
from .facilities import (
    facilities_from_osm,
    facility_areas_from_osm,
    gates,
    gates_from_osm,
    gates_of_facilities,
    gates_of_places,
    load_facilities,
    merge_duplicates,
)
from .facilities.gates import GATE_TO_PLACE_M, MAX_GATE_DISTANCE_M
from .network import WalkNetwork, load_network
from .outputs.labels import VALUES
from .outputs.map import save_map
from .outputs.pool import export_pool, record_run
from .outputs.pool.backend import resolve_target
from .outputs.pool.history import HISTORY_KINDS
from .outputs.tables import facility_names, write_csv, write_excel
from .standards import Profile, load_profile

log = logging.getLogger(__name__)

_OSM_SUFFIXES = (".pbf", ".osm", ".gz", ".bz2", ".xml")


@dataclass
class RunResult:
    """What a run produced: the analysis, the files written, the time each stage took and the
    programme (with a ``[programme]`` section)."""

    analysis: Analysis
    files: dict[str, Path | str]
    seconds: dict[str, float] = field(default_factory=dict)
    programme: Programme | None = None

    def summary_lines(self, lang: str = "zh") -> list[str]:
        """The end-of-run summary, one line per item."""
        s = self.analysis.summary
        total = sum(self.seconds.values())
        laps = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        share_of = VALUES["share_of"][s["share_of"]][0 if lang == "zh" else 1]
        if lang == "en":
            lines = [
                f"communities: {s['communities']:,}  (population {s['population']:,.0f})",
                f"categories: {s['categories']}  ({s['categories_not_assessed']} without data, "
                f"not assessed)  facilities: {s['facilities']:,}",
                f"shortfalls: {s['shortfalls']:,}  data checklist: {s['data_gaps']:,}  "
                f"meeting the standard: {s['share_meeting_standard']:.0%} of {share_of} "
                f"(target {s['target_share']:.0%})",
                f"time: {total:.1f} s ({laps})",
            ]
        else:
            lines = [
                f"社区 communities: {s['communities']:,}  (人口 {s['population']:,.0f})",
                f"设施类别 categories: {s['categories']}  (其中 {s['categories_not_assessed']} 类无数据未评估)  "
                f"设施 facilities: {s['facilities']:,}",
                f"短板 shortfalls: {s['shortfalls']:,}  数据核查 {s['data_gaps']:,} 项  达标社区比例 "
                f"({share_of}): {s['share_meeting_standard']:.0%} (目标 {s['target_share']:.0%})",
                f"用时 time: {total:.1f} s ({laps})",
            ]
        return lines + self._programme_lines(lang) + [f"{k}: {v}" for k, v in self.files.items()]

    def _programme_lines(self, lang: str) -> list[str]:
        p = self.programme
        if p is None:
            return []
        y = p.by_year
        share = float(y["share_meeting_standard"].iat[-1]) if len(y) else p.baseline_share
        span = f"{y['year'].min()}–{y['year'].max()}"
        if lang == "en":
            text = (f"programme {span}: {len(p.table)} projects, meeting the standard "
                    f"{p.baseline_share:.0%} → {share:.0%}; rules not met: {len(p.issues)}")  # fmt: skip
        else:
            text = (f"建设时序 programme {span}: {len(p.table)} 个项目, 达标社区比例 "
                    f"{p.baseline_share:.0%} → {share:.0%}; 未满足规则 {len(p.issues)} 条")  # fmt: skip
        return [text]


@contextmanager
def _from_key(cfg: Config, *key: str | int) -> Iterator[None]:
    """Re-raise a library error of a stage as a ConfigError naming the key that fed it."""
    try:
        yield
    except ConfigError:
        raise
    except LifecircleError as exc:
        raise ConfigError(f"{cfg.where(*key)}: {exc}") from exc


def run(config: Config | str | Path) -> RunResult:
    """Run the whole pipeline of a configuration and write its outputs."""
    cfg = config if isinstance(config, Config) else load_config(config)
    lap = Laps()
    nc = cfg.network
    with _from_key(cfg, "network", "source"):
        lines_kw = {k: nc[k] for k in ("layer", "columns", "exclude", "tolerance_m") if k in nc}
        net = load_network(
            nc["source"], crs=nc.get("crs"), keep=nc.get("keep", "largest"), **lines_kw
        )
    lap("network")
    with _from_key(cfg, "analysis", "profile"):
        profile = load_profile(cfg.analysis["profile"])
    fac, fac_gates = _facilities(cfg, net, profile)
    lap("facilities")
    comm, demand = _communities(cfg)
    lap("communities")
    a = _analysis(cfg, net, fac, comm, demand, profile, fac_gates)
    _sites(cfg, a)
    lap("analysis")
    prog = _programme(cfg, a)
    if prog is not None:
        lap("programme")
    files = _outputs(cfg, a, prog)
    files.update(_population_report(cfg, comm))
    lap("outputs")
    return RunResult(analysis=a, files=files, seconds=lap.seconds, programme=prog)


def _programme(cfg: Config, a: Analysis) -> Programme | None:
    """The ``[programme]`` section: the year-by-year programme on the analysis' shortfalls."""
    pc = cfg.programme
    if not pc:
        return None
    cands = None
    if "candidates" in pc:
        with _from_key(cfg, "programme", "candidates"):
            cands = _read_layer(pc["candidates"], pc.get("candidates_layer"))
    with _from_key(cfg, "programme"):
        return plan_programme(a, programme_params(pc), cands, categories=pc.get("categories"))


def _osm_file(cfg: Config) -> Path | None:
    src = cfg.network["source"]
    return src if isinstance(src, Path) else None


def _facilities(
    cfg: Config, net: WalkNetwork, profile: Profile
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The facility lists (merged), and their gates where ``[[facilities]] gates`` asks."""
    frames: list[gpd.GeoDataFrame] = []
    frame_gates: list[gpd.GeoDataFrame | None] = []
    for i, item in enumerate(cfg.facilities or [{"osm": True}]):
        if "osm" in item:
            if item["osm"] is False:
                continue
            src = item["osm"] if isinstance(item["osm"], Path) else _osm_file(cfg)
            if src is None:
                raise ConfigError(
                    f"{cfg.where('facilities', i, 'osm')}: osm = true needs network.source to "
                    'be an OSM file; give osm = "file.osm.pbf" instead'
                )
            with _from_key(cfg, "facilities", i, "osm"):
                frames.append(facilities_from_osm(src, profile))
        else:
            kw = {k: v for k, v in item.items() if k not in ("path", "gates")}
            with _from_key(cfg, "facilities", i, "path"):
                frames.append(load_facilities(item["path"], profile, network=net, **kw))
        frame_gates.append(_gates_of_list(cfg, i, item, frames[-1], profile))
    if len(frames) > 1:
        merge_m = float(cfg.analysis.get("merge_duplicates_m", 50))
        merged = merge_duplicates(*frames, max_distance_m=merge_m)
    elif frames:
        merged = frames[0]
    else:
        merged = gpd.GeoDataFrame({"category": []}, geometry=[], crs=4326)
    found = [g for g in frame_gates if g is not None and len(g)]
    return merged, (_merged_owners(merged, pd.concat(found)) if found else None)


def _gates_of_list(
    cfg: Config, i: int, item: dict[str, Any], frame: gpd.GeoDataFrame, profile: Profile
) -> gpd.GeoDataFrame | None:
    """``[[facilities]] gates``: ``true`` — the list's own gate POIs (``XX小学-东门``); a file —
    a layer of entrances with a ``facility_id`` column, else matched by name or location;
    ``"osm"`` — the ``entrance=*``/``barrier=gate`` nodes of the OSM file (the list's own
    ``osm = "file"``, else the network's): an OSM facility drawn as an area gets those on its
    outline, any other facility those within 100 m (:func:`gates_of_facilities`)."""
    value = item.get("gates", False)
    if value is False:
        return None
    with _from_key(cfg, "facilities", i, "gates"):
        if value is True:
            return gates(frame)
        if value == "osm":
            src = item["osm"] if isinstance(item.get("osm"), Path) else _osm_file(cfg)
            if src is None or Path(src).suffix.lower() not in _OSM_SUFFIXES:
                raise ConfigError(
                    f'{cfg.where("facilities", i, "gates")}: gates = "osm" needs an OSM file '
                    '(osm = "file.osm.pbf" or network.source); give a layer file instead'
                )
            areas = facility_areas_from_osm(src, profile) if "osm" in item else None
            return gates_of_facilities(gates_from_osm(src), frame, areas)
        layer = _read_layer(value)
        if "facility_id" in layer:
            return layer
        name = "name" if "name" in layer and "name" in frame else None
        # by name as for gate POIs (within 500 m); by location only when right at the facility
        reach_m = MAX_GATE_DISTANCE_M if name else GATE_TO_PLACE_M
        return gates_of_places(layer, frame, name=name, max_distance_m=reach_m, owner="facility_id")


def _merged_owners(fac: gpd.GeoDataFrame, found: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Gates of facilities merged into another source's record follow the record kept."""
    if "merged_from" not in fac:
        return found
    kept = {
        old: str(fid).split("#", 1)[0]
        for fid, merged in zip(fac["facility_id"], fac["merged_from"], strict=True)
        if isinstance(merged, str) and merged
        for old in merged.split(";")
    }
    out = found.copy()
    out["facility_id"] = [kept.get(str(f), f) if f is not None else None
                          for f in out["facility_id"]]  # fmt: skip
    return out


def _read_layer(path: Any, layer: str | None = None) -> gpd.GeoDataFrame:
    """A GIS layer (GeoPackage, Shapefile, GeoJSON ...) of the configuration."""
    if not Path(path).exists():
        raise InputError(f"file not found: {path}")
    return gpd.read_file(path, layer=layer)


def _buildings(cfg: Config) -> tuple[Any, Any]:
    dc = cfg.demand
    osm_file = _osm_file(cfg)
    if not dc.get("buildings", "osm" if osm_file else False):
        return None, None
    src = osm_file if dc.get("buildings", "osm") in ("osm", True) else dc["buildings"]
    if src is None:
        return None, None
    with _from_key(cfg, "demand", "buildings"):
        if Path(src).suffix.lower() in _OSM_SUFFIXES:
            return buildings_from_osm(src)
        return gpd.read_file(src), None


def _communities(cfg: Config) -> tuple[gpd.GeoDataFrame, Any]:
    cc = {k: v for k, v in cfg.communities.items() if k not in _COMPOUND_KEYS}
    with _from_key(cfg, "communities", "path"):
        comm = load_communities(cc.pop("path"), **cc)
    buildings, landuse = _buildings(cfg)
    dc = cfg.demand
    with _from_key(cfg, "demand"):
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
    return comm, demand


_COMPOUND_KEYS = ("compounds", "compounds_layer", "compound_gates")


def _compounds(cfg: Config) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """``[communities] compounds`` (a layer, or ``"osm"``: the ``landuse=residential`` areas of
    the network's OSM file) and ``compound_gates`` (a layer, or ``"osm"``: its entrances)."""
    cc = cfg.communities
    if "compounds" not in cc:
        return None, None
    with _from_key(cfg, "communities", "compounds"):
        if cc["compounds"] == "osm":
            _, landuse = buildings_from_osm(_osm_source(cfg, "compounds"))
            tags = landuse["tags"].map(lambda t: t.get("landuse"))
            compounds = landuse[(tags == "residential").to_numpy()].reset_index(drop=True)
        else:
            compounds = _read_layer(cc["compounds"], cc.get("compounds_layer"))
    if len(compounds) == 0:
        log.warning(
            "%s: no compounds found (no landuse=residential areas / an empty layer); the run goes "
            "on without the compound level and without compound gates",
            cfg.where("communities", "compounds"),
        )
        return None, None
    entrances = None
    if "compound_gates" in cc:
        with _from_key(cfg, "communities", "compound_gates"):
            if cc["compound_gates"] == "osm":
                entrances = gates_from_osm(_osm_source(cfg, "compound_gates"))
            else:
                entrances = _read_layer(cc["compound_gates"])
    log.info(
        "compounds: %d; compound gates: %s", len(compounds),
        "none" if entrances is None else f"{len(entrances)}",
    )  # fmt: skip
    return compounds, entrances


def _osm_source(cfg: Config, key: str) -> Path:
    src = _osm_file(cfg)
    if src is None or Path(src).suffix.lower() not in _OSM_SUFFIXES:
        raise ConfigError(
            f"{cfg.where('communities', key)}: {key} = \"osm\" needs network.source to be an "
            "OSM file (.osm/.osm.pbf); give a layer file instead"
        )
    return src


def _population_report(cfg: Config, comm: gpd.GeoDataFrame) -> dict[str, Path]:
    """The population table's join report (``[communities] population = "七普人口.xlsx"``)."""
    rows = comm.attrs.get("population_join")
    if not rows:
        return {}
    path = Path(cfg.output["dir"]) / "population_join.csv"
    pd.DataFrame.from_records(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return {"population_join": path}


def _analysis(
    cfg: Config, net: WalkNetwork, fac: gpd.GeoDataFrame, comm: gpd.GeoDataFrame, demand: Any,
    profile: Profile, facility_gates: gpd.GeoDataFrame | None = None,
) -> Analysis:  # fmt: skip
    """The analysis of the whole area, or with ``[regions]`` region by region on Dask (the same
    options, compounds and gates), merged into one :class:`RegionsResult` (an ``Analysis``)."""
    ac = cfg.analysis
    compounds, compound_gates = _compounds(cfg)
    kw = dict(
        categories=ac.get("categories"), levels=ac.get("levels"), speed=ac.get("speed"),
        demand=demand, min_covered_share=float(ac.get("min_covered_share", 0.8)),
        target_share=float(ac.get("target_share", 0.6)),
        max_snap_m=cfg.network.get("max_snap_m"),
        complete_categories=ac.get("complete_categories"),
        data_gap_radius_m=float(ac.get("data_gap_radius_m", DATA_GAP_RADIUS_M)),
        compounds=compounds, compound_gates=compound_gates, facility_gates=facility_gates,
    )  # fmt: skip
    rc = cfg.regions
    if not rc:
        with _from_key(cfg, "analysis"):
            return analyze(net, fac, comm, profile, **kw)
    with _from_key(cfg, "regions"):
        return analyze_regions(
            net, fac, comm, profile, by=rc.get("by", "street_code"),
            scheduler=rc.get("scheduler"), n_workers=rc.get("n_workers"),
            retries=int(rc.get("retries", 2)), workdir=rc.get("workdir"), **kw,
        )  # fmt: skip


def _sites(cfg: Config, a: Analysis) -> None:
    """``[sites]``: propose sites on the analysis (whole-area or merged from regions)."""
    if cfg.sites.get("max_sites", 0):
        with _from_key(cfg, "sites"):
            a.propose_sites(
                categories=cfg.sites.get("categories"),
                max_sites=int(cfg.sites["max_sites"]),
                min_new_pop=float(cfg.sites.get("min_new_pop", 1.0)),
            )


def _write_files(cfg: Config, a: Analysis, folder: Path, prog: Programme | None) -> dict[str, Path]:
    """Write the run's own files (not the pool) into ``folder``; the programme's workbook and
    sheets and map layer with ``prog``."""
    oc = cfg.output
    lang = oc.get("lang", settings.language)
    files: dict[str, Path] = {}
    formats = oc.get("formats", ["xlsx", "csv"])
    if "xlsx" in formats:
        files["xlsx"] = write_excel(a, folder / "lifecircle_shortfalls.xlsx", lang=lang, programme=prog)
    if prog is not None:
        files["programme"] = prog.to_excel(str(folder / "lifecircle_programme.xlsx"), lang=lang,
                                           profile=a.profile)  # fmt: skip
    if "csv" in formats:
        files["csv"] = write_csv(
            a.shortfalls, folder / "lifecircle_shortfalls.csv", lang=lang, profile=a.profile,
            facility_names=facility_names(a),
        )  # fmt: skip
    if "gpkg" in formats:
        gpkg = folder / "lifecircle_results.gpkg"
        a.index.to_file(gpkg, layer="service_index", driver="GPKG")
        cov = a.coverage.merge(a.index[["community_id", "geometry"]], on="community_id")
        cov = pd.DataFrame(cov).replace([float("inf")], None)
        gpd.GeoDataFrame(cov, geometry="geometry", crs=a.index.crs).to_file(
            gpkg, layer="coverage", driver="GPKG"
        )
        files["gpkg"] = gpkg
    if oc.get("map", True):
        m = a.map(basemap=oc.get("basemap", "osm"), tianditu_key=oc.get("tianditu_key"), lang=lang,
                  programme=prog)  # fmt: skip
        files["map"] = save_map(
            m, folder / "lifecircle_map.html", offline=oc.get("map_offline", True)
        )
    if isinstance(a, RegionsResult):
        files["regions_csv"] = write_regions_csv(a, folder / "lifecircle_regions.csv")
    return files


def _outputs(cfg: Config, a: Analysis, prog: Programme | None = None) -> dict[str, Path | str]:
    """Write into a temporary folder, export the pool (with the programme's projects and their
    planned year), then move the files into place."""
    out_dir = Path(cfg.output["dir"])
    with _from_key(cfg, "output", "dir"):
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the output folder {out_dir}: {exc}") from None
    stage = Path(tempfile.mkdtemp(prefix=".lifecircle-run-", dir=out_dir))
    try:
        staged = _write_files(cfg, a, stage, prog)
        pool = cfg.output.get("pool", out_dir / "lifecircle_pool.gpkg")
        if pool:
            with _from_key(cfg, "output", "pool"):
                if prog is None:
                    export_pool(a, pool)
                else:
                    rows = pd.concat([a.projects, programme_projects(prog, a).to_crs(a.projects.crs)],
                                     ignore_index=True)  # fmt: skip
                    export_pool(gpd.GeoDataFrame(rows, crs=a.projects.crs), pool, run_id=a.run_id,
                                profile=a.profile.id)  # fmt: skip
            if cfg.output.get("record_run", True):
                with _from_key(cfg, "output", "record_run"):
                    _record_run(a, pool)
        files: dict[str, Path | str] = {}
        for name, path in staged.items():
            final = out_dir / path.name
            os.replace(path, final)
            files[name] = final
        if pool:
            files["pool"] = pool
        return files
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _record_run(a: Analysis, pool: Path | str) -> None:
    """Add the run to the pool's run history (every pool kind but GeoJSON keeps one)."""
    kind = resolve_target(pool).kind
    if kind not in HISTORY_KINDS:
        log.info("run history: a %s pool keeps none; this run is not recorded", kind)
        return
    rec = record_run(a, pool)
    log.info("run %s recorded in the run history of %s", rec.run_id, resolve_target(pool).label)
