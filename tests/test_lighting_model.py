"""Lighting model: hand-computed illuminance, segment summaries, target classes, status.

Hand values: a cosine-model luminaire of maintained flux Φ at height h has I0 = Φ/π and gives
E = I0·h²/(h² + d²)² at horizontal distance d (E = I0/h² straight below).
"""

import math
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from gis._crs import CRSError
from gis.lighting_model import (
    STATUS_CATEGORIES,
    inventory_present,
    lighting_status,
    luminaire_flux_lm,
    luminaire_height_m,
    reference_illuminance_xy,
    target_class,
)
from gis.lighting_model import (
    illuminance_at as _illuminance_at,
)
from gis.lighting_model import (
    illuminance_xy as _illuminance_xy,
)
from gis.lighting_model import (
    segment_illuminance as _segment_illuminance,
)
from layers import LayerWarning
from layers.profile import Lighting

# The hand values below are for the Lambertian "cosine" model; the default "downward"
# model has its own hand-value test at the end of this file.
illuminance_at = partial(_illuminance_at, model="cosine")
illuminance_xy = partial(_illuminance_xy, model="cosine")
segment_illuminance = partial(_segment_illuminance, model="cosine")

CRS = "EPSG:3007"
MF = {"LED": 0.85, "HPS": 0.80}


def lums(xy, source="LED", i0=None, lumen=np.nan, watt=np.nan, h=5.0, origin="inventory"):
    """Luminaires at xy; with ``i0`` the lumen is chosen so that Φ/π == i0 (cosine model)."""
    n = len(xy)
    if i0 is not None:
        lumen = i0 * math.pi / MF[source]
    return gpd.GeoDataFrame(
        {"light_source": [source] * n, "wattage_w": [watt] * n, "lumen_lm": [lumen] * n,
         "mounting_height_m": [h] * n, "source": [origin] * n},
        geometry=[Point(p) for p in xy], index=pd.Index([f"L{k}" for k in range(n)],
                                                        name="luminaire_id"), crs=CRS)


def points(xy, crs=CRS):
    return gpd.GeoSeries([Point(p) for p in xy], index=[f"p{k}" for k in range(len(xy))],
                         crs=crs)


def segs(lines, path_type="footway", lit="unknown"):
    n = len(lines)
    return gpd.GeoDataFrame(
        {"path_type": [path_type] * n, "lit": [lit] * n},
        geometry=[LineString(c) for c in lines],
        index=pd.Index([f"w{k}:0000" for k in range(n)], name="segment_id"), crs=CRS)


def no_lums():
    return lums([]).set_crs(CRS, allow_override=True)


# --- luminaire properties -----------------------------------------------------------------

def test_flux_from_lumen_wattage_or_default():
    frame = pd.DataFrame({
        "light_source": ["LED", "HPS", "Hg", "unknown", "sodium?", "LED"],
        "lumen_lm": [1000.0, np.nan, np.nan, np.nan, np.nan, 0.0],
        "wattage_w": [np.nan, 100.0, np.nan, np.nan, np.nan, 20.0],
    }, index=list("abcdef"))
    flux = luminaire_flux_lm(frame)
    assert flux.name == "maintained_flux_lm"
    assert list(flux.index) == list("abcdef")
    assert flux.tolist() == pytest.approx([
        1000 * 0.85,          # lumen given
        100 * 90 * 0.8,       # wattage x HPS efficacy
        125 * 45 * 0.7,       # default Hg 125 W
        70 * 60 * 0.75,       # unknown: default 70 W at 60 lm/W
        70 * 60 * 0.75,       # unexpected text counts as unknown
        20 * 110 * 0.85,      # lumen 0 counts as missing
    ])


def test_height_default_for_missing_or_zero():
    frame = pd.DataFrame({"mounting_height_m": [4.5, np.nan, 0.0]}, index=["a", "b", "c"])
    h = luminaire_height_m(frame, default_m=6.0)
    assert h.name == "mounting_height_m"
    assert h.tolist() == [4.5, 6.0, 6.0]


# --- illuminance at points ----------------------------------------------------------------

def test_single_luminaire_hand_values():
    lum = lums([(0, 0)], i0=500.0, h=5.0)
    e = illuminance_at(points([(0, 0), (5, 0), (0, 18), (20, 0)]), lum)
    assert e.name == "illuminance_lx"
    assert list(e.index) == ["p0", "p1", "p2", "p3"]
    assert e["p0"] == pytest.approx(500 / 25)                        # I0/h² = 20 lx
    assert e["p1"] == pytest.approx(500 * 25 / 50 ** 2)              # I0·h²/r⁴ = 5 lx
    assert e["p2"] == pytest.approx(500 * 25 / (25 + 18 ** 2) ** 2)  # inside 75° (18.66 m)
    assert e["p3"] == 0.0                                            # beyond 75°


