"""Shared pieces of every layer funnel: errors, warnings and geometry clean-up.

Every loader in :mod:`layers` ends in one ``_normalize_<layer>`` function (STYLE rule 1).
Those funnels use the helpers here so that every layer drops empty geometry, repairs
invalid geometry, checks geometry types, sets the CRS and a stable unique index in the
same way, and reports problems in the same words.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

logger = logging.getLogger(__name__)


class LayerWarning(UserWarning):
    """Degraded input: features were repaired, dropped or given a fallback value."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating an input file.

    Attributes
    ----------
    source : str
        File name (or other source label) the problem was found in.
    row : str
        Row number (1-based, as a spreadsheet shows it, header = row 1) or feature id;
        empty when the problem concerns the whole file.
    column : str
        Column or field name; empty when the problem concerns the whole row or file.
    column_label : str
        What to call *column* in the message: ``"column"`` (default), ``"key"``, ``"tag"``.
    message : str
        What is wrong.
    fix : str
        What the user should do about it.
    """

    source: str
    row: str
    column: str
    message: str
    fix: str
    column_label: str = "column"

    def __str__(self) -> str:
        where = [self.source]
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"{self.column_label} '{self.column}'")
        return f"{', '.join(where)}: {self.message}. Fix: {self.fix}"


class ValidationError(ValueError):
    """Input that cannot be loaded. Lists every problem found, not just the first.

    Parameters
    ----------
    problems : sequence of Problem
        All problems found. The message lists each one on its own line.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        shown = self.problems[:50]
        lines = [str(p) for p in shown]
        if n > len(shown):
            lines.append(f"... and {n - len(shown)} more problems of the same kinds")
        header = f"{n} problem{'s' if n != 1 else ''} in input:" if n > 1 else ""
        super().__init__("\n".join([header, *lines]) if header else lines[0])


def raise_if_problems(problems: Sequence[Problem]) -> None:
    """Raise one :class:`ValidationError` listing all *problems*, if there are any."""
    if problems:
        raise ValidationError(problems)


def source_label(path: str | Path | None) -> str:
    """Short label for messages: the file name, or ``'<data frame>'``."""
    if path is None:
        return "<data frame>"
    return Path(path).name


def _ids_preview(ids: Iterable[object], limit: int = 10) -> str:
    texts = [str(i) for i in ids]
    more = f" (+{len(texts) - limit} more)" if len(texts) > limit else ""
    return ", ".join(texts[:limit]) + more


def warn_layer(message: str, ids: Iterable[object] | None = None) -> None:
    """Emit a :class:`LayerWarning`, with a preview of affected ids when given."""
    if ids is not None:
        ids = list(ids)
        message = f"{message}: {len(ids)} feature(s) [{_ids_preview(ids)}]"
    warnings.warn(message, LayerWarning, stacklevel=3)


def clean_geometries(
    gdf: gpd.GeoDataFrame,
    allowed_types: Sequence[str],
    layer: str,
    explode_multi: bool = False,
) -> gpd.GeoDataFrame:
    """Drop empty/missing geometry, repair invalid geometry and check geometry types.

    Vectorised with shapely 2. Never mutates *gdf*.

    Parameters
    ----------
    gdf : GeoDataFrame
        Input features, any CRS. The index is used as the feature id in warnings.
    allowed_types : sequence of str
        Geometry type names to keep (for example ``["LineString", "MultiLineString"]``).
        Features of other types are dropped with a warning.
    layer : str
        Layer name used in warnings.
    explode_multi : bool, default False
        Explode multi-part geometries into single parts (index gets a ``_k`` suffix for
        parts after the first, so it stays unique).

    Returns
    -------
    GeoDataFrame
        A new frame with only valid, non-empty geometry of the allowed types.
    """
    gdf = gdf.copy()
    geom = gdf.geometry.values
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    if missing.any():
        warn_layer(f"{layer}: dropped features without geometry", gdf.index[missing])
        gdf = gdf.loc[~missing].copy()
        geom = gdf.geometry.values
    invalid = ~shapely.is_valid(geom)
    if invalid.any():
        warn_layer(f"{layer}: repaired invalid geometry with make_valid", gdf.index[invalid])
        repaired = shapely.make_valid(geom[invalid])
        # make_valid may return a collection; keep the parts of the wanted dimension.
        dims = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1,
                "Polygon": 2, "MultiPolygon": 2}
        want_dim = min(dims.get(t, 2) for t in allowed_types)
        fixed = []
        for g in repaired:  # only invalid features: few, not a hot path
            if g.geom_type == "GeometryCollection":
                parts = [p for p in g.geoms if dims.get(p.geom_type, -1) == want_dim]
                g = shapely.union_all(parts) if parts else shapely.Point()
            fixed.append(g)
        geom = np.asarray(geom).copy()
        geom[invalid] = fixed
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
        still_empty = shapely.is_empty(gdf.geometry.values)
        if still_empty.any():
            warn_layer(f"{layer}: dropped geometry that could not be repaired",
                       gdf.index[still_empty])
            gdf = gdf.loc[~still_empty].copy()
    types = gdf.geom_type
    bad = ~types.isin(list(allowed_types))
    if bad.any():
        warn_layer(
            f"{layer}: dropped features of unsupported geometry type "
            f"({', '.join(sorted(set(types[bad])))}; expected {', '.join(allowed_types)})",
            gdf.index[bad],
        )
        gdf = gdf.loc[~bad].copy()
    if explode_multi and len(gdf):
        exploded = gdf.explode(index_parts=True)
        part = exploded.index.get_level_values(-1).to_numpy()
        base = exploded.index.get_level_values(0).astype(str).to_numpy()
        new_index = np.where(part == 0, base, np.char.add(np.char.add(base.astype(str), "_"),
                                                          part.astype(str)))
        exploded.index = pd.Index(new_index, name=gdf.index.name)
        gdf = exploded
    return gdf


