"""Findings from spatial files: QField GeoPackage, Survey123 Shapefile, GeoJSON.

* **QField GeoPackage**: the project's point layer (``fid``, geometry, fields such as
  ``kategori``/``category``, ``beskrivning``, ``allvarlighet``, ``foto``, ``tidpunkt``),
  in any CRS the file declares (EPSG:3006/3007/4326 ...). Photo fields hold paths relative
  to the project folder, e.g. ``DCIM/img_20241015_180200.jpg``; they are resolved against
  the GeoPackage's folder. Source id = a ``uuid``/``globalid`` field when present (stable
  when the project is re-packaged), else the ``fid``. When the file has several point
  layers, the one with finding-like fields is read (a warning names the others).
* **Survey123 Shapefile** export (``.shp`` with ``.prj``, or the downloaded ``.zip``):
  10-character field names (``globalid``, ``CreationDa``, ``Creator`` ...). Source id =
  ``globalid`` (braces stripped, lower case), else ``objectid``, else the feature number.
* **GeoJSON**: our own shape (``id``, ``walk_id``, ``created``, ``category``,
  ``severity``, ``description``, ``internal_note``, as written by the demo generator) and
  generic files with Swedish or English property names. Parsed with :mod:`json` so the
  feature-level ``id`` and list-valued properties (photos) survive; a legacy ``crs``
  member is honoured, otherwise the coordinates are WGS 84 lon/lat (RFC 7946).

Row labels are feature numbers (from 1), in file order.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.io import unreadable_vector
from layers.lighting import _WGS84
from layers.profile import Limits
from walks.importers._funnel import (
    RawFinding,
    RawTable,
    clean_text,
    match_fields,
    norm_key,
    personal_warning,
    split_photo_refs,
)
from walks.importers.limits import DEFAULT_LIMITS, over_limit
from walks.importers.tabular import load_json

logger = logging.getLogger(__name__)

#: Non-public flag fields (after :func:`norm_key`) of QField GeoPackages.
_NON_PUBLIC_KEYS = ("ejpublik", "nonpublic", "notpublic", "ejoffentlig")
#: Checklist-question fields of QField GeoPackages.
_CHECKLIST_KEYS = ("checklista", "checklist")

_FINDING_KEYS = {"kategori", "category", "beskrivning", "description", "allvarlighetsgrad",
                 "allvarlighet", "severity", "foto", "photo"}


def _point_xy(geom: object) -> tuple[float, float, str]:
    """(x, y, "") for a (single-part multi)point; (nan, nan, type name) otherwise."""
    if not isinstance(geom, shapely.Geometry) or shapely.is_empty(geom):
        return math.nan, math.nan, ""
    if shapely.get_type_id(geom) == 4 and shapely.get_num_geometries(geom) == 1:
        geom = shapely.get_geometry(geom, 0)
    if shapely.get_type_id(geom) != 0:
        return math.nan, math.nan, str(getattr(geom, "geom_type", "geometry"))
    return float(shapely.get_x(geom)), float(shapely.get_y(geom)), ""


def _is_true(value: object) -> bool:
    """A GeoPackage Boolean (True/1) or the text true/ja/yes/1; anything else is False."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return not math.isnan(float(value)) and float(value) != 0.0
    return clean_text(value)[0].casefold() in ("true", "1", "ja", "yes", "sant")


def _not_point(src: str, row: str, kind: str) -> Problem:
    return Problem(src, row, "geometry", f"the geometry is a {kind}, not a point",
                   "mark each finding as a point; split lines and areas into points")


