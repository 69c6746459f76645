"""`trygga rank` on the demo writes every output in the promised formats."""

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pyogrio
import rasterio
from typer.testing import CliRunner

from trygga_cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def test_rank_writes_all_outputs(tmp_path):
    out = tmp_path / "rank"
    result = CliRunner().invoke(app, ["rank", "--profile",
                                      str(ROOT / "data/stromstad/profile.toml"), "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    assert "DEMODATA" in result.output
    assert "Topp 10 åtgärdspaket" in result.output
    layers = {name for name, _ in pyogrio.list_layers(out / "ranking.gpkg")}
    assert {"segments", "work_packages", "led_replacements", "luminaires"} <= layers
    seg = pyogrio.read_dataframe(out / "ranking.gpkg", layer="segments")
    for col in ("segment_id", "rank", "score", "lighting_status", "mean_lux", "min_lux",
                "target_class", "school_distance_m", "crossing_distance_m", "priority_area",
                "school_route_count", "reason"):
        assert col in seg.columns
    assert seg.crs.to_epsg() == 3007
    with sqlite3.connect(out / "ranking.gpkg") as con:
        styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles "
                                            "WHERE useAsDefault")}
    assert {"segments", "work_packages", "luminaires"} <= styled
    raw = (out / "segments.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")          # UTF-8 BOM for Excel
    header = raw.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("segment_id;rank;score;lighting_status")
    csv = pd.read_csv(out / "segments.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert len(csv) == len(seg) and csv["score"].dtype.kind == "f"
    assert "," in raw.decode("utf-8-sig").splitlines()[1]  # decimal commas
    sheets = pd.read_excel(out / "ranking.xlsx", sheet_name=None)
    assert list(sheets) == ["Segment", "Åtgärdspaket", "LED-byten"]
    assert "Motivering" in sheets["Segment"].columns
    with rasterio.open(out / "illuminance.tif") as ds:
        assert ds.crs.to_epsg() == 3007 and ds.res == (2.0, 2.0)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["municipality"] == "Strömstad" and summary["demo_data"] is True


def test_rank_with_missing_override_file_fails_cleanly(tmp_path):
    result = CliRunner().invoke(app, ["rank", "--profile",
                                      str(ROOT / "data/stromstad/profile.toml"), "--lighting",
                                      str(tmp_path / "saknas.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "saknas.csv" in result.output and "not found" in result.output