def to_profile_crs(gdf: gpd.GeoDataFrame, crs: CRS | str, source: str) -> gpd.GeoDataFrame:
    """Reproject *gdf* to the profile's metric CRS.

    Raises
    ------
    ValidationError
        If *gdf* has no CRS: we never guess silently for files that could carry one.
    """
    if gdf.crs is None:
        raise ValidationError([Problem(
            source, "", "", "the file has no coordinate reference system (CRS)",
            "add a .prj / CRS to the file (QGIS: Layer > Set CRS), or pass the CRS "
            "explicitly, e.g. --crs EPSG:3007")])
    target = CRS.from_user_input(crs)
    if gdf.crs == target:
        return gdf.copy()
    return gdf.to_crs(target)


def _coord(v: float) -> str:
    """A coordinate as written in a file: degrees to 6 decimals, metres to 1."""
    return f"{v:.6f}" if abs(v) < 1000 else f"{v:.1f}"


def check_within_boundary(
    gdf: gpd.GeoDataFrame,
    boundary: shapely.Geometry | None,
    source: str,
    row_numbers: pd.Series | None = None,
    buffer_m: float = 2_000.0,
    source_geometry: gpd.GeoSeries | None = None,
) -> list[Problem]:
    """List features that lie outside the municipality (with a tolerance).

    Parameters
    ----------
    gdf : GeoDataFrame
        Features in the same metric CRS as *boundary*.
    boundary : shapely geometry or None
        Municipality boundary in the profile CRS, metres. ``None`` skips the check.
    source : str
        Source label for the messages.
    row_numbers : Series, optional
        Row number per feature (aligned to *gdf*) to name in messages; defaults to the index.
    buffer_m : float, default 2000
        Tolerance in metres around the boundary (coast lines, border roads).
    source_geometry : GeoSeries, optional
        The same features before reprojection, in the CRS the file was read in (aligned to
        *gdf*). Messages then show the coordinates as written in the file and name that
        CRS, instead of reprojected values (which are meaningless, even infinite, when the
        CRS was wrong).
    """
    if boundary is None or len(gdf) == 0:
        return []
    zone = shapely.buffer(boundary, buffer_m)
    shapely.prepare(zone)
    inside = shapely.intersects(zone, gdf.geometry.values)
    problems = []
    rows = row_numbers if row_numbers is not None else pd.Series(gdf.index, index=gdf.index)
    crs_name = ""
    if source_geometry is not None and source_geometry.crs is not None:
        code = source_geometry.crs.to_epsg()
        crs_name = (f"EPSG:{code} ({source_geometry.crs.name})" if code
                    else str(source_geometry.crs.name))
    for idx in gdf.index[~inside]:
        if source_geometry is not None:
            c = source_geometry.loc[idx].representative_point()
            where = (f"(x {_coord(c.x)}, y {_coord(c.y)} in {crs_name}, the CRS assumed "
                     "for the file)")
        else:
            c = gdf.geometry.loc[idx].representative_point()
            where = f"({c.x:.1f}, {c.y:.1f})"
        problems.append(Problem(
            source, str(rows.loc[idx]), "geometry",
            f"feature at {where} lies outside the municipality",
            "check the coordinates and the CRS of the file; coordinates may be in another CRS "
            "or have their axes swapped"))
    return problems


def finalize(
    gdf: gpd.GeoDataFrame,
    columns: Sequence[str],
    index_name: str,
    crs: CRS | str,
) -> gpd.GeoDataFrame:
    """Select the schema's columns in order, name the index and assert CRS and uniqueness.

    Parameters
    ----------
    gdf : GeoDataFrame
        Frame already in *crs* with all *columns* present.
    columns : sequence of str
        The layer's schema columns (without ``geometry``).
    index_name : str
        Name of the stable, unique string index.
    crs : CRS or str
        The profile's metric CRS.
    """
    out = gpd.GeoDataFrame(gdf[list(columns)].copy(), geometry=gdf.geometry.values,
                           crs=gdf.crs, index=gdf.index.astype(str))
    out.index.name = index_name
    if not out.index.is_unique:
        dup = out.index[out.index.duplicated()].unique()
        raise ValidationError([Problem(index_name, str(d), index_name, "duplicate id",
                                       "give every feature a unique id") for d in dup])
    if out.crs is None or CRS.from_user_input(out.crs) != CRS.from_user_input(crs):
        raise AssertionError(f"{index_name}: layer left the funnel in {out.crs}, not {crs}")
    return out
