"""Photometric files (EULUMDAT ``.ldt``, IES LM-63-2002 ``.ies``) and the luminaire catalogue.

Both readers end in one funnel, :func:`_normalize_photometry`, which expands the file's
C-plane symmetry to a full table over ``C = 0 … 360°`` (the last plane a copy of the first,
so interpolation wraps), checks the angles and values, and returns a :class:`Photometry`
with **absolute** intensities in candela at the file's rated flux.

Conventions (EN 13032-1 / CIE 121 C-γ system)
    ``γ`` is the angle from the luminaire's downward axis (nadir, 0°) to the zenith (180°).
    C-planes turn about that axis, counter-clockwise seen from above, from ``C0``; for road
    and path luminaires ``C0`` is along the road axis and ``C90`` points across the road
    (street side). IES Type C horizontal angles are read as C angles (the same convention,
    as DIALux and the LDT↔IES converters do).

EULUMDAT (the format description of the LiTG / DIAL "EULUMDAT" file, one value a line)
    Lines 1–26 header: company, ``Ityp``, ``Isym`` (0 none, 1 about the vertical axis,
    2 about the C0–C180 plane, 3 about the C90–C270 plane, 4 about both), ``Mc``, ``Dc``,
    ``Ng``, ``Dg``, report, luminaire name and number, file name, date/user, dimensions
    (mm), downward flux fraction and light output ratio (%), intensity conversion factor,
    measurement tilt, ``n`` lamp sets; then per set: number of lamps, type, total flux
    (lm), colour, colour rendering, wattage (W); then 10 direct ratios, ``Mc`` C angles,
    ``Ng`` γ angles and the intensities in cd/klm of the *stored* C-planes:
    ``Isym`` 0: all ``Mc``; 1: one; 2: ``C0 … C180``; 3: ``C270 … C360/0 … C90``;
    4: ``C0 … C90``. Absolute cd = value × conversion factor × lamp flux / 1000.

IES LM-63-2002 (ANSI/IES LM-63-02)
    ``IESNA:LM-63-2002`` (or ``-1995``/``-1991``) and ``[KEYWORD]`` lines, ``TILT=NONE``
    (lamp-tilt tables are refused), then numbers separated by blanks/newlines: lamps, lumens
    per lamp (−1 = absolute photometry), candela multiplier, vertical and horizontal angle
    counts, photometric type (1 = Type C; Types A/B are refused), units, width, length,
    height, ballast factor, future use, input watts, the vertical angles (``0 … 90`` or
    ``0 … 180``; ``90 … 180`` for uplights), the horizontal angles and the candela values,
    one horizontal angle after the other. Horizontal angles ``0`` (only): rotationally
    symmetric; ``0 … 90``: symmetric in each quadrant; ``0 … 180``: about the C0–C180 plane;
    ``90 … 270``: about the C90–C270 plane; ``0 … 360``: none. cd = value × multiplier ×
    ballast factor.

The catalogue (:func:`load_catalogue`) is a TOML file named by the profile's
``sources.photometry``; see :class:`CatalogueEntry` for its entries.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from layers._common import Problem, ValidationError, source_label
from layers.profile import P_CLASSES
from layers.schemas import LIGHT_SOURCES

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: C-plane symmetries, as EULUMDAT numbers them (``Isym``).
SYMMETRIES = ("none", "vertical axis", "C0-C180", "C90-C270", "C0-C180 and C90-C270")


@dataclass(frozen=True)
class Photometry:
    """A luminaire's intensity distribution I(C, γ), expanded to all C-planes.

    Attributes
    ----------
    name : str
        Luminaire name from the file.
    source : str
        File name, for messages.
    c_deg : ndarray
        C angles in degrees, ascending from 0 to 360 inclusive (360 repeats 0).
    gamma_deg : ndarray
        γ angles in degrees, ascending, within 0 … 180.
    intensity_cd : ndarray
        Intensities in candela at the rated flux, shape ``(len(c_deg), len(gamma_deg))``.
    rated_flux_lm : float
        Lamp flux the intensities belong to (all lamps, lm); for absolute IES photometry
        the luminaire flux integrated from the table.
    symmetry : str
        The file's symmetry, one of :data:`SYMMETRIES`.
    power_w : float
        Luminaire power in watts (NaN when the file has none).
    """

    name: str
    source: str
    c_deg: FloatArray
    gamma_deg: FloatArray
    intensity_cd: FloatArray
    rated_flux_lm: float
    symmetry: str
    power_w: float = math.nan

    def luminaire_flux_lm(self) -> float:
        """Flux leaving the luminaire, integrated from the table (lm): the sum over
        C-γ cells of I·sin γ·Δγ·ΔC (trapezoidal in γ, C)."""
        g = np.radians(self.gamma_deg)
        c = np.radians(self.c_deg)
        per_plane = np.trapezoid(self.intensity_cd * np.sin(g)[None, :], g, axis=1)
        return float(np.trapezoid(per_plane, c))


def _problem(src: str, row: str, key: str, message: str, fix: str) -> Problem:
    return Problem(src, row, key, message, fix, column_label="field")


def _expand(c_given: FloatArray, table: FloatArray, symmetry: str,
            src: str) -> tuple[FloatArray, FloatArray]:
    """Full C-plane set ``0 … 360`` from the stored planes and the symmetry."""
    c = np.mod(np.asarray(c_given, dtype="float64"), 360.0)
    if symmetry == "vertical axis":
        return np.array([0.0, 360.0]), np.vstack([table[0], table[0]])
    planes = [(c, table)]
    if symmetry == "C0-C180":
        planes.append((np.mod(360.0 - c, 360.0), table))
    elif symmetry == "C90-C270":
        planes.append((np.mod(180.0 - c, 360.0), table))
    elif symmetry == "C0-C180 and C90-C270":
        half = (np.mod(180.0 - c, 360.0), table)
        planes += [half, (np.mod(360.0 - c, 360.0), table),
                   (np.mod(180.0 + c, 360.0), table)]
    all_c = np.concatenate([p[0] for p in planes])
    all_t = np.vstack([p[1] for p in planes])
    all_c = np.round(all_c, 9)
    order = np.argsort(all_c, kind="stable")  # stored planes first among equal angles
    all_c, all_t = all_c[order], all_t[order]
    keep = np.concatenate([[True], np.diff(all_c) > 1e-9])
    all_c, all_t = all_c[keep], all_t[keep]
    if all_c[0] != 0.0:
        raise ValidationError([_problem(
            src, "", "C angles", f"the C-planes do not include C0 after applying the "
            f"symmetry '{symmetry}' (first is C{all_c[0]:g})",
            "check the symmetry indicator and the C angles of the file")])
    return np.append(all_c, 360.0), np.vstack([all_t, all_t[:1]])


def _normalize_photometry(src: str, name: str, c_given: npt.ArrayLike,
                          gamma: npt.ArrayLike, table: npt.ArrayLike, symmetry: str,
                          rated_flux_lm: float, power_w: float) -> Photometry:
    """The one funnel of both readers: checks, symmetry expansion, absolute candela."""
    problems: list[Problem] = []
    c_arr = np.asarray(c_given, dtype="float64")
    g_arr = np.asarray(gamma, dtype="float64")
    t_arr = np.asarray(table, dtype="float64")
    if t_arr.shape != (len(c_arr), len(g_arr)):
        problems.append(_problem(src, "", "intensities", f"{t_arr.size} intensities for "
                                 f"{len(c_arr)} C-planes × {len(g_arr)} γ angles",
                                 "the file is cut off or its counts are wrong"))
    if len(g_arr) < 2 or np.any(np.diff(g_arr) <= 0) or g_arr.min() < 0 or g_arr.max() > 180:
        problems.append(_problem(src, "", "γ angles", "γ angles must rise within 0 … 180°",
                                 "check the γ angle list of the file"))
    if len(c_arr) > 1 and np.any(np.diff(np.unwrap(np.radians(c_arr))) <= 0):
        problems.append(_problem(src, "", "C angles", "the stored C angles must rise",
                                 "check the C angle list of the file"))
    if not problems and (not np.all(np.isfinite(t_arr)) or (t_arr < 0).any()):
        problems.append(_problem(src, "", "intensities", "negative or missing intensities",
                                 "check the intensity table of the file"))
    if not (rated_flux_lm > 0 and math.isfinite(rated_flux_lm)):
        problems.append(_problem(src, "", "lamp flux", f"lamp flux {rated_flux_lm!r} lm is "
                                 "not positive", "give the lamps' total luminous flux"))
    if problems:
        raise ValidationError(problems)
    c_full, t_full = _expand(c_arr, t_arr, symmetry, src)
    return Photometry(name=name, source=src, c_deg=c_full, gamma_deg=g_arr,
                      intensity_cd=t_full, rated_flux_lm=float(rated_flux_lm),
                      symmetry=symmetry, power_w=float(power_w))


def _number(text: str, src: str, row: int, key: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise ValidationError([_problem(src, str(row), key, f"{text.strip()!r} is not a "
                                        "number", "the file does not follow the format; "
                                        "export it again")]) from None


def read_ldt(path: str | Path) -> Photometry:
    """Read a EULUMDAT file (see the module docstring for the layout).

    Raises
    ------
    ValidationError
        Naming the line and field when the file does not follow the format.
    """
    path = Path(path)
    src = source_label(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # most LDT files are Windows-1252
    lines = text.splitlines()
    if len(lines) < 26:
        raise ValidationError([_problem(src, "", "", f"only {len(lines)} lines; a EULUMDAT "
                                        "file has at least 26 header lines",
                                        "check that this is a complete .ldt file")])

    def num(i: int, key: str) -> float:  # i: 1-based line number
        if i > len(lines):
            raise ValidationError([_problem(src, str(i), key, "the file ends early",
                                            "check that this is a complete .ldt file")])
        return _number(lines[i - 1], src, i, key)

    isym = int(num(3, "Isym"))
    mc, ng = int(num(4, "Mc")), int(num(6, "Ng"))
    if isym not in range(5):
        raise ValidationError([_problem(src, "3", "Isym", f"symmetry indicator {isym} is not "
                                        "0–4", "check line 3 of the file")])
    conversion = num(24, "conversion factor") or 1.0
    n_sets = int(num(26, "number of lamp sets"))
    flux = power = 0.0
    line = 27
    for _ in range(n_sets):
        flux += num(line + 2, "total luminous flux of lamps")
        power += num(line + 5, "wattage including ballast")
        line += 6
    line += 10  # direct ratios
    c_all = [num(line + k, "C angle") for k in range(mc)]
    line += mc
    gamma = [num(line + k, "γ angle") for k in range(ng)]
    line += ng
    if isym == 1:
        first, count = 0, 1
    elif isym == 2:
        first, count = 0, mc // 2 + 1
    elif isym == 3:
        first, count = 3 * mc // 4, mc // 2 + 1
    elif isym == 4:
        first, count = 0, mc // 4 + 1
    else:
        first, count = 0, mc
    stored_c = [c_all[(first + k) % mc] for k in range(count)]
    expected = {2: (0.0, 180.0), 3: (270.0, 90.0), 4: (0.0, 90.0)}.get(isym)
    if expected is not None and mc and (stored_c[0] % 360, stored_c[-1] % 360) != expected:
        raise ValidationError([_problem(
            src, "3", "Isym", f"symmetry {isym} stores C{expected[0]:g} … C{expected[1]:g}, "
            f"but the C angles give C{stored_c[0]:g} … C{stored_c[-1]:g}",
            "check the symmetry indicator (line 3) and the C angles (Mc, Dc)")])
    values = [num(line + k, "luminous intensity") for k in range(count * ng)]
    table = np.asarray(values).reshape(count, ng) * conversion * flux / 1000.0
    return _normalize_photometry(src, lines[8].strip() or path.stem, stored_c, gamma, table,
                                 SYMMETRIES[isym], flux, power if power > 0 else math.nan)


_IES_HEADER = re.compile(r"^IESNA\s*:?\s*LM-63-(1991|1995|2002)", re.IGNORECASE)


def _ies_symmetry(h: FloatArray, src: str) -> str:
    first, last = float(h[0]), float(h[-1])
    if len(h) == 1 and first == 0:
        return "vertical axis"
    if first == 0 and last == 90:
        return "C0-C180 and C90-C270"
    if first == 0 and last == 180:
        return "C0-C180"
    if first == 90 and last == 270:
        return "C90-C270"
    if first == 0 and last == 360:
        return "none"
    raise ValidationError([_problem(src, "", "horizontal angles", f"horizontal angles "
                                    f"{first:g} … {last:g} are not a Type C layout",
                                    "use 0, 0–90, 0–180, 90–270 or 0–360")])


def read_ies(path: str | Path) -> Photometry:
    """Read an IES LM-63 file (2002, also 1995/1991), Type C, ``TILT=NONE``.

    Raises
    ------
    ValidationError
        When the file does not follow the format, uses lamp-tilt data or Type A/B.
    """
    path = Path(path)
    src = source_label(path)
    text = path.read_bytes().decode("latin-1")
    lines = text.splitlines()
    keywords: dict[str, str] = {}
    tilt_at = None
    for i, ln in enumerate(lines):
        s = ln.strip()
        m = re.match(r"\[([A-Z_]+)\]\s*(.*)", s, re.IGNORECASE)
        if m:
            keywords.setdefault(m.group(1).upper(), m.group(2).strip())
        if s.upper().startswith("TILT="):
            tilt_at = i
            break
    name = keywords.get("LUMINAIRE") or keywords.get("LUMCAT") or ""
    if not lines or not _IES_HEADER.match(lines[0].strip()) and tilt_at is None:
        raise ValidationError([_problem(src, "1", "", "not an IES LM-63 file",
                                        "the first line should be IESNA:LM-63-2002")])
    if tilt_at is None:
        raise ValidationError([_problem(src, "", "TILT", "no TILT= line",
                                        "the file is incomplete; export it again")])
    if lines[tilt_at].strip().upper() != "TILT=NONE":
        raise ValidationError([_problem(src, str(tilt_at + 1), "TILT", f"{lines[tilt_at]!r}: "
                                        "lamp-tilt tables are not supported",
                                        "export the file with TILT=NONE (most road and path "
                                        "luminaires are measured so)")])
    tokens = " ".join(lines[tilt_at + 1:]).replace(",", " ").split()
    try:
        nums = [float(t) for t in tokens]
    except ValueError as exc:
        raise ValidationError([_problem(src, "", "", f"a value after TILT=NONE is not a "
                                        f"number ({exc})", "export the file again")]) from None
    if len(nums) < 13:
        raise ValidationError([_problem(src, "", "", "the numeric header is incomplete",
                                        "export the file again")])
    n_lamps, lm_per_lamp, multiplier = nums[0], nums[1], nums[2]
    n_v, n_h, ptype = int(nums[3]), int(nums[4]), int(nums[5])
    ballast, watts = nums[10], nums[12]
    if ptype != 1:
        raise ValidationError([_problem(src, "", "photometric type", f"type {ptype} "
                                        f"({'B' if ptype == 2 else 'A'}) is not supported",
                                        "use a Type C file (road and area luminaires)")])
    body = nums[13:]
    need = n_v + n_h + n_v * n_h
    if len(body) < need:
        raise ValidationError([_problem(src, "", "candela values", f"{len(body)} numbers "
                                        f"after the header, {need} expected",
                                        "the file is cut off; export it again")])
    v = np.asarray(body[:n_v])
    h = np.asarray(body[n_v:n_v + n_h])
    cd = np.asarray(body[n_v + n_h:need]).reshape(n_h, n_v) * multiplier * (ballast or 1.0)
    symmetry = _ies_symmetry(h, src)
    absolute = lm_per_lamp < 0
    flux = n_lamps * lm_per_lamp if not absolute else 1.0
    photometry = _normalize_photometry(src, name or path.stem, h, v, cd, symmetry, flux,
                                       watts if watts > 0 else math.nan)
    if absolute:
        photometry = Photometry(**{**photometry.__dict__,
                                   "rated_flux_lm": photometry.luminaire_flux_lm()})
    return photometry


#: File extension -> reader.
READERS = {".ldt": read_ldt, ".ies": read_ies}


def read_photometry(path: str | Path) -> Photometry:
    """Read a ``.ldt`` or ``.ies`` file (by extension)."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValidationError([_problem(source_label(path), "", "", f"unsupported photometric "
                                        f"file type '{path.suffix}'",
                                        "use EULUMDAT (.ldt) or IES LM-63 (.ies)")])
    if not path.is_file():
        raise ValidationError([_problem(source_label(path), "", "", f"file not found: {path}",
                                        "check the file name in the catalogue")])
    return reader(path)


