"""walks.fieldkit and `trygga walks qfield`: the QGIS project, its GeoPackage, and the round
trip of findings recorded in QField back into the store."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from lxml import etree
from PIL import Image
from typer.testing import CliRunner

from trygga_cli.main import app
from walks.categories import CATEGORIES, category_labels, checklist
from walks.fieldkit import (
    BACKGROUND_LAYERS,
    BASEMAP_BUFFER_M,
    KIT_FIELDS,
    ROAD_STYLE,
    VALUE_MAP_NULL,
    empty_findings_layer,
    kit_slug,
    write_field_kit,
)
from walks.importers import read_findings_file
from walks.model import Stop, Walk
from walks.store import GeoPackageStore

ROOT = Path(__file__).resolve().parents[1]
PROFILE = str(ROOT / "data/stromstad/profile.toml")
runner = CliRunner()
SYSTEM_PYTHON = "/usr/bin/python3"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 20, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A planned walk (trygga walks plan) in a temporary store and its field kit."""
    tmp = tmp_path_factory.mktemp("kit")
    store = tmp / "w.gpkg"
    res = runner.invoke(app, ["walks", "plan", "--school", "Bojarskolan", "--store", str(store),
                              "--out", str(tmp / "plan"), "--when", "2025-11-20T18:00",
                              "--dark", "--profile", PROFILE])
    assert res.exit_code == 0, res.output
    walk_id = str(GeoPackageStore(store, "EPSG:3007").walks().index[0])
    out = tmp / "falt"
    res = runner.invoke(app, ["walks", "qfield", walk_id, "--out", str(out), "--store",
                              str(store), "--profile", PROFILE])
    assert res.exit_code == 0, res.output
    slug = kit_slug(walk_id)
    return {"store": store, "walk_id": walk_id, "dir": out, "qgs": out / f"{slug}.qgs",
            "gpkg": out / f"{slug}.gpkg"}


def _tree(path: Path) -> etree._ElementTree:
    return etree.parse(str(path))


def _value_map(layer: etree._Element, field: str) -> list[tuple[str, str]]:
    opts = layer.xpath(f"fieldConfiguration/field[@name='{field}']/editWidget[@type='ValueMap']"
                       "/config/Option/Option[@name='map']/Option/Option")
    return [(o.get("name"), o.get("value")) for o in opts]


def _layer(tree: etree._ElementTree, layer_id: str) -> etree._Element:
    (el,) = tree.xpath(f"/qgis/projectlayers/maplayer[id='{layer_id}']")
    return el


def test_project_layers_sources_and_crs(kit):
    tree = _tree(kit["qgs"])
    root = tree.getroot()
    assert root.tag == "qgis" and root.get("version").startswith("3.")
    assert tree.docinfo.doctype.startswith("<!DOCTYPE qgis")
    assert root.xpath("string(projectCrs/spatialrefsys/authid)") == "EPSG:3007"
    assert root.xpath("string(properties/Paths/Absolute)") == "false"
    layers = root.xpath("projectlayers/maplayer")
    ids = [str(el.findtext("id")) for el in layers]
    assert ids[:5] == ["fynd_trygga", "stopp_trygga", "rutt_trygga", "armaturer_trygga",
                       "segment_trygga"]
    # the offline background from the profile's OSM file, under the walk's layers, in
    # BACKGROUND_LAYERS order; the demo has streets, buildings (and more)
    background = [f"{name}_trygga" for name, *_ in BACKGROUND_LAYERS]
    assert ids[5:] == [i for i in background if i in ids[5:]]
    assert {"bakgrund_vagar_trygga", "bakgrund_byggnader_trygga"} <= set(ids)
    tree_ids = root.xpath("layer-tree-group/layer-tree-layer/@id")
    assert tree_ids == ids  # every layer in the legend, findings on top
    gpkg_layers = {str(n): str(t) for n, t in pyogrio.list_layers(kit["gpkg"])}
    for el in layers:
        source = el.findtext("datasource")
        path, _, layer = source.partition("|layername=")
        assert path == f"./{kit['gpkg'].name}"  # relative to the project
        assert layer in gpkg_layers
        assert el.xpath("string(srs/spatialrefsys/authid)") == "EPSG:3007"
        assert el.findtext("provider") == "ogr"
        assert pyogrio.read_info(kit["gpkg"], layer=layer)["crs"] == "EPSG:3007"
    assert gpkg_layers["fynd"] == "Point" and gpkg_layers["rutt"] == "LineString"
    assert gpkg_layers["bakgrund_vagar"] == "MultiLineString"
    assert gpkg_layers["bakgrund_byggnader"] == "MultiPolygon"
    # only the findings layer is editable in the field
    assert {el.findtext("id"): el.get("readOnly") for el in layers}["fynd_trygga"] == "0"
    assert sorted(el.get("readOnly") for el in layers) == ["0"] + ["1"] * (len(layers) - 1)


