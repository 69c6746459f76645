"""The one funnel for imported findings (STYLE rule 1).

Every reader in :mod:`walks.importers` turns its file into a :class:`RawTable` of
:class:`RawFinding` rows, still in the source's own words: texts as found, severity and
time as found, photo references as found, coordinates in the source's CRS (or in one of a
few candidate CRSs for coordinate columns). :func:`normalize_findings` then does everything
else, the same way for every format:

* strips control, bidi-override and invisible characters from texts and ids
  (:func:`walks.text.clean_text`; HTML and script tags are kept as text: escaping is
  the public view's job);
* maps the category through the injectable category mapper (unknown → ``övrigt`` with a
  warning, never dropped);
* parses severity (1–3, or words such as ``hög``/``high``) and the created time (naive times
  are read in the reader's time zone, Europe/Stockholm unless the tool documents UTC);
* resolves photo references against the source file's folder and refuses any that escape
  it; web links are not downloaded but noted;
* picks the coordinates' CRS among the candidates, and reports every row whose point is
  missing, axis-swapped or outside the municipality;
* reports duplicate source ids.

Every problem is collected (never only the first) as a :class:`~layers._common.Problem`
naming file, row, field and fix. Rows with a problem are left out of
:attr:`ImportResult.findings` and listed in :attr:`ImportResult.rejected`; imports are
all-or-nothing, so a caller that stores findings should refuse the file while
:attr:`ImportResult.problems` is not empty (:meth:`ImportResult.raise_for_problems`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from layers._common import Problem, raise_if_problems, source_label
from layers.lighting import (  # shared CSV/coordinate helpers (private there, reused here)
    _cell_text,
    _crs_label,
    _fold_words,
    _inside,
    _transformer,
)
from layers.profile import Limits
from walks.importers.limits import over_limit as over_limit_problem
from walks.text import clean_text as _clean
from walks.text import needs_cleaning

logger = logging.getLogger(__name__)

#: Columns of :attr:`ImportResult.findings` (besides ``geometry``), in order.
FINDING_COLUMNS: tuple[str, ...] = (
    "source_id", "category", "raw_category", "severity", "description", "internal_note",
    "created", "photo_paths", "walk_id", "channel", "non_public", "luminaire_id",
)

#: Time zone of the result's ``created`` column, and of naive times unless a tool says UTC.
LOCAL_TZ = "Europe/Stockholm"

#: Tolerance around the municipality boundary, in metres (coast lines, border roads).
BOUNDARY_TOLERANCE_M = 500.0

#: A category mapper: free text -> (label, recognised). See :func:`walks.categories.map_category`.
CategoryMapper = Callable[[str], tuple[str, bool]]

#: Column names that hold personal data in the tools' exports. They are never read into any
#: field (Survey123 ``Creator``/``Editor`` hold user names, Epicollect5 ``created_by`` an
#: e-mail address). Compared after :func:`norm_key`.
PERSONAL_KEYS = frozenset({
    "creator", "editor", "createdby", "creatorname", "createduser", "lasteditedby",
    "lastediteduser", "editedby", "email", "epost", "mail", "namn", "name", "fullname",
    "anvandare", "user", "username", "userid", "author", "forfattare", "reporter",
    "rapportor", "uppgiftslamnare", "telefon", "phone", "mobil", "personnummer",
})

_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_WINDOWS_ABS = re.compile(r"^(?:[a-z]:[\\/]|\\\\)", re.IGNORECASE)


@dataclass
class RawFinding:
    """One finding as a reader found it, before any checking.

    Attributes
    ----------
    row : str
        Row label for messages and the result's index: the spreadsheet row (header = 1) for
        CSV files, the feature/entry/waypoint/placemark number (from 1) otherwise.
    source_id : str
        Stable id within the source; empty when the id field is empty (a problem).
    id_field : str
        Field the id came from, for messages.
    category, category_fallback : str
        Category text as found; the fallback (e.g. a GPX waypoint name) is used only when
        the category is empty and the fallback is recognised.
    severity, created : object
        As found (text, number, datetime or None).
    description, internal_note, walk_id : object
        Text as found.
    photos : list of str
        Photo references as found: relative paths or web links.
    photo_field : str
        Field the photos came from, for messages.
    x, y : float
        Easting/longitude and northing/latitude in one of the table's candidate CRSs
        (NaN when missing).
    non_public : bool
        The source marks the finding as not for publication (QField kit ``ej_publik``).
    luminaire_id : object
        The luminaire a lamp fault is about (a lamp number), as found.
    """

    row: str
    source_id: str = ""
    id_field: str = ""
    category: object = ""
    category_fallback: str = ""
    severity: object = None
    description: object = ""
    internal_note: object = ""
    created: object = None
    photos: list[str] = field(default_factory=list)
    photo_field: str = "photo"
    walk_id: object = ""
    luminaire_id: object = ""
    x: float = math.nan
    y: float = math.nan
    non_public: bool = False


@dataclass
class RawTable:
    """What a reader hands to :func:`normalize_findings`.

    Attributes
    ----------
    path : Path
        The source file; photo paths are resolved against its folder.
    format : str
        Detected format: ``qfield``, ``survey123``, ``epicollect5``, ``gpx``, ``kml``,
        ``geojson``, ``csv`` or ``shapefile``. The channel is ``import:<format>``.
    rows : list of RawFinding
    crs_candidates : sequence of CRS
        CRS of ``x``/``y``: one for spatial files, a few to choose from for coordinate
        columns (the one that puts most points in the municipality wins).
    coord_field : str
        Name of the coordinate field(s) in messages, e.g. ``"lat/lon"`` or ``"geometry"``.
    coord_names : (str, str)
        What to call ``x`` and ``y`` in messages, e.g. ``("lon", "lat")``.
    field_names : dict
        Finding field -> the source's column name, to name in messages.
    naive_tz : str
        Time zone of times written without an offset.
    us_dates : bool
        Read ``10/15/2024 4:02:00 PM`` style dates (Survey123 CSV exports).
    problems, warnings : list
        What the reader already found (bad numbers, ignored personal-data columns ...).
    """

    path: Path
    format: str
    rows: list[RawFinding]
    crs_candidates: Sequence[CRS]
    coord_field: str = "geometry"
    coord_names: tuple[str, str] = ("x", "y")
    field_names: dict[str, str] = field(default_factory=dict)
    naive_tz: str = LOCAL_TZ
    us_dates: bool = False
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return f"import:{self.format}"


@dataclass(frozen=True)
class ImportResult:
    """Findings read from one file, and everything wrong with it.

    Attributes
    ----------
    findings : GeoDataFrame
        The rows without problems: columns :data:`FINDING_COLUMNS` and Point ``geometry`` in
        the profile CRS. The index (named ``row``) is the row label used in messages.
        ``severity`` is ``Int64`` (1–3 or ``<NA>``), ``created`` tz-aware in
        Europe/Stockholm (``NaT`` when absent), ``photo_paths`` a list of absolute paths
        inside the source file's folder, ``walk_id`` a string or ``<NA>``, ``non_public``
        bool (True only where the source says so: the QField kit's ``ej_publik``).
    problems : list of Problem
        Every problem, by row (``row == ""`` for the whole file). Rows with a problem are
        not in *findings*.
    warnings : list of str
        Degraded but importable data: unknown categories set to ``övrigt``, photos not
        found, web photo links, stripped control characters, ignored personal-data columns.
    format : str
        Detected format (see :class:`RawTable`).
    path : Path
        The file read.
    rows_read : int
        Data rows in the file, with and without problems.
    rejected : DataFrame
        Rows left out because of problems: ``source_id``, ``raw_category``,
        ``description``, indexed like *findings*.
    """

    findings: gpd.GeoDataFrame
    problems: list[Problem]
    warnings: list[str]
    format: str
    path: Path
    rows_read: int
    rejected: pd.DataFrame

    @property
    def ok(self) -> bool:
        """True when the file has no problems and can be imported as a whole."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise one :class:`~layers._common.ValidationError` listing every problem."""
        raise_if_problems(self.problems)


# ---------------------------------------------------------------------------------------
# Field names
# ---------------------------------------------------------------------------------------

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss"})


def norm_key(name: object) -> str:
    """Comparable form of a field name: ``"Allvarlighetsgrad (1–3)"`` → ``"allvarlighetsgrad"``.

    Lower-case, diacritics and text in parentheses removed, only ``a-z0-9`` kept.
    Epicollect5's question numbers (``"2_Beskrivning"``) are dropped.
    """
    text = re.sub(r"[\(\[\{][^\)\]\}]*[\)\]\}]", " ", str(name))
    text = re.sub(r"^\s*\d+_", "", text)
    text = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", text)


#: Field-name synonyms per finding field (compared with :func:`norm_key`), in priority
#: order. Includes 10-character Shapefile truncations. Exact matches are tried first, then
#: names that start with a synonym of 5+ characters ("Beskrivning av platsen").
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "source_id": ("globalid", "uuid", "ec5uuid", "id", "fyndid", "findingid", "fid",
                  "objectid", "objekt id", "lopnummer"),
    "internal_note": ("intern_anteckning", "intern_ant", "internanteckning", "internal_note",
                      "internal_n", "internalnote", "intern kommentar", "internal comment",
                      "internt", "staff note", "intern"),
    "description": ("beskrivning", "beskrivnin", "description", "descriptio", "desc",
                    "kommentar", "comment", "comments", "synpunkt", "synpunkter",
                    "observation", "anteckning", "notes", "note", "text", "fritext"),
    "category": ("kategori", "category", "kategorie", "kategory", "problemtyp", "typ av brist",
                 "brist", "typ", "type", "tema", "theme", "klass"),
    "severity": ("allvarlighetsgrad", "allvarligh", "allvarlighet", "allvar", "severity",
                 "severity_level", "prioritet", "priority", "prio", "grad"),
    "created": ("datum", "tidpunkt", "datum och tid", "datumtid", "tid", "date", "datetime",
                "time", "timestamp", "created", "created_at", "creationdate", "creationda",
                "skapad", "registrerad", "observerad"),
    "walk_id": ("walk_id", "walkid", "vandring", "vandring_id", "vandringsid", "walk"),
    # the lamp a fault is about (a lamp number from a fault form, an inventory id)
    "luminaire_id": ("luminaire_id", "luminaireid", "armatur_id", "armaturid", "armatur-id",
                     "armaturnummer", "armaturnr", "lampnummer", "lampnr", "lamp_id", "lampid",
                     "lamp number", "lampnumber", "belysningspunkt", "ljuspunkt",
                     "streetlightid", "streetlight_id", "light_id", "lightid"),
    "photos": ("foto", "foton", "photo", "photos", "bild", "bilder", "image", "images",
               "picture", "pictures", "bilaga", "attachment", "media"),
}
_SYNONYM_KEYS = {f: tuple(dict.fromkeys(norm_key(s) for s in names))
                 for f, names in FIELD_SYNONYMS.items()}
