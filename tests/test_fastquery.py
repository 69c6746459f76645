"""Correctness of gis.fastquery against brute force (shapely/numpy); no timing, no PostGIS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from gis._crs import CRSError
from gis.fastquery import (
    ReferenceParams,
    SegmentArrays,
    line_vertices,
    midpoints_and_extent,
    nearest_geometries,
    pairs_within,
    pairs_within_knn,
    rank_scores,
    reference_query,
    reference_score,
)

CRS = "EPSG:3007"
X0, Y0 = 100_000.0, 6_500_000.0


def tiny_data(seed: int, n_seg: int = 300, n_lum: int = 150, n_sch: int = 4, n_cr: int = 25,
              side: float = 1500.0):
    """Random polylines of 2–5 vertices (5–40 m), points and rotated-rectangle schools."""
    rng = np.random.default_rng(seed)
    nv = rng.integers(2, 6, n_seg)
    start = rng.uniform([X0, Y0], [X0 + side, Y0 + side], (n_seg, 2))
    lines = []
    for s, k in zip(start, nv, strict=True):  # test-data generation only
        steps = rng.normal(0, 1, (k - 1, 2))
        steps *= (rng.uniform(5, 40) / (k - 1)) / np.hypot(*steps.T)[:, None]
        lines.append(shapely.LineString(np.vstack([s, s + np.cumsum(steps, axis=0)])))
    segs = gpd.GeoDataFrame({"seg": np.arange(n_seg)}, geometry=lines, crs=CRS,
                            index=pd.Index([f"s{i}" for i in range(n_seg)], name="segment_id"))
    # luminaires: half near segment vertices (so counts are non-trivial), half uniform
    verts = shapely.get_coordinates(np.asarray(segs.geometry.values))
    near = verts[rng.integers(0, len(verts), n_lum // 2)] + rng.normal(0, 15, (n_lum // 2, 2))
    uni = rng.uniform([X0, Y0], [X0 + side, Y0 + side], (n_lum - n_lum // 2, 2))
    lum = gpd.GeoDataFrame(geometry=shapely.points(np.vstack([near, uni])), crs=CRS)
    cr = gpd.GeoDataFrame(geometry=shapely.points(
        rng.uniform([X0, Y0], [X0 + side, Y0 + side], (n_cr, 2))), crs=CRS)
    c = rng.uniform([X0, Y0], [X0 + side, Y0 + side], (n_sch, 2))
    polys = [shapely.affinity.rotate(shapely.box(x - w, y - h, x + w, y + h), a)
             for (x, y), w, h, a in zip(c, rng.uniform(30, 75, n_sch), rng.uniform(20, 60, n_sch),
                                        rng.uniform(0, 180, n_sch), strict=True)]
    sch = gpd.GeoDataFrame(geometry=polys, crs=CRS)
    return segs, lum, sch, cr


def brute_force(segs, lum, sch, cr, p: ReferenceParams) -> pd.DataFrame:
    lines = np.asarray(segs.geometry.values)
    lum_g = np.asarray(lum.geometry.values)

    def nearest(others, cap):
        if len(others) == 0:
            return np.full(len(lines), np.nan)
        d = shapely.distance(lines[:, None], np.asarray(others.geometry.values)[None, :]).min(1)
        return np.where(d <= cap, d, np.nan)

    if len(lum_g):
        d_line = shapely.distance(lines[:, None], lum_g[None, :])
        count = (d_line <= p.count_radius_m).sum(axis=1)
        mid = shapely.line_interpolate_point(lines, 0.5, normalized=True)
        d_mid = shapely.distance(mid[:, None], lum_g[None, :])
        h = p.height_m
        e = np.where(d_mid <= p.lux_radius_m,
                     p.intensity_cd * h / (h * h + d_mid**2) ** 1.5, 0.0).sum(axis=1)
    else:
        count, e = np.zeros(len(lines), int), np.zeros(len(lines))
    return pd.DataFrame({
        "n_luminaires_30m": count, "nearest_luminaire_m": nearest(lum, p.luminaire_cap_m),
        "midpoint_lux": e, "school_distance_m": nearest(sch, p.school_cap_m),
        "crossing_distance_m": nearest(cr, p.crossing_cap_m)}, index=segs.index)


def assert_agrees(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got.index.equals(want.index)
    np.testing.assert_array_equal(got["n_luminaires_30m"].to_numpy(),
                                  want["n_luminaires_30m"].to_numpy())
    for c in ("nearest_luminaire_m", "school_distance_m", "crossing_distance_m"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=0, atol=1e-6,
                                   equal_nan=True, err_msg=c)
    np.testing.assert_allclose(got["midpoint_lux"].to_numpy(), want["midpoint_lux"].to_numpy(),
                               rtol=1e-6, atol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("chunk_size", [64, 50_000])
def test_agrees_with_brute_force(seed: int, chunk_size: int) -> None:
    segs, lum, sch, cr = tiny_data(seed)
    # small caps so that some segments are beyond them (NaN) and the cap logic is exercised
    p = ReferenceParams(luminaire_cap_m=60.0, school_cap_m=400.0, crossing_cap_m=150.0)
    got = reference_query(segs, lum, sch, cr, p, chunk_size=chunk_size)
    want = brute_force(segs, lum, sch, cr, p)
    assert_agrees(got, want)
    assert got["nearest_luminaire_m"].isna().any() and got["nearest_luminaire_m"].notna().any()
    assert got["school_distance_m"].isna().any()
    assert (got["n_luminaires_30m"] > 0).any()
    expected_score = reference_score(*(want[c] for c in want.columns), params=p)
    np.testing.assert_allclose(got["score"].to_numpy(), expected_score, atol=1e-9)


def test_default_params_agree() -> None:
    segs, lum, sch, cr = tiny_data(7, side=4000.0)
    p = ReferenceParams()
    assert_agrees(reference_query(segs, lum, sch, cr, p), brute_force(segs, lum, sch, cr, p))


def test_nothing_in_range_gives_nan_and_zero() -> None:
    segs = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 25, Y0)])], crs=CRS)
    far = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 50_000, Y0)], crs=CRS)
    school = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 50_000, Y0, X0 + 50_100, Y0 + 80)],
                              crs=CRS)
    r = reference_query(segs, far, school, far).iloc[0]
    assert r["n_luminaires_30m"] == 0
    assert r["midpoint_lux"] == 0.0
    assert np.isnan(r["nearest_luminaire_m"])
    assert np.isnan(r["school_distance_m"])
    assert np.isnan(r["crossing_distance_m"])


def test_empty_layers() -> None:
    segs = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 25, Y0)])], crs=CRS)
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    r = reference_query(segs, empty, empty, empty).iloc[0]
    assert r["n_luminaires_30m"] == 0 and r["midpoint_lux"] == 0.0
    assert np.isnan(r[["nearest_luminaire_m", "school_distance_m", "crossing_distance_m"]]
                    .astype(float)).all()


def test_hand_computed_values() -> None:
    """One 20 m straight segment, a luminaire 3 m beside its midpoint, a school it enters."""
    segs = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 10, Y0),
                                                          (X0 + 20, Y0)])], crs=CRS)
    lum = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 10, Y0 + 3),
                                     shapely.Point(X0 + 60, Y0)], crs=CRS)
    school = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 15, Y0 - 5, X0 + 40, Y0 + 5)], crs=CRS)
    cross = gpd.GeoDataFrame(geometry=[shapely.Point(X0 - 4, Y0 + 3)], crs=CRS)
    r = reference_query(segs, lum, school, cross).iloc[0]
    assert r["n_luminaires_30m"] == 1  # the second one is 40 m from the line end
    assert r["nearest_luminaire_m"] == pytest.approx(3.0)
    e = 1500 * 6 / (36 + 9) ** 1.5 + 1500 * 6 / (36 + 50**2) ** 1.5
    assert r["midpoint_lux"] == pytest.approx(e, rel=1e-12)
    assert r["school_distance_m"] == 0.0
    assert r["crossing_distance_m"] == pytest.approx(5.0)


def test_refuses_degrees() -> None:
    segs, lum, sch, cr = tiny_data(0, n_seg=5)
    with pytest.raises(CRSError, match="degrees"):
        reference_query(segs.to_crs(4326), lum, sch, cr)
    with pytest.raises(CRSError, match="EPSG:3006"):
        reference_query(segs, lum.to_crs(3006), sch, cr)


def test_rejects_non_point_luminaires() -> None:
    segs, lum, sch, cr = tiny_data(0, n_seg=5)
    with pytest.raises(ValueError, match="Point"):
        reference_query(segs, sch, sch, cr)


def test_pairs_within_both_ways() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 500, (400, 2))
    q = rng.uniform(0, 500, (300, 2))
    tree = cKDTree(pts)
    a = set(zip(*pairs_within(tree, q, 40.0)[:2], strict=True))
    b = set(zip(*pairs_within_knn(tree, q, 40.0, k0=2)[:2], strict=True))
    d = np.hypot(*(q[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    want = set(zip(*np.nonzero(d <= 40.0), strict=True))
    assert a == b == want


def test_line_vertices_pads_and_midpoint() -> None:
    lines = np.array([shapely.LineString([(0, 0), (10, 0)]),
                      shapely.LineString([(0, 0), (0, 4), (3, 4)])], dtype=object)
    v = line_vertices(lines)
    assert v.shape == (2, 3, 2)
    np.testing.assert_array_equal(v[0, 2], [10, 0])  # padded with the last vertex
    mid, ext = midpoints_and_extent(v)
    np.testing.assert_allclose(mid, [[5, 0], [0, 3.5]])
    np.testing.assert_allclose(ext, [5, 3.5])  # (0, 0) is 3.5 m from the midpoint


def test_rank_ties_are_deterministic() -> None:
    rank = rank_scores(np.array([0.5, 0.9, 0.5, 0.1]))
    np.testing.assert_array_equal(rank, [2, 1, 3, 4])


def _strtree_nearest(geoms, others, cap):
    pos = np.full(len(geoms), -1)
    dist = np.full(len(geoms), np.nan)
    (i, j), d = shapely.STRtree(others).query_nearest(geoms, max_distance=cap,
                                                      return_distance=True, all_matches=True)
    order = np.lexsort((j, i))
    i, j, d = i[order], j[order], d[order]
    _, first = np.unique(i, return_index=True)
    pos[i[first]], dist[i[first]] = j[first], d[first]
    return pos, dist


@pytest.mark.parametrize("cap", [None, 80.0])
def test_nearest_geometries_matches_strtree(cap: float | None) -> None:
    segs, lum, sch, cr = tiny_data(5)
    lines = np.asarray(segs.geometry.values)
    # mixed others: polygons, points (with exact duplicates -> ties), lines, an empty, a None
    pts = np.asarray(cr.geometry.values)
    others = np.concatenate([np.asarray(sch.geometry.values), pts, pts[:5], lines[::40],
                             [shapely.Point(), None]])
    queries = np.concatenate([lines, np.asarray(lum.geometry.values)[:50], [None]])
    got_pos, got_d = nearest_geometries(queries, others, cap)
    want_pos, want_d = _strtree_nearest(queries, others, cap)
    np.testing.assert_array_equal(got_pos, want_pos)
    np.testing.assert_allclose(got_d, want_d, atol=1e-9, equal_nan=True)


def test_segment_arrays_points_match_geos() -> None:
    segs, *_ = tiny_data(11)
    lines = np.asarray(segs.geometry.values)
    # a repeated vertex (zero-length sub-segment) must not upset the interpolation
    lines[0] = shapely.LineString([(X0, Y0), (X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 5)])
    arrays = SegmentArrays.of(lines)
    assert arrays is not None and len(arrays) == len(lines)
    fractions = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    x, y = arrays.points_at(fractions)
    want = shapely.get_coordinates(shapely.line_interpolate_point(
        np.repeat(lines, len(fractions)), np.tile(fractions, len(lines)), normalized=True))
    np.testing.assert_allclose(np.column_stack([x, y]), want, rtol=0, atol=1e-8)
    mid, ext = midpoints_and_extent(line_vertices(lines))
    np.testing.assert_array_equal(arrays.mid, mid)
    np.testing.assert_array_equal(arrays.ext, ext)
    # take() keeps rows together
    sub = arrays.take([3, 1])
    np.testing.assert_array_equal(sub.verts, arrays.verts[[3, 1]])
    np.testing.assert_array_equal(sub.points_at([0.5])[0], arrays.points_at([0.5])[0][[3, 1]])


@pytest.mark.parametrize("lines", [
    [shapely.MultiLineString([[(0, 0), (1, 0)], [(2, 0), (3, 0)]])],
    [shapely.LineString([(0, 0), (1, 0)]), shapely.LineString()],
    [shapely.LineString([(i, 0) for i in range(20)])],
    [shapely.LineString([(0, 0), (500, 0)])],
    [],
], ids=["multi", "empty", "many-vertices", "long", "none"])
def test_segment_arrays_refuse_what_they_cannot_hold(lines: list) -> None:
    assert SegmentArrays.of(np.array(lines, dtype=object)) is None


def test_point_line_distance_in_chunks_is_the_same_and_exact(monkeypatch):
    """Pairs in chunks (bounded memory) give the very numbers of one pass, and GEOS's."""
    import gis.fastquery as fq

    rng = np.random.default_rng(5)
    lines = [shapely.LineString(rng.uniform(0, 100, (int(k), 2)))
             for k in rng.integers(2, 6, 40)]
    arrays = fq.SegmentArrays.of(np.array(lines, dtype=object))
    assert arrays is not None
    seg = rng.integers(0, 40, 1000)
    px, py = rng.uniform(-20, 120, 1000), rng.uniform(-20, 120, 1000)
    whole = fq.point_line_distance(arrays.verts, seg, px, py)
    monkeypatch.setattr(fq, "DISTANCE_CHUNK", 37)
    chunked = fq.point_line_distance(arrays.verts, seg, px, py)
    np.testing.assert_array_equal(chunked, whole)
    geos = shapely.distance(np.array(lines, dtype=object)[seg], shapely.points(px, py))
    np.testing.assert_allclose(whole, geos, rtol=0, atol=1e-9)
