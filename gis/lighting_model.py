"""A simple, documented point-source lighting model for paths.

Every luminaire is a point source at its mounting height ``h`` (metres) above a flat path
surface. The model answers "how much light reaches this path?" well enough to rank and
compare segments; it is *not* a lighting design calculation (no real photometric files, no
obstruction, no reflection, flat terrain).

Flux
    Maintained luminous flux ``Φ`` (lm) = initial flux × maintenance factor ``MF``. The
    initial flux is ``lumen_lm`` when the inventory gives it, else ``wattage_w × efficacy``,
    else a default wattage per light source × efficacy (see :data:`SOURCE_DEFAULTS`).

Intensity, ``model="downward"`` (default)
    A constant intensity ``I`` in every direction below the luminaire up to ``θ ≤ 80°`` from
    the nadir (a full cut-off luminaire: nothing above 80°, so nothing beyond
    ``h·tan 80° ≈ 5.7 h``). All flux goes into that cone, ``Φ = 2π·I·(1 − cos 80°)``, so
    ``I = Φ / (2π·(1 − cos 80°))``. This is the textbook form the issue names::

        E = I·cos³θ / h² = I·h / r³        [lx]

    It spreads light along the path roughly as street and path optics do; a Lambertian
    ``cos θ`` distribution puts far too much light at the foot of the pole and too little
    between poles to reproduce measured uniformities.

Intensity, ``model="cosine"``
    A downward Lambertian-like distribution ``I(θ) = I0·cos θ`` for ``θ ≤ 75°`` from the
    nadir and no light above 75° (nothing beyond ``h·tan 75° ≈ 3.73 h`` horizontally).
    The flux into the lower hemisphere of ``I0·cos θ`` is ``Φ = π·I0``, so ``I0 = Φ / π``
    (the small part above 75° is simply cut off, a conservative loss of ≈ 7 %).
    Horizontal illuminance at horizontal distance ``d``, with ``r = sqrt(h² + d²)`` and
    ``cos θ = h / r``::

        E = I(θ)·cos θ / r² = I0·cos² θ / r² = I0·h² / r⁴        [lx]

    This generalises the textbook form ``E = I·cos³θ / h²`` (``= I·h / r³``), which holds
    for an intensity ``I`` that does not depend on the angle.

Intensity, ``model="isotropic"`` (cross-check)
    A constant intensity ``I = Φ / (4π)`` in every direction, ``E = I·h / r³``, no angular
    cut-off. With constant ``I`` and ``h`` this is exactly the reference benchmark query of
    ``../shared/BENCH.md`` (beside the checkout) (see :func:`reference_illuminance_xy`).

Illuminances of several luminaires add. All coordinates are in the frames' projected CRS
(metres); every public function that measures refuses degrees (:func:`gis._crs.require_projected`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gis._crs import require_projected
from gis.fastquery import (
    SegmentArrays,
    nearest_geometries,
    nearest_point_to_lines,
    pairs_within,
    point_line_distance,
)
from layers._common import LayerWarning
from layers.profile import P_CLASSES, Lighting
from layers.schemas import LIGHT_SOURCES

logger = logging.getLogger(__name__)

Model = Literal["downward", "cosine", "isotropic"]
#: The model used unless a caller asks for another.
DEFAULT_MODEL: Model = "downward"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SourceDefaults:
    """Typical values for one light source.

    Attributes
    ----------
    efficacy_lm_per_w : float
        System luminous efficacy in lumen per watt, including ballast/driver losses.
    maintenance_factor : float
        Maintenance (light-loss) factor 0..1: lamp lumen depreciation × luminaire dirt.
    default_wattage_w : float
        Lamp power assumed when the inventory gives neither lumen nor wattage.
    """

    efficacy_lm_per_w: float
    maintenance_factor: float
    default_wattage_w: float


#: Defaults per normalised light source (:data:`layers.schemas.LIGHT_SOURCES`).
#:
#: Typical ranges, not measurements of Strömstad's luminaires:
#: - efficacies: lamp efficacies as tabulated e.g. in Wikipedia "Luminous efficacy" /
#:   manufacturer catalogues (LED road luminaires 100–160 lm/W; HPS 80–140 lamp-only, ≈ 90 with
#:   ballast; mercury vapour 35–60; metal halide 65–115; LPS 100–200; fluorescent/CFL 45–90),
#:   taken at the conservative, system (incl. ballast) end for older installations;
#: - maintenance factors: CIE 154:2003 "The maintenance of outdoor lighting systems" gives
#:   0.6–0.9 depending on lamp type, ingress protection, cleaning and replacement interval;
#:   LED ~0.85 (L85 at end of life), Hg depreciates fastest (~0.7);
#: - default wattages: common sizes on Swedish paths (LED 20–40 W, HPS 50/70 W, Hg 80/125 W,
#:   MH 35/70 W, LPS 35/55 W, fluorescent/CFL 2×18–36 W).
SOURCE_DEFAULTS: dict[str, SourceDefaults] = {
    "LED": SourceDefaults(110.0, 0.85, 30.0),
    "HPS": SourceDefaults(90.0, 0.80, 70.0),
    "Hg": SourceDefaults(45.0, 0.70, 125.0),
    "MH": SourceDefaults(80.0, 0.75, 70.0),
    "LPS": SourceDefaults(130.0, 0.80, 55.0),
    "fluorescent": SourceDefaults(60.0, 0.75, 36.0),
    "other": SourceDefaults(60.0, 0.75, 70.0),
    "unknown": SourceDefaults(60.0, 0.75, 70.0),
}

#: Light sources counted as "old technology" (candidates for LED retrofit).
OLD_TECH_SOURCES: frozenset[str] = frozenset({"Hg", "HPS", "LPS", "MH", "fluorescent"})

#: Angular cut-off of the cosine model, degrees from the nadir.
CUTOFF_ANGLE_DEG = 75.0
_TAN_CUTOFF = math.tan(math.radians(CUTOFF_ANGLE_DEG))
#: Angular cut-off of the downward model (full cut-off luminaire), degrees from the nadir.
DOWNWARD_CUTOFF_DEG = 80.0
_TAN_DOWN = math.tan(math.radians(DOWNWARD_CUTOFF_DEG))
_DOWN_SOLID_ANGLE = 2.0 * math.pi * (1.0 - math.cos(math.radians(DOWNWARD_CUTOFF_DEG)))

#: Below this average illuminance (lx) a segment counts as having no light at all.
UNLIT_LUX = 0.1
#: From this share of light from :data:`OLD_TECH_SOURCES` a segment is "old technology".
OLD_TECH_SHARE = 0.5
#: Luminaires within this distance (m) of a segment are counted in ``n_luminaires_30m``.
COUNT_RADIUS_M = 30.0
#: Nearest-luminaire search is capped at this distance (m); farther gives NaN.
NEAREST_MAX_M = 200.0
#: (segment, luminaire) pairs per chunk of :func:`segment_illuminance`'s sample sums
#: (bounds its temporary memory; the numbers do not depend on it).
SAMPLE_CHUNK_PAIRS = 200_000
#: Segment lines per chunk of the (line, luminaire) pair search (bounds its candidates).
PAIR_CHUNK_LINES = 100_000

#: Categories of :func:`lighting_status`, worst first.
STATUS_CATEGORIES = ("unlit", "underlit", "lit_old_technology", "ok", "unknown")
_STATUS_DTYPE = pd.CategoricalDtype(list(STATUS_CATEGORIES))

_SOURCE_INDEX = pd.Index(list(LIGHT_SOURCES), dtype="str")
_UNKNOWN_CODE = LIGHT_SOURCES.index("unknown")
_OLD_MASK = np.array([s in OLD_TECH_SOURCES for s in LIGHT_SOURCES])


# ---------------------------------------------------------------------------------------------
# Luminaire properties
# ---------------------------------------------------------------------------------------------

def _source_codes(luminaires: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Codes into LIGHT_SOURCES; missing column or unexpected values -> 'unknown'."""
    if "light_source" not in luminaires.columns:
        return np.full(len(luminaires), _UNKNOWN_CODE, dtype=np.int64)
    codes = _SOURCE_INDEX.get_indexer(pd.Index(luminaires["light_source"].astype("str")))
    return np.where(codes < 0, _UNKNOWN_CODE, codes).astype(np.int64)


