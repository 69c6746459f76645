"""Findings from tables: our CSV template, Survey123 CSV, Epicollect5 CSV and JSON.

* **Our template** (``data/templates/fynd_mall.csv``): the Swedish Excel dialect,
  ``id;kategori;allvarlighetsgrad;beskrivning;intern_anteckning;datum;lat;lon`` (or ``E;N``
  in SWEREF 99 12 00 instead of ``lat;lon``), semicolons, decimal commas, cp1252 or UTF-8
  with BOM. Any CSV with recognisable column names (Swedish or English, see
  :data:`walks.importers._funnel.FIELD_SYNONYMS`) and a coordinate pair (``lat/lon``,
  ``E/N``, ``x/y``, optionally with the CRS in the header like ``N (SWEREF 99 12 00)``)
  reads the same way. Without an id column the row number is the source id.
* **Survey123** website export (CSV): ``ObjectID, GlobalID, <questions>, CreationDate,
  Creator, EditDate, Editor, x, y``; x/y in WGS 84 (or Web Mercator), dates like
  ``10/15/2024 4:02:00 PM`` in UTC. Source id = GlobalID (braces stripped, lower case),
  else ObjectID. ``Creator``/``Editor`` hold user names and are never read.
* **Epicollect5** CSV (web download or API ``format=csv``): ``ec5_uuid, created_at,
  uploaded_at, [created_by,] title, 1_<question>, ..., lat_<n>_<q>, long_<n>_<q>,
  accuracy_<n>_<q>, UTM_*``; ``created_at`` in UTC. JSON: ``{"data": [entry, ...]}`` (web
  download) or ``{"data": {"entries": [...]}}`` (API), the location question as an object
  ``{"latitude", "longitude", "accuracy", "UTM_*"}``. Photo answers are file names (private
  projects: resolved next to the file) or media URLs (public projects: noted, not
  downloaded). ``created_by`` (an e-mail address) is never read.

Row labels are spreadsheet rows (header = row 1) for CSV and entry numbers (from 1) for JSON.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.lighting import (  # shared CSV/coordinate helpers (private there, reused here)
    _COORD_KEYS,
    _WGS84,
    _as_text,
    _candidate_crs,
    _crs_from_header,
    _norm_header,
    _parse_numbers,
    read_delimited,
)
from layers.profile import Limits
from walks.importers._funnel import (
    RawFinding,
    RawTable,
    match_fields,
    norm_key,
    personal_warning,
    split_photo_refs,
)
from walks.importers.limits import DEFAULT_LIMITS, check_csv_rows, over_limit

logger = logging.getLogger(__name__)

_WEB_MERCATOR = CRS.from_epsg(3857)
_EC5_LAT = re.compile(r"^lat_(.+)$", re.IGNORECASE)
_EC5_SKIP = re.compile(r"^(accuracy|acc|utm_northing|utm_easting|utm_zone)_", re.IGNORECASE)
_EC5_META = ("ec5_uuid", "ec5_parent_uuid", "ec5_branch_uuid", "ec5_branch_owner_uuid",
             "parent_entry_uuid", "uploaded_at", "created_by")

#: Header of our CSV template, in order (``E;N`` may replace ``lat;lon``).
TEMPLATE_COLUMNS = ("id", "kategori", "allvarlighetsgrad", "beskrivning", "intern_anteckning",
                    "datum", "lat", "lon")


def read_text_table(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """A delimited text file as text cells, with spreadsheet row numbers.

    UTF-16/UTF-8 (with or without BOM) or cp1252; ``;``, tab or ``,`` delimited (the
    detection of :mod:`layers.lighting`).

    Raises
    ------
    ValidationError
        Empty, binary/corrupt or undelimited file.
    """
    src = source_label(path)
    df, rows = read_delimited(
        path, src, what="the findings", other_types=".gpkg, .geojson, .gpx, .kml ...",
        delimiter_fix="separate the columns with semicolons (the template), commas or tabs")
    if not len(df):
        raise ValidationError([Problem(src, "", "", "the file has no data rows",
                                       "fill in one finding per row below the header")])
    return df, rows


def _coordinate_pair(columns: list[str]) -> tuple[str, str, str] | None:
    """(x column, y column, family) from the lighting module's coordinate names."""
    families = ("EN", "xy", "lonlat")
    for (xkeys, ykeys), family in zip(_COORD_KEYS, families, strict=True):
        xs = [c for c in columns if _norm_header(c) in xkeys]
        ys = [c for c in columns if _norm_header(c) in ykeys]
        if xs and ys:
            return xs[0], ys[0], family
    return None


