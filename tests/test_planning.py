"""Tests for walks.planning: the loop-route planner on the Strömstad demo, and write_plan.

The demo (data/stromstad, synthetic) is loaded once per module; planning one loop takes
well under a second.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point

from gis.ranking import DARK_STATUSES, rank
from layers.loader import load_layers
from layers.profile import load_profile
from walks.model import WALK_PLANERAD, finding_state
from walks.planning import (
    LENGTH_TOLERANCE,
    STOP_COLUMNS,
    UnknownSchoolError,
    WalkPlan,
    plan_walk,
    route_through,
    walk_network,
    write_plan,
)

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "stromstad" / "profile.toml"
SCHOOL = "Strömstiernaskolan"
LENGTH_M = 2000.0
CEST = timezone(timedelta(hours=2))


@pytest.fixture(scope="module")
def demo():
    profile = load_profile(PROFILE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layers = load_layers(profile)
    return profile, layers


@pytest.fixture(scope="module")
def ranked(demo):
    profile, lay = demo
    return rank(lay.paths, lay.luminaires, lay.schools, lay.crossings, lay.priority_areas,
                profile)


@pytest.fixture(scope="module")
def demo_findings(demo):
    """The demo findings in the store's shape (index = UUID, ``state_label``)."""
    profile, _ = demo
    gdf = gpd.read_file(profile.sources.findings).to_crs(profile.crs)
    return gdf.rename(columns={"state": "state_label"}).set_index("id")


@pytest.fixture(scope="module")
def plan(demo, ranked, demo_findings) -> WalkPlan:
    _, lay = demo
    return plan_walk(lay, SCHOOL, LENGTH_M, dark=True, ranked=ranked, findings=demo_findings)


def _school_geom(lay):
    return lay.schools.loc[lay.schools["name"].eq(SCHOOL)].geometry.iloc[0]


# ---------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------

def test_loop_closes_at_the_school(plan, demo):
    _, lay = demo
    coords = list(plan.route.coords)
    assert coords[0] == coords[-1]
    start = plan.stops.iloc[0]
    assert start["kind"] == "start" and start["stop_no"] == 1
    assert start.geometry.distance(Point(coords[0])) == pytest.approx(0, abs=0.01)
    assert SCHOOL in start["reason"]
    assert _school_geom(lay).distance(start.geometry) < 300


def test_length_within_tolerance(plan):
    lo, hi = LENGTH_M * (1 - LENGTH_TOLERANCE), LENGTH_M * (1 + LENGTH_TOLERANCE)
    assert lo <= plan.length_m <= hi
    assert plan.length_m == pytest.approx(plan.route.length)
    assert plan.target_length_m == LENGTH_M


def test_stops_ordered_along_the_route(plan):
    stops = plan.stops
    assert list(stops.columns) == [*STOP_COLUMNS, "geometry"]
    assert stops["stop_no"].tolist() == list(range(1, len(stops) + 1))
    assert stops["distance_along_m"].is_monotonic_increasing
    assert set(stops["kind"]) <= {"start", "segment", "finding"}
    assert (stops["kind"] == "segment").sum() >= 2
    assert stops.crs.to_epsg() == 3007 and plan.crs == "EPSG:3007"
    seg = stops.loc[stops["kind"].eq("segment")]
    # Segment stops lie on the route; their ids are ranked segment ids.
    assert shapely.distance(plan.route, np.asarray(seg.geometry.values)).max() < 1.0
    assert seg["segment_id"].str.fullmatch(r"w\d+:\d{4}").all()
    assert all(isinstance(r, str) and r for r in stops["reason"])


def test_passes_worst_segments_near_the_school(plan, ranked, demo):
    _, lay = demo
    segs = ranked.segments
    dark = segs.loc[segs["lighting_status"].isin(DARK_STATUSES)]
    mid = shapely.line_interpolate_point(np.asarray(dark.geometry.values), 0.5,
                                         normalized=True)
    near = shapely.distance(_school_geom(lay), mid) <= LENGTH_M / 4
    worst = dark.loc[near].sort_values("rank").head(5)
    assert len(worst) == 5
    passed = set(plan.passed_segment_ids)
    assert passed & set(worst.index), (worst.index.tolist(), plan.passed_segment_ids[:10])
    # passed_segment_ids really are on the route
    on = segs.loc[list(passed & set(worst.index))]
    mids = shapely.line_interpolate_point(np.asarray(on.geometry.values), 0.5,
                                          normalized=True)
    assert shapely.distance(plan.route, mids).max() < 1.0
    assert plan.source == "ranking"


def test_deterministic(plan, demo, ranked, demo_findings):
    _, lay = demo
    again = plan_walk(lay, SCHOOL, LENGTH_M, dark=True, ranked=ranked,
                      findings=demo_findings)
    assert again.route.equals_exact(plan.route, 0)
    pd.testing.assert_frame_equal(again.stops.drop(columns="geometry"),
                                  plan.stops.drop(columns="geometry"))
    assert list(again.stops.geometry) == list(plan.stops.geometry)
    assert again.passed_segment_ids == plan.passed_segment_ids


