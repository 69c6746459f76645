"""Sampling single-band rasters (e.g. night-time imagery) at points and along lines.

Sampling happens in the raster's own CRS (STYLE rule 10): the points are reprojected to the
raster, never the raster to the points, so no resampling changes the values. Nodata cells
and points outside the raster come back as NaN.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS
from rasterio.errors import RasterioIOError

from layers._common import Problem, ValidationError, source_label

logger = logging.getLogger(__name__)


def _open(path: str | Path) -> rasterio.DatasetReader:
    src = source_label(path)
    if not Path(path).exists():
        raise ValidationError([Problem(src, "", "", f"file not found: {path}", "check the path")])
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise ValidationError([Problem(
            src, "", "", f"cannot be read as a raster ({str(exc)[:200]})",
            "check that the file is a complete GeoTIFF (or other GDAL raster)")]) from exc
    if ds.crs is None:
        ds.close()
        raise ValidationError([Problem(
            src, "", "", "the raster has no coordinate reference system (CRS)",
            "assign one, e.g. `gdal_edit.py -a_srs EPSG:3006 FILE`, or in QGIS: "
            "Raster > Projections > Assign Projection")])
    return ds


def sample_raster_at_points(path: str | Path, points: gpd.GeoSeries | gpd.GeoDataFrame,
                            band: int = 1) -> pd.Series:
    """Sample a raster band at point locations.

    Parameters
    ----------
    path : str or Path
        Single-band raster (GeoTIFF or any GDAL format) with a CRS.
    points : GeoSeries or GeoDataFrame
        Point geometries in any declared CRS; they are reprojected to the raster's CRS.
    band : int, default 1
        Band number (1-based).

    Returns
    -------
    Series
        Float values aligned to ``points.index``, named after the raster file stem; NaN for
        nodata cells, NaN raster values and points outside the raster.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        raise ValidationError([Problem("points", "", "", "points have no CRS",
                                       "set the CRS of the points before sampling")])
    if len(geoms) and not (geoms.geom_type == "Point").all():
        raise ValidationError([Problem("points", "", "geometry", "only Point geometry can be sampled",
                                       "use sample_raster_along_lines for lines")])
    name = Path(path).name.split(".")[0]
    with _open(path) as ds:
        if geoms.crs != CRS.from_user_input(ds.crs):
            geoms = geoms.to_crs(ds.crs)
        xy = shapely.get_coordinates(geoms.values)
        values = np.full(len(xy), np.nan, dtype="float64")
        if len(xy):
            rows, cols = rasterio.transform.rowcol(ds.transform, xy[:, 0], xy[:, 1])
            rows = np.asarray(rows)
            cols = np.asarray(cols)
            inside = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width)
            if inside.any():
                r0, r1 = rows[inside].min(), rows[inside].max() + 1
                c0, c1 = cols[inside].min(), cols[inside].max() + 1
                window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
                data = ds.read(band, window=window, masked=True).astype("float64")
                picked = data[rows[inside] - r0, cols[inside] - c0]
                values[inside] = np.ma.filled(picked, np.nan)
    return pd.Series(values, index=geoms.index, name=name)


def sample_raster_along_lines(path: str | Path, lines: gpd.GeoSeries | gpd.GeoDataFrame,
                              spacing_m: float = 5.0, band: int = 1) -> pd.DataFrame:
    """Sample a raster along lines at a regular spacing and summarise per line.

    Parameters
    ----------
    path : str or Path
        Single-band raster with a CRS.
    lines : GeoSeries or GeoDataFrame
        LineStrings in a projected (metric) CRS; spacing is measured in that CRS.
    spacing_m : float, default 5
        Distance between samples along each line, in metres. Every line gets at least its
        midpoint sampled.
    band : int, default 1
        Band number (1-based).

    Returns
    -------
    DataFrame
        Aligned to ``lines.index`` with columns ``mean``, ``min``, ``max`` and ``n_samples``
        (count of valid, non-NaN samples).
    """
    geoms = lines.geometry if isinstance(lines, gpd.GeoDataFrame) else lines
    if geoms.crs is None or not geoms.crs.is_projected:
        raise ValidationError([Problem(
            "lines", "", "", f"lines must be in a projected CRS in metres (got {geoms.crs})",
            "reproject with .to_crs(profile.crs), e.g. EPSG:3007")])
    if spacing_m <= 0:
        raise ValueError("spacing_m must be positive")
    length = shapely.length(geoms.values)
    n = np.maximum(1, np.ceil(length / spacing_m).astype(int))
    line_idx = np.repeat(np.arange(len(geoms)), n)
    starts = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(n.sum()) - starts
    frac = (k + 0.5) / n[line_idx]
    pts = shapely.line_interpolate_point(geoms.values[line_idx], frac, normalized=True)
    samples = sample_raster_at_points(path, gpd.GeoSeries(pts, crs=geoms.crs), band=band)
    df = pd.DataFrame({"line": line_idx, "value": samples.to_numpy()})
    agg = df.groupby("line")["value"].agg(["mean", "min", "max", "count"])
    agg = agg.rename(columns={"count": "n_samples"}).reindex(range(len(geoms)))
    agg.index = geoms.index
    return agg
