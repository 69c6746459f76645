"""Inventories in the column shapes real systems export (issue 12): Esri asset exports,
Swedish and Norwegian NVDB (CSV and GML), FIWARE Streetlight; units in cells, coded values,
duplicate ids and operating status. Each test pins what the layer report says and that no
known value is invented."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers._common import LayerWarning, ValidationError
from layers.lighting import operating_state, read_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "lighting"
CRS = "EPSG:3007"


@pytest.fixture(scope="module")
def boundary() -> shapely.Geometry:
    """Box around Strömstad (lon 11.0–11.5, lat 58.8–59.1) in EPSG:3007."""
    box = shapely.segmentize(shapely.box(11.0, 58.8, 11.5, 59.1), 0.01)
    return gpd.GeoSeries([box], crs=4326).to_crs(CRS).iloc[0]


def read_with_report(*args, **kwargs) -> tuple[gpd.GeoDataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lum = read_inventory(*args, **kwargs)
    return lum, [str(w.message) for w in caught if issubclass(w.category, LayerWarning)]


def one(report: list[str], start: str) -> str:
    hits = [m for m in report if m.startswith(start)]
    assert len(hits) == 1, (start, report)
    return hits[0]


# --- Esri-style export -------------------------------------------------------------------


def test_esri_export_columns_units_duplicates_and_status(boundary):
    lum, report = read_with_report(FIXTURES / "streetlights_esri.csv", CRS, boundary=boundary)
    # STREETLIGHTID wins over OBJECTID; the repeated SL-1003 is kept with a derived id
    assert lum.index.tolist() == ["SL-1001", "SL-1002", "SL-1003", "SL-1003~2", "SL-1005",
                                  "SL-1006"]
    assert lum["light_source"].tolist() == ["HPS", "LED", "MH", "Hg", "unknown", "other"]
    # WATTAGE1 "100W", "0.04 kW", "70", "175W"; empty stays unknown (never a default)
    assert lum["wattage_w"].tolist()[:4] == pytest.approx([100.0, 40.0, 70.0, 175.0])
    assert np.isnan(lum.loc["SL-1005", "wattage_w"])
    assert lum["lumen_lm"].tolist()[:2] == pytest.approx([9500.0, 4000.0])
    assert lum["lumen_lm"].isna().sum() == 4
    # POLEHEIGHT_DESC "30 FT", "16 ft", "25 FT", "8 m", "", "20 FT"
    assert lum["mounting_height_m"].tolist()[:4] == pytest.approx(
        [9.144, 4.8768, 7.62, 8.0])
    assert np.isnan(lum.loc["SL-1005", "mounting_height_m"])
    assert lum["install_year"].tolist()[:4] == [1998, 2019, 2008, 1971]
    assert lum["operating"].tolist() == ["in_service", "in_service", "out_of_service",
                                         "in_service", "removed", "in_service"]
    assert lum.loc["SL-1001"].geometry.equals(shapely.Point(102324.0, 6535946.0))

    assert one(report, "luminaires: converted units in cells") == (
        "luminaires: converted units in cells: "
        "'WATTAGE1': 4 cell(s) with a unit read as W (1 kW, 3 already in W); "
        "'LUMENS': 2 cell(s) with a unit read as lm (2 already in lm); "
        "'POLEHEIGHT_DESC': 5 cell(s) with a unit read as m (4 ft, 1 already in m)")
    dup = one(report, "luminaires: 1 duplicate luminaire id(s), all rows kept")
    assert "'SL-1003' (row 4; row 5 kept as 'SL-1003~2' (8.1 m apart))" in dup
    assert "[inventory] strict = true" in dup
    assert one(report, "luminaires: out of service").endswith("1 feature(s) [SL-1003]")
    assert one(report, "luminaires: removed").endswith("1 feature(s) [SL-1005]")
    # "UNKNOWN" is a known way of saying unknown: not listed as unrecognised
    assert not [m for m in report if "not recognised" in m]


def test_esri_export_strict_mode_rejects_the_duplicate(boundary):
    with pytest.raises(ValidationError, match=(
            r"streetlights_esri.csv, column 'STREETLIGHTID': duplicate luminaire id "
            r"'SL-1003' in rows 4, 5")):
        read_inventory(FIXTURES / "streetlights_esri.csv", CRS, boundary=boundary,
                       strict=True)


def test_height_unit_in_the_header_converts_every_cell(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("id;Height (ft);x;y\nA;20;102324;6535946\nB;;102410;6536020\n"
                    "C;6 m;102198;6535801\n", encoding="utf-8")
    lum, report = read_with_report(path, CRS)
    assert lum["mounting_height_m"].tolist()[0] == pytest.approx(6.096)
    assert np.isnan(lum.loc["B", "mounting_height_m"])
    assert lum.loc["C", "mounting_height_m"] == pytest.approx(6.0)  # the cell's unit wins
    assert one(report, "luminaires: converted units") == (
        "luminaires: converted units in cells: 'Height (ft)': 2 cell(s) with a unit read "
        "as m (1 ft, 1 already in m)")


def test_a_unit_of_another_quantity_is_still_an_error(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("id;Effekt;x;y\nA;70 lm;102324;6535946\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"row 2, column 'Effekt': '70 lm' is not a "
                                              r"number"):
        read_inventory(path, CRS)


# --- Swedish NVDB-style CSV with codes ----------------------------------------------------

CODES = {"light_source": {"10": "LED", "20": "Högtrycksnatrium", "40": "Kvicksilver"},
         "status": {"3": "ur drift"}}


def test_swedish_nvdb_codes_mapped_and_unmapped_listed(boundary):
    lum, report = read_with_report(FIXTURES / "belysning_nvdb_sv_cp1252.csv", CRS,
                                   boundary=boundary, codes=CODES)
    assert lum.index.tolist() == ["SE-7001", "SE-7002", "SE-7003", "SE-7003~2", "SE-7005",
                                  "SE-7006"]
    assert lum["light_source"].tolist() == ["HPS", "LED", "Hg", "HPS", "unknown", "unknown"]
    assert lum["light_source_raw"].tolist() == ["20", "10", "40", "20", "99", "99"]
    assert lum["install_year"].tolist()[:4] == [1995, 2019, 1974, 1996]  # driftsattår
    assert lum["wattage_w"].tolist()[:4] == pytest.approx([70.0, 28.0, 125.0, 70.0])
    assert lum["lumen_lm"].tolist()[0] == pytest.approx(6600.0)
    assert lum["operating"].tolist() == ["in_service", "in_service", "out_of_service",
                                         "in_service", "removed", "out_of_service"]
    assert lum.loc["SE-7006", "status"] == "ur drift"
    assert one(report, "luminaires: mapped coded values") == (
        "luminaires: mapped coded values with [inventory.codes]: 4 light source(s), "
        "1 status(es)")
    unmapped = one(report, "luminaires: 2 light-source value(s) not recognised")
    assert "'99' ×2" in unmapped and "[inventory.codes.light_source]" in unmapped
    assert "14.0 m apart" in one(report, "luminaires: 1 duplicate luminaire id(s)")


def test_without_codes_every_code_is_unknown_and_listed(boundary):
    lum, report = read_with_report(FIXTURES / "belysning_nvdb_sv_cp1252.csv", CRS,
                                   boundary=boundary)
    assert (lum["light_source"] == "unknown").all()
    msg = one(report, "luminaires: 6 light-source value(s) not recognised")
    assert "'20' ×2, '99' ×2, '10' ×1, '40' ×1" in msg
    # the status code "3" means nothing without the table: listed, counted as in service
    assert "'3' ×1" in one(report, "luminaires: status value(s) not recognised")


def test_profile_aliases_extend_the_table(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("Nummer;Lampwatt;Öst;Nord\nA;70;102324;6535946\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="no luminaire id column"):
        read_inventory(path, CRS)
    lum = read_inventory(path, CRS, aliases={"luminaire_id": ["Nummer"],
                                             "wattage_w": ["Lampwatt"]})
    assert lum.index.tolist() == ["A"] and lum["wattage_w"].tolist() == [70.0]
    with pytest.raises(ValidationError, match=r"key 'inventory.columns.watt': unknown schema"):
        read_inventory(path, CRS, aliases={"watt": ["Lampwatt"]})


# --- Norwegian NVDB GML -----------------------------------------------------------------


def test_norwegian_nvdb_gml(boundary, tmp_path):
    src = FIXTURES / "belysningspunkt_nvdb.gml"
    copy = tmp_path / src.name  # GDAL must not write a .gfs file beside the input
    copy.write_bytes(src.read_bytes())
    lum, report = read_with_report(copy, CRS, boundary=boundary,
                                   codes={"light_source": {"3": "Natrium høytrykk"}})
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]
    assert lum.index.tolist() == ["87-1001", "87-1002", "87-1003", "87-1004"]
    assert lum.crs.to_epsg() == 3007
    # lyskilde 3 mapped; 7 and 9 unmapped -> unknown (armaturtype is only a fallback column)
    assert lum["light_source"].tolist() == ["HPS", "unknown", "unknown", "unknown"]
    assert lum["mounting_height_m"].tolist() == pytest.approx([8.5, 6.0, 6.0, 6.0])
    assert lum["install_year"].tolist() == [1994, 2021, 1972, 1970]
    assert np.isnan(lum.loc["87-1002", "wattage_w"])
    assert lum["operating"].tolist() == ["in_service", "in_service", "out_of_service",
                                         "removed"]
    # EPSG:25832 -> 3007: the first point is the one of the Swedish fixtures
    assert lum.geometry.iloc[0].distance(shapely.Point(102324.0, 6535946.0)) < 0.05
    assert "'9' ×2, '7' ×1" in one(report, "luminaires: 3 light-source value(s)")


# --- FIWARE Streetlight -------------------------------------------------------------------


def test_fiware_status_defective_lamp_is_a_fault():
    lum, report = read_with_report(FIXTURES / "streetlights_fiware.geojson", CRS)
    assert lum["operating"].tolist() == ["in_service", "out_of_service"]
    assert one(report, "luminaires: out of service").endswith(
        "[urn:ngsi-ld:Streetlight:stromstad-2]")


@pytest.mark.parametrize(("status", "state"), [
    ("I drift", "in_service"), ("", "in_service"), ("ok", "in_service"),
    ("Ur drift", "out_of_service"), ("UR DRIFT", "out_of_service"),
    ("Släckt", "out_of_service"), ("Trasig – åtgärdas", "out_of_service"),
    ("out of service", "out_of_service"), ("defectiveLamp", "out_of_service"),
    ("ute av drift", "out_of_service"), ("Slukket", "out_of_service"),
    ("Borttagen", "removed"), ("Demonterad 2019", "removed"), ("removed", "removed"),
    ("Fjernet", "removed"), ("Planerad", "planned"), ("columnIssue", "in_service"),
])
def test_operating_state(status, state):
    out, unknown = operating_state(pd.Series([status], index=[3]))
    assert out.tolist() == [state] and out.index.tolist() == [3] and unknown == []


def test_unrecognised_status_is_listed_not_guessed():
    out, unknown = operating_state(pd.Series(["Besiktigad", "Besiktigad", "I drift"]))
    assert out.tolist() == ["in_service"] * 3
    assert unknown == ["'Besiktigad' ×2"]


def test_fiware_ngsi_ld_normalized_entities(tmp_path):
    """A context broker's GeoJSON: every attribute an object with its ``value``."""
    path = tmp_path / "streetlights.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
        '{"type": "Point", "coordinates": [11.171994, 58.936997]}, "properties": '
        '{"id": "urn:ngsi-ld:Streetlight:s-1", "type": "Streetlight", '
        '"status": {"type": "Property", "value": "defectiveLamp"}, '
        '"lanternHeight": {"type": "Property", "value": 8}, '
        '"powerConsumption": {"type": "Property", "value": 70, "unitCode": "WTT"}, '
        '"lampTechnology": {"type": "Property", "value": "LED"}}}]}', encoding="utf-8")
    lum, _ = read_with_report(path, CRS)
    row = lum.iloc[0]
    assert (lum.index[0], row["light_source"], row["wattage_w"], row["mounting_height_m"],
            row["operating"]) == ("urn:ngsi-ld:Streetlight:s-1", "LED", 70.0, 8.0,
                                  "out_of_service")


def test_wattage_stated_in_the_light_source_text_fills_only_empty_cells(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("id;LIGHTTYPE_DESC;WATTAGE1;x;y\n"
                    "A;HPS 100W;;102324;6535946\n"
                    "B;SON-T 70 W;150;102410;6536020\n"
                    "C;LED;;102198;6535801\n", encoding="utf-8")
    lum, report = read_with_report(path, CRS)
    assert lum.loc["A", "wattage_w"] == 100.0
    assert lum.loc["B", "wattage_w"] == 150.0        # the cell wins over the text
    assert np.isnan(lum.loc["C", "wattage_w"])       # nothing stated: stays unknown
    assert one(report, "luminaires: 1 wattage(s) read from the light-source text") == (
        "luminaires: 1 wattage(s) read from the light-source text where the wattage cell "
        "is empty ('HPS 100W')")
