"""`trygga rank` on the demo writes every output in the promised formats."""

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import rasterio
from typer.testing import CliRunner

from trygga_cli.main import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _store_in_tmp(tmp_path, monkeypatch):
    """`trygga rank` reads open findings from the profile's store: a temporary one, so the
    demo profile's data/stromstad/walks.gpkg is never created by the tests."""
    monkeypatch.setenv("TRYGGA_STORE", str(tmp_path / "walks.gpkg"))


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
    origins = summary["school_route_origins"]
    assert {k: origins[k] for k in ("kind", "count", "network")} == {
        "kind": "homes", "count": 3190, "network": "paths_and_roads"}
    assert origins["reached_per_school"]["Strömstiernaskolan"] == {"near": 2741,
                                                                   "reached": 2741}
    assert "Hem med skolväg (nådde skolan / inom 2 km): Strömstiernaskolan 2\u202f741/2\u202f741" \
        in result.output
    assert "Skolvägar räknade från 3\u202f190 bostadshus" in result.output
    # honest numbers (issue 12): what the light rests on, the faults, the LED headline
    assert set(seg["lux_basis"]) <= {"inventory", "defaults"}
    assert summary["luminaires_out_of_service"] == 159
    assert summary["currency"] == "SEK"
    assert "Fel: 159 armaturer ur drift (ger inget ljus i modellen)" in result.output
    assert "Ljusnivån bygger på: registret" in result.output
    n = summary["led"]["wattage_assumed"]
    assert n > 0 and f"varav {n} med antagen effekt" in result.output
    assert "okänd ljuskälla" not in result.output  # the demo knows every lamp type


