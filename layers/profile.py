"""The municipality profile: every municipality-specific setting in one documented file.

A profile is a TOML file (for example ``data/stromstad/profile.toml``) loaded into the
frozen :class:`Profile` dataclass. Relative paths in the file are resolved against the
profile's folder. Unknown keys and wrong types are errors that name the key, so a typo
never silently falls back to a default (STYLE rule 6).

Lighting classes follow EN 13201-2:2015, table 3 (P-classes): average and minimum
maintained horizontal illuminance on the path surface, in lux.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pyproj import CRS

from layers._common import Problem, ValidationError

#: Buffer (m) around the convex hull of the paths when a profile names no boundary.
HULL_BUFFER_M = 500.0

#: EN 13201-2 P-classes: class -> (average lux, minimum lux), maintained horizontal illuminance.
P_CLASSES: dict[str, tuple[float, float]] = {
    "P1": (15.0, 3.0),
    "P2": (10.0, 2.0),
    "P3": (7.5, 1.5),
    "P4": (5.0, 1.0),
    "P5": (3.0, 0.6),
    "P6": (2.0, 0.4),
}


@dataclass(frozen=True)
class Sources:
    """Where the layers come from. Paths are resolved against the profile folder.

    Attributes
    ----------
    osm : Path or None
        Local OpenStreetMap extract (``.osm``, ``.osm.bz2`` or ``.osm.pbf``) with paths,
        street lamps, schools and crossings.
    osm_place : str or None
        Place name to download with osmnx when no local extract is given (needs network).
    lighting_inventory : Path or None
        Municipal luminaire inventory (CSV, XLSX, GeoPackage, Shapefile or GeoJSON). When
        missing, luminaires come from OSM ``highway=street_lamp`` nodes.
    lighting_columns : dict
        Explicit column mapping for the inventory, file column -> schema column, for
        files that the built-in synonyms miss.
    lighting_crs : str or None
        CRS of coordinate columns in the inventory when it cannot be inferred.
    schools : Path or None
        School grounds file; when missing, schools come from OSM ``amenity=school``.
    crossings : Path or None
        Crossings file; when missing, crossings come from OSM.
    priority_areas : Path or None
        Named priority-area polygons (GeoJSON or GeoPackage), e.g. Strömsdalen.
    findings : Path or None
        Safety-walk findings to seed the store with (the demo's few findings).
    residences : Path or None
        Homes (building polygons or address points, every feature a home) where school
        routes start; when missing, OSM residential buildings are used, and when there are
        none, a regular grid of origins.
    rasters : dict
        Named single-band rasters (e.g. night-time imagery), name -> path.
    photometry : Path or None
        Luminaire catalogue (TOML, see :func:`layers.photometric.load_catalogue`) mapping
        inventory types to EULUMDAT/IES files; when given, the ranking computes EN 13201-3
        illuminance with them (:mod:`gis.photometry`). Default: off (point-source model).
    """

    osm: Path | None = None
    osm_place: str | None = None
    lighting_inventory: Path | None = None
    lighting_columns: dict[str, str] = field(default_factory=dict)
    lighting_crs: str | None = None
    schools: Path | None = None
    crossings: Path | None = None
    priority_areas: Path | None = None
    findings: Path | None = None
    residences: Path | None = None
    rasters: dict[str, Path] = field(default_factory=dict)
    photometry: Path | None = None


@dataclass(frozen=True)
class Inventory:
    """How to read the municipal lighting inventory (``[inventory]``, all optional).

    Attributes
    ----------
    columns : dict
        Extra column names per schema column, tried before the built-in table
        (``layers/inventory_columns.toml``), e.g. ``wattage_w = ["LAMPWATT"]``. Keys:
        ``luminaire_id``, ``pole_id``, ``light_source``, ``wattage_w``, ``lumen_lm``,
        ``mounting_height_m``, ``install_year``, ``owner``, ``status``, ``x``, ``y``.
    codes : dict
        Code tables per column, ``[inventory.codes.light_source]`` ``"3" = "HPS"``,
        ``[inventory.codes.status]`` ``"9" = "ur drift"``, ``[inventory.codes.owner]``:
        a cell equal to a code (ignoring case and surrounding spaces) is read as its
        meaning. Light-source codes not in the table count as unknown and are listed with
        their frequencies in the layer report.
    strict : bool
        Reject an inventory with duplicate luminaire ids. Default False: keep both rows,
        give the later a derived id (``"A-1~2"``) and warn with the ids and their distance.
    """

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    strict: bool = False


@dataclass(frozen=True)
class Lighting:
    """Target lighting and lighting-model defaults.

    Attributes
    ----------
    target_class : dict
        EN 13201-2 P-class per path type (keys are :data:`layers.paths.PATH_TYPES`).
    school_class : str
        Stricter class for paths within ``school_distance_m`` of school grounds.
    school_distance_m : float
        Distance in metres within which ``school_class`` applies.
    priority_area_class : str
        Class for paths inside a priority area.
    segment_length_m : float
        Maximum segment length in metres for the analysis.
    default_mounting_height_m : float
        Mounting height in metres when the inventory has none.
    light_point_spacing_m : float
        Spacing in metres between new light points when estimating work packages.
    """

    target_class: dict[str, str] = field(default_factory=lambda: {
        "cycleway": "P4", "footway": "P4", "sidewalk": "P4", "crossing": "P3",
        "path": "P5", "pedestrian": "P3", "steps": "P4", "living_street": "P4",
        "track": "P6", "road": "P4",
    })
    school_class: str = "P3"
    school_distance_m: float = 300.0
    priority_area_class: str = "P3"
    segment_length_m: float = 25.0
    default_mounting_height_m: float = 6.0
    light_point_spacing_m: float = 30.0


@dataclass(frozen=True)
class Costs:
    """Cost and energy parameters for work packages and LED savings.

    Money is in the profile's ``currency`` (the ``_sek`` names are historical: they hold
    amounts in whatever currency the profile names).

    Attributes
    ----------
    currency : str
        ISO 4217 code of every amount, default ``"SEK"`` (e.g. ``"NOK"``, ``"EUR"``).
    currency_symbol : str
        How amounts are written in texts, default ``"kr"`` (e.g. ``"€"``).
    new_light_point_sek : float
        Installed cost of one new light point (pole, luminaire, cable, ground work), in
        ``currency``. Default 56 000 (Swedish municipal framework prices, 2023).
    led_retrofit_sek : float
        Cost of replacing one luminaire with LED on an existing pole, in ``currency``.
        Default 3 800.
    burning_hours_per_year : float
        Hours per year the lighting is on (h/year). Default 4 000 (dusk to dawn at 59° N).
    electricity_sek_per_kwh : float
        Electricity price including network charges and taxes, ``currency``/kWh. Default
        1.5 (Swedish price area SE3, 2023–2024).
    co2_kg_per_kwh : float
        Emission factor, kg CO2e/kWh. Default 0.045 (Nordic residual mix, consumption
        based); set your country's factor (e.g. 0.25 for the EU-27 average).
    led_power_w : float
        Power of a new LED luminaire for a path, W.
    """

    currency: str = "SEK"
    currency_symbol: str = "kr"

    new_light_point_sek: float = 56_000.0
    led_retrofit_sek: float = 3_800.0
    burning_hours_per_year: float = 4_000.0
    electricity_sek_per_kwh: float = 1.5
    co2_kg_per_kwh: float = 0.045
    led_power_w: float = 25.0


@dataclass(frozen=True)
class Weights:
    """Ranking weights (dimensionless; each component is scaled to 0..1 before weighting).

    Attributes
    ----------
    lighting_status : float
        How dark the segment is relative to its target class.
    school : float
        Closeness to school grounds.
    crossing : float
        Closeness to marked crossings.
    priority_area : float
        Inside a named priority area.
    findings : float
        Safety-walk findings nearby, by severity.
    school_route : float
        Use by shortest routes to schools.
    commute_darkness : float
        Share of the school commute that is dark.
    """

    lighting_status: float = 3.0
    school: float = 2.0
    crossing: float = 1.5
    priority_area: float = 1.5
    findings: float = 1.0
    school_route: float = 1.5
    commute_darkness: float = 0.5


@dataclass(frozen=True)
class Limits:
    """Limits on imported and uploaded data (``[limits]``), so a hostile or mistaken file is
    refused quickly with a message naming the limit, instead of filling memory or running
    for minutes. Over a limit, nothing of the file is stored.

    Attributes
    ----------
    rows_per_import : int
        Most findings (rows, features, placemarks, waypoints) in one imported file. Counted
        while streaming, before the file is parsed as a whole.
    chars_per_text : int
        Most characters in one text field (description, internal note, category, id).
    photos_per_finding : int
        Most photos (files and web links) attached to one finding.
    upload_mb : float
        Most megabytes (10^6 bytes) in one import: the file plus the photos it refers to,
        or everything uploaded at once in the app. Also the most a KMZ's KML document may
        decompress to.
    """

    rows_per_import: int = 100_000
    chars_per_text: int = 5_000
    photos_per_finding: int = 10
    upload_mb: float = 50.0

    @property
    def upload_bytes(self) -> int:
        """:attr:`upload_mb` in bytes."""
        return int(self.upload_mb * 1_000_000)


@dataclass(frozen=True)
class Moderation:
    """``[moderation]``: which new findings wait for a moderator before publication.

    Attributes
    ----------
    review_channels : tuple of str
        Channels whose findings come from residents (public forms): they start as
        "awaiting moderation" and are never public before a staff member approves them.
        Exact channel names or prefixes (``"import:survey123"``, ``"public"``). Default:
        Survey123, Epicollect5 and Open311 imports, the public channel and Open311.
    staff_public : bool
        Findings staff enter in other channels are public at once (default True); False
        sends every new finding through moderation.
    """

    review_channels: tuple[str, ...] = ("import:survey123", "import:epicollect5",
                                        "import:open311", "public", "open311")
    staff_public: bool = True


@dataclass(frozen=True)
class Profile:
    """Everything municipality-specific. Load with :func:`load_profile`.

    Attributes
    ----------
    name : str
        Municipality name, e.g. ``"Strömstad"``.
    kommun_code : str
        Municipality code: the four-digit SCB kommunkod in Sweden (``"1486"``), or any
        short code elsewhere (Norwegian ``"3107"``, Finnish ``"285"``, ``"DK-101"``): 1–12
        letters, digits, dots, dashes or underscores.
    crs : str
        Metric analysis CRS, e.g. ``"EPSG:3007"`` (SWEREF 99 12 00). Every layer leaves
        :mod:`layers` in this CRS.
    boundary : Path or None
        Municipality boundary polygon file (any CRS the file declares). Optional: without
        it the convex hull of the paths, buffered by :data:`HULL_BUFFER_M`, is used, with a
        warning (luminaires and homes are then checked against that hull).
    latitude, longitude : float
        Reference point in degrees (WGS 84) for sun-position calculations.
    timezone : str
        IANA time zone, e.g. ``"Europe/Stockholm"``.
    designated_schools : tuple of str
        Schools designated for the yearly safety walks (names as in the school layer).
    demo : bool
        True when the sources are the synthetic demo data; the app then shows a notice.
    store : str or None
        Findings store: a GeoPackage file path (relative to the profile folder; default
        ``walks.gpkg`` beside the profile), or a PostgreSQL database for a shared store:
        ``postgresql://host:port/dbname`` (never a password: use ``PGPASSWORD``,
        ``~/.pgpass`` or a service file), ``service=NAME`` or ``pg:`` (libpq's PG*
        environment variables). ``TRYGGA_STORE`` in the environment overrides it.
    store_schema : str
        PostgreSQL schema of the store's tables (default ``trygga``).
    store_photos : Path or None
        With PostgreSQL: a folder shared by every server for the photo bytes; default
        (None) keeps them in the database.
    moderation : Moderation
        Which new findings wait for a moderator before they can be public.
    school_times : dict
        School day per school, for the commute darkness per school
        (:func:`gis.darkness.commute_darkness_by_school`): school name (as in the school
        layer) or ``"default"`` -> ``{start = "HH:MM", end = "HH:MM", travel_min = N}``,
        local times of the first lesson and the end of the day and the minutes the trip to
        or from school takes (default 30). Schools not listed use ``"default"``, else
        :data:`DEFAULT_SCHOOL_DAY`. See :meth:`school_day`.
    deadlines : dict
        Deadlines of measures in days from the finding: finding category (e.g.
        ``"belysning"``), responsible party (e.g. ``"Trafikverket"``), ``"category |
        party"`` for one pair, or ``"default"`` -> days (see
        :func:`walks.deadlines.deadline_days`).
    road_owners : Path or None
        Road-owner layer (NVDB väghållare lines, any vector format with a ``owner``/
        ``vaghallare`` column) that suggests who is responsible for a finding
        (:func:`walks.responsibility.suggest_responsible`).
    open311_services : dict
        Open311 GeoReport v2 service code -> finding category, for importing
        ``requests.json`` (:mod:`walks.importers.open311`) and for the exported
        ``services.json``.
    partner_registers : tuple of Path
        Promise registers of other municipalities whose joint promises (``joint_with``
        naming this profile's ``name``) this municipality takes part in, e.g. Tanum's
        ``["../stromstad/medborgarloften_2023_2024.toml"]``; their reports show them in a
        joint section.
    protocol_weeks : int
        Weeks after a safety walk within which its public protocol should be published
        (the Brå/Boverket walk cycle; default 4). A later protocol is shown as overdue
        (:func:`walks.cycle.walk_cycles`).
    sources, inventory, lighting, costs, weights, limits
        See :class:`Sources`, :class:`Inventory`, :class:`Lighting`, :class:`Costs`,
        :class:`Weights`, :class:`Limits`.
    path : Path
        The profile file itself.
    """

    name: str
    kommun_code: str
    crs: str
    latitude: float
    longitude: float
    boundary: Path | None = None
    timezone: str = "Europe/Stockholm"
    designated_schools: tuple[str, ...] = ()
    demo: bool = False
    store: str | None = None
    store_schema: str = "trygga"
    store_photos: Path | None = None
    moderation: Moderation = field(default_factory=Moderation)
    school_times: dict[str, dict[str, str | int | float]] = field(default_factory=dict)
    deadlines: dict[str, int] = field(default_factory=dict)
    road_owners: Path | None = None
    open311_services: dict[str, str] = field(default_factory=dict)
    partner_registers: tuple[Path, ...] = ()
    protocol_weeks: int = 4
    sources: Sources = field(default_factory=Sources)
    inventory: Inventory = field(default_factory=Inventory)
    lighting: Lighting = field(default_factory=Lighting)
    costs: Costs = field(default_factory=Costs)
    weights: Weights = field(default_factory=Weights)
    limits: Limits = field(default_factory=Limits)
    path: Path = Path(".")

    @property
    def folder(self) -> Path:
        """Folder of the profile file; relative paths in the profile start here."""
        return self.path.parent

    def target_lux(self, p_class: str) -> tuple[float, float]:
        """Average and minimum maintained lux for an EN 13201-2 P-class."""
        return P_CLASSES[p_class]

    def school_day(self, school: str) -> tuple[str, str, float]:
        """(start, end, travel_min) of *school*: its ``school_times`` entry (name matched
        case-insensitively), else ``school_times["default"]``, else
        :data:`DEFAULT_SCHOOL_DAY`; missing keys of an entry come from the default."""
        by_name = {k.casefold(): v for k, v in self.school_times.items()}
        base = {**dict(zip(("start", "end", "travel_min"), DEFAULT_SCHOOL_DAY, strict=True)),
                **by_name.get("default", {})}
        entry = {**base, **by_name.get(school.strip().casefold(), {})}
        return (str(entry["start"]), str(entry["end"]),
                float(cast(float, entry["travel_min"])))


#: School day used when the profile gives none: first lesson, end of day, travel minutes.
DEFAULT_SCHOOL_DAY: tuple[str, str, float] = ("08:15", "14:30", 30.0)
_SCHOOL_TIME_KEYS = ("start", "end", "travel_min")


def _hhmm(value: object) -> int | None:
    """Minutes after midnight of an ``"HH:MM"`` text, or None."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    try:
        t = dt.time.fromisoformat(value)
    except ValueError:
        return None
    return t.hour * 60 + t.minute


def _school_time_problems(p: Profile, src: str) -> list[Problem]:
    problems = []
    for school, entry in p.school_times.items():
        key = f"school_times.{school}"
        for k, v in entry.items():
            if k not in _SCHOOL_TIME_KEYS:
                problems.append(_kp(src, "", f"{key}.{k}", "unknown key",
                                    f"use only {', '.join(_SCHOOL_TIME_KEYS)}"))
            elif k == "travel_min" and (isinstance(v, (bool, str)) or not 0 < v <= 180):
                problems.append(_kp(src, "", f"{key}.{k}", f"{v!r} is not a number of "
                                    "minutes in (0, 180]", "give e.g. travel_min = 30"))
            elif k != "travel_min" and _hhmm(v) is None:
                problems.append(_kp(src, "", f"{key}.{k}", f"{v!r} is not a time HH:MM",
                                    'write e.g. start = "08:15"'))
        start, end = _hhmm(entry.get("start")), _hhmm(entry.get("end"))
        if start is not None and end is not None and end <= start:
            problems.append(_kp(src, "", f"{key}.end", f"the school day ends ({entry['end']})"
                                f" before it starts ({entry['start']})",
                                "give start and end within one day"))
    for key, days in p.deadlines.items():
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
            problems.append(_kp(src, "", f"deadlines.{key}", f"{days!r} is not a number "
                                "of days above 0", "give whole days, e.g. 10"))
    return problems


def _kp(source: str, row: str, key: str, message: str, fix: str) -> Problem:
    """A :class:`Problem` about a profile key (messages say "key", not "column")."""
    return Problem(source, row, key, message, fix, column_label="key")


_SECTIONS: dict[str, type] = {
    "sources": Sources, "inventory": Inventory, "lighting": Lighting, "costs": Costs,
    "weights": Weights, "moderation": Moderation, "limits": Limits,
}


def _type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is Path:
        return isinstance(value, str)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        (item, *_rest) = typing.get_args(annotation)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if origin is dict:
        _k, v_t = typing.get_args(annotation)
        return isinstance(value, dict) and all(
            isinstance(k, str) and _type_ok(v, v_t) for k, v in value.items())
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _type_name(annotation: Any) -> str:
    text = str(annotation).replace("pathlib.", "").replace("typing.", "")
    return (text.replace("<class '", "").replace("'>", "").replace("Path", "path string")
            .replace("NoneType", "none"))


def _convert(value: Any, annotation: Any, base: Path) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if value is None:
        return None
    if annotation is Path or (origin in (typing.Union, types.UnionType) and Path in args):
        p = Path(value)
        return p if p.is_absolute() else Path(os.path.normpath(base / p))
    if annotation is float:
        return float(value)
    if origin is tuple and typing.get_args(annotation)[0] is Path:
        return tuple(_convert(v, Path, base) for v in value)
    if origin is tuple:
        return tuple(value)
    if origin is dict and args[1] is Path:
        return {k: _convert(v, Path, base) for k, v in value.items()}
    if origin is dict and typing.get_origin(args[1]) in (tuple, dict):
        return {k: _convert(v, args[1], base) for k, v in value.items()}
    if origin is dict:
        return dict(value)
    return value


def _build(cls: type, raw: dict[str, Any], prefix: str, base: Path, src: str,
           problems: list[Problem]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{prefix}{key}"
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"did you mean '{prefix}{close[0]}'?" if close else (
                f"allowed keys here: {', '.join(sorted(fields))}")
            problems.append(_kp(src, "", full, "unknown key", f"remove it or rename it; {hint}"))
            continue
        ann = hints[key]
        if key in _SECTIONS and cls is Profile:
            if not isinstance(value, dict):
                problems.append(_kp(src, "", full, "expected a [table]",
                                        f"write it as a [{key}] section"))
                continue
            kwargs[key] = _SECTIONS[key](**_build(_SECTIONS[key], value, f"{key}.", base, src,
                                                 problems))
            continue
        if not _type_ok(value, ann):
            problems.append(_kp(
                src, "", full, f"wrong type {type(value).__name__} (value {value!r})",
                f"use a value of type {_type_name(ann)}"))
            continue
        kwargs[key] = _convert(value, ann, base)
    for name, f in fields.items():
        if (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                and name not in kwargs and name not in raw):
            problems.append(_kp(src, "", f"{prefix}{name}", "required key is missing",
                                    f"add {prefix}{name} to the profile"))
    return kwargs


def load_profile(path: str | Path) -> Profile:
    """Load and validate a municipality profile from a TOML file.

    Parameters
    ----------
    path : str or Path
        The profile file, e.g. ``data/stromstad/profile.toml``.

    Returns
    -------
    Profile
        Frozen profile; relative paths resolved against the profile folder.

    Raises
    ------
    ValidationError
        Unknown keys, wrong types, missing required keys, an unknown CRS, a geographic
        (degree) CRS, unknown P-classes or missing files; all listed at once.

    Examples
    --------
    >>> p = load_profile("data/stromstad/profile.toml")
    >>> p.crs, p.kommun_code
    ('EPSG:3007', '1486')
    """
    path = Path(path)
    src = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError([_kp(src, "", "", "profile file not found",
                                       "check the path given with --profile")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([_kp(src, "", "", f"not valid TOML ({exc})",
                                       "fix the syntax at the line given")]) from None
    problems: list[Problem] = []
    kwargs = _build(Profile, raw, "", path.parent, src, problems)
    if problems:
        raise ValidationError(problems)
    profile = Profile(**kwargs, path=path)
    problems.extend(_check_semantics(profile, src))
    if problems:
        raise ValidationError(problems)
    return profile


def _check_semantics(p: Profile, src: str) -> list[Problem]:
    from layers.lighting import check_aliases, check_codes

    problems = [*check_aliases(p.inventory.columns, src), *check_codes(p.inventory.codes, src)]
    try:
        crs = CRS.from_user_input(p.crs)
        if not crs.is_projected:
            problems.append(_kp(src, "", "crs", f"{p.crs} is a geographic CRS in degrees",
                                    "use a metric CRS such as EPSG:3007 (SWEREF 99 12 00) "
                                    "or EPSG:3006 (SWEREF 99 TM)"))
    except Exception:  # pyproj raises CRSError; we add the fix
        problems.append(_kp(src, "", "crs", f"unknown CRS {p.crs!r}",
                                "use an EPSG code such as 'EPSG:3007'"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,11}", p.kommun_code):
        problems.append(_kp(src, "", "kommun_code",
                            f"{p.kommun_code!r} is not a short municipality code",
                            "use 1–12 letters, digits, dots, dashes or underscores, e.g. the "
                            "SCB kommunkod '1486' for Strömstad or '3107' for Fredrikstad"))
    if not re.fullmatch(r"[A-Z]{3}", p.costs.currency):
        problems.append(_kp(src, "", "costs.currency", f"{p.costs.currency!r} is not an "
                            "ISO 4217 currency code", "use three capital letters, e.g. "
                            "'SEK', 'NOK', 'DKK' or 'EUR'"))
    if not (-90 <= p.latitude <= 90 and -180 <= p.longitude <= 180):
        problems.append(_kp(src, "", "latitude", "latitude/longitude out of range",
                                "give the reference point in degrees WGS 84"))
    classes = {f"lighting.target_class.{k}": v for k, v in p.lighting.target_class.items()}
    classes["lighting.school_class"] = p.lighting.school_class
    classes["lighting.priority_area_class"] = p.lighting.priority_area_class
    for key, value in classes.items():
        if value not in P_CLASSES:
            problems.append(_kp(src, "", key, f"unknown lighting class {value!r}",
                                    f"use one of {', '.join(P_CLASSES)}"))
    files = {"boundary": p.boundary} if p.boundary is not None else {}
    for f in dataclasses.fields(Sources):
        v = getattr(p.sources, f.name)
        if isinstance(v, Path):
            files[f"sources.{f.name}"] = v
    for name, r in p.sources.rasters.items():
        files[f"sources.rasters.{name}"] = r
    for i, r in enumerate(p.partner_registers):
        files[f"partner_registers[{i}]"] = r
    if p.road_owners is not None:
        files["road_owners"] = p.road_owners
    problems.extend(_school_time_problems(p, src))
    for key, fpath in files.items():
        if not fpath.exists():
            problems.append(_kp(src, "", key, f"file not found: {fpath}",
                                    "fix the path (relative paths start at the profile folder)"
                                    " or regenerate the demo data with `python data/demo/generate_demo.py`"))
    for f in dataclasses.fields(Limits):
        if getattr(p.limits, f.name) <= 0:
            problems.append(_kp(src, "", f"limits.{f.name}", "the limit must be above 0",
                                    f"use a positive number (default {f.default})"))
    for f in dataclasses.fields(Weights):
        if getattr(p.weights, f.name) < 0:
            problems.append(_kp(src, "", f"weights.{f.name}", "negative weight",
                                    "use a weight of 0 or more"))
    return problems
