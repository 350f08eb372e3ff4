"""Every Python code block in README.md and docs/*.md runs, on the bundled sample (issue 12.7).

Blocks of one page run in order in one namespace, in a temporary folder, after a setup that
makes what the pages call ``net``, ``facilities``/``fac``, ``communities``/``comm``, ``demand``,
``profile`` and ``analysis``/``a`` from the sample. A block that cannot run here (online, a team's
server, another city's files) is preceded by ``<!-- docs-test: skip (reason) -->``.
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(
    r"(<!-- docs-test: skip \((?P<why>[^)]*)\) -->\s*\n)?```python\n(?P<code>.*?)```", re.S
)

SETUP = """
import logging
import lifecircle as lc
from lifecircle.cli import sample_dir
lc.settings.progress = False
data = sample_dir()
net = lc.load_network(data / "helsinki_centre.osm.pbf")
profile = lc.load_profile("jiaxing-yilao-yixiao")
fac = facilities = lc.merge_duplicates(
    lc.facilities_from_osm(data / "helsinki_centre.osm.pbf", profile),
    lc.load_facilities(data / "illustrative_bureau_facilities.csv", profile, crs="wgs84"),
)
comm = communities = lc.load_communities(data / "helsinki_communities.geojson")
buildings, landuse = lc.communities.buildings_from_osm(data / "helsinki_centre.osm.pbf")
demand = lc.demand_points(comm, buildings=buildings, landuse=landuse, grid_m=50,
                          missing_population="zero")
a = analysis = lc.analyze(net, fac, comm, profile, demand=demand)
"""


def _blocks(page):
    text = page.read_text(encoding="utf-8")
    return [(m.group("code"), m.group("why")) for m in _BLOCK.finditer(text)]


PAGES_WITH_CODE = [p for p in PAGES if _blocks(p)]


def test_pages_with_python_blocks_are_found():
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"README.md", "map.md", "pool.md"} <= names


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(SETUP, "<setup>", "exec"), ns)  # noqa: S102 - our own docs
    ran = 0
    for i, (code, why) in enumerate(_blocks(page), start=1):
        if why:
            assert why.strip(), f"{page.name} block {i}: a skip needs a reason"
            continue
        exec(compile(code, f"{page.name} block {i}", "exec"), ns)  # noqa: S102
        ran += 1
    assert ran > 0
