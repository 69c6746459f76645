"""layers.photometric (EULUMDAT / IES readers, catalogue) and gis.photometry (EN 13201-3)."""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from gis.lighting_model import segment_illuminance
from gis.photometry import (
    calculation_grid,
    en13201_grid_counts,
    intensity_cd,
    luminaire_angles,
    segment_photometric_illuminance,
)
from layers._common import ValidationError
from layers.photometric import (
    Catalogue,
    CatalogueEntry,
    load_catalogue,
    read_ies,
    read_ldt,
    read_photometry,
)
from trygga_cli.main import app

ROOT = Path(__file__).resolve().parents[1]
LDT = ROOT / "data/photometry/road_luminaire.ldt"
IES = ROOT / "tests/fixtures/photometry/road_luminaire.ies"
CRS = "EPSG:3007"
GAMMA = [0.0, 30.0, 60.0, 90.0]


def ldt_text(isym: int, c_all: list[float], gamma: list[float], rows: list[list[float]],
             flux: float = 1000.0, name: str = "Test") -> str:
    """A EULUMDAT file with the given stored C-planes (one value a line)."""
    head = ["Test Co", "1", str(isym), str(len(c_all)), "0", str(len(gamma)), "0", "r1", name,
            "T1", "t.ldt", "2025-01-01", "100", "0", "50", "80", "0", "50", "50", "50", "50",
            "100", "80", "1", "0", "1", "1", "LED", f"{flux:g}", "3000K", "80", "20"]
    head += ["0.5"] * 10
    return "\n".join(head + [f"{c:g}" for c in c_all] + [f"{g:g}" for g in gamma]
                     + [f"{v:.12g}" for r in rows for v in r]) + "\n"


def ies_text(h: list[float], v: list[float], rows: list[list[float]], lumens: float = 1000.0,
             tilt: str = "NONE", ptype: int = 1) -> str:
    return "\n".join([
        "IESNA:LM-63-2002", "[LUMINAIRE] Test", f"TILT={tilt}",
        f"1 {lumens:g} 1 {len(v)} {len(h)} {ptype} 2 0.1 0.1 0.05", "1 1 20",
        " ".join(f"{x:g}" for x in v), " ".join(f"{x:g}" for x in h),
        *(" ".join(f"{x:.12g}" for x in r) for r in rows)]) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- the real file ------------------------------------------------------------------


def test_real_ldt_header_symmetry_and_flux():
    p = read_ldt(LDT)
    assert (p.name, p.symmetry, p.rated_flux_lm, p.power_w) == (
        "Road Runner", "C90-C270", 33200.0, 276.0)
    # Isym 3 stores 27 of 52 planes; expanded: 52 + the closing C360
    assert len(p.c_deg) == 53 and p.c_deg[0] == 0.0 and p.c_deg[-1] == 360.0
    assert p.intensity_cd.shape == (53, 25)
    # cd = cd/klm × 33.2 klm; C0 is stored row 14 (C270 … C355 come first)
    assert p.intensity_cd[0, 14] == pytest.approx(369 * 33.2)
    # C90-C270 symmetry: I(C) = I(180 − C)
    c = np.array([10.0, 45.0, 80.0, 135.0])
    assert intensity_cd(p, c, 62.5) == pytest.approx(intensity_cd(p, 180.0 - c, 62.5))
    # independent check: the flux integrated from the table is the header's light output
    # ratio (LORL 84.42 %) of the lamp flux
    assert p.luminaire_flux_lm() / p.rated_flux_lm == pytest.approx(0.8442, abs=0.005)


def test_ldt_and_ies_of_the_same_luminaire_give_the_same_illuminance():
    a, b = read_ldt(LDT), read_photometry(IES)
    assert b.symmetry == "C90-C270" and b.name == "Road Runner"
    np.testing.assert_allclose(a.c_deg, b.c_deg)
    np.testing.assert_allclose(a.intensity_cd, b.intensity_cd, rtol=1e-12)
    segs, lums = _scene([(0.0, -4.0, "HPS")])
    res = [segment_photometric_illuminance(segs, lums, _catalogue(p)).values
           for p in (a, b)]
    assert (res[0]["lux_model"] == "photometric").all()
    assert res[0]["e_av_lux"].iloc[0] > 1.0
    pd.testing.assert_frame_equal(res[0], res[1], rtol=1e-12)


# --- symmetries -----------------------------------------------------------------------


