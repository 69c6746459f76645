"""School routes on hand-made lattices: exact counts, network building, cache key."""

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from gis._crs import CRSError
from gis.school_routes import build_network, network_key, school_route_counts

CRS = "EPSG:3007"
STEP = 100.0


def _frame(ids, geoms):
    lengths = [g.length for g in geoms]
    return gpd.GeoDataFrame({
        "path_id": "w1", "osm_id": 1, "seq": range(len(ids)), "start_m": 0.0,
        "end_m": lengths, "length_m": lengths, "path_type": "footway", "lit": "no",
    }, geometry=geoms, index=pd.Index(ids, name="segment_id"), crs=CRS)


def lattice(n=3, extra=()):
    """n×n nodes 100 m apart; 'h{i}{j}' joins (i, j)-(i+1, j), 'v{i}{j}' (i, j)-(i, j+1).

    Segments are listed in reverse so the frame order differs from the node order.
    """
    ids, geoms = [], []
    for i in range(n):
        for j in range(n):
            if i + 1 < n:
                ids.append(f"h{i}{j}")
                geoms.append(shapely.LineString([(i * STEP, j * STEP), ((i + 1) * STEP, j * STEP)]))
            if j + 1 < n:
                ids.append(f"v{i}{j}")
                geoms.append(shapely.LineString([(i * STEP, j * STEP), (i * STEP, (j + 1) * STEP)]))
    for sid, coords in extra:
        ids.append(sid)
        geoms.append(shapely.LineString(coords))
    return _frame(ids[::-1], geoms[::-1])


def school_at(x, y, name="Skolan"):
    """A 15 m square school ground just south-west of (x, y): only that node is within 30 m."""
    return gpd.GeoDataFrame({"name": [name]}, geometry=[shapely.box(x - 20, y - 20, x - 5, y - 5)],
                            index=pd.Index([name.lower()], name="school_id"), crs=CRS)


def node_points(n=3, skip=()):
    pts = [shapely.Point(i * STEP, j * STEP) for i in range(n) for j in range(n)
           if (i, j) not in skip]
    return gpd.GeoSeries(pts, crs=CRS)


# Tie rule: among equally short routes the predecessor with the lowest node id (west, then
# south) wins, so every route runs west along its row, then south along x = 0.
CORNER_COUNTS = {"v00": 6, "v01": 3, "h00": 2, "h10": 1, "h01": 2, "h11": 1, "h02": 2, "h12": 1,
                 "v10": 0, "v11": 0, "v20": 0, "v21": 0}


def test_build_network_lattice():
    seg = lattice()
    graph = build_network(seg)
    assert graph.number_of_nodes() == 9 and graph.number_of_edges() == 12
    assert sorted(d["segment_id"] for _, _, d in graph.edges(data=True)) == sorted(seg.index)
    assert all(d["length_m"] == pytest.approx(STEP) for _, _, d in graph.edges(data=True))
    # nodes are ordered by x, then y
    assert (graph.nodes[0]["x"], graph.nodes[0]["y"]) == (0.0, 0.0)
    assert (graph.nodes[1]["x"], graph.nodes[1]["y"]) == (0.0, 100.0)
    assert graph.graph["node_xy"].shape == (9, 2)
    assert graph.graph["crs"].to_epsg() == 3007


def test_build_network_snaps_and_keeps_shortest_parallel_edge():
    seg = _frame(["a", "b", "b2", "loop"], [
        shapely.LineString([(0, 0), (100, 0)]),
        shapely.LineString([(100.04, 0.03), (200, 0)]),      # 4 cm off: snaps to (100, 0)
        shapely.LineString([(100, 0), (150, 30), (200, 0)]),  # longer parallel route
        shapely.LineString([(0, 0), (0.01, 0.02)]),           # both ends in one 0.1 m cell
    ])
    graph = build_network(seg)
    assert graph.number_of_nodes() == 3 and graph.number_of_edges() == 2
    assert nx.is_connected(graph)
    ids = sorted(d["segment_id"] for _, _, d in graph.edges(data=True))
    assert ids == ["a", "b"]


def test_build_network_rejects_duplicate_ids_and_degrees():
    seg = lattice()
    with pytest.raises(ValueError, match="segments index is not unique"):
        build_network(pd.concat([seg, seg.iloc[:1]]))
    with pytest.raises(CRSError, match="in degrees"):
        build_network(seg.to_crs(4326))


def test_corner_school_exact_counts():
    seg = lattice()
    before = seg.copy()
    counts = school_route_counts(seg, school_at(0, 0), origins=node_points(skip={(0, 0)}))
    assert counts.name == "school_routes"
    assert counts.index.equals(seg.index)
    assert counts.dtype == np.int64
    assert counts.to_dict() == CORNER_COUNTS
    # Every one of the 8 routes enters the corner by one of its two edges.
    assert counts["v00"] + counts["h00"] == 8
    # Total use = sum of route lengths in edges (1+2+1+2+3+2+3+4).
    assert counts.sum() == 18
    pd.testing.assert_frame_equal(seg, before)