# ---------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------

#: How the C0 plane is turned: along the nearest path (C90 towards it), towards it, or a
#: fixed bearing in degrees clockwise from grid north.
C0_MODES = ("along", "towards")


@dataclass(frozen=True)
class CatalogueEntry:
    """One ``[[luminaire]]`` of the catalogue: which inventory luminaires use which file.

    Attributes
    ----------
    file : Path
        The ``.ldt``/``.ies`` file (relative to the catalogue file).
    light_source : str or None
        Match the normalised ``light_source`` (:data:`layers.schemas.LIGHT_SOURCES`).
    raw_contains : str or None
        Match luminaires whose ``light_source_raw`` (the register's own text, e.g. a model
        name or ``"SON-T 70W"``) contains this text (case-insensitive).
    wattage_w : float or None
        Match ``wattage_w`` within ±0.5 W.
    c0 : str or float
        ``"along"`` (default: C0 along the nearest path, C90 pointing at it, as road
        luminaires are mounted), ``"towards"`` (C0 pointing at the path) or a bearing in
        degrees clockwise from grid north.
    tilt_deg : float
        Tilt of the luminaire in use, degrees, raising the C90 side (towards the path).
    maintenance_factor : float
        Maintained/initial flux, 0 … 1.
    flux_from_inventory : bool
        Scale the file's intensities to each luminaire's maintained flux from the inventory
        (:func:`gis.lighting_model.luminaire_flux_lm`: lumen, or wattage × efficacy, × the
        light source's maintenance factor) instead of the file's rated flux ×
        ``maintenance_factor``: the same optic with another lamp.
    photometry : Photometry
        The file, read.
    """

    file: Path
    photometry: Photometry
    light_source: str | None = None
    raw_contains: str | None = None
    wattage_w: float | None = None
    c0: str | float = "along"
    tilt_deg: float = 0.0
    maintenance_factor: float = 0.8
    flux_from_inventory: bool = False


