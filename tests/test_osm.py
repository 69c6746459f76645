"""Tests for layers.osm: the raw OSM reader (files) and the osmnx download path."""

from __future__ import annotations

import bz2
import gzip
import json
import socket
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import pyrosm
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import box

from layers._common import LayerWarning, ValidationError
from layers.osm import (
    OSM_KEYS,
    OsmDownloadError,
    OsmExtract,
    configure_osmnx,
    download_osm,
    element_ids,
    read_osm_file,
)
from layers.paths import paths_from_osm
from layers.schools import schools_from_osm

FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "stromstad_small.osm"
PYROSM_SAMPLE = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"


@pytest.fixture(autouse=True)
def _restore_osmnx_settings() -> Iterator[None]:
    """configure_osmnx changes global osmnx settings: put them back after each test."""
    names = [n for n in dir(ox.settings) if not n.startswith("_")
             and not callable(getattr(ox.settings, n))]
    saved = {n: getattr(ox.settings, n) for n in names}
    yield
    for n, v in saved.items():
        setattr(ox.settings, n, v)


# --------------------------------------------------------------------------- file reader


def test_fixture_frames_have_the_documented_shape(extract: OsmExtract) -> None:
    for frame in (extract.nodes, extract.ways, extract.areas):
        assert list(frame.columns) == [*OSM_KEYS, "geometry"]
        assert frame.crs.to_epsg() == 4326
        assert frame.index.name == "osm_id"
        assert frame.index.is_unique
        assert all(str(frame[k].dtype) == "string" for k in OSM_KEYS)
    assert extract.nodes.index.dtype == np.int64
    assert extract.ways.index.dtype == np.int64
    assert set(extract.nodes.geom_type) == {"Point"}
    assert set(extract.ways.geom_type) == {"LineString"}
    assert set(extract.areas.geom_type) <= {"Polygon", "MultiPolygon"}
    assert extract.source == "stromstad_small.osm"


def test_only_tagged_elements_with_selected_keys_are_read(extract: OsmExtract) -> None:
    # node 1 is an untagged way node; way 121/122 are untagged multipolygon members;
    # way 130 has only building=yes.
    assert 1 not in extract.nodes.index
    assert {121, 122, 130}.isdisjoint(extract.ways.index)
    assert {2, 51, 60, 61, 62, 70} <= set(extract.nodes.index)
    assert extract.nodes.loc[70, "light:method"] == "LED"
    assert pd.isna(extract.nodes.loc[70, "name"])
    assert extract.nodes.loc[60, "name"] == "strömstiernaskolan"


def test_closed_ways_stay_lines_and_areas_include_the_relation(extract: OsmExtract) -> None:
    assert extract.ways.loc[120].geometry.is_closed
    assert sorted(extract.areas.index) == ["r200", "w110", "w120"]
    school = extract.areas.loc["r200"]
    assert school["name"] == "Valöns skola"
    assert school["grades"] == "F-6"
    # outer ring from two member ways: 0.0015 x 0.0008 degrees
    assert school.geometry.area == pytest.approx(0.0015 * 0.0008, rel=1e-6)
    assert extract.nodes.loc[2].geometry.x == pytest.approx(11.172)
    assert extract.nodes.loc[2].geometry.y == pytest.approx(58.937)


def _to_pbf(src: Path, dst: Path) -> Path:
    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


@pytest.mark.parametrize("suffix", [".osm.bz2", ".osm.gz", ".osm.pbf"])
def test_compressed_and_pbf_give_equal_frames(tmp_path: Path, extract: OsmExtract,
                                              suffix: str) -> None:
    target = tmp_path / f"stromstad_small{suffix}"
    raw = FIXTURE.read_bytes()
    if suffix == ".osm.bz2":
        target.write_bytes(bz2.compress(raw))
    elif suffix == ".osm.gz":
        target.write_bytes(gzip.compress(raw))
    else:
        _to_pbf(FIXTURE, target)
    other = read_osm_file(target)
    assert other.source == target.name
    for a, b in ((extract.nodes, other.nodes), (extract.ways, other.ways),
                 (extract.areas, other.areas)):
        assert_geodataframe_equal(a, b, check_less_precise=True)


# --------------------------------------------------------------------------- bad files


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"nothere\.osm\.pbf: file not found"):
        read_osm_file(tmp_path / "nothere.osm.pbf")


def test_empty_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm.pbf"
    path.write_bytes(b"")
    with pytest.raises(ValidationError, match=r"empty\.osm\.pbf: the file is empty.*geofabrik"):
        read_osm_file(path)


def test_random_bytes_pbf_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.osm.pbf"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ValidationError,
                       match=r"corrupt\.osm\.pbf: cannot be read as OpenStreetMap data"):
        read_osm_file(path)