def test_background_streets_have_names_and_stay_near_the_route(kit):
    """Streets with their names (labelled along the line), clipped to the area around
    the route, read back by GDAL; the project styles and labels them."""
    walk = GeoPackageStore(kit["store"], "EPSG:3007").get_walk(kit["walk_id"])
    roads = pyogrio.read_dataframe(kit["gpkg"], layer="bakgrund_vagar")
    assert len(roads) > 10 and roads["name"].ne("").any()
    assert set(roads["kind"]) <= set(ROAD_STYLE)
    core = shapely.union_all([walk.route, *(st.point for st in walk.stops)])
    reach = shapely.buffer(core, BASEMAP_BUFFER_M + 25.0)  # + the buffer's arc chords
    assert shapely.within(np.asarray(roads.geometry.values), reach).all()
    tree = _tree(kit["qgs"])
    el = _layer(tree, "bakgrund_vagar_trygga")
    assert el.get("readOnly") == "1" and el.get("wkbType") == "MultiLineString"
    assert el.xpath("string(labeling/settings/text-style/@fieldName)") == "name"
    assert el.xpath("string(labeling/settings/placement/@placement)") == "2"
    cats = el.xpath("renderer-v2[@type='categorizedSymbol']/categories/category/@value")
    assert set(cats) == set(ROAD_STYLE)
    houses = _layer(tree, "bakgrund_byggnader_trygga")
    assert houses.xpath("string(renderer-v2/symbols/symbol/@type)") == "fill"


def test_kit_without_the_background(kit, tmp_path):
    out = tmp_path / "utan"
    res = runner.invoke(app, ["walks", "qfield", kit["walk_id"], "--out", str(out),
                              "--store", str(kit["store"]), "--profile", PROFILE,
                              "--no-background"])
    assert res.exit_code == 0, res.output
    names = {str(n) for n, _t in pyogrio.list_layers(out / kit["gpkg"].name)}
    assert not any(n.startswith("bakgrund_") for n in names)


def test_geopackage_content_matches_the_walk(kit):
    walk = GeoPackageStore(kit["store"], "EPSG:3007").get_walk(kit["walk_id"])
    stops = pyogrio.read_dataframe(kit["gpkg"], layer="stopp")
    assert stops["stop_no"].tolist() == list(range(1, len(walk.stops) + 1))
    assert stops["label"].tolist() == [s.label for s in walk.stops]
    assert stops.geometry.iloc[0].distance(walk.stops[0].point) < 0.01
    route = pyogrio.read_dataframe(kit["gpkg"], layer="rutt")
    assert route.geometry.iloc[0].equals_exact(walk.route, 0.01)
    findings = pyogrio.read_dataframe(kit["gpkg"], layer="fynd")
    assert len(findings) == 0
    info = pyogrio.read_info(kit["gpkg"], layer="fynd")
    types = dict(zip(info["fields"], zip(info["ogr_types"], info["ogr_subtypes"],
                                         strict=True), strict=True))
    assert types["allvarlighetsgrad"] == ("OFTInteger", "OFSTNone")
    assert types["ej_publik"] == ("OFTInteger", "OFSTBoolean")
    assert types["tidpunkt"][0] == "OFTDateTime" and types["foto"][0] == "OFTString"
    assert list(info["fields"]) == [f.name for f in KIT_FIELDS]
    segs = pyogrio.read_dataframe(kit["gpkg"], layer="segment")
    assert len(segs) > 0 and segs["segment_id"].is_unique
    assert set(segs["lighting_status"]) <= {"unlit", "underlit", "lit_old_technology", "ok",
                                            "unknown"}
    # background clipped to 500 m around the route
    assert segs.distance(walk.route).max() <= 500.0 + 1e-6
    lums = pyogrio.read_dataframe(kit["gpkg"], layer="armaturer")
    assert len(lums) > 0 and lums.distance(walk.route).max() <= 500.0 + 1e-6