def test_fallback_to_osm_lit_without_ranking(demo):
    _, lay = demo
    plan = plan_walk(lay, "bojarskolan", LENGTH_M)  # name is case-insensitive
    assert plan.school == "Bojarskolan"
    assert plan.source == "osm_lit"
    assert plan.light == "dagsljus" and not plan.dark
    assert plan.route.coords[0] == plan.route.coords[-1]
    assert LENGTH_M * 0.75 <= plan.length_m <= LENGTH_M * 1.25
    seg = plan.stops.loc[plan.stops["kind"].eq("segment")]
    assert len(seg) >= 1
    path_ids = seg["segment_id"].str.split(":").str[0]
    assert lay.paths.loc[path_ids, "lit"].eq("no").all()
    assert seg["reason"].str.startswith("Obelyst enligt OSM").all()
    passed = {s.split(":")[0] for s in plan.passed_segment_ids}
    assert passed and lay.paths.loc[sorted(passed), "lit"].eq("no").all()


def test_open_public_findings_near_the_route_become_stops(demo, ranked, plan,
                                                          demo_findings):
    _, lay = demo
    # Put findings right on the planned route: an open one, a closed one, a hidden one.
    on_route = plan.route.interpolate(plan.length_m / 3)
    base = {"category": "belysning", "severity": 3,
            "description": "Släckt lampa", "walk_id": "x", "non_public": False}
    extra = gpd.GeoDataFrame(
        [{**base, "state_label": "ny"},
         {**base, "state_label": "avslutad utan åtgärd"},
         {**base, "state_label": "bedömd", "non_public": True},
         {**base, "state_label": "ny", "category": "känslig plats"}],
        geometry=[on_route] * 4, crs=lay.paths.crs,
        index=pd.Index(["open-1", "closed-1", "hidden-1", "staff-1"], name="id"))
    findings = pd.concat([demo_findings.assign(non_public=False), extra])
    p = plan_walk(lay, SCHOOL, LENGTH_M, dark=True, ranked=ranked, findings=findings)
    ids = set(p.stops["finding_id"].dropna())
    assert "open-1" in ids
    assert not ids & {"closed-1", "hidden-1", "staff-1"}
    for fid in ids:
        assert finding_state(findings.loc[fid, "state_label"]).is_open()
    row = p.stops.loc[p.stops["finding_id"].eq("open-1")].iloc[0]
    assert row["kind"] == "finding" and row["reason"].startswith("Öppet fynd")


def test_day_walk_prefers_findings(demo, ranked, demo_findings):
    _, lay = demo
    day = plan_walk(lay, SCHOOL, LENGTH_M, ranked=ranked, findings=demo_findings)
    assert day.light == "dagsljus"
    kinds = day.stops["kind"].tolist()
    assert "finding" in kinds


def test_unknown_school_lists_the_schools(demo):
    _, lay = demo
    with pytest.raises(UnknownSchoolError,
                       match=r"unknown school 'Hogwarts'\. Designated schools: "
                             r"Bojarskolan, Strömstiernaskolan; other schools: .*Valemyrsskolan"):
        plan_walk(lay, "Hogwarts")


def test_bad_length(demo):
    _, lay = demo
    with pytest.raises(ValueError, match="length_m must be a positive"):
        plan_walk(lay, SCHOOL, 0)


def test_findings_in_degrees_are_refused(demo, demo_findings):
    _, lay = demo
    with pytest.raises(ValueError, match="degrees"):
        plan_walk(lay, SCHOOL, findings=demo_findings.to_crs("EPSG:4326"))


def test_to_walk(plan):
    when = datetime(2025, 10, 15, 18, 0, tzinfo=CEST)
    walk = plan.to_walk("Kvällsvandring vid Strömstiernaskolan", when,
                        organiser="Samhällsbyggnad", participants={"boende": 5})
    assert walk.state == WALK_PLANERAD
    assert walk.id == "stromstiernaskolan-2025-10-15"
    assert walk.light == "mörker"
    assert walk.school == SCHOOL and walk.area == SCHOOL
    assert walk.route is not None and walk.route.equals(plan.route)
    assert [s.label for s in walk.stops] == plan.stops["reason"].tolist()
    assert walk.participants == {"boende": 5}


def test_walk_network_joins_paths_at_shared_vertices(demo):
    """OSM ways meet at shared vertices; the network must use them (one large part)."""
    _, lay = demo
    segs, graph = walk_network(lay.paths)
    import networkx as nx
    largest = max(nx.connected_components(graph), key=len)
    assert len(largest) > 0.8 * graph.number_of_nodes()
    assert segs["length_m"].max() <= 25.0 + 1e-6