def test_truncated_xml_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "truncated.osm"
    text = FIXTURE.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ValidationError,
                       match=r"truncated\.osm: cannot be read as OpenStreetMap data.*Fix:"):
        read_osm_file(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "paths.geojson"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"paths\.geojson: unsupported OpenStreetMap"):
        read_osm_file(path)


def test_file_without_elements_of_interest(tmp_path: Path) -> None:
    path = tmp_path / "buildings.osm"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        '  <node id="1" version="1" lat="58.937" lon="11.172">'
        '<tag k="building" v="yes"/></node>\n</osm>\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"buildings\.osm: the file contains no OSM"):
        read_osm_file(path)


def test_way_with_missing_nodes_is_dropped_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "cut.osm"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        '  <node id="1" version="1" lat="58.937" lon="11.172"/>\n'
        '  <node id="2" version="1" lat="58.938" lon="11.172"/>\n'
        '  <way id="5" version="1"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="footway"/></way>\n'
        '  <way id="6" version="1"><nd ref="2"/><nd ref="99"/>'
        '<tag k="highway" v="footway"/></way>\n</osm>\n', encoding="utf-8")
    with pytest.warns(LayerWarning, match=r"cut\.osm: dropped ways cut at the extract's edge "
                      r"\(fewer than two consecutive nodes.*\[w6\]"):
        ext = read_osm_file(path)
    assert list(ext.ways.index) == [5]


CUT_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" version="1" lat="58.9370" lon="11.1720"/>
  <node id="2" version="1" lat="58.9375" lon="11.1720"/>
  <node id="3" version="1" lat="58.9380" lon="11.1720"/>
  <node id="4" version="1" lat="58.9390" lon="11.1720"/>
  <node id="5" version="1" lat="58.9395" lon="11.1720"/>
  <node id="11" version="1" lat="58.9400" lon="11.1800"/>
  <node id="12" version="1" lat="58.9400" lon="11.1810"/>
  <node id="13" version="1" lat="58.9405" lon="11.1810"/>
  <node id="21" version="1" lat="58.9350" lon="11.1700"/>
  <node id="22" version="1" lat="58.9350" lon="11.1702"/>
  <node id="23" version="1" lat="58.9352" lon="11.1702"/>
  <node id="24" version="1" lat="58.9352" lon="11.1700"/>
  <node id="31" version="1" lat="58.9360" lon="11.1750"/>
  <node id="32" version="1" lat="58.9360" lon="11.1752"/>
  <way id="7" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="98"/>
    <nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>
  <way id="8" version="1"><nd ref="1"/><nd ref="2"/><nd ref="97"/>
    <tag k="highway" v="cycleway"/><tag k="lit" v="yes"/></way>
  <way id="9" version="1"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="96"/>
    <nd ref="11"/><tag k="amenity" v="school"/><tag k="name" v="Kantskolan"/></way>
  <way id="41" version="1"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="24"/>
    <nd ref="21"/></way>
  <relation id="50" version="1"><member type="way" ref="41" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="building" v="apartments"/></relation>
  <way id="60" version="1"><nd ref="31"/><nd ref="32"/><nd ref="95"/><nd ref="31"/>
    <tag k="building" v="house"/></way>
  <relation id="70" version="1"><member type="way" ref="94" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="amenity" v="school"/>
    <tag k="name" v="Borta skola"/></relation>
