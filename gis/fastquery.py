"""Fast, exact kernels for the reference query of the ranking core (``BENCH.md``).

Per path segment (a LineString of any number of vertices):

(a) ``n_luminaires_30m``: luminaires within ``count_radius_m`` (30 m) of the segment *line*;
(b) ``nearest_luminaire_m``: distance from the line to the nearest luminaire (NaN beyond
    ``luminaire_cap_m``);
(c) ``midpoint_lux``: illuminance at the segment midpoint (the point at half the line's
    length), ``E = Σ I·h / (h² + d²)^1.5`` over luminaires with horizontal distance
    ``d ≤ lux_radius_m`` (50 m), ``I = 1500 cd``, ``h = 6 m`` (0.0 when none);
(d) ``school_distance_m``: distance from the line to the nearest school polygon (0 inside or
    touching; NaN beyond ``school_cap_m``);
(e) ``crossing_distance_m``: distance from the line to the nearest crossing point (NaN
    beyond ``crossing_cap_m``);
(f) ``score`` (:func:`reference_score`) and ``rank`` (1 = highest score, ties by position).

Units and CRS
    Everything is in metres in one projected CRS; the frame-level entry point
    :func:`reference_query` refuses degrees and mixed CRSs (:func:`gis._crs.require_projected`).
    The array kernels take plain coordinates and trust the caller.

Algorithm
    Let ``m_i`` be segment ``i``'s midpoint and ``e_i = max_k |v_ik − m_i|`` its *half
    extent* (largest distance of a vertex from the midpoint; ≈ 12.5 m for a 25 m segment).
    Every point of the line lies within ``e_i`` of ``m_i`` (the line is inside the convex
    hull of its vertices, which is inside that disc), so for any point ``p``::

        |p − m_i| − e_i  ≤  dist(p, line_i)  ≤  |p − m_i|                      (*)

    * (a, b, c): one k-nearest-neighbour query of the midpoints in a ``scipy.spatial.cKDTree``
      of the luminaires, bounded at ``R = max(lux_radius, count_radius + max e_i)``. ``k``
      starts small and grows (×4) only for the rows whose k-th neighbour is still inside
      ``R``, so the result is *all* luminaires within ``R`` of every midpoint. By (*) this
      contains every luminaire within ``count_radius`` of the line, and by definition every
      luminaire within ``lux_radius`` of the midpoint. Exact point-to-polyline distances for
      these pairs are computed in numpy (min over the line's sub-segments of the clamped
      projection). The minimum of them is the nearest luminaire whenever it is
      ``≤ R − e_i`` (any luminaire not seen is farther than ``R`` from ``m_i``, so by (*)
      farther than ``R − e_i`` from the line); the other rows go to the nearest search below.
    * (b, e) nearest point: ``k`` nearest midpoint neighbours (bounded at ``cap + max e_i``),
      exact line distances, minimum ``D``. The answer is exact when the k-th neighbour is
      missing (all candidates within the bound were seen) or ``d_k − e_i ≥ min(D, cap)``
      (every unseen point is at least ``d_k − e_i`` from the line); other rows repeat with
      ``4k``.
    * (d) nearest polygon: the same search on the polygons' bounding-box centres ``c_p``
      with radius ``r_p`` (largest vertex distance from ``c_p``), using the bound
      ``dist(line_i, P) ≥ |c_p − m_i| − e_i − r_p``; exact distances by GEOS
      (``shapely.distance``) on the candidate pairs only.

    Capping a nearest search (``*_cap_m``) gives identical values inside the cap (BENCH.md).

Exactness
    Counts are exact up to floating-point rounding at exactly 30 m; distances agree with
    GEOS/PostGIS to ~1e-9 m; lux sums the same terms as a brute-force sum (relative ~1e-15).

Partitioning
    :func:`query_chunk` is a pure function of a chunk of segments and the point/polygon sets
    (which may be the chunk's halo: all luminaires within ``max(R, luminaire_cap)`` and all
    crossings/schools within their caps, plus ``max e_i``). :func:`reference_query` runs the
    chunks on a thread pool (numpy, scipy and GEOS release the GIL), then scores and ranks.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gis._crs import require_projected

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Result columns of :func:`reference_query` / :func:`query_chunk`, in order.
COLUMNS = ("n_luminaires_30m", "nearest_luminaire_m", "midpoint_lux", "school_distance_m",
           "crossing_distance_m")


@dataclass(frozen=True)
class ReferenceParams:
    """Parameters of the reference query (defaults = ``BENCH.md``); lengths in metres.

    Attributes
    ----------
    count_radius_m : float
        (a) luminaires within this distance of the line are counted.
    lux_radius_m : float
        (c) luminaires within this horizontal distance of the midpoint add light.
    intensity_cd, height_m : float
        (c) constant intensity (cd) and mounting height (m).
    luminaire_cap_m, school_cap_m, crossing_cap_m : float
        Caps of the nearest searches (b, d, e); NaN beyond. The score uses them as its
        distance scales, so capping changes no score.
    lux_ref_lx : float
        Illuminance at which the darkness component reaches 0.
    w_dark, w_sparse, w_gap, w_school, w_crossing : float
        Score weights, see :func:`reference_score`.
    """

    count_radius_m: float = 30.0
    lux_radius_m: float = 50.0
    intensity_cd: float = 1500.0
    height_m: float = 6.0
    luminaire_cap_m: float = 200.0
    school_cap_m: float = 2000.0
    crossing_cap_m: float = 500.0
    lux_ref_lx: float = 5.0
    w_dark: float = 0.35
    w_sparse: float = 0.15
    w_gap: float = 0.10
    w_school: float = 0.25
    w_crossing: float = 0.15


# ---------------------------------------------------------------------------------------------
# Geometry helpers (numpy)
# ---------------------------------------------------------------------------------------------

def line_vertices(lines: npt.ArrayLike) -> FloatArray:
    """Vertices of LineStrings as an ``(n, v, 2)`` array, ``v`` = the largest vertex count.

    Shorter lines are padded by repeating their last vertex (a zero-length sub-segment
    changes no distance). Raises ValueError for empty/missing geometries.
    """
    arr = np.asarray(lines, dtype=object)
    n = len(arr)
    if n == 0:
        return np.empty((0, 2, 2))
    coords, which = shapely.get_coordinates(arr, return_index=True)
    counts = np.bincount(which, minlength=n)
    if (counts < 2).any():
        raise ValueError("segments has empty or missing geometries. Fix: drop them first")
    v = int(counts.max())
    if (counts == v).all():
        return coords.reshape(n, v, 2)
    first = np.cumsum(counts) - counts
    k = np.minimum(np.arange(v)[None, :], (counts - 1)[:, None])
    return coords[first[:, None] + k]


def midpoints_and_extent(verts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Midpoint (at half the length) of each line and its half extent ``e`` (m).

    ``e = max_k |v_k − midpoint|``: the whole line lies within ``e`` of the midpoint.
    """
    n = len(verts)
    if n == 0:
        return np.empty((0, 2)), np.empty(0)
    step = np.hypot(*np.diff(verts, axis=1).transpose(2, 0, 1))  # (n, v-1)
    cum = np.cumsum(step, axis=1)
    half = cum[:, -1] / 2.0
    s = np.minimum((cum < half[:, None]).sum(axis=1), step.shape[1] - 1)
    rows = np.arange(n)
    before = cum[rows, s] - step[rows, s]
    t = np.divide(half - before, step[rows, s], out=np.zeros(n), where=step[rows, s] > 0)
    a, b = verts[rows, s], verts[rows, s + 1]
    mid = a + (b - a) * np.clip(t, 0.0, 1.0)[:, None]
    ext = np.hypot(*(verts - mid[:, None, :]).transpose(2, 0, 1)).max(axis=1)
    return mid, ext


