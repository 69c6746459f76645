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
#: The process that imported this module. GDAL's worker threads (``NUM_THREADS``) do not
#: survive a ``fork``: a forked child whose parent had started them waits for them for
#: ever. So only this process compresses on GDAL's threads; a forked writer compresses on
#: its own thread (ZSTD level 1 is cheap).
_IMPORT_PID = os.getpid()
#: GeoTIFF compression and its options (float predictor 3 is set with it).
COMPRESS = "zstd"
COMPRESS_OPTIONS: dict[str, Any] = {"zstd_level": 1}


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


#: Rows per strip of the streamed grid (a multiple of the GeoTIFF's 256-row blocks). A
#: strip's mask is rasterised at once (512 rows × 30 000 columns: 15 MB as bytes).
STRIP_ROWS = 512
#: Columns per window within a strip (a multiple of the 256-column blocks): the light is
#: computed only for windows with a cell inside the buffer; the rest is never computed or
#: written (a sparse GeoTIFF).
WINDOW_COLS = 512


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
        # The lines, not their buffers: each strip buffers only the lines near it (in the
        # worker that computes it), so the parent does not buffer the whole network first.
        self.lines = lines
        self.line_tree = shapely.STRtree(lines)
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
        self.groups = [(k, np.flatnonzero(self.cells == k)) for k in np.unique(self.cells)]

    def strips(self, rows: int | None = None) -> list[tuple[int, int]]:
        """Row ranges ``(r0, r1)`` covering the grid, *rows* high (default
        :data:`STRIP_ROWS`; the last one less)."""
        rows = rows or STRIP_ROWS
        return [(r0, min(r0 + rows, self.height)) for r0 in range(0, self.height, rows)]

    def strip(self, r0: int, r1: int) -> npt.NDArray[np.float32]:
        """Lux of grid rows ``r0:r1`` (float32, :data:`NODATA` outside the buffer)."""
        out = np.full((r1 - r0, self.width), NODATA, dtype="float32")
        for c0, lux in self.strip_windows(r0, r1):
            out[:, c0:c0 + lux.shape[1]] = lux
        return out

    def strip_windows(self, r0: int, r1: int, cols: int | None = None,
                      ) -> list[tuple[int, npt.NDArray[np.float32]]]:
        """The windows of rows ``r0:r1`` that hold a cell inside the buffer.

        The strip's mask is rasterised at once (the very mask of the whole grid's rows);
        the light is then added window by window, *cols* columns wide (default
        :data:`WINDOW_COLS`), only for windows with a masked cell. Returns ``(c0, lux)`` per
        such window, left to right (``lux``: float32, :data:`NODATA` outside the buffer).
        Windows not returned are nodata throughout.
        """
        cols = cols or WINDOW_COLS
        mask = self.strip_mask(r0, r1)
        if mask is None:
            return []
        busy = np.flatnonzero(np.add.reduceat(mask.any(axis=0), np.arange(0, self.width,
                                                                          cols)) > 0)
        return [(c0, self.window_lux(mask[:, c0:c0 + cols], r0, c0))
                for c0 in (busy * cols).tolist()]

    def strip_mask(self, r0: int, r1: int) -> npt.NDArray[np.bool_] | None:
        """Cells of rows ``r0:r1`` within ``buffer_m`` of a line (None: none is)."""
        c, width, height, b = self.cell_m, self.width, r1 - r0, self.buffer_m
        top = self.y1 - r0 * c
        transform = Affine(c, 0.0, self.x0, 0.0, -c, top)
        # Lines whose buffer may touch the strip (their envelope grown by the buffer); a
        # few more than touch it only burn nothing: the mask is the union of the shapes.
        near = shapely.box(self.x0 - b, top - height * c - b, self.x0 + width * c + b, top + b)
        hit = np.sort(self.line_tree.query(near))
        if len(hit) == 0:
            return None
        zone = (shapely.buffer(self.lines[hit], b, quad_segs=4) if b > 0
                else self.lines[hit])
        shapes = [(shape, 1) for shape in _geojson_like(zone)]
        mask = rasterio.features.rasterize(shapes, out_shape=(height, width),
                                           transform=transform, fill=0, dtype="uint8",
                                           all_touched=b == 0).astype(bool)
        return mask if mask.any() else None

    def window_lux(self, mask: npt.NDArray[np.bool_], r0: int, c0: int,
                   ) -> npt.NDArray[np.float32]:
        """Lux of the window with top-left cell ``(r0, c0)`` and *mask* (its shape) as the
        cells inside the buffer: float32, :data:`NODATA` elsewhere.

        Every cell gets the same sum in the same order as on the whole grid (luminaire
        groups by reach, then luminaires in input order), so windows give the same bytes.
        """
        pad, lum, c = self.pad, self.lum, self.cell_m
        height, width = mask.shape
        inside = np.pad(mask, pad).ravel()
        flats: list[npt.NDArray[np.intp]] = []
        values: list[npt.NDArray[np.float64]] = []
        for _k, sel in self.groups:
            reach = float(self.reach_each[sel].max())
            if reach > 0:
                for flat, val in _light_pairs(inside, pad, self.x0, self.y1, c, width,
                                              height, lum.x[sel], lum.y[sel],
                                              lum.intensity[sel], lum.height[sel], reach,
                                              self.cutoff_m, self.model, row0=r0, col0=c0):
                    flats.append(flat)
                    values.append(val)
        if flats:
            # one ordered pass: bincount adds each cell's terms in input order from 0.0,
            # exactly as repeated ``lux[flat] += v`` (np.add.at) would, only faster
            lux = np.bincount(np.concatenate(flats), weights=np.concatenate(values),
                              minlength=len(inside))
        else:
            lux = np.zeros(len(inside), dtype=np.float64)
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
        The written file: single band float32 lux, nodata -1, ZSTD (level 1) with the
        floating-point predictor, 256×256 tiles, sparse (blocks with no cell inside the
        buffer are not stored; GDAL reads them as nodata), CRS of the inputs, band
        description :data:`BAND_DESCRIPTION`, unit ``lx``.
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
                       compress=COMPRESS, predictor=3, tiled=True, blockxsize=256,
                       blockysize=256, sparse_ok=True,
                       num_threads="ALL_CPUS" if os.getpid() == _IMPORT_PID else 1,
                       **COMPRESS_OPTIONS) as ds:
        for (r0, r1), windows in _strips_in_order(plan):
            for c0, lux in windows:
                ds.write(lux, 1, window=Window(c0, r0, lux.shape[1], r1 - r0))
                inside += int((lux != NODATA).sum())
        ds.set_band_description(1, BAND_DESCRIPTION)
        ds.set_band_unit(1, "lx")
        ds.update_tags(model=model, cutoff_m=str(cutoff_m), buffer_m=str(buffer_m),
                       default_height_m=str(default_height_m))
    logger.info("wrote %s: %d x %d cells of %.1f m, %d inside the buffer", out, width, height,
                cell_m, inside)
    return out