def test_cutoff_distance_and_two_luminaires_add():
    lum = lums([(0, 0), (10, 0)], i0=500.0, h=5.0)
    e = illuminance_at(points([(5, 0), (0, 12)]), lum, cutoff_m=10.0)
    assert e["p0"] == pytest.approx(2 * 5.0)
    # (0, 12) is 12 m and 15.6 m away: both beyond cutoff_m = 10
    assert e["p1"] == 0.0


def test_isotropic_model_hand_values():
    lum = lums([(0, 0)], i0=500.0, h=5.0)   # Φ = 500π, I = Φ/(4π) = 125 cd
    e = illuminance_at(points([(0, 0), (5, 0), (40, 0)]), lum, model="isotropic")
    assert e.tolist() == pytest.approx([125 / 25, 125 * 5 / 50 ** 1.5, 125 * 5 / 1625 ** 1.5])


def test_reference_formula_matches_brute_force():
    rng = np.random.default_rng(42)
    px, py = rng.uniform(0, 300, (2, 200))
    lx, ly = rng.uniform(-20, 320, (2, 300))
    got = reference_illuminance_xy(px, py, lx, ly, intensity_cd=1500.0, height_m=6.0,
                                   cutoff_m=50.0)
    want = np.zeros(len(px))
    for i in range(len(px)):
        for j in range(len(lx)):
            d2 = (px[i] - lx[j]) ** 2 + (py[i] - ly[j]) ** 2
            if d2 <= 50.0 ** 2:
                want[i] += 1500.0 * 6.0 / (36.0 + d2) ** 1.5
    assert (want > 0).sum() > 150
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)


def test_illuminance_xy_without_luminaires_is_zero():
    out = illuminance_xy([0.0, 1.0], [0.0, 1.0], [], [], [], [])
    assert out.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("call", [
    lambda s, lu: segment_illuminance(s, lu),
    lambda s, lu: illuminance_at(lu.geometry, lu),
])
def test_degrees_are_refused(call):
    s = segs([[(11.1, 58.9), (11.2, 58.9)]]).set_crs("EPSG:4326", allow_override=True)
    lu = lums([(11.1, 58.9)]).set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(CRSError, match="in degrees"):
        call(s, lu)


# --- segment summaries --------------------------------------------------------------------
# A 10 m segment (0,0)-(10,0) has samples at x = 1, 3, 5, 7, 9. A luminaire at (5, 0), h = 5,
# I0 = 250 cd gives E = 250·25/(25 + d²)² at d = 4, 2, 0, 2, 4:
E0, E2, E4 = 250 / 25, 250 * 25 / 29 ** 2, 250 * 25 / 41 ** 2   # 10, 7.432, 3.718 lx
AVG = (E0 + 2 * E2 + 2 * E4) / 5                                # 6.46 lx: P4 met (5 / 1)
MIN = E4


def test_segment_illuminance_hand_values():
    s = segs([[(0, 0), (10, 0)], [(0, 100), (10, 100)], [(0, 500), (10, 500)]])
    lu = lums([(5, 0)], source="HPS", i0=250.0)
    il = segment_illuminance(s, lu)
    assert list(il.index) == list(s.index)
    assert list(il.columns) == ["avg_lux", "min_lux", "n_luminaires_30m", "nearest_luminaire_m",
                                "share_old_tech", "dominant_source", "share_default_light",
                                "n_out_of_service_30m"]
    assert il.loc["w0:0000", "avg_lux"] == pytest.approx(AVG)
    assert il.loc["w0:0000", "min_lux"] == pytest.approx(MIN)
    assert il.loc["w0:0000", "n_luminaires_30m"] == 1
    assert il.loc["w0:0000", "nearest_luminaire_m"] == pytest.approx(0.0)
    assert il.loc["w0:0000", "share_old_tech"] == 1.0
    assert il.loc["w0:0000", "dominant_source"] == "HPS"
    # 100 m away: no light, no luminaire within 30 m, nearest at 100 m
    assert il.loc["w1:0000", ["avg_lux", "min_lux"]].tolist() == [0.0, 0.0]
    assert il.loc["w1:0000", "n_luminaires_30m"] == 0
    assert il.loc["w1:0000", "nearest_luminaire_m"] == pytest.approx(100.0)
    assert il.loc["w1:0000", "dominant_source"] == ""
    assert il.loc["w1:0000", "share_old_tech"] == 0.0
    # 500 m away: nothing within 200 m
    assert np.isnan(il.loc["w2:0000", "nearest_luminaire_m"])


