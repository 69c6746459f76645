"""Tests for walks.importers: every source format, bad input by row, the dry-run report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from layers._common import ValidationError
from walks.importers import (
    FINDING_COLUMNS,
    TEMPLATE_COLUMNS,
    ImportResult,
    dry_run_report,
    read_findings_file,
)

FIXTURES = Path(__file__).parent / "fixtures" / "walks"
ROOT = Path(__file__).parent.parent
CRS = "EPSG:3007"
TO_3007 = Transformer.from_crs(4326, 3007, always_xy=True)
LAMP = (11.1675636, 58.9412831)  # lon, lat of the first finding in every fixture
BUSH = (11.1334959, 58.9398333)


@pytest.fixture(scope="module")
def boundary() -> shapely.Geometry:
    return gpd.read_file(ROOT / "data/stromstad/boundary.geojson").to_crs(CRS).union_all()


def xy(lonlat: tuple[float, float]) -> tuple[float, float]:
    return TO_3007.transform(*lonlat)


def assert_schema(result: ImportResult, fmt: str) -> gpd.GeoDataFrame:
    f = result.findings
    assert result.format == fmt
    assert list(f.columns) == [*FINDING_COLUMNS, "geometry"]
    assert f.crs.to_epsg() == 3007 and f.index.name == "row" and f.index.is_unique
    assert (f.geom_type == "Point").all()
    assert str(f["severity"].dtype) == "Int64"
    assert str(f["created"].dt.tz) == "Europe/Stockholm"
    assert (f["channel"] == f"import:{fmt}").all()
    return f


def assert_at(f: gpd.GeoDataFrame, row: str, lonlat: tuple[float, float]) -> None:
    x, y = xy(lonlat)
    assert (f.geometry[row].x, f.geometry[row].y) == (pytest.approx(x, abs=0.5),
                                                      pytest.approx(y, abs=0.5))


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copy(FIXTURES / name, tmp_path / name))


def messages(result: ImportResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in result.problems:
        out.setdefault(p.row, []).append(f"{p.column}: {p.message}")
    return out


# --- our CSV template -----------------------------------------------------------------


def test_template_cp1252_decimal_comma(boundary):
    r = read_findings_file(FIXTURES / "fynd_mall_cp1252.csv", CRS, boundary=boundary)
    f = assert_schema(r, "csv")
    assert r.ok and f.index.tolist() == ["2", "3", "4"]  # spreadsheet rows
    assert f["source_id"].tolist() == ["1", "2", "3"]
    assert f["category"].tolist() == ["belysning", "vegetation/buskage", "övrigt"]
    assert f["raw_category"].tolist() == ["Belysning", "buskar", "Parkering"]
    assert f["severity"].tolist() == [3, 2, 1]
    assert f.loc["2", "description"].endswith("– <script>alert(1)</script>")  # kept as text
    assert f.loc["2", "internal_note"] == "Felanmält enligt rektor"
    assert f.loc["2", "created"] == pd.Timestamp("2024-10-15 18:02", tz="Europe/Stockholm")
    assert f["walk_id"].isna().all() and f["photo_paths"].tolist() == [[], [], []]
    assert_at(f, "2", LAMP)
    assert r.warnings == ["1 finding(s) with an unrecognised category set to 'övrigt' (the "
                          "text is kept in raw_category): 'Parkering' (row 4)"]


def test_template_sweref_columns_and_shipped_template():
    f = assert_schema(read_findings_file(FIXTURES / "fynd_mall_sweref_utf8bom.csv", CRS), "csv")
    assert f["source_id"].tolist() == ["A-1", "A-2"]
    assert f["category"].tolist() == ["trafiksäkerhet/övergångsställe",
                                      "skadegörelse/klotter/nedskräpning"]
    assert_at(f, "3", BUSH)
    template = ROOT / "data/templates/fynd_mall.csv"
    assert template.read_text("utf-8-sig").strip().split(";") == list(TEMPLATE_COLUMNS)
    r = read_findings_file(template, CRS)
    assert [str(p) for p in r.problems] == [
        "fynd_mall.csv: the file has no data rows. Fix: fill in one finding per row below "
        "the header"]


def test_bad_rows_are_all_reported_by_row(boundary):
    r = read_findings_file(FIXTURES / "fynd_problem_cp1252.csv", CRS, boundary=boundary)
    assert r.findings.index.tolist() == ["2"] and not r.ok
    assert r.rejected.index.tolist() == ["3", "4", "5", "6", "7", "8"]
    m = messages(r)
    assert m["3"] == ["lat/lon: the point (lon 11.9746, lat 57.7089) lies outside the "
                      "municipality"]
    assert m["4"] == ["lat/lon: the coordinates look axis-swapped: (lon 58.939833, lat "
                      "11.133496) lies outside the municipality, but with x and y exchanged "
                      "it lies inside"]
    assert m["5"] == ["lat/lon: the finding has no location (coordinates are missing)"]
    assert m["6"] == ["allvarlighetsgrad: severity '5' is not 1, 2 or 3"]
    assert m["7"] == ["id: duplicate id '1' (also in row 2)"]
    assert m["8"] == ["datum: '15 oktober' is not a date and time"]
    with pytest.raises(ValidationError, match=r"(?s)6 problems in input:.*row 4, column "
                       r"'lat/lon': the coordinates look axis-swapped.*Fix: exchange"):
        r.raise_for_problems()


def test_swapped_and_outside_without_boundary_use_the_crs_area():
    r = read_findings_file(FIXTURES / "fynd_problem_cp1252.csv", CRS)
    m = messages(r)
    assert "3" not in m  # Göteborg lies in SWEREF 99 12 00's area: only a boundary catches it
    assert m["4"][0].endswith("lies outside the area covered by the profile CRS EPSG:3007 "
                              "(SWEREF99 12 00), but with x and y exchanged it lies inside")


def test_control_characters_stripped_and_mapper_injectable(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id;kategori;beskrivning;lat;lon\n"
                    "a;Lampa;Trasig\x07 lampa\x1b[31m <b>nu</b>\u202e;58,9412831;11,1675636\n",
                    encoding="utf-8")
    r = read_findings_file(path, CRS, category_mapper=lambda t: ("trygg/positiv plats", True))
    assert r.findings.loc["2", "description"] == "Trasig lampa[31m <b>nu</b>"
    assert r.findings.loc["2", "category"] == "trygg/positiv plats"
    assert r.warnings == ["control characters removed from text in rows 2"]


def test_columns_marked_internal_never_become_public(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id;Anteckning (intern);Beskrivning (syns ej, intern);text;lat;lon\n"
                    "a;enligt rektor;polisärende;Mörkt;58,9412831;11,1675636\n",
                    encoding="utf-8")
    f = read_findings_file(path, CRS).findings
    assert f.loc["2", "internal_note"] == "enligt rektor"
    assert f.loc["2", "description"] == "Mörkt"


# --- Survey123 --------------------------------------------------------------------------


def test_survey123_csv_never_copies_creator(boundary):
    r = read_findings_file(FIXTURES / "survey123_export.csv", CRS, boundary=boundary)
    f = assert_schema(r, "survey123")
    assert f["source_id"].tolist()[0] == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    assert f["description"].tolist()[1] == 'Buskar skymmer sikten, "farligt" på kvällen'
    assert f["internal_note"].tolist()[0] == "Felanmäld enligt vaktmästaren"
    # 10/16/2024 9:30:00 AM is UTC in the export
    assert f.loc["4", "created"] == pd.Timestamp("2024-10-16 11:30", tz="Europe/Stockholm")
    assert f.loc["4", "category"] == "övrigt" and pd.isna(f.loc["4", "severity"])
    assert_at(f, "2", LAMP)
    everything = f.drop(columns="geometry").astype(str).to_string() + dry_run_report(r)
    assert "Andersson" not in everything and "Bertil" not in everything
    assert "ignored column(s) with personal data, never imported: 'Creator', 'Editor'" in (
        r.warnings)


@pytest.mark.parametrize("zipped", [False, True])
def test_survey123_shapefile(tmp_path, boundary, zipped):
    gdf = gpd.GeoDataFrame({
        "objectid": [1, 2], "globalid": ["{AAAA-1}", "{BBBB-2}"],
        "kategori": ["Klotter", "Mörkt"], "beskrivnin": ["Klotter på muren", "Mörk passage"],
        "allvarligh": [1, 3], "CreationDa": [dt.date(2024, 10, 15), dt.date(2024, 10, 16)],
        "Creator": ["Cecilia Carlsson", "Cecilia Carlsson"],
    }, geometry=[shapely.Point(LAMP), shapely.Point(BUSH)], crs=4326)
    path = tmp_path / "survey.shp"
    gdf.to_file(path, engine="pyogrio")
    if zipped:
        zpath = tmp_path / "survey_export.zip"
        with zipfile.ZipFile(zpath, "w") as zf:
            for part in tmp_path.glob("survey.*"):
                zf.write(part, part.name)
        path = zpath
    f = assert_schema(read_findings_file(path, CRS, boundary=boundary), "survey123")
    assert f["source_id"].tolist() == ["aaaa-1", "bbbb-2"]
    assert f["category"].tolist() == ["skadegörelse/klotter/nedskräpning", "belysning"]
    assert f["severity"].tolist() == [1, 3] and f["description"].iloc[1] == "Mörk passage"
    assert f.loc["2", "created"] == pd.Timestamp("2024-10-16", tz="Europe/Stockholm")
    assert "Carlsson" not in f.drop(columns="geometry").astype(str).to_string()
    assert_at(f, "1", LAMP)


# --- QField GeoPackage ------------------------------------------------------------------


@pytest.mark.parametrize("epsg", [3006, 3007, 4326])
def test_qfield_geopackage_photos_and_traversal(tmp_path, boundary, epsg):
    (tmp_path / "DCIM").mkdir()
    (tmp_path / "DCIM" / "img_123.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path.parent / "secret.jpg").write_bytes(b"\xff\xd8\xff")
    gdf = gpd.GeoDataFrame({
        "uuid": ["{0f0e-1}", "{0f0e-2}", "{0f0e-3}", "{0f0e-4}"],
        "kategori": ["belysning", "buskar", "belysning", "Hundbajs"],
        "beskrivning": ["Trasig lampa", "Buskar", "Lampa", "Hundbajs överallt"],
        "allvarlighet": [3, 2, 1, None],
        "foto": ["DCIM/img_123.jpg", "../secret.jpg", "/etc/passwd", "DCIM/saknas.jpg"],
        "tidpunkt": pd.to_datetime(["2024-10-15 18:02", None, None, None]),
    }, geometry=[shapely.Point(p) for p in (LAMP, BUSH, LAMP, BUSH)], crs=4326).to_crs(epsg)
    path = tmp_path / "qfield_fynd.gpkg"
    gdf.to_file(path, layer="fynd", engine="pyogrio")
    r = read_findings_file(path, CRS, boundary=boundary)
    f = assert_schema(r, "qfield")
    assert f.index.tolist() == ["1", "4"] and f["source_id"].tolist() == ["0f0e-1", "0f0e-4"]
    assert f.loc["1", "photo_paths"] == [str((tmp_path / "DCIM" / "img_123.jpg").resolve())]
    assert f.loc["1", "created"] == pd.Timestamp("2024-10-15 18:02", tz="Europe/Stockholm")
    assert f.loc["4", "photo_paths"] == [] and f.loc["4", "category"] == "övrigt"
    assert_at(f, "1", LAMP)
    assert messages(r) == {
        "2": ["foto: photo path '../secret.jpg' points outside the folder of the file"],
        "3": ["foto: photo path '/etc/passwd' points outside the folder of the file"]}
    assert "1 photo file(s) not found in the folder of qfield_fynd.gpkg, not attached: row 4 " \
           "'DCIM/saknas.jpg'" in r.warnings


def test_geopackage_without_uuid_uses_fid_and_flags_lines(tmp_path):
    gdf = gpd.GeoDataFrame({"category": ["lighting", "lighting"]},
                           geometry=[shapely.Point(xy(LAMP)),
                                     shapely.LineString([xy(LAMP), xy(BUSH)])], crs=3007)
    path = tmp_path / "fynd.gpkg"
    gdf.to_file(path, engine="pyogrio")
    r = read_findings_file(path, CRS)
    assert r.findings["source_id"].tolist() == ["1"]
    assert messages(r) == {"2": ["geometry: the geometry is a LineString, not a point"]}


# --- Epicollect5 ------------------------------------------------------------------------


def test_epicollect5_csv(tmp_path, boundary):
    path = copy_fixture("epicollect5_form-1__fynd.csv", tmp_path)
    photo = tmp_path / "0b1d3c4e-5f60-4718-8293-a4b5c6d7e8f9_1729008120.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    r = read_findings_file(path, CRS, boundary=boundary)
    f = assert_schema(r, "epicollect5")
    assert f["source_id"].tolist() == ["0b1d3c4e-5f60-4718-8293-a4b5c6d7e8f9",
                                       "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"]
    assert f.loc["2", "created"] == pd.Timestamp("2024-10-15 18:02", tz="Europe/Stockholm")
    assert f.loc["2", "photo_paths"] == [str(photo.resolve())]
    assert f.loc["3", "photo_paths"] == []
    assert f.loc["3", "internal_note"].startswith("Fotolänkar (ej hämtade): https://five.")
    assert f["severity"].tolist() == [3, 2]
    assert_at(f, "2", LAMP)
    assert messages(r) == {"4": ["lat_4_Plats/long_4_Plats: the finding has no location "
                                 "(coordinates are missing)"]}
    assert any("photo links on the web were not downloaded" in w for w in r.warnings)


def test_epicollect5_json_download_and_api_shape(tmp_path):
    f = assert_schema(read_findings_file(FIXTURES / "epicollect5_fynd.json", CRS),
                      "epicollect5")
    assert f["category"].tolist() == ["belysning", "vegetation/buskage"]
    assert_at(f, "1", LAMP)
    entries = json.loads((FIXTURES / "epicollect5_fynd.json").read_text())["data"]
    for e in entries:  # private projects add the uploader's e-mail address
        e["created_by"] = "anna.andersson@example.se"
    api = {"meta": {"total": 2, "per_page": 50}, "links": {"next": None},
           "data": {"id": "form-1", "type": "entries", "entries": entries, "mapping": {}}}
    (tmp_path / "api.json").write_text(json.dumps(api))
    r = read_findings_file(tmp_path / "api.json", CRS)
    g = assert_schema(r, "epicollect5")
    assert g["source_id"].tolist() == f["source_id"].tolist()
    assert "andersson" not in g.drop(columns="geometry").astype(str).to_string()
    assert "ignored column(s) with personal data, never imported: 'created_by'" in r.warnings


# --- GPX, KML, GeoJSON ------------------------------------------------------------------


def test_gpx_waypoints(tmp_path, boundary):
    path = copy_fixture("waypoints_osmand.gpx", tmp_path)
    (tmp_path / "DCIM").mkdir()
    (tmp_path / "DCIM" / "IMG_20241015_180200.jpg").write_bytes(b"\xff\xd8\xff")
    r = read_findings_file(path, CRS, boundary=boundary)
    f = assert_schema(r, "gpx")
    assert r.ok and r.warnings == [] and len(f) == 3  # the track is not a finding
    assert f["source_id"].tolist()[0] == "Trasig lampa|58.941283,11.167564"  # name + position
    assert f["category"].tolist() == ["belysning", "vegetation/buskage", "trygg/positiv plats"]
    assert f.loc["1", "description"] == ("Trasig lampa: Lampan vid cykelstället blinkar och "
                                         "slocknar på kvällen.")
    assert f.loc["3", "description"] == "Fint torg: Välbesökt och upplyst även sent."
    assert f.loc["1", "created"] == pd.Timestamp("2024-10-15 18:02", tz="Europe/Stockholm")
    assert pd.isna(f.loc["3", "created"])
    assert f.loc["1", "photo_paths"] == [str(tmp_path / "DCIM" / "IMG_20241015_180200.jpg")]
    assert_at(f, "1", LAMP)


@pytest.mark.parametrize("kmz", [False, True])
def test_kml_from_google_my_maps(tmp_path, boundary, kmz):
    path = FIXTURES / "google_my_maps.kml"
    if kmz:
        path = tmp_path / "karta.kmz"
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(FIXTURES / "google_my_maps.kml", "doc.kml")
    r = read_findings_file(path, CRS, boundary=boundary)
    f = assert_schema(r, "kml")
    assert f["category"].tolist() == ["belysning", "belysning", "övrigt"]  # folder = layer
    assert f["raw_category"].tolist() == ["Belysning", "Belysning", "Namnlöst lager"]
    assert f.loc["1", "description"] == ("Trasig lampa vid cykelstället: Lampan blinkar och "
                                         "slocknar på kvällen.")  # <img> and <br> removed
    assert f.loc["1", "photo_paths"] == []
    assert f.loc["1", "internal_note"] == ("Fotolänkar (ej hämtade): https://mymaps."
                                           "usercontent.google.com/hostedimage/m/*/6AXfake1?fife")
    assert f.loc["2", "severity"] == 3  # from ExtendedData
    assert f["source_id"].iloc[0] == "Trasig lampa vid cykelstället|58.941283,11.167564"
    assert_at(f, "1", LAMP)
    assert r.warnings == [
        "1 finding(s) with an unrecognised category set to 'övrigt' (the text is kept in "
        "raw_category): 'Namnlöst lager' (row 3)",
        "photo links on the web were not downloaded (noted in internal_note) in rows 1"]


def test_geojson_our_own_shape(boundary):
    r = read_findings_file(ROOT / "data/demo/fynd_demo.geojson", CRS, boundary=boundary)
    f = assert_schema(r, "geojson")
    assert r.ok and r.warnings == [] and len(f) == 20
    assert f.loc["1", "source_id"] == "dcdb35d3-e0e2-5edd-9d1b-34f408edf7b3"
    assert f.loc["1", "walk_id"] == "demo-2024-1" and f.loc["1", "severity"] == 3
    assert f.loc["1", "created"] == pd.Timestamp("2024-10-15 18:02", tz="Europe/Stockholm")
    assert f["description"].str.contains("<script>alert(1)</script>", regex=False).any()


def test_geojson_generic_and_swapped(tmp_path, boundary):
    f = assert_schema(read_findings_file(FIXTURES / "generic_points.geojson", CRS,
                                         boundary=boundary), "geojson")
    assert f["source_id"].tolist() == ["f-1", "2"] and f["severity"].tolist() == [3, 1]
    assert f["category"].tolist() == ["belysning", "skadegörelse/klotter/nedskräpning"]
    assert f.loc["2", "created"] == pd.Timestamp("2024-10-15 18:14", tz="Europe/Stockholm")
    assert_at(f, "2", BUSH)  # the z value is dropped
    fc = json.loads((FIXTURES / "generic_points.geojson").read_text())
    fc["features"][1]["geometry"]["coordinates"] = [BUSH[1], BUSH[0]]
    fc["features"][0]["id"] = 2
    (tmp_path / "swapped.geojson").write_text(json.dumps(fc))
    r = read_findings_file(tmp_path / "swapped.geojson", CRS, boundary=boundary)
    assert messages(r) == {"2": [
        "id: duplicate id '2' (also in row 1)",
        "geometry: the coordinates look axis-swapped: (lon 58.939833, lat 11.133496) lies "
        "outside the municipality, but with x and y exchanged it lies inside"]}


# --- files that cannot be read ----------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("tom.csv", b"", "the file is empty"),
    ("trasig.csv", b"\x00\x01\x02PK\x03\x04" * 50, "does not look like a text (CSV) file"),
    ("trasig.gpkg", b"not a geopackage at all",
     "not a valid GeoPackage: the file is not an SQLite database"),
    ("tom.gpkg", b"", "the file is empty (0 bytes)"),
    ("trasig.json", b'{"data": [', "not valid JSON"),
    ("annat.json", b'{"hello": 1}', "neither an Epicollect5 export"),
    ("trasig.gpx", b"<gpx><wpt lat=", "cannot be read as GPX"),
    ("spår.gpx", b'<gpx version="1.1"><trk><trkseg/></trk></gpx>', "has no waypoints"),
    ("trasig.kml", b"<kml><Document>", "cannot be read as KML"),
    ("trasig.kmz", b"PK no zip", "not a zip file"),
    ("fynd.xlsx", b"PK", "unsupported file type '.xlsx'"),
])
def test_unreadable_files_are_problems(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    r = read_findings_file(path, CRS)
    assert not r.ok and r.rows_read == 0 and len(r.findings) == 0
    assert list(r.findings.columns) == [*FINDING_COLUMNS, "geometry"]
    assert r.problems[0].row == "" and message in r.problems[0].message
    assert message in dry_run_report(r)


def test_missing_file(tmp_path):
    r = read_findings_file(tmp_path / "finns_inte.csv", CRS)
    assert r.problems[0].message.startswith("file not found")


def test_kml_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("HEMLIGT")
    kml = (FIXTURES / "google_my_maps.kml").read_text().replace(
        '<kml xmlns', f'<!DOCTYPE kml [<!ENTITY x SYSTEM "file://{secret}">]>\n<kml xmlns', 1
    ).replace("Parkeringen</name>", "Parkeringen &x;</name>")
    (tmp_path / "xxe.kml").write_text(kml)
    r = read_findings_file(tmp_path / "xxe.kml", CRS)
    assert "HEMLIGT" not in r.findings.drop(columns="geometry").astype(str).to_string()


# --- the dry-run report -----------------------------------------------------------------


def test_dry_run_report_lists_rows_and_problems(boundary):
    r = read_findings_file(FIXTURES / "fynd_problem_cp1252.csv", CRS, boundary=boundary)
    text = dry_run_report(r)
    lines = text.splitlines()
    assert lines[0] == ("Torrkörning, inget sparas / dry run, nothing is saved: "
                        "fynd_problem_cp1252.csv (format csv, kanal / channel import:csv)")
    assert lines[2] == ("Rader / rows: 7 lästa / read, 1 importeras / would be imported, "
                        "6 med problem / with problems")
    assert ("Rad / row 2: OK  id 1, belysning, allvarlighet / severity 3, 2024-10-15 18:02, "
            "0 foto / photo(s)") in lines
    assert "Rad / row 4: PROBLEM  id 3" in lines
    assert sum(line.startswith("Rad / row") for line in lines) == 7
    assert text.count("Åtgärd / fix:") == 6


def test_truncated_geopackage_says_not_a_valid_geopackage_without_sql(tmp_path):
    """A GeoPackage cut off in transfer: the SQLite reason, not GDAL's SQL statement."""
    good = tmp_path / "hel.gpkg"
    gpd.GeoDataFrame({"kategori": ["belysning"]}, geometry=[shapely.Point(283000, 6536400)],
                     crs=CRS).to_file(good)
    cut = tmp_path / "trasig.gpkg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    r = read_findings_file(cut, CRS)
    assert not r.ok and len(r.findings) == 0
    msg = r.problems[0].message
    assert msg == "not a valid GeoPackage: database disk image is malformed"
    assert "sqlite3_prepare" not in dry_run_report(r) and "SELECT" not in dry_run_report(r)
