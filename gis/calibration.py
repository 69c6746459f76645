"""Calibration of the lighting model against field lux-meter readings (issue 17).

The model value at each reading is the horizontal illuminance on the ground from every
luminaire that gives light (:func:`gis.photometry.point_illuminance`: catalogue luminaires
from their photometric files, the others with the point-source model). Errors are
``model − measured`` in lux, per reading and per area:

* ``mean_error_lux`` (bias), ``mae_lux`` (mean absolute error), ``rmse_lux``;
* ``fitted_factor``: the factor ``k`` that minimises ``Σ (k·model − measured)²`` (least
  squares through the origin, ``k = Σ model·measured / Σ model²``). It is the correction
  to the maintenance factor (and everything else proportional to the flux) that makes the
  model fit the area's readings: a maintenance factor 0.8 and ``k = 0.9`` suggest 0.72.
  Given for areas with at least :data:`MIN_READINGS_FOR_FIT` readings where the model has
  light.

An area is the reading's own ``area`` where the file gives one, else the priority area
(:mod:`layers.boundary`) containing it, else :data:`NO_AREA`; the row :data:`ALL_AREAS`
sums all readings.

All coordinates in the profile's projected CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from gis.photometry import point_illuminance
from layers.photometric import Catalogue

#: Area label of readings outside every area, and of the all-readings row.
NO_AREA = "(utan område)"
ALL_AREAS = "alla"
#: Fewest readings (with modelled light) for a fitted factor.
MIN_READINGS_FOR_FIT = 3

#: Per-reading columns of :attr:`Calibration.readings`.
READING_REPORT_COLUMNS = ("area", "measured_lux", "model_lux", "error_lux", "lux_model",
                          "x", "y")
#: Per-area columns of :attr:`Calibration.areas`.
AREA_REPORT_COLUMNS = ("readings", "mean_measured_lux", "mean_model_lux", "mean_error_lux",
                       "mae_lux", "rmse_lux", "fitted_factor")


@dataclass(frozen=True)
class Calibration:
    """Model against readings.

    Attributes
    ----------
    readings : DataFrame
        Index ``reading_id``; :data:`READING_REPORT_COLUMNS`.
    areas : DataFrame
        Index ``area`` (sorted, :data:`ALL_AREAS` last); :data:`AREA_REPORT_COLUMNS`.
    """

    readings: pd.DataFrame
    areas: pd.DataFrame


def reading_areas(readings: gpd.GeoDataFrame,
                  priority_areas: gpd.GeoDataFrame | None) -> pd.Series:
    """The area of each reading: its own ``area``, else the first priority area (by
    ``name``) that covers it, else :data:`NO_AREA` (Series aligned to *readings*)."""
    own = (readings["area"].astype(str).str.strip() if "area" in readings
           else pd.Series("", index=readings.index))
    out = own.to_numpy(dtype=object).copy()
    todo = np.flatnonzero(out == "")
    if len(todo) and priority_areas is not None and len(priority_areas):
        require_projected(("readings", readings), ("priority_areas", priority_areas))
        geoms = np.asarray(priority_areas.geometry.values, dtype=object)
        names = (priority_areas["name"].astype(str).to_numpy() if "name" in priority_areas
                 else priority_areas.index.astype(str).to_numpy())
        pts = np.asarray(readings.geometry.values, dtype=object)[todo]
        qi, ai = shapely.STRtree(geoms).query(pts, predicate="covered_by")
        order = np.lexsort((ai, qi))
        qi, ai = qi[order], ai[order]
        first = np.r_[True, qi[1:] != qi[:-1]] if len(qi) else np.zeros(0, dtype=bool)
        out[todo[qi[first]]] = names[ai[first]]
    out[out == ""] = NO_AREA
    return pd.Series(out, index=readings.index, name="area", dtype=object)


def calibrate(readings: gpd.GeoDataFrame, luminaires: gpd.GeoDataFrame, paths: gpd.GeoDataFrame,
              catalogue: Catalogue | None = None,
              priority_areas: gpd.GeoDataFrame | None = None,
              default_height_m: float = 6.0) -> Calibration:
    """Compare the lighting model with lux readings.

    Parameters
    ----------
    readings : GeoDataFrame
        From :func:`layers.lux_readings.read_lux_readings` (``lux_lx``, ``area``), in the
        same projected CRS as the other layers.
    luminaires, paths : GeoDataFrame
        The profile's layers (paths orient ``c0 = "along"`` luminaires).
    catalogue : Catalogue, optional
        The photometric catalogue; None: the point-source model everywhere.
    priority_areas : GeoDataFrame, optional
        Areas for readings without their own ``area``.
    default_height_m : float
        Mounting height where the inventory has none, m.
    """
    require_projected(("readings", readings), ("luminaires", luminaires), ("paths", paths))
    xy = shapely.get_coordinates(readings.geometry.values)
    model, flag = point_illuminance(xy, luminaires, catalogue or Catalogue(()),
                                    np.asarray(paths.geometry.values, dtype=object),
                                    default_height_m=default_height_m)
    measured = readings["lux_lx"].to_numpy(dtype="float64")
    area = reading_areas(readings, priority_areas)
    rows = pd.DataFrame({
        "area": area.to_numpy(), "measured_lux": measured, "model_lux": np.round(model, 3),
        "error_lux": np.round(model - measured, 3), "lux_model": flag,
        "x": np.round(xy[:, 0], 2), "y": np.round(xy[:, 1], 2)}, index=readings.index)
    groups = {str(a): np.flatnonzero(area.to_numpy() == a) for a in sorted(set(area))}
    groups[ALL_AREAS] = np.arange(len(rows))
    stats = {a: _stats(measured[i], model[i]) for a, i in groups.items()}
    areas = pd.DataFrame.from_dict(stats, orient="index", columns=list(AREA_REPORT_COLUMNS))
    areas.index.name = "area"
    areas["readings"] = areas["readings"].astype("int64")
    return Calibration(rows, areas)


def _stats(measured: np.ndarray, model: np.ndarray) -> list[float]:
    n = len(measured)
    if not n:
        return [0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan]
    err = model - measured
    mm = float(np.dot(model, model))
    fit = (float(np.dot(model, measured)) / mm
           if mm > 0 and int((model > 0).sum()) >= MIN_READINGS_FOR_FIT else np.nan)
    return [n, round(float(measured.mean()), 3), round(float(model.mean()), 3),
            round(float(err.mean()), 3), round(float(np.abs(err).mean()), 3),
            round(float(np.sqrt((err * err).mean())), 3),
            round(fit, 4) if np.isfinite(fit) else np.nan]
