"""walks.text.clean_text, and that every importer applies it to texts and ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from walks.importers import read_findings_file
from walks.text import clean_text, needs_cleaning

CRS = "EPSG:3007"


@pytest.mark.parametrize(("raw", "clean"), [
    ("Lampa\x07 trasig", "Lampa trasig"),
    ("foto\u202egpj.exe", "fotogpj.exe"),                  # right-to-left override
    ("a\u2066b\u2069c\u200fd\u200ee\u061cf", "abcdef"),    # isolates and marks
    ("x\u200by\u2060z\ufeff", "xyz"),                      # invisible look-alikes
    ("rad 1\r\nrad 2\rrad 3\u2028rad 4", "rad 1\nrad 2\nrad 3\nrad 4"),
    ("\x00\x1b[31mröd\x1b[0m\x9b", "[31mröd[0m"),          # terminal escapes lose ESC/CSI
    ("e\u0301", "é"),                                      # NFC
    ("👩\u200d👧 och فارسی\u200cها", "👩\u200d👧 och فارسی\u200cها"),  # joiners kept
    ("<script>alert(1)</script> & \"x\"", "<script>alert(1)</script> & \"x\""),  # raw
    ("  tab\there  ", "tab\there"),
    (None, ""), (float("nan"), ""), (12, "12"),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_single_line_for_ids():
    assert clean_text(" fynd\t1\n\u202e2 ", single_line=True) == "fynd 1 2"


def test_needs_cleaning():
    assert needs_cleaning("ok\u202e") and needs_cleaning("\x07")
    assert not needs_cleaning("rad 1\r\nrad 2\tx") and not needs_cleaning("å ä ö 👩\u200d👧")


def test_csv_import_strips_control_and_rtl_characters_from_texts_and_ids(tmp_path):
    path = tmp_path / "fynd.csv"
    path.write_text(
        "id;kategori;beskrivning;intern_anteckning;walk_id;lat;lon\n"
        "A\u202e1;belysning;Mörkt\x07 vid \u202ebron;ring\x1b kontoret;v\u20661;"
        "58,9371;11,1723\n"
        "A1;belysning;Samma id utan override;;;58,9380;11,1690\n", encoding="utf-8")
    r = read_findings_file(path, CRS)
    # "A\u202e1" is "A1" once cleaned: the second row is a duplicate of the first
    assert [p.message for p in r.problems] == ["duplicate id 'A1' (also in row 2)"]
    (first,) = r.findings.itertuples()
    assert first.source_id == "A1"
    assert first.description == "Mörkt vid bron"
    assert first.internal_note == "ring kontoret"
    assert first.walk_id == "v1"
    assert any("control characters removed" in w and "2" in w for w in r.warnings)


def test_geojson_import_strips_them_from_the_feature_id(tmp_path):
    path = tmp_path / "fynd.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "f\u202e-1\x00",
        "properties": {"category": "belysning", "description": "a\u2067b"},
        "geometry": {"type": "Point", "coordinates": [11.1723, 58.9371]}}]}),
        encoding="utf-8")
    r = read_findings_file(Path(path), CRS)
    assert r.ok, r.problems
    assert r.findings["source_id"].tolist() == ["f-1"]
    assert r.findings["description"].tolist() == ["ab"]
