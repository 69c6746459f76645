"""Synthetic data of the reference benchmark (../shared/BENCH.md), seeded, in metres.

Sizes (segments / luminaires / school polygons / crossings / square side):
S 10 000 / 4 000 / 10 / 300 / 8 km; M 100 000 / 40 000 / 100 / 3 000 / 25.3 km;
L 1 000 000 / 400 000 / 1 000 / 30 000 / 80 km.

Checked against BENCH.md (2026-11) and corrected where the first version deviated:

- luminaires were scattered uniformly at random positions along random walks (median
  nearest-neighbour spacing ≈ 19 m, 10 % closer than 5 m) with an offset in a random
  direction; BENCH.md asks for luminaires *spaced 25–35 m* along randomly chosen walks with a
  1–3 m *lateral* offset. They are now laid out walk by walk at cumulative 25–35 m spacings,
  offset perpendicular to the walk, on the unwrapped walk (then wrapped into the square, so a
  luminaire never lands on the chord of a wrap jump);
- segments could be up to ≈ 30.8 m long (the middle vertex had an isotropic 1 m jitter on top
  of a 20–30 m chord); the polyline length is now 20–30 m: the middle vertex is offset
  perpendicular to the chord (N(0, 1) m, clipped to ±2 m) and the chord shortened to match.

Also: ``make(size)`` accepts a custom ``(segments, luminaires, schools, crossings, side_m)``
tuple for tiny test data.
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
_STEPS = 50  # segments per walk


@dataclass
class BenchData:
    """The four inputs of the reference query, in EPSG:3007 (metres)."""

    segments: gpd.GeoDataFrame
    luminaires: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame


def _wrap(xy: np.ndarray, x0: float, y0: float, side: float) -> np.ndarray:
    out = np.array(xy, dtype=float)
    out[..., 0] = x0 + np.mod(out[..., 0] - x0, side)
    out[..., 1] = y0 + np.mod(out[..., 1] - y0, side)
    return out


def _luminaires_along(rng: np.random.Generator, coords: np.ndarray, n_along: int) -> np.ndarray:
    """``n_along`` points spaced 25–35 m along randomly chosen (unwrapped) walks, offset
    1–3 m perpendicular to the walk on a random side."""
    n_walks, n_vert, _ = coords.shape
    step = np.hypot(*np.diff(coords, axis=1).transpose(2, 0, 1))  # (walks, steps)
    cum = np.concatenate([np.zeros((n_walks, 1)), np.cumsum(step, axis=1)], axis=1)
    total = cum[:, -1]
    k = int(np.ceil(total.max() / 25.0)) + 1
    out: list[np.ndarray] = []
    have = 0
    while have < n_along:  # one pass normally suffices; repeat walks only if it does not
        order = rng.permutation(n_walks)
        pos = np.cumsum(rng.uniform(25, 35, (n_walks, k)), axis=1) - rng.uniform(0, 25, (n_walks, 1))
        pos = np.where(pos < 0, np.nan, pos)
        ok = pos < total[order, None]
        w_idx = np.broadcast_to(order[:, None], pos.shape)[ok]
        p = pos[ok]
        out.append(np.stack([w_idx, p], axis=1))
        have += len(p)
    wp = np.concatenate(out)[:n_along]
    w = wp[:, 0].astype(np.intp)
    p = wp[:, 1]
    # step index j with cum[w, j] <= p < cum[w, j+1], via one searchsorted on a global key
    key = (cum + (np.arange(n_walks) * (total.max() + 1.0))[:, None]).ravel()
    j = np.searchsorted(key, p + w * (total.max() + 1.0), side="right") - 1 - w * n_vert
    j = np.clip(j, 0, n_vert - 2)
    a, b = coords[w, j], coords[w, j + 1]
    t = np.clip((p - cum[w, j]) / step[w, j], 0.0, 1.0)
    base = a + (b - a) * t[:, None]
    direction = (b - a) / step[w, j][:, None]
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1)
    off = rng.uniform(1, 3, n_along) * rng.choice([-1.0, 1.0], n_along)
    return base + normal * off[:, None]


def make(size: str | tuple[int, int, int, int, float], seed: int = 42) -> BenchData:
    """Generate the benchmark data of one size (S, M or L), deterministically.

    Segments are 20–30 m, 3-vertex LineStrings laid out as branching correlated random
    walks; luminaires 90 % along randomly chosen walks spaced 25–35 m with a 1–3 m lateral
    offset, 10 % uniform; schools rotated rectangles 60–150 × 40–120 m; crossings 80 % near
    path vertices, 20 % uniform. ``size`` may also be a custom tuple
    ``(segments, luminaires, schools, crossings, side_m)``.
    """
    n_seg, n_lum, n_sch, n_cr, side = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng(seed)
    x0, y0 = 100_000.0, 6_500_000.0
    # Branching correlated random walks: walks of 50 steps, each starting at a random
    # vertex of an earlier walk (or anywhere, for the first few).
    steps = _STEPS
    n_walks = int(np.ceil(n_seg / steps))
    starts = np.empty((n_walks, 2))
    heads = rng.uniform(0, 2 * np.pi, n_walks)
    lengths = rng.uniform(20, 30, (n_walks, steps))  # polyline length of each segment
    bend = np.clip(rng.normal(0, 1.0, (n_walks, steps)), -2.0, 2.0)  # middle-vertex offset
    chords = np.sqrt(lengths**2 - 4 * bend**2)
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
        d = np.stack([np.cos(ang), np.sin(ang)], axis=-1) * chords[w0:w1, :, None]
        coords[w0:w1, 0] = starts[w0:w1]
        coords[w0:w1, 1:] = starts[w0:w1, None, :] + np.cumsum(d, axis=1)
    # segments: cut from the unwrapped walks, then each segment moved into the square as a
    # whole (by its first vertex), so no segment straddles a wrap jump
    a = coords[:, :-1].reshape(-1, 2)[:n_seg]
    b = coords[:, 1:].reshape(-1, 2)[:n_seg]
    chord = b - a
    normal = np.stack([-chord[:, 1], chord[:, 0]], axis=1) / np.hypot(*chord.T)[:, None]
    mid = (a + b) / 2 + normal * bend.reshape(-1)[:n_seg, None]
    shift = _wrap(a, x0, y0, side) - a
    seg_coords = (np.stack([a, mid, b], axis=1) + shift[:, None, :]).reshape(-1, 2)
    segs = shapely.linestrings(seg_coords, indices=np.repeat(np.arange(n_seg), 3))
    segments = gpd.GeoDataFrame({"seg_id": np.arange(n_seg)}, geometry=segs, crs=CRS)

    n_along = int(n_lum * 0.9)
    p = _wrap(_luminaires_along(rng, coords, n_along), x0, y0, side) if n_along else np.empty((0, 2))
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
