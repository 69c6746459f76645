"""Segmentation of paths: equal pieces, stable ids, vertices kept, CRS guard."""

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString

from gis._crs import CRSError
from gis.segments import SEGMENT_COLUMNS, segment_paths
from layers import LayerWarning


def make_paths(geoms, ids=None, crs="EPSG:3007"):
    ids = ids or [f"w{i + 1}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"osm_id": np.arange(1, len(geoms) + 1, dtype="int64"),
         "path_type": ["footway"] * len(geoms), "lit": ["yes"] * len(geoms)},
        geometry=geoms, index=pd.Index(ids, name="path_id"), crs=crs)


def test_100_m_line_gives_four_25_m_segments():
    segs = segment_paths(make_paths([LineString([(0, 0), (100, 0)])]), max_length_m=25.0)
    assert list(segs.index) == ["w1:0000", "w1:0001", "w1:0002", "w1:0003"]
    assert segs.index.name == "segment_id"
    assert list(segs.columns) == [*SEGMENT_COLUMNS, "geometry"]
    assert segs["start_m"].tolist() == pytest.approx([0, 25, 50, 75])
    assert segs["end_m"].tolist() == pytest.approx([25, 50, 75, 100])
    assert segs["length_m"].tolist() == pytest.approx([25] * 4)
    assert segs["seq"].tolist() == [0, 1, 2, 3]
    assert (segs["path_id"] == "w1").all()
    assert segs.crs == "EPSG:3007"
    assert list(segs.geometry.iloc[1].coords) == [(25, 0), (50, 0)]


def test_110_m_line_gives_five_equal_22_m_segments():
    segs = segment_paths(make_paths([LineString([(0, 0), (110, 0)])]), max_length_m=25.0)
    assert len(segs) == 5
    assert segs["length_m"].tolist() == pytest.approx([22.0] * 5)
    assert segs["end_m"].iloc[-1] == pytest.approx(110)


def test_vertices_preserved_and_lengths_add_up():
    line = LineString([(0, 0), (13, 0), (13, 17), (40, 30), (41, 31), (70, 10)])
    segs = segment_paths(make_paths([line]), max_length_m=10.0)
    assert segs["length_m"].sum() == pytest.approx(line.length)
    assert segs["length_m"].tolist() == pytest.approx([line.length / len(segs)] * len(segs))
    # every piece lies on the original line, and pieces meet end to start
    assert shapely.hausdorff_distance(shapely.union_all(segs.geometry.values), line) < 1e-9
    coords = [list(g.coords) for g in segs.geometry]
    for a, b in zip(coords[:-1], coords[1:], strict=True):
        assert a[-1] == b[0]
    every = {c for cs in coords for c in cs}
    assert set(line.coords) <= every
    assert coords[0][0] == (0, 0) and coords[-1][-1] == (70, 10)


def test_ids_stable_across_runs_and_row_order():
    paths = make_paths([LineString([(0, 0), (60, 0)]), LineString([(0, 5), (0, 80), (9, 80)]),
                        LineString([(3, 3), (4, 4)])], ids=["w7", "w12", "w3"])
    a = segment_paths(paths)
    b = segment_paths(paths.iloc[::-1])
    assert sorted(a.index) == sorted(b.index)
    pd.testing.assert_frame_equal(a.sort_index(), b.sort_index())
    assert a.loc["w12:0003", "osm_id"] == 2
    assert a.loc["w3:0000", "seq"] == 0


def test_columns_copied_and_input_not_mutated():
    paths = make_paths([LineString([(0, 0), (30, 0)])])
    paths["lit"] = ["limited"]
    before = paths.copy()
    segs = segment_paths(paths)
    pd.testing.assert_frame_equal(paths, before)
    assert (segs["lit"] == "limited").all()
    assert (segs["path_type"] == "footway").all()
    assert (segs["osm_id"] == 1).all()


def test_multilinestring_is_refused():
    paths = make_paths([MultiLineString([[(0, 0), (1, 0)], [(2, 0), (3, 0)]])])
    with pytest.raises(ValueError, match=r"MultiLineString.*explode"):
        segment_paths(paths)


def test_zero_length_and_empty_paths_dropped_with_warning():
    paths = make_paths([LineString([(0, 0), (0, 0)]), LineString(), LineString([(0, 0), (5, 0)])])
    with pytest.warns(LayerWarning, match=r"dropped 2 .*'w1', 'w2'"):
        segs = segment_paths(paths)
    assert list(segs.index) == ["w3:0000"]


def test_degrees_are_refused():
    paths = make_paths([LineString([(11.1, 58.9), (11.2, 58.9)])], crs="EPSG:4326")
    with pytest.raises(CRSError, match="in degrees"):
        segment_paths(paths)


def test_no_warning_for_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        segs = segment_paths(make_paths([LineString([(0, 0), (24, 0)])]))
    assert list(segs.index) == ["w1:0000"]


def test_paths_are_cut_at_junctions_so_the_network_connects():
    """A footway ending in the middle of another way: both meet at a segment end."""
    import networkx as nx

    from gis.school_routes import build_network

    main = LineString([(0, 0), (30, 0), (60, 0)])     # vertex at x=30 is a junction
    branch = LineString([(30, 0), (30, 40)])
    paths = gpd.GeoDataFrame(
        {"osm_id": [1, 2], "path_type": ["footway", "footway"], "lit": ["yes", "no"]},
        geometry=[main, branch], index=pd.Index(["w1", "w2"], name="path_id"),
        crs="EPSG:3007")
    segs = segment_paths(paths, max_length_m=25.0)
    w1 = segs[segs["path_id"] == "w1"]
    # 60 m as 30 + 30: two parts of 2 pieces each (15 m), seq continuous along the way
    assert w1["seq"].tolist() == [0, 1, 2, 3]
    assert w1["length_m"].tolist() == pytest.approx([15, 15, 15, 15])
    assert w1["start_m"].tolist() == pytest.approx([0, 15, 30, 45])
    assert w1.loc["w1:0001"].geometry.coords[-1] == (30.0, 0.0)
    graph = build_network(segs)
    assert nx.number_connected_components(graph) == 1
