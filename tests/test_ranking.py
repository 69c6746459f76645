"""The ranking pipeline on the demo and on real OSM data (pyrosm's Finnish sample)."""

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import pytest
from shapely.geometry import LineString, Point, box

from gis._crs import CRSError
from gis.ranking import SEGMENT_COLUMNS, improved_km, rank
from layers import LayerWarning, load_profile
from layers.crossings import crossings_from_osm
from layers.lighting import luminaires_from_osm
from layers.loader import empty_layer, load_layers
from layers.osm import read_osm_file
from layers.paths import paths_from_osm, walkable_from_osm
from layers.schemas import AREAS, AREAS_INDEX
from layers.schools import schools_from_osm

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    profile = load_profile(ROOT / "data/stromstad/profile.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        layers = load_layers(profile)
    return profile, layers


@pytest.fixture(scope="module")
def demo_result(demo):
    profile, lay = demo
    return rank(lay.paths, lay.luminaires, lay.schools, lay.crossings, lay.priority_areas, profile)


def test_demo_ranking_has_the_promised_columns(demo_result):
    seg = demo_result.segments
    for col in ("rank", "score", "lighting_status", "mean_lux", "min_lux", "target_class",
                "school_distance_m", "crossing_distance_m", "priority_area",
                "school_route_count", "reason"):
        assert col in seg.columns
    assert list(seg.columns) == [*SEGMENT_COLUMNS, "geometry"]
    assert seg.index.name == "segment_id" and seg.index.is_unique
    assert seg["rank"].tolist() == list(range(1, len(seg) + 1))
    assert seg["score"].is_monotonic_decreasing
    assert seg.crs.to_epsg() == 3007
    assert set(seg["lighting_status"]) <= {"unlit", "underlit", "lit_old_technology", "ok",
                                           "unknown"}
    assert seg["reason"].str.len().gt(5).all()
    # Every status that exists in a small town shows up on the demo.
    assert {"unlit", "underlit", "ok", "lit_old_technology"} <= set(seg["lighting_status"])


def test_ranking_is_deterministic(demo, demo_result):
    profile, lay = demo
    again = rank(lay.paths, lay.luminaires, lay.schools, lay.crossings, lay.priority_areas, profile)
    pd.testing.assert_frame_equal(pd.DataFrame(again.segments.drop(columns="geometry")),
                                  pd.DataFrame(demo_result.segments.drop(columns="geometry")))


def test_packages_and_led_plan_on_demo(demo, demo_result):
    profile, lay = demo
    pk = demo_result.packages
    assert len(pk) > 10
    assert set(pk["lighting_status"]) <= {"unlit", "underlit"}
    assert (pk["cost_sek"] == pk["new_light_points"] * profile.costs.new_light_point_sek).all()
    led = demo_result.led
    assert len(led) == int(lay.luminaires["light_source"].ne("LED").sum())
    # Hg first (tier 1), then HPS near schools/crossings/areas.
    assert led["tier"].is_monotonic_increasing
    assert (led.loc[led["light_source"] == "Hg", "tier"] == 1).all()
    s = demo_result.summary(profile)
    assert s["demo_data"] is True
    assert sum(s["km_by_status"].values()) == pytest.approx(s["km_total"], abs=0.05)
    assert s["led"]["kwh_saved_per_year"] > 0
    assert len(s["top_packages"]) == 10
    assert s["commute_darkness_by_month"]["12"] > s["commute_darkness_by_month"]["6"]
    # honest numbers (issue 12): the demo's 159 "Ur drift" lamps are faults, give no light
    assert s["luminaires_out_of_service"] == 159
    assert s["led"]["unknown_light_source"] == 0  # the demo knows every lamp type
    assert s["led"]["wattage_assumed"] == int(
        (lay.luminaires["light_source"].ne("LED") & lay.luminaires["wattage_w"].isna()).sum())
    assert set(s["km_by_lux_basis"]) <= {"inventory", "defaults"}
    assert sum(s["km_by_lux_basis"].values()) == pytest.approx(s["km_total"], abs=0.05)
    seg = demo_result.segments
    assert seg["n_out_of_service_30m"].sum() > 0


def test_improved_km_compares_two_runs(demo_result):
    before = demo_result.segments
    after = before.copy()
    dark = before.index[before["lighting_status"].eq("unlit")][:4]
    after.loc[dark, "lighting_status"] = "ok"
    assert improved_km(before, after) == pytest.approx(before.loc[dark, "length_m"].sum() / 1000)


def _tiny(crs="EPSG:3007"):
    paths = gpd.GeoDataFrame({
        "osm_id": [1, 2], "path_type": ["cycleway", "cycleway"], "highway": ["cycleway"] * 2,
        "footway": [""] * 2, "cycleway": [""] * 2, "bicycle": [""] * 2, "foot": [""] * 2,
        "segregated": [""] * 2, "surface": [""] * 2, "name": [""] * 2, "lit": ["no", "no"],
        "lit_raw": ["no", "no"]},
        geometry=[LineString([(100000, 6535000), (100050, 6535000)]),
                  LineString([(101000, 6535000), (101050, 6535000)])],
        index=pd.Index(["w1", "w2"], name="path_id"), crs=crs)
    lum = gpd.GeoDataFrame({"light_source": pd.Series([], dtype=str),
                            "wattage_w": pd.Series([], dtype=float),
                            "lumen_lm": pd.Series([], dtype=float),
                            "mounting_height_m": pd.Series([], dtype=float),
                            "source": pd.Series([], dtype=str)}, geometry=[], crs=crs)
    schools = gpd.GeoDataFrame({"name": ["Skolan"], "designated": [True]},
                               geometry=[box(99990, 6535010, 100060, 6535080)], crs=crs)
    crossings = gpd.GeoDataFrame({"marked": [True], "crossing": ["zebra"]},
                                 geometry=[Point(100025, 6534990)], crs=crs)
    return paths, lum, schools, crossings, empty_layer(AREAS, AREAS_INDEX, crs)


def test_path_near_school_outranks_identical_path_1km_away():
    profile = load_profile(ROOT / "data/tanum/profile.toml")
    res = rank(*_tiny(), profile)
    seg = res.segments
    assert set(seg["lighting_status"]) == {"unlit"}
    near = seg[seg["path_id"] == "w1"]
    far = seg[seg["path_id"] == "w2"]
    assert near["score"].min() > far["score"].max()
    assert near["rank"].max() < far["rank"].min()
    assert near["reason"].str.contains("från Skolan").all()
    assert near["target_class"].eq(profile.lighting.school_class).all()


def test_ranking_refuses_degrees():
    profile = load_profile(ROOT / "data/tanum/profile.toml")
    frames = [f.to_crs("EPSG:4326") for f in _tiny()]
    with pytest.raises(CRSError, match=r"paths is in degrees \(EPSG:4326\)"):
        rank(*frames, profile)


def test_real_osm_sample_without_inventory():
    """pyrosm's test.osm.pbf: real OSM data from Finland (ODbL), no municipal inventory."""
    profile = load_profile(ROOT / "data/tanum/profile.toml")
    crs = "EPSG:3067"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        ext = read_osm_file(Path(pyrosm.__file__).parent / "data" / "test.osm.pbf")
        paths = paths_from_osm(ext, crs)
        lum = luminaires_from_osm(ext.nodes, crs)
        schools = schools_from_osm(ext, crs)
        crossings = crossings_from_osm(ext, crs)
    res = rank(paths, lum, schools, crossings, empty_layer(AREAS, AREAS_INDEX, crs), profile)
    seg = res.segments
    assert len(seg) > 100
    assert seg.crs.to_epsg() == 3067
    # With no inventory, the OSM lit tag decides where no OSM lamp gives light.
    unlit_tag = seg["lit"].eq("no") & seg["mean_lux"].lt(0.1)
    assert seg.loc[unlit_tag, "lighting_status"].eq("unlit").all()
    unknown_tag = seg["lit"].eq("unknown") & seg["mean_lux"].lt(0.1)
    assert seg.loc[unknown_tag, "lighting_status"].eq("unknown").all()
    assert np.isfinite(seg["score"]).all()
    # no origins given: the routes start from the grid, and the summary says so
    assert res.summary(profile)["school_route_origins"] == {
        "kind": "grid", "spacing_m": 250.0, "network": "paths",
        "reached_per_school": {"Helilän koulu": {"near": 38, "reached": 7}}}
    # over the whole walkable network (paths + streets one may walk) far more grid points
    # reach the school; counts still land on the scored segments only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        roads = walkable_from_osm(ext, crs)
    assert len(roads) > 50 and "motorway" not in set(roads["highway"])
    both = rank(paths, lum, schools, crossings, empty_layer(AREAS, AREAS_INDEX, crs), profile,
                walkable=roads)
    origins = both.summary(profile)["school_route_origins"]
    assert origins["network"] == "paths_and_roads"
    reached = origins["reached_per_school"]["Helilän koulu"]
    # (the grid spans the larger network, so more points lie near the school too)
    assert reached["near"] >= 38 and reached["reached"] / reached["near"] > 7 / 38
    assert set(both.segments.index) == set(seg.index)


def test_lux_basis_says_what_the_light_level_rests_on():
    from gis.ranking import lux_basis

    idx = pd.Index(["a", "b", "c", "d"], name="segment_id")
    segs = pd.DataFrame({"lit": ["yes", "no", "unknown", "unknown"]}, index=idx)
    illum = pd.DataFrame({"avg_lux": [5.0, 0.0, 3.0, 0.0],
                          "share_default_light": [0.0, 0.0, 0.4, 0.0]}, index=idx)
    inv = lux_basis(segs, illum, has_inventory=True)
    assert inv.tolist() == ["inventory", "inventory", "defaults", "inventory"]
    assert inv.index.equals(idx) and inv.name == "lux_basis"
    osm = lux_basis(segs, illum, has_inventory=False)
    # lit tag decides a, b; c is lit by mapped OSM lamps (assumed wattage); d: tag only
    assert osm.tolist() == ["osm_lit_only", "osm_lit_only", "defaults", "osm_lit_only"]