def test_spur_into_school_carries_every_route():
    """A school reached only by a spur: the spur carries all routes, whatever the ties."""
    seg = lattice(extra=[("spur", [(0, 0), (-100, 0)])])
    counts = school_route_counts(seg, school_at(-100, 0), origins=node_points())
    assert counts["spur"] == 9
    assert counts["v00"] + counts["h00"] == 8
    assert counts.drop("spur").to_dict() == CORNER_COUNTS


def test_default_grid_origins_match_node_origins():
    # With 100 m spacing the grid points fall on the 9 nodes; the one at the school adds
    # a zero-length route.
    seg = lattice()
    counts = school_route_counts(seg, school_at(0, 0), grid_spacing_m=100)
    assert counts.to_dict() == CORNER_COUNTS


def test_max_distance_limits_origins():
    # Within 150 m of the school grounds: nodes (1, 0), (0, 1), (1, 1) (148.5 m).
    seg = lattice()
    counts = school_route_counts(seg, school_at(0, 0), origins=node_points(), max_distance_m=150)
    assert counts[counts > 0].to_dict() == {"v00": 2, "h00": 1, "h01": 1}


def test_two_schools_add_up_and_far_origins_drop():
    seg = lattice()
    schools = pd.concat([school_at(0, 0, "A"), school_at(200, 200, "B")])
    # (600, 600) is > 100 m from every node: dropped.
    origins = gpd.GeoSeries([shapely.Point(100, 100), shapely.Point(600, 600)], crs=CRS)
    counts = school_route_counts(seg, schools, origins=origins)
    # To A (west, then south): h01, v00. To B from (1, 1): the next node towards B is the
    # lower id of (1, 2) and (2, 1), i.e. (1, 2); so v11 then h12.
    assert counts[counts > 0].to_dict() == {"h01": 1, "v00": 1, "v11": 1, "h12": 1}


def test_origins_as_polygons_and_empty_inputs():
    seg = lattice()
    houses = gpd.GeoDataFrame(geometry=[shapely.box(190, 190, 210, 210)], crs=CRS)
    counts = school_route_counts(seg, school_at(0, 0), origins=houses)
    assert counts.sum() == 4  # one route of four edges from (2, 2)
    empty = school_route_counts(seg, school_at(0, 0).iloc[:0])
    assert (empty == 0).all() and empty.index.equals(seg.index)


def test_school_route_crs_guard():
    seg = lattice()
    with pytest.raises(CRSError, match="in degrees"):
        school_route_counts(seg, school_at(0, 0).to_crs(4326))


def test_network_key():
    seg = lattice()
    key = network_key(seg)
    assert isinstance(key, str) and len(key) == 32
    assert network_key(seg.copy()) == key
    moved = seg.copy()
    moved.loc["h00", "geometry"] = shapely.LineString([(0, 0), (100, 5)])
    assert network_key(moved) != key
    renamed = seg.rename(index={"h00": "h00b"})
    assert network_key(renamed) != key
    # sub-millimetre noise below the 0.1 m grid leaves the key unchanged
    jitter = seg.copy()
    jitter["geometry"] = jitter.geometry.translate(0.001, 0.001)
    assert network_key(jitter) == key


# --- the whole walkable network (issue 12) --------------------------------------------------


def _roads(coords_list):
    return gpd.GeoDataFrame({"highway": ["residential"] * len(coords_list)},
                            geometry=[shapely.LineString(c) for c in coords_list], crs=CRS)


def test_routes_use_streets_but_count_only_on_segments():
    """Two footways 300 m apart, joined only by a residential street that meets the east
    footway in the middle of a segment (at a vertex, not at its end)."""
    west = shapely.LineString([(0, 0), (0, 50), (0, 100)])  # the street meets it at (0, 50)
    east = shapely.LineString([(300, -50), (300, 50), (300, 150)])  # one segment, 3 vertices
    segs = _frame(["west", "east"], [west, east])
    school = school_at(0, 0)
    homes = gpd.GeoSeries([shapely.Point(300, 150)], crs=CRS)
    alone = school_route_counts(segs, school, origins=homes)
    assert alone.tolist() == [0, 0]  # no way from the east footway to the school
    assert alone.attrs["homes_reached"] == {"Skolan": {"near": 1, "reached": 0}}
    street = _roads([[(0, 50), (150, 50), (300, 50)]])
    counts = school_route_counts(segs, school, origins=homes, walkable=street)
    assert counts.index.tolist() == ["west", "east"] and counts.name == "school_routes"
    assert counts.tolist() == [1, 1]  # the street itself gets no count: it is not scored
    assert counts.attrs["homes_reached"] == {"Skolan": {"near": 1, "reached": 1}}


def test_foot_no_segments_are_not_walked():
    lat = lattice(2)
    school = school_at(0, 0)
    homes = gpd.GeoSeries([shapely.Point(100, 100)], crs=CRS)
    base = school_route_counts(lat, school, origins=homes)
    used = base[base > 0].index.tolist()
    banned = lat.assign(foot=np.where(lat.index.isin(used[:1]), "no", ""))
    counts = school_route_counts(banned, school, origins=homes)
    assert counts.loc[used[0]] == 0 and counts.sum() == base.sum()  # the other way round
