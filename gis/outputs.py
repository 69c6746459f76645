"""Writing ranking results: GeoPackage (with QGIS styles), Swedish Excel CSV, XLSX, JSON.

The CSV files follow the Swedish Excel dialect: UTF-8 with BOM, semicolon, decimal comma,
so that a double click opens them correctly in Excel with Swedish settings.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Colours per lighting status, used by the QGIS style, the app and the reports.
STATUS_COLOURS = {
    "unlit": "#1f1f1f", "underlit": "#d7301f", "lit_old_technology": "#fc8d59",
    "ok": "#fdd835", "unknown": "#9e9e9e",
}
STATUS_LABELS_SV = {
    "unlit": "Obelyst", "underlit": "Underbelyst", "lit_old_technology": "Gammal teknik (Hg/HPS)",
    "ok": "Tillräckligt belyst", "unknown": "Okänd",
}
#: Swedish labels of ``lux_basis`` (what a segment's light level rests on) and of the LED
#: plan's ``wattage_basis``, for the XLSX.
BASIS_LABELS_SV = {
    "inventory": "Registret", "defaults": "Standardvärden", "osm_lit_only": "Bara OSM lit",
    "default": "Antagen (saknas i registret)",
}


def table_for_excel(gdf: gpd.GeoDataFrame | pd.DataFrame) -> pd.DataFrame:
    """Attributes without geometry, plus the midpoint/point as ``E``/``N`` in the frame's CRS."""
    df = pd.DataFrame(gdf.drop(columns="geometry", errors="ignore")).reset_index()
    if isinstance(gdf, gpd.GeoDataFrame) and len(gdf):
        # Points stay as they are; lines and polygons give a point on their surface/line.
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        is_line = np.isin(shapely.get_type_id(geoms), (1, 5))
        pts = shapely.point_on_surface(geoms)
        pts[is_line] = shapely.line_interpolate_point(geoms[is_line], 0.5, normalized=True)
        xy = shapely.get_coordinates(pts)
        df["E"] = xy[:, 0].round(1)
        df["N"] = xy[:, 1].round(1)
    return df


def _csv_field(text: str) -> str:
    if ";" in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _reprs(values: list[Any], decimal: str = ".") -> list[str]:
    """``[repr(v).replace(".", decimal) for v in values]`` for floats or ints, in one C
    call (``repr`` of the list), split at the list's ``", "`` (no float or int repr holds
    one, nor a space after a decimal comma)."""
    if not values:
        return []
    text = repr(values)[1:-1]
    return (text.replace(".", decimal) if decimal != "." else text).split(", ")


def _csv_texts(col: pd.Series) -> list[str]:
    """One column as Swedish CSV fields: decimal comma, quoted where needed, NaN empty.

    Each distinct value is formatted once (columns repeat values a lot: statuses, classes,
    counts, zero components); floats and plain integers in bulk (:func:`_reprs`: the very
    text of ``repr``).
    """
    if pd.api.types.is_float_dtype(col):
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        # factorize the bit patterns, so that 0.0 and -0.0 stay apart ("0,0" / "-0,0")
        raw_codes, uniques = pd.factorize(values.view(np.int64))
        codes = np.where(np.isnan(values), -1, raw_codes)
        texts = _reprs(np.asarray(uniques).view(np.float64).tolist(), decimal=",")
        table = np.array(texts + [""], dtype=object)
        return table[codes].tolist()  # code -1 (missing) picks the trailing ""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
        return _reprs(col.to_numpy().tolist())
    col_codes, col_uniques = pd.factorize(col, use_na_sentinel=True)
    codes = np.asarray(col_codes)
    texts = [_csv_field(str(v)) for v in np.asarray(col_uniques, dtype=object).tolist()]
    table = np.array(texts + [""], dtype=object)
    return table[codes].tolist()  # code -1 (missing) picks the trailing ""


#: Rows formatted at a time by :func:`write_csv_sv` (bounds the text held in memory).
CSV_CHUNK_ROWS = 100_000


