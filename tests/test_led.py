"""LED planner: savings from the documented equivalence, Hg first, then HPS near schools."""

import geopandas as gpd
import numpy as np
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
