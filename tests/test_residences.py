"""Homes (residential buildings) as the origins of the school routes."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import pytest
import shapely

from layers import LayerWarning, ValidationError
from layers.osm import DOWNLOAD_TAGS, RESIDENTIAL_BUILDINGS, _extract_from_osmnx, read_osm_file
from layers.residences import read_residences_file, residences_from_osm

CRS = "EPSG:3007"

#: A hand-written extract: a footway, homes as a way and as a node, and buildings that are
#: not homes. Coordinates are made up, near Strömstad.
OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="58.9370" lon="11.1700"/>
  <node id="2" lat="58.9370" lon="11.1720"/>
  <node id="11" lat="58.9380" lon="11.1700"/>
  <node id="12" lat="58.9380" lon="11.1702"/>
  <node id="13" lat="58.9382" lon="11.1702"/>
  <node id="14" lat="58.9382" lon="11.1700"/>
  <node id="21" lat="58.9390" lon="11.1700"/>
  <node id="22" lat="58.9390" lon="11.1702"/>
  <node id="23" lat="58.9392" lon="11.1701"/>
  <node id="30" lat="58.9395" lon="11.1705">
    <tag k="building" v="apartments"/>
  </node>
  <way id="100">
    <nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="footway"/>
  </way>
  <way id="200">
    <nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/>
    <tag k="building" v="house"/>
  </way>
  <way id="201">
    <nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="21"/>
    <tag k="building" v="cabin"/>
  </way>
  <way id="202">
    <nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="21"/>
    <tag k="building" v="yes"/>
  </way>
  <way id="203">
    <nd ref="11"/><nd ref="12"/><nd ref="999"/><nd ref="11"/>
    <tag k="building" v="detached"/>
  </way>
</osm>
"""


@pytest.fixture
def extract(tmp_path):
    path = tmp_path / "homes.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return read_osm_file(path)


def test_file_reader_keeps_one_point_per_home(extract):
    res = extract.residences
    # w200 (house, four corners) and n30 (apartments); not the cabin, not building=yes;
    # w203, whose node 999 is missing from the extract, from the two nodes present
    assert sorted(res.index) == ["n30", "w200", "w203"]
    assert res.loc["w203"].geometry.x == pytest.approx(11.1701)  # nodes 11 and 12
    assert res.crs.to_epsg() == 4326
    assert res.loc["w200", "building"] == "house"
    # mean of the four distinct corners, not of the five ring coordinates
    assert res.loc["w200"].geometry.x == pytest.approx(11.1701)
    assert res.loc["w200"].geometry.y == pytest.approx(58.9381)
    # homes are not paths: the footway is still the only way read
    assert list(extract.ways.index) == [100]


def test_residences_in_profile_crs_and_outside_dropped(extract):
    homes = residences_from_osm(extract, CRS)
    x, y = homes.loc["w200"].geometry.x, homes.loc["w200"].geometry.y
    assert homes.loc["n30"].geometry.y - y > 150  # n30 lies ~155 m north of w200
    # a boundary 1 950 m south of w200: w200 is within the 2 km tolerance, n30 is not
    boundary = shapely.box(x - 10, y - 2_000, x + 10, y - 1_950)
    with pytest.warns(LayerWarning, match=r"outside the municipality.*n30"):
        kept = residences_from_osm(extract, CRS, boundary=boundary)
    assert list(kept.index) == ["w200", "w203"]  # w203 lies 11 m south of w200
    assert kept.index.name == "residence_id"
    assert list(kept.columns) == ["building", "source", "geometry"]
    assert kept.crs.to_epsg() == 3007 and kept.loc["w200", "source"] == "homes.osm"
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerWarning)
        near = shapely.box(x - 10, y - 10, x + 10, y + 10)
        assert len(residences_from_osm(extract, CRS, boundary=near)) == 3


def test_downloaded_buildings_become_homes():
    assert set(DOWNLOAD_TAGS["building"]) == RESIDENTIAL_BUILDINGS
    square = shapely.Polygon([(11.1700, 58.9380), (11.1702, 58.9380), (11.1702, 58.9382),
                              (11.1700, 58.9382)])
    gdf = gpd.GeoDataFrame(
        {"building": ["house", "yes", "detached", None], "highway": [None, None, None,
                                                                    "footway"]},
        geometry=[square, square, shapely.Point(11.17, 58.94),
                  shapely.LineString([(11.17, 58.937), (11.172, 58.937)])],
        index=pd.MultiIndex.from_tuples([("way", 200), ("way", 202), ("node", 30),
                                         ("way", 100)], names=["element", "id"]),
        crs=4326)
    ext = _extract_from_osmnx(gdf)
    assert sorted(ext.residences.index) == ["n30", "w200"]
    assert ext.residences.loc["w200"].geometry.x == pytest.approx(11.1701)
    assert ext.residences.loc["w200"].geometry.y == pytest.approx(58.9381)


