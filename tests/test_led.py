"""LED planner: savings from the documented equivalence, Hg first, then HPS near schools."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from gis.led import led_replacements
from layers.profile import Costs


def _data():
    lum = gpd.GeoDataFrame({
        "light_source": ["LED", "Hg", "HPS", "HPS", "MH"],
        "wattage_w": [30.0, 125.0, 100.0, 100.0, np.nan],
    }, geometry=[Point(0, 0), Point(5000, 0), Point(10, 5), Point(2000, 5), Point(9000, 0)],
        index=["a", "hg", "hps_school", "hps_far", "mh"], crs="EPSG:3007")
    lum.index.name = "luminaire_id"
    seg = gpd.GeoDataFrame({
        "score": [5.0, 1.0], "rank": [1, 2], "school_distance_m": [50.0, 3000.0],
        "crossing_distance_m": [500.0, 500.0], "priority_area": ["", ""],
    }, geometry=[LineString([(0, 0), (25, 0)]), LineString([(2000, 0), (2025, 0)])],
        index=["w1:0000", "w9:0000"], crs="EPSG:3007")
    return lum, seg


def test_savings_and_priority():
    lum, seg = _data()
    costs = Costs(burning_hours_per_year=4000, electricity_sek_per_kwh=1.5, co2_kg_per_kwh=0.045,
                  led_retrofit_sek=3800)
    plan = led_replacements(lum, seg, costs)
    assert "a" not in plan.index  # already LED
    assert list(plan.index) == ["hg", "hps_school", "hps_far", "mh"]
    assert plan["tier"].tolist() == [1, 2, 3, 4]
    hg = plan.loc["hg"]
    assert hg["current_w"] == pytest.approx(137.5)       # 125 W × 1.1 ballast
    assert hg["led_w"] == pytest.approx(37.1, abs=0.1)   # × 0.27
    kwh = (137.5 - 137.5 * 0.27) * 4000 / 1000
    assert hg["kwh_saved_per_year"] == pytest.approx(kwh, abs=0.1)
    assert hg["sek_saved_per_year"] == pytest.approx(round(kwh * 1.5), abs=1)
    assert hg["payback_years"] == pytest.approx(3800 / (kwh * 1.5), abs=0.1)
    assert hg["served_segment"] == ""                    # no segment within 30 m
    s = plan.loc["hps_school"]
    assert s["served_segment"] == "w1:0000" and s["segment_rank"] == 1
    assert "nära skola" in s["reason"]
    assert plan.loc["mh", "current_w"] == pytest.approx(70 * 1.1)  # default wattage
    assert plan["priority"].tolist() == [1, 2, 3, 4]
    assert plan.crs.to_epsg() == 3007


def test_no_old_luminaires_gives_an_empty_plan():
    lum, seg = _data()
    plan = led_replacements(lum.iloc[:1], seg, Costs())
    assert len(plan) == 0 and plan.crs.to_epsg() == 3007


def _junction_data():
    """A lamp 10 m from a junction where two paths meet: equally near to both segments."""
    lum = gpd.GeoDataFrame({"light_source": ["HPS"], "wattage_w": [70.0]},
                           geometry=[Point(0, 10)], index=["x"], crs="EPSG:3007")
    lum.index.name = "luminaire_id"
    seg = gpd.GeoDataFrame({
        "score": [3.0, 1.0], "rank": [1, 2], "school_distance_m": [100.0, 900.0],
        "crossing_distance_m": [500.0, 500.0], "priority_area": ["", ""],
    }, geometry=[LineString([(0, 0), (25, 0)]), LineString([(-25, 0), (0, 0)])],
        index=["b:0000", "a:0000"], crs="EPSG:3007")
    return lum, seg


@pytest.mark.parametrize("geos", [False, True], ids=["arrays", "geos"])
def test_lamp_at_a_junction_serves_the_better_ranked_segment(geos, monkeypatch):
    import gis.led as led_module

    lum, seg = _junction_data()
    if geos:
        monkeypatch.setattr(led_module.SegmentArrays, "of", staticmethod(lambda lines: None))
    plan = led_replacements(lum, seg, Costs())
    assert plan.loc["x", "served_segment"] == "b:0000"
    assert plan.loc["x", "segment_rank"] == 1 and "nära skola" in plan.loc["x", "reason"]
    # the other order of the ranked table: still the better-ranked (now first) segment
    plan = led_replacements(lum, seg.iloc[::-1].assign(rank=[1, 2], score=[3.0, 1.0]), Costs())
    assert plan.loc["x", "served_segment"] == "a:0000"


def test_served_segment_fast_path_matches_geos(monkeypatch):
    import gis.led as led_module

    rng = np.random.default_rng(4)
    starts = rng.uniform(0, 500, (200, 2))
    ends = starts + rng.uniform(-20, 20, (200, 2))
    seg = gpd.GeoDataFrame({
        "score": rng.uniform(0, 5, 200), "rank": np.arange(1, 201),
        "school_distance_m": rng.uniform(0, 900, 200), "crossing_distance_m": 500.0,
        "priority_area": "",
    }, geometry=[LineString([a, b]) for a, b in zip(starts, ends, strict=True)],
        index=[f"s{i}:0000" for i in range(200)], crs="EPSG:3007")
    lum = gpd.GeoDataFrame({"light_source": rng.choice(["HPS", "Hg", "MH"], 150),
                            "wattage_w": rng.choice([70.0, 100.0, np.nan], 150)},
                           geometry=[Point(p) for p in rng.uniform(0, 500, (150, 2))],
                           index=[f"L{i}" for i in range(150)], crs="EPSG:3007")
    fast = led_replacements(lum, seg, Costs())
    monkeypatch.setattr(led_module.SegmentArrays, "of", staticmethod(lambda lines: None))
    geos = led_replacements(lum, seg, Costs())
    assert (fast["served_segment"] != "").sum() > 50 and (fast["served_segment"] == "").any()
    pd.testing.assert_frame_equal(fast, geos)


def test_unknown_light_source_is_its_own_group_without_invented_savings():
    lum, seg = _data()
    extra = gpd.GeoDataFrame({
        "light_source": ["unknown", "unknown", "HPS", "HPS"],
        "wattage_w": [70.0, np.nan, 70.0, 70.0],
        "operating": ["in_service", "in_service", "removed", "out_of_service"],
    }, geometry=[Point(1, 1), Point(2, 2), Point(3, 3), Point(4, 4)],
        index=["u1", "u2", "gone", "broken"], crs="EPSG:3007")
    lum = pd.concat([lum.assign(operating="in_service"), extra])
    plan = led_replacements(lum, seg, Costs())
    assert "gone" not in plan.index          # removed: not in the plan
    assert plan.loc["broken", "tier"] == 2   # out of service: a retrofit repairs it
    unknown = plan[plan["tier"] == 5]
    assert sorted(unknown.index) == ["u1", "u2"]
    assert list(plan.index[-2:]) == ["u1", "u2"]  # last, after every known type
    for col in ("current_w", "led_w", "kwh_saved_per_year", "sek_saved_per_year",
                "co2_kg_saved_per_year", "payback_years"):
        assert unknown[col].isna().all(), col   # even where a wattage is given (u1)
    assert unknown["reason"].str.startswith("Okänd ljuskälla: inventera").all()
    assert plan.loc["mh", "wattage_basis"] == "default"
    assert plan.loc["hg", "wattage_basis"] == "inventory"