def _choose_layer(path: Path, src: str) -> tuple[str | None, list[str]]:
    """The layer to read and a warning about other point layers."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # DataSourceError and friends
        raise ValidationError([unreadable_vector(path, exc)]) from exc
    if len(layers) <= 1:
        return (str(layers[0][0]) if len(layers) else None), []
    points = [str(name) for name, gtype in layers if str(gtype).lstrip("3D ").startswith(
        ("Point", "MultiPoint"))]
    if not points:
        return str(layers[0][0]), []
    scored = []
    for name in points:
        info = pyogrio.read_info(path, layer=name)
        keys = {norm_key(f) for f in info["fields"]}
        scored.append((len(keys & _FINDING_KEYS), info["features"] > 0, name))
    best = max(scored, key=lambda s: (s[0], s[1]))[2]
    others = [n for n in points if n != best]
    warn = [f"read the layer '{best}'; other point layers were ignored: "
            f"{', '.join(repr(o) for o in others)}"] if others else []
    return best, warn


def check_row_count(n: int, src: str, limits: Limits, what: str) -> None:
    """Refuse more than ``rows_per_import`` features/entries (before they are read)."""
    if n > limits.rows_per_import:
        raise ValidationError([over_limit(
            src, f"the file has {n:,} {what}".replace(",", " "), limits.rows_per_import,
            "rows_per_import", "rows per import")])


def read_vector_findings(path: Path, target: CRS, fmt: str,
                         limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """QField GeoPackage (*fmt* ``"qfield"``) or Shapefile/zip (Survey123 when it looks so)."""
    src = source_label(path)
    if path.stat().st_size == 0:
        raise ValidationError([Problem(src, "", "", "the file is empty (0 bytes)",
                                       "export the findings again from the source program")])
    layer, warnings = _choose_layer(path, src)
    try:
        n_features = int(pyogrio.read_info(path, layer=layer)["features"])
    except Exception as exc:  # DataSourceError and friends
        raise ValidationError([unreadable_vector(path, exc)]) from exc
    check_row_count(n_features, src, limits, "features")
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True, use_arrow=False)
    except Exception as exc:  # DataSourceError and friends
        raise ValidationError([unreadable_vector(path, exc)]) from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ValidationError([Problem(src, "", "geometry", "the layer has no geometry",
                                       "export the findings as a point layer")])
    if not len(gdf):
        raise ValidationError([Problem(src, "", "", "the file has no features",
                                       "check that the right layer was exported")])
    if gdf.crs is None:
        raise ValidationError([Problem(
            src, "", "", "the file has no coordinate reference system (CRS)",
            "add a CRS (for a Shapefile, the .prj file next to it; in QGIS: Layer > Set CRS "
            "and export again)")])
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    keys = {norm_key(c) for c in columns}
    if fmt != "qfield":
        fmt = "survey123" if keys & {"globalid", "creationda", "creationdate"} else "shapefile"
    flag_col = check_col = None
    if fmt == "qfield":
        flag_col = next((c for c in columns if norm_key(c) in _NON_PUBLIC_KEYS), None)
        check_col = next((c for c in columns if norm_key(c) in _CHECKLIST_KEYS), None)
    fields, photo_cols, personal = match_fields(
        columns, skip=[c for c in (flag_col, check_col) if c is not None])
    warnings += personal_warning(personal)
    id_col = fields.get("source_id")
    rows = [str(i + 1) for i in range(len(gdf))]
    problems: list[Problem] = []
    found = []
    fids = [str(f) for f in gdf.index]
    for pos, (row, (_, rec)) in enumerate(zip(rows, gdf.iterrows(), strict=True)):
        x, y, kind = _point_xy(rec.geometry)
        if kind:
            problems.append(_not_point(src, row, kind))
        if id_col is not None:
            sid = clean_text(rec[id_col])[0]
            if norm_key(id_col) in ("globalid", "uuid"):
                sid = sid.strip("{}").lower()
            id_field = id_col
        else:
            sid, id_field = fids[pos], "fid"

        def get(f: str, rec: pd.Series = rec) -> object:
            col = fields.get(f)
            return rec[col] if col is not None else None
        photos = [ref for c in photo_cols for ref in split_photo_refs(rec[c])]
        note = get("internal_note")
        question = clean_text(rec[check_col])[0] if check_col is not None else ""
        if question:
            text = clean_text(note)[0]
            note = f"{text}\nChecklista: {question}" if text else f"Checklista: {question}"
        found.append(RawFinding(
            row=row, source_id=sid, id_field=id_field, category=get("category"),
            severity=get("severity"), description=get("description"),
            internal_note=note, created=get("created"), photos=photos,
            photo_field=photo_cols[0] if photo_cols else "photo", walk_id=get("walk_id"),
            luminaire_id=get("luminaire_id"),
            x=x, y=y, non_public=flag_col is not None and _is_true(rec[flag_col])))
    file_crs = CRS.from_user_input(gdf.crs)
    return RawTable(path=path, format=fmt, rows=found, crs_candidates=[file_crs],
                    coord_names=("lon", "lat") if file_crs.is_geographic else ("x", "y"),
                    field_names=fields, problems=problems, warnings=warnings)


def _geojson_crs(obj: dict[str, object], src: str) -> CRS:
    member = obj.get("crs")
    if not isinstance(member, dict):
        return _WGS84
    props = member.get("properties")
    name = props.get("name") if isinstance(props, dict) else None
    try:
        crs = CRS.from_user_input(str(name))
    except Exception as exc:  # pyproj CRSError
        raise ValidationError([Problem(src, "", "crs", f"unknown CRS {name!r}",
                                       "remove the crs member and write WGS 84 lon/lat, as "
                                       "RFC 7946 requires")]) from exc
    # "urn:ogc:def:crs:EPSG::4326" is lat/lon in the registry but lon/lat in GeoJSON files
    return _WGS84 if crs.to_epsg() == 4326 else crs


def read_geojson_findings(path: Path, target: CRS, limits: Limits = DEFAULT_LIMITS,
                          obj: object = None) -> RawTable:
    """A GeoJSON FeatureCollection (or single Feature) of points (*obj*: already parsed)."""
    src = source_label(path)
    if obj is None:
        obj = load_json(path)
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = {"type": "FeatureCollection", "features": [obj], "crs": obj.get("crs")}
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(
            obj.get("features"), list):
        raise ValidationError([Problem(src, "", "", "not a GeoJSON FeatureCollection",
                                       "export the findings as GeoJSON points")])
    features = [f for f in obj["features"] if isinstance(f, dict)]
    check_row_count(len(features), src, limits, "features")
    if not features:
        raise ValidationError([Problem(src, "", "", "the file has no features",
                                       "check that the right layer was exported")])
    crs = _geojson_crs(obj, src)
    columns: list[str] = list(dict.fromkeys(
        str(k) for f in features if isinstance(f.get("properties"), dict)
        for k in f["properties"]))
    fields, photo_cols, personal = match_fields(columns)
    warnings = personal_warning(personal)
    problems: list[Problem] = []
    found = []
    for i, feat in enumerate(features):
        row = str(i + 1)
        props = feat.get("properties") if isinstance(feat.get("properties"), dict) else {}
        assert isinstance(props, dict)
        x, y, kind = _geojson_point(feat.get("geometry"))
        if kind:
            problems.append(_not_point(src, row, kind))
        if feat.get("id") not in (None, ""):
            sid, id_field = clean_text(feat["id"])[0], "id"
        elif "source_id" in fields:
            sid, id_field = clean_text(props.get(fields["source_id"]))[0], fields["source_id"]
        else:
            sid, id_field = f"feature-{row}", "id"

        def get(f: str, props: dict[str, object] = props) -> object:
            col = fields.get(f)
            return props.get(col) if col is not None else None
        photos = [ref for c in photo_cols for ref in split_photo_refs(props.get(c))]
        found.append(RawFinding(
            row=row, source_id=sid, id_field=id_field, category=get("category"),
            severity=get("severity"), description=get("description"),
            internal_note=get("internal_note"), created=get("created"), photos=photos,
            photo_field=photo_cols[0] if photo_cols else "photo", walk_id=get("walk_id"),
            luminaire_id=get("luminaire_id"),
            x=x, y=y))
    names = ("lon", "lat") if crs.is_geographic else ("x", "y")
    return RawTable(path=path, format="geojson", rows=found, crs_candidates=[crs],
                    coord_names=names, field_names=fields, problems=problems,
                    warnings=warnings)


def _geojson_point(geometry: object) -> tuple[float, float, str]:
    if not isinstance(geometry, dict):
        return math.nan, math.nan, ""
    gtype = geometry.get("type")
    coords = geometry.get("coordinates")
    if gtype == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        gtype, coords = "Point", coords[0]
    if gtype != "Point":
        return math.nan, math.nan, str(gtype)
    if not isinstance(coords, list) or len(coords) < 2:
        return math.nan, math.nan, ""
    try:
        x, y = float(coords[0]), float(coords[1])
    except (TypeError, ValueError):
        return math.nan, math.nan, ""
    ok = np.isfinite([x, y]).all()
    return (x, y, "") if ok else (math.nan, math.nan, "")