def _f(kind: str, c: np.ndarray, g: np.ndarray) -> np.ndarray:
    rc = np.radians(c)
    shape = {"none": 100 + 30 * np.cos(rc) + 20 * np.sin(rc) + 5 * np.sin(3 * rc),
             "rot": np.full_like(rc, 100.0),
             "c0": 100 + 30 * np.cos(rc) + 10 * np.cos(2 * rc),
             "c90": 100 + 30 * np.sin(rc) + 10 * np.cos(2 * rc),
             "both": 100 + 20 * np.cos(2 * rc) + 10 * np.cos(4 * rc)}[kind]
    return shape * np.cos(np.radians(g) / 2)


C_ALL = [float(c) for c in range(0, 360, 30)]  # Mc = 12
STORED = {0: ("none", C_ALL), 1: ("rot", [0.0]), 2: ("c0", C_ALL[:7]),
          3: ("c90", C_ALL[9:] + C_ALL[:4]), 4: ("both", C_ALL[:4])}


@pytest.mark.parametrize("isym", [0, 1, 2, 3, 4])
def test_ldt_symmetries_expand_to_the_full_distribution(tmp_path, isym):
    kind, stored = STORED[isym]
    rows = [list(_f(kind, np.full(4, c), np.array(GAMMA))) for c in stored]
    p = read_ldt(write(tmp_path, "s.ldt", ldt_text(isym, C_ALL, GAMMA, rows)))
    cc, gg = np.meshgrid(np.arange(0, 361, 30.0), GAMMA, indexing="ij")
    assert intensity_cd(p, cc, gg) == pytest.approx(_f(kind, cc, gg), rel=1e-9)


@pytest.mark.parametrize(("kind", "h"), [
    ("none", list(range(0, 361, 30))), ("rot", [0]), ("c0", list(range(0, 181, 30))),
    ("c90", list(range(90, 271, 30))), ("both", [0, 30, 60, 90])])
def test_ies_symmetries_expand_to_the_full_distribution(tmp_path, kind, h):
    rows = [list(_f(kind, np.full(4, float(c)), np.array(GAMMA))) for c in h]
    p = read_ies(write(tmp_path, "s.ies", ies_text([float(x) for x in h], GAMMA, rows)))
    cc, gg = np.meshgrid(np.arange(0, 361, 30.0), GAMMA, indexing="ij")
    assert intensity_cd(p, cc, gg) == pytest.approx(_f(kind, cc, gg), rel=1e-9)


def test_ldt_symmetry_that_does_not_fit_the_c_angles_is_refused(tmp_path):
    c = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0, 140.0]  # not 0 … 360: Isym 3 impossible
    rows = [[1.0, 1.0, 1.0, 0.0]] * 5
    with pytest.raises(ValidationError, match=r"symmetry 3 stores C270 … C90"):
        read_ldt(write(tmp_path, "x.ldt", ldt_text(3, c, GAMMA, rows)))


def test_bilinear_interpolation_between_planes_and_angles(tmp_path):
    rows = [[100.0, 80.0, 0.0], [200.0, 120.0, 0.0], [100.0, 80.0, 0.0], [200.0, 120.0, 0.0]]
    p = read_ldt(write(tmp_path, "b.ldt", ldt_text(0, [0, 90, 180, 270], [0, 40, 80], rows)))
    # halfway between C0 and C90, a quarter between γ 0 and 40: bilinear by hand
    assert intensity_cd(p, 45.0, 10.0) == pytest.approx(
        0.5 * (0.75 * 100 + 0.25 * 80) + 0.5 * (0.75 * 200 + 0.25 * 120))
    assert intensity_cd(p, 315.0, 0.0) == pytest.approx(150.0)  # wraps across C360
    assert intensity_cd(p, 0.0, 85.0) == 0.0  # beyond the last γ


# --- geometry and the hand computation ------------------------------------------------


def test_angles_orientation_and_tilt():
    # C0 towards east (bearing 90°): a point to the north is in the C90 plane
    c, g, r = luminaire_angles(np.array([0.0, 5.0]), np.array([5.0, 0.0]), np.array([5.0, 5.0]),
                               np.array([90.0, 90.0]), np.zeros(2))
    assert c == pytest.approx([90.0, 0.0]) and g == pytest.approx([45.0, 45.0])
    assert r == pytest.approx([math.sqrt(50)] * 2)
    # tilted 10° up towards C90: γ of that point drops by 10°
    _, g2, _ = luminaire_angles(np.array([0.0]), np.array([5.0]), np.array([5.0]),
                                np.array([90.0]), np.array([10.0]))
    assert g2 == pytest.approx([35.0])