def test_rank_stops_when_the_extract_does_not_overlap_the_boundary(tmp_path):
    result = CliRunner().invoke(app, ["rank", "--profile",
                                      str(ROOT / "data/stromstad/profile.toml"), "--osm",
                                      str(ROOT / "data/demo/tanum_demo.osm"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "broadcast" not in result.output
    assert ("paths (tanum_demo.osm): none of the 121 paths lies inside the boundary "
            "(boundary.geojson); the extract and the boundary do not overlap") in result.output
    assert "Fix: use an OSM extract" in result.output
    assert not (tmp_path / "out").exists()


def test_rank_with_missing_override_file_fails_cleanly(tmp_path):
    result = CliRunner().invoke(app, ["rank", "--profile",
                                      str(ROOT / "data/stromstad/profile.toml"), "--lighting",
                                      str(tmp_path / "saknas.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "saknas.csv" in result.output and "not found" in result.output


def test_layers_disk_cache_hits_replays_warnings_and_follows_the_inputs(tmp_path, monkeypatch):
    import dataclasses
    import os
    import shutil
    import warnings

    from layers import LayerWarning, load_profile
    from trygga_cli.rank import cached_layers, layers_cache_key

    monkeypatch.setenv("TRYGGA_CACHE_DIR", str(tmp_path / "cache" / "trygga"))
    prof = load_profile(ROOT / "data/stromstad/profile.toml")
    # A copy of the inventory, so that touching it changes nothing shared.
    inventory = tmp_path / prof.sources.lighting_inventory.name
    shutil.copy2(prof.sources.lighting_inventory, inventory)
    prof = dataclasses.replace(prof, sources=dataclasses.replace(
        prof.sources, lighting_inventory=inventory))

    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        loaded = cached_layers(prof)
    folders = list((tmp_path / "cache" / "trygga").glob("layers-*"))
    assert len(folders) == 1 and folders[0].is_dir()
    assert {p.name for p in folders[0].iterdir()} == {
        "meta.json", *(f"{n}.parquet" for n in ("paths", "luminaires", "schools", "crossings",
                                                "priority_areas", "residences", "walkable"))}
    with warnings.catch_warnings(record=True) as second:
        warnings.simplefilter("always")
        hit = cached_layers(prof)
    for name, frame in loaded.frames().items():  # every layer: values, dtypes, index, CRS
        pd.testing.assert_frame_equal(hit.frames()[name], frame, check_exact=True)
        assert hit.frames()[name].crs == frame.crs
        assert str(hit.frames()[name].crs) == str(frame.crs)  # as text too (keys, files)
    assert hit.boundary.equals_exact(loaded.boundary, 0.0)
    assert hit.reports == loaded.reports
    # a warm run's layers give the cold run's route-cache key: the counts are not redone
    from trygga_cli.rank import cached_route_counts

    cold = cached_route_counts(loaded, prof.lighting.segment_length_m)
    warm = cached_route_counts(hit, prof.lighting.segment_length_m)
    assert len(list((tmp_path / "cache" / "trygga").glob("routes-*.parquet"))) == 1
    pd.testing.assert_series_equal(warm, cold)
    # a damaged cache is a miss: loaded again, and the cache written anew
    (folders[0] / "paths.parquet").write_bytes(b"not parquet")
    again = cached_layers(prof)
    pd.testing.assert_frame_equal(again.paths, loaded.paths)
    assert (folders[0] / "meta.json").exists()
    assert not list((tmp_path / "cache" / "trygga").glob("*.tmp-*"))
    layer_warnings = sorted(str(w.message) for w in first if w.category is LayerWarning)
    assert layer_warnings  # the demo's point-only school
    assert sorted(str(w.message) for w in second if w.category is LayerWarning) == \
        layer_warnings

    key = layers_cache_key(prof)
    st = inventory.stat()
    os.utime(inventory, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert layers_cache_key(prof) != key
    online = dataclasses.replace(prof, sources=dataclasses.replace(
        prof.sources, osm=None, osm_place="Strömstad, Sweden"))
    assert layers_cache_key(online) is None


def test_route_cache_follows_the_homes(tmp_path, monkeypatch):
    import dataclasses
    import warnings

    import geopandas as gpd
    import shapely

    from gis.school_routes import school_route_counts
    from gis.segments import segment_paths
    from layers import LayerWarning, load_profile
    from layers.loader import load_layers
    from trygga_cli.rank import cached_route_counts, format_rank_summary

    monkeypatch.setenv("TRYGGA_CACHE_DIR", str(tmp_path / "cache" / "trygga"))
    prof = load_profile(ROOT / "data/stromstad/profile.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        layers = load_layers(prof)
    seg_len = prof.lighting.segment_length_m
    osm_homes = cached_route_counts(layers, seg_len)  # the demo's OSM buildings
    grid = cached_route_counts(dataclasses.replace(layers, residences=None), seg_len)
    assert not grid.equals(osm_homes)
    xy = shapely.get_coordinates(layers.paths.geometry.values)[::50]
    homes = gpd.GeoDataFrame({"building": ["house"] * len(xy), "source": "test"},
                             geometry=shapely.points(xy), crs=prof.crs)
    with_homes = dataclasses.replace(layers, residences=homes)
    from_homes = cached_route_counts(with_homes, seg_len)
    assert len(list((tmp_path / "cache" / "trygga").glob("routes-*.parquet"))) == 3
    segs = segment_paths(layers.paths, seg_len)
    pd.testing.assert_series_equal(
        from_homes, school_route_counts(segs, layers.schools, origins=homes,
                                        walkable=layers.walkable),
        check_names=False)
    assert from_homes.attrs["homes_reached"]  # kept beside the cached counts
    assert not from_homes.equals(grid)
    again = cached_route_counts(with_homes, seg_len)
    pd.testing.assert_series_equal(again, from_homes)
    assert again.attrs["homes_reached"] == from_homes.attrs["homes_reached"]
    # the roads are part of the key: without them, other counts
    paths_only = cached_route_counts(dataclasses.replace(with_homes, walkable=None), seg_len)
    assert not paths_only.equals(from_homes)

    summary = {"municipality": "X", "demo_data": False, "segments": 1, "km_total": 1.0,
               "km_by_status": {}, "km_unlit_near_school": 0.0, "km_dark_near_school": 0.0,
               "school_distance_m": 300.0, "top_packages": [],
               "led": {"luminaires": 0, "hg": 0, "kwh_saved_per_year": 0,
                       "sek_saved_per_year": 0, "co2_kg_saved_per_year": 0},
               "commute_darkness_by_month": {},
               "school_route_origins": {"kind": "homes", "count": 1234}}
    assert "1\u202f234 bostadshus" in format_rank_summary(summary, tmp_path)


def test_caches_honour_trygga_cache_dir_and_point_into_tmp_in_tests(tmp_path, monkeypatch):
    """The suite's caches live in a temporary folder (tests/conftest.py), never ~/.cache."""
    import tempfile

    from layers.osm import _default_cache_folder
    from trygga_cli.rank import cache_folder

    tmp = Path(tempfile.gettempdir()).resolve()
    for folder in (cache_folder(), _default_cache_folder(), Path.home()):
        assert folder.resolve().is_relative_to(tmp), folder
    monkeypatch.setenv("TRYGGA_CACHE_DIR", str(tmp_path / "c"))
    assert cache_folder() == tmp_path / "c"
    assert _default_cache_folder() == tmp_path / "c" / "osmnx"
    monkeypatch.delenv("TRYGGA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_folder() == tmp_path / "x" / "trygga"


def test_rank_outside_sweden_without_boundary_in_the_profiles_currency(tmp_path):
    """A Norwegian-style profile: short code, NOK, own price and CO₂ factor, no boundary
    file (the paths' hull), an inventory with one lamp of unknown type."""
    (tmp_path / "lys.csv").write_text(
        "lokalId;Lyskilde;Effekt;Høyde;Øst;Nord\n"
        "N-1;Natrium høytrykk;100;8;624910;6535175\n"
        "N-2;Ukjent;;;624950;6535200\n", encoding="utf-8")
    prof = tmp_path / "profile.toml"
    prof.write_text(f"""
name = "Grensekommune"
kommun_code = "3107"
crs = "EPSG:25832"
latitude = 58.937
longitude = 11.172
timezone = "Europe/Oslo"
[sources]
osm = "{ROOT / 'tests/fixtures/osm/stromstad_small.osm'}"
lighting_inventory = "lys.csv"
[costs]
currency = "NOK"
electricity_sek_per_kwh = 1.1
co2_kg_per_kwh = 0.019
""", encoding="utf-8")
    layers = CliRunner().invoke(app, ["layers", "--profile", str(prof)])
    assert layers.exit_code == 0, layers.output
    assert "[boundary] källa: convex hull of the paths" in layers.output
    assert "the profile names no boundary file; using the convex hull of the 16 paths " \
           "buffered 500 m" in layers.output
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["rank", "--profile", str(prof), "--out", str(out),
                                      "--no-raster"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    led = summary["led"]
    assert summary["currency"] == "NOK"
    assert (led["luminaires"], led["unknown_light_source"], led["wattage_assumed"]) == (1, 1, 0)
    plan = pyogrio.read_dataframe(out / "ranking.gpkg", layer="led_replacements")
    hps = plan.set_index("luminaire_id").loc["N-1"]
    assert led["kwh_saved_per_year"] == pytest.approx(round(hps["kwh_saved_per_year"]))
    assert hps["sek_saved_per_year"] == pytest.approx(round(hps["kwh_saved_per_year"] * 1.1))
    assert hps["co2_kg_saved_per_year"] == pytest.approx(hps["kwh_saved_per_year"] * 0.019,
                                                         abs=0.06)
    assert "NOK/år" in result.output and "SEK" not in result.output
    assert "+ 1 armaturer med okänd ljuskälla: inventera (inte med i besparingen)" in \
        result.output
    sheets = pd.read_excel(out / "ranking.xlsx", sheet_name=None)
    assert "Sparat (NOK/år)" in sheets["LED-byten"].columns


def test_xlsx_names_what_the_light_level_rests_on(tmp_path):
    out = tmp_path / "rank"
    result = CliRunner().invoke(app, ["rank", "--profile",
                                      str(ROOT / "data/stromstad/profile.toml"), "--out",
                                      str(out), "--no-raster"])
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(out / "ranking.xlsx", sheet_name=None)
    seg = sheets["Segment"]
    assert set(seg["Ljusnivå enligt"]) == {"Registret", "Standardvärden"}
    assert seg["Armaturer ur drift (30 m)"].sum() > 0
    led = sheets["LED-byten"]
    assert set(led["Effekt enligt"]) == {"Registret", "Antagen (saknas i registret)"}
    csv = pd.read_csv(out / "segments.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert set(csv["lux_basis"]) == {"inventory", "defaults"}  # codes in the CSV


def test_xlsx_over_the_excel_row_limit_is_left_out_and_said(tmp_path, monkeypatch):
    """Over Excel's sheet limit the XLSX is not written (CSV only) and the run says so;
    the limit is lowered to the fixture's size here (the real one is 1 048 576 rows)."""
    import gis.outputs

    out = tmp_path / "rank"
    args = ["rank", "--profile", str(ROOT / "data/stromstad/profile.toml"),
            "--osm", str(ROOT / "tests/fixtures/osm/stromstad_small.osm"), "--no-raster"]
    first = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "all")])
    assert first.exit_code == 0, first.output
    rows = max(len(pd.read_csv(tmp_path / f"all/{name}.csv", sep=";", encoding="utf-8-sig"))
               for name in ("segments", "work_packages", "led_replacements"))
    assert (tmp_path / "all/ranking.xlsx").exists()
    monkeypatch.setattr(gis.outputs, "EXCEL_MAX_ROWS", rows + 1)  # header + rows: still fits
    fits = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "fits")])
    assert fits.exit_code == 0 and (tmp_path / "fits/ranking.xlsx").exists()
    monkeypatch.setattr(gis.outputs, "EXCEL_MAX_ROWS", rows)
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "ranking.xlsx").exists()
    assert (out / "segments.csv").read_bytes() == (tmp_path / "all/segments.csv").read_bytes()
    assert "ranking.xlsx skrevs inte: fler rader än ett Excel-blad rymmer" in result.output