def point_line_distance(verts: FloatArray, seg: IntArray, px: FloatArray,
                        py: FloatArray) -> FloatArray:
    """Exact distance from points ``(px, py)`` to the polylines ``verts[seg]`` (pairwise).

    Minimum over the sub-segments of the distance to the clamped projection, in metres.
    ``seg``, ``px`` and ``py`` may have any (common) shape.
    """
    shape = np.shape(seg)
    seg, x, y = np.ravel(seg), np.ravel(px), np.ravel(py)
    if len(seg) <= DISTANCE_CHUNK:
        return _point_line_distance(verts, seg, x, y).reshape(shape)
    # in chunks of pairs: the gathered vertices of all pairs at once would be
    # pairs × vertices × 16 bytes; every pair's number is the same either way
    out = np.empty(len(seg))
    for a in range(0, len(seg), DISTANCE_CHUNK):
        b = a + DISTANCE_CHUNK
        out[a:b] = _point_line_distance(verts, seg[a:b], x[a:b], y[a:b])
    return out.reshape(shape)


#: Pairs per chunk of :func:`point_line_distance` (bounds its temporary memory).
DISTANCE_CHUNK = 262_144


def _point_line_distance(verts: FloatArray, seg: IntArray, x: FloatArray,
                         y: FloatArray) -> FloatArray:
    v = verts[seg]  # (p, nv, 2): one gather
    best = np.full(len(v), np.inf)
    tiny = np.finfo(float).tiny
    for k in range(verts.shape[1] - 1):  # loop over vertex positions, not geometries
        ax, ay = v[:, k, 0], v[:, k, 1]
        dx, dy = v[:, k + 1, 0] - ax, v[:, k + 1, 1] - ay
        wx, wy = x - ax, y - ay
        # t = clamp(w·d / |d|², 0, 1); a zero-length sub-segment has w·d = 0, so t = 0
        t = wx * dx + wy * dy
        t /= np.maximum(dx * dx + dy * dy, tiny)
        np.clip(t, 0.0, 1.0, out=t)
        wx -= t * dx
        wy -= t * dy
        wx *= wx
        wy *= wy
        wx += wy
        np.minimum(best, wx, out=best)
    return np.sqrt(best)