def _rot_luminaire(tmp_path: Path) -> Path:
    # rotationally symmetric: I = 300, 240, 120, 0 cd at γ 0, 30, 60, 90 (1000 lm lamp)
    return write(tmp_path, "rot.ldt", ldt_text(1, [0.0], GAMMA, [[300, 240, 120, 0]]))


def _scene(lums: list[tuple[float, float, str]], length: float = 20.0,
           ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    segs = gpd.GeoDataFrame({"path_type": ["footway"]}, geometry=[
        shapely.LineString([(-length / 2, 0.0), (length / 2, 0.0)])], crs=CRS,
        index=pd.Index(["s1"], name="segment_id"))
    lum = gpd.GeoDataFrame({
        "light_source": [s for *_, s in lums], "light_source_raw": [s for *_, s in lums],
        "wattage_w": [50.0] * len(lums), "lumen_lm": [np.nan] * len(lums),
        "mounting_height_m": [5.0] * len(lums), "source": ["inventory"] * len(lums)},
        geometry=[shapely.Point(x, y) for x, y, _ in lums], crs=CRS,
        index=pd.Index([f"L{i}" for i in range(len(lums))], name="luminaire_id"))
    return segs, lum


def _catalogue(photometry, **kw) -> Catalogue:
    entry = CatalogueEntry(file=Path(photometry.source), photometry=photometry,
                           light_source="HPS", maintenance_factor=1.0, **kw)
    return Catalogue((entry,), {"default": 2.0})


def test_single_luminaire_against_a_hand_computation(tmp_path):
    p = read_ldt(_rot_luminaire(tmp_path))
    # by hand, h = 5 m, E = I·h/r³:
    #   below the pole  : γ 0°,  I 300           -> 300·5/125            = 12.0 lx
    #   5 m out         : γ 45°, I (240+120)/2   -> 180·5/50^1.5         = 2.5456 lx
    #   5√3 m out       : γ 60°, I 120           -> 120·5/1000           = 0.6 lx
    for d, expected in ((0.0, 12.0), (5.0, 2.5456), (5 * math.sqrt(3), 0.6)):
        c, g, r = luminaire_angles(np.array([d]), np.array([0.0]), np.array([5.0]),
                                   np.array([0.0]), np.array([0.0]))
        assert float(intensity_cd(p, c, g)[0] * 5.0 / r[0] ** 3) == pytest.approx(
            expected, abs=5e-5)
    # the whole EN 13201-3 grid of a 20 m × 2 m field, pole 3 m off the path centre line
    segs, lums = _scene([(0.0, -3.0, "HPS")])
    v = segment_photometric_illuminance(segs, lums, _catalogue(p)).values.loc["s1"]
    xs = -10 + (np.arange(10) + 0.5) * 2.0          # N = 10 along (S ≤ 30 m)
    ys = -1 + (np.arange(3) + 0.5) * 2.0 / 3         # n = 3 across (W/n ≤ 1.5 m)
    px, py = np.meshgrid(xs, ys)
    d = np.hypot(px, py + 3.0)
    gamma = np.degrees(np.arctan2(d, 5.0))
    e = np.interp(gamma, GAMMA, [300, 240, 120, 0]) * 5.0 / (d * d + 25.0) ** 1.5
    assert v["grid_points"] == 30 and v["lux_model"] == "photometric"
    assert v["e_av_lux"] == pytest.approx(e.mean(), rel=1e-9)
    assert v["e_min_lux"] == pytest.approx(e.min(), rel=1e-9)
    assert v["uniformity_u0"] == pytest.approx(e.min() / e.mean(), rel=1e-9)


def test_grid_counts_and_positions():
    n_along, n_across = en13201_grid_counts([30.0, 30.1, 45.0, 10.0], [4.5, 4.51, 1.0, 3.0])
    assert n_along.tolist() == [10, 11, 15, 10] and n_across.tolist() == [3, 4, 3, 3]
    grid = calculation_grid(np.array([shapely.LineString([(0, 0), (0, 30)])]), np.array([3.0]))
    # a path to the north: "across" runs west–east, points at cell centres
    assert sorted(set(np.round(grid.x, 6))) == [-1.0, 0.0, 1.0]
    assert sorted(set(np.round(grid.y, 6)))[:2] == [1.5, 4.5] and grid.counts.tolist() == [30]


def test_fallback_and_model_flags(tmp_path):
    p = read_ldt(_rot_luminaire(tmp_path))
    segs = gpd.GeoDataFrame({"path_type": ["footway"] * 3}, geometry=[
        shapely.LineString([(0, 0), (20, 0)]), shapely.LineString([(500, 0), (520, 0)]),
        shapely.LineString([(1000, 0), (1020, 0)])], crs=CRS,
        index=pd.Index(["both", "cat", "led"], name="segment_id"))
    _, lums = _scene([(10.0, -3.0, "HPS"), (12.0, 3.0, "LED"), (510.0, -3.0, "HPS"),
                      (1010.0, -3.0, "LED")])
    res = segment_photometric_illuminance(segs, lums, _catalogue(p))
    assert res.matched.tolist() == [0, -1, 0, -1]
    v = res.values
    assert v["lux_model"].astype(str).to_dict() == {
        "both": "mixed", "cat": "photometric", "led": "point_source"}
    assert np.isnan(v.loc["led", "e_av_lux"]) and v.loc["led", "grid_points"] == 0
    # the mixed segment gets more light than from its catalogue luminaire alone
    alone = segment_photometric_illuminance(segs.loc[["both"]], lums.iloc[[0]],
                                            _catalogue(p)).values
    assert v.loc["both", "e_av_lux"] > alone.loc["both", "e_av_lux"]
    # fallback luminaires use today's model: a catalogue without entries changes nothing
    point = segment_illuminance(segs, lums)
    empty = segment_photometric_illuminance(segs, lums, Catalogue(()))
    assert (empty.values["lux_model"] == "point_source").all()
    assert point.loc["led", "avg_lux"] > 0


def test_flux_from_inventory_scales_the_file(tmp_path):
    p = read_ldt(_rot_luminaire(tmp_path))
    segs, lums = _scene([(0.0, -3.0, "HPS")])
    fixed = segment_photometric_illuminance(segs, lums, _catalogue(p)).values
    scaled = segment_photometric_illuminance(
        segs, lums, _catalogue(p, flux_from_inventory=True)).values
    # HPS 50 W × 90 lm/W × MF 0.80 = 3600 lm against the file's 1000 lm
    assert scaled.loc["s1", "e_av_lux"] == pytest.approx(3.6 * fixed.loc["s1", "e_av_lux"])


# --- bad input --------------------------------------------------------------------------


def test_ies_tilt_and_type_b_are_refused(tmp_path):
    rows = [[100.0, 50.0, 0.0, 0.0]]
    with pytest.raises(ValidationError, match="lamp-tilt tables are not supported"):
        read_ies(write(tmp_path, "t.ies", ies_text([0.0], GAMMA, rows, tilt="INCLUDE")))
    with pytest.raises(ValidationError, match=r"type 2 \(B\) is not supported"):
        read_ies(write(tmp_path, "b.ies", ies_text([0.0], GAMMA, rows, ptype=2)))


def test_ldt_errors_name_the_line(tmp_path):
    text = ldt_text(0, [0, 90, 180, 270], GAMMA, [[1, 2, 3, 4]] * 4).splitlines()
    text[5] = "vier"
    with pytest.raises(ValidationError, match=r"row 6.*Ng.*'vier' is not a number"):
        read_ldt(write(tmp_path, "e.ldt", "\n".join(text)))
    short = ldt_text(0, [0, 90, 180, 270], GAMMA, [[1, 2, 3, 4]] * 3)
    with pytest.raises(ValidationError, match="the file ends early"):
        read_ldt(write(tmp_path, "s.ldt", short))


def test_catalogue_reports_every_problem(tmp_path):
    cat = write(tmp_path, "k.toml", textwrap.dedent("""
        [widths]
        footway = -1

        [[luminaire]]
        file = "saknas.ldt"
        light_source = "Natrium"
        colour = "red"

        [[luminaire]]
        file = "rot.ldt"
        c0 = "sideways"
    """))
    _rot_luminaire(tmp_path)
    with pytest.raises(ValidationError) as exc:
        load_catalogue(cat)
    text = str(exc.value)
    for needle in ("width -1 is not a positive", "unknown 'Natrium'", "colour", "unknown key",
                   "file not found", "'sideways' is not 'along'"):
        assert needle in text


def test_demo_catalogue_loads():
    cat = load_catalogue(ROOT / "data/photometry/katalog_demo.toml")
    assert [e.photometry.name for e in cat.entries] == ["Road Runner"]
    assert cat.width_m("cycleway") == 3.0 and cat.width_m("steps") == 2.5
    assert dataclasses.asdict(cat.entries[0])["flux_from_inventory"] is True


# --- the ranking with the catalogue on ----------------------------------------------------


def _profile_with_catalogue(tmp_path: Path) -> Path:
    src = (ROOT / "data/stromstad/profile.toml").read_text(encoding="utf-8")
    folder = ROOT / "data/stromstad"
    text = src.replace('"../demo/', f'"{ROOT}/data/demo/').replace(
        'boundary = "boundary.geojson"', f'boundary = "{folder}/boundary.geojson"').replace(
        "[sources]\n", f'[sources]\nphotometry = "{ROOT}/data/photometry/katalog_demo.toml"\n')
    assert text.count("photometry =") == 1 and "../demo" not in text
    return write(tmp_path, "profil.toml", text)


def test_trygga_rank_with_a_catalogue_reports_the_model_per_segment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "rank"
    res = CliRunner().invoke(app, ["rank", "--profile", str(_profile_with_catalogue(tmp_path)),
                                   "--out", str(out), "--no-raster"])
    assert res.exit_code == 0, res.output
    assert "Fotometrisk modell (EN 13201-3)" in res.output
    assert "nattsänkning:" in res.output  # the demo catalogue's night profile
    seg = pyogrio.read_dataframe(out / "ranking.gpkg", layer="segments")
    assert set(seg["lux_model"]) == {"photometric", "mixed", "point_source"}
    photo = seg[seg["lux_model"] != "point_source"]
    # the status and the reported lux use the EN 13201-3 values
    assert (photo["mean_lux"] - photo["e_av_lux"]).abs().max() < 1e-3
    assert (photo["min_lux"] - photo["e_min_lux"]).abs().max() < 1e-3
    assert photo["grid_points"].min() >= 30 and photo["uniformity_u0"].between(0, 1).all()
    assert seg.loc[seg["lux_model"] == "point_source", "e_av_lux"].isna().all()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by_model = summary["photometry"]["segments_by_model"]
    assert sum(by_model.values()) == len(seg)
    assert by_model["photometric"] == int((seg["lux_model"] == "photometric").sum())
    # the demo catalogue's night profile (HPS at 50 % 22–05) and adaptive classes
    assert set(seg.loc[seg["lux_model"] != "point_source", "dimmed_class"]) <= {
        "P4", "P5", "P6"}
    assert (photo["e_av_dimmed_lux"] < photo["e_av_lux"] + 1e-9).all()
    assert "km_below_dimmed_class" in summary["photometry"]
    led = pyogrio.read_dataframe(out / "ranking.gpkg", layer="led_replacements")
    hps = led["light_source"] == "HPS"
    assert led.loc[hps, "night_energy_factor"].round(4).eq(0.7114).all()
    assert led.loc[~hps, "night_energy_factor"].eq(1.0).all()


def test_c0_orientation_turns_the_beam_towards_the_path(tmp_path):
    # all light in the C90 half-plane: a luminaire that only lights its street side
    rows = [[10.0, 10.0, 0.0], [400.0, 300.0, 0.0], [10.0, 10.0, 0.0], [0.0, 0.0, 0.0]]
    p = read_ldt(write(tmp_path, "a.ldt", ldt_text(0, [0, 90, 180, 270], [0, 45, 90], rows)))
    segs, lums = _scene([(0.0, -3.0, "HPS")])  # the path runs east at y = 0, pole south

    def e_av(c0: str | float) -> float:
        res = segment_photometric_illuminance(segs, lums, _catalogue(p, c0=c0))
        return float(res.values.loc["s1", "e_av_lux"])

    # "along": C0 along the path (east), C90 north onto it; "towards": C0 north, C90 west
    # along the path; bearing 270: C0 west, C90 south, away from the path
    assert e_av("along") == pytest.approx(e_av(90.0))
    assert e_av("towards") == pytest.approx(e_av(0.0))
    assert e_av("along") > 2 * e_av("towards") > 2 * 10 * e_av(270.0)


def test_luminaires_out_of_service_give_no_light(tmp_path):
    p = read_ldt(_rot_luminaire(tmp_path))
    segs, lums = _scene([(0.0, -3.0, "HPS"), (5.0, -3.0, "HPS")])
    both = segment_photometric_illuminance(segs, lums, _catalogue(p)).values
    one = segment_photometric_illuminance(
        segs, lums.assign(operating=["in_service", "out_of_service"]), _catalogue(p))
    alone = segment_photometric_illuminance(segs, lums.iloc[[0]], _catalogue(p)).values
    assert one.matched.tolist() == [0, 0]  # matched, but only the working one lights
    assert one.values.loc["s1", "e_av_lux"] == pytest.approx(alone.loc["s1", "e_av_lux"])
    assert both.loc["s1", "e_av_lux"] > alone.loc["s1", "e_av_lux"]
    none = segment_photometric_illuminance(
        segs, lums.assign(operating="out_of_service"), _catalogue(p)).values
    assert none["lux_model"].astype(str).tolist() == ["point_source"]