@dataclass(frozen=True)
class DimmingGroup:
    """One ``[[dimming]]`` group of the catalogue: a night profile for the luminaires it
    matches (same keys as :class:`CatalogueEntry`; no key matches every luminaire).

    Attributes
    ----------
    name : str
        For reports (default ``"dimning N"``).
    schedule : tuple of (int, float)
        ``(minute after midnight, level)`` steps, ascending, read cyclically over 24 h:
        from each step's time the light output is ``level`` (0 … 1) of full output until
        the next step. ``[{from = "22:00", level = 0.5}, {from = "05:00", level = 1.0}]``
        is "100 % until 22, 50 % until 05, then 100 % again".
    light_source, raw_contains, wattage_w
        Match keys as for :class:`CatalogueEntry`; the first matching group wins.
    """

    schedule: tuple[tuple[int, float], ...]
    name: str = ""
    light_source: str | None = None
    raw_contains: str | None = None
    wattage_w: float | None = None

    @property
    def lowest_level(self) -> float:
        """The deepest dimming of the night (the level the adaptive class is checked at)."""
        return min(level for _, level in self.schedule)


@dataclass(frozen=True)
class Catalogue:
    """The luminaire catalogue: entries in match order (the first match wins).

    Attributes
    ----------
    entries : tuple of CatalogueEntry
    path_width_m : dict
        Width of the calculation field per path type (m), EN 13201-3 grid across the path;
        ``default`` for the others.
    source : str
        The catalogue file, for messages.
    requirements : dict
        Additional EN 13201-2 requirements per P-class, ``{"P3": {"esc_min_lux": …,
        "ev_min_lux": …}}``: minimum semicylindrical and vertical illuminance at 1.5 m
        (the standard's additional requirements where facial recognition is needed). Not
        shipped with values: the profile owner enters them from EN 13201-2.
    dimming : tuple of DimmingGroup
        Night profiles per luminaire group (adaptive lighting); empty: no dimming.
    adaptive_classes : dict
        Class required during the deepest dimming, per normal class (``{"P4": "P5"}``);
        a class without an entry must be met also when dimmed.
    """

    entries: tuple[CatalogueEntry, ...]
    path_width_m: dict[str, float] = field(default_factory=lambda: {"default": 2.5})
    source: str = ""
    requirements: dict[str, dict[str, float]] = field(default_factory=dict)
    dimming: tuple[DimmingGroup, ...] = ()
    adaptive_classes: dict[str, str] = field(default_factory=dict)

    def width_m(self, path_type: str) -> float:
        """Calculation-field width (m) for a path type."""
        return float(self.path_width_m.get(path_type, self.path_width_m.get("default", 2.5)))