def linestrings_sorted(xy: FloatArray, index: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """LineStrings from coordinates grouped by a sorted run ``index`` (0, 0, 1, 1, 1, …).

    Same result as ``shapely.linestrings(xy, indices=index)`` for sorted indices with at
    least two coordinates per run, built with ``shapely.from_ragged_array`` (about 30 %
    faster).
    """
    idx = np.asarray(index, dtype=np.int64)
    if len(idx) == 0:
        return np.empty(0, dtype=object)
    counts = np.bincount(idx)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    return np.asarray(shapely.from_ragged_array(
        shapely.GeometryType.LINESTRING, np.ascontiguousarray(xy, dtype="float64"),
        (offsets,)), dtype=object)


@dataclass(frozen=True)
class SegmentArrays:
    """Vertex arrays of short LineStrings (segments), computed once and shared by the steps.

    The ranking's context, lighting and LED steps all need the same per-segment numbers
    (vertices, midpoint, half extent, cumulative length); computing them once from the
    segment geometries saves each step its own pass over GEOS. Coordinates in metres in the
    segments' projected CRS.

    Attributes
    ----------
    verts : ndarray, shape (n, v, 2)
        Vertices, padded by repeating the last one (:func:`line_vertices`).
    cum : ndarray, shape (n, v - 1)
        Distance (m) along the line at the end of each sub-segment.
    mid : ndarray, shape (n, 2)
        Point at half the length.
    ext : ndarray, shape (n,)
        Half extent (m): the line lies within ``ext`` of ``mid``.
    """

    verts: FloatArray
    cum: FloatArray
    mid: FloatArray
    ext: FloatArray

    #: Largest vertex count and half extent (m) the padded arrays are used for.
    MAX_VERTICES = 16
    MAX_EXTENT_M = 100.0

    @classmethod
    def of(cls, lines: npt.ArrayLike) -> SegmentArrays | None:
        """Arrays of plain, non-empty LineStrings of at most :attr:`MAX_VERTICES` vertices
        and :attr:`MAX_EXTENT_M` half extent; None for anything else (callers then fall back
        to GEOS)."""
        g = np.asarray(lines, dtype=object)
        if len(g) == 0:
            return None
        if not (shapely.get_type_id(g) == shapely.GeometryType.LINESTRING).all():
            return None
        n_coords = shapely.get_num_coordinates(g)
        if int(n_coords.min()) < 2 or int(n_coords.max()) > cls.MAX_VERTICES:
            return None
        verts = line_vertices(g)
        mid, ext = midpoints_and_extent(verts)
        if float(ext.max()) > cls.MAX_EXTENT_M:
            return None
        step = np.hypot(*np.diff(verts, axis=1).transpose(2, 0, 1))
        return cls(verts, np.cumsum(step, axis=1), mid, ext)

    def __len__(self) -> int:
        return len(self.verts)

    def take(self, order: npt.ArrayLike) -> SegmentArrays:
        """The arrays of the segments at positions ``order`` (e.g. after sorting by rank)."""
        o = np.asarray(order, dtype=np.intp)
        return SegmentArrays(self.verts[o], self.cum[o], self.mid[o], self.ext[o])

    def points_at(self, fractions: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Points at the given fractions (0..1) of each line's length.

        Returns x, y of shape ``(n * len(fractions),)``, line-major (as
        ``shapely.line_interpolate_point(..., normalized=True)`` on every line).
        """
        f = np.asarray(fractions, dtype="float64")
        n, k = len(self.verts), len(f)
        cum = self.cum
        n_sub = cum.shape[1]
        target = (cum[:, -1:] * f[None, :]).ravel()  # (n * k,), line-major
        line = np.repeat(np.arange(n), k)
        # sub-segment holding each target: the first whose end is >= the target (a loop over
        # the few vertex positions, not over lines)
        s = np.zeros(n * k, dtype=np.intp)
        for j in range(n_sub - 1):
            s += cum[line, j] < target
        flat = line * n_sub + s
        cum_flat = cum.ravel()
        end = cum_flat[flat]
        start = np.where(s > 0, cum_flat[flat - 1], 0.0)
        length = end - start
        t = np.divide(target - start, length, out=np.zeros(n * k), where=length > 0)
        np.clip(t, 0.0, 1.0, out=t)
        v = line * (n_sub + 1) + s
        vx = self.verts[:, :, 0].ravel()
        vy = self.verts[:, :, 1].ravel()
        ax, ay = vx[v], vy[v]
        return ax + (vx[v + 1] - ax) * t, ay + (vy[v + 1] - ay) * t


# ---------------------------------------------------------------------------------------------
# Search kernels
# ---------------------------------------------------------------------------------------------

def _knn(tree: cKDTree, q: FloatArray, k: int, bound: float,
         ) -> tuple[FloatArray, IntArray]:
    d, j = tree.query(q, k=k, distance_upper_bound=bound, workers=1)
    return d.reshape(len(q), k), j.reshape(len(q), k)


def pairs_within(tree: cKDTree, q: FloatArray, radius_m: float,
                 ) -> tuple[IntArray, IntArray, FloatArray]:
    """All (query row, tree point, distance) pairs with distance ≤ ``radius_m``, by row.

    One dual-tree traversal (``cKDTree.sparse_distance_matrix`` of a tree on ``q`` against
    ``tree``); exhaustive by construction. Sorted by row for memory locality downstream.
    """
    if len(q) == 0 or tree.n == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0)
    r = cKDTree(q).sparse_distance_matrix(tree, radius_m, output_type="ndarray")
    order = np.argsort(r["i"], kind="stable")
    r = r[order]
    return r["i"].astype(np.intp), r["j"].astype(np.intp), r["v"]


def pairs_within_knn(tree: cKDTree, q: FloatArray, radius_m: float, k0: int = 16,
                     ) -> tuple[IntArray, IntArray, FloatArray]:
    """As :func:`pairs_within`, by k-NN queries bounded at the radius (sorted by row).

    ``k`` grows ×4 for the rows whose k-th neighbour is still inside the radius, so nothing
    is missed. Slower than the dual-tree traversal; kept as an independent cross-check.
    """
    n_pts = tree.n
    rows_out: list[IntArray] = []
    cols_out: list[IntArray] = []
    dist_out: list[FloatArray] = []
    todo = np.arange(len(q))
    k = min(k0, n_pts)
    while len(todo) and n_pts:
        d, j = _knn(tree, q[todo], k, radius_m)
        full = np.isfinite(d[:, -1]) & (k < n_pts)
        keep = ~full
        dd, jj = d[keep], j[keep]
        ok = np.isfinite(dd) & (dd <= radius_m)
        rows_out.append(np.repeat(todo[keep], ok.sum(axis=1)))
        cols_out.append(jj[ok])
        dist_out.append(dd[ok])
        todo = todo[full]
        k = min(k * 4, n_pts)
    if not rows_out:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0)
    rows = np.concatenate(rows_out)
    order = np.argsort(rows, kind="stable")
    return rows[order], np.concatenate(cols_out)[order], np.concatenate(dist_out)[order]


def nearest_point_to_lines(verts: FloatArray, mid: FloatArray, ext: FloatArray,
                           tree: cKDTree, pts: FloatArray, cap_m: float,
                           rows: IntArray | None = None, k0: int = 2) -> FloatArray:
    """Exact distance (m) from each line to the nearest point of ``tree``; NaN beyond ``cap_m``.

    ``rows`` restricts the search to some lines (others get NaN). See the module docstring
    for the stopping rule.
    """
    n = len(verts)
    out = np.full(n, np.nan)
    todo = np.arange(n) if rows is None else np.asarray(rows, dtype=np.intp)
    if tree.n == 0 or len(todo) == 0:
        return out
    bound = cap_m + (float(ext[todo].max()) if len(todo) else 0.0)
    k = min(k0, tree.n)
    while len(todo):
        d, j = _knn(tree, mid[todo], k, bound)
        ok = np.isfinite(d)
        jj = np.where(ok, j, 0)
        dist = point_line_distance(verts, np.broadcast_to(todo[:, None], d.shape),
                                   pts[jj, 0], pts[jj, 1])
        best = np.where(ok, dist, np.inf).min(axis=1)
        dk = d[:, -1]
        done = ~np.isfinite(dk) | (dk - ext[todo] >= np.minimum(best, cap_m)) | (k >= tree.n)
        res = todo[done]
        out[res] = np.where(best[done] <= cap_m, best[done], np.nan)
        todo = todo[~done]
        k = min(k * 4, tree.n)
    return out


@dataclass(frozen=True)
class Polygons:
    """Polygons prepared for :func:`nearest_polygon_to_lines`: geometries, centre tree, radii."""

    geoms: npt.NDArray[np.object_]
    tree: cKDTree
    radius: FloatArray

    @classmethod
    def of(cls, geoms: npt.ArrayLike) -> Polygons:
        """Bounding-box centres and the largest vertex distance ``r_p`` from them."""
        g = np.asarray(geoms, dtype=object)
        b = shapely.bounds(g).reshape(-1, 4)
        centre = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
        coords, which = shapely.get_coordinates(g, return_index=True)
        r = np.zeros(len(g))
        if len(coords):
            np.maximum.at(r, which, np.hypot(*(coords - centre[which]).T))
        return cls(g, cKDTree(centre if len(g) else np.empty((0, 2))), r)


def nearest_polygon_to_lines(lines: npt.NDArray[np.object_], mid: FloatArray, ext: FloatArray,
                             polys: Polygons, cap_m: float, k0: int = 2) -> FloatArray:
    """Exact distance (m) from each line to the nearest polygon (0 when touching or inside);
    NaN beyond ``cap_m``. Exact distances by GEOS on candidate pairs only."""
    n = len(lines)
    out = np.full(n, np.nan)
    n_poly = polys.tree.n
    if n_poly == 0 or n == 0:
        return out
    r_max = float(polys.radius.max())
    bound = cap_m + float(ext.max()) + r_max
    todo = np.arange(n)
    k = min(k0, n_poly)
    while len(todo):
        d, j = _knn(polys.tree, mid[todo], k, bound)
        ok = np.isfinite(d)
        r_j = polys.radius[np.where(ok, j, 0)]
        # cheap upper bound of the answer: |c_p - m| + r_p >= dist(m, P) >= dist(line, P);
        # candidates whose lower bound exceeds it (or the cap) cannot be the nearest
        ub = np.where(ok, d + r_j, np.inf).min(axis=1)
        ok &= d - ext[todo][:, None] - r_j <= np.minimum(ub, cap_m)[:, None]
        r_idx = np.repeat(np.arange(len(todo)), ok.sum(axis=1))
        dist = shapely.distance(lines[todo[r_idx]], polys.geoms[j[ok]])
        best = np.full(len(todo), np.inf)
        np.minimum.at(best, r_idx, dist)
        dk = d[:, -1]
        done = (~np.isfinite(dk) | (dk - ext[todo] - r_max >= np.minimum(best, cap_m))
                | (k >= n_poly))
        res = todo[done]
        out[res] = np.where(best[done] <= cap_m, best[done], np.nan)
        todo = todo[~done]
        k = min(k * 4, n_poly)
    return out


def centres_and_radii(geoms: npt.NDArray[np.object_]) -> tuple[FloatArray, FloatArray]:
    """Bounding-box centre ``c`` of each geometry and the largest distance ``r`` of one of
    its vertices from ``c`` (metres): the geometry lies within the disc ``(c, r)``."""
    b = shapely.bounds(geoms).reshape(-1, 4)
    centre = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    r = np.zeros(len(geoms))
    if len(coords):
        np.maximum.at(r, which, np.hypot(*(coords - centre[which]).T))
    return centre, r


def nearest_geometries(geoms: npt.ArrayLike, others: npt.ArrayLike,
                       max_distance_m: float | None = None, k0: int = 2,
                       discs: tuple[FloatArray, FloatArray] | None = None,
                       ) -> tuple[IntArray, FloatArray]:
    """Position in ``others`` of the nearest geometry of each of ``geoms``, and its distance.

    Any geometry types. Exact: GEOS distances on candidate pairs from a k-NN search over the
    centres (see :func:`centres_and_radii`) with the bounds
    ``|c_i − c_j| − r_i − r_j ≤ dist ≤ |c_i − c_j| + r_i + r_j``; ``k`` grows ×4 until no
    unseen geometry can be as near. Ties go to the lowest position in ``others`` (as
    ``STRtree.query_nearest`` + lowest index). Missing/empty geometries never match.
    ``discs`` = (centres, radii) of ``geoms``, if known (any disc that contains each
    geometry, e.g. :attr:`SegmentArrays.mid` and :attr:`SegmentArrays.ext`); they only
    prune candidates, so the result is the same.

    Returns
    -------
    (ndarray of intp, ndarray of float)
        Position (-1 when nothing within ``max_distance_m`` or no usable geometry) and
        distance in the CRS units (NaN then).
    """
    g = np.asarray(geoms, dtype=object)
    o = np.asarray(others, dtype=object)
    pos = np.full(len(g), -1, dtype=np.intp)
    dist = np.full(len(g), np.nan)
    gi = np.flatnonzero(~(shapely.is_missing(g) | shapely.is_empty(g))) if len(g) else pos[:0]
    oj = np.flatnonzero(~(shapely.is_missing(o) | shapely.is_empty(o))) if len(o) else pos[:0]
    if len(gi) == 0 or len(oj) == 0:
        return pos, dist
    if discs is None:
        cg, rg = centres_and_radii(g[gi])
    else:
        cg, rg = np.asarray(discs[0])[gi], np.asarray(discs[1])[gi]
    co, ro = centres_and_radii(o[oj])
    tree = cKDTree(co)
    cap = math.inf if max_distance_m is None else float(max_distance_m)
    r_max = float(ro.max())
    bound = cap + float(rg.max()) + r_max
    todo = np.arange(len(gi))
    k = min(k0, len(oj))
    while len(todo):
        d, j = _knn(tree, cg[todo], k, bound)
        ok = np.isfinite(d)
        jj = np.where(ok, j, 0)
        rq = rg[todo][:, None]
        ub = np.where(ok, d + rq + ro[jj], np.inf).min(axis=1)
        cand = ok & (d - rq - ro[jj] <= np.minimum(ub, cap)[:, None])
        r_idx, c_idx = np.nonzero(cand)
        all_d = np.full(d.shape, np.inf)
        all_d[r_idx, c_idx] = shapely.distance(g[gi[todo[r_idx]]], o[oj[jj[r_idx, c_idx]]])
        best = all_d.min(axis=1)
        tie_pos = np.where(all_d == best[:, None], oj[jj], np.iinfo(np.intp).max).min(axis=1)
        unseen = d[:, -1] - rg[todo] - r_max  # lower bound for every unseen geometry
        done = (~np.isfinite(d[:, -1]) | (unseen > best) | ((best > cap) & (unseen > cap))
                | (k >= len(oj)))
        hit = done & (best <= cap)
        rows = gi[todo[hit]]
        pos[rows] = tie_pos[hit]
        dist[rows] = best[hit]
        todo = todo[~done]
        k = min(k * 4, len(oj))
    return pos, dist


# ---------------------------------------------------------------------------------------------
# The query
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """Prepared search structures over luminaires, crossings and schools (build once)."""

    lum_xy: FloatArray
    lum_tree: cKDTree
    cross_xy: FloatArray
    cross_tree: cKDTree
    schools: Polygons

    @classmethod
    def build(cls, lum_xy: npt.ArrayLike, cross_xy: npt.ArrayLike,
              school_geoms: npt.ArrayLike) -> Context:
        """KD-trees on the points and on the polygons' centres (metres)."""
        lum = np.asarray(lum_xy, dtype="float64").reshape(-1, 2)
        cro = np.asarray(cross_xy, dtype="float64").reshape(-1, 2)
        return cls(lum, cKDTree(lum), cro, cKDTree(cro), Polygons.of(school_geoms))


def query_chunk(lines: npt.ArrayLike, ctx: Context,
                params: ReferenceParams = ReferenceParams()) -> dict[str, np.ndarray]:
    """Reference query (a)–(e) for a chunk of LineStrings (metres, projected CRS).

    Pure: depends only on ``lines`` and the context (which may be the chunk's halo).

    Returns
    -------
    dict of ndarray
        One array per :data:`COLUMNS` entry, aligned to ``lines``: counts (int64),
        distances in metres (NaN beyond their caps), lux (float, 0.0 without light).
    """
    geoms = np.asarray(lines, dtype=object)
    verts = line_vertices(geoms)
    n = len(verts)
    mid, ext = midpoints_and_extent(verts)
    p = params
    count = np.zeros(n, dtype=np.int64)
    lux = np.zeros(n)
    nearest_lum = np.full(n, np.nan)
    if n and ctx.lum_tree.n:
        radius = max(p.lux_radius_m, p.count_radius_m + float(ext.max()))
        si, lj, dmid = pairs_within(ctx.lum_tree, mid, radius)
        h = p.height_m
        lit = dmid <= p.lux_radius_m
        r2 = h * h + dmid[lit] ** 2
        lux = np.bincount(si[lit], weights=p.intensity_cd * h / (r2 * np.sqrt(r2)),
                          minlength=n).astype(np.float64)
        # by (*), only pairs with |p - m| <= count_radius + e can be within count_radius
        near = dmid <= p.count_radius_m + ext[si]
        si, lj = si[near], lj[near]
        dline = point_line_distance(verts, si, ctx.lum_xy[lj, 0], ctx.lum_xy[lj, 1])
        count = np.bincount(si, weights=dline <= p.count_radius_m, minlength=n).astype(np.int64)
        best = np.full(n, np.inf)
        if len(si):  # si is sorted: minimum per row with reduceat
            starts = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])
            best[si[starts]] = np.minimum.reduceat(dline, starts)
        # unseen luminaires are > count_radius + e from m, hence > count_radius from the line
        sure = best <= min(p.count_radius_m, p.luminaire_cap_m)
        nearest_lum[sure] = best[sure]
        rest = np.flatnonzero(~sure)
        if len(rest):
            nearest_lum[rest] = nearest_point_to_lines(
                verts, mid, ext, ctx.lum_tree, ctx.lum_xy, p.luminaire_cap_m, rows=rest)[rest]
    cross = nearest_point_to_lines(verts, mid, ext, ctx.cross_tree, ctx.cross_xy,
                                   p.crossing_cap_m)
    school = nearest_polygon_to_lines(geoms, mid, ext, ctx.schools, p.school_cap_m)
    return {"n_luminaires_30m": count, "nearest_luminaire_m": nearest_lum,
            "midpoint_lux": lux, "school_distance_m": school, "crossing_distance_m": cross}


