"""The `trygga` command line: `trygga layers` on both shipped profiles, help in sv and en."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trygga_cli.main import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_layers_summary_on_stromstad_demo():
    result = runner.invoke(app, ["layers", "--profile", str(ROOT / "data/stromstad/profile.toml")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "DEMODATA" in out
    for layer in ("boundary", "paths", "luminaires", "schools", "crossings", "priority_areas",
                  "residences", "walkable"):
        assert f"[{layer}]" in out
    assert out.count("CRS: EPSG:3007") == 8
    # the streets one may walk along, for school routes (not scored)
    assert "[walkable] källa: stromstad_demo.osm (roads)\n  antal: 622" in out
    # the inventory's faults are in the report, with ids
    assert "luminaires: out of service by their status (faults: no light in the lighting " \
           "model): 159 feature(s) [A-010422" in out
    assert "[residences] källa: stromstad_demo.osm (building)\n  antal: 3190" in out
    assert "Strömstiernaskolan *" in out  # designated school marked
    assert "belysning_demo.csv" in out


def test_layers_summary_on_tanum():
    result = runner.invoke(app, ["layers", "--profile", str(ROOT / "data/tanum/profile.toml")])
    assert result.exit_code == 0, result.output
    assert "Tanum (1435)" in result.output
    assert "street_lamp" in result.output  # no inventory: luminaires from OSM


def test_bad_profile_exits_2_with_the_key(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text((ROOT / "data/tanum/profile.toml").read_text(encoding="utf-8")
                   .replace('boundary = "boundary.geojson"', 'boundary = "boundary.geojson"\n'
                            'crs_typo = 1'), encoding="utf-8")
    result = runner.invoke(app, ["layers", "--profile", str(bad)])
    assert result.exit_code == 2
    assert "key 'crs_typo': unknown key" in result.output


@pytest.mark.parametrize(("lang", "text"), [("sv", "Läs in alla lager"),
                                            ("en", "Load every layer")])
def test_help_in_swedish_and_english(lang, text):
    env = {**os.environ, "TRYGGA_LANG": lang, "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-c", "from trygga_cli.main import main; main()",
                          "--help"], capture_output=True, text=True, env=env, cwd=ROOT,
                         check=True).stdout
    assert text in out


def _profile(tmp_path, body: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_layers_warns_when_the_extract_is_of_another_area(tmp_path):
    prof = _profile(tmp_path, f"""
name = "Strömstad"
kommun_code = "1486"
crs = "EPSG:3007"
boundary = "{ROOT / 'data/stromstad/boundary.geojson'}"
latitude = 58.937
longitude = 11.172
[sources]
osm = "{ROOT / 'data/demo/tanum_demo.osm'}"
""")
    result = runner.invoke(app, ["layers", "--profile", str(prof)])
    assert result.exit_code == 0, result.output
    assert "[paths] källa: tanum_demo.osm\n  antal: 0" in result.output
    assert ("paths (tanum_demo.osm): none of the 121 paths lies inside the boundary "
            "(boundary.geojson)") in result.output