def write_csv_sv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as Swedish Excel CSV: UTF-8 with BOM, ``;``, decimal comma, CRLF.

    The same bytes as ``DataFrame.to_csv(sep=";", decimal=",")``, without pandas' slow
    per-value decimal formatter (the tests compare the two).
    """
    path = Path(path)
    header = ";".join(_csv_texts(pd.Series([str(c) for c in df.columns], dtype=object)))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write(header + "\r\n")
        for start in range(0, len(df), CSV_CHUNK_ROWS):  # bounded memory: rows in chunks
            part = df.iloc[start:start + CSV_CHUNK_ROWS]
            columns = [_csv_texts(part.iloc[:, j]) for j in range(part.shape[1])]
            fh.write("\r\n".join(map(";".join, zip(*columns, strict=True))) + "\r\n")
    return path


#: Columns of the XLSX sheets, with Swedish headers, for people who read rather than compute.
#: The CSV files keep every column.
XLSX_COLUMNS_SV: dict[str, dict[str, str]] = {
    "segments": {
        "rank": "Rang", "segment_id": "Segment", "score": "Poäng",
        "lighting_status": "Status", "lux_basis": "Ljusnivå enligt",
        "reason": "Motivering", "mean_lux": "Medel (lx)",
        "min_lux": "Min (lx)", "target_class": "Klass", "path_type": "Vägtyp",
        "length_m": "Längd (m)", "school_distance_m": "Till skola (m)",
        "nearest_school": "Närmaste skola", "crossing_distance_m": "Till övergångsställe (m)",
        "priority_area": "Prioriterat område", "school_route_count": "Skolvägar",
        "findings_count": "Fynd", "n_out_of_service_30m": "Armaturer ur drift (30 m)",
        "E": "E (m)", "N": "N (m)",
    },
    "work_packages": {
        "rank": "Rang", "rank_per_sek": "Rang per krona", "package_id": "Paket",
        "lighting_status": "Status", "reason": "Motivering", "length_m": "Längd (m)",
        "new_light_points": "Nya ljuspunkter", "cost_sek": "Kostnad (SEK)",
        "energy_kwh_per_year": "Energi (kWh/år)", "expected_class": "Klass efter åtgärd",
        "score": "Poäng", "score_per_msek": "Poäng per MSEK", "E": "E (m)", "N": "N (m)",
    },
    "led_replacements": {
        "priority": "Prioritet", "luminaire_id": "Armatur", "tier": "Grupp",
        "light_source": "Ljuskälla", "reason": "Motivering", "wattage_basis": "Effekt enligt",
        "current_w": "Effekt nu (W)",
        "led_w": "LED (W)", "kwh_saved_per_year": "Sparat (kWh/år)",
        "sek_saved_per_year": "Sparat (SEK/år)", "co2_kg_saved_per_year": "CO2 (kg/år)",
        "payback_years": "Återbetalning (år)", "served_segment": "Segment",
        "E": "E (m)", "N": "N (m)",
    },
}


def write_xlsx(tables: dict[str, tuple[str, pd.DataFrame]], path: str | Path,
               currency: str = "SEK") -> Path:
    """Write tables as sheets of one XLSX workbook with Swedish headers.

    Parameters
    ----------
    tables : dict
        Key of :data:`XLSX_COLUMNS_SV` -> (sheet name, table from :func:`table_for_excel`).
        Columns listed in :data:`XLSX_COLUMNS_SV` are written in that order, renamed;
        tables with other keys are written as they are.
    path : path
        Output ``.xlsx``.
    currency : str, default "SEK"
        The profile's currency; written in the money headers instead of SEK.
    """
    from gis.xlsx import write_sheets

    frames: dict[str, pd.DataFrame] = {}
    widths: dict[str, list[float]] = {}
    wrap: set[str] = set()
    for key, (sheet, df) in tables.items():
        names = XLSX_COLUMNS_SV.get(key, {c: c for c in df.columns})
        if currency != "SEK":
            names = {c: h.replace("SEK", currency) for c, h in names.items()}
        cols = [c for c in names if c in df.columns]
        view = df[cols]
        if "lighting_status" in view:
            view = view.assign(lighting_status=view["lighting_status"].astype(str)
                               .map(STATUS_LABELS_SV).fillna(view["lighting_status"]))
        for col in ("lux_basis", "wattage_basis"):
            if col in view:
                view = view.assign(**{col: view[col].astype(str).map(BASIS_LABELS_SV)
                                      .fillna(view[col].astype(str))})
        frames[sheet] = view.rename(columns=names)
        widths[sheet] = [60 if c == "reason" else max(8, min(30, len(names[c]) + 2))
                              for c in cols]
        wrap.update(names[c] for c in cols if c == "reason")
    return write_sheets(frames, path, widths=widths, wrap=wrap)


def _qml_categorized(field: str, categories: dict[str, tuple[str, str]], geom: str,
                     width: float = 1.2) -> str:
    """Minimal QGIS 3 QML with a categorized renderer; categories: value -> (label, colour)."""
    cats, symbols = [], []
    for i, (value, (label, colour)) in enumerate(categories.items()):
        cats.append(f'<category symbol="{i}" value={quoteattr(value)} label={quoteattr(label)} '
                    'render="true"/>')
        if geom == "line":
            layer = (f'<layer class="SimpleLine" enabled="1" locked="0" pass="0">'
                     f'<Option type="Map"><Option name="line_color" type="QString" '
                     f'value="{_rgba(colour)}"/><Option name="line_width" type="QString" '
                     f'value="{width}"/><Option name="line_width_unit" type="QString" '
                     f'value="MM"/><Option name="capstyle" type="QString" value="round"/>'
                     f'</Option></layer>')
            kind = "line"
        else:
            layer = (f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">'
                     f'<Option type="Map"><Option name="color" type="QString" '
                     f'value="{_rgba(colour)}"/><Option name="size" type="QString" value="2"/>'
                     f'<Option name="name" type="QString" value="circle"/></Option></layer>')
            kind = "marker"
        symbols.append(f'<symbol name="{i}" type="{kind}" alpha="1" clip_to_extent="1" '
                       f'force_rhr="0">{layer}</symbol>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            '<qgis version="3.28.0" styleCategories="Symbology">'
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} '
            'symbollevels="0" enableorderby="0" forceraster="0">'
            f'<categories>{"".join(cats)}</categories><symbols>{"".join(symbols)}</symbols>'
            '</renderer-v2></qgis>')


def _rgba(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},255"


def embed_qgis_styles(gpkg: str | Path, styles: dict[str, tuple[str, str]]) -> None:
    """Store default QGIS styles in the GeoPackage's ``layer_styles`` table.

    Parameters
    ----------
    gpkg : path
        An existing GeoPackage.
    styles : dict
        Layer name -> (style name, QML text). QGIS applies them when the layer is opened.
    """
    con = sqlite3.connect(gpkg)
    try:
        con.execute("""CREATE TABLE IF NOT EXISTS layer_styles (
            id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
            f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256),
            styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN,
            description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME DEFAULT
            (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")
        for table, (name, qml) in styles.items():
            con.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (table,))
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, "
                        "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                        "useAsDefault, description, owner) VALUES ('', '', ?, 'geom', ?, ?, '',"
                        " 1, ?, 'trygga-strak')", (table, name, qml, escape(name)))
        con.commit()
    finally:
        con.close()