def test_form_widgets(kit):
    tree = _tree(kit["qgs"])
    fynd = _layer(tree, "fynd_trygga")
    assert _value_map(fynd, "kategori") == [(c, c) for c in category_labels(CATEGORIES)]
    assert _value_map(fynd, "allvarlighetsgrad") == [("1 – låg", "1"), ("2 – medel", "2"),
                                                     ("3 – hög", "3")]
    questions = [f"{c}: {q}" for c, qs in checklist(CATEGORIES).items() for q in qs]
    assert _value_map(fynd, "checklista") == [("(ingen)", VALUE_MAP_NULL)] + [
        (q, q) for q in questions]
    photo = fynd.xpath("fieldConfiguration/field[@name='foto']/editWidget")[0]
    assert photo.get("type") == "ExternalResource"
    opts = {o.get("name"): o.get("value") for o in photo.xpath("config/Option/Option")}
    assert opts["RelativeStorage"] == "1" and opts["DocumentViewer"] == "1"
    naming = fynd.xpath("customproperties/Option/Option[@name='QFieldSync/attachment_naming']"
                        "/@value")[0]
    assert naming.startswith('{"foto": "\'DCIM/')
    flag = fynd.xpath("fieldConfiguration/field[@name='ej_publik']/editWidget/@type")
    assert flag == ["CheckBox"]
    defaults = {d.get("field"): d.get("expression") for d in fynd.xpath("defaults/default")}
    assert defaults["uuid"] == "uuid()" and defaults["tidpunkt"] == "now()"
    assert defaults["walk_id"] == f"'{kit['walk_id']}'"
    assert defaults["ej_publik"] == "false"
    editable = {e.get("name"): e.get("editable") for e in fynd.xpath("editable/field")}
    assert editable["walk_id"] == "0" and editable["uuid"] == "0"
    assert editable["beskrivning"] == "1"
    constraints = {c.get("field"): c.get("constraints") for c in fynd.xpath(
        "constraints/constraint")}
    assert constraints["kategori"] == "1" and constraints["beskrivning"] == "0"


def _fill_in_the_field(kit: dict, phone: Path) -> Path:
    """Copy the kit as QField would see it and record two findings (pyogrio), one photo."""
    shutil.copytree(kit["dir"], phone)
    gpkg = phone / kit["gpkg"].name
    (phone / "DCIM" / "trygga_20251120181500123.jpg").write_bytes(_jpeg())
    route = pyogrio.read_dataframe(gpkg, layer="rutt").geometry.iloc[0]
    points = [route.interpolate(0.25, normalized=True), route.interpolate(0.6, normalized=True)]
    rows = gpd.GeoDataFrame({
        "uuid": ["{6f1c2d2e-0a8e-4a55-9c1c-1b7f3c0e5a01}",
                 "{9a0b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d}"],
        "walk_id": [kit["walk_id"]] * 2,
        "kategori": ["belysning", "vegetation/buskage"],
        "allvarlighetsgrad": pd.Series([3, 2], dtype="int32"),
        "checklista": [f"belysning: {checklist()['belysning'][1]}", None],
        "beskrivning": ["Släckt armatur vid gångtunneln", "Buskar skymmer sikten"],
        "foto": ["DCIM/trygga_20251120181500123.jpg", None],
        "tidpunkt": pd.to_datetime(["2025-11-20T17:15:00Z", "2025-11-20T17:32:00Z"]),
        "ej_publik": [False, True],
        "intern_anteckning": [None, "Boende har klagat"],
    }, geometry=points, crs="EPSG:3007")
    pyogrio.write_dataframe(rows, gpkg, layer="fynd", append=True)
    return gpkg