_INTERNAL = re.compile(r"intern|staff|ejpublik|notpublic|konfidentiell|confidential")
_PREFIX_FIELDS = ("internal_note", "description", "category", "severity", "created")
_PHOTO_PREFIXES = ("foto", "photo", "bild", "image", "picture")


def match_fields(columns: Sequence[str],
                 skip: Iterable[str] = ()) -> tuple[dict[str, str], list[str], list[str]]:
    """Map source columns to finding fields by synonym.

    Parameters
    ----------
    columns : sequence of str
        Column/property names of the source.
    skip : iterable of str
        Columns already used (coordinates, ...).

    Returns
    -------
    fields : dict
        Finding field -> column (``photos`` excluded).
    photos : list of str
        Columns with photo references (``foto``, ``foto_2``, ``photo1`` ...).
    personal : list of str
        Columns with personal data that are ignored (see :data:`PERSONAL_KEYS`).
    """
    used = set(skip)
    personal = [c for c in columns if norm_key(c) in PERSONAL_KEYS]
    used.update(personal)
    keys = {c: norm_key(c) for c in columns if c not in used}
    fields: dict[str, str] = {}
    # A column marked internal anywhere in its name ("Anteckning (intern)") is never read
    # into a public field: it can only be the internal note.
    internal = [c for c in keys if _INTERNAL.search(_fold_words(c).replace(" ", ""))]
    exact = [c for c in internal if keys[c] in _SYNONYM_KEYS["internal_note"]]
    if internal:
        fields["internal_note"] = (exact or internal)[0]
    used.update(internal)
    for f, syns in _SYNONYM_KEYS.items():
        if f == "photos" or f in fields:
            continue
        for s in syns:
            hit = next((c for c, k in keys.items() if k == s and c not in used), None)
            if hit is not None:
                fields[f] = hit
                used.add(hit)
                break
    for f in _PREFIX_FIELDS:
        if f in fields:
            continue
        for s in (s for s in _SYNONYM_KEYS[f] if len(s) >= 5):
            hit = next((c for c, k in keys.items() if k.startswith(s) and c not in used), None)
            if hit is not None:
                fields[f] = hit
                used.add(hit)
                break
    photos = [c for c, k in keys.items() if c not in used and (
        k in _SYNONYM_KEYS["photos"] or k.startswith(_PHOTO_PREFIXES))]
    return fields, photos, personal


