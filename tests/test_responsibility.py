"""Responsibility suggested from road data: OSM operator/ref or a road-owner layer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

from layers import ValidationError
from layers.osm import read_osm_file
from layers.roads import ROADS, read_road_owners, roads_from_osm
from walks.responsibility import (
    is_state_road_ref,
    party_from_owner,
    responsible_from_road,
    suggest_responsible,
)

CRS = "EPSG:3007"
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
X0, Y0 = 135000.0, 6535000.0     # near Strömstad in SWEREF 99 12 00


@pytest.mark.parametrize(("ref", "state"), [
    ("E6", True), ("E 6", True), ("e20", True), ("176", True), ("1042", True),
    ("E6;176", True), ("S-1369", False), ("L-17", False), ("", False), ("12345", False),
])
def test_state_road_refs(ref, state):
    assert is_state_road_ref(ref) is state


@pytest.mark.parametrize(("owner", "party"), [
    ("Trafikverket", "Trafikverket"), ("Statlig", "Trafikverket"), ("staten", "Trafikverket"),
    ("Strömstads kommun", "kommun gata/park"), ("Kommunal", "kommun gata/park"),
    ("Enskild", "privat fastighetsägare"), ("Privat", "privat fastighetsägare"),
    ("Strömstadsbyggen (kommunalt bostadsbolag)", "bostadsbolag"),
    ("Statoil", None), ("", None),
])
def test_party_from_owner(owner, party):
    assert party_from_owner(owner) == party


def test_operator_wins_over_ref():
    ev = responsible_from_road(pd.Series(["E6", "176", ""], index=["a", "b", "c"]),
                               pd.Series(["Strömstads kommun", "", ""], index=["a", "b", "c"]))
    assert ev["suggested_responsible"].tolist() == ["kommun gata/park", "Trafikverket", ""]
    assert ev.loc["b", "suggestion_reason"] == "ref=176 (statlig väg)"


def _osm_file(path):
    """A small OSM XML extract: E6 (trunk), road 176, an untagged street, a kommun path."""
    def node(i, dx, dy):
        lon, lat = TO_LONLAT.transform(X0 + dx, Y0 + dy)
        return f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>'

    nodes = [node(1, 0, 0), node(2, 400, 0), node(3, 0, 100), node(4, 400, 100),
             node(5, 0, 200), node(6, 400, 200), node(7, 0, 300), node(8, 400, 300)]
    ways = [
        (10, (1, 2), {"highway": "trunk", "ref": "E6"}),
        (11, (3, 4), {"highway": "secondary", "ref": "176"}),
        (12, (5, 6), {"highway": "residential", "name": "Storgatan"}),
        (13, (7, 8), {"highway": "footway", "operator": "Strömstads kommun"}),
    ]
    body = "\n".join(
        f'<way id="{i}" version="1">' + "".join(f'<nd ref="{n}"/>' for n in nds)
        + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>"
        for i, nds, tags in ways)
    path.write_text("\n".join(['<?xml version="1.0" encoding="UTF-8"?>',
                               '<osm version="0.6" generator="test">', *nodes, body,
                               "</osm>", ""]), encoding="utf-8")
    return path


def test_suggestions_from_an_osm_extract(tmp_path):
    roads = roads_from_osm(read_osm_file(_osm_file(tmp_path / "roads.osm")), CRS)
    assert list(roads.columns) == [*ROADS, "geometry"] and roads.crs == CRS
    assert roads.loc["w10", "ref"] == "E6" and roads.loc["w13", "operator"] == \
        "Strömstads kommun"
    findings = gpd.GeoDataFrame(geometry=[
        Point(X0 + 200, Y0 + 10),     # 10 m from E6
        Point(X0 + 200, Y0 + 95),     # 5 m from 176
        Point(X0 + 200, Y0 + 205),    # on Storgatan (no evidence), 95 m from the kommun path
        Point(X0 + 200, Y0 + 290),    # 10 m from the kommun footway
        Point(X0 + 200, Y0 + 1000),   # far from everything
    ], crs=CRS, index=pd.Index(list("abcde"), name="id"))
    s = suggest_responsible(findings, roads)
    assert s.index.equals(findings.index)
    assert s["suggested_responsible"].tolist() == ["Trafikverket", "Trafikverket", "",
                                                   "kommun gata/park", ""]
    assert s.loc["a", "suggestion_reason"] == "ref=E6 (statlig väg)"
    assert s.loc["a", "road_id"] == "w10"
    assert s.loc["b", "road_distance_m"] == pytest.approx(5.0, abs=0.05)
    assert np.isnan(s.loc["e", "road_distance_m"])
    # the search distance is a hard limit: 9 m is not enough for the finding 10 m away
    near = suggest_responsible(findings, roads, max_distance_m=9.0)
    assert near.loc["a", "suggested_responsible"] == ""
    assert near.loc["b", "suggested_responsible"] == "Trafikverket"


def test_suggestions_from_a_road_owner_layer(tmp_path):
    lines = gpd.GeoDataFrame({"Vaghallare": ["Statlig", "Kommunal", "Enskild"],
                              "Vagnummer": ["176", "", ""]},
                             geometry=[LineString([(X0, Y0), (X0 + 100, Y0)]),
                                       LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)]),
                                       LineString([(X0, Y0 + 100), (X0 + 100, Y0 + 100)])],
                             crs="EPSG:3006").to_crs("EPSG:3006")
    path = tmp_path / "vaghallare.gpkg"
    lines.to_file(path, driver="GPKG")
    assert pyogrio.read_info(path)["features"] == 3      # independent reader
    roads = read_road_owners(path, CRS)
    assert roads.crs == CRS and roads["operator"].tolist() == ["Statlig", "Kommunal",
                                                               "Enskild"]
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 50, Y0 + 2), Point(X0 + 50, Y0 + 52),
                                     Point(X0 + 50, Y0 + 98)], crs="EPSG:3006").to_crs(CRS)
    s = suggest_responsible(pts, roads)
    assert s["suggested_responsible"].tolist() == ["Trafikverket", "kommun gata/park",
                                                   "privat fastighetsägare"]
    no_owner = tmp_path / "no_owner.gpkg"
    lines.drop(columns=["Vaghallare"]).to_file(no_owner, driver="GPKG")
    with pytest.raises(ValidationError, match="no road-owner column.*vaghallare"):
        read_road_owners(no_owner, CRS)


def test_suggest_refuses_degrees_and_mixed_crs():
    pts = gpd.GeoDataFrame(geometry=[Point(11.17, 58.93)], crs="EPSG:4326")
    roads = gpd.GeoDataFrame({"ref": ["E6"], "operator": [""]},
                             geometry=[LineString([(0, 0), (1, 1)])], crs=CRS)
    with pytest.raises(ValueError, match="projected CRS"):
        suggest_responsible(pts, roads)
    with pytest.raises(ValueError, match="roads are in"):
        suggest_responsible(pts.to_crs("EPSG:3006"), roads)


def test_profile_road_owner_layer_wins_over_osm(tmp_path):
    from layers import load_profile
    from layers.roads import load_roads
    from tests.test_app_followup import _copy

    lines = gpd.GeoDataFrame({"huvudman": ["Statlig"]},
                             geometry=[LineString([(X0, Y0), (X0 + 100, Y0)])], crs=CRS)
    lines.to_file(tmp_path / "nvdb.gpkg", driver="GPKG")
    path = _copy(tmp_path / "p", "stromstad")
    text = path.read_text(encoding="utf-8")
    good = text.replace('store = "walks.gpkg"',
                        f'store = "walks.gpkg"\nroad_owners = "{tmp_path / "nvdb.gpkg"}"')
    path.write_text(good, encoding="utf-8")
    roads = load_roads(load_profile(path))
    assert roads["operator"].tolist() == ["Statlig"] and roads["source"].tolist() == [
        "nvdb.gpkg"]
    path.write_text(text.replace('store = "walks.gpkg"', 'store = "walks.gpkg"\n'
                                 f'road_owners = "{tmp_path / "saknas.gpkg"}"'),
                    encoding="utf-8")
    with pytest.raises(ValidationError, match="road_owners.*file not found"):
        load_profile(path)