def _float_col(frame: pd.DataFrame, col: str) -> FloatArray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def luminaire_flux_lm(luminaires: pd.DataFrame) -> pd.Series:
    """Maintained luminous flux of each luminaire, in lumen.

    ``Φ = (lumen_lm if given, else wattage_w × efficacy, else default wattage × efficacy) × MF``
    with efficacy, maintenance factor ``MF`` and default wattage from :data:`SOURCE_DEFAULTS`
    by ``light_source`` (unexpected or missing values count as ``"unknown"``). Non-positive
    lumen or wattage count as missing.

    Parameters
    ----------
    luminaires : DataFrame
        Luminaires (:data:`layers.schemas.LUMINAIRES`); uses ``light_source``, ``lumen_lm``
        and ``wattage_w`` when present.

    Returns
    -------
    Series
        ``maintained_flux_lm`` (float, lm), aligned to ``luminaires.index``.
    """
    codes = _source_codes(luminaires)
    eff = np.array([SOURCE_DEFAULTS[s].efficacy_lm_per_w for s in LIGHT_SOURCES])[codes]
    mf = np.array([SOURCE_DEFAULTS[s].maintenance_factor for s in LIGHT_SOURCES])[codes]
    w0 = np.array([SOURCE_DEFAULTS[s].default_wattage_w for s in LIGHT_SOURCES])[codes]
    lumen = _float_col(luminaires, "lumen_lm")
    watt = _float_col(luminaires, "wattage_w")
    watt = np.where(watt > 0, watt, w0)
    initial = np.where(lumen > 0, lumen, watt * eff)
    return pd.Series(initial * mf, index=luminaires.index, name="maintained_flux_lm")


def luminaire_height_m(luminaires: pd.DataFrame, default_m: float = 6.0) -> pd.Series:
    """Mounting height of each luminaire in metres; ``default_m`` where unknown or ≤ 0.

    Parameters
    ----------
    luminaires : DataFrame
        Luminaires; uses ``mounting_height_m`` when present.
    default_m : float, default 6.0
        Height in metres for luminaires without one (profile
        ``lighting.default_mounting_height_m``).

    Returns
    -------
    Series
        ``mounting_height_m`` (float, m), aligned to ``luminaires.index``.
    """
    h = _float_col(luminaires, "mounting_height_m")
    return pd.Series(np.where(h > 0, h, float(default_m)), index=luminaires.index,
                     name="mounting_height_m")


