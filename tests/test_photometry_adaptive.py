"""gis.photometry beyond E_h: semicylindrical / vertical illuminance, the EN 13201-2
additional requirements, dimming (adaptive classes, status, LED kWh) and the catalogue keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.led import led_replacements
from gis.photometry import (
    SC_HEIGHT_M,
    add_photometric_columns,
    energy_factors,
    night_energy_factor,
    photometric_status,
    segment_photometric_illuminance,
)
from layers._common import ValidationError
from layers.photometric import Catalogue, CatalogueEntry, DimmingGroup, load_catalogue, read_ldt
from layers.profile import Costs
from tests.test_photometry import GAMMA, _scene, ldt_text, write

CRS = "EPSG:3007"
I_ROT = [300.0, 240.0, 120.0, 0.0]  # cd at γ 0, 30, 60, 90 (rotationally symmetric)


def _catalogue(tmp_path: Path, **kw) -> Catalogue:
    p = read_ldt(write(tmp_path, "rot.ldt", ldt_text(1, [0.0], GAMMA, [I_ROT])))
    entry = CatalogueEntry(file=Path(p.source), photometry=p, light_source="HPS",
                           maintenance_factor=1.0)
    return Catalogue((entry,), {"default": 2.0}, **kw)


def _grid_20x2() -> tuple[np.ndarray, np.ndarray]:
    xs = -10 + (np.arange(10) + 0.5) * 2.0   # N = 10 along a 20 m field
    ys = -1 + (np.arange(3) + 0.5) * 2.0 / 3  # n = 3 across 2 m
    return np.meshgrid(xs, ys)


def test_semicylindrical_and_vertical_illuminance_against_a_hand_computation(tmp_path):
    cat = _catalogue(tmp_path, requirements={"P4": {"esc_min_lux": 0.1, "ev_min_lux": 0.1}})
    segs, lums = _scene([(0.0, -3.0, "HPS")])  # path east along y = 0, pole 3 m south, h 5 m
    v = segment_photometric_illuminance(segs, lums, cat).values.loc["s1"]
    # by hand: luminaire 5 − 1.5 = 3.5 m above the 1.5 m plane; ε from the vertical,
    # α between the horizontal direction to the luminaire and the semicylinder's facing
    # direction (±east, along the path): E_sc = I·sin ε·(1 + cos α)/(π r²),
    # E_v = I·sin ε·max(cos α, 0)/r²; the lower of the two senses per point, then the
    # minimum over the 30 points
    px, py = _grid_20x2()
    hx, hy = -px, -3.0 - py                  # point → luminaire, horizontal
    d = np.hypot(hx, hy)
    r = np.hypot(d, 5.0 - SC_HEIGHT_M)
    eps = np.arctan2(d, 5.0 - SC_HEIGHT_M)
    inten = np.interp(np.degrees(eps), GAMMA, I_ROT)
    cos_a = {+1: hx / d, -1: -hx / d}        # facing east / west
    esc = np.minimum(*(inten * np.sin(eps) * (1 + cos_a[s]) / (math.pi * r * r)
                       for s in (+1, -1)))
    ev = np.minimum(*(inten * np.sin(eps) * np.maximum(cos_a[s], 0) / (r * r)
                      for s in (+1, -1)))
    assert v["e_sc_min_lux"] == pytest.approx(esc.min(), rel=1e-9)
    assert v["e_v_min_lux"] == pytest.approx(ev.min(), rel=1e-9)
    # near the pole's foot the luminaire is seen almost side-on (α ≈ 90° in both senses):
    # E_sc ≈ I·sin ε·(1 − |cos α|)/(π r²) with the lower sense; a 0.1 m field has its
    # outermost points at x = ±0.045 m, which give the minimum
    one = gpd.GeoDataFrame({"path_type": ["footway"]}, geometry=[
        shapely.LineString([(-0.05, 0.0), (0.05, 0.0)])], crs=CRS,
        index=pd.Index(["s1"], name="segment_id"))
    narrow = dataclasses.replace(cat, path_width_m={"default": 1e-6})
    v1 = segment_photometric_illuminance(one, lums, narrow).values.loc["s1"]
    d1 = math.hypot(0.045, 3.0)
    e1 = math.atan2(d1, 3.5)
    i1 = float(np.interp(math.degrees(e1), GAMMA, I_ROT))
    assert v1["e_sc_min_lux"] == pytest.approx(
        i1 * math.sin(e1) * (1 - 0.045 / d1) / (math.pi * (d1 * d1 + 3.5 ** 2)), rel=1e-6)
    assert v1["e_v_min_lux"] == 0.0  # the outer points: one sense faces away entirely


def test_no_requirements_no_extra_columns_and_status_unchanged(tmp_path):
    segs, lums = _scene([(0.0, -3.0, "HPS")])
    res = segment_photometric_illuminance(segs, lums, _catalogue(tmp_path))
    assert "e_sc_min_lux" not in res.values and "e_av_dimmed_lux" not in res.values
    status = pd.Series(["ok"], index=segs.index)
    assert photometric_status(status, res, pd.Series(["P6"], index=segs.index)) is status


def _ranked(segs: gpd.GeoDataFrame, target: str) -> gpd.GeoDataFrame:
    return segs.assign(target_class=target, length_m=20.0)


def test_additional_requirements_decide_meets_class_and_the_status(tmp_path):
    segs, lums = _scene([(0.0, -3.0, "HPS")])
    base = segment_photometric_illuminance(segs, lums, _catalogue(tmp_path)).values
    esc = segment_photometric_illuminance(segs, lums, _catalogue(
        tmp_path, requirements={"P6": {"esc_min_lux": 0.0}})).values.loc["s1", "e_sc_min_lux"]
    assert base.loc["s1", "e_min_lux"] > 0.4 and base.loc["s1", "e_av_lux"] > 2.0  # P6 met
    for need, meets in ((esc, True), (esc * 1.01, False)):  # the boundary: ≥ meets
        cat = _catalogue(tmp_path, requirements={"P6": {"esc_min_lux": float(need)}})
        res = segment_photometric_illuminance(segs, lums, cat)
        out = add_photometric_columns(_ranked(segs, "P6"), res)
        assert bool(out.loc["s1", "meets_class"]) is meets
        status = photometric_status(pd.Series(["ok"], index=segs.index), res,
                                    pd.Series(["P6"], index=segs.index))
        assert status.loc["s1"] == ("ok" if meets else "underlit")
    # a requirement for another class does not apply
    cat = _catalogue(tmp_path, requirements={"P1": {"ev_min_lux": 100.0}})
    res = segment_photometric_illuminance(segs, lums, cat)
    assert bool(add_photometric_columns(_ranked(segs, "P6"), res).loc["s1", "meets_class"])


def test_dimming_scales_the_group_and_checks_the_adaptive_class(tmp_path):
    segs, lums = _scene([(0.0, -3.0, "HPS"), (6.0, -3.0, "LED")])
    night = DimmingGroup(((22 * 60, 0.5), (5 * 60, 1.0)), "natt", light_source="HPS")
    assert night.lowest_level == 0.5
    full = segment_photometric_illuminance(segs, lums, _catalogue(tmp_path)).values
    only_hps = segment_photometric_illuminance(segs, lums.iloc[[0]],
                                               _catalogue(tmp_path)).values
    only_led = segment_photometric_illuminance(
        segs, lums.iloc[[1]].assign(light_source="HPS"), _catalogue(tmp_path)).values
    assert only_led.loc["s1", "e_av_lux"] > 0
    res = segment_photometric_illuminance(segs, lums, _catalogue(tmp_path, dimming=(night,)))
    v = res.values.loc["s1"]
    assert v["e_av_lux"] == pytest.approx(full.loc["s1", "e_av_lux"])
    # the HPS luminaire at 50 %, the LED one (no group) at 100 %: E_av is linear
    led_part = full.loc["s1", "e_av_lux"] - only_hps.loc["s1", "e_av_lux"]
    assert v["e_av_dimmed_lux"] == pytest.approx(0.5 * only_hps.loc["s1", "e_av_lux"]
                                                 + led_part, rel=1e-12)
    assert res.dimming_group.tolist() == [0, -1]
    # adaptive class: P3 by day, P4 when dimmed; "no mapping" means P3 also when dimmed
    assert (v["e_av_dimmed_lux"], v["e_min_dimmed_lux"]) == pytest.approx((11.23, 1.261),
                                                                          abs=5e-3)
    for adaptive, dimmed_cls, meets in (({"P3": "P4"}, "P4", True), ({}, "P3", False)):
        cat = _catalogue(tmp_path, dimming=(night,), adaptive_classes=adaptive)
        r = segment_photometric_illuminance(segs, lums, cat)
        out = add_photometric_columns(_ranked(segs, "P3"), r)
        assert out.loc["s1", "dimmed_class"] == dimmed_cls
        assert bool(out.loc["s1", "meets_dimmed_class"]) is meets  # E_min 1.26 vs 1.0 / 1.5
    # and the status follows the dimmed check
    cat = _catalogue(tmp_path, dimming=(DimmingGroup(((0, 0.01),), light_source="HPS"),))
    r = segment_photometric_illuminance(segs.assign(), lums.iloc[[0]], cat)
    status = photometric_status(pd.Series(["ok"], index=segs.index), r,
                                pd.Series(["P6"], index=segs.index))
    assert status.loc["s1"] == "underlit"


def _night_hours_after(hour: int, lat: float, lon: float, tz: str) -> float:
    """Independent check with astral: share of the year's sun-below-horizon time that
    falls between local *hour*:00 and midnight (geometric sunset/sunrise, no refraction)."""
    from astral import Observer, SunDirection
    from astral.sun import time_at_elevation

    obs, zone = Observer(lat, lon), ZoneInfo(tz)
    after = total = 0.0
    for k in range(365):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=k)
        rise = time_at_elevation(obs, 0.0, day, SunDirection.RISING, zone,
                                 with_refraction=False)
        sets = time_at_elevation(obs, 0.0, day, SunDirection.SETTING, zone,
                                 with_refraction=False)
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
        start = dt.datetime.combine(day, dt.time(hour), zone)
        day_start = dt.datetime.combine(day, dt.time(), zone)
        total += (rise - day_start).total_seconds() + (midnight - sets).total_seconds()
        after += (midnight - max(sets, start)).total_seconds()
    return after / total


def test_night_energy_factor_against_astral():
    lat, lon, tz = 58.937, 11.172, "Europe/Stockholm"
    assert night_energy_factor(DimmingGroup(((0, 0.5),)), lat, lon, tz) == pytest.approx(0.5)
    # 100 % until 22:00, 50 % from 22 until midnight, 100 % after: factor = 1 − ½·share
    g = DimmingGroup(((0, 1.0), (22 * 60, 0.5)))
    share = _night_hours_after(22, lat, lon, tz)
    assert 0.1 < share < 0.3
    assert night_energy_factor(g, lat, lon, tz) == pytest.approx(1 - 0.5 * share, abs=2e-3)


def test_led_plan_uses_the_night_energy_factor():
    lum = gpd.GeoDataFrame({"light_source": ["HPS", "HPS"], "wattage_w": [100.0, 100.0]},
                           geometry=[shapely.Point(0, 0), shapely.Point(500, 0)],
                           index=pd.Index(["a", "b"], name="luminaire_id"), crs=CRS)
    seg = gpd.GeoDataFrame({"score": [1.0], "rank": [1], "school_distance_m": [900.0],
                            "crossing_distance_m": [900.0], "priority_area": [""]},
                           geometry=[shapely.LineString([(0, 5), (20, 5)])], index=["s"],
                           crs=CRS)
    costs = Costs(burning_hours_per_year=4000)
    plain = led_replacements(lum, seg, costs)
    assert "night_energy_factor" not in plain
    dimmed = led_replacements(lum, seg, costs,
                              energy_factor=pd.Series({"a": 0.75}))  # b: not in a group
    assert dimmed.loc["a", "kwh_saved_per_year"] == pytest.approx(
        0.75 * plain.loc["a", "kwh_saved_per_year"], abs=0.1)
    assert dimmed.loc["b", "kwh_saved_per_year"] == plain.loc["b", "kwh_saved_per_year"]
    assert dimmed["night_energy_factor"].to_dict() == {"a": 0.75, "b": 1.0}


def test_energy_factors_per_group(tmp_path):
    cat = _catalogue(tmp_path, dimming=(DimmingGroup(((0, 0.5),), light_source="HPS"),))
    _, lums = _scene([(0.0, -3.0, "HPS"), (6.0, -3.0, "LED")])
    f = energy_factors(lums, cat, 58.9, 11.2, "Europe/Stockholm")
    assert f is not None and f.to_dict() == {"L0": 0.5, "L1": 1.0}
    assert energy_factors(lums, _catalogue(tmp_path), 58.9, 11.2, "Europe/Stockholm") is None


def test_catalogue_requirements_dimming_and_adaptive_classes(tmp_path):
    write(tmp_path, "rot.ldt", ldt_text(1, [0.0], GAMMA, [I_ROT]))
    good = write(tmp_path, "k.toml", textwrap.dedent("""
        [[luminaire]]
        file = "rot.ldt"

        [requirements.P3]
        esc_min_lux = 1.0
        ev_min_lux = 1.5

        [[dimming]]
        name = "natt"
        light_source = "HPS"
        schedule = [{from = "22:00", level = 0.5}, {from = "05:00", level = 1.0}]

        [adaptive_classes]
        P3 = "P4"
    """))
    cat = load_catalogue(good)
    assert cat.requirements == {"P3": {"esc_min_lux": 1.0, "ev_min_lux": 1.5}}
    assert cat.dimming == (DimmingGroup(((300, 1.0), (1320, 0.5)), "natt", "HPS"),)
    assert cat.adaptive_classes == {"P3": "P4"}
    bad = write(tmp_path, "b.toml", textwrap.dedent("""
        [[luminaire]]
        file = "rot.ldt"

        [requirements.P9]
        esc_min_lux = 1.0

        [requirements.P2]
        esc_min_lux = -1
        e_h = 3

        [[dimming]]
        schedule = [{from = "25:00", level = 0.5}, {from = "05:00", level = 1.5}]

        [[dimming]]
        light_source = "Natrium"

        [adaptive_classes]
        P3 = "P8"
    """))
    with pytest.raises(ValidationError) as exc:
        load_catalogue(bad)
    text = str(exc.value)
    for needle in ("unknown class 'P9'", "-1 is not a number of lux", "e_h", "no time HH:MM",
                   "1.5 is not in 0 … 1", "unknown 'Natrium'", "schedule", "missing or empty",
                   "unknown class 'P8'", "dimming 1", "dimming 2"):
        assert needle in text, needle


def test_photometric_for_profile_keeps_the_result_for_the_same_inputs(tmp_path):
    from gis.photometry import photometric_for_profile
    from layers import load_profile

    write(tmp_path, "rot.ldt", ldt_text(1, [0.0], GAMMA, [I_ROT]))
    cat = write(tmp_path, "k.toml", '[[luminaire]]\nfile = "rot.ldt"\nlight_source = "HPS"\n')
    prof = load_profile(Path(__file__).resolve().parents[1] / "data/stromstad/profile.toml")
    prof = dataclasses.replace(prof, sources=dataclasses.replace(prof.sources, photometry=cat))
    segs, lums = _scene([(0.0, -3.0, "HPS")])
    first = photometric_for_profile(segs, lums, prof)
    assert photometric_for_profile(segs.copy(), lums.copy(), prof) is first
    brighter = photometric_for_profile(segs, lums.assign(wattage_w=100.0), prof)
    assert brighter is not first  # another input: computed again
    moved = photometric_for_profile(segs, lums.set_geometry(lums.translate(1.0, 0.0)), prof)
    assert moved is not first and moved.values.loc["s1", "e_av_lux"] != pytest.approx(
        first.values.loc["s1", "e_av_lux"])


@pytest.mark.parametrize("kind", ["real", "irregular"])
def test_intensity_lookup_matches_an_independent_bilinear_interpolation(kind):
    from scipy.interpolate import RegularGridInterpolator

    from gis.photometry import intensity_cd
    from layers.photometric import Photometry

    rng = np.random.default_rng(7)
    if kind == "real":  # C spacing 5/10/15°, γ 2.5/5/10°: the step-lattice look-up
        p = read_ldt(Path(__file__).resolve().parents[1] / "data/photometry/road_luminaire.ldt")
    else:  # spacings that are not multiples of one step: searchsorted
        p = Photometry("x", "x", np.array([0, 7.3, 90, 180, 270, 360.0]),
                       np.array([0, 3.3, 10, 47.1, 90]), rng.uniform(0, 100, (6, 5)), 1e3,
                       "none")
    ref = RegularGridInterpolator((p.c_deg, p.gamma_deg), p.intensity_cd, method="linear")
    c = np.r_[rng.uniform(0, 360, 20000), p.c_deg[:-1]]
    g = np.r_[rng.uniform(0, p.gamma_deg[-1], 20000), np.resize(p.gamma_deg, len(p.c_deg) - 1)]
    assert intensity_cd(p, c, g) == pytest.approx(ref(np.column_stack([c, g])), rel=1e-9,
                                                  abs=1e-9)
