"""Luminaires: the municipal lighting inventory and OpenStreetMap street lamps.

Two ways in, one funnel out (STYLE rule 1):

* :func:`read_inventory` reads a municipal inventory (CSV, XLSX, GeoPackage, Shapefile,
  GeoJSON) with Swedish, English, Norwegian (NVDB) or FIWARE column names;
* :func:`luminaires_from_osm` turns OSM ``highway=street_lamp`` nodes into luminaires.

Both end in ``_normalize_luminaires``, which maps columns to
:data:`layers.schemas.LUMINAIRES`, parses numbers (decimal commas, thousands spaces, unit
suffixes), normalises light source (:func:`normalize_light_source`) and owner, builds point
geometry from coordinate columns (inferring the CRS and detecting swapped axes), repairs or
drops bad geometry, reprojects to the profile's metric CRS, checks that the luminaires lie in
the municipality and raises one :class:`~layers._common.ValidationError` listing every
problem found. Row numbers in messages are spreadsheet rows (header = row 1, first data row
= 2) for CSV/XLSX, and feature numbers (from 1) for spatial files.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import logging
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from layers import schemas
from layers._common import (
    Problem,
    ValidationError,
    check_within_boundary,
    clean_geometries,
    finalize,
    source_label,
    to_profile_crs,
    warn_layer,
)
from layers.io import VECTOR_DRIVERS, read_vector

logger = logging.getLogger(__name__)

#: File extension -> how :func:`read_inventory` reads it ("csv", "xlsx" or "vector").
INVENTORY_FORMATS: dict[str, str] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    **{ext: "vector" for ext in VECTOR_DRIVERS},
    ".gml": "vector",
}

#: Schema columns an explicit column mapping may target (plus the coordinate columns).
MAPPABLE_COLUMNS = ("luminaire_id", "pole_id", "light_source", "wattage_w", "lumen_lm",
                    "mounting_height_m", "install_year", "owner", "status", "x", "y")

_MAPPING_FIX = ('rename the column, or map it in the profile: [sources] lighting_columns = '
                '{"MyCol" = "%s"} (column_map={"MyCol": "%s"} in Python)')

# ---------------------------------------------------------------------------------------
# Column names
# ---------------------------------------------------------------------------------------

#: The built-in column-name table (:file:`layers/inventory_columns.toml`, documented in
#: ``docs/inventory.md``): schema column -> names in priority order, and coordinate pairs.
ALIASES_FILE = Path(__file__).with_name("inventory_columns.toml")


def _load_aliases() -> tuple[dict[str, tuple[str, ...]],
                             tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    """The alias table: schema column -> names, and the (x names, y names) pairs."""
    raw = tomllib.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    coords = tuple((tuple(c["x"]), tuple(c["y"])) for c in raw.pop("coordinates"))
    return {field: tuple(names) for field, names in raw.items()}, coords


#: Column-name synonyms per schema column, in priority order (the first match wins).
#: Matching ignores case, whitespace, punctuation, diacritics and units in parentheses.
#: Includes our own schema names and their Shapefile truncations, so exports read back.
_SYNONYMS, _COORD_FAMILIES = _load_aliases()

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "œ": "oe", "ð": "d", "þ": "th",
                       "ł": "l", "đ": "d"})
_PARENS = re.compile(r"[\(\[\{][^\)\]\}]*[\)\]\}]")
_UNIT_SUFFIX = re.compile(r"[\s_\-/]+(w|watt|kw|m|meter|lm|klm|ft|feet)$")


def _fold(text: str) -> str:
    """Lower-case *text* and strip diacritics (å→a, ä→a, ö→o, ø→o, é→e)."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c))


def _norm_header(name: object) -> str:
    """Comparable form of a column name: ``"Effekt (W)"`` → ``"effekt"``."""
    text = _fold(_PARENS.sub(" ", str(name))).strip()
    text = _UNIT_SUFFIX.sub("", text)
    return re.sub(r"[^a-z0-9]", "", text)


_SYNONYM_KEYS: dict[str, tuple[str, ...]] = {
    field: tuple(dict.fromkeys(_norm_header(s) for s in names))
    for field, names in _SYNONYMS.items()
}
_COORD_KEYS = tuple(
    (frozenset(_norm_header(n) for n in xs), frozenset(_norm_header(n) for n in ys))
    for xs, ys in _COORD_FAMILIES
)

#: SWEREF 99 local zones: "hhmm" of the central meridian -> EPSG code.
_SWEREF_ZONES = {"1200": 3007, "1330": 3008, "1500": 3009, "1630": 3010, "1800": 3011,
                 "1415": 3012, "1545": 3013, "1715": 3014, "1845": 3015, "2015": 3016,
                 "2145": 3017, "2315": 3018}


def _crs_from_header(name: str) -> str | None:
    """CRS named in a column header, e.g. ``"N (SWEREF 99 12 00)"`` → ``"EPSG:3007"``."""
    text = _fold(name)
    if m := re.search(r"epsg\D{0,3}(\d{4,5})", text):
        return f"EPSG:{m.group(1)}"
    if re.search(r"sweref\s*-?\s*99\s*tm", text):
        return "EPSG:3006"
    if m := re.search(r"sweref\s*-?\s*99\s*(\d{2})\s*[\s:.]?\s*(\d{2})", text):
        zone = _SWEREF_ZONES.get(m.group(1) + m.group(2))
        return f"EPSG:{zone}" if zone else None
    if re.search(r"rt\s*-?\s*90", text):
        return "EPSG:3021"
    if re.search(r"wgs\s*-?\s*84", text):
        return "EPSG:4326"
    return None


@dataclass(frozen=True)
class _Columns:
    """Which file column feeds which schema column."""

    fields: dict[str, str]
    x: str | None = None
    y: str | None = None