def reference_score(n_luminaires_30m: npt.ArrayLike, nearest_luminaire_m: npt.ArrayLike,
                    midpoint_lux: npt.ArrayLike, school_distance_m: npt.ArrayLike,
                    crossing_distance_m: npt.ArrayLike,
                    params: ReferenceParams = ReferenceParams()) -> FloatArray:
    """(f) The weighted score, 0..1, rounded to 1e-9 (so engines agree on ties).

    ``score = w_dark·max(0, 1 − E/lux_ref) + w_sparse/(1 + n30) + w_gap·min(d_lum, cap)/cap
    + w_school·max(0, 1 − d_school/cap) + w_crossing·max(0, 1 − d_cross/cap)``; a NaN
    (beyond the cap) distance counts as the cap. Distances in metres, lux in lx.
    """
    p = params
    n30 = np.asarray(n_luminaires_30m, dtype="float64")
    e = np.asarray(midpoint_lux, dtype="float64")

    def capped(d: npt.ArrayLike, cap: float) -> FloatArray:
        a = np.asarray(d, dtype="float64")
        return np.minimum(np.where(np.isnan(a), cap, a), cap) / cap

    score = (p.w_dark * np.maximum(0.0, 1.0 - e / p.lux_ref_lx)
             + p.w_sparse / (1.0 + n30)
             + p.w_gap * capped(nearest_luminaire_m, p.luminaire_cap_m)
             + p.w_school * (1.0 - capped(school_distance_m, p.school_cap_m))
             + p.w_crossing * (1.0 - capped(crossing_distance_m, p.crossing_cap_m)))
    return np.round(score, 9)


