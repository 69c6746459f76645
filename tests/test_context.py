"""Segment context: nearest school and crossing, counts, priority areas, findings."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis._crs import CRSError
from gis.context import nearest, nearest_distance_m, segment_context

CRS = "EPSG:3007"


def _segments(lines, ids=None):
    ids = ids or [f"w1:{i:04d}" for i in range(len(lines))]
    geoms = [shapely.LineString(c) for c in lines]
    lengths = [g.length for g in geoms]
    return gpd.GeoDataFrame({
        "path_id": "w1", "osm_id": 1, "seq": range(len(lines)),
        "start_m": np.cumsum([0, *lengths[:-1]]), "end_m": np.cumsum(lengths),
        "length_m": lengths, "path_type": "footway", "lit": "no",
    }, geometry=geoms, index=pd.Index(ids, name="segment_id"), crs=CRS)


@pytest.fixture
def segments():
    # Three 20 m segments along y = 0, x from 0 to 60, stored in a shuffled order.
    return _segments([[(20, 0), (40, 0)], [(0, 0), (20, 0)], [(40, 0), (60, 0)]],
                     ids=["w1:0001", "w1:0000", "w1:0002"])


@pytest.fixture
def schools():
    return gpd.GeoDataFrame(
        {"name": ["Strömstiernaskolan", "Odelbergsskolan"], "grades": "",
         "geometry_source": "polygon", "designated": True, "osm_id": ""},
        geometry=[shapely.box(0, 10, 20, 30), shapely.box(1000, 0, 1100, 50)],
        index=pd.Index(["s1", "s2"], name="school_id"), crs=CRS)


@pytest.fixture
def crossings():
    return gpd.GeoDataFrame(
        {"crossing": ["zebra", "unmarked", "traffic_signals", "marked"],
         "marked": [True, False, True, True], "source": "node", "osm_id": ""},
        geometry=[shapely.Point(10, 5), shapely.Point(50, 1), shapely.Point(30, 40),
                  shapely.Point(100, 0)],
        index=pd.Index(["c1", "c2", "c3", "c4"], name="crossing_id"), crs=CRS)


@pytest.fixture
def areas():
    return gpd.GeoDataFrame(
        {"name": ["Strömsdalen"]}, geometry=[shapely.box(25, -10, 100, 10)],
        index=pd.Index(["strömsdalen"], name="area_id"), crs=CRS)


@pytest.fixture
def findings():
    return gpd.GeoDataFrame(
        {"severity": [3, 2, 1], "category": ["belysning", "vegetation", "Belysning "]},
        geometry=[shapely.Point(30, 10), shapely.Point(30, -25), shapely.Point(200, 0)],
        crs=CRS)


def test_nearest_distance_and_id(segments, schools):
    got = nearest(segments, schools, max_distance_m=2000)
    assert got.index.equals(segments.index)
    assert list(got.columns) == ["distance_m", "other_id"]
    # w1:0001 (20..40, 0) to the box (0..20, 10..30): corner (20, 10) at 10 m.
    assert got.loc["w1:0001", "distance_m"] == pytest.approx(10.0)
    assert got.loc["w1:0000", "distance_m"] == pytest.approx(10.0)
    # w1:0002 (40..60, 0): to (20, 10) is sqrt(20² + 10²)
    assert got.loc["w1:0002", "distance_m"] == pytest.approx(np.hypot(20, 10))
    assert (got["other_id"] == "s1").all()


def test_nearest_cap_gives_nan(segments, schools):
    got = nearest_distance_m(segments, schools, max_distance_m=15, name="school_distance_m")
    assert got.name == "school_distance_m"
    assert got.index.equals(segments.index)
    assert got.loc["w1:0000"] == pytest.approx(10.0)
    assert np.isnan(got.loc["w1:0002"])
    assert nearest(segments, schools, max_distance_m=15)["other_id"].isna().sum() == 1


def test_nearest_with_empty_others(segments, schools):
    got = nearest_distance_m(segments, schools.iloc[:0])
    assert got.isna().all() and got.index.equals(segments.index)


def test_segment_context(segments, schools, crossings, areas, findings):
    before = segments.copy()
    ctx = segment_context(segments, schools, crossings, areas, findings)
    assert ctx.index.equals(segments.index)
    assert list(ctx.columns) == [
        "school_distance_m", "nearest_school", "crossing_distance_m", "crossings_within_50m",
        "priority_area", "in_priority_area", "findings_count", "findings_severity_sum",
        "lighting_findings"]
    pd.testing.assert_frame_equal(segments, before)  # input untouched

    assert ctx["school_distance_m"].to_list() == pytest.approx([10.0, 10.0, np.hypot(20, 10)])
    assert ctx["nearest_school"].to_list() == ["Strömstiernaskolan"] * 3

    # Marked crossings c1 (10, 5), c3 (30, 40), c4 (100, 0); c2 (50, 1) is unmarked.
    assert ctx.loc["w1:0000", "crossing_distance_m"] == pytest.approx(5.0)
    assert ctx.loc["w1:0001", "crossing_distance_m"] == pytest.approx(np.hypot(10, 5))
    # w1:0002 (40..60, 0): the unmarked c2 lies 1 m away and is ignored; c1 is nearest.
    assert ctx.loc["w1:0002", "crossing_distance_m"] == pytest.approx(np.hypot(30, 5))
    # within 50 m: w1:0000 -> c1, c3 (hypot(10, 40) = 41.2 m); w1:0001 -> c1, c3 (40 m);
    # w1:0002 -> c1 (30.4 m), c3 (41.2 m), c4 (40 m); never c2.
    assert ctx["crossings_within_50m"].to_dict() == {"w1:0001": 2, "w1:0000": 2, "w1:0002": 3}

    # Midpoints (30, 0), (10, 0), (50, 0); the area spans x 25..100.
    assert ctx["priority_area"].to_dict() == {
        "w1:0001": "Strömsdalen", "w1:0000": "", "w1:0002": "Strömsdalen"}
    assert ctx["in_priority_area"].to_list() == [True, False, True]

    # Findings: (30, 10) sev 3 belysning; (30, -25) sev 2; (200, 0) far away.
    # w1:0000 (0..20): 10√2 = 14.1 m and hypot(10, 25) = 26.9 m -> both, within 30 m.
    # w1:0001 (20..40): 10 m and 25 m -> both.  w1:0002 (40..60): 14.1 m and 26.9 m -> both.
    assert ctx["findings_count"].to_list() == [2, 2, 2]
    assert ctx["findings_severity_sum"].to_list() == [5, 5, 5]
    assert ctx["lighting_findings"].to_list() == [True, True, True]

    tight = segment_context(segments, schools, crossings, areas, findings, findings_radius_m=12)
    assert tight["findings_count"].to_dict() == {"w1:0001": 1, "w1:0000": 0, "w1:0002": 0}
    assert tight["findings_severity_sum"].to_dict() == {"w1:0001": 3, "w1:0000": 0,
                                                       "w1:0002": 0}
    assert tight["lighting_findings"].to_list() == [True, False, False]


def test_segment_context_dtypes_and_no_findings(segments, schools, crossings, areas):
    ctx = segment_context(segments, schools, crossings, areas)
    assert (ctx[["findings_count", "findings_severity_sum"]] == 0).all().all()
    assert not ctx["lighting_findings"].any()
    assert ctx["crossings_within_50m"].dtype == np.int64
    assert ctx["findings_count"].dtype == np.int64
    assert ctx["in_priority_area"].dtype == bool
    assert ctx["lighting_findings"].dtype == bool
    assert pd.api.types.is_string_dtype(ctx["nearest_school"])


def test_lighting_category_is_case_and_space_insensitive(segments, schools, crossings, areas):
    f = gpd.GeoDataFrame({"severity": [1], "category": ["Belysning "]},
                         geometry=[shapely.Point(10, 1)], crs=CRS)
    ctx = segment_context(segments, schools, crossings, areas, f)
    assert ctx.loc["w1:0000", "lighting_findings"]
    assert ctx.loc["w1:0000", "findings_severity_sum"] == 1


def test_caps_and_empty_layers(segments, schools, crossings, areas):
    ctx = segment_context(segments, schools, crossings.iloc[:0], areas.iloc[:0],
                          school_cap_m=12)
    assert ctx["school_distance_m"].isna().to_list() == [False, False, True]
    assert ctx["nearest_school"].to_list() == ["Strömstiernaskolan", "Strömstiernaskolan", ""]
    assert ctx["crossing_distance_m"].isna().all()
    assert (ctx["crossings_within_50m"] == 0).all()
    assert not ctx["in_priority_area"].any() and (ctx["priority_area"] == "").all()


def test_empty_segments(segments, schools, crossings, areas, findings):
    ctx = segment_context(segments.iloc[:0], schools, crossings, areas, findings)
    assert len(ctx) == 0 and ctx.index.name == "segment_id"


def test_degrees_refused(segments, schools, crossings, areas):
    with pytest.raises(CRSError, match="in degrees"):
        nearest_distance_m(segments.to_crs(4326), schools.to_crs(4326))
    with pytest.raises(CRSError, match="in degrees"):
        segment_context(segments, schools.to_crs(4326), crossings, areas)
    with pytest.raises(CRSError, match="crossings is in EPSG:3006 but segments is in EPSG:3007"):
        segment_context(segments, schools, crossings.to_crs(3006), areas)


def test_missing_columns_listed_at_once(segments, schools, crossings, areas):
    with pytest.raises(ValueError, match=r"schools lacks column\(s\) 'name'; crossings lacks "
                                         r"column\(s\) 'marked'"):
        segment_context(segments, schools.drop(columns="name"),
                        crossings.drop(columns="marked"), areas)


def test_bad_radius(segments, schools, crossings, areas):
    with pytest.raises(ValueError, match="findings_radius_m must be a positive number"):
        segment_context(segments, schools, crossings, areas, findings_radius_m=0)


def test_midpoints_match_geos_for_segments_and_fall_back_for_other_geometry():
    from gis.context import _midpoints

    rng = np.random.default_rng(3)
    lines = np.array([shapely.LineString(rng.uniform(0, 100, (k, 2))) for k in
                      rng.integers(2, 9, 300)] + [shapely.LineString([(0, 0), (0, 0)])],
                     dtype=object)
    expected = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    got = _midpoints(lines)
    assert shapely.equals_exact(got, expected, tolerance=1e-9).all()
    multi = np.array([shapely.MultiLineString([[(0, 0), (2, 0)], [(5, 0), (7, 0)]])],
                     dtype=object)
    assert _midpoints(multi)[0].equals(shapely.line_interpolate_point(multi[0], 0.5,
                                                                      normalized=True))


def test_priority_area_boundary_counts_and_first_area_wins(segments, schools, crossings):
    # Midpoints at x = 10, 30, 50 on y = 0. "Kant" has its edge exactly at x = 10;
    # "Först" and "Sedan" both cover x = 30 and x = 50: the first in order wins.
    areas = gpd.GeoDataFrame(
        {"name": ["Kant", "Först", "Sedan", "Tom"]},
        geometry=[shapely.box(-5, -5, 10, 5), shapely.box(25, -5, 45, 5),
                  shapely.box(25, -5, 60, 5), shapely.Polygon()],
        index=pd.Index(["a", "b", "c", "d"], name="area_id"), crs=CRS)
    ctx = segment_context(segments, schools, crossings, areas)
    assert ctx["priority_area"].to_dict() == {"w1:0001": "Först", "w1:0000": "Kant",
                                              "w1:0002": "Sedan"}
    assert ctx["in_priority_area"].all()


def _random_layers(seed: int):
    """Random polyline segments and point/polygon layers in a 600 m square."""
    rng = np.random.default_rng(seed)
    lines = []
    for s in rng.uniform(0, 600, (250, 2)):  # test-data generation only
        k = int(rng.integers(2, 6))
        steps = rng.normal(0, 1, (k - 1, 2))
        steps *= (rng.uniform(3, 25) / (k - 1)) / np.hypot(*steps.T)[:, None]
        lines.append(np.vstack([s, s + np.cumsum(steps, axis=0)]))
    segs = _segments(lines)
    cr_xy = rng.uniform(0, 600, (40, 2))
    cr_xy[-5:] = cr_xy[:5]  # exact duplicates: ties
    crossings = gpd.GeoDataFrame(
        {"marked": rng.random(40) < 0.8}, geometry=shapely.points(cr_xy), crs=CRS)
    schools = gpd.GeoDataFrame(
        {"name": [f"S{i}" for i in range(4)]},
        geometry=[shapely.box(x, y, x + 60, y + 40) for x, y in rng.uniform(0, 600, (4, 2))],
        crs=CRS)
    areas = gpd.GeoDataFrame({"name": ["A", "B"]},
                             geometry=[shapely.box(0, 0, 300, 300), shapely.box(200, 200, 600, 600)],
                             crs=CRS)
    fi = gpd.GeoDataFrame(
        {"severity": rng.integers(1, 4, 60),
         "category": rng.choice(["belysning", "vegetation", " Belysning"], 60)},
        geometry=shapely.points(rng.uniform(0, 600, (60, 2))), crs=CRS)
    return segs, schools, crossings, areas, fi


@pytest.mark.parametrize("seed", [1, 2])
def test_segment_context_fast_path_matches_geos(seed, monkeypatch):
    """The KD-tree/numpy path (segment arrays) gives what the GEOS path gives."""
    import gis.context as context_module
    from gis.fastquery import SegmentArrays

    segs, schools, crossings, areas, fi = _random_layers(seed)
    assert SegmentArrays.of(segs.geometry.values) is not None
    fast = segment_context(segs, schools, crossings, areas, fi, crossing_cap_m=150.0)
    monkeypatch.setattr(context_module.SegmentArrays, "of", staticmethod(lambda lines: None))
    geos = segment_context(segs, schools, crossings, areas, fi, crossing_cap_m=150.0)
    assert fast["crossings_within_50m"].sum() > 0 and fast["findings_count"].sum() > 0
    assert fast["crossing_distance_m"].isna().any() and fast["in_priority_area"].any()
    pd.testing.assert_frame_equal(fast, geos, check_exact=False, rtol=0, atol=1e-9)


def test_segment_context_rejects_arrays_of_other_segments(segments, schools, crossings, areas):
    from gis.fastquery import SegmentArrays

    arrays = SegmentArrays.of(segments.geometry.values[:2])
    with pytest.raises(ValueError, match="arrays has 2 segments, segments 3"):
        segment_context(segments, schools, crossings, areas, arrays=arrays)
