"""Illuminance GeoTIFF: grid, CRS, model values at cell centres, nodata outside the buffer.

Two paths form an L with the corner at (400000, 6500000) in EPSG:3007. With a 25 m buffer and
2 m cells the grid origin snaps to x0 = 399974, y1 = 6500126, so cell centres sit at odd
coordinates; a luminaire at (400051, 6500001) is exactly at a cell centre.
"""

import math
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from shapely.geometry import LineString, Point

import gis.raster_out as raster_out
from gis._crs import CRSError
from gis.lighting_model import _prepare_luminaires, illuminance_xy
from gis.raster_out import BAND_DESCRIPTION
from gis.raster_out import write_illuminance_geotiff as _write_geotiff

# Hand values here are for the Lambertian cosine model.
write_illuminance_geotiff = partial(_write_geotiff, model="cosine")

CRS = "EPSG:3007"
X, Y = 400000.0, 6500000.0
I0, H = 400.0, 5.0   # cd, m


@pytest.fixture
def paths():
    return gpd.GeoDataFrame(
        {"path_type": ["footway", "footway"], "lit": ["yes", "no"]},
        geometry=[LineString([(X, Y), (X + 100, Y)]), LineString([(X, Y), (X, Y + 100)])],
        index=pd.Index(["w1", "w2"], name="path_id"), crs=CRS)


@pytest.fixture
def luminaires():
    xy = [(X + 51, Y + 1), (X + 81, Y - 3), (X - 2, Y + 60)]
    return gpd.GeoDataFrame(
        {"light_source": ["LED", "HPS", "LED"], "wattage_w": np.nan,
         "lumen_lm": [I0 * math.pi / 0.85, I0 * math.pi / 0.8, I0 * math.pi / 0.85],
         "mounting_height_m": H, "source": "inventory"},
        geometry=[Point(p) for p in xy], index=pd.Index(["a", "b", "c"], name="luminaire_id"),
        crs=CRS)


def read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.profile, ds.transform, ds.crs, ds.descriptions, ds.units


def test_grid_crs_and_metadata(tmp_path, paths, luminaires):
    out = write_illuminance_geotiff(tmp_path / "lux.tif", paths, luminaires)
    assert out == tmp_path / "lux.tif"
    data, profile, transform, crs, desc, units = read(out)
    assert crs == rasterio.crs.CRS.from_epsg(3007)
    assert transform == Affine(2, 0, 399974, 0, -2, 6500126)
    assert data.shape == (76, 76)       # (100 + 2·25 + snapping) / 2 m
    assert data.dtype == np.float32
    assert profile["nodata"] == -1
    assert profile["compress"] == "zstd"
    assert profile["tiled"] is True
    assert desc == (BAND_DESCRIPTION,)
    assert units == ("lx",)


def test_values_match_the_model(tmp_path, paths, luminaires):
    data, _, transform, *_ = read(write_illuminance_geotiff(tmp_path / "lux.tif", paths,
                                                            luminaires))
    row, col = rasterio.transform.rowcol(transform, X + 51, Y + 1)
    # straight below luminaire a: I0/h²; b is 30.3 m away (beyond 75°), c far away
    assert data[row, col] == pytest.approx(I0 / H ** 2, rel=1e-6)
    rows, cols = np.nonzero(data >= 0)
    xs, ys = rasterio.transform.xy(transform, rows, cols)
    lum = _prepare_luminaires(luminaires, 6.0, "cosine")
    want = illuminance_xy(np.asarray(xs), np.asarray(ys), lum.x, lum.y, lum.intensity,
                          lum.height, model="cosine")
    np.testing.assert_allclose(data[rows, cols], want, rtol=1e-6, atol=1e-6)
    assert (want > 0).sum() > 100 and (want == 0).sum() > 100


def test_nodata_outside_the_buffer(tmp_path, paths, luminaires):
    data, _, transform, *_ = read(write_illuminance_geotiff(tmp_path / "lux.tif", paths,
                                                            luminaires, buffer_m=25.0))

    def at(x, y):
        r, c = rasterio.transform.rowcol(transform, x, y)
        return data[r, c]

    assert at(X + 71, Y + 71) == -1          # 71 m from both paths
    assert at(X + 51, Y + 29) == -1          # 29 m from w1
    assert at(X + 51, Y + 21) >= 0           # 21 m from w1: inside, maybe dark
    assert at(X + 91, Y + 23) == 0.0         # inside the buffer, no light


def test_chunking_does_not_change_values(tmp_path, paths, luminaires, monkeypatch):
    whole = read(write_illuminance_geotiff(tmp_path / "a.tif", paths, luminaires))[0]
    monkeypatch.setattr(raster_out, "CHUNK_PAIRS", 50)
    chunked = read(write_illuminance_geotiff(tmp_path / "b.tif", paths, luminaires))[0]
    np.testing.assert_array_equal(whole, chunked)


