"""The edge-cell isochrones of benchmarks/bench_isochrones.py (issue 17 experiment).

Hand-built: two parallel streets 30 m apart joined at one end, so the nearest-street boundary
between them is the line halfway, y = 15 m.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

import lifecircle as lc
from _nets import X0, Y0, build, pts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_isochrones as bench  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet")


@pytest.fixture(scope="module")
def ladder():
    # street A y=0 (edge 0), street B y=30 (edge 1), joined by a cross street at x=0 (edge 2)
    net = build([(0, 0), (200, 0), (0, 30), (200, 30)], [(0, 1), (2, 3), (0, 2)])
    return net, bench.edge_cells(net, spacing_m=5.0)


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def edge_index(net, y):
    mids = shapely.get_coordinates(
        shapely.line_interpolate_point(net.edges.geometry.values, 0.5, normalized=True)
    )
    return int(np.flatnonzero(np.isclose(mids[:, 1] - Y0, y) & (mids[:, 0] - X0 > 50))[0])


def test_cells_partition_the_buffers_and_keep_their_street(ladder):
    net, cells = ladder
    cell = cells["cell"]
    lines = net.edges.geometry.values
    assert cells["valid"]
    assert not cells["leaky"].any()
    # every street lies in its own cell, every cell in its street's buffer
    assert shapely.length(shapely.difference(lines, cell)) == pytest.approx(0, abs=1e-6)
    buf = shapely.buffer(lines, bench.EDGE_BUFF, quad_segs=2)
    assert shapely.area(shapely.difference(cell, buf)) == pytest.approx(0, abs=1e-6)
    # together they cover the union of the buffers, without overlap
    zone = shapely.union_all(buf)
    assert shapely.area(cell).sum() == pytest.approx(zone.area, rel=1e-9)
    # by hand: away from the ends, street A's cell is the strip -25 <= y <= 15 (B is 30 m away)
    a, b = edge_index(net, 0), edge_index(net, 30)
    mid_a = shapely.intersection(cell[a], box(20, -100, 180, 100))
    assert mid_a.area == pytest.approx(160 * 40, rel=1e-9)
    assert shapely.get_coordinates(mid_a)[:, 1].max() - Y0 == pytest.approx(15)
    mid_b = shapely.intersection(cell[b], box(20, -100, 180, 100))
    assert shapely.get_coordinates(mid_b)[:, 1].min() - Y0 == pytest.approx(15)


def test_polygon_inside_todays_and_keeps_reached_streets(ladder):
    net, cells = ladder
    origin = pts((200, 0))
    got = bench.cells_polys(net, origin, cells)[0]
    today = lc.isochrones(
        net, origin, minutes=bench.MINUTES, speed_m_per_s=bench.SPEED, to_wgs84=False
    ).geometry.to_numpy()
    assert shapely.area(shapely.difference(got, today)) == pytest.approx(0, abs=1e-6)
    # 5 min (360 m, pieces stop 23.1 m short): A and the cross street whole (230 m), B reached
    # from x=0 to 360 - 23.1 - 230 = 106.9 m; every reached metre up to 360 m is inside
    reached = shapely.LineString([(X0 + 200, Y0), (X0, Y0), (X0, Y0 + 30), (X0 + 130, Y0 + 30)])
    assert shapely.difference(reached, got[0]).length == pytest.approx(0, abs=1e-6)
    # (180, 20) is 20 m from A but nearest to B, whose end is not reached: today's polygon has
    # it, the cell polygon not; (180, 10) is nearest to A: in both
    inside = shapely.points(np.array([[180.0, 20.0], [180.0, 10.0]]) + [X0, Y0])
    assert list(shapely.contains(today[0], inside)) == [True, True]
    assert list(shapely.contains(got[0], inside)) == [False, True]
    # 15 min: everything reached whole, so the cells give today's polygon
    assert shapely.symmetric_difference(got[2], today[2]).area == pytest.approx(0, abs=1e-3)
    # levels nest
    assert shapely.area(shapely.difference(got[0], got[1])) == pytest.approx(0, abs=1e-6)
    assert shapely.area(shapely.difference(got[1], got[2])) == pytest.approx(0, abs=1e-6)