def _synonym_keys(aliases: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    """Comparable names per schema column: the profile's *aliases* first, then the table."""
    if not aliases:
        return _SYNONYM_KEYS
    return {field: tuple(dict.fromkeys(
        [_norm_header(a) for a in aliases.get(field, ())] + list(keys)))
        for field, keys in _SYNONYM_KEYS.items()}


def _coord_keys(aliases: Mapping[str, Sequence[str]] | None,
                ) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """Coordinate families, with the profile's ``x``/``y`` names as the first family."""
    if not aliases or not (aliases.get("x") or aliases.get("y")):
        return _COORD_KEYS
    extra = (frozenset(_norm_header(a) for a in aliases.get("x", ())),
             frozenset(_norm_header(a) for a in aliases.get("y", ())))
    return (extra, *_COORD_KEYS)


def check_aliases(aliases: Mapping[str, Sequence[str]], src: str) -> list[Problem]:
    """Problems with a profile's ``[inventory.columns]`` table (unknown schema columns)."""
    return [Problem(src, "", f"inventory.columns.{k}", f"unknown schema column {k!r}",
                    f"use one of {', '.join(MAPPABLE_COLUMNS)}", column_label="key")
            for k in aliases if k not in MAPPABLE_COLUMNS]


def _resolve_columns(columns: Sequence[str], column_map: Mapping[str, str] | None,
                     src: str, need_coordinates: bool,
                     aliases: Mapping[str, Sequence[str]] | None = None) -> _Columns:
    """Map file columns to schema columns: explicit *column_map* first, then synonyms
    (the profile's ``[inventory.columns]`` *aliases* ahead of the built-in table).

    Raises
    ------
    ValidationError
        Bad mapping entries, or no column for the luminaire id / the coordinates.
    """
    problems: list[Problem] = []
    claimed: dict[str, str] = {}  # target -> file column
    by_norm: dict[str, list[str]] = {}
    for col in columns:
        by_norm.setdefault(_norm_header(col), []).append(col)
    found = ", ".join(f"'{c}'" for c in columns) or "none"
    for file_col, target in (column_map or {}).items():
        target_key = "light_source" if target == "light_source_raw" else target
        if target_key not in MAPPABLE_COLUMNS:
            hint = (f'; the mapping goes file column -> schema column, i.e. '
                    f'{{"{target}" = "{file_col}"}}' if file_col in MAPPABLE_COLUMNS else "")
            problems.append(Problem(
                src, "", str(file_col), f"unknown target {target!r} in the column mapping",
                f"map to one of {', '.join(MAPPABLE_COLUMNS)}{hint}"))
            continue
        match = file_col if file_col in columns else next(
            iter(by_norm.get(_norm_header(file_col), [])), None)
        if match is None:
            reverse = " (the mapping goes file column -> schema column)" if (
                file_col in MAPPABLE_COLUMNS) else ""
            problems.append(Problem(
                src, "", str(file_col),
                f"column from the column mapping is not in the file{reverse} "
                f"(columns found: {found})",
                "fix the column name in [sources] lighting_columns"))
            continue
        if target_key in claimed:
            problems.append(Problem(
                src, "", str(file_col), f"two columns are mapped to {target_key!r} "
                f"('{claimed[target_key]}' and '{match}')", "map only one column to it"))
            continue
        claimed[target_key] = match
    if problems:
        raise ValidationError(problems)

    used = set(claimed.values())
    for field, keys in _synonym_keys(aliases).items():
        if field in claimed:
            continue
        for key in keys:
            hit = next((c for c in by_norm.get(key, []) if c not in used), None)
            if hit is not None:
                claimed[field] = hit
                used.add(hit)
                break

    x, y = claimed.pop("x", None), claimed.pop("y", None)
    if (x is None) != (y is None):
        have, miss = ("x", "y") if x is not None else ("y", "x")
        problems.append(Problem(
            src, "", "", f"the column mapping names a {have} column but no {miss} column",
            "map both coordinate columns, e.g. {\"Öst\" = \"x\", \"Nord\" = \"y\"}"))
    elif x is None:
        for xkeys, ykeys in _coord_keys(aliases):
            xs = [c for c in columns if _norm_header(c) in xkeys and c not in used]
            ys = [c for c in columns if _norm_header(c) in ykeys and c not in used]
            if xs and ys:
                x, y = xs[0], ys[0]
                break
        if x is None and need_coordinates:
            problems.append(Problem(
                src, "", "", "no geometry and no coordinate columns "
                f"(columns found: {found}; expected a pair such as x/y, E/N, Öst/Nord, "
                "easting/northing or lon/lat, optionally with the CRS in the name like "
                "'N (SWEREF 99 12 00)')",
                'rename the columns, or map them in the profile: [sources] lighting_columns = '
                '{"MyEast" = "x", "MyNorth" = "y"}'))
    if "luminaire_id" not in claimed:
        examples = "Armatur-ID, armatur_id, luminaire_id, id, objekt-id, streetlightId"
        problems.append(Problem(
            src, "", "", f"no luminaire id column (columns found: {found}; expected one of "
            f"{examples})", _MAPPING_FIX % ("luminaire_id", "luminaire_id")))
    if problems:
        raise ValidationError(problems)
    logger.debug("%s: column mapping %s, coordinates %s/%s", src, claimed, x, y)
    return _Columns(fields=claimed, x=x, y=y)


# ---------------------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------------------

_NA_TOKENS = frozenset({"-", "--", "–", "—", "?"})


def _cell_text(value: object) -> str:
    """One cell as stripped text; ``""`` for missing; integral floats without ``.0``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, dt.date):  # datetime, date, pd.Timestamp
        return value.isoformat()
    return str(value).strip()


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped strings (``""`` when missing), converted once per unique value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniq = np.asarray(uniques, dtype=object)
    is_str = np.fromiter((type(u) is str for u in uniq), dtype=bool, count=len(uniq))
    texts = np.empty(len(uniq) + 1, dtype=object)
    texts[-1] = ""
    if is_str.any():  # the usual case (text read from CSV): strip them in one pass
        texts[:-1][is_str] = pd.Series(uniq[is_str], dtype=object).str.strip().to_numpy()
    rest = np.flatnonzero(~is_str)
    texts[rest] = [_cell_text(u) for u in uniq[rest]]
    return pd.Series(texts[codes], index=values.index, dtype="str")  # code -1 -> ""


def _parse_numbers(values: pd.Series, units: str = "") -> tuple[np.ndarray, np.ndarray,
                                                                 pd.Series | None]:
    """Parse numbers written the Swedish or the English way, vectorised.

    Accepts decimal commas (``"12,5"``), space / no-break-space thousands separators
    (``"56 000"``), ``"1.234,5"`` and ``"1,234.5"``, and a trailing unit matching *units*
    (a regex alternation such as ``"w|watt"``).

    Returns
    -------
    values : ndarray of float
        NaN where the cell is empty or not a number.
    bad : ndarray of bool
        Cells with text that is not a number.
    text : Series or None
        The cells as text (for messages); None when *values* was already numeric.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nums = values.to_numpy(dtype="float64", na_value=np.nan)
        return nums, np.zeros(len(values), dtype=bool), None
    text = _as_text(values)
    # Parse each distinct cell once: inventories repeat a handful of values (70 W, "LED").
    codes, uniques = pd.factorize(text)
    nums_u, bad_u = _parse_number_texts(pd.Series(uniques, dtype="str"), units)
    return nums_u[codes], bad_u[codes], text


def _parse_number_texts(text: pd.Series, units: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers and not-a-number flags of distinct cell texts (see :func:`_parse_numbers`)."""
    t = text.str.replace(r"[\s\u00a0\u202f\u2009']", "", regex=True)
    t = t.str.replace("\u2212", "-", regex=False)
    if units:
        t = t.str.replace(rf"(?i)(?<=[\d.,])(?:{units})$", "", regex=True)
    last_comma, last_point = t.str.rfind(","), t.str.rfind(".")
    n_comma = t.str.count(",")
    comma_decimal = ((last_comma >= 0) & (last_point < 0) & (n_comma == 1)) | (
        (last_comma >= 0) & (last_point >= 0) & (last_comma > last_point))
    t = t.where(~comma_decimal,
                t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    t = t.str.replace(",", "", regex=False)  # remaining commas are thousands separators
    t = t.where(t.str.count(r"\.") <= 1, t.str.replace(".", "", regex=False))
    nums = pd.to_numeric(t, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    empty = ((text == "") | text.isin(_NA_TOKENS)).to_numpy()
    bad = ~empty & ~np.isfinite(nums)
    nums = np.where(empty | bad, np.nan, nums)
    return nums, bad


_YEAR_IN_TEXT = r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?!\d)"
_DATE_LIKE = r"^\s*(?:\d{4}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"


def _parse_years(values: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series | None]:
    """Years from numbers (``2015``, ``"2015,0"``) or dates (``"2015-06-01T00:00:00Z"``)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        years = values.dt.year.to_numpy(dtype="float64", na_value=np.nan)
        return years, np.zeros(len(values), dtype=bool), None
    nums, bad, text = _parse_numbers(values)
    if text is not None:
        codes, uniques = pd.factorize(text)  # each distinct cell once
        distinct = pd.Series(uniques, dtype="str")
        date_like = distinct.str.contains(_DATE_LIKE, regex=True).to_numpy(dtype=bool)[codes]
        from_dates = pd.to_numeric(distinct.str.extract(_YEAR_IN_TEXT, expand=False),
                                   errors="coerce").to_numpy(dtype="float64",
                                                             na_value=np.nan)[codes]
        use_date = (date_like | bad) & np.isfinite(from_dates)
        nums = np.where(use_date, from_dates, np.where(date_like, np.nan, nums))
        bad = (bad | date_like) & ~use_date
    return nums, bad, text


# ---------------------------------------------------------------------------------------
# Light source and owner
# ---------------------------------------------------------------------------------------

#: Ordered (pattern, class) rules on folded, lower-case text with punctuation as spaces.
_LIGHT_SOURCE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), cls) for p, cls in (
        (r"\bled(?!ning)|lysdiod|light emitting diode", "LED"),
        (r"lagtryck|lavtrykk|low pressure sodium|\b(lps|sox|sox e|lpsv)(?![a-z])", "LPS"),
        (r"hogtryck|hoytrykk|high pressure sodium"
         r"|\b(hps|hpsv|son|sont|sone|son t|son e|nav|navt|nav t|hst)(?![a-z])"
         r"|natrium|sodium", "HPS"),
        (r"metallhalogen|metal halide|metalhalide|metal halogen|halogen metal|cosmopolis"
         r"|\b(mh|cdm|cdo|cpo|hqi|hci|mhn|mhw|mhl)(?![a-z])", "MH"),
        (r"kvicksilver|kvikksolv|mercury|\b(hg|hql|hglp|hpl|mbf|hpm)(?![a-z])", "Hg"),
        (r"lysror|lysstoff|fluoresc|kompaktlys|lagenergi|\b(pl|cfl|tl|tld|t5|t8)(?![a-z])",
         "fluorescent"),
        (r"glodlamp|glodtrad|glodelampe|incandescent|halogen|induktion|induksjon|induction"
         r"|\bgas\b|gaslykt|gasslykt|xenon|^(annan|annen|annet|other|ovrig|ovrigt)$", "other"),
        (r"^(okand|okant|ukjent|unknown|electric|electrical|elektrisk|saknas|uppgift saknas"
         r"|ej kand|ej kant|n a|na|none)$", "unknown"),
    ))


def _fold_words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", _fold(text)).strip()


def _first_rule(raw: str, rules: Sequence[tuple[re.Pattern[str], str]], empty: str,
                default: str | None = None) -> str | None:
    """The class of the first of *rules* whose pattern matches the folded text of *raw*;
    *empty* for an empty text, *default* when none matches."""
    text = _fold_words(raw)
    if not text:
        return empty
    for pattern, cls in rules:
        if pattern.search(text):
            return cls
    return default


