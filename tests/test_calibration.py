"""layers.lux_readings (the readings funnel), gis.calibration and `trygga calibrate`."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from typer.testing import CliRunner

from gis.calibration import ALL_AREAS, NO_AREA, calibrate
from gis.lighting_model import DOWNWARD_CUTOFF_DEG, luminaire_flux_lm
from layers._common import ValidationError
from layers.lux_readings import read_lux_readings
from trygga_cli.main import app

CRS = "EPSG:3007"
ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, name: str, text: str, encoding: str = "cp1252") -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return p


def test_swedish_csv_with_projected_coordinates(tmp_path):
    p = _write(tmp_path, "matning.csv", "Mätpunkt;X;Y;Lux;Område\n"
               "M1;100000,5;6500000,25;4,2;Centrum\n\nM2;100010;6500000;0;\n")
    r = read_lux_readings(p, CRS)
    assert r.index.tolist() == ["M1", "M2"] and r.index.name == "reading_id"
    assert r["lux_lx"].tolist() == [4.2, 0.0] and r["area"].tolist() == ["Centrum", ""]
    assert r.crs == CRS and (r.geometry.x.iloc[0], r.geometry.y.iloc[0]) == (100000.5, 6500000.25)


def test_wgs84_coordinates_are_reprojected(tmp_path):
    p = _write(tmp_path, "m.csv", "id,lat,lon,lux\nA,58.937,11.172,3.5\n", "utf-8")
    r = read_lux_readings(p, CRS)
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(11.172, 58.937)
    assert r.geometry.x.iloc[0] == pytest.approx(x, abs=1e-6)
    assert r.geometry.y.iloc[0] == pytest.approx(y, abs=1e-6)


def test_every_problem_is_reported_with_file_row_and_column(tmp_path):
    p = _write(tmp_path, "fel.csv", "id;x;y;lux\n"
               "M1;100000;6500000;mörkt\n"      # row 2: not a number
               "M2;100000;6500000;\n"           # row 3: empty
               "M3;100000;6500000;-2\n"         # row 4: negative
               "M4;11,2;58,9;3\n"               # row 5: degrees in x/y
               "M1;100000;6500000;3\n")         # row 6: duplicate id
    with pytest.raises(ValidationError) as exc:
        read_lux_readings(p, CRS)
    text = str(exc.value)
    for needle in ("fel.csv", "row 2", "'mörkt' is not a number", "row 3", "empty", "row 4",
                   "-2 lx is not a plausible reading", "row 5", "look like degrees",
                   "row 6", "id 'M1' also on row 2", "column 'lux'"):
        assert needle in text, needle
    with pytest.raises(ValidationError, match="no lux column"):
        read_lux_readings(_write(tmp_path, "a.csv", "id;x;y;värde2\nA;1;2;3\n"), CRS)
    with pytest.raises(ValidationError, match="no coordinate columns"):
        read_lux_readings(_write(tmp_path, "b.csv", "id;lux;plats\nA;3;torget\n"), CRS)


def _scene() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    lum = gpd.GeoDataFrame({"light_source": ["LED"], "wattage_w": [30.0], "lumen_lm": [3000.0],
                            "mounting_height_m": [5.0], "source": ["inventory"]},
                           geometry=[shapely.Point(0, 0)], crs=CRS,
                           index=pd.Index(["L1"], name="luminaire_id"))
    paths = gpd.GeoDataFrame({"path_type": ["footway"]},
                             geometry=[shapely.LineString([(-50, 3), (50, 3)])], crs=CRS)
    areas = gpd.GeoDataFrame({"name": ["Centrum"]}, geometry=[shapely.box(-1, -1, 5, 10)],
                             crs=CRS)
    return lum, paths, areas


def test_calibration_errors_and_fitted_factor_by_hand():
    lum, paths, areas = _scene()
    d = np.array([0.0, 2.0, 4.0, 6.0, 3.0])
    # the point-source ("downward") model by hand: I = Φ over the cone to the cut-off
    # γ_c, I = Φ / (2π(1 − cos γ_c)); E = I·h/r³, h = 5 m (all points inside the cut-off)
    flux = float(luminaire_flux_lm(lum).iloc[0])
    gc = math.radians(DOWNWARD_CUTOFF_DEG)
    assert 5.0 * math.tan(gc) > 6.0
    model = flux / (2 * math.pi * (1 - math.cos(gc))) * 5.0 / (d * d + 25.0) ** 1.5
    measured = 0.8 * model
    measured[-1] = model[-1] + 1.0  # the fifth reading is given its own area
    readings = gpd.GeoDataFrame(
        {"lux_lx": measured, "area": ["", "", "", "", "Torget"]},
        geometry=[shapely.Point(x, 0.0) for x in d[:-1]] + [shapely.Point(0.0, -3.0)],
        crs=CRS, index=pd.Index([f"M{i}" for i in range(5)], name="reading_id"))
    res = calibrate(readings, lum, paths, None, areas, default_height_m=5.0)
    r = res.readings
    assert r["model_lux"].to_numpy() == pytest.approx(model, abs=1e-3)
    assert r["lux_model"].eq("point_source").all()
    # M0–M2 lie in Centrum (priority area), M3 (x = 6) outside it, M4 has its own area
    assert r["area"].tolist() == ["Centrum", "Centrum", "Centrum", NO_AREA, "Torget"]
    a = res.areas
    assert a.index.tolist() == [NO_AREA, "Centrum", "Torget", ALL_AREAS]
    c = a.loc["Centrum"]
    err = 0.2 * model[:3]
    assert c["readings"] == 3 and c["fitted_factor"] == pytest.approx(0.8, abs=1e-4)
    assert c["mean_error_lux"] == pytest.approx(err.mean(), abs=1e-3)
    assert c["rmse_lux"] == pytest.approx(math.sqrt((err ** 2).mean()), abs=1e-3)
    # fewer readings than MIN_READINGS_FOR_FIT: no fitted factor
    assert np.isnan(a.loc["Torget", "fitted_factor"])
    assert a.loc["Torget", "mean_error_lux"] == pytest.approx(-1.0, abs=1e-3)
    al = a.loc[ALL_AREAS]
    k = float(np.dot(model, measured) / np.dot(model, model))
    assert al["readings"] == 5 and al["fitted_factor"] == pytest.approx(k, abs=1e-4)


def test_trygga_calibrate_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from layers import load_profile
    from layers.loader import load_layers

    prof = load_profile(ROOT / "data/stromstad/profile.toml")
    lums = load_layers(prof).luminaires
    xy = shapely.get_coordinates(lums.geometry.values[:5]) + [1.5, 0.5]
    rows = "".join(f"P{i};{x:.2f};{y:.2f};{2.0 + i}\n" for i, (x, y) in enumerate(xy))
    p = _write(tmp_path, "lux.csv", "id;x;y;lux\n" + rows.replace(".", ","))
    out = tmp_path / "rapport"
    res = CliRunner().invoke(app, ["calibrate", str(p), "--profile",
                                   str(ROOT / "data/stromstad/profile.toml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "5 mätpunkter" in res.output and "RMSE" in res.output
    # read back with the csv module (independent of pandas)
    text = (out / "punkter.csv").read_bytes().decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [t["reading_id"] for t in table] == [f"P{i}" for i in range(5)]
    assert all(float(t["model_lux"].replace(",", ".")) >= 0 for t in table)
    areas = list(csv.DictReader(io.StringIO(
        (out / "omraden.csv").read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert areas[-1]["area"] == ALL_AREAS and areas[-1]["readings"] == "5"
    bad = _write(tmp_path, "bad.csv", "id;x;y;lux\nA;1;2;x\n")
    res = CliRunner().invoke(app, ["calibrate", str(bad), "--profile",
                                   str(ROOT / "data/stromstad/profile.toml"), "--out", str(out)])
    assert res.exit_code == 2 and "bad.csv" in res.output and "'x' is not a number" in res.output


def test_calibration_uses_the_photometric_file_where_the_catalogue_matches(tmp_path):
    from layers.photometric import Catalogue, CatalogueEntry, read_ldt
    from tests.test_photometry import GAMMA, ldt_text, write

    p = read_ldt(write(tmp_path, "rot.ldt", ldt_text(1, [0.0], GAMMA, [[300, 240, 120, 0]])))
    cat = Catalogue((CatalogueEntry(file=Path(p.source), photometry=p, light_source="LED",
                                    maintenance_factor=1.0),))
    lum, paths, _ = _scene()
    readings = gpd.GeoDataFrame({"lux_lx": [10.0, 2.0], "area": ["", ""]},
                                geometry=[shapely.Point(0, 0), shapely.Point(5, 0)], crs=CRS,
                                index=pd.Index(["under", "out"], name="reading_id"))
    res = calibrate(readings, lum, paths, cat, default_height_m=5.0)
    # by hand, h = 5 m: below the pole I(0) = 300 cd → 300/25 = 12 lx; 5 m out γ = 45°,
    # I = 180 cd → 180·5/50^1.5 = 2.5456 lx
    assert res.readings["model_lux"].tolist() == pytest.approx([12.0, 2.5456], abs=5e-4)
    assert res.readings["lux_model"].tolist() == ["photometric", "photometric"]
    assert res.areas.loc[ALL_AREAS, "mean_error_lux"] == pytest.approx(
        ((12.0 - 10.0) + (2.5456 - 2.0)) / 2, abs=5e-4)