_ENTRY_KEYS = {"file", "light_source", "raw_contains", "wattage_w", "c0", "tilt_deg",
               "maintenance_factor", "flux_from_inventory"}


def load_catalogue(path: str | Path) -> Catalogue:
    """Load a luminaire catalogue TOML file and read every photometric file it names.

    The file::

        [widths]            # calculation-field width per path type, m (optional)
        default = 2.5
        cycleway = 3.0

        [[luminaire]]
        file = "road_luminaire.ldt"
        light_source = "HPS"
        raw_contains = "SON-T"
        c0 = "along"
        tilt_deg = 0
        maintenance_factor = 0.8
        flux_from_inventory = false

    Raises
    ------
    ValidationError
        Every problem at once (unknown keys, bad values, unreadable files), by entry.
    """
    path = Path(path)
    src = source_label(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError([_problem(src, "", "", f"catalogue not found: {path}",
                                        "check sources.photometry in the profile")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([_problem(src, "", "", f"not valid TOML ({exc})",
                                        "fix the syntax")]) from None
    problems: list[Problem] = []
    for key in set(raw) - _TOP_KEYS:
        problems.append(_problem(src, "", key, "unknown key",
                                 f"use {', '.join(sorted(_TOP_KEYS))}"))
    widths_raw = raw.get("widths", {})
    widths: dict[str, float] = {"default": 2.5}
    for k, v in widths_raw.items():
        if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
            problems.append(_problem(src, "widths", k, f"width {v!r} is not a positive "
                                     "number of metres", "give the path width in metres"))
        else:
            widths[k] = float(v)
    entries: list[CatalogueEntry] = []
    for i, e in enumerate(raw.get("luminaire", []), start=1):
        row = f"luminaire {i}"
        for key in set(e) - _ENTRY_KEYS:
            problems.append(_problem(src, row, key, "unknown key",
                                     f"allowed: {', '.join(sorted(_ENTRY_KEYS))}"))
        if "file" not in e:
            problems.append(_problem(src, row, "file", "missing", "name the .ldt/.ies file"))
            continue
        ls = e.get("light_source")
        if ls is not None and ls not in LIGHT_SOURCES:
            problems.append(_problem(src, row, "light_source", f"unknown {ls!r}",
                                     f"use one of {', '.join(LIGHT_SOURCES)}"))
        c0 = e.get("c0", "along")
        if not (c0 in C0_MODES or (isinstance(c0, int | float) and not isinstance(c0, bool))):
            problems.append(_problem(src, row, "c0", f"{c0!r} is not 'along', 'towards' or "
                                     "a bearing in degrees", "write c0 = \"along\""))
        mf = e.get("maintenance_factor", 0.8)
        if not isinstance(mf, int | float) or not 0 < mf <= 1:
            problems.append(_problem(src, row, "maintenance_factor", f"{mf!r} is not in "
                                     "(0, 1]", "typical values are 0.7–0.9"))
        file = Path(e["file"])
        file = file if file.is_absolute() else path.parent / file
        try:
            photometry = read_photometry(file)
        except ValidationError as exc:
            problems.extend(exc.problems)
            continue
        if problems:
            continue
        entries.append(CatalogueEntry(
            file=file, photometry=photometry, light_source=ls,
            raw_contains=e.get("raw_contains"),
            wattage_w=float(e["wattage_w"]) if "wattage_w" in e else None,
            c0=c0 if isinstance(c0, str) else float(c0),
            tilt_deg=float(e.get("tilt_deg", 0.0)), maintenance_factor=float(mf),
            flux_from_inventory=bool(e.get("flux_from_inventory", False))))
    requirements = _requirements(raw.get("requirements", {}), src, problems)
    dimming = _dimming_groups(raw.get("dimming", []), src, problems)
    adaptive = _adaptive_classes(raw.get("adaptive_classes", {}), src, problems)
    if problems:
        raise ValidationError(problems)
    return Catalogue(tuple(entries), widths, src, requirements, dimming, adaptive)


_TOP_KEYS = {"widths", "luminaire", "requirements", "dimming", "adaptive_classes"}
_REQUIREMENT_KEYS = ("esc_min_lux", "ev_min_lux")
_DIMMING_KEYS = {"name", "schedule", "light_source", "raw_contains", "wattage_w"}


def _p_classes() -> tuple[str, ...]:
    return tuple(P_CLASSES)


def _requirements(raw: object, src: str, problems: list[Problem],
                  ) -> dict[str, dict[str, float]]:
    """``[requirements.P3] esc_min_lux = …, ev_min_lux = …`` checked."""
    out: dict[str, dict[str, float]] = {}
    if not isinstance(raw, dict):
        problems.append(_problem(src, "requirements", "", "not a table",
                                 "write [requirements.P3] with esc_min_lux / ev_min_lux"))
        return out
    for cls, values in raw.items():
        row = f"requirements.{cls}"
        if cls not in _p_classes():
            problems.append(_problem(src, row, "", f"unknown class {cls!r}",
                                     f"use one of {', '.join(_p_classes())}"))
            continue
        if not isinstance(values, dict):
            problems.append(_problem(src, row, "", "not a table", "write esc_min_lux = 1.0"))
            continue
        for key in set(values) - set(_REQUIREMENT_KEYS):
            problems.append(_problem(src, row, key, "unknown key",
                                     f"allowed: {', '.join(_REQUIREMENT_KEYS)}"))
        got: dict[str, float] = {}
        for key in _REQUIREMENT_KEYS:
            if key not in values:
                continue
            v = values[key]
            if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
                problems.append(_problem(src, row, key, f"{v!r} is not a number of lux ≥ 0",
                                         "give the minimum illuminance in lux"))
            else:
                got[key] = float(v)
        if got:
            out[cls] = got
    return out


def _clock(value: object) -> int | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d\d:\d\d", value):
        return None
    h, m = int(value[:2]), int(value[3:])
    return h * 60 + m if h < 24 and m < 60 else None


def _dimming_groups(raw: object, src: str, problems: list[Problem],
                    ) -> tuple[DimmingGroup, ...]:
    """``[[dimming]]`` groups checked (every problem collected)."""
    if not isinstance(raw, list):
        problems.append(_problem(src, "dimming", "", "not an array of tables",
                                 "write [[dimming]] once per luminaire group"))
        return ()
    groups: list[DimmingGroup] = []
    for i, g in enumerate(raw, start=1):
        row = f"dimming {i}"
        if not isinstance(g, dict):
            problems.append(_problem(src, row, "", "not a table", "write [[dimming]]"))
            continue
        for key in set(g) - _DIMMING_KEYS:
            problems.append(_problem(src, row, key, "unknown key",
                                     f"allowed: {', '.join(sorted(_DIMMING_KEYS))}"))
        ls = g.get("light_source")
        if ls is not None and ls not in LIGHT_SOURCES:
            problems.append(_problem(src, row, "light_source", f"unknown {ls!r}",
                                     f"use one of {', '.join(LIGHT_SOURCES)}"))
        steps_raw = g.get("schedule")
        steps: list[tuple[int, float]] = []
        fix = 'write schedule = [{from = "22:00", level = 0.5}, {from = "05:00", level = 1.0}]'
        if not isinstance(steps_raw, list) or not steps_raw:
            problems.append(_problem(src, row, "schedule", "missing or empty", fix))
            continue
        for k, step in enumerate(steps_raw, start=1):
            minute = _clock(step.get("from")) if isinstance(step, dict) else None
            level = step.get("level") if isinstance(step, dict) else None
            if minute is None:
                problems.append(_problem(src, row, f"schedule[{k}].from",
                                         f"{step!r} has no time HH:MM", fix))
            elif (not isinstance(level, int | float) or isinstance(level, bool)
                  or not 0 <= level <= 1):
                problems.append(_problem(src, row, f"schedule[{k}].level",
                                         f"{level!r} is not in 0 … 1", "50 % is level = 0.5"))
            else:
                steps.append((minute, float(level)))
        minutes = [m for m, _ in steps]
        if len(set(minutes)) != len(minutes):
            problems.append(_problem(src, row, "schedule", "two steps at the same time", fix))
        if len(steps) != len(steps_raw) or len(set(minutes)) != len(minutes):
            continue
        groups.append(DimmingGroup(
            schedule=tuple(sorted(steps)), name=str(g.get("name", f"dimning {i}")),
            light_source=ls, raw_contains=g.get("raw_contains"),
            wattage_w=float(g["wattage_w"]) if "wattage_w" in g else None))
    return tuple(groups)


def _adaptive_classes(raw: object, src: str, problems: list[Problem]) -> dict[str, str]:
    """``[adaptive_classes] P4 = "P5"`` checked."""
    if not isinstance(raw, dict):
        problems.append(_problem(src, "adaptive_classes", "", "not a table",
                                 'write [adaptive_classes] with P4 = "P5"'))
        return {}
    out: dict[str, str] = {}
    for cls, dimmed in raw.items():
        for v in (cls, dimmed):
            if v not in _p_classes():
                problems.append(_problem(src, "adaptive_classes", str(cls),
                                         f"unknown class {v!r}",
                                         f"use one of {', '.join(_p_classes())}"))
                break
        else:
            out[str(cls)] = str(dimmed)
    return out