def _classify_light_source(raw: str) -> str | None:
    """Class of one raw light-source text; None when not recognised."""
    return _first_rule(raw, _LIGHT_SOURCE_RULES, "unknown")


def normalize_light_source(values: pd.Series, fix: str = "") -> pd.Series:
    """Normalise light-source texts to :data:`layers.schemas.LIGHT_SOURCES`.

    Recognises Swedish, English/UK, Norwegian (NVDB), FIWARE and OSM spellings, e.g.
    ``"Högtrycksnatrium"``, ``"SON-T 70W"``, ``"Natrium høytrykk"`` and
    ``"high_pressure_sodium"`` → ``"HPS"``; ``"HQL"``, ``"Kvicksilver"`` → ``"Hg"``;
    ``"CDM-T"``, ``"Metallhalogen"`` → ``"MH"``; ``"Lysrör"``, ``"PL-L"`` → ``"fluorescent"``.
    Each distinct value is classified once (vectorised over unique values).

    Parameters
    ----------
    values : Series
        Raw light-source texts, any dtype; missing or empty values become ``"unknown"``.
    fix : str, optional
        What to tell the user about values not recognised (e.g. how to map codes).

    Returns
    -------
    Series
        ``str`` values, one of LIGHT_SOURCES, aligned to *values*' index, named
        ``"light_source"``.

    Warns
    -----
    LayerWarning
        For non-empty values that are not recognised (set to ``"unknown"``, never
        dropped), listing each distinct value with its count.

    Examples
    --------
    >>> normalize_light_source(pd.Series(["LED", "Högtrycksnatrium", None])).tolist()
    ['LED', 'HPS', 'unknown']
    """
    text = _as_text(values)
    codes, uniques = pd.factorize(text)
    classes = [_classify_light_source(u) for u in uniques]
    lookup = np.array([c or "unknown" for c in classes] + ["unknown"], dtype=object)
    out = pd.Series(lookup[codes], index=values.index, name="light_source", dtype="str")
    n_empty = int((text == "").sum())
    if n_empty:
        logger.info("%d luminaire(s) without a light source: set to 'unknown'", n_empty)
    unknown_values = [u for u, c in zip(uniques, classes, strict=True) if c is None]
    if unknown_values:
        counts = text[text.isin(unknown_values)].value_counts()
        listing = ", ".join(f"'{v}' ×{n}" for v, n in counts.head(20).items())
        more = f" (+{len(counts) - 20} more values)" if len(counts) > 20 else ""
        warn_layer(
            f"luminaires: {int(counts.sum())} light-source value(s) not recognised, set to "
            f"'unknown' (kept in light_source_raw): {listing}{more}. Known classes: "
            f"{', '.join(schemas.LIGHT_SOURCES)}" + (f". Fix: {fix}" if fix else ""))
    return out


_OWNER_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), cls) for p, cls in (
        (r"^(okand|okant|ukjent|unknown|saknas|n a|na|none)$", "unknown"),
        (r"trafikverket|\btrv\b|vagverket|swedish transport administration", "Trafikverket"),
        (r"vegvesen|fylkeskommun|\blansstyrelse", "annan"),
        (r"kommun|municipal|\bstad\b|\bcity\b|\btown\b|\bborough\b|gatukontor|tekniska forvaltning|samhallsbyggnad"
         r"|\bcouncil\b", "kommun"),
        (r"privat|private|samfallighet|vagforening|\bbrf\b|bostadsratt|fastighetsagare"
         r"|gemensamhetsanlaggning|\bga\b|\bvelforening|\bsameie", "privat"),
    ))


def _classify_owner(raw: str) -> str:
    """Owner class of one owner text (unrecognised names are ``"annan"``)."""
    return _first_rule(raw, _OWNER_RULES, "unknown", default="annan") or "annan"


def _normalize_owner(values: pd.Series) -> pd.Series:
    """Owner texts → :data:`layers.schemas.OWNERS` (unrecognised names → ``"annan"``)."""
    text = _as_text(values)
    codes, uniques = pd.factorize(text)
    lookup = np.array([_classify_owner(u) for u in uniques] + ["unknown"], dtype=object)
    return pd.Series(lookup[codes], index=values.index, name="owner", dtype="str")


# ---------------------------------------------------------------------------------------
# Operating status
# ---------------------------------------------------------------------------------------

#: Ordered (pattern, state) rules on folded, lower-case status text with punctuation as
#: spaces. States: ``"removed"`` (the luminaire is gone), ``"out_of_service"`` (it is there
#: but gives no light: a fault), ``"in_service"``. Swedish, Norwegian, English, FIWARE
#: Streetlight ``status`` values and Esri lifecycle statuses.
_STATUS_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), state) for p, state in (
        (r"borttag|nedtag|demonter|riven|rivd|fjernet|fjerna|avvikl|utgatt|saner|skrotad"
         r"|removed|demolished|decommission|abandon|retired|dismantl", "removed"),
        (r"ur drift|ej i drift|inte i drift|ute av drift|ikke i drift|ur funktion"
         r"|slackt|slockn|avstangd|avslagen|avslatt|slukket|slukka|mork|trasig|defekt"
         r"|sonder|out of service|not in service|inactive|not working|broken|defective"
         r"|failed|fault|outage|lamp out|\bout\b|\boff\b|\bdark\b", "out_of_service"),
        (r"^(i drift|drift|ok|aktiv|active|in service|in use|i bruk|i funktion|fungerar"
         r"|tent|tand|lit|on|working|operational|existing|befintlig|eksisterende|normal"
         r"|column ?issue|columnissue)$", "in_service"),
        (r"planerad|projekterad|planlagt|planned|proposed|future", "planned"),
    ))

#: Operating states of :func:`operating_state`, as used in the ``operating`` column: only
#: ``"in_service"`` luminaires give light in the lighting model.
OPERATING_STATES = ("in_service", "out_of_service", "removed", "planned")


def mark_out_of_service(luminaires: gpd.GeoDataFrame, ids: Sequence[str]
                        ) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A copy of *luminaires* where the lamps *ids* are out of service (reported faults).

    Parameters
    ----------
    luminaires : GeoDataFrame
        The luminaire layer (index ``luminaire_id``, column ``operating``; any CRS).
    ids : sequence of str
        Luminaire ids with an open fault report (e.g. lamp-fault findings).

    Returns
    -------
    (GeoDataFrame, list of str)
        The new frame (lamps in service with a fault become ``out_of_service``; removed or
        planned lamps keep their state) and the ids not found in the layer, for a warning.
        *luminaires* is not changed.
    """
    wanted = {str(i) for i in ids if i is not None and str(i).strip()}
    if not wanted or len(luminaires) == 0:
        return luminaires, sorted(wanted)
    lid = pd.Series(luminaires.index.astype(str), index=luminaires.index)
    hit = lid.isin(wanted).to_numpy()
    missing = sorted(wanted - set(lid[hit]))
    if not hit.any():
        return luminaires, missing
    out = luminaires.copy()
    state = (out["operating"].astype(str) if "operating" in out.columns
             else pd.Series("in_service", index=out.index))
    out["operating"] = state.where(~(hit & state.eq("in_service").to_numpy()),
                                   "out_of_service").astype("str")
    return out, missing


def _classify_status(raw: str) -> str | None:
    """Operating state of one status text; None when not recognised."""
    return _first_rule(raw, _STATUS_RULES, "in_service")


def operating_state(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Operating state of each luminaire from its status text.

    ``"Ur drift"``, ``"Släckt"``, ``"Trasig"``, ``"out of service"``, ``"defectiveLamp"``
    → ``"out_of_service"``; ``"Borttagen"``, ``"Demonterad"``, ``"removed"`` →
    ``"removed"``; ``"Planerad"``, ``"planned"`` → ``"planned"``; empty, ``"I drift"``,
    ``"ok"`` and statuses not recognised →
    ``"in_service"`` (an inventory lists the lamps that are there).

    Returns
    -------
    Series
        ``operating`` (str, one of :data:`OPERATING_STATES`) aligned to *values*.
    list of str
        Distinct non-empty statuses that were not recognised, with counts, for the report.
    """
    text = _as_text(values)
    codes, uniques = pd.factorize(text)
    states = [_classify_status(u) for u in uniques]
    lookup = np.array([st or "in_service" for st in states] + ["in_service"], dtype=object)
    out = pd.Series(lookup[codes], index=values.index, name="operating", dtype="str")
    unknown = [u for u, st in zip(uniques, states, strict=True) if st is None]
    counts = text[text.isin(unknown)].value_counts()
    return out, [f"'{v}' ×{n}" for v, n in counts.items()]


