"""Issue 15: the tiled and dask paths give the single-process results, the region run."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gis.school_routes import route_halo_m, school_route_counts, school_route_counts_tiled
from gis.segments import segment_paths
from layers import load_profile
from layers.loader import load_layers
from trygga_cli.main import app
from trygga_cli.rank import dask_map, region_summary

ROOT = Path(__file__).resolve().parents[1]
SMALL_OSM = ROOT / "tests/fixtures/osm/stromstad_small.osm"


@pytest.fixture(scope="module")
def demo():
    prof = load_profile(ROOT / "data/stromstad/profile.toml")
    layers = load_layers(prof)
    return layers, segment_paths(layers.paths, prof.lighting.segment_length_m)


def test_halo_covers_the_route_cutoff_and_the_origin_search():
    assert route_halo_m(2000, 100, 30) == pytest.approx(2000 + 3000 + 1)
    assert route_halo_m(100, 500, 30) == pytest.approx(100 + 500 + 1)


@pytest.mark.parametrize("tile_m", [1200.0, 20_000.0])
def test_tiled_routes_equal_the_single_network(demo, tile_m):
    layers, segs = demo
    one = school_route_counts(segs, layers.schools, origins=layers.route_origins(),
                              walkable=layers.walkable)
    tiled = school_route_counts_tiled(segs, layers.schools, layers.route_origins(),
                                      walkable=layers.walkable, tile_m=tile_m)
    assert one.sum() > 100_000  # the demo's routes, not an empty case
    pd.testing.assert_series_equal(tiled, one)
    assert tiled.attrs["homes_reached"] == one.attrs["homes_reached"]
    assert list(tiled.attrs["homes_reached"]) == list(one.attrs["homes_reached"])


def test_tiled_routes_from_the_grid_equal_the_single_network(demo):
    layers, segs = demo
    one = school_route_counts(segs, layers.schools, walkable=layers.walkable)
    tiled = school_route_counts_tiled(segs, layers.schools, walkable=layers.walkable,
                                      tile_m=1500.0)
    pd.testing.assert_series_equal(tiled, one)
    assert tiled.attrs == one.attrs


def test_dask_two_worker_cluster_equals_the_single_process(demo):
    """The CI check of the dask path: a 2-worker LocalCluster (threads, no processes, no
    network beyond loopback), tiles smaller than the demo so several run."""
    layers, segs = demo
    one = school_route_counts(segs, layers.schools, origins=layers.route_origins(),
                              walkable=layers.walkable)
    with dask_map(workers=2, processes=False) as map_tiles:
        calls = []

        def counting(fn, tasks):
            tasks = list(tasks)
            calls.append(len(tasks))
            return map_tiles(fn, tasks)

        on_dask = school_route_counts_tiled(segs, layers.schools, layers.route_origins(),
                                            walkable=layers.walkable, tile_m=1500.0,
                                            map_tiles=counting)
    assert calls and calls[0] >= 3
    pd.testing.assert_series_equal(on_dask, one)
    assert on_dask.attrs == one.attrs


def test_rank_with_dask_writes_the_same_tables(tmp_path, monkeypatch):
    import trygga_cli.rank as rank_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TRYGGA_STORE", str(tmp_path / "walks.gpkg"))  # not data/
    args = ["rank", "--profile", str(ROOT / "data/stromstad/profile.toml"), "--osm",
            str(SMALL_OSM), "--no-raster"]
    plain = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache2"))  # no route cache hit
    real = rank_mod.dask_map
    monkeypatch.setattr(rank_mod, "dask_map",
                        lambda scheduler=None: real(scheduler, workers=2, processes=False))
    on_dask = CliRunner().invoke(app, [*args, "--dask", "--out", str(tmp_path / "dask")])
    assert on_dask.exit_code == 0, on_dask.output
    for name in ("segments.csv", "work_packages.csv", "led_replacements.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def test_region_run_writes_one_set_per_kommun_and_a_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # the findings stores go to the temporary folder, never into the checkout's data/
    # (both demo kommuner share it here, which this test does not look at)
    monkeypatch.setenv("TRYGGA_STORE", str(tmp_path / "walks.gpkg"))
    out = tmp_path / "region"
    profiles = [str(ROOT / "data/stromstad/profile.toml"), str(ROOT / "data/tanum/profile.toml")]
    # as a shell glob expands: --profiles a b
    result = CliRunner().invoke(app, ["rank", "--out", str(out), "--no-raster",
                                      "--profiles", *profiles])
    assert result.exit_code == 0, result.output
    for code in ("1486", "1435"):
        assert (out / code / "segments.csv").exists() and (out / code / "ranking.gpkg").exists()
    region = json.loads((out / "region_summary.json").read_text(encoding="utf-8"))
    per = {r["kommun"]: r for r in region["kommuner"]}
    assert set(per) == {"Strömstad", "Tanum"}
    for code, name in (("1486", "Strömstad"), ("1435", "Tanum")):
        s = json.loads((out / code / "summary.json").read_text(encoding="utf-8"))
        assert per[name]["segments"] == s["segments"]
    assert region["total"]["segments"] == per["Strömstad"]["segments"] + per["Tanum"]["segments"]
    assert isinstance(region["total"]["segments"], int)
    csv = pd.read_csv(out / "region_summary.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert list(csv["kommun"]) == ["Strömstad", "Tanum", "Totalt"]
    assert csv["km_total"].iloc[2] == pytest.approx(csv["km_total"].iloc[:2].sum(), abs=0.01)
    assert "Regionen: 2 kommuner" in result.output


def test_region_summary_fills_missing_statuses_with_zero():
    region = region_summary({
        "a": {"municipality": "A", "segments": 2, "km_total": 1.5,
              "km_by_status": {"unlit": 1.0}, "led": {"luminaires": 1}},
        "b": {"municipality": "B", "segments": 3, "km_total": 2.0,
              "km_by_status": {"ok": 2.0}}})
    a, b = region["kommuner"]
    assert (a["km_ok"], b["km_unlit"]) == (0.0, 0.0)
    assert region["total"]["segments"] == 5 and region["total"]["km_total"] == 3.5
    assert region["total"]["km_unlit"] == 1.0 and region["total"]["led_luminaires"] == 1


def test_stray_arguments_without_profiles_are_refused(tmp_path):
    result = CliRunner().invoke(app, ["rank", "--out", str(tmp_path), "extra.toml"])
    assert result.exit_code == 2
    assert np.char.find(result.output, "extra.toml") >= 0
