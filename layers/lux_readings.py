"""Field lux-meter readings (CSV) for calibrating the lighting model (issue 17).

One funnel, :func:`_normalize_lux_readings`: every file ends there, which finds the
columns by name (Swedish or English, case-insensitive), parses numbers written the Swedish
or the English way (decimal commas), checks every row and reports **every** problem at
once (file, row, column, fix), and returns points in the profile's metric CRS.

The file (UTF-8 or cp1252, ``;``, ``,`` or tab; one reading a row)::

    id;x;y;lux;område
    M1;6537012,5;1234567,0;4,2;Centrum

Columns
    ``lux`` (also ``lx``, ``lux_lx``, ``belysningsstyrka``, ``värde``): horizontal
    illuminance on the ground, lx, ≥ 0 (required).
    Coordinates: ``x``/``y`` (also ``e``/``n``, ``easting``/``northing``, ``öst``/``nord``)
    in the profile's CRS or the ``crs`` given, or ``lat``/``lon`` (also ``latitud``,
    ``longitud``, ``lng``) in WGS 84 (required, one pair).
    ``id`` (also ``punkt``, ``mätpunkt``): the reading's name (default ``rad N``).
    ``område`` (also ``omrade``, ``area``): the area to report it under (optional).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from layers._common import Problem, ValidationError, source_label
from layers.lighting import _parse_numbers, read_delimited

logger = logging.getLogger(__name__)

#: Columns of the readings layer (besides the geometry); index ``reading_id``.
READING_COLUMNS = ("lux_lx", "area")

#: Highest plausible reading, lx (full sunlight is ≈ 100 000 lx).
MAX_LUX = 150_000.0

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "lux": ("lux", "lx", "lux_lx", "belysningsstyrka", "varde", "matvarde", "e_h", "eh"),
    "x": ("x", "e", "easting", "ost", "ostlig", "x_koord"),
    "y": ("y", "n", "northing", "nord", "nordlig", "y_koord"),
    "lat": ("lat", "latitude", "latitud"),
    "lon": ("lon", "lng", "long", "longitude", "longitud"),
    "id": ("id", "punkt", "matpunkt", "point", "namn", "name"),
    "area": ("omrade", "area", "stadsdel"),
}


def _key(name: object) -> str:
    s = str(name).strip().casefold()
    s = s.replace("å", "a").replace("ä", "a").replace("ö", "o")
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def read_lux_readings(path: str | Path, crs: str | CRS,
                      source_crs: str | CRS | None = None) -> gpd.GeoDataFrame:
    """Read a CSV of lux-meter readings into points in *crs*.

    Parameters
    ----------
    path : str or Path
        The CSV file (see the module docstring).
    crs : str or CRS
        The profile's metric CRS: the output CRS, and the CRS of ``x``/``y`` columns
        unless *source_crs* is given.
    source_crs : str or CRS, optional
        CRS of ``x``/``y`` columns when they are not in *crs*.

    Returns
    -------
    GeoDataFrame
        Index ``reading_id``; columns :data:`READING_COLUMNS` (``lux_lx`` float, ``area``
        text, ``""`` when not given); Point geometry in *crs*.

    Raises
    ------
    ValidationError
        Every problem at once, naming file, row and column.
    """
    path = Path(path)
    src = source_label(path)
    if not path.is_file():
        raise ValidationError([Problem(src, "", "", f"file not found: {path}",
                                       "check the path of the readings file")])
    df, rows = read_delimited(path, src, what="the readings",
                              other_types=".csv with ; or , between the columns")
    return _normalize_lux_readings(df, rows, src, crs, source_crs)


def _normalize_lux_readings(df: pd.DataFrame, rows: list[str], src: str, crs: str | CRS,
                            source_crs: str | CRS | None = None) -> gpd.GeoDataFrame:
    """The one funnel: columns by name, numbers parsed, every row checked."""
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise ValueError(f"crs {target.to_string()} is not projected. Fix: pass the "
                         "profile's metric CRS")
    found: dict[str, str] = {}
    for col in df.columns:
        k = _key(col)
        for role, names in _SYNONYMS.items():
            if k in names and role not in found:
                found[role] = str(col)
    problems: list[Problem] = []
    if "lux" not in found:
        problems.append(Problem(src, "1", "", "no lux column",
                                "name the column with the readings 'lux'"))
    xy = "x" in found and "y" in found
    latlon = "lat" in found and "lon" in found
    if not xy and not latlon:
        problems.append(Problem(src, "1", "", "no coordinate columns",
                                "add x and y (in the profile's CRS) or lat and lon (WGS 84)"))
    if problems:
        raise ValidationError(problems)
    n = len(df)

    def numbers(role: str) -> np.ndarray:
        col = found[role]
        values, bad, text = _parse_numbers(df[col])
        for i in np.flatnonzero(bad):
            shown = text.iloc[i] if text is not None else df[col].iloc[i]
            problems.append(Problem(src, rows[i], col, f"{shown!r} is not a number",
                                    "write the number with a decimal comma or point"))
        for i in np.flatnonzero(~bad & np.isnan(values)):
            problems.append(Problem(src, rows[i], col, "empty", "fill in the value or "
                                    "delete the row"))
        return values

    lux = numbers("lux")
    for i in np.flatnonzero(np.isfinite(lux) & ((lux < 0) | (lux > MAX_LUX))):
        problems.append(Problem(src, rows[i], found["lux"], f"{lux[i]:g} lx is not a "
                                f"plausible reading (0 … {MAX_LUX:g})",
                                "give the horizontal illuminance in lux"))
    if xy:
        a, b = numbers("x"), numbers("y")
        from_crs = CRS.from_user_input(source_crs) if source_crs is not None else target
        degrees = (np.abs(a) <= 180) & (np.abs(b) <= 90) & from_crs.is_projected
        for i in np.flatnonzero(degrees):
            problems.append(Problem(src, rows[i], found["x"], f"({a[i]:g}, {b[i]:g}) look "
                                    f"like degrees, not {from_crs.to_string()} metres",
                                    "name the columns lat and lon for WGS 84 coordinates"))
    else:
        b, a = numbers("lat"), numbers("lon")  # a = east, b = north
        from_crs = CRS.from_epsg(4326)
        for i in np.flatnonzero(np.isfinite(a) & np.isfinite(b)
                                & ((np.abs(b) > 90) | (np.abs(a) > 180))):
            problems.append(Problem(src, rows[i], found["lat"], f"({b[i]:g}, {a[i]:g}) is "
                                    "not a latitude/longitude",
                                    "use x and y columns for projected coordinates"))
    ids = (df[found["id"]].astype(str).str.strip().to_numpy(dtype=object) if "id" in found
           else np.array([f"rad {r}" for r in rows], dtype=object))
    ids = np.where(ids == "", np.array([f"rad {r}" for r in rows], dtype=object), ids)
    seen: dict[str, str] = {}
    for pos, v in enumerate(ids):
        if v in seen:
            problems.append(Problem(src, rows[pos], found.get("id", ""), f"id {v!r} also on "
                                    f"row {seen[v]}", "give every reading its own id"))
        else:
            seen[v] = rows[pos]
    if problems:
        raise ValidationError(problems)
    area = (df[found["area"]].astype(str).str.strip().to_numpy(dtype=object) if "area" in found
            else np.full(n, "", dtype=object))
    pts = gpd.GeoSeries(gpd.points_from_xy(a, b), crs=from_crs).to_crs(target)
    out = gpd.GeoDataFrame({"lux_lx": lux.astype("float64"), "area": area},
                           geometry=pts.values, crs=target,
                           index=pd.Index(ids.astype(str), name="reading_id"))
    logger.info("%s: %d lux readings", src, len(out))
    return out