def luminous_intensity_cd(flux_lm: npt.ArrayLike, model: Model = DEFAULT_MODEL) -> FloatArray:
    """Intensity parameter of the model from maintained flux: ``Φ/π`` (cosine, the nadir
    intensity ``I0``) or ``Φ/(4π)`` (isotropic), in candela."""
    flux = np.asarray(flux_lm, dtype="float64")
    if model == "downward":
        return flux / _DOWN_SOLID_ANGLE
    if model == "cosine":
        return flux / math.pi
    if model == "isotropic":
        return flux / (4.0 * math.pi)
    raise ValueError(f"unknown model {model!r}; use 'cosine' or 'isotropic'")


def gives_light(luminaires: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which luminaires give light: ``operating == "in_service"`` (all when the column is
    missing). Out-of-service, removed and planned luminaires give none."""
    if "operating" not in luminaires.columns:
        return np.ones(len(luminaires), dtype=bool)
    return luminaires["operating"].astype("str").eq("in_service").to_numpy(
        dtype=bool, na_value=True)


def rests_on_defaults(luminaires: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which luminaires' light rests on defaults: OSM lamps (no inventory values), or
    inventory rows with neither lumen nor wattage, or without a mounting height."""
    lumen = _float_col(luminaires, "lumen_lm")
    watt = _float_col(luminaires, "wattage_w")
    height = _float_col(luminaires, "mounting_height_m")
    osm = (luminaires["source"].astype("str").eq("osm").to_numpy(dtype=bool, na_value=False)
           if "source" in luminaires.columns else np.zeros(len(luminaires), dtype=bool))
    return osm | ~((lumen > 0) | (watt > 0)) | ~(height > 0)


def inventory_present(luminaires: pd.DataFrame) -> bool:
    """True when any luminaire comes from a municipal inventory (``source == 'inventory'``),
    as opposed to OSM street-lamp nodes only. Use it for ``lighting_status(has_inventory=)``."""
    return "source" in luminaires.columns and bool((luminaires["source"] == "inventory").any())


# ---------------------------------------------------------------------------------------------
# Core numpy kernel
# ---------------------------------------------------------------------------------------------

def _points(x: FloatArray, y: FloatArray) -> npt.NDArray[np.object_]:
    return np.asarray(shapely.points(x, y), dtype=object)


def _check_model(model: str) -> None:
    if model not in ("downward", "cosine", "isotropic"):
        raise ValueError(f"unknown model {model!r}; use 'downward', 'cosine' or 'isotropic'")


def reach_m(heights_m: npt.ArrayLike, cutoff_m: float, model: Model = DEFAULT_MODEL) -> float:
    """Largest horizontal distance (m) at which any of these luminaires gives light:
    ``cutoff_m``, or less for the cosine model (``max(h)·tan 75°``)."""
    _check_model(model)
    h = np.asarray(heights_m, dtype="float64")
    if model == "cosine" and h.size:
        return min(float(cutoff_m), float(h.max()) * _TAN_CUTOFF)
    if model == "downward" and h.size:
        return min(float(cutoff_m), float(h.max()) * _TAN_DOWN)
    return float(cutoff_m)


def lux_from_distance(d2: FloatArray, intensity_cd: FloatArray, height_m: FloatArray,
                      cutoff_m: float, model: Model = DEFAULT_MODEL) -> FloatArray:
    """Illuminance (lx) of single luminaires at squared horizontal distances ``d2`` (m²).

    ``I·h/r³`` (downward, 0 beyond 80° from the nadir), ``I0·h²/r⁴`` (cosine, 0 beyond
    75°) or ``I·h/r³`` (isotropic), with
    ``r² = h² + d²``; 0 where ``d > cutoff_m``. Arrays broadcast elementwise.
    """
    _check_model(model)
    r2 = height_m * height_m + d2
    if model == "cosine":
        limit = np.minimum(height_m * _TAN_CUTOFF, cutoff_m)
        e = intensity_cd * height_m * height_m / (r2 * r2)
    elif model == "downward":
        limit = np.minimum(height_m * _TAN_DOWN, cutoff_m)
        e = intensity_cd * height_m / (r2 * np.sqrt(r2))
    else:
        limit = np.full_like(r2, float(cutoff_m))
        e = intensity_cd * height_m / (r2 * np.sqrt(r2))
    return np.where(d2 <= limit * limit, e, 0.0)


@dataclass(frozen=True)
class LuxTerms:
    """Per-luminaire constants of :func:`lux_from_distance`, for evaluating many
    (luminaire, point) pairs with one gather per constant.

    Attributes
    ----------
    numerator : ndarray
        ``I·h`` (downward, isotropic) or ``I0·h²`` (cosine), cd·m or cd·m².
    h2 : ndarray
        Squared mounting height, m².
    limit2 : ndarray
        Squared horizontal reach, m².
    quartic : bool
        True for the cosine model (divide by ``r⁴``), else ``r³``.
    """

    numerator: FloatArray
    h2: FloatArray
    limit2: FloatArray
    quartic: bool


def lux_terms(intensity_cd: FloatArray, height_m: FloatArray, cutoff_m: float,
              model: Model = DEFAULT_MODEL) -> LuxTerms:
    """The constants of :func:`lux_from_distance` per luminaire (same arithmetic)."""
    _check_model(model)
    i = np.asarray(intensity_cd, dtype="float64")
    h = np.asarray(height_m, dtype="float64")
    if model == "cosine":
        limit = np.minimum(h * _TAN_CUTOFF, cutoff_m)
        numerator = i * h * h
    elif model == "downward":
        limit = np.minimum(h * _TAN_DOWN, cutoff_m)
        numerator = i * h
    else:
        limit = np.full_like(h, float(cutoff_m))
        numerator = i * h
    return LuxTerms(numerator, h * h, limit * limit, model == "cosine")


def lux_at(d2: FloatArray, terms: LuxTerms, index: npt.NDArray[np.intp]) -> FloatArray:
    """Lux of luminaires ``index`` at squared horizontal distances ``d2`` (m², pairwise);
    the same numbers as :func:`lux_from_distance`."""
    r2 = terms.h2[index] + d2
    den = r2 * r2 if terms.quartic else r2 * np.sqrt(r2)
    return np.where(d2 <= terms.limit2[index], terms.numerator[index] / den, 0.0)


def _contributions(x: FloatArray, y: FloatArray, lum_x: FloatArray, lum_y: FloatArray,
                   lum_i: FloatArray, lum_h: FloatArray, cutoff_m: float, model: Model,
                   ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]:
    """(point index, luminaire index, lux) of every luminaire within reach of a point.

    One STRtree ``dwithin`` query: tree on the luminaires, queried with the points.
    """
    reach = reach_m(lum_h, cutoff_m, model)
    if len(x) == 0 or len(lum_x) == 0 or reach <= 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0)
    tree = shapely.STRtree(_points(lum_x, lum_y))
    qi, li = tree.query(_points(x, y), predicate="dwithin", distance=reach)
    d2 = (x[qi] - lum_x[li]) ** 2 + (y[qi] - lum_y[li]) ** 2
    return qi, li, lux_from_distance(d2, lum_i[li], lum_h[li], cutoff_m, model)