def test_share_old_tech_and_dominant_source():
    s = segs([[(0, 0), (10, 0)]])
    lu = pd.concat([lums([(0, 0)], source="LED", i0=100.0), lums([(10, 0)], source="HPS",
                                                                 i0=300.0)])
    lu.index = pd.Index(["a", "b"], name="luminaire_id")
    il = segment_illuminance(s, lu)
    # mirror-symmetric positions: each luminaire's light sums to the same geometry factor
    assert il.loc["w0:0000", "share_old_tech"] == pytest.approx(0.75)
    assert il.loc["w0:0000", "dominant_source"] == "HPS"
    assert il.loc["w0:0000", "n_luminaires_30m"] == 2


def test_segment_illuminance_without_luminaires_and_inputs_untouched():
    s = segs([[(0, 0), (10, 0)]])
    before = s.copy()
    il = segment_illuminance(s, no_lums())
    pd.testing.assert_frame_equal(s, before)
    assert il.loc["w0:0000", "avg_lux"] == 0.0
    assert np.isnan(il.loc["w0:0000", "nearest_luminaire_m"])


def test_segment_illuminance_agrees_with_illuminance_at():
    rng = np.random.default_rng(3)
    starts = rng.uniform(0, 200, (40, 2))
    ends = starts + rng.uniform(-20, 20, (40, 2))
    s = segs([[tuple(a), tuple(b)] for a, b in zip(starts, ends, strict=True)])
    lu = lums([tuple(p) for p in rng.uniform(0, 200, (30, 2))], i0=300.0, h=6.0)
    il = segment_illuminance(s, lu, samples_per_segment=3)
    pts = gpd.GeoSeries(s.geometry.interpolate(0.5, normalized=True), crs=CRS)
    mid = illuminance_at(pts, lu)
    # with 3 samples the middle one is the midpoint: min <= midpoint value <= max
    assert (il["min_lux"] <= mid + 1e-9).all()
    dist = s.geometry.apply(lambda g: lu.distance(g).min())
    assert il["nearest_luminaire_m"].to_numpy() == pytest.approx(dist.to_numpy())


# --- target class -------------------------------------------------------------------------

def test_target_class_by_path_type_school_and_priority_area():
    s = pd.DataFrame({"path_type": ["footway", "footway", "track", "crossing", "path"]},
                     index=["a", "b", "c", "d", "e"])
    prof = Lighting(school_class="P3", priority_area_class="P2")
    near_school = pd.Series([False, True, False, True], index=["a", "b", "c", "d"])
    prio = pd.Series([True], index=["c"])
    t = target_class(s, prof, near_school=near_school, in_priority_area=prio)
    assert t.name == "target_class"
    assert t.to_dict() == {"a": "P4", "b": "P3", "c": "P2", "d": "P3", "e": "P5"}


def test_target_class_keeps_the_stricter_class():
    s = pd.DataFrame({"path_type": ["crossing", "track"]}, index=["a", "b"])
    lenient = Lighting(school_class="P5")
    t = target_class(s, lenient, near_school=pd.Series([True, True], index=["a", "b"]))
    assert t.to_dict() == {"a": "P3", "b": "P5"}   # P3 stays P3; P6 becomes P5


def test_target_class_unknown_path_type_warns():
    s = pd.DataFrame({"path_type": ["bridleway"]}, index=["a"])
    prof = Lighting(target_class={"footway": "P4"})
    with pytest.warns(LayerWarning, match="bridleway"):
        t = target_class(s, prof)
    assert t.tolist() == ["P4"]


# --- lighting status ----------------------------------------------------------------------

def status_of(source, i0, lit="unknown", has_inventory=True, path_type="footway"):
    s = segs([[(0, 0), (10, 0)]], path_type=path_type, lit=lit)
    lu = lums([(5, 0)], source=source, i0=i0) if i0 else no_lums()
    il = segment_illuminance(s, lu)
    st = lighting_status(s, il, target_class(s, Lighting()), has_inventory=has_inventory)
    assert st.name == "lighting_status"
    assert list(st.cat.categories) == list(STATUS_CATEGORIES)
    return st.iloc[0]