</osm>
"""


def test_features_cut_at_the_edge_keep_what_is_inside(tmp_path: Path) -> None:
    path = tmp_path / "cut.osm"
    path.write_text(CUT_OSM, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ext = read_osm_file(path)
    report = [str(w.message) for w in caught]
    # w7 lost its middle node: two runs, kept as a MultiLineString of the nodes present
    w7 = ext.ways.loc[7].geometry
    assert w7.geom_type == "MultiLineString" and len(w7.geoms) == 2
    assert [len(g.coords) for g in w7.geoms] == [3, 2]
    assert ext.ways.loc[8].geometry.geom_type == "LineString"  # lost its end: one run
    assert ext.ways.loc[8, "lit"] == "yes"
    # the school's outline lost a node: the hull of the three present, with its tags
    school = ext.areas.loc["w9"]
    assert school["name"] == "Kantskolan" and school.geometry.geom_type == "Polygon"
    assert sorted(school.geometry.exterior.coords)[0] == (11.18, 58.94)
    # a building multipolygon relation is a home; a home cut at the edge keeps its point
    homes = ext.residences
    assert sorted(homes.index) == ["r50", "w60"]
    assert homes.loc["r50"].geometry.x == pytest.approx(11.1701)
    assert homes.loc["w60"].geometry.x == pytest.approx(11.1751)
    assert any("kept the part inside the extract" in m and "[w7, w8, w9]" in m for m in report)
    assert any("areas cut at the extract's edge" in m and "[w9]" in m for m in report)
    assert any("homes cut at the extract's edge" in m and "[w60]" in m for m in report)
    assert any("dropped multipolygon relations" in m and "[r70]" in m for m in report)


# --------------------------------------------------------------------------- real data


def test_pyrosm_sample_reads() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ext = read_osm_file(PYROSM_SAMPLE)
    report = [str(w.message) for w in caught]

    def said(start: str) -> str:
        (hit,) = [m for m in report if m.startswith(f"test.osm.pbf: {start}")]
        return hit

    # a real extract cut at its edge: what was kept and what was dropped, with counts
    assert "19 feature(s)" in said("kept the part inside the extract")
    assert "1 feature(s) [w180464603]" in said("areas cut at the extract's edge")
    assert "25 feature(s)" in said("homes cut at the extract's edge")
    assert "12 feature(s)" in said("dropped ways cut at the extract's edge")
    assert len(ext.ways) > 300
    assert len(ext.nodes) > 50
    assert ext.ways.index.is_unique and ext.areas.index.is_unique
    assert (ext.nodes["highway"] == "crossing").sum() > 0
    bounds = ext.ways.total_bounds  # Kotka area, Finland
    assert 26 < bounds[0] < bounds[2] < 28
    assert 60 < bounds[1] < bounds[3] < 61


# --------------------------------------------------------------------------- helpers


def test_element_ids() -> None:
    values = pd.Series([12, "w7", " N3 ", -1, None, "abc", 4.0])
    assert element_ids(values, "w").tolist() == ["w12", "w7", "n3", pd.NA, pd.NA, pd.NA,
                                                 "w4"]


# --------------------------------------------------------------------------- osmnx


OVERPASS_JSON: dict[str, Any] = {
    "version": 0.6,
    "elements": [
        *({"type": "node", "id": i, "lat": lat, "lon": lon} for i, lat, lon in [
            (1, 58.9370, 11.1700), (2, 58.9371, 11.1710), (3, 58.9372, 11.1720),
            (4, 58.9373, 11.1730), (5, 58.9380, 11.1700), (6, 58.9380, 11.1710),
            (7, 58.9386, 11.1710), (8, 58.9386, 11.1700), (10, 58.9360, 11.1700),
            (11, 58.9360, 11.1740)]),
        {"type": "node", "id": 9, "lat": 58.9365, "lon": 11.1720,
         "tags": {"highway": "crossing", "crossing": "zebra"}},
        {"type": "way", "id": 101, "nodes": [1, 2, 3],
         "tags": {"highway": "footway", "lit": "yes", "name": "Strandpromenaden"}},
        {"type": "way", "id": 102, "nodes": [3, 4],
         "tags": {"highway": "footway", "footway": "sidewalk", "lit": "disused"}},
        {"type": "way", "id": 103, "nodes": [5, 6, 7, 8, 5],
         "tags": {"amenity": "school", "name": "Strömstiernaskolan"}},
        {"type": "way", "id": 104, "nodes": [10, 11],
         "tags": {"highway": "residential", "name": "Karlsgatan"}},
    ],
}

NOMINATIM_JSON = [{
    "place_id": 1, "licence": "test", "osm_type": "relation", "osm_id": 935416,
    "lat": "58.9370", "lon": "11.1720", "class": "boundary", "type": "administrative",
    "place_rank": 12, "importance": 0.6, "addresstype": "municipality",
    "name": "Strömstads kommun", "display_name": "Strömstads kommun, Sverige",
    "boundingbox": ["58.930", "58.950", "11.160", "11.180"],
    "geojson": {"type": "Polygon", "coordinates": [[[11.16, 58.93], [11.18, 58.93],
                                                    [11.18, 58.95], [11.16, 58.95],
                                                    [11.16, 58.93]]]},
}]


class _StandIn(BaseHTTPRequestHandler):
    """Answers Overpass /api/interpreter POSTs and Nominatim /search GETs."""

    requests: list[str] = []

    def _send(self, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        type(self).requests.append(f"POST {self.path}")
        if self.path == "/api/interpreter":
            self._send(OVERPASS_JSON)
        else:
            self.send_error(404)

    def do_GET(self) -> None:
        type(self).requests.append(f"GET {self.path}")
        if self.path.startswith("/search"):
            self._send(NOMINATIM_JSON)
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_configure_osmnx_sets_fast_offline_friendly_settings(tmp_path: Path) -> None:
    configure_osmnx("http://127.0.0.1:1/api/", "http://127.0.0.1:1/", timeout_s=3,
                    cache_folder=tmp_path / "cache")
    s = ox.settings
    assert s.overpass_url == "http://127.0.0.1:1/api"
    assert s.nominatim_url == "http://127.0.0.1:1/"
    assert s.overpass_rate_limit is False
    assert s.doh_url_template is None
    assert s.requests_timeout == 3
    assert s.use_cache is True
    assert Path(s.cache_folder) == tmp_path / "cache"
    assert {"lit", "crossing", "surface"} <= set(s.useful_tags_way)
    assert {"lit", "crossing"} <= set(s.useful_tags_node)


def test_download_polygon_from_stand_in(stand_in: str, tmp_path: Path) -> None:
    polygon = box(11.16, 58.93, 11.18, 58.95)
    ext = download_osm(polygon, overpass_url=f"{stand_in}/api", timeout_s=5,
                       cache_folder=tmp_path / "cache")
    assert ext.source == "overpass"
    assert set(ext.ways.index) == {101, 102, 103, 104}
    assert list(ext.nodes.index) == [9]
    assert list(ext.areas.index) == ["w103"]
    assert ext.ways.loc[103].geometry.geom_type == "LineString"
    assert ext.areas.loc["w103", "name"] == "Strömstiernaskolan"
    assert list(ext.ways.columns) == [*OSM_KEYS, "geometry"]
    assert str(ext.ways["lit"].dtype) == "string"
    assert any((tmp_path / "cache").iterdir())  # osmnx's response cache is in tmp_path

    paths = paths_from_osm(ext, "EPSG:3007")
    assert list(paths.index) == ["w101", "w102"]
    assert paths.loc["w102", "path_type"] == "sidewalk"
    assert paths.loc["w102", "lit"] == "no"
    assert paths.crs.to_epsg() == 3007
    schools = schools_from_osm(ext, "EPSG:3007")
    assert list(schools.index) == ["w103"]


def test_download_polygon_in_profile_crs(stand_in: str, tmp_path: Path) -> None:
    import geopandas as gpd

    polygon = gpd.GeoSeries([box(11.16, 58.93, 11.18, 58.95)], crs=4326).to_crs(3007).iloc[0]
    ext = download_osm(polygon, crs="EPSG:3007", overpass_url=f"{stand_in}/api",
                       cache_folder=tmp_path / "cache")
    assert set(ext.ways.index) == {101, 102, 103, 104}


def test_download_place_geocodes_with_nominatim(stand_in: str, tmp_path: Path) -> None:
    _StandIn.requests.clear()
    ext = download_osm("Strömstads kommun", overpass_url=f"{stand_in}/api",
                       nominatim_url=f"{stand_in}/", cache_folder=tmp_path / "cache")
    assert set(ext.ways.index) == {101, 102, 103, 104}
    assert any(r.startswith("GET /search") for r in _StandIn.requests)
    assert "POST /api/interpreter" in _StandIn.requests


def test_download_without_network_fails_with_clear_message(closed_port: int,
                                                           tmp_path: Path) -> None:
    with pytest.raises(OsmDownloadError,
                       match=r"no network connection to http://127\.0\.0\.1:\d+/api.*"
                             r"sources\.osm"):
        download_osm(box(11.16, 58.93, 11.18, 58.95),
                     overpass_url=f"http://127.0.0.1:{closed_port}/api", timeout_s=2,
                     cache_folder=tmp_path / "cache")


def test_download_place_without_network(closed_port: int, tmp_path: Path) -> None:
    with pytest.raises(OsmDownloadError, match=r"no network connection.*local extract"):
        download_osm("Strömstads kommun", nominatim_url=f"http://127.0.0.1:{closed_port}/",
                     overpass_url=f"http://127.0.0.1:{closed_port}/api", timeout_s=2,
                     cache_folder=tmp_path / "cache")



def test_download_place_when_overpass_is_down_names_overpass(stand_in: str, closed_port: int,
                                                             tmp_path: Path) -> None:
    with pytest.raises(OsmDownloadError,
                       match=r"no network connection to http://127\.0\.0\.1:\d+/api/interpreter"):
        download_osm("Strömstads kommun", nominatim_url=f"{stand_in}/",
                     overpass_url=f"http://127.0.0.1:{closed_port}/api", timeout_s=2,
                     cache_folder=tmp_path / "cache")


def test_download_rejects_points() -> None:
    from shapely.geometry import Point

    with pytest.raises(TypeError, match="needs a place name or a Polygon/MultiPolygon, got Point"):
        download_osm(Point(11.17, 58.94))