def personal_warning(columns: Sequence[str]) -> list[str]:
    """The warning that personal-data columns were ignored, if there are any."""
    if not columns:
        return []
    return [f"ignored column(s) with personal data, never imported: "
            f"{', '.join(repr(str(c)) for c in columns)}"]


# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------


def clean_text(value: object) -> tuple[str, bool]:
    """Text of a cell cleaned by :func:`walks.text.clean_text`; and whether any control,
    bidi-override or invisible character was removed.

    Keeps newlines and tabs (``\\r\\n`` becomes ``\\n``), normalises to NFC. HTML/script
    tags are kept as text (escaping is the job of whatever renders HTML).

    Examples
    --------
    >>> clean_text("Lampa\\x07 <b>trasig</b>\\r\\n")
    ('Lampa <b>trasig</b>', True)
    """
    if isinstance(value, list | tuple):
        value = "; ".join(_cell_text(v) for v in value)
    raw = _cell_text(value)
    return _clean(raw), needs_cleaning(raw)


_SEVERITY_WORDS = {
    "lag": 1, "low": 1, "liten": 1, "mindre": 1, "minor": 1, "ringa": 1,
    "medel": 2, "medium": 2, "mellan": 2, "mattlig": 2, "moderate": 2, "normal": 2,
    "hog": 3, "high": 3, "stor": 3, "allvarlig": 3, "severe": 3, "major": 3, "kritisk": 3,
    "critical": 3, "akut": 3,
}
_SEVERITY_NUMBER = re.compile(r"([123])(?:[.,]0+)?(?:\s*(?:[-–:.)]\s*)?[^\d\s.,].*)?", re.S)


