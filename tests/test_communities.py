"""Communities and demand points: raster, grid, centroid fallback, estimates, hierarchy, errors."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

import lifecircle as lc
from _nets import CRS, X0, Y0, box
from lifecircle.communities import demand_points


@pytest.fixture()
def two_blocks():
    return lc.load_communities(
        gpd.GeoDataFrame(
            {"name": ["west", "east"], "population": [1000, np.nan]},
            geometry=[box(0, 0, 200, 100), box(200, 0, 400, 100)],
            crs=CRS,
        )
    )


def write_raster(path, values, cell=50.0):
    """A GeoTIFF of people per cell, north-up, its top-left corner at (X0, Y0 + 100)."""
    values = np.asarray(values, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype="float32",
        crs=CRS,
        nodata=-1,
        transform=from_origin(X0, Y0 + 100, cell, cell),
    ) as ds:
        ds.write(values, 1)


def test_raster_spreads_given_population_and_estimates_missing(two_blocks, tmp_path):
    # 2 rows × 8 cells of 50 m: west block = columns 0-3, east block = columns 4-7
    grid = np.array([[10, 0, 30, 0, 5, 5, 5, 5], [0, 20, 0, 40, 5, 5, 5, 5]])
    write_raster(tmp_path / "pop.tif", grid)
    d = demand_points(two_blocks, raster=tmp_path / "pop.tif")
    west = d.points[d.points["community_id"] == "c00000"]
    east = d.points[d.points["community_id"] == "c00001"]
    assert set(d.points["method"]) == {"raster"}
    assert len(west) == 4 and len(east) == 8  # cells with people, one point at each cell centre
    # the given 1,000 residents follow the raster's shares (10:30:20:40)
    assert sorted(west["pop"].round(6)) == pytest.approx([100, 200, 300, 400])
    # the east block had no population: the raster sum (8 × 5 = 40) is the estimate
    c = d.communities.set_index("community_id")
    assert c.loc["c00001", "population"] == 40 and c.loc["c00001", "pop_source"] == "raster"
    assert bool(c.loc["c00001", "pop_estimated"]) and not bool(c.loc["c00000", "pop_estimated"])
    assert east["pop"].sum() == pytest.approx(40)
    xy = shapely.get_coordinates(west.geometry.values)
    assert set(np.round(xy[:, 0] - X0)) <= {25.0, 75.0, 125.0, 175.0}


def test_grid_and_centroid_fallback(two_blocks, caplog):
    comm = two_blocks.assign(population=[1000.0, 500.0])
    d = demand_points(comm, grid_m=50)
    counts = d.points.groupby("community_id").size().to_dict()
    assert counts == {"c00000": 8, "c00001": 8}  # 200 × 100 m blocks, a point every 50 m
    assert d.points.groupby("community_id")["pop"].sum().to_dict() == pytest.approx(
        {"c00000": 1000, "c00001": 500}
    )
    with caplog.at_level(logging.WARNING, logger="lifecircle.communities"):
        d = demand_points(comm)
    assert "representative point" in caplog.text
    assert set(d.points["method"]) == {"centroid"} and len(d.points) == 2


def test_missing_population_error_or_zero(two_blocks):
    with pytest.raises(lc.InputError, match="c00001 have no population"):
        demand_points(two_blocks, grid_m=50)
    d = demand_points(two_blocks, grid_m=50, missing_population="zero")
    c = d.communities.set_index("community_id")
    assert c.loc["c00001", "population"] == 0 and c.loc["c00001", "pop_source"] == "none"


def test_floor_area_estimate_uses_levels_and_height():
    comm = lc.load_communities(
        gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 300, 300)], crs=CRS)
    )
    buildings = gpd.GeoDataFrame(
        {
            "building": ["apartments", "residential", "house"],
            "building:levels": ["10", None, None],
            "height": [None, "18", None],
        },
        geometry=[box(10, 10, 30, 30), box(50, 50, 70, 70), box(100, 100, 120, 120)],
        crs=CRS,
    )
    d = demand_points(comm, buildings=buildings, per_capita_floor_m2=40, default_levels=2)
    # 400 m² footprints × (10 levels, 18 m / 3 m = 6 levels, default 2) = 7,200 m² / 40 = 180
    assert d.communities["population"].iloc[0] == 180
    assert sorted(d.points["pop"].round(6)) == pytest.approx([20, 60, 100])


def test_load_communities_chinese_columns_codes_and_errors(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "社区名称": ["新兴社区", "城南社区"],
            "区划代码": [330402001001, 330402002003],
            "常住人口": ["3200", "4100"],
            "60岁以上": [800, 900],
            "区县": ["南湖区", "南湖区"],
        },
        geometry=[box(0, 0, 100, 100), shapely.Point(X0 + 300, Y0 + 50)],
        crs=CRS,
    )
    path = tmp_path / "communities.gpkg"
    gdf.to_file(path)
    c = lc.load_communities(path)
    assert c["community_id"].tolist() == ["330402001001", "330402002003"]
    assert c["street_code"].tolist() == ["330402001", "330402002"]
    assert c["county_code"].tolist() == ["330402", "330402"]
    assert c["population"].tolist() == [3200, 4100] and c["pop_elderly"].tolist() == [800, 900]
    assert c["community_name"].tolist() == ["新兴社区", "城南社区"]
    bad = gdf.assign(常住人口=["3200", "约四千"])
    with pytest.raises(lc.InputError, match="not a number of residents in rows 1.*'约四千'. Write one"):
        lc.load_communities(bad)
    blank = lc.load_communities(gdf.assign(常住人口=["3200", " "]))  # empty: unknown, not bad
    assert blank["population"].iloc[0] == 3200 and np.isnan(blank["population"].iloc[1])
    with pytest.raises(lc.InputError, match="duplicate community ids"):
        lc.load_communities(gdf.assign(区划代码=[330402001001, 330402001001]))
    with pytest.raises(lc.InputError, match="60\\+ than residents"):
        lc.load_communities(gdf.assign(**{"60岁以上": [5000, 900]}))
    with pytest.raises(lc.CRSError, match="no CRS"):
        lc.load_communities(gdf.set_crs(None, allow_override=True))
    with pytest.raises(lc.InputError, match="column 'pop' .* not found"):
        lc.load_communities(gdf, population="pop")
    lines = gpd.GeoDataFrame(
        {"name": ["x"]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 1, Y0)])], crs=CRS
    )
    with pytest.raises(lc.InputError, match="polygons or points"):
        lc.load_communities(lines)