def illuminance_xy(x: npt.ArrayLike, y: npt.ArrayLike, lum_x: npt.ArrayLike,
                   lum_y: npt.ArrayLike, lum_I0: npt.ArrayLike, lum_h: npt.ArrayLike,  # noqa: N803
                   cutoff_m: float = 50.0, model: Model = DEFAULT_MODEL) -> FloatArray:
    """Horizontal illuminance at points from point-source luminaires (numpy level).

    Parameters
    ----------
    x, y : array_like
        Evaluation points, projected coordinates in metres.
    lum_x, lum_y : array_like
        Luminaire positions in the same CRS, metres.
    lum_I0 : array_like
        Intensity per luminaire in candela: the nadir intensity ``I0 = Φ/π`` for
        ``model="cosine"``, the constant ``I = Φ/(4π)`` for ``"isotropic"`` (see
        :func:`luminous_intensity_cd`).
    lum_h : array_like
        Mounting height per luminaire, metres (> 0).
    cutoff_m : float, default 50.0
        Luminaires farther than this horizontal distance (m) contribute nothing. The cosine
        model additionally cuts off at 75° from the nadir (``d > 3.73 h``).
    model : {"cosine", "isotropic"}
        ``E = I0·h²/r⁴`` or ``E = I·h/r³`` with ``r² = h² + d²`` (see the module docstring).

    Returns
    -------
    ndarray
        Illuminance in lux, float64, one value per point.
    """
    xa = np.asarray(x, dtype="float64")
    ya = np.asarray(y, dtype="float64")
    qi, _li, e = _contributions(xa, ya, np.asarray(lum_x, dtype="float64"),
                                np.asarray(lum_y, dtype="float64"),
                                np.asarray(lum_I0, dtype="float64"),
                                np.asarray(lum_h, dtype="float64"), cutoff_m, model)
    return np.bincount(qi, weights=e, minlength=len(xa)).astype("float64")


def reference_illuminance_xy(x: npt.ArrayLike, y: npt.ArrayLike, lum_x: npt.ArrayLike,
                             lum_y: npt.ArrayLike, intensity_cd: float = 1500.0,
                             height_m: float = 6.0, cutoff_m: float = 50.0) -> FloatArray:
    """The reference benchmark query (c) of ``BENCH.md``: ``E = Σ I·h / (h² + d²)^1.5``.

    Sums over luminaires within ``cutoff_m`` (horizontal distance ``d ≤ cutoff_m``) with one
    constant intensity and height; equal to :func:`illuminance_xy` with ``model="isotropic"``.

    Parameters
    ----------
    x, y, lum_x, lum_y : array_like
        Points and luminaires, projected coordinates in metres.
    intensity_cd : float, default 1500.0
        Constant luminous intensity ``I`` in candela.
    height_m : float, default 6.0
        Constant mounting height ``h`` in metres.
    cutoff_m : float, default 50.0
        Only luminaires within this horizontal distance (m) count.

    Returns
    -------
    ndarray
        Illuminance in lux, float64, one value per point.
    """
    n = len(np.asarray(lum_x))
    return illuminance_xy(x, y, lum_x, lum_y, np.full(n, float(intensity_cd)),
                          np.full(n, float(height_m)), cutoff_m=cutoff_m, model="isotropic")


# ---------------------------------------------------------------------------------------------
# Frame-level functions
# ---------------------------------------------------------------------------------------------

def _point_xy(geoms: gpd.GeoSeries, what: str) -> tuple[FloatArray, FloatArray]:
    arr = np.asarray(geoms.values)
    if len(arr) and not (shapely.get_type_id(arr) == shapely.GeometryType.POINT).all():
        raise ValueError(f"{what} must be Point geometries")
    xy = shapely.get_coordinates(arr)
    if len(xy) != len(geoms):
        raise ValueError(f"{what} has empty or missing geometries. Fix: drop them first")
    return xy[:, 0], xy[:, 1]


@dataclass(frozen=True)
class _Lums:
    x: FloatArray
    y: FloatArray
    intensity: FloatArray
    height: FloatArray
    code: npt.NDArray[np.int64]
    defaulted: npt.NDArray[np.bool_]


