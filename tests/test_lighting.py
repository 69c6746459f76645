"""Tests for layers.lighting: the luminaire inventory reader and OSM street lamps."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from layers import schemas
from layers._common import LayerWarning, ValidationError
from layers.lighting import luminaires_from_osm, normalize_light_source, read_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "lighting"
CRS = "EPSG:3007"  # SWEREF 99 12 00, Strömstad
TO_WGS84 = Transformer.from_crs(3007, 4326, always_xy=True)
HEADER_SV = ("Armatur-ID;Stolpnummer;Ljuskälla;Effekt (W);Ljuspunktshöjd (m);"
             "Installationsår;Ägare;Status;Nord;Öst")


@pytest.fixture(scope="module")
def boundary() -> shapely.Geometry:
    """Box around Strömstad (lon 11.0–11.5, lat 58.8–59.1) in EPSG:3007."""
    box = shapely.segmentize(shapely.box(11.0, 58.8, 11.5, 59.1), 0.01)
    return gpd.GeoSeries([box], crs=4326).to_crs(CRS).iloc[0]


def write_csv(tmp_path: Path, lines: list[str], name: str = "inv.csv",
              encoding: str = "cp1252") -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path


# --- the demo-style Swedish Excel CSV and other fixtures ----------------------------------


def test_swedish_excel_csv_loads_with_only_the_fault_warning(boundary):
    with pytest.warns(LayerWarning) as record:
        lum = read_inventory(FIXTURES / "belysning_sv_cp1252.csv", CRS, boundary=boundary)
    assert [str(w.message) for w in record] == [
        "luminaires: out of service by their status (faults: no light in the lighting model)"
        ": 2 feature(s) [STR-0003, STR-0005]"]
    assert lum["operating"].tolist() == ["in_service", "in_service", "out_of_service",
                                         "in_service", "out_of_service"]
    assert list(lum.columns) == [*schemas.LUMINAIRES, "geometry"]
    assert lum.index.name == "luminaire_id" and lum.crs.to_epsg() == 3007
    assert lum.index.tolist() == ["STR-0001", "STR-0002", "STR-0003", "STR-0004", "STR-0005"]
    assert lum["light_source"].tolist() == ["LED", "HPS", "Hg", "MH", "fluorescent"]
    # cp1252 å/ä/ö (and the en dash) survive
    assert lum.loc["STR-0002", "light_source_raw"] == "Högtrycksnatrium"
    assert lum.loc["STR-0005", "light_source_raw"] == "Lysrör"
    assert lum.loc["STR-0005", "status"] == "Trasig – åtgärdas"
    assert lum["owner"].tolist() == ["kommun", "Trafikverket", "privat", "kommun", "kommun"]
    # decimal commas, no-break-space thousands separators, empty cells
    assert lum["wattage_w"].tolist()[:3] == pytest.approx([25.5, 70.0, 125.0])
    assert np.isnan(lum.loc["STR-0004", "wattage_w"])
    assert lum.loc["STR-0002", "mounting_height_m"] == pytest.approx(8.5)
    assert lum.loc["STR-0002", "geometry"].coords[0] == pytest.approx((102410.5, 6536020.25))
    assert lum.loc["STR-0004", "geometry"].coords[0] == pytest.approx((101950, 6536400))
    assert lum["install_year"].dtype == "Int64" and pd.isna(lum.loc["STR-0005", "install_year"])
    assert (lum["source"] == "inventory").all()


def test_utf8_bom_comma_csv_with_lon_lat():
    lum = read_inventory(FIXTURES / "belysning_lonlat_utf8bom.csv", CRS)
    assert lum.crs.to_epsg() == 3007
    assert lum.loc["L1", "geometry"].coords[0] == pytest.approx((102324, 6535946), abs=0.5)
    assert lum["light_source"].tolist() == ["HPS", "MH", "Hg", "LED"]
    assert lum["owner"].tolist() == ["kommun", "Trafikverket", "privat", "unknown"]
    assert lum.loc["L3", "mounting_height_m"] == pytest.approx(6.5)
    assert lum.loc["L4", "install_year"] == 2021  # from the date 2021-05-03
    assert lum.loc["L4", "pole_id"] == ""


def test_tab_separated_nvdb_names_and_crs_in_header():
    lum = read_inventory(FIXTURES / "belysning_nvdb_tab.txt", CRS)
    assert lum["light_source"].tolist() == ["HPS", "Hg", "fluorescent", "LPS"]
    assert lum["owner"].tolist() == ["annan", "kommun", "privat", "unknown"]
    assert lum["pole_id"].tolist() == ["M1", "M2", "M3", "M4"]
    assert lum.loc["N-1", "geometry"].coords[0] == pytest.approx((102324, 6535946))


def test_fiware_geojson():
    lum = read_inventory(FIXTURES / "streetlights_fiware.geojson", CRS)
    first = lum.loc["urn:ngsi-ld:Streetlight:stromstad-1"]
    assert (first["light_source"], first["wattage_w"], first["mounting_height_m"],
            first["install_year"], first["status"]) == ("LED", 70.0, 8.0, 2018, "ok")


# --- round trip per format ------------------------------------------------------------------

ROWS = [  # id, pole, raw light source, W, lm, m, year, raw owner, status, x, y (EPSG:3007)
    ("A-1", "S-1", "LED", 25.5, 3000.0, 6.0, 2019, "Strömstads kommun", "I drift",
     102324.0, 6535946.0),
    ("A-2", "S-2", "Högtrycksnatrium", 70.0, 6600.0, 8.5, 1998, "Trafikverket", "I drift",
     102410.5, 6536020.25),
    ("A-3", "", "Kvicksilver", 125.0, np.nan, np.nan, None, "Privat", "", 102198.0, 6535801.0),
]


def _export_frame() -> pd.DataFrame:
    cols = ["armaturid", "stolpe", "ljuskalla", "effekt", "lumen", "hojd", "byggar", "agare",
            "status", "x", "y"]
    df = pd.DataFrame(ROWS, columns=cols)
    df["byggar"] = df["byggar"].astype("Int64")
    return df


def _expected() -> gpd.GeoDataFrame:
    df = _export_frame()
    out = gpd.GeoDataFrame({
        "pole_id": pd.Series(df["stolpe"], dtype="str"),
        "light_source": pd.Series(["LED", "HPS", "Hg"], dtype="str"),
        "light_source_raw": pd.Series(df["ljuskalla"], dtype="str"),
        "wattage_w": df["effekt"], "lumen_lm": df["lumen"], "mounting_height_m": df["hojd"],
        "install_year": df["byggar"],
        "owner": pd.Series(["kommun", "Trafikverket", "privat"], dtype="str"),
        "status": pd.Series(df["status"], dtype="str"),
        "operating": pd.Series(["in_service"] * 3, dtype="str"),
        "source": pd.Series(["inventory"] * 3, dtype="str"),
    }, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=CRS)
    out.index = pd.Index(df["armaturid"].astype("str"), name="luminaire_id")
    return out


def _write(fmt: str, tmp_path: Path) -> Path:
    df = _export_frame()
    spatial = gpd.GeoDataFrame(df.drop(columns=["x", "y"]),
                               geometry=gpd.points_from_xy(df["x"], df["y"]), crs=CRS)
    if fmt == "csv-semicolon-cp1252":
        path = tmp_path / "inv.csv"
        df.rename(columns={"x": "Öst", "y": "Nord"}).to_csv(
            path, sep=";", decimal=",", encoding="cp1252", index=False)
    elif fmt == "csv-comma-utf8bom":
        path = tmp_path / "inv.csv"
        df.rename(columns={"x": "E", "y": "N"}).to_csv(path, encoding="utf-8-sig", index=False)
    elif fmt == "csv-tab":
        path = tmp_path / "inv.tsv"
        df.to_csv(path, sep="\t", index=False)
    elif fmt == "xlsx":
        path = tmp_path / "inv.xlsx"
        df.to_excel(path, index=False)
    else:
        path = tmp_path / f"inv.{fmt}"
        spatial.to_file(path)
    return path


@pytest.mark.parametrize("fmt", ["csv-semicolon-cp1252", "csv-comma-utf8bom", "csv-tab",
                                 "xlsx", "gpkg", "shp", "geojson"])
def test_round_trip(fmt, tmp_path, boundary):
    path = _write(fmt, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerWarning)
        result = read_inventory(path, CRS, boundary=boundary)
    assert_geodataframe_equal(result, _expected(), check_less_precise=True)


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning",
                            "ignore:Column names longer than 10:UserWarning")
@pytest.mark.parametrize("ext", ["gpkg", "shp", "geojson"])
def test_own_output_reads_back(ext, tmp_path):
    """Our schema names (and their Shapefile truncations) are synonyms too."""
    path = tmp_path / f"luminaires.{ext}"
    _expected().to_file(path)
    assert_geodataframe_equal(read_inventory(path, CRS), _expected(), check_less_precise=True)


# --- light source ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("LED", "LED"), ("led", "LED"), ("LED-armatur 30W", "LED"), ("Lysdiod", "LED"),
    ("Högtrycksnatrium", "HPS"), ("natrium högtryck", "HPS"), ("SON-T 70W", "HPS"),
    ("Natrium høytrykk", "HPS"), ("NAV-T", "HPS"), ("HST", "HPS"),
    ("high_pressure_sodium", "HPS"), ("sodium", "HPS"),
    ("Kvicksilver", "Hg"), ("kvicksilverlampa", "Hg"), ("HQL 125", "Hg"), ("HgLp", "Hg"),
    ("mercury", "Hg"), ("MBF", "Hg"), ("Kvikksølv", "Hg"),
    ("Metallhalogen", "MH"), ("CDM-T", "MH"), ("CPO", "MH"), ("Cosmopolis", "MH"),
    ("metal-halide", "MH"), ("metal_halide", "MH"),
    ("Lågtrycksnatrium", "LPS"), ("SOX", "LPS"), ("Natrium lavtrykk", "LPS"),
    ("low_pressure_sodium", "LPS"),
    ("Lysrör", "fluorescent"), ("Kompaktlysrör", "fluorescent"), ("PL-L 36W", "fluorescent"),
    ("CFL", "fluorescent"), ("Lysstoffrør", "fluorescent"), ("fluorescent", "fluorescent"),
    ("incandescent", "other"), ("halogen", "other"), ("gas", "other"),
    ("electric", "unknown"), ("", "unknown"), (None, "unknown"),
])
def test_normalize_light_source(raw, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerWarning)
        out = normalize_light_source(pd.Series([raw], index=[7]))
    assert out.tolist() == [expected] and out.index.tolist() == [7]
    assert out.name == "light_source"


def test_unknown_light_source_is_kept_with_a_warning(tmp_path):
    path = write_csv(tmp_path, [HEADER_SV, "1;;Plasma;;;;;;6535946;102324",
                                "2;;plasma-X;;;;;;6535801;102198", "3;;Plasma;;;;;;6535500;102700",
                                "4;;;;;;;;6536400;101950"])
    with pytest.warns(LayerWarning, match=r"3 light-source value\(s\) not recognised.*"
                                          r"'Plasma' ×2, 'plasma-X' ×1"):
        lum = read_inventory(path, CRS)
    assert lum["light_source"].tolist() == ["unknown"] * 4
    assert lum["light_source_raw"].tolist() == ["Plasma", "plasma-X", "Plasma", ""]


# --- CRS inference and swapped axes ---------------------------------------------------------


def test_lat_lon_swapped_is_detected(tmp_path, boundary):
    lines = ["id,lat,lon", "a,11.171994,58.936997", "b,11.173481,58.937673"]
    path = write_csv(tmp_path, lines, encoding="utf-8")
    with pytest.warns(LayerWarning, match="'lon'/'lat' look swapped"):
        lum = read_inventory(path, CRS, boundary=boundary)
    assert lum.loc["a", "geometry"].coords[0] == pytest.approx((102324, 6535946), abs=0.5)


def test_swedish_xy_convention_swapped_without_boundary(tmp_path):
    path = write_csv(tmp_path, ["id;X;Y", "a;6535946;102324", "b;6535801;102198"])
    with pytest.warns(LayerWarning, match="look swapped"):
        lum = read_inventory(path, CRS)
    assert lum.loc["a", "geometry"].coords[0] == pytest.approx((102324, 6535946))


def test_swapped_in_some_rows_cannot_be_decided(tmp_path, boundary):
    path = write_csv(tmp_path, ["id;Nord;Öst", "a;6535946;102324", "b;102198;6535801",
                                "c;6535500;102700"])
    with pytest.raises(ValidationError, match=r"look swapped in some rows and not in others"
                                              r".*rows 3 disagree with rows 2, 4"):
        read_inventory(path, CRS, boundary=boundary)


@pytest.mark.parametrize(("epsg", "use_boundary"), [(3006, True), (3006, False), (3021, True),
                                                    (3007, False)])
def test_projected_crs_is_inferred(tmp_path, boundary, epsg, use_boundary):
    x, y = Transformer.from_crs(3007, epsg, always_xy=True).transform(102324.0, 6535946.0)
    path = write_csv(tmp_path, ["id;E;N", f"a;{x:.3f};{y:.3f}".replace(".", ",")])
    lum = read_inventory(path, CRS, boundary=boundary if use_boundary else None)
    assert lum.geometry.iloc[0].coords[0] == pytest.approx((102324, 6535946), abs=0.01)


def test_explicit_source_crs_is_used(tmp_path):
    path = write_csv(tmp_path, ["id;E;N", "a;279747,267;6539342,838"])
    lum = read_inventory(path, CRS, source_crs="EPSG:3006")
    assert lum.geometry.iloc[0].coords[0] == pytest.approx((102324, 6535946), abs=0.01)


# --- bad input, pinned messages -------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("inv.gpkg", b"SQLite format 3\x00 garbage", "not a valid GeoPackage: "),
    ("inv.xlsx", b"PK\x03\x04 truncated", "cannot be read as an Excel workbook"),
    ("inv.csv", bytes(range(256)) * 4, "does not look like a text"),
    ("inv.csv", b"", "the file is empty"),
    ("inv.gpkg", b"", r"the file is empty \(0 bytes\)"),
    ("inv.csv", HEADER_SV.encode("cp1252"), "the file has no data rows"),
    ("inv.xls", b"x", "unsupported file type '.xls'.*save the sheet as .xlsx or CSV"),
])
def test_corrupt_or_empty_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message):
        read_inventory(path, CRS)


def test_shapefile_without_prj(tmp_path):
    path = _write("shp", tmp_path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(ValidationError, match="no coordinate reference system"):
        read_inventory(path, CRS)
    assert len(read_inventory(path, CRS, source_crs=CRS)) == 3


def test_wrong_crs_is_outside_the_municipality(tmp_path, boundary):
    path = tmp_path / "inv.geojson"
    _write("geojson", tmp_path).unlink()
    gpd.GeoDataFrame(_export_frame().drop(columns=["x", "y"]),
                     geometry=gpd.points_from_xy(_export_frame()["x"], _export_frame()["y"]),
                     crs="EPSG:3006").to_file(path)  # claims 3006, coordinates are 3007
    with pytest.raises(ValidationError, match=r"3 problems.*\n.*row 1, column 'geometry': "
                                              r"feature at .* lies outside the municipality"):
        read_inventory(path, CRS, boundary=boundary)


def test_points_outside_the_municipality_name_rows(tmp_path, boundary):
    path = write_csv(tmp_path, [HEADER_SV, "A;;LED;;;;;;6535946;102324",
                                "B;;LED;;;;;;6935946;102324"])
    with pytest.raises(ValidationError,
                       match=r"inv.csv, row 3, column 'geometry'.*outside the municipality"):
        read_inventory(path, CRS, boundary=boundary)


def test_all_value_problems_are_reported_at_once(tmp_path):
    path = write_csv(tmp_path, [
        HEADER_SV,
        "A-1;;LED;sjuttio;6;2019;;;6535946;102324",
        "A-2;;LED;2500;55;1850;;;6535801;102198",
        "A-1;;LED;70;6;tidigt;;;6535500;102700",
        ";;LED;70;6;;;;6536400;abc",
    ])
    with pytest.raises(ValidationError) as info:
        read_inventory(path, CRS, strict=True)  # strict: a duplicate id is an error too
    text = str(info.value)
    assert text.startswith("8 problems in input:")
    for expected in [
        "inv.csv, row 5, column 'Armatur-ID': the luminaire id is empty",
        "inv.csv, column 'Armatur-ID': duplicate luminaire id 'A-1' in rows 2, 4",
        "inv.csv, row 2, column 'Effekt (W)': 'sjuttio' is not a number",
        "inv.csv, row 3, column 'Effekt (W)': implausible value 2500 (expected 0–2000 W)",
        "inv.csv, row 3, column 'Ljuspunktshöjd (m)': implausible value 55",
        "inv.csv, row 3, column 'Installationsår': implausible installation year 1850",
        "inv.csv, row 4, column 'Installationsår': 'tidigt' is not a year",
        "inv.csv, row 5, column 'Öst': 'abc' is not a coordinate",
    ]:
        assert expected in text


def test_missing_id_and_coordinate_columns_explain_the_mapping(tmp_path):
    path = write_csv(tmp_path, ["Nummer;Typ;Läge", "1;LED;hamnen"])
    with pytest.raises(ValidationError, match=(
            r"no geometry and no coordinate columns \(columns found: 'Nummer', 'Typ', 'Läge'.*"
            r"\n.*no luminaire id column .*Armatur-ID.*lighting_columns = "
            r"\{\"MyCol\" = \"luminaire_id\"\}")):
        read_inventory(path, CRS)


def test_column_map_wins_over_synonyms(tmp_path):
    path = write_csv(tmp_path, ["Nummer;id;Typ;Ljuskälla;Ost_m;Nord_m",
                                "L-1;99;Natrium;LED;102324;6535946"])
    column_map = {"Nummer": "luminaire_id", "Typ": "light_source", "Ost_m": "x",
                  "Nord_m": "y"}
    lum = read_inventory(path, CRS, column_map=column_map)
    assert lum.index.tolist() == ["L-1"] and lum["light_source"].tolist() == ["HPS"]
    with pytest.raises(ValidationError, match="'Saknas': column from the column mapping is "
                                              "not in the file"):
        read_inventory(path, CRS, column_map={"Saknas": "luminaire_id"})


def test_empty_geometry_is_dropped_with_a_warning(tmp_path):
    df = _export_frame()
    geoms = np.array(gpd.points_from_xy(df["x"], df["y"]), dtype=object)
    geoms[1] = shapely.Point()
    path = tmp_path / "inv.gpkg"
    gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=geoms, crs=CRS).to_file(path)
    with pytest.warns(LayerWarning, match=r"dropped features without geometry: 1 feature\(s\) "
                                          r"\[row 2 \(A-2\)\]"):
        lum = read_inventory(path, CRS)
    assert lum.index.tolist() == ["A-1", "A-3"]


# --- OSM ------------------------------------------------------------------------------------


def _osm_nodes() -> gpd.GeoDataFrame:
    lon, lat = TO_WGS84.transform([102324.0, 102410.5, 102198.0], [6535946.0, 6536020.25,
                                                                   6535801.0])
    tags = {
        "highway": ["street_lamp"] * 3,
        "light:method": ["LED", "high_pressure_sodium", "electric"],
        "lamp_type": [pd.NA, pd.NA, "mercury"],
        "ref": ["S-1", pd.NA, "S-3"],
        "operator": ["Strömstads kommun", "Trafikverket", pd.NA],
        "height": ["8 m", "tall", "6,5"],
        "lamp_mount": ["straight_mast", pd.NA, pd.NA],
        "light:count": ["1", pd.NA, "2"],
    }
    index = pd.Index(np.array([101, 202, 303], dtype="int64"), name="osm_id")
    frame = pd.DataFrame({k: pd.Series(v, index=index, dtype="string") for k, v in tags.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def test_luminaires_from_osm():
    nodes = _osm_nodes()
    before = nodes.copy()
    with pytest.warns(LayerWarning, match=r"not plausible numbers.*osm-n202 height='tall'"):
        lum = luminaires_from_osm(nodes, CRS)
    assert_geodataframe_equal(nodes, before)  # not mutated
    assert lum.index.tolist() == ["osm-n101", "osm-n202", "osm-n303"]
    assert lum.index.name == "luminaire_id" and lum.crs.to_epsg() == 3007
    assert lum["light_source"].tolist() == ["LED", "HPS", "Hg"]
    assert lum["pole_id"].tolist() == ["S-1", "", "S-3"]
    assert lum["owner"].tolist() == ["kommun", "Trafikverket", "unknown"]
    assert lum["mounting_height_m"].tolist()[::2] == pytest.approx([8.0, 6.5])
    assert (lum["source"] == "osm").all()
    assert lum.loc["osm-n101", "geometry"].coords[0] == pytest.approx((102324, 6535946),
                                                                      abs=0.01)


def test_luminaires_from_osm_empty():
    lum = luminaires_from_osm(_osm_nodes().iloc[:0], CRS)
    assert len(lum) == 0 and list(lum.columns) == [*schemas.LUMINAIRES, "geometry"]


# --- performance ----------------------------------------------------------------------------


def test_5000_rows_are_fast(tmp_path, boundary):
    rng = np.random.default_rng(1)
    n = 5000
    x = rng.uniform(95_000, 115_000, n)
    y = rng.uniform(6_525_000, 6_545_000, n)
    kinds = np.array(["LED", "Högtrycksnatrium", "Kvicksilver", "Metallhalogen", "Lysrör"])
    lines = [HEADER_SV] + [
        f"STR-{i:05d};S-{i};{kinds[i % 5]};{25 + i % 100},5;6;{1970 + i % 50};"
        f"Strömstads kommun;I drift;{y[i]:.2f};{x[i]:.2f}".replace(".", ",")
        for i in range(n)]
    path = write_csv(tmp_path, lines)
    start = time.perf_counter()
    lum = read_inventory(path, CRS, boundary=boundary)
    assert time.perf_counter() - start < 3.0
    assert len(lum) == n and lum.index.is_unique


def test_metres_read_as_degrees_show_the_file_coordinates_and_the_assumed_crs(
        tmp_path, boundary):
    """A GeoJSON (RFC 7946: WGS 84) holding SWEREF 99 metres: the message shows the
    numbers as written and the CRS they were read in, not reprojected "(0.0, 0.0)"."""
    path = tmp_path / "inv.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {"id": "L1", "ljuskalla": "HPS"}, "geometry": '
                    '{"type": "Point", "coordinates": [283000.0, 6536400.0]}}]}',
                    encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_inventory(path, CRS, boundary=boundary)
    message = str(info.value)
    assert "(x 283000.0, y 6536400.0 in EPSG:4326 (WGS 84), the CRS assumed for the file)" \
        in message
    assert "(0.0, 0.0)" not in message