def test_round_trip_attaches_findings_to_the_walk_once(kit, tmp_path):
    assert "vegetation/buskage" in category_labels()
    gpkg = _fill_in_the_field(kit, tmp_path / "telefon")
    args = ["walks", "import", str(gpkg), "--store", str(kit["store"]), "--profile", PROFILE]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "imported 2 new finding(s)" in first.output
    assert "read the layer 'fynd'" in first.output  # the stops/luminaires are ignored
    found = GeoPackageStore(kit["store"], "EPSG:3007").findings()
    mine = found[found["walk_id"].eq(kit["walk_id"])].sort_values("created")
    assert mine["channel"].tolist() == ["import:qfield", "import:qfield"]
    assert mine["category"].tolist() == ["belysning", "vegetation/buskage"]
    assert mine["severity"].tolist() == [3, 2]
    assert [len(p) for p in mine["photos"]] == [1, 0]
    assert mine["source_id"].tolist() == ["6f1c2d2e-0a8e-4a55-9c1c-1b7f3c0e5a01",
                                          "9a0b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"]
    assert mine["internal_note"].iloc[0] == (
        f"Checklista: belysning: {checklist()['belysning'][1]}")
    assert mine["created"].iloc[0] == pd.Timestamp("2025-11-20T17:15:00Z")
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "imported 0 new finding(s)" in again.output
    assert len(GeoPackageStore(kit["store"], "EPSG:3007").findings()) == len(found)


def test_importer_reads_the_non_public_flag(kit, tmp_path):
    gpkg = _fill_in_the_field(kit, tmp_path / "telefon")
    r = read_findings_file(gpkg, "EPSG:3007")
    assert r.ok, r.problems
    by_desc = r.findings.set_index("description")["non_public"]
    assert by_desc.to_dict() == {"Släckt armatur vid gångtunneln": False,
                                 "Buskar skymmer sikten": True}
    # the flag is never mistaken for the internal note
    assert r.findings["internal_note"].tolist()[1] == "Boende har klagat"


def test_non_public_flag_survives_the_import(kit, tmp_path):
    gpkg = _fill_in_the_field(kit, tmp_path / "telefon")
    store = tmp_path / "s.gpkg"
    for suffix in ("", "-wal"):  # the store is in WAL mode
        if Path(f"{kit['store']}{suffix}").exists():
            shutil.copy(f"{kit['store']}{suffix}", f"{store}{suffix}")
    res = runner.invoke(app, ["walks", "import", str(gpkg), "--store", str(store),
                              "--profile", PROFILE])
    assert res.exit_code == 0, res.output
    found = GeoPackageStore(store, "EPSG:3007").findings()
    mine = found[found["walk_id"].eq(kit["walk_id"])].set_index("description")
    assert mine["non_public"].to_dict() == {"Släckt armatur vid gångtunneln": False,
                                            "Buskar skymmer sikten": True}
    # never in the public view
    public = runner.invoke(app, ["walks", "export-public", "--store", str(store), "--out",
                                 str(tmp_path / "p.geojson"), "--profile", PROFILE])
    assert public.exit_code == 0, public.output
    text = (tmp_path / "p.geojson").read_text(encoding="utf-8")
    assert "Buskar skymmer sikten" not in text and "Släckt armatur vid gångtunneln" in text


