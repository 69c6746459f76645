"""Boundary and priority areas: one funnel, profile CRS, names required."""

import json
from pathlib import Path

import pytest
import shapely

from layers import ValidationError, load_profile
from layers._common import LayerWarning
from layers.boundary import load_boundary, read_priority_areas

ROOT = Path(__file__).resolve().parents[1]


def _fc(features, crs="urn:ogc:def:crs:OGC:1.3:CRS84"):
    return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
            "features": features}


def _square(lon, lat, d=0.01, name="Strömsdalen"):
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_boundary_is_in_profile_crs_and_contains_the_town():
    p = load_profile(ROOT / "data" / "stromstad" / "profile.toml")
    b = load_boundary(p)
    assert b.geom_type in ("Polygon", "MultiPolygon") and b.is_valid
    assert b.contains(shapely.Point(102324, 6535946))  # Strömstad centre in EPSG:3007
    assert 300e6 < b.area < 2_000e6  # m²: an envelope of a ~470 km² kommun plus sea


def test_priority_areas_reprojected_with_slug_index(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(_fc([_square(11.18, 58.94), _square(11.16, 58.93, name="Centrum")])),
                    encoding="utf-8")
    gdf = read_priority_areas(path, "EPSG:3007")
    assert gdf.crs.to_epsg() == 3007
    assert list(gdf.index) == ["strömsdalen", "centrum"]
    assert gdf.index.name == "area_id"
    assert list(gdf.columns) == ["name", "geometry"]
    # ~ 0.01° x 0.01° at 59° N ≈ 574 m x 1113 m
    assert gdf.loc["strömsdalen"].geometry.area == pytest.approx(574 * 1113, rel=0.02)


def test_priority_area_without_name_names_the_row(tmp_path):
    f = _square(11.18, 58.94)
    g = _square(11.10, 58.90)
    g["properties"] = {"name": ""}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(_fc([f, g])), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"areas\.geojson, row 2, column 'name': area has "
                                              r"no name\. Fix: give every priority area a name"):
        read_priority_areas(path, "EPSG:3007")


def test_priority_area_file_without_name_column(tmp_path):
    f = _square(11.18, 58.94)
    f["properties"] = {"id": 1}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(_fc([f])), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"no name column \(found: id"):
        read_priority_areas(path, "EPSG:3007")


def test_invalid_area_polygon_is_repaired_with_warning(tmp_path):
    bowtie = {"type": "Feature", "properties": {"name": "Fluga"}, "geometry": {
        "type": "Polygon", "coordinates": [[[11.1, 58.9], [11.2, 59.0], [11.2, 58.9],
                                            [11.1, 59.0], [11.1, 58.9]]]}}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(_fc([bowtie])), encoding="utf-8")
    with pytest.warns(LayerWarning, match="repaired invalid geometry"):
        gdf = read_priority_areas(path, "EPSG:3007")
    assert gdf.geometry.is_valid.all() and gdf.geometry.area.iloc[0] > 0


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"empty\.geojson: the file is empty \(0 bytes\)"),
    (b'{"type": "FeatureCollection", "features": [', r"cannot be read as a vector file"),
])
def test_empty_and_corrupt_area_files(tmp_path, content, message):
    path = tmp_path / ("empty.geojson" if not content else "broken.geojson")
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message):
        read_priority_areas(path, "EPSG:3007")
