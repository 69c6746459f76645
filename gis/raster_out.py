"""Modelled illuminance as a GeoTIFF, for QGIS and the map.

The grid is evaluated with the same point-source model as :mod:`gis.lighting_model`, at cell
centres, but only for cells within ``buffer_m`` of the paths; the others are nodata.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.crs
import rasterio.features
import shapely
from pyproj import CRS
from rasterio.transform import Affine
from rasterio.windows import Window

from gis._crs import require_projected
from gis.lighting_model import (
    DEFAULT_MODEL,
    Model,
    _prepare_luminaires,
    lux_at,
    lux_terms,
    reach_m,
)

logger = logging.getLogger(__name__)

#: Value of cells outside the buffer around the paths.
NODATA = -1.0
#: Band description written to the GeoTIFF.
BAND_DESCRIPTION = "maintained horizontal illuminance (lx)"
#: Upper bound of (luminaire, cell) pairs evaluated at once; bounds temporary memory
#: (about 60 bytes per pair).
CHUNK_PAIRS = 1_000_000


@dataclass(frozen=True)
class IlluminanceGrid:
    """Modelled lux on a north-up grid in a projected CRS.

    Attributes
    ----------
    lux : ndarray of float32, shape (height, width)
        Maintained horizontal illuminance in lux; :data:`NODATA` outside the buffer.
    transform : Affine
        Pixel to CRS coordinates (metres), origin at the top-left corner.
    crs : pyproj.CRS
        The inputs' projected CRS.
    """

    lux: npt.NDArray[np.float32]
    transform: Affine
    crs: CRS


def illuminance_grid(paths_or_segments: gpd.GeoDataFrame | gpd.GeoSeries,
                     luminaires: gpd.GeoDataFrame, cell_m: float = 2.0,
                     buffer_m: float = 25.0, cutoff_m: float = 50.0,
                     default_height_m: float = 6.0,
                     model: Model = DEFAULT_MODEL) -> IlluminanceGrid:
    """Modelled maintained horizontal illuminance around the paths, as a grid.

    The grid covers the paths' bounds plus ``buffer_m``, snapped to multiples of ``cell_m``
    in the frames' CRS. Cells whose centre lies within ``buffer_m`` of a path get the lux
    of :func:`gis.lighting_model.illuminance_xy` at the cell centre (same model, flux and
    height defaults); other cells are nodata (``-1``). The buffer is a polygon with 4
    segments per quarter circle (within 0.5 m of the true 25 m buffer). Fast: the buffered
    paths are burnt into a mask with ``rasterio.features.rasterize`` and each luminaire only
    adds light to the masked cells of a disc of its own reach (luminaires grouped by reach),
    in chunks of at most :data:`CHUNK_PAIRS` (luminaire, cell) pairs.

    Parameters
    ----------
    paths_or_segments : GeoDataFrame or GeoSeries
        Line geometries (paths or segments) in a projected CRS (metres).
    luminaires : GeoDataFrame
        Point luminaires (:data:`layers.schemas.LUMINAIRES`) in the same CRS.
    cell_m : float, default 2.0
        Cell size in metres.
    buffer_m : float, default 25.0
        Cells within this distance (m) of a path are evaluated.
    cutoff_m : float, default 50.0
        Horizontal reach of one luminaire in metres.
    default_height_m : float, default 6.0
        Mounting height (m) for luminaires without one.
    model : {"downward", "cosine", "isotropic"}
        Intensity model, see :mod:`gis.lighting_model`.
    """
    plan = _GridPlan(paths_or_segments, luminaires, cell_m, buffer_m, cutoff_m,
                     default_height_m, model)
    grid = np.vstack([plan.strip(r0, r1) for r0, r1 in plan.strips()]) if plan.height else \
        np.empty((0, plan.width), dtype="float32")
    return IlluminanceGrid(grid, plan.transform, plan.crs)


#: Rows per strip of the streamed grid (a multiple of the GeoTIFF's 256-row blocks). A strip
#: of 512 rows × 30 000 columns (60 km at 2 m) holds ≈ 140 MB while it is computed.
STRIP_ROWS = 512


class _GridPlan:
    """The grid of :func:`illuminance_grid`, computed strip by strip (rows ``r0:r1``).

    Every cell's lux is the same sum, in the same order (luminaire groups, then luminaires
    in input order), as for the whole grid at once, so strips stacked give the same bytes.
    """

    def __init__(self, paths_or_segments: gpd.GeoDataFrame | gpd.GeoSeries,
                 luminaires: gpd.GeoDataFrame, cell_m: float, buffer_m: float,
                 cutoff_m: float, default_height_m: float, model: Model) -> None:
        self.crs = require_projected(("paths_or_segments", paths_or_segments),
                                     ("luminaires", luminaires))
        if not (cell_m > 0 and buffer_m >= 0):
            raise ValueError(f"cell_m must be > 0 and buffer_m ≥ 0, got {cell_m}, {buffer_m}")
        lines = np.asarray(paths_or_segments.geometry.values)
        lines = lines[~(shapely.is_missing(lines) | shapely.is_empty(lines))]
        if len(lines) == 0:
            raise ValueError("paths_or_segments has no geometry to rasterise")
        minx, miny, maxx, maxy = shapely.total_bounds(lines)
        self.cell_m, self.buffer_m, self.cutoff_m, self.model = cell_m, buffer_m, cutoff_m, model
        self.x0 = math.floor((minx - buffer_m) / cell_m) * cell_m
        self.y1 = math.ceil((maxy + buffer_m) / cell_m) * cell_m
        self.width = max(1, math.ceil((maxx + buffer_m - self.x0) / cell_m))
        self.height = max(1, math.ceil((self.y1 - (miny - buffer_m)) / cell_m))
        self.transform = Affine(cell_m, 0.0, self.x0, 0.0, -cell_m, self.y1)
        self.zone = shapely.buffer(lines, buffer_m, quad_segs=4) if buffer_m > 0 else lines
        self.zone_tree = shapely.STRtree(self.zone)
        lum = _prepare_luminaires(luminaires, default_height_m, model)
        self.lum = lum
        # Luminaires grouped by their own reach (in whole cells): a 6 m pole lights a disc
        # of 34 m under the downward model, a 10 m pole one of 50 m, and the cost is the
        # disc area.
        heights, which = np.unique(lum.height, return_inverse=True)
        self.reach_each = np.array([reach_m([h], cutoff_m, model)
                                    for h in heights.tolist()])[which]
        self.cells = np.ceil(self.reach_each / cell_m).astype(np.int64)
        self.pad = 2 * (int(self.cells.max(initial=0)) + 1) + 1

    def strips(self, rows: int = STRIP_ROWS) -> list[tuple[int, int]]:
        """Row ranges ``(r0, r1)`` covering the grid, *rows* high (the last one less)."""
        return [(r0, min(r0 + rows, self.height)) for r0 in range(0, self.height, rows)]

    def strip(self, r0: int, r1: int) -> npt.NDArray[np.float32]:
        """Lux of grid rows ``r0:r1`` (float32, :data:`NODATA` outside the buffer)."""
        c, width, height = self.cell_m, self.width, r1 - r0
        top = self.y1 - r0 * c
        transform = Affine(c, 0.0, self.x0, 0.0, -c, top)
        box = shapely.box(self.x0, top - height * c, self.x0 + width * c, top)
        hit = np.sort(self.zone_tree.query(box))
        if len(hit) == 0:
            return np.full((height, width), NODATA, dtype="float32")
        shapes = [(shape, 1) for shape in _geojson_like(self.zone[hit])]
        mask = rasterio.features.rasterize(shapes, out_shape=(height, width),
                                           transform=transform, fill=0, dtype="uint8",
                                           all_touched=self.buffer_m == 0).astype(bool)
        if not mask.any():
            return np.full((height, width), NODATA, dtype="float32")
        pad, lum = self.pad, self.lum
        inside = np.pad(mask, pad).ravel()
        lux = np.zeros(len(inside), dtype=np.float64)
        for k in np.unique(self.cells):
            sel = np.flatnonzero(self.cells == k)
            reach = float(self.reach_each[sel].max())
            if reach > 0:
                _add_light(lux, inside, pad, self.x0, self.y1, c, width, height, lum.x[sel],
                           lum.y[sel], lum.intensity[sel], lum.height[sel], reach,
                           self.cutoff_m, self.model, row0=r0)
        lux_grid = lux.reshape(height + 2 * pad, width + 2 * pad)[pad:pad + height,
                                                                  pad:pad + width]
        return np.where(mask, lux_grid, NODATA).astype("float32")


def _geojson_like(geoms: npt.NDArray[np.object_]) -> list[dict[str, Any]]:
    """GeoJSON-like dicts of polygons or lines for ``rasterio.features.rasterize``.

    Built from ``shapely.to_ragged_array`` (one C call and one ``tolist``), not per vertex
    through ``__geo_interface__`` or by parsing GeoJSON text (about 8× faster).
    """
    kind, coords, offsets = shapely.to_ragged_array(geoms)
    xy = coords.tolist()

    def split(items: list[Any], off: npt.NDArray[np.integer[Any]]) -> list[Any]:
        bounds = off.tolist()
        return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    names = {shapely.GeometryType.LINESTRING: "LineString",
             shapely.GeometryType.MULTILINESTRING: "MultiLineString",
             shapely.GeometryType.POLYGON: "Polygon",
             shapely.GeometryType.MULTIPOLYGON: "MultiPolygon"}
    if kind not in names:
        return [json.loads(text) for text in shapely.to_geojson(geoms).tolist()]
    parts: list[Any] = xy
    for off in offsets:  # innermost level first: rings/lines, then polygons, then multi
        parts = split(parts, off)
    return [{"type": names[kind], "coordinates": c} for c in parts]


def write_illuminance_geotiff(path: str | Path,
                              paths_or_segments: gpd.GeoDataFrame | gpd.GeoSeries,
                              luminaires: gpd.GeoDataFrame, cell_m: float = 2.0,
                              buffer_m: float = 25.0, cutoff_m: float = 50.0,
                              default_height_m: float = 6.0,
                              model: Model = DEFAULT_MODEL) -> Path:
    """Write modelled maintained horizontal illuminance around the paths to a GeoTIFF.

    The grid is :func:`illuminance_grid` with the same parameters.

    Parameters
    ----------
    path : str or Path
        Output file (``.tif``); overwritten.
    paths_or_segments, luminaires, cell_m, buffer_m, cutoff_m, default_height_m, model
        As for :func:`illuminance_grid` (projected CRS, metres).

    Returns
    -------
    Path
        The written file: single band float32 lux, nodata -1, LZW, 256×256 tiles, CRS of the
        inputs, band description :data:`BAND_DESCRIPTION`, unit ``lx``.
    """
    plan = _GridPlan(paths_or_segments, luminaires, cell_m, buffer_m, cutoff_m,
                     default_height_m, model)
    height, width = plan.height, plan.width
    out = Path(path)
    epsg = plan.crs.to_epsg()
    rio_crs = (rasterio.crs.CRS.from_epsg(epsg) if epsg
               else rasterio.crs.CRS.from_wkt(plan.crs.to_wkt()))
    inside = 0
    with rasterio.open(out, "w", driver="GTiff", width=width, height=height, count=1,
                       dtype="float32", crs=rio_crs, transform=plan.transform, nodata=NODATA,
                       compress="lzw", predictor=3, tiled=True, blockxsize=256,
                       blockysize=256, num_threads="ALL_CPUS") as ds:
        for (r0, r1), lux in _strips_in_order(plan):
            ds.write(lux, 1, window=Window(0, r0, width, r1 - r0))
            inside += int((lux != NODATA).sum())
        ds.set_band_description(1, BAND_DESCRIPTION)
        ds.set_band_unit(1, "lx")
        ds.update_tags(model=model, cutoff_m=str(cutoff_m), buffer_m=str(buffer_m),
                       default_height_m=str(default_height_m))
    logger.info("wrote %s: %d x %d cells of %.1f m, %d inside the buffer", out, width, height,
                cell_m, inside)
    return out


def _add_light(lux: npt.NDArray[np.float64], inside: npt.NDArray[np.bool_], pad: int,
               x0: float, y1: float, cell_m: float, width: int, height: int,
               lx: npt.NDArray[np.float64], ly: npt.NDArray[np.float64],
               intensity: npt.NDArray[np.float64], lh: npt.NDArray[np.float64], reach: float,
               cutoff_m: float, model: Model, row0: int = 0) -> None:
    """Add every luminaire's light to the flat ``lux`` grid at cells where ``inside``.

    ``lux`` and ``inside`` are rows ``row0 : row0 + height`` of the grid whose top edge is
    at ``y1``, padded by ``pad`` cells on every side (row-major, ``width + 2·pad``
    columns), so that no stencil cell of a luminaire that can reach them falls off the
    array and no bounds test is needed. Cell positions and offsets are computed on the
    whole grid, so a strip gets the very same numbers as the whole grid.
    """
    top = y1 - row0 * cell_m
    # Luminaires that can reach these rows at all.
    keep = ((lx >= x0 - reach) & (lx <= x0 + width * cell_m + reach)
            & (ly <= top + reach) & (ly >= top - height * cell_m - reach))
    lx, ly, intensity, lh = lx[keep], ly[keep], intensity[keep], lh[keep]
    col_l = np.floor((lx - x0) / cell_m).astype(np.int64)
    row_g = np.floor((y1 - ly) / cell_m).astype(np.int64)
    # Offsets (m) of the luminaire from the centre of its own cell.
    fx = x0 + (col_l + 0.5) * cell_m - lx
    fy = y1 - (row_g + 0.5) * cell_m - ly
    row_l = row_g - row0
    # Disc stencil of cell offsets whose centre may lie within `reach` of a point anywhere in
    # the luminaire's own cell.
    k = math.ceil(reach / cell_m) + 1
    if 2 * k + 1 > pad:
        raise ValueError(f"pad {pad} too small for a reach of {reach} m")
    di, dj = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="ij")
    near = (np.maximum(np.abs(di) - 0.5, 0) ** 2 + np.maximum(np.abs(dj) - 0.5, 0) ** 2
            ) * cell_m ** 2 <= reach ** 2
    di, dj = di[near], dj[near]
    terms = lux_terms(intensity, lh, cutoff_m, model)
    wp = width + 2 * pad
    stencil = di * wp + dj
    n_st = len(stencil)
    base = (row_l + pad) * wp + (col_l + pad)
    per_chunk = max(1, CHUNK_PAIRS // n_st)
    for start in range(0, len(lx), per_chunk):
        sl = slice(start, start + per_chunk)
        flat = (base[sl, None] + stencil[None, :]).ravel()
        hit = np.flatnonzero(inside[flat])
        flat = flat[hit]
        lum, st = np.divmod(hit, n_st)
        lum += start
        dx = fx[lum] + dj[st] * cell_m
        dy = fy[lum] - di[st] * cell_m
        np.add.at(lux, flat, lux_at(dx * dx + dy * dy, terms, lum))


#: The plan the forked strip workers compute from (set just before the pool starts).
_PLAN: _GridPlan | None = None


def _strip_job(rows: tuple[int, int]) -> npt.NDArray[np.float32]:
    assert _PLAN is not None
    return _PLAN.strip(*rows)


def strip_workers() -> int:
    """Processes that compute GeoTIFF strips: ``TRYGGA_RASTER_WORKERS``, else the usable
    cores (at most 2: the writer and GDAL's compression threads need the rest)."""
    env = os.environ.get("TRYGGA_RASTER_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(2, len(os.sched_getaffinity(0))))


def _strips_in_order(plan: _GridPlan) -> Iterator[tuple[tuple[int, int], npt.NDArray[np.float32]]]:
    """The plan's strips, top to bottom (the order the GeoTIFF's blocks are written in).

    With more than one worker (:func:`strip_workers`) and more than two strips, strips are
    computed in forked processes (numpy's ``add.at`` and the stencil arithmetic hold the
    GIL, so threads would not help); at most two strips per worker are in flight, so the
    buffer stays bounded whatever the size of the grid.
    """
    global _PLAN
    rows = plan.strips()
    workers = strip_workers()
    if workers < 2 or len(rows) <= 2 or "fork" not in mp.get_all_start_methods():
        for r0, r1 in rows:
            yield (r0, r1), plan.strip(r0, r1)
        return
    _PLAN = plan
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            pending: deque[tuple[tuple[int, int], Future[npt.NDArray[np.float32]]]] = deque()
            todo = iter(rows)
            for r in itertools.islice(todo, 2 * workers):
                pending.append((r, pool.submit(_strip_job, r)))
            while pending:
                r, fut = pending.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(_strip_job, nxt)))
                yield r, fut.result()
    finally:
        _PLAN = None
