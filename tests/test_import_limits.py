"""The profile's [limits] in the importers: refused early, in bounded memory, naming the
limit; nothing of a refused file reaches the findings."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from layers._common import ValidationError
from layers.profile import Limits, load_profile
from walks.importers import read_findings_file

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:3007"
LON, LAT = 11.1723, 58.9371


def _csv(path: Path, n_rows: int, description: str = "Mörkt") -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id;kategori;beskrivning;lat;lon\n")
        for i in range(n_rows):
            fh.write(f"{i};belysning;{description};58,9371;11,1723\n")
    return path


def _kml(n: int) -> str:
    marks = "".join(f"<Placemark id='p{i}'><name>Lampa {i}</name><Point><coordinates>"
                    f"{LON},{LAT}</coordinates></Point></Placemark>" for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
            f"<Document><Folder><name>Belysning</name>{marks}</Folder></Document></kml>")


def _traced(read):  # type: ignore[no-untyped-def]
    """(result of *read*(), peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        return read(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _refused(result, key: str) -> str:
    assert not result.ok and len(result.findings) == 0
    (problem,) = result.problems
    assert f"(profile [limits] {key})" in problem.message
    return problem.message


# --- rows per import: the boundary is pinned, counting streams ----------------------------


def test_csv_rows_at_the_limit_pass_and_one_more_is_refused(tmp_path):
    limits = Limits(rows_per_import=50)
    ok = read_findings_file(_csv(tmp_path / "ok.csv", 50), CRS, limits=limits)
    assert ok.ok and len(ok.findings) == 50
    over = read_findings_file(_csv(tmp_path / "over.csv", 51), CRS, limits=limits)
    assert _refused(over, "rows_per_import") == (
        "the file has more than 50 rows; the limit is 50 rows per import "
        "(profile [limits] rows_per_import)")


def test_a_newline_inside_quotes_is_one_row(tmp_path):
    path = tmp_path / "fynd.csv"
    path.write_text('id;kategori;beskrivning;lat;lon\n1;belysning;"rad 1\nrad 2\nrad 3";'
                    '58,9371;11,1723\n', encoding="utf-8")
    r = read_findings_file(path, CRS, limits=Limits(rows_per_import=1))
    assert r.ok and r.findings["description"].tolist() == ["rad 1\nrad 2\nrad 3"]


def test_a_huge_csv_is_refused_in_bounded_memory(tmp_path):
    """1 M rows (≈ 40 MB): refused after counting 101 rows, not parsed by pandas."""
    path = tmp_path / "stor.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id;kategori;beskrivning;lat;lon\n")
        fh.write("1;belysning;Mörkt vid bron x;58,9371;11,1723\n" * 1_000_000)
    r, peak = _traced(lambda: read_findings_file(path, CRS, limits=Limits(rows_per_import=100)))
    _refused(r, "rows_per_import")
    assert peak < 20_000_000, peak


def test_kml_placemarks_over_the_limit_are_refused_before_fastkml(tmp_path):
    limits = Limits(rows_per_import=20)
    ok = tmp_path / "ok.kml"
    ok.write_text(_kml(20), encoding="utf-8")
    assert read_findings_file(ok, CRS, limits=limits).ok
    over = tmp_path / "over.kml"
    over.write_text(_kml(21), encoding="utf-8")
    assert "more than 20 placemarks" in _refused(
        read_findings_file(over, CRS, limits=limits), "rows_per_import")


def test_300k_placemark_kmz_is_refused_while_streaming_before_fastkml(tmp_path, monkeypatch):
    import fastkml

    path = tmp_path / "stor.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", _kml(300_000))

    def never(*_a, **_k):
        raise AssertionError("fastkml must not see a file over the limit")
    monkeypatch.setattr(fastkml.KML, "class_from_element", never)
    r = read_findings_file(path, CRS)  # default limits: 100 000 rows, 50 MB
    assert "more than 100 000 placemarks" in _refused(r, "rows_per_import")


def test_gpx_waypoints_over_the_limit(tmp_path):
    wpts = "".join(f'<wpt lat="{LAT}" lon="{LON}"><name>p{i}</name><type>belysning</type>'
                   "</wpt>" for i in range(4))
    path = tmp_path / "p.gpx"
    path.write_text(f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">{wpts}'
                    "</gpx>", encoding="utf-8")
    assert read_findings_file(path, CRS, limits=Limits(rows_per_import=4)).ok
    assert "more than 3 waypoints" in _refused(
        read_findings_file(path, CRS, limits=Limits(rows_per_import=3)), "rows_per_import")


def test_geojson_and_geopackage_features_over_the_limit(tmp_path):
    gdf = gpd.GeoDataFrame({"kategori": ["belysning"] * 3, "id": ["a", "b", "c"]},
                           geometry=[shapely.Point(LON, LAT)] * 3, crs=4326)
    gpkg = tmp_path / "qfield.gpkg"
    gdf.to_crs(CRS).to_file(gpkg)
    geojson = tmp_path / "fynd.geojson"
    geojson.write_text(gdf.to_json(), encoding="utf-8")
    for path in (gpkg, geojson):
        assert read_findings_file(path, CRS, limits=Limits(rows_per_import=3)).ok
        assert "the file has 3 features" in _refused(
            read_findings_file(path, CRS, limits=Limits(rows_per_import=2)),
            "rows_per_import")


