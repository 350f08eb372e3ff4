#!/usr/bin/env python
"""Measure the shortfall map's HTML size (and, optionally, its load time in headless Chromium).

Synthetic cities from :func:`lifecircle.synthetic.city`: Voronoi communities of about 10 ha
whose boundaries curve like streets and rivers (a vertex every 10 m), on a 100 m street grid, with
half as many facilities as communities; categories of the Jiaxing profile (9) by default. Each map
is written with ``offline=True`` and ``basemap="none"``, simplified (``simplify_m=5``, the default)
and not simplified (``simplify_m=0``). These are the numbers in ``docs/map.md``; the page carries
each shortfall's reason and answer, so its size grows with the number of shortfalls (printed).

Run from the repository root::

    python benchmarks/bench_map.py 300 1000 2000 5000            # sizes
    python benchmarks/bench_map.py 1000 5000 --browser            # + load time in Chromium
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import shapely

import lifecircle as lc
from test_map import features, layers_of


def load_seconds(paths: list[Path]) -> dict[Path, tuple[float, float]]:
    """Seconds until the layer control is ready, and to switch on the first shortfall layer."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tempfile.mkdtemp()}",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    out = {}
    try:
        drv.get(paths[0].as_uri())  # warm up
        for p in paths:
            t0 = time.perf_counter()
            drv.get(p.as_uri())
            WebDriverWait(drv, 120).until(
                lambda d: d.execute_script(
                    "return document.querySelectorAll('.leaflet-control-layers-overlays label').length > 0"
                )
            )
            t1 = time.perf_counter()
            drv.execute_script(
                "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
                ".find(l => l.textContent.includes('短板')).querySelector('input').click()"
            )
            drv.execute_script(
                "return document.querySelectorAll('.leaflet-overlay-pane path').length"
            )
            out[p] = (t1 - t0, time.perf_counter() - t1)
    finally:
        drv.quit()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("communities", type=int, nargs="+")
    ap.add_argument("--profile", default="jiaxing-yilao-yixiao")
    ap.add_argument("--browser", action="store_true", help="also time loading in headless Chromium")
    ap.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="bench_map_")))
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    lc.settings.progress = False
    prof = lc.load_profile(args.profile)
    rows = []
    for n in args.communities:
        c = lc.synthetic.city(n, prof)
        a = lc.analyze(c.network, c.facilities, c.communities, prof)
        raw = sum(len(shapely.get_coordinates(g)) for g in a.index.geometry)
        for simplify in (5.0, 0.0):
            t0 = time.perf_counter()
            m = a.map(basemap="none", offline=True, simplify_m=simplify)
            path = lc.save_map(m, args.out / f"city{n}_{simplify:g}m.html")
            secs = time.perf_counter() - t0
            drawn = sum(
                len(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
                for f in features(layers_of(m, "communities")[0])
            )
            rows.append((n, simplify, path, secs, raw, drawn, len(a.shortfalls)))
    times = load_seconds([r[2] for r in rows]) if args.browser else {}
    print(
        f"{'communities':>11} {'shortfalls':>10} {'simplify':>8} {'MB':>6} {'vertices':>17} "
        f"{'build+save':>10}" + (f" {'load':>6} {'toggle':>6}" if times else "")
    )
    for n, simplify, path, secs, raw, drawn, n_short in rows:
        line = (
            f"{n:>11,} {n_short:>10,} {simplify:>7g}m {path.stat().st_size / 1e6:>6.2f} "
            f"{drawn:>8,}/{raw:<8,} {secs:>9.1f}s"
        )
        if times:
            load, toggle = times[path]
            line += f" {load:>5.1f}s {toggle:>5.2f}s"
        print(line)
    print(f"files in {args.out}")


if __name__ == "__main__":
    main()
