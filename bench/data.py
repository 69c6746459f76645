"""Synthetic data of the reference benchmark (../shared/BENCH.md), seeded, in metres.

Sizes (segments / luminaires / school polygons / crossings / square side):
S 10 000 / 4 000 / 10 / 300 / 8 km; M 100 000 / 40 000 / 100 / 3 000 / 25.3 km;
L 1 000 000 / 400 000 / 1 000 / 30 000 / 80 km.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

SIZES = {
    "S": (10_000, 4_000, 10, 300, 8_000.0),
    "M": (100_000, 40_000, 100, 3_000, 25_300.0),
    "L": (1_000_000, 400_000, 1_000, 30_000, 80_000.0),
}
CRS = "EPSG:3007"


@dataclass
class BenchData:
    """The four inputs of the reference query, in EPSG:3007 (metres)."""

    segments: gpd.GeoDataFrame
    luminaires: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame


def make(size: str, seed: int = 42) -> BenchData:
    """Generate the benchmark data of one size (S, M or L), deterministically.

    Segments are 20–30 m, 3-vertex LineStrings laid out as branching correlated random
    walks; luminaires 90 % along random walks spaced 25–35 m with a 1–3 m lateral offset,
    10 % uniform; schools rotated rectangles 60–150 × 40–120 m; crossings 80 % near path
    vertices, 20 % uniform.
    """
    n_seg, n_lum, n_sch, n_cr, side = SIZES[size]
    rng = np.random.default_rng(seed)
    x0, y0 = 100_000.0, 6_500_000.0
    # Branching correlated random walks: walks of 50 steps, each starting at a random
    # vertex of an earlier walk (or anywhere, for the first few).
    steps = 50
    n_walks = int(np.ceil(n_seg / steps))
    starts = np.empty((n_walks, 2))
    heads = rng.uniform(0, 2 * np.pi, n_walks)
    lengths = rng.uniform(20, 30, (n_walks, steps))
    turns = rng.normal(0, 0.25, (n_walks, steps))
    seeds = max(1, n_walks // 50)
    starts[:seeds] = rng.uniform([x0, y0], [x0 + side, y0 + side], (seeds, 2))
    coords = np.empty((n_walks, steps + 1, 2))
    for w0 in range(0, n_walks, seeds):  # walks in generations; vectorised within one
        w1 = min(n_walks, w0 + seeds)
        if w0 >= seeds:
            src = rng.integers(0, w0, w1 - w0)
            k = rng.integers(0, steps, w1 - w0)
            starts[w0:w1] = coords[src, k]
        ang = heads[w0:w1, None] + np.cumsum(turns[w0:w1], axis=1)
        d = np.stack([np.cos(ang), np.sin(ang)], axis=-1) * lengths[w0:w1, :, None]
        coords[w0:w1, 0] = starts[w0:w1]
        coords[w0:w1, 1:] = starts[w0:w1, None, :] + np.cumsum(d, axis=1)
    # wrap into the square so density stays constant
    coords[..., 0] = x0 + np.mod(coords[..., 0] - x0, side)
    coords[..., 1] = y0 + np.mod(coords[..., 1] - y0, side)
    a = coords[:, :-1].reshape(-1, 2)[:n_seg]
    b = coords[:, 1:].reshape(-1, 2)[:n_seg]
    wrapped = np.hypot(*(b - a).T) > 40  # a wrap jump: keep the segment short instead
    b[wrapped] = a[wrapped] + np.array([25.0, 0.0])
    mid = (a + b) / 2 + rng.normal(0, 1.0, a.shape)
    seg_coords = np.stack([a, mid, b], axis=1).reshape(-1, 2)
    segs = shapely.linestrings(seg_coords, indices=np.repeat(np.arange(n_seg), 3))
    segments = gpd.GeoDataFrame({"seg_id": np.arange(n_seg)}, geometry=segs, crs=CRS)

    n_along = int(n_lum * 0.9)
    walk = rng.integers(0, n_walks, n_along)
    pos = rng.uniform(0, steps * 25, n_along)  # position along the walk (m), spacing ≈ 30 m
    pos = np.sort(pos)
    step = np.clip((pos / 25).astype(int), 0, steps - 1)
    t = (pos / 25) - step
    p = coords[walk, step] + (coords[walk, step + 1] - coords[walk, step]) * np.clip(t, 0, 1)[:, None]
    off = rng.uniform(1, 3, n_along) * rng.choice([-1, 1], n_along)
    ang = rng.uniform(0, 2 * np.pi, n_along)
    p += np.stack([np.cos(ang), np.sin(ang)], axis=1) * off[:, None]
    uni = rng.uniform([x0, y0], [x0 + side, y0 + side], (n_lum - n_along, 2))
    lum_xy = np.vstack([p, uni])
    luminaires = gpd.GeoDataFrame({"lum_id": np.arange(n_lum)},
                                  geometry=shapely.points(lum_xy), crs=CRS)

    c = rng.uniform([x0, y0], [x0 + side, y0 + side], (n_sch, 2))
    w = rng.uniform(60, 150, n_sch) / 2
    h = rng.uniform(40, 120, n_sch) / 2
    th = rng.uniform(0, np.pi, n_sch)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    local = corners[None] * np.stack([w, h], axis=1)[:, None, :]
    rot = np.stack([np.stack([np.cos(th), -np.sin(th)], 1), np.stack([np.sin(th), np.cos(th)], 1)], 1)
    ring = np.einsum("nij,nkj->nki", rot, local) + c[:, None, :]
    polys = shapely.polygons(ring)
    schools = gpd.GeoDataFrame({"school_id": np.arange(n_sch)}, geometry=polys, crs=CRS)

    n_near = int(n_cr * 0.8)
    verts = seg_coords[rng.integers(0, len(seg_coords), n_near)] + rng.normal(0, 2, (n_near, 2))
    uni = rng.uniform([x0, y0], [x0 + side, y0 + side], (n_cr - n_near, 2))
    crossings = gpd.GeoDataFrame({"crossing_id": np.arange(n_cr)},
                                 geometry=shapely.points(np.vstack([verts, uni])), crs=CRS)
    return BenchData(segments, luminaires, schools, crossings)