# --- the KMZ zip bomb ---------------------------------------------------------------------


def _bomb(path: Path, size: int, claimed: int | None = None) -> Path:
    """A KMZ whose doc.kml decompresses to *size* bytes (mostly spaces: tiny zipped); with
    *claimed*, the headers lie that it is that many bytes."""
    body = _kml(1).replace("</Document>", " " * size + "</Document>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", body)
    if claimed is not None:
        data = bytearray(path.read_bytes())
        real = len(body).to_bytes(4, "little")
        fake = claimed.to_bytes(4, "little")
        assert data.count(real) == 2  # local header and central directory
        path.write_bytes(bytes(data).replace(real, fake))
    return path


def test_kmz_over_the_decompressed_limit_is_refused_while_reading(tmp_path):
    path = _bomb(tmp_path / "bomb.kmz", 40_000_000)
    assert path.stat().st_size < 200_000
    r, peak = _traced(lambda: read_findings_file(path, CRS, limits=Limits(upload_mb=5)))
    assert "doc.kml in the archive decompresses to more than 5 MB" in _refused(r, "upload_mb")
    assert peak < 15_000_000, peak


def test_kmz_whose_header_lies_about_its_size_is_still_bounded(tmp_path):
    path = _bomb(tmp_path / "lie.kmz", 40_000_000, claimed=1_000)
    r, peak = _traced(lambda: read_findings_file(path, CRS, limits=Limits(upload_mb=5)))
    assert not r.ok and len(r.findings) == 0
    assert "KMZ" in r.problems[0].message or "upload_mb" in r.problems[0].message
    assert peak < 15_000_000, peak


# --- text length, photos, total size ------------------------------------------------------


def test_text_longer_than_the_limit_is_a_problem_of_its_row(tmp_path):
    limits = Limits(chars_per_text=100)
    ok = read_findings_file(_csv(tmp_path / "ok.csv", 1, "x" * 100), CRS, limits=limits)
    assert ok.ok
    r = read_findings_file(_csv(tmp_path / "lang.csv", 2, "x" * 101), CRS, limits=limits)
    assert not r.ok and len(r.findings) == 0
    assert [(p.row, p.column) for p in r.problems] == [("2", "beskrivning"),
                                                       ("3", "beskrivning")]
    assert r.problems[0].message == ("the text has 101 characters; the limit is 100 "
                                     "characters (profile [limits] chars_per_text)")


def test_photos_per_finding_and_the_total_upload_size(tmp_path):
    (tmp_path / "DCIM").mkdir()
    names = []
    for i in range(3):
        (tmp_path / "DCIM" / f"{i}.jpg").write_bytes(b"\xff\xd8" + bytes(400_000))
        names.append(f"DCIM/{i}.jpg")
    path = tmp_path / "fynd.csv"
    path.write_text("id;kategori;foto;lat;lon\n"
                    f"1;belysning;{';'.join(names)};58,9371;11,1723\n".replace(
                        ";DCIM/1", "|DCIM/1").replace(";DCIM/2", "|DCIM/2"),
                    encoding="utf-8")
    assert read_findings_file(path, CRS, limits=Limits(photos_per_finding=3)).ok
    r = read_findings_file(path, CRS, limits=Limits(photos_per_finding=2))
    assert "the finding has 3 photos" in _refused(r, "photos_per_finding")
    r = read_findings_file(path, CRS, limits=Limits(upload_mb=1))
    assert not r.ok  # a problem of the whole file: the import is refused
    assert [p.message for p in r.problems] == [
        "the file and its 3 photos are 1.2 MB; the limit is 1 MB (profile [limits] upload_mb)"]


def test_file_larger_than_the_upload_limit_is_refused_before_reading(tmp_path):
    path = _csv(tmp_path / "fynd.csv", 30_000)
    r = read_findings_file(path, CRS, limits=Limits(upload_mb=0.5))
    assert _refused(r, "upload_mb") == ("the file is 1.2 MB; the limit is 0.5 MB "
                                        "(profile [limits] upload_mb)")


# --- the profile ------------------------------------------------------------------------


def test_limits_in_the_profile(tmp_path):
    from _server import temp_profile

    prof = load_profile(ROOT / "data/stromstad/profile.toml")
    assert prof.limits == Limits(rows_per_import=100_000, chars_per_text=5_000,
                                 photos_per_finding=10, upload_mb=50.0)
    assert prof.limits.upload_bytes == 50_000_000
    path = temp_profile(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "\nrows_per_import = 100000" in text
    path.write_text(text.replace("\nrows_per_import = 100000", "\nrows_per_import = 10"),
                    encoding="utf-8")
    assert load_profile(path).limits.rows_per_import == 10
    path.write_text(text.replace("\nrows_per_import = 100000", "\nrows = 10"),
                    encoding="utf-8")
    with pytest.raises(ValidationError,
                       match=r"key .limits.rows.: unknown key.*rows_per_import"):
        load_profile(path)
    path.write_text(text.replace("\nupload_mb = 50.0", "\nupload_mb = 0"), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"'limits.upload_mb': the limit must be above 0"):
        load_profile(path)


def test_a_profile_without_limits_gets_the_defaults():
    assert load_profile(ROOT / "data/tanum/profile.toml").limits == Limits()
