"""The offline basemap: features read from the OSM file, the payload the browser draws."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.context import nearest_name
from layers import ValidationError
from layers.basemap import ROAD_KINDS, read_basemap
from ui.basemap import QUANT_BITS, basemap_payload

ROOT = Path(__file__).resolve().parents[1]
DEMO_OSM = ROOT / "data" / "demo" / "stromstad_demo.osm"


@pytest.fixture(scope="module")
def basemap():
    return read_basemap(DEMO_OSM, "EPSG:3007")


def test_reads_every_highway_type_buildings_and_names(basemap):
    roads = basemap.roads
    assert roads.crs.to_epsg() == 3007
    # every line highway of the demo, not only the ranked paths
    assert set(roads["kind"]) == {"major", "secondary", "tertiary", "minor", "service",
                                  "track", "path"}
    assert ROAD_KINDS["residential"] == "minor" and ROAD_KINDS["footway"] == "path"
    assert len(basemap.buildings) == 3551  # every building of the demo, not only homes
    assert roads["name"].ne("").sum() > 200
    assert {"Strömstiernaskolan", "Bojarskolan"} <= set(basemap.places["name"])
    assert basemap.places.geometry.geom_type.eq("Point").all()


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ValidationError, match="nope.osm.*file not found"):
        read_basemap(tmp_path / "nope.osm", "EPSG:3007")


def test_payload_decodes_to_the_features(basemap):
    p = basemap_payload(basemap)
    roads = p["roads"]
    assert len(roads["n"]) == len(roads["c"]) >= len(basemap.roads)
    q = np.cumsum(np.asarray(roads["d"], dtype=np.int64).reshape(-1, 2), axis=0)
    assert q.shape[0] == sum(roads["n"])
    # the first vertex back in Web Mercator metres, within the quantisation (~0.15 m)
    half = 20037508.342789244
    x = q[0, 0] / 2 ** QUANT_BITS * 2 * half - half
    y = half - q[0, 1] / 2 ** QUANT_BITS * 2 * half
    first = gpd.GeoSeries([basemap.roads.geometry.iloc[0]], crs=3007).to_crs(3857)
    x0, y0 = shapely.get_coordinates(first.values)[0]
    assert x == pytest.approx(x0, abs=1.0) and y == pytest.approx(y0, abs=1.0)
    # one label line per long stretch, carrying the street's name
    assert set(p["labels"]["t"]) <= set(basemap.roads["name"])
    assert len(p["labels"]["t"]) == len(p["labels"]["n"]) > 100
    assert p["counts"]["buildings"] == len(basemap.buildings)
    assert len(p["places"]["t"]) == len(basemap.places)


def test_nearest_name_prefers_own_name_and_respects_the_radius():
    crs = 3007
    feats = gpd.GeoSeries([shapely.LineString([(0, 0), (10, 0)]),
                           shapely.LineString([(0, 100), (10, 100)]),
                           shapely.LineString([(0, 500), (10, 500)])], index=["a", "b", "c"],
                          crs=crs)
    streets = gpd.GeoDataFrame({"name": ["Storgatan", ""]},
                               geometry=[shapely.LineString([(0, 30), (10, 30)]),
                                         shapely.LineString([(0, 101), (10, 101)])],
                               crs=crs)
    own = pd.Series({"a": None, "b": "Skolstigen", "c": ""})
    out = nearest_name(feats, streets, own=own, max_distance_m=60.0)
    assert out.index.tolist() == ["a", "b", "c"]
    assert out["name"].tolist() == ["Storgatan", "Skolstigen", ""]
    assert out.loc["a", "distance_m"] == pytest.approx(30.0)
    assert out.loc["b", "distance_m"] == 0.0
    assert np.isnan(out.loc["c", "distance_m"])


def test_demo_has_water_land_use_and_place_names(basemap):
    """The demo's own sea, lakes, land use and places (data/demo/generate_demo.py) reach
    the basemap and its payload."""
    water = basemap.water
    areas = water[water["kind"].eq("area")]
    assert len(areas) >= 3  # the sea (natural=bay) and lakes (natural=water)
    assert {"Strömsfjorden", "Lillsjön"} <= set(areas["name"])
    assert water["kind"].eq("line").any()  # natural=coastline
    assert {"residential", "forest", "farmland", "grass"} <= set(basemap.landuse["kind"])
    places = basemap.places.set_index("name")["rank"]
    assert places["Strömstad"] == 1  # place=town
    assert places["Strömsdalen"] == 2 and places["Skee"] == 2  # suburb, village
    assert places["Vik"] == 3  # hamlet
    # Nothing of it covers the town: no building stands in the water.
    sea_and_lakes = shapely.union_all(areas.geometry.values)
    assert not basemap.buildings.geometry.intersects(sea_and_lakes).any()
    p = basemap_payload(basemap)
    assert p["counts"]["water"] == len(water) and p["counts"]["landuse"] == len(basemap.landuse)
    assert len(p["water"]["n"]) >= len(areas)
    assert {"Strömstad", "Strömsdalen", "Skee"} <= set(p["places"]["t"])