def _prepare_luminaires(luminaires: gpd.GeoDataFrame, default_height_m: float,
                        model: Model) -> _Lums:
    """Position, intensity, height, source code and defaults flag of the luminaires that
    give light (:func:`gives_light`)."""
    lit = gives_light(luminaires)
    if not lit.all():
        luminaires = luminaires[lit]
    x, y = _point_xy(luminaires.geometry, "luminaires")
    flux = luminaire_flux_lm(luminaires).to_numpy(dtype="float64")
    h = luminaire_height_m(luminaires, default_height_m).to_numpy(dtype="float64")
    return _Lums(x, y, luminous_intensity_cd(flux, model), h, _source_codes(luminaires),
                 rests_on_defaults(luminaires))


def illuminance_at(points: gpd.GeoSeries | gpd.GeoDataFrame, luminaires: gpd.GeoDataFrame,
                   cutoff_m: float = 50.0, default_height_m: float = 6.0,
                   model: Model = DEFAULT_MODEL) -> pd.Series:
    """Maintained horizontal illuminance at points, in lux.

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame
        Point geometries in a projected CRS (metres).
    luminaires : GeoDataFrame
        Luminaires (:data:`layers.schemas.LUMINAIRES`) in the same CRS; Point geometry.
        Flux from :func:`luminaire_flux_lm`, height from :func:`luminaire_height_m`.
    cutoff_m : float, default 50.0
        Horizontal distance (m) beyond which a luminaire contributes nothing.
    default_height_m : float, default 6.0
        Mounting height (m) for luminaires without one.
    model : {"cosine", "isotropic"}
        Intensity model, see the module docstring.

    Returns
    -------
    Series
        ``illuminance_lx`` (float, lx), aligned to ``points.index``.
    """
    require_projected(("points", points), ("luminaires", luminaires))
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    x, y = _point_xy(geoms, "points")
    lum = _prepare_luminaires(luminaires, default_height_m, model)
    e = illuminance_xy(x, y, lum.x, lum.y, lum.intensity, lum.height, cutoff_m, model)
    return pd.Series(e, index=points.index, name="illuminance_lx")


def _line_luminaire_pairs(lines: npt.NDArray[np.object_], lum: _Lums, radius: float,
                          arrays: SegmentArrays | None, tree: cKDTree | None,
                          ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]:
    """(line index, luminaire index, distance in m) of every luminaire within ``radius`` of
    a line, sorted by line then luminaire.

    With segment ``arrays`` (short simple LineStrings) and a KD-``tree`` of the luminaires:
    a radius search around each midpoint widened by the line's half extent, then exact
    point-to-polyline distances (:mod:`gis.fastquery`). Otherwise one STRtree ``dwithin``
    query and GEOS distances. Both give the same pairs and distances (to ~1e-12 m).
    """
    if arrays is not None and tree is not None:
        # In chunks of lines: the candidate pairs of the widened search are several times
        # the pairs kept, so only one chunk's candidates exist at a time. Chunks follow the
        # line order and each is sorted by (line, luminaire): the same arrays as at once.
        widened = radius + float(arrays.ext.max())
        parts: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]] = []
        for a in range(0, max(len(lines), 1), PAIR_CHUNK_LINES):
            si, lj, _ = pairs_within(tree, arrays.mid[a:a + PAIR_CHUNK_LINES], widened)
            si += a
            dist = point_line_distance(arrays.verts, si, lum.x[lj], lum.y[lj])
            keep = dist <= radius
            si, lj, dist = si[keep], lj[keep], dist[keep]
            # by line, then luminaire: one int64 key (much faster than lexsort)
            order = np.argsort(si.astype(np.int64) * max(len(lum.x), 1) + lj, kind="stable")
            parts.append((si[order], lj[order], dist[order]))
        if len(parts) == 1:
            return parts[0]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))
    lum_pts = _points(lum.x, lum.y)
    si, lj = shapely.STRtree(lum_pts).query(lines, predicate="dwithin", distance=radius)
    return si, lj, shapely.distance(lines[si], lum_pts[lj])


