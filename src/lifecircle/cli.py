"""The ``lifecircle`` command: ``demo``, ``run CONFIG``, ``profile show|init|list``, ``config init``."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__, settings
from ._errors import LifecircleError
from ._progress import TqdmHandler

log = logging.getLogger("lifecircle")


def sample_dir() -> Path:
    """The bundled sample data: inside the installed package, or ``sample_data/`` of a checkout."""
    here = Path(__file__).resolve().parent
    for cand in (here / "sample_data", here.parents[1] / "sample_data"):
        if (cand / "helsinki_centre.osm.pbf").exists():
            return cand
    raise LifecircleError(
        "the bundled sample data is missing; reinstall lifecircle or run sample_data/make_sample.py"
    )


#: The demo's configuration: ``lifecircle demo`` writes it as ``demo.toml`` beside its results
#: and runs exactly what ``lifecircle run demo.toml`` runs.
DEMO_TOML = """# lifecircle demo: central Helsinki from OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0)
# plus an ILLUSTRATIVE, made-up bureau list (see sample_data/README.md). Written by `lifecircle demo`;
# `lifecircle run demo.toml` runs the same analysis again (edits in the pool are kept).

[network]
source = {network}

[[facilities]]
osm = true                       # clinics, playgrounds and fitness areas tagged in OSM

[[facilities]]
path = {bureau}
crs = "wgs84"                    # the list's coordinates are WGS84 (GPS)

[communities]
path = {communities}

[demand]
buildings = "osm"                # residents spread over residential buildings (floor area)
grid_m = 50                      # and over a 50 m grid where a community has no building
missing_population = "zero"      # two commercial blocks without housing count as empty

[analysis]
profile = "jiaxing-yilao-yixiao"
target_share = 0.6

[sites]
max_sites = 3

[output]
dir = "."
formats = ["xlsx", "csv"]
map = true
map_offline = true
pool = "lifecircle_pool.gpkg"
lang = "{lang}"
"""


def write_demo_config(out_dir: Path, lang: str = "zh") -> Path:
    """Write the demo's configuration to ``out_dir/demo.toml`` (sample paths made absolute)."""
    d = sample_dir()

    def q(name: str) -> str:
        return json.dumps((d / name).resolve().as_posix(), ensure_ascii=False)

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "demo.toml"
    text = DEMO_TOML.format(
        network=q("helsinki_centre.osm.pbf"),
        bureau=q("illustrative_bureau_facilities.csv"),
        communities=q("helsinki_communities.geojson"),
        lang=lang,
    )
    path.write_text(text, encoding="utf-8")
    return path


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .config import load_config
    from .pipeline import run

    out = Path(args.out).resolve()
    print(
        "lifecircle demo: central Helsinki from OpenStreetMap (© OpenStreetMap contributors, "
        "ODbL 1.0) and an illustrative bureau list, profile jiaxing-yilao-yixiao"
    )
    cfg_path = write_demo_config(out, args.lang)
    res = run(load_config(cfg_path))
    print(f"\n完成 done — results in {out}")
    _print(res.summary_lines(args.lang))
    print(f"config: {cfg_path}  (lifecircle run {cfg_path} runs it again)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .pipeline import run

    cfg = load_config(args.config)
    res = run(cfg)
    print(f"\n完成 done — results in {cfg.output['dir']}")
    _print(res.summary_lines(args.lang))
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from .standards import list_profiles, load_profile

    if args.action == "list" or args.name is None:
        if args.action != "list":
            print(f"profile {args.action} needs a name; the built-in profiles are:")
        _print(list_profiles())
        return 0 if args.action == "list" else 2
    if args.action == "show":
        p = load_profile(args.name)
        print(f"{p.id} — {p.title_zh}\n{p.title_en}")
        print(
            f"levels not nested (a higher level does not satisfy a lower one): {not p.nested_levels}"
        )
        for lv in p.levels.values():
            print(
                f"  {lv.id}: {lv.name_zh} / {lv.name_en}, {lv.walk_min or '-'} min, {lv.distance_m or '-'} m"
            )
        df = p.to_frame()
        cols = [
            "level",
            "name_zh",
            "name_en",
            "distance_m",
            "required",
            "element_type",
            "weight",
            "target_group",
            "distance_mark",
            "verified",
        ]
        with_pd_options(lambda: print(df[cols].to_string()))
        print(
            "marks: V seen in the source, V2 secondary source, C calculated here, R recalled, unverified"
        )
        return 0
    # init
    src = load_profile(args.name).path
    if src is None:
        raise LifecircleError(f"profile {args.name} has no file to copy")
    dest = Path(args.out or f"my-{src.stem}.toml")
    if dest.exists() and not args.force:
        raise LifecircleError(f"{dest} exists; pass --force to overwrite")
    shutil.copyfile(src, dest)
    print(f'wrote {dest} — edit it, then set analysis.profile = "{dest}" in your config')
    return 0


def with_pd_options(fn: Callable[[], object]) -> None:
    """Call ``fn`` with pandas printing wide tables."""
    import pandas as pd

    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.max_colwidth", 40
    ):
        fn()


