"""Tests for layers.crossings: nodes, ways reduced to midpoints, the marked rule."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyrosm
import pytest
from shapely.geometry import LineString, Point

from layers import schemas
from layers._common import LayerWarning, ValidationError
from layers.crossings import NODE_ON_WAY_M, crossings_from_osm, is_marked, read_crossings_file
from layers.osm import OsmExtract, read_osm_file

FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "stromstad_small.osm"
PYROSM_SAMPLE = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
CRS = "EPSG:3007"


@pytest.fixture(scope="module")
def crossings(extract: OsmExtract) -> gpd.GeoDataFrame:
    return crossings_from_osm(extract, CRS)


def test_schema_index_crs(crossings: gpd.GeoDataFrame) -> None:
    assert list(crossings.columns) == [*schemas.CROSSINGS, "geometry"]
    assert crossings.index.name == schemas.CROSSINGS_INDEX
    assert crossings.index.is_unique
    assert crossings.crs.to_epsg() == 3007
    assert set(crossings.geom_type) == {"Point"}
    assert crossings["marked"].dtype == bool


def test_node_on_crossing_way_wins(crossings: gpd.GeoDataFrame) -> None:
    # w103 passes through crossing node n2: counted once, as the node.
    assert "n2" in crossings.index
    assert "w103" not in crossings.index
    assert crossings.loc["n2", "source"] == "node"


def test_way_without_node_becomes_its_midpoint(crossings: gpd.GeoDataFrame) -> None:
    assert crossings.loc["w104", "source"] == "way"
    assert crossings.loc["w104", "osm_id"] == "w104"
    mid = gpd.GeoSeries([Point(11.173, 58.937)], crs=4326).to_crs(CRS).iloc[0]
    # the way runs 58.9369 -> 58.9371 along lon 11.173: its midpoint is (11.173, 58.937)
    assert crossings.loc["w104"].geometry.distance(mid) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize(("crossing_id", "marked"), [
    ("n2", True),  # crossing=marked
    ("n51", False),  # crossing=unmarked + crossing:markings=yes: unmarked wins
    ("n52", True),  # traffic_signals
    ("n53", True),  # uncontrolled
    ("n54", True),  # only crossing:markings=zebra
    ("n55", False),  # informal
    ("n56", True),  # " Zebra": case and spaces ignored
    ("w104", False),  # crossing=unmarked way
])
def test_marked(crossings: gpd.GeoDataFrame, crossing_id: str, marked: bool) -> None:
    assert bool(crossings.loc[crossing_id, "marked"]) is marked


@pytest.mark.parametrize(("crossing", "markings", "expected"), [
    ("zebra", None, True), ("marked", None, True), ("traffic_signals", None, True),
    ("uncontrolled", None, True), ("unmarked", None, False), ("unmarked", "zebra", False),
    (None, "lines", True), (None, "no", False), ("informal", "no", False),
    (None, None, False), ("no", None, False), ("UNMARKED ", "yes", False),
])
def test_is_marked(crossing: str | None, markings: str | None, expected: bool) -> None:
    out = is_marked(pd.Series([crossing], dtype="string"), pd.Series([markings],
                                                                     dtype="string"))
    assert out.tolist() == [expected]
    assert out.name == "marked"


def _xml_with_offsets(path: Path, offsets_m: list[float]) -> Path:
    """Crossing ways running north, each with a crossing node *offset* metres east of it."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    ways = []
    metres_per_deg_lon = 111_320 * 0.5163  # cos(58.937°)
    for k, off in enumerate(offsets_m):
        lon = 11.17 + 0.001 * k
        a, b, c = 100 + 3 * k, 101 + 3 * k, 102 + 3 * k
        lines.append(f'  <node id="{a}" version="1" lat="58.9370000" lon="{lon:.7f}"/>')
        lines.append(f'  <node id="{b}" version="1" lat="58.9372000" lon="{lon:.7f}"/>')
        lines.append(f'  <node id="{c}" version="1" lat="58.9371000" '
                     f'lon="{lon + off / metres_per_deg_lon:.7f}">'
                     '<tag k="highway" v="crossing"/><tag k="crossing" v="marked"/></node>')
        ways.append(f'  <way id="{k + 1}" version="1"><nd ref="{a}"/><nd ref="{b}"/>'
                    '<tag k="highway" v="footway"/><tag k="footway" v="crossing"/></way>')
    path.write_text("\n".join([*lines, *ways, "</osm>"]) + "\n", encoding="utf-8")
    return path


def test_node_within_one_metre_of_way(tmp_path: Path) -> None:
    assert NODE_ON_WAY_M == 1.0
    ext = read_osm_file(_xml_with_offsets(tmp_path / "near.osm", [0.5, 3.0]))
    out = crossings_from_osm(ext, CRS)
    assert "w1" not in out.index  # node 0.5 m away: the same crossing
    assert "w2" in out.index  # node 3 m away: another crossing, both kept
    assert {"n102", "n105"} <= set(out.index)


def test_does_not_mutate_extract(extract: OsmExtract) -> None:
    before = extract.nodes.copy()
    crossings_from_osm(extract, CRS)
    assert extract.nodes.equals(before)


# --------------------------------------------------------------------------- files


def test_read_file_points_and_lines(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"Crossing": ["zebra", "unmarked", None, None],
         "marked": [None, None, "ja", "nej"]},
        geometry=[Point(102300, 6535900), LineString([(102400, 6535890), (102400, 6535910)]),
                  Point(102500, 6535900), Point(102600, 6535900)], crs=CRS)
    path = tmp_path / "overgangar.geojson"
    gdf.to_crs(4326).to_file(path)
    out = read_crossings_file(path, CRS)
    assert list(out.index) == ["f1", "f2", "f3", "f4"]
    assert out["marked"].tolist() == [True, False, True, False]
    assert set(out["source"]) == {"file"}
    assert out.loc["f2"].geometry.x == pytest.approx(102400, abs=0.01)
    assert out.loc["f2"].geometry.y == pytest.approx(6535900, abs=0.01)


def test_read_file_bad_marked_value(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"marked": ["kanske"]}, geometry=[Point(0, 0)], crs=CRS)
    path = tmp_path / "bad.gpkg"
    gdf.to_file(path)
    with pytest.raises(ValidationError,
                       match=r"bad\.gpkg, row f1, column 'marked': not a yes/no value: "
                             r"'kanske'\. Fix: use true/false"):
        read_crossings_file(path, CRS)


def test_file_round_trip(tmp_path: Path, crossings: gpd.GeoDataFrame) -> None:
    path = tmp_path / "crossings.gpkg"
    crossings.reset_index().to_file(path)
    back = read_crossings_file(path, CRS)
    assert list(back.index) == list(crossings.index)
    assert back["marked"].tolist() == crossings["marked"].tolist()
    assert back["osm_id"].tolist() == crossings["osm_id"].tolist()
    assert (back.geometry.distance(crossings.geometry) < 1e-6).all()


# --------------------------------------------------------------------------- real data


def test_pyrosm_sample_crossings() -> None:
    with pytest.warns(LayerWarning, match="cut at the extract's edge"):
        ext = read_osm_file(PYROSM_SAMPLE)
    out = crossings_from_osm(ext, "EPSG:3067")
    assert out.crs.to_epsg() == 3067
    assert out.index.is_unique
    assert (out["source"] == "node").sum() == 30  # highway=crossing nodes in the sample
    assert out["marked"].sum() >= 9  # crossing=uncontrolled
    assert set(out.geom_type) == {"Point"}