def test_status_unlit_underlit_old_ok():
    assert status_of("LED", None) == "unlit"
    assert status_of("HPS", 250.0) == "lit_old_technology"   # avg 6.46 ≥ 5, min 3.72 ≥ 1
    assert status_of("LED", 250.0) == "ok"
    assert status_of("LED", 50.0) == "underlit"              # avg 1.29 < 5
    # same light, stricter class (crossing: P3, 7.5 / 1.5 lx) -> underlit
    assert status_of("LED", 250.0, path_type="crossing") == "underlit"


def test_status_inventory_ignores_osm_lit():
    assert status_of("LED", None, lit="yes", has_inventory=True) == "unlit"


@pytest.mark.parametrize(("lit", "expected"), [
    ("yes", "ok"), ("automatic", "ok"), ("limited", "underlit"), ("no", "unlit"),
    ("unknown", "unknown"),
])
def test_status_without_inventory_follows_osm_lit(lit, expected):
    assert status_of("LED", None, lit=lit, has_inventory=False) == expected


def test_status_without_inventory_uses_mapped_lamps_when_lit_unknown():
    assert status_of("HPS", 250.0, lit="unknown", has_inventory=False) == "lit_old_technology"
    assert status_of("LED", 250.0, lit="no", has_inventory=False) == "ok"


def test_findings_turn_ok_and_unknown_into_underlit():
    s = segs([[(0, 0), (10, 0)], [(0, 100), (10, 100)], [(0, 300), (10, 300)]], lit="unknown")
    lu = pd.concat([lums([(5, 0)], source="LED", i0=250.0, origin="osm"),
                    lums([(5, 100)], source="HPS", i0=250.0, origin="osm")])
    lu.index = pd.Index(["a", "b"], name="luminaire_id")
    assert not inventory_present(lu)
    il = segment_illuminance(s, lu)
    t = target_class(s, Lighting())
    findings = pd.Series(True, index=s.index)
    before = lighting_status(s, il, t, has_inventory=False)
    after = lighting_status(s, il, t, findings, has_inventory=False)
    assert before.tolist() == ["ok", "lit_old_technology", "unknown"]
    assert after.tolist() == ["underlit", "lit_old_technology", "underlit"]
    assert list(after.index) == list(s.index)


def test_downward_model_hand_values():
    """Default model: I = Φ / (2π(1 − cos 80°)), E = I·h/r³, nothing beyond h·tan 80°."""
    flux = 3000.0
    lum = lums([(0, 0)], lumen=flux / MF["LED"], h=5.0)
    i = flux / (2 * math.pi * (1 - math.cos(math.radians(80))))
    e = _illuminance_at(points([(0, 0), (10, 0), (28, 0), (29, 0)]), lum)
    assert e.iloc[0] == pytest.approx(i / 25, rel=1e-9)
    assert e.iloc[1] == pytest.approx(i * 5 / 125 ** 1.5, rel=1e-9)
    assert e.iloc[2] > 0                      # 28 m < 5·tan 80° = 28.36 m
    assert e.iloc[3] == 0                     # beyond the 80° cut-off
    assert _illuminance_at(points([(0, 0)]), lum, model="downward").iloc[0] == e.iloc[0]