def segment_illuminance(segments: gpd.GeoDataFrame, luminaires: gpd.GeoDataFrame,
                        samples_per_segment: int = 5, cutoff_m: float = 50.0,
                        default_height_m: float = 6.0, model: Model = DEFAULT_MODEL,
                        arrays: SegmentArrays | None = None) -> pd.DataFrame:
    """Modelled light on every segment, sampled at evenly spaced points.

    The samples sit at fractions ``(k + 0.5) / n`` of each segment's length,
    ``k = 0 … n-1``. Partition-friendly: ``luminaires`` may be any subset, e.g. those of a
    partition plus a halo of ``cutoff_m`` (and 200 m for ``nearest_luminaire_m``).

    Parameters
    ----------
    segments : GeoDataFrame
        LineString segments (e.g. from :func:`gis.segments.segment_paths`) in a projected CRS.
    luminaires : GeoDataFrame
        Point luminaires (:data:`layers.schemas.LUMINAIRES`) in the same CRS.
    samples_per_segment : int, default 5
        Sample points per segment (``n`` above).
    cutoff_m : float, default 50.0
        Horizontal reach of one luminaire in metres (see :func:`illuminance_xy`).
    default_height_m : float, default 6.0
        Mounting height (m) for luminaires without one.
    model : {"downward", "cosine", "isotropic"}
        Intensity model, see the module docstring.
    arrays : SegmentArrays, optional
        :meth:`gis.fastquery.SegmentArrays.of` the segment geometries, if the caller has
        them already (the ranking shares one between its steps); computed here otherwise.

    Returns
    -------
    DataFrame
        Aligned to ``segments.index``:

        - ``avg_lux``, ``min_lux``: mean and minimum illuminance of the samples, lx;
        - ``n_luminaires_30m``: luminaires within 30 m of the segment line (int);
        - ``nearest_luminaire_m``: distance to the nearest luminaire in metres, NaN when
          none is within 200 m;
        - ``share_old_tech``: share 0..1 of the light at the samples that comes from
          :data:`OLD_TECH_SOURCES`, 0.0 when there is no light;
        - ``dominant_source``: light source contributing most light, ``''`` when none;
        - ``share_default_light``: share 0..1 of the light at the samples that comes from
          luminaires whose flux or height are defaults (:func:`rests_on_defaults`);
        - ``n_out_of_service_30m``: luminaires out of service (faults, ``operating ==
          "out_of_service"``) within 30 m of the segment line; they give no light.

        Only luminaires that give light (:func:`gives_light`) count in the other columns.
    """
    require_projected(("segments", segments), ("luminaires", luminaires))
    if samples_per_segment < 1:
        raise ValueError(f"samples_per_segment must be ≥ 1, got {samples_per_segment}")
    lines = np.asarray(segments.geometry.values)
    m = len(lines)
    n = int(samples_per_segment)
    if arrays is None:
        arrays = SegmentArrays.of(lines)
    elif len(arrays) != m:
        raise ValueError(f"arrays has {len(arrays)} segments, segments {m}. Fix: pass "
                         "SegmentArrays.of(segments.geometry)")
    lum = _prepare_luminaires(luminaires, default_height_m, model)
    fractions = (np.arange(n) + 0.5) / n
    sx, sy = arrays.points_at(fractions) if arrays is not None else _points_along(lines, fractions)

    # One search (segment lines x luminaires) serves all three measures: a sample on a
    # segment can only be reached by a luminaire within `reach` of the segment line.
    reach = reach_m(lum.height, cutoff_m, model)
    radius = max(reach, COUNT_RADIUS_M)
    count = np.zeros(m, dtype=np.int64)
    nearest = np.full(m, np.inf)
    n_src = len(LIGHT_SOURCES)
    e_flat = np.zeros(m * n)
    src_flat = np.zeros(m * n_src)
    from_defaults = np.zeros(m)
    if m and len(lum.x):
        lum_xy = np.column_stack([lum.x, lum.y])
        tree = cKDTree(lum_xy) if arrays is not None else None
        si, lj, dist = _line_luminaire_pairs(lines, lum, radius, arrays, tree)
        count = np.bincount(si[dist <= COUNT_RADIUS_M], minlength=m).astype(np.int64)
        np.minimum.at(nearest, si, dist)
        missing = np.flatnonzero(np.isinf(nearest))
        if len(missing) and radius < NEAREST_MAX_M:
            if arrays is not None and tree is not None:
                md = nearest_point_to_lines(arrays.verts, arrays.mid, arrays.ext, tree, lum_xy,
                                            NEAREST_MAX_M, rows=missing)[missing]
            else:
                _, md = nearest_geometries(lines[missing], _points(lum.x, lum.y), NEAREST_MAX_M)
            found = ~np.isnan(md)
            nearest[missing[found]] = md[found]
        near = dist <= reach
        sn, ln = si[near], lj[near]
        del si, lj, dist, near
        if len(sn) > 1 and not bool(np.all(sn[:-1] <= sn[1:])):
            # by segment, stable: each segment's pairs keep their order
            order = np.argsort(sn, kind="stable")
            sn, ln = sn[order], ln[order]
        terms = lux_terms(lum.intensity, lum.height, cutoff_m, model)
        # The (sample, luminaire) pairs in chunks of whole segments, so the temporary
        # arrays stay bounded (≈ n × SAMPLE_CHUNK_PAIRS × 8 bytes each): every sum below
        # gets its terms in the same order, from 0.0, as with all pairs at once.
        # chunk starts: every SAMPLE_CHUNK_PAIRS-th pair, moved back to its segment's first
        cuts = np.unique(np.searchsorted(sn, sn[::max(1, SAMPLE_CHUNK_PAIRS)]))
        ends = [*cuts[1:].tolist(), len(sn)] if len(cuts) else []  # no pairs: no chunk
        for a, b in zip(cuts.tolist(), ends, strict=True):
            if a == b:
                continue
            s0, s1 = int(sn[a]), int(sn[b - 1]) + 1
            qi = ((sn[a:b] - s0)[:, None] * n + np.arange(n)).ravel()
            li = np.repeat(ln[a:b], n)
            d2 = (sx[qi + s0 * n] - lum.x[li]) ** 2 + (sy[qi + s0 * n] - lum.y[li]) ** 2
            e = lux_at(d2, terms, li)
            del d2
            e_flat[s0 * n:s1 * n] = np.bincount(qi, weights=e, minlength=(s1 - s0) * n)
            seg_i = qi // n
            src_flat[s0 * n_src:s1 * n_src] = np.bincount(
                seg_i * n_src + lum.code[li], weights=e, minlength=(s1 - s0) * n_src)
            from_defaults[s0:s1] = np.bincount(seg_i, weights=e * lum.defaulted[li],
                                               minlength=s1 - s0)
    nearest = np.where(nearest <= NEAREST_MAX_M, nearest, np.nan)

    e_sample = e_flat.reshape(m, n)
    by_source = src_flat.reshape(m, n_src)
    total = by_source.sum(axis=1)
    old = by_source[:, _OLD_MASK].sum(axis=1)
    share_old = np.divide(old, total, out=np.zeros(m), where=total > 0)
    share_default = np.divide(from_defaults, total, out=np.zeros(m), where=total > 0)
    faults = _faults_near(lines, luminaires, COUNT_RADIUS_M)
    names = np.asarray(LIGHT_SOURCES, dtype=object)
    dominant = np.where(total > 0, names[by_source.argmax(axis=1)] if m else names[:0], "")

    index = segments.index
    return pd.DataFrame({
        "avg_lux": pd.Series(e_sample.mean(axis=1), index=index, dtype="float64"),
        "min_lux": pd.Series(e_sample.min(axis=1), index=index, dtype="float64"),
        "n_luminaires_30m": pd.Series(count, index=index, dtype="int64"),
        "nearest_luminaire_m": pd.Series(nearest, index=index, dtype="float64"),
        "share_old_tech": pd.Series(share_old, index=index, dtype="float64"),
        "dominant_source": pd.Series(dominant, index=index, dtype="str"),
        "share_default_light": pd.Series(share_default, index=index, dtype="float64"),
        "n_out_of_service_30m": pd.Series(faults, index=index, dtype="int64"),
    }, index=index)