# ---------------------------------------------------------------------------------------
# Coded values and units in cells
# ---------------------------------------------------------------------------------------

#: Columns whose values a profile may map with ``[inventory.codes.<column>]``.
CODED_COLUMNS = ("light_source", "status", "owner")


def check_codes(codes: Mapping[str, Mapping[str, str]], src: str) -> list[Problem]:
    """Problems with a profile's ``[inventory.codes]`` table (unknown columns)."""
    return [Problem(src, "", f"inventory.codes.{k}", "codes for this column are not supported",
                    f"map codes of {', '.join(CODED_COLUMNS)}", column_label="key")
            for k in codes if k not in CODED_COLUMNS]


def _apply_codes(text: pd.Series, table: Mapping[str, str] | None) -> tuple[pd.Series, int]:
    """Cells replaced by their meaning in *table* (keys match stripped and case-folded);
    returns the new texts and how many cells were mapped."""
    if not table:
        return text, 0
    folded = {str(k).strip().casefold(): str(v) for k, v in table.items()}
    codes, uniques = pd.factorize(text)
    mapped = [folded.get(str(u).strip().casefold()) for u in uniques]
    out_u = np.array([m if m is not None else u for u, m in zip(uniques, mapped, strict=True)]
                     + [""], dtype=object)
    hit = np.array([m is not None for m in mapped] + [False])
    return (pd.Series(out_u[codes], index=text.index, dtype="str"),
            int(hit[codes].sum()))


#: Units accepted in numeric cells (and column headers): field -> (regex alternatives,
#: factor to the schema unit, label); the first entry is the schema unit itself.
_CELL_UNITS: dict[str, tuple[tuple[str, float, str], ...]] = {
    "wattage_w": (("watts|watt|w", 1.0, "W"), ("kw", 1000.0, "kW")),
    "lumen_lm": (("lumen|lm", 1.0, "lm"), ("klm", 1000.0, "klm")),
    "mounting_height_m": (("metres|meters|metre|meter|mtr|m", 1.0, "m"),
                          ("feet|foot|ft|'", 0.3048, "ft")),
}


def _unit_lookup(field: str) -> tuple[str, dict[str, tuple[float, str]]]:
    """Regex alternation of *field*'s units (longest first) and unit text -> factor, label."""
    table: dict[str, tuple[float, str]] = {}
    for alts, factor, label in _CELL_UNITS[field]:
        for alt in alts.split("|"):
            table[alt] = (factor, label)
    alternation = "|".join(re.escape(a) for a in sorted(table, key=len, reverse=True))
    return alternation, table


def _header_unit(header: str, field: str) -> tuple[float, str]:
    """Factor and label of a unit named in a column header (``"Height (ft)"``,
    ``"POLE_HEIGHT_FT"``); the schema unit when none is named."""
    alternation, table = _unit_lookup(field)
    text = _fold(header)
    m = (re.search(rf"[\(\[]\s*({alternation})\s*[\)\]]", text)
         or re.search(rf"[\s_\-/]({alternation})$", text))
    base = _CELL_UNITS[field][0][2]
    return table[m.group(1)] if m else (1.0, base)


def _parse_quantity(values: pd.Series, field: str, header: str,
                    ) -> tuple[np.ndarray, np.ndarray, pd.Series | None, dict[str, int]]:
    """Numbers of a numeric column in the schema unit, with units in cells converted.

    Cells may carry a unit (``"16 ft"``, ``"30 FT"``, ``"6,5 m"``, ``"70W"``,
    ``"0,07 kW"``, ``"4 000 lm"``); a unit in the header (``"Höjd (ft)"``) applies to
    cells without one. Everything else as :func:`_parse_numbers`.

    Returns
    -------
    values, bad, text
        As :func:`_parse_numbers`, values in the schema unit (m, W, lm).
    converted : dict
        Unit label -> number of cells read in that unit (cells with a unit, and cells
        converted by the header's unit), for the layer report.
    """
    h_factor, h_label = _header_unit(header, field)
    base = _CELL_UNITS[field][0][2]
    converted: dict[str, int] = {}
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nums = values.to_numpy(dtype="float64", na_value=np.nan) * h_factor
        if h_label != base and np.isfinite(nums).any():
            converted[h_label] = int(np.isfinite(nums).sum())
        return nums, np.zeros(len(values), dtype=bool), None, converted
    text = _as_text(values)
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques, dtype="str")
    alternation, table = _unit_lookup(field)
    squeezed = distinct.str.replace(r"[\s\u00a0\u202f\u2009]", "", regex=True)
    parts = squeezed.str.extract(rf"(?i)^(.*?\d[.,]?)({alternation})$")
    has_unit = parts[1].notna().to_numpy(dtype=bool)
    number_text = pd.Series(np.where(has_unit, parts[0].fillna(""), distinct), dtype="str")
    nums_u, bad_u = _parse_number_texts(number_text, "")
    unit_u = parts[1].fillna("").str.lower().to_numpy(dtype=object)
    factor_u = np.array([table[u][0] if u else h_factor for u in unit_u], dtype="float64")
    label_u = np.array([table[u][1] if u else h_label for u in unit_u], dtype=object)
    nums = (nums_u * factor_u)[codes]
    ok = np.isfinite(nums)
    counted = ok & (has_unit[codes] | (h_label != base))
    for label, n in zip(*np.unique(label_u[codes][counted].astype(str), return_counts=True),
                        strict=True):
        converted[str(label)] = int(n)
    return nums, bad_u[codes], text, converted


# ---------------------------------------------------------------------------------------
# CRS inference and swapped axes
# ---------------------------------------------------------------------------------------

_WGS84 = CRS.from_epsg(4326)
_LOCAL_ZONE_CODES = frozenset(range(3007, 3019))


@functools.lru_cache(maxsize=64)
def _transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


@dataclass(frozen=True)
class _AxisChoice:
    """Outcome of :func:`_choose_crs_and_axes`."""

    crs: CRS
    swapped: bool = False
    verified: bool = True
    ambiguous: tuple[str, ...] = ()
    swapped_rows: np.ndarray | None = None  # positions, when rows disagree
    unswapped_rows: np.ndarray | None = None


def _candidate_crs(hint: CRS | None, target: CRS) -> list[CRS]:
    """CRSs to try for coordinate columns: the hint, or WGS 84/SWEREF 99/RT90."""
    if hint is not None:
        return [hint]
    cands = [_WGS84, CRS.from_epsg(3006)]
    if target.to_epsg() in _LOCAL_ZONE_CODES or target not in cands:
        cands.append(target)
    cands.append(CRS.from_epsg(3021))
    return list(dict.fromkeys(cands))


def _inside(a: np.ndarray, b: np.ndarray, crs: CRS, target: CRS,
            zone: shapely.Geometry | None) -> np.ndarray:
    """Which points (a, b) in *crs* fall in *zone* (target CRS) or the target's area of use."""
    with np.errstate(all="ignore"):
        if zone is not None:
            tx, ty = _transformer(crs, target).transform(a, b)
            return np.asarray(shapely.contains_xy(zone, tx, ty), dtype=bool)
        area = target.area_of_use
        if area is None:
            return np.zeros(len(a), dtype=bool)
        lon, lat = _transformer(crs, _WGS84).transform(a, b)
        w, s, e, n = area.bounds
        margin = 0.1  # degrees; municipalities at the edge of a zone's area of use
        return ((lon >= w - margin) & (lon <= e + margin)
                & (lat >= s - margin) & (lat <= n + margin))