def parse_severity(value: object) -> tuple[int | None, bool]:
    """Severity 1–3 from a number, ``"3"``, ``"3,0"``, ``"3 - hög"`` or a word.

    Returns ``(severity or None, ok)``; empty values are ``(None, True)``.

    Examples
    --------
    >>> parse_severity("2,0"), parse_severity("Hög"), parse_severity(""), parse_severity(5)
    ((2, True), (3, True), (None, True), (None, False))
    """
    if isinstance(value, bool | np.bool_):
        return None, False
    if isinstance(value, int | float | np.integer | np.floating):
        f = float(value)
        if math.isnan(f):
            return None, True
        return (int(f), True) if f in (1.0, 2.0, 3.0) else (None, False)
    text, _ = clean_text(value)
    if not text:
        return None, True
    if m := _SEVERITY_NUMBER.fullmatch(text):
        return int(m.group(1)), True
    words = _fold_words(text).split()
    if words and words[0] in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[words[0]], True
    return None, False


_ISO_DATE = re.compile(
    r"\d{4}([-/])\d{1,2}\1\d{1,2}(?:[ T]\d{1,2}(?::\d{2}){0,2}(?:[.,]\d+)?)?"
    r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE)
_US_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S",
               "%m/%d/%Y %H:%M", "%m/%d/%Y")


