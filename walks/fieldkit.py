"""QField field kit for a planned walk (``trygga walks qfield WALK_ID --out DIR``).

Evening walks in Skee and on Koster have poor mobile coverage, so staff record offline on a
phone with `QField <https://qfield.org>`_. :func:`write_field_kit` writes a folder QField
opens as it is (copy it to the phone, or zip it):

``<slug>.qgs``
    A QGIS 3 project (XML, relative paths, the profile's CRS, e.g. EPSG:3007).
``<slug>.gpkg``
    One GeoPackage with the layers (all in the profile CRS, metres):

    ============  ==========  ==========================================================
    layer         geometry    content
    ============  ==========  ==========================================================
    ``fynd``      Point       empty; the findings recorded in the field (:data:`KIT_FIELDS`)
    ``stopp``     Point       the walk's numbered stops (``stop_no`` from 1, ``label``)
    ``rutt``      LineString  the planned route
    ``segment``   LineString  lit/unlit path segments from the ranking (background)
    ``armaturer`` Point       luminaires (background)
    ``bakgrund_*`` (various)  the offline background from the profile's OSM file:
                              streets with names, places, buildings, water, land use
                              (:data:`BACKGROUND_LAYERS`; ``--no-background`` leaves it out)
    ============  ==========  ==========================================================

``DCIM/``
    Where QField stores the photos (``foto`` holds ``DCIM/<name>.jpg``, relative to the
    project folder).
``basemap/<file>``
    The offline basemap, when one is given (see *basemap* of :func:`write_field_kit`).

The findings form uses value maps for the categories (:mod:`walks.categories`), the
severities (:data:`walks.model.SEVERITIES`) and the walk's checklist questions, an
ExternalResource (camera) widget for ``foto`` and a check box for the non-public flag.
Its field names are the ones the QField importer (:mod:`walks.importers.spatial`) reads,
so ``trygga walks import DIR/<slug>.gpkg`` brings the findings back with their photos and
the walk id; a second import of the same file adds nothing (``uuid`` is the source id).

Background map
--------------
By default the kit carries the app's offline basemap as vector layers: the streets (with
their names, labelled along the line), places, buildings, water and land use of the
profile's OSM file (:func:`layers.basemap.read_basemap`) within :data:`BASEMAP_BUFFER_M`
of the route, in muted colours under the walk's layers, so the map on the phone works with
no coverage. A raster basemap can be added as well (*basemap*, CLI ``--basemap FILE``: a
GeoTIFF, MBTiles or GeoPackage raster that GDAL opens); it is copied into ``basemap/`` and
added as the bottom layer.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import unicodedata
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.basemap import Basemap
from walks.categories import CATEGORIES, Category, checklist
from walks.model import SEVERITIES, Walk

logger = logging.getLogger(__name__)

#: QGIS version the project declares (the format is read by every QGIS/QField 3.x).
QGIS_VERSION = "3.22.16-Białowieża"

#: GeoPackage version written: 1.2 is read without warnings by older QGIS/QField builds
#: (GDAL < 3.7 warns about 1.4 files), and has everything the kit uses.
GPKG_VERSION = "1.2"

#: Background layers (segments, luminaires) are clipped to this distance around the route
#: and stops, in metres, to keep the kit small on a phone.
BACKGROUND_BUFFER_M = 500.0

#: QGIS's value-map marker for "no value" (NULL).
VALUE_MAP_NULL = "{2839923C-8B7D-419E-B84B-CA2FE9B80EC7}"

#: Severity value map: label shown in the form -> stored value.
SEVERITY_LABELS: dict[int, str] = {1: "1 – låg", 2: "2 – medel", 3: "3 – hög"}

#: Photo naming in QField (``QFieldSync/attachment_naming``): a file in ``DCIM/`` named by
#: the time it was taken.
PHOTO_NAMING = "'DCIM/trygga_' || format_date(now(),'yyyyMMddhhmmsszzz') || '.{extension}'"

#: Layer names in the GeoPackage.
FINDINGS_LAYER, STOPS_LAYER, ROUTE_LAYER = "fynd", "stopp", "rutt"
SEGMENTS_LAYER, LUMINAIRES_LAYER = "segment", "armaturer"
#: The offline vector background from the profile's OSM file (:mod:`layers.basemap`), top
#: to bottom: (layer, title, geometry, Basemap attribute, columns). Read-only.
BACKGROUND_LAYERS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("bakgrund_orter", "Ortnamn", "Point", "places", ("name", "rank")),
    ("bakgrund_vagar", "Gator och vägar", "Line", "roads", ("kind", "name")),
    ("bakgrund_vattendrag", "Vattendrag", "Line", "water", ("kind",)),
    ("bakgrund_byggnader", "Byggnader", "Polygon", "buildings", ()),
    ("bakgrund_mark", "Markanvändning", "Polygon", "landuse", ("kind",)),
    ("bakgrund_vatten", "Vatten", "Polygon", "water", ("kind",)),
)
#: How far around the route and stops the background reaches (metres).
BASEMAP_BUFFER_M = 1500.0
#: Muted colours (R,G,B,A) of the background, as on the app's offline basemap.
ROAD_STYLE: dict[str, tuple[str, str]] = {
    "major": ("250,200,120,255", "1.4"), "secondary": ("252,222,160,255", "1.2"),
    "tertiary": ("255,240,200,255", "1.0"), "minor": ("200,200,200,255", "0.8"),
    "service": ("215,215,215,255", "0.5"), "track": ("190,170,140,255", "0.4"),
    "path": ("170,170,170,255", "0.35")}
LANDUSE_STYLE: dict[str, str] = {
    "farmland": "238,240,213,255", "forest": "214,230,204,255", "grass": "223,238,208,255",
    "rock": "232,228,220,255", "residential": "236,234,232,255",
    "commercial": "240,228,228,255", "industrial": "235,228,238,255"}
WATER_COLOUR, BUILDING_COLOUR = "170,211,223,255", "217,208,201,255"

#: Segment columns copied from the ranking (besides ``segment_id`` and geometry); the
#: last three only when the ranking used the photometric model (:mod:`gis.photometry`).
SEGMENT_FIELDS = ("rank", "lighting_status", "mean_lux", "min_lux", "target_class",
                  "length_m", "lux_model", "e_av_lux", "uniformity_u0")
#: Luminaire columns copied from the luminaire layer (besides ``luminaire_id``).
LUMINAIRE_FIELDS = ("pole_id", "light_source", "wattage_w", "mounting_height_m", "owner",
                    "status")

#: Colours of the lighting statuses (:data:`gis.lighting_model.STATUS_CATEGORIES`).
STATUS_COLOURS = {"unlit": "215,25,28,255", "underlit": "253,174,97,255",
                  "lit_old_technology": "171,217,233,255", "ok": "26,150,65,255",
                  "unknown": "150,150,150,255"}


@dataclass(frozen=True)
class KitField:
    """One field of the findings layer ``fynd``.

    Attributes
    ----------
    name : str
        Column name; the QField importer maps it (see :data:`walks.importers.FIELD_SYNONYMS`).
    ogr_type : str
        ``String``, ``Integer``, ``Boolean`` or ``DateTime``.
    alias : str
        Label in the form (Swedish).
    widget : str
        QGIS edit widget: ``TextEdit``, ``ValueMap``, ``ExternalResource``, ``CheckBox``,
        ``DateTime``.
    default : str
        QGIS default-value expression, or empty.
    editable : bool
        False for fields the form shows but does not let the user change.
    not_null : bool
        The form refuses to save without a value.
    """

    name: str
    ogr_type: str
    alias: str
    widget: str
    default: str = ""
    editable: bool = True
    not_null: bool = False


#: The findings layer's fields, in order (after ``fid``).
KIT_FIELDS: tuple[KitField, ...] = (
    KitField("uuid", "String", "Id", "TextEdit", "uuid()", editable=False),
    KitField("walk_id", "String", "Vandring", "TextEdit", editable=False),
    KitField("kategori", "String", "Kategori", "ValueMap", not_null=True),
    KitField("allvarlighetsgrad", "Integer", "Allvarlighetsgrad", "ValueMap", "2"),
    KitField("checklista", "String", "Checklistans fråga", "ValueMap"),
    KitField("beskrivning", "String", "Beskrivning", "TextEdit"),
    KitField("foto", "String", "Foto", "ExternalResource"),
    KitField("tidpunkt", "DateTime", "Tidpunkt", "DateTime", "now()"),
    KitField("ej_publik", "Boolean", "Visa inte offentligt", "CheckBox", "false"),
    KitField("intern_anteckning", "String", "Intern anteckning (visas aldrig offentligt)",
             "TextEdit"),
)

_DTYPES = {"String": "str", "Integer": "int32", "Boolean": "bool",
           "DateTime": "datetime64[ms, UTC]"}


@dataclass(frozen=True)
class FieldKit:
    """What :func:`write_field_kit` wrote (absolute paths).

    Attributes
    ----------
    project : Path
        The ``.qgs`` file.
    geopackage : Path
        The GeoPackage with every vector layer.
    dcim : Path
        The (empty) photo folder.
    basemap : Path or None
        The copied basemap.
    layers : dict
        GeoPackage layer name -> number of features.
    """

    project: Path
    geopackage: Path
    dcim: Path
    basemap: Path | None = None
    layers: dict[str, int] = field(default_factory=dict)


def kit_slug(walk_id: str) -> str:
    """A file-name-safe form of a walk id: ``"Skee höst 2025"`` → ``"skee-host-2025"``."""
    text = unicodedata.normalize("NFKD", walk_id.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "vandring"


def category_value_map(categories: Sequence[Category] = CATEGORIES) -> list[tuple[str, str]]:
    """(shown, stored) pairs of the category value map: every active category label."""
    return [(c.label, c.label) for c in categories if c.active]


def checklist_value_map(categories: Sequence[Category] = CATEGORIES) -> list[tuple[str, str]]:
    """(shown, stored) pairs of the checklist value map, after the NULL entry.

    One entry per checklist question (:func:`walks.categories.checklist`), stored as
    ``"<category>: <question>"``.
    """
    return [(f"{label}: {q}", f"{label}: {q}")
            for label, questions in checklist(categories).items() for q in questions]


def severity_value_map() -> list[tuple[str, str]]:
    """(shown, stored) pairs of the severity value map."""
    return [(SEVERITY_LABELS[s], str(s)) for s in SEVERITIES]


# ---------------------------------------------------------------------------------------
# GeoPackage
# ---------------------------------------------------------------------------------------


def empty_findings_layer(crs: CRS | str) -> gpd.GeoDataFrame:
    """The empty ``fynd`` layer: :data:`KIT_FIELDS` with their types, Point, in *crs*."""
    cols = {f.name: pd.Series([], dtype=_DTYPES[f.ogr_type]) for f in KIT_FIELDS}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _clip(frame: gpd.GeoDataFrame, area: shapely.Geometry) -> gpd.GeoDataFrame:
    hits = frame.sindex.query(area, predicate="intersects")
    return frame.iloc[np.sort(hits)]


def _background(frame: gpd.GeoDataFrame | None, area: shapely.Geometry, index_name: str,
                columns: Sequence[str], crs: CRS) -> gpd.GeoDataFrame | None:
    if frame is None or not len(frame):
        return None
    if frame.crs is None or CRS.from_user_input(frame.crs) != crs:
        raise ValidationError([Problem(
            index_name.removesuffix("_id"), "", "geometry",
            f"the layer is in {frame.crs}, not in the profile CRS {crs.to_string()}",
            "pass the layers as layers.loader.load_layers returns them")])
    part = _clip(frame, area)
    data = {index_name: part.index.astype(str).to_numpy()}
    data.update({c: part[c].to_numpy() for c in columns if c in part.columns})
    out = gpd.GeoDataFrame(data, geometry=part.geometry.to_numpy(), crs=crs)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    return out


def _route_and_stops(walk: Walk, crs: CRS) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    route = gpd.GeoDataFrame(
        {"walk_id": [walk.id], "title": [walk.title],
         "length_m": [round(float(walk.route.length), 1) if walk.route is not None else 0.0]},
        geometry=[walk.route], crs=crs)
    stops = gpd.GeoDataFrame(
        {"stop_no": pd.Series(range(1, len(walk.stops) + 1), dtype="int32"),
         "label": pd.Series([s.label for s in walk.stops], dtype="str")},
        geometry=gpd.GeoSeries([s.point for s in walk.stops], crs=crs), crs=crs)
    return route, stops


# ---------------------------------------------------------------------------------------
# The QGIS project (.qgs)
# ---------------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _option(parent: ET.Element, name: str | None = None, type_: str | None = None,
            value: str | None = None) -> ET.Element:
    attrs = {}
    if type_ is not None:
        attrs["type"] = type_
    if name is not None:
        attrs["name"] = name
    if value is not None:
        attrs["value"] = value
    return _sub(parent, "Option", **attrs)


def _srs(parent: ET.Element, crs: CRS) -> None:
    srs = _sub(parent, "spatialrefsys", nativeFormat="Wkt")
    epsg = crs.to_epsg()
    _sub(srs, "wkt", crs.to_wkt("WKT2_2019"))
    with warnings.catch_warnings():  # "lose projection information": QGIS reads the WKT
        warnings.simplefilter("ignore", UserWarning)
        _sub(srs, "proj4", crs.to_proj4())
    _sub(srs, "srsid", "0")
    _sub(srs, "srid", str(epsg or 0))
    _sub(srs, "authid", f"EPSG:{epsg}" if epsg else "")
    _sub(srs, "description", crs.name)
    _sub(srs, "projectionacronym", "utm" if crs.is_projected else "longlat")
    ellipsoid = crs.ellipsoid.name if crs.ellipsoid is not None else ""
    _sub(srs, "ellipsoidacronym", "EPSG:7019" if "GRS 1980" in ellipsoid else "")
    _sub(srs, "geographicflag", "true" if crs.is_geographic else "false")


def _extent(parent: ET.Element, tag: str, bounds: Sequence[float]) -> None:
    ext = _sub(parent, tag)
    for name, v in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True):
        _sub(ext, name, f"{v:.3f}")


def _value_map_widget(parent: ET.Element, pairs: Sequence[tuple[str, str]],
                      with_null: bool = False) -> None:
    config = _sub(_sub(parent, "editWidget", type_="ValueMap"), "config")
    entries = _option(_option(config, type_="Map"), "map", "List")
    if with_null:
        _option(_option(entries, type_="Map"), "(ingen)", "QString", VALUE_MAP_NULL)
    for shown, stored in pairs:
        _option(_option(entries, type_="Map"), shown, "QString", stored)


def _widget(parent: ET.Element, kind: str, options: Sequence[tuple[str, str, str]]) -> None:
    config = _sub(_sub(parent, "editWidget", type_=kind), "config")
    m = _option(config, type_="Map")
    for name, type_, value in options:
        _option(m, name, type_, value)


def _field_widgets(layer: ET.Element, categories: Sequence[Category]) -> None:
    fc = _sub(layer, "fieldConfiguration")
    fid = _sub(fc, "field", name="fid", configurationFlags="None")
    _widget(fid, "TextEdit", [("IsMultiline", "bool", "false"), ("UseHtml", "bool", "false")])
    for f in KIT_FIELDS:
        el = _sub(fc, "field", name=f.name, configurationFlags="None")
        if f.name == "kategori":
            _value_map_widget(el, category_value_map(categories))
        elif f.name == "allvarlighetsgrad":
            _value_map_widget(el, severity_value_map())
        elif f.name == "checklista":
            _value_map_widget(el, checklist_value_map(categories), with_null=True)
        elif f.widget == "ExternalResource":
            _widget(el, "ExternalResource", [
                ("DocumentViewer", "int", "1"), ("DocumentViewerHeight", "int", "0"),
                ("DocumentViewerWidth", "int", "0"), ("FileWidget", "bool", "true"),
                ("FileWidgetButton", "bool", "true"),
                ("FileWidgetFilter", "QString", "Bilder (*.jpg *.jpeg *.png)"),
                ("RelativeStorage", "int", "1"), ("StorageMode", "int", "0")])
        elif f.widget == "CheckBox":
            _widget(el, "CheckBox", [("CheckedState", "QString", ""),
                                     ("TextDisplayMethod", "int", "0"),
                                     ("UncheckedState", "QString", "")])
        elif f.widget == "DateTime":
            _widget(el, "DateTime", [("allow_null", "bool", "true"),
                                     ("calendar_popup", "bool", "true"),
                                     ("display_format", "QString", "yyyy-MM-dd HH:mm"),
                                     ("field_format", "QString", "yyyy-MM-dd HH:mm:ss"),
                                     ("field_iso_format", "bool", "false")])
        else:
            multiline = "true" if f.name in ("beskrivning", "intern_anteckning") else "false"
            _widget(el, "TextEdit", [("IsMultiline", "bool", multiline),
                                     ("UseHtml", "bool", "false")])
    aliases = _sub(layer, "aliases")
    _sub(aliases, "alias", field="fid", index="0", name="")
    for i, f in enumerate(KIT_FIELDS, start=1):
        _sub(aliases, "alias", field=f.name, index=str(i), name=f.alias)


def _form_rules(layer: ET.Element, walk: Walk) -> None:
    defaults = _sub(layer, "defaults")
    constraints = _sub(layer, "constraints")
    editable = _sub(layer, "editable")
    _sub(editable, "field", editable="0", name="fid")
    walk_literal = "'" + walk.id.replace("'", "''") + "'"
    for f in KIT_FIELDS:
        expr = walk_literal if f.name == "walk_id" else f.default
        _sub(defaults, "default", field=f.name, expression=expr, applyOnUpdate="0")
        _sub(constraints, "constraint", field=f.name, constraints="1" if f.not_null else "0",
             notnull_strength="1" if f.not_null else "0", unique_strength="0",
             exp_strength="0")
        _sub(editable, "field", editable="1" if f.editable else "0", name=f.name)


def _symbol(parent: ET.Element, kind: str, colour: str, name: str, size: str) -> None:
    sym = _sub(parent, "symbol", type_=kind, name=name, alpha="1", clip_to_extent="1",
               force_rhr="0")
    if kind == "marker":
        layer = _sub(sym, "layer", **{"class": "SimpleMarker"}, enabled="1", locked="0",
                     pass_="0")
        opts = _option(layer, type_="Map")
        for n, v in (("color", colour), ("name", "circle"), ("outline_color", "0,0,0,255"),
                     ("outline_width", "0.3"), ("size", size), ("size_unit", "MM")):
            _option(opts, n, "QString", v)
    elif kind == "fill":
        layer = _sub(sym, "layer", **{"class": "SimpleFill"}, enabled="1", locked="0",
                     pass_="0")
        opts = _option(layer, type_="Map")
        for n, v in (("color", colour), ("style", "solid"), ("outline_style", "no"),
                     ("outline_width", size), ("outline_width_unit", "MM")):
            _option(opts, n, "QString", v)
    else:
        layer = _sub(sym, "layer", **{"class": "SimpleLine"}, enabled="1", locked="0",
                     pass_="0")
        opts = _option(layer, type_="Map")
        for n, v in (("line_color", colour), ("line_style", "solid"), ("line_width", size),
                     ("line_width_unit", "MM"), ("capstyle", "round"),
                     ("joinstyle", "round")):
            _option(opts, n, "QString", v)


def _renderer(layer: ET.Element, name: str, kind: str) -> None:
    if name == SEGMENTS_LAYER:
        r = _sub(layer, "renderer-v2", type_="categorizedSymbol", attr="lighting_status",
                 symbollevels="0", enableorderby="0", forceraster="0")
        cats = _sub(r, "categories")
        symbols = _sub(r, "symbols")
        for i, (status, colour) in enumerate(STATUS_COLOURS.items()):
            _sub(cats, "category", value=status, symbol=str(i), label=status, render="true")
            _symbol(symbols, "line", colour, str(i), "0.8")
        return
    categorized = {"bakgrund_vagar": ("kind", "line", ROAD_STYLE),
                   "bakgrund_mark": ("kind", "fill",
                                     {k: (c, "0") for k, c in LANDUSE_STYLE.items()})}
    if name in categorized:
        attr, sym_kind, styles = categorized[name]
        r = _sub(layer, "renderer-v2", type_="categorizedSymbol", attr=attr,
                 symbollevels="0", enableorderby="0", forceraster="0")
        cats = _sub(r, "categories")
        symbols = _sub(r, "symbols")
        for i, (value, (colour, size)) in enumerate(styles.items()):
            _sub(cats, "category", value=value, symbol=str(i), label=value, render="true")
            _symbol(symbols, sym_kind, colour, str(i), size)
        return
    r = _sub(layer, "renderer-v2", type_="singleSymbol", symbollevels="0", enableorderby="0",
             forceraster="0")
    symbols = _sub(r, "symbols")
    background = {"bakgrund_orter": ("90,90,90,255", "1"),
                  "bakgrund_vattendrag": (WATER_COLOUR, "0.6"),
                  "bakgrund_byggnader": (BUILDING_COLOUR, "0"),
                  "bakgrund_vatten": (WATER_COLOUR, "0")}
    if name in background:
        _symbol(symbols, kind, *background[name][:1], "0", background[name][1])
        return
    style = {FINDINGS_LAYER: ("255,0,255,255", "4"), STOPS_LAYER: ("31,120,180,255", "5"),
             ROUTE_LAYER: ("31,120,180,255", "1.2"),
             LUMINAIRES_LAYER: ("255,221,0,255", "2")}[name]
    _symbol(symbols, kind, style[0], "0", style[1])


def _labels(layer: ET.Element, field_name: str, size: str = "11",
            colour: str = "0,0,0,255", placement: str = "0") -> None:
    lab = _sub(layer, "labeling", type_="simple")
    settings = _sub(lab, "settings", calloutType="simple")
    _sub(settings, "text-style", fieldName=field_name, fontSize=size, fontSizeUnit="Point",
         textColor=colour, isExpression="0", fontFamily="Sans Serif")
    _sub(settings, "text-buffer", bufferDraw="1", bufferSize="1", bufferSizeUnits="MM",
         bufferColor="255,255,255,255")
    _sub(settings, "placement", placement=placement, dist="1", distUnits="MM")
    _sub(settings, "rendering", drawLabels="1", obstacle="1")
    layer.set("labelsEnabled", "1")


@dataclass(frozen=True)
class _Layer:
    name: str
    title: str
    geometry: str  # Point / Line / raster
    source: str  # relative data source
    bounds: tuple[float, float, float, float]
    crs: CRS
    read_only: bool = True

    @property
    def id(self) -> str:
        return f"{self.name}_trygga"


def _map_layer(parent: ET.Element, lay: _Layer, walk: Walk,
               categories: Sequence[Category]) -> None:
    raster = lay.geometry == "raster"
    attrs = {"type": "raster" if raster else "vector", "autoRefreshTime": "0",
             "hasScaleBasedVisibilityFlag": "0", "refreshOnNotifyEnabled": "0",
             "styleCategories": "AllStyleCategories",
             "readOnly": "1" if lay.read_only else "0"}
    if not raster:
        attrs.update(geometry=lay.geometry,
                     wkbType={"Point": "Point", "Line": "LineString",
                              "Polygon": "MultiPolygon"}[lay.geometry]
                     if not lay.name.startswith("bakgrund_") or lay.geometry != "Line"
                     else "MultiLineString")
    el = _sub(parent, "maplayer", **attrs)
    _extent(el, "extent", lay.bounds)
    _sub(el, "id", lay.id)
    _sub(el, "datasource", lay.source)
    _sub(el, "keywordList")
    _sub(el, "layername", lay.title)
    _srs(_sub(el, "srs"), lay.crs)
    _sub(el, "provider", "gdal" if raster else "ogr", **({} if raster else
                                                         {"encoding": "UTF-8"}))
    flags = _sub(el, "flags")
    for n, v in (("Identifiable", "1"), ("Removable", "1"), ("Searchable", "1"),
                 ("Private", "0")):
        _sub(flags, n, v)
    props = _option(_sub(el, "customproperties"), type_="Map")
    _option(props, "QFieldSync/action", "QString", "offline" if not lay.read_only else "copy")
    _option(props, "QFieldSync/cloud_action", "QString",
            "offline" if not lay.read_only else "no_action")
    if raster:
        pipe = _sub(el, "pipe")
        _sub(pipe, "rasterrenderer", type_="multibandcolor", opacity="1", alphaBand="-1",
             redBand="1", greenBand="2", blueBand="3")
        return
    if lay.name == FINDINGS_LAYER:
        naming = json.dumps({"foto": PHOTO_NAMING}, ensure_ascii=False)
        _option(props, "QFieldSync/attachment_naming", "QString", naming)
        _option(props, "QFieldSync/photo_naming", "QString",
                json.dumps({"foto": PHOTO_NAMING.replace("{extension}", "jpg")},
                           ensure_ascii=False))
    _renderer(el, lay.name, {"Point": "marker", "Line": "line",
                             "Polygon": "fill"}[lay.geometry])
    if lay.name == STOPS_LAYER:
        _labels(el, "stop_no")
    elif lay.name == "bakgrund_vagar":
        _labels(el, "name", size="8", colour="60,60,60,255", placement="2")  # along the line
    elif lay.name == "bakgrund_orter":
        _labels(el, "name", size="10", colour="40,40,40,255")
    if lay.name == FINDINGS_LAYER:
        _field_widgets(el, categories)
        _form_rules(el, walk)
        _sub(el, "editform", tolerant="1")
        _sub(el, "editforminit")
        _sub(el, "editorlayout", "generatedlayout")


def _project_xml(walk: Walk, layers: Sequence[_Layer], crs: CRS,
                 bounds: tuple[float, float, float, float],
                 categories: Sequence[Category]) -> bytes:
    root = ET.Element("qgis", {"projectname": walk.title, "version": QGIS_VERSION,
                               "saveUser": "", "saveUserFull": ""})
    _sub(root, "homePath", path="")
    _sub(root, "title", walk.title)
    _sub(root, "autotransaction", active="0")
    _sub(root, "evaluateDefaultValues", active="0")
    _sub(root, "trust", active="0")
    _srs(_sub(root, "projectCrs"), crs)
    tree = _sub(root, "layer-tree-group")
    _sub(tree, "customproperties")
    for lay in layers:
        node = _sub(tree, "layer-tree-layer", id=lay.id, name=lay.title, source=lay.source,
                    providerKey="gdal" if lay.geometry == "raster" else "ogr",
                    checked="Qt::Checked", expanded="0", legend_exp="")
        _sub(node, "customproperties")
    order = _sub(tree, "custom-order", enabled="0")
    for lay in layers:
        _sub(order, "item", lay.id)
    canvas = _sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    _sub(canvas, "units", "meters")
    _extent(canvas, "extent", bounds)
    _sub(canvas, "rotation", "0")
    _srs(_sub(canvas, "destinationsrs"), crs)
    _sub(canvas, "rendermaptile", "0")
    projectlayers = _sub(root, "projectlayers")
    for lay in layers:
        _map_layer(projectlayers, lay, walk, categories)
    order_el = _sub(root, "layerorder")
    for lay in layers:
        _sub(order_el, "layer", id=lay.id)
    props = _sub(root, "properties")
    paths = _sub(props, "Paths")
    _sub(paths, "Absolute", "false", type="bool")
    # QGIS reads <projectCrs> only when projections are enabled
    _sub(_sub(props, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")
    units = _sub(props, "Measurement")
    _sub(units, "DistanceUnits", "meters", type="QString")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body
            + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------
# The kit
# ---------------------------------------------------------------------------------------


def _background_frame(frame: gpd.GeoDataFrame, area: shapely.Geometry, geom: str,
                      columns: Sequence[str], crs: CRS) -> gpd.GeoDataFrame | None:
    """The background features of one kind within *area* (clipped), or None if none.

    *geom* picks the geometry type (``Point``, ``Line``, ``Polygon``: the water frame holds
    areas and lines); *columns* are kept (text), nothing else.
    """
    if frame is None or not len(frame):
        return None
    if CRS.from_user_input(frame.crs) != crs:
        raise ValidationError([Problem("basemap", "", "crs",
                                       f"the background is in {frame.crs}, not {crs}",
                                       "read it with the profile's CRS")])
    types = {"Point": (0, 4), "Line": (1, 5), "Polygon": (3, 6)}[geom]
    g = np.asarray(frame.geometry.values, dtype=object)
    keep = np.isin(shapely.get_type_id(g), types) & shapely.intersects(g, area)
    if not keep.any():
        return None
    sub = frame.loc[keep]
    clipped = shapely.intersection(np.asarray(sub.geometry.values, dtype=object), area)
    if geom == "Point":
        ok = ~shapely.is_empty(clipped)
        out, rows = clipped[ok], np.flatnonzero(ok)
    else:
        # A clip can leave collections (a line touching the edge gives a point): keep the
        # parts of the layer's type and join them again per feature (Multi* layers).
        if geom == "Polygon":
            clipped = shapely.make_valid(clipped)
        parts, idx = shapely.get_parts(clipped, return_index=True)
        want = shapely.get_type_id(parts) == (3 if geom == "Polygon" else 1)
        parts, idx = parts[want], idx[want]
        if not len(parts):
            return None
        build = shapely.multipolygons if geom == "Polygon" else shapely.multilinestrings
        rows = np.unique(idx)
        out = np.asarray(build(parts, indices=np.searchsorted(rows, idx)), dtype=object)
    if not len(rows):
        return None
    data = {c: sub[c].astype(str).to_numpy()[rows] for c in columns if c in sub}
    return gpd.GeoDataFrame(data, geometry=gpd.array.from_shapely(out, crs=crs), crs=crs)


def _basemap_layer(basemap: Path, out_dir: Path) -> tuple[_Layer, Path]:
    import rasterio
    from rasterio.errors import RasterioIOError

    src = source_label(basemap)
    if not basemap.is_file():
        raise ValidationError([Problem(src, "", "", f"basemap file not found: {basemap}",
                                       "give the path of an MBTiles, GeoTIFF or GeoPackage "
                                       "raster")])
    try:
        with rasterio.open(basemap) as ds:
            bcrs, b = ds.crs, tuple(float(v) for v in ds.bounds)
    except RasterioIOError as exc:
        raise ValidationError([Problem(src, "", "", f"not a raster GDAL can open ({exc})",
                                       "give an MBTiles, GeoTIFF or GeoPackage raster")]
                              ) from exc
    if bcrs is None:
        raise ValidationError([Problem(src, "", "crs", "the basemap has no CRS",
                                       "georeference it (gdal_translate -a_srs ...)")])
    target = out_dir / "basemap" / basemap.name
    target.parent.mkdir(exist_ok=True)
    shutil.copy2(basemap, target)
    lay = _Layer("basemap", "Bakgrundskarta", "raster", f"./basemap/{basemap.name}",
                 (b[0], b[1], b[2], b[3]), CRS.from_user_input(bcrs))
    return lay, target


def write_field_kit(walk: Walk, out_dir: str | Path, crs: CRS | str, *,
                    segments: gpd.GeoDataFrame | None = None,
                    luminaires: gpd.GeoDataFrame | None = None,
                    categories: Sequence[Category] = CATEGORIES,
                    basemap: str | Path | None = None,
                    background: Basemap | None = None) -> FieldKit:
    """Write the QField project and GeoPackage for *walk* into *out_dir*.

    Parameters
    ----------
    walk : Walk
        A walk from the store (:meth:`walks.store.FindingStore.get_walk`) with a route and/or
        stops, in *crs*.
    out_dir : path
        Folder to write (created; files of an earlier kit for the same walk are replaced,
        photos already in ``DCIM/`` are kept).
    crs : CRS or str
        The profile's metric CRS (e.g. ``"EPSG:3007"``); every layer and the project use it.
    segments : GeoDataFrame, optional
        Ranked segments (:attr:`gis.ranking.RankingResult.segments`), same CRS; clipped to
        :data:`BACKGROUND_BUFFER_M` around the route.
    luminaires : GeoDataFrame, optional
        The luminaire layer, same CRS; clipped the same way.
    categories : sequence of Category
        Categories for the form's value maps (active ones) and its checklist.
    basemap : path, optional
        Offline basemap raster to copy into the kit (see the module docstring).
    background : Basemap, optional
        The offline vector basemap of the profile's OSM file
        (:func:`layers.basemap.read_basemap`), same CRS: streets with their names, places,
        buildings, water and land use within :data:`BASEMAP_BUFFER_M` of the route go into
        the GeoPackage as read-only layers under the walk's (:data:`BACKGROUND_LAYERS`).

    Returns
    -------
    FieldKit

    Raises
    ------
    ValidationError
        When the walk has neither a route nor stops, a layer is in another CRS, or the
        basemap cannot be read.
    """
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValidationError([Problem(f"walk {walk.id!r}", "", "crs",
                                       f"{crs.to_string()} is not a metric CRS",
                                       "use the profile's CRS, e.g. EPSG:3007")])
    if walk.route is None and not walk.stops:
        raise ValidationError([Problem(
            f"walk {walk.id!r}", "", "route", "the walk has neither a route nor stops",
            "plan the walk first (trygga walks plan) or add its route")])
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    slug = kit_slug(walk.id)
    gpkg = out / f"{slug}.gpkg"
    for old in out.glob(f"{slug}.gpkg*"):  # -wal/-shm of an earlier kit too
        old.unlink()
    dcim = out / "DCIM"
    dcim.mkdir(exist_ok=True)

    route, stops = _route_and_stops(walk, crs)
    core = shapely.union_all([g for g in [walk.route, *(s.point for s in walk.stops)]
                              if g is not None])
    area = shapely.buffer(core, BACKGROUND_BUFFER_M)
    segs = _background(segments, area, "segment_id", SEGMENT_FIELDS, crs)
    lums = _background(luminaires, area, "luminaire_id", LUMINAIRE_FIELDS, crs)
    findings = empty_findings_layer(crs)

    counts: dict[str, int] = {}
    layers: list[_Layer] = []
    bounds = tuple(float(v) for v in shapely.bounds(shapely.buffer(core, 100.0)))
    assert len(bounds) == 4
    frames: list[tuple[str, str, str, gpd.GeoDataFrame | None, bool]] = [
        (FINDINGS_LAYER, "Fynd", "Point", findings, False),
        (STOPS_LAYER, "Stopp", "Point", stops if len(stops) else None, True),
        (ROUTE_LAYER, "Rutt", "Line", route if walk.route is not None else None, True),
        (LUMINAIRES_LAYER, "Armaturer", "Point", lums, True),
        (SEGMENTS_LAYER, "Belysning (segment)", "Line", segs, True),
    ]
    for name, title, geom, frame, read_only in frames:
        if frame is None:
            continue
        pyogrio.write_dataframe(frame, gpkg, layer=name, driver="GPKG",
                                geometry_type="Point" if geom == "Point" else "LineString",
                                dataset_options={"VERSION": GPKG_VERSION})
        counts[name] = len(frame)
        layer_bounds = (tuple(float(v) for v in frame.total_bounds) if len(frame)
                        else bounds)
        layers.append(_Layer(name, title, geom, f"./{gpkg.name}|layername={name}",
                             layer_bounds, crs, read_only=read_only))  # type: ignore[arg-type]
    if background is not None:
        near = shapely.buffer(core, BASEMAP_BUFFER_M)
        for name, title, geom, attr, cols in BACKGROUND_LAYERS:
            frame = _background_frame(getattr(background, attr), near, geom, cols, crs)
            if frame is None:
                continue
            pyogrio.write_dataframe(frame, gpkg, layer=name, driver="GPKG",
                                    geometry_type={"Point": "Point", "Line": "MultiLineString",
                                                   "Polygon": "MultiPolygon"}[geom],
                                    dataset_options={"VERSION": GPKG_VERSION})
            counts[name] = len(frame)
            layers.append(_Layer(name, title, geom, f"./{gpkg.name}|layername={name}",
                                 tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                                 crs))
    base_path = None
    if basemap is not None:
        base_layer, base_path = _basemap_layer(Path(basemap), out)
        layers.append(base_layer)
    project = out / f"{slug}.qgs"
    project.write_bytes(_project_xml(walk, layers, crs, bounds,  # type: ignore[arg-type]
                                     categories))
    logger.info("field kit for walk %s: %s (%s)", walk.id, project, counts)
    return FieldKit(project=project, geopackage=gpkg, dcim=dcim, basemap=base_path,
                    layers=counts)