def _light_pairs(inside: npt.NDArray[np.bool_], pad: int, x0: float, y1: float,
                 cell_m: float, width: int, height: int, lx: npt.NDArray[np.float64],
                 ly: npt.NDArray[np.float64], intensity: npt.NDArray[np.float64],
                 lh: npt.NDArray[np.float64], reach: float, cutoff_m: float, model: Model,
                 row0: int = 0, col0: int = 0,
                 ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]]:
    """Every luminaire's light at the cells of a window where ``inside``, as
    ``(flat cell index, lux)`` pairs in luminaire order, in chunks of at most
    :data:`CHUNK_PAIRS` (luminaire, stencil cell) pairs.

    ``inside`` covers rows ``row0 : row0 + height`` and columns ``col0 : col0 + width`` of
    the grid whose top-left corner is ``(x0, y1)``, padded by ``pad`` cells on every side
    (row-major, ``width + 2·pad`` columns), so that no stencil cell of a luminaire that can
    reach the window falls off the array and no bounds test is needed. Cell positions and
    offsets are computed on the whole grid, so a window gets the very same numbers as the
    whole grid.
    """
    top = y1 - row0 * cell_m
    left = x0 + col0 * cell_m
    # Luminaires that can reach this window at all.
    keep = ((lx >= left - reach) & (lx <= left + width * cell_m + reach)
            & (ly <= top + reach) & (ly >= top - height * cell_m - reach))
    if not keep.any():
        return
    lx, ly, intensity, lh = lx[keep], ly[keep], intensity[keep], lh[keep]
    col_g = np.floor((lx - x0) / cell_m).astype(np.int64)
    row_g = np.floor((y1 - ly) / cell_m).astype(np.int64)
    # Offsets (m) of the luminaire from the centre of its own cell.
    fx = x0 + (col_g + 0.5) * cell_m - lx
    fy = y1 - (row_g + 0.5) * cell_m - ly
    row_l = row_g - row0
    col_l = col_g - col0
    # Square stencil of cell offsets (rows di, columns dj in -k..k), of which only the disc
    # of cells whose centre may lie within `reach` of a point anywhere in the luminaire's
    # own cell is used.
    k = math.ceil(reach / cell_m) + 1
    if 2 * k + 1 > pad:
        raise ValueError(f"pad {pad} too small for a reach of {reach} m")
    off = np.arange(-k, k + 1)
    di, dj = np.meshgrid(off, off, indexing="ij")
    near = ((np.maximum(np.abs(di) - 0.5, 0) ** 2 + np.maximum(np.abs(dj) - 0.5, 0) ** 2
             ) * cell_m ** 2 <= reach ** 2)
    terms = lux_terms(intensity, lh, cutoff_m, model)
    wp = width + 2 * pad
    stencil = di * wp + dj
    n_sq = stencil.size
    base = (row_l + pad) * wp + (col_l + pad)
    per_chunk = max(1, CHUNK_PAIRS // n_sq)
    step = off * cell_m
    for start in range(0, len(lx), per_chunk):
        sl = slice(start, start + per_chunk)
        flat = (base[sl, None] + stencil.ravel()[None, :])
        # The offset of a pair is ``fx + dj·cell`` across and ``fy − di·cell`` up, the
        # same floats as one pair at a time; its square splits by row and column, so
        # d² = dx² + dy² is one broadcast add per pair.
        dx = fx[sl, None] + step[None, :]
        dy = fy[sl, None] - step[None, :]
        d2 = ((dy * dy)[:, :, None] + (dx * dx)[:, None, :]).reshape(len(flat), n_sq)
        # Pairs beyond a luminaire's own reach add 0.0 (they are left out: x + 0.0 == x)
        hit = inside[flat] & near.ravel()[None, :] & (d2 <= terms.limit2[sl, None])
        lum, st = np.nonzero(hit)
        if len(lum) == 0:
            continue
        d2h = d2[lum, st]
        lum += start
        # :func:`gis.lighting_model.lux_at` for the pairs within reach, same arithmetic
        r2 = terms.h2[lum] + d2h
        den = r2 * r2 if terms.quartic else r2 * np.sqrt(r2)
        # row-major order of (luminaire, stencil cell), as on the whole grid
        yield flat[lum - start, st], terms.numerator[lum] / den


#: The plan the forked strip workers compute from (set just before the pool starts).
_PLAN: _GridPlan | None = None


def _strip_job(rows: tuple[int, int]) -> list[tuple[int, npt.NDArray[np.float32]]]:
    assert _PLAN is not None
    return _PLAN.strip_windows(*rows)


def strip_workers() -> int:
    """Processes that compute GeoTIFF strips: ``TRYGGA_RASTER_WORKERS``, else the usable
    cores (at most 2: the writer and GDAL's compression threads need the rest)."""
    env = os.environ.get("TRYGGA_RASTER_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(2, len(os.sched_getaffinity(0))))


def _strips_in_order(plan: _GridPlan) -> Iterator[
        tuple[tuple[int, int], list[tuple[int, npt.NDArray[np.float32]]]]]:
    """The plan's strips, top to bottom (the order the GeoTIFF's blocks are written in), each
    as its windows with a cell inside the buffer (:meth:`_GridPlan.strip_windows`).

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
            yield (r0, r1), plan.strip_windows(r0, r1)
        return
    _PLAN = plan
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            pending: deque[tuple[tuple[int, int], Future[Any]]] = deque()
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