def _choose_crs_and_axes(x: np.ndarray, y: np.ndarray, candidates: list[CRS], target: CRS,
                         boundary: shapely.Geometry | None, default: CRS) -> _AxisChoice:
    """Pick the CRS and axis order that put the points where they should be.

    Each (CRS, swapped?) hypothesis is scored by how many points it puts inside the
    municipality (buffered 2 km) or, without a boundary, inside the target CRS's area of use.
    *default* (unswapped) is used when no hypothesis puts any point there.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return _AxisChoice(default)
    xs, ys = x[ok], y[ok]
    zone = None
    if boundary is not None:
        zone = shapely.buffer(boundary, 2_000.0)
        shapely.prepare(zone)
    scored = []
    for crs in candidates:
        for swapped in (False, True):
            a, b = (ys, xs) if swapped else (xs, ys)
            scored.append((crs, swapped, _inside(a, b, crs, target, zone)))
    counts = [int(m.sum()) for _, _, m in scored]
    best = max(counts)
    if best == 0:
        return _AxisChoice(default, verified=False)
    best_plain = max((s for s in scored if not s[1]), key=lambda s: int(s[2].sum()))
    best_swap = max((s for s in scored if s[1]), key=lambda s: int(s[2].sum()))
    plain_mask, swap_mask = best_plain[2], best_swap[2]
    only_plain, only_swap = plain_mask & ~swap_mask, swap_mask & ~plain_mask
    if only_plain.any() and only_swap.any():
        pos = np.flatnonzero(ok)
        return _AxisChoice(default, swapped_rows=pos[only_swap],
                           unswapped_rows=pos[only_plain])
    winners = [s for s, c in zip(scored, counts, strict=True) if c == best]
    swapped = all(s[1] for s in winners)  # a tie between axis orders keeps the file's order
    same_order = [s[0] for s in winners if s[1] == swapped]
    names = tuple(dict.fromkeys(c.to_string() for c in same_order))
    chosen = target if target in same_order else same_order[0]
    return _AxisChoice(chosen, swapped=swapped,
                       ambiguous=names if len(names) > 1 else ())


def _crs_label(crs: CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name


# ---------------------------------------------------------------------------------------
# The funnel
# ---------------------------------------------------------------------------------------

#: Numeric columns: (unit-suffix regex, plausible maximum, unit). Negative values are errors,
#: 0 is read as unknown (NaN, with a warning).
_NUMERIC = {
    "wattage_w": ("w|watt", 2_000.0, "W"),
    "lumen_lm": ("lm|lumen", 300_000.0, "lm"),
    "mounting_height_m": ("m|meter", 40.0, "m"),
}


def _rows_text(rows: Sequence[str]) -> str:
    rows = list(rows)
    shown = ", ".join(rows[:10])
    return shown + (f" (+{len(rows) - 10} more)" if len(rows) > 10 else "")


def _normalize_luminaires(
    df: pd.DataFrame,
    crs: str | CRS,
    src: str,
    *,
    source: str = "inventory",
    boundary: shapely.Geometry | None = None,
    column_map: Mapping[str, str] | None = None,
    source_crs: str | CRS | None = None,
    rows: Sequence[str] | None = None,
    strict: bool = True,
    aliases: Mapping[str, Sequence[str]] | None = None,
    codes: Mapping[str, Mapping[str, str]] | None = None,
    reject_duplicates: bool = False,
) -> gpd.GeoDataFrame:
    """The one funnel for luminaires: columns, values, geometry, CRS, checks, index.

    Parameters
    ----------
    df : DataFrame or GeoDataFrame
        Raw rows. A GeoDataFrame with any non-empty geometry uses that geometry (in its CRS);
        otherwise coordinates come from coordinate columns.
    crs : str or CRS
        The profile's metric CRS (e.g. ``"EPSG:3007"``); the result is in this CRS.
    src : str
        Source label for messages (file name).
    source : str
        Value of the ``source`` column: ``"inventory"`` or ``"osm"``.
    boundary : shapely geometry, optional
        Municipality polygon in *crs* (metres). Used to infer the coordinate CRS and axis
        order, and luminaires outside it (2 km tolerance) are errors. None skips the check
        and infers from the area of use of *crs* instead.
    column_map : mapping, optional
        File column -> schema column (see :data:`MAPPABLE_COLUMNS`); wins over synonyms.
    source_crs : str or CRS, optional
        CRS of coordinate columns (or of a geometry without CRS); inferred when None.
    rows : sequence of str, optional
        Row label per row of *df* for messages; spreadsheet rows (from 2) by default.
    strict : bool, default True
        True (inventories): bad numbers are errors. False (crowd-sourced OSM data): bad
        numbers become NaN with a LayerWarning.
    aliases : mapping, optional
        Extra column names per schema column (profile ``[inventory.columns]``), tried
        before the built-in table.
    codes : mapping, optional
        Code tables per column (profile ``[inventory.codes]``): ``{"light_source": {"3":
        "HPS"}, "status": {"9": "ur drift"}}``; a cell's code is replaced by its meaning
        before it is read.
    reject_duplicates : bool, default False
        True (profile ``[inventory] strict = true``): a duplicate luminaire id is an error.
        False: both rows are kept, later ones with a derived id ``"<id>~2"``, ``"<id>~3"``,
        and a LayerWarning names the ids, rows and their distance.

    Raises
    ------
    ValidationError
        Every problem found: missing id/coordinate columns, empty or duplicate ids, text in
        numeric columns, implausible values, swapped-in-some-rows coordinates, luminaires
        outside the municipality.
    """
    target = CRS.from_user_input(crs)
    df = df.reset_index(drop=True)
    n = len(df)
    row_labels = [str(r) for r in rows] if rows is not None else [str(i + 2) for i in range(n)]
    if len(row_labels) != n:
        raise ValueError("rows must have one label per row of df")
    geom_col = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    if geom_col is not None:
        geoms = np.asarray(df.geometry.values, dtype=object)
        has_geometry = n == 0 or not bool(
            (shapely.is_missing(geoms) | shapely.is_empty(geoms)).all())
    else:
        has_geometry = False
    columns = [str(c) for c in df.columns if c != geom_col]
    df = df.rename(columns={c: str(c) for c in df.columns if c != geom_col})
    cols = _resolve_columns(columns, column_map, src, need_coordinates=not has_geometry,
                            aliases=aliases)
    use_xy = cols.x is not None and cols.y is not None and (
        not has_geometry or bool(column_map and {"x", "y"} <= set(column_map.values())))
    problems: list[Problem] = []
    degraded: list[str] = []

    def column(field: str) -> pd.Series:
        name = cols.fields.get(field)
        return df[name] if name is not None else pd.Series(pd.NA, index=df.index,
                                                           dtype="object")

    where = row_labels if source == "osm" else [f"row {r}" for r in row_labels]

    def bad_value(pos: int | np.integer, col: str, value: str, message: str, fix: str) -> None:
        if strict:
            problems.append(Problem(src, row_labels[pos], col, message, fix))
        else:
            degraded.append(f"{where[pos]} {col}={value!r}")

    # -- ids --------------------------------------------------------------------------
    id_col = cols.fields["luminaire_id"]
    ids = _as_text(df[id_col])
    for pos in np.flatnonzero((ids == "").to_numpy()):
        problems.append(Problem(src, row_labels[pos], id_col, "the luminaire id is empty",
                                "give every luminaire a unique id"))
    dup = ids.duplicated(keep=False) & (ids != "")
    dup_groups: list[tuple[str, list[int]]] = []
    if dup.any():
        positions = pd.Series(np.arange(n), index=df.index)[dup]
        for lum_id, group in positions.groupby(ids[dup], sort=False):
            if reject_duplicates:
                problems.append(Problem(
                    src, "", id_col, f"duplicate luminaire id '{lum_id}' in rows "
                    f"{_rows_text([row_labels[p] for p in group])}",
                    "give every luminaire a unique id (or remove the duplicate rows)"))
            else:
                dup_groups.append((str(lum_id), [int(p) for p in group]))
        if dup_groups:
            ids = _derive_ids(ids, dup_groups)

    # -- numbers ----------------------------------------------------------------------
    numbers: dict[str, np.ndarray] = {}
    zero_as_unknown: list[str] = []
    converted: list[str] = []
    for field, (_units, upper, unit) in _NUMERIC.items():
        if field not in cols.fields:
            numbers[field] = np.full(n, np.nan)
            continue
        col = cols.fields[field]
        vals, bad, text, units_read = _parse_quantity(df[col], field, col)
        if units_read and (source != "osm" or set(units_read) - {unit}):
            parts = [f"{k} {label}" for label, k in sorted(units_read.items())
                     if label != unit]
            same = units_read.get(unit, 0)
            detail = ", ".join(parts + ([f"{same} already in {unit}"] if same else []))
            converted.append(f"'{col}': {sum(units_read.values())} cell(s) with a unit "
                             f"read as {unit} ({detail})")
        shown = text if text is not None else _as_text(df[col])
        for pos in np.flatnonzero(bad):
            bad_value(pos, col, shown.iloc[pos], f"'{shown.iloc[pos]}' is not a number",
                      f"write a number such as 12,5 or 12.5 ({unit}), or leave the cell empty")
        with np.errstate(invalid="ignore"):
            wrong = (vals < 0) | (vals > upper)
        for pos in np.flatnonzero(wrong):
            bad_value(pos, col, shown.iloc[pos],
                      f"implausible value {shown.iloc[pos]} (expected 0–{upper:g} {unit})",
                      "correct the value, or leave the cell empty when unknown")
        zero = vals == 0
        zero_as_unknown.extend(f"{where[p]} '{col}'" for p in np.flatnonzero(zero))
        numbers[field] = np.where(wrong | zero, np.nan, vals)
    if zero_as_unknown:
        warn_layer("luminaires: 0 read as unknown (NaN) in", zero_as_unknown)
    if converted:
        warn_layer("luminaires: converted units in cells: " + "; ".join(converted))

    years = np.full(n, np.nan)
    if "install_year" in cols.fields:
        col = cols.fields["install_year"]
        years, bad, text = _parse_years(df[col])
        shown = text if text is not None else _as_text(df[col])
        this_year = dt.date.today().year
        for pos in np.flatnonzero(bad):
            bad_value(pos, col, shown.iloc[pos], f"'{shown.iloc[pos]}' is not a year",
                      "write the year with four digits, e.g. 2015, or leave the cell empty")
        with np.errstate(invalid="ignore"):
            wrong = (years < 1900) | (years > this_year + 1) | (np.round(years) != years)
        wrong &= np.isfinite(years)
        for pos in np.flatnonzero(wrong):
            bad_value(pos, col, shown.iloc[pos],
                      f"implausible installation year {shown.iloc[pos]}",
                      f"write a year between 1900 and {this_year}, or leave the cell empty")
        years = np.where(wrong, np.nan, years)

    # -- texts ------------------------------------------------------------------------
    code_tables = codes or {}
    raw_light = _as_text(column("light_source"))
    mapped: list[str] = []
    light_text, k = _apply_codes(raw_light, code_tables.get("light_source"))
    if k:
        mapped.append(f"{k} light source(s)")
    light = normalize_light_source(
        light_text, fix=("map the codes in the profile: [inventory.codes.light_source] "
                         '"<code>" = "HPS"' if source != "osm" else ""))
    owner_text, k = _apply_codes(_as_text(column("owner")), code_tables.get("owner"))
    if k:
        mapped.append(f"{k} owner(s)")
    owner = _normalize_owner(owner_text)
    status_text, k = _apply_codes(_as_text(column("status")), code_tables.get("status"))
    if k:
        mapped.append(f"{k} status(es)")
    if mapped:
        warn_layer("luminaires: mapped coded values with [inventory.codes]: "
                   + ", ".join(mapped))
    numbers["wattage_w"] = _wattage_from_text(numbers["wattage_w"], light_text)
    operating, unknown_status = operating_state(status_text)
    if unknown_status:
        warn_layer(f"luminaires: status value(s) not recognised, counted as in service: "
                   f"{', '.join(unknown_status[:20])}. Map them in the profile: "
                   '[inventory.codes.status] "<value>" = "ur drift" (or "i drift")')
    frame = pd.DataFrame({
        "luminaire_id": ids,
        "pole_id": _as_text(column("pole_id")),
        "light_source": light,
        "light_source_raw": raw_light,
        "wattage_w": numbers["wattage_w"],
        "lumen_lm": numbers["lumen_lm"],
        "mounting_height_m": numbers["mounting_height_m"],
        "install_year": pd.array(years, dtype="Int64"),
        "owner": owner,
        "status": status_text,
        "operating": operating,
        "source": pd.Series(source, index=df.index, dtype="str"),
        "_row": pd.Series(row_labels, index=df.index, dtype="str"),
    })
    labels = [f"row {r} ({i})" if i and source != "osm" else (i or f"row {r}")
              for r, i in zip(row_labels, ids, strict=True)]
    frame.index = pd.Index(labels)

    # -- geometry ---------------------------------------------------------------------
    hint = CRS.from_user_input(source_crs) if source_crs is not None else None
    keep = np.ones(n, dtype=bool)
    if use_xy:
        assert cols.x is not None and cols.y is not None
        x, bad_x, tx = _parse_numbers(df[cols.x], "m|°")
        y, bad_y, ty = _parse_numbers(df[cols.y], "m|°")
        for c, bad, t in ((cols.x, bad_x, tx), (cols.y, bad_y, ty)):
            for pos in np.flatnonzero(bad):
                assert t is not None
                problems.append(Problem(src, row_labels[pos], c,
                                        f"'{t.iloc[pos]}' is not a coordinate",
                                        "write the coordinate as a number, e.g. 6535946,2"))
        partial = np.isfinite(x) != np.isfinite(y)
        for pos in np.flatnonzero(partial & ~bad_x & ~bad_y):
            problems.append(Problem(src, row_labels[pos], "",
                                    f"only one of '{cols.x}'/'{cols.y}' is filled in",
                                    "fill in both coordinates, or leave both empty"))
        keep = ~(bad_x | bad_y | partial)
        if hint is None:
            named = {h for h in (_crs_from_header(cols.x), _crs_from_header(cols.y)) if h}
            if len(named) > 1:
                problems.append(Problem(src, "", "", f"the coordinate columns '{cols.x}' and "
                                        f"'{cols.y}' name different CRSs",
                                        "give both coordinates in the same CRS"))
            elif named:
                hint = CRS.from_user_input(named.pop())
        choice = _choose_crs_and_axes(x, y, _candidate_crs(hint, target), target, boundary,
                                      default=hint or target)
        what = f"the coordinate columns '{cols.x}'/'{cols.y}'"
        if choice.swapped:
            x, y = y, x
        valid = np.isfinite(x) & np.isfinite(y)
        points = gpd.points_from_xy(np.where(valid, x, 0.0), np.where(valid, y, 0.0))
        geometry = gpd.GeoSeries(np.where(valid, points, None), index=frame.index,
                                 crs=choice.crs)
        gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs=choice.crs)
        if hint is None and choice.verified:
            logger.info("%s: coordinates read as %s", src, _crs_label(choice.crs))
    else:
        assert isinstance(df, gpd.GeoDataFrame)
        file_crs = df.crs if df.crs is not None else hint
        gdf = gpd.GeoDataFrame(frame, geometry=df.geometry.values, crs=file_crs)
        gdf = gdf.set_geometry(_single_points(gdf.geometry))
        what = "the geometry"
        choice = _AxisChoice(file_crs) if file_crs is not None else _AxisChoice(target)

    gdf = gdf.loc[keep]
    layer = "luminaires"
    gdf = clean_geometries(gdf, ["Point"], layer)
    if not use_xy and gdf.crs is not None and len(gdf):
        pts = gdf.geometry.values
        file_crs = CRS.from_user_input(gdf.crs)
        choice = _choose_crs_and_axes(shapely.get_x(pts), shapely.get_y(pts), [file_crs],
                                      target, boundary, default=file_crs)
        if choice.swapped:
            swapped_pts = shapely.points(shapely.get_y(pts), shapely.get_x(pts))
            gdf = gdf.set_geometry(gpd.GeoSeries(swapped_pts, index=gdf.index, crs=gdf.crs))

    if choice.swapped_rows is not None and choice.unswapped_rows is not None:
        rows_s = gdf["_row"].iloc[choice.swapped_rows] if not use_xy else [
            row_labels[p] for p in choice.swapped_rows]
        rows_u = gdf["_row"].iloc[choice.unswapped_rows] if not use_xy else [
            row_labels[p] for p in choice.unswapped_rows]
        minority, majority = sorted([list(rows_s), list(rows_u)], key=len)
        raise ValidationError([*problems, Problem(
            src, "", "", f"{what} look swapped in some rows and not in others, so the axis "
            f"order cannot be decided (rows {_rows_text(minority)} disagree with rows "
            f"{_rows_text(majority)})",
            "put eastings/longitudes in the x column and northings/latitudes in the y column "
            "in every row, then load the file again")])
    if choice.swapped:
        warn_layer(f"{layer}: {what} look swapped (x holds northings/latitudes, y holds "
                   f"eastings/longitudes); swapped them back, reading them as "
                   f"{_crs_label(choice.crs)}")
    if choice.ambiguous:
        warn_layer(f"{layer}: {what} fit several CRSs ({', '.join(choice.ambiguous)}); "
                   f"assumed {_crs_label(choice.crs)}. Pass the CRS (profile [sources] "
                   "lighting_crs) or a boundary to be sure")
    if use_xy and hint is None and not choice.verified and boundary is None and len(gdf):
        warn_layer(f"{layer}: could not infer the CRS of {what} (values fit neither WGS 84, "
                   f"SWEREF 99 nor RT90 here); assumed {_crs_label(choice.crs)}. Set "
                   "[sources] lighting_crs in the profile")
    if degraded:
        warn_layer(f"{layer}: ignored values that are not plausible numbers", degraded)

    as_read = gdf.geometry
    gdf = to_profile_crs(gdf, target, src)
    problems.extend(check_within_boundary(gdf, boundary, src, row_numbers=gdf["_row"],
                                          source_geometry=as_read))
    if problems:
        raise ValidationError(problems)
    if dup_groups:
        _warn_duplicates(gdf, dup_groups, ids, row_labels)
    _warn_not_operating(gdf)
    if n and not len(gdf) and strict:
        raise ValidationError([Problem(src, "", "", "no luminaire has a usable location",
                                       "fill in the coordinates or geometry")])
    gdf.index = pd.Index(gdf["luminaire_id"].astype("str"))
    out = finalize(gdf, list(schemas.LUMINAIRES), schemas.LUMINAIRES_INDEX, target)
    logger.info("%s: %d luminaires (%s)", src, len(out), source)
    return out


_WATT_IN_TEXT = r"(?i)(?<![\d.,])(\d{1,4}(?:[.,]\d+)?)\s*(?:w|watt|watts)\b"


def _wattage_from_text(watt: np.ndarray, light_text: pd.Series) -> np.ndarray:
    """Wattages the light-source text states (``"HPS 100W"``, ``"SON-T 70 W"``) where the
    wattage cell is empty; reported in a LayerWarning. Known wattages are never replaced."""
    missing = ~np.isfinite(watt)
    if not missing.any():
        return watt
    codes, uniques = pd.factorize(light_text)
    found_u = pd.to_numeric(pd.Series(uniques, dtype="str").str.extract(
        _WATT_IN_TEXT, expand=False).str.replace(",", ".", regex=False), errors="coerce")
    found = found_u.to_numpy(dtype="float64", na_value=np.nan)[codes]
    use = missing & np.isfinite(found) & (found > 0) & (found <= _NUMERIC["wattage_w"][1])
    if use.any():
        examples = ", ".join(f"'{v}'" for v in pd.unique(light_text[use])[:5])
        warn_layer(f"luminaires: {int(use.sum())} wattage(s) read from the light-source text "
                   f"where the wattage cell is empty ({examples})")
    return np.where(use, found, watt)


def _derive_ids(ids: pd.Series, groups: list[tuple[str, list[int]]]) -> pd.Series:
    """Ids with every repeat after the first of a group renamed ``"<id>~2"``, ``"~3"``...
    (skipping names that are taken)."""
    out = ids.to_numpy(dtype=object).copy()
    taken = set(out.tolist())
    for lum_id, positions in groups:
        k = 1
        for pos in positions[1:]:
            k += 1
            while f"{lum_id}~{k}" in taken:
                k += 1
            out[pos] = f"{lum_id}~{k}"
            taken.add(out[pos])
    return pd.Series(out, index=ids.index, dtype="str")


def _warn_duplicates(gdf: gpd.GeoDataFrame, groups: list[tuple[str, list[int]]],
                     ids: pd.Series, row_labels: Sequence[str]) -> None:
    """One LayerWarning for kept duplicate ids: rows, derived ids, distance in metres."""
    where = pd.Series(gdf.geometry.values, index=gdf["luminaire_id"].to_numpy())
    lines = []
    for lum_id, positions in groups:
        first = where.get(lum_id)
        parts = []
        for pos in positions[1:]:
            new_id = str(ids.iloc[pos])
            other = where.get(new_id)
            dist = (f"{shapely.distance(first, other):.1f} m apart"
                    if first is not None and other is not None else "distance unknown")
            parts.append(f"row {row_labels[pos]} kept as '{new_id}' ({dist})")
        lines.append(f"'{lum_id}' (row {row_labels[positions[0]]}; {', '.join(parts)})")
    warn_layer(f"luminaires: {len(groups)} duplicate luminaire id(s), all rows kept: "
               + "; ".join(lines[:20]) + (f" (+{len(lines) - 20} more)" if len(lines) > 20
                                          else "")
               + ". Give every luminaire a unique id; set [inventory] strict = true to "
               "reject such files")


def _warn_not_operating(gdf: gpd.GeoDataFrame) -> None:
    """LayerWarnings listing luminaires out of service (faults), removed or planned."""
    words = {"out_of_service": "out of service by their status (faults: no light in the "
                               "lighting model)",
             "removed": "removed by their status (not in the lighting model or the LED plan)",
             "planned": "planned, not built (not in the lighting model or the LED plan)"}
    for state, text in words.items():
        ids = gdf["luminaire_id"][gdf["operating"].eq(state).to_numpy()]
        if len(ids):
            warn_layer(f"luminaires: {text}", ids)


def _single_points(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Single-part MultiPoints (common in exports) as Points; everything else unchanged."""
    values = geoms.values
    single = (np.asarray(geoms.geom_type == "MultiPoint")
              & (shapely.get_num_geometries(values) == 1))
    if not single.any():
        return geoms
    arr = np.asarray(values, dtype=object).copy()
    arr[single] = shapely.get_geometry(arr[single], 0)
    return gpd.GeoSeries(arr, index=geoms.index, crs=geoms.crs)


