"""Tests for layers.schools: polygons preferred, point buffering, names, designation."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import pyrosm
import pytest
from shapely.geometry import Point, box

from layers import schemas
from layers._common import LayerWarning, ValidationError
from layers.osm import OsmExtract, read_osm_file
from layers.schools import POINT_BUFFER_M, read_schools_file, schools_from_osm

FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "stromstad_small.osm"
PYROSM_SAMPLE = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
CRS = "EPSG:3007"


@pytest.fixture(scope="module")
def schools(extract: OsmExtract) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        return schools_from_osm(extract, CRS, designated=["VALÖNS  skola"])


def test_schema_index_crs(schools: gpd.GeoDataFrame) -> None:
    assert list(schools.columns) == [*schemas.SCHOOLS, "geometry"]
    assert schools.index.name == schemas.SCHOOLS_INDEX
    assert sorted(schools.index) == ["n61", "n62", "r200", "w120"]
    assert schools.crs.to_epsg() == 3007
    assert set(schools.geom_type) <= {"Polygon", "MultiPolygon"}
    assert schools.loc["r200", "osm_id"] == "r200"


def test_polygons_preferred_and_duplicate_node_dropped(schools: gpd.GeoDataFrame) -> None:
    # n60 'strömstiernaskolan' lies inside w120 'Strömstiernaskolan': same school.
    assert "n60" not in schools.index
    assert schools.loc["w120", "geometry_source"] == "polygon"
    assert schools.loc["r200", "geometry_source"] == "polygon"
    assert schools.loc["r200"].geometry.geom_type == "MultiPolygon"


def test_point_schools_buffered_50_m(schools: gpd.GeoDataFrame) -> None:
    assert POINT_BUFFER_M == 50.0
    for sid in ("n61", "n62"):
        assert schools.loc[sid, "geometry_source"] == "point_buffered"
        assert schools.loc[sid].geometry.area == pytest.approx(math.pi * 50.0**2, rel=1e-2)


def test_warnings(extract: OsmExtract) -> None:
    with pytest.warns(LayerWarning) as record:
        schools_from_osm(extract, CRS, designated=["Valöns skola", "Okänd skola"])
    messages = [str(r.message) for r in record]
    assert any("buffered 50 m" in m and "[n61, n62]" in m for m in messages)
    assert any("without a name" in m and "[n62]" in m for m in messages)
    assert any("designated schools not found" in m and "Okänd skola" in m for m in messages)


def test_names_and_grades(schools: gpd.GeoDataFrame) -> None:
    assert schools.loc["n62", "name"] == "Namnlös skola n62"
    assert schools.loc["w120", "grades"] == "1;2"  # from isced:level
    assert schools.loc["r200", "grades"] == "F-6"  # from grades
    assert schools.loc["n61", "grades"] == "1"


def test_designated_case_insensitive(schools: gpd.GeoDataFrame) -> None:
    assert schools["designated"].dtype == bool
    assert schools["designated"].to_dict() == {"w120": False, "r200": True, "n61": False,
                                               "n62": False}


def test_unclosed_school_way_warns(tmp_path: Path) -> None:
    path = tmp_path / "open.osm"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        '  <node id="1" version="1" lat="58.937" lon="11.172"/>\n'
        '  <node id="2" version="1" lat="58.938" lon="11.172"/>\n'
        '  <node id="3" version="1" lat="58.938" lon="11.173"/>\n'
        '  <way id="7" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<tag k="amenity" v="school"/><tag k="name" v="Öppen"/></way>\n</osm>\n',
        encoding="utf-8")
    with pytest.warns(LayerWarning, match=r"ways that are not closed areas were skipped.*\[w7\]"):
        out = schools_from_osm(read_osm_file(path), CRS)
    assert len(out) == 0
    assert list(out.columns) == [*schemas.SCHOOLS, "geometry"]


def test_read_file_points_and_polygons(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"Namn": ["Strömstiernaskolan", "strömstiernaskolan", "Skolan på berget"],
         "Årskurser": ["F-9", None, "F-3"]},
        geometry=[box(102300, 6536250, 102400, 6536350), Point(102350, 6536300),
                  Point(102600, 6536500)], crs=CRS)
    path = tmp_path / "skolor.geojson"
    gdf.to_crs(4326).to_file(path)
    with pytest.warns(LayerWarning, match=r"buffered 50 m.*\[f3\]"):
        out = read_schools_file(path, CRS, designated=["Skolan på berget"])
    assert list(out.index) == ["f1", "f3"]  # f2 is the same school as f1
    assert out.loc["f1", "grades"] == "F-9"
    assert out.loc["f3", "designated"]
    assert out.loc["f1"].geometry.area == pytest.approx(100 * 100, rel=1e-6)
    assert out["osm_id"].isna().all()


def test_read_file_without_name_column(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"typ": ["grundskola"]}, geometry=[Point(0, 0)], crs=CRS)
    path = tmp_path / "noname.gpkg"
    gdf.to_file(path)
    with pytest.raises(ValidationError,
                       match=r"noname\.gpkg, column 'name': no school name column "
                             r"\(found: typ\)\. Fix: add a column named one of name, namn"):
        read_schools_file(path, CRS)


def test_does_not_mutate_extract(extract: OsmExtract) -> None:
    before = extract.areas.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        schools_from_osm(extract, CRS)
    assert extract.areas.equals(before)


def test_pyrosm_sample_schools() -> None:
    # The sample's only school (w180464603) is cut at the extract's edge, so the reader
    # drops it with a warning; the layer is then empty but well-formed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        ext = read_osm_file(PYROSM_SAMPLE)
        out = schools_from_osm(ext, "EPSG:3067")
    assert list(out.columns) == [*schemas.SCHOOLS, "geometry"]
    assert out.crs.to_epsg() == 3067
    assert out.index.is_unique
    assert set(out["geometry_source"]) <= {"polygon", "point_buffered"}
