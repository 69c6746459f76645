"""Photometric lighting model: EN 13201-3 illuminance on path segments from real luminaire
data (EULUMDAT / IES files, read by :mod:`layers.photometric`).

Intensity
    ``I(C, γ)`` is interpolated bilinearly in the file's C-γ table (C wraps at 360°;
    beyond the table's last γ the intensity is 0) and scaled by the catalogue entry's
    maintenance factor.

Geometry
    A luminaire at ``(x0, y0)`` and mounting height ``h`` (m) above a flat path. Its C0
    plane is turned by the catalogue's ``c0``: ``"along"`` the nearest path segment with
    C90 pointing at it (road-luminaire mounting), ``"towards"`` it, or a fixed bearing
    (degrees clockwise from grid north). A tilt ``τ`` turns the luminaire about its C0 axis
    raising the C90 side. For a point ``P`` with ``d = P − L`` (``dz = −h``) in the
    (C0, C90, up) frame, the luminaire frame is ``lx = dx``,
    ``ly = dy·cos τ + dz·sin τ``, ``lz = −dy·sin τ + dz·cos τ``; then
    ``γ = arccos(−lz / r)`` and ``C = atan2(ly, lx)`` (counter-clockwise from C0).
    Horizontal illuminance ``E = I(C, γ)·cos ε / r² = I(C, γ)·h / r³`` lx.

Calculation grid (EN 13201-3:2015, clause 7.3, illuminance on the path)
    Each segment is a calculation field of length ``S`` (its length) and width ``W``
    (catalogue ``[widths]`` per path type). Along the path ``N = 10`` points when
    ``S ≤ 30 m``, otherwise the smallest ``N`` with ``S/N ≤ 3 m``; across it ``n ≥ 3``
    points with ``W/n ≤ 1.5 m``. The points sit at the centres of the ``N × n`` cells
    (half a spacing from the ends and the edges). ``E_av`` is their mean, ``E_min`` the
    least, uniformity ``U0 = E_min / E_av``.

Luminaires that give no light (out of service, removed, planned:
:func:`gis.lighting_model.gives_light`) are left out, as in the point-source model.

Fallback
    Luminaires without a catalogue match contribute with the point-source model of
    :mod:`gis.lighting_model` (same intensity, height and cut-off) at the same grid points.
    Segments that no catalogue luminaire reaches keep the point-source values unchanged.
    Every segment is flagged (``lux_model``): ``photometric`` (every luminaire reaching the
    grid has a file), ``mixed`` (some do), ``point_source`` (none does; the old values).

Everything is numpy over (grid point × luminaire) pairs found with one KD-tree query.
All coordinates in the frames' projected CRS (metres).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gis._crs import require_projected
from gis.fastquery import pairs_within
from gis.lighting_model import (
    DEFAULT_MODEL,
    gives_light,
    luminaire_flux_lm,
    luminaire_height_m,
    luminous_intensity_cd,
    lux_at,
    lux_terms,
)
from layers.photometric import Catalogue, CatalogueEntry, Photometry
from layers.profile import P_CLASSES, Profile

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: EN 13201-3 grid: N = 10 along fields up to this length (m) ...
GRID_SHORT_FIELD_M = 30.0
#: ... otherwise at most this spacing along the path (m).
GRID_MAX_SPACING_ALONG_M = 3.0
#: At most this spacing across the path (m), and at least :data:`GRID_MIN_ACROSS` points.
GRID_MAX_SPACING_ACROSS_M = 1.5
GRID_MIN_ACROSS = 3
#: Horizontal reach of any luminaire, m (the point-source model's default cut-off).
CUTOFF_M = 50.0

#: Values of ``lux_model``.
LUX_MODELS = ("photometric", "mixed", "point_source")

#: Columns :func:`photometric_segments` adds to the ranking when the catalogue is on.
PHOTOMETRIC_COLUMNS = ("lux_model", "e_av_lux", "e_min_lux", "uniformity_u0",
                       "grid_points", "meets_class")


def intensity_cd(photometry: Photometry, c_deg: npt.ArrayLike,
                 gamma_deg: npt.ArrayLike) -> FloatArray:
    """Bilinear ``I(C, γ)`` in candela (at the file's rated flux).

    Parameters
    ----------
    photometry : Photometry
        The luminaire (full C-plane table, see :mod:`layers.photometric`).
    c_deg, gamma_deg : array_like
        Angles in degrees (broadcast together); C is taken modulo 360, γ beyond the table's
        last angle gives 0.

    Examples
    --------
    >>> from layers.photometric import read_ldt
    >>> p = read_ldt("data/photometry/road_luminaire.ldt")
    >>> round(float(intensity_cd(p, 0.0, 0.0)), 1)  # 184 cd/klm × 33.2 klm
    6108.8
    """
    c = np.mod(np.asarray(c_deg, dtype="float64"), 360.0)
    g = np.asarray(gamma_deg, dtype="float64")
    c, g = np.broadcast_arrays(c, g)
    cs, gs, table = photometry.c_deg, photometry.gamma_deg, photometry.intensity_cd
    i = np.clip(np.searchsorted(cs, c, side="right") - 1, 0, len(cs) - 2)
    tc = (c - cs[i]) / (cs[i + 1] - cs[i])
    gc = np.clip(g, gs[0], gs[-1])
    j = np.clip(np.searchsorted(gs, gc, side="right") - 1, 0, len(gs) - 2)
    tg = (gc - gs[j]) / (gs[j + 1] - gs[j])
    v = ((1 - tc) * (1 - tg) * table[i, j] + tc * (1 - tg) * table[i + 1, j]
         + (1 - tc) * tg * table[i, j + 1] + tc * tg * table[i + 1, j + 1])
    return np.where((g > gs[-1]) | (g < gs[0]), 0.0, v)


def luminaire_angles(dx: FloatArray, dy: FloatArray, height_m: FloatArray,
                     c0_bearing_deg: FloatArray, tilt_deg: FloatArray,
                     ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(C, γ, r)`` of points seen from luminaires (degrees, degrees, metres).

    Parameters
    ----------
    dx, dy : ndarray
        Point minus luminaire, east and north, metres.
    height_m : ndarray
        Mounting height above the point, metres.
    c0_bearing_deg : ndarray
        Direction of each luminaire's C0 plane, degrees clockwise from grid north.
    tilt_deg : ndarray
        Tilt raising the C90 side, degrees.
    """
    b = np.radians(c0_bearing_deg)
    return _angles(dx, dy, height_m, np.sin(b), np.cos(b), np.asarray(tilt_deg, dtype="float64"))


def _angles(dx: FloatArray, dy: FloatArray, height_m: FloatArray, ux: FloatArray,
            uy: FloatArray, tilt_deg: FloatArray | float,
            ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`luminaire_angles` with the C0 unit vector ``(ux, uy)`` (east, north) given."""
    # C90 is 90° counter-clockwise from C0, seen from above: (-uy, ux)
    along = dx * ux + dy * uy
    across = dy * ux - dx * uy
    h = np.asarray(height_m, dtype="float64")
    horizontal2 = along * along + across * across
    r = np.sqrt(horizontal2 + h * h)
    if np.ndim(tilt_deg) == 0 and float(tilt_deg) == 0.0:
        gamma = np.degrees(np.arctan2(np.sqrt(horizontal2), h))
        c = np.degrees(np.arctan2(across, along))
    else:
        t = np.radians(tilt_deg)
        ly = across * np.cos(t) - h * np.sin(t)
        lz = -across * np.sin(t) - h * np.cos(t)
        gamma = np.degrees(np.arccos(np.clip(-lz / r, -1.0, 1.0)))
        c = np.degrees(np.arctan2(ly, along))
    c = np.mod(c, 360.0)
    return np.where(c >= 360.0, c - 360.0, c), gamma, r


def en13201_grid_counts(length_m: npt.ArrayLike, width_m: npt.ArrayLike,
                        ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Points along (``N``) and across (``n``) each calculation field (EN 13201-3 7.3).

    Examples
    --------
    >>> en13201_grid_counts([30.0, 31.0, 50.0], [2.5, 4.6, 1.0])
    (array([10, 11, 17]), array([3, 4, 3]))
    """
    s = np.asarray(length_m, dtype="float64")
    w = np.asarray(width_m, dtype="float64")
    along = np.where(s <= GRID_SHORT_FIELD_M, 10,
                     np.ceil(s / GRID_MAX_SPACING_ALONG_M - 1e-9)).astype(np.int64)
    across = np.maximum(GRID_MIN_ACROSS,
                        np.ceil(w / GRID_MAX_SPACING_ACROSS_M - 1e-9)).astype(np.int64)
    return along, across


@dataclass(frozen=True)
class Grid:
    """EN 13201-3 calculation points of many segments.

    Attributes
    ----------
    x, y : ndarray
        Point coordinates, metres, segment-major.
    segment : ndarray
        Position of each point's segment in the input.
    counts : ndarray
        Points per segment.
    """

    x: FloatArray
    y: FloatArray
    segment: IntArray
    counts: npt.NDArray[np.int64]


def calculation_grid(lines: npt.NDArray[np.object_], width_m: FloatArray) -> Grid:
    """EN 13201-3 points on LineString segments of the given widths (metres).

    Points along sit at ``(k + ½)·S/N`` of the segment's length, offset across by
    ``−W/2 + (j + ½)·W/n`` along the left-hand normal of the local direction.
    """
    lines = np.asarray(lines, dtype=object)
    length = shapely.length(lines)
    n_along, n_across = en13201_grid_counts(length, width_m)
    per = n_along * n_across
    seg = np.repeat(np.arange(len(lines)), per)
    if not len(seg):
        return Grid(np.empty(0), np.empty(0), seg.astype(np.intp), per)
    start = np.cumsum(per) - per
    k = np.arange(len(seg)) - start[seg]
    a = k // n_across[seg]
    j = k % n_across[seg]
    s = (a + 0.5) * length[seg] / n_along[seg]
    off = -width_m[seg] / 2 + (j + 0.5) * width_m[seg] / n_across[seg]
    px, py, tx, ty = _along(lines, seg, s)
    x = px - ty * off
    y = py + tx * off
    return Grid(x, y, seg.astype(np.intp), per)


def _along(lines: npt.NDArray[np.object_], seg: IntArray, s: FloatArray,
           ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Points at distances *s* (m) along ``lines[seg]`` and the unit direction there.

    Pure numpy on the vertices: one ``searchsorted`` over all lines' cumulative lengths
    (equivalent to ``shapely.line_interpolate_point``, without a GEOS call per point).
    """
    coords, vline = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(vline, minlength=len(lines))
    first = np.cumsum(counts) - counts
    last = first + counts - 1
    step = np.zeros(len(coords))
    step[1:] = np.hypot(*np.diff(coords, axis=0).T)
    step[first] = 0.0
    cum = np.cumsum(step)
    cum -= cum[first][vline]
    length = cum[last]
    offset = np.cumsum(length + 1.0) - (length + 1.0)  # 1 m gap: one monotonic key
    key = cum + offset[vline]
    j = np.searchsorted(key, s + offset[seg], side="right") - 1
    j = np.clip(j, first[seg], last[seg] - 1)
    seg_len = step[j + 1]
    w = np.clip(np.divide(s - cum[j], seg_len, out=np.zeros(len(j)), where=seg_len > 0),
                0.0, 1.0)
    d = coords[j + 1] - coords[j]
    norm = np.where(seg_len > 0, seg_len, 1.0)
    return (coords[j, 0] + w * d[:, 0], coords[j, 1] + w * d[:, 1], d[:, 0] / norm,
            d[:, 1] / norm)


def match_catalogue(luminaires: pd.DataFrame, catalogue: Catalogue) -> npt.NDArray[np.int64]:
    """Catalogue entry of each luminaire (position in ``catalogue.entries``), −1 for none.

    The first entry whose given keys (``light_source``, ``raw_contains``, ``wattage_w``)
    all match wins.
    """
    n = len(luminaires)
    out = np.full(n, -1, dtype=np.int64)
    src = (luminaires["light_source"].astype(str).to_numpy() if "light_source" in luminaires
           else np.full(n, "unknown", dtype=object))
    raw = (luminaires["light_source_raw"].astype(str).str.casefold() if "light_source_raw"
           in luminaires else pd.Series([""] * n, index=luminaires.index))
    watt = (pd.to_numeric(luminaires["wattage_w"], errors="coerce").to_numpy(dtype="float64")
            if "wattage_w" in luminaires else np.full(n, np.nan))
    for k, e in enumerate(catalogue.entries):
        ok = out < 0
        if e.light_source is not None:
            ok &= src == e.light_source
        if e.raw_contains is not None:
            ok &= raw.str.contains(e.raw_contains.casefold(), regex=False).to_numpy()
        if e.wattage_w is not None:
            ok &= np.abs(watt - e.wattage_w) <= 0.5
        out[ok] = k
    return out


def _point_luminaire_pairs(lines: npt.NDArray[np.object_], widths: FloatArray, grid: Grid,
                           lum_xy: FloatArray, cutoff_m: float,
                           ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """(grid point, luminaire, dx, dy) of every pair within *cutoff_m* metres.

    One KD-tree search per segment (its bounding-box centre, widened by its half diagonal
    and half width), then the segment's pairs expanded to its grid points with numpy and
    cut at the exact distance: far fewer tree visits than one per grid point.
    """
    b = shapely.bounds(lines)
    mid = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
    ext = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 2 + widths / 2
    si, lj, dist = pairs_within(cKDTree(lum_xy), mid, cutoff_m + float(ext.max(initial=0.0)))
    near = dist <= cutoff_m + ext[si]
    si, lj = si[near], lj[near]
    counts = grid.counts[si]
    first = (np.cumsum(grid.counts) - grid.counts)[si]
    total = int(counts.sum())
    run = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    pi = np.repeat(first, counts) + run
    lj = np.repeat(lj, counts)
    dx = grid.x[pi] - lum_xy[lj, 0]
    dy = grid.y[pi] - lum_xy[lj, 1]
    keep = dx * dx + dy * dy <= cutoff_m * cutoff_m
    return pi[keep].astype(np.intp), lj[keep], dx[keep], dy[keep]


def _c0_bearings(lum_xy: FloatArray, entries: list[CatalogueEntry], matched: IntArray,
                 lines: npt.NDArray[np.object_], tree: shapely.STRtree) -> FloatArray:
    """C0 bearing (degrees from grid north) per luminaire from the catalogue's ``c0``
    (0 for luminaires without an entry); *tree* is an STRtree of *lines*."""
    bearing = np.zeros(len(lum_xy))
    entry = np.maximum(matched, 0)
    modes = np.array([e.c0 if isinstance(e.c0, str) else "fixed" for e in entries],
                     dtype=object)
    fixed = np.array([0.0 if isinstance(e.c0, str) else float(e.c0) for e in entries])
    mode = modes[entry]
    bearing[mode == "fixed"] = fixed[entry][mode == "fixed"]
    need = np.flatnonzero((mode != "fixed") & (matched >= 0))
    if len(need) and len(lines):
        pts = shapely.points(lum_xy[need])
        nearest = tree.nearest(pts)
        on = shapely.line_interpolate_point(lines[nearest], shapely.line_locate_point(
            lines[nearest], pts))
        nx = shapely.get_x(on) - lum_xy[need, 0]
        ny = shapely.get_y(on) - lum_xy[need, 1]
        towards = np.degrees(np.arctan2(nx, ny))  # bearing of the path from the pole
        bearing[need] = np.where(mode[need] == "towards", towards, towards + 90.0)
    return np.mod(bearing, 360.0)


@dataclass(frozen=True)
class PhotometricResult:
    """EN 13201-3 values per segment.

    Attributes
    ----------
    values : DataFrame
        Aligned to the segments: :data:`PHOTOMETRIC_COLUMNS` without ``meets_class``
        (``lux_model``, ``e_av_lux``, ``e_min_lux``, ``uniformity_u0``, ``grid_points``).
    matched : ndarray
        Catalogue entry per luminaire (−1: none), aligned to the input luminaires; only
        those that give light (:func:`gis.lighting_model.gives_light`) are computed.
    """

    values: pd.DataFrame
    matched: npt.NDArray[np.int64]


def segment_photometric_illuminance(segments: gpd.GeoDataFrame,
                                    luminaires: gpd.GeoDataFrame, catalogue: Catalogue,
                                    default_height_m: float = 6.0,
                                    cutoff_m: float = CUTOFF_M) -> PhotometricResult:
    """EN 13201-3 horizontal illuminance of every segment from the catalogue's files.

    Parameters
    ----------
    segments : GeoDataFrame
        LineString segments in a projected CRS; ``path_type`` gives the field width.
    luminaires : GeoDataFrame
        Point luminaires (:data:`layers.schemas.LUMINAIRES`), same CRS.
    catalogue : Catalogue
        From :func:`layers.photometric.load_catalogue`.
    default_height_m : float
        Mounting height (m) where the inventory has none.
    cutoff_m : float
        Horizontal reach of any luminaire, m.

    Returns
    -------
    PhotometricResult
        ``values`` aligned to ``segments.index``; ``e_av_lux`` etc. are NaN and
        ``lux_model`` is ``point_source`` for segments no catalogue luminaire reaches.
    """
    require_projected(("segments", segments), ("luminaires", luminaires))
    lines = np.asarray(segments.geometry.values, dtype=object)
    m = len(lines)
    types = (segments["path_type"].astype(str) if "path_type" in segments
             else pd.Series(["default"] * m, index=segments.index))
    codes, uniques = pd.factorize(types)
    widths = np.array([catalogue.width_m(str(u)) for u in uniques] + [0.0])[codes]
    matched_all = match_catalogue(luminaires, catalogue)
    light = gives_light(luminaires)  # out-of-service, removed, planned: no light
    luminaires, matched = luminaires[light], matched_all[light]
    lum_xy = shapely.get_coordinates(luminaires.geometry.values)
    h = luminaire_height_m(luminaires, default_height_m).to_numpy(dtype="float64")
    out_model = np.full(m, "point_source", dtype=object)
    e_av = np.full(m, np.nan)
    e_min = np.full(m, np.nan)
    n_pts = np.zeros(m, dtype=np.int64)
    if not m or not len(lum_xy) or not (matched >= 0).any():
        return PhotometricResult(_values(segments.index, out_model, e_av, e_min, n_pts),
                                 matched_all)
    # Only segments that a catalogue luminaire can reach get a grid.
    cat_pts = shapely.points(lum_xy[matched >= 0])
    tree = shapely.STRtree(lines)
    reach_seg = np.unique(tree.query(cat_pts, predicate="dwithin", distance=cutoff_m)[1])
    grid = calculation_grid(lines[reach_seg], widths[reach_seg])
    seg_of_point = reach_seg[grid.segment]
    pts_xy = np.column_stack([grid.x, grid.y])
    pi, lj, dx, dy = _point_luminaire_pairs(lines[reach_seg], widths[reach_seg], grid, lum_xy,
                                            cutoff_m)
    e = np.zeros(len(pi))
    entry = matched[lj]
    is_cat = entry >= 0
    # -- photometric luminaires, one vectorised pass per catalogue file ------------------
    entries = list(catalogue.entries)
    bearings = np.radians(_c0_bearings(lum_xy, entries, matched, lines, tree))
    ux, uy = np.sin(bearings), np.cos(bearings)
    tilt = np.array([e_.tilt_deg for e_ in entries])
    inventory_flux = luminaire_flux_lm(luminaires).to_numpy(dtype="float64")
    for k, ent in enumerate(entries):
        sel = np.flatnonzero(entry == k)
        if not len(sel):
            continue
        lum = lj[sel]
        scale = (inventory_flux[lum] / ent.photometry.rated_flux_lm if ent.flux_from_inventory
                 else ent.maintenance_factor)
        c, g, r = _angles(dx[sel], dy[sel], h[lum], ux[lum], uy[lum], float(tilt[k]))
        e[sel] = intensity_cd(ent.photometry, c, g) * scale * h[lum] / (r * r * r)
    # -- the rest: today's point-source model at the same points -----------------------
    rest = np.flatnonzero(~is_cat)
    if len(rest):
        inten = luminous_intensity_cd(inventory_flux)
        terms = lux_terms(inten, h, cutoff_m, DEFAULT_MODEL)
        e[rest] = lux_at(dx[rest] ** 2 + dy[rest] ** 2, terms, lj[rest])
    e_point = np.bincount(pi, weights=e, minlength=len(pts_xy))
    # which luminaires actually light each segment's grid
    lit = e > 0
    seg_pair = seg_of_point[pi]
    cat_light = np.bincount(seg_pair[lit & is_cat], minlength=m)
    other_light = np.bincount(seg_pair[lit & ~is_cat], minlength=m)
    sums = np.bincount(seg_of_point, weights=e_point, minlength=m)
    counts = np.bincount(seg_of_point, minlength=m)
    mins = np.full(m, np.inf)
    np.minimum.at(mins, seg_of_point, e_point)
    has = (counts > 0) & (cat_light > 0)
    e_av[has] = sums[has] / counts[has]
    e_min[has] = mins[has]
    n_pts[has] = counts[has]
    out_model[has] = np.where(other_light[has] > 0, "mixed", "photometric")
    return PhotometricResult(_values(segments.index, out_model, e_av, e_min, n_pts),
                             matched_all)


def _values(index: pd.Index, model: np.ndarray, e_av: FloatArray, e_min: FloatArray,
            n_pts: npt.NDArray[np.int64]) -> pd.DataFrame:
    u0 = np.divide(e_min, e_av, out=np.full(len(e_av), np.nan),
                   where=np.isfinite(e_av) & (e_av > 0))
    return pd.DataFrame({
        "lux_model": pd.Series(pd.Categorical(model, categories=list(LUX_MODELS)),
                               index=index),
        "e_av_lux": pd.Series(e_av, index=index, dtype="float64"),
        "e_min_lux": pd.Series(e_min, index=index, dtype="float64"),
        "uniformity_u0": pd.Series(u0, index=index, dtype="float64"),
        "grid_points": pd.Series(n_pts, index=index, dtype="int64"),
    }, index=index)


def apply_photometric(illum: pd.DataFrame, result: PhotometricResult) -> pd.DataFrame:
    """The point-source ``illum`` frame with ``avg_lux``/``min_lux`` replaced by the EN
    13201-3 values where the photometric model was used (a new frame)."""
    v = result.values.reindex(illum.index)
    use = v["lux_model"].astype(str).ne("point_source").to_numpy()
    out = illum.copy()
    out.loc[use, "avg_lux"] = v.loc[use, "e_av_lux"].to_numpy()
    out.loc[use, "min_lux"] = v.loc[use, "e_min_lux"].to_numpy()
    return out


def meets_class(values: pd.DataFrame, target_class: pd.Series) -> pd.Series:
    """EN 13201-2 P-class met (``E_av`` and ``E_min`` at least the class's maintained
    values); ``<NA>`` where the photometric model was not used."""
    t = target_class.reindex(values.index).astype(str)
    avg = t.map(lambda c: P_CLASSES.get(c, (math.nan, math.nan))[0]).astype("float64")
    mn = t.map(lambda c: P_CLASSES.get(c, (math.nan, math.nan))[1]).astype("float64")
    ok = (values["e_av_lux"] >= avg) & (values["e_min_lux"] >= mn)
    out = pd.Series(ok.to_numpy(), index=values.index, dtype="boolean", name="meets_class")
    out[values["lux_model"].astype(str).eq("point_source").to_numpy()] = pd.NA
    return out


def photometric_for_profile(segments: gpd.GeoDataFrame, luminaires: gpd.GeoDataFrame,
                            profile: Profile) -> PhotometricResult:
    """:func:`segment_photometric_illuminance` with the catalogue of
    ``profile.sources.photometry`` (which must be set) and the profile's default height."""
    from layers.photometric import load_catalogue

    if profile.sources.photometry is None:
        raise ValueError("the profile has no sources.photometry catalogue")
    catalogue = load_catalogue(profile.sources.photometry)
    result = segment_photometric_illuminance(
        segments, luminaires, catalogue,
        default_height_m=profile.lighting.default_mounting_height_m)
    counts = result.values["lux_model"].value_counts()
    logger.info("photometric model: %d luminaires of %d matched; segments %s",
                int((result.matched >= 0).sum()), len(result.matched), counts.to_dict())
    return result


def add_photometric_columns(ranked: gpd.GeoDataFrame,
                            result: PhotometricResult) -> gpd.GeoDataFrame:
    """*ranked* with :data:`PHOTOMETRIC_COLUMNS` appended (a new frame), aligned by index;
    ``meets_class`` compares with the segment's ``target_class``."""
    v = result.values.reindex(ranked.index)
    out = ranked.copy()
    for c in v.columns:
        out[c] = v[c].to_numpy() if c != "lux_model" else v[c].astype(str).to_numpy()
    out["e_av_lux"] = out["e_av_lux"].round(3)
    out["e_min_lux"] = out["e_min_lux"].round(3)
    out["uniformity_u0"] = out["uniformity_u0"].round(3)
    out["meets_class"] = meets_class(v, ranked["target_class"]).to_numpy()
    return out


def photometric_summary(ranked: pd.DataFrame) -> dict[str, object]:
    """Key figures of a ranking with the photometric model: segments and km per
    ``lux_model``, and km meeting / not meeting their P-class (EN 13201-3 values)."""
    km = ranked.groupby(ranked["lux_model"].astype(str))["length_m"].sum() / 1000
    counts = ranked["lux_model"].astype(str).value_counts()
    meets = ranked["meets_class"].astype("boolean")
    return {
        "segments_by_model": {m: int(counts.get(m, 0)) for m in LUX_MODELS},
        "km_by_model": {m: round(float(km.get(m, 0.0)), 2) for m in LUX_MODELS},
        "km_meeting_class": round(float(ranked.loc[meets.fillna(False).to_numpy(),
                                                   "length_m"].sum()) / 1000, 2),
        "km_below_class": round(float(ranked.loc[(~meets).fillna(False).to_numpy(),
                                                 "length_m"].sum()) / 1000, 2),
    }