def test_no_luminaires_gives_zero_inside(tmp_path, paths, luminaires):
    data = read(write_illuminance_geotiff(tmp_path / "lux.tif", paths, luminaires.iloc[:0]))[0]
    assert set(np.unique(data).tolist()) == {-1.0, 0.0}


def test_degrees_are_refused(tmp_path, paths, luminaires):
    with pytest.raises(CRSError, match="in degrees"):
        write_illuminance_geotiff(tmp_path / "lux.tif", paths.to_crs("EPSG:4326"),
                                  luminaires.to_crs("EPSG:4326"))


@pytest.mark.parametrize("geoms", [
    [shapely.box(0, 0, 10, 10).difference(shapely.box(2, 2, 4, 4)), shapely.box(20, 0, 30, 5)],
    [shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)]),
     shapely.box(0, 0, 2, 2)],
    [shapely.LineString([(0, 0), (1, 1)]), shapely.LineString([(2, 2), (3, 2), (4, 5)])],
], ids=["polygons-with-hole", "multi-and-single", "lines"])
def test_geojson_like_round_trips(geoms):
    from shapely.geometry import shape

    from gis.raster_out import _geojson_like

    arr = np.array(geoms, dtype=object)
    back = [shape(d) for d in _geojson_like(arr)]
    assert len(back) == len(geoms)
    for got, want in zip(back, geoms, strict=True):
        # a Polygon among MultiPolygons comes back as a one-part MultiPolygon: same area
        assert got.equals(want)
        np.testing.assert_array_equal(shapely.get_coordinates(got),
                                      shapely.get_coordinates(want))


def test_sparse_file_skips_empty_blocks_and_equals_the_grid(tmp_path, luminaires, monkeypatch):
    """Two paths 2 km apart: the blocks between them are never computed nor written (a
    sparse GeoTIFF); GDAL reads them as nodata, and every value GDAL reads equals the
    in-memory grid, also when the grid is cut into many small strips and windows."""
    far = gpd.GeoDataFrame(
        {"path_type": ["footway", "footway"], "lit": ["yes", "yes"]},
        geometry=[LineString([(X, Y), (X + 100, Y)]),
                  LineString([(X + 2000, Y), (X + 2100, Y + 30)])],
        index=pd.Index(["w1", "w2"], name="path_id"), crs=CRS)
    lums = pd.concat([luminaires, luminaires.set_geometry(
        luminaires.geometry.translate(2000, 0)).rename(index=lambda i: i + "2")])
    whole = raster_out.illuminance_grid(far, lums, model="cosine")
    out = write_illuminance_geotiff(tmp_path / "lux.tif", far, lums)
    with rasterio.open(out) as ds:
        data = ds.read(1)
        assert (ds.block_shapes[0]) == (256, 256)
        # GDAL's TIFF domain: the file offset of block (column j, row 0); none when the
        # block is not in the file
        stored = [int(ds.get_tag_item(f"BLOCK_OFFSET_{j}_0", "TIFF", bidx=1) or 0)
                  for j in range(math.ceil(ds.width / 256))]
    assert data.shape == whole.lux.shape == (41, 1076)
    np.testing.assert_array_equal(data, whole.lux)
    # columns 256-767 lie between the paths' buffers: those blocks are not in the file
    assert stored[1] == stored[2] == 0
    assert min(stored[0], stored[3], stored[4]) > 0
    assert (data[:, 300:900] == raster_out.NODATA).all()
    assert (data >= 0).sum() > 2000 and (data > 0).sum() > 500
    monkeypatch.setattr(raster_out, "STRIP_ROWS", 16)
    monkeypatch.setattr(raster_out, "WINDOW_COLS", 32)
    monkeypatch.setattr(raster_out, "CHUNK_PAIRS", 500)
    small = raster_out.illuminance_grid(far, lums, model="cosine")
    np.testing.assert_array_equal(small.lux, whole.lux)
    with rasterio.open(write_illuminance_geotiff(tmp_path / "small.tif", far, lums)) as ds:
        np.testing.assert_array_equal(ds.read(1), whole.lux)


def test_a_forked_writer_after_gdal_threads_in_the_parent_finishes(tmp_path, paths, luminaires):
    """GDAL's compression threads do not survive a fork: a GeoTIFF written by a forked
    process (``trygga rank`` writes it beside the ranking) after this process used them
    must not wait for them (it did, for ever)."""
    import multiprocessing as mp

    from gis.outputs import _start_forked

    write_illuminance_geotiff(tmp_path / "here.tif", paths, luminaires)  # GDAL threads up
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    job = _start_forked(write_illuminance_geotiff, tmp_path / "forked.tif", paths, luminaires)
    if job is None:
        pytest.skip("one core or parallel writers off")
    pool, future = job
    try:
        path, _seconds = future.result(timeout=120)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    np.testing.assert_array_equal(read(path)[0], read(tmp_path / "here.tif")[0])