def test_unknown_walk_and_walk_without_route(kit, tmp_path):
    res = runner.invoke(app, ["walks", "qfield", "finns-inte", "--out", str(tmp_path / "x"),
                              "--store", str(kit["store"]), "--profile", PROFILE])
    assert res.exit_code == 2 and "finns-inte" in res.output
    walk = Walk("tom", "Utan rutt", pd.Timestamp("2025-11-20T18:00+01:00").to_pydatetime())
    with pytest.raises(ValueError, match="neither a route nor stops"):
        write_field_kit(walk, tmp_path / "y", "EPSG:3007")


def test_kit_without_background_and_with_basemap(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    base = tmp_path / "karta.tif"
    with rasterio.open(base, "w", driver="GTiff", width=4, height=4, count=3, dtype="uint8",
                       crs="EPSG:3007", transform=from_origin(150000, 6540000, 100, 100)) as ds:
        ds.write(np.full((3, 4, 4), 200, dtype="uint8"))
    walk = Walk("Skee höst", "Skee", pd.Timestamp("2025-11-20T18:00+01:00").to_pydatetime(),
                stops=(Stop(shapely.Point(150100, 6539900), "Busshållplatsen"),))
    kit = write_field_kit(walk, tmp_path / "kit", "EPSG:3007", basemap=base)
    assert kit.project.name == "skee-host.qgs" and kit.layers == {"fynd": 0, "stopp": 1}
    assert (kit.basemap is not None and kit.basemap.read_bytes() == base.read_bytes())
    tree = _tree(kit.project)
    (raster,) = tree.xpath("/qgis/projectlayers/maplayer[@type='raster']")
    assert raster.findtext("datasource") == "./basemap/karta.tif"
    assert raster.findtext("provider") == "gdal"
    # the basemap is the bottom layer
    assert tree.xpath("/qgis/layer-tree-group/layer-tree-layer/@id")[-1] == "basemap_trygga"
    with pytest.raises(ValueError, match="basemap file not found"):
        write_field_kit(walk, tmp_path / "kit2", "EPSG:3007", basemap=tmp_path / "saknas.tif")


def test_empty_findings_layer_is_read_by_the_importer_schema():
    empty = empty_findings_layer("EPSG:3007")
    assert list(empty.columns) == [f.name for f in KIT_FIELDS] + ["geometry"]
    assert empty.crs.to_epsg() == 3007


def _system_qgis() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _system_qgis() and not os.environ.get("CI"),
                    reason="Debian's python3-qgis is not installed (./dev.sh test installs it)")
def test_project_loads_in_qgis_headless(kit, tmp_path):
    script = textwrap.dedent("""
        import sys
        from qgis.core import QgsApplication, QgsProject
        app = QgsApplication([], False)
        app.initQgis()
        p = QgsProject.instance()
        assert p.read(sys.argv[1]), "QgsProject.read failed"
        assert p.crs().authid() == "EPSG:3007", p.crs().authid()
        layers = p.mapLayers()
        assert len(layers) >= 7, list(layers)  # the walk's 5 and the background
        assert "bakgrund_vagar_trygga" in layers, list(layers)
        assert layers["bakgrund_vagar_trygga"].featureCount() > 10
        bad = [l.name() for l in layers.values() if not l.isValid()]
        assert not bad, bad
        fynd = layers["fynd_trygga"]
        idx = fynd.fields().indexOf("kategori")
        setup = fynd.editorWidgetSetup(idx)
        assert setup.type() == "ValueMap", setup.type()
        values = [list(d.values())[0] for d in setup.config()["map"]]
        print("|".join(values))
        foto = fynd.editorWidgetSetup(fynd.fields().indexOf("foto"))
        assert foto.type() == "ExternalResource", foto.type()
        assert fynd.defaultValueDefinition(fynd.fields().indexOf("uuid")).expression() \
            == "uuid()"
        assert not fynd.readOnly() and layers["segment_trygga"].readOnly()
        app.exitQgis()
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    res = subprocess.run([SYSTEM_PYTHON, "-c", script, str(kit["qgs"])], capture_output=True,
                         text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().splitlines()[-1].split("|") == list(category_labels())