# ---------------------------------------------------------------------------------------
# write_plan
# ---------------------------------------------------------------------------------------

def test_write_plan_geopackage_round_trip(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan.gpkg")
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"route": "LineString", "stops": "Point"}
    route = gpd.read_file(out, layer="route")
    stops = gpd.read_file(out, layer="stops")
    assert route.crs.to_epsg() == 3007 and stops.crs.to_epsg() == 3007
    assert route.geometry.iloc[0].equals_exact(plan.route, 1e-6)
    assert route["length_m"].iloc[0] == pytest.approx(plan.length_m, abs=0.1)
    assert route["light"].iloc[0] == "mörker"
    assert list(stops.columns) == [*STOP_COLUMNS, "geometry"]
    assert stops["stop_no"].tolist() == plan.stops["stop_no"].tolist()
    assert stops["reason"].tolist() == plan.stops["reason"].tolist()
    assert stops["kind"].tolist() == plan.stops["kind"].tolist()
    assert stops["distance_along_m"].tolist() == pytest.approx(
        plan.stops["distance_along_m"].tolist())
    got = [s if isinstance(s, str) else None for s in stops["segment_id"]]
    assert got == plan.stops["segment_id"].tolist()
    for a, b in zip(stops.geometry, plan.stops.geometry, strict=True):
        assert a.equals_exact(b, 1e-6)


def test_write_plan_geojson_round_trip(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan.geojson")
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert raw["type"] == "FeatureCollection"
    assert "crs" not in raw  # RFC 7946: always WGS 84 longitude/latitude
    first = raw["features"][0]
    assert first["properties"]["layer"] == "route"
    lon, lat = first["geometry"]["coordinates"][0]
    assert 11.0 < lon < 11.4 and 58.8 < lat < 59.1  # lon/lat order, Strömstad
    gdf = gpd.read_file(out)
    assert gdf.crs.to_epsg() == 4326
    route = gdf.loc[gdf["layer"].eq("route")].to_crs(3007)
    stops = gdf.loc[gdf["layer"].eq("stops")].to_crs(3007)
    assert route.geometry.iloc[0].hausdorff_distance(plan.route) < 0.05
    assert stops["reason"].tolist() == plan.stops["reason"].tolist()
    assert stops["stop_no"].astype(int).tolist() == plan.stops["stop_no"].tolist()
    d = shapely.distance(np.asarray(stops.geometry.values),
                         np.asarray(plan.stops.geometry.values))
    assert d.max() < 0.05


def test_write_plan_rejects_unknown_extension(plan, tmp_path):
    with pytest.raises(ValueError, match=r"\.gpkg, \.geojson"):
        write_plan(plan, tmp_path / "plan.shp")


# --- re-routing after the stops were edited --------------------------------------------

def test_route_through_the_plans_own_stops_is_a_loop_in_their_order(plan, demo):
    stops = list(plan.stops.geometry)
    r = route_through(demo[1].paths, stops)
    first, last = r.route.coords[0], r.route.coords[-1]
    assert first == last  # back at the first stop
    assert len(r.along_m) == len(stops) and r.along_m[0] == 0.0
    assert list(r.along_m) == sorted(r.along_m)
    for along, stop in zip(r.along_m, stops, strict=True):
        # each stop is reached at its turn (snapped to a network node ≤ 25 m apart)
        assert r.route.interpolate(along).distance(stop) <= 25.0
    # the plan's stops in the plan's order: no longer than the plan's own loop plus the
    # detours onto the stops' nodes
    assert r.length_m <= plan.length_m + 2 * 25.0 * len(stops)


def test_reordered_stops_give_a_new_route_in_the_new_order(plan, demo):
    stops = list(plan.stops.geometry)
    assert len(stops) >= 4
    new_order = [stops[0], *reversed(stops[1:-1]), stops[-1]]
    r = route_through(demo[1].paths, new_order)
    assert list(r.along_m) == sorted(r.along_m)
    for along, stop in zip(r.along_m, new_order, strict=True):
        assert r.route.interpolate(along).distance(stop) <= 25.0
    fewer = route_through(demo[1].paths, [stops[0], stops[2]])  # a stop removed
    assert fewer.length_m < r.length_m
    assert fewer.route.interpolate(fewer.along_m[1]).distance(stops[2]) <= 25.0


def test_route_through_rejects_a_stop_off_the_network(plan, demo):
    far = Point(plan.stops.geometry.iloc[0].x + 5_000.0, plan.stops.geometry.iloc[0].y
                + 50_000.0)
    with pytest.raises(ValueError, match="stop 2 is .* from the nearest path"):
        route_through(demo[1].paths, [plan.stops.geometry.iloc[0], far])
    with pytest.raises(ValueError, match="at least one stop"):
        route_through(demo[1].paths, [])