def _cmd_config(args: argparse.Namespace) -> int:
    from .config import TEMPLATE

    dest = Path(args.out)
    if dest.exists() and not args.force:
        raise LifecircleError(f"{dest} exists; pass --force to overwrite")
    dest.write_text(TEMPLATE.format(name=dest.name), encoding="utf-8")
    print(f"wrote {dest} — edit the paths, then: lifecircle run {dest}")
    return 0


def _global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Options accepted before and after the subcommand (``lifecircle demo --lang en``)."""
    d = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars, warnings only",
        **({"default": False} if top else d),
    )  # fmt: skip
    parser.add_argument(
        "-v", "--verbose", action="count", help="more log output (-vv: debugging)",
        **({"default": 0} if top else d),
    )  # fmt: skip
    parser.add_argument(
        "--lang", choices=["zh", "en"], help="language of the summary and outputs",
        **({"default": "zh"} if top else d),
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lifecircle`` command."""
    p = argparse.ArgumentParser(
        prog="lifecircle",
        description="Walking life-circle (5/10/15-minute) service gaps: 社区生活圈公共服务设施短板分析",
    )
    p.add_argument("--version", action="version", version=f"lifecircle {__version__}")
    _global_options(p, top=True)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, top=False)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser(
        "demo", parents=[common], help="run the whole pipeline offline on the bundled sample data"
    )
    d.add_argument(
        "--out", default="lifecircle-demo", help="output folder (default: ./lifecircle-demo)"
    )
    d.set_defaults(func=_cmd_demo)
    r = sub.add_parser(
        "run", parents=[common], help="run a configuration file (see: lifecircle config init)"
    )
    r.add_argument("config", help="path to a TOML configuration")
    r.set_defaults(func=_cmd_run)
    pr = sub.add_parser(
        "profile", parents=[common], help="standard profiles: list, show, init (copy one to edit)"
    )
    pr.add_argument("action", choices=["list", "show", "init"])
    pr.add_argument("name", nargs="?", help="profile name or file (show, init)")
    pr.add_argument("--out", help="file to write (init)")
    pr.add_argument("--force", action="store_true", help="overwrite an existing file")
    pr.set_defaults(func=_cmd_profile)
    c = sub.add_parser("config", parents=[common], help="write a commented configuration template")
    c.add_argument("action", choices=["init"])
    c.add_argument("--out", default="lifecircle.toml")
    c.add_argument("--force", action="store_true")
    c.set_defaults(func=_cmd_config)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lifecircle`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    levels = {0: logging.INFO, 1: logging.INFO, 2: logging.DEBUG}
    level = logging.WARNING if args.quiet else levels.get(args.verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[TqdmHandler()]
    )
    try:
        with settings.override(progress=settings.progress and not args.quiet, language=args.lang):
            return int(args.func(args) or 0)
    except LifecircleError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 141


if __name__ == "__main__":
    sys.exit(main())