def _faults_near(lines: npt.NDArray[np.object_], luminaires: gpd.GeoDataFrame,
                 radius_m: float) -> npt.NDArray[np.int64]:
    """Per line: luminaires out of service within *radius_m* (m); few, one STRtree query."""
    m = len(lines)
    if "operating" not in luminaires.columns or m == 0:
        return np.zeros(m, dtype=np.int64)
    faulty = luminaires["operating"].astype("str").eq("out_of_service").to_numpy(
        dtype=bool, na_value=False)
    if not faulty.any():
        return np.zeros(m, dtype=np.int64)
    pts = np.asarray(luminaires.geometry.values, dtype=object)[faulty]
    _, si = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=radius_m)
    return np.bincount(si, minlength=m).astype(np.int64)


def _points_along(lines: npt.NDArray[np.object_], fractions: FloatArray,
                  ) -> tuple[FloatArray, FloatArray]:
    """Coordinates of points at the given length fractions along every LineString.

    Returns x, y of shape ``(len(lines) * len(fractions),)``, line-major. Pure numpy on the
    vertices (equivalent to ``shapely.line_interpolate_point(..., normalized=True)``).
    """
    m, n = len(lines), len(fractions)
    if m == 0:
        return np.empty(0), np.empty(0)
    coords, vline = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(vline, minlength=m)
    if (counts < 2).any():
        raise ValueError("segments has empty or missing geometries. Fix: drop them first")
    first = np.cumsum(counts) - counts
    last = first + counts - 1
    step = np.empty(len(coords))
    step[0] = 0.0
    step[1:] = np.hypot(*np.diff(coords, axis=0).T)
    step[first] = 0.0
    cum = np.cumsum(step)
    cum -= cum[first][vline]
    length = cum[last]
    # A monotonic key over all lines (1 m gap between lines) for one searchsorted call.
    offset = np.cumsum(length + 1.0) - (length + 1.0)
    key = cum + offset[vline]
    line = np.repeat(np.arange(m), n)
    target = np.tile(fractions, m) * length[line]
    j = np.searchsorted(key, target + offset[line], side="right") - 1
    j = np.clip(j, first[line], last[line] - 1)
    seg_len = step[j + 1]
    w = np.divide(target - cum[j], seg_len, out=np.zeros(len(j)), where=seg_len > 0)
    w = np.clip(w, 0.0, 1.0)
    xy = coords[j] + w[:, None] * (coords[j + 1] - coords[j])
    return xy[:, 0], xy[:, 1]


# ---------------------------------------------------------------------------------------------
# Targets and status
# ---------------------------------------------------------------------------------------------