def rank_scores(score: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Rank 1 = highest score; ties go to the earlier position (deterministic)."""
    s = np.asarray(score, dtype="float64")
    order = np.lexsort((np.arange(len(s)), -s))
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(1, len(s) + 1)
    return rank


def spatial_order(geoms: npt.NDArray[np.object_]) -> IntArray:
    """A Z-order (Morton) permutation of geometries by their bounding-box centres.

    Chunks of consecutive geometries are then spatially compact (small halos) and the tree
    queries and gathers touch memory in order. Any permutation gives the same results.
    """
    if len(geoms) == 0:
        return np.empty(0, dtype=np.intp)
    b = shapely.bounds(geoms)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    span = max(float(np.ptp(cx)), float(np.ptp(cy)), 1.0)
    qx = ((cx - cx.min()) / span * 65535).astype(np.uint64)
    qy = ((cy - cy.min()) / span * 65535).astype(np.uint64)
    code = np.zeros(len(geoms), dtype=np.uint64)
    for bit in range(16):
        one = np.uint64(1)
        code |= ((qx >> np.uint64(bit)) & one) << np.uint64(2 * bit)
        code |= ((qy >> np.uint64(bit)) & one) << np.uint64(2 * bit + 1)
    return np.argsort(code, kind="stable")


def reference_query_arrays(lines: npt.ArrayLike, ctx: Context,
                           params: ReferenceParams = ReferenceParams(),
                           chunk_size: int = 50_000, workers: int | None = None,
                           ) -> dict[str, np.ndarray]:
    """:func:`query_chunk` over chunks on a thread pool, then score and rank (globally)."""
    geoms_in = np.asarray(lines, dtype=object)
    n = len(geoms_in)
    order = spatial_order(geoms_in)
    geoms = geoms_in[order]
    workers = workers or os.cpu_count() or 1
    bounds = [(i, min(n, i + chunk_size)) for i in range(0, n, chunk_size)] or [(0, 0)]
    if workers > 1 and len(bounds) > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda b: query_chunk(geoms[b[0]:b[1]], ctx, params),
                                  bounds))
    else:
        parts = [query_chunk(geoms[a:b], ctx, params) for a, b in bounds]
    out: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        col = np.concatenate([pt[c] for pt in parts])
        out[c] = np.empty_like(col)
        out[c][order] = col
    out["score"] = reference_score(out["n_luminaires_30m"], out["nearest_luminaire_m"],
                                   out["midpoint_lux"], out["school_distance_m"],
                                   out["crossing_distance_m"], params=params)
    out["rank"] = rank_scores(out["score"])
    return out


def reference_query(segments: gpd.GeoDataFrame | gpd.GeoSeries,
                    luminaires: gpd.GeoDataFrame | gpd.GeoSeries,
                    schools: gpd.GeoDataFrame | gpd.GeoSeries,
                    crossings: gpd.GeoDataFrame | gpd.GeoSeries,
                    params: ReferenceParams = ReferenceParams(), chunk_size: int = 50_000,
                    workers: int | None = None) -> pd.DataFrame:
    """The reference query of ``BENCH.md`` on our engine.

    Parameters
    ----------
    segments : GeoDataFrame or GeoSeries
        LineString segments, in a projected CRS (metres).
    luminaires, crossings : GeoDataFrame or GeoSeries
        Points, same CRS.
    schools : GeoDataFrame or GeoSeries
        School polygons, same CRS.
    params : ReferenceParams
        Radii, caps, intensity, height and weights.
    chunk_size, workers : int
        Segments per chunk and threads (default: all cores).

    Returns
    -------
    DataFrame
        Aligned to ``segments.index``: :data:`COLUMNS`, ``score`` and ``rank``.

    Raises
    ------
    gis._crs.CRSError
        When an input is in degrees, has no CRS, or the CRSs differ.
    """
    require_projected(("segments", segments), ("luminaires", luminaires),
                      ("schools", schools), ("crossings", crossings))
    for name, frame in (("luminaires", luminaires), ("crossings", crossings)):
        g = np.asarray(frame.geometry.values)
        if len(g) and not (shapely.get_type_id(g) == shapely.GeometryType.POINT).all():
            raise ValueError(f"{name} must be Point geometries")
    ctx = Context.build(shapely.get_coordinates(np.asarray(luminaires.geometry.values)),
                        shapely.get_coordinates(np.asarray(crossings.geometry.values)),
                        np.asarray(schools.geometry.values))
    out = reference_query_arrays(np.asarray(segments.geometry.values), ctx, params,
                                 chunk_size, workers)
    return pd.DataFrame(out, index=segments.index)


__all__ = ["COLUMNS", "Context", "Polygons", "ReferenceParams", "SegmentArrays", "line_vertices", "linestrings_sorted",
           "centres_and_radii", "midpoints_and_extent", "nearest_geometries", "nearest_point_to_lines", "nearest_polygon_to_lines",
           "pairs_within", "pairs_within_knn", "point_line_distance", "query_chunk", "rank_scores",
           "reference_query", "reference_query_arrays", "reference_score", "spatial_order"]