def test_residences_file_polygons_and_points(tmp_path):
    homes = gpd.GeoDataFrame(
        {"Andamal": ["Bostad; småhus", "Bostad; flerfamiljshus"]},
        geometry=[shapely.box(100_000, 6_540_000, 100_012, 6_540_010),
                  shapely.Point(100_200, 6_540_100)], crs=CRS)
    path = tmp_path / "byggnader.geojson"
    homes.to_file(path)
    out = read_residences_file(path, CRS)
    assert list(out.index) == ["f1", "f2"]
    assert out.loc["f1", "building"] == "Bostad; småhus"
    assert (out.geom_type == "Point").all()
    assert shapely.contains(homes.geometry.iloc[0], out.geometry.iloc[0])


def test_residences_file_without_crs_names_the_file(tmp_path):
    path = tmp_path / "hus.geojson"
    path.write_text('{"type": "FeatureCollection", "crs": null, "features": []}',
                    encoding="utf-8")
    with pytest.raises(ValidationError, match="hus.geojson"):
        read_residences_file(path, CRS)


def test_profile_with_a_residences_file_routes_from_homes(tmp_path):
    from gis.ranking import rank
    from gis.school_routes import school_route_counts
    from gis.segments import segment_paths
    from layers import load_profile
    from layers.loader import load_layers

    root = Path(__file__).resolve().parents[1]
    src = root / "data" / "stromstad" / "profile.toml"
    demo = load_profile(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        base = load_layers(demo)
    demo_homes = base.route_origins()  # the demo's OSM buildings
    assert demo_homes is not None and len(demo_homes) > 3000
    assert not demo_homes["building"].isin(["cabin", "yes"]).any()

    # homes: every 40th path vertex, as if the houses stood along the paths
    xy = shapely.get_coordinates(base.paths.geometry.values)[::40]
    homes = gpd.GeoDataFrame({"building": ["house"] * len(xy)}, geometry=shapely.points(xy),
                             crs=CRS)
    homes_file = tmp_path / "hus.gpkg"
    homes.to_file(homes_file)
    text = src.read_text(encoding="utf-8").replace(
        "[sources]", f'[sources]\nresidences = "{homes_file}"')
    for key in ("boundary", "store"):  # keep the profile's other files where they are
        text = text.replace(f'{key} = "', f'{key} = "{src.parent}/', 1)
    text = text.replace('"../demo/', f'"{src.parent}/../demo/')
    prof_file = tmp_path / "profile.toml"
    prof_file.write_text(text, encoding="utf-8")
    prof = load_profile(prof_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        layers = load_layers(prof)
    origins = layers.route_origins()  # the file replaces the OSM buildings
    assert origins is not None and len(origins) == len(homes)
    assert layers.reports["residences"].source == "hus.gpkg"

    segs = segment_paths(layers.paths, prof.lighting.segment_length_m)
    from_homes = school_route_counts(segs, layers.schools, origins=origins)
    from_grid = school_route_counts(segs, layers.schools)
    assert from_homes.sum() > 0 and not from_homes.equals(from_grid)
    result = rank(layers.paths, layers.luminaires, layers.schools, layers.crossings,
                  layers.priority_areas, prof, route_counts=from_homes, origins=origins)
    said = result.summary(prof)["school_route_origins"]
    assert (said["kind"], said["count"], said["network"]) == ("homes", len(homes), "paths")
    assert set(said["reached_per_school"]) == set(layers.schools["name"])
    np.testing.assert_array_equal(
        result.segments["school_route_count"].to_numpy(),
        from_homes.reindex(result.segments.index).to_numpy())


def test_real_osm_sample_has_homes():
    """pyrosm's test.osm.pbf (real OSM data, ODbL): its residential buildings are read."""
    ext = read_osm_file(Path(pyrosm.__file__).parent / "data" / "test.osm.pbf")
    assert len(ext.residences) > 1000
    assert set(ext.residences["building"]) <= RESIDENTIAL_BUILDINGS
    homes = residences_from_osm(ext, "EPSG:3067")
    assert homes.index.is_unique and (homes.geom_type == "Point").all()
