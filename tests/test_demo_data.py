"""The synthetic demo data in data/demo/: the generator is deterministic, the committed
files are up to date, and their content is what the rest of the tool relies on."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
GENERATOR = DEMO / "generate_demo.py"
FILES = ("stromstad_demo.osm", "belysning_demo.csv", "prioriterade_omraden_demo.geojson",
         "fynd_demo.geojson", "tanum_demo.osm", "belysning_demo_2023.csv",
         "aktiviteter_demo.csv", "milstolpar_demo.csv")
BOUNDARY = {"stromstad_demo.osm": ROOT / "data" / "stromstad" / "boundary.geojson",
            "tanum_demo.osm": ROOT / "data" / "tanum" / "boundary.geojson"}
WALK_HIGHWAYS = {"cycleway", "footway", "path", "pedestrian", "steps", "living_street",
                 "track", "bridleway"}
ROADS = {"primary", "secondary", "tertiary", "residential", "unclassified"}
CSV_HEADER = ("Armatur-ID;Stolpnummer;Ljuskälla;Effekt (W);Ljuspunktshöjd (m);"
              "Installationsår;Ägare;Status;Nord;Öst")
CATEGORIES = {"belysning", "vegetation/buskage", "skymd sikt/gömställen",
              "gångväg/tillgänglighet", "trafiksäkerhet/övergångsställe",
              "skadegörelse/klotter/nedskräpning", "orientering/överblick",
              "trygg/positiv plats", "övrigt"}
STATES = {"ny", "bedömd", "planerad", "åtgärdad", "avslutad utan åtgärd"}
TO_3007 = Transformer.from_crs("EPSG:4326", "EPSG:3007", always_xy=True)


@dataclass(frozen=True)
class Osm:
    """A parsed OSM XML file: element order, nodes, ways and relations."""

    root: ET.Element
    order: list[str]
    nodes: dict[int, tuple[float, float, dict[str, str]]]
    ways: dict[int, tuple[list[int], dict[str, str]]]
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]]

    def way_length_m(self, refs: list[int]) -> float:
        """Length of a way in EPSG:3007 metres."""
        lon = [self.nodes[r][0] for r in refs]
        lat = [self.nodes[r][1] for r in refs]
        e, n = TO_3007.transform(lon, lat)
        return float(shapely.length(shapely.linestrings(np.column_stack([e, n]))))


def _tags(el: ET.Element) -> dict[str, str]:
    return {t.get("k", ""): t.get("v", "") for t in el.findall("tag")}


@functools.cache
def parse_osm(name: str) -> Osm:
    root = ET.parse(DEMO / name).getroot()
    nodes, ways, relations = {}, {}, {}
    order = []
    for el in root:
        order.append(el.tag)
        if el.tag == "node":
            nid = int(el.get("id", "0"))
            assert nid not in nodes, f"duplicate node id {nid}"
            nodes[nid] = (float(el.get("lon", "nan")), float(el.get("lat", "nan")), _tags(el))
        elif el.tag == "way":
            wid = int(el.get("id", "0"))
            assert wid not in ways, f"duplicate way id {wid}"
            ways[wid] = ([int(nd.get("ref", "0")) for nd in el.findall("nd")], _tags(el))
        elif el.tag == "relation":
            rid = int(el.get("id", "0"))
            assert rid not in relations, f"duplicate relation id {rid}"
            members = [(m.get("type", ""), int(m.get("ref", "0")), m.get("role", ""))
                       for m in el.findall("member")]
            relations[rid] = (members, _tags(el))
    return Osm(root, order, nodes, ways, relations)


@functools.cache
def read_inventory() -> pd.DataFrame:
    return pd.read_csv(DEMO / "belysning_demo.csv", sep=";", decimal=",", encoding="cp1252")


def read_geojson(name: str) -> dict:
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


def boundary(path: Path) -> shapely.Geometry:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return shapely.union_all([shape(f["geometry"]) for f in doc["features"]])


# --------------------------------------------------------------------------- generator


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


@pytest.mark.parametrize("name", FILES)
def test_generator_reproduces_the_committed_file(generated: Path, name: str) -> None:
    fresh = (generated / name).read_bytes()
    assert fresh == (DEMO / name).read_bytes(), (
        f"data/demo/{name} differs from a fresh run: the generator is not deterministic "
        "or the committed file is out of date (run .venv/bin/python "
        "data/demo/generate_demo.py)")


def test_generator_writes_nothing_else(generated: Path) -> None:
    assert sorted(p.name for p in generated.iterdir()) == sorted(FILES)


# --------------------------------------------------------------------------- OSM files


@pytest.mark.parametrize("name", ["stromstad_demo.osm", "tanum_demo.osm"])
def test_osm_file_follows_the_api_06_schema(name: str) -> None:
    text = (DEMO / name).read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!-- SYNTHETIC DEMO DATA')
    osm = parse_osm(name)
    assert osm.root.tag == "osm"
    assert osm.root.get("version") == "0.6"
    assert "synthetic" in osm.root.get("generator", "")
    assert osm.order[0] == "bounds"
    kinds = osm.order[1:]
    assert kinds == sorted(kinds, key=["node", "way", "relation"].index), \
        "nodes must come before ways, ways before relations"
    for ids in (osm.nodes, osm.ways, osm.relations):
        assert all(i > 0 for i in ids)
        assert list(ids) == sorted(ids)
    assert re.findall(r'lat="(-?\d+\.\d+)"', text)
    assert all(len(v.split(".")[1]) == 7 for v in re.findall(r' (?:lat|lon)="([^"]+)"', text))
    assert all(el.get("version") == "1" for el in osm.root if el.tag != "bounds")


@pytest.mark.parametrize("name", ["stromstad_demo.osm", "tanum_demo.osm"])
def test_osm_references_exist(name: str) -> None:
    osm = parse_osm(name)
    missing = {r for refs, _ in osm.ways.values() for r in refs if r not in osm.nodes}
    assert not missing
    assert all(len(refs) >= 2 for refs, _ in osm.ways.values())
    for members, _ in osm.relations.values():
        assert all(t == "way" and ref in osm.ways for t, ref, _ in members)


@pytest.mark.parametrize("name", ["stromstad_demo.osm", "tanum_demo.osm"])
def test_all_nodes_lie_inside_the_municipality(name: str) -> None:
    osm = parse_osm(name)
    xy = np.array([(lon, lat) for lon, lat, _ in osm.nodes.values()])
    inside = shapely.contains_xy(boundary(BOUNDARY[name]), xy[:, 0], xy[:, 1])
    assert inside.all(), f"{(~inside).sum()} nodes outside the boundary"
    b = osm.root.find("bounds")
    assert b is not None
    assert float(b.get("minlat", "")) == pytest.approx(xy[:, 1].min())
    assert float(b.get("maxlon", "")) == pytest.approx(xy[:, 0].max())


@pytest.mark.parametrize(("name", "lo_km", "hi_km"), [("stromstad_demo.osm", 150.0, 400.0),
                                                       ("tanum_demo.osm", 10.0, 20.0)])
def test_walking_and_cycling_length(name: str, lo_km: float, hi_km: float) -> None:
    osm = parse_osm(name)
    km = sum(osm.way_length_m(refs) for refs, tags in osm.ways.values()
             if tags.get("highway") in WALK_HIGHWAYS) / 1000
    assert lo_km <= km <= hi_km
    kinds = {tags.get("highway") for _, tags in osm.ways.values()}
    if name == "stromstad_demo.osm":
        assert WALK_HIGHWAYS - {"bridleway"} <= kinds
        assert {"primary", "secondary", "tertiary", "residential", "service",
                "unclassified"} <= kinds


def test_ways_are_split_into_realistic_pieces() -> None:
    osm = parse_osm("stromstad_demo.osm")
    lengths = np.array([osm.way_length_m(refs) for refs, tags in osm.ways.values()
                        if tags.get("highway") in ("footway", "cycleway", "residential")
                        and "crossing" not in tags])
    assert 50 <= np.median(lengths) <= 400
    assert np.quantile(lengths, 0.95) < 450


@pytest.mark.parametrize("name", ["stromstad_demo.osm", "tanum_demo.osm"])
def test_network_is_routable(name: str) -> None:
    """Every highway way is connected to every other through shared nodes."""
    osm = parse_osm(name)
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for refs, tags in osm.ways.values():
        if "highway" in tags:
            for a, b in zip(refs[:-1], refs[1:], strict=True):
                parent[find(a)] = find(b)
    assert len({find(a) for a in parent}) == 1


def test_lit_tags_have_a_realistic_mix() -> None:
    osm = parse_osm("stromstad_demo.osm")
    walk = [tags for _, tags in osm.ways.values() if tags.get("highway") in WALK_HIGHWAYS]
    values = {tags.get("lit", "") for tags in walk}
    assert {"yes", "no", "", "limited", "24/7", "automatic", "disused", "interval"} <= values
    sidewalks = [t for t in walk if t.get("footway") == "sidewalk"]
    assert sum(t.get("lit") == "yes" for t in sidewalks) / len(sidewalks) > 0.7
    tracks = [t for t in walk if t.get("highway") == "track"]
    assert sum("lit" not in t for t in tracks) / len(tracks) > 0.6
    assert any(t.get("segregated") == "yes" for t in walk)
    assert any(t.get("bicycle") == "designated" for _, t in osm.ways.values()
               if t.get("highway") == "residential")
    assert any(t.get("footway") == "sidewalk" for t in walk)


@pytest.mark.parametrize(("name", "lo", "hi"), [("stromstad_demo.osm", 150, 2000),
                                                ("tanum_demo.osm", 5, 20)])
def test_crossings_are_nodes_shared_by_road_and_crossing_way(name: str, lo: int,
                                                             hi: int) -> None:
    osm = parse_osm(name)
    crossings = {i for i, (_, _, t) in osm.nodes.items() if t.get("highway") == "crossing"}
    assert lo <= len(crossings) <= hi
    on_road: set[int] = set()
    on_crossing_way: set[int] = set()
    for refs, tags in osm.ways.values():
        if tags.get("highway") in ROADS:
            on_road.update(refs)
        if "crossing" in (tags.get("footway"), tags.get("cycleway")):
            on_crossing_way.update(refs)
    assert crossings <= on_road
    assert crossings <= on_crossing_way
    kinds = {osm.nodes[i][2]["crossing"] for i in crossings}
    if name == "stromstad_demo.osm":
        assert {"marked", "zebra", "traffic_signals", "uncontrolled", "unmarked"} <= kinds
        assert any("crossing:markings" in osm.nodes[i][2] for i in crossings)


def test_stromstad_schools() -> None:
    osm = parse_osm("stromstad_demo.osm")
    schools = ([t for _, _, t in osm.nodes.values() if t.get("amenity") == "school"]
               + [t for _, t in osm.ways.values() if t.get("amenity") == "school"]
               + [t for _, t in osm.relations.values() if t.get("amenity") == "school"])
    assert 6 <= len(schools) <= 8
    names = {t["name"] for t in schools}
    assert {"Strömstiernaskolan", "Bojarskolan", "Koster skola", "Strömstad gymnasium"} <= names
    assert all(t.get("note") == "synthetic demo data" for t in schools)
    assert all("isced:level" in t for t in schools)
    assert sum(t.get("amenity") == "school" for _, _, t in osm.nodes.values()) == 1
    (members, tags), = osm.relations.values()
    assert tags["type"] == "multipolygon"
    assert sorted(role for _, _, role in members) == ["inner", "outer", "outer"]
    for refs, tags in osm.ways.values():
        if tags.get("amenity") == "school":
            assert refs[0] == refs[-1]
            sides = [osm.way_length_m(refs[k:k + 2]) for k in range(len(refs) - 1)]
            assert all(60 <= s <= 200 for s in sides)


def test_tanum_schools() -> None:
    osm = parse_osm("tanum_demo.osm")
    names = [t["name"] for _, t in osm.ways.values() if t.get("amenity") == "school"]
    assert "Tanumskolan" in names
    assert len(names) == 2


def test_street_lamps_match_the_inventory() -> None:
    osm = parse_osm("stromstad_demo.osm")
    lamps = [t for _, _, t in osm.nodes.values() if t.get("highway") == "street_lamp"]
    assert 24 <= len(lamps) <= 60
    assert all({"lamp_type", "light:method", "operator"} <= set(t) for t in lamps)
    refs = {t["ref"] for t in lamps if "ref" in t}
    assert len(refs) >= 20
    assert refs <= set(read_inventory()["Stolpnummer"].dropna())


# --------------------------------------------------------------------------- inventory


def test_inventory_is_a_swedish_excel_export() -> None:
    data = (DEMO / "belysning_demo.csv").read_bytes()
    assert b"\xe4" in data  # ä in cp1252
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert text.split("\r\n", 1)[0] == CSV_HEADER
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert re.search(r";\d{7},\d{2};\d{6},\d{2}\r\n", text)  # Nord;Öst with decimal comma


def test_inventory_content() -> None:
    df = read_inventory()
    assert list(df.columns) == CSV_HEADER.split(";")
    assert 3000 <= len(df) <= 5000
    assert df["Armatur-ID"].is_unique
    assert df["Armatur-ID"].str.fullmatch(r"A-\d{6}").all()
    assert df["Stolpnummer"].dropna().str.fullmatch(r"S-\d{4}").all()
    assert df["Armatur-ID"].is_monotonic_increasing
    share = df["Ljuskälla"].value_counts(normalize=True)
    assert share["LED"] == pytest.approx(0.55, abs=0.05)
    assert share["Högtrycksnatrium"] == pytest.approx(0.35, abs=0.05)
    assert share["Kvicksilver"] == pytest.approx(0.05, abs=0.02)
    assert {"Metallhalogen", "Lysrör"} <= set(share.index)
    watt = df.groupby("Ljuskälla")["Effekt (W)"].agg(["min", "max"])
    assert watt.loc["LED", "min"] >= 15 and watt.loc["LED", "max"] <= 60
    assert watt.loc["Högtrycksnatrium", "min"] >= 50
    assert watt.loc["Högtrycksnatrium", "max"] <= 150
    assert watt.loc["Kvicksilver", "min"] >= 80 and watt.loc["Kvicksilver", "max"] <= 125
    assert df["Ljuspunktshöjd (m)"].between(4, 10).all()
    years = df.groupby("Ljuskälla")["Installationsår"].agg(["min", "max"])
    assert years["min"].min() >= 1975 and years["max"].max() <= 2025
    assert years.loc["Kvicksilver", "max"] < 1995
    assert df["Ägare"].value_counts().index[0] == "Strömstads kommun"
    assert {"Trafikverket", "Privat"} <= set(df["Ägare"])
    assert set(df["Status"]) == {"I drift", "Ur drift"}
    assert (df["Status"] == "I drift").mean() > 0.9


def test_inventory_lies_inside_strömstad() -> None:
    df = read_inventory()
    to_wgs = Transformer.from_crs("EPSG:3007", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(df["Öst"].to_numpy(), df["Nord"].to_numpy())
    assert shapely.contains_xy(boundary(BOUNDARY["stromstad_demo.osm"]), lon, lat).all()
    assert np.median(lat) == pytest.approx(58.937, abs=0.01)
    assert np.median(lon) == pytest.approx(11.172, abs=0.02)


# --------------------------------------------------------------------------- GeoJSON


def test_priority_areas() -> None:
    doc = read_geojson("prioriterade_omraden_demo.geojson")
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # RFC 7946: always EPSG:4326
    assert "SYNTHETIC" in doc["description"]
    areas = {f["properties"]["name"]: shape(f["geometry"]) for f in doc["features"]}
    assert {"Strömsdalen", "Centrum"} <= set(areas)
    dalen = areas["Strömsdalen"]
    assert dalen.is_valid and dalen.exterior.is_ccw
    assert dalen.centroid.x > 11.172 and dalen.centroid.y > 58.937  # north-east of centre
    osm = parse_osm("stromstad_demo.osm")
    path_nodes = {r for refs, t in osm.ways.values() if t.get("highway") in WALK_HIGHWAYS
                  for r in refs}
    xy = np.array([osm.nodes[r][:2] for r in sorted(path_nodes)])
    assert shapely.contains_xy(dalen, xy[:, 0], xy[:, 1]).sum() > 100
    assert all("synthetic" in f["properties"]["description"].lower()
               or "syntetisk" in f["properties"]["description"].lower()
               for f in doc["features"])


def test_findings() -> None:
    doc = read_geojson("fynd_demo.geojson")
    features = doc["features"]
    assert 15 <= len(features) <= 25
    ids = [f["properties"]["id"] for f in features]
    assert len(set(ids)) == len(ids)
    for f in features:
        p = f["properties"]
        assert str(uuid.UUID(p["id"])) == p["id"]
        assert p["walk_id"] in ("demo-2024-1", "demo-2024-2")
        created = datetime.fromisoformat(p["created"])
        assert created.year == 2024 and created.utcoffset() is not None
        assert p["category"] in CATEGORIES
        assert p["severity"] in (1, 2, 3)
        assert p["state"] in STATES
        assert p["description"] and p["responsible"]
        assert "internal_note" in p
        assert f["geometry"]["type"] == "Point"
    assert any("<script>alert(1)</script>" in f["properties"]["description"] for f in features)
    assert any("rektor" in f["properties"]["internal_note"] for f in features)
    lon, lat = np.array([f["geometry"]["coordinates"] for f in features]).T
    assert shapely.contains_xy(boundary(BOUNDARY["stromstad_demo.osm"]), lon, lat).all()