def _per_value(values: pd.Series, fn: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` of each distinct value (as str), and each row's position in that list."""
    codes, uniques = pd.factorize(values.astype("str").to_numpy(dtype=object),
                                  use_na_sentinel=False)
    return np.array([fn(str(u)) for u in uniques], dtype=object), codes


def _aligned_flag(flag: pd.Series | None, index: pd.Index) -> npt.NDArray[np.bool_]:
    if flag is None:
        return np.zeros(len(index), dtype=bool)
    return flag.reindex(index).fillna(False).astype(bool).to_numpy()


def target_class(segments: pd.DataFrame, profile_lighting: Lighting,
                 near_school: pd.Series | None = None,
                 in_priority_area: pd.Series | None = None) -> pd.Series:
    """EN 13201-2 P-class each segment should meet.

    The class comes from ``profile_lighting.target_class[path_type]``; where ``near_school``
    is True the stricter of that and ``school_class`` applies, where ``in_priority_area`` is
    True the stricter of that and ``priority_area_class`` (stricter = lower P number, P1 is
    the strictest). A path type missing from the profile falls back to the built-in default
    table of :class:`layers.profile.Lighting`, then to ``P4``, with a warning.

    Parameters
    ----------
    segments : DataFrame
        Segments with a ``path_type`` column.
    profile_lighting : layers.profile.Lighting
        The profile's ``lighting`` section.
    near_school, in_priority_area : Series of bool, optional
        Flags aligned to ``segments.index`` (missing labels count as False).

    Returns
    -------
    Series
        ``target_class`` (str, e.g. ``"P4"``), aligned to ``segments.index``.
    """
    table = {**Lighting().target_class, **profile_lighting.target_class}
    # Distinct path types are few: look each up once, then index by the row codes.
    classes, codes = _per_value(segments["path_type"], table.get)
    unknown = np.array([c is None for c in classes], dtype=bool)
    if unknown.any():
        rows = unknown[codes]
        kinds = sorted(set(segments["path_type"].astype("str").to_numpy(dtype=object)[rows]))
        warnings.warn(f"target_class: {int(rows.sum())} segment(s) with path type(s) "
                      f"{kinds} not in lighting.target_class; using P4", LayerWarning,
                      stacklevel=2)
        classes[unknown] = "P4"
    number = np.array([int(str(c)[1:]) for c in classes] + [0], dtype=np.int64)[codes]
    for flag, p_class in ((near_school, profile_lighting.school_class),
                          (in_priority_area, profile_lighting.priority_area_class)):
        if p_class not in P_CLASSES:
            raise ValueError(f"unknown lighting class {p_class!r}; use one of "
                             f"{', '.join(P_CLASSES)}")
        mask = _aligned_flag(flag, segments.index)
        number = np.where(mask, np.minimum(number, int(p_class[1:])), number)
    labels = np.array([f"P{k}" for k in range(int(number.max(initial=0)) + 1)], dtype=object)
    return pd.Series(labels[number], index=segments.index, name="target_class", dtype="str")


def lighting_status(segments: pd.DataFrame, illum: pd.DataFrame, targets: pd.Series,
                    findings_lighting: pd.Series | None = None, *,
                    has_inventory: bool) -> pd.Series:
    """Classify each segment's lighting.

    Categories (:data:`STATUS_CATEGORIES`): ``unlit``, ``underlit``, ``lit_old_technology``,
    ``ok``, ``unknown``. Precedence:

    1. **Inventory** (``has_inventory=True``: the luminaires come from a municipal inventory,
       see :func:`inventory_present`). The model decides, OSM ``lit`` is ignored:
       ``avg_lux < 0.1`` → ``unlit``; ``avg_lux`` or ``min_lux`` below the target class →
       ``underlit``; class met but ``share_old_tech ≥ 0.5`` → ``lit_old_technology``;
       else ``ok``.
    2. **OSM lit** (no inventory; modelled light then comes only from OSM street lamps with
       assumed wattage, so the tag wins): ``yes``/``automatic`` → ``ok`` (class compliance
       unknown), ``limited`` → ``underlit``, ``no`` → ``unlit`` unless mapped lamps light the
       segment, ``unknown`` → ``unknown`` unless mapped lamps light it (``avg_lux ≥ 0.1``);
       lit-by-mapped-lamps segments are then classified by the model as in 1.
    3. **Findings**: where ``findings_lighting`` is True (a safety-walk finding of category
       lighting reports a problem), an ``ok`` or ``unknown`` segment becomes ``underlit``.

    Parameters
    ----------
    segments : DataFrame
        Segments with a ``lit`` column (OSM tag, :data:`layers.schemas.LIT_VALUES`).
    illum : DataFrame
        Output of :func:`segment_illuminance` aligned to ``segments``.
    targets : Series
        Output of :func:`target_class` aligned to ``segments``.
    findings_lighting : Series of bool, optional
        Reported lighting problems, aligned to ``segments.index`` (missing = False).
    has_inventory : bool
        Whether a real luminaire inventory was loaded (keyword only, required).

    Returns
    -------
    Series
        ``lighting_status``, categorical with categories :data:`STATUS_CATEGORIES`, aligned
        to ``segments.index``.
    """
    index = segments.index
    il = illum.reindex(index)
    avg = il["avg_lux"].to_numpy(dtype="float64", na_value=0.0)
    mn = il["min_lux"].to_numpy(dtype="float64", na_value=0.0)
    share = il["share_old_tech"].to_numpy(dtype="float64", na_value=0.0)
    classes, codes = _per_value(targets.reindex(index), str)
    known = np.array([c in P_CLASSES for c in classes] + [True], dtype=bool)
    if not known[codes].all():
        raise ValueError(f"targets has unknown classes {sorted(classes[~known[:-1]])[:5]}; "
                         f"use one of {', '.join(P_CLASSES)}")
    t_avg = np.array([P_CLASSES[c][0] for c in classes] + [0.0], dtype="float64")[codes]
    t_min = np.array([P_CLASSES[c][1] for c in classes] + [0.0], dtype="float64")[codes]

    # Work on category codes (positions in STATUS_CATEGORIES), not strings.
    unlit, underlit, old_tech, ok, unknown = range(len(STATUS_CATEGORIES))
    has_light = avg >= UNLIT_LUX
    modelled = np.select(
        [~has_light, (avg < t_avg) | (mn < t_min), share >= OLD_TECH_SHARE],
        [unlit, underlit, old_tech], default=ok)
    if has_inventory:
        status = modelled
    else:
        lit_values, lit_codes = _per_value(segments["lit"], str)
        lit = np.append(lit_values, "")[lit_codes]
        status = np.select(
            [np.isin(lit, ["yes", "automatic"]), lit == "limited", has_light,
             lit == "no"],
            [ok, underlit, modelled, unlit], default=unknown)
    reported = _aligned_flag(findings_lighting, index)
    status = np.where(reported & ((status == ok) | (status == unknown)), underlit, status)
    codes = np.asarray(status, dtype=np.int8)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=_STATUS_DTYPE), index=index,
                     name="lighting_status")