def _localize(ts: pd.Timestamp, naive_tz: str) -> pd.Timestamp:
    if ts.tzinfo is None:
        ts = ts.tz_localize(naive_tz, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert(LOCAL_TZ)


def parse_created(value: object, naive_tz: str = LOCAL_TZ,
                  us_dates: bool = False) -> tuple[pd.Timestamp | None, bool]:
    """Created time as a tz-aware Timestamp in Europe/Stockholm.

    Accepts datetimes, ISO 8601 text (``2024-10-15 18:02``, ``2024-10-15T16:02:00.000Z``,
    also GDAL's ``2024/10/15 18:02:00``),
    epoch milliseconds (ArcGIS JSON) and, with *us_dates*, ``10/15/2024 4:02:00 PM``.
    Naive times are read in *naive_tz*. Returns ``(timestamp or None, ok)``; empty values
    are ``(None, True)``.
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None, True
    if isinstance(value, dt.datetime | dt.date | np.datetime64):
        ts = pd.Timestamp(value)
        return (None, True) if pd.isna(ts) else (_localize(ts, naive_tz), True)
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_):
        f = float(value)
        if math.isnan(f):
            return None, True
        if 1e11 <= f < 1e14:  # epoch milliseconds
            return pd.Timestamp(f, unit="ms", tz="UTC").tz_convert(LOCAL_TZ), True
        return None, False
    text, _ = clean_text(value)
    if not text:
        return None, True
    if _ISO_DATE.fullmatch(text):
        try:
            return _localize(pd.Timestamp(text.replace(",", ".")), naive_tz), True
        except ValueError:
            return None, False
    if us_dates:
        for fmt in _US_FORMATS:
            try:
                return _localize(pd.Timestamp(dt.datetime.strptime(text, fmt)), naive_tz), True
            except ValueError:
                continue
    return None, False


def split_photo_refs(value: object) -> list[str]:
    """Photo references in one cell: a list, or text separated by ``;``, ``|`` or newlines."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [r for v in value for r in split_photo_refs(v)]
    text, _ = clean_text(value)
    return [p.strip().strip('"') for p in re.split(r"[;\n|]", text) if p.strip().strip('"')]


def is_url(ref: str) -> bool:
    """True for ``https://...`` and other ``scheme://`` references."""
    return bool(_URL.match(ref))


# ---------------------------------------------------------------------------------------
# The funnel
# ---------------------------------------------------------------------------------------


def _row_sort_key(row: str) -> tuple[int, int, str]:
    if not row:
        return (0, 0, "")
    return (1, int(row), "") if row.isdigit() else (2, 0, row)


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if abs(v) < 1_000 else f"{v:.1f}"


def _rows_text(rows: Sequence[str], limit: int = 10) -> str:
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return ", ".join(rows[:limit]) + more


def empty_findings(crs: CRS) -> gpd.GeoDataFrame:
    """A findings frame with no rows, the right columns, dtypes and CRS."""
    return _frame([], crs, "")


@dataclass
class _Record:
    """One checked finding (a row of the result)."""

    row: str
    source_id: str
    category: str
    raw_category: str
    severity: int | None
    description: str
    internal_note: str
    created: pd.Timestamp | None
    photo_paths: list[str]
    walk_id: str
    geometry: shapely.Geometry | None = None
    non_public: bool = False
    luminaire_id: str = ""


def _frame(records: Sequence[_Record], crs: CRS, channel: str) -> gpd.GeoDataFrame:
    index = pd.Index([r.row for r in records], name="row", dtype="str")

    def text(name: str) -> pd.Series:
        return pd.Series([getattr(r, name) for r in records], index=index, dtype="str")

    created = pd.Series([r.created for r in records], index=index, dtype=object)
    created = pd.to_datetime(created.where(created.notna(), None), utc=True)
    frame = pd.DataFrame({
        "source_id": text("source_id"),
        "category": text("category"),
        "raw_category": text("raw_category"),
        "severity": pd.Series(pd.array([r.severity for r in records], dtype="Int64"),
                              index=index),
        "description": text("description"),
        "internal_note": text("internal_note"),
        "created": created.dt.tz_convert(LOCAL_TZ).dt.as_unit("us"),
        "photo_paths": pd.Series([list(r.photo_paths) for r in records], index=index,
                                 dtype=object),
        "walk_id": pd.Series([r.walk_id or pd.NA for r in records], index=index,
                             dtype="string"),
        "channel": pd.Series([channel] * len(records), index=index, dtype="str"),
        "non_public": pd.Series([r.non_public for r in records], index=index, dtype="bool"),
        "luminaire_id": pd.Series([r.luminaire_id or pd.NA for r in records], index=index,
                                  dtype="string"),
    }, index=index)
    geometry = gpd.GeoSeries([r.geometry for r in records], index=index, crs=crs)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


@dataclass(frozen=True)
class _CoordinateVerdict:
    crs: CRS
    inside: np.ndarray
    swapped: np.ndarray


def _judge_coordinates(x: np.ndarray, y: np.ndarray, candidates: Sequence[CRS], target: CRS,
                       zone: shapely.Geometry | None) -> _CoordinateVerdict:
    """Pick the candidate CRS that puts most points inside; flag swapped rows.

    A row is *inside* when its point (in the chosen CRS) lies in the municipality (or,
    without a boundary, in the target CRS's area of use), and *swapped* when it does not
    but would with x and y exchanged. Swapped rows are errors, never corrected.
    """
    best: tuple[tuple[int, int], _CoordinateVerdict] | None = None
    for crs in candidates:
        inside = _inside(x, y, crs, target, zone)
        swapped = ~inside & _inside(y, x, crs, target, zone)
        score = (int(inside.sum()), int(swapped.sum()))
        if best is None or score > best[0]:
            best = (score, _CoordinateVerdict(crs, inside, swapped))
    assert best is not None, "at least one candidate CRS"
    return best[1]


def _resolve_photo(ref: str, base: Path) -> tuple[str, str]:
    """``("ok", path)``, ``("missing", path)``, ``("remote", url)`` or ``("escape", ref)``."""
    if is_url(ref):
        return ("remote", ref) if ref.lower().startswith(("http://", "https://")) else (
            "escape", ref)
    if _WINDOWS_ABS.match(ref):
        return "escape", ref
    rel = ref.replace("\\", "/")
    root = base.resolve()
    try:
        resolved = (root / rel).resolve()
    except (OSError, RuntimeError):  # symlink loops
        return "escape", ref
    if not resolved.is_relative_to(root) or resolved == root:
        return "escape", ref
    return ("ok" if resolved.is_file() else "missing"), str(resolved)


def normalize_findings(table: RawTable, crs: CRS | str, boundary: shapely.Geometry | None,
                       category_mapper: CategoryMapper,
                       limits: Limits | None = None) -> ImportResult:
    """Check and convert a reader's rows into an :class:`ImportResult`.

    Parameters
    ----------
    table : RawTable
        The reader's rows and what it already found.
    crs : CRS or str
        The profile's metric CRS (e.g. EPSG:3007); the result's geometry is in it.
    boundary : shapely geometry or None
        Municipality polygon in *crs* (metres). Points more than
        :data:`BOUNDARY_TOLERANCE_M` outside it are problems. Without it, points outside
        the area of use of *crs* are problems.
    category_mapper : callable
        Text -> (label, recognised).
    limits : Limits, optional
        ``[limits]`` of the profile (defaults when not given): a text field longer than
        ``chars_per_text`` or more than ``photos_per_finding`` photos is a problem of its
        row; the file plus its photos over ``upload_mb`` a problem of the file.
    """
    lim = limits or Limits()
    target = CRS.from_user_input(crs)
    src = source_label(table.path)
    base = table.path.parent
    rows = table.rows
    problems = list(table.problems)
    warnings = list(table.warnings)

    # -- ids --------------------------------------------------------------------------
    first_row: dict[str, str] = {}
    stripped: list[str] = []
    for r in rows:
        if needs_cleaning(r.source_id):
            stripped.append(r.row)
        r.source_id = _clean(r.source_id, single_line=True)
        if not r.source_id:
            problems.append(Problem(src, r.row, r.id_field, "the id is empty",
                                    "give every finding a unique id"))
        elif r.source_id in first_row:
            problems.append(Problem(
                src, r.row, r.id_field,
                f"duplicate id '{r.source_id}' (also in row {first_row[r.source_id]})",
                "give every finding a unique id, or remove the duplicate row"))
        else:
            first_row[r.source_id] = r.row

    # -- texts, category, severity, time, photos ----------------------------------------
    unknown: dict[str, list[str]] = {}
    no_category: list[str] = []
    missing_photos: list[str] = []
    remote_rows: list[str] = []
    records: list[_Record] = []
    photo_files: set[str] = set()
    for r in rows:
        texts = {}
        for name in ("description", "internal_note", "walk_id", "category", "luminaire_id"):
            texts[name], was_stripped = clean_text(getattr(r, name))
            if was_stripped and r.row not in stripped:
                stripped.append(r.row)
        texts["walk_id"] = _clean(texts["walk_id"], single_line=True)
        texts["luminaire_id"] = _clean(texts["luminaire_id"], single_line=True)
        for name, value in (("source_id", r.source_id), *texts.items()):
            if len(value) > lim.chars_per_text:
                problems.append(over_limit_problem(
                    src, f"the text has {len(value):,} characters".replace(",", " "),
                    lim.chars_per_text, "chars_per_text", "characters",
                    row=r.row, column=table.field_names.get(name, name),
                    fix="shorten the text (put long material in a document of its own)"))
        raw_category = texts["category"]
        label, recognised = category_mapper(raw_category)
        if not raw_category and r.category_fallback:
            fb_label, fb_ok = category_mapper(r.category_fallback)
            if fb_ok:
                raw_category, label, recognised = r.category_fallback, fb_label, True
        if not recognised:
            if raw_category:
                unknown.setdefault(raw_category, []).append(r.row)
            else:
                no_category.append(r.row)

        severity, ok = parse_severity(r.severity)
        if not ok:
            problems.append(Problem(src, r.row, table.field_names.get("severity", "severity"),
                                    f"severity '{clean_text(r.severity)[0]}' is not 1, 2 or 3",
                                    "use 1 (låg/low), 2 (medel/medium) or 3 (hög/high), or "
                                    "leave it empty"))
        created, ok = parse_created(r.created, table.naive_tz, table.us_dates)
        if not ok:
            problems.append(Problem(src, r.row, table.field_names.get("created", "created"),
                                    f"'{clean_text(r.created)[0]}' is not a date and time",
                                    "write it as ÅÅÅÅ-MM-DD TT:MM, e.g. 2024-10-15 18:02, or "
                                    "leave it empty"))

        paths: list[str] = []
        links: list[str] = []
        for ref in r.photos:
            kind, value = _resolve_photo(ref, base)
            if kind == "ok":
                paths.append(value)
            elif kind == "missing":
                missing_photos.append(f"row {r.row} '{ref}'")
            elif kind == "remote":
                links.append(value)
            else:
                problems.append(Problem(
                    src, r.row, r.photo_field,
                    f"photo path '{ref}' points outside the folder of the file",
                    "keep the photos in a folder next to the file (e.g. DCIM/) and refer to "
                    "them with relative paths such as DCIM/bild.jpg"))
        if len(r.photos) > lim.photos_per_finding:
            problems.append(over_limit_problem(
                src, f"the finding has {len(r.photos)} photos", lim.photos_per_finding,
                "photos_per_finding", "photos", row=r.row, column=r.photo_field,
                fix="keep the photos that show the finding best"))
        photo_files.update(paths)
        note = texts["internal_note"]
        if links:
            remote_rows.append(r.row)
            extra = "Fotolänkar (ej hämtade): " + " ".join(links)
            note = f"{note}\n{extra}" if note else extra
        records.append(_Record(
            row=r.row, source_id=r.source_id, category=label, raw_category=raw_category,
            severity=severity, description=texts["description"], internal_note=note,
            created=created, photo_paths=paths, walk_id=texts["walk_id"],
            non_public=r.non_public, luminaire_id=texts["luminaire_id"]))

    total = table.path.stat().st_size + sum(Path(f).stat().st_size for f in photo_files)
    if total > lim.upload_bytes:
        problems.append(over_limit_problem(
            src, f"the file and its {len(photo_files)} photos are {total / 1e6:.1f} MB",
            lim.upload_mb, "upload_mb", "MB",
            fix="import the findings in parts, or use smaller photos"))

    # -- coordinates ------------------------------------------------------------------
    x = np.array([r.x for r in rows], dtype="float64")
    y = np.array([r.y for r in rows], dtype="float64")
    have = np.isfinite(x) & np.isfinite(y)
    zone = None
    if boundary is not None:
        zone = shapely.buffer(boundary, BOUNDARY_TOLERANCE_M)
        shapely.prepare(zone)
    where = "the municipality" if zone is not None else (
        f"the area covered by the profile CRS {_crs_label(target)}")
    coord_fix = ("check the coordinates and their CRS (WGS 84 lat/lon or SWEREF 99 E/N); "
                 "remove the row if the finding belongs elsewhere")
    xname, yname = table.coord_names
    coord_columns = {table.coord_field, "geometry", xname, yname, f"{xname}/{yname}",
                     f"{yname}/{xname}"}
    has_geometry_problem = {p.row for p in problems if p.column in coord_columns}
    for pos in np.flatnonzero(~have):
        if rows[pos].row in has_geometry_problem:
            continue
        problems.append(Problem(src, rows[pos].row, table.coord_field,
                                "the finding has no location (coordinates are missing)",
                                "fill in the position, or remove the row"))
    if have.any():
        pos_have = np.flatnonzero(have)
        verdict = _judge_coordinates(x[have], y[have], table.crs_candidates, target, zone)
        tx, ty = _transformer(verdict.crs, target).transform(x[have], y[have])
        points = shapely.points(tx, ty)
        for k, pos in enumerate(pos_have):
            r = rows[pos]
            given = f"({xname} {_num(r.x)}, {yname} {_num(r.y)})"
            if verdict.inside[k]:
                records[pos].geometry = points[k]
            elif verdict.swapped[k]:
                problems.append(Problem(
                    src, r.row, table.coord_field,
                    f"the coordinates look axis-swapped: {given} lies outside {where}, but "
                    "with x and y exchanged it lies inside",
                    "exchange the two values (latitude/northing and longitude/easting are in "
                    "each other's place); swapped rows are never corrected automatically"))
            else:
                problems.append(Problem(src, r.row, table.coord_field,
                                        f"the point {given} lies outside {where}", coord_fix))
        if len(table.crs_candidates) > 1:
            logger.info("%s: coordinates read as %s", src, _crs_label(verdict.crs))

    # -- warnings ---------------------------------------------------------------------
    if unknown:
        listing = ", ".join(f"'{v}' (row{'s' if len(rs) > 1 else ''} {_rows_text(rs)})"
                            for v, rs in unknown.items())
        n = sum(len(rs) for rs in unknown.values())
        warnings.append(f"{n} finding(s) with an unrecognised category set to 'övrigt' "
                        f"(the text is kept in raw_category): {listing}")
    if no_category:
        warnings.append(f"{len(no_category)} finding(s) without a category set to 'övrigt': "
                        f"rows {_rows_text(no_category)}")
    if missing_photos:
        warnings.append(f"{len(missing_photos)} photo file(s) not found in the folder of "
                        f"{src}, not attached: {_rows_text(missing_photos)}")
    if remote_rows:
        warnings.append(f"photo links on the web were not downloaded (noted in "
                        f"internal_note) in rows {_rows_text(remote_rows)}")
    if stripped:
        warnings.append(f"control characters removed from text in rows "
                        f"{_rows_text(stripped)}")

    problems.sort(key=lambda p: _row_sort_key(p.row))
    bad = {p.row for p in problems}
    good = [rec for rec in records if rec.row not in bad]
    findings = _frame(good, target, table.channel)
    rejected_records = [rec for rec in records if rec.row in bad]
    rejected = pd.DataFrame(
        {"source_id": [rec.source_id for rec in rejected_records],
         "raw_category": [rec.raw_category for rec in rejected_records],
         "description": [rec.description for rec in rejected_records]},
        index=pd.Index([rec.row for rec in rejected_records], name="row", dtype="str"),
        dtype="str")
    logger.info("%s (%s): %d findings, %d problems, %d warnings", src, table.format,
                len(findings), len(problems), len(warnings))
    return ImportResult(findings=findings, problems=problems, warnings=warnings,
                        format=table.format, path=table.path, rows_read=len(rows),
                        rejected=rejected)


def failed_result(path: Path, fmt: str, crs: CRS | str, problems: Sequence[Problem],
                  warnings: Sequence[str] = ()) -> ImportResult:
    """Result for a file that could not be read at all (empty, corrupt, unsupported)."""
    target = CRS.from_user_input(crs)
    return ImportResult(findings=empty_findings(target), problems=list(problems),
                        warnings=list(warnings), format=fmt, path=path, rows_read=0,
                        rejected=pd.DataFrame({"source_id": [], "raw_category": [],
                                               "description": []},
                                              index=pd.Index([], name="row", dtype="str"),
                                              dtype="str"))