# ---------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """Text of a CSV file: UTF-16 (with BOM), UTF-8 (with or without BOM), else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


_DELIMITERS = (";", "\t", ",")


def _detect_delimiter(lines: list[str]) -> str | None:
    """``;``, tab or ``,``: the one that splits the header into most consistent columns."""
    sample = lines[:30]
    try:
        sniffed: str | None = csv.Sniffer().sniff("\n".join(sample), delimiters=";,\t").delimiter
    except csv.Error:
        sniffed = None
    scores: dict[str, tuple[bool, int]] = {}
    for delim in _DELIMITERS:
        parsed = [r for r in csv.reader(sample, delimiter=delim) if r]
        if not parsed or len(parsed[0]) < 2:
            continue
        width = len(parsed[0])
        scores[delim] = (all(len(r) == width for r in parsed[1:]), width)
    if not scores:
        return None
    best = max(scores.values())
    if sniffed in scores and scores[sniffed] == best:
        return sniffed
    return next(d for d in _DELIMITERS if scores.get(d) == best)


def _drop_blank(df: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """Drop empty rows and unnamed empty columns (Excel leftovers), keeping row numbers."""
    text = {c: _as_text(df[c]) for c in df.columns}
    empty_cols = [c for c in df.columns
                  if (str(c).startswith("Unnamed:") or not str(c).strip())
                  and (text[c] == "").all()]
    df = df.drop(columns=empty_cols)
    if len(df.columns):
        blank = np.logical_and.reduce([(text[c] == "").to_numpy() for c in df.columns])
    else:
        blank = np.ones(len(df), dtype=bool)
    return df.loc[~blank].reset_index(drop=True), [str(r) for r in rows[~blank]]


def read_delimited(path: Path | None, src: str, what: str = "the inventory",
                   other_types: str = ".xlsx, .gpkg, ...",
                   delimiter_fix: str = "separate the columns with semicolons, commas or tabs",
                   *, data: bytes | None = None) -> tuple[pd.DataFrame, list[str]]:
    """A delimited text file as text cells, with spreadsheet row numbers (header = row 1).

    UTF-16/UTF-8 (with or without BOM) or cp1252; ``;``, tab or ``,`` delimited. Shared by
    the inventory and the findings importers; *what*, *other_types* and *delimiter_fix*
    word the error messages. *data*: the file's bytes when they do not come from *path*
    (a log kept in the findings store); *src* names it in messages.

    Raises
    ------
    ValidationError
        Empty, binary/corrupt or undelimited file.
    """
    if data is None:
        if path is None:
            raise TypeError("read_delimited needs a path or data")
        data = path.read_bytes()
    if not data.strip():
        raise ValidationError([Problem(src, "", "", "the file is empty",
                                       f"export {what} again from its source program")])
    text, encoding = _decode(data)
    head = text[:4096]
    control = sum(1 for c in head if ord(c) < 32 and c not in "\t\r\n")
    if "\x00" in head or control > max(len(head) / 100, 10):
        raise ValidationError([Problem(
            src, "", "", "the file does not look like a text (CSV) file; it may be corrupt "
            "or of another type", f"export {what} again as CSV, or give the file its "
            f"real extension ({other_types})")])
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip())
    delimiter = _detect_delimiter(lines[first:])
    if delimiter is None:
        raise ValidationError([Problem(
            src, str(first + 1), "", "could not find the column delimiter (the header has one "
            "column)", delimiter_fix)])
    logger.info("%s: reading CSV (%s, delimiter %r)", src, encoding, delimiter)
    try:
        df = pd.read_csv(io.StringIO("\n".join(lines[first:])), sep=delimiter, dtype=str,
                         keep_default_na=False, na_filter=False, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValidationError([Problem(
            src, "", "", f"cannot be read as CSV ({str(exc).strip().splitlines()[-1][:200]})",
            "check the line named: a missing or extra delimiter, or an unclosed quote")]) from exc
    rows = np.arange(len(df)) + first + 2
    return _drop_blank(df, rows)


def _read_csv(path: Path, src: str) -> tuple[pd.DataFrame, list[str]]:
    """The inventory as a delimited text file (see :func:`read_delimited`)."""
    return read_delimited(path, src)


def _read_xlsx(path: Path, src: str) -> tuple[pd.DataFrame, list[str]]:
    """The first sheet of an Excel workbook, with spreadsheet row numbers."""
    if path.stat().st_size == 0:
        raise ValidationError([Problem(src, "", "", "the file is empty (0 bytes)",
                                       "export the inventory again from its source program")])
    try:
        df = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # zipfile.BadZipFile, openpyxl InvalidFileException, KeyError...
        raise ValidationError([Problem(
            src, "", "", f"cannot be read as an Excel workbook ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else ''})",
            "check that the file is a complete .xlsx; open it in Excel and save it again, or "
            "export the sheet as CSV")]) from exc
    return _drop_blank(df, np.arange(len(df)) + 2)


def _unwrap_ngsi(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """FIWARE NGSI-LD / NGSI v2 "normalized" entities carry every attribute as an object
    ``{"type": "Property", "value": 8}``: keep the ``value`` (GeoJSON exports of a context
    broker). Other columns are unchanged."""
    out = gdf
    for col in gdf.columns:
        if col == gdf.geometry.name or gdf[col].dtype != object:
            continue
        values = gdf[col]
        first = values.dropna().head(1)
        if len(first) and isinstance(first.iloc[0], dict) and "value" in first.iloc[0]:
            if out is gdf:
                out = gdf.copy()
            out[col] = values.map(lambda v: v.get("value") if isinstance(v, dict) else v)
            logger.info("%s: NGSI attribute objects unwrapped to their value", col)
    return out


def read_inventory(
    path: str | Path,
    crs: str | CRS,
    boundary: shapely.Geometry | None = None,
    column_map: Mapping[str, str] | None = None,
    source_crs: str | CRS | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
    codes: Mapping[str, Mapping[str, str]] | None = None,
    strict: bool = False,
) -> gpd.GeoDataFrame:
    """Read a municipal luminaire inventory.

    Parameters
    ----------
    path : str or Path
        CSV/TXT/TSV (UTF-8, UTF-8 with BOM, UTF-16 or cp1252; ``;``, ``,`` or tab
        delimited; decimal commas allowed), XLSX (first sheet), GeoPackage, Shapefile,
        GeoJSON, FlatGeobuf, KML or GML (NVDB road-data exports). Columns are recognised
        by the names in :data:`ALIASES_FILE` (Swedish, English, Norwegian and Swedish NVDB,
        Esri asset exports, FIWARE Streetlight).
    crs : str or CRS
        The profile's metric CRS, e.g. ``"EPSG:3007"``. The result is in this CRS.
    boundary : shapely geometry, optional
        Municipality polygon in *crs* (metres). Helps infer the CRS and axis order of
        coordinate columns; luminaires more than 2 km outside it are errors. None skips.
    column_map : mapping, optional
        File column -> schema column (``luminaire_id``, ``pole_id``, ``light_source``,
        ``wattage_w``, ``lumen_lm``, ``mounting_height_m``, ``install_year``, ``owner``,
        ``status``, ``x``, ``y``); wins over the built-in synonyms. This is the profile's
        ``[sources] lighting_columns``.
    source_crs : str or CRS, optional
        CRS of the coordinate columns (profile ``[sources] lighting_crs``), or of a spatial
        file that declares none. Without it the CRS comes from the file, from the column
        names (``"N (SWEREF 99 12 00)"``) or from the value ranges (WGS 84, SWEREF 99 TM,
        the profile's SWEREF 99 zone, RT90 2.5 gon V).
    aliases : mapping, optional
        Extra column names per schema column, tried first (profile ``[inventory.columns]``).
    codes : mapping, optional
        Code tables for ``light_source``, ``status`` and ``owner`` (profile
        ``[inventory.codes]``). Unmapped light-source codes count as unknown and are listed
        with their frequencies in a LayerWarning.
    strict : bool, default False
        Reject a file with duplicate luminaire ids (profile ``[inventory] strict``); by
        default both rows are kept, the later with a derived id, and a warning names them.

    Returns
    -------
    GeoDataFrame
        Points in *crs*, columns :data:`layers.schemas.LUMINAIRES`, unique string index
        ``luminaire_id``, ``source == "inventory"``. Heights in metres, power in watts,
        flux in lumen (cells such as ``"16 ft"``, ``"70W"``, ``"4 000 lm"`` converted).

    Raises
    ------
    ValidationError
        Missing/empty/corrupt file, missing CRS, missing id or coordinate columns, and every
        bad value (row, column and value named), duplicate id (with *strict*) or luminaire
        outside the municipality, all listed at once.

    Warns
    -----
    LayerWarning
        Unrecognised light sources or statuses (with counts), converted units, mapped
        codes, kept duplicate ids, luminaires out of service / removed / planned (with ids),
        swapped coordinate axes (fixed), repaired or dropped geometry, rows without
        coordinates (dropped).

    Examples
    --------
    >>> lum = read_inventory("tests/fixtures/lighting/belysning_sv_cp1252.csv", "EPSG:3007")
    >>> lum.crs.to_epsg(), lum.index.name, lum["light_source"].iloc[1]
    (3007, 'luminaire_id', 'HPS')
    """
    path = Path(path)
    src = source_label(path)
    ext = path.suffix.lower()
    kind = INVENTORY_FORMATS.get(ext)
    if kind is None:
        fix = ("save the sheet as .xlsx or CSV" if ext in (".xls", ".ods")
               else f"use one of {', '.join(sorted(INVENTORY_FORMATS))}")
        raise ValidationError([Problem(src, "", "", f"unsupported file type '{ext}'", fix)])
    if kind != "vector" and not path.exists():
        raise ValidationError([Problem(src, "", "", f"file not found: {path}",
                                       "check the path")])
    df: pd.DataFrame
    if kind == "csv":
        df, rows = _read_csv(path, src)
    elif kind == "xlsx":
        df, rows = _read_xlsx(path, src)
    else:
        gdf = _unwrap_ngsi(read_vector(path, require_crs=source_crs is None))
        if gdf.crs is None:
            gdf = gdf.set_crs(source_crs)
        df, rows = gdf, [str(i + 1) for i in range(len(gdf))]
    if not len(df):
        raise ValidationError([Problem(src, "", "", "the file has no data rows",
                                       "check that the right sheet or file was exported")])
    problems = [*check_aliases(aliases or {}, "profile"), *check_codes(codes or {}, "profile")]
    if problems:
        raise ValidationError(problems)
    return _normalize_luminaires(df, crs, src, source="inventory", boundary=boundary,
                                 column_map=column_map, source_crs=source_crs, rows=rows,
                                 aliases=aliases, codes=codes, reject_duplicates=strict)


def luminaires_from_osm(nodes: gpd.GeoDataFrame, crs: str | CRS) -> gpd.GeoDataFrame:
    """Luminaires from OpenStreetMap ``highway=street_lamp`` nodes.

    Parameters
    ----------
    nodes : GeoDataFrame
        Points in EPSG:4326 with index ``osm_id`` (int64) and string columns named like
        the OSM keys (missing tags NA; missing columns allowed): ``highway``,
        ``light:method``, ``lamp_type``, ``ref``, ``operator``, ``height``,
        ``lamp_mount``, ``light:count``. Rows whose ``highway`` is not ``street_lamp``
        are skipped.
    crs : str or CRS
        The profile's metric CRS, e.g. ``"EPSG:3007"``.

    Returns
    -------
    GeoDataFrame
        Points in *crs*, columns :data:`layers.schemas.LUMINAIRES`, index ``luminaire_id``
        = ``"osm-n<id>"``, ``source == "osm"``. ``pole_id`` from ``ref``, owner from
        ``operator``, light source from ``light:method`` (else ``lamp_type``), mounting
        height in metres from ``height`` (``"8"``, ``"8 m"``); wattage, lumen, year and
        status are unknown.

    Warns
    -----
    LayerWarning
        Unrecognised light sources; heights that are not plausible numbers (ignored).
    """
    if "highway" in nodes.columns:
        lamp = (nodes["highway"].astype("str") == "street_lamp").to_numpy()
        if not lamp.all():
            logger.debug("OSM: skipped %d nodes that are not street lamps", int((~lamp).sum()))
            nodes = nodes.loc[lamp]

    def tag(key: str) -> pd.Series:
        if key in nodes.columns:
            return nodes[key].astype("str").reset_index(drop=True)
        return pd.Series(np.nan, index=pd.RangeIndex(len(nodes)), dtype="str")

    method, lamp_type = tag("light:method"), tag("lamp_type")
    generic = method.isna() | method.str.lower().isin(["electric", "electrical"])
    light = method.where(~(generic & lamp_type.notna()), lamp_type)
    ids = [f"osm-n{i}" for i in nodes.index]
    frame = gpd.GeoDataFrame({
        "luminaire_id": ids,
        "ref": tag("ref"),
        "light:method": light,
        "height": tag("height"),
        "operator": tag("operator"),
    }, geometry=np.asarray(nodes.geometry.values), crs=nodes.crs)
    column_map = {"luminaire_id": "luminaire_id", "ref": "pole_id",
                  "light:method": "light_source", "height": "mounting_height_m",
                  "operator": "owner"}
    return _normalize_luminaires(frame, crs, "OpenStreetMap", source="osm",
                                 column_map=column_map, rows=ids, strict=False)