def test_segment_illuminance_fast_path_matches_geos(monkeypatch):
    """Segment arrays + KD-tree give the same light, counts and distances as GEOS."""
    import gis.lighting_model as lm

    rng = np.random.default_rng(8)
    starts = rng.uniform(0, 700, (150, 2))
    mids = starts + rng.uniform(-10, 10, (150, 2))
    ends = mids + rng.uniform(-10, 10, (150, 2))
    s = segs([[tuple(a), tuple(b), tuple(c)] for a, b, c in zip(starts, mids, ends, strict=True)])
    lu = pd.concat([lums([tuple(p) for p in rng.uniform(0, 300, (40, 2))], source="HPS",
                         i0=300.0, h=6.0),
                    lums([tuple(p) for p in rng.uniform(0, 300, (20, 2))], i0=200.0, h=8.0)])
    lu.index = pd.Index([f"L{k}" for k in range(len(lu))], name="luminaire_id")
    fast = _segment_illuminance(s, lu)
    monkeypatch.setattr(lm.SegmentArrays, "of", staticmethod(lambda lines: None))
    geos = _segment_illuminance(s, lu)
    assert (fast["avg_lux"] > 0).any() and fast["nearest_luminaire_m"].isna().any()
    assert (fast["nearest_luminaire_m"] > 50).any()  # some found by the nearest search
    pd.testing.assert_frame_equal(fast, geos, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fast", [True, False], ids=["arrays", "geos"])
def test_segment_illuminance_in_chunks_gives_the_same_numbers(monkeypatch, fast):
    """The pair search in chunks of lines and the sample sums in chunks of whole segments
    (bounded memory) give exactly the numbers of all pairs at once, on the fast path
    (pairs by segment) and on GEOS's (pairs sorted first)."""
    import gis.lighting_model as lm

    rng = np.random.default_rng(11)
    starts = rng.uniform(0, 400, (120, 2))
    ends = starts + rng.uniform(-15, 15, (120, 2))
    s = segs([[tuple(a), tuple(b)] for a, b in zip(starts, ends, strict=True)])
    lu = pd.concat([lums([tuple(p) for p in rng.uniform(0, 400, (60, 2))], source="HPS",
                         i0=300.0, h=6.0),
                    lums([tuple(p) for p in rng.uniform(0, 400, (30, 2))], i0=200.0, h=8.0,
                         origin="osm")])
    lu.index = pd.Index([f"L{k}" for k in range(len(lu))], name="luminaire_id")
    if not fast:
        monkeypatch.setattr(lm.SegmentArrays, "of", staticmethod(lambda lines: None))
    whole = _segment_illuminance(s, lu)
    monkeypatch.setattr(lm, "SAMPLE_CHUNK_PAIRS", 7)
    monkeypatch.setattr(lm, "PAIR_CHUNK_LINES", 13)
    chunked = _segment_illuminance(s, lu)
    assert (whole["avg_lux"] > 0).sum() > 40 and (whole["share_default_light"] > 0).any()
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)


@pytest.mark.parametrize("model", ["downward", "cosine", "isotropic"])
def test_lux_terms_give_the_same_numbers_as_lux_from_distance(model):
    from gis.lighting_model import lux_at, lux_from_distance, lux_terms

    rng = np.random.default_rng(5)
    intensity = rng.uniform(50, 900, 30)
    height = rng.uniform(3, 12, 30)
    which = rng.integers(0, 30, 500)
    d2 = rng.uniform(0, 60, 500) ** 2
    want = lux_from_distance(d2, intensity[which], height[which], 50.0, model)
    got = lux_at(d2, lux_terms(intensity, height, 50.0, model), which)
    assert (want > 0).any() and (want == 0).any()  # inside and beyond the reach
    np.testing.assert_array_equal(got, want)


# --- operating state and what the light rests on (issue 12) -------------------------------

def test_out_of_service_luminaires_give_no_light_and_are_counted_as_faults():
    s = segs([[(0, 0), (10, 0)], [(0, 100), (10, 100)]])
    lu = lums([(5, 0), (5, 100)], lumen=3000.0, h=6.0)
    lit = segment_illuminance(s, lu)
    lu = lu.assign(operating=["in_service", "out_of_service"])
    il = segment_illuminance(s, lu)
    assert il.loc["w0:0000", "avg_lux"] == pytest.approx(lit.loc["w0:0000", "avg_lux"])
    assert il.loc["w1:0000", "avg_lux"] == 0.0 and lit.loc["w1:0000", "avg_lux"] > 1
    assert il["n_out_of_service_30m"].tolist() == [0, 1]
    assert il["n_luminaires_30m"].tolist() == [1, 0]
    removed = segment_illuminance(s, lu.assign(operating=["removed", "planned"]))
    assert (removed["avg_lux"] == 0).all() and (removed["n_out_of_service_30m"] == 0).all()


def test_share_of_light_from_defaults():
    s = segs([[(0, 0), (10, 0)], [(0, 100), (10, 100)], [(0, 200), (10, 200)]])
    known = lums([(5, 0)], lumen=3000.0, h=6.0)
    no_flux = lums([(5, 100)], h=6.0)                 # neither lumen nor wattage
    no_height = lums([(5, 200)], watt=30.0, h=np.nan)  # wattage, but no height
    both = pd.concat([known, no_flux.rename(index={"L0": "L1"}),
                      no_height.rename(index={"L0": "L2"})])
    il = segment_illuminance(s, both)
    assert il["share_default_light"].tolist() == pytest.approx([0.0, 1.0, 1.0])
    osm = segment_illuminance(s, known.assign(source="osm"))
    assert osm.loc["w0:0000", "share_default_light"] == pytest.approx(1.0)
