"""Tests for layers.paths: selection, path_type, lit normalisation and the file reader."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import pytest
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, box

from layers import schemas
from layers._common import LayerWarning, ValidationError
from layers.osm import OsmExtract, read_osm_file
from layers.paths import normalize_lit, paths_from_osm, read_paths_file, select_path_ways

FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "stromstad_small.osm"
PYROSM_SAMPLE = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
CRS = "EPSG:3007"


@pytest.fixture(scope="module")
def paths(extract: OsmExtract) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        return paths_from_osm(extract, CRS)


# --------------------------------------------------------------------------- lit


@pytest.mark.parametrize(("raw", "expected"), [
    ("yes", "yes"), ("24/7", "yes"), ("sunset-sunrise", "yes"), ("dusk-dawn", "yes"),
    (" YES ", "yes"), ("Yes", "yes"),
    ("interval", "limited"), ("limited", "limited"), ("05:00-01:00", "limited"),
    ("sunset-01:00", "limited"),
    ("disused", "no"), ("no", "no"), ("NO", "no"),
    ("automatic", "automatic"), ("Automatic ", "automatic"),
    (None, "unknown"), ("unknown", "unknown"),
])
def test_normalize_lit_known_values(raw: str | None, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerWarning)  # known values never warn
        out = normalize_lit(pd.Series([raw], index=["w1"], dtype="string"))
    assert out.tolist() == [expected]
    assert out.name == "lit"


def test_normalize_lit_garbage_warns_with_counts_and_ids() -> None:
    raw = pd.Series(["signal", "garbage", "signal", "yes", None], index=["w1", "w2", "w3",
                                                                         "w4", "w5"])
    with pytest.warns(LayerWarning,
                      match=r"unrecognised lit values treated as 'unknown': 'signal' \(2\), "
                            r"'garbage' \(1\): 3 feature\(s\) \[w1, w2, w3\]"):
        out = normalize_lit(raw)
    assert out.tolist() == ["unknown", "unknown", "unknown", "yes", "unknown"]
    assert out.index.equals(raw.index)


@pytest.mark.parametrize(("path_id", "lit"), [
    ("w100", "yes"), ("w101", "yes"), ("w102", "no"), ("w103", "limited"),
    ("w104", "unknown"), ("w105", "automatic"), ("w108", "limited"), ("w109", "yes"),
    ("w110", "yes"), ("w111", "unknown"), ("w112", "yes"), ("w113", "unknown"),
    ("w114", "unknown"), ("w115", "limited"), ("w116", "no"), ("w117", "limited"),
])
def test_fixture_lit(paths: gpd.GeoDataFrame, path_id: str, lit: str) -> None:
    assert paths.loc[path_id, "lit"] == lit


def test_lit_raw_kept(paths: gpd.GeoDataFrame) -> None:
    assert paths.loc["w112", "lit_raw"] == " YES "
    assert paths.loc["w102", "lit_raw"] == "disused"
    assert pd.isna(paths.loc["w104", "lit_raw"])


def test_fixture_warns_about_unrecognised_lit(extract: OsmExtract) -> None:
    with pytest.warns(LayerWarning, match=r"'signal' \(1\), 'garbage' \(1\).*\[w111, w113\]"):
        paths_from_osm(extract, CRS)


# --------------------------------------------------------------------------- selection


@pytest.mark.parametrize(("path_id", "path_type"), [
    ("w100", "footway"), ("w101", "cycleway"), ("w102", "sidewalk"), ("w103", "crossing"),
    ("w104", "crossing"), ("w105", "road"), ("w108", "cycleway"), ("w109", "path"),
    ("w110", "pedestrian"), ("w111", "steps"), ("w112", "living_street"),
    ("w113", "track"), ("w114", "road"),
])
def test_path_type(paths: gpd.GeoDataFrame, path_id: str, path_type: str) -> None:
    assert paths.loc[path_id, "path_type"] == path_type


def test_roads_without_designation_are_not_paths(paths: gpd.GeoDataFrame) -> None:
    assert "w106" not in paths.index  # residential
    assert "w107" not in paths.index  # motorway
    assert "w120" not in paths.index  # school grounds outline
    assert "w105" in paths.index  # residential + foot=designated


def test_select_path_ways_mask(extract: OsmExtract) -> None:
    mask = select_path_ways(extract.ways)
    assert mask.index.equals(extract.ways.index)
    assert mask.dtype == bool
    assert not mask.loc[106] and not mask.loc[107] and mask.loc[105] and mask.loc[102]


def test_plaza_kept_as_closed_outline(paths: gpd.GeoDataFrame) -> None:
    plaza = paths.loc["w110"].geometry
    assert plaza.geom_type == "LineString"
    assert plaza.is_closed
    assert paths.loc["w110", "name"] == "Torget"


def test_schema_index_crs(paths: gpd.GeoDataFrame) -> None:
    assert list(paths.columns) == [*schemas.PATHS, "geometry"]
    assert paths.index.name == schemas.PATHS_INDEX
    assert paths.index.is_unique
    assert paths.crs.to_epsg() == 3007
    assert paths["osm_id"].dtype == np.int64
    assert paths.loc["w102", "osm_id"] == 102
    assert set(paths["lit"]) <= set(schemas.LIT_VALUES)
    assert set(paths["path_type"]) <= set(schemas.PATH_TYPES)
    assert set(paths.geom_type) == {"LineString"}


def test_lengths_are_metres(paths: gpd.GeoDataFrame, extract: OsmExtract) -> None:
    geod = Geod(ellps="GRS80")
    expected = geod.geometry_length(extract.ways.loc[102].geometry)
    assert paths.loc["w102"].geometry.length == pytest.approx(expected, rel=1e-3)
    assert expected == pytest.approx(229.9, abs=1.0)


def test_ids_stable_across_runs(extract: OsmExtract, paths: gpd.GeoDataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        again = paths_from_osm(read_osm_file(FIXTURE), CRS)
    assert list(again.index) == list(paths.index)


def test_does_not_mutate_extract(extract: OsmExtract) -> None:
    before = extract.ways.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        paths_from_osm(extract, CRS)
    assert_geodataframe_equal(extract.ways, before)


def test_boundary_keeps_ways_touching_it(extract: OsmExtract) -> None:
    # A box around the northern paths only (w100..w117 above lat 58.938).
    north = gpd.GeoSeries([box(11.1695, 58.9378, 11.1760, 58.9405)], crs=4326).to_crs(CRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        clipped = paths_from_osm(extract, CRS, boundary=north.iloc[0])
        full = paths_from_osm(extract, CRS)
    assert "w100" in clipped.index
    assert "w102" not in clipped.index and "w104" not in clipped.index
    # ways crossing the boundary stay whole
    assert clipped.loc["w100"].geometry.equals(full.loc["w100"].geometry)


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_file_round_trip(tmp_path: Path, paths: gpd.GeoDataFrame, suffix: str) -> None:
    path = tmp_path / f"paths{suffix}"
    out = paths.to_crs(4326) if suffix == ".geojson" else paths
    out.reset_index().to_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        back = read_paths_file(path, CRS)
    assert_geodataframe_equal(back, paths, check_less_precise=True, check_dtype=False)
    assert back["osm_id"].dtype == np.int64


def test_file_without_ids_or_osm_tags(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"HIGHWAY": ["cycleway", "footway"], "Lit": ["yes", None]},
        geometry=[LineString([(102300, 6535900), (102400, 6535900)]),
                  MultiLineString([[(0, 0), (10, 0)], [(20, 0), (30, 0)]])], crs=CRS)
    path = tmp_path / "gc.gpkg"
    gdf.to_file(path)
    back = read_paths_file(path, CRS)
    assert list(back.index) == ["f1", "f2", "f2_1"]
    assert back["osm_id"].tolist() == [-1, -1, -1]
    assert back["path_type"].tolist() == ["cycleway", "footway", "footway"]
    assert back["lit"].tolist() == ["yes", "unknown", "unknown"]


def test_file_path_type_column_is_used_and_checked(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"path_type": ["sidewalk", "gangväg"]},
        geometry=[LineString([(0, 0), (10, 0)]), LineString([(0, 5), (10, 5)])], crs=CRS)
    path = tmp_path / "types.geojson"
    gdf.to_file(path)
    with pytest.raises(ValidationError,
                       match=r"types\.geojson, row f2, column 'path_type': unknown path type "
                             r"'gangväg'\. Fix: use one of cycleway"):
        read_paths_file(path, CRS)


def test_file_without_highway_or_path_type(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"namn": ["a"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=CRS)
    path = tmp_path / "bare.gpkg"
    gdf.to_file(path)
    with pytest.raises(ValidationError,
                       match=r"bare\.gpkg, column 'highway': no feature has a highway tag"):
        read_paths_file(path, CRS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"nope\.gpkg: file not found"):
        read_paths_file(tmp_path / "nope.gpkg", CRS)


# --------------------------------------------------------------------------- real data


def test_pyrosm_sample_paths() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        ext = read_osm_file(PYROSM_SAMPLE)
        paths = paths_from_osm(ext, "EPSG:3067")
    assert len(paths) > 100
    assert paths.crs.to_epsg() == 3067
    assert paths.index.is_unique
    assert set(paths["lit"]) <= set(schemas.LIT_VALUES)
    assert set(paths["path_type"]) <= set(schemas.PATH_TYPES)
    assert {"cycleway", "footway"} <= set(paths["path_type"])
    assert "motorway" not in set(paths["highway"])
    x0, y0, x1, y1 = paths.total_bounds  # ETRS-TM35FIN metres, Kotka
    assert 480_000 < x0 < x1 < 520_000
    assert 6_700_000 < y0 < y1 < 6_730_000


# --- walkable roads (issue 12) --------------------------------------------------------------


def test_walkable_roads_are_the_streets_one_may_walk(extract: OsmExtract) -> None:
    from layers.paths import select_walkable_roads, walkable_from_osm

    roads = walkable_from_osm(extract, "EPSG:3007")
    assert "w106" in roads.index          # residential street
    assert "w107" not in roads.index      # motorway
    assert "w105" not in roads.index      # a path already (foot=designated): scored
    assert roads.crs.to_epsg() == 3007 and list(roads.columns) == [*schemas.PATHS,
                                                                   "geometry"]
    ways = pd.DataFrame({
        "highway": ["residential", "trunk", "trunk", "service", "service", "motorway",
                    "footway", "primary"],
        "foot": ["", "", "no", "", "yes", "", "", "use_sidepath"],
        "access": ["", "", "", "private", "private", "", "", ""],
        "footway": [""] * 8, "bicycle": [""] * 8,
    }).replace("", pd.NA)
    assert select_walkable_roads(ways).tolist() == [True, True, False, False, True, False,
                                                    False, False]