#: Write GeoPackage layers through pyogrio's Arrow path (columns, no per-feature Python).
GPKG_USE_ARROW = True


def write_ranking_gpkg(path: str | Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write the ranking layers to one GeoPackage with embedded QGIS styles.

    Parameters
    ----------
    path : path
        Output ``.gpkg``; an existing file is replaced.
    layers : dict
        Layer name -> GeoDataFrame (``segments``, ``work_packages``, ``led_replacements``,
        ``luminaires``), all in the profile CRS.
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    for name, gdf in layers.items():
        gdf.reset_index().to_file(path, layer=name, driver="GPKG", engine="pyogrio",
                                  use_arrow=GPKG_USE_ARROW)
    status_cats = {k: (STATUS_LABELS_SV[k], c) for k, c in STATUS_COLOURS.items()}
    styles = {
        "segments": ("Belysningsstatus", _qml_categorized("lighting_status", status_cats,
                                                          "line")),
        "work_packages": ("Åtgärdspaket", _qml_categorized(
            "lighting_status", {k: status_cats[k] for k in ("unlit", "underlit")}, "line",
            width=2.4)),
    }
    source_cats = {"LED": ("LED", "#2b83ba"), "HPS": ("Högtrycksnatrium", "#fdae61"),
                   "Hg": ("Kvicksilver", "#d7191c"), "MH": ("Metallhalogen", "#abdda4"),
                   "fluorescent": ("Lysrör", "#c2a5cf"), "LPS": ("Lågtrycksnatrium", "#ffffbf"),
                   "other": ("Annan", "#bababa"), "unknown": ("Okänd", "#7f7f7f")}
    if "luminaires" in layers:
        styles["luminaires"] = ("Ljuskälla", _qml_categorized("light_source", source_cats,
                                                              "point"))
    if "led_replacements" in layers:
        styles["led_replacements"] = ("Ljuskälla", _qml_categorized("light_source", source_cats,
                                                                    "point"))
    embed_qgis_styles(path, {k: v for k, v in styles.items() if k in layers})
    return path


#: The call a forked writer makes (set just before it forks, read in the child).
_FORK_JOB: tuple[Any, tuple[Any, ...]] | None = None


def _fork_child() -> tuple[Path, float]:
    import time

    assert _FORK_JOB is not None
    fn, args = _FORK_JOB
    t0 = time.perf_counter()
    return Path(fn(*args)), time.perf_counter() - t0


def _start_forked(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` (a writer returning a path) in a forked process (the frames are
    inherited, not pickled); None when there is one core only, no ``fork``, or
    ``TRYGGA_PARALLEL_WRITE=0``. Finish with :func:`_finish_forked`."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    global _FORK_JOB
    if (os.environ.get("TRYGGA_PARALLEL_WRITE", "1") == "0"
            or len(os.sched_getaffinity(0)) < 2 or "fork" not in mp.get_all_start_methods()):
        return None
    _FORK_JOB = (fn, args)
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("fork"))
    try:
        future = pool.submit(_fork_child)  # forks here, with _FORK_JOB set
    finally:
        _FORK_JOB = None
    return pool, future


def _finish_forked(job: Any) -> tuple[Path, float]:
    """Wait for a :func:`_start_forked` writer: its path and its own wall seconds."""
    pool, future = job
    try:
        path, seconds = future.result()
        return Path(path), float(seconds)
    finally:
        pool.shutdown()


def _start_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Any:
    """Write the GeoPackage in a forked process (see :func:`_start_forked`)."""
    return _start_forked(write_ranking_gpkg, path, layers)


def start_illuminance_geotiff(out: str | Path, paths: gpd.GeoDataFrame,
                              luminaires: gpd.GeoDataFrame, profile: Any) -> Any:
    """Start writing ``out/illuminance.tif`` in a forked process, to run beside the
    ranking (the raster needs only the paths and the luminaires); None when it cannot
    fork (then :func:`write_ranking_outputs` writes it in turn). Pass the result to
    :func:`write_ranking_outputs` as ``background={"tif": job}``: it waits for it at the
    end. The file is the same either way."""
    import functools

    from gis.raster_out import write_illuminance_geotiff

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    writer = functools.partial(write_illuminance_geotiff,
                               default_height_m=profile.lighting.default_mounting_height_m)
    return _start_forked(writer, out / "illuminance.tif", paths, luminaires)


def write_json(data: dict[str, Any], path: str | Path) -> Path:
    """Write a summary dict as UTF-8 JSON (non-ASCII kept, indented)."""
    path = Path(path)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def segment_tables(result: Any) -> dict[str, pd.DataFrame]:
    """Excel-ready tables (no geometry, E/N added) of a :class:`gis.ranking.RankingResult`."""
    return {"segments": table_for_excel(result.segments),
            "work_packages": table_for_excel(result.packages),
            "led_replacements": table_for_excel(result.led)}


#: Rows of one Excel worksheet (Excel's limit, the header row included).
EXCEL_MAX_ROWS = 1_048_576


def xlsx_too_large(tables: dict[str, pd.DataFrame]) -> str | None:
    """Why the XLSX cannot be written (a table has more rows than an Excel sheet), or None.

    Over Excel's :data:`EXCEL_MAX_ROWS` rows (header included) the workbook would be cut or
    refused by Excel, so :func:`write_ranking_outputs` then writes the CSV files only.
    """
    big = {name: len(df) for name, df in tables.items() if len(df) + 1 > EXCEL_MAX_ROWS}
    if not big:
        return None
    return ("ranking.xlsx not written: " + ", ".join(f"{n} has {r:,} rows" for n, r in
                                                     big.items()).replace(",", " ")
            + f", more than an Excel sheet holds ({EXCEL_MAX_ROWS - 1:,} rows and a header)"
            .replace(",", " ") + ". Use the CSV files (all rows) instead.")


def write_ranking_outputs(result: Any, luminaires: gpd.GeoDataFrame, out: str | Path,
                          profile: Any, paths: gpd.GeoDataFrame | None = None,
                          what: tuple[str, ...] = ("gpkg", "csv", "xlsx", "tif", "json"),
                          stages: Any = None,
                          background: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write the ranking's files into *out*; returns name -> path of what was written.

    Parameters
    ----------
    result : RankingResult
        From :func:`gis.ranking.rank`.
    luminaires : GeoDataFrame
        The luminaire layer (written to the GeoPackage and used for the GeoTIFF).
    out : path
        Output folder (created).
    profile : Profile
        For the mounting-height default and the summary.
    paths : GeoDataFrame, optional
        The path layer; needed for ``"tif"`` (the raster is clipped around it).
    what : tuple of str
        Any of ``gpkg``, ``csv``, ``xlsx``, ``tif``, ``json``. The XLSX is left out, with
        a warning (:func:`xlsx_too_large`), when a table has more rows than an Excel sheet.
    stages : callable, optional
        ``stages(name)`` returns a context manager timing one file kind (the benchmark's
        :class:`trygga_cli.rank.Stages`); None: not timed.
    background : dict, optional
        File kind -> a writer already running in a forked process
        (:func:`start_illuminance_geotiff` for ``"tif"``): waited for at the end (timed as
        that kind) instead of written here.
    """
    import contextlib

    from gis.raster_out import write_illuminance_geotiff

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    # GDAL in pyogrio and in rasterio must not run at the same time in one process (a
    # threaded attempt gave rasterio "no geotransform" warnings), and writing the tables on
    # a thread beside them was slower (GIL contention; measured). So the GeoPackage is
    # written by a forked process (its own GDAL) while this one writes the rest, when there
    # is a second core; else one after the other.
    step = stages or (lambda _name: contextlib.nullcontext())
    gpkg_layers = {"segments": result.segments, "work_packages": result.packages,
                   "led_replacements": result.led, "luminaires": luminaires}
    gpkg_job = None
    if "gpkg" in what:
        gpkg_job = _start_gpkg(out / "ranking.gpkg", gpkg_layers)
        if gpkg_job is None:
            with step("gpkg"):
                files["gpkg"] = write_ranking_gpkg(out / "ranking.gpkg", gpkg_layers)
    background = dict(background or {})
    if "tif" in what and paths is not None and "tif" not in background:
        with step("tif"):
            files["tif"] = write_illuminance_geotiff(
                out / "illuminance.tif", paths, luminaires,
                default_height_m=profile.lighting.default_mounting_height_m)
    with step("tables"):
        tables = segment_tables(result) if ("csv" in what or "xlsx" in what) else {}
    if "csv" in what:
        with step("csv"):
            for name, df in tables.items():
                files[f"{name}.csv"] = write_csv_sv(df, out / f"{name}.csv")
    too_big = xlsx_too_large(tables) if "xlsx" in what else None
    if too_big:
        warnings.warn(too_big, UserWarning, stacklevel=2)
    if "xlsx" in what and not too_big:
        with step("xlsx"):
            files["xlsx"] = write_xlsx({
                "segments": ("Segment", tables["segments"]),
                "work_packages": ("Åtgärdspaket", tables["work_packages"]),
                "led_replacements": ("LED-byten", tables["led_replacements"])},
                out / "ranking.xlsx", currency=profile.costs.currency)
    if "json" in what:
        files["json"] = write_json(result.summary(profile), out / "summary.json")
    if gpkg_job is not None:
        background["gpkg"] = gpkg_job
    for kind, job in background.items():
        with step(kind):  # the wait for the forked writer
            files[kind], own_s = _finish_forked(job)
        records = getattr(stages, "records", None)
        if isinstance(records, list) and records:  # the writer's own time, for the bench
            records[-1]["own_seconds"] = own_s
    return files