def _parse_coordinates(df: pd.DataFrame, rows: list[str], xcol: str, ycol: str, src: str,
                       problems: list[Problem]) -> tuple[np.ndarray, np.ndarray]:
    """Coordinate columns as floats (decimal commas allowed); bad text is a problem."""
    x, bad_x, tx = _parse_numbers(df[xcol], "°|m")
    y, bad_y, ty = _parse_numbers(df[ycol], "°|m")
    for col, bad, t in ((xcol, bad_x, tx), (ycol, bad_y, ty)):
        for pos in np.flatnonzero(bad):
            shown = t.iloc[pos] if t is not None else ""
            problems.append(Problem(src, rows[pos], col, f"'{shown}' is not a coordinate",
                                    "write the coordinate as a number, e.g. 58,9413 or "
                                    "6536426,6"))
    bad = bad_x | bad_y
    partial = np.isfinite(x) != np.isfinite(y)
    for pos in np.flatnonzero(partial & ~bad):
        problems.append(Problem(src, rows[pos], f"{ycol}/{xcol}",
                                f"only one of '{ycol}'/'{xcol}' is filled in",
                                "fill in both coordinates"))
    x = np.where(bad | partial, np.nan, x)
    y = np.where(bad | partial, np.nan, y)
    return x, y


def _clean_guid(value: str) -> str:
    return value.strip().strip("{}").lower()


def _rows_from_frame(df: pd.DataFrame, rows: list[str], path: Path, fmt: str,
                     x: np.ndarray, y: np.ndarray, skip: list[str],
                     id_column: str | None = None,
                     ) -> tuple[list[RawFinding], list[str], dict[str, str]]:
    """RawFindings from a table whose columns are matched by synonym."""
    columns = [str(c) for c in df.columns]
    fields, photo_cols, personal = match_fields(columns, skip=skip)
    id_col = id_column or fields.get("source_id")
    warnings = personal_warning(personal)
    if id_col is None:
        warnings.append(f"{source_label(path)}: no id column; the row numbers are used as "
                        "source ids, so re-importing an edited file may duplicate findings")
    text = {c: _as_text(df[c]) for c in columns}
    title = next((c for c in columns if c.lower() == "title"), None)
    out = []
    for pos, row in enumerate(rows):
        def cell(f: str, pos: int = pos) -> str:
            col = fields.get(f)
            return text[col].iloc[pos] if col is not None else ""
        if id_col is None:
            sid = f"row-{row}"
        else:
            sid = text[id_col].iloc[pos]
            if norm_key(id_col) in ("globalid", "ec5uuid", "uuid"):
                sid = _clean_guid(sid)
        description = cell("description")
        if not description and title is not None:
            description = text[title].iloc[pos]
        photos = [ref for c in photo_cols for ref in split_photo_refs(text[c].iloc[pos])]
        out.append(RawFinding(
            row=row, source_id=sid, id_field=id_col or "", category=cell("category"),
            severity=cell("severity"), description=description,
            internal_note=cell("internal_note"), created=cell("created"), photos=photos,
            photo_field=photo_cols[0] if photo_cols else "photo", walk_id=cell("walk_id"),
            luminaire_id=cell("luminaire_id"),
            x=float(x[pos]), y=float(y[pos])))
    return out, warnings, fields


def _norm_set(columns: list[str]) -> set[str]:
    return {norm_key(c) for c in columns}


