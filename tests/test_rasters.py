"""Raster sampling: in the raster's CRS, nodata -> NaN, aligned to the input index."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point

from layers import ValidationError
from layers.rasters import sample_raster_along_lines, sample_raster_at_points


@pytest.fixture
def raster_3006(tmp_path):
    """A 10 x 10 raster of 10 m cells in EPSG:3006 with value = 10*row + col, nodata at (0,0)."""
    path = tmp_path / "night.tif"
    data = (np.arange(100, dtype="float32").reshape(10, 10))
    data[0, 0] = -9999
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1,
                       dtype="float32", crs="EPSG:3006", nodata=-9999,
                       transform=from_origin(280000, 6540000, 10, 10)) as ds:
        ds.write(data, 1)
    return path


def test_points_sampled_in_raster_crs_with_nodata_as_nan(raster_3006):
    pts = gpd.GeoSeries([Point(280005, 6539995), Point(280035, 6539975), Point(1, 1),
                         Point(280095, 6539905)], index=["a", "b", "c", "d"], crs="EPSG:3006")
    # Reproject to EPSG:3007 first: sampling must reproject back to the raster's CRS.
    values = sample_raster_at_points(raster_3006, pts.to_crs("EPSG:3007"))
    assert list(values.index) == ["a", "b", "c", "d"]
    assert values.name == "night"
    assert np.isnan(values["a"])            # nodata cell
    assert values["b"] == pytest.approx(23)  # row 2, col 3
    assert np.isnan(values["c"])            # outside the raster
    assert values["d"] == pytest.approx(99)


def test_lines_sampled_at_spacing(raster_3006):
    line = LineString([(280000, 6539985), (280100, 6539985)])  # through row 1, all columns
    out = sample_raster_along_lines(raster_3006, gpd.GeoSeries([line], index=["p1"],
                                                               crs="EPSG:3006"), spacing_m=10)
    assert list(out.index) == ["p1"]
    assert out.loc["p1", "n_samples"] == 10
    assert out.loc["p1", "mean"] == pytest.approx(np.mean(np.arange(10, 20)))
    assert out.loc["p1", "min"] == pytest.approx(10)


def test_lines_in_degrees_are_refused(raster_3006):
    line = gpd.GeoSeries([LineString([(11.1, 58.9), (11.2, 58.9)])], crs="EPSG:4326")
    with pytest.raises(ValidationError, match="projected CRS in metres"):
        sample_raster_along_lines(raster_3006, line)


def test_raster_without_crs_is_an_error(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8",
                       transform=from_origin(0, 2, 1, 1)) as ds:
        ds.write(np.zeros((2, 2), dtype="uint8"), 1)
    pts = gpd.GeoSeries([Point(0.5, 0.5)], crs="EPSG:3006")
    with pytest.raises(ValidationError, match=r"nocrs\.tif: the raster has no coordinate"):
        sample_raster_at_points(path, pts)


def test_corrupt_raster_is_an_error(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(ValidationError, match=r"broken\.tif: cannot be read as a raster"):
        sample_raster_at_points(path, gpd.GeoSeries([Point(0, 0)], crs="EPSG:3006"))