def read_csv_findings(path: Path, target: CRS, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Any CSV of findings: Epicollect5, Survey123 or our template (by its columns).

    Files with more rows than ``limits.rows_per_import`` are refused while counting, before
    they are parsed."""
    check_csv_rows(path, source_label(path), limits)
    df, rows = read_text_table(path)
    columns = [str(c) for c in df.columns]
    keys = _norm_set(columns)
    if "ec5uuid" in keys:
        return _epicollect5_table(df, rows, path, target)
    if "globalid" in keys and ("creationdate" in keys or "objectid" in keys):
        return _survey123_table(df, rows, path, target)
    return _template_table(df, rows, path, target)


def _template_table(df: pd.DataFrame, rows: list[str], path: Path, target: CRS) -> RawTable:
    src = source_label(path)
    columns = [str(c) for c in df.columns]
    pair = _coordinate_pair(columns)
    if pair is None:
        raise ValidationError([Problem(
            src, "1", "", f"no coordinate columns (columns found: "
            f"{', '.join(repr(c) for c in columns)})",
            "use the template's columns lat;lon (WGS 84) or E;N (SWEREF 99 12 00): "
            + ";".join(TEMPLATE_COLUMNS))])
    xcol, ycol, family = pair
    problems: list[Problem] = []
    x, y = _parse_coordinates(df, rows, xcol, ycol, src, problems)
    hints = {h for h in (_crs_from_header(xcol), _crs_from_header(ycol)) if h}
    if len(hints) == 1:
        candidates = [CRS.from_user_input(hints.pop())]
    elif family == "lonlat":
        candidates = [_WGS84]
    else:
        candidates = [c for c in _candidate_crs(None, target) if family == "xy" or c != _WGS84]
    found, warnings, fields = _rows_from_frame(df, rows, path, "csv", x, y, [xcol, ycol])
    coord_field = f"{ycol}/{xcol}" if family == "lonlat" else f"{xcol}/{ycol}"
    return RawTable(path=path, format="csv", rows=found, crs_candidates=candidates,
                    coord_field=coord_field, coord_names=(xcol, ycol), field_names=fields,
                    problems=problems, warnings=warnings)


def _survey123_table(df: pd.DataFrame, rows: list[str], path: Path, target: CRS) -> RawTable:
    src = source_label(path)
    columns = [str(c) for c in df.columns]
    xcol = next((c for c in columns if norm_key(c) == "x"), None)
    ycol = next((c for c in columns if norm_key(c) == "y"), None)
    problems: list[Problem] = []
    if xcol is None or ycol is None:
        pair = _coordinate_pair(columns)
        if pair is None:
            raise ValidationError([Problem(
                src, "1", "", "the Survey123 export has no x/y columns",
                "export again with the location (Survey123 website: Data > Export > CSV)")])
        xcol, ycol, _ = pair
    x, y = _parse_coordinates(df, rows, xcol, ycol, src, problems)
    id_col = next((c for c in columns if norm_key(c) == "globalid"), None) or next(
        (c for c in columns if norm_key(c) == "objectid"), None)
    found, warnings, fields = _rows_from_frame(df, rows, path, "survey123", x, y,
                                       [xcol, ycol, "EditDate"], id_column=id_col)
    return RawTable(path=path, format="survey123", rows=found,
                    crs_candidates=[_WGS84, _WEB_MERCATOR], coord_field=f"{xcol}/{ycol}",
                    coord_names=(xcol, ycol), field_names=fields,
                    naive_tz="UTC", us_dates=True, problems=problems, warnings=warnings)


def _epicollect5_table(df: pd.DataFrame, rows: list[str], path: Path, target: CRS,
                       src_label: str | None = None) -> RawTable:
    src = src_label or source_label(path)
    columns = [str(c) for c in df.columns]
    pairs = []
    for c in columns:
        if m := _EC5_LAT.match(c):
            lon = next((d for d in columns if d.lower() == f"long_{m.group(1)}".lower()), None)
            if lon is not None:
                pairs.append((lon, c))
    problems: list[Problem] = []
    warnings: list[str] = []
    if not pairs:
        raise ValidationError([Problem(
            src, "", "", "the Epicollect5 export has no location question (no lat_…/long_… "
            "columns)", "add a location question to the form, or export the form that has it")])
    if len(pairs) > 1:
        warnings.append(f"several location questions ({', '.join(p[1] for p in pairs)}); "
                        f"used the first, {pairs[0][1]}/{pairs[0][0]}")
    xcol, ycol = pairs[0]
    x, y = _parse_coordinates(df, rows, xcol, ycol, src, problems)
    skip = [c for c in columns if _EC5_SKIP.match(c) or c.lower() in _EC5_META
            or _EC5_LAT.match(c) or c.lower().startswith("long_")]
    skip = [c for c in skip if c.lower() != "created_by"]  # personal: reported, not skipped
    found, more, fields = _rows_from_frame(df, rows, path, "epicollect5", x, y, skip,
                                   id_column=next(c for c in columns
                                                  if c.lower() == "ec5_uuid"))
    return RawTable(path=path, format="epicollect5", rows=found, crs_candidates=[_WGS84],
                    coord_field=f"{ycol}/{xcol}", coord_names=(xcol, ycol), field_names=fields,
                    naive_tz="UTC", problems=problems,
                    warnings=warnings + more)


def load_json(path: Path) -> object:
    """Parse a JSON file, turning errors into a :class:`ValidationError`."""
    src = source_label(path)
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError([Problem(src, "", "", "the file is empty",
                                       "export the findings again from the source program")])
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem(src, "", "", "the file is not UTF-8 text",
                                       "export the file again as JSON")]) from exc
    except json.JSONDecodeError as exc:
        raise ValidationError([Problem(
            src, "", "", f"not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})", "export the file again; it may have been cut off")]) from exc


def epicollect5_entries(obj: object) -> list[dict[str, object]] | None:
    """The entries of an Epicollect5 JSON export (web download or API), or None."""
    if not isinstance(obj, dict):
        return None
    data = obj.get("data")
    if isinstance(data, dict):
        data = data.get("entries")
    if isinstance(data, list) and all(isinstance(e, dict) for e in data) and (
            not data or any("ec5_uuid" in e for e in data)):
        return data
    return None


def read_epicollect5_json(path: Path, target: CRS, limits: Limits = DEFAULT_LIMITS,
                         obj: object = None) -> RawTable:
    """Epicollect5 JSON: entries flattened to the CSV export's columns, then read alike
    (*obj*: the file already parsed)."""
    src = source_label(path)
    entries = epicollect5_entries(load_json(path) if obj is None else obj)
    if entries is None:
        raise ValidationError([Problem(
            src, "", "", "not an Epicollect5 export (no \"data\" list of entries with "
            "\"ec5_uuid\") and not GeoJSON", "export the project's entries as JSON from "
            "Epicollect5, or save GeoJSON as .geojson")])
    if not entries:
        raise ValidationError([Problem(src, "", "", "the file has no entries",
                                       "check that the right form was exported")])
    if len(entries) > limits.rows_per_import:
        raise ValidationError([over_limit(
            src, f"the file has {len(entries):,} entries".replace(",", " "),
            limits.rows_per_import, "rows_per_import", "rows per import")])
    flat: list[dict[str, object]] = []
    for entry in entries:
        out: dict[str, object] = {}
        for key, value in entry.items():
            if isinstance(value, dict) and {"latitude", "longitude"} <= set(value):
                out[f"lat_{key}"] = value.get("latitude")
                out[f"long_{key}"] = value.get("longitude")
            elif isinstance(value, list):
                out[key] = "; ".join(str(v) for v in value)
            elif not isinstance(value, dict):
                out[key] = value
        flat.append(out)
    df = pd.DataFrame(flat).astype(object)
    df = df.where(df.notna(), "")
    df = df.map(lambda v: v if isinstance(v, str) else (
        "" if v is None else (repr(v) if isinstance(v, float) else str(v))))
    rows = [str(i + 1) for i in range(len(df))]
    return _epicollect5_table(df, rows, path, target)
